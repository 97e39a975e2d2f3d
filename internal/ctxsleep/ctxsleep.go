// Package ctxsleep is the one pause of Rewind's retry loops and backoffs:
// wait for a duration, unless the caller's context ends first. Each of them
// used to write its own timer and select.
package ctxsleep

import (
	"context"
	"time"
)

// Sleep pauses for d, or until ctx ends: then it returns ctx's error, at
// once. It returns nil once d has passed.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
