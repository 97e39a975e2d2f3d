// Package rawhttp sends HTTP/1.1 requests byte by byte, for tests of what
// net/http's client never sends: a body shorter than its Content-Length, a
// body cut off, a request that stops halfway. Tests use it to check how a
// server answers a client that misbehaves.
package rawhttp

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// Answer is a response read whole, and how long it took from the end of
// the request's writing.
type Answer struct {
	Status int
	Header http.Header
	Body   []byte
	Took   time.Duration
}

// Send writes head (the request line and headers, each ending in "\r\n",
// without the blank line) and then body to addr on a new connection; with
// cut, it then closes its writing side, as a client that stops sending.
// It reads the answer within 30 s, failing the test otherwise.
func Send(t testing.TB, addr, head, body string, cut bool) Answer {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, head+"\r\n"+body); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if cut {
		if err := c.(*net.TCPConn).CloseWrite(); err != nil {
			t.Fatal(err)
		}
	}
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer %v after the request: %v", time.Since(start), err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return Answer{Status: resp.StatusCode, Header: resp.Header, Body: b, Took: time.Since(start)}
}
