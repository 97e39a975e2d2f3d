package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/sys/unix"

	"github.com/rewindhq/rewind/examples/orders/app"
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
	a, err := app.Start(ctx, app.Config{Addr: "127.0.0.1:0", Data: t.TempDir(),
		Seed: app.SeedConfig{Config: seed.Config{Orders: 10, Days: 2, Rand: 7}}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	server := "REWIND_SERVER=" + strings.TrimSuffix(a.URL, "/")
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
