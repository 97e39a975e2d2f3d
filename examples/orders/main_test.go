package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe to write from run's goroutine and read
// from the test's.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRun starts the example as main does, on a free port with a small
// seed, checks what it prints and serves, and stops it as SIGTERM would.
func TestRun(t *testing.T) {
	data := t.TempDir()
	out := runUntilReady(t, data)
	for _, want := range []string{
		`orders: first start: seeding \S+ with 40 orders over 3 days`,
		`seeded 40 orders, 30 users, 8 workspaces: \d+ events from `,
		`Open http://127\.0\.0\.1:\d+/`,
		`"go install ./cmd/rewind"`,
		`\n  rewind --server http://127\.0\.0\.1:\d+ state orders/ord-\d{5} --at "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d`,
		`\n  rewind --server http://127\.0\.0\.1:\d+ timeline orders/ord-\d{5}`,
		`\n  rewind --server http://127\.0\.0\.1:\d+ diff orders/ord-\d{5} --from "[^"]+" --to \d+`,
		`orders: draining`,
	} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// Not through go run, which loses the CLI's exit codes (the README
	// says to install it).
	if strings.Contains(out, "go run ./cmd/rewind") {
		t.Errorf("the banner suggests go run ./cmd/rewind:\n%s", out)
	}
	// A second start opens the same data without seeding.
	if out := runUntilReady(t, data); strings.Contains(out, "seed") || !strings.Contains(out, "orders: opening "+data+"\n") {
		t.Errorf("second start: want it to open the data without seeding:\n%s", out)
	}
}

// example is the example running in the test's process, as main runs it.
type example struct {
	url            string // "http://127.0.0.1:port/"
	stdout, stderr *syncBuffer
	cancel         context.CancelFunc // what SIGTERM does
	done           chan int           // run's exit code
}

// startExample runs the example on data with a small seed, on a free
// port, and returns once it prints that it serves.
func startExample(t *testing.T, data string) *example {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	e := &example{stdout: &syncBuffer{}, stderr: &syncBuffer{}, cancel: cancel, done: make(chan int, 1)}
	t.Cleanup(func() {
		cancel()
		<-e.done
	})
	go func() {
		code := run(ctx, []string{"--addr", "127.0.0.1:0", "--data", data, "--seed-orders", "40", "--seed-days", "3"}, e.stdout, e.stderr)
		e.done <- code
		close(e.done)
	}()
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(e.stdout.String(), "Ctrl-C") {
		select {
		case code := <-e.done:
			t.Fatalf("run ended early with %d:\n%s\n%s", code, e.stdout.String(), e.stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready after a minute:\n%s", e.stdout.String())
		}
	}
	e.url = regexp.MustCompile(`Open (http://\S+)`).FindStringSubmatch(e.stdout.String())[1]
	return e
}

// stop cancels run, as SIGTERM would, and returns its exit code and how
// long it took to end.
func (e *example) stop() (int, time.Duration) {
	start := time.Now()
	e.cancel()
	return <-e.done, time.Since(start)
}

// runUntilReady runs the example on data, requests its page once it prints
// its URL, cancels it and returns what it printed.
func runUntilReady(t *testing.T, data string) string {
	t.Helper()
	e := startExample(t, data)
	resp, err := http.Get(e.url + "v1/projections")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "order_summary") {
		t.Errorf("GET /v1/projections: %d %s", resp.StatusCode, body)
	}
	if code, _ := e.stop(); code != 0 {
		t.Errorf("exit code %d after cancel:\n%s", code, e.stderr.String())
	}
	return e.stdout.String()
}

// Stopping the example while a client follows the log (rewind read
// --follow waits on GET /v1/events?wait=) ends the follower's wait at
// once, with an answer it can poll again from, not a 500 after the
// drain's ten seconds, and exits 0.
func TestRunStopsWithAFollower(t *testing.T) {
	e := startExample(t, t.TempDir())
	type answer struct {
		code int
		body string
		err  error
	}
	answers := make(chan answer, 1)
	go func() {
		resp, err := http.Get(e.url + "v1/events?category=orders&from=now&wait=60s")
		if err != nil {
			answers <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		answers <- answer{code: resp.StatusCode, body: string(b), err: err}
	}()
	time.Sleep(time.Second) // the follower is parked
	code, took := e.stop()
	if code != 0 || took > 5*time.Second {
		t.Errorf("run ended with %d after %v, want 0 within 5 s:\n%s", code, took, e.stderr.String())
	}
	a := <-answers
	if a.err != nil || a.code != 200 || !strings.Contains(a.body, `"events":[]`) || !strings.Contains(a.body, `"next":"0`) {
		t.Errorf("the follower got %d %q %v, want 200, no events and the offset to go on from", a.code, a.body, a.err)
	}
	if strings.Contains(e.stderr.String(), "ERROR") {
		t.Errorf("the drain logged an error:\n%s", e.stderr.String())
	}
}

func TestRunBadUsage(t *testing.T) {
	for _, args := range [][]string{{"--nope"}, {"extra"}, {"--seed-orders", "0"}} {
		var out, errs bytes.Buffer
		if code := run(context.Background(), args, &out, &errs); code != 2 {
			t.Errorf("run %v = %d, want 2 (%s)", args, code, errs.String())
		}
	}
}

// A start that cannot go on says so once, on one line with one "orders:",
// and makes nothing on disk first: an address beyond loopback without
// authentication, and a data directory held by another start.
func TestRunRefusals(t *testing.T) {
	data := filepath.Join(t.TempDir(), "never-made")
	var out, errs bytes.Buffer
	code := run(context.Background(), []string{"--addr", "0.0.0.0:0", "--data", data}, &out, &errs)
	if code != 1 || strings.Count(errs.String(), "orders:") != 1 || !strings.Contains(errs.String(), "loopback") {
		t.Errorf("beyond loopback without auth: %d %q, want 1 and one line naming loopback", code, errs.String())
	}
	if _, err := os.Stat(data); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the refused start made %s (%v)", data, err)
	}
	held := t.TempDir()
	startExample(t, held)
	errs.Reset()
	code = run(context.Background(), []string{"--addr", "127.0.0.1:0", "--data", held}, &out, &errs)
	if code != 1 || strings.Count(errs.String(), "orders:") != 1 || !strings.Contains(errs.String(), "in use by another store") {
		t.Errorf("a held data directory: %d %q, want 1 and one line saying it is in use", code, errs.String())
	}
}
