package eventstore_test

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// childEnv selects child mode. A test that needs a second process (a real
// one, to be killed with kill -9 or to hold a lock) re-executes the test
// binary with REWIND_TEST_CHILD=<name> in its environment (startChild in
// lock_test.go is one launcher); TestMain then runs children[name] instead of
// the tests and exits with the code it returns. Test files register their
// children from an init func:
//
//	func init() { children["my-child"] = myChild }
//
// A child reads its parameters from other environment variables and
// reports on stdout. The map is written only by init funcs, before TestMain
// reads it, so it needs no lock.
const childEnv = "REWIND_TEST_CHILD"

// children maps child names to what the child process runs.
var children = map[string]func() int{}

// leakWait is how long TestMain gives the goroutines of closed stores and
// finished tests to end before it calls them leaked. Closing a store is
// synchronous, but the nats-server and nats.go goroutines it stops can take
// a moment to return.
const leakWait = 5 * time.Second

func TestMain(m *testing.M) {
	if name := os.Getenv(childEnv); name != "" {
		run, ok := children[name]
		if !ok {
			fmt.Fprintf(os.Stderr, "%s=%q: no such child\n", childEnv, name)
			os.Exit(2)
		}
		os.Exit(run())
	}
	code := m.Run()
	if leaked := waitForLeaks(leakWait); leaked != "" {
		fmt.Fprintf(os.Stderr, "FAIL: goroutines still running after the tests (waited %v):\n\n%s\n", leakWait, leaked)
		code = 1
	}
	os.Exit(code)
}

// waitForLeaks polls until no suspect goroutine is left, or wait passes,
// and returns the stacks of the ones that are.
func waitForLeaks(wait time.Duration) string {
	deadline := time.Now().Add(wait)
	for {
		leaked := suspectGoroutines()
		if len(leaked) == 0 {
			return ""
		}
		if time.Now().After(deadline) {
			return strings.Join(leaked, "\n\n")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// suspectPackages are the code that our stores and tests run: a goroutine
// with one of them in its stack (or as its creator) outlived the test that
// started it. The testing package's own goroutines and the runtime's never
// match.
var suspectPackages = []string{
	"github.com/rewindhq/rewind",
	"github.com/nats-io/nats-server",
	"github.com/nats-io/nats.go",
	"github.com/nats-io/nats%2ego", // how stacks spell nats.go's frames
	"github.com/cockroachdb/pebble",
}

// suspectGoroutines returns the stacks of the running goroutines, other
// than the caller's, that belong to suspectPackages.
func suspectGoroutines() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var leaked []string
	// The first goroutine in the dump is the caller (TestMain).
	for i, g := range bytes.Split(buf, []byte("\n\n")) {
		if i == 0 {
			continue
		}
		for _, p := range suspectPackages {
			if bytes.Contains(g, []byte(p)) {
				leaked = append(leaked, string(g))
				break
			}
		}
	}
	return leaked
}
