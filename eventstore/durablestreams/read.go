package durablestreams

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/rewindhq/rewind/eventstore"
	"github.com/rewindhq/rewind/internal/clientshare"
	"github.com/rewindhq/rewind/internal/reason"
)

// each calls fn with the stream's events after offset from, in order, up
// to the stream's tail when the read began: a fork's source's up to the
// fork point (and its source's before that), then its own. fn returns
// false to stop.
func (h *Handler) each(ctx context.Context, st *stream, from eventstore.Offset, fn func(eventstore.Event) bool) error {
	_, err := h.eachUpTo(ctx, st, from, "", false, fn)
	return err
}

// eachUpTo is each bounded by upTo ("" for none); it returns false when fn
// stopped it. With borrow, each event's data is valid only during its call
// of fn (eventstore.BorrowData): for a caller that copies it at once.
func (h *Handler) eachUpTo(ctx context.Context, st *stream, from, upTo eventstore.Offset, borrow bool, fn func(eventstore.Event) bool) (bool, error) {
	if st.meta.forkFrom != "" && from < st.meta.forkOffset {
		src, err := h.lookupRaw(ctx, st.meta.forkFrom)
		if err != nil {
			return false, err
		}
		bound := st.meta.forkOffset
		if upTo != "" && upTo < bound {
			bound = upTo
		}
		more, err := h.eachUpTo(ctx, src, from, bound, borrow, fn)
		if err != nil || !more {
			return more, err
		}
		from = st.meta.forkOffset
	}
	opts := []eventstore.ReadOption{eventstore.From(from)}
	if borrow {
		opts = append(opts, eventstore.BorrowData())
	}
	for e, err := range h.store.Read(ctx, st.name, opts...) {
		if err != nil {
			return false, err
		}
		if upTo != "" && e.Offset > upTo {
			return true, nil
		}
		if !fn(e) {
			return false, nil
		}
	}
	return true, nil
}

// envelope is how a JSON stream serves an event Go code appended.
type envelope struct {
	Type      string            `json:"type"`
	ID        string            `json:"id"`
	Version   uint64            `json:"version"`
	Timestamp int64             `json:"timestamp"`
	Data      json.RawMessage   `json:"data,omitempty"`
	DataB64   string            `json:"dataBase64,omitempty"`
	Metadata  map[string]string `json:"metadata,omitempty"`
}

// message is an event as the stream serves it: a message posted over HTTP
// as it was posted; in a JSON stream, Go code's event as an envelope.
func (st *stream) message(e eventstore.Event) []byte {
	if e.Type == MessageType || !st.json() {
		return e.Data
	}
	env := envelope{Type: e.Type, ID: e.ID.String(), Version: e.Version, Timestamp: e.StoredAt.UnixMilli(),
		Metadata: e.Metadata}
	if json.Valid(e.Data) {
		env.Data = e.Data
	} else {
		env.DataB64 = base64.StdEncoding.EncodeToString(e.Data)
	}
	b, err := json.Marshal(env)
	if err != nil {
		return []byte("null")
	}
	return b
}

// chunk is one response's worth of messages.
type chunk struct {
	msgs     [][]byte
	next     eventstore.Offset // the offset after the last message (from, when none)
	upToDate bool              // it reaches the stream's tail
	encoded  []byte            // the response body, when already made (a shared long-poll's, readAnswer's)
	count    int               // messages in encoded, when msgs is nil (readAnswer)
	pooled   *[]byte           // encoded's buffer, from the handler's pool (readAnswer)
}

// messages is the number of messages in the chunk.
func (c *chunk) messages() int { return max(len(c.msgs), c.count) }

// read reads a chunk of the stream from offset from.
func (h *Handler) read(ctx context.Context, st *stream, from eventstore.Offset) (chunk, error) {
	c := chunk{next: from, upToDate: true}
	size := 0
	_, err := h.eachUpTo(ctx, st, from, st.tail(), false, func(e eventstore.Event) bool {
		if size >= h.cfg.chunk && len(c.msgs) > 0 {
			c.upToDate = false
			return false
		}
		m := st.message(e)
		c.msgs = append(c.msgs, m)
		size += len(m)
		c.next = e.Offset
		return true
	})
	if c.next >= st.tail() {
		c.upToDate = true
	}
	return c, err
}

// readAnswer reads a chunk of the stream from offset from as a GET answers
// it: the response body made as the messages are read, in one buffer
// taken from the handler's pool (c.encoded; c.count messages, c.msgs
// nil). A catch-up read of small messages is bound by the work per
// message, so each message costs one copy into the body, and the body one
// write. The caller gives the buffer back with h.bodyDone(c) once written.
func (h *Handler) readAnswer(ctx context.Context, st *stream, from eventstore.Offset) (chunk, error) {
	c := chunk{next: from, upToDate: true}
	buf := h.bodyBuffer()
	b := (*buf)[:0]
	isJSON := st.json()
	if isJSON {
		b = append(b, '[')
	}
	// Each message is copied into the body as it comes: the read lends
	// its data rather than copying it out first.
	_, err := h.eachUpTo(ctx, st, from, st.tail(), true, func(e eventstore.Event) bool {
		if len(b) >= h.cfg.chunk && c.count > 0 {
			c.upToDate = false
			return false
		}
		m := st.message(e)
		b = h.growBody(b, len(m)+2)
		if isJSON && c.count > 0 {
			b = append(b, ',')
		}
		b = append(b, m...)
		c.count++
		c.next = e.Offset
		return true
	})
	if isJSON {
		b = append(b, ']')
	}
	*buf = b
	c.encoded, c.pooled = b, buf
	if c.next >= st.tail() {
		c.upToDate = true
	}
	return c, err
}

// maxPooledBody is the largest body buffer kept for the next read: a
// chunk's size and one message past it, mostly; a buffer a large message
// grew is left to the garbage collector.
func (h *Handler) maxPooledBody() int { return 2*h.cfg.chunk + 64<<10 }

// growBody makes room for n more bytes in the body b. A body that
// outgrows its first 64 KiB is most likely a catch-up read headed for a
// whole chunk, so it goes there in one step (a chunk and 64 KiB) instead
// of doubling five times: each doubling was an allocation of fresh memory
// and a copy, and a catch-up read's first answer (an empty pool) took
// several times its later ones. A small answer keeps its small buffer.
func (h *Handler) growBody(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b
	}
	nb := make([]byte, len(b), max(h.cfg.chunk+64<<10, 2*cap(b), len(b)+n))
	copy(nb, b)
	return nb
}

func (h *Handler) bodyBuffer() *[]byte {
	if b, ok := h.bodies.Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, 0, 64<<10)
	return &b
}

// bodyDone gives a chunk's pooled body buffer back, once nothing refers to
// it any more.
func (h *Handler) bodyDone(c *chunk) {
	if c.pooled == nil {
		return
	}
	if cap(*c.pooled) <= h.maxPooledBody() {
		h.bodies.Put(c.pooled)
	}
	c.pooled, c.encoded = nil, nil
}

// eachPiece calls fn with the pieces of a chunk's response body in order
// (see body), without copying them.
func (st *stream) eachPiece(c chunk, fn func([]byte)) {
	if !st.json() {
		for _, m := range c.msgs {
			fn(m)
		}
		return
	}
	fn([]byte("["))
	for i, m := range c.msgs {
		if i > 0 {
			fn([]byte(","))
		}
		fn(m)
	}
	fn([]byte("]"))
}

// bodyLen is the length of a chunk's response body.
func (st *stream) bodyLen(c chunk) int {
	n := 0
	st.eachPiece(c, func(p []byte) { n += len(p) })
	return n
}

// body is a chunk as a response body: a JSON array in a JSON stream, the
// messages' bytes one after another otherwise.
func (st *stream) body(c chunk) []byte {
	if !st.json() {
		return bytes.Join(c.msgs, nil)
	}
	n := 2 + len(c.msgs)
	for _, m := range c.msgs {
		n += len(m)
	}
	b := make([]byte, 0, n)
	b = append(b, '[')
	for i, m := range c.msgs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, m...)
	}
	return append(b, ']')
}

func etag(name, from string, next eventstore.Offset, closed bool) string {
	t := `"` + base64.RawURLEncoding.EncodeToString([]byte(name)) + ":" + from + ":" + string(next)
	if closed {
		t += ":c"
	}
	return t + `"`
}

func (h *Handler) get(w http.ResponseWriter, r *http.Request, name string) {
	ctx := r.Context()
	q := r.URL.Query()
	live := q.Get("live")
	if _, has := q["live"]; has && live != "long-poll" && live != "sse" {
		fail(w, http.StatusBadRequest, "live="+reason.Quote(live)+" is not a live mode: long-poll or sse")
		return
	}
	offs, hasOffset := q["offset"]
	from := eventstore.Start
	rawFrom := "-1"
	if hasOffset {
		if len(offs) > 1 {
			fail(w, http.StatusBadRequest, "one offset per read")
			return
		}
		if offs[0] == "" {
			fail(w, http.StatusBadRequest, "empty offset")
			return
		}
		o, err := parseOffset(offs[0])
		if err != nil {
			fail(w, http.StatusBadRequest, "invalid offset: use -1, now or an offset this server handed out")
			return
		}
		from, rawFrom = o, offs[0]
	}
	if (live == "long-poll" || live == "sse") && !hasOffset {
		fail(w, http.StatusBadRequest, "a live read needs an offset")
		return
	}
	st, ok := h.existing(w, r, name, false)
	if !ok {
		return
	}
	h.touch(ctx, st)
	if from == eventstore.Now {
		from = st.tail()
	}
	if live == "sse" {
		h.sse(w, r, st, from)
		return
	}
	hd := w.Header()
	setDataType(hd, st.meta.contentType)
	if rawFrom == "now" && live != "long-poll" {
		hd.Set(hNextOffset, string(st.tail()))
		hd.Set(hUpToDate, "true")
		hd.Set("Cache-Control", "no-store")
		if st.head.Closed {
			hd.Set(hClosed, "true")
		}
		w.WriteHeader(http.StatusOK)
		if st.json() {
			w.Write([]byte("[]"))
		}
		return
	}
	out, ok := h.reserveOut(w, r)
	if !ok {
		return
	}
	defer func() { out.release() }()
	c, err := h.readAnswer(ctx, st, from)
	defer func() { h.bodyDone(&c) }()
	if err != nil {
		h.storeError(w, r, name, err)
		return
	}
	out.keep(c)
	if live == "long-poll" {
		hd.Set(hCursor, h.cursor(q.Get("cursor")))
		if c.messages() == 0 {
			h.bodyDone(&c)
			if st.head.Closed {
				hd.Set(hNextOffset, string(st.tail()))
				hd.Set(hUpToDate, "true")
				hd.Set(hClosed, "true")
				hd.Set("Cache-Control", "no-store")
				w.WriteHeader(http.StatusNoContent)
				return
			}
			unpark, ok := h.park(w, r)
			if !ok {
				return
			}
			// A parked poll holds no bytes: its answer, if any, is the
			// one body every poll at this offset shares.
			out.release()
			st, c, err = h.pollShared(ctx, st, from)
			unpark()
			if err != nil {
				h.storeError(w, r, name, err)
				return
			}
			h.touch(ctx, st)
			if c.messages() == 0 {
				hd.Set(hNextOffset, string(from))
				hd.Set(hUpToDate, "true")
				hd.Set("Cache-Control", "no-store")
				if st.head.Closed {
					hd.Set(hClosed, "true")
				}
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
	}
	closed := st.head.Closed && c.upToDate
	hd.Set(hNextOffset, string(c.next))
	if c.upToDate {
		hd.Set(hUpToDate, "true")
	}
	if closed {
		hd.Set(hClosed, "true")
	}
	tag := etag(name, rawFrom, c.next, closed)
	hd.Set("ETag", tag)
	if live == "long-poll" || c.upToDate {
		hd.Set("Cache-Control", "no-cache")
	} else {
		hd.Set("Cache-Control", h.catchUp)
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" && inm == tag {
		for _, k := range []string{"Content-Type", "Content-Disposition", hNextOffset, hUpToDate, hClosed, hCursor} {
			hd.Del(k)
		}
		w.WriteHeader(http.StatusNotModified)
		return
	}
	n := len(c.encoded)
	if c.encoded == nil {
		n = st.bodyLen(c)
	}
	hd.Set("Content-Length", strconv.Itoa(n))
	rc := http.NewResponseController(w)
	defer h.writing(rc)()
	h.writeDeadline(rc)
	w.WriteHeader(http.StatusOK)
	// The body is written from the messages as read, never copied whole.
	var werr error
	if c.encoded != nil {
		_, werr = w.Write(c.encoded)
	} else {
		st.eachPiece(c, func(p []byte) {
			if werr == nil {
				_, werr = w.Write(p)
			}
		})
	}
	if werr == nil {
		rc.Flush()
	}
	_ = rc.SetWriteDeadline(time.Time{})
}

// reserveOut takes room for one chunk in the budget of answers in flight
// (before the read, so that reads past the budget wait instead of holding
// what they read), or answers 503 when there is none for a second.
func (h *Handler) reserveOut(w http.ResponseWriter, r *http.Request) (*heldBytes, bool) {
	out, why := h.takeOut(r.Context(), clientshare.Key(r))
	if out == nil {
		w.Header().Set("Retry-After", "1")
		fail(w, http.StatusServiceUnavailable, why)
		return nil, false
	}
	return out, true
}

// takeOut takes room for one chunk: first in the client's share, then in
// the whole budget. It returns nil and why when it could not in a second.
func (h *Handler) takeOut(ctx context.Context, key string) (*heldBytes, string) {
	out, shareFull := holdBytes(ctx, h.bodiesOut, h.outShares, key, int64(h.cfg.chunk))
	switch {
	case out != nil:
		return out, ""
	case shareFull:
		return nil, "this client's answers being written take its share of the server's; retry"
	}
	return nil, "the server writes as many answers as it takes at once; retry"
}

// keep gives back what the chunk read does not need: a small answer holds
// its own size only, while it is written.
func (a *heldBytes) keep(c chunk) {
	n := int64(len(c.encoded))
	for _, m := range c.msgs {
		n += int64(len(m))
	}
	if n < a.taken {
		a.b.release(a.taken - n)
		a.taken = n
	}
}

// writeDeadline bounds the next write of an answer: a client that stops
// reading is cut when it passes, and its answer's memory freed. (A
// ResponseWriter that cannot take deadlines, such as a recorder in tests,
// writes without one.)
// Once the handler shuts down, the deadline is shutdownGrace away at most.
func (h *Handler) writeDeadline(rc *http.ResponseController) {
	d := h.cfg.writeTime
	if h.closeCtx.Err() != nil {
		d = min(d, shutdownGrace)
	}
	_ = rc.SetWriteDeadline(time.Now().Add(d))
}

// shutdownGrace is how long a write in progress may still take once the
// handler shuts down: an answer to a client that reads finishes, one to a
// client that stopped reading does not hold the server's drain.
const shutdownGrace = time.Second

// writing registers an answer's writes until done is called, so that
// Shutdown can shorten the deadline of a write that blocks.
func (h *Handler) writing(rc *http.ResponseController) (done func()) {
	h.mu.Lock()
	h.writers[rc] = struct{}{}
	h.mu.Unlock()
	return func() {
		h.mu.Lock()
		delete(h.writers, rc)
		h.mu.Unlock()
	}
}

// park counts a request that is about to wait, in the whole and in its
// client's share, or answers 503 when too many do; unpark gives it back.
func (h *Handler) park(w http.ResponseWriter, r *http.Request) (unpark func(), ok bool) {
	key := clientshare.Key(r)
	if !h.waitShares.Take(key) {
		w.Header().Set("Retry-After", "1")
		fail(w, http.StatusServiceUnavailable, "this client has as many readers waiting as its share of the server's; retry")
		return nil, false
	}
	if h.waiting.Add(1) > h.cfg.maxWaiting {
		h.waiting.Add(-1)
		h.waitShares.Give(key)
		w.Header().Set("Retry-After", "1")
		fail(w, http.StatusServiceUnavailable, "too many readers waiting; retry")
		return nil, false
	}
	return func() {
		h.waiting.Add(-1)
		h.waitShares.Give(key)
	}, true
}

// poll is one wait at the tail of a stream that every long-poll at the
// same offset shares: one goroutine waits and reads, and all of them answer
// with its result. A thousand readers parked at a stream's tail then cost
// one wake-up and one read, not a thousand.
type poll struct {
	done   chan struct{}
	st     *stream
	c      chunk
	err    error
	refs   int
	cancel context.CancelFunc
}

type pollKey struct {
	name string
	from eventstore.Offset
}

// pollShared waits, with the long-poll timeout, for messages after from
// (or the close), sharing the wait with every other long-poll on the same
// stream and offset. It returns an empty chunk when the wait timed out.
func (h *Handler) pollShared(ctx context.Context, st *stream, from eventstore.Offset) (*stream, chunk, error) {
	key := pollKey{st.name, from}
	h.mu.Lock()
	p := h.polls[key]
	if p == nil {
		pctx, cancel := context.WithTimeout(h.closeCtx, h.cfg.longPoll)
		p = &poll{done: make(chan struct{}), cancel: cancel}
		h.polls[key] = p
		go func() {
			p.st, p.c, p.err = h.waitFor(pctx, st, from)
			if p.err == nil && len(p.c.msgs) > 0 {
				p.c.encoded = p.st.body(p.c)
			}
			h.mu.Lock()
			if h.polls[key] == p {
				delete(h.polls, key)
			}
			h.mu.Unlock()
			cancel()
			close(p.done)
		}()
	}
	p.refs++
	h.mu.Unlock()
	select {
	case <-p.done:
		h.leavePoll(key, p)
		return p.st, p.c, p.err
	case <-ctx.Done():
		h.leavePoll(key, p)
		return st, chunk{next: from}, ctx.Err()
	}
}

// leavePoll drops a request's share of a poll, ending the wait when no
// request is left on it.
func (h *Handler) leavePoll(key pollKey, p *poll) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if p.refs--; p.refs == 0 {
		p.cancel()
		if h.polls[key] == p {
			delete(h.polls, key)
		}
	}
}

// waitFor waits until the stream has messages after from or is closed, or
// ctx ends (then it returns an empty chunk and no error), and reads them.
// A stream with a TTL is touched while it waits, every usedSlack: a
// reader waiting at its tail uses it, as every read does, and its TTL
// must not run out under the reader.
func (h *Handler) waitFor(ctx context.Context, st *stream, from eventstore.Offset) (*stream, chunk, error) {
	for {
		wctx, cancel := context.WithCancel(ctx)
		if st.meta.ttl >= 0 {
			wctx, cancel = context.WithTimeout(ctx, usedSlack(ttlDuration(st.meta.ttl)))
		}
		stop := context.AfterFunc(h.closeCtx, cancel)
		hd, err := h.store.WaitStream(wctx, st.name, from)
		stop()
		cancel()
		if err != nil && ctx.Err() == nil && wctx.Err() == nil {
			return st, chunk{next: from}, err
		}
		if err == nil && hd.Offset < from {
			// Deleted (WaitStream's head is then behind from): the
			// wait ends, and the reader's next request learns it (404)
			// instead of waiting on, or reading a stream made again
			// under the name as if it went on.
			return st, chunk{next: from}, nil
		}
		fresh, lerr := h.lookupRaw(context.WithoutCancel(ctx), st.name)
		if lerr != nil {
			return st, chunk{next: from}, lerr
		}
		if !fresh.exists {
			fresh = st
		}
		if err != nil && ctx.Err() == nil && h.closeCtx.Err() == nil {
			h.touch(context.WithoutCancel(ctx), fresh) // woken to keep the TTL
			st = fresh
			continue
		}
		if err != nil {
			return fresh, chunk{next: from}, nil // timed out
		}
		c, rerr := h.read(context.WithoutCancel(ctx), fresh, from)
		if rerr != nil || len(c.msgs) > 0 || fresh.head.Closed {
			return fresh, c, rerr
		}
		st = fresh
	}
}

// sseControl is the payload of an SSE control event.
type sseControl struct {
	NextOffset eventstore.Offset `json:"streamNextOffset"`
	Cursor     string            `json:"streamCursor,omitempty"`
	UpToDate   bool              `json:"upToDate,omitempty"`
	Closed     bool              `json:"streamClosed,omitempty"`
}

func (h *Handler) sse(w http.ResponseWriter, r *http.Request, st *stream, from eventstore.Offset) {
	unpark, ok := h.park(w, r)
	if !ok {
		return
	}
	defer unpark()
	ctx := r.Context()
	key := clientshare.Key(r)
	ct := mediaType(st.meta.contentType)
	b64 := !strings.HasPrefix(ct, "text/") && ct != "application/json"
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("Cache-Control", "no-cache")
	hd.Set("X-Accel-Buffering", "no")
	if b64 {
		hd.Set(hSSEEncoding, "base64")
	}
	rc := http.NewResponseController(w)
	defer h.writing(rc)()
	h.writeDeadline(rc)
	w.WriteHeader(http.StatusOK)
	cursor := r.URL.Query().Get("cursor")
	end := time.Now().Add(h.cfg.sseLifetime)
	for {
		// Each event's messages are held in the budget of answers being
		// written only while they are read and written; a wait holds
		// none.
		out, _ := h.takeOut(ctx, key)
		if out == nil {
			return // the client reconnects from its last offset
		}
		next := h.sseEvent(ctx, w, rc, st, &from, &cursor, b64, out)
		out.release()
		if next == sseEnd || next == sseWait && !h.sseWait(ctx, &st, from, end) {
			return
		}
	}
}

// What sseEvent tells the SSE loop to do next.
const (
	sseMore = iota // write the next event at once
	sseWait        // wait for the stream to change
	sseEnd         // end the answer
)

// sseEvent reads one chunk from *from and writes it as a data event (if it
// has messages) and a control event, moving *from past it.
func (h *Handler) sseEvent(ctx context.Context, w http.ResponseWriter, rc *http.ResponseController,
	st *stream, from *eventstore.Offset, cursor *string, b64 bool, out *heldBytes) int {
	c, err := h.read(ctx, st, *from)
	if err != nil {
		return sseEnd
	}
	out.keep(c)
	closed := st.head.Closed && c.upToDate
	next := *from
	if len(c.msgs) > 0 {
		next = c.next
	}
	ctl := sseControl{NextOffset: next, UpToDate: c.upToDate, Closed: closed}
	if !closed {
		*cursor = h.cursor(*cursor)
		ctl.Cursor = *cursor
	}
	cb, _ := json.Marshal(ctl)
	// The event is written as it is encoded, through a small buffer: a
	// chunk is never copied whole, so a client that stops reading holds
	// the chunk's messages and no more.
	h.writeDeadline(rc)
	bw := bufio.NewWriterSize(w, 32<<10)
	if len(c.msgs) > 0 {
		writeSSEData(bw, st, c, b64)
	}
	bw.WriteString("event: control\ndata:")
	bw.Write(cb)
	bw.WriteString("\n\n")
	if err := bw.Flush(); err != nil {
		return sseEnd
	}
	*from = next
	if err := rc.Flush(); err != nil {
		return sseEnd
	}
	_ = rc.SetWriteDeadline(time.Time{})
	switch {
	case closed:
		return sseEnd
	case !c.upToDate:
		return sseMore
	}
	return sseWait
}

// sseWait waits, up to the answer's end, for the stream to change; false
// when the answer ends (its time is up, the client left, the server shuts
// down).
func (h *Handler) sseWait(ctx context.Context, st **stream, from eventstore.Offset, end time.Time) bool {
	if !time.Now().Before(end) {
		return false
	}
	wctx, cancel := context.WithDeadline(ctx, end)
	fresh, c, err := h.waitFor(wctx, *st, from)
	cancel()
	if err != nil || ctx.Err() != nil || h.closeCtx.Err() != nil {
		return false
	}
	*st = fresh
	// Nothing new and not closed: the connection's time is up, and the
	// client reconnects.
	return len(c.msgs) > 0 || fresh.head.Closed
}

// writeSSEData writes a chunk as one data event: a JSON array in a JSON
// stream, base64 for binary content, text otherwise, one data line per
// line (CR, LF and CRLF all end one), so that no payload can end the event
// or start another. It encodes as it writes: nothing is copied whole.
func writeSSEData(w *bufio.Writer, st *stream, c chunk, b64 bool) {
	w.WriteString("event: data\n")
	if b64 {
		w.WriteString("data:")
		enc := base64.NewEncoder(base64.StdEncoding, w)
		for _, m := range c.msgs {
			enc.Write(m)
		}
		enc.Close()
		w.WriteString("\n\n")
		return
	}
	l := sseLines{w: w, atStart: true}
	st.eachPiece(c, l.write)
	if !l.atStart {
		w.WriteByte('\n')
	} else {
		l.write(nil) // the last, empty line
		w.WriteByte('\n')
	}
	w.WriteByte('\n')
}

// sseLines writes a payload, given in pieces, as SSE data lines.
type sseLines struct {
	w       *bufio.Writer
	atStart bool // the next byte starts a line
	lastCR  bool // the last piece ended with CR: an LF next is part of it
}

// write writes one piece; write(nil) at a line's start writes an empty
// line's "data:".
func (l *sseLines) write(p []byte) {
	if p == nil && l.atStart {
		l.w.WriteString("data:")
		l.atStart = false
		return
	}
	for len(p) > 0 {
		if l.lastCR {
			l.lastCR = false
			if p[0] == '\n' {
				p = p[1:]
				continue
			}
		}
		if l.atStart {
			// A reader drops one space after the colon, so a line that
			// starts with a space gets one more.
			l.w.WriteString("data:")
			if p[0] == ' ' {
				l.w.WriteByte(' ')
			}
			l.atStart = false
		}
		i := bytes.IndexAny(p, "\r\n")
		if i < 0 {
			l.w.Write(p)
			return
		}
		l.w.Write(p[:i])
		l.w.WriteByte('\n')
		l.atStart, l.lastCR = true, p[i] == '\r'
		p = p[i+1:]
	}
}

// parseOffset parses an offset from a request: the store's, "-1", "now",
// or a zero in any width of digits on both sides of "_" (the position
// before everything, which clients and the protocol's tests spell in the
// reference server's width).
func parseOffset(s string) (eventstore.Offset, error) {
	if a, b, ok := strings.Cut(s, "_"); ok && a != "" && b != "" && strings.Trim(a, "0") == "" && strings.Trim(b, "0") == "" && len(s) <= 64 {
		return eventstore.Start, nil
	}
	return eventstore.ParseOffset(s)
}
