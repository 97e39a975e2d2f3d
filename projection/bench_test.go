package projection_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rewindhq/rewind/checkpoint"
	"github.com/rewindhq/rewind/eventstore"
	"github.com/rewindhq/rewind/projection"
)

// Benchmarks of projections, each beside its baselines in the same run:
//
//	go test ./projection -run '^$' -bench . -benchtime=1x -count=3 -timeout 60m
//
// The dataset (REWIND_BENCH_EVENTS events, default 1M, 200 B each, over
// 10,000 streams of the category "bench") is appended through
// Store.Append from 16 goroutines and cached under $TMPDIR, beside a
// SQLite event table holding the same events (the baseline a user would
// otherwise pick).

func projBenchSize(tb testing.TB) int {
	if v := os.Getenv("REWIND_BENCH_EVENTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 10_000 {
			tb.Fatalf("REWIND_BENCH_EVENTS=%q: want an integer of at least 10000", v)
		}
		return n
	}
	return 1_000_000
}

var projBench struct {
	once sync.Once
	dir  string
	err  error
}

func projDataset(b *testing.B) (dir string, n int) {
	b.Helper()
	n = projBenchSize(b)
	projBench.once.Do(func() { projBench.dir, projBench.err = buildProjDataset(n) })
	if projBench.err != nil {
		b.Fatal(projBench.err)
	}
	return projBench.dir, n
}

func benchPayload() []byte {
	return []byte(`{"kind":"bench","pad":"` + strings.Repeat("x", 174) + `"}`)
}

func buildProjDataset(n int) (string, error) {
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("rewind-proj-bench-%d-v1", n))
	if _, err := os.Stat(filepath.Join(dir, "READY")); err == nil {
		return dir, nil
	}
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	ctx := context.Background()
	s, err := eventstore.Open(ctx, filepath.Join(dir, "store"))
	if err != nil {
		return "", err
	}
	defer s.Close()
	data := benchPayload()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Go(func() {
			ev := []eventstore.Event{{Type: "Bench", Data: data}}
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				if _, err := s.Append(ctx, fmt.Sprintf("bench/%05d", i*7919%10_000), ev); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return "", err
	}
	// The same events in a SQLite event table, in log order.
	db, err := sql.Open("sqlite", filepath.Join(dir, "events.db")+"?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)")
	if err != nil {
		return "", err
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE events (seq INTEGER PRIMARY KEY, stream TEXT NOT NULL, version INTEGER NOT NULL,
		type TEXT NOT NULL, data BLOB NOT NULL, stored INTEGER NOT NULL)`); err != nil {
		return "", err
	}
	tx, err := db.Begin()
	if err != nil {
		return "", err
	}
	stmt, err := tx.Prepare(`INSERT INTO events (stream, version, type, data, stored) VALUES (?, ?, ?, ?, ?)`)
	if err != nil {
		return "", err
	}
	for e, err := range s.ReadAll(ctx) {
		if err != nil {
			return "", err
		}
		if _, err := stmt.Exec(e.Stream, e.Version, e.Type, e.Data, e.StoredAt.UnixNano()); err != nil {
			return "", err
		}
	}
	if err := tx.Commit(); err != nil {
		return "", err
	}
	return dir, os.WriteFile(filepath.Join(dir, "READY"), []byte("ok\n"), 0o644)
}

func rate(b *testing.B, events int) float64 {
	r := float64(events) / b.Elapsed().Seconds()
	b.ReportMetric(r, "events/s")
	b.ReportMetric(0, "ns/op")
	return r
}

func target(what string, got, want float64) {
	v := "met"
	if got < want {
		v = "MISSED"
	}
	fmt.Printf("--- TARGET %s = %.3g (target >= %.3g): %s\n", what, got, want, v)
}

// BenchmarkReplayMemory: replay every event into an in-memory projection
// (projection.Replay, a counting handler); sqlite-scan: an ordered scan of
// the same events from the SQLite event table (modernc, WAL), decoding
// each row; raw-ordered: a raw JetStream ordered consumer over the log.
// Target: rewind ≥ sqlite-scan.
func BenchmarkReplayMemory(b *testing.B) {
	dir, n := projDataset(b)
	ctx := context.Background()
	s, err := eventstore.Open(ctx, filepath.Join(dir, "store"), eventstore.WithListen("127.0.0.1", 0))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	// An index of an older format is rebuilt on open: wait for it, so
	// that what is measured is the replay, not that rebuild.
	if _, err := s.Head(ctx, "bench/wait-for-the-index"); err != nil {
		b.Fatal(err)
	}
	var ours, scan, raw float64
	b.Run("sqlite-scan", func(b *testing.B) {
		db, err := sql.Open("sqlite", filepath.Join(dir, "events.db")+"?_pragma=journal_mode(WAL)")
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		total := 0
		for range b.N {
			rows, err := db.QueryContext(ctx, `SELECT seq, stream, version, type, data, stored FROM events ORDER BY seq`)
			if err != nil {
				b.Fatal(err)
			}
			for rows.Next() {
				var seq, version, stored int64
				var stream, typ string
				var data []byte
				if err := rows.Scan(&seq, &stream, &version, &typ, &data, &stored); err != nil {
					b.Fatal(err)
				}
				total++
			}
			rows.Close()
		}
		scan = rate(b, total)
	})
	b.Run("raw-ordered", func(b *testing.B) {
		// Over loopback TCP (the dataset's store listens for it): the raw
		// consumer pays a socket the store's in-process reads do not.
		nc, err := nats.Connect(s.ClientURL())
		if err != nil {
			b.Fatal(err)
		}
		defer nc.Close()
		js, err := jetstream.New(nc)
		if err != nil {
			b.Fatal(err)
		}
		total := 0
		for range b.N {
			cons, err := js.OrderedConsumer(ctx, "rewind", jetstream.OrderedConsumerConfig{})
			if err != nil {
				b.Fatal(err)
			}
			it, err := cons.Messages(jetstream.PullMaxMessages(1024))
			if err != nil {
				b.Fatal(err)
			}
			for k := 0; k < n; k++ {
				m, err := it.Next()
				if err != nil {
					b.Fatal(err)
				}
				if _, err := m.Metadata(); err != nil {
					b.Fatal(err)
				}
			}
			it.Stop()
			total += n
		}
		raw = rate(b, total)
	})
	b.Run("rewind", func(b *testing.B) {
		total := 0
		for range b.N {
			var count atomic.Int64
			p := projection.Projection{Name: "replay", Source: projection.All(), BatchSize: 1024,
				Sink: projection.AtLeastOnce("replay", projection.HandlerFunc(func(ctx context.Context, bt projection.Batch) error {
					count.Add(int64(len(bt.Events)))
					return nil
				}), &checkpoint.Memory{})}
			if err := projection.Replay(ctx, s, p, nil); err != nil {
				b.Fatal(err)
			}
			if int(count.Load()) != n {
				b.Fatalf("replayed %d events, want %d", count.Load(), n)
			}
			total += n
		}
		ours = rate(b, total)
	})
	target("BenchmarkReplayMemory: rewind / sqlite-scan events/s", ours/scan, 1)
	fmt.Printf("--- NOTE   BenchmarkReplayMemory: rewind / raw ordered consumer (TCP) = %.2f\n", ours/raw)
}

// BenchmarkReplaySQLite: replay every event into a SQLite read model (a
// row per event) with transactional checkpoints (projection.ExactlyOnce,
// batches of 1,000); plain-inserts: the same rows inserted in transactions
// of 1,000, no projection (the ceiling). Target: rewind ≥ 100,000 events/s.
func BenchmarkReplaySQLite(b *testing.B) {
	dir, n := projDataset(b)
	ctx := context.Background()
	s, err := eventstore.Open(ctx, filepath.Join(dir, "store"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Head(ctx, "bench/wait-for-the-index"); err != nil { // see BenchmarkReplayMemory
		b.Fatal(err)
	}
	events := collectAll(b, s)
	openModel := func(b *testing.B) *sql.DB {
		db, err := sql.Open("sqlite", filepath.Join(b.TempDir(), "model.db")+"?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)")
		if err != nil {
			b.Fatal(err)
		}
		db.SetMaxOpenConns(1)
		if _, err := db.Exec(`CREATE TABLE model (offset TEXT PRIMARY KEY, stream TEXT NOT NULL, version INTEGER NOT NULL)`); err != nil {
			b.Fatal(err)
		}
		return db
	}
	var ours, plain float64
	b.Run("plain-inserts", func(b *testing.B) {
		total := 0
		for range b.N {
			b.StopTimer()
			db := openModel(b)
			b.StartTimer()
			for i := 0; i < len(events); i += 1000 {
				tx, err := db.BeginTx(ctx, nil)
				if err != nil {
					b.Fatal(err)
				}
				stmt, _ := tx.PrepareContext(ctx, `INSERT INTO model (offset, stream, version) VALUES (?, ?, ?)`)
				for _, e := range events[i:min(i+1000, len(events))] {
					if _, err := stmt.ExecContext(ctx, string(e.Offset), e.Stream, e.Version); err != nil {
						b.Fatal(err)
					}
				}
				stmt.Close()
				if err := tx.Commit(); err != nil {
					b.Fatal(err)
				}
			}
			db.Close()
			total += len(events)
		}
		plain = rate(b, total)
	})
	b.Run("rewind", func(b *testing.B) {
		total := 0
		for range b.N {
			b.StopTimer()
			db := openModel(b)
			cps, err := checkpoint.NewSQL(ctx, db)
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			sink := projection.ExactlyOnce("model", db, cps, projection.TxHandlerFunc(func(ctx context.Context, tx *sql.Tx, bt projection.Batch) error {
				stmt, err := tx.PrepareContext(ctx, `INSERT INTO model (offset, stream, version) VALUES (?, ?, ?)`)
				if err != nil {
					return err
				}
				defer stmt.Close()
				for _, e := range bt.Events {
					if _, err := stmt.ExecContext(ctx, string(e.Offset), e.Stream, e.Version); err != nil {
						return err
					}
				}
				return nil
			}))
			if err := projection.Replay(ctx, s, projection.Projection{Name: "model", Source: projection.All(), BatchSize: 1000, Sink: sink}, nil); err != nil {
				b.Fatal(err)
			}
			db.Close()
			total += n
		}
		ours = rate(b, total)
	})
	target("BenchmarkReplaySQLite: rewind events/s", ours, 100_000)
	fmt.Printf("--- NOTE   BenchmarkReplaySQLite: rewind / plain inserts = %.2f\n", ours/plain)
}

func collectAll(b *testing.B, s *eventstore.Store) []eventstore.Event {
	var out []eventstore.Event
	for e, err := range s.ReadAll(context.Background()) {
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

// BenchmarkLive10: ten projections live on one category, one writer
// appending 2,000 one-event commits at about 1,000 a second; the latency of
// each event from its acknowledged Append to each projection's handler.
// Target: p99 ≤ 5 ms.
func BenchmarkLive10(b *testing.B) {
	ctx := context.Background()
	s, err := eventstore.Open(ctx, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var mu sync.Mutex
	acked := map[eventstore.Offset]time.Time{}
	var lat []time.Duration
	r := projection.NewRunner(s, nil)
	defer r.Close()
	for i := range 10 {
		name := fmt.Sprint("live-", i)
		err := r.Start(ctx, projection.Projection{Name: name, Source: projection.Category("live"),
			Sink: projection.AtLeastOnce(name, projection.HandlerFunc(func(ctx context.Context, bt projection.Batch) error {
				now := time.Now()
				mu.Lock()
				for _, e := range bt.Events {
					if at, ok := acked[e.Offset]; ok {
						lat = append(lat, now.Sub(at))
					}
				}
				mu.Unlock()
				return nil
			}), &checkpoint.Memory{})})
		if err != nil {
			b.Fatal(err)
		}
		if err := r.WaitCaughtUp(ctx, name); err != nil {
			b.Fatal(err)
		}
	}
	const events = 2000
	b.ResetTimer()
	for range b.N {
		for i := range events {
			res, err := s.Append(ctx, fmt.Sprint("live/", rand.IntN(100)), []eventstore.Event{{Type: "Live"}})
			if err != nil {
				b.Fatal(err)
			}
			mu.Lock()
			acked[res.Offset()] = time.Now()
			mu.Unlock()
			_ = i
			time.Sleep(time.Millisecond)
		}
	}
	for i := range 10 {
		if err := r.WaitCaughtUp(ctx, fmt.Sprint("live-", i)); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	mu.Lock()
	sorted := slices.Clone(lat)
	mu.Unlock()
	slices.Sort(sorted)
	p99 := sorted[len(sorted)*99/100]
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(sorted[len(sorted)/2].Microseconds()), "p50-us")
	b.ReportMetric(float64(p99.Microseconds()), "p99-us")
	v := "met"
	if p99 > 5*time.Millisecond {
		v = "MISSED"
	}
	fmt.Printf("--- TARGET BenchmarkLive10: append to handler p99 with 10 projections = %v (target <= 5ms): %s\n", p99, v)
}
