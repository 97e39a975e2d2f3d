package web_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rewindhq/rewind/examples/orders/web"
)

func TestHandlerServesThePage(t *testing.T) {
	srv := httptest.NewServer(web.Handler())
	defer srv.Close()
	for _, c := range []struct {
		path, contentType, contains string
	}{
		{"/", "text/html", `<script src="app.js">`},
		{"/app.js", "text/javascript", "/v1/timeline/"},
		{"/app.css", "text/css", ".json"},
	} {
		resp, err := http.Get(srv.URL + c.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), c.contentType) ||
			!strings.Contains(string(body), c.contains) {
			t.Errorf("GET %s: %s %q, %d bytes; want 200 %s holding %q", c.path, resp.Status, resp.Header.Get("Content-Type"), len(body), c.contentType, c.contains)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") ||
			!strings.Contains(csp, "frame-ancestors 'none'") || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: Content-Security-Policy %q, X-Content-Type-Options %q; want the page's own script only, no framing, nosniff",
				c.path, csp, resp.Header.Get("X-Content-Type-Options"))
		}
		if resp.Header.Get("Cache-Control") != "no-cache" {
			t.Errorf("GET %s: Cache-Control %q, want no-cache (a new binary serves a new page)", c.path, resp.Header.Get("Cache-Control"))
		}
	}
	resp, err := http.Get(srv.URL + "/nothing-here.js")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /nothing-here.js: %s, want 404", resp.Status)
	}
}

// The page is only read: any other method than GET or HEAD is 405, with
// Allow, where it was answered with the page.
func TestHandlerOnlyReads(t *testing.T) {
	srv := httptest.NewServer(web.Handler())
	defer srv.Close()
	for _, m := range []string{"POST", "PUT", "DELETE", "PATCH", "OPTIONS", "PROPFIND"} {
		for _, path := range []string{"/", "/app.js"} {
			req, err := http.NewRequest(m, srv.URL+path, strings.NewReader("x"))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" || strings.Contains(string(body), "<script") {
				t.Errorf("%s %s: %s, Allow %q, %d bytes; want 405 with Allow: GET, HEAD", m, path, resp.Status, resp.Header.Get("Allow"), len(body))
			}
		}
	}
	resp, err := http.Head(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("HEAD /: %s", resp.Status)
	}
}
