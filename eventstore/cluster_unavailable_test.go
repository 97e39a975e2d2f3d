package eventstore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rewindhq/rewind/eventstore"
	"github.com/rewindhq/rewind/internal/natscluster"
)

// The tests in this file hold the store to what it promises while part
// of the cluster cannot serve it: a server that stops answering is given
// up for another, and a replication no cluster of that size can give is
// refused at once.

// TestClusterFrozenServer: a follower of the log is frozen (SIGSTOP: its
// connections stay open and nothing tells a client it is gone) while the
// leader and the other follower serve. A store whose connections were
// all on it (it was given that server's URL only) reads again within a
// few seconds, through another server the cluster advertised; one that
// cannot move (it ignores the advertised servers) fails a read with
// ErrUnavailable and the ctx's error, not with the bare ctx error.
func TestClusterFrozenServer(t *testing.T) {
	c := natscluster.Start(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	w := connectCluster(t, c, eventstore.WithReplicas(3))
	if _, err := w.Append(ctx, "frozen/1", evs(3, 0)); err != nil {
		t.Fatal(err)
	}
	leader := c.StreamLeader("rewind")
	if leader < 0 {
		t.Fatal("the log has no leader")
	}
	f := (leader + 1) % len(c.Nodes)
	connectTo := func(opts ...eventstore.Option) *eventstore.Store {
		s, err := eventstore.Connect(ctx, c.Nodes[f].URL(), append([]eventstore.Option{eventstore.WithIndexDir(t.TempDir())}, opts...)...)
		if err != nil {
			t.Fatalf("connect to %s: %v", c.Nodes[f].Name, err)
		}
		t.Cleanup(func() { s.Close() })
		if h, err := s.Head(ctx, "frozen/1"); err != nil || h.Version != 3 {
			t.Fatalf("head before the freeze: %+v, %v", h, err)
		}
		return s
	}
	moves := connectTo()
	stuck := connectTo(eventstore.WithNATSOptions(nats.IgnoreDiscoveredServers()))

	pid := c.Pid(f)
	stopProcess(t, pid)
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGCONT) }) // before the cluster's SIGKILL
	if _, err := w.Append(ctx, "frozen/1", evs(2, 3)); err != nil {
		t.Fatalf("append with a follower frozen: %v", err)
	}
	frozen := time.Now()

	// The store that can move: its reads come back within a few seconds
	// (the frozen server is given up after 3 to 4 s; nats.go's default
	// took minutes) and see the append.
	var herr error
	for time.Since(frozen) < 15*time.Second {
		hctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		var h eventstore.Head
		h, herr = moves.Head(hctx, "frozen/1")
		cancel()
		if herr == nil && h.Version == 5 {
			t.Logf("read through another server %v after the freeze", time.Since(frozen).Round(time.Millisecond))
			break
		}
		if herr == nil {
			herr = fmt.Errorf("head at version %d, want 5", h.Version)
		}
	}
	if herr != nil {
		t.Fatalf("a store on the frozen server still cannot read 15 s after the freeze: %v", herr)
	}

	// The store that cannot move: its read outlasts its ctx waiting for
	// the cluster, and says so.
	hctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	_, err := stuck.Head(hctx, "frozen/1")
	cancel()
	if !errors.Is(err, eventstore.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("head on a store whose only server is frozen: %v, want ErrUnavailable and context.DeadlineExceeded", err)
	}
}

// TestClusterReplicasBeyondCluster: WithReplicas asking for more replicas
// than a three-node cluster has servers is a configuration error, which
// Connect reports at once with ErrReplicas (it retried for its whole
// deadline and said ErrUnavailable, as if an election were under way);
// a replica's server that is down, so that the cluster cannot place a
// new resource for now, is still waited for.
func TestClusterReplicasBeyondCluster(t *testing.T) {
	c := natscluster.Start(t, 3)
	for _, n := range []int{4, 5} {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		start := time.Now()
		s, err := eventstore.Connect(ctx, c.URLs(), eventstore.WithReplicas(n), eventstore.WithIndexDir(t.TempDir()))
		took := time.Since(start)
		cancel()
		if err == nil {
			s.Close()
			t.Fatalf("Connect(WithReplicas(%d)) on three servers succeeded", n)
		}
		t.Logf("WithReplicas(%d): %v in %v", n, err, took.Round(time.Millisecond))
		if !errors.Is(err, eventstore.ErrReplicas) || errors.Is(err, eventstore.ErrUnavailable) || took > 5*time.Second {
			t.Errorf("Connect(WithReplicas(%d)) on three servers: %v after %v, want ErrReplicas at once", n, err, took)
		}
		if !strings.Contains(err.Error(), "knows of 3 servers") {
			t.Errorf("Connect(WithReplicas(%d)): %q does not say how many servers it knows of", n, err)
		}
	}

	// One server down: an R3 log cannot be placed until it is back.
	c.Kill(2)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	type connected struct {
		s   *eventstore.Store
		err error
	}
	done := make(chan connected, 1)
	go func() {
		s, err := eventstore.Connect(ctx, c.URLs(), eventstore.WithReplicas(3), eventstore.WithIndexDir(t.TempDir()))
		done <- connected{s, err}
	}()
	time.Sleep(3 * time.Second)
	c.Restart(2)
	r := <-done
	if r.err != nil {
		t.Fatalf("Connect(WithReplicas(3)) across a server's restart: %v", r.err)
	}
	s := r.s
	defer s.Close()
	if _, err := s.Append(ctx, "r3/1", evs(1, 0)); err != nil {
		t.Fatal(err)
	}
}
