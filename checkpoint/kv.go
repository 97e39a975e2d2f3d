package checkpoint

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rewindhq/rewind/eventstore"
	"github.com/rewindhq/rewind/internal/ctxsleep"
	"github.com/rewindhq/rewind/internal/natsretry"
)

// DefaultBucket is the key-value bucket NewKV uses.
const DefaultBucket = "rewind-checkpoints"

// KV keeps checkpoints and leases in a JetStream key-value bucket on the
// event store's server, with the bucket's revisions as compare-and-set
// revisions. Lease expiry is compared with the local clock of the process
// that asks, so hosts sharing leases should keep their clocks in sync;
// leases of a few seconds tolerate the usual skew.
type KV struct {
	kv jetstream.KeyValue

	beforePut func() // tests: called in Acquire between its read and its write
}

var (
	_ Store  = (*KV)(nil)
	_ Leaser = (*KV)(nil)
)

// NewKV returns a KV store on bucket (DefaultBucket if "") of store's
// server, creating the bucket if needed.
func NewKV(ctx context.Context, store *eventstore.Store, bucket string) (*KV, error) {
	if store == nil {
		return nil, fmt.Errorf("checkpoint: %w: NewKV needs a store", eventstore.ErrInvalidOption)
	}
	if bucket == "" {
		bucket = DefaultBucket
	}
	kv, err := store.KeyValue(ctx, bucket)
	if err != nil {
		return nil, err
	}
	return &KV{kv: kv}, nil
}

// Names become keys in an alphabet that key-value buckets accept.
func kvKey(kind, name string) string {
	return kind + "." + base64.RawURLEncoding.EncodeToString([]byte(name))
}

// Load returns the checkpoint saved under name.
func (k *KV) Load(ctx context.Context, name string) (Checkpoint, error) {
	if err := checkName(name); err != nil {
		return Checkpoint{}, err
	}
	e, err := k.get(ctx, kvKey("cp", name))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Checkpoint{Offset: eventstore.Start}, nil
	}
	if err != nil {
		return Checkpoint{}, fmt.Errorf("checkpoint: load %q: %w", name, err)
	}
	o, err := eventstore.ParseOffset(string(e.Value()))
	if err != nil {
		return Checkpoint{}, fmt.Errorf("checkpoint: load %q: stored value: %w", name, err)
	}
	return Checkpoint{Offset: o, Revision: e.Revision()}, nil
}

// Save stores offset under name if the saved revision is rev.
func (k *KV) Save(ctx context.Context, name string, offset eventstore.Offset, rev uint64) (uint64, error) {
	if err := checkName(name); err != nil {
		return 0, err
	}
	offset, err := checkOffset(offset)
	if err != nil {
		return 0, err
	}
	n, err := k.put(ctx, kvKey("cp", name), []byte(offset), rev)
	if isCASFailure(err) {
		return 0, fmt.Errorf("%w: %q is not at revision %d", ErrConflict, name, rev)
	}
	if err != nil {
		return 0, fmt.Errorf("checkpoint: save %q: %w", name, err)
	}
	return n, nil
}

// get reads key, trying again across an election (natsretry): a
// transient cluster error that outlasts ctx comes back wrapping
// eventstore.ErrUnavailable.
func (k *KV) get(ctx context.Context, key string) (jetstream.KeyValueEntry, error) {
	var e jetstream.KeyValueEntry
	err := natsretry.Do(ctx, func(ctx context.Context) (err error) {
		e, err = k.kv.Get(ctx, key)
		return err
	})
	return e, err
}

// put writes value under key if its revision is rev (0: if it has none),
// trying again across an election (natsretry), and returns the new
// revision. A try that went unanswered may have been stored: the next
// one's compare-and-set then fails, and the key is read back; if it holds
// value at a later revision than rev, that is this write (a checkpoint's
// value is its offset, which a second writer at rev would have had to
// save too; a lease's holds its holder and expiry to the nanosecond), and
// its revision is returned.
func (k *KV) put(ctx context.Context, key string, value []byte, rev uint64) (uint64, error) {
	var n uint64
	maybeStored := false
	err := natsretry.Do(ctx, func(ctx context.Context) (err error) {
		if rev == 0 {
			n, err = k.kv.Create(ctx, key, value)
		} else {
			n, err = k.kv.Update(ctx, key, value, rev)
		}
		if isCASFailure(err) && maybeStored {
			// Any replica answers a read: one that lags may not hold
			// what the leader that refused the write holds.
			e, gerr := k.kv.Get(ctx, key)
			switch {
			case rev == 0 && errors.Is(gerr, jetstream.ErrKeyNotFound) || gerr == nil && e.Revision() <= rev:
				return fmt.Errorf("%w: %w", natsretry.ErrReplicaLags, err)
			case gerr == nil && bytes.Equal(e.Value(), value):
				n = e.Revision()
				return nil
			case natsretry.Transient(gerr):
				return gerr
			}
		}
		if natsretry.Transient(err) {
			maybeStored = true
		}
		return err
	})
	return n, err
}

// isCASFailure tells a failed compare-and-set from other errors.
func isCASFailure(err error) bool {
	var apiErr *jetstream.APIError
	return errors.Is(err, jetstream.ErrKeyExists) ||
		errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence
}

// Acquire takes or renews the lease on name for holder.
//
// It reads the lease, decides, and writes at the revision it read. A write
// refused because the lease moved on since is decided again on a new read,
// a few times (acquireTries): the read may have been answered by a replica
// that lagged its leader (any replica answers a read, and after an
// election or a restart one may not hold the last renewal yet), or another
// holder took a lease that has lapsed since. Only a lease still held by
// another is a conflict.
func (k *KV) Acquire(ctx context.Context, name, holder string, ttl time.Duration) (Lease, error) {
	if err := checkLease(name, holder, ttl); err != nil {
		return Lease{}, err
	}
	key := kvKey("lease", name)
	pause := acquirePause
	for try := 1; ; try++ {
		l, err := k.acquireOnce(ctx, key, name, holder, ttl)
		if !isCASFailure(err) {
			return l, err
		}
		if try == acquireTries {
			return Lease{}, fmt.Errorf("%w: %q was taken meanwhile", ErrConflict, name)
		}
		if ctxsleep.Sleep(ctx, pause) != nil {
			return Lease{}, fmt.Errorf("%w: %q was taken meanwhile", ErrConflict, name)
		}
		pause *= 2
	}
}

// acquireTries bounds Acquire's reads and decisions; acquirePause is the
// first pause between them (doubling), about what a lagging replica takes
// to catch up.
const (
	acquireTries = 5
	acquirePause = 20 * time.Millisecond
)

// acquireOnce is one read, decision and write of Acquire. A write refused
// at the revision read comes back as the compare-and-set failure.
func (k *KV) acquireOnce(ctx context.Context, key, name, holder string, ttl time.Duration) (Lease, error) {
	now := time.Now()
	l := Lease{Name: name, Holder: holder, Expires: now.Add(ttl)}
	value := []byte(strconv.FormatInt(l.Expires.UnixNano(), 10) + " " + holder)
	e, err := k.get(ctx, key)
	rev := uint64(0)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
	case err != nil:
		return Lease{}, fmt.Errorf("checkpoint: lease %q: %w", name, err)
	default:
		cur := parseLease(name, e)
		if cur.Holder != holder && now.Before(cur.Expires) {
			return Lease{}, &LeaseHeldError{Name: name, Holder: cur.Holder, Expires: cur.Expires}
		}
		rev = e.Revision()
	}
	if k.beforePut != nil {
		k.beforePut()
	}
	l.Revision, err = k.put(ctx, key, value, rev)
	if isCASFailure(err) {
		return Lease{}, err
	}
	if err != nil {
		return Lease{}, fmt.Errorf("checkpoint: lease %q: %w", name, err)
	}
	return l, nil
}

func parseLease(name string, e jetstream.KeyValueEntry) Lease {
	ns, holder, _ := strings.Cut(string(e.Value()), " ")
	n, _ := strconv.ParseInt(ns, 10, 64)
	return Lease{Name: name, Holder: holder, Expires: time.Unix(0, n), Revision: e.Revision()}
}

// Release gives the lease up if it is still l's: held by l.Holder at
// l.Revision (a lease renewed since has another revision; the runner
// releases the one it last renewed). It reads the lease and deletes it at
// the revision it read, so a holder that took it meanwhile keeps it: the
// delete's compare-and-set fails, which Release reports as nil, as it
// does a lease that is another's or gone.
func (k *KV) Release(ctx context.Context, l Lease) error {
	if err := checkName(l.Name); err != nil {
		return err
	}
	key := kvKey("lease", l.Name)
	// A try whose answer was lost may have deleted it: the next one reads
	// it gone, or its compare-and-set fails, which is the same outcome.
	err := natsretry.Do(ctx, func(ctx context.Context) error {
		e, err := k.kv.Get(ctx, key)
		if err != nil {
			return err
		}
		if cur := parseLease(l.Name, e); cur.Holder != l.Holder || cur.Revision != l.Revision {
			return nil // another's lease, or this holder's renewed since
		}
		return k.kv.Delete(ctx, key, jetstream.LastRevision(e.Revision()))
	})
	if err != nil && !isCASFailure(err) && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("checkpoint: release %q: %w", l.Name, err)
	}
	return nil
}
