// Package leakcheck fails a test binary whose goroutines outlive its tests.
// It is for the packages whose tests start stores, servers and waits: each
// must have ended with the test that started it, and a goroutine of ours,
// of NATS, of pebble or of an httptest server still running after the last
// test is one that did not.
package leakcheck

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"
)

// suspects are the packages whose goroutines must all have ended.
var suspects = [][]byte{
	[]byte("github.com/rewindhq/rewind"),
	[]byte("github.com/nats-io/"),
	[]byte("github.com/cockroachdb/pebble"),
	[]byte("net/http/httptest"),
}

// Main runs the tests and then, when they passed, fails the binary if such
// goroutines are still running after a grace of five seconds (for those
// that are ending). Call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if leaked := leaked(5 * time.Second); leaked != "" {
			fmt.Fprintf(os.Stderr, "FAIL: goroutines still running after the tests:\n\n%s\n", leaked)
			code = 1
		}
	}
	os.Exit(code)
}

func leaked(wait time.Duration) string {
	deadline := time.Now().Add(wait)
	for {
		buf := make([]byte, 4<<20)
		buf = buf[:runtime.Stack(buf, true)]
		var found [][]byte
		for i, g := range bytes.Split(buf, []byte("\n\n")) {
			if i == 0 { // this goroutine
				continue
			}
			for _, s := range suspects {
				if bytes.Contains(g, s) {
					found = append(found, g)
					break
				}
			}
		}
		if len(found) == 0 {
			return ""
		}
		if time.Now().After(deadline) {
			return string(bytes.Join(found, []byte("\n\n")))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
