//go:build !unix

package access

// openFileLimit is 0: the limit is not known here.
func openFileLimit() uint64 { return 0 }
