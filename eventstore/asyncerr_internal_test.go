package eventstore

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// syncBuffer is a bytes.Buffer a logger and a test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// What a store's NATS connections report asynchronously (here a slow
// consumer's dropped messages) goes to the store's logger, with Open and
// with Connect, not to the process's stderr past WithLogger (nats.go's
// default handler).
func TestAsyncErrorsLogged(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var openLog, connLog syncBuffer
	s, err := Open(ctx, t.TempDir(), WithListen("127.0.0.1", 0),
		WithLogger(slog.New(slog.NewTextHandler(&openLog, nil))))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c, err := Connect(ctx, s.ClientURL(), WithIndexDir(t.TempDir()),
		WithLogger(slog.New(slog.NewTextHandler(&connLog, nil))))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, tc := range []struct {
		name string
		nc   *nats.Conn
		log  *syncBuffer
	}{{"Open", s.rnc, &openLog}, {"Connect", c.rnc, &connLog}} {
		block := make(chan struct{})
		sub, err := tc.nc.Subscribe("asyncerr.test", func(*nats.Msg) { <-block })
		if err != nil {
			t.Fatal(err)
		}
		if err := sub.SetPendingLimits(1, -1); err != nil {
			t.Fatal(err)
		}
		for range 10 {
			if err := tc.nc.Publish("asyncerr.test", []byte("x")); err != nil {
				t.Fatal(err)
			}
		}
		if err := tc.nc.Flush(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(tc.log.String(), "slow consumer") {
			if time.Now().After(deadline) {
				t.Fatalf("%s: no slow consumer in the store's log: %q", tc.name, tc.log.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
		if line := tc.log.String(); !strings.Contains(line, "eventstore: NATS connection error") || !strings.Contains(line, `subject=asyncerr.test`) {
			t.Errorf("%s: log line %q", tc.name, line)
		}
		close(block)
		sub.Unsubscribe()
	}
}
