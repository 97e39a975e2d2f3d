package durablestreams

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"mime"
	"strconv"
	"strings"
	"time"

	"github.com/rewindhq/rewind/eventstore"
	"github.com/rewindhq/rewind/internal/ctxsleep"
)

// Metadata keys kept in the store beside each stream (eventstore.Metadata).
const (
	mdContentType = "ds.content-type"
	mdTTL         = "ds.ttl"        // seconds, decimal
	mdExpiresAt   = "ds.expires-at" // as the client sent it (RFC 3339)
	mdCreated     = "ds.created"    // Unix ms
	mdForkFrom    = "ds.fork.from"  // the source stream's name
	mdForkOffset  = "ds.fork.offset"
	mdForkSub     = "ds.fork.sub"
	mdDeleted     = "ds.deleted" // "1": soft-deleted, kept for its forks
	mdForks       = "ds.forks"   // live forks that read from this stream
	mdUsed        = "ds.used"    // a recent read or append, Unix ms, for the TTL (see touch)
)

// meta is a stream's protocol-level configuration.
type meta struct {
	contentType string
	ttl         int64 // seconds; -1: none
	expiresRaw  string
	expiresAt   time.Time
	created     time.Time
	forkFrom    string
	forkOffset  eventstore.Offset
	forkSub     int64
	softDeleted bool
	forks       int64
	used        time.Time // a recent read or append as stored; zero: none since creation
}

func (m meta) values() map[string]string {
	v := map[string]string{mdContentType: m.contentType, mdCreated: strconv.FormatInt(m.created.UnixMilli(), 10)}
	if m.ttl >= 0 {
		v[mdTTL] = strconv.FormatInt(m.ttl, 10)
	}
	if m.expiresRaw != "" {
		v[mdExpiresAt] = m.expiresRaw
	}
	if m.forkFrom != "" {
		v[mdForkFrom] = m.forkFrom
		v[mdForkOffset] = string(m.forkOffset)
		if m.forkSub > 0 {
			v[mdForkSub] = strconv.FormatInt(m.forkSub, 10)
		}
	}
	if m.softDeleted {
		v[mdDeleted] = "1"
	}
	if m.forks > 0 {
		v[mdForks] = strconv.FormatInt(m.forks, 10)
	}
	if !m.used.IsZero() {
		v[mdUsed] = strconv.FormatInt(m.used.UnixMilli(), 10)
	}
	return v
}

func parseMeta(v map[string]string) meta {
	m := meta{contentType: v[mdContentType], ttl: -1, expiresRaw: v[mdExpiresAt], forkFrom: v[mdForkFrom],
		forkOffset: eventstore.Offset(v[mdForkOffset]), softDeleted: v[mdDeleted] == "1"}
	if m.contentType == "" {
		m.contentType = defaultGoContentType
	}
	if s, ok := v[mdTTL]; ok {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			m.ttl = n
		}
	}
	if m.expiresRaw != "" {
		m.expiresAt, _ = time.Parse(time.RFC3339Nano, m.expiresRaw)
	}
	if ms, err := strconv.ParseInt(v[mdCreated], 10, 64); err == nil {
		m.created = time.UnixMilli(ms)
	}
	if ms, err := strconv.ParseInt(v[mdUsed], 10, 64); err == nil {
		m.used = time.UnixMilli(ms)
	}
	m.forkSub, _ = strconv.ParseInt(v[mdForkSub], 10, 64)
	m.forks, _ = strconv.ParseInt(v[mdForks], 10, 64)
	return m
}

// stream is what one request knows of a stream.
type stream struct {
	name   string
	meta   meta
	rev    uint64 // metadata revision; 0: a stream Go code made, with no metadata
	head   eventstore.Head
	exists bool
}

// json reports a JSON-mode stream.
func (s *stream) json() bool { return isJSON(s.meta.contentType) }

// tail is the offset after the stream's last message: its own last event,
// or, for a fork with none of its own yet, the fork point.
func (s *stream) tail() eventstore.Offset {
	if s.head.Version > 0 {
		return s.head.Offset
	}
	if s.meta.forkFrom != "" {
		return s.meta.forkOffset
	}
	return eventstore.Start
}

// mediaType is a content type's type/subtype in lower case, without
// parameters.
func mediaType(ct string) string {
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	return strings.ToLower(strings.TrimSpace(ct))
}

// isMediaType reports whether ct is one media type, type/subtype with
// optional parameters: mime.ParseMediaType alone takes a lone token ("x",
// which is a Content-Disposition) and refuses a list.
func isMediaType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && strings.Contains(mt, "/")
}

func isJSON(ct string) bool { return mediaType(ct) == "application/json" }

// lookup reads a stream's metadata and head. A stream with neither is not
// there (exists false). An expired stream is deleted on the way (kept,
// soft-deleted, while forks read from it) and looked up again. The caller
// holds the stream's lock (h.lock): a delete of an expired stream must not
// run beside a writer that is making the stream again, or beside a fork's
// claim on it, or an acknowledged write would be lost.
func (h *Handler) lookup(ctx context.Context, name string) (*stream, error) {
	st, err := h.lookupRaw(ctx, name)
	if err != nil || !st.exists || st.meta.softDeleted || !h.expired(st) {
		return st, err
	}
	if err := h.remove(ctx, st); err != nil {
		return nil, err
	}
	return h.lookupRaw(ctx, name)
}

// lookupUnlocked is lookup for a request that does not hold the stream's
// lock (a read): when the stream looks expired, it takes the lock and
// looks again, so that the delete is decided on what the stream is once
// no writer can change it.
func (h *Handler) lookupUnlocked(ctx context.Context, name string) (*stream, error) {
	st, err := h.lookupRaw(ctx, name)
	if err != nil || !st.exists || st.meta.softDeleted || !h.expired(st) {
		return st, err
	}
	unlock := h.lock(name)
	defer unlock()
	return h.lookup(ctx, name)
}

// expired reports whether a stream's TTL (since its last use) or expiry
// time has passed. The last use is the stored one (see touch), which may
// be up to usedSlack behind the true one: the TTL counts from the stored
// use plus that slack, so a stream is never deleted early, by this process,
// another one on the same NATS, or this one after a restart; it may live
// up to a quarter of its TTL longer.
func (h *Handler) expired(st *stream) bool {
	now := h.now()
	if !st.meta.expiresAt.IsZero() && !now.Before(st.meta.expiresAt) {
		return true
	}
	if st.meta.ttl < 0 {
		return false
	}
	ttl := ttlDuration(st.meta.ttl)
	last := st.meta.created
	if !st.meta.used.IsZero() {
		if u := st.meta.used.Add(usedSlack(ttl)); u.After(last) {
			last = u
		}
	}
	return now.Sub(last) >= ttl
}

// ttlDuration is a TTL of sec seconds as a time.Duration, which holds 292
// years at most: a longer TTL (a PUT takes up to 2^40 s) is that much,
// not the negative duration the product wraps to, which expired the
// stream at once.
func ttlDuration(sec int64) time.Duration {
	if sec > int64(math.MaxInt64/time.Second) {
		return math.MaxInt64
	}
	return time.Duration(sec) * time.Second
}

// usedSlack is how far a stream's stored last use may lag behind its true
// last use: touch stores a use only when the stored one is at least this
// old, so that a busy stream writes its metadata a few times per TTL, not
// on every request.
func usedSlack(ttl time.Duration) time.Duration { return ttl / 4 }

// touch restarts a stream's TTL: every read and append does. It stores the
// use with the stream's metadata when the stored one is usedSlack old or
// older (coalesced: a busy stream writes its metadata about four times per
// TTL), with compare-and-set on the revision the request looked up, so a
// touch never brings back a stream deleted meanwhile or changes one made
// again. A touch that loses to another change of the metadata tries again
// on what is stored then, a few times at most.
func (h *Handler) touch(ctx context.Context, st *stream) {
	if st.meta.ttl < 0 || st.rev == 0 {
		return
	}
	now := h.now()
	slack := usedSlack(ttlDuration(st.meta.ttl))
	m, rev := st.meta, st.rev
	for range 3 {
		last := m.created
		if m.used.After(last) {
			last = m.used
		}
		if now.Sub(last) < slack {
			return
		}
		m.used = now
		newRev, err := h.store.SetMetadata(ctx, st.name, m.values(), rev)
		if err == nil {
			st.meta.used, st.rev = now, newRev
			return
		}
		if !errors.Is(err, eventstore.ErrMetadataConflict) {
			h.cfg.log.Warn("durablestreams: storing a stream's last use", "stream", st.name, "err", err)
			return
		}
		md, err := h.store.Metadata(ctx, st.name)
		if err != nil || md.Revision == 0 {
			return // gone meanwhile: nothing to keep alive
		}
		fresh := parseMeta(md.Values)
		if !fresh.created.Equal(st.meta.created) || fresh.ttl != st.meta.ttl {
			return // made again meanwhile: not the stream this request used
		}
		m, rev = fresh, md.Revision
	}
}

// updateMeta applies fn to a stream's metadata with compare-and-set,
// retrying on a conflict after a short pause that grows (the other writer
// is a request of the same stream, done in milliseconds), for about two
// seconds at most. fn returns false to leave the metadata as it is.
func (h *Handler) updateMeta(ctx context.Context, name string, fn func(*meta) bool) error {
	pause := time.Millisecond
	for range 16 {
		md, err := h.store.Metadata(ctx, name)
		if err != nil {
			return err
		}
		m := meta{contentType: defaultGoContentType, ttl: -1, created: h.now()}
		if md.Revision > 0 {
			m = parseMeta(md.Values)
		}
		if !fn(&m) {
			return nil
		}
		_, err = h.store.SetMetadata(ctx, name, m.values(), md.Revision)
		if !errors.Is(err, eventstore.ErrMetadataConflict) {
			return err
		}
		if err := ctxsleep.Sleep(ctx, pause+rand.N(pause)); err != nil {
			return err
		}
		pause = min(2*pause, 200*time.Millisecond)
	}
	return errors.New("durablestreams: metadata kept changing")
}

// remove deletes a stream, or soft-deletes it while forks read from it,
// and then releases its fork source, deleting that too when it was
// soft-deleted and this was its last fork.
func (h *Handler) remove(ctx context.Context, st *stream) error {
	if st.meta.forks > 0 {
		lastGone := false
		err := h.updateMeta(ctx, st.name, func(m *meta) bool {
			if m.forks == 0 {
				lastGone = true
				return false
			}
			m.softDeleted = true
			return true
		})
		if err != nil || !lastGone {
			return err
		}
		// Its last fork went meanwhile, and did not delete it (it was not
		// soft-deleted yet): nothing reads from it, so it goes now.
	}
	if err := h.store.DeleteStream(ctx, st.name); err != nil {
		return err
	}
	h.seqs.forget(st.name)
	if st.meta.forkFrom == "" {
		return nil
	}
	var gone bool
	err := h.updateMeta(ctx, st.meta.forkFrom, func(m *meta) bool {
		if m.forks > 0 {
			m.forks--
		}
		gone = m.softDeleted && m.forks == 0
		return true
	})
	if err != nil || !gone {
		return err
	}
	// The source goes without its own lock (taking it here, under the
	// fork's, could deadlock with a PUT that holds both): no writer can
	// race this delete, since a soft-deleted stream refuses appends (410),
	// a PUT (409) and new forks (409), and it has no fork left to hold it.
	src, err := h.lookupRaw(ctx, st.meta.forkFrom)
	if err != nil {
		return err
	}
	return h.remove(ctx, src)
}

// lookupRaw is lookup without the expiry check.
func (h *Handler) lookupRaw(ctx context.Context, name string) (*stream, error) {
	md, err := h.store.Metadata(ctx, name)
	if err != nil {
		return nil, err
	}
	hd, err := h.store.Head(ctx, name)
	if err != nil {
		return nil, err
	}
	st := &stream{name: name, rev: md.Revision, head: hd, meta: meta{contentType: defaultGoContentType, ttl: -1}}
	if md.Revision > 0 {
		st.meta = parseMeta(md.Values)
	}
	st.exists = md.Revision > 0 || hd.Version > 0 || hd.Closed
	return st, nil
}

// sweepEvery is how often requests start a sweep of expired streams.
const sweepEvery = 10 * time.Second

// maybeSweep starts, at most every sweepEvery and one at a time, a sweep
// that deletes the streams whose TTL or expiry has passed, so that a
// stream nobody asks for again does not keep its storage. It runs on a
// request's heels, never on a timer: an idle handler runs nothing.
func (h *Handler) maybeSweep() {
	now := h.now().UnixNano()
	if now-h.lastSweep.Load() < int64(sweepEvery) || !h.sweeping.CompareAndSwap(false, true) {
		return
	}
	h.lastSweep.Store(now)
	h.sweepMu.Lock()
	defer h.sweepMu.Unlock()
	if h.closeCtx.Err() != nil {
		h.sweeping.Store(false)
		return // shut down: no sweep outlives Shutdown
	}
	h.sweeps.Add(1)
	go func() {
		defer h.sweeps.Done()
		defer h.sweeping.Store(false)
		ctx, cancel := context.WithTimeout(h.closeCtx, time.Minute)
		defer cancel()
		names, err := h.store.MetadataStreams(ctx)
		if err != nil {
			return
		}
		for _, name := range names {
			if ctx.Err() != nil {
				return
			}
			md, err := h.store.Metadata(ctx, name)
			if err != nil || md.Values[mdTTL] == "" && md.Values[mdExpiresAt] == "" {
				continue // nothing to expire
			}
			unlock := h.lock(name)
			if _, err := h.lookup(ctx, name); err != nil && ctx.Err() == nil {
				h.cfg.log.Warn("durablestreams: expiry sweep", "stream", name, "err", err)
			}
			unlock()
		}
	}()
}
