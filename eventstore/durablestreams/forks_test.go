package durablestreams_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rewindhq/rewind/eventstore"
	"github.com/rewindhq/rewind/eventstore/access"
	"github.com/rewindhq/rewind/eventstore/durablestreams"
)

// TestProducerRetriesRace sends each producer sequence number four times
// at once: one is stored (200), the others are duplicates (204).
func TestProducerRetriesRace(t *testing.T) {
	srv := newServer(t, openStore(t, t.TempDir()))
	srv.do("PUT", "p/s", nil, "Content-Type", "application/json").must(t, 201, "PUT")
	for seq := 0; seq < 30; seq++ {
		var wg sync.WaitGroup
		codes := make([]int, 4)
		for i := range codes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				codes[i] = srv.do("POST", "p/s", []byte(fmt.Sprint(seq)), "Content-Type", "application/json",
					"Producer-Id", "x", "Producer-Epoch", "0", "Producer-Seq", fmt.Sprint(seq)).code
			}()
		}
		wg.Wait()
		n200 := 0
		for _, c := range codes {
			if c == 200 {
				n200++
			} else if c != 204 {
				t.Errorf("seq %d: %v", seq, codes)
			}
		}
		if n200 != 1 {
			t.Errorf("seq %d: %v", seq, codes)
		}
	}
	if n := len(events(t, srv.store, "p/s")); n != 30 {
		t.Errorf("%d events", n)
	}
}

// TestForkRacesDeleteOfSource forks a stream while it is being deleted:
// either the fork is refused and the source is gone, or the fork reads the
// source's messages and the source is soft-deleted until the fork goes.
func TestForkRacesDeleteOfSource(t *testing.T) {
	srv := newServer(t, openStore(t, t.TempDir()))
	for i := 0; i < 30; i++ {
		src, fork := fmt.Sprintf("r/src%d", i), fmt.Sprintf("r/fork%d", i)
		srv.do("PUT", src, []byte(`[1,2]`), "Content-Type", "application/json").must(t, 201, "PUT")
		var wg sync.WaitGroup
		var put, del reply
		wg.Add(2)
		go func() { defer wg.Done(); put = doURL(t, "PUT", srv.url(fork), nil, "Stream-Forked-From", src) }()
		go func() { defer wg.Done(); del = doURL(t, "DELETE", srv.url(src), nil) }()
		wg.Wait()
		switch {
		case del.code != 204 || put.code != 201 && put.code != 404:
			t.Errorf("%d: PUT fork %d, DELETE source %d", i, put.code, del.code)
		case put.code == 404:
			checkGone(t, srv, src)
		default:
			hs, fb := srv.do("HEAD", src, nil).code, string(srv.do("GET", fork+"?offset=-1", nil).body)
			if hs != 410 || fb != "[1,2]" {
				t.Errorf("%d: fork made, but source HEAD %d and fork reads %q", i, hs, fb)
			}
			srv.do("DELETE", fork, nil).must(t, 204, "DELETE fork")
			checkGone(t, srv, src)
		}
	}
}

// TestDeleteOfSourceRacesDeleteOfFork deletes a stream and its only fork
// at once: both are gone afterwards, whichever went first.
func TestDeleteOfSourceRacesDeleteOfFork(t *testing.T) {
	srv := newServer(t, openStore(t, t.TempDir()))
	for i := 0; i < 40; i++ {
		src, fork := fmt.Sprintf("q/src%d", i), fmt.Sprintf("q/fork%d", i)
		srv.do("PUT", src, []byte(`[1,2]`), "Content-Type", "application/json").must(t, 201, "PUT")
		srv.do("PUT", fork, nil, "Stream-Forked-From", src).must(t, 201, "PUT fork")
		var wg sync.WaitGroup
		var d1, d2 reply
		wg.Add(2)
		go func() { defer wg.Done(); d1 = doURL(t, "DELETE", srv.url(fork), nil) }()
		go func() { defer wg.Done(); d2 = doURL(t, "DELETE", srv.url(src), nil) }()
		wg.Wait()
		if d1.code != 204 || d2.code != 204 {
			t.Errorf("%d: DELETE fork %d, DELETE source %d", i, d1.code, d2.code)
		}
		checkGone(t, srv, fork)
		checkGone(t, srv, src)
	}
}

// checkGone checks that a stream is gone: no events and no metadata on the
// server, and 404 over HTTP.
// The store's in-memory mirror of the metadata must agree: it remembers a
// delete, so a racing SetMetadata's put reported after it cannot bring the
// stream back.
func checkGone(t *testing.T, srv *server, name string) {
	t.Helper()
	ctx := context.Background()
	if h := head(t, srv.store, name); h.Version != 0 || h.Closed {
		t.Errorf("%s is not gone: head %+v", name, h)
	}
	kv, err := srv.store.KeyValue(ctx, "rewind-meta")
	if err != nil {
		t.Fatal(err)
	}
	e, err := kv.Get(ctx, "s."+base64.RawURLEncoding.EncodeToString([]byte(name)))
	switch {
	case err == nil:
		t.Errorf("%s is not gone: its metadata is on the server, revision %d: %s", name, e.Revision(), e.Value())
		return
	case !errors.Is(err, jetstream.ErrKeyNotFound):
		t.Fatalf("metadata of %s: %v", name, err)
	}
	if code := srv.do("HEAD", name, nil).code; code != 404 {
		md, _ := srv.store.Metadata(ctx, name)
		t.Errorf("%s: HEAD %d though the server has no metadata: the store's mirror still has revision %d %v", name, code, md.Revision, md.Values)
	}
}

// A fork's source is checked as a stream's name before its read is
// authorized: a/../b passed the check of read:a and then named b (404
// "source does not exist"), another server's URL was taken for this one's
// stream of the same path, and a 403 quoted the name as sent. This
// server's own URL, a path and a name still name the source.
func TestForkSourceIsACanonicalName(t *testing.T) {
	tok, line, err := access.NewToken("write:f/*", "read:a")
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := access.ParseTokens(strings.NewReader(line + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	store := openStore(t, t.TempDir())
	srv := newServer(t, store, durablestreams.WithAuthorizer(tokens))
	for _, name := range []string{"a", "b"} {
		if _, err := store.Append(t.Context(), name, []eventstore.Event{{Type: durablestreams.MessageType, Data: []byte(name)}}); err != nil {
			t.Fatal(err)
		}
	}
	auth := "Bearer " + tok
	for _, from := range []string{"/v1/stream/a/../b", "a/./x", "a/../b", "a//b", "http://evil.example/v1/stream/a", "http://evil.example/v1/stream/b"} {
		r := srv.do("PUT", "f/bad", nil, "Authorization", auth, "Stream-Forked-From", from)
		r.must(t, http.StatusBadRequest, "fork of "+from)
		checkReason(t, "fork of "+from, r)
	}
	r := srv.do("PUT", "f/b", nil, "Authorization", auth, "Stream-Forked-From", "/v1/stream/b")
	if r.must(t, http.StatusForbidden, "fork of b"); !strings.Contains(string(r.body), `"b"`) && !strings.Contains(string(r.body), "read:b") {
		t.Errorf("403 for b: %q", r.body)
	}
	for i, from := range []string{"a", "/v1/stream/a", srv.url("a")} {
		srv.do("PUT", fmt.Sprintf("f/ok%d", i), nil, "Authorization", auth, "Stream-Forked-From", from).must(t, http.StatusCreated, "fork of "+from)
	}
}

// Every stream can be granted: a scope writes white space in a name as
// %20, so "a b", which can be made, is read with "read:a%20b", and a
// refusal names that scope.
func TestScopeGrantsANameWithASpace(t *testing.T) {
	all, allLine, err := access.NewToken("write:a%20b", "read:a%20b")
	if err != nil {
		t.Fatal(err)
	}
	other, otherLine, err := access.NewToken("read:a")
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := access.ParseTokens(strings.NewReader(allLine + "\n" + otherLine + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	srv := newServer(t, openStore(t, t.TempDir()), durablestreams.WithAuthorizer(tokens))
	srv.do("PUT", "a%20b", []byte("hi"), "Authorization", "Bearer "+all, "Content-Type", "text/plain").must(t, http.StatusCreated, "PUT a b")
	if r := srv.do("GET", "a%20b?offset=-1", nil, "Authorization", "Bearer "+all).must(t, http.StatusOK, "GET a b"); string(r.body) != "hi" {
		t.Errorf("GET a b: %q", r.body)
	}
	r := srv.do("GET", "a%20b?offset=-1", nil, "Authorization", "Bearer "+other).must(t, http.StatusForbidden, "GET a b with read:a")
	if !strings.Contains(string(r.body), "read:a%20b") {
		t.Errorf("403 for a b: %q, want it to name read:a%%20b", r.body)
	}
}

// Cross-Origin-Resource-Policy is cross-origin only when every request
// needs a bearer token: with no credential, or one a browser sends by
// itself (a client certificate, an Authorizer of the caller's), a page of
// another origin must not load a stream as a script (same-origin).
func TestCrossOriginResourcePolicyFollowsTheCredential(t *testing.T) {
	_, line, err := access.NewToken("read")
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := access.ParseTokens(strings.NewReader(line + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	jwt, err := access.NewHS256([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	custom := access.AuthorizerFunc(func(*http.Request, access.Op) error { return nil })
	store := openStore(t, t.TempDir())
	for _, c := range []struct {
		what string
		opts []durablestreams.Option
		want string
	}{
		{"no authentication", nil, "same-origin"},
		{"Anonymous", []durablestreams.Option{durablestreams.WithAuthorizer(access.Anonymous{Remote: true})}, "same-origin"},
		{"an Authorizer of the caller's", []durablestreams.Option{durablestreams.WithAuthorizer(custom)}, "same-origin"},
		{"tokens or anonymous", []durablestreams.Option{durablestreams.WithAuthorizer(access.Either(tokens, access.Anonymous{}))}, "same-origin"},
		{"tokens", []durablestreams.Option{durablestreams.WithAuthorizer(tokens)}, "cross-origin"},
		{"JWTs", []durablestreams.Option{durablestreams.WithAuthorizer(jwt)}, "cross-origin"},
		{"tokens or JWTs", []durablestreams.Option{durablestreams.WithAuthorizer(access.Either(tokens, jwt))}, "cross-origin"},
	} {
		srv := newServer(t, store, c.opts...)
		for _, m := range []string{"GET", "OPTIONS"} {
			if got := srv.do(m, "corp/a?offset=-1", nil).get("Cross-Origin-Resource-Policy"); got != c.want {
				t.Errorf("%s, %s: Cross-Origin-Resource-Policy %q, want %q", c.what, m, got, c.want)
			}
		}
	}
}
