package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/sys/unix"

	"github.com/rewindhq/rewind/examples/orders/seed"
)

// inTerminal runs the binary with its stdout on a pseudo-terminal cols
// wide, as a person at a terminal would, and returns what it printed.
func inTerminal(t *testing.T, cols int, env []string, args ...string) string {
	t.Helper()
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("no pseudo-terminal here: %v", err)
	}
	defer ptmx.Close()
	if err := unix.IoctlSetPointerInt(int(ptmx.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(ptmx.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	tty, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.IoctlSetWinsize(int(tty.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 40, Col: uint16(cols)}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, rewindBin, args...)
	cmd.Env = cleanEnv(append([]string{"NO_COLOR=", "TERM=", "COLUMNS="}, env...)...)
	cmd.Stdout = tty
	var errb strings.Builder
	cmd.Stderr = &errb
	out := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(ptmx) // ends with EIO once the last holder of tty closes it
		out <- string(b)
	}()
	err = cmd.Run()
	tty.Close()
	if err != nil {
		t.Fatalf("rewind %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	// The terminal turns "\n" into "\r\n".
	return strings.ReplaceAll(<-out, "\r\n", "\n")
}

// TestTerminalOutput: on a terminal, colour unless NO_COLOR or a dumb
// TERM, and every command's lines fit the terminal's width; in a pipe
// neither (the other tests run there).
func TestTerminalOutput(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	a, base := startApp(t, ctx, seed.Config{Orders: 10, Days: 2, Rand: 7})
	server := "REWIND_SERVER=" + base
	order := ""
	for info, err := range a.Store.Streams(ctx, "orders") {
		if err != nil {
			t.Fatal(err)
		}
		if info.Version >= 3 {
			order = info.Name
			break
		}
	}
	if order == "" {
		t.Fatal("no order with 3 events in the seed")
	}
	commands := [][]string{
		{"streams"}, {"read", order}, {"timeline", order}, {"diff", order, "--from", "0", "--to", "3"},
		{"state", order}, {"projections"},
	}
	for _, args := range commands {
		out := inTerminal(t, 50, []string{server, "TERM=xterm-256color"}, args...)
		if !strings.Contains(out, styleBold) || !strings.Contains(out, styleReset) {
			t.Errorf("rewind %s on a 256-colour terminal: no colour:\n%q", strings.Join(args, " "), out)
		}
		plain := stripANSI(out)
		for _, l := range strings.Split(plain, "\n") {
			// Table rows (cells two spaces apart) fit; prose may wrap.
			if n := utf8.RuneCountInString(l); n > 50 && strings.Contains(strings.TrimLeft(l, " "), "  ") {
				t.Errorf("rewind %s on a 50-column terminal: a line of %d columns:\n%s", strings.Join(args, " "), n, plain)
				break
			}
		}
		for _, env := range [][]string{{"TERM=xterm-256color", "NO_COLOR=1"}, {"TERM=dumb"}} {
			if out := inTerminal(t, 200, append(env, server), args...); strings.Contains(out, "\x1b[") {
				t.Errorf("rewind %s with %v: colour:\n%q", strings.Join(args, " "), env, out)
			}
		}
	}
}

// stripANSI drops the colour escapes.
func stripANSI(s string) string {
	for _, code := range []string{styleBold, styleType, styleFrom, styleTo, styleReset} {
		s = strings.ReplaceAll(s, code, "")
	}
	return s
}

// joinWrapped undoes the layout of lines broken under a column: each
// line break with the spaces that follow it goes, so that a value broken
// over lines reads whole again.
var joinWrapped = regexp.MustCompile(`\n *`)

// eventRow is a line of an event row of timeline or diff: its version first.
var eventRow = regexp.MustCompile(`^\d+ {2,}`)

// TestTerminalNeverCutsOffsetsOrValues: on a terminal 80 columns wide (and
// narrower), every line fits, and nothing is cut that a person needs
// whole: streams' offsets (what --from takes), the values a change in a
// timeline or a diff sets (old and new on lines of their own, a long one
// broken over lines), and read's closing command, broken as a shell reads
// it.
func TestTerminalNeverCutsOffsetsOrValues(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	_, server := startApp(t, ctx, seed.Config{Orders: 6, Days: 2, Rand: 11})
	env := []string{"REWIND_SERVER=" + server, "NO_COLOR=1", "TERM=xterm"}
	streams, longestStream := orderStreams(t, server)
	order, longest := longestStream.Name, longestStream.Version
	var tl struct {
		Events []struct {
			Changes []change `json:"changes"`
		} `json:"events"`
	}
	getJSON(t, server+"/v1/timeline/"+strings.TrimSuffix(order, "/events"), &tl)

	for _, cols := range []int{80, 64, 50} {
		fits := func(what, out string) {
			t.Helper()
			if cols < 64 {
				return // the prose above a table may wrap
			}
			for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
				if n := utf8.RuneCountInString(l); n > cols {
					t.Errorf("%s at %d columns: a line of %d columns:\n%s", what, cols, n, out)
					return
				}
			}
		}
		out := inTerminal(t, cols, env, "streams", "orders")
		fits("streams", out)
		for _, s := range streams {
			if !strings.Contains(out, s.Offset) {
				t.Errorf("streams at %d columns: the offset %s of %s is not shown whole:\n%s", cols, s.Offset, s.Name, out)
			}
		}
		timeline := inTerminal(t, cols, env, "timeline", order)
		diff := inTerminal(t, cols, env, "diff", order, "--from", "0", "--to", strconv.FormatUint(longest, 10))
		for what, out := range map[string]string{"timeline": timeline, "diff": diff} {
			fits(what, out)
			// An event's own cells (its type, on a narrow terminal) may
			// be cut; a change, the lines under them, never.
			for _, l := range strings.Split(out, "\n") {
				if strings.Contains(l, "…") && !eventRow.MatchString(l) {
					t.Errorf("%s at %d columns cuts a change:\n%s", what, cols, out)
					break
				}
			}
			joined := joinWrapped.ReplaceAllString(out, "")
			for _, e := range tl.Events {
				for _, ch := range e.Changes {
					if v := compactJSON(ch.To); v != "null" && !strings.Contains(joined, v) {
						t.Errorf("%s at %d columns: the value %s of %s is not shown whole:\n%s", what, cols, v, ch.Path, out)
					}
				}
			}
		}
		// Named otherwise than by REWIND_SERVER, the server is in the
		// command that goes on.
		other := strings.Replace(server, "127.0.0.1", "localhost", 1)
		out = inTerminal(t, cols, env, "read", order, "--server", other)
		fits("read", out)
		last := streams[0].Offset
		for _, s := range streams {
			if s.Name == order {
				last = s.Offset
			}
		}
		hint := "rewind read " + order + " --server " + other + " --from " + last
		// Lines broken as a shell reads them: " \" at the end of each
		// line of the command but its last.
		if !strings.HasSuffix(squeeze(strings.ReplaceAll(out, " \\\n", " ")), "next offset: "+last+", to go on from here: "+hint) {
			t.Errorf("read at %d columns: the closing lines are not the offset and then %q:\n%s", cols, hint, out)
		}
	}
}

// TestReadEscapesControlsOnATerminal: read of a text or byte stream writes
// its control characters (but \n and \t) as escapes on a terminal, so that
// a stream's data cannot set the window's title, clear the screen or write
// the clipboard (OSC 52); to a pipe its bytes are data, as they are.
func TestReadEscapesControlsOnATerminal(t *testing.T) {
	p := startServe(t, nil, "--addr", "127.0.0.1:0", "--data", t.TempDir())
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	data := "title\x1b]0;pwned\x07 clear\x1b[2J clip\x1b]52;c;ZWNobyBoaQ==\x07 csi\x9b1m cr\rtab\tend\n"
	for _, ct := range []string{"text/plain", "text/html", "application/octet-stream"} {
		name := "esc/" + strings.ReplaceAll(ct, "/", "-")
		stream := p.url + "/v1/stream/" + name
		mustDo(t, http.MethodPut, stream, nil, http.StatusCreated, "Content-Type", ct)
		mustDo(t, http.MethodPost, stream, []byte(data), http.StatusNoContent, "Content-Type", ct)
		// A character whose bytes came in two appends is one character.
		mustDo(t, http.MethodPost, stream, []byte("caf\xc3"), http.StatusNoContent, "Content-Type", ct)
		mustDo(t, http.MethodPost, stream, []byte("\xa9\n"), http.StatusNoContent, "Content-Type", ct)

		out := inTerminal(t, 200, []string{"REWIND_SERVER=" + p.url}, "read", name)
		if strings.ContainsAny(out, "\x1b\x07\r\x9b") || strings.Contains(out, "\xc2\x9b") {
			t.Errorf("read %s on a terminal wrote control characters:\n%q", ct, out)
		}
		want := `title\u001b]0;pwned\u0007 clear\u001b[2J clip\u001b]52;c;ZWNobyBoaQ==\u0007 csi\x9b1m cr\rtab` + "\tend\ncafé\n"
		if !strings.HasPrefix(out, want) {
			t.Errorf("read %s on a terminal:\n%q\nwant it to begin\n%q", ct, out, want)
		}
		_, piped, _ := runCLI(t, ctx, "read", name, "--server", p.url)
		if !strings.HasPrefix(piped, data+"café\n") {
			t.Errorf("read %s to a pipe:\n%q\nwant the bytes as stored", ct, piped)
		}
	}
}
