package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestAgainstServe: the client against "rewind serve" (a real process):
// read and read --follow speak the Durable Streams protocol, a missing
// stream is not found (exit 3), and the commands that need the
// application's /v1/ endpoints say, as a usage mistake (exit 2), that this
// server serves Durable Streams only.
func TestAgainstServe(t *testing.T) {
	p := startServe(t, nil, "--addr", "127.0.0.1:0", "--data", t.TempDir(), "--long-poll-timeout", "2s")
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	stream := p.url + "/v1/stream/chat/room-1"
	mustDo(t, http.MethodPut, stream, nil, http.StatusCreated, "Content-Type", "application/json")
	mustDo(t, http.MethodPost, stream, []byte(`[{"text":"hi"},{"text":"there"}]`), http.StatusNoContent, "Content-Type", "application/json")
	t.Setenv("REWIND_SERVER", p.url)

	out := want(t, ctx, 0, "read", "chat/room-1")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || lines[0] != `{"text":"hi"}` || lines[1] != `{"text":"there"}` || !strings.HasPrefix(lines[2], "next offset: ") {
		t.Fatalf("read chat/room-1 against serve:\n%s", out)
	}
	// The hint goes on from there: nothing new yet, then the next message.
	next := strings.Fields(lines[2])[2]
	if !strings.Contains(lines[2], "(rewind read chat/room-1 --from "+next+" goes on from here)") {
		t.Errorf("hint: %s", lines[2])
	}
	if out := want(t, ctx, 0, "read", "chat/room-1", "--from", next); !strings.HasPrefix(out, "no events") {
		t.Errorf("read --from the end:\n%s", out)
	}
	if out := want(t, ctx, 0, "read", "chat/room-1", "--limit", "1"); !strings.HasPrefix(out, `{"text":"hi"}`+"\n"+"next offset: ") {
		t.Errorf("read --limit 1:\n%s", out)
	}

	// --follow long-polls for what comes next.
	fctx, stop := context.WithCancel(ctx)
	defer stop()
	fout, ferr := &syncBuffer{}, &syncBuffer{}
	done := make(chan int, 1)
	go func() { done <- run(fctx, []string{"read", "chat/room-1", "--follow", "--from", next}, fout, ferr) }()
	time.Sleep(300 * time.Millisecond) // waiting, past a long-poll or not
	mustDo(t, http.MethodPost, stream, []byte(`{"text":"later"}`), http.StatusNoContent, "Content-Type", "application/json")
	waitFor(t, fout, `{"text":"later"}`)
	time.Sleep(2500 * time.Millisecond) // a long poll that times out (204) is no end
	mustDo(t, http.MethodPost, stream, []byte(`{"text":"much later"}`), http.StatusNoContent, "Content-Type", "application/json")
	waitFor(t, fout, `{"text":"much later"}`)
	stop()
	if code := <-done; code != 0 || strings.Count(fout.String(), "{") != 2 || ferr.String() != "" {
		t.Errorf("read --follow against serve: exit %d, stdout:\n%s\nstderr:\n%s", code, fout, ferr)
	}

	for _, c := range []struct {
		code int
		args []string
		msg  string
	}{
		{exitNotFound, []string{"read", "nope"}, `no stream "nope"`},
		{exitNotFound, []string{"read", "chat/room-2", "--follow"}, `no stream "chat/room-2"`},
	} {
		code, out, errOut := runCLI(t, ctx, c.args...)
		if code != c.code || out != "" || !strings.Contains(errOut, c.msg) {
			t.Errorf("rewind %s against serve: exit %d, stdout %q, stderr:\n%s\nwant exit %d and %q",
				strings.Join(c.args, " "), code, out, errOut, c.code, c.msg)
		}
	}

	// The other commands need the application's API: pointed at this
	// server, a usage mistake, said in two short lines.
	for _, args := range [][]string{
		{"streams"}, {"state", "orders/ord-1"}, {"diff", "orders/ord-1", "--from", "0", "--to", "1"},
		{"timeline", "orders/ord-1"}, {"projections"}, {"rebuild", "orders"}, {"export", "orders/ord-1", "--to", "1"},
	} {
		code, out, errOut := runCLI(t, ctx, args...)
		msg := "rewind " + args[0] + ": this server serves Durable Streams only (\"rewind serve\");\n" +
			args[0] + " needs the application's /v1/ API, e.g. \"go run ./examples/orders\".\n"
		if code != exitUsage || out != "" || errOut != msg {
			t.Errorf("rewind %s against serve: exit %d, stdout %q, stderr:\n%s\nwant exit 2 and:\n%s", strings.Join(args, " "), code, out, errOut, msg)
		}
	}
}
