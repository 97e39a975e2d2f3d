package projection_test

import (
	"fmt"
	"os"
	"testing"
)

// childEnv selects child mode: tests that need another process re-execute
// the test binary with REWIND_PROJ_CHILD=<name>.
const childEnv = "REWIND_PROJ_CHILD"

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
