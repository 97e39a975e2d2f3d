package eventstore_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/rewindhq/rewind/eventstore"
)

// The crash test runs idempotent producers in a child process (the test
// binary run again, see main_test.go), kills it with SIGKILL at random
// moments, and resumes every producer in a new child at the sequence
// number after its last acknowledged one, which resends whatever was in
// flight with the numbers it had. In the end every producer's appends must
// be stored exactly once each, in order, with no hole: everything
// acknowledged, and perhaps a tail that was stored but not acknowledged.

func init() {
	children["producer-crash"] = producerCrashChild
	children["producer-fence"] = producerFenceChild
}

// Parameters of the children, in their environment.
const (
	envProdDir    = "REWIND_PRODUCER_DIR"    // store directory (crash) or index directory (fence)
	envProdResume = "REWIND_PRODUCER_RESUME" // "p0=12,p1=0,...": first seq of each producer
	envProdURL    = "REWIND_PRODUCER_URL"    // NATS URL of the parent's store (fence)
	envProdCount  = "REWIND_PRODUCER_COUNT"  // appends to make (fence)
	envProdBatch  = "REWIND_PRODUCER_BATCH"  // WithMaxBatch of the producers (crash)
)

// crashProducers are the producers of the crash test and their streams.
var crashProducers = []struct{ id, stream string }{
	{"p0", "crash/a"}, {"p1", "crash/a"}, {"p2", "crash/b"}, {"p3", "crash/b"},
}

// crashUnit returns the events of producer id's append seq: one to three
// events, each identifying (id, seq, index, count), with a deterministic
// event ID, so that a resent append is exactly the one first sent.
func crashUnit(id string, seq uint64) []eventstore.Event {
	n := 1 + int(seq%3)
	out := make([]eventstore.Event, n)
	for i := range out {
		name := fmt.Sprintf("%s %d %d %d", id, seq, i, n)
		out[i] = eventstore.Event{ID: uuid.NewSHA1(uuid.NameSpaceOID, []byte(name)), Type: "Crash", Data: []byte(name)}
	}
	return out
}

// crashEvents returns how many events producer appends 0..last hold.
func crashEvents(last int64) int {
	n := 0
	for seq := int64(0); seq <= last; seq++ {
		n += 1 + int(seq%3)
	}
	return n
}

// producerCrashChild opens the store and appends from every producer as
// fast as it can, printing "ACK <id> <lastSeq> <duplicate>" for each
// acknowledged commit, until it is killed. It exits on its own only on an error, or
// when its stdin closes (the parent died).
func producerCrashChild() int {
	ctx := context.Background()
	resume, err := parseResume(os.Getenv(envProdResume))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	batch, err := strconv.Atoi(os.Getenv(envProdBatch))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	go exitOnStdinEOF()
	s, err := eventstore.Open(ctx, os.Getenv(envProdDir))
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		return 3
	}
	var out sync.Mutex // one write per line; os.Stdout is unbuffered
	var producers []*eventstore.Producer
	for _, cp := range crashProducers {
		p, err := s.Producer(context.Background(), cp.stream, cp.id, eventstore.WithResume(0, resume[cp.id]),
			eventstore.WithMaxInFlight(4*batch), eventstore.WithMaxBatch(batch),
			eventstore.WithOnAck(func(a eventstore.ProducerAck) {
				out.Lock()
				fmt.Fprintf(os.Stdout, "ACK %s %d %v\n", cp.id, a.LastSeq, a.Duplicate)
				out.Unlock()
			}))
		if err != nil {
			fmt.Fprintln(os.Stderr, "producer:", err)
			return 3
		}
		producers = append(producers, p)
	}
	fmt.Fprintln(os.Stdout, "READY")
	errs := make(chan error, len(producers))
	for i, p := range producers {
		id := crashProducers[i].id
		go func() {
			for seq := resume[id]; ; seq++ {
				got, err := p.Append(ctx, crashUnit(id, seq)...)
				if err == nil && got != seq {
					err = fmt.Errorf("append got seq %d, want %d", got, seq)
				}
				if err != nil {
					errs <- fmt.Errorf("%s: %w", id, err)
					return
				}
			}
		}()
	}
	err = <-errs
	fmt.Fprintln(os.Stdout, "ERR", err)
	fmt.Fprintln(os.Stderr, err)
	return 1
}

func parseResume(s string) (map[string]uint64, error) {
	out := map[string]uint64{}
	for kv := range strings.SplitSeq(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 64)
		if !ok || err != nil {
			return nil, fmt.Errorf("bad %s %q", envProdResume, s)
		}
		out[k] = n
	}
	return out, nil
}

// exitOnStdinEOF ends a child whose parent is gone.
func exitOnStdinEOF() {
	io.Copy(io.Discard, os.Stdin)
	os.Exit(4)
}

// prodChild is a running child process and the lines it prints.
type prodChild struct {
	cmd    *exec.Cmd
	lines  chan string // closed at the child's stdout EOF
	stderr *bytes.Buffer
	stdin  io.Closer

	duplicates int // acknowledgements of appends stored before (crash)
}

// startProdChild runs the test binary as the named child with env added.
func startProdChild(t *testing.T, name string, env ...string) *prodChild {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), append([]string{"REWIND_TEST_CHILD=" + name}, env...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	c := &prodChild{cmd: cmd, lines: make(chan string, 1024), stderr: &bytes.Buffer{}, stdin: stdin}
	cmd.Stderr = c.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(c.lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			c.kill()
			for range c.lines {
			}
			cmd.Wait()
		}
	})
	return c
}

func (c *prodChild) kill() { syscall.Kill(c.cmd.Process.Pid, syscall.SIGKILL) }

// TestProducerCrash is the kill -9 test of idempotent producers.
func TestProducerCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("kills child processes")
	}
	const minRounds, minAcked, maxRounds = 6, 10_000, 60
	dir := t.TempDir()
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 7))
	t.Logf("seed %d", seed)
	acked := map[string]int64{} // last acknowledged seq of each producer, -1: none
	for _, cp := range crashProducers {
		acked[cp.id] = -1
	}
	total := func() int {
		n := 0
		for _, last := range acked {
			n += crashEvents(last)
		}
		return n
	}
	rounds := 0
	for ; rounds < minRounds || total() < minAcked; rounds++ {
		if rounds == maxRounds {
			t.Fatalf("%d rounds acknowledged only %d events", rounds, total())
		}
		var resume []string
		for _, cp := range crashProducers {
			resume = append(resume, fmt.Sprintf("%s=%d", cp.id, acked[cp.id]+1))
		}
		// Small batches make many commits, so kills land between and
		// inside many of them.
		batch := 1 + rng.IntN(32)
		c := startProdChild(t, "producer-crash", envProdDir+"="+dir, envProdResume+"="+strings.Join(resume, ","),
			fmt.Sprintf("%s=%d", envProdBatch, batch))
		before := total()
		how := crashRound(t, c, rng, acked)
		c.stdin.Close()
		if err := c.cmd.Wait(); !isKilled(err) {
			t.Fatalf("round %d: child ended with %v, not by SIGKILL; stderr:\n%s", rounds, err, c.stderr)
		}
		t.Logf("round %d: batches of %d, killed %s; %d events acknowledged (%d in all), %d commits found already stored",
			rounds, batch, how, total()-before, total(), c.duplicates)
	}

	// Every producer's appends, read back, are 0..N-1 exactly once each,
	// with N past the last acknowledged one.
	ctx := context.Background()
	s, err := eventstore.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	storedN := verifyCrashStore(t, s, acked)
	for _, cp := range crashProducers {
		t.Logf("%s: %d appends acknowledged, %d stored", cp.id, acked[cp.id]+1, storedN[cp.id])
	}

	// One last resume in this process: the tail in flight at the last
	// kill is recognised, and the producers go on.
	var producers []*eventstore.Producer
	for _, cp := range crashProducers {
		p, err := s.Producer(context.Background(), cp.stream, cp.id, eventstore.WithResume(0, uint64(acked[cp.id]+1)))
		if err != nil {
			t.Fatal(err)
		}
		producers = append(producers, p)
		end := uint64(storedN[cp.id]) + 10
		for seq := uint64(acked[cp.id] + 1); seq < end; seq++ {
			if _, err := p.Append(ctx, crashUnit(cp.id, seq)...); err != nil {
				t.Fatal(err)
			}
		}
		acked[cp.id] = int64(end) - 1
	}
	for _, p := range producers {
		if err := p.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for id, n := range verifyCrashStore(t, s, acked) {
		if int64(n) != acked[id]+1 {
			t.Fatalf("%s: %d appends stored after the last resume, want %d", id, n, acked[id]+1)
		}
	}
	t.Logf("%d rounds, %d events acknowledged", rounds, total())
}

// crashRound waits for the child to be ready (or not, sometimes: a kill
// while the store opens), kills it after a random delay or a random number
// of acknowledgements, and records every acknowledgement it printed.
func crashRound(t *testing.T, c *prodChild, rng *rand.Rand, acked map[string]int64) string {
	t.Helper()
	var how string
	var deadline <-chan time.Time
	ackLimit := 0
	switch mode := rng.IntN(10); {
	case mode == 0: // perhaps while the store opens
		d := time.Duration(rng.IntN(150)) * time.Millisecond
		how = fmt.Sprintf("%v after start", d)
		deadline = time.After(d)
	case mode < 5:
		d := time.Duration(5+rng.IntN(196)) * time.Millisecond
		how = fmt.Sprintf("%v after ready", d)
		deadline = readyTimer(t, c, d)
	default:
		ackLimit = 1 + rng.IntN(500)
		how = fmt.Sprintf("after %d acks", ackLimit)
		deadline = readyTimer(t, c, 30*time.Second) // a safety net
	}
	acks := 0
	killed := false
	for !killed {
		select {
		case <-deadline:
			killed = true
		case line, ok := <-c.lines:
			if !ok {
				t.Fatalf("child ended before it was killed; stderr:\n%s", c.stderr)
			}
			if recordCrashLine(t, line, acked, c) {
				acks++
			}
			killed = ackLimit > 0 && acks >= ackLimit
		}
	}
	c.kill()
	for line := range c.lines { // what it printed before it died was acknowledged
		recordCrashLine(t, line, acked, c)
	}
	return how
}

// readyTimer waits for the child's READY line and returns a timer of d
// started then.
func readyTimer(t *testing.T, c *prodChild, d time.Duration) <-chan time.Time {
	t.Helper()
	select {
	case line, ok := <-c.lines:
		if !ok {
			t.Fatalf("child ended before it was ready; stderr:\n%s", c.stderr)
		}
		if line != "READY" {
			t.Fatalf("child printed %q before READY", line)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("child not ready after 60s; stderr:\n%s", c.stderr)
	}
	return time.After(d)
}

// recordCrashLine notes an "ACK <id> <seq> <duplicate>" line and reports
// whether it was one; acknowledgements of one producer must go up.
func recordCrashLine(t *testing.T, line string, acked map[string]int64, c *prodChild) bool {
	t.Helper()
	var id string
	var seq int64
	var dup bool
	if line == "READY" {
		return false
	}
	if _, err := fmt.Sscanf(line, "ACK %s %d %t", &id, &seq, &dup); err != nil {
		t.Fatalf("child printed %q; stderr:\n%s", line, c.stderr)
	}
	last, ok := acked[id]
	if !ok || seq <= last {
		t.Fatalf("ack of %s seq %d after seq %d", id, seq, last)
	}
	acked[id] = seq
	if dup {
		c.duplicates++
	}
	return true
}

func isKilled(err error) bool {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}

// verifyCrashStore checks, through the index (Read) and the log (ReadLog),
// that each producer's appends are stored as 0, 1, ... N-1, each exactly
// once with all its events in order, and N > its last acknowledged seq. It
// returns each producer's N.
func verifyCrashStore(t *testing.T, s *eventstore.Store, acked map[string]int64) map[string]int {
	t.Helper()
	ctx := context.Background()
	streams := map[string][]eventstore.Event{}
	for _, cp := range crashProducers {
		if _, ok := streams[cp.stream]; !ok {
			streams[cp.stream] = collect(t, s.Read(ctx, cp.stream))
		}
	}
	fromLog := map[string][]eventstore.Event{}
	for _, e := range collect(t, eventstore.ReadLog(ctx, s)) {
		fromLog[e.Stream] = append(fromLog[e.Stream], e)
	}
	sameEvents(t, "ReadAll", collect(t, s.ReadAll(ctx)), collect(t, eventstore.ReadLog(ctx, s)))
	var n map[string]int
	for _, src := range []struct {
		how    string
		events map[string][]eventstore.Event
	}{{"Read", streams}, {"ReadLog", fromLog}} {
		got := map[string]int{}
		for stream, events := range src.events {
			if _, ok := streams[stream]; !ok {
				t.Fatalf("%s: events on unexpected stream %q", src.how, stream)
			}
			checkCrashStream(t, src.how, stream, events, got)
		}
		for _, cp := range crashProducers {
			if int64(got[cp.id]) <= acked[cp.id] {
				t.Fatalf("%s: %s has appends 0..%d stored, but %d was acknowledged", src.how, cp.id, got[cp.id]-1, acked[cp.id])
			}
		}
		if n != nil && fmt.Sprint(n) != fmt.Sprint(got) {
			t.Fatalf("Read found %v appends, ReadLog %v", n, got)
		}
		n = got
	}
	return n
}

// checkCrashStream checks one stream's events: versions 1, 2, 3 ... and
// each producer's events exactly crashUnit(id, 0), crashUnit(id, 1), ...
// It counts each producer's appends in next.
func checkCrashStream(t *testing.T, how, stream string, events []eventstore.Event, next map[string]int) {
	t.Helper()
	part := map[string]int{} // events of the current append seen
	for i, e := range events {
		if e.Version != uint64(i+1) {
			t.Fatalf("%s %s: event %d has version %d", how, stream, i, e.Version)
		}
		var id string
		var seq, idx, count int
		if _, err := fmt.Sscanf(string(e.Data), "%s %d %d %d", &id, &seq, &idx, &count); err != nil {
			t.Fatalf("%s %s: event data %q", how, stream, e.Data)
		}
		if seq != next[id] || idx != part[id] {
			t.Fatalf("%s %s version %d: %q, want %s append %d event %d (a hole or a duplicate)", how, stream, e.Version, e.Data, id, next[id], part[id])
		}
		want := crashUnit(id, uint64(seq))[idx]
		if e.ID != want.ID || string(e.Data) != string(want.Data) {
			t.Fatalf("%s %s version %d: %q id %v, want %q id %v", how, stream, e.Version, e.Data, e.ID, want.Data, want.ID)
		}
		part[id]++
		if part[id] == count {
			part[id] = 0
			next[id]++
		}
	}
	for id, p := range part {
		if p != 0 {
			t.Fatalf("%s %s: %s append %d is stored in part (%d events)", how, stream, id, next[id], p)
		}
	}
}

// producerFenceChild connects to the parent's store and appends
// REWIND_PRODUCER_COUNT events "new/<i>" as producer "p" at epoch 1 on
// "fence/1", printing "ACK <lastSeq>" for each acknowledged commit and
// "DONE" when all are durable.
func producerFenceChild() int {
	ctx := context.Background()
	go exitOnStdinEOF()
	count, err := strconv.Atoi(os.Getenv(envProdCount))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	s, err := eventstore.Connect(ctx, os.Getenv(envProdURL), eventstore.WithIndexDir(os.Getenv(envProdDir)))
	if err != nil {
		fmt.Fprintln(os.Stderr, "connect:", err)
		return 3
	}
	defer s.Close()
	p, err := s.Producer(context.Background(), "fence/1", "p", eventstore.WithEpoch(1), eventstore.WithMaxBatch(4),
		eventstore.WithOnAck(func(a eventstore.ProducerAck) { fmt.Fprintf(os.Stdout, "ACK %d\n", a.LastSeq) }))
	if err != nil {
		fmt.Fprintln(os.Stderr, "producer:", err)
		return 3
	}
	for i := range count {
		if _, err := p.Append(ctx, ev("New", fmt.Sprint("new/", i))); err != nil {
			fmt.Fprintln(os.Stderr, "append:", err)
			return 1
		}
	}
	if err := p.Close(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "close:", err)
		return 1
	}
	fmt.Fprintln(os.Stdout, "DONE")
	return 0
}

// TestProducerFencing runs an old instance of a producer (epoch 0) that
// appends without pause while a new instance (epoch 1) starts, in the same
// process or in another one connected to the store: once the new instance
// has stored its first append, nothing more of the old one is stored, and
// the old one's Append, Flush and Close report ErrStaleEpoch.
func TestProducerFencing(t *testing.T) {
	for _, proc := range []string{"same process", "two processes"} {
		t.Run(proc, func(t *testing.T) {
			ctx := context.Background()
			s, _ := openStore(t, eventstore.WithListen("127.0.0.1", 0))
			const stream, newCount = "fence/1", 200
			var mu sync.Mutex
			oldAcked := int64(-1)
			old, err := s.Producer(context.Background(), stream, "p", eventstore.WithMaxInFlight(64), eventstore.WithOnAck(func(a eventstore.ProducerAck) {
				mu.Lock()
				oldAcked = int64(a.LastSeq)
				mu.Unlock()
			}))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { old.Close(ctx) })
			oldErr := make(chan error, 1)
			go func() {
				for i := 0; ; i++ {
					if _, err := old.Append(ctx, ev("Old", fmt.Sprint("old/", i))); err != nil {
						oldErr <- err
						return
					}
				}
			}()
			// Let the old instance get going.
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
				mu.Lock()
				n := oldAcked
				mu.Unlock()
				if n >= 100 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the old instance acknowledged nothing")
				}
			}
			if proc == "same process" {
				fenceInProcess(t, s, newCount)
			} else {
				fenceFromChild(t, s, newCount)
			}
			var err2 error
			select {
			case err2 = <-oldErr:
			case <-time.After(30 * time.Second):
				t.Fatal("the old instance was not fenced")
			}
			var perr *eventstore.ProducerError
			if !errors.Is(err2, eventstore.ErrStaleEpoch) || !errors.As(err2, &perr) || perr.CurrentEpoch != 1 {
				t.Fatalf("old append: %v, want ErrStaleEpoch with current epoch 1", err2)
			}
			if err := old.Flush(ctx); !errors.Is(err, eventstore.ErrStaleEpoch) {
				t.Fatalf("old flush: %v, want ErrStaleEpoch", err)
			}
			if err := old.Close(ctx); !errors.Is(err, eventstore.ErrStaleEpoch) {
				t.Fatalf("old close: %v, want ErrStaleEpoch", err)
			}
			// Every event of the old epoch lies before the first of the new.
			data := prodReadData(t, s, stream)
			oldN, newN := 0, 0
			for _, d := range data {
				switch {
				case d == fmt.Sprint("old/", oldN) && newN == 0:
					oldN++
				case d == fmt.Sprint("new/", newN):
					newN++
				default:
					t.Fatalf("stored %q after %d old and %d new events", d, oldN, newN)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if newN != newCount || int64(oldN) <= oldAcked {
				t.Fatalf("stored %d old events (%d acknowledged) and %d new (want %d)", oldN, oldAcked+1, newN, newCount)
			}
			if got := prodReadAllData(t, s)[stream]; fmt.Sprint(got) != fmt.Sprint(data) {
				t.Fatalf("the log and the index differ")
			}
			t.Logf("old instance: %d stored, %d acknowledged; new: %d", oldN, oldAcked+1, newN)
		})
	}
}

// fenceInProcess starts the new instance as a second Producer in s.
func fenceInProcess(t *testing.T, s *eventstore.Store, count int) {
	ctx := context.Background()
	p, err := s.Producer(context.Background(), "fence/1", "p", eventstore.WithEpoch(1), eventstore.WithMaxBatch(4))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	for i := range count {
		if _, err := p.Append(ctx, ev("New", fmt.Sprint("new/", i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// fenceFromChild starts the new instance in a child process connected to
// s, and waits for it to finish.
func fenceFromChild(t *testing.T, s *eventstore.Store, count int) {
	c := startProdChild(t, "producer-fence", envProdURL+"="+s.ClientURL(), envProdDir+"="+t.TempDir(),
		fmt.Sprintf("%s=%d", envProdCount, count))
	last, done := -1, false
	for line := range c.lines {
		var seq int
		switch _, err := fmt.Sscanf(line, "ACK %d", &seq); {
		case line == "DONE":
			done = true
		case err != nil || seq <= last:
			t.Fatalf("child printed %q after ack %d", line, last)
		default:
			last = seq
		}
	}
	c.stdin.Close()
	if err := c.cmd.Wait(); err != nil || !done || last != count-1 {
		t.Fatalf("child: %v, done %v, last ack %d; stderr:\n%s", err, done, last, c.stderr)
	}
}
