package eventstore

import (
	"bytes"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// fullFS is a file system whose new tables cannot be written while full
// is set: a write returns ENOSPC, as a full disk does.
type fullFS struct {
	vfs.FS
	full  *atomic.Bool
	tries *atomic.Int64 // tables created while full
}

func (f fullFS) Create(name string, c vfs.DiskWriteCategory) (vfs.File, error) {
	file, err := f.FS.Create(name, c)
	if err != nil || !strings.HasSuffix(name, ".sst") {
		return file, err
	}
	if f.full.Load() {
		f.tries.Add(1)
	}
	return fullFile{File: file, full: f.full, name: name}, nil
}

type fullFile struct {
	vfs.File
	full *atomic.Bool
	name string
}

func (f fullFile) Write(p []byte) (int, error) {
	if f.full.Load() {
		return 0, &fs.PathError{Op: "write", Path: f.name, Err: syscall.ENOSPC}
	}
	return f.File.Write(p)
}

// syncLog is a slog destination that tests read while the index writes.
type syncLog struct {
	mu  chan struct{}
	buf bytes.Buffer
}

func newSyncLog() *syncLog { return &syncLog{mu: make(chan struct{}, 1)} }

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu <- struct{}{}
	defer func() { <-l.mu }()
	return l.buf.Write(p)
}

func (l *syncLog) String() string {
	l.mu <- struct{}{}
	defer func() { <-l.mu }()
	return l.buf.String()
}

// TestIndexDiskFull: while the index's tables cannot be written (a full
// disk), pebble tries its flush again and again. The store paces the tries
// (a few a second at first, not hundreds), logs the run once, without a
// stack trace, and reports it (Ready's check); when the disk has room
// again the flush goes through, and the store says so.
func TestIndexDiskFull(t *testing.T) {
	full, tries := new(atomic.Bool), new(atomic.Int64)
	logs := newSyncLog()
	log := slog.New(slog.NewTextHandler(logs, nil))
	x, reason := openIndexPebbleOn(fullFS{FS: vfs.Default, full: full, tries: tries}, t.TempDir(), 1<<20, log)
	if reason != "" {
		t.Fatal(reason)
	}
	write := func(n int) {
		b := x.db.NewBatch()
		for i := range n {
			_ = b.Set(fmt.Appendf(nil, "c%08d", i), bytes.Repeat([]byte("v"), 100), nil)
		}
		if err := b.Commit(pebble.NoSync); err != nil {
			t.Fatal(err)
		}
	}
	write(1000)
	full.Store(true)
	if _, err := x.db.AsyncFlush(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	n := tries.Load()
	if n == 0 {
		t.Fatal("no flush was tried")
	}
	if n > 20 {
		t.Errorf("%d tables tried in 2 s with the disk full: the flush is not paced", n)
	}
	err := x.health.check(time.Now())
	if err == nil || !strings.Contains(err.Error(), "no space left on device") {
		t.Errorf("check while full: %v", err)
	}
	out := logs.String()
	if c := strings.Count(out, "cannot write its files"); c != 1 {
		t.Errorf("logged %d times in 2 s, want once:\n%s", c, out)
	}
	if strings.Contains(out, "stack") || strings.Contains(out, ".go:") {
		t.Errorf("the log holds a stack trace:\n%s", out)
	}
	full.Store(false)
	deadline := time.Now().Add(20 * time.Second)
	for x.health.failures() > 0 {
		if time.Now().After(deadline) {
			t.Fatal("the flush did not go through once the disk had room")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := x.health.check(time.Now()); err != nil {
		t.Errorf("check after the flush: %v", err)
	}
	if !strings.Contains(logs.String(), "writes its files again") {
		t.Errorf("the recovery is not logged:\n%s", logs.String())
	}
	if err := x.close(); err != nil {
		t.Errorf("close: %v", err)
	}
}

// TestIndexCloseOnFullDisk: Close's flush gives up when the disk is full,
// rather than wait for ever for pebble's tries, and says so.
func TestIndexCloseOnFullDisk(t *testing.T) {
	full, tries := new(atomic.Bool), new(atomic.Int64)
	log := slog.New(slog.NewTextHandler(newSyncLog(), nil))
	x, reason := openIndexPebbleOn(fullFS{FS: vfs.Default, full: full, tries: tries}, t.TempDir(), 1<<20, log)
	if reason != "" {
		t.Fatal(reason)
	}
	b := x.db.NewBatch()
	_ = b.Set([]byte("k"), []byte("v"), nil)
	if err := b.Commit(pebble.NoSync); err != nil {
		t.Fatal(err)
	}
	full.Store(true)
	done := make(chan error, 1)
	go func() { done <- x.close() }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "not flushed at close") {
			t.Errorf("close on a full disk: %v, want an error saying the index was not flushed", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("close did not return on a full disk")
	}
}
