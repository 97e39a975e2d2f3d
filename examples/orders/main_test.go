package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
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
		`seeded 40 orders, 30 users, 8 workspaces: \d+ events from `,
		`Open http://127\.0\.0\.1:\d+/`,
		`go run ./cmd/rewind --server http://127\.0\.0\.1:\d+ state orders/ord-\d{5} --at "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d`,
		`go run ./cmd/rewind --server http://127\.0\.0\.1:\d+ timeline orders/ord-\d{5}`,
		`go run ./cmd/rewind --server http://127\.0\.0\.1:\d+ diff orders/ord-\d{5} --from "[^"]+" --to \d+`,
		`orders: draining`,
	} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// A second start opens the same data without seeding.
	if out := runUntilReady(t, data); strings.Contains(out, "seeded") {
		t.Errorf("second start seeded again:\n%s", out)
	}
}

// runUntilReady runs the example on data, requests its page once it prints
// its URL, cancels it and returns what it printed.
func runUntilReady(t *testing.T, data string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"--addr", "127.0.0.1:0", "--data", data, "--seed-orders", "40", "--seed-days", "3"}, &stdout, &stderr)
	}()
	url := regexp.MustCompile(`Open (http://\S+)`)
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(stdout.String(), "Ctrl-C") {
		select {
		case code := <-done:
			t.Fatalf("run ended early with %d:\n%s\n%s", code, stdout.String(), stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready after a minute:\n%s", stdout.String())
		}
	}
	resp, err := http.Get(url.FindStringSubmatch(stdout.String())[1] + "v1/projections")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "order_summary") {
		t.Errorf("GET /v1/projections: %d %s", resp.StatusCode, body)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("exit code %d after cancel:\n%s", code, stderr.String())
	}
	return stdout.String()
}

func TestRunBadUsage(t *testing.T) {
	for _, args := range [][]string{{"--nope"}, {"extra"}, {"--seed-orders", "0"}} {
		var out, errs bytes.Buffer
		if code := run(context.Background(), args, &out, &errs); code != 2 {
			t.Errorf("run %v = %d, want 2 (%s)", args, code, errs.String())
		}
	}
}
