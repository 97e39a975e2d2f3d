package durablestreams

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rewindhq/rewind/eventstore"
	"github.com/rewindhq/rewind/eventstore/access"
	"github.com/rewindhq/rewind/internal/clientshare"
	"github.com/rewindhq/rewind/internal/reason"
	"github.com/rewindhq/rewind/internal/requestid"
)

// MessageType is the event type of a message posted over HTTP. An event of
// any other type is Go code's, and a JSON stream serves it as an object
// (see the package doc).
const MessageType = "ds.message"

// defaultGoContentType is the content type of a stream Go code made.
const defaultGoContentType = "application/json"

// Handler serves the Durable Streams protocol over a Store. Make one with
// New; it is an http.Handler safe for concurrent use.
type Handler struct {
	store *eventstore.Store
	cfg   config
	now   func() time.Time

	seqs *seqCache // the last Stream-Seq of recently written streams

	maxMessages int // the most messages one append holds (maxMessages)

	// corp is the answers' Cross-Origin-Resource-Policy: "cross-origin"
	// only when every request carries its bearer token (access.Bearer).
	// Without one, the server is open, or its credential is one a browser
	// sends by itself (a client certificate), with a page's <script src>
	// or <img> to this origin too: "same-origin" keeps such a page from
	// loading a stream. CORS fetches, the protocol's clients, are not
	// subject to it.
	corp string
	// catchUp is the Cache-Control of a catch-up answer short of the
	// tail: "public" only behind access.Anonymous, where every client
	// the server answers may read every stream; behind any other
	// Authorizer "private", since a shared cache keeps an answer to a
	// request with credentials for anyone once it says "public".
	catchUp string

	mu      sync.Mutex
	polls   map[pollKey]*poll                     // the long-polls waiting, by stream and offset
	writers map[*http.ResponseController]struct{} // the answers being written

	locks   [256]sync.Mutex // serialize a stream's writes in this handler
	waiting atomic.Int64    // long-poll and SSE requests parked

	bodiesIn  *budget // bytes of request bodies held
	bodiesOut *budget // bytes of answers being made and written
	// each client's part of bodiesIn, bodiesOut and the waits (shares.go)
	inShares   *shares
	outShares  *shares
	waitShares *clientshare.Counts
	// bodies holds GET answers' body buffers for the next read (readAnswer):
	// at most one per answer in flight, each at most maxPooledBody, and
	// dropped by the garbage collector when idle.
	bodies sync.Pool

	sweeping  atomic.Bool  // a sweep of expired streams runs
	lastSweep atomic.Int64 // when the last one began, Unix ns
	sweepMu   sync.Mutex   // orders a sweep's start with Shutdown
	sweeps    sync.WaitGroup

	closeCtx context.Context // ends with Shutdown
	shutdown context.CancelFunc
}

type config struct {
	prefix      string
	longPoll    time.Duration
	sseLifetime time.Duration
	maxBody     int64
	maxWaiting  int64
	maxIn       int64
	maxOut      int64
	writeTime   time.Duration
	chunk       int
	readOnly    map[string]bool
	log         *slog.Logger
	auth        access.Authorizer
}

// Option configures a Handler. A nil Option is ignored.
type Option func(*config)

// WithPrefix sets the path under which streams are served (default
// "/v1/stream/"): the rest of the path is the stream's name.
func WithPrefix(p string) Option {
	return func(c *config) {
		if !strings.HasSuffix(p, "/") {
			p += "/"
		}
		c.prefix = p
	}
}

// WithLongPollTimeout sets how long a long-poll read waits for data before
// it answers 204 (default 30 s).
func WithLongPollTimeout(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.longPoll = d
		}
	}
}

// WithSSELifetime sets how long an SSE response lasts before the server
// ends it and the client reconnects from its last offset (default 60 s).
func WithSSELifetime(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.sseLifetime = d
		}
	}
}

// WithMaxBody sets the largest request body accepted (default and at most
// the store's eventstore.Store.MaxAppendBytes, 8,388,480 bytes with the
// default NATS max_payload: a body the store cannot take is never read);
// a larger one is refused with 413 and nothing stored, before it is read
// when its Content-Length says so.
func WithMaxBody(bytes int64) Option {
	return func(c *config) {
		if bytes > 0 {
			c.maxBody = bytes
		}
	}
}

// WithMaxBodiesInFlight bounds the bytes of request bodies that requests
// hold at once (default 32 MiB). A request past it waits up to a second
// for others to finish, then is refused with 503 and Retry-After. A body
// larger than the bound still goes, alone. A client known by its
// credential (internal/clientshare) holds a quarter of the bound at most.
// A body counts its announced length; a chunked one 64 KiB, and as much
// again each time its bytes pass what it holds.
func WithMaxBodiesInFlight(bytes int64) Option {
	return func(c *config) {
		if bytes > 0 {
			c.maxIn = bytes
		}
	}
}

// WithMaxAnswersInFlight bounds the bytes of messages that answers being
// written hold at once (default 8 MiB): a catch-up or long-poll body, an
// SSE event. A read past it waits up to a second for room, then is
// refused with 503 and Retry-After (an SSE answer ends, and its client
// reconnects). With WithWriteTimeout, it is what keeps clients that stop
// reading from holding the server's memory.
func WithMaxAnswersInFlight(bytes int64) Option {
	return func(c *config) {
		if bytes > 0 {
			c.maxOut = bytes
		}
	}
}

// WithWriteTimeout sets how long one write of an answer may take (default
// 10 s): a client that stops reading a catch-up, long-poll or SSE answer
// is cut when it passes, so it holds neither memory nor a server's drain.
func WithWriteTimeout(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.writeTime = d
		}
	}
}

// WithMaxWaiting bounds the long-poll and SSE requests that may wait at
// once (default 10,000); past it a request is refused with 503 and
// Retry-After.
func WithMaxWaiting(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.maxWaiting = int64(n)
		}
	}
}

// WithChunkSize sets about how many bytes of messages one catch-up
// response carries (default 1 MiB; a response always has at least one
// message when there is one).
func WithChunkSize(bytes int) Option {
	return func(c *config) {
		if bytes > 0 {
			c.chunk = bytes
		}
	}
}

// ReadOnly serves the streams of the given categories (the first segment
// of a name) for reading only: PUT, POST and DELETE answer 405. It is how
// streams that Go code writes through deciders keep their invariants.
func ReadOnly(categories ...string) Option {
	return func(c *config) {
		for _, cat := range categories {
			c.readOnly[cat] = true
		}
	}
}

// WithAuthorizer sets who may do what (see package eventstore/access):
// every request but a CORS preflight is asked about, reads as access.Read
// of the stream, PUT and POST as access.Write (and a fork's PUT as
// access.Read of its source too), DELETE as access.Delete. The default,
// access.Anonymous{}, takes requests without credentials from loopback
// only, and refuses writes from pages of other origins and requests to a
// Host that is a foreign name. Behind any other Authorizer, a catch-up
// answer is "Cache-Control: private", not "public": a shared cache must
// not serve one client's read to another.
func WithAuthorizer(a access.Authorizer) Option {
	return func(c *config) {
		if a != nil {
			c.auth = a
		}
	}
}

// WithLogger sets the logger for what goes wrong on the server's side
// (default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l != nil {
			c.log = l
		}
	}
}

// New returns a Handler serving the streams of store.
func New(store *eventstore.Store, opts ...Option) *Handler {
	limit := int64(store.MaxAppendBytes())
	cfg := config{prefix: "/v1/stream/", longPoll: 30 * time.Second, sseLifetime: 60 * time.Second,
		maxBody: limit, maxWaiting: 10000, maxIn: 32 << 20, maxOut: 8 << 20, writeTime: 10 * time.Second, chunk: 1 << 20,
		readOnly: map[string]bool{}, log: slog.Default(), auth: access.Anonymous{}}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	cfg.maxBody = min(cfg.maxBody, limit)
	h := &Handler{store: store, cfg: cfg, now: time.Now, seqs: newSeqCache(seqCacheSize), maxMessages: maxMessages(store), polls: map[pollKey]*poll{},
		writers:  map[*http.ResponseController]struct{}{},
		bodiesIn: newBudget(cfg.maxIn), bodiesOut: newBudget(cfg.maxOut),
		inShares: newShares(cfg.maxIn), outShares: newShares(cfg.maxOut), waitShares: clientshare.NewCounts(cfg.maxWaiting)}
	h.corp = "same-origin"
	if access.Bearer(cfg.auth) {
		h.corp = "cross-origin"
	}
	h.catchUp = "private, max-age=60, stale-while-revalidate=300"
	switch cfg.auth.(type) {
	case access.Anonymous, *access.Anonymous:
		h.catchUp = "public, max-age=60, stale-while-revalidate=300"
	}
	h.closeCtx, h.shutdown = context.WithCancel(context.Background())
	return h
}

// Shutdown ends the long-poll and SSE responses in progress (they answer
// as if their wait had ended), so that an http.Server's Shutdown does not
// wait for them, gives the writes of answers in progress a second at most
// (a client that stopped reading is cut), and waits for a running expiry sweep to stop, so that the
// store can be closed next. Requests that write are not cut: they finish.
func (h *Handler) Shutdown() {
	h.sweepMu.Lock()
	h.shutdown()
	h.sweepMu.Unlock()
	// A write blocked on a client that stopped reading ends within the
	// grace, so it does not hold the server's drain.
	h.mu.Lock()
	for rc := range h.writers {
		_ = rc.SetWriteDeadline(time.Now().Add(shutdownGrace))
	}
	h.mu.Unlock()
	h.sweeps.Wait()
}

// Waiting returns how many long-poll and SSE requests are parked, waiting
// for data (at most WithMaxWaiting): a gauge for the server's metrics
// (observe.Observer.WatchParked).
func (h *Handler) Waiting() int { return int(h.waiting.Load()) }

// Protocol header names.
const (
	hNextOffset  = "Stream-Next-Offset"
	hUpToDate    = "Stream-Up-To-Date"
	hClosed      = "Stream-Closed"
	hCursor      = "Stream-Cursor"
	hSeq         = "Stream-Seq"
	hTTL         = "Stream-TTL"
	hExpiresAt   = "Stream-Expires-At"
	hForkedFrom  = "Stream-Forked-From"
	hForkOffset  = "Stream-Fork-Offset"
	hForkSub     = "Stream-Fork-Sub-Offset"
	hSSEEncoding = "Stream-SSE-Data-Encoding"
	hProducerID  = "Producer-Id"
	hEpoch       = "Producer-Epoch"
	hProdSeq     = "Producer-Seq"
	hExpectedSeq = "Producer-Expected-Seq"
	hReceivedSeq = "Producer-Received-Seq"
)

const (
	allowMethods  = "GET, POST, PUT, DELETE, HEAD, OPTIONS"
	allowHeaders  = "Content-Type, Authorization, If-None-Match, Stream-Seq, Stream-TTL, Stream-Expires-At, Stream-Closed, Stream-Forked-From, Stream-Fork-Offset, Stream-Fork-Sub-Offset, Producer-Id, Producer-Epoch, Producer-Seq"
	exposeHeaders = "Stream-Next-Offset, Stream-Cursor, Stream-Up-To-Date, Stream-Closed, Producer-Epoch, Producer-Seq, Producer-Expected-Seq, Producer-Received-Seq, etag, content-type, content-encoding, vary, Stream-SSE-Data-Encoding, Stream-TTL, Stream-Expires-At, Location"
)

// ServeHTTP serves one request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Access-Control-Allow-Origin", "*")
	hd.Set("Access-Control-Expose-Headers", exposeHeaders)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Cross-Origin-Resource-Policy", h.corp)
	hd.Set("Content-Security-Policy", sandboxCSP)
	if r.Method == http.MethodOptions {
		hd.Set("Access-Control-Allow-Methods", allowMethods)
		hd.Set("Access-Control-Allow-Headers", allowHeaders)
		hd.Set("Access-Control-Max-Age", "86400")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	name, ok := strings.CutPrefix(r.URL.Path, h.cfg.prefix)
	if !ok || name == "" {
		fail(w, http.StatusNotFound, "no stream at this path: streams are under "+h.cfg.prefix)
		return
	}
	if !h.authorize(w, r, name) {
		return
	}
	h.maybeSweep()
	switch r.Method {
	case http.MethodGet:
		h.get(w, r, name)
	case http.MethodHead:
		h.head(w, r, name)
	case http.MethodPut, http.MethodPost, http.MethodDelete:
		if cat, _, _ := strings.Cut(name, "/"); h.cfg.readOnly[cat] {
			hd.Set("Allow", "GET, HEAD, OPTIONS")
			fail(w, http.StatusMethodNotAllowed, fmt.Sprintf("streams of %q are read-only here: they are written through their aggregate's commands", cat))
			return
		}
		if enc := bodyEncoding(r); enc != "" {
			hd.Set("Accept-Encoding", "identity")
			fail(w, http.StatusUnsupportedMediaType, "Content-Encoding "+reason.Quote(enc)+" is not taken here: send the body as it is, without Content-Encoding")
			return
		}
		switch r.Method {
		case http.MethodPut:
			h.put(w, r, name)
		case http.MethodPost:
			h.post(w, r, name)
		default:
			h.delete(w, r, name)
		}
	default:
		hd.Set("Allow", allowMethods)
		fail(w, http.StatusMethodNotAllowed, "method "+r.Method+" is not part of the protocol")
	}
}

// fail answers an error with a short plain-text reason.
func fail(w http.ResponseWriter, code int, why string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	fmt.Fprintln(w, reason.Cap(why))
}

// storeError answers an error from the store: bad input as 4xx, the rest
// as 500 or 503 (logged).
func (h *Handler) storeError(w http.ResponseWriter, r *http.Request, name string, err error) {
	switch {
	case errors.Is(err, eventstore.ErrInvalidStreamName):
		fail(w, http.StatusBadRequest, "invalid stream name: "+reason.Quote(name))
	case errors.Is(err, eventstore.ErrInvalidOffset):
		fail(w, http.StatusBadRequest, "invalid offset")
	case errors.Is(err, eventstore.ErrTooLarge):
		fail(w, http.StatusRequestEntityTooLarge, "append too large: "+err.Error())
	case errors.Is(err, eventstore.ErrInvalidEvent):
		fail(w, http.StatusBadRequest, err.Error())
	case r.Context().Err() != nil:
		// The client went away; nobody reads the answer.
		w.WriteHeader(http.StatusServiceUnavailable)
	case errors.Is(err, eventstore.ErrClosed):
		w.Header().Set("Retry-After", "1")
		fail(w, http.StatusServiceUnavailable, "the server is shutting down")
	case errors.Is(err, eventstore.ErrStorageFull):
		// The store logged it, once a run; nothing was stored.
		fail(w, http.StatusInsufficientStorage, reason.StorageFull)
	case errors.Is(err, eventstore.ErrUnavailable):
		unavailable(w)
		h.cfg.log.Warn("durablestreams: the event store's cluster is unavailable", "method", r.Method, "stream", name, "err", err)
	default:
		h.serverError(w, r, name, err)
	}
}

// serverError answers a failure on the server's side: 500 with what the
// client can do and a request id, never the error's text, which is logged
// with the same id.
func (h *Handler) serverError(w http.ResponseWriter, r *http.Request, name string, err error) {
	id := requestid.New()
	h.cfg.log.Error("durablestreams: request failed", "request_id", id, "method", r.Method, "stream", name, "err", err)
	fail(w, http.StatusInternalServerError, requestid.Reason(id))
}

// unavailable answers a request the store could not serve because its
// NATS cluster had no leader for it (eventstore.ErrUnavailable): a 503
// with Retry-After, which clients retry, never a 500. Whether a write that
// failed so was stored is unknown: a client retries it with its producer
// headers (the protocol's idempotent producers), which make it
// exactly-once.
func unavailable(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "1")
	fail(w, http.StatusServiceUnavailable, reason.Unavailable)
}

func (h *Handler) lock(name string) func() {
	m := &h.locks[h.stripe(name)]
	m.Lock()
	return m.Unlock
}

// cursorEpoch and cursorInterval define the protocol's cursors: intervals
// of 20 s since 2024-10-09T00:00Z.
var cursorEpoch = time.Date(2024, 10, 9, 0, 0, 0, 0, time.UTC)

const cursorInterval = 20 * time.Second

// cursor returns the cursor to answer a live read with: the current
// interval, or past the client's when the client's is not behind it, so
// that caches never serve a long-poll answer back to the same client.
func (h *Handler) cursor(client string) string {
	cur := int64(h.now().Sub(cursorEpoch) / cursorInterval)
	// A cursor too close to the largest int64 to step past (no honest
	// client has one) gets the current interval: it differs too, and the
	// answer never overflows to a negative cursor.
	if c, err := strconv.ParseInt(client, 10, 64); err == nil && c >= cur && c <= math.MaxInt64-180 {
		cur = c + 1 + rand.Int64N(180)
	}
	return strconv.FormatInt(cur, 10)
}

func setHeadHeaders(w http.ResponseWriter, st *stream) {
	hd := w.Header()
	setDataType(hd, st.meta.contentType)
	hd.Set(hNextOffset, string(st.tail()))
	if st.meta.ttl >= 0 {
		hd.Set(hTTL, strconv.FormatInt(st.meta.ttl, 10))
	}
	if st.meta.expiresRaw != "" {
		hd.Set(hExpiresAt, st.meta.expiresRaw)
	}
	if st.head.Closed {
		hd.Set(hClosed, "true")
	}
}

// existing looks up a stream that a request reads or writes, answering
// 404 when there is none and 410 when it is soft-deleted (ok false then).
// locked says whether the request holds the stream's lock.
func (h *Handler) existing(w http.ResponseWriter, r *http.Request, name string, locked bool) (st *stream, ok bool) {
	lookup := h.lookupUnlocked
	if locked {
		lookup = h.lookup
	}
	st, err := lookup(r.Context(), name)
	switch {
	case err != nil:
		h.storeError(w, r, name, err)
		return nil, false
	case !st.exists:
		fail(w, http.StatusNotFound, "stream not found")
		return nil, false
	case st.meta.softDeleted:
		fail(w, http.StatusGone, "stream deleted")
		return nil, false
	}
	return st, true
}

func (h *Handler) head(w http.ResponseWriter, r *http.Request, name string) {
	st, ok := h.existing(w, r, name, false)
	if !ok {
		return
	}
	setHeadHeaders(w, st)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("ETag", etag(name, "-1", st.tail(), st.head.Closed))
	w.WriteHeader(http.StatusOK)
}

func (h *Handler) delete(w http.ResponseWriter, r *http.Request, name string) {
	unlock := h.lock(name)
	defer unlock()
	st, ok := h.existing(w, r, name, true)
	if !ok {
		return
	}
	if err := h.remove(r.Context(), st); err != nil {
		h.storeError(w, r, name, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
