package durablestreams_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/rewindhq/rewind/eventstore/durablestreams"
)

// A read that finds a stream expired must not delete it beside a PUT that
// makes it again: streams with a 1 s TTL, then for each, HEADs racing a
// PUT without TTL. Every PUT answered 201 keeps its new stream.
func TestExpiryRaceKeepsRecreatedStreams(t *testing.T) {
	srv := newServer(t, openStore(t, t.TempDir()))
	const n = 60
	name := func(i int) string { return fmt.Sprintf("race/s%d", i) }
	for i := range n {
		srv.do("PUT", name(i), []byte("old"), "Content-Type", "text/plain", "Stream-TTL", "1").must(t, 201, "PUT with TTL")
	}
	time.Sleep(1300 * time.Millisecond) // every stream has expired
	created := make([]bool, n)
	var wg sync.WaitGroup
	for i := range n {
		for range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				srv.do("HEAD", name(i), nil)
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			created[i] = srv.do("PUT", name(i), []byte("new"), "Content-Type", "text/plain").code == 201
		}()
	}
	wg.Wait()
	lost := 0
	for i := range n {
		if !created[i] {
			continue
		}
		h := srv.do("HEAD", name(i), nil)
		body := srv.do("GET", name(i)+"?offset=-1", nil)
		if h.code != 200 || h.get("Stream-TTL") != "" || string(body.body) != "new" {
			lost++
			t.Errorf("%s: PUT answered 201, then HEAD %d (TTL %q) and GET %d %q", name(i), h.code, h.get("Stream-TTL"), body.code, body.body)
		}
	}
	if lost > 0 {
		t.Fatalf("%d acknowledged streams lost to a read's delete of the expired one", lost)
	}
}

// A fork's claim on its source stops every delete: sources with a 1 s TTL
// are forked around the moment they expire while HEADs look them up; a
// fork answered 201 reads its source's messages afterwards.
func TestExpiryRaceKeepsForkSource(t *testing.T) {
	srv := newServer(t, openStore(t, t.TempDir()))
	for round := range 3 { // the race is narrow: three rounds make it near certain
		forkRace(t, srv, round)
	}
}

func forkRace(t *testing.T, srv *server, round int) {
	const n = 60
	src := func(i int) string { return fmt.Sprintf("fsrc/r%d/s%d", round, i) }
	fork := func(i int) string { return fmt.Sprintf("fdst/r%d/f%d", round, i) }
	for i := range n {
		srv.do("PUT", src(i), []byte("[1,2,3]"), "Content-Type", "application/json", "Stream-TTL", "1").must(t, 201, "PUT source")
	}
	start := time.Now()
	ctx, stop := context.WithCancel(context.Background())
	var heads sync.WaitGroup
	for g := range 4 {
		heads.Add(1)
		go func() {
			defer heads.Done()
			for i := g; ctx.Err() == nil; i = (i + 4) % n {
				srv.do("HEAD", src(i), nil)
			}
		}()
	}
	forked := make([]bool, n)
	var forks sync.WaitGroup
	for i := range n {
		forks.Add(1)
		go func() {
			defer forks.Done()
			// Spread the forks across the moment the sources expire.
			time.Sleep(time.Until(start.Add(900*time.Millisecond + time.Duration(i)*3*time.Millisecond)))
			forked[i] = srv.do("PUT", fork(i), nil, "Content-Type", "application/json", "Stream-TTL", "3600",
				"Stream-Forked-From", "/v1/stream/"+src(i)).code == 201
			if forked[i] {
				srv.do("POST", fork(i), []byte("4"), "Content-Type", "application/json").must(t, 204, "POST to the fork")
			}
		}()
	}
	forks.Wait()
	time.Sleep(500 * time.Millisecond) // every source has expired; the HEADs go on
	stop()
	heads.Wait()
	nForked := 0
	for i := range n {
		if !forked[i] {
			continue
		}
		nForked++
		got := srv.do("GET", fork(i)+"?offset=-1", nil)
		if got.code != 200 || string(got.body) != "[1,2,3,4]" {
			t.Errorf("%s: forked (201), then reads %d %s, want [1,2,3,4]", fork(i), got.code, got.body)
		}
	}
	t.Logf("%d of %d forks made before their source expired", nForked, n)
}

// TTL's last use is stored with the stream: a stream with Stream-TTL 5
// written every second for 8 s is there after a restart.
func TestTTLLastUseSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	store := openStore(t, dir)
	srv := newServer(t, store)
	srv.do("PUT", "live/ttl", nil, "Content-Type", "text/plain", "Stream-TTL", "5").must(t, 201, "PUT")
	for i := range 8 {
		time.Sleep(time.Second)
		srv.do("POST", "live/ttl", []byte(fmt.Sprint(i)), "Content-Type", "text/plain").must(t, 204, "POST")
	}
	srv.handler.Shutdown()
	srv.http.Close()
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	srv = newServer(t, openStore(t, dir))
	got := srv.do("GET", "live/ttl?offset=-1", nil).must(t, 200, "GET after the restart")
	if string(got.body) != "01234567" {
		t.Fatalf("after the restart the stream reads %q", got.body)
	}
}

// Two handlers on one store (as two servers on one NATS) agree on a
// stream's last use: the second does not delete a stream the first keeps
// writing.
func TestTTLLastUseSharedBetweenHandlers(t *testing.T) {
	store := openStore(t, t.TempDir())
	a := newServer(t, store)
	b := newServer(t, store)
	// Eight uses 600 ms apart outlive a TTL of 4 s only if each renews
	// it; the 3.4 s left between a use and the TTL keep the test from
	// failing on a slow machine.
	a.do("PUT", "two/ttl", nil, "Content-Type", "text/plain", "Stream-TTL", "4").must(t, 201, "PUT via A")
	for i := range 8 {
		time.Sleep(600 * time.Millisecond)
		a.do("POST", "two/ttl", []byte(fmt.Sprint(i)), "Content-Type", "text/plain").must(t, 204, "POST via A")
		b.do("HEAD", "two/ttl", nil).must(t, 200, "HEAD via B")
	}
	got := b.do("GET", "two/ttl?offset=-1", nil).must(t, 200, "GET via B")
	if string(got.body) != "01234567" {
		t.Fatalf("B reads %q", got.body)
	}
}

// A PUT whose TTL or expiry is already past is refused and makes nothing.
func TestPutRefusesPastExpiry(t *testing.T) {
	srv := newServer(t, openStore(t, t.TempDir()))
	past := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	for _, hdr := range [][]string{{"Stream-TTL", "0"}, {"Stream-Expires-At", past}} {
		r := srv.do("PUT", "past/s", []byte("x"), "Content-Type", "text/plain", hdr[0], hdr[1]).must(t, 400, "PUT with "+hdr[0]+" "+hdr[1])
		checkReason(t, "PUT "+hdr[0], r)
		srv.do("HEAD", "past/s", nil).must(t, 404, "HEAD after the refused PUT")
	}
}

var _ = durablestreams.New

// TestLongTTLDoesNotExpireAtOnce: a TTL the PUT takes, up to its bound of
// 2^40 s, keeps the stream; one past 292 years overflowed the
// time.Duration it was counted in, and the stream, answered 201 with its
// data, was gone at the next request.
func TestLongTTLDoesNotExpireAtOnce(t *testing.T) {
	srv := newServer(t, openStore(t, t.TempDir()))
	for _, ttl := range []string{"9223372036", "9223372037", "1099511627776"} {
		name := "ttl/s" + ttl
		srv.do("PUT", name, []byte("kept"), "Content-Type", "text/plain", "Stream-TTL", ttl).must(t, 201, "PUT with TTL "+ttl)
		if h := srv.do("HEAD", name, nil); h.code != 200 || h.get("Stream-TTL") != ttl {
			t.Errorf("TTL %s: HEAD just after the PUT answered %d (TTL %q), want 200", ttl, h.code, h.get("Stream-TTL"))
		}
		if r := srv.do("GET", name+"?offset=-1", nil); r.code != 200 || string(r.body) != "kept" {
			t.Errorf("TTL %s: GET %d %q, want the data", ttl, r.code, r.body)
		}
	}
}

// TestLiveReaderKeepsItsStream: a reader waiting at the tail, by SSE or
// long-poll, is a use of the stream, as every read is: its TTL does not
// run out under it. A stream with a 2 s TTL was deleted 2 s after an SSE
// reader attached, and the reader's next request was a 404.
func TestLiveReaderKeepsItsStream(t *testing.T) {
	srv := newServer(t, openStore(t, t.TempDir()), durablestreams.WithLongPollTimeout(20*time.Second))
	for _, live := range []string{"sse", "long-poll"} {
		name := "ttl/live-" + live
		tail := srv.do("PUT", name, nil, "Content-Type", "text/plain", "Stream-TTL", "2").must(t, 201, "PUT").get("Stream-Next-Offset")
		ctx, cancel := context.WithCancel(context.Background())
		req, err := http.NewRequestWithContext(ctx, "GET", srv.url(name)+"?offset="+tail+"&live="+live, nil)
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			if res, err := http.DefaultClient.Do(req); err == nil {
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
			}
		}()
		for i := range 5 {
			time.Sleep(time.Second)
			if h := srv.do("HEAD", name, nil); h.code != 200 {
				t.Errorf("%s: %d s after a reader began to wait at the tail of a stream with a 2 s TTL, HEAD answered %d", live, i+1, h.code)
				break
			}
		}
		cancel()
	}
}
