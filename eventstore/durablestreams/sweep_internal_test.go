package durablestreams

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rewindhq/rewind/eventstore"
)

// An expired stream nobody reads again is deleted by the sweep that a later
// request to any stream starts.
func TestSweepDeletesExpiredStreams(t *testing.T) {
	ctx := context.Background()
	store, err := eventstore.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	h := New(store)
	defer h.Shutdown()
	var clock atomicTime
	clock.set(time.Now())
	h.now = clock.get
	do := func(method, path, body string, hdr map[string]string) int {
		r := httptest.NewRequest(method, "http://127.0.0.1"+path, strings.NewReader(body))
		// A client on this machine: the handler has no Authorizer.
		r.RemoteAddr = "127.0.0.1:1234"
		for k, v := range hdr {
			r.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	if c := do("PUT", "/v1/stream/ttl/a", "hello", map[string]string{"Content-Type": "text/plain", "Stream-TTL": "60"}); c != http.StatusCreated {
		t.Fatalf("PUT: %d", c)
	}
	if c := do("PUT", "/v1/stream/keep/b", "hello", map[string]string{"Content-Type": "text/plain"}); c != http.StatusCreated {
		t.Fatalf("PUT: %d", c)
	}
	clock.set(clock.get().Add(2 * time.Minute))
	do("HEAD", "/v1/stream/keep/b", "", nil) // starts the sweep; HEAD does not touch "ttl/a"
	deadline := time.Now().Add(10 * time.Second)
	for {
		md, err := store.Metadata(ctx, "ttl/a")
		if err != nil {
			t.Fatal(err)
		}
		hd, err := store.Head(ctx, "ttl/a")
		if err != nil {
			t.Fatal(err)
		}
		if md.Revision == 0 && hd.Version == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("expired stream still there: %+v %+v", md, hd)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if hd, _ := store.Head(ctx, "keep/b"); hd.Version != 1 {
		t.Fatalf("a stream without TTL was swept: %+v", hd)
	}
}

type atomicTime struct{ ns atomic.Int64 }

func (a *atomicTime) set(t time.Time) { a.ns.Store(t.UnixNano()) }
func (a *atomicTime) get() time.Time  { return time.Unix(0, a.ns.Load()) }

// Two handlers on one store (two servers on one NATS) agree on a stream's
// last use: the second's sweep does not delete a stream the first keeps
// writing, and deletes it once nobody has used it for its TTL.
func TestSweepOfAnotherHandlerKeepsUsedStream(t *testing.T) {
	ctx := context.Background()
	store, err := eventstore.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var clock atomicTime
	clock.set(time.Now())
	a, b := New(store), New(store)
	defer a.Shutdown()
	defer b.Shutdown()
	a.now, b.now = clock.get, clock.get
	do := func(h *Handler, method, path, body string, hdr ...string) int {
		r := httptest.NewRequest(method, "http://127.0.0.1"+path, strings.NewReader(body))
		r.RemoteAddr = "127.0.0.1:1234"
		for i := 0; i+1 < len(hdr); i += 2 {
			r.Header.Set(hdr[i], hdr[i+1])
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	sweep := func(h *Handler) {
		h.lastSweep.Store(0)
		do(h, "HEAD", "/v1/stream/other", "") // starts a sweep
		h.sweepMu.Lock()                      // the sweep has been added to h.sweeps
		h.sweepMu.Unlock()
		h.sweeps.Wait()
	}
	if c := do(a, "PUT", "/v1/stream/ttl/kept", "", "Content-Type", "text/plain", "Stream-TTL", "60"); c != http.StatusCreated {
		t.Fatalf("PUT via A: %d", c)
	}
	for range 4 { // 4 × 40 s: far past the TTL since the creation
		clock.set(clock.get().Add(40 * time.Second))
		if c := do(a, "POST", "/v1/stream/ttl/kept", "x", "Content-Type", "text/plain"); c != http.StatusNoContent {
			t.Fatalf("POST via A: %d", c)
		}
		sweep(b)
		if c := do(b, "HEAD", "/v1/stream/ttl/kept", ""); c != http.StatusOK {
			t.Fatalf("after B's sweep, HEAD via B: %d", c)
		}
	}
	// Unused for more than its TTL (and the quarter of slack): B's sweep
	// deletes it.
	clock.set(clock.get().Add(76 * time.Second))
	sweep(b)
	if md, _ := store.Metadata(ctx, "ttl/kept"); md.Revision != 0 {
		t.Fatalf("an expired stream survived the sweep: %+v", md)
	}
}
