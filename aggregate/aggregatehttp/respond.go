package aggregatehttp

import (
	"encoding/json"
	"net/http"
)

// errorBody is every error's JSON: a short reason.
type errorBody struct {
	Error string `json:"error"`
}

// writeJSON answers v as JSON with status code.
func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(`{"error":"encoding the answer failed"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
}

// writeError answers a JSON error.
func writeError(w http.ResponseWriter, code int, reason string) {
	writeJSON(w, code, errorBody{Error: reason})
}
