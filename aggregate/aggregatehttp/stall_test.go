package aggregatehttp_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rewindhq/rewind/eventstore"
)

// TestSearchesNotReadDoNotHoldTheReads: a search whose client does not
// read the answer does not keep others from reading. Eight clients that
// asked for a large search and read nothing held every slot of the reads
// of /v1/search and /v1/events while their answers waited to be written,
// and every other client's read waited for as long as they kept the
// connection open.
func TestSearchesNotReadDoNotHoldTheReads(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	data := []byte(`"` + strings.Repeat("x", 12_000) + `"`)
	for i := range 5 {
		evs := make([]eventstore.Event, 100)
		for j := range evs {
			evs[j] = eventstore.Event{Type: "Big", Data: data}
		}
		if _, err := s.store.Append(ctx, fmt.Sprintf("big/s%d", i), evs); err != nil {
			t.Fatal(err)
		}
	}
	addr := strings.TrimPrefix(s.url, "http://")
	for range 8 { // the package's reads that run at once
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.(*net.TCPConn).SetReadBuffer(4 << 10)
		fmt.Fprintf(c, "GET /v1/search?category=big&type=Big&limit=500 HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
	}
	time.Sleep(time.Second) // their answers are being written
	client := &http.Client{Timeout: 10 * time.Second}
	res, err := client.Get(s.url + "/v1/events?category=big&limit=1")
	if err != nil {
		t.Fatalf("a read beside eight searches whose answers nobody reads: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("a read beside eight searches whose answers nobody reads: %d", res.StatusCode)
	}
}

// TestAnswerNotReadIsCut: a client that stops reading its answer is cut
// once the answer has had time to go at a megabyte a second (and ten
// seconds more), and the answer's memory is freed: the handler returns.
// It held it for as long as the client kept the connection open.
func TestAnswerNotReadIsCut(t *testing.T) {
	s := newServer(t)
	data := []byte(`"` + strings.Repeat("x", 12_000) + `"`)
	evs := make([]eventstore.Event, 500)
	for i := range evs {
		evs[i] = eventstore.Event{Type: "Big", Data: data}
	}
	if _, err := s.store.Append(context.Background(), "big/s", evs); err != nil {
		t.Fatal(err)
	}
	api := s.reg.Handler()
	returned := make(chan struct{}, 1)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		api.ServeHTTP(w, r)
		returned <- struct{}{}
	}))
	defer hs.Close()
	addr := strings.TrimPrefix(hs.URL, "http://")
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.(*net.TCPConn).SetReadBuffer(4 << 10)
	fmt.Fprintf(c, "GET /v1/search?category=big&type=Big&limit=500 HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
	select {
	case <-returned: // the 6 MB answer's time is 16 s
	case <-time.After(30 * time.Second):
		t.Fatal("the answer was still being written 30 s after its client stopped reading it")
	}
}
