package durablestreams

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/rewindhq/rewind/eventstore"
	"github.com/rewindhq/rewind/internal/clientshare"
	"github.com/rewindhq/rewind/internal/reason"
)

var (
	ttlPattern = regexp.MustCompile(`^(0|[1-9][0-9]*)$`)
	numPattern = regexp.MustCompile(`^[0-9]+$`)
)

// maxEpochStep is how far a producer's new epoch may be above its current
// one (0 for a producer the stream does not know). Epochs only grow, so
// without a bound one request with Producer-Epoch 2^53−1 would fence the
// producer id for good; with it, getting there takes 2^33 requests. A
// client that restarts takes the next epoch (the official client's
// autoClaim takes current+1).
const maxEpochStep = 1 << 20

// maxSafeInteger is 2^53−1, the largest producer epoch or sequence number
// the protocol allows (JavaScript's clients count in doubles).
const maxSafeInteger = 1<<53 - 1

// readBody reads a request body up to the handler's limit, holding its
// bytes in the handler's budget of bodies in flight (and in its client's
// share of it); release gives them back once the request is done with the
// body. A body of announced length holds that length from the start; a
// chunked one holds chunkedHold, and more as its bytes arrive.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request) (body []byte, release func(), ok bool) {
	if r.ContentLength > h.cfg.maxBody {
		fail(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body of %d bytes; at most %d", r.ContentLength, h.cfg.maxBody))
		return nil, nil, false
	}
	in := &bodyHold{h: h, r: r, key: clientshare.Key(r)}
	release = in.release
	want := r.ContentLength
	if want < 0 {
		want = min(chunkedHold, h.cfg.maxBody)
	}
	if want > 0 {
		if err := in.take(want); err != nil {
			w.Header().Set("Retry-After", "1")
			fail(w, http.StatusServiceUnavailable, err.Error())
			return nil, nil, false
		}
	}
	src := io.Reader(http.MaxBytesReader(w, r.Body, h.cfg.maxBody))
	if r.ContentLength < 0 {
		src = &growingBody{r: src, hold: in}
	}
	body, err := readAll(src, r.ContentLength)
	var tooLarge *http.MaxBytesError
	var full *budgetFullError
	switch {
	case errors.As(err, &tooLarge):
		release()
		fail(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", h.cfg.maxBody))
		return nil, nil, false
	case errors.As(err, &full):
		release()
		w.Header().Set("Retry-After", "1")
		fail(w, http.StatusServiceUnavailable, full.Error())
		return nil, nil, false
	case err != nil:
		// Never the I/O error's text: it names the server's sockets.
		release()
		var netErr net.Error
		if errors.As(err, &netErr) && netErr.Timeout() {
			fail(w, http.StatusRequestTimeout, "the body did not arrive in time")
		} else {
			fail(w, http.StatusBadRequest, "cannot read the body: it ended before its announced length, or was cut")
		}
		return nil, nil, false
	}
	return body, release, true
}

// chunkedHold is what a chunked body (its length unknown) first holds of
// the bodies in flight; it takes as much again each time its bytes pass
// what it holds. Held at the largest body from its first byte, four such
// bodies trickling in from one client took that client's whole share, and
// sixteen the server's, for as long as they trickled.
const chunkedHold = 64 << 10

// bodyHold is what one request's body holds of the bodies in flight: of
// its client's share (when the client says who it is) and of the
// server's budget.
type bodyHold struct {
	h     *Handler
	r     *http.Request
	key   string
	held  int64
	holds []*heldBytes
}

// budgetFullError is a body's refusal for want of room in a budget: the
// 503's text.
type budgetFullError struct{ reason string }

func (e *budgetFullError) Error() string { return e.reason }

// take holds n more bytes (holdBytes).
func (b *bodyHold) take(n int64) error {
	hb, shareFull := holdBytes(b.r.Context(), b.h.bodiesIn, b.h.inShares, b.key, n)
	switch {
	case shareFull:
		return &budgetFullError{"this client's request bodies being read take its share of the server's; retry"}
	case hb == nil:
		return &budgetFullError{"the server holds as many request bodies as it takes at once; retry"}
	}
	b.held += n
	b.holds = append(b.holds, hb)
	return nil
}

// most is the most one body holds: past it, it reads on without taking
// more, as a body larger than a budget runs alone.
func (b *bodyHold) most() int64 {
	m := min(b.h.cfg.maxBody, b.h.bodiesIn.max)
	if b.key != "" {
		m = min(m, b.h.inShares.max)
	}
	return m
}

// release gives back everything the body holds.
func (b *bodyHold) release() {
	for _, hb := range b.holds {
		hb.release()
	}
	b.holds, b.held = nil, 0
}

// growingBody reads a chunked body, holding as much again of the bodies
// in flight each time the bytes read pass what its hold has.
type growingBody struct {
	r    io.Reader
	hold *bodyHold
	read int64
}

func (g *growingBody) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	g.read += int64(n)
	if h := g.hold; g.read > h.held && h.held < h.most() {
		more := min(max(h.held, g.read-h.held), h.most()-h.held)
		if terr := h.take(more); terr != nil {
			return n, terr
		}
	}
	return n, err
}

// readAll reads r to its end. A body of known length (size, -1 when
// unknown) is read into one buffer of that length and a byte more, where
// io.ReadAll would start at 512 bytes and copy a 10 kB body into ten
// growing ones; the byte more lets the end be seen without growing.
func readAll(r io.Reader, size int64) ([]byte, error) {
	if size < 0 {
		return io.ReadAll(r)
	}
	b := make([]byte, 0, size+1)
	for {
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if errors.Is(err, io.EOF) {
			return b, nil
		}
		if err != nil {
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)] // longer than announced: grow
		}
	}
}

// bodyEncoding returns the first content coding of r's body other than
// identity, "" when it has none (or no body). The handler stores a body
// as it comes: a gzip body was taken as "not valid JSON" by a JSON
// stream, and stored compressed by a byte stream, where a client should
// have been told that its coding is not understood (415).
func bodyEncoding(r *http.Request) string {
	if r.ContentLength == 0 {
		return ""
	}
	for _, v := range r.Header.Values("Content-Encoding") {
		for c := range strings.SplitSeq(v, ",") {
			if c = strings.TrimSpace(c); c != "" && !strings.EqualFold(c, "identity") {
				return c
			}
		}
	}
	return ""
}

// budgetWait is how long a request waits for room in a budget of bytes in
// flight before it is refused with 503.
const budgetWait = time.Second

// messages splits a body into the messages it appends: a JSON stream's
// body is one JSON value, and a top-level array is flattened one level;
// any other stream's body is one message. An array of more messages than
// the store takes in one append is refused (eventstore.ErrTooLarge) before
// its events are built, as it is scanned: a 2 MB array of a million
// numbers made half a gigabyte of events and their encoding, only to be
// refused after.
func (h *Handler) messages(jsonMode bool, body []byte, allowEmptyArray bool) ([][]byte, error) {
	if !jsonMode {
		return [][]byte{body}, nil
	}
	items, array, ok := scanJSON(body, h.maxMessages)
	switch {
	case !ok:
		return nil, errors.New("the body is not valid JSON")
	case !array:
		return [][]byte{bytes.TrimSpace(body)}, nil
	case len(items) == 0 && !allowEmptyArray:
		return nil, errors.New("an empty JSON array appends nothing")
	case len(items) > h.maxMessages:
		return nil, fmt.Errorf("%w: more than %d messages, the most one append of the store holds", eventstore.ErrTooLarge, h.maxMessages)
	}
	size := len(items) * len(MessageType)
	for _, m := range items {
		size += len(m)
	}
	if err := h.store.CheckAppendSize(len(items), size); err != nil {
		return nil, err
	}
	return items, nil
}

// maxMessages is the most messages one append to store can hold: each is
// at least one byte, and its event takes its type and the store's least
// overhead beside it.
func maxMessages(store *eventstore.Store) int {
	return min(eventstore.MaxEventsPerAppend, store.MaxAppendBytes()/(eventstore.EventOverhead+len(MessageType)+1))
}

// badBody answers a body messages refused: 413 when the store would not
// take that much in one append, else 400.
func (h *Handler) badBody(w http.ResponseWriter, r *http.Request, name string, err error) {
	if errors.Is(err, eventstore.ErrTooLarge) {
		h.storeError(w, r, name, err)
		return
	}
	fail(w, http.StatusBadRequest, err.Error())
}

func toEvents(msgs [][]byte) []eventstore.Event {
	evs := make([]eventstore.Event, len(msgs))
	for i, m := range msgs {
		evs[i] = eventstore.Event{Type: MessageType, Data: m}
	}
	return evs
}

// producer is a request's idempotent-producer headers.
type producer struct {
	id         string
	epoch, seq uint64
}

// maxSeqLen bounds a Stream-Seq, which the stream keeps with its last
// message and compares with the next one's: an ordering key (a number, a
// time), not a place for data.
const maxSeqLen = 256

// parseProducer reads the producer headers: all three or none.
func parseProducer(r *http.Request) (*producer, string) {
	id, hasID := r.Header[http.CanonicalHeaderKey(hProducerID)]
	ep, hasEp := r.Header[http.CanonicalHeaderKey(hEpoch)]
	sq, hasSq := r.Header[http.CanonicalHeaderKey(hProdSeq)]
	if !hasID && !hasEp && !hasSq {
		return nil, ""
	}
	if !hasID || !hasEp || !hasSq {
		return nil, "Producer-Id, Producer-Epoch and Producer-Seq go together"
	}
	if len(id) > 1 || len(ep) > 1 || len(sq) > 1 {
		return nil, "Producer-Id, Producer-Epoch and Producer-Seq each come once"
	}
	if id[0] == "" {
		return nil, "empty Producer-Id"
	}
	var bad *eventstore.ProducerError
	if errors.As(eventstore.CheckProducerID(id[0]), &bad) {
		return nil, "Producer-Id: " + bad.Reason // not the id: it may be long, or hold a tab
	}
	epoch, ok := safeInt(ep[0])
	if !ok {
		return nil, "Producer-Epoch must be an integer from 0 to 2^53-1"
	}
	seq, ok := safeInt(sq[0])
	if !ok {
		return nil, "Producer-Seq must be an integer from 0 to 2^53-1"
	}
	return &producer{id: id[0], epoch: epoch, seq: seq}, ""
}

func safeInt(s string) (uint64, bool) {
	if !numPattern.MatchString(s) {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil && n <= maxSafeInteger
}

func closedHeader(r *http.Request) bool {
	return strings.EqualFold(strings.TrimSpace(r.Header.Get(hClosed)), "true")
}

// putRequest is a PUT's configuration.
type putRequest struct {
	contentType  string
	explicitCT   bool
	ttl          int64
	expiresRaw   string
	expiresAt    time.Time
	closed       bool
	forkFrom     string
	forkOffset   eventstore.Offset // "" when not given
	forkSub      int64
	forkSubGiven bool
}

func (h *Handler) parsePut(r *http.Request) (putRequest, string) {
	p := putRequest{ttl: -1, closed: closedHeader(r), contentType: "application/octet-stream"}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if !isMediaType(ct) {
			return p, "Content-Type " + reason.Quote(ct) + " is not a media type (type/subtype, as application/json)"
		}
		p.contentType, p.explicitCT = ct, true
	}
	ttl, hasTTL := r.Header[http.CanonicalHeaderKey(hTTL)]
	exp, hasExp := r.Header[http.CanonicalHeaderKey(hExpiresAt)]
	if hasTTL && hasExp {
		return p, "Stream-TTL and Stream-Expires-At cannot go together"
	}
	if hasTTL {
		if !ttlPattern.MatchString(ttl[0]) {
			return p, "Stream-TTL must be a whole number of seconds"
		}
		n, err := strconv.ParseInt(ttl[0], 10, 64)
		if err != nil || n > 1<<40 {
			return p, "Stream-TTL is too large"
		}
		if n == 0 {
			return p, "Stream-TTL must be at least 1 second: a stream with TTL 0 would be gone at once"
		}
		p.ttl = n
	}
	if hasExp {
		t, err := time.Parse(time.RFC3339Nano, exp[0])
		if err != nil {
			return p, "Stream-Expires-At must be an RFC 3339 time"
		}
		if !t.After(h.now()) {
			return p, "Stream-Expires-At is not in the future: the stream would be gone at once"
		}
		p.expiresRaw, p.expiresAt = exp[0], t
	}
	from := r.Header.Get(hForkedFrom)
	off, hasOff := r.Header[http.CanonicalHeaderKey(hForkOffset)]
	sub, hasSub := r.Header[http.CanonicalHeaderKey(hForkSub)]
	if from == "" {
		if hasOff || hasSub {
			return p, "Stream-Fork-Offset and Stream-Fork-Sub-Offset need Stream-Forked-From"
		}
		return p, ""
	}
	var bad string
	if p.forkFrom, bad = h.forkSourceName(r, from); bad != "" {
		return p, bad
	}
	if hasOff {
		o, err := parseOffset(off[0])
		if err != nil || o == eventstore.Now {
			return p, "Stream-Fork-Offset is not an offset of this server"
		}
		p.forkOffset = o
	}
	if hasSub {
		n, ok := safeInt(sub[0])
		if !ok {
			return p, "Stream-Fork-Sub-Offset must be a whole number"
		}
		p.forkSub, p.forkSubGiven = int64(n), true
		if n > 0 && !hasOff {
			return p, "Stream-Fork-Sub-Offset needs Stream-Fork-Offset"
		}
	}
	return p, ""
}

// sameConfig reports whether an existing stream was made as p asks.
func sameConfig(st *stream, p putRequest) bool {
	m := st.meta
	if p.explicitCT || m.forkFrom == "" {
		if mediaType(p.contentType) != mediaType(m.contentType) {
			return false
		}
	}
	if p.ttl != m.ttl || p.expiresRaw != m.expiresRaw && !p.expiresAt.Equal(m.expiresAt) {
		if !(p.forkFrom != "" && p.ttl < 0 && p.expiresRaw == "") {
			return false
		}
	}
	if p.closed != st.head.Closed {
		return false
	}
	if p.forkFrom != m.forkFrom {
		return false
	}
	if p.forkFrom != "" {
		if p.forkOffset != "" && p.forkOffset != m.forkOffset {
			return false
		}
		if p.forkSub != m.forkSub {
			return false
		}
	}
	return true
}

func (h *Handler) put(w http.ResponseWriter, r *http.Request, name string) {
	p, bad := h.parsePut(r)
	if bad != "" {
		fail(w, http.StatusBadRequest, bad)
		return
	}
	body, release, ok := h.readBody(w, r)
	if !ok {
		return
	}
	defer release()
	ctx := r.Context()
	unlock := h.lockFork(name, p.forkFrom) // just name's lock when it is no fork
	defer unlock()
	st, err := h.lookup(ctx, name)
	if err != nil {
		h.storeError(w, r, name, err)
		return
	}
	if st.exists {
		if st.meta.softDeleted {
			fail(w, http.StatusConflict, "a deleted stream's name stays taken while forks read from it")
			return
		}
		if !sameConfig(st, p) {
			fail(w, http.StatusConflict, "the stream exists with another configuration")
			return
		}
		setHeadHeaders(w, st)
		w.WriteHeader(http.StatusOK)
		return
	}
	m := meta{contentType: p.contentType, ttl: p.ttl, expiresRaw: p.expiresRaw, expiresAt: p.expiresAt, created: h.now()}
	var prefix [][]byte // a sub-offset fork's share of the message at its fork point
	var src *stream
	if p.forkFrom != "" {
		var err error
		src, prefix, err = h.forkSource(ctx, &p)
		var ref *refusal
		if errors.As(err, &ref) {
			fail(w, ref.code, ref.reason)
			return
		}
		if err != nil {
			h.storeError(w, r, name, err)
			return
		}
		if !p.explicitCT {
			m.contentType = src.meta.contentType
		}
		if p.ttl < 0 && p.expiresRaw == "" {
			m.ttl, m.expiresRaw, m.expiresAt = src.meta.ttl, src.meta.expiresRaw, src.meta.expiresAt
		}
		m.forkFrom, m.forkOffset, m.forkSub = src.name, p.forkOffset, p.forkSub
	}
	var msgs [][]byte
	if len(body) > 0 {
		if msgs, err = h.messages(isJSON(m.contentType), body, true); err != nil {
			h.badBody(w, r, name, err)
			return
		}
	}
	if src != nil {
		if err := h.updateMeta(ctx, src.name, func(sm *meta) bool { sm.forks++; return true }); err != nil {
			h.storeError(w, r, name, err)
			return
		}
	}
	if _, err := h.store.SetMetadata(ctx, name, m.values(), 0); err != nil {
		if src != nil {
			h.releaseFork(ctx, src.name)
		}
		if errors.Is(err, eventstore.ErrMetadataConflict) {
			fail(w, http.StatusConflict, "the stream was made meanwhile")
			return
		}
		h.storeError(w, r, name, err)
		return
	}
	st = &stream{name: name, meta: m, exists: true}
	if len(prefix) > 0 {
		if _, err := h.store.Append(ctx, name, toEvents(prefix)); err != nil {
			h.storeError(w, r, name, err)
			return
		}
	}
	if len(msgs) > 0 || p.closed {
		var opts []eventstore.AppendOption
		if p.closed {
			opts = append(opts, eventstore.WithClose())
		}
		if _, err := h.store.Append(ctx, name, toEvents(msgs), opts...); err != nil {
			h.storeError(w, r, name, err)
			return
		}
	}
	if st.head, err = h.store.Head(ctx, name); err != nil {
		h.storeError(w, r, name, err)
		return
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	w.Header().Set("Location", scheme+"://"+r.Host+r.URL.EscapedPath())
	setHeadHeaders(w, st)
	w.WriteHeader(http.StatusCreated)
}

// lockFork holds the write locks of a fork and of its source, so that a
// DELETE of the source (under the source's lock) cannot run between the
// fork's check of the source and its claim on it: the source would be
// gone for good, its metadata made again by the claim, and the fork would
// read nothing. The two stripes are taken in index order, once when they
// are the same one; no other request holds two.
func (h *Handler) lockFork(name, src string) func() {
	if src == "" {
		return h.lock(name)
	}
	i, j := h.stripe(name), h.stripe(src)
	if i > j {
		i, j = j, i
	}
	h.locks[i].Lock()
	if i == j {
		return h.locks[i].Unlock
	}
	h.locks[j].Lock()
	return func() {
		h.locks[j].Unlock()
		h.locks[i].Unlock()
	}
}

// stripe is the index in h.locks of a stream's lock: the one h.lock
// takes (the same FNV-1a hash).
func (h *Handler) stripe(name string) uint32 {
	var x uint32 = 2166136261
	for i := 0; i < len(name); i++ {
		x = (x ^ uint32(name[i])) * 16777619
	}
	return x % uint32(len(h.locks))
}

// releaseFork undoes a fork's hold on its source.
func (h *Handler) releaseFork(ctx context.Context, src string) {
	err := h.updateMeta(ctx, src, func(m *meta) bool {
		if m.forks > 0 {
			m.forks--
		}
		return true
	})
	if err != nil {
		h.cfg.log.Warn("durablestreams: a fork's hold on its source was not released", "source", src, "err", err)
	}
}

// forkSource checks a fork's source and point and returns the source and
// the messages a sub-offset takes from the message at the fork point.
// A *refusal is the answer to give; another error is the store's.
func (h *Handler) forkSource(ctx context.Context, p *putRequest) (*stream, [][]byte, error) {
	src, err := h.lookup(ctx, p.forkFrom)
	if errors.Is(err, eventstore.ErrInvalidStreamName) {
		return nil, nil, &refusal{http.StatusNotFound, "the fork's source does not exist"}
	}
	if err != nil {
		return nil, nil, err
	}
	switch {
	case !src.exists:
		return nil, nil, &refusal{http.StatusNotFound, "the fork's source does not exist"}
	case src.meta.softDeleted:
		return nil, nil, &refusal{http.StatusConflict, "the fork's source is deleted"}
	case p.explicitCT && mediaType(p.contentType) != mediaType(src.meta.contentType):
		return nil, nil, &refusal{http.StatusConflict, "a fork has its source's content type"}
	}
	tail := src.tail()
	if p.forkOffset == "" {
		p.forkOffset = tail
	}
	if p.forkOffset > tail {
		return nil, nil, &refusal{http.StatusBadRequest, "the fork point is past the source's tail"}
	}
	if p.forkSub == 0 {
		return src, nil, nil
	}
	// The messages of the append that follows the fork point.
	var next []eventstore.Event
	err = h.each(ctx, src, p.forkOffset, func(e eventstore.Event) bool {
		if len(next) > 0 && commitOf(e.Offset) != commitOf(next[0].Offset) {
			return false
		}
		next = append(next, e)
		return true
	})
	if err != nil {
		return nil, nil, err
	}
	if len(next) == 0 {
		return nil, nil, &refusal{http.StatusBadRequest, "there is no message after the fork point to take a sub-offset of"}
	}
	if src.json() {
		if p.forkSub > int64(len(next)) {
			return nil, nil, &refusal{http.StatusBadRequest, fmt.Sprintf("the append at the fork point has %d messages", len(next))}
		}
		out := make([][]byte, p.forkSub)
		for i := range out {
			out[i] = src.message(next[i])
		}
		return src, out, nil
	}
	data := next[0].Data
	if p.forkSub > int64(len(data)) {
		return nil, nil, &refusal{http.StatusBadRequest, fmt.Sprintf("the message at the fork point has %d bytes", len(data))}
	}
	return src, [][]byte{bytes.Clone(data[:p.forkSub])}, nil
}

// refusal is a request's refusal: a 4xx code and its reason.
type refusal struct {
	code   int
	reason string
}

func (r *refusal) Error() string { return r.reason }

// commitOf is the log position part of an offset, which the events of one
// append share.
func commitOf(o eventstore.Offset) string {
	s, _, _ := strings.Cut(string(o), "_")
	return s
}

func (h *Handler) post(w http.ResponseWriter, r *http.Request, name string) {
	ctx := r.Context()
	closeReq := closedHeader(r)
	pr, bad := parseProducer(r)
	if bad != "" {
		fail(w, http.StatusBadRequest, bad)
		return
	}
	body, release, ok := h.readBody(w, r)
	if !ok {
		return
	}
	defer release()
	if len(body) == 0 && !closeReq {
		fail(w, http.StatusBadRequest, "an empty body appends nothing (send Stream-Closed: true to close)")
		return
	}
	unlock := h.lock(name)
	defer unlock()
	st, ok := h.existing(w, r, name, true)
	if !ok {
		return
	}
	if pr != nil && pr.epoch > maxEpochStep {
		current, _, _, err := h.store.ProducerState(ctx, name, pr.id)
		if err != nil {
			h.storeError(w, r, name, err)
			return
		}
		// An epoch below the current one is stale, whatever its size:
		// the store answers it (403), and the difference would wrap.
		if pr.epoch > current && pr.epoch-current > maxEpochStep {
			fail(w, http.StatusBadRequest, fmt.Sprintf("Producer-Epoch %d is more than %d above the producer's epoch, %d", pr.epoch, maxEpochStep, current))
			return
		}
	}
	hd := w.Header()
	closedAnswer := func() {
		hd.Set(hClosed, "true")
		hd.Set(hNextOffset, string(st.tail()))
		fail(w, http.StatusConflict, "the stream is closed")
	}
	if st.head.Closed && pr == nil && len(body) > 0 {
		closedAnswer()
		return
	}
	var msgs [][]byte
	if len(body) > 0 {
		ct := r.Header.Get("Content-Type")
		if ct == "" {
			fail(w, http.StatusBadRequest, "Content-Type is required with a body")
			return
		}
		if mediaType(ct) != mediaType(st.meta.contentType) {
			fail(w, http.StatusConflict, "the stream's content type is "+st.meta.contentType)
			return
		}
		var err error
		if msgs, err = h.messages(st.json(), body, false); err != nil {
			h.badBody(w, r, name, err)
			return
		}
	}
	seq, hasSeq := r.Header[http.CanonicalHeaderKey(hSeq)]
	if hasSeq && len(seq[0]) > maxSeqLen {
		fail(w, http.StatusBadRequest, fmt.Sprintf("Stream-Seq is over %d bytes", maxSeqLen))
		return
	}
	if hasSeq {
		last, err := h.lastSeq(ctx, name)
		if err != nil {
			h.storeError(w, r, name, err)
			return
		}
		if seq[0] <= last {
			if pr != nil {
				// The producer is checked before the Stream-Seq (the
				// protocol's order): its duplicate answers as one, and its
				// refusal (a fenced epoch, a gap) as itself.
				epoch, lastSeq, known, err := h.store.ProducerState(ctx, name, pr.id)
				if err != nil {
					h.storeError(w, r, name, err)
					return
				}
				if known && epoch == pr.epoch && pr.seq <= lastSeq {
					hd.Set(hEpoch, strconv.FormatUint(epoch, 10))
					hd.Set(hProdSeq, strconv.FormatUint(lastSeq, 10))
					hd.Set(hNextOffset, string(st.tail()))
					w.WriteHeader(http.StatusNoContent)
					return
				}
				var perr *eventstore.ProducerError
				if errors.As(eventstore.CheckProducerAppend(name, pr.id, pr.epoch, pr.seq, epoch, lastSeq, known), &perr) {
					producerRefused(w, perr, pr)
					return
				}
			}
			fail(w, http.StatusConflict, "Stream-Seq "+reason.Quote(seq[0])+" is not after the last one, "+reason.Quote(last))
			return
		}
	}
	evs := toEvents(msgs)
	if hasSeq && len(evs) > 0 {
		evs[len(evs)-1].Metadata = map[string]string{seqKey: seq[0]}
	}
	var opts []eventstore.AppendOption
	if pr != nil {
		opts = append(opts, eventstore.WithProducer(pr.id, pr.epoch, pr.seq))
	}
	if closeReq {
		opts = append(opts, eventstore.WithClose())
	}
	res, err := h.store.Append(ctx, name, evs, opts...)
	var perr *eventstore.ProducerError
	switch {
	case errors.Is(err, eventstore.ErrStreamClosed):
		if st.head, err = h.store.Head(ctx, name); err != nil {
			h.storeError(w, r, name, err)
			return
		}
		closedAnswer()
		return
	case errors.As(err, &perr):
		producerRefused(w, perr, pr)
		return
	case err != nil:
		h.storeError(w, r, name, err)
		return
	}
	h.touch(ctx, st)
	if hasSeq && !res.Duplicate && len(evs) > 0 {
		h.seqs.put(name, seq[0])
	}
	next := res.Offset()
	if next == "" {
		if st.head, err = h.store.Head(ctx, name); err != nil {
			h.storeError(w, r, name, err)
			return
		}
		next = st.tail()
	}
	hd.Set(hNextOffset, string(next))
	if res.Closed {
		hd.Set(hClosed, "true")
	}
	if pr != nil {
		hd.Set(hEpoch, strconv.FormatUint(res.ProducerEpoch, 10))
		hd.Set(hProdSeq, strconv.FormatUint(res.ProducerSeq, 10))
		if !res.Duplicate && len(evs) > 0 {
			// An accepted producer append is 200 (a client takes 204 for
			// a duplicate); a close without data answers as a close does.
			w.WriteHeader(http.StatusOK)
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// producerRefused answers a producer append the producer rules refused.
func producerRefused(w http.ResponseWriter, perr *eventstore.ProducerError, pr *producer) {
	hd := w.Header()
	switch {
	case errors.Is(perr, eventstore.ErrStaleEpoch):
		hd.Set(hEpoch, strconv.FormatUint(perr.CurrentEpoch, 10))
		fail(w, http.StatusForbidden, "stale producer epoch: the producer is fenced by a newer instance")
	case errors.Is(perr, eventstore.ErrSequenceGap):
		hd.Set(hExpectedSeq, strconv.FormatUint(perr.ExpectedSeq, 10))
		hd.Set(hReceivedSeq, strconv.FormatUint(pr.seq, 10))
		fail(w, http.StatusConflict, fmt.Sprintf("producer sequence gap: expected %d", perr.ExpectedSeq))
	default:
		fail(w, http.StatusBadRequest, perr.Error())
	}
}

// seqKey is the event metadata key that records a Stream-Seq, on the last
// event of the append that carried it.
const seqKey = "ds.seq"

// lastSeq returns the stream's last Stream-Seq ("" when none), read from
// the stream once and then kept.
func (h *Handler) lastSeq(ctx context.Context, name string) (string, error) {
	last, ok := h.seqs.get(name)
	if ok {
		return last, nil
	}
	for e, err := range h.store.Read(ctx, name) {
		if err != nil {
			return "", err
		}
		if s, ok := e.Metadata[seqKey]; ok {
			last = s
		}
	}
	h.seqs.put(name, last)
	return last, nil
}
