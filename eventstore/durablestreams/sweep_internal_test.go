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
