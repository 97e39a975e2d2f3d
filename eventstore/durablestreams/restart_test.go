package durablestreams_test

import (
	"context"
	"testing"

	"github.com/rewindhq/rewind/eventstore"
)

// headHeaders are the headers HEAD answers a stream's configuration with.
var headHeaders = []string{"Content-Type", "Stream-Next-Offset", "Stream-TTL", "Stream-Expires-At", "Stream-Closed"}

func TestStreamsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	store := openStore(t, dir)
	srv := newServer(t, store)
	const J = "application/json"

	srv.do("PUT", "d/ttl", nil, "Content-Type", "application/json; charset=utf-8", "Stream-TTL", "3600").must(t, 201, "PUT ttl")
	srv.do("POST", "d/ttl", []byte(`1`), "Content-Type", J, "Producer-Id", "w", "Producer-Epoch", "3", "Producer-Seq", "0").must(t, 200, "producer 0")
	srv.do("POST", "d/ttl", []byte(`2`), "Content-Type", J, "Producer-Id", "w", "Producer-Epoch", "3", "Producer-Seq", "1", "Stream-Seq", "0002").must(t, 200, "producer 1")
	srv.do("PUT", "d/expires", []byte("hello"), "Content-Type", "text/plain", "Stream-Expires-At", "2099-01-02T03:04:05.5+01:00").must(t, 201, "PUT expires")
	srv.do("PUT", "d/closed", []byte(`["done"]`), "Content-Type", J, "Stream-Closed", "true").must(t, 201, "PUT closed")
	srv.do("PUT", "d/src", []byte(`[{"a":1},{"a":2}]`), "Content-Type", J).must(t, 201, "PUT src")
	point := srv.do("POST", "d/src", []byte(`[{"a":3},{"a":4},{"a":5}]`), "Content-Type", J).must(t, 204, "POST src").get("Stream-Next-Offset")
	srv.do("POST", "d/src", []byte(`{"a":6}`), "Content-Type", J).must(t, 204, "POST src after the fork point")
	first := events(t, store, "d/src")[1].Offset // after the first commit: the sub-offset takes from the second
	srv.do("PUT", "d/fork", nil, "Stream-Forked-From", "/v1/stream/d/src", "Stream-Fork-Offset", point).must(t, 201, "PUT fork")
	srv.do("POST", "d/fork", []byte(`{"f":1}`), "Content-Type", J).must(t, 204, "POST fork")
	srv.do("PUT", "d/subfork", nil, "Stream-Forked-From", "d/src", "Stream-Fork-Offset", string(first), "Stream-Fork-Sub-Offset", "2").must(t, 201, "PUT sub-offset fork")

	names := []string{"d/ttl", "d/expires", "d/closed", "d/src", "d/fork", "d/subfork"}
	heads := map[string]reply{}
	bodies := map[string]string{}
	for _, n := range names {
		heads[n] = srv.do("HEAD", n, nil).must(t, 200, "HEAD "+n)
		bodies[n] = string(srv.do("GET", n+"?offset=-1", nil).must(t, 200, "GET "+n).body)
	}
	if bodies["d/fork"] != `[{"a":1},{"a":2},{"a":3},{"a":4},{"a":5},{"f":1}]` || bodies["d/subfork"] != `[{"a":1},{"a":2},{"a":3},{"a":4}]` {
		t.Fatalf("forks read %s and %s", bodies["d/fork"], bodies["d/subfork"])
	}

	srv.handler.Shutdown()
	srv.http.Close()
	if err := store.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	store = openStore(t, dir)
	srv = newServer(t, store)

	for _, n := range names {
		h := srv.do("HEAD", n, nil).must(t, 200, "HEAD "+n+" after the restart")
		for _, k := range headHeaders {
			if h.get(k) != heads[n].get(k) {
				t.Errorf("%s: %s was %q, is %q after the restart", n, k, heads[n].get(k), h.get(k))
			}
		}
		if got := string(srv.do("GET", n+"?offset=-1", nil).must(t, 200, "GET "+n).body); got != bodies[n] {
			t.Errorf("%s read %s, after the restart %s", n, bodies[n], got)
		}
	}
	if heads["d/ttl"].get("Stream-TTL") != "3600" || heads["d/expires"].get("Stream-Expires-At") == "" || heads["d/closed"].get("Stream-Closed") != "true" {
		t.Errorf("HEAD before the restart lacked the configuration: %v %v %v", heads["d/ttl"].header, heads["d/expires"].header, heads["d/closed"].header)
	}

	// The producer's state and the Stream-Seq are the store's.
	dup := srv.do("POST", "d/ttl", []byte(`2`), "Content-Type", J, "Producer-Id", "w", "Producer-Epoch", "3", "Producer-Seq", "1").must(t, 204, "producer duplicate")
	if dup.get("Producer-Epoch") != "3" || dup.get("Producer-Seq") != "1" {
		t.Errorf("duplicate after the restart: epoch %q seq %q", dup.get("Producer-Epoch"), dup.get("Producer-Seq"))
	}
	srv.do("POST", "d/ttl", []byte(`3`), "Content-Type", J, "Producer-Id", "w", "Producer-Epoch", "2", "Producer-Seq", "2").must(t, 403, "stale epoch")
	srv.do("POST", "d/ttl", []byte(`3`), "Content-Type", J, "Producer-Id", "w", "Producer-Epoch", "3", "Producer-Seq", "3").must(t, 409, "gap")
	srv.do("POST", "d/ttl", []byte(`3`), "Content-Type", J, "Stream-Seq", "0001").must(t, 409, "stale Stream-Seq")
	srv.do("POST", "d/ttl", []byte(`3`), "Content-Type", J, "Producer-Id", "w", "Producer-Epoch", "3", "Producer-Seq", "2").must(t, 200, "producer next")

	closed := srv.do("POST", "d/closed", []byte(`"more"`), "Content-Type", J).must(t, 409, "append to a closed stream")
	if closed.get("Stream-Closed") != "true" || closed.get("Stream-Next-Offset") != heads["d/closed"].get("Stream-Next-Offset") {
		t.Errorf("refused append: closed %q next %q", closed.get("Stream-Closed"), closed.get("Stream-Next-Offset"))
	}
	srv.do("PUT", "d/closed", nil, "Content-Type", J, "Stream-Closed", "true").must(t, 200, "PUT closed again")

	// The fork's origin: the same PUT is 200, another fork point 409.
	srv.do("PUT", "d/fork", nil, "Stream-Forked-From", "/v1/stream/d/src", "Stream-Fork-Offset", point).must(t, 200, "PUT fork again")
	srv.do("PUT", "d/fork", nil, "Stream-Forked-From", "/v1/stream/d/src", "Stream-Fork-Offset", "-1").must(t, 409, "PUT fork elsewhere")
	srv.do("PUT", "d/subfork", nil, "Stream-Forked-From", "d/src", "Stream-Fork-Offset", string(first), "Stream-Fork-Sub-Offset", "2").must(t, 200, "PUT sub-offset fork again")
	// The source still has forks: deleting it soft-deletes it.
	srv.do("DELETE", "d/src", nil).must(t, 204, "DELETE the source")
	srv.do("HEAD", "d/src", nil).must(t, 410, "HEAD the deleted source")
	srv.do("GET", "d/fork?offset=-1", nil).must(t, 200, "GET the fork of a deleted source")

	if _, err := store.Append(context.Background(), "d/closed", []eventstore.Event{{Type: "X"}}); err == nil {
		t.Error("the store appended to a closed stream")
	}
}
