package aggregatehttp

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

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
	// A client that stops reading is cut once the answer has had its
	// time, and the answer's memory freed; without a deadline it held
	// it for as long as it kept the connection. (A ResponseWriter that
	// cannot take deadlines, as a recorder in tests, writes without.)
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Now().Add(writeTime(len(b))))
	w.WriteHeader(code)
	_, _ = w.Write(b)
	_ = rc.SetWriteDeadline(time.Time{}) // the connection's next answer has its own
}

// writeTime is how long an answer of n bytes may take to be written: ten
// seconds, and a second per MiB.
func writeTime(n int) time.Duration {
	return 10*time.Second + time.Duration(n>>20)*time.Second
}

// writeError answers a JSON error.
func writeError(w http.ResponseWriter, code int, why string) {
	writeJSON(w, code, errorBody{Error: reason.Cap(why)})
}

// marshalJSON is json.Marshal with HTML's characters written as they are,
// as every answer writes them (aggregate.JSON's encoding): a state or a
// value with "<", ">" or "&" reads as it is, not as "\u003c".
func marshalJSON(v any) ([]byte, error) { return aggregate.JSON{}.Marshal(v) }
