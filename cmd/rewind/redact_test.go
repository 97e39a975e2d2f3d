package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rewindhq/rewind/eventstore"
	"github.com/rewindhq/rewind/examples/orders/seed"
)

// TestServerQueryNeverPrinted: a --server URL with a query or a fragment
// is refused (exit 2) without printing them, since a token may be there
// (?token=..., #token=... as the example's page takes one): the message
// shows the URL up to the "?" or "#".
func TestServerQueryNeverPrinted(t *testing.T) {
	const secret = "PWsecret"
	for _, c := range []struct{ server, shown string }{
		{"http://127.0.0.1:1/?token=" + secret, `"http://127.0.0.1:1/?…"`},
		{"http://127.0.0.1:1/x#token=" + secret, `"http://127.0.0.1:1/x#…"`},
		{"http://alice:" + secret + "@127.0.0.1:1/?token=" + secret, `"http://REDACTED@127.0.0.1:1/?…"`},
		{"ftp://127.0.0.1:1/?token=" + secret, `"ftp://127.0.0.1:1/?…"`},
		{"http://127.0.0.1:1/%zz?token=" + secret, `"http://127.0.0.1:1/%zz?…"`},
		// An "@" in the query: a URL that does not parse is redacted at its
		// last "@", which must not leave the query's end shown.
		{"http://127.0.0.1:1/%zz?token=SE@" + secret, `"http://127.0.0.1:1/%zz?…"`},
	} {
		code, out, errOut := runCLI(t, t.Context(), "streams", "--server", c.server)
		if strings.Contains(out+errOut, secret) || code != exitUsage || !strings.Contains(errOut, c.shown) {
			t.Errorf("--server %s: exit %d, stdout %q, stderr %q; want %d and %s", c.server, code, out, errOut, exitUsage, c.shown)
		}
	}
}

// TestTokenWithControlCharacter: a token with a line break (a file read
// with its newline) is bad input, exit 2, said so without the token; it
// was "cannot reach the server" (exit 1), net/http's refusal of the header.
func TestTokenWithControlCharacter(t *testing.T) {
	const secret = "PWsecret"
	code, out, errOut := runCLI(t, t.Context(), "streams", "--server", "http://127.0.0.1:1", "--token", secret+"\n")
	if strings.Contains(out+errOut, secret) || code != exitUsage || !strings.Contains(errOut, "--token contains a line break") {
		t.Errorf("--token with a newline: exit %d, stdout %q, stderr %q; want %d and a message naming --token", code, out, errOut, exitUsage)
	}
	t.Setenv("REWIND_TOKEN", secret+"\x01")
	code, out, errOut = runCLI(t, t.Context(), "streams", "--server", "http://127.0.0.1:1")
	if strings.Contains(out+errOut, secret) || code != exitUsage || !strings.Contains(errOut, "REWIND_TOKEN contains a line break") {
		t.Errorf("REWIND_TOKEN with a control character: exit %d, stdout %q, stderr %q; want %d and a message naming REWIND_TOKEN", code, out, errOut, exitUsage)
	}
}

// TestCredentialsNeverPrinted: a password in --server's URL (or
// REWIND_SERVER's) and the token of REWIND_TOKEN appear in no message, no
// hint and no help: the URL is shown as http://REDACTED@host.
func TestCredentialsNeverPrinted(t *testing.T) {
	const secret = "PWsecret"
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	check := func(what, out string) {
		t.Helper()
		if strings.Contains(out, secret) || strings.Contains(out, "alice") {
			t.Errorf("%s prints the credentials:\n%s", what, out)
		}
	}

	closed := strings.Replace(closedServer(t), "http://", "http://alice:"+secret+"@", 1)
	code, out, errOut := runCLI(t, ctx, "read", "chat/r1", "--server", closed)
	check("an unreachable server", out+errOut)
	if code != exitServer || !strings.Contains(errOut, "cannot reach the server at http://REDACTED@127.0.0.1:") {
		t.Errorf("an unreachable server: exit %d, stderr:\n%s", code, errOut)
	}
	for _, bad := range []string{"ftp://alice:" + secret + "@x", "http://alice:" + secret + "@x:1/?q=1", "http://alice:PW " + secret + "@x:1/%zz"} {
		code, out, errOut := runCLI(t, ctx, "streams", "--server", bad)
		check("--server "+bad, out+errOut)
		if code != exitUsage || !strings.Contains(errOut, "REDACTED@x") {
			t.Errorf("--server %s: exit %d, stderr:\n%s", bad, code, errOut)
		}
	}

	t.Setenv("REWIND_TOKEN", "tok-"+secret)
	t.Setenv("REWIND_SERVER", closed)
	for _, cmd := range []string{"streams", "read", "state", "diff", "timeline", "projections", "rebuild", "export"} {
		code, out, errOut := runCLI(t, ctx, cmd, "--help")
		check("rewind "+cmd+" --help", out+errOut)
		if code != 0 {
			t.Errorf("rewind %s --help: exit %d", cmd, code)
		}
	}

	// The closing hint of read names the server, without its password.
	a, _ := startApp(t, ctx, seed.Config{Orders: 1, Days: 1, Rand: 1})
	if _, err := a.Store.Append(ctx, "chat/r1", []eventstore.Event{{Type: "said", Data: []byte(`{"n":1}`)}}); err != nil {
		t.Fatal(err)
	}
	t.Setenv("REWIND_TOKEN", "")
	server := strings.Replace(strings.TrimSuffix(a.URL, "/"), "http://", "http://alice:"+secret+"@", 1)
	out = want(t, ctx, 0, "read", "chat/r1", "--server", server)
	check("read's closing hint", out)
	if !strings.Contains(out, " --server http://REDACTED@127.0.0.1:") {
		t.Errorf("read's closing hint does not name the server:\n%s", out)
	}
}
