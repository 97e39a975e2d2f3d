package durablestreams_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rewindhq/rewind/eventstore"
	"github.com/rewindhq/rewind/eventstore/access"
	"github.com/rewindhq/rewind/eventstore/durablestreams"
)

// FuzzRequestAuth serves fuzzed requests on a handler with bearer tokens:
// with no token, an unknown one or a token whose scopes do not allow the
// request, the answer is 401 (with a Bearer challenge) or 403 (naming the
// scope) and the stream is left as it was; never a 5xx, whatever the
// request.
func FuzzRequestAuth(f *testing.F) {
	store := openStore(f, f.TempDir())
	reader, readLine, err := access.NewToken("read:fz")
	if err != nil {
		f.Fatal(err)
	}
	writer, writeLine, err := access.NewToken("write:fz/*", "read:fz")
	if err != nil {
		f.Fatal(err)
	}
	tokens, err := access.ParseTokens(strings.NewReader(readLine + "\n" + writeLine + "\n"))
	if err != nil {
		f.Fatal(err)
	}
	h := durablestreams.New(store, durablestreams.WithLogger(quietLog), durablestreams.WithAuthorizer(tokens),
		durablestreams.WithLongPollTimeout(10*time.Millisecond), durablestreams.WithSSELifetime(10*time.Millisecond),
		durablestreams.WithMaxBody(1<<16))
	durablestreams.NoSweep(h)
	f.Cleanup(h.Shutdown)
	put := httptest.NewRequest("PUT", "http://127.0.0.1/v1/stream/fz/a", strings.NewReader(`[1]`))
	put.Header.Set("Content-Type", "application/json")
	put.Header.Set("Authorization", "Bearer "+writer)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, put)
	if w.Code != http.StatusCreated {
		f.Fatalf("PUT fz/a: %d %s", w.Code, w.Body)
	}
	// A stream the tokens may not read, made by Go code.
	if _, err := store.Append(f.Context(), "other/b", []eventstore.Event{{Type: durablestreams.MessageType, Data: []byte(`1`)}}); err != nil {
		f.Fatal(err)
	}
	for _, seed := range []struct {
		method, path, auth, fork string
		body                     string
	}{
		{"DELETE", "fz/a", "", "", ""},
		{"DELETE", "fz/a", "reader", "", ""},
		{"POST", "fz/a", "reader", "", "[2]"},
		{"POST", "fz/a", "garbage", "", "[2]"},
		{"PUT", "other/c", "writer", "", ""},
		{"PUT", "fz/fork", "writer", "/v1/stream/other/b", ""},
		{"GET", "other/b", "reader", "", ""},
		{"POST", "fz/a", "writer", "", "[3]"},
	} {
		f.Add(seed.method, seed.path, seed.auth, seed.fork, []byte(seed.body))
	}
	f.Fuzz(func(t *testing.T, method, path, auth, fork string, body []byte) {
		method = fuzzMethod(method)
		r := httptest.NewRequest(method, "http://127.0.0.1/", bytes.NewReader(body))
		r.URL.Path = "/v1/stream/" + path
		r.RequestURI = ""
		r.Header.Set("Content-Type", "application/json")
		allowed := func(access.Op) bool { return false }
		switch auth {
		case "reader":
			r.Header.Set("Authorization", "Bearer "+reader)
			allowed = func(op access.Op) bool { return op.Action == access.Read && inFz(op.Resource) }
		case "writer":
			r.Header.Set("Authorization", "Bearer "+writer)
			allowed = func(op access.Op) bool {
				return (op.Action == access.Read && inFz(op.Resource)) ||
					(op.Action == access.Write && strings.HasPrefix(op.Resource, "fz/") && len(op.Resource) > 3)
			}
		case "":
		default:
			if validHeaderValue(auth) {
				r.Header.Set("Authorization", auth)
			}
		}
		if fork != "" && validHeaderValue(fork) {
			r.Header.Set("Stream-Forked-From", fork)
		}
		before, checkable := fuzzSnapshot(store, path)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code >= 500 {
			t.Fatalf("%s %q: %d %q", method, path, w.Code, w.Body.String())
		}
		if method == "OPTIONS" {
			return
		}
		action := access.Write
		switch method {
		case "GET", "HEAD":
			action = access.Read
		case "DELETE":
			action = access.Delete
		}
		if !allowed(access.Op{Action: action, Resource: path}) && w.Code != http.StatusUnauthorized && w.Code != http.StatusForbidden && w.Code != http.StatusNotFound {
			t.Fatalf("%s %q with %q: %d %q, want 401 or 403", method, path, auth, w.Code, w.Body.String())
		}
		switch w.Code {
		case http.StatusUnauthorized:
			if !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Bearer ") {
				t.Fatalf("%s %q: 401 without a Bearer challenge", method, path)
			}
		case http.StatusForbidden:
			if method != "HEAD" && !strings.Contains(w.Body.String(), "scope") {
				t.Fatalf("%s %q: 403 not naming a scope: %q", method, path, w.Body.String())
			}
		}
		if w.Code == http.StatusUnauthorized || w.Code == http.StatusForbidden {
			if after, _ := fuzzSnapshot(store, path); checkable && after != before {
				t.Fatalf("%s %q: %d, but the stream changed: %+v, then %+v", method, path, w.Code, before, after)
			}
		}
	})
}

// inFz reports whether a resource is the stream fz or under it.
func inFz(res string) bool { return res == "fz" || strings.HasPrefix(res, "fz/") }
