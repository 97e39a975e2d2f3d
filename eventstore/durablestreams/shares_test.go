package durablestreams_test

import (
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
