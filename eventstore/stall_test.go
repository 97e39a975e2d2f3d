package eventstore_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rewindhq/rewind/eventstore"
)

// Waits are bounded: against a server that stops answering (its process
// stopped with SIGSTOP, so its connections stay open and nothing tells the
// client it is gone), every call returns with an error, shortly after its
// ctx's deadline, or with context.Background() within the store's own
// bounds: 5 s for publishes and direct gets (publishTimeout,
// directGetTimeout), the jetstream package's 5 s default for its API
// requests, 10 s without progress for waits on the read index
// (indexStallTimeout).

// The bounds the test allows: a deadline's own length plus stallSlack, and
// stallNoDeadline for calls with context.Background(), generous for a
// loaded machine and still far from forever.
const (
	stallSlack      = 2 * time.Second
	stallNoDeadline = 15 * time.Second
	// Close may first wait for what it ends, then give the tailer's last
	// pass its 5 s: a little more room.
	stallCloseBound = 20 * time.Second
)

func init() { children["stall-server"] = stallServerChild }

// stallServerChild opens a store on $REWIND_TEST_DIR that listens on
// loopback, reports "url <client URL>" on stdout, and keeps it until stdin
// closes (or the process is killed).
func stallServerChild() int {
	s, err := eventstore.Open(context.Background(), os.Getenv(lockDirEnv), eventstore.WithListen("127.0.0.1", 0))
	if err != nil {
		fmt.Printf("failed %v\n", err)
		return 1
	}
	fmt.Printf("url %s\n", s.ClientURL())
	_, _ = io.Copy(io.Discard, os.Stdin)
	s.Close()
	return 0
}

// startStallServer runs stall-server and returns its process and URL. When
// the test ends, whatever happened, the child is continued, killed and
// waited for.
func startStallServer(t *testing.T) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=stall-server", lockDirEnv+"="+t.TempDir())
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(cmd.Process.Pid, syscall.SIGCONT)
		_ = cmd.Process.Kill()
		stdin.Close()
		_ = cmd.Wait()
	})
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case line := <-lines:
		url, ok := strings.CutPrefix(line, "url ")
		if !ok {
			t.Fatalf("stall-server: %q; stderr:\n%s", line, stderr.String())
		}
		return cmd, url
	case <-time.After(30 * time.Second):
		t.Fatalf("stall-server did not report its URL; stderr:\n%s", stderr.String())
	}
	return nil, ""
}

// stopProcess stops pid with SIGSTOP and waits until the kernel reports it
// stopped.
func stopProcess(t *testing.T, pid int) {
	t.Helper()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			t.Fatal(err)
		}
		// pid (comm) state ...: the state follows the last ")".
		if i := strings.LastIndexByte(string(stat), ')'); i >= 0 && strings.HasPrefix(string(stat[i+1:]), " T") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d not stopped: %s", pid, stat)
		}
		time.Sleep(time.Millisecond)
	}
}

// stallCall is one call made against the stopped server.
type stallCall struct {
	name  string
	delay time.Duration // started this long after the others
	bound time.Duration // measured from its own start
	ctxTO time.Duration // its ctx's deadline, 0 for context.Background()
	// wantDeadline: the error must match context.DeadlineExceeded (a
	// publish cut short by its ctx's deadline may report a timeout of
	// its own instead, which is as good).
	wantDeadline bool
	run          func(ctx context.Context) error
}

// TestStalledServerWaitsAreBounded connects to a server in a child process,
// appends, then stops the child with SIGSTOP. Appends (with and without a
// deadline, and one that waits for another append's lock on its stream),
// Read, Head, Tail, ReadAll, a producer's Append and Flush, and finally
// Close must all return with an error within their bounds instead of
// hanging.
func TestStalledServerWaitsAreBounded(t *testing.T) {
	cmd, url := startStallServer(t)
	setup, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := eventstore.Connect(setup, url, eventstore.WithIndexDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	var closeOnce sync.Once
	closeStore := func() (err error) {
		closeOnce.Do(func() { err = s.Close() })
		return err
	}
	t.Cleanup(func() { closeStore() })
	for _, stream := range []string{"stall/1", "stall/2", "stall/3"} {
		if _, err := s.Append(setup, stream, evs(3, 0)); err != nil {
			t.Fatal(err)
		}
	}
	p, err := s.Producer(setup, "stall/prod", "p1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Append(setup, evs(1, 0)...); err != nil {
		t.Fatal(err)
	}
	if err := p.Flush(setup); err != nil {
		t.Fatal(err)
	}
	if got := collect(t, s.Read(setup, "stall/3")); len(got) != 3 {
		t.Fatalf("read %d events before the stop, want 3", len(got))
	}

	stopProcess(t, cmd.Process.Pid)
	// Registered last, so it runs first if the test fails: a store closes
	// faster on a server that answers.
	t.Cleanup(func() { _ = syscall.Kill(cmd.Process.Pid, syscall.SIGCONT) })

	readErr := func(seq func(func(eventstore.Event, error) bool)) error {
		for _, err := range seq {
			if err != nil {
				return err
			}
		}
		return errors.New("the read ended without an error")
	}
	calls := []stallCall{
		{name: "Append(Background) to stall/1", bound: stallNoDeadline, run: func(ctx context.Context) error {
			_, err := s.Append(ctx, "stall/1", evs(1, 3))
			return err
		}},
		{
			// Waits for the first append's lock on stall/1, which that
			// one holds for its whole publish.
			name: "Append(300ms) to stall/1 behind the other append", delay: 300 * time.Millisecond,
			ctxTO: 300 * time.Millisecond, wantDeadline: true, run: func(ctx context.Context) error {
				_, err := s.Append(ctx, "stall/1", evs(1, 4))
				return err
			}},
		{name: "Append(300ms) to stall/2", ctxTO: 300 * time.Millisecond, run: func(ctx context.Context) error {
			_, err := s.Append(ctx, "stall/2", evs(1, 3))
			return err
		}},
		{name: "Read", bound: stallNoDeadline, run: func(ctx context.Context) error {
			return readErr(s.Read(ctx, "stall/3"))
		}},
		{name: "Read(1s)", ctxTO: time.Second, wantDeadline: true, run: func(ctx context.Context) error {
			return readErr(s.Read(ctx, "stall/3"))
		}},
		{name: "Head", bound: stallNoDeadline, run: func(ctx context.Context) error {
			_, err := s.Head(ctx, "stall/3")
			return err
		}},
		{name: "Tail", bound: stallNoDeadline, run: func(ctx context.Context) error {
			_, err := s.Tail(ctx)
			return err
		}},
		{name: "ReadAll", bound: stallNoDeadline, run: func(ctx context.Context) error {
			return readErr(s.ReadAll(ctx))
		}},
		{name: "ReadCategory", bound: stallNoDeadline, run: func(ctx context.Context) error {
			return readErr(s.ReadCategory(ctx, "stall"))
		}},
		{name: "Producer Append+Flush(1s)", ctxTO: time.Second, wantDeadline: true, run: func(ctx context.Context) error {
			if _, err := p.Append(ctx, evs(1, 1)...); err != nil {
				return err
			}
			return p.Flush(ctx)
		}},
	}
	type outcome struct {
		took time.Duration
		err  error
	}
	results := make([]chan outcome, len(calls))
	for i, c := range calls {
		results[i] = make(chan outcome, 1)
		go func() {
			time.Sleep(c.delay)
			ctx, cancel := context.Background(), context.CancelFunc(func() {})
			if c.ctxTO > 0 {
				ctx, cancel = context.WithTimeout(ctx, c.ctxTO)
			}
			defer cancel()
			start := time.Now()
			err := c.run(ctx)
			results[i] <- outcome{time.Since(start), err}
		}()
	}
	hung := false
	for i, c := range calls {
		bound := c.bound
		if c.ctxTO > 0 {
			bound = c.ctxTO + stallSlack
		}
		// Every call started within a second; none may take its bound
		// and more.
		select {
		case r := <-results[i]:
			t.Logf("%s: %v after %v", c.name, r.err, r.took.Round(time.Millisecond))
			switch {
			case r.err == nil:
				t.Errorf("%s: no error against a stopped server", c.name)
			case r.took > bound:
				t.Errorf("%s: returned after %v, bound %v: %v", c.name, r.took, bound, r.err)
			case c.wantDeadline && !errors.Is(r.err, context.DeadlineExceeded):
				t.Errorf("%s: %v, want its ctx's deadline", c.name, r.err)
			case !errors.Is(r.err, eventstore.ErrUnavailable):
				// It outlasted its ctx (or the store's 10 s) waiting for
				// the server: the package says ErrUnavailable.
				t.Errorf("%s: %v, want ErrUnavailable", c.name, r.err)
			}
		case <-time.After(bound + time.Second + c.delay):
			t.Errorf("%s: still waiting after %v (bound %v): hangs", c.name, bound+time.Second+c.delay, bound)
			hung = true
		}
	}
	if hung {
		t.Fatal("calls against the stopped server hang")
	}

	closed := make(chan error, 1)
	start := time.Now()
	go func() { closed <- closeStore() }()
	select {
	case err := <-closed:
		t.Logf("Close: %v after %v", err, time.Since(start).Round(time.Millisecond))
		if took := time.Since(start); took > stallCloseBound {
			t.Errorf("Close took %v, bound %v", took, stallCloseBound)
		}
	case <-time.After(stallCloseBound + time.Second):
		t.Fatalf("Close still waiting after %v: hangs", stallCloseBound+time.Second)
	}
	if _, err := p.Append(context.Background(), evs(1, 2)...); !errors.Is(err, eventstore.ErrClosed) {
		t.Errorf("producer Append after Close: %v, want ErrClosed", err)
	}
}
