package aggregatehttp

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
)

// goWriter writes Go values as Go source: composite literals of their own
// types, for the events of an exported test. It qualifies the names of
// types from packages other than the file's own and records their imports.
type goWriter struct {
	ownPath string            // import path of the file's package ("" if none of the types' own)
	imports map[string]string // import path → name used in the file
	names   map[string]string // name used → import path
	needPtr bool              // the file needs the ptr helper
}

// errNoLiteral marks a value that has no Go literal (an unexported field
// set, a func, a channel, a float that is not finite...): the exported test
// decodes that event from its JSON instead.
var errNoLiteral = errors.New("no Go literal")

func newGoWriter(ownPath string) *goWriter {
	return &goWriter{ownPath: ownPath, imports: map[string]string{}, names: map[string]string{}}
}

// use records an import and returns the name to qualify with.
func (g *goWriter) use(path, name string) string {
	if n, ok := g.imports[path]; ok {
		return n
	}
	n := name
	for i := 2; ; i++ {
		if p, taken := g.names[n]; !taken || p == path {
			break
		}
		n = fmt.Sprintf("%s%d", name, i)
	}
	g.imports[path], g.names[n] = n, path
	return n
}

// typeExpr is how t is written in the file.
func (g *goWriter) typeExpr(t reflect.Type) (string, error) {
	if t.Name() != "" {
		if strings.ContainsAny(t.Name(), "[]") {
			return "", fmt.Errorf("%w: generic type %s", errNoLiteral, t)
		}
		if t.PkgPath() == "" {
			return t.Name(), nil // predeclared: int, string, error...
		}
		if t.PkgPath() == g.ownPath {
			return t.Name(), nil
		}
		pkg, _, _ := strings.Cut(t.String(), ".") // the package's name, as its clause says
		return g.use(t.PkgPath(), pkg) + "." + t.Name(), nil
	}
	switch t.Kind() {
	case reflect.Pointer:
		e, err := g.typeExpr(t.Elem())
		return "*" + e, err
	case reflect.Slice:
		e, err := g.typeExpr(t.Elem())
		return "[]" + e, err
	case reflect.Array:
		e, err := g.typeExpr(t.Elem())
		return fmt.Sprintf("[%d]%s", t.Len(), e), err
	case reflect.Map:
		k, err := g.typeExpr(t.Key())
		if err != nil {
			return "", err
		}
		e, err := g.typeExpr(t.Elem())
		return "map[" + k + "]" + e, err
	case reflect.Interface:
		if t.NumMethod() == 0 {
			return "any", nil
		}
	}
	return "", fmt.Errorf("%w: type %s", errNoLiteral, t)
}

// value writes v. typed says the context gives no type (an interface
// field, a top-level event), so that a constant of a named type needs its
// conversion.
func (g *goWriter) value(v reflect.Value, typed bool) (string, error) {
	t := v.Type()
	if t == reflect.TypeFor[time.Time]() {
		return g.timeValue(v.Interface().(time.Time)), nil
	}
	switch t.Kind() {
	case reflect.Bool:
		return g.constant(t, strconv.FormatBool(v.Bool()), typed)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return g.constant(t, strconv.FormatInt(v.Int(), 10), typed)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return g.constant(t, strconv.FormatUint(v.Uint(), 10), typed)
	case reflect.Float32, reflect.Float64:
		f := v.Float()
		if math.IsInf(f, 0) || math.IsNaN(f) {
			return "", fmt.Errorf("%w: float %v", errNoLiteral, f)
		}
		s := strconv.FormatFloat(f, 'g', -1, t.Bits())
		if !strings.ContainsAny(s, ".e") {
			s += ".0" // a float constant, not an int one
		}
		return g.constant(t, s, typed)
	case reflect.String:
		return g.constant(t, strconv.Quote(v.String()), typed)
	case reflect.Pointer:
		return g.pointer(v)
	case reflect.Interface:
		if v.IsNil() {
			return "nil", nil
		}
		return g.value(v.Elem(), true)
	case reflect.Struct:
		return g.structValue(v)
	case reflect.Slice:
		if v.IsNil() {
			return "nil", nil
		}
		return g.elements(v)
	case reflect.Array:
		return g.elements(v)
	case reflect.Map:
		if v.IsNil() {
			return "nil", nil
		}
		return g.mapValue(v)
	}
	return "", fmt.Errorf("%w: a %s", errNoLiteral, t.Kind())
}

// constant writes a basic value, converted to its type when the context
// does not give one and the untyped constant's default type (bool, int,
// float64, string) is not it.
func (g *goWriter) constant(t reflect.Type, lit string, typed bool) (string, error) {
	if !typed {
		return lit, nil
	}
	if t.PkgPath() == "" && slices.Contains([]string{"bool", "int", "float64", "string"}, t.Name()) {
		return lit, nil
	}
	te, err := g.typeExpr(t)
	if err != nil {
		return "", err
	}
	return te + "(" + lit + ")", nil
}

func (g *goWriter) timeValue(t time.Time) string {
	tm := g.use("time", "time")
	if t.IsZero() {
		return tm + ".Time{}"
	}
	t = t.UTC()
	return fmt.Sprintf("%s.Date(%d, %s.%s, %d, %d, %d, %d, %d, %s.UTC)", tm, t.Year(), tm, t.Month(), t.Day(),
		t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), tm)
}

func (g *goWriter) pointer(v reflect.Value) (string, error) {
	if v.IsNil() {
		return "nil", nil
	}
	if v.Elem().Kind() == reflect.Struct && v.Elem().Type() != reflect.TypeFor[time.Time]() {
		s, err := g.structValue(v.Elem())
		return "&" + s, err
	}
	s, err := g.value(v.Elem(), true)
	if err != nil {
		return "", err
	}
	g.needPtr = true
	return "ptr(" + s + ")", nil
}

func (g *goWriter) structValue(v reflect.Value) (string, error) {
	te, err := g.typeExpr(v.Type())
	if err != nil {
		return "", err
	}
	var fields []string
	for i := range v.NumField() {
		f, fv := v.Type().Field(i), v.Field(i)
		if fv.IsZero() {
			continue
		}
		if !f.IsExported() {
			return "", fmt.Errorf("%w: %s has the unexported field %s set", errNoLiteral, v.Type(), f.Name)
		}
		s, err := g.value(fv, f.Type.Kind() == reflect.Interface)
		if err != nil {
			return "", err
		}
		fields = append(fields, f.Name+": "+s)
	}
	return te + "{" + strings.Join(fields, ", ") + "}", nil
}

func (g *goWriter) elements(v reflect.Value) (string, error) {
	te, err := g.typeExpr(v.Type())
	if err != nil {
		return "", err
	}
	if v.Type().Elem().Kind() == reflect.Uint8 && v.Kind() == reflect.Slice {
		return te + "(" + strconv.Quote(string(v.Bytes())) + ")", nil
	}
	elems := make([]string, 0, v.Len())
	for i := range v.Len() {
		s, err := g.value(v.Index(i), v.Type().Elem().Kind() == reflect.Interface)
		if err != nil {
			return "", err
		}
		elems = append(elems, s)
	}
	return te + "{" + strings.Join(elems, ", ") + "}", nil
}

func (g *goWriter) mapValue(v reflect.Value) (string, error) {
	te, err := g.typeExpr(v.Type())
	if err != nil {
		return "", err
	}
	type entry struct{ k, v string }
	entries := make([]entry, 0, v.Len())
	iter := v.MapRange()
	for iter.Next() {
		k, err := g.value(iter.Key(), v.Type().Key().Kind() == reflect.Interface)
		if err != nil {
			return "", err
		}
		e, err := g.value(iter.Value(), v.Type().Elem().Kind() == reflect.Interface)
		if err != nil {
			return "", err
		}
		entries = append(entries, entry{k, e})
	}
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.k, b.k) })
	parts := make([]string, len(entries))
	for i, e := range entries {
		parts[i] = e.k + ": " + e.v
	}
	return te + "{" + strings.Join(parts, ", ") + "}", nil
}

// jsonFallback writes an event that has no literal as a decode of its JSON.
func (g *goWriter) jsonFallback(value any) (string, error) {
	te, err := g.typeExpr(reflect.TypeOf(value))
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(value)
	if err != nil {
		return "", fmt.Errorf("encode a %s: %w", te, err)
	}
	g.use("encoding/json", "json")
	return fmt.Sprintf("fromJSON[%s](t, %s)", te, strconv.Quote(string(b))), nil
}
