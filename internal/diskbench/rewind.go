package diskbench

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/rewindhq/rewind/eventstore"
)

// Rewind is what is measured of a Rewind store.
type Rewind struct {
	AppendsPerSec float64 `json:"appends_per_sec"`
	LogBytes      int64   `json:"log_bytes"`
	IndexBytes    int64   `json:"index_bytes"`
	// ReplayPerSec is ReadAll of every event, in log order.
	ReplayPerSec float64 `json:"replay_events_per_sec"`
	// WarmAfterBuild: reads of Target in the process that has just built
	// the store, while the index's compactions run.
	WarmAfterBuild Latency `json:"warm_read_after_build"`
	// Warm: reads of Target in a process that opened the built store.
	Warm Latency `json:"warm_read"`
}

// BuildRewind appends the data set into a new store in dir with
// ExpectVersion on every append, then times warm reads of Target in the
// same process while the index's compactions run, and closes the store.
func BuildRewind(ctx context.Context, dir string, s Spec, reads int, opts ...eventstore.Option) (Rewind, error) {
	var r Rewind
	st, err := eventstore.Open(ctx, dir, opts...)
	if err != nil {
		return r, err
	}
	defer st.Close()
	plan := Plan(s)
	r.AppendsPerSec, err = runPlan(s, plan, func(pos int, stream int32, v uint64) error {
		_, err := st.Append(ctx, StreamName(stream), []eventstore.Event{{Type: EventType, Data: Payload(pos)}},
			eventstore.ExpectVersion(v))
		return err
	})
	if err != nil {
		return r, fmt.Errorf("build: %w", err)
	}
	if r.WarmAfterBuild, err = rewindReads(ctx, st, reads); err != nil {
		return r, err
	}
	return r, st.Close()
}

// MeasureRewind opens the store in dir and measures its size, a replay
// and warm reads of Target.
func MeasureRewind(ctx context.Context, dir string, r Rewind, reads int, opts ...eventstore.Option) (Rewind, error) {
	var err error
	if r.LogBytes, err = DirSize(filepath.Join(dir, "log")); err != nil {
		return r, err
	}
	if r.IndexBytes, err = DirSize(filepath.Join(dir, "index")); err != nil {
		return r, err
	}
	st, err := eventstore.Open(ctx, dir, opts...)
	if err != nil {
		return r, err
	}
	defer st.Close()
	if _, err := readStream(ctx, st); err != nil { // waits for the index
		return r, err
	}
	start := time.Now()
	n := 0
	for _, err := range st.ReadAll(ctx) {
		if err != nil {
			return r, fmt.Errorf("replay: %w", err)
		}
		n++
	}
	r.ReplayPerSec = float64(n) / time.Since(start).Seconds()
	if r.Warm, err = rewindReads(ctx, st, reads); err != nil {
		return r, err
	}
	return r, st.Close()
}

// FirstRead opens the store in dir (not timed) and times its first read
// of Target: what a new process pays.
func FirstRead(ctx context.Context, dir string, opts ...eventstore.Option) (time.Duration, int, error) {
	st, err := eventstore.Open(ctx, dir, opts...)
	if err != nil {
		return 0, 0, err
	}
	defer st.Close()
	start := time.Now()
	n, err := readStream(ctx, st)
	return time.Since(start), n, err
}

// rewindReads times reads of the whole of Target, after one untimed.
func rewindReads(ctx context.Context, st *eventstore.Store, reads int) (Latency, error) {
	n, err := readStream(ctx, st)
	if err != nil {
		return Latency{}, err
	}
	samples := make([]time.Duration, 0, reads)
	for range reads {
		start := time.Now()
		if _, err := readStream(ctx, st); err != nil {
			return Latency{}, err
		}
		samples = append(samples, time.Since(start))
	}
	return LatencyOf(samples, n), nil
}

func readStream(ctx context.Context, st *eventstore.Store) (int, error) {
	n := 0
	for e, err := range st.Read(ctx, Target) {
		if err != nil {
			return n, err
		}
		n += len(e.Data) & 0 // touch the event
		n++
	}
	return n, nil
}

// Rebuild opens the store in dir and times Store.Reindex: the whole log
// read through JetStream (its compressed blocks decompressed as they
// load) and indexed again. It returns events per second and the new
// index's size.
func Rebuild(ctx context.Context, dir string, events int, opts ...eventstore.Option) (perSec float64, indexBytes int64, err error) {
	st, err := eventstore.Open(ctx, dir, opts...)
	if err != nil {
		return 0, 0, err
	}
	defer st.Close()
	start := time.Now()
	if err := st.Reindex(ctx, nil); err != nil {
		return 0, 0, err
	}
	perSec = float64(events) / time.Since(start).Seconds()
	if err := st.Close(); err != nil {
		return 0, 0, err
	}
	indexBytes, err = DirSize(filepath.Join(dir, "index"))
	return perSec, indexBytes, err
}
