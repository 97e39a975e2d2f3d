package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rewindhq/rewind/eventstore"
	"github.com/rewindhq/rewind/examples/orders/seed"
)

// followUntilInterrupted runs "rewind read stream --follow" against
// server, waits for it to print first, lets stopServer take the server
// away, waits until the follow has tried again with a reason it told (and
// checks it told each reason once), and then interrupts it
// (Ctrl-C): it returns the exit code and the output.
func followUntilInterrupted(t *testing.T, ctx context.Context, server, stream, first string, stopServer func()) (int, string, string) {
	t.Helper()
	fctx, interrupt := context.WithCancel(ctx)
	defer interrupt()
	out, errOut := &syncBuffer{}, &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(fctx, []string{"read", stream, "--follow", "--server", server}, out, errOut)
	}()
	waitFor(t, out, first)
	stopServer()
	// A reason is told once, then one line a try while it stays the same
	// (the first may differ: a connection reset by the kill, then
	// refused).
	waitFor(t, errOut, "the same again (try ")
	var told []string
	for _, l := range strings.Split(errOut.String(), "\n") {
		if strings.Contains(l, "cannot reach the server") {
			told = append(told, l)
		}
	}
	for i := 1; i < len(told); i++ {
		if told[i] == told[i-1] {
			t.Errorf("the same reason was told twice in a row:\n%s", errOut)
			break
		}
	}
	interrupt()
	select {
	case code := <-done:
		return code, out.String(), errOut.String()
	case <-time.After(30 * time.Second):
		t.Fatalf("read --follow still running 30 s after Ctrl-C:\n%s\n%s", out, errOut)
		return 0, "", ""
	}
}

// TestReadFollowInterruptedWhileReconnecting: Ctrl-C ends "read --follow"
// the same way whether the server is up or away (the follow waiting
// between two attempts to reconnect): exit 0, and the closing line with
// the offset it had reached and the command that goes on from there.
func TestReadFollowInterruptedWhileReconnecting(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()

	t.Run("the application's /v1/ API", func(t *testing.T) {
		a, server := startApp(t, ctx, seed.Config{Orders: 2, Days: 1, Rand: 3})
		if _, err := a.Store.Append(ctx, "chat/room-1", []eventstore.Event{{Type: "said", Data: []byte(`{"n":1}`)}}); err != nil {
			t.Fatal(err)
		}
		var page struct {
			Next string `json:"next"`
		}
		getJSON(t, server+"/v1/events?stream=chat/room-1&from=-1", &page)
		code, out, errOut := followUntilInterrupted(t, ctx, server, "chat/room-1", `{"n":1}`, func() {
			if err := a.Close(); err != nil {
				t.Logf("close: %v", err) // its drain cuts the follow's long poll
			}
		})
		wantLine := "next offset: " + page.Next + " (rewind read chat/room-1 --server " + server + " --from " + page.Next + " goes on from here)"
		if code != 0 || !strings.Contains(out, wantLine) {
			t.Errorf("Ctrl-C while reconnecting: exit %d, stdout:\n%s\nstderr:\n%s\nwant exit 0 and %q", code, out, errOut, wantLine)
		}
	})

	t.Run("a Durable Streams server", func(t *testing.T) {
		p := startServe(t, nil, "--addr", "127.0.0.1:0", "--data", t.TempDir(), "--long-poll-timeout", "2s")
		stream := p.url + "/v1/stream/chat/room-1"
		mustDo(t, http.MethodPut, stream, nil, http.StatusCreated, "Content-Type", "application/json")
		mustDo(t, http.MethodPost, stream, []byte(`{"text":"hi"}`), http.StatusNoContent, "Content-Type", "application/json")
		next := mustDo(t, http.MethodGet, stream+"?offset=-1", nil, http.StatusOK).Header.Get("Stream-Next-Offset")
		code, out, errOut := followUntilInterrupted(t, ctx, p.url, "chat/room-1", `{"text":"hi"}`, func() {
			p.cmd.Process.Kill()
			<-p.done
		})
		wantLine := "next offset: " + next + " (rewind read chat/room-1 --server " + p.url + " --from " + next + " goes on from here)"
		if code != 0 || !strings.Contains(out, wantLine) {
			t.Errorf("Ctrl-C while reconnecting: exit %d, stdout:\n%s\nstderr:\n%s\nwant exit 0 and %q", code, out, errOut, wantLine)
		}
	})
}
