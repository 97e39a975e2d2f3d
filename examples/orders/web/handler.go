package web

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed static
var static embed.FS

// contentPolicy lets the page run its own script and style sheet and talk
// to its own origin, and nothing else: no inline script, no script or
// frame from elsewhere, no form posted away, not framed by another site.
// Styles set from the script (element.style) are not markup, and the
// favicon is a data: image.
const contentPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Handler serves the page and its assets at "/" (index.html, app.css,
// app.js) to GET and HEAD (405 to any other method), with a
// Content-Security-Policy that allows the page's own
// script and nothing inline. Mount it at the root of a mux beside the /v1/
// endpoints.
func Handler() http.Handler {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		// The embedded tree is fixed at build time; "static" is in it.
		return http.NotFoundHandler()
	}
	files := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-cache")
		h.Set("Content-Security-Policy", contentPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			// The page is read, never written: a POST or a made-up method
			// was answered with the page, 200.
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed: the page is only read (GET)", http.StatusMethodNotAllowed)
			return
		}
		files.ServeHTTP(w, r)
	})
}
