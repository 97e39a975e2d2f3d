package aggregatehttp

import (
	"encoding/json"
	"go/parser"
	"go/token"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rewindhq/rewind/eventstore"
)

// TestDiffJSON: the change rules on every shape a JSON value takes.
func TestDiffJSON(t *testing.T) {
	for _, tc := range []struct{ a, b, want string }{
		{`1`, `2`, `: 1 → 2`},
		{`"x"`, `"x"`, ``},
		{`{}`, `{}`, ``},
		{`{"a":1}`, `{"a":1,"b":{"c":[1]}}`, `b: null → {"c":[1]}`},
		{`{"a":1,"b":2}`, `{"b":2}`, `a: 1 → null`},
		{`{"a":{"b":{"c":1}}}`, `{"a":{"b":{"c":2}}}`, `a.b.c: 1 → 2`},
		{`{"a":[1,2,3]}`, `{"a":[1,5]}`, `a.1: 2 → 5; a.2: 3 → null`},
		{`{"a":[{"x":1}]}`, `{"a":[{"x":1},{"x":2}]}`, `a.1: null → {"x":2}`},
		{`{"a":{"x":1}}`, `{"a":[1]}`, `a: {"x":1} → [1]`},
		{`{"a":null}`, `{"a":1}`, `a: null → 1`},
		{`{"n":12345678901234567890}`, `{"n":12345678901234567891}`, `n: 12345678901234567890 → 12345678901234567891`},
		{`{"a.b":1}`, `{"a.b":2}`, `a.b: 1 → 2`},
	} {
		cs, err := diffJSON(json.RawMessage(tc.a), json.RawMessage(tc.b))
		if err != nil {
			t.Fatal(err)
		}
		var parts []string
		for _, c := range cs {
			parts = append(parts, c.Path+": "+string(c.From)+" → "+string(c.To))
		}
		if got := strings.Join(parts, "; "); got != tc.want {
			t.Errorf("%s → %s: %q, want %q", tc.a, tc.b, got, tc.want)
		}
	}
	if _, err := diffJSON(json.RawMessage(`{`), json.RawMessage(`{}`)); err == nil {
		t.Error("bad JSON: no error")
	}
}

// TestDifferMatchesDiffJSON: the differ, which decodes each state once,
// answers for each step of a sequence what diffJSON answers for the pair.
func TestDifferMatchesDiffJSON(t *testing.T) {
	states := []string{`{}`, `{"a":1}`, `{"a":1}`, `{"a":2,"b":[1]}`, `{"b":[1,2],"c":{"d":"x"}}`, `{"c":{"d":"y"}}`, `{"c":{"d":"y"}}`, `null`, `{"a":1}`}
	d := newDiffer(json.RawMessage(states[0]))
	for i := 1; i < len(states); i++ {
		got, err := d.next(json.RawMessage(states[i]))
		if err != nil {
			t.Fatal(err)
		}
		want, err := diffJSON(json.RawMessage(states[i-1]), json.RawMessage(states[i]))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s → %s: the differ says %+v, diffJSON %+v", states[i-1], states[i], got, want)
		}
	}
	if _, err := newDiffer(json.RawMessage(`{}`)).next(json.RawMessage(`{`)); err == nil {
		t.Error("bad JSON: no error")
	}
}

// Event types of the literal writer's test, of shapes the test cart has
// not.
type (
	counted  int64
	label    string
	withPtrs struct {
		N    *int
		L    *label
		T    *time.Time
		Any  any
		Arr  [2]uint8
		Raw  []byte
		Nest *withPtrs
	}
	hidden struct {
		Shown  string `json:"shown"`
		secret string
	}
)

// TestGoWriter: values become the literals of their types, and a value
// without a literal is reported so that the export decodes it from JSON.
func TestGoWriter(t *testing.T) {
	n, l := 3, label("x")
	at := time.Date(2026, 3, 2, 9, 0, 0, 1, time.FixedZone("CET", 3600))
	for _, tc := range []struct {
		v    any
		want string
	}{
		{counted(7), "counted(7)"},
		{label("a"), `label("a")`},
		{withPtrs{N: &n, L: &l, T: &at, Any: counted(2), Arr: [2]uint8{1, 2}, Raw: []uint8("hi"), Nest: &withPtrs{N: &n}},
			`withPtrs{N: ptr(3), L: ptr(label("x")), T: ptr(time.Date(2026, time.March, 2, 8, 0, 0, 1, time.UTC)), Any: counted(2), Arr: [2]uint8{1, 2}, Raw: []uint8("hi"), Nest: &withPtrs{N: ptr(3)}}`},
		{withPtrs{Any: map[string]any{"k": []any{int8(1)}}}, `withPtrs{Any: map[string]any{"k": []any{int8(1)}}}`},
		{hidden{Shown: "yes"}, `hidden{Shown: "yes"}`},
	} {
		g := newGoWriter(reflect.TypeFor[counted]().PkgPath())
		got, err := g.value(reflect.ValueOf(tc.v), true)
		if err != nil || got != tc.want {
			t.Errorf("%#v:\n got %s (%v)\nwant %s", tc.v, got, err, tc.want)
		}
	}
	g := newGoWriter(reflect.TypeFor[counted]().PkgPath())
	if _, err := g.value(reflect.ValueOf(hidden{secret: "s"}), true); err == nil {
		t.Error("an unexported field set: no error")
	}
	if got, err := g.jsonFallback(hidden{Shown: "a", secret: "s"}); err != nil || got != `fromJSON[hidden](t, "{\"shown\":\"a\"}")` {
		t.Errorf("fallback %s (%v)", got, err)
	}
	other := newGoWriter("")
	if got, _ := other.value(reflect.ValueOf(counted(1)), true); got != "aggregatehttp.counted(1)" || other.imports[reflect.TypeFor[counted]().PkgPath()] != "aggregatehttp" {
		t.Errorf("qualified: %s, imports %v", got, other.imports)
	}
}

// TestExportSource: a file with the ptr and fromJSON helpers parses and
// imports what it uses.
func TestExportSource(t *testing.T) {
	n := 1
	x := exportFile{category: "things", id: "t-1", stream: "things/t-1/events", version: 2,
		stateType: reflect.TypeFor[map[string]int](), eventType: reflect.TypeFor[any](),
		events: []step{
			{event: eventstore.Event{Version: 1, Type: "A"}, value: withPtrs{N: &n}},
			{event: eventstore.Event{Version: 2, Type: "B"}, value: hidden{secret: "s"}},
		}}
	src, err := x.source()
	if err != nil {
		t.Fatal(err)
	}
	f, err := parser.ParseFile(token.NewFileSet(), "x_test.go", src, parser.ImportsOnly)
	if err != nil {
		t.Fatalf("%v\n%s", err, src)
	}
	var imports []string
	for _, imp := range f.Imports {
		imports = append(imports, imp.Path.Value)
	}
	for _, want := range []string{"package aggregatehttp", "func ptr[T any]", "func fromJSON[T any]", "TestThingsT1AtVersion2",
		"Given[map[string]int, any](def,", "withPtrs{N: ptr(1)}", `fromJSON[hidden](t, "{\"shown\":\"\"}")`} {
		if !strings.Contains(string(src), want) {
			t.Errorf("lacks %q:\n%s", want, src)
		}
	}
	if got := strings.Join(imports, " "); got != `"encoding/json" "testing" "github.com/rewindhq/rewind/aggregate" "github.com/rewindhq/rewind/aggregate/aggregatetest"` {
		t.Errorf("imports %s", got)
	}
}
