package eventstore

import (
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// openFS is the file system the read index is opened on: the operating
// system's, with fsyncs skipped while pebble.Open runs. Open rewrites the
// index's bookkeeping (a new MANIFEST, an OPTIONS file, markers) and syncs
// each file and directory, five to eight fsyncs that cost tens of
// milliseconds on a busy disk and make up most of an open. The index is
// derived from the log: if a power cut loses that bookkeeping, pebble finds
// either the previous one (the same tables) or none it can read, and an
// index that does not open is rebuilt from the log. Everything after the
// open (flushes, compactions, Close) syncs as pebble means it to, which is
// what the clean-close mark (cleanclose.go) relies on.
//
// It also makes a new table wait while the index's background writes fail
// (index_health.go), so that pebble's flush, tried again at once after a
// failure, does not spin.
type openFS struct {
	vfs.FS
	opening *atomic.Bool
	health  *indexHealth
}

func newOpenFS(base vfs.FS, health *indexHealth) (openFS, *atomic.Bool) {
	b := new(atomic.Bool)
	return openFS{FS: base, opening: b, health: health}, b
}

func (o openFS) Create(name string, c vfs.DiskWriteCategory) (vfs.File, error) {
	o.health.paceTable(name)
	f, err := o.FS.Create(name, c)
	return o.wrap(f, err)
}

func (o openFS) OpenReadWrite(name string, c vfs.DiskWriteCategory, opts ...vfs.OpenOption) (vfs.File, error) {
	f, err := o.FS.OpenReadWrite(name, c, opts...)
	return o.wrap(f, err)
}

func (o openFS) OpenDir(name string) (vfs.File, error) {
	f, err := o.FS.OpenDir(name)
	return o.wrap(f, err)
}

func (o openFS) ReuseForWrite(oldname, newname string, c vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := o.FS.ReuseForWrite(oldname, newname, c)
	return o.wrap(f, err)
}

func (o openFS) wrap(f vfs.File, err error) (vfs.File, error) {
	if err != nil {
		return nil, err
	}
	return openFile{File: f, opening: o.opening}, nil
}

// openFile skips syncs while its file system's open runs.
type openFile struct {
	vfs.File
	opening *atomic.Bool
}

func (f openFile) Sync() error {
	if f.opening.Load() {
		return nil
	}
	return f.File.Sync()
}

func (f openFile) SyncData() error {
	if f.opening.Load() {
		return nil
	}
	return f.File.SyncData()
}

func (f openFile) SyncTo(length int64) (bool, error) {
	if f.opening.Load() {
		return false, nil
	}
	return f.File.SyncTo(length)
}
