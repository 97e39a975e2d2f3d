//go:build !linux

package eventstore

import "os"

// datasync flushes f to stable storage (fsync where fdatasync is not
// used).
func datasync(f *os.File) error { return f.Sync() }
