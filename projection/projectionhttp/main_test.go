package projectionhttp_test

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"
)

// TestMain fails the package when a goroutine of ours, of the store or of
// NATS outlives the tests: every rebuild the handler started must have
// ended by its Close.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if leaked := leakedGoroutines(5 * time.Second); leaked != "" {
			fmt.Fprintf(os.Stderr, "FAIL: goroutines still running after the tests:\n\n%s\n", leaked)
			code = 1
		}
	}
	os.Exit(code)
}

var suspects = [][]byte{
	[]byte("github.com/rewindhq/rewind"),
	[]byte("github.com/nats-io/"),
	[]byte("github.com/cockroachdb/pebble"),
	[]byte("net/http/httptest"),
}

func leakedGoroutines(wait time.Duration) string {
	deadline := time.Now().Add(wait)
	for {
		buf := make([]byte, 4<<20)
		buf = buf[:runtime.Stack(buf, true)]
		var leaked [][]byte
		for i, g := range bytes.Split(buf, []byte("\n\n")) {
			if i == 0 {
				continue
			}
			for _, s := range suspects {
				if bytes.Contains(g, s) {
					leaked = append(leaked, g)
					break
				}
			}
		}
		if len(leaked) == 0 {
			return ""
		}
		if time.Now().After(deadline) {
			return string(bytes.Join(leaked, []byte("\n\n")))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
