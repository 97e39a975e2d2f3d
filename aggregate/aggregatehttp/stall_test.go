package aggregatehttp_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
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
