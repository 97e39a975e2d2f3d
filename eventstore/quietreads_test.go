package eventstore_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rewindhq/rewind/eventstore"
)

// TestQuietReadsMakeNoConsumers: a store that shares its log (here, an
// embedded one with a listener) and writes alone stops following the log;
// its readers, whose target is the log's end, then wait for its appends in
// flight to reach the index instead of making the tailer catch up with the
// log through a new consumer at each read. Consumers are counted by the
// server's advisories.
func TestQuietReadsMakeNoConsumers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := eventstore.Open(ctx, t.TempDir(), eventstore.WithListen("127.0.0.1", 0))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	var created atomic.Int64
	sub, err := nc.Subscribe("$JS.EVENT.ADVISORY.CONSUMER.CREATED.rewind.*", func(*nats.Msg) { created.Add(1) })
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	// Quiet: the log has no consumer.
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := s.Append(ctx, "quiet/0", []eventstore.Event{{Type: "T", Data: []byte(`0`)}}); err != nil {
			t.Fatal(err)
		}
		if logConsumers(t, js) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the log still has a consumer 30 s after the store began writing alone")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	created.Store(0)
	var reads atomic.Int64
	stop := time.Now().Add(2 * time.Second)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				if _, err := s.Append(ctx, fmt.Sprintf("quiet/%d", w), []eventstore.Event{{Type: "T", Data: []byte(`1`)}}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for r := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				for _, err := range s.Read(ctx, fmt.Sprintf("quiet/%d", r)) {
					if err != nil {
						t.Error(err)
						return
					}
				}
				reads.Add(1)
			}
		}()
	}
	wg.Wait()
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // the last advisories
	n := created.Load()
	t.Logf("%d reads during the appends, %d consumers made on the log", reads.Load(), n)
	if reads.Load() == 0 {
		t.Fatal("no read finished")
	}
	if n > 5 {
		t.Fatalf("%d consumers were made on the log during %d reads of a store writing alone, want at most a few", n, reads.Load())
	}
}
