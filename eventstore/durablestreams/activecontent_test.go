package durablestreams_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/rewindhq/rewind/eventstore/durablestreams"
	"github.com/rewindhq/rewind/internal/chromium"
)

// A stream whose content type a browser renders (HTML, SVG) and whose data
// is a script does not run that script on the server's origin when a
// browser opens the stream's URL. A page of the same origin that is not a
// stream's data, with the same script, runs it: the check sees a script
// that runs.
func TestStoredScriptDoesNotRun(t *testing.T) {
	bin := chromium.Find(t, "the check that stored data never runs as a page")
	store := openStore(t, t.TempDir())
	h := durablestreams.New(store, durablestreams.WithLogger(quietLog))
	var mu sync.Mutex
	ran := map[string]bool{}
	mux := http.NewServeMux()
	mux.Handle("/v1/stream/", h)
	mux.HandleFunc("/ran", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		ran[r.URL.Query().Get("k")] = true
		mu.Unlock()
	})
	mux.HandleFunc("/control", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte(`<script>fetch('/ran?k=control')</script>`))
	})
	hs := httptest.NewServer(mux)
	t.Cleanup(func() {
		h.Shutdown()
		hs.Close()
	})
	srv := &server{t: t, store: store, handler: h, http: hs}
	pages := map[string][2]string{
		"html": {"text/html", `<html><body><script>fetch('/ran?k=html')</script></body></html>`},
		"svg":  {"image/svg+xml", `<svg xmlns="http://www.w3.org/2000/svg"><script>fetch('/ran?k=svg')</script></svg>`},
		"xml":  {"application/xhtml+xml", `<html xmlns="http://www.w3.org/1999/xhtml"><body><script>fetch('/ran?k=xml')</script></body></html>`},
	}
	for k, p := range pages {
		srv.do("PUT", "pages/"+k, []byte(p[1]), "Content-Type", p[0]).must(t, 201, "PUT "+k)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tab := chromium.Tab(t, ctx, bin)
	hasRun := func(k string, wait time.Duration) bool {
		deadline := time.Now().Add(wait)
		for {
			mu.Lock()
			r := ran[k]
			mu.Unlock()
			if r || time.Now().After(deadline) {
				return r
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	if err := chromedp.Do(tab, chromedp.Navigate(hs.URL+"/control")); err != nil {
		t.Fatalf("open the control page: %v", err)
	}
	if !hasRun("control", 10*time.Second) {
		t.Fatal("the control page's script did not run: the check cannot see a script run")
	}
	for k := range pages {
		for _, q := range []string{"", "?offset=-1"} {
			// A download (Content-Disposition: attachment) aborts the
			// navigation: an error here is what a saved file looks like.
			_ = chromedp.Do(tab, chromedp.Navigate(srv.url("pages/"+k)+q))
			if hasRun(k, 1500*time.Millisecond) {
				t.Errorf("the script stored in a %s stream ran on the server's origin (GET %s)", pages[k][0], "pages/"+k+q)
			}
		}
	}
}
