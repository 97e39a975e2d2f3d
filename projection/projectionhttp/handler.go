package projectionhttp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/rewindhq/rewind/eventstore/access"
	"github.com/rewindhq/rewind/internal/requestid"
	"github.com/rewindhq/rewind/projection"
)

// Rebuilder rebuilds one read model, reporting its progress as it goes:
// typically a call of projection.Rebuild with the projection's next
// version, followed by the switch of readers to it. It must end when ctx
// does.
type Rebuilder func(ctx context.Context, progress func(projection.Progress)) error

// Handler serves the projection endpoints (see the package documentation).
// It owns the goroutines of the rebuilds it starts: Close cancels them and
// waits for them.
type Handler struct {
	runner  *projection.Runner
	rebuild map[string]Rebuilder
	mux     *http.ServeMux
	auth    access.Authorizer

	ctx    context.Context // ends at Close, and with it every rebuild
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	status map[string]*rebuildState
}

// New returns a handler of runner's projections that rebuilds them with
// rebuild, by projection name (nil: no rebuilds).
func New(runner *projection.Runner, rebuild map[string]Rebuilder, opts ...Option) *Handler {
	ctx, cancel := context.WithCancel(context.Background())
	h := &Handler{runner: runner, rebuild: make(map[string]Rebuilder, len(rebuild)), ctx: ctx, cancel: cancel,
		status: make(map[string]*rebuildState), auth: access.Anonymous{}}
	for _, o := range opts {
		if o != nil {
			o(h)
		}
	}
	for name, fn := range rebuild {
		if fn != nil {
			h.rebuild[name] = fn
		}
	}
	h.mux = http.NewServeMux()
	h.mux.HandleFunc("GET /v1/projections", h.guarded(h.serveList))
	h.mux.HandleFunc("POST /v1/projections/{name}/rebuild", h.guarded(h.serveStart))
	h.mux.HandleFunc("GET /v1/projections/{name}/rebuild", h.guarded(h.serveProgress))
	h.mux.HandleFunc("/v1/projections", methodNotAllowed("GET, HEAD"))
	h.mux.HandleFunc("/v1/projections/{name}/rebuild", methodNotAllowed("GET, HEAD, POST"))
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no endpoint %s %s", r.Method, r.URL.Path))
	})
	return h
}

// ServeHTTP serves the projection endpoints.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// Close cancels the rebuilds still running and waits for them to end. A
// rebuild started after Close fails at once with the context's error.
func (h *Handler) Close() {
	h.cancel()
	h.wg.Wait()
}

// Projection is one projection's status as GET /v1/projections gives it.
type Projection struct {
	Name       string  `json:"name"`
	Status     string  `json:"status"`
	Position   string  `json:"position"`
	LagEvents  uint64  `json:"lagEvents"`
	LagSeconds float64 `json:"lagSeconds"`
	Error      string  `json:"error"`
	// Rebuild is the projection's last rebuild (as GET
	// /v1/projections/<name>/rebuild answers it), null when none is
	// registered for it.
	Rebuild *Rebuild `json:"rebuild"`
}

// Projections is the answer of GET /v1/projections.
type Projections struct {
	Projections []Projection `json:"projections"`
}

// Started is the answer of POST /v1/projections/<name>/rebuild.
type Started struct {
	Name    string `json:"name"`
	Started string `json:"started"`
}

// Rebuild is a rebuild's progress, the answer of GET
// /v1/projections/<name>/rebuild.
type Rebuild struct {
	Name       string  `json:"name"`
	Running    bool    `json:"running"`
	Started    *string `json:"started"`
	Finished   *string `json:"finished"`
	Events     uint64  `json:"events"`
	Done       uint64  `json:"done"`
	Total      uint64  `json:"total"`
	Rate       float64 `json:"rate"`
	ETASeconds float64 `json:"etaSeconds"`
	Error      string  `json:"error"`
}

// rebuildState is the last rebuild of one projection; guarded by
// Handler.mu.
type rebuildState struct {
	running  bool
	started  time.Time
	finished time.Time
	progress projection.Progress
	err      error
}

func (h *Handler) serveList(w http.ResponseWriter, r *http.Request) {
	out := Projections{Projections: []Projection{}}
	statuses := h.runner.Statuses()
	sort.Slice(statuses, func(i, j int) bool { return statuses[i].Name < statuses[j].Name })
	for _, st := range statuses {
		p := Projection{Name: st.Name, Status: string(st.State), Position: string(st.Position),
			LagEvents: st.LagCommits, LagSeconds: st.LagTime.Seconds()}
		if st.Err != nil {
			p.Error = h.errorFor(r, st.Name, st.Err.Error())
		}
		if _, ok := h.rebuild[st.Name]; ok {
			rb := h.progress(r, st.Name)
			p.Rebuild = &rb
		}
		out.Projections = append(out.Projections, p)
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *Handler) serveStart(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	fn, ok := h.rebuild[name]
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no rebuild for projection %q", name))
		return
	}
	h.mu.Lock()
	st := h.status[name]
	if st != nil && st.running {
		started := st.started
		h.mu.Unlock()
		writeError(w, http.StatusConflict, fmt.Sprintf("a rebuild of %q is running since %s", name, formatTime(started)))
		return
	}
	st = &rebuildState{running: true, started: time.Now()}
	h.status[name] = st
	h.wg.Add(1)
	h.mu.Unlock()
	go h.run(name, fn, st)
	writeJSON(w, http.StatusAccepted, Started{Name: name, Started: formatTime(st.started)})
}

// run runs one rebuild to its end, recording its progress in st.
func (h *Handler) run(name string, fn Rebuilder, st *rebuildState) {
	defer h.wg.Done()
	err := h.ctx.Err()
	if err == nil {
		err = runRecovered(h.ctx, fn, func(p projection.Progress) {
			h.mu.Lock()
			st.progress = p
			h.mu.Unlock()
		})
	}
	if err != nil {
		err = fmt.Errorf("rebuild of %q: %w", name, err)
	}
	h.mu.Lock()
	st.running, st.finished, st.err = false, time.Now(), err
	h.mu.Unlock()
}

// runRecovered runs fn with a panic turned into its error: a rebuild
// runs on a goroutine of the handler's, where a panic would take the
// whole server down.
func runRecovered(ctx context.Context, fn Rebuilder, progress func(projection.Progress)) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panicked: %v", p)
		}
	}()
	return fn(ctx, progress)
}

func (h *Handler) serveProgress(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if _, ok := h.rebuild[name]; !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no rebuild for projection %q", name))
		return
	}
	writeJSON(w, http.StatusOK, h.progress(r, name))
}

// hiddenError stands for a projection's or a rebuild's error in an
// answer to a client that may not rebuild the projection.
const hiddenError = "failed; the error is shown to a client that may rebuild this projection (admin scope)"

// errorFor is a projection's or a rebuild's error as the answer to r
// gives it: whole to a client that may rebuild the projection, and
// otherwise only that there is one. The text is the handler's own (a
// database's error, which may name its host, user or file), and reading
// the statuses takes only read scope.
func (h *Handler) errorFor(r *http.Request, name, text string) string {
	if h.auth.Authorize(r, access.Op{Action: access.Admin, Resource: adminResource(name)}) != nil {
		return hiddenError
	}
	return text
}

// progress is the last rebuild of name as the answers to r give it.
func (h *Handler) progress(r *http.Request, name string) Rebuild {
	out := Rebuild{Name: name}
	h.mu.Lock()
	if st := h.status[name]; st != nil {
		out.Running = st.running
		out.Started = timePtr(st.started)
		out.Finished = timePtr(st.finished)
		p := st.progress
		out.Events, out.Done, out.Total, out.Rate, out.ETASeconds = p.Events, p.Done, p.Total, p.Rate, p.Remaining.Seconds()
		if st.err != nil {
			out.Error = st.err.Error()
			if errors.Is(st.err, context.Canceled) {
				out.Error = fmt.Sprintf("rebuild of %q: cancelled", name)
			}
		}
	}
	h.mu.Unlock()
	if out.Error != "" {
		out.Error = h.errorFor(r, name, out.Error)
	}
	return out
}

func timePtr(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := formatTime(t)
	return &s
}

// formatTime formats a time as the answers give it: RFC 3339 with
// nanoseconds, in UTC.
func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// methodNotAllowed answers 405 with the methods the path takes.
func methodNotAllowed(allow string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("%s takes %s, not %s", r.URL.Path, allow, r.Method))
	}
}

// writeJSON answers v as JSON with status code, HTML's characters written
// as they are (the answer is application/json, never rendered as HTML).
func writeJSON(w http.ResponseWriter, code int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		serverError(w, fmt.Errorf("encode the answer: %w", err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}

// writeError answers {"error": reason}.
func writeError(w http.ResponseWriter, code int, reason string) {
	writeJSON(w, code, struct {
		Error string `json:"error"`
	}{reason})
}

// serverError answers a failure on the server's side: 500 with what the
// client can do and a request id, never the error's text, which is logged
// (slog's default logger) with the same id.
func serverError(w http.ResponseWriter, err error) {
	id := requestid.New()
	slog.Default().Error("projectionhttp: request failed", "request_id", id, "err", err)
	b, _ := json.Marshal(struct {
		Error string `json:"error"`
	}{requestid.Reason(id)})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusInternalServerError)
	_, _ = w.Write(append(b, '\n'))
}
