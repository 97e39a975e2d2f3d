package aggregatehttp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/rewindhq/rewind/eventstore"
)

// parsePoint reads a version ("7") or an RFC 3339 time from the query
// parameter name; unset when absent.
func parsePoint(r *http.Request, name string) (point, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return point{}, nil
	}
	if n, err := strconv.ParseUint(v, 10, 64); err == nil {
		return point{set: true, version: n}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return timePoint(t), nil
	}
	return point{}, badRequest(fmt.Sprintf("%s=%q is neither a version nor an RFC 3339 time (2006-01-02T15:04:05Z)", name, v))
}

// statePoint reads the state endpoint's ?version=N or ?at=<time>.
func statePoint(r *http.Request) (point, error) {
	q := r.URL.Query()
	version, at := q.Get("version"), q.Get("at")
	switch {
	case version != "" && at != "":
		return point{}, badRequest("give version or at, not both")
	case version != "":
		n, err := strconv.ParseUint(version, 10, 64)
		if err != nil {
			return point{}, badRequest(fmt.Sprintf("version=%q is not a version (0, 1, 2, ...)", version))
		}
		return point{set: true, version: n}, nil
	case at != "":
		t, err := time.Parse(time.RFC3339Nano, at)
		if err != nil {
			return point{}, badRequest(fmt.Sprintf("at=%q is not an RFC 3339 time (2006-01-02T15:04:05Z)", at))
		}
		return timePoint(t), nil
	}
	return point{}, nil
}

// timePoint is the point at time t: after every event stored at or before
// it. The zero time (0001-01-01T00:00:00Z), or one before it, is before
// every event, so it is version 0, the state before any event, as any
// time before the first event is: the store takes no zero time as a
// bound (eventstore.ToTime), and a client may well send one for "from the
// beginning".
func timePoint(t time.Time) point {
	if !t.After(time.Time{}) {
		return point{set: true, version: 0}
	}
	return point{set: true, isTime: true, at: t}
}

// maxBody bounds a command's body.
const maxBody = 1 << 20

// readCommand reads a command's body: a JSON object with a string "type";
// it returns the type and the other fields.
func readCommand(w http.ResponseWriter, r *http.Request) (string, map[string]json.RawMessage, error) {
	body := http.MaxBytesReader(w, r.Body, maxBody)
	dec := json.NewDecoder(body)
	var fields map[string]json.RawMessage
	if err := dec.Decode(&fields); err != nil {
		if herr := bodyTooLarge(err); herr != nil {
			return "", nil, herr
		}
		if herr := bodyReadError(err); herr != nil {
			return "", nil, herr
		}
		return "", nil, badRequest("the body is not a JSON object: " + jsonReason(err))
	}
	// What follows the object is read to its end: white space only, and
	// within the bound (dec.More would stop at the bound, unseen).
	if err := restIsSpace(io.MultiReader(dec.Buffered(), body)); err != nil {
		return "", nil, err
	}
	if fields == nil {
		return "", nil, badRequest(`the body is not a JSON object: null`)
	}
	raw, ok := fields["type"]
	if !ok {
		return "", nil, badRequest(`the body has no "type": {"type": "<Command>", ...}`)
	}
	var typ string
	if err := json.Unmarshal(raw, &typ); err != nil || typ == "" {
		return "", nil, badRequest(`"type" must be a command's name, a non-empty string`)
	}
	delete(fields, "type")
	return typ, fields, nil
}

// bodyTooLarge is the 413 for a body over maxBody, nil for another error.
func bodyTooLarge(err error) error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return &httpError{code: http.StatusRequestEntityTooLarge, reason: fmt.Sprintf("the body is over %d bytes", maxBody)}
	}
	return nil
}

// restIsSpace reads what follows a command's JSON object to the body's
// end: anything but white space is a 400, a body over maxBody a 413.
func restIsSpace(r io.Reader) error {
	buf := make([]byte, 4096)
	for {
		n, err := r.Read(buf)
		for _, c := range buf[:n] {
			switch c {
			case ' ', '\t', '\r', '\n':
			default:
				return badRequest("the body holds more than one JSON value")
			}
		}
		switch {
		case err == io.EOF:
			return nil
		case err != nil:
			if herr := bodyTooLarge(err); herr != nil {
				return herr
			}
			if herr := bodyReadError(err); herr != nil {
				return herr
			}
			return badRequest("cannot read the body")
		}
	}
}

// bodyReadError is the answer to a body that could not be read, nil when
// err is about the JSON in it (a body cut short reads as JSON that ends
// early): 408 when it did not arrive in time. Never the I/O error's text,
// which names the server's sockets.
func bodyReadError(err error) error {
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return &httpError{code: http.StatusRequestTimeout, reason: "the body did not arrive in time"}
	}
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &syntaxErr) || errors.As(err, &typeErr) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return nil
	}
	return badRequest("cannot read the body")
}

// idempotencyKey returns the request's Idempotency-Key ("" when it has
// none). A header that is present but empty, given twice, or longer than
// a command id can be is a 400: an empty key must not quietly turn
// idempotency off.
func idempotencyKey(r *http.Request) (string, error) {
	vals, ok := r.Header["Idempotency-Key"]
	switch {
	case !ok:
		return "", nil
	case len(vals) != 1:
		return "", badRequest("give one Idempotency-Key header")
	case vals[0] == "":
		return "", badRequest("the Idempotency-Key is empty")
	case len(vals[0]) > eventstore.MaxCommandIDLen:
		return "", badRequest(fmt.Sprintf("the Idempotency-Key is over %d bytes", eventstore.MaxCommandIDLen))
	}
	return vals[0], nil
}

// commandKey is a command's Idempotency-Key and the fingerprint of the
// request it came with.
type commandKey struct {
	key         string // "" if none
	fingerprint []byte
}

// idempotency fingerprints a command for its key: its type and its fields
// in canonical JSON (see canonical.go), so that a retry of the same
// command matches whatever its whitespace, key order or string escapes,
// and another command under the key does not.
func idempotency(key, typ string, fields map[string]json.RawMessage) (commandKey, error) {
	if key == "" {
		return commandKey{}, nil
	}
	body, err := canonicalFields(fields)
	if err != nil {
		return commandKey{}, badRequest("the body is not a JSON object: " + jsonReason(err))
	}
	return commandKey{key: key, fingerprint: append([]byte(typ+"\x00"), body...)}, nil
}

// decodeFields decodes a command's fields into v, strictly: a field v has
// not, or a value of the wrong type, is a 400 naming it.
func decodeFields(fields map[string]json.RawMessage, v any) error {
	b, err := json.Marshal(fields)
	if err != nil {
		return badRequest("the body's fields: " + jsonReason(err))
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest(jsonReason(err))
	}
	return nil
}

// jsonReason says what is wrong with a JSON value, without the package's
// "json: " prefix and in terms of the request's fields.
// jsonKind names the JSON value a Go type decodes from, for a client that
// knows JSON, not the server's Go types.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "another value"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return "a base64 string"
		}
		return "an array"
	case reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "another value"
}

func jsonReason(err error) string {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		field := typeErr.Field
		if field == "" {
			return fmt.Sprintf("a JSON %s where %s was expected", typeErr.Value, jsonKind(typeErr.Type))
		}
		return fmt.Sprintf("field %q: a JSON %s where %s was expected", field, typeErr.Value, jsonKind(typeErr.Type))
	}
	var syntaxErr *json.SyntaxError
	if errors.As(err, &syntaxErr) {
		return fmt.Sprintf("%s (at byte %d)", strings.TrimPrefix(syntaxErr.Error(), "json: "), syntaxErr.Offset)
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}
