package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rewindhq/rewind/internal/natscluster"
)

// TestServeOnCluster runs two "rewind serve --nats … --replicas 3" on a
// three-node cluster (nats-server processes): the log and the metadata
// bucket get three replicas; a stream made through one server is known to
// the other at once (no 404 for a POST right after the PUT); idempotent
// producers writing through both servers while the log's leader is killed
// with SIGKILL see only success or 503 with Retry-After, never a 500, and
// every acknowledged message is stored once; with two of the three nodes
// dead (no quorum) a request answers 503 with Retry-After, and after the
// restart the servers serve again.
func TestServeOnCluster(t *testing.T) {
	c := natscluster.Start(t, 3)
	serveArgs := func() []string {
		return []string{"--addr", "127.0.0.1:0", "--data", t.TempDir(), "--nats", c.URLs(), "--replicas", "3"}
	}
	servers := []*proc{startServe(t, nil, serveArgs()...), startServe(t, nil, serveArgs()...)}
	for _, s := range servers { // what a load balancer's probes ask
		mustDo(t, "GET", s.url+"/healthz", nil, 200)
		mustDo(t, "GET", s.url+"/readyz", nil, 200)
	}

	// A PUT through one, a POST through the other at once.
	for i := range 24 {
		url := fmt.Sprintf("/v1/stream/made/%d", i)
		mustDo(t, "PUT", servers[i%2].url+url, nil, 201, "Content-Type", "application/json")
		mustDo(t, "POST", servers[(i+1)%2].url+url, []byte(`{"n":1}`), 204, "Content-Type", "application/json")
	}
	nc, err := nats.Connect(c.URLs())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	replicas := func(name string) int {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for {
			st, err := js.Stream(ctx, name)
			if err == nil {
				return st.CachedInfo().Config.Replicas
			}
			if ctx.Err() != nil {
				t.Fatalf("stream %s: %v", name, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	for _, name := range []string{"rewind", "KV_rewind-meta"} {
		if n := replicas(name); n != 3 {
			t.Errorf("%s has %d replicas, want 3", name, n)
		}
	}

	// Producers through both servers across a kill of the log's leader.
	url := "/v1/stream/load/1"
	mustDo(t, "PUT", servers[0].url+url, nil, 201, "Content-Type", "application/json")
	const writers = 4
	acked := make([]int, writers)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 60 * time.Second}
	var mu sync.Mutex
	codes := map[int]int{}
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s := 0; ; {
				select {
				case <-stop:
					return
				default:
				}
				body, _ := json.Marshal(message{W: w, S: s})
				req, _ := http.NewRequest("POST", servers[w%2].url+url, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Producer-Id", "writer-"+strconv.Itoa(w))
				req.Header.Set("Producer-Epoch", "0")
				req.Header.Set("Producer-Seq", strconv.Itoa(s))
				resp, err := client.Do(req)
				if err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				mu.Lock()
				codes[resp.StatusCode]++
				mu.Unlock()
				switch resp.StatusCode {
				case 200, 204:
					s++
					mu.Lock()
					acked[w] = s
					mu.Unlock()
				case 503:
					if resp.Header.Get("Retry-After") == "" {
						t.Errorf("writer %d: 503 without Retry-After", w)
					}
					time.Sleep(100 * time.Millisecond) // then the same seq again
				default:
					t.Errorf("writer %d: POST answered %d", w, resp.StatusCode)
					return
				}
			}
		}()
	}
	progress := func() int {
		n := 0
		for w := range writers {
			mu.Lock()
			n += acked[w]
			mu.Unlock()
		}
		return n
	}
	waitProgress := func(n int) {
		from := progress()
		deadline := time.Now().Add(60 * time.Second)
		for progress() < from+n {
			if time.Now().After(deadline) {
				t.Fatalf("the HTTP writers made no progress for 60 s (codes %v)", codes)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitProgress(40)
	leader := c.StreamLeader("rewind")
	t.Logf("kill -9 %s (the log's leader)", c.Nodes[leader].Name)
	c.Kill(leader)
	waitProgress(40)
	c.Restart(leader)
	c.WaitReady(60 * time.Second)
	waitProgress(40)
	close(stop)
	wg.Wait()
	mu.Lock()
	t.Logf("answers: %v", codes)
	mu.Unlock()

	// Every acknowledged message once, in each writer's order.
	got := readAllMessages(t, servers[1].url+url)
	next := make([]int, writers)
	for _, m := range got {
		if m.S != next[m.W] {
			t.Fatalf("writer %d: message %d after %d", m.W, m.S, next[m.W]-1)
		}
		next[m.W]++
	}
	for w := range writers {
		if next[w] < acked[w] {
			t.Errorf("writer %d: %d messages stored, %d acknowledged", w, next[w], acked[w])
		}
	}

	// No quorum: 503 with Retry-After, never 500.
	dead := []int{(leader + 1) % 3, (leader + 2) % 3}
	for _, i := range dead {
		c.Kill(i)
	}
	req, _ := http.NewRequest("POST", servers[0].url+"/v1/stream/made/1", bytes.NewReader([]byte(`{"n":2}`)))
	req.Header.Set("Content-Type", "application/json")
	r, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, r.Body)
	r.Body.Close()
	if r.StatusCode != 503 || r.Header.Get("Retry-After") == "" {
		t.Errorf("POST without a quorum: %d, Retry-After %q; want 503 with Retry-After", r.StatusCode, r.Header.Get("Retry-After"))
	}
	for _, i := range dead {
		c.Restart(i)
	}
	c.WaitReady(60 * time.Second)
	deadline := time.Now().Add(60 * time.Second)
	for {
		req, _ := http.NewRequest("POST", servers[1].url+"/v1/stream/made/2", bytes.NewReader([]byte(`{"n":2}`)))
		req.Header.Set("Content-Type", "application/json")
		r, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode == 204 {
			break
		}
		if r.StatusCode != 503 || time.Now().After(deadline) {
			t.Fatalf("POST after the restart: %d", r.StatusCode)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// readAllMessages reads a JSON stream's messages from the start to its
// end, page by page.
func readAllMessages(t *testing.T, url string) []message {
	t.Helper()
	var all []message
	for offset := "-1"; ; {
		resp, err := http.Get(url + "?offset=" + offset)
		if err != nil {
			t.Fatal(err)
		}
		var page []message
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET %s?offset=%s: %d %v", url, offset, resp.StatusCode, err)
		}
		all = append(all, page...)
		if resp.Header.Get("Stream-Up-To-Date") == "true" || len(page) == 0 {
			return all
		}
		offset = resp.Header.Get("Stream-Next-Offset")
	}
}
