package aggregate

import (
	"context"
	"time"

	"github.com/rewindhq/rewind/eventstore"
)

// Snapshots are taken after the append that crosses the policy's mark, by
// a goroutine of the repository, so that the command does not wait for
// them. A snapshot is only a shortcut: one that is dropped (the queue full,
// the repository closing, a failed write) costs a later load a longer
// replay, never a wrong state.

type snapJob[S any] struct {
	stream string
	l      Loaded[S]
}

// snapshotTimeout bounds the writing of one snapshot.
const snapshotTimeout = 5 * time.Second

// maybeSnapshot queues a snapshot of next if the policy asks for one after
// a command that took the stream from version prev.
func (r *Repository[S, E]) maybeSnapshot(stream string, prev uint64, next Loaded[S]) {
	if r.cfg.snapshot == nil || !r.cfg.snapshot(prev, next.Version) {
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

// writeSnapshots is the repository's snapshot writer.
func (r *Repository[S, E]) writeSnapshots() {
	for job := range r.snaps {
		data, err := r.def.stateCodec.Marshal(job.l.State)
		if err != nil {
			r.log.Warn("aggregate: state does not encode; snapshot skipped", "stream", job.stream, "err", err)
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), snapshotTimeout)
		err = r.store.SaveSnapshot(ctx, eventstore.Snapshot{Stream: job.stream, Version: job.l.Version,
			StoredAt: job.l.At, Schema: r.def.stateSchema, Data: data})
		cancel()
		if err != nil {
			r.log.Warn("aggregate: snapshot not saved", "stream", job.stream, "version", job.l.Version, "err", err)
		}
	}
}

// Snapshot saves a snapshot of instance id's current state now, whatever
// the policy (for example before a long replay is expected).
func (r *Repository[S, E]) Snapshot(ctx context.Context, id string) error {
	l, err := r.Load(ctx, id)
	if err != nil || l.Version == 0 {
		return err
	}
	stream, _ := r.def.Stream(id)
	data, err := r.def.stateCodec.Marshal(l.State)
	if err != nil {
		return err
	}
	return r.store.SaveSnapshot(ctx, eventstore.Snapshot{Stream: stream, Version: l.Version, StoredAt: l.At,
		Schema: r.def.stateSchema, Data: data})
}
