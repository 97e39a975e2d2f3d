package checkpoint

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/rewindhq/rewind/eventstore"
)

// Memory is an in-memory Store and Leaser, for tests and for projections
// rebuilt at every start. Its zero value is ready to use.
type Memory struct {
	mu     sync.Mutex
	cps    map[string]Checkpoint
	leases map[string]Lease
	now    func() time.Time // nil: time.Now
}

var (
	_ Store  = (*Memory)(nil)
	_ Leaser = (*Memory)(nil)
)

// Load returns the checkpoint saved under name.
func (m *Memory) Load(ctx context.Context, name string) (Checkpoint, error) {
	if err := checkName(name); err != nil {
		return Checkpoint{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if cp, ok := m.cps[name]; ok {
		return cp, nil
	}
	return Checkpoint{Offset: eventstore.Start}, nil
}

// Save stores offset under name if the saved revision is rev.
func (m *Memory) Save(ctx context.Context, name string, offset eventstore.Offset, rev uint64) (uint64, error) {
	if err := checkName(name); err != nil {
		return 0, err
	}
	offset, err := checkOffset(offset)
	if err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	cur := m.cps[name]
	if cur.Revision != rev {
		return 0, fmt.Errorf("%w: %q is at revision %d, not %d", ErrConflict, name, cur.Revision, rev)
	}
	if m.cps == nil {
		m.cps = make(map[string]Checkpoint)
	}
	m.cps[name] = Checkpoint{Offset: offset, Revision: rev + 1}
	return rev + 1, nil
}

func (m *Memory) clock() time.Time {
	if m.now != nil {
		return m.now()
	}
	return time.Now()
}

// Acquire takes or renews the lease on name for holder.
func (m *Memory) Acquire(ctx context.Context, name, holder string, ttl time.Duration) (Lease, error) {
	if err := checkLease(name, holder, ttl); err != nil {
		return Lease{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.clock()
	cur, ok := m.leases[name]
	if ok && cur.Holder != holder && now.Before(cur.Expires) {
		return Lease{}, &LeaseHeldError{Name: name, Holder: cur.Holder, Expires: cur.Expires}
	}
	if m.leases == nil {
		m.leases = make(map[string]Lease)
	}
	l := Lease{Name: name, Holder: holder, Expires: now.Add(ttl), Revision: cur.Revision + 1}
	m.leases[name] = l
	return l, nil
}

// Release gives the lease up if it is still l's.
func (m *Memory) Release(ctx context.Context, l Lease) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if cur, ok := m.leases[l.Name]; ok && cur.Holder == l.Holder && cur.Revision == l.Revision {
		delete(m.leases, l.Name)
	}
	return nil
}
