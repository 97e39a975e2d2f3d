package eventstore

import (
	"errors"
	"strings"
	"testing"
)

// FuzzStreamNames checks the name → subject mapping on its own, which is
// cheap enough to fuzz: every valid name maps to a subject inside the
// prefix made only of plain tokens (no wildcard, no whitespace, no empty
// token, no token starting with "$"), the mapping reverses exactly, two
// distinct names never share a subject, and a category's filters select
// exactly the names whose first segment is the category. Invalid names are
// refused with ErrInvalidStreamName. The seed corpus runs as a normal test.
func FuzzStreamNames(f *testing.F) {
	seeds := [][2]string{
		{"orders/123", "orders.123"},
		{"a.b", "a/b"},
		{"a/b", "a%2Eb"},
		{"a%2Eb", "a%2eb"},
		{"$JS/API", "$JS.API"},
		{"*", ">"},
		{"a b", "a\tb"},
		{"é/日本", "%C3%A9"},
		{"..", "..."},
		{"a//b", "/a"},
		{"a/", ""},
		{"\xff", "a\x00b"},
		{"a\u0085b", "\x7f"},
		{"orders", "orders/1/2"},
		{"ordersx/1", "orders-x"},
		{strings.Repeat("%", MaxStreamNameLen), strings.Repeat("a", MaxStreamNameLen+1)},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1])
	}
	const prefix = "rewind.s"
	f.Fuzz(func(t *testing.T, a, b string) {
		subjA, okA := checkSubject(t, prefix, a)
		subjB, okB := checkSubject(t, prefix, b)
		if okA && okB && a != b && subjA == subjB {
			t.Fatalf("names %q and %q share the subject %q", a, b, subjA)
		}
		if okA && okB {
			checkCategory(t, prefix, a, b, subjB)
		}
	})
}

// checkSubject checks the properties of one name's subject and reports
// whether the name is valid.
func checkSubject(t *testing.T, prefix, name string) (string, bool) {
	t.Helper()
	subj, err := subjectFor(prefix, name)
	if validateName(name) != nil {
		if !errors.Is(err, ErrInvalidStreamName) {
			t.Fatalf("subjectFor(%q) = %q, %v; want ErrInvalidStreamName", name, subj, err)
		}
		return "", false
	}
	if err != nil {
		t.Fatalf("subjectFor(%q): %v", name, err)
	}
	rest, ok := strings.CutPrefix(subj, prefix+".")
	if !ok {
		t.Fatalf("subject %q of %q is outside the prefix %q", subj, name, prefix)
	}
	for tok := range strings.SplitSeq(rest, ".") {
		if tok == "" || tok[0] == '$' {
			t.Fatalf("subject %q of %q has the token %q", subj, name, tok)
		}
		for i := 0; i < len(tok); i++ {
			if c := tok[i]; !isPlain(c) && c != '%' {
				t.Fatalf("subject %q of %q has the byte %q", subj, name, c)
			}
		}
	}
	back, ok := nameFromSubject(prefix, subj)
	if !ok || back != name {
		t.Fatalf("nameFromSubject(%q) = %q, %v; want %q", subj, back, ok, name)
	}
	return subj, true
}

// checkCategory checks that the category filters of a's first segment
// select b's subject exactly when b is in that category.
func checkCategory(t *testing.T, prefix, a, b, subjB string) {
	t.Helper()
	cat, _, _ := strings.Cut(a, "/")
	filters, err := categoryFilters(prefix, cat)
	if err != nil {
		t.Fatalf("categoryFilters(%q): %v", cat, err)
	}
	if len(filters) != 2 || filters[1] != filters[0]+".>" {
		t.Fatalf("categoryFilters(%q) = %q", cat, filters)
	}
	selected := subjB == filters[0] || strings.HasPrefix(subjB, filters[0]+".")
	bCat, _, _ := strings.Cut(b, "/")
	if selected != (bCat == cat) {
		t.Fatalf("category %q (filters %q) selects %q (subject %q): %v, want %v",
			cat, filters, b, subjB, selected, bCat == cat)
	}
	_, err = categoryFilters(prefix, a)
	if multi := strings.Contains(a, "/"); multi != (err != nil) || multi && !errors.Is(err, ErrInvalidStreamName) {
		t.Fatalf("categoryFilters(%q) = %v; want ErrInvalidStreamName exactly for a multi-segment name", a, err)
	}
}
