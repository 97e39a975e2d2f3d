package eventstore_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rewindhq/rewind/eventstore"
	"github.com/rewindhq/rewind/internal/natscluster"
)

// TestClusterAppendsWithoutQuorum: the log's leader runs on alone, both
// followers killed, so every commit it takes stays in process. Appends
// with a short deadline, and one waiting behind another for its stream's
// lock, fail with ErrUnavailable and the ctx's error (the README's "a
// call that outlasts its context fails with ErrUnavailable"), never as
// "lost races", and an append waits for the cluster instead of asking
// the leader hundreds of times a second (a third of a core for each
// pending append).
func TestClusterAppendsWithoutQuorum(t *testing.T) {
	c := natscluster.Start(t, 3)
	s := connectCluster(t, c, eventstore.WithReplicas(3))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := s.Append(ctx, "alone/1", evs(1, 0)); err != nil {
		t.Fatal(err)
	}
	leader := c.StreamLeader("rewind")
	if leader < 0 {
		t.Fatal("the log has no leader")
	}
	for i := range c.Nodes {
		if i != leader {
			c.Kill(i)
		}
	}
	check := func(what string, err error) {
		t.Helper()
		switch {
		case err == nil:
			t.Errorf("%s stored with one of three nodes up", what)
		case !errors.Is(err, eventstore.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded):
			t.Errorf("%s: %v, want ErrUnavailable and context.DeadlineExceeded", what, err)
		case strings.Contains(err.Error(), "races"):
			t.Errorf("%s: %v: lost no race, the cluster has no quorum", what, err)
		}
	}
	appendFor := func(d time.Duration) error {
		actx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		_, err := s.Append(actx, "alone/1", evs(1, 1))
		return err
	}
	// The first append's commit stays in process at the leader; those
	// after it are refused for it, as long as the quorum is lost.
	check("the first append", appendFor(time.Second))
	for i := range 3 {
		before := cpuTime(t)
		start := time.Now()
		err := appendFor(time.Second)
		used, took := cpuTime(t)-before, time.Since(start)
		check("an append", err)
		t.Logf("append %d: %v, %v of CPU in %v", i, err, used.Round(time.Millisecond), took.Round(time.Millisecond))
		if used > 150*time.Millisecond {
			t.Errorf("an append used %v of CPU in %v waiting for a quorum: it spins", used, took)
		}
	}
	// Two at once: the second waits for the first's lock on the stream.
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Go(func() {
			time.Sleep(time.Duration(i) * 100 * time.Millisecond)
			errs[i] = appendFor(time.Second)
		})
	}
	wg.Wait()
	check("an append holding its stream's lock", errs[0])
	check("an append waiting for its stream's lock", errs[1])
}

// cpuTime is the CPU time the test process (the store, not the cluster's
// servers) has used.
func cpuTime(t *testing.T) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
