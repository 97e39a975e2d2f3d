package eventstore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rewindhq/rewind/eventstore"
	"github.com/rewindhq/rewind/internal/natscluster"
)

// TestClusterReadOnLoneLaggingReplica: a follower of the log is stopped
// (SIGSTOP) while appends are acknowledged without it, then the leader and
// the other follower die (kill -9) and the follower resumes alone, holding
// only the first appends. It answers the log's info from what it holds
// once it has been without a leader for a few seconds. A store connected
// to it, and the writer connected before, must not take that for the
// log's end: every read that needs it (Read, Head, Tail, ReadAll,
// ReadCategory, a subscription's catch-up, WaitStream) fails with
// ErrUnavailable, never with a nil error and fewer events than were
// acknowledged.
func TestClusterReadOnLoneLaggingReplica(t *testing.T) {
	c := natscluster.Start(t, 3)
	a := connectCluster(t, c, eventstore.WithReplicas(3))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := a.Append(ctx, "lag/a", evs(100, 0)); err != nil {
		t.Fatalf("append: %v", err)
	}
	leader := c.StreamLeader("rewind")
	if leader < 0 {
		t.Fatal("the log has no leader")
	}
	lagging, other := (leader+1)%3, (leader+2)%3
	stopProcess(t, c.Pid(lagging))
	t.Cleanup(func() { _ = syscall.Kill(c.Pid(lagging), syscall.SIGCONT) })
	// More than the kernel's socket buffers hold, so that the stopped
	// node cannot find them waiting when it resumes.
	big := eventstore.Event{Type: "Big", Data: []byte(`"` + strings.Repeat("x", 2046) + `"`)}
	var acked uint64
	for range 1500 {
		res, err := a.Append(ctx, "lag/a", []eventstore.Event{big})
		if err != nil {
			t.Fatalf("append with %s stopped: %v", c.Nodes[lagging].Name, err)
		}
		acked = res.Version
	}
	c.Kill(leader)
	c.Kill(other)
	if err := syscall.Kill(c.Pid(lagging), syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	waitLeaderlessAnswer(t, c, lagging, 60*time.Second)

	b, err := eventstore.Connect(ctx, c.Nodes[lagging].URL(), eventstore.WithIndexDir(t.TempDir()))
	if err != nil {
		t.Fatalf("connect to the lone node: %v", err)
	}
	defer b.Close()
	// unavailable checks that err is ErrUnavailable, as the caller's
	// deadline comes.
	unavailable := func(who, what string, err error) {
		t.Helper()
		if !errors.Is(err, eventstore.ErrUnavailable) {
			t.Errorf("%s: %s with the log's only replica lagging and leaderless: %v, want ErrUnavailable", who, what, err)
		}
	}
	short := func() (context.Context, context.CancelFunc) { return context.WithTimeout(ctx, 1500*time.Millisecond) }
	for who, s := range map[string]*eventstore.Store{"the writer": a, "a store connected to the lone node": b} {
		rctx, cancel := short()
		n := uint64(0)
		var rerr error
		for _, err := range s.Read(rctx, "lag/a") {
			if rerr = err; err != nil {
				break
			}
			n++
		}
		cancel()
		if rerr == nil && n < acked {
			t.Errorf("%s: Read gave %d events and no error; %d were acknowledged before it began", who, n, acked)
		} else if rerr != nil {
			unavailable(who, "Read", rerr)
		}
		if who == "the writer" {
			continue // its own appends are in its index: only a fresh store can be misled
		}
		rctx, cancel = short()
		h, err := s.Head(rctx, "lag/a")
		cancel()
		if err == nil {
			t.Errorf("%s: Head %d, no error; %d acknowledged", who, h.Version, acked)
		}
		unavailable(who, "Head", err)
		rctx, cancel = short()
		tail, err := s.Tail(rctx)
		cancel()
		if err == nil {
			t.Errorf("%s: Tail %s, no error; the log holds more than 1500 commits", who, tail)
		}
		unavailable(who, "Tail", err)
		reads := map[string]func(context.Context) error{
			"ReadAll":      func(ctx context.Context) error { return firstError(t, s.ReadAll(ctx)) },
			"ReadCategory": func(ctx context.Context) error { return firstError(t, s.ReadCategory(ctx, "lag")) },
			"Subscribe":    func(ctx context.Context) error { return firstError(t, s.Subscribe(ctx, "lag/a")) },
			"WaitStream": func(ctx context.Context) error {
				_, err := s.WaitStream(ctx, "lag/a", eventstore.Start)
				return err
			},
		}
		for what, read := range reads {
			rctx, cancel := short()
			err := read(rctx)
			cancel()
			if what == "Subscribe" && err == nil {
				// A subscription whose ctx ends stops without an error,
				// as documented, whatever it waited for; what matters is
				// that it delivered nothing of the lagging replica's
				// prefix (firstError fails the test on any event).
				continue
			}
			unavailable(who, what, err)
		}
	}
}

// waitLeaderlessAnswer waits until node i answers the log's info by
// itself, without a leader: the answer a lone replica gives from what it
// holds, once it has been without a leader for a few seconds.
func waitLeaderlessAnswer(t *testing.T, c *natscluster.Cluster, i int, wait time.Duration) {
	t.Helper()
	nc, err := nats.Connect(c.Nodes[i].URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(wait); ; time.Sleep(200 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		st, err := js.Stream(ctx, "rewind")
		cancel()
		if err == nil {
			if ci := st.CachedInfo().Cluster; ci != nil && ci.Leader == "" {
				t.Logf("%s answers the log's info without a leader: last sequence %d", c.Nodes[i].Name, st.CachedInfo().State.LastSeq)
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer the log's info without a leader within %v (last: %v)", c.Nodes[i].Name, wait, err)
		}
	}
}

// TestClusterReadyNeedsMajority: Ready says ready on a healthy cluster,
// under appends and between sparse ones, every time it is asked; once both
// followers of the log die (kill -9), leaving its leader up and answering
// but storing nothing, Ready says ErrUnavailable within a few seconds
// (not after the 10 to 20 s the leader takes to step down) and goes on
// saying so; so does a read of a store connected then.
func TestClusterReadyNeedsMajority(t *testing.T) {
	c := natscluster.Start(t, 3)
	s := connectCluster(t, c, eventstore.WithReplicas(3))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := s.Append(ctx, "maj/a", evs(1, 0)); err != nil {
		t.Fatalf("append: %v", err)
	}
	ready := func() error {
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		return s.Ready(rctx, 1<<20)
	}
	// pollReady asks Ready every 100 ms for d and fails the test at the
	// first not ready.
	pollReady := func(what string, d time.Duration) {
		t.Helper()
		for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
			if err := ready(); err != nil {
				t.Fatalf("not ready on a healthy cluster (%s): %v", what, err)
			}
		}
	}
	// Under appends from several writers.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := s.Append(ctx, fmt.Sprintf("maj/w%d", w), evs(1, i)); err != nil {
					t.Errorf("append: %v", err)
					return
				}
			}
		}()
	}
	pollReady("under appends", 4*time.Second)
	close(stop)
	wg.Wait()
	// With an append now and then, the leader's heartbeats at their
	// sparsest.
	for i := range 4 {
		if _, err := s.Append(ctx, "maj/a", evs(1, i)); err != nil {
			t.Fatalf("append: %v", err)
		}
		pollReady("sparse appends", 1300*time.Millisecond)
	}

	leader := c.StreamLeader("rewind")
	if leader < 0 {
		t.Fatal("the log has no leader")
	}
	c.Kill((leader + 1) % 3)
	c.Kill((leader + 2) % 3)
	killed := time.Now()
	var err error
	for err = ready(); err == nil; err = ready() {
		if time.Since(killed) > 6*time.Second {
			t.Fatalf("still ready %v after both followers of the log died", time.Since(killed).Round(time.Millisecond))
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("not ready %v after the followers died: %v", time.Since(killed).Round(time.Millisecond), err)
	for end := time.Now().Add(8 * time.Second); time.Now().Before(end); time.Sleep(250 * time.Millisecond) {
		if err := ready(); !errors.Is(err, eventstore.ErrUnavailable) {
			t.Fatalf("Ready with only the log's leader up: %v, want ErrUnavailable", err)
		}
	}
	// A store connected now reads nothing from the leader alone: it
	// cannot know that no other leader took appends meanwhile.
	b, err := eventstore.Connect(ctx, c.Nodes[leader].URL(), eventstore.WithIndexDir(t.TempDir()))
	if err != nil {
		t.Fatalf("connect to the leader: %v", err)
	}
	defer b.Close()
	rctx, rcancel := context.WithTimeout(ctx, 1500*time.Millisecond)
	defer rcancel()
	if _, err := b.Head(rctx, "maj/a"); !errors.Is(err, eventstore.ErrUnavailable) {
		t.Fatalf("Head with only the log's leader up: %v, want ErrUnavailable", err)
	}
}
