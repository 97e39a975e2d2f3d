package aggregatehttp

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/rewindhq/rewind/aggregate"
	"github.com/rewindhq/rewind/internal/reason"
)

// errorBody is every error's JSON: a short reason.
type errorBody struct {
	Error string `json:"error"`
}

// writeJSON answers v as JSON with status code. HTML's characters are not
// escaped (a reason reads "<Command>", not "\u003cCommand\u003e"): the
// answers are application/json, which no browser renders as HTML. The
// answer says its length (Content-Length) instead of coming in chunks,
// which net/http does for one past 2 KB: the client knows from the
// headers how much is coming.
func writeJSON(w http.ResponseWriter, code int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	b := []byte(`{"error":"encoding the answer failed"}` + "\n")
	if err := enc.Encode(v); err != nil {
		code = http.StatusInternalServerError
	} else {
		b = buf.Bytes()
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

// writeError answers a JSON error.
func writeError(w http.ResponseWriter, code int, why string) {
	writeJSON(w, code, errorBody{Error: reason.Cap(why)})
}

// marshalJSON is json.Marshal with HTML's characters written as they are,
// as every answer writes them (aggregate.JSON's encoding): a state or a
// value with "<", ">" or "&" reads as it is, not as "\u003c".
func marshalJSON(v any) ([]byte, error) { return aggregate.JSON{}.Marshal(v) }
