package aggregate_test

import (
	"fmt"
	"os"
	"testing"
)

// childEnv selects child mode: a test that needs a second process
// re-executes the test binary with REWIND_AGG_CHILD=<name>, and TestMain
// runs children[name] instead of the tests.
const childEnv = "REWIND_AGG_CHILD"

var children = map[string]func() int{}

func TestMain(m *testing.M) {
	if name := os.Getenv(childEnv); name != "" {
		run, ok := children[name]
		if !ok {
			fmt.Fprintf(os.Stderr, "%s=%q: no such child\n", childEnv, name)
			os.Exit(2)
		}
		os.Exit(run())
	}
	os.Exit(m.Run())
}
