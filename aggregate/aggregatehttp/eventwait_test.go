package aggregatehttp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rewindhq/rewind/aggregate/aggregatehttp"
	"github.com/rewindhq/rewind/eventstore/access"
)

// Requests parked on one category's events share one subscription: far
// more of them than the store's server has consumers all wait, and one
// append wakes them all with it.
func TestManyWaitsOnOneCategory(t *testing.T) {
	s := newServer(t)
	s.command(t, "c1", `{"type":"Open","customer":"ann"}`)
	from := s.head(t, "c1").Offset
	const n = 1100
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 0, MaxIdleConnsPerHost: n}}
	defer client.CloseIdleConnections()
	type answer struct {
		code int
		ev   aggregatehttp.Events
		body string
	}
	answers := make(chan answer, n)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := client.Get(s.url + "/v1/events?category=carts&wait=60s&from=" + string(from))
			if err != nil {
				answers <- answer{code: -1, body: err.Error()}
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			var ev aggregatehttp.Events
			_ = json.Unmarshal(b, &ev)
			answers <- answer{code: resp.StatusCode, ev: ev, body: string(b)}
		}()
	}
	time.Sleep(3 * time.Second) // most are parked by now; the others read the event at once
	res := s.command(t, "c1", `{"type":"Tag","tags":["wake"]}`)
	wg.Wait()
	close(answers)
	bad := 0
	for a := range answers {
		if a.code != 200 || len(a.ev.Events) == 0 || a.ev.Events[0].Offset != res.Offset {
			if bad++; bad <= 5 {
				t.Errorf("a waiter got %d %.200s, want the event at %s", a.code, a.body, res.Offset)
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%d of %d waiters did not get the event", bad, n)
	}
}

// The categories watched at once are bounded, but a wait past the bound
// is not refused: it looks for its event once a second, so that waits on
// made-up categories cannot keep a real one's waits out.
func TestWaitsPastTheWatchedCategories(t *testing.T) {
	s := newServer(t)
	s.command(t, "c1", `{"type":"Open","customer":"ann"}`)
	from := s.head(t, "c1").Offset
	const n = 300 // more than the bound, 256
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	early := make(chan string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/v1/events?category=cat%d&wait=60s&from=now", s.url, i), nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return // cancelled below
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			early <- fmt.Sprintf("%d %s", resp.StatusCode, b)
		}()
	}
	// Every watch is taken (the others of the 300 poll) before the wait
	// on a real category comes.
	for end := time.Now().Add(30 * time.Second); aggregatehttp.WatchedCategories(s.reg) < 256; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("%d categories watched after 30 s, want 256", aggregatehttp.WatchedCategories(s.reg))
		}
	}
	type answer struct {
		code int
		ev   aggregatehttp.Events
		err  error
	}
	got := make(chan answer, 1)
	go func() {
		resp, err := http.Get(s.url + "/v1/events?category=carts&wait=60s&from=" + string(from))
		if err != nil {
			got <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		a := answer{code: resp.StatusCode}
		a.err = json.NewDecoder(resp.Body).Decode(&a.ev)
		got <- a
	}()
	time.Sleep(500 * time.Millisecond)
	res := s.command(t, "c1", `{"type":"Tag","tags":["wake"]}`)
	select {
	case a := <-got:
		if a.err != nil || a.code != 200 || len(a.ev.Events) != 1 || a.ev.Events[0].Offset != res.Offset {
			t.Errorf("the wait past the bound: %d %+v %v, want the event at %s", a.code, a.ev, a.err, res.Offset)
		}
	case <-time.After(10 * time.Second):
		t.Error("the wait past the bound did not get its event")
	}
	select {
	case a := <-early:
		t.Errorf("a wait on a category with no event answered: %s", a)
	default:
	}
	cancel()
	wg.Wait()
}

// Shutdown ends the waits in progress, on a stream and on a category, as
// if they had run out: 200, no events, and the offset to ask from again;
// a wait that starts after it answers at once; reads that do not wait,
// and commands, go on as before.
func TestShutdownEndsWaits(t *testing.T) {
	s := newServer(t)
	s.command(t, "c1", `{"type":"Open","customer":"ann"}`)
	from := string(s.head(t, "c1").Offset)
	type answer struct {
		query string
		code  int
		ev    aggregatehttp.Events
		took  time.Duration
		err   error
	}
	get := func(query string) answer {
		start := time.Now()
		resp, err := http.Get(s.url + "/v1/events?" + query)
		if err != nil {
			return answer{query: query, err: err}
		}
		defer resp.Body.Close()
		a := answer{query: query, code: resp.StatusCode, took: time.Since(start)}
		a.err = json.NewDecoder(resp.Body).Decode(&a.ev)
		return a
	}
	queries := []string{"stream=carts/c1/events&wait=60s&from=" + from, "category=carts&wait=60s&from=" + from}
	answers := make(chan answer, len(queries))
	for _, q := range queries {
		go func() { answers <- get(q) }()
	}
	time.Sleep(time.Second) // both parked
	s.reg.Shutdown()
	for range queries {
		select {
		case a := <-answers:
			if a.err != nil || a.code != 200 || len(a.ev.Events) != 0 || a.ev.Next != from {
				t.Errorf("%s after Shutdown: %d %+v %v, want 200, no events, next %s", a.query, a.code, a.ev, a.err, from)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a wait still runs 10 s after Shutdown")
		}
	}
	if a := get(queries[1]); a.err != nil || a.code != 200 || len(a.ev.Events) != 0 || a.took > 5*time.Second {
		t.Errorf("a wait after Shutdown: %d %+v %v in %v, want 200 and no events at once", a.code, a.ev, a.err, a.took)
	}
	res := s.command(t, "c1", `{"type":"Tag","tags":["after"]}`)
	if a := get("stream=carts/c1/events&from=" + from); a.err != nil || a.code != 200 || len(a.ev.Events) != 1 || a.ev.Events[0].Offset != res.Offset {
		t.Errorf("a read after Shutdown: %d %+v %v, want the event at %s", a.code, a.ev, a.err, res.Offset)
	}
}

// A query parameter an endpoint does not read is a 400 that names those
// it does: ?verison=1 (a typo) must not answer the state now as if it were
// the state at version 1.
func TestUnknownQueryParameters(t *testing.T) {
	s := newServer(t)
	s.command(t, "c1", `{"type":"Open","customer":"ann"}`)
	for _, tc := range []struct{ path, takes string }{
		{"/v1/state/carts/c1?verison=1", "takes version, at"},
		{"/v1/diff/carts/c1?from=1&too=2", "takes from, to"},
		{"/v1/timeline/carts/c1?form=1", "takes from, limit, axis"},
		{"/v1/events?stream=carts/c1/events&fromm=-1", "takes stream, category, from, limit, wait"},
		{"/v1/aggregates?x=1", "takes no query parameters"},
	} {
		code, body := s.do(t, http.MethodGet, tc.path, "")
		if code != http.StatusBadRequest || !strings.Contains(string(body), "unknown query parameter") || !strings.Contains(string(body), tc.takes) {
			t.Errorf("GET %s: %d %s, want 400 naming what it %s", tc.path, code, body, tc.takes)
		}
	}
	for _, path := range []string{"/v1/state/carts/c1?version=1", "/v1/state/carts/c1?at=2030-01-01T00:00:00Z",
		"/v1/timeline/carts/c1?from=1&limit=5&axis=true", "/v1/streams?category=carts&limit=2&total=true",
		"/v1/search?category=carts&type=Opened&limit=5", "/v1/export/carts/c1?to=1"} {
		if code, body := s.do(t, http.MethodGet, path, ""); code != http.StatusOK {
			t.Errorf("GET %s: %d %s, want 200", path, code, body)
		}
	}
}

// One client, known by its token, may park at most a quarter of the
// waits: past it, its next wait is a 503 with Retry-After, while another
// client's waits are still taken; what it gives back is its own again.
func TestEventWaitsShareByClient(t *testing.T) {
	s := newServer(t)
	s.command(t, "c1", `{"type":"Open","customer":"ann"}`)
	from := s.head(t, "c1").Offset
	reg := aggregatehttp.NewRegistry(s.store)
	if err := aggregatehttp.Register(reg, s.repo); err != nil {
		t.Fatal(err)
	}
	aggregatehttp.SetEventWaiters(reg, 8) // a client's share: 2
	auth := access.AuthorizerFunc(func(r *http.Request, op access.Op) error {
		if tok, ok := access.BearerToken(r); ok && (tok == "alice" || tok == "bob") {
			return nil
		}
		return &access.UnauthenticatedError{Reason: "who are you?"}
	})
	srv := httptest.NewServer(reg.Handler(aggregatehttp.WithAuthorizer(auth)))
	defer srv.Close()
	defer reg.Shutdown()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	defer client.CloseIdleConnections()
	get := func(ctx context.Context, token string, wait string) (*http.Response, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/v1/events?stream=carts/c1&wait="+wait+"&from="+string(from), nil)
		req.Header.Set("Authorization", "Bearer "+token)
		return client.Do(req)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	park := func(token string) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if resp, err := get(ctx, token, "60s"); err == nil {
				resp.Body.Close()
			}
		}()
	}
	waitFor := func(n int) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); aggregatehttp.EventWaiters(reg) != n; {
			if time.Now().After(deadline) {
				t.Fatalf("%d requests waiting, want %d", aggregatehttp.EventWaiters(reg), n)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	park("alice")
	park("alice")
	waitFor(2)
	resp, err := get(context.Background(), "alice", "60s")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(body), "share") {
		t.Errorf("alice's third wait: %d, Retry-After %q, %s; want 503 with Retry-After and a reason", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	// Another client still waits: its request is parked, not refused.
	park("bob")
	waitFor(3)
	// A request that does not wait is not counted against the share.
	resp, err = get(context.Background(), "alice", "0s")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("alice's read without a wait: %d, want 200", resp.StatusCode)
	}
	cancel()
	wg.Wait()
	waitFor(0)
	// Given back: alice waits again (and the wait runs out, answering 200).
	resp, err = get(context.Background(), "alice", "50ms")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("alice's wait after hers ended: %d, want 200", resp.StatusCode)
	}
}
