package access

import (
	"bufio"
	"net"
	"net/http"
	"testing"
	"time"

	"golang.org/x/net/netutil"
)

func TestMaxConnsFor(t *testing.T) {
	for limit, want := range map[uint64]int{
		0:       4096, // not known
		100:     64,   // at least 64
		320:     64,   // 256 left to the store
		1024:    768,
		20000:   15000,
		1 << 40: 1 << 20,
	} {
		if got := maxConnsFor(limit); got != want {
			t.Errorf("maxConnsFor(%d) = %d, want %d", limit, got, want)
		}
	}
	if MaxConns() < 64 {
		t.Errorf("MaxConns() = %d", MaxConns())
	}
}

// TestLimitListener: the listener Serve limits with (netutil's) makes the
// next connection wait, unanswered, while n are open, until one of them
// closes; closing the listener ends a waiting Accept.
func TestLimitListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}), ReadHeaderTimeout: time.Minute}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(netutil.LimitListener(ln, 2)) }()
	dial := func() net.Conn {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	answered := func(c net.Conn, within time.Duration) bool {
		if _, err := c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(within))
		_, err := http.ReadResponse(bufio.NewReader(c), nil)
		return err == nil
	}
	a, b, c := dial(), dial(), dial()
	defer b.Close()
	defer c.Close()
	if !answered(a, 10*time.Second) || !answered(b, 10*time.Second) {
		t.Fatal("the first two connections are not answered")
	}
	if answered(c, 300*time.Millisecond) {
		t.Fatal("a third connection is answered while two are open")
	}
	a.Close()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := http.ReadResponse(bufio.NewReader(c), nil); err != nil {
		t.Fatalf("the third connection once the first closed: %v", err)
	}
	// b and c hold both slots: Accept waits for one; closing ends it.
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not end when the listener closed")
	}
}
