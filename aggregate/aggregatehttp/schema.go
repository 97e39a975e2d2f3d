package aggregatehttp

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/invopop/jsonschema"
)

// The schemas of commands and events are JSON Schema (draft 2020-12),
// generated from their Go types by github.com/invopop/jsonschema when a
// command is made or a type registered, never per request. A field is
// required unless its json tag says omitempty or omitzero (the library's
// rule, which is also what encoding/json writes); unknown fields are not
// allowed (additionalProperties false), as the strict decoding of a
// command refuses them. Nested struct types are under "$defs" and
// referenced with "$ref"; time.Time is a string of format date-time.

// reflector makes every schema of the package: anonymous (no $id made up
// from the Go package path) and with the type's own fields at the root.
func reflector() *jsonschema.Reflector {
	return &jsonschema.Reflector{Anonymous: true, ExpandedStruct: true}
}

// commandSchema is the JSON Schema of a command's body: the fields of C
// plus "type", whose value is the command's name, and the names of its
// required fields ("type" left out).
func commandSchema(name string, c reflect.Type) (json.RawMessage, []string, error) {
	s := reflector().ReflectFromType(c)
	if s.Properties == nil || s.Type != "object" {
		return nil, nil, fmt.Errorf("%w: command %q: %v is not a struct", ErrRegister, name, c)
	}
	required := slices.Clone(s.Required)
	s.Properties.Set("type", &jsonschema.Schema{Type: "string", Const: name, Description: "the command's name"})
	s.Required = append([]string{"type"}, s.Required...)
	b, err := json.Marshal(s)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: command %q: its schema: %v", ErrRegister, name, err)
	}
	return b, required, nil
}

// eventSchema is the JSON Schema of an event type's data.
func eventSchema(t reflect.Type) json.RawMessage {
	b, err := json.Marshal(reflector().ReflectFromType(t))
	if err != nil {
		return json.RawMessage("{}") // any JSON: a schema the library cannot write describes nothing
	}
	return b
}

// checkRequired refuses a command body that lacks a required field or
// gives it as null: a 400 naming the fields, so that a missing quantity
// is not decoded as 0 and then refused by the decider for being 0.
func checkRequired(fields map[string]json.RawMessage, required []string) error {
	var missing []string
	for _, f := range required {
		if v, ok := fields[f]; !ok || string(v) == "null" {
			missing = append(missing, f)
		}
	}
	switch len(missing) {
	case 0:
		return nil
	case 1:
		return &httpError{code: http.StatusBadRequest, reason: fmt.Sprintf("field %q is required (GET /v1/aggregates gives each command's schema)", missing[0])}
	}
	quoted := make([]string, len(missing))
	for i, f := range missing {
		quoted[i] = strconv.Quote(f)
	}
	return &httpError{code: http.StatusBadRequest, reason: fmt.Sprintf("fields %s are required (GET /v1/aggregates gives each command's schema)", strings.Join(quoted, ", "))}
}
