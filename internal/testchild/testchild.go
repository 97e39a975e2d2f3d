// Package testchild lets a package's test binary run as a child process
// of its own tests: a test that needs a second process (to kill it with
// SIGKILL, or to run beside it) re-executes os.Args[0] with an environment
// variable naming the child, and Main runs that child instead of the tests.
package testchild

import (
	"fmt"
	"os"
	"testing"
)

// Main is the body of a package's TestMain: if the environment variable
// env names one of children, it runs that child and exits with its code;
// otherwise it runs the tests.
func Main(m *testing.M, env string, children map[string]func() int) {
	if name := os.Getenv(env); name != "" {
		run, ok := children[name]
		if !ok {
			fmt.Fprintf(os.Stderr, "%s=%q: no such child\n", env, name)
			os.Exit(2)
		}
		os.Exit(run())
	}
	os.Exit(m.Run())
}
