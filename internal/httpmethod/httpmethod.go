// Package httpmethod names a request's method where a name must come from
// a short list: a metric's label, a span's name, a log line's attribute.
// A client chooses its method freely (any token, any length), and every
// distinct method as a label is a new set of series that a /metrics
// scrape carries for good, so anything outside the standard methods is
// named Other.
package httpmethod

import "net/http"

// Other is the name of every method outside the standard ones.
const Other = "other"

// Name returns m when it is one of the methods of RFC 9110 or PATCH
// (spelt in upper case, as they are case-sensitive), and Other for
// anything else.
func Name(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return Other
}
