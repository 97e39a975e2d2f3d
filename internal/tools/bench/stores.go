package main

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/rewindhq/rewind/eventstore"
)

// eventStore is what the bench does with each store, through the path a
// user of it takes: one event appended at an expected version (the version
// the stream has before it; a conflict is an error), one stream read
// whole, the whole log replayed in order.
type eventStore interface {
	Append(ctx context.Context, stream string, expect uint64, data []byte) error
	Read(ctx context.Context, stream string) (int, error)
	Replay(ctx context.Context) (int, error)
	Close() error
}

// target names one store's data: a Rewind directory, a SQLite file, or a
// PostgreSQL table.
type target struct {
	Kind  string `json:"kind"` // "rewind", "sqlite", "postgres"
	Path  string `json:"path,omitempty"`
	DSN   string `json:"dsn,omitempty"`
	Table string `json:"table,omitempty"`
	// Create makes the baselines create their table if it is missing (the
	// open of a new process does not, so that it times a connect).
	Create bool `json:"create,omitempty"`
}

const eventType = "bench.event"

func openStore(ctx context.Context, t target, durable bool) (eventStore, error) {
	switch t.Kind {
	case "rewind":
		return openRewind(ctx, t.Path, durable)
	case "sqlite":
		return openSQLite(ctx, t.Path, durable, t.Create)
	case "postgres":
		return openPostgres(ctx, t.DSN, t.Table, t.Create)
	}
	return nil, fmt.Errorf("unknown store kind %q", t.Kind)
}

// rewindStore is Rewind through its public API: Store.Append with
// ExpectVersion, Store.Read, Store.ReadAll.
type rewindStore struct{ s *eventstore.Store }

func openRewind(ctx context.Context, dir string, durable bool) (*rewindStore, error) {
	opts := []eventstore.Option{eventstore.WithLogger(slog.New(slog.DiscardHandler))}
	if durable {
		opts = append(opts, eventstore.SyncAlways())
	}
	s, err := eventstore.Open(ctx, dir, opts...)
	if err != nil {
		return nil, err
	}
	return &rewindStore{s: s}, nil
}

func (r *rewindStore) Append(ctx context.Context, stream string, expect uint64, data []byte) error {
	_, err := r.s.Append(ctx, stream, []eventstore.Event{{Type: eventType, Data: data}}, eventstore.ExpectVersion(expect))
	return err
}

func (r *rewindStore) Read(ctx context.Context, stream string) (int, error) {
	n := 0
	for ev, err := range r.s.Read(ctx, stream) {
		if err != nil {
			return n, err
		}
		if len(ev.Data) > 0 {
			n++
		}
	}
	return n, nil
}

func (r *rewindStore) Replay(ctx context.Context) (int, error) {
	n := 0
	for _, err := range r.s.ReadAll(ctx) {
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

func (r *rewindStore) Close() error { return r.s.Close() }

// settle waits until st is wholly open. A Rewind store closed cleanly opens
// before its embedded server is up (Open returns once the read index is
// open; Store.Started says when the rest is). The warm reads and the replay
// measure a store at work, as they did when Open returned only after the
// server, so they wait for it; the open and first-read rows, taken in new
// processes, measure the early return itself. The other stores are open
// when their open returns.
func settle(ctx context.Context, st eventStore) error {
	if r, ok := st.(*rewindStore); ok {
		return r.s.Started(ctx)
	}
	return nil
}

// dirBytes sums the regular files under dir.
func dirBytes(dir string) int64 {
	var total int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		if fi, err := d.Info(); err == nil {
			total += fi.Size()
		}
		return nil
	})
	return total
}

// diskBytes is what the store's data takes on disk, in all and by part.
func diskBytes(ctx context.Context, t target) (int64, map[string]int64, error) {
	switch t.Kind {
	case "rewind":
		parts := map[string]int64{"log": dirBytes(filepath.Join(t.Path, "log")), "index": dirBytes(filepath.Join(t.Path, "index"))}
		return dirBytes(t.Path), parts, nil
	case "sqlite":
		var total int64
		for _, suffix := range []string{"", "-wal", "-shm"} {
			if fi, err := os.Stat(t.Path + suffix); err == nil {
				total += fi.Size()
			}
		}
		return total, nil, nil
	case "postgres":
		return postgresBytes(ctx, t.DSN, t.Table)
	}
	return 0, nil, fmt.Errorf("unknown store kind %q", t.Kind)
}
