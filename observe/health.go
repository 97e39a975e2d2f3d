package observe

import (
	"context"
	"net/http"
	"sync"
	"time"
)

// Healthz answers 200 "ok" to GET and HEAD while the process serves: a
// liveness probe. It reveals nothing and needs no credential.
func Healthz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !probeMethod(w, r) {
			return
		}
		writeProbe(w, http.StatusOK, "ok")
	})
}

// ReadyTimeout bounds how long Readyz waits for its check.
const ReadyTimeout = 2 * time.Second

// Readyz answers 200 "ready" to GET and HEAD when check returns nil within
// ReadyTimeout, and 503 "not ready" otherwise: a readiness probe, for a
// load balancer to send traffic only to a server that can answer it (for
// a store, eventstore.Store.Ready). Why it is not ready goes to log (may
// be nil), never to the client: the probe needs no credential and
// reveals nothing. A reason is logged once, and again once a minute
// while it lasts; a new one at most once a second.
func Readyz(check func(ctx context.Context) error, log func(err error)) http.Handler {
	var rl readyLog
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !probeMethod(w, r) {
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), ReadyTimeout)
		err := check(ctx)
		cancel()
		if rl.should(err, time.Now()) && log != nil {
			log(err)
		}
		if err != nil {
			w.Header().Set("Retry-After", "1")
			writeProbe(w, http.StatusServiceUnavailable, "not ready")
			return
		}
		writeProbe(w, http.StatusOK, "ready")
	})
}

// How often Readyz logs why the server is not ready: a new reason at
// most once per readyLogGap, the same one again once per readyRelog. The
// probe needs no credential, so whoever reaches the port could otherwise
// write a line to the log with every request, thousands a second.
const (
	readyLogGap = time.Second
	readyRelog  = time.Minute
)

// readyLog remembers the last reason Readyz logged.
type readyLog struct {
	mu   sync.Mutex
	last string    // "" after a ready answer
	at   time.Time // when a reason was last logged
}

// should reports whether err, a check's outcome at now, is to be logged.
func (l *readyLog) should(err error, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err == nil {
		l.last = ""
		return false
	}
	why, since := err.Error(), now.Sub(l.at)
	if why == l.last && since < readyRelog || why != l.last && since < readyLogGap {
		return false
	}
	l.last, l.at = why, now
	return true
}

func probeMethod(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", "GET, HEAD")
	writeProbe(w, http.StatusMethodNotAllowed, "method not allowed")
	return false
}

func writeProbe(w http.ResponseWriter, code int, body string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(body + "\n"))
}
