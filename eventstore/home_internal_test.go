package eventstore

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rewindhq/rewind/internal/natscluster"
)

func TestHomeURL(t *testing.T) {
	for _, tc := range []struct{ configured, server, want string }{
		// A configured URL for the host is used whole, credentials and all.
		{"nats://a:1,nats://u:p@b:2", "nats://b:2", "nats://u:p@b:2"},
		{"tls://tok@a:1", "nats://a:1", "tls://tok@a:1"},
		// Without a scheme, as nats.Connect also takes them.
		{"a:1, b:2", "nats://b:2", "nats://b:2"},
		// An advertised server gets the first configured credentials.
		{"nats://x:1,nats://u:p@a:1", "nats://c:3", "nats://u:p@c:3"},
		{"nats://tok@a:1", "nats://c:3", "nats://tok@c:3"},
		{"nats://a:1", "nats://c:3", "nats://c:3"},
	} {
		if got := homeURL(tc.configured, tc.server); got != tc.want {
			t.Errorf("homeURL(%q, %q) = %q, want %q", tc.configured, tc.server, got, tc.want)
		}
	}
}

// TestFollowLeaderRetriesAMove: a move of the appends to the log's new
// leader that meets a request going unanswered (as during the election
// that called for it) is given up, and tried again until it happens. On
// the code before, the appends stayed a hop away from the leader until
// the next election: under load, TestClusterAppendsFollowLeader failed so.
func TestFollowLeaderRetriesAMove(t *testing.T) {
	c := natscluster.Start(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := Connect(ctx, c.URLs(), WithReplicas(3), WithIndexDir(t.TempDir()))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer s.Close()
	if _, err := s.Append(ctx, "move/1", []Event{{Type: "T", Data: []byte(`1`)}}); err != nil {
		t.Fatal(err)
	}
	// publishesAt waits until the store's appends go to node i.
	publishesAt := func(i int, what string) {
		t.Helper()
		for deadline := time.Now().Add(45 * time.Second); s.pub.Load().nc.ConnectedServerName() != c.Nodes[i].Name; time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: the appends go to %s, not to the log's leader %s", what, s.pub.Load().nc.ConnectedServerName(), c.Nodes[i].Name)
			}
		}
	}
	first := c.StreamLeader("rewind")
	publishesAt(first, "at open")

	var moves atomic.Int32
	hook := func(from *publisher) {
		if moves.Add(1) == 1 {
			from.timedOut.Store(time.Now().UnixNano()) // a request went unanswered
		}
	}
	s.moveHook.Store(&hook)
	nc, err := nats.Connect(c.URLs())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if _, err := nc.Request("$JS.API.STREAM.LEADER.STEPDOWN.rewind", nil, 5*time.Second); err != nil {
		t.Fatalf("step-down: %v", err)
	}
	second := -1
	for deadline := time.Now().Add(30 * time.Second); second < 0 || second == first; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no new leader for the log")
		}
		second = c.StreamLeader("rewind")
	}
	publishesAt(second, "after a move that was given up")
	if n := moves.Load(); n < 2 {
		t.Fatalf("%d moves tried, want the one given up and another", n)
	}
	// The dial's bound is not the connection's: its reconnects have the
	// usual connect timeout, and no limit.
	if o := s.pub.Load().nc.Opts; o.Timeout != nats.GetDefaultOptions().Timeout || o.MaxReconnect != -1 {
		t.Errorf("the moved connection has a connect timeout of %v and MaxReconnect %d, want %v and -1", o.Timeout, o.MaxReconnect, nats.GetDefaultOptions().Timeout)
	}
	if _, err := s.Append(ctx, "move/1", []Event{{Type: "T", Data: []byte(`2`)}}, ExpectVersion(1)); err != nil {
		t.Fatalf("append after the move: %v", err)
	}
	evs, err := collect(s.Read(ctx, "move/1"))
	if err != nil || len(evs) != 2 {
		t.Fatalf("read: %d events, %v; want 2", len(evs), err)
	}
}

// TestConnectReconnectsWithoutLimit: a store's connections keep
// reconnecting for as long as it is open (nats.go's default gives up
// after 60 tries per server, about two minutes, and the store would be
// dead from then on), unless the user's options set a limit.
func TestConnectReconnectsWithoutLimit(t *testing.T) {
	srv := StartUsersServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, tc := range []struct {
		opts []nats.Option
		want int
	}{{nil, -1}, {[]nats.Option{nats.MaxReconnects(5)}, 5}} {
		s, err := Connect(ctx, srv.ClientURL(), WithIndexDir(t.TempDir()), WithNATSOptions(tc.opts...))
		if err != nil {
			t.Fatalf("connect: %v", err)
		}
		for _, nc := range []*nats.Conn{s.nc, s.rnc, s.pub.Load().nc} {
			if got := nc.Opts.MaxReconnect; got != tc.want {
				t.Errorf("connection %q: MaxReconnect %d, want %d", nc.Opts.Name, got, tc.want)
			}
		}
		s.Close()
	}
}
