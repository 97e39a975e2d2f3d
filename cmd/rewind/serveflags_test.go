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

// TestServeRefusesBadAddr: an address that is not HOST:PORT with a port
// from 0 to 65535 is bad input, said in one line before anything else (the
// check on authentication, or a listen that fails).
func TestServeRefusesBadAddr(t *testing.T) {
	const notHostPort = "want HOST:PORT, like 127.0.0.1:4438 (port 0 picks a free one)"
	const badPort = "the port must be a number from 0 to 65535 (0 picks a free one)"
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--addr", "nonsense"}, `--addr "nonsense": ` + notHostPort},
		{[]string{"--addr", "nonsense", "--insecure-no-auth"}, `--addr "nonsense": ` + notHostPort},
		{[]string{"--addr", "::1"}, `--addr "::1": ` + notHostPort},
		{[]string{"--addr", "127.0.0.1:99999"}, `--addr "127.0.0.1:99999": ` + badPort},
		{[]string{"--addr", "127.0.0.1:99999", "--insecure-no-auth"}, `--addr "127.0.0.1:99999": ` + badPort},
		{[]string{"--addr", "127.0.0.1:"}, `--addr "127.0.0.1:": ` + badPort},
		{[]string{"--addr", "127.0.0.1:-1"}, `--addr "127.0.0.1:-1": ` + badPort},
		{[]string{"--addr", "0.0.0.0:http"}, `--addr "0.0.0.0:http": ` + badPort},
	} {
		serveRefuses(t, "rewind serve: "+c.want, append(c.args, "--data", "d")...)
	}
	t.Setenv("REWIND_ADDR", "localhost")
	serveRefuses(t, `rewind serve: REWIND_ADDR "localhost": `+notHostPort, "--data", "d")
	// Good addresses are let through: [::1]:0 and :0 (every address,
	// refused here for want of authentication, not as an address).
	for _, addr := range []string{"[::1]:0", "127.0.0.1:65535", ":0"} {
		if problem := checkAddr(addr); problem != "" {
			t.Errorf("checkAddr(%q) = %q, want no problem", addr, problem)
		}
	}
}
