package eventstore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rewindhq/rewind/eventstore"
)

// closedStore makes a store in dir holding what fill appends, and closes it
// cleanly.
func closedStore(t *testing.T, dir string, fill func(s *eventstore.Store)) {
	t.Helper()
	s, err := eventstore.Open(context.Background(), dir)
	if err != nil {
		t.Fatalf("open %s: %v", dir, err)
	}
	fill(s)
	if err := s.Close(); err != nil {
		t.Fatalf("close %s: %v", dir, err)
	}
}

// storeAndStaleCopy makes under root a cleanly closed store a (orders/1
// with 3 events, then 2 more and orders/9 with 1, each batch ended by a
// clean close) and stale, a copy of a taken between the two closes.
func storeAndStaleCopy(t *testing.T, root string) (a, stale string) {
	t.Helper()
	a = filepath.Join(root, "a")
	closedStore(t, a, func(s *eventstore.Store) { mustAppend(t, s, "orders/1", evs(3, 1)) })
	stale = filepath.Join(root, "stale")
	if err := os.CopyFS(stale, os.DirFS(a)); err != nil {
		t.Fatal(err)
	}
	closedStore(t, a, func(s *eventstore.Store) {
		mustAppend(t, s, "orders/1", evs(2, 4))
		mustAppend(t, s, "orders/9", evs(1, 1))
	})
	return a, stale
}

func mustAppend(t *testing.T, s *eventstore.Store, stream string, events []eventstore.Event) {
	t.Helper()
	if _, err := s.Append(context.Background(), stream, events); err != nil {
		t.Fatalf("append to %s: %v", stream, err)
	}
}

// TestOpenReadsBeforeServerStarts reopens a cleanly closed store whose
// server is held from starting: reads of streams are served at once and
// right, an append waits for the server within its ctx, and once the
// server is up appends and reads go on as usual.
func TestOpenReadsBeforeServerStarts(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	var want []eventstore.Event
	closedStore(t, dir, func(s *eventstore.Store) {
		mustAppend(t, s, "orders/1", evs(3, 1))
		mustAppend(t, s, "orders/2", evs(2, 1))
		want = collect(t, s.Read(ctx, "orders/1"))
	})
	// The mark stays until the start removes it, durably (a directory
	// sync), before anything can append: removed earlier without the sync,
	// a power cut could bring back a mark older than the log.
	mark := filepath.Join(dir, "index", "clean-close")
	if _, err := os.Stat(mark); err != nil {
		t.Fatalf("no clean-close mark after a clean close: %v", err)
	}
	hold := make(chan struct{})
	s, err := eventstore.Open(ctx, dir, eventstore.WithStartHold(hold))
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	released := false
	t.Cleanup(func() {
		if !released {
			close(hold)
		}
		s.Close()
	})
	sameEvents(t, "orders/1 before the server starts", collect(t, s.Read(ctx, "orders/1")), want)
	h, err := s.Head(ctx, "orders/2")
	if err != nil || h.Version != 2 {
		t.Fatalf("head of orders/2 before the server starts: %+v, %v; want version 2", h, err)
	}
	if _, err := os.Stat(mark); err != nil {
		t.Fatalf("the clean-close mark went before the server started: %v", err)
	}
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	_, err = s.Append(short, "orders/1", evs(1, 4), eventstore.ExpectVersion(3))
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("append while the server is held: %v, want it to wait for the server until its deadline", err)
	}
	short, cancel = context.WithTimeout(ctx, 50*time.Millisecond)
	err = s.Started(short)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Started while the server is held: %v, want the deadline", err)
	}

	close(hold)
	released = true
	if err := s.Started(ctx); err != nil {
		t.Fatalf("Started: %v", err)
	}
	if _, err := os.Stat(mark); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the clean-close mark after the start: %v, want it removed", err)
	}
	res, err := s.Append(ctx, "orders/1", evs(1, 4), eventstore.ExpectVersion(3))
	if err != nil || res.FirstVersion != 4 {
		t.Fatalf("append after the start: %+v, %v", res, err)
	}
	if got := collect(t, s.Read(ctx, "orders/1")); len(got) != 4 || got[3].Offset != res.Offsets[0] {
		t.Fatalf("orders/1 after the append: %s", describe(got))
	}
}

// TestOpenCleanIndexLogChanged reopens a cleanly closed index beside a log
// that is not the one it was closed with: a log that went on without it
// (the index catches up) and another store's log (the index is rebuilt).
// Once the store has started, reads hold exactly what the log holds.
func TestOpenCleanIndexLogChanged(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	a, stale := storeAndStaleCopy(t, root)
	other := filepath.Join(root, "other")
	closedStore(t, other, func(s *eventstore.Store) { mustAppend(t, s, "orders/1", evs(1, 100)) })

	for _, tc := range []struct {
		name, log string
		want      map[string]int
	}{
		{"log went on", a, map[string]int{"orders/1": 5, "orders/9": 1}},
		{"another log", other, map[string]int{"orders/1": 1, "orders/9": 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "store")
			if err := os.CopyFS(dir, os.DirFS(stale)); err != nil {
				t.Fatal(err)
			}
			if err := os.RemoveAll(filepath.Join(dir, "log")); err != nil {
				t.Fatal(err)
			}
			if err := os.CopyFS(filepath.Join(dir, "log"), os.DirFS(filepath.Join(tc.log, "log"))); err != nil {
				t.Fatal(err)
			}
			s, err := eventstore.Open(ctx, dir)
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			defer s.Close()
			if err := s.Started(ctx); err != nil {
				t.Fatalf("Started: %v", err)
			}
			for stream, n := range tc.want {
				got := collect(t, s.Read(ctx, stream))
				log := collect(t, eventstore.ReadLog(ctx, s))
				var inLog []eventstore.Event
				for _, e := range log {
					if e.Stream == stream {
						inLog = append(inLog, e)
					}
				}
				if len(got) != n {
					t.Fatalf("%s: %d events, want %d: %s", stream, len(got), n, describe(got))
				}
				sameEvents(t, stream+" against the log", got, inLog)
			}
		})
	}
}

// TestOpenServerStartFails reopens a cleanly closed store whose log cannot
// be opened: reads of the index are served, and every call that needs the
// server fails with ErrStart instead of hanging.
func TestOpenServerStartFails(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	var want []eventstore.Event
	closedStore(t, dir, func(s *eventstore.Store) {
		mustAppend(t, s, "orders/1", evs(2, 1))
		want = collect(t, s.Read(ctx, "orders/1"))
	})
	if err := os.RemoveAll(filepath.Join(dir, "log")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "log"), []byte("not a directory"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := eventstore.Open(ctx, dir)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer s.Close()
	sameEvents(t, "orders/1", collect(t, s.Read(ctx, "orders/1")), want)
	err = s.Started(ctx)
	var se *eventstore.StartError
	if !errors.Is(err, eventstore.ErrStart) || !errors.As(err, &se) || se.Dir != dir {
		t.Fatalf("Started: %v, want a *StartError for %s", err, dir)
	}
	if _, err := s.Append(ctx, "orders/1", evs(1, 3)); !errors.Is(err, eventstore.ErrStart) {
		t.Fatalf("append: %v, want ErrStart", err)
	}
	if _, err := s.Tail(ctx); !errors.Is(err, eventstore.ErrStart) {
		t.Fatalf("tail: %v, want ErrStart", err)
	}
}

// TestCleanCloseThenKill9 kills with kill -9 a store reopened from a clean
// close while it appends: the next open must serve every acknowledged
// event, never the index as the clean close left it.
func TestCleanCloseThenKill9(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	closedStore(t, dir, func(s *eventstore.Store) { mustAppend(t, s, "crash/1", evs(2, 1)) })
	acks := runCrashChild(t, dir, 11, crashKill{afterAcks: 30})
	checkAfterCrash(t, ctx, dir, acks)
	// Once more, the store closed cleanly by the check above.
	acks = append(acks, runCrashChild(t, dir, 12, crashKill{afterAcks: 5})...)
	checkAfterCrash(t, ctx, dir, acks)
}

// TestOpenStartWaitsForItsCue reopens a cleanly closed store and watches
// when its server starts behind Open: not at once (a Close before any cue
// leaves the store as it was: the clean-close mark is the same file and
// the next Open is as quick), after the first read (which runs without
// the start competing for the CPU), or after startDelay with no call at
// all. The mark is removed by the start, so its going says the server is
// starting.
func TestOpenStartWaitsForItsCue(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	closedStore(t, dir, func(s *eventstore.Store) { mustAppend(t, s, "orders/1", evs(2, 1)) })
	mark := filepath.Join(dir, "index", "clean-close")
	statMark := func() os.FileInfo {
		t.Helper()
		fi, err := os.Stat(mark)
		if err != nil {
			t.Fatalf("clean-close mark: %v", err)
		}
		return fi
	}
	waitMarkGone := func(what string) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			if _, err := os.Stat(mark); errors.Is(err, os.ErrNotExist) {
				return
			}
		}
		t.Fatalf("%s: the server did not start within 30 s (the clean-close mark is still there)", what)
	}

	t.Run("close before any cue", func(t *testing.T) {
		before := statMark()
		s, err := eventstore.Open(ctx, dir, eventstore.WithStartDelay(time.Hour))
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("close: %v", err)
		}
		// The start removes the mark and a Close after it writes another
		// (which may reuse the inode, not the modification time).
		if after := statMark(); !os.SameFile(before, after) || !after.ModTime().Equal(before.ModTime()) {
			t.Fatalf("the clean-close mark was replaced (%v, then %v): the server started although nothing asked for it",
				before.ModTime(), after.ModTime())
		}
	})
	t.Run("first read", func(t *testing.T) {
		s, err := eventstore.Open(ctx, dir, eventstore.WithStartDelay(time.Hour))
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		defer s.Close()
		statMark() // not started before the read
		if got := collect(t, s.Read(ctx, "orders/1")); len(got) != 2 {
			t.Fatalf("orders/1: %s", describe(got))
		}
		waitMarkGone("after the first read")
		if err := s.Started(ctx); err != nil {
			t.Fatalf("Started: %v", err)
		}
	})
	t.Run("no call", func(t *testing.T) {
		s, err := eventstore.Open(ctx, dir)
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		defer s.Close()
		waitMarkGone("with no call")
		if err := s.Started(ctx); err != nil {
			t.Fatalf("Started: %v", err)
		}
		if _, err := s.Append(ctx, "orders/1", evs(1, 3), eventstore.ExpectVersion(2)); err != nil {
			t.Fatalf("append after the start: %v", err)
		}
	})
}

// TestOpenCleanMarkLies reopens an index whose clean-close mark describes
// a later state of it than its files hold (the mark of the same store
// after more appends, put beside the earlier index): Open takes the mark's
// word, and once the server is up the index's own records disagree with
// the mark, so it is checked and brought to the log's end; every read then
// holds what the log holds.
func TestOpenCleanMarkLies(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	a, stale := storeAndStaleCopy(t, root)
	// stale's index beside a's log and a's mark (the same generation and
	// log, a later sequence).
	dir := filepath.Join(root, "store")
	if err := os.CopyFS(dir, os.DirFS(stale)); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(dir, "log")); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(filepath.Join(dir, "log"), os.DirFS(filepath.Join(a, "log"))); err != nil {
		t.Fatal(err)
	}
	mark, err := os.ReadFile(filepath.Join(a, "index", "clean-close"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "index", "clean-close"), mark, 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := eventstore.Open(ctx, dir)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer s.Close()
	if err := s.Started(ctx); err != nil {
		t.Fatalf("Started: %v", err)
	}
	for stream, n := range map[string]int{"orders/1": 5, "orders/9": 1} {
		got := collect(t, s.Read(ctx, stream))
		var inLog []eventstore.Event
		for _, e := range collect(t, eventstore.ReadLog(ctx, s)) {
			if e.Stream == stream {
				inLog = append(inLog, e)
			}
		}
		if len(got) != n {
			t.Fatalf("%s: %d events, want %d: %s", stream, len(got), n, describe(got))
		}
		sameEvents(t, stream+" against the log", got, inLog)
	}
}
