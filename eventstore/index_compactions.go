package eventstore

import (
	"sync"

	"github.com/cockroachdb/pebble/v2"
)

// compactionGate schedules the read index's compactions, one at a time,
// and none until it is opened.
//
// Why: pebble.Open waits for every compaction in progress before it
// lists obsolete files, and it starts compactions before that. An index
// left with compaction debt (the last process wrote a lot and closed)
// made the next Open wait for a whole L0 compaction: seconds, on an
// open that otherwise costs milliseconds. With the gate closed, pebble
// opens without compacting; the store opens the gate once the store is
// open, and the debt is paid in the background, as it would have been.
//
// It implements pebble's CompactionScheduler as pebble's own default
// does for one database: a grant per compaction up to what the database
// allows without permission; a goroutine (from Register to Unregister)
// that grants when pebble says the allowance may have grown, since pebble
// says so holding its own lock, which granting takes.
type compactionGate struct {
	mu           sync.Mutex
	cond         *sync.Cond // signalled when granting ends
	db           pebble.DBForCompaction
	running      int
	open         bool
	unregistered bool
	granting     bool

	poke chan struct{}
	stop chan struct{}
	done chan struct{}
}

func newCompactionGate() *compactionGate {
	g := &compactionGate{poke: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	g.cond = sync.NewCond(&g.mu)
	return g
}

// Register is called by pebble once the database is open.
func (g *compactionGate) Register(_ int, db pebble.DBForCompaction) {
	g.mu.Lock()
	g.db = db
	g.mu.Unlock()
	go g.run()
}

func (g *compactionGate) run() {
	defer close(g.done)
	for {
		select {
		case <-g.stop:
			return
		case <-g.poke:
			g.mu.Lock()
			g.grantAndUnlock()
		}
	}
}

// Unregister is called by pebble at close; no grant follows it.
func (g *compactionGate) Unregister() {
	g.mu.Lock()
	registered := g.db != nil
	g.mu.Unlock()
	if registered {
		close(g.stop)
		<-g.done
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.unregistered = true
	for g.granting {
		g.cond.Wait()
	}
}

// TrySchedule is called by pebble (holding its own lock) when it wants to
// run a compaction.
func (g *compactionGate) TrySchedule() (bool, pebble.CompactionGrantHandle) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.open || g.unregistered || g.db == nil {
		return false, nil
	}
	if g.db.GetAllowedWithoutPermission() > g.running {
		g.running++
		return true, g
	}
	return false, nil
}

// UpdateGetAllowedWithoutPermission: what pebble allows may have grown.
// Pebble holds its lock: the gate's goroutine grants.
func (g *compactionGate) UpdateGetAllowedWithoutPermission() {
	select {
	case g.poke <- struct{}{}:
	default:
	}
}

// openGate lets compactions run, and starts those that are waiting.
func (g *compactionGate) openGate() {
	g.mu.Lock()
	g.open = true
	g.grantAndUnlock()
}

// grantAndUnlock starts compactions that pebble has waiting, as many as
// it allows; g.mu is held on entry and released on return. Pebble's
// methods are called without g.mu (pebble's lock comes first).
func (g *compactionGate) grantAndUnlock() {
	defer g.mu.Unlock()
	for g.granting {
		g.cond.Wait()
	}
	if !g.open || g.unregistered || g.db == nil {
		return
	}
	db := g.db
	g.granting = true
	for g.running < db.GetAllowedWithoutPermission() {
		g.mu.Unlock()
		waiting, _ := db.GetWaitingCompaction()
		accepted := waiting && db.Schedule(g)
		g.mu.Lock()
		if !accepted {
			break
		}
		g.running++
	}
	g.granting = false
	g.cond.Broadcast()
}

// Started is part of pebble.CompactionGrantHandle.
func (g *compactionGate) Started() {}

// MeasureCPU is part of pebble.CompactionGrantHandle.
func (g *compactionGate) MeasureCPU(pebble.CompactionGoroutineKind) {}

// CumulativeStats is part of pebble.CompactionGrantHandle.
func (g *compactionGate) CumulativeStats(pebble.CompactionGrantHandleStats) {}

// Done is part of pebble.CompactionGrantHandle: a compaction ended.
func (g *compactionGate) Done() {
	g.mu.Lock()
	g.running--
	g.grantAndUnlock()
}
