package checkpoint

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rewindhq/rewind/eventstore"
)

// Sentinel errors.
var (
	// ErrConflict is returned by Save when the checkpoint's revision is not
	// the one given (another runner saved since), and by lease calls when
	// another holder owns the lease.
	ErrConflict = errors.New("checkpoint: conflict")

	// ErrInvalidName is returned for an empty name or one longer than
	// MaxNameLen.
	ErrInvalidName = errors.New("checkpoint: invalid name")
)

// LeaseHeldError is Acquire's answer when another holder owns an unexpired
// lease: who, and until when (by the clock of the process that asked), so
// that a standby can try again the moment it lapses. It matches
// ErrConflict.
type LeaseHeldError struct {
	Name    string
	Holder  string
	Expires time.Time
}

// Error names the lease, its holder and its expiry.
func (e *LeaseHeldError) Error() string {
	return fmt.Sprintf("%v: %q is held by %q until %s", ErrConflict, e.Name, e.Holder, e.Expires.Format(time.RFC3339Nano))
}

// Is matches ErrConflict.
func (e *LeaseHeldError) Is(target error) bool { return target == ErrConflict }

// MaxNameLen is the longest checkpoint name, in bytes.
const MaxNameLen = 200

// Checkpoint is a saved position.
type Checkpoint struct {
	// Offset is the position: the offset of the last event handled.
	// eventstore.Start when nothing is saved.
	Offset eventstore.Offset
	// Revision increases with every save; 0 means nothing is saved.
	Revision uint64
}

// Store loads and saves checkpoints. Implementations are safe for
// concurrent use.
type Store interface {
	// Load returns the checkpoint saved under name, or (Start, 0).
	Load(ctx context.Context, name string) (Checkpoint, error)
	// Save stores offset under name if the saved revision is rev, and
	// returns the new revision; otherwise it fails with ErrConflict.
	Save(ctx context.Context, name string, offset eventstore.Offset, rev uint64) (uint64, error)
}

// Lease is one holder's claim on a name, valid until Expires.
type Lease struct {
	Name     string
	Holder   string
	Expires  time.Time
	Revision uint64
}

// Leaser grants exclusive, expiring leases: one runner per projection
// across processes.
type Leaser interface {
	// Acquire makes holder the owner of name for ttl if nobody else holds
	// an unexpired lease on it (or holder does: then it is renewed), and
	// fails with ErrConflict otherwise: a *LeaseHeldError when it knows
	// the current holder's expiry (the runner's standby then tries again
	// exactly when it lapses), or a plain ErrConflict (it tries again a
	// third of a lease later). An empty holder, or a ttl that is not
	// positive (a lease that has lapsed when it is given), is an error
	// wrapping eventstore.ErrInvalidOption.
	Acquire(ctx context.Context, name, holder string, ttl time.Duration) (Lease, error)
	// Release gives a lease up, if it is still the holder's.
	Release(ctx context.Context, l Lease) error
}

// checkLease checks Acquire's arguments.
func checkLease(name, holder string, ttl time.Duration) error {
	if err := checkName(name); err != nil {
		return err
	}
	if holder == "" {
		return fmt.Errorf("%w: lease %q: empty holder", eventstore.ErrInvalidOption, name)
	}
	if ttl <= 0 {
		return fmt.Errorf("%w: lease %q: ttl %v (it must be positive)", eventstore.ErrInvalidOption, name, ttl)
	}
	return nil
}

// CheckName returns nil if name can name a checkpoint or a lease, and
// otherwise an error wrapping ErrInvalidName: the rule every Store and
// Leaser of the package applies, for a caller that takes names from
// outside (a projection's name) and refuses a bad one before it is used.
func CheckName(name string) error { return checkName(name) }

func checkName(name string) error {
	if name == "" || len(name) > MaxNameLen {
		return fmt.Errorf("%w: %q (1 to %d bytes)", ErrInvalidName, name, MaxNameLen)
	}
	return nil
}

func checkOffset(o eventstore.Offset) (eventstore.Offset, error) {
	if o == eventstore.Now {
		return "", fmt.Errorf("%w: a checkpoint is a concrete offset, not %q", eventstore.ErrInvalidOffset, o)
	}
	return eventstore.ParseOffset(string(o))
}
