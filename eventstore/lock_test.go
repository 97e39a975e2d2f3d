package eventstore_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rewindhq/rewind/eventstore"
)

// The lock children take the store directory from lockDirEnv.
const lockDirEnv = "REWIND_TEST_DIR"

func init() {
	children["lock-try-open"] = lockTryOpen
	children["lock-hold"] = lockHold
}

// lockTryOpen opens the store and reports on stdout: "locked <error>",
// "opened" or "failed <error>".
func lockTryOpen() int {
	dir := os.Getenv(lockDirEnv)
	s, err := eventstore.Open(context.Background(), dir)
	switch {
	case errors.Is(err, eventstore.ErrLocked):
		fmt.Printf("locked %v\n", err)
	case err != nil:
		fmt.Printf("failed %v\n", err)
	default:
		s.Close()
		fmt.Println("opened")
	}
	return 0
}

// lockHold opens the store, appends five events to lock/child, reports
// "ready <version> <offset>" on stdout once they are acknowledged, then
// holds the store until stdin closes, closes it and reports "closed".
func lockHold() int {
	ctx := context.Background()
	s, err := eventstore.Open(ctx, os.Getenv(lockDirEnv))
	if err != nil {
		fmt.Printf("failed %v\n", err)
		return 1
	}
	res, err := s.Append(ctx, "lock/child", evs(5, 0))
	if err != nil {
		fmt.Printf("failed %v\n", err)
		return 1
	}
	fmt.Printf("ready %d %s\n", res.Version, res.Offset())
	_, _ = io.Copy(io.Discard, os.Stdin)
	s.Close()
	fmt.Println("closed")
	return 0
}

// child is a running child process of the test binary.
type child struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Scanner
	stderr *bytes.Buffer
}

// startChild runs the registered child name with dir in its environment.
// The child is killed when the test ends, if it is still running.
func startChild(t *testing.T, name, dir string) *child {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+name, lockDirEnv+"="+dir)
	c := &child{cmd: cmd, stderr: &bytes.Buffer{}}
	cmd.Stderr = c.stderr
	var err error
	if c.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c.stdout = bufio.NewScanner(out)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		c.stdin.Close()
		_ = cmd.Wait()
	})
	return c
}

// line returns the child's next line of output.
func (c *child) line(t *testing.T) string {
	t.Helper()
	if !c.stdout.Scan() {
		t.Fatalf("child %v: no output (%v); stderr:\n%s", c.cmd.Args, c.stdout.Err(), c.stderr)
	}
	return c.stdout.Text()
}

// tryOpenInChild runs lock-try-open on dir and returns what it reported.
func tryOpenInChild(t *testing.T, dir string) string {
	t.Helper()
	c := startChild(t, "lock-try-open", dir)
	out := c.line(t)
	if err := c.cmd.Wait(); err != nil {
		t.Fatalf("child: %v; stderr:\n%s", err, c.stderr)
	}
	return out
}

// wantLocked checks that an Open failed with ErrLocked and says which
// directory is locked.
func wantLocked(t *testing.T, err error, dir string) {
	t.Helper()
	if !errors.Is(err, eventstore.ErrLocked) {
		t.Fatalf("second open: %v, want ErrLocked", err)
	}
	if !strings.Contains(err.Error(), dir) {
		t.Errorf("the error %q does not name the directory %s", err, dir)
	}
}

// TestLockSameProcess opens a directory twice in one process, by the same
// and by other spellings of its path: the second Open fails with ErrLocked
// and leaves the first store working; after Close the directory opens
// again with its data.
func TestLockSameProcess(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, err := eventstore.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Append(ctx, "lock/1", evs(2, 0)); err != nil {
		t.Fatal(err)
	}
	cwd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(cwd, dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{dir, dir + "/", filepath.Join(dir, "log", ".."), rel} {
		other, err := eventstore.Open(ctx, path)
		if err == nil {
			other.Close()
		}
		wantLocked(t, err, dir)
	}
	// The refused Opens took nothing from the first store.
	if _, err := s.Append(ctx, "lock/1", evs(1, 2)); err != nil {
		t.Fatalf("append after refused opens: %v", err)
	}
	if got := collect(t, s.Read(ctx, "lock/1")); len(got) != 3 {
		t.Fatalf("read %d events, want 3", len(got))
	}
	_, err = eventstore.Open(ctx, dir)
	wantLocked(t, err, dir)

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := eventstore.Open(ctx, dir)
	if err != nil {
		t.Fatalf("open after Close: %v", err)
	}
	defer s2.Close()
	if got := collect(t, s2.Read(ctx, "lock/1")); len(got) != 3 || got[2].Version != 3 {
		t.Errorf("after reopening: %s, want the 3 events", describe(got))
	}
}

// TestLockOtherProcess checks the lock between processes, both ways: a
// child cannot open a directory this process holds, and this process
// cannot open one a child holds, until the holder closes it.
func TestLockOtherProcess(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, err := eventstore.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if out := tryOpenInChild(t, dir); !strings.HasPrefix(out, "locked ") || !strings.Contains(out, dir) {
		t.Errorf("child opening a held directory reported %q, want ErrLocked naming %s", out, dir)
	}
	s.Close()

	// The child opens the directory this process released.
	holder := startChild(t, "lock-hold", dir)
	if out := holder.line(t); !strings.HasPrefix(out, "ready ") {
		t.Fatalf("holder: %q; stderr:\n%s", out, holder.stderr)
	}
	_, err = eventstore.Open(ctx, dir)
	wantLocked(t, err, dir)
	holder.stdin.Close()
	if out := holder.line(t); out != "closed" {
		t.Fatalf("holder: %q", out)
	}
	if err := holder.cmd.Wait(); err != nil {
		t.Fatalf("holder: %v; stderr:\n%s", err, holder.stderr)
	}
	s, err = eventstore.Open(ctx, dir)
	if err != nil {
		t.Fatalf("open after the holder closed: %v", err)
	}
	defer s.Close()
	if got := collect(t, s.Read(ctx, "lock/child")); len(got) != 5 {
		t.Errorf("the holder's events: %s, want 5", describe(got))
	}
}

// TestLockReleasedOnKill kills a child holding the store with kill -9:
// the kernel drops its lock, so this process can open the directory, and
// every event the child was told was stored is there.
func TestLockReleasedOnKill(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	holder := startChild(t, "lock-hold", dir)
	out := holder.line(t)
	var version uint64
	var offset string
	if _, err := fmt.Sscanf(out, "ready %d %s", &version, &offset); err != nil {
		t.Fatalf("holder: %q (%v); stderr:\n%s", out, err, holder.stderr)
	}
	_, err := eventstore.Open(ctx, dir)
	wantLocked(t, err, dir)

	if err := syscall.Kill(holder.cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err = holder.cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("holder ended with %v, want killed by SIGKILL", err)
	}

	s, err := eventstore.Open(ctx, dir)
	if err != nil {
		t.Fatalf("open after kill -9: %v", err)
	}
	defer s.Close()
	got := collect(t, s.Read(ctx, "lock/child"))
	if uint64(len(got)) != version || len(got) == 0 || string(got[len(got)-1].Offset) != offset {
		t.Fatalf("after kill -9: %s, want %d events ending at %s", describe(got), version, offset)
	}
	for i, e := range got {
		if want := fmt.Sprintf(`{"n":%d}`, i); string(e.Data) != want {
			t.Errorf("event %d: %s, want %s", i, e.Data, want)
		}
	}
	res, err := s.Append(ctx, "lock/child", evs(1, 5), eventstore.ExpectVersion(version))
	if err != nil || res.Version != version+1 || res.Offset() <= eventstore.Offset(offset) {
		t.Errorf("append after kill -9: %+v, %v", res, err)
	}
	if h, err := s.Head(ctx, "lock/child"); err != nil || h.Version != version+1 {
		t.Errorf("head: %+v, %v", h, err)
	}
}
