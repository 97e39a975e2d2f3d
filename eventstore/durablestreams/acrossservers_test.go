package durablestreams_test

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rewindhq/rewind/eventstore"
	"github.com/rewindhq/rewind/eventstore/durablestreams"
)

// storesSharingALog returns an embedded store with a listener and a store
// connected to it: two processes' stores on one log.
func storesSharingALog(t *testing.T) (a, b *eventstore.Store) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	a, err := eventstore.Open(ctx, t.TempDir(), eventstore.WithListen("127.0.0.1", 0), eventstore.WithLogger(quietLog))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { a.Close() })
	b, err = eventstore.Connect(ctx, a.ClientURL(), eventstore.WithIndexDir(t.TempDir()), eventstore.WithLogger(quietLog))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return a, b
}

// quietWait is longer than a store's tailer takes to stop its consumer of
// the log once nobody else writes (about a second).
const quietWait = 3 * time.Second

// TestLiveAcrossServersAfterSilence: two servers on two stores of one log.
// After a silence long enough for each store's tailer to stop following
// the log live, a long-poll and an SSE reader on one server still wake
// when a message is POSTed through the other.
func TestLiveAcrossServersAfterSilence(t *testing.T) {
	sa, sb := storesSharingALog(t)
	a := newServer(t, sa, durablestreams.WithLongPollTimeout(time.Minute))
	b := newServer(t, sb, durablestreams.WithLongPollTimeout(time.Minute))
	const name = "across/1"
	tail := a.do("PUT", name, []byte(`[1]`), "Content-Type", "application/json").must(t, 201, "PUT").get("Stream-Next-Offset")
	b.do("GET", name+"?offset=-1", nil).must(t, 200, "read through the other server")

	time.Sleep(quietWait)
	ch := longPoll(t, b, name, tail)
	time.Sleep(300 * time.Millisecond) // let it park
	start := time.Now()
	post := a.do("POST", name, []byte(`{"n":2}`), "Content-Type", "application/json").must(t, 204, "POST")
	r := await(t, ch, 10*time.Second, "long-poll on the other server")
	t.Logf("the long-poll answered %v after the POST began", time.Since(start))
	if r.code != 200 || !jsonEqual(t, r.body, []byte(`[{"n":2}]`)) || r.get("Stream-Next-Offset") != post.get("Stream-Next-Offset") {
		t.Fatalf("the long-poll answered %d %q next %q, want 200 with the new message, next %q", r.code, r.body,
			r.get("Stream-Next-Offset"), post.get("Stream-Next-Offset"))
	}

	time.Sleep(quietWait)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", b.url(name+"?offset="+post.get("Stream-Next-Offset")+"&live=sse"), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("SSE: %d", resp.StatusCode)
	}
	data := make(chan string, 16)
	go func() {
		defer close(data)
		sc := bufio.NewScanner(resp.Body)
		kind := ""
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event:"):
				kind = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
			case strings.HasPrefix(line, "data:") && kind == "data":
				data <- strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " ")
			}
		}
	}()
	time.Sleep(300 * time.Millisecond) // let it reach the live part
	start = time.Now()
	a.do("POST", name, []byte(`"three"`), "Content-Type", "application/json").must(t, 204, "POST")
	select {
	case d, ok := <-data:
		if !ok || d != `["three"]` {
			t.Fatalf("SSE on the other server: %q (open %v), want [\"three\"]", d, ok)
		}
		t.Logf("the SSE event came %v after the POST began", time.Since(start))
	case <-time.After(10 * time.Second):
		t.Fatal("SSE on the other server: no event within 10 s of the POST")
	}
}
