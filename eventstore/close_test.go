package eventstore_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rewindhq/rewind/eventstore"
)

// Close is clean: it releases the directory only once the embedded server
// has stopped and no read holds the index, it ends a Reindex and every
// producer the store started, leaves no goroutine behind and returns the
// same result each time it is called.

// closeBound is how long a Close, or what Close ends, may take in these
// tests: far more than it does, far less than forever.
const closeBound = 20 * time.Second

// waitClosedStarted polls until s refuses calls with ErrClosed, which it
// does from the moment Close begins.
func waitClosedStarted(t *testing.T, s *eventstore.Store) {
	t.Helper()
	deadline := time.Now().Add(closeBound)
	for {
		_, err := s.Tail(context.Background())
		if errors.Is(err, eventstore.ErrClosed) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the store did not start closing within %v (Tail: %v)", closeBound, err)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// storeGoroutines returns the stacks of the goroutines, other than the
// caller's, that run the store's code or the NATS and pebble code it
// starts, by goroutine id. Frames of the tests themselves (a parent test
// waiting in t.Run, a helper goroutine) do not count.
func storeGoroutines() map[string]string {
	out := map[string]string{}
	for _, g := range suspectGoroutines() {
		var kept []string
		for _, l := range strings.Split(g, "\n") {
			if !strings.Contains(l, "eventstore_test.") {
				kept = append(kept, l)
			}
		}
		rest := strings.Join(kept, "\n")
		for _, p := range suspectPackages {
			if strings.Contains(rest, p) {
				id, _, _ := strings.Cut(strings.TrimPrefix(g, "goroutine "), " ")
				out[id] = g
				break
			}
		}
	}
	return out
}

// storeGoroutinesBaseline waits a moment for what earlier tests left to
// end, and returns the ids of what is still running, which later checks of
// this test ignore (TestMain reports it, once, at the end).
func storeGoroutinesBaseline() map[string]string {
	deadline := time.Now().Add(leakWait)
	for {
		g := storeGoroutines()
		if len(g) == 0 || time.Now().After(deadline) {
			return g
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkNoStoreGoroutines fails if goroutines of the store, other than those
// in baseline, are still running after leakWait.
func checkNoStoreGoroutines(t *testing.T, baseline map[string]string, what string) {
	t.Helper()
	deadline := time.Now().Add(leakWait)
	for {
		var left []string
		for id, g := range storeGoroutines() {
			if _, ok := baseline[id]; !ok {
				left = append(left, g)
			}
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("%s: %d goroutines of the store still running after %v:\n\n%s",
				what, len(left), leakWait, strings.Join(left, "\n\n"))
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// listening reports whether something accepts TCP connections on addr.
func listening(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 500*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// padServer creates n small JetStream streams (outside the store's log) on
// the server at url.
func padServer(t *testing.T, url string, n int) {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := range n {
		subj := fmt.Sprintf("pad.%d", i)
		if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: fmt.Sprintf("pad%d", i), Subjects: []string{subj}}); err != nil {
			t.Fatal(err)
		}
		if _, err := js.Publish(ctx, subj, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
}

// lockHeld reports whether the store directory's lock is held, by trying
// to take it (the flock on dir/LOCK, see lock.go) and letting it go at
// once. It is how a test sees the very moment a closing store releases its
// directory, which an Open, taking much longer, would blur.
func lockHeld(t *testing.T, dir string) bool {
	f, err := os.OpenFile(filepath.Join(dir, "LOCK"), os.O_RDWR, 0)
	if err != nil {
		t.Errorf("open the lock file: %v", err)
		return false
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			t.Errorf("flock: %v", err)
		}
		return true
	}
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return false
}

// openProbe is what probeOpen found when a closing store let its directory
// go.
type openProbe struct {
	store     *eventstore.Store
	err       error // of the Open that followed
	serverUp  bool  // the closing store's server still accepted connections
	readEnded bool  // the read holding the index had ended
}

// probeOpen watches dir until the closing store lets it go: every
// millisecond it checks the lock and tries eventstore.Open, which must fail
// with ErrLocked. The moment the lock is free it checks whether the closing
// store's server still listens on serverAddr and whether the read has
// ended, then opens the directory for good and sends what it found. It
// gives up when stop is closed.
func probeOpen(t *testing.T, dir, serverAddr string, readDone, stop <-chan struct{}) <-chan openProbe {
	ch := make(chan openProbe, 1)
	go func() {
		defer close(ch)
		for {
			select {
			case <-stop:
				return
			default:
			}
			var p openProbe
			if lockHeld(t, dir) {
				s, err := eventstore.Open(context.Background(), dir)
				if errors.Is(err, eventstore.ErrLocked) {
					time.Sleep(time.Millisecond)
					continue
				}
				// Released between the two: the server check comes late.
				p.store, p.err = s, err
			}
			p.serverUp = listening(serverAddr)
			select {
			case <-readDone:
				p.readEnded = true
			default:
			}
			if p.store == nil && p.err == nil {
				p.store, p.err = eventstore.Open(context.Background(), dir)
			}
			ch <- p
			return
		}
	}()
	return ch
}

// TestCloseUnlocksAfterServerAndReads closes a store while a read of a
// large stream is stopped inside its loop body, and meanwhile tries to
// Open the directory again and again. Every Open must fail with ErrLocked
// until the closing store's server has stopped (its listener no longer
// accepts connections) and the read has ended; then one succeeds and finds
// every event.
//
// Two orders: the read ends while Close is shutting the server down (the
// read's release of the index must not let the directory go with the
// server still running), and the read ends well after Close returned (the
// directory stays locked until then).
func TestCloseUnlocksAfterServerAndReads(t *testing.T) {
	for round := range 2 {
		closeUnderRead(t, fmt.Sprintf("round %d, read released during Close", round), false)
		if t.Failed() {
			return
		}
	}
	closeUnderRead(t, "read released after Close", true)
}

func closeUnderRead(t *testing.T, what string, releaseAfterClose bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	s, err := eventstore.Open(ctx, dir, eventstore.WithListen("127.0.0.1", 0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	addr := strings.TrimPrefix(s.ClientURL(), "nats://")
	const stream, commits, perCommit = "close/big", 40, 50
	for i := range commits {
		if _, err := s.Append(ctx, stream, evs(perCommit, i*perCommit)); err != nil {
			t.Fatal(err)
		}
	}

	// More JetStream streams on the server make its shutdown take a while
	// (it stops each stream's store in turn), longer than the read's
	// closing of the index: the window in which a directory released by
	// the read would still have a server running on it.
	padServer(t, s.ClientURL(), 60)

	inLoop, release, readDone := make(chan struct{}), make(chan struct{}), make(chan struct{})
	var readN int
	var readErr error
	go func() {
		defer close(readDone)
		for _, err := range s.Read(ctx, stream) {
			if err != nil {
				readErr = err
				return
			}
			if readN++; readN == 10 {
				close(inLoop)
				<-release
			}
		}
	}()
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
		<-readDone
	}()
	select {
	case <-inLoop:
	case <-readDone:
		t.Fatalf("%s: the read ended after %d events: %v", what, readN, readErr)
	}

	stopProbe := make(chan struct{})
	probes := probeOpen(t, dir, addr, readDone, stopProbe)
	defer func() {
		close(stopProbe)
		for p := range probes { // the probe has ended
			if p.store != nil {
				p.store.Close()
			}
		}
	}()
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	waitClosedStarted(t, s)

	var closeErr error
	if releaseAfterClose {
		select {
		case closeErr = <-closed:
		case <-time.After(closeBound):
			t.Fatalf("%s: Close did not return within %v", what, closeBound)
		}
		if listening(addr) {
			t.Errorf("%s: Close returned with the server still accepting connections on %s", what, addr)
		}
		// The read still holds the index: the directory stays locked.
		select {
		case p := <-probes:
			if p.store != nil {
				p.store.Close()
			}
			t.Fatalf("%s: the directory was released while a read still held the index (then Open: %v)", what, p.err)
		case <-time.After(300 * time.Millisecond):
		}
		close(release)
	} else {
		close(release)
	}

	var p openProbe
	select {
	case p = <-probes:
	case <-time.After(closeBound):
		if lockHeld(t, dir) {
			t.Fatalf("%s: the directory was still locked %v after the read ended", what, closeBound)
		}
		t.Fatalf("%s: the directory could not be opened again within %v", what, closeBound)
	}
	if p.store != nil {
		t.Cleanup(func() { p.store.Close() })
	}
	if p.serverUp {
		t.Errorf("%s: the directory was released while the closing store's server still accepted connections (then Open: %v)", what, p.err)
	}
	if releaseAfterClose && !p.readEnded {
		// The read's release comes just before its last pair: give it a
		// moment.
		select {
		case <-readDone:
		case <-time.After(time.Second):
			t.Errorf("%s: the directory was released while a read held the index", what)
		}
	}
	if !releaseAfterClose {
		select {
		case closeErr = <-closed:
		case <-time.After(closeBound):
			t.Fatalf("%s: Close did not return within %v", what, closeBound)
		}
	}
	if closeErr != nil {
		t.Errorf("%s: Close: %v", what, closeErr)
	}
	select {
	case <-readDone:
	case <-time.After(closeBound):
		t.Fatalf("%s: the read did not end", what)
	}
	if readN != 10 || !errors.Is(readErr, eventstore.ErrClosed) {
		t.Errorf("%s: the read delivered %d events, then %v; want 10, then ErrClosed", what, readN, readErr)
	}
	if p.err != nil {
		t.Fatalf("%s: Open after Close: %v", what, p.err)
	}
	got := collect(t, p.store.Read(ctx, stream))
	if len(got) != commits*perCommit {
		t.Fatalf("%s: reopened: %d events, want %d", what, len(got), commits*perCommit)
	}
	for i, e := range got {
		if want := fmt.Sprintf(`{"n":%d}`, i); string(e.Data) != want || e.Version != uint64(i+1) {
			t.Fatalf("%s: reopened: event %d is version %d %s, want version %d %s", what, i, e.Version, e.Data, i+1, want)
		}
	}
}

// TestCloseEndsReindex closes a store while a Reindex started with
// context.Background() is rebuilding: Reindex ends with ErrClosed, Close
// returns nil, no goroutine of the store is left, and the index directory
// holds what it held before (no half-built generation).
func TestCloseEndsReindex(t *testing.T) {
	baseline := storeGoroutinesBaseline()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	s, err := eventstore.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 100 {
				if _, err := s.Append(ctx, fmt.Sprintf("reindex/%d", g), evs(3, 3*i)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	before := indexGens(t, dir)

	// The rebuild stops in its first progress report with work left to
	// do, until Close has begun.
	inProgress, proceed := make(chan struct{}), make(chan struct{})
	var once sync.Once
	progress := func(applied, total uint64) {
		if applied < total {
			once.Do(func() {
				close(inProgress)
				<-proceed
			})
		}
	}
	reindexed := make(chan error, 1)
	go func() { reindexed <- s.Reindex(context.Background(), progress) }()
	select {
	case <-inProgress:
	case err := <-reindexed:
		t.Fatalf("Reindex ended before Close (%v) without reporting work left", err)
	case <-time.After(closeBound):
		t.Fatal("Reindex made no progress report")
	}
	if got := indexGens(t, dir); len(got) != len(before)+1 {
		t.Logf("index directory during Reindex: %v (before: %v)", got, before)
	}
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	waitClosedStarted(t, s)
	time.Sleep(50 * time.Millisecond) // Close is under way, past ending the store's context
	close(proceed)

	start := time.Now()
	select {
	case err := <-reindexed:
		if !errors.Is(err, eventstore.ErrClosed) {
			t.Errorf("Reindex during Close: %v, want ErrClosed", err)
		}
	case <-time.After(closeBound):
		t.Fatalf("Reindex with context.Background() did not end within %v of Close", closeBound)
	}
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(closeBound - time.Since(start)):
		t.Fatalf("Close did not return within %v", closeBound)
	}
	checkNoStoreGoroutines(t, baseline, "after Close ended a Reindex")
	if after := indexGens(t, dir); !slices.Equal(after, before) {
		t.Errorf("index directory after Close: %v, want %v as before the Reindex", after, before)
	}

	// The store opens again on the index it had, with everything in it.
	s2, err := eventstore.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	for g := range 4 {
		if got := collect(t, s2.Read(ctx, fmt.Sprintf("reindex/%d", g))); len(got) != 300 {
			t.Errorf("reindex/%d after reopening: %d events, want 300", g, len(got))
		}
	}
}

// TestCloseEndsIdleProducers closes a store with two idle producers, one
// that never appended and one whose appends were flushed: their senders end
// with the store, without any call on them; then Append fails with
// ErrClosed and Flush and Close return at once.
func TestCloseEndsIdleProducers(t *testing.T) {
	baseline := storeGoroutinesBaseline()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, _ := openStore(t)
	idle, err := s.Producer(ctx, "close/prod/1", "idle")
	if err != nil {
		t.Fatal(err)
	}
	flushed, err := s.Producer(ctx, "close/prod/2", "flushed")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := flushed.Append(ctx, evs(1, i)...); err != nil {
			t.Fatal(err)
		}
	}
	if err := flushed.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	checkNoStoreGoroutines(t, baseline, "after Close with idle producers")

	for name, p := range map[string]*eventstore.Producer{"never appended": idle, "flushed": flushed} {
		if _, err := p.Append(ctx, evs(1, 100)...); !errors.Is(err, eventstore.ErrClosed) {
			t.Errorf("producer %s: Append after the store closed: %v, want ErrClosed", name, err)
		}
		fctx, fcancel := context.WithTimeout(ctx, 2*time.Second)
		start := time.Now()
		err := p.Flush(fctx)
		if d := time.Since(start); errors.Is(err, context.DeadlineExceeded) || d > time.Second {
			t.Errorf("producer %s: Flush after the store closed took %v: %v", name, d, err)
		}
		start = time.Now()
		err = p.Close(fctx)
		if d := time.Since(start); errors.Is(err, context.DeadlineExceeded) || d > time.Second {
			t.Errorf("producer %s: Close after the store closed took %v: %v", name, d, err)
		}
		fcancel()
	}
	checkNoStoreGoroutines(t, baseline, "after the producers' calls")
}

// TestCloseResult checks that a clean Close returns nil, and a second Close
// the same, for an embedded store, one that fsyncs every append (which
// has a goroutine of its own to stop) and a Connect store.
func TestCloseResult(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, url := connServer(t)
	open := map[string]func() (*eventstore.Store, error){
		"Open": func() (*eventstore.Store, error) { return eventstore.Open(ctx, t.TempDir()) },
		"Open SyncAlways": func() (*eventstore.Store, error) {
			return eventstore.Open(ctx, t.TempDir(), eventstore.SyncAlways())
		},
		"Connect": func() (*eventstore.Store, error) {
			return eventstore.Connect(ctx, url, eventstore.WithIndexDir(t.TempDir()))
		},
	}
	for name, open := range open {
		s, err := open()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := s.Append(ctx, "close/result", evs(2, 0)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := collect(t, s.Read(ctx, "close/result")); len(got) < 2 {
			t.Fatalf("%s: read %d events", name, len(got))
		}
		if err := s.Close(); err != nil {
			t.Errorf("%s: Close: %v, want nil", name, err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("%s: second Close: %v, want nil", name, err)
		}
	}
}
