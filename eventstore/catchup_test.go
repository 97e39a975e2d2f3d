package eventstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/rewindhq/rewind/eventstore"
)

// TestCatchUpWithoutConsumers: a store's read index catches up with
// another process's appends even while the server makes no consumer for
// it. On a cluster that is every election of the meta leader (seconds,
// while the log itself takes appends): a reader waiting for the other
// store's commits waited until its index stalled. Here the second store's
// NATS user may not create consumers at all, which the server answers as
// an election does, with silence.
func TestCatchUpWithoutConsumers(t *testing.T) {
	deny := []string{"$JS.API.CONSUMER.CREATE.>", "$JS.API.CONSUMER.DURABLE.CREATE.>"}
	srv := eventstore.StartUsersServer(t,
		&server.User{Username: "writer", Password: "writer-password-1234"},
		&server.User{Username: "reader", Password: "reader-password-1234", Permissions: &server.Permissions{
			Publish: &server.SubjectPermission{Allow: []string{">"}, Deny: deny},
		}})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	connect := func(user, password string) *eventstore.Store {
		s, err := eventstore.Connect(ctx, srv.ClientURL(), eventstore.WithIndexDir(t.TempDir()),
			eventstore.WithNATSOptions(nats.UserInfo(user, password)))
		if err != nil {
			t.Fatalf("connect as %s: %v", user, err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	w := connect("writer", "writer-password-1234")
	r := connect("reader", "reader-password-1234")

	for round := range 3 {
		stream := fmt.Sprintf("acct/%d", round)
		for i := range 20 {
			if _, err := w.Append(ctx, stream, []eventstore.Event{{Type: "Deposited", Data: []byte(fmt.Sprintf(`{"n":%d}`, i))}}); err != nil {
				t.Fatalf("append: %v", err)
			}
		}
		// Well within the index's stall limit (20 s), which is what a
		// reader met before.
		rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
		n := 0
		for e, err := range r.Read(rctx, stream) {
			if err != nil {
				t.Fatalf("round %d: read %s through the store that may make no consumer: %v", round, stream, err)
			}
			n++
			if e.Version != uint64(n) {
				t.Fatalf("round %d: version %d at position %d", round, e.Version, n)
			}
		}
		rcancel()
		if n != 20 {
			t.Fatalf("round %d: read %d events of %s, want 20", round, n, stream)
		}
	}
	// Its own appends, and the writer's, read back from its index.
	if _, err := r.Append(ctx, "acct/0", []eventstore.Event{{Type: "Withdrawn", Data: []byte(`{}`)}}, eventstore.ExpectVersion(20)); err != nil {
		t.Fatalf("append through the reader: %v", err)
	}
	head, err := w.Head(ctx, "acct/0")
	if err != nil || head.Version != 21 {
		t.Fatalf("the writer sees acct/0 at %+v, %v; want version 21", head, err)
	}
}

// TestMetadataWithoutConsumers: a store's stream metadata is mirrored
// through a watch of its bucket, whose consumer needs the cluster's meta
// leader. When no consumer can be made (an election; here, a NATS user
// that may not create any), the first metadata call fails with the
// transient ErrUnavailable (a 503 over HTTP, which clients retry), not with
// whatever nats.go's watch said (a 500).
func TestMetadataWithoutConsumers(t *testing.T) {
	srv := eventstore.StartUsersServer(t,
		&server.User{Username: "reader", Password: "reader-password-1234", Permissions: &server.Permissions{
			Publish: &server.SubjectPermission{Allow: []string{">"}, Deny: []string{"$JS.API.CONSUMER.CREATE.>", "$JS.API.CONSUMER.DURABLE.CREATE.>"}},
		}})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := eventstore.Connect(ctx, srv.ClientURL(), eventstore.WithIndexDir(t.TempDir()),
		eventstore.WithNATSOptions(nats.UserInfo("reader", "reader-password-1234")))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer s.Close()
	// A caller's context bounds its wait for the mirror's start, which goes
	// on for the next caller.
	short, cancelShort := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancelShort()
	t0 := time.Now()
	if _, err := s.Metadata(short, "acct/1"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("metadata with a 300 ms context while no consumer can be made: %v, want DeadlineExceeded", err)
	}
	if d := time.Since(t0); d > 2*time.Second {
		t.Fatalf("metadata with a 300 ms context returned after %v", d)
	}
	if _, err := s.Metadata(ctx, "acct/1"); !errors.Is(err, eventstore.ErrUnavailable) {
		t.Fatalf("metadata while no consumer can be made: %v, want ErrUnavailable", err)
	}

	// Close does not wait out a start in progress.
	s2, err := eventstore.Connect(ctx, srv.ClientURL(), eventstore.WithIndexDir(t.TempDir()),
		eventstore.WithNATSOptions(nats.UserInfo("reader", "reader-password-1234")))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	short2, cancelShort2 := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancelShort2()
	if _, err := s2.MetadataStreams(short2); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("metadata streams with a 200 ms context: %v, want DeadlineExceeded", err)
	}
	t0 = time.Now()
	if err := s2.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if d := time.Since(t0); d > 3*time.Second {
		t.Fatalf("close waited %v for the metadata mirror's start", d)
	}
	if _, err := s2.Metadata(ctx, "acct/1"); !errors.Is(err, eventstore.ErrClosed) {
		t.Fatalf("metadata after close: %v, want ErrClosed", err)
	}
}
