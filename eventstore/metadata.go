package eventstore

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rewindhq/rewind/internal/ctxsleep"
)

// Metadata is what the store keeps beside a stream that is not an event:
// small string pairs that describe the stream as a whole (package
// durablestreams keeps a stream's content type, TTL and fork origin in
// them). It is not part of the stream's history: no read returns it, and a
// change to it is not versioned with the events.
//
// The pairs live in a key-value bucket on the store's server
// ("<log>-meta"), which the store mirrors in memory and keeps current with
// a watch, so that reading a stream's metadata costs no round trip: a
// server answering every request of a stream with it stays as fast as a
// read of the index. This store's own changes are seen at once; another
// process's as soon as they are made: a stream the mirror does not know
// (or knows deleted) is read from the bucket before Metadata answers that
// it has none, so several servers in front of one log are one service;
// other changes reach the mirror within the watch's delay, and
// SetMetadata's compare-and-set is always decided by the server.
type Metadata struct {
	// Values are the pairs.
	Values map[string]string
	// Revision changes with every SetMetadata; 0 when the stream has none.
	Revision uint64
}

// ErrMetadataConflict is returned by SetMetadata when the stream's metadata
// is not at the revision the caller expected.
var ErrMetadataConflict = errors.New("eventstore: metadata changed meanwhile")

// metaMirror is the in-memory copy of the metadata bucket.
type metaMirror struct {
	mu    sync.Mutex
	kv    jetstream.KeyValue
	ready chan struct{} // closed once the watch has delivered the bucket
	err   error         // the watch could not start
	m     map[string]metaEntry
	// deletes counts the deletes applied, to forget old ones now and then.
	deletes int
}

// metaEntry is one stream's metadata. gone marks a delete, kept for a
// while as the revision it happened at, so that an older put reported
// after it (by the watch, or by a SetMetadata that returned meanwhile)
// cannot bring the entry back.
type metaEntry struct {
	values map[string]string
	rev    uint64
	gone   bool
	goneAt time.Time
}

// goneFor is how long the mirror remembers a delete: far longer than a
// put can take to be reported.
const goneFor = time.Minute

// Metadata returns the stream's metadata; Revision 0 when it has none.
// The store's first metadata call starts its in-memory mirror of the
// metadata bucket. While a cluster elects its meta leader that start is
// tried again for up to 10 s and then fails wrapping ErrUnavailable (the
// next call tries again); ctx bounds how long a call waits for it.
func (s *Store) Metadata(ctx context.Context, stream string) (Metadata, error) {
	if err := validateName(stream); err != nil {
		return Metadata{}, fmt.Errorf("eventstore: metadata of %q: %w", stream, err)
	}
	mm, err := s.metaMirror(ctx)
	if err != nil {
		return Metadata{}, fmt.Errorf("eventstore: metadata of %q: %w", stream, err)
	}
	mm.mu.Lock()
	e, ok := mm.m[stream]
	mm.mu.Unlock()
	if !ok || e.gone {
		// Another process may have just made it, and the watch not yet
		// reported it: the bucket decides.
		return s.metadataFromBucket(ctx, mm, stream)
	}
	return Metadata{Values: copyValues(e.values), Revision: e.rev}, nil
}

// metadataFromBucket reads a stream's metadata from the bucket (the mirror
// does not know it) and records what it finds in the mirror.
func (s *Store) metadataFromBucket(ctx context.Context, mm *metaMirror, stream string) (Metadata, error) {
	e, err := s.kvGet(ctx, mm.kv, metaKey(stream), 0)
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		return Metadata{}, nil
	}
	if err != nil {
		return Metadata{}, fmt.Errorf("eventstore: metadata of %q: %w", stream, s.closedOr(err))
	}
	mm.apply(stream, e.Value(), e.Revision(), false)
	mm.mu.Lock()
	me, ok := mm.m[stream]
	mm.mu.Unlock()
	if !ok || me.gone {
		return Metadata{}, nil
	}
	return Metadata{Values: copyValues(me.values), Revision: me.rev}, nil
}

func copyValues(v map[string]string) map[string]string {
	c := make(map[string]string, len(v))
	for k, x := range v {
		c[k] = x
	}
	return c
}

// SetMetadata replaces the stream's metadata with values if it is at
// revision (0: the stream has none yet), and returns the new revision;
// otherwise it fails with ErrMetadataConflict and changes nothing. Two
// writers that race on it cannot both win. The stream need not have events.
// Values that do not fit in one message (their JSON above MaxAppendBytes)
// are an error wrapping ErrTooLarge.
func (s *Store) SetMetadata(ctx context.Context, stream string, values map[string]string, revision uint64) (uint64, error) {
	if err := validateName(stream); err != nil {
		return 0, fmt.Errorf("eventstore: set metadata of %q: %w", stream, err)
	}
	mm, err := s.metaMirror(ctx)
	if err != nil {
		return 0, fmt.Errorf("eventstore: set metadata of %q: %w", stream, err)
	}
	v, err := json.Marshal(values)
	if err != nil {
		return 0, fmt.Errorf("eventstore: set metadata of %q: %w", stream, err)
	}
	if limit := s.MaxAppendBytes(); len(v) > limit {
		// Refused here, as a snapshot is, rather than by the server's
		// untyped "maximum payload exceeded".
		return 0, fmt.Errorf("eventstore: set metadata of %q: %w: %d bytes encoded, the server takes at most %d per message",
			stream, ErrTooLarge, len(v), limit)
	}
	key := metaKey(stream)
	var rev uint64
	unanswered := false // a try went unanswered: it may have been stored
	err = retry(ctx, func(ctx context.Context) (err error) {
		if revision == 0 {
			rev, err = mm.kv.Create(ctx, key, v)
		} else {
			rev, err = mm.kv.Update(ctx, key, v, revision)
		}
		unanswered = unanswered || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout)
		return err
	})
	var apiErr *jetstream.APIError
	conflict := errors.Is(err, jetstream.ErrKeyExists) || errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
	if conflict && unanswered {
		// A try whose answer was lost may have made this very change.
		if e, gerr := s.kvGet(ctx, mm.kv, key, revision+1); gerr == nil && e.Revision() > revision && bytes.Equal(e.Value(), v) {
			rev, err, conflict = e.Revision(), nil, false
		}
	}
	if conflict {
		// The mirror may be behind another process: ask the server.
		if e, gerr := s.kvGet(ctx, mm.kv, key, revision+1); gerr == nil {
			mm.apply(stream, e.Value(), e.Revision(), false)
		} else if errors.Is(gerr, jetstream.ErrKeyNotFound) {
			mm.forget(stream)
		}
		return 0, fmt.Errorf("eventstore: set metadata of %q: %w", stream, ErrMetadataConflict)
	}
	if err != nil {
		return 0, fmt.Errorf("eventstore: set metadata of %q: %w", stream, s.closedOr(err))
	}
	mm.mu.Lock()
	if e, ok := mm.m[stream]; !ok || e.rev < rev {
		mm.m[stream] = metaEntry{values: copyValues(values), rev: rev}
	}
	mm.mu.Unlock()
	return rev, nil
}

// deleteMetadata removes a stream's metadata.
func (s *Store) deleteMetadata(ctx context.Context, name string) error {
	mm, err := s.metaMirror(ctx)
	if err != nil {
		return err
	}
	if err := retry(ctx, func(ctx context.Context) error { return mm.kv.Purge(ctx, metaKey(name)) }); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return s.closedOr(err)
	}
	mm.mu.Lock()
	if e, ok := mm.m[name]; ok && !e.gone {
		mm.m[name] = metaEntry{rev: e.rev, gone: true, goneAt: time.Now()}
	}
	mm.mu.Unlock()
	return nil
}

// apply records what the watch (or a Get) reports of a key, unless the
// mirror already holds a newer revision.
func (mm *metaMirror) apply(name string, value []byte, rev uint64, deleted bool) {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	if e, ok := mm.m[name]; ok && e.rev >= rev {
		return
	}
	if deleted {
		mm.m[name] = metaEntry{rev: rev, gone: true, goneAt: time.Now()}
		mm.deletes++
		if mm.deletes%256 == 0 {
			mm.forgetOldDeletes()
		}
		return
	}
	var values map[string]string
	if err := json.Unmarshal(value, &values); err != nil {
		return // not ours: nothing a reader could use
	}
	mm.m[name] = metaEntry{values: values, rev: rev}
}

// forget marks a stream's entry deleted (the server has none).
func (mm *metaMirror) forget(name string) {
	mm.mu.Lock()
	if e, ok := mm.m[name]; ok {
		mm.m[name] = metaEntry{rev: e.rev, gone: true, goneAt: time.Now()}
	}
	mm.mu.Unlock()
}

// forgetOldDeletes drops the deletes older than goneFor; mm.mu is held.
func (mm *metaMirror) forgetOldDeletes() {
	cut := time.Now().Add(-goneFor)
	for name, e := range mm.m {
		if e.gone && e.goneAt.Before(cut) {
			delete(mm.m, name)
		}
	}
}

// metaKey is a stream's key in the bucket: its name in unpadded base64url,
// which takes any name to the characters a key allows.
func metaKey(name string) string { return "s." + base64.RawURLEncoding.EncodeToString([]byte(name)) }

func nameOfMetaKey(key string) (string, bool) {
	k, ok := strings.CutPrefix(key, "s.")
	if !ok {
		return "", false
	}
	b, err := base64.RawURLEncoding.DecodeString(k)
	return string(b), err == nil
}

// metaMirror returns the mirror, starting it on first use: it makes the
// bucket, watches it from its first revision and waits until the watch has
// delivered what the bucket held. The mirror starts on a goroutine of its
// own, so that a caller waits for it only as long as ctx lets it (the start
// can take up to unavailableWait while the cluster elects a meta leader);
// a caller that gives up leaves the start going for the next one.
func (s *Store) metaMirror(ctx context.Context) (*metaMirror, error) {
	s.metaMu.Lock()
	// A closed store's mirror is no longer kept current: it answers
	// nothing. Close takes metaMu before it waits for s.wg, so a start is
	// either counted before that wait or never begins.
	if s.closed.Load() {
		s.metaMu.Unlock()
		return nil, ErrClosed
	}
	mm := s.meta
	if mm == nil {
		mm = &metaMirror{ready: make(chan struct{}), m: make(map[string]metaEntry)}
		s.meta = mm
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.startMetaMirror(mm)
		}()
	}
	s.metaMu.Unlock()
	select {
	case <-mm.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if mm.err != nil {
		return nil, mm.err
	}
	return mm, nil
}

func (s *Store) startMetaMirror(mm *metaMirror) {
	fail := func(err error) {
		mm.err = s.closedOr(err)
		close(mm.ready)
		s.metaMu.Lock()
		if s.meta == mm {
			s.meta = nil // the next call tries again
		}
		s.metaMu.Unlock()
	}
	kv, err := s.KeyValue(s.ctx, s.jsName+"-meta")
	if err != nil {
		fail(err)
		return
	}
	w, err := s.watchAll(kv)
	if err != nil {
		fail(fmt.Errorf("watch the metadata bucket: %w", err))
		return
	}
	mm.kv = kv
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer w.Stop()
		ready := false
		for e := range w.Updates() {
			if e == nil { // the bucket as it was when the watch began
				if !ready {
					ready = true
					close(mm.ready)
				}
				continue
			}
			if name, ok := nameOfMetaKey(e.Key()); ok {
				op := e.Operation()
				mm.apply(name, e.Value(), e.Revision(), op == jetstream.KeyValueDelete || op == jetstream.KeyValuePurge)
			}
		}
		if !ready {
			mm.err = ErrClosed
			close(mm.ready)
		}
	}()
}

// watchAll starts a watch of every key of kv for as long as the store
// lives. Its consumer needs the cluster's meta leader: while one is
// elected the watch is tried again, for up to unavailableWait, and then
// fails wrapping ErrUnavailable (transient, a 503 over HTTP). Each try is
// bounded by nats.go's own request timeout: the watch's context is also
// its life, so it cannot carry a try's deadline.
func (s *Store) watchAll(kv jetstream.KeyValue) (jetstream.KeyWatcher, error) {
	end := time.Now().Add(unavailableWait)
	for {
		w, err := kv.WatchAll(s.ctx)
		if err == nil || !transient(err) || s.ctx.Err() != nil {
			return w, err
		}
		if time.Now().Add(retryPauseMax).After(end) {
			return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		if err := ctxsleep.Sleep(s.ctx, retryPauseMax); err != nil {
			return nil, err
		}
	}
}

// MetadataStreams returns the names of the streams that have metadata, in
// no particular order: what a sweep over streams' configuration (an expiry,
// say) walks, with no read of the log.
func (s *Store) MetadataStreams(ctx context.Context) ([]string, error) {
	mm, err := s.metaMirror(ctx)
	if err != nil {
		return nil, fmt.Errorf("eventstore: metadata streams: %w", err)
	}
	mm.mu.Lock()
	defer mm.mu.Unlock()
	names := make([]string, 0, len(mm.m))
	for name, e := range mm.m {
		if !e.gone {
			names = append(names, name)
		}
	}
	return names, nil
}
