package observe_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/rewindhq/rewind/observe"
)

// TestReadyzLogsOncePerReason: a probe anyone may ask, without a
// credential, logs why the server is not ready once per reason, not once
// per request: two thousand requests in a third of a second wrote two
// thousand lines to rewind serve's log while its storage was full. A new
// reason is logged a second after the last line at most.
func TestReadyzLogsOncePerReason(t *testing.T) {
	why := errors.New("storage full")
	logged := 0
	h := observe.Readyz(func(context.Context) error { return why }, func(error) { logged++ })
	ask := func() int {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		return rec.Code
	}
	for range 1000 {
		if code := ask(); code != http.StatusServiceUnavailable {
			t.Fatalf("/readyz while not ready: %d, want 503", code)
		}
	}
	if logged != 1 {
		t.Errorf("1,000 probes of one reason logged %d lines, want 1", logged)
	}
	time.Sleep(1100 * time.Millisecond) // a new reason is logged a second after the last at most
	why = errors.New("the read index is 20000 commits behind the log")
	ask()
	ask()
	if logged != 2 {
		t.Errorf("a new reason: %d lines in all, want 2", logged)
	}
	why = nil
	if code := ask(); code != http.StatusOK {
		t.Fatalf("/readyz when ready: %d, want 200", code)
	}
	time.Sleep(1100 * time.Millisecond)
	why = errors.New("storage full")
	ask()
	if logged != 3 {
		t.Errorf("the first reason again after being ready: %d lines in all, want 3", logged)
	}
}
