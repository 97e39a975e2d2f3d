package main

import (
	"context"
	"os"
	"testing"
)

// serveRefuses runs "rewind serve args" in process, in an empty working
// directory and with a context already ended (so that a serve that starts
// stops at once), and checks that it answers exit 2 with the one line
// want on stderr, and makes nothing on disk.
func serveRefuses(t *testing.T, want string, args ...string) {
	t.Helper()
	dir := t.TempDir()
	t.Chdir(dir)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	code, out, errOut := runCLI(t, ctx, append([]string{"serve"}, args...)...)
	if code != exitUsage || out != "" || errOut != want+"\n" {
		t.Errorf("rewind serve %q: exit %d, stdout %q, stderr:\n%s\nwant exit 2 and the one line:\n%s", args, code, out, errOut, want)
	}
	if made, _ := os.ReadDir(dir); len(made) > 0 {
		t.Errorf("rewind serve %q made %d files in the working directory", args, len(made))
	}
}

// TestServeRefusesEmptyData: an empty --data is a usage error, not the
// working directory.
func TestServeRefusesEmptyData(t *testing.T) {
	serveRefuses(t, `rewind serve: --data is empty: give the store's directory (default ./data)`,
		"--addr", "127.0.0.1:0", "--data", "")
	serveRefuses(t, `rewind serve: --data is empty: give the store's directory (default ./data)`,
		"--addr", "127.0.0.1:0", "--data", " ")
	t.Setenv("REWIND_DATA", " ")
	serveRefuses(t, `rewind serve: REWIND_DATA is empty: give the store's directory (default ./data)`,
		"--addr", "127.0.0.1:0")
}
