package durablestreams

import "net/http"

// Stored data is never active content on the server's origin: a stream's
// content type is whatever its creator sent, and a browser that opens a
// text/html or image/svg+xml stream's URL would run its scripts with the
// origin's rights (its cookies, the other endpoints of the same server).
// So every answer carries a sandboxing Content-Security-Policy (the page,
// if a browser renders one, runs in an opaque origin with no scripts and
// loads nothing), and the data of a stream whose type is not known to be
// inert is served as an attachment: a browser saves it instead of showing
// it. nosniff (set on every answer) keeps a browser from guessing a more
// dangerous type than the one declared. None of this changes what a
// fetch() or the official client reads.

// sandboxCSP is the Content-Security-Policy of every answer.
const sandboxCSP = "sandbox; default-src 'none'; frame-ancestors 'none'"

// inlineTypes are the media types a browser shows as inert data.
var inlineTypes = map[string]bool{
	"application/json":         true,
	"application/octet-stream": true,
	"text/plain":               true,
	"text/csv":                 true,
	"application/x-ndjson":     true,
	"application/ndjson":       true,
}

// setDataType sets the Content-Type of an answer that carries (or
// describes) a stream's data, with Content-Disposition: attachment unless
// the type is one a browser shows as inert data.
func setDataType(hd http.Header, contentType string) {
	hd.Set("Content-Type", contentType)
	if !inlineTypes[mediaType(contentType)] {
		hd.Set("Content-Disposition", "attachment")
	}
}
