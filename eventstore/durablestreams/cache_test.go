package durablestreams_test

import (
	"strings"
	"testing"

	"github.com/rewindhq/rewind/eventstore/access"
	"github.com/rewindhq/rewind/eventstore/durablestreams"
)

// TestCatchUpCacheIsPrivateWithAuth: a catch-up read's answer, which
// caches may keep for a minute, is "public" only on a server whose
// streams anyone it answers may read. Behind authentication it is
// "private": a shared cache (a CDN in front of the server) keeps an
// answer to a request with credentials for anyone only when it says
// "public", and it did, so the next request of the URL, with no token,
// would have been served the stream from the cache.
func TestCatchUpCacheIsPrivateWithAuth(t *testing.T) {
	tok, line, err := access.NewToken("admin")
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := access.ParseTokens(strings.NewReader(line + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		what   string
		opts   []durablestreams.Option
		header []string
		want   string
	}{
		{"tokens", []durablestreams.Option{durablestreams.WithAuthorizer(tokens)}, []string{"Authorization", "Bearer " + tok}, "private"},
		{"no authentication", nil, nil, "public"},
	} {
		srv := newServer(t, openStore(t, t.TempDir()), append(c.opts, durablestreams.WithChunkSize(4))...)
		kv := append([]string{"Content-Type", "application/json"}, c.header...)
		srv.do("PUT", "cache/s", nil, kv...).must(t, 201, "PUT")
		for range 2 {
			srv.do("POST", "cache/s", []byte(`"one message"`), kv...).must(t, 204, "POST")
		}
		r := srv.do("GET", "cache/s?offset=-1", nil, c.header...).must(t, 200, "GET")
		if r.get("Stream-Up-To-Date") != "" {
			t.Fatalf("%s: the first chunk reached the tail; the test needs one that does not", c.what)
		}
		if cc := r.get("Cache-Control"); !strings.HasPrefix(cc, c.want+",") {
			t.Errorf("%s: a catch-up answer short of the tail has Cache-Control %q, want it %s", c.what, cc, c.want)
		}
	}
}
