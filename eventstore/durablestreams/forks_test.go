package durablestreams_test

import (
	"fmt"
	"sync"
	"testing"
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
		hs := srv.do("HEAD", src, nil).code
		fb := ""
		if put.code == 201 {
			fb = string(srv.do("GET", fork+"?offset=-1", nil).body)
		}
		switch {
		case del.code != 204 || put.code != 201 && put.code != 404:
			t.Errorf("%d: PUT fork %d, DELETE source %d", i, put.code, del.code)
		case put.code == 201 && (hs != 410 || fb != "[1,2]"):
			t.Errorf("%d: fork made, but source HEAD %d and fork reads %q", i, hs, fb)
		case put.code == 404 && hs != 404:
			t.Errorf("%d: fork refused, source HEAD %d", i, hs)
		}
		if put.code == 201 {
			srv.do("DELETE", fork, nil).must(t, 204, "DELETE fork")
			if c := srv.do("HEAD", src, nil).code; c != 404 {
				t.Errorf("%d: the last fork gone, the source HEAD %d", i, c)
			}
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
		hs, hf := srv.do("HEAD", src, nil).code, srv.do("HEAD", fork, nil).code
		if d1.code != 204 || d2.code != 204 || hs != 404 || hf != 404 {
			t.Errorf("%d: DELETE fork %d, DELETE source %d; then HEAD source %d, fork %d", i, d1.code, d2.code, hs, hf)
		}
	}
}
