package durablestreams_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rewindhq/rewind/eventstore/durablestreams"
)

// longPoll starts a long-poll read in the background.
func longPoll(t *testing.T, srv *server, name, offset string, kv ...string) <-chan reply {
	t.Helper()
	ch := make(chan reply, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.url(name+"?live=long-poll&offset="+offset), nil)
		for i := 0; i+1 < len(kv); i += 2 {
			req.Header.Set(kv[i], kv[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			ch <- reply{code: -1, body: []byte(err.Error())}
			return
		}
		defer resp.Body.Close()
		var b strings.Builder
		bufio.NewReader(resp.Body).WriteTo(&b)
		ch <- reply{code: resp.StatusCode, header: resp.Header, body: []byte(b.String())}
	}()
	return ch
}

func await(t *testing.T, ch <-chan reply, within time.Duration, what string) reply {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(within):
		t.Fatalf("%s: no answer within %v", what, within)
		return reply{}
	}
}

func TestLongPollWakesOnAppend(t *testing.T) {
	srv := newServer(t, openStore(t, t.TempDir()), durablestreams.WithLongPollTimeout(time.Minute))
	const name = "lp/wake"
	tail := srv.do("PUT", name, []byte(`[1]`), "Content-Type", "application/json").must(t, 201, "PUT").get("Stream-Next-Offset")
	ch := longPoll(t, srv, name, tail)
	time.Sleep(300 * time.Millisecond) // let it park
	post := srv.do("POST", name, []byte(`{"n":2}`), "Content-Type", "application/json").must(t, 204, "POST")
	r := await(t, ch, 10*time.Second, "long-poll")
	if r.code != 200 || !jsonEqual(t, r.body, []byte(`[{"n":2}]`)) {
		t.Fatalf("the woken long-poll answered %d %q, want 200 with the new message", r.code, r.body)
	}
	if r.get("Stream-Cursor") == "" || r.get("Stream-Next-Offset") != post.get("Stream-Next-Offset") {
		t.Errorf("woken long-poll: cursor %q next %q, want a cursor and %q", r.get("Stream-Cursor"),
			r.get("Stream-Next-Offset"), post.get("Stream-Next-Offset"))
	}
	// The cursor steps past the client's, and never overflows.
	for _, c := range []string{r.get("Stream-Cursor"), "9223372036854775807", "9223372036854775700"} {
		got := srv.do("GET", name+"?offset=-1&live=long-poll&cursor="+c, nil).must(t, 200, "long-poll with a cursor").get("Stream-Cursor")
		if n, err := strconv.ParseInt(got, 10, 64); err != nil || n < 0 || got == c {
			t.Errorf("cursor %s answered with cursor %q", c, got)
		}
	}
	// Data already there answers at once.
	r = await(t, longPoll(t, srv, name, "-1"), 5*time.Second, "long-poll with data")
	if r.code != 200 || !jsonEqual(t, r.body, []byte(`[1,{"n":2}]`)) {
		t.Errorf("long-poll with data: %d %s", r.code, r.body)
	}
}

func TestLongPollTimesOut(t *testing.T) {
	srv := newServer(t, openStore(t, t.TempDir()), durablestreams.WithLongPollTimeout(200*time.Millisecond))
	const name = "lp/timeout"
	tail := srv.do("PUT", name, []byte("x"), "Content-Type", "text/plain").must(t, 201, "PUT").get("Stream-Next-Offset")
	start := time.Now()
	r := await(t, longPoll(t, srv, name, tail), 10*time.Second, "long-poll")
	if took := time.Since(start); took < 200*time.Millisecond {
		t.Errorf("the long-poll answered after %v, before its 200ms timeout", took)
	}
	if r.code != 204 || r.get("Stream-Next-Offset") != tail || r.get("Stream-Up-To-Date") != "true" || r.get("Stream-Cursor") == "" {
		t.Errorf("timed-out long-poll: %d next %q up-to-date %q cursor %q", r.code, r.get("Stream-Next-Offset"),
			r.get("Stream-Up-To-Date"), r.get("Stream-Cursor"))
	}
	// A closed stream at its tail answers at once, closed.
	srv.do("POST", name, nil, "Stream-Closed", "true").must(t, 204, "close")
	start = time.Now()
	r = await(t, longPoll(t, srv, name, tail), 10*time.Second, "long-poll on a closed stream")
	if r.code != 204 || r.get("Stream-Closed") != "true" || time.Since(start) > 5*time.Second {
		t.Errorf("long-poll at the tail of a closed stream: %d closed %q after %v", r.code, r.get("Stream-Closed"), time.Since(start))
	}
}

// sseEvent is one server-sent event.
type sseEvent struct {
	kind, data string
}

func TestSSE(t *testing.T) {
	srv := newServer(t, openStore(t, t.TempDir()))
	const name = "sse/s"
	srv.do("PUT", name, []byte(`[{"a":1}]`), "Content-Type", "application/json").must(t, 201, "PUT")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.url(name+"?offset=-1&live=sse"), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("SSE: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	evs := make(chan sseEvent, 16)
	go func() {
		defer close(evs)
		sc := bufio.NewScanner(resp.Body)
		var ev sseEvent
		var data []string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				ev.data = strings.Join(data, "\n")
				evs <- ev
				ev, data = sseEvent{}, nil
			case strings.HasPrefix(line, "event:"):
				ev.kind = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
			case strings.HasPrefix(line, "data:"):
				data = append(data, strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " "))
			}
		}
	}()
	next := func(kind string) sseEvent {
		t.Helper()
		select {
		case ev, ok := <-evs:
			if !ok {
				t.Fatalf("the SSE response ended before a %s event", kind)
			}
			if ev.kind != kind {
				t.Fatalf("SSE event %q %q, want a %s event", ev.kind, ev.data, kind)
			}
			return ev
		case <-ctx.Done():
			t.Fatalf("no %s event", kind)
		}
		return sseEvent{}
	}
	control := func() map[string]any {
		t.Helper()
		var c map[string]any
		if ev := next("control"); json.Unmarshal([]byte(ev.data), &c) != nil {
			t.Fatalf("control event %q is not JSON", ev.data)
		}
		return c
	}
	if ev := next("data"); !jsonEqual(t, []byte(ev.data), []byte(`[{"a":1}]`)) {
		t.Errorf("first data event %q", ev.data)
	}
	if c := control(); c["upToDate"] != true || c["streamCursor"] == nil || c["streamNextOffset"] == nil {
		t.Errorf("first control event %v", c)
	}
	post := srv.do("POST", name, []byte(`"b"`), "Content-Type", "application/json").must(t, 204, "POST")
	if ev := next("data"); ev.data != `["b"]` {
		t.Errorf("live data event %q", ev.data)
	}
	if c := control(); c["streamNextOffset"] != post.get("Stream-Next-Offset") {
		t.Errorf("live control event %v, want next offset %s", c, post.get("Stream-Next-Offset"))
	}
	srv.do("POST", name, []byte(`"last"`), "Content-Type", "application/json", "Stream-Closed", "true").must(t, 204, "POST and close")
	if ev := next("data"); ev.data != `["last"]` {
		t.Errorf("data event before the close %q", ev.data)
	}
	if c := control(); c["streamClosed"] != true {
		t.Errorf("final control event %v, want streamClosed", c)
	}
	select {
	case ev, ok := <-evs:
		if ok {
			t.Errorf("an event after the close: %+v", ev)
		}
	case <-ctx.Done():
		t.Error("the SSE response did not end after the close")
	}
}

func TestMaxWaiting(t *testing.T) {
	const n = 2
	srv := newServer(t, openStore(t, t.TempDir()), durablestreams.WithMaxWaiting(n), durablestreams.WithLongPollTimeout(time.Minute))
	const name = "lp/max"
	tail := srv.do("PUT", name, nil, "Content-Type", "application/json").must(t, 201, "PUT").get("Stream-Next-Offset")
	// Of n+1 long-polls at once, one is refused at once, whichever it
	// is, and the others wait.
	answers := make(chan reply, n+1)
	for range n + 1 {
		ch := longPoll(t, srv, name, tail)
		go func() { answers <- <-ch }()
	}
	refused := await(t, answers, 20*time.Second, "long-poll past the limit")
	if refused.code != http.StatusServiceUnavailable {
		t.Fatalf("with %d long-polls waiting, another answered %d %q, want 503", n, refused.code, refused.body)
	}
	checkReason(t, "503", refused)
	if r := await(t, longPoll(t, srv, name, tail), 10*time.Second, "one more"); r.code != http.StatusServiceUnavailable {
		t.Errorf("with %d long-polls waiting, one more answered %d, want 503", n, r.code)
	}
	if refused.get("Retry-After") == "" || strings.TrimSpace(string(refused.body)) == "" {
		t.Errorf("503 without Retry-After or reason: %v %q", refused.header, refused.body)
	}
	// A plain read does not wait and is not counted.
	srv.do("GET", name+"?offset=-1", nil).must(t, 200, "GET while the long-polls wait")
	srv.do("POST", name, []byte(`1`), "Content-Type", "application/json").must(t, 204, "POST")
	for i := range n {
		if r := await(t, answers, 10*time.Second, "waiting long-poll"); r.code != 200 {
			t.Errorf("waiting long-poll %d: %d %q", i, r.code, r.body)
		}
	}
}

func TestShutdownEndsWaits(t *testing.T) {
	srv := newServer(t, openStore(t, t.TempDir()), durablestreams.WithLongPollTimeout(time.Minute))
	const name = "lp/shutdown"
	tail := srv.do("PUT", name, nil, "Content-Type", "application/json").must(t, 201, "PUT").get("Stream-Next-Offset")
	var polls []<-chan reply
	for range 5 {
		polls = append(polls, longPoll(t, srv, name, tail))
	}
	sseDone := make(chan error, 1)
	go func() {
		resp, err := http.Get(srv.url(name + "?live=sse&offset=" + tail))
		if err == nil {
			_, err = bufio.NewReader(resp.Body).WriteTo(&strings.Builder{})
			resp.Body.Close()
		}
		sseDone <- err
	}()
	time.Sleep(500 * time.Millisecond) // let them park
	start := time.Now()
	srv.handler.Shutdown()
	for i, ch := range polls { // they end together: 5 s is for all of them
		if r := await(t, ch, 5*time.Second-time.Since(start), "long-poll after Shutdown"); r.code != 204 {
			t.Errorf("long-poll %d after Shutdown: %d %q", i, r.code, r.body)
		}
	}
	select {
	case err := <-sseDone:
		if err != nil {
			t.Errorf("SSE after Shutdown: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("an SSE response outlived Shutdown")
	}
	t.Logf("waits ended %v after Shutdown", time.Since(start))
}

// TestDeleteEndsLiveReads: a DELETE ends the long-polls and SSE answers
// waiting at the stream's tail, as the reference server does, so their
// clients learn that the stream is gone (their next request is a 404).
// They waited on: the SSE answer for its whole lifetime, and, if the
// stream was made again meanwhile, went on with the new stream's
// messages as if they followed the old one's.
func TestDeleteEndsLiveReads(t *testing.T) {
	srv := newServer(t, openStore(t, t.TempDir()), durablestreams.WithLongPollTimeout(30*time.Second),
		durablestreams.WithSSELifetime(30*time.Second))
	for _, live := range []string{"sse", "long-poll"} {
		name := "del/live-" + live
		srv.do("PUT", name, []byte("one"), "Content-Type", "text/plain").must(t, 201, "PUT")
		tail := srv.do("HEAD", name, nil).must(t, 200, "HEAD").get("Stream-Next-Offset")
		ended := make(chan time.Time, 1)
		go func() {
			res, err := http.Get(srv.url(name) + "?offset=" + tail + "&live=" + live)
			if err == nil {
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
			}
			ended <- time.Now()
		}()
		time.Sleep(500 * time.Millisecond)
		srv.do("DELETE", name, nil).must(t, 204, "DELETE")
		deleted := time.Now()
		select {
		case at := <-ended:
			if d := at.Sub(deleted); d > 5*time.Second {
				t.Errorf("%s: the answer ended %v after the DELETE", live, d)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("%s: the answer still waited 10 s after its stream was deleted", live)
		}
	}
}
