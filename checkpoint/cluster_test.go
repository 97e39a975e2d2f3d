package checkpoint_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/rewindhq/rewind/checkpoint"
	"github.com/rewindhq/rewind/eventstore"
	"github.com/rewindhq/rewind/internal/natscluster"
)

// TestKVClusterFailover runs checkpoints and leases in an R3 bucket on a
// real three-node cluster (nats-server processes, internal/natscluster)
// and kills the bucket's leader with SIGKILL while Save and lease renewals
// go on: each call, given time, outlasts the election and succeeds, with
// its revision chain unbroken (a write whose answer the kill lost is no
// conflict); a call whose ctx ends before the election does fails with an
// error matching eventstore.ErrUnavailable, never a raw nats error.
func TestKVClusterFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-node nats-server cluster (-short)")
	}
	c := natscluster.Start(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	store, err := eventstore.Connect(ctx, c.URLs(), eventstore.WithReplicas(3), eventstore.WithIndexDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	kv, err := checkpoint.NewKV(ctx, store, "")
	if err != nil {
		t.Fatal(err)
	}
	bucket := "KV_" + checkpoint.DefaultBucket

	var rev uint64
	var last eventstore.Offset
	n := 0
	save := func(callCtx context.Context) error {
		o := eventstore.Offset(fmt.Sprintf("%020d_999999", n+1))
		r, err := kv.Save(callCtx, "proj", o, rev)
		if err == nil {
			n, rev, last = n+1, r, o
		}
		return err
	}
	renew := func(callCtx context.Context) error {
		_, err := kv.Acquire(callCtx, "proj", "runner-a", time.Minute)
		return err
	}
	for range 3 {
		if err := save(ctx); err != nil {
			t.Fatal(err)
		}
		if err := renew(ctx); err != nil {
			t.Fatal(err)
		}
	}

	// A call whose ctx ends within the election: ErrUnavailable.
	leader := c.StreamLeader(bucket)
	if leader < 0 {
		t.Fatal("the bucket has no leader")
	}
	c.Kill(leader)
	short, cancelShort := context.WithTimeout(ctx, 300*time.Millisecond)
	err = save(short)
	cancelShort()
	if err != nil && !errors.Is(err, eventstore.ErrUnavailable) {
		t.Fatalf("save during the election with a 300 ms deadline: %v, want an error matching ErrUnavailable", err)
	}
	short, cancelShort = context.WithTimeout(ctx, 300*time.Millisecond)
	err = renew(short)
	cancelShort()
	if err != nil && !errors.Is(err, eventstore.ErrUnavailable) {
		t.Fatalf("lease renewal during the election with a 300 ms deadline: %v, want an error matching ErrUnavailable", err)
	}
	// Given time, every call outlasts the election.
	for i := 0; i < 20; i++ {
		callCtx, cancelCall := context.WithTimeout(ctx, 30*time.Second)
		if err := save(callCtx); err != nil {
			cancelCall()
			t.Fatalf("save %d after the leader's kill: %v", i, err)
		}
		if err := renew(callCtx); err != nil {
			cancelCall()
			t.Fatalf("lease renewal %d after the leader's kill: %v", i, err)
		}
		cancelCall()
	}
	c.Restart(leader)
	c.WaitReady(60 * time.Second)

	// And again, with the calls in flight at the kill.
	leader = c.StreamLeader(bucket)
	if leader < 0 {
		t.Fatal("the bucket has no leader")
	}
	errc := make(chan error, 1)
	go func() {
		for i := 0; i < 40; i++ {
			callCtx, cancelCall := context.WithTimeout(ctx, 30*time.Second)
			err := save(callCtx)
			if err == nil {
				err = renew(callCtx)
			}
			cancelCall()
			if err != nil {
				errc <- fmt.Errorf("call %d: %w", i, err)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		errc <- nil
	}()
	time.Sleep(100 * time.Millisecond)
	c.Kill(leader)
	if err := <-errc; err != nil {
		t.Fatalf("save and lease renewal across the kill of the bucket's leader: %v", err)
	}
	cp, err := kv.Load(ctx, "proj")
	if err != nil || cp.Offset != last || cp.Revision != rev {
		t.Fatalf("load after the kills: %+v, %v; want %s at revision %d", cp, err, last, rev)
	}
}
