package aggregatehttp

import (
	"bytes"
	"errors"
	"fmt"
	"go/format"
	"go/parser"
	"go/token"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// serveExport answers the test file of GET /v1/export (the package
// documentation says what it assumes).
func (r *Registry) serveExport(w http.ResponseWriter, req *http.Request) {
	t, id, stream, err := r.instance(req)
	if err != nil {
		fail(w, req, err)
		return
	}
	to, err := parsePoint(req, "to")
	if err != nil {
		fail(w, req, err)
		return
	}
	q := req.URL.Query()
	pkg, defExpr := q.Get("package"), q.Get("def")
	if pkg != "" && !token.IsIdentifier(pkg) {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("package=%q is not a Go package name", pkg))
		return
	}
	if defExpr != "" {
		if _, err := parser.ParseExpr(defExpr); err != nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("def=%q is not a Go expression", defExpr))
			return
		}
	}
	x := exportFile{category: t.category, id: id, stream: stream, pkg: pkg, def: defExpr}
	x.stateType, x.eventType = t.ops.goTypes()
	_, end, err := t.ops.history(req.Context(), id, point{}, to, func(s step) error {
		if len(x.events) == maxExportEvents {
			return errExportTooLong
		}
		x.events = append(x.events, s)
		return nil
	})
	if errors.Is(err, errExportTooLong) {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("%s has more than %d events up to that point, more than a test replays: give to=%d or an earlier point",
			stream, maxExportEvents, maxExportEvents))
		return
	}
	if err != nil {
		fail(w, req, err)
		return
	}
	x.version = end.version
	src, err := x.source()
	if err != nil {
		fail(w, req, fmt.Errorf("export %s: %w", stream, err))
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff") // user strings: never sniffed as HTML
	w.Header().Set("Content-Disposition", fmt.Sprintf("inline; filename=%q", x.fileName()))
	_, _ = w.Write(src)
}

// errExportTooLong ends the history of an export past maxExportEvents.
var errExportTooLong = errors.New("export: too many events")

// exportFile is what an exported test is made of.
type exportFile struct {
	category, id, stream string
	pkg, def             string
	stateType, eventType reflect.Type
	events               []step
	version              uint64
}

// ownPackage returns the import path and name of the package that declares
// the events (the state's, when the events' interface is not a named type).
func (x *exportFile) ownPackage() (path, name string) {
	for _, t := range []reflect.Type{x.eventType, x.stateType} {
		if t.Name() != "" && t.PkgPath() != "" {
			name, _, _ = strings.Cut(t.String(), ".")
			return t.PkgPath(), name
		}
	}
	for _, s := range x.events {
		if t := reflect.TypeOf(s.value); t.Name() != "" && t.PkgPath() != "" {
			name, _, _ = strings.Cut(t.String(), ".")
			return t.PkgPath(), name
		}
	}
	return "", "main"
}

func (x *exportFile) testName() string {
	return "Test" + goWords(x.category) + goWords(x.id) + "AtVersion" + strconv.FormatUint(x.version, 10)
}

func (x *exportFile) fileName() string {
	return strings.ToLower(goWords(x.category)+"_"+goWords(x.id)) + "_v" + strconv.FormatUint(x.version, 10) + "_test.go"
}

// goWords turns a name into an identifier's part: its letters and digits,
// each word capitalised ("sku-1" → "Sku1").
func goWords(s string) string {
	var b strings.Builder
	up := true
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) || r > unicode.MaxASCII {
			up = true
			continue
		}
		if up {
			r = unicode.ToUpper(r)
		}
		b.WriteRune(r)
		up = false
	}
	return b.String()
}

// source writes the test file, gofmt'ed.
func (x *exportFile) source() ([]byte, error) {
	ownPath, ownName := x.ownPackage()
	pkg := x.pkg
	if pkg == "" {
		pkg = ownName
	}
	if pkg != ownName {
		ownPath = "" // another package: every type is qualified
	}
	g := newGoWriter(ownPath)
	stateT, err := g.typeExpr(x.stateType)
	if err != nil {
		return nil, fmt.Errorf("the state's type: %w", err)
	}
	eventT, err := g.typeExpr(x.eventType)
	if err != nil {
		return nil, fmt.Errorf("the events' type: %w", err)
	}
	var body bytes.Buffer
	at := "before its first event"
	if x.version > 0 {
		at = "stored " + x.events[len(x.events)-1].event.StoredAt.UTC().Format("2006-01-02T15:04:05.999999999Z07:00")
	}
	fmt.Fprintf(&body, "// %s starts from %s as it was at version %d\n", x.testName(), x.stream, x.version)
	fmt.Fprintf(&body, "// (%s), exported by GET /v1/export/%s/%s: its events\n", at, x.category, x.id)
	fmt.Fprintf(&body, "// are the Given. Write the command under test as the When and what it must\n")
	fmt.Fprintf(&body, "// decide as the Then, then remove the Skip.\n")
	fmt.Fprintf(&body, "func %s(t *testing.T) {\n", x.testName())
	fmt.Fprintf(&body, "\tt.Skip(%q)\n", fmt.Sprintf("exported from %s at version %d: write the When and the Then, then remove this line", x.stream, x.version))
	if x.def != "" {
		fmt.Fprintf(&body, "\tdef := %s\n", x.def)
	} else {
		agg := g.use("github.com/rewindhq/rewind/aggregate", "aggregate")
		fmt.Fprintf(&body, "\tvar def *%s.Definition[%s, %s] // TODO: the definition of %q (or export with def=<expression>)\n",
			agg, stateT, eventT, x.category)
	}
	given := g.use("github.com/rewindhq/rewind/aggregate/aggregatetest", "aggregatetest")
	// Explicit type arguments: inference would take each event's own type
	// for E and find it at odds with the definition's.
	fmt.Fprintf(&body, "\t%s.Given[%s, %s](def,\n", given, stateT, eventT)
	for _, s := range x.events {
		lit, err := g.value(reflect.ValueOf(s.value), true)
		if errors.Is(err, errNoLiteral) {
			lit, err = g.jsonFallback(s.value)
		}
		if err != nil {
			return nil, fmt.Errorf("event %d (%s): %w", s.event.Version, s.event.Type, err)
		}
		fmt.Fprintf(&body, "\t\t// %d %s, stored %s\n\t\t%s,\n", s.event.Version, s.event.Type, formatTime(s.event.StoredAt), lit)
	}
	fmt.Fprintf(&body, "\t).When(func(state %s) ([]%s, error) {\n", stateT, eventT)
	fmt.Fprintf(&body, "\t\treturn nil, nil // TODO: the decider of the command under test, such as ship()(state)\n")
	fmt.Fprintf(&body, "\t}).Then(t) // TODO: the events it must decide; ThenError(t, err) for a refusal\n}\n")
	if g.needPtr {
		fmt.Fprintf(&body, "\n// ptr returns a pointer to a copy of v.\nfunc ptr[T any](v T) *T { return &v }\n")
	}
	if _, ok := g.imports["encoding/json"]; ok {
		fmt.Fprintf(&body, "\n// fromJSON decodes an event that has no Go literal from its JSON.\n")
		fmt.Fprintf(&body, "func fromJSON[T any](t *testing.T, data string) T {\n\tt.Helper()\n\tvar v T\n")
		fmt.Fprintf(&body, "\tif err := json.Unmarshal([]byte(data), &v); err != nil {\n\t\tt.Fatal(err)\n\t}\n\treturn v\n}\n")
	}

	var file bytes.Buffer
	fmt.Fprintf(&file, "package %s\n\n", pkg)
	file.WriteString(x.imports(g))
	file.Write(body.Bytes())
	src, err := format.Source(file.Bytes())
	if err != nil {
		return nil, fmt.Errorf("the Go source written does not parse: %w", err)
	}
	return src, nil
}

// imports writes the import block: the standard library, then the rest.
func (x *exportFile) imports(g *goWriter) string {
	std, other := []string{`"testing"`}, []string{}
	for path, name := range g.imports {
		spec := strconv.Quote(path)
		if last := path[strings.LastIndex(path, "/")+1:]; last != name {
			spec = name + " " + spec
		}
		if strings.Contains(strings.SplitN(path, "/", 2)[0], ".") {
			other = append(other, spec)
		} else {
			std = append(std, spec)
		}
	}
	slices.Sort(std)
	slices.Sort(other)
	var b strings.Builder
	b.WriteString("import (\n")
	for _, s := range std {
		b.WriteString("\t" + s + "\n")
	}
	if len(other) > 0 {
		b.WriteString("\n")
		for _, s := range other {
			b.WriteString("\t" + s + "\n")
		}
	}
	b.WriteString(")\n\n")
	return b.String()
}
