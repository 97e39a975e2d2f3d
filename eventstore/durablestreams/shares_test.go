package durablestreams_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rewindhq/rewind/eventstore/access"
	"github.com/rewindhq/rewind/eventstore/durablestreams"
)

// TestWaitsShareByClient: one client (one bearer token) may park a
// quarter of the waits the server takes, and no more; another client
// still parks its own. (A token once parked ten thousand long-polls in
// half a second, and every other client's wait was a 503.)
func TestWaitsShareByClient(t *testing.T) {
	const n = 8 // a client's share: 2
	anyToken := access.AuthorizerFunc(func(r *http.Request, op access.Op) error {
		if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
			return access.ErrUnauthenticated
		}
		return nil
	})
	srv := newServer(t, openStore(t, t.TempDir()), durablestreams.WithAuthorizer(anyToken),
		durablestreams.WithMaxWaiting(n), durablestreams.WithLongPollTimeout(time.Minute))
	const name = "share/lp"
	tail := srv.do("PUT", name, nil, "Content-Type", "application/json", "Authorization", "Bearer a").must(t, 201, "PUT").get("Stream-Next-Offset")
	poll := func(token string) <-chan reply { return longPoll(t, srv, name, tail, "Authorization", "Bearer "+token) }
	answers := make(chan reply, 3)
	for range 3 {
		ch := poll("a")
		go func() { answers <- <-ch }()
	}
	refused := await(t, answers, 20*time.Second, "a's third long-poll")
	if refused.code != http.StatusServiceUnavailable || !strings.Contains(string(refused.body), "this client") || refused.get("Retry-After") == "" {
		t.Fatalf("a's third long-poll with two waiting: %d %q %v, want 503 naming the client's share", refused.code, refused.body, refused.header)
	}
	// b parks its own, beside a's two.
	bs := []<-chan reply{poll("b"), poll("b")}
	time.Sleep(300 * time.Millisecond)
	srv.do("POST", name, []byte(`1`), "Content-Type", "application/json", "Authorization", "Bearer a").must(t, 204, "POST")
	for i := range 2 {
		if r := await(t, answers, 10*time.Second, "a's waiting long-poll"); r.code != 200 {
			t.Errorf("a's long-poll %d: %d %q", i, r.code, r.body)
		}
	}
	for i, ch := range bs {
		if r := await(t, ch, 10*time.Second, "b's long-poll"); r.code != 200 {
			t.Errorf("b's long-poll %d: %d %q", i, r.code, r.body)
		}
	}
}

// TestWaitsShareByClientHowEverSpelt: a token is one client however its
// Authorization header spells it ("bearer", more spaces, a JWT's
// signature with other spare bits), since the authorizer takes every
// spelling. A token spelt two ways once parked twice its share.
func TestWaitsShareByClientHowEverSpelt(t *testing.T) {
	const n = 8 // a client's share: 2
	tok, line, err := access.NewToken("admin")
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := access.ParseTokens(strings.NewReader(line + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	srv := newServer(t, openStore(t, t.TempDir()), durablestreams.WithAuthorizer(tokens),
		durablestreams.WithMaxWaiting(n), durablestreams.WithLongPollTimeout(time.Minute))
	const name = "share/spelt"
	tail := srv.do("PUT", name, nil, "Content-Type", "application/json", "Authorization", "Bearer "+tok).must(t, 201, "PUT").get("Stream-Next-Offset")
	answers := make(chan reply, 3)
	for _, spelt := range []string{"Bearer " + tok, "bearer  " + tok, "BEARER   " + tok} {
		ch := longPoll(t, srv, name, tail, "Authorization", spelt)
		go func() { answers <- <-ch }()
		time.Sleep(100 * time.Millisecond)
	}
	refused := await(t, answers, 20*time.Second, "the token's third long-poll")
	if refused.code != http.StatusServiceUnavailable || !strings.Contains(string(refused.body), "this client") {
		t.Fatalf("the token's third long-poll, spelt another way, with two waiting: %d %q, want 503 naming the client's share", refused.code, refused.body)
	}
	srv.do("POST", name, []byte(`1`), "Content-Type", "application/json", "Authorization", "Bearer "+tok).must(t, 204, "POST")
	for range 2 {
		await(t, answers, 10*time.Second, "a waiting long-poll")
	}
}

// TestBodiesInFlightShareByClient: one client's bodies that trickle in
// hold at most its share of the bodies in flight, so another client's
// append still goes. Four chunked POSTs that sent a byte every few
// seconds, each counted at the largest body, held the whole budget of
// rewind serve for two minutes: every other append over 512 bytes was
// a 503.
func TestBodiesInFlightShareByClient(t *testing.T) {
	const size = 100_000 // a client's share: 25,000
	srv := newServer(t, openStore(t, t.TempDir()), durablestreams.WithAuthorizer(bearerAny(t)),
		durablestreams.WithMaxBodiesInFlight(size))
	srv.do("PUT", "in/s", nil, "Content-Type", "application/octet-stream", "Authorization", "Bearer b").must(t, 201, "PUT")
	slow := fmt.Sprintf("POST /v1/stream/in/s HTTP/1.1\nHost: 127.0.0.1\nAuthorization: Bearer a\nContent-Type: application/octet-stream\nContent-Length: %d\n", size/4)
	for range 4 {
		rawRequest(t, srv.http, slow, []byte("x")) // and the rest never comes
	}
	time.Sleep(300 * time.Millisecond) // the slow ones reached the handler
	body := bytes.Repeat([]byte("y"), size/4)
	srv.do("POST", "in/s", body, "Content-Type", "application/octet-stream", "Authorization", "Bearer b").must(t, http.StatusNoContent, "b's POST while a's bodies trickle in")
	r := srv.do("POST", "in/s", body, "Content-Type", "application/octet-stream", "Authorization", "Bearer a")
	r.must(t, http.StatusServiceUnavailable, "a's POST beyond its share")
	if !strings.Contains(string(r.body), "this client") {
		t.Errorf("a's POST beyond its share: %q, want it to name the client's share", r.body)
	}
}

// bearerAny takes any bearer token as a client of its own.
func bearerAny(t *testing.T) access.Authorizer {
	return access.AuthorizerFunc(func(r *http.Request, op access.Op) error {
		if _, ok := access.BearerToken(r); !ok {
			return access.ErrUnauthenticated
		}
		return nil
	})
}

// TestChunkedBodiesHoldWhatArrives: a chunked body holds 64 KiB of the
// bodies in flight, then more as its bytes arrive, not the largest body
// from its first byte: four chunked POSTs trickling in from one client
// leave it room for another POST; a chunked body that grows past what the
// client's share has left is refused with 503 when it does, and gives back
// what it held.
func TestChunkedBodiesHoldWhatArrives(t *testing.T) {
	const bound = 4 << 20 // a client's share: 1 MiB
	srv := newServer(t, openStore(t, t.TempDir()), durablestreams.WithAuthorizer(bearerAny(t)),
		durablestreams.WithMaxBodiesInFlight(bound))
	srv.do("PUT", "in/s", nil, "Content-Type", "application/octet-stream", "Authorization", "Bearer b").must(t, 201, "PUT")
	trickle := "POST /v1/stream/in/s HTTP/1.1\nHost: 127.0.0.1\nAuthorization: Bearer a\nContent-Type: application/octet-stream\nTransfer-Encoding: chunked\n"
	for range 4 {
		rawRequest(t, srv.http, trickle, []byte("1\r\nx\r\n")) // and the rest never comes
	}
	time.Sleep(300 * time.Millisecond) // the trickling ones reached the handler
	body := bytes.Repeat([]byte("y"), 512<<10)
	srv.do("POST", "in/s", body, "Content-Type", "application/octet-stream", "Authorization", "Bearer a").
		must(t, http.StatusNoContent, "a's POST of 512 KiB beside its four trickling chunked ones")

	chunked := func(token string, n int) (int, string) {
		req, err := http.NewRequest("POST", srv.url("in/s"), io.MultiReader(bytes.NewReader(bytes.Repeat([]byte("z"), n))))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/octet-stream")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, b := chunked("c", 600<<10); code != http.StatusNoContent {
		t.Fatalf("a chunked POST of 600 KiB: %d %s, want 204", code, b)
	}
	// d holds 900 KiB of its 1 MiB with a body that trickles in; its
	// chunked body of 300 KiB takes 64 KiB, then finds no room for more.
	rawRequest(t, srv.http, fmt.Sprintf("POST /v1/stream/in/s HTTP/1.1\nHost: 127.0.0.1\nAuthorization: Bearer d\nContent-Type: application/octet-stream\nContent-Length: %d\n", 900<<10), []byte("x"))
	time.Sleep(300 * time.Millisecond)
	if code, b := chunked("d", 300<<10); code != http.StatusServiceUnavailable || !strings.Contains(b, "this client") {
		t.Errorf("d's chunked POST past its share: %d %s, want 503 naming the client's share", code, b)
	}
	if code, b := chunked("d", 60<<10); code != http.StatusNoContent {
		t.Errorf("d's chunked POST of 60 KiB after the refused one: %d %s, want 204 (the refused one gave back what it held)", code, b)
	}
}

// TestNilOptionIgnored: a nil Option is ignored, as the store's are; the
// options beside it still apply.
func TestNilOptionIgnored(t *testing.T) {
	srv := newServer(t, openStore(t, t.TempDir()), nil, durablestreams.WithMaxBody(1000), nil)
	srv.do("PUT", "nil/s", nil, "Content-Type", "application/octet-stream").must(t, 201, "PUT")
	srv.do("POST", "nil/s", bytes.Repeat([]byte("x"), 1001), "Content-Type", "application/octet-stream").
		must(t, http.StatusRequestEntityTooLarge, "a POST past the WithMaxBody beside the nil options")
}
