package aggregate

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rewindhq/rewind/eventstore"
)

// Snapshots are taken after the append that crosses the policy's mark, by
// a goroutine of the repository, so that the command does not wait for
// them. A snapshot is only a shortcut: one that is dropped (the queue full,
// the repository closing, a failed write) costs a later load a longer
// replay, never a wrong state.
//
// A snapshot's Schema is its tag: the fold that made it (Definition.foldID:
// the state schema and the event schemas) and, after "@", the offset of
// the event at its version. A load uses a snapshot only if the fold is its
// own and the event at that version is still the one at that offset (the
// stream was not deleted and made again).

type snapJob[S any] struct {
	stream string
	l      Loaded[S]
	data   []byte // l.State encoded, when the state was encoded at once (a load's)
}

// snapshotTimeout bounds the writing of one snapshot.
const snapshotTimeout = 5 * time.Second

// snapshotTag is the Schema prefix of the snapshots def's fold makes.
func snapshotTag[S, E any](def *Definition[S, E]) string { return "fold-" + def.foldID() + "@" }

// maybeSnapshot queues a snapshot of next if the policy asks for one after
// a command that took the stream from version prev.
func (r *Repository[S, E]) maybeSnapshot(stream string, prev uint64, next Loaded[S]) {
	if r.cfg.snapshot == nil || !r.cfg.snapshot(prev, next.Version) ||
		r.big.skip(stream, next.Version, r.store.MaxAppendBytes()) {
		return
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.closed {
		return
	}
	select {
	case r.snaps <- snapJob[S]{stream: stream, l: next}:
	default:
		r.log.Debug("aggregate: snapshot queue full; snapshot skipped", "stream", stream, "version", next.Version)
	}
}

// snapshotOnLoad queues a snapshot of l, a state a load has folded to,
// if the policy marks its version (as it would after a command that
// reached it): a stream written without commands (raw appends, an import)
// gets the snapshots its commands would have left, and the next load near
// it replays at most an interval of events. The state is encoded now: the
// load goes on evolving it, maybe in place. Nothing is queued once the
// queue is full or the repository closed: a snapshot is only a shortcut.
func (r *Repository[S, E]) snapshotOnLoad(stream string, l Loaded[S]) {
	if r.cfg.snapshot == nil || l.Version == 0 || !r.cfg.snapshot(l.Version-1, l.Version) {
		return
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.closed || len(r.snaps) == cap(r.snaps) {
		return
	}
	limit := r.store.MaxAppendBytes()
	if r.big.skip(stream, l.Version, limit) {
		return
	}
	data, err := r.def.stateCodec.Marshal(l.State)
	if err != nil {
		return
	}
	if size := len(data) + len(r.snapTag) + len(l.Offset); size > limit {
		// The store would refuse it (as SaveSnapshot counts): not queued.
		if r.big.refused(stream, l.Version, size) {
			r.logTooLarge(stream, l.Version, fmt.Errorf("%w: %d bytes, at most %d", eventstore.ErrTooLarge, size, limit))
		}
		return
	}
	select {
	case r.snaps <- snapJob[S]{stream: stream, l: Loaded[S]{Version: l.Version, At: l.At, Offset: l.Offset}, data: data}:
	default:
	}
}

// writeSnapshots is the repository's snapshot writer.
func (r *Repository[S, E]) writeSnapshots() {
	for job := range r.snaps {
		ctx, cancel := context.WithTimeout(context.Background(), snapshotTimeout)
		var err error
		if job.data != nil {
			err = r.saveEncoded(ctx, job.stream, job.l, job.data)
		} else {
			err = r.saveSnapshot(ctx, job.stream, job.l)
		}
		cancel()
		var big *tooLargeError
		switch {
		case errors.As(err, &big):
			if big.first {
				r.logTooLarge(job.stream, job.l.Version, err)
			}
		case err != nil:
			r.log.Warn("aggregate: snapshot not saved", "stream", job.stream, "version", job.l.Version, "err", err)
		}
	}
}

// logTooLarge logs the first refusal of a stream's snapshot as too large;
// the later marks are skipped quietly (see oversize.go).
func (r *Repository[S, E]) logTooLarge(stream string, version uint64, err error) {
	r.log.Warn("aggregate: state too large to snapshot; loads replay the stream until it fits",
		"stream", stream, "version", version, "err", err)
}

// tooLargeError is a snapshot refused as too large (ErrTooLarge); first
// reports that the stream was not known for it.
type tooLargeError struct {
	err   error
	first bool
}

func (e *tooLargeError) Error() string { return e.err.Error() }
func (e *tooLargeError) Unwrap() error { return e.err }

func (r *Repository[S, E]) saveSnapshot(ctx context.Context, stream string, l Loaded[S]) error {
	data, err := r.def.stateCodec.Marshal(l.State)
	if err != nil {
		return fmt.Errorf("aggregate: snapshot of %q: the state does not encode: %w", stream, err)
	}
	return r.saveEncoded(ctx, stream, l, data)
}

// saveEncoded saves a snapshot of l, the state encoded as data, and
// remembers whether the store refused it as too large.
func (r *Repository[S, E]) saveEncoded(ctx context.Context, stream string, l Loaded[S], data []byte) error {
	schema := r.snapTag + string(l.Offset)
	err := r.store.SaveSnapshot(ctx, eventstore.Snapshot{Stream: stream, Version: l.Version, StoredAt: l.At,
		Schema: schema, Data: data})
	switch {
	case err == nil:
		r.big.saved(stream, l.Version)
	case errors.Is(err, eventstore.ErrTooLarge):
		return &tooLargeError{err: err, first: r.big.refused(stream, l.Version, len(data)+len(schema))}
	}
	return err
}

// Snapshot saves a snapshot of instance id's current state now, whatever
// the policy (for example before a long replay is expected). A state that
// does not fit in one of the store's messages is an error wrapping
// eventstore.ErrTooLarge; the policy's snapshots of the instance are then
// skipped until it could fit.
func (r *Repository[S, E]) Snapshot(ctx context.Context, id string) error {
	l, err := r.Load(ctx, id)
	if err != nil || l.Version == 0 {
		return err
	}
	stream, _ := r.def.Stream(id)
	return r.saveSnapshot(ctx, stream, l)
}

// SnapshotInfo describes one snapshot of an instance.
type SnapshotInfo struct {
	// Version is the version of the last event the snapshot includes.
	Version uint64
	// At is the store time of that event.
	At time.Time
	// Usable reports that the snapshot was made by this definition's fold
	// (its state schema and event schemas): loads skip the others. (A
	// snapshot of a stream since deleted and made again is skipped too;
	// DeleteStream deletes the stream's snapshots.)
	Usable bool
}

// Snapshots lists the snapshots kept of instance id, by version, oldest
// first.
func (r *Repository[S, E]) Snapshots(ctx context.Context, id string) ([]SnapshotInfo, error) {
	stream, err := r.def.Stream(id)
	if err != nil {
		return nil, err
	}
	all, err := r.store.Snapshots(ctx, stream)
	if err != nil {
		return nil, fmt.Errorf("aggregate: snapshots of %q: %w", stream, err)
	}
	out := make([]SnapshotInfo, len(all))
	for i, sn := range all {
		out[i] = SnapshotInfo{Version: sn.Version, At: sn.StoredAt, Usable: strings.HasPrefix(sn.Schema, r.snapTag)}
	}
	return out, nil
}

// fromSnapshot returns the state of the newest usable snapshot within the
// bounds, with the offset of the event at its version (which the load
// checks). A snapshot of another fold, or one that does not decode, is
// skipped with a log line: the load replays instead.
func (r *Repository[S, E]) fromSnapshot(ctx context.Context, stream string, bounds []eventstore.ReadOption) (Loaded[S], bool) {
	snap, ok, err := r.store.LoadSnapshot(ctx, stream, bounds...)
	if err != nil {
		if ctx.Err() == nil { // a caller that gave up is not a snapshot that failed
			r.log.Warn("aggregate: snapshot not loaded; replaying", "stream", stream, "err", err)
		}
		return Loaded[S]{}, false
	}
	if !ok {
		return Loaded[S]{}, false
	}
	offset, ok := strings.CutPrefix(snap.Schema, r.snapTag)
	if !ok || offset == "" {
		r.log.Info("aggregate: skipping a snapshot of another fold (state or event schema); replaying",
			"stream", stream, "version", snap.Version, "schema", snap.Schema, "want", r.snapTag)
		return Loaded[S]{}, false
	}
	var s S
	if err := r.def.stateCodec.Unmarshal(snap.Data, &s); err != nil {
		r.log.Warn("aggregate: skipping a snapshot that does not decode; replaying",
			"stream", stream, "version", snap.Version, "err", err)
		return Loaded[S]{}, false
	}
	return Loaded[S]{State: s, Version: snap.Version, At: snap.StoredAt, Offset: eventstore.Offset(offset)}, true
}
