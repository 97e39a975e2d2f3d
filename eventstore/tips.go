package eventstore

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

// Tips: how a store that shares its log learns at once that another
// process wrote to it.
//
// The read index's tailer of a store that shares its log (Connect,
// WithListen) used to keep a consumer on the whole log for as long as the
// store was open. While this process is the only one writing, that
// consumer delivers back nothing but this process's own commits, which
// its appends have already handed to the index: on a cluster, about two
// thirds of what an append costs beyond a bare JetStream publish, spent
// on the servers and in this process for nothing. So the tailer stops its
// consumer once it has delivered only this process's commits for
// quietAfter, and tails as a sole writer's does (tailer.go); it needs to
// hear at once when that changes.
//
// Every store that appends to a shared log announces, on a core NATS
// subject of its own (tipSubject), its identity and the last log
// sequence it was acknowledged: a tip, at most one per tipEvery, so a
// tip costs nothing measurable under a steady stream of appends. Every
// store that follows the log listens; a tip from another store for a
// sequence its index does not hold sends the tailer back to following
// the log live at once. A store goes quiet only after quietAfter without
// another process's commit, longer than tipEvery: the next commit of
// whoever wrote last is then announced the moment it is acknowledged.
// Own tips are recognised by the identity they carry (NoEcho would work
// only because tips are sent on one connection and received on the other,
// and it would change what a user's options ask of the connections).
//
// A tip is a core NATS message, lost when a connection or a route drops
// it, and an older Rewind, or a process whose account may not publish
// there, sends none: the tailer also compares, at every tailInterval, the
// log's last sequence of the turn before with what the index holds.
//
// Whether this store may publish and subscribe on the subject is found by
// sending itself a probe (a tip for sequence 0) until it comes back, for
// up to tipProbeWait: until then, and for good if it never does (the
// deployment's permissions refuse the subject), the tailer follows the
// log live as it always did, and the store logs that once.

// tipEvery is how often, at most, a store announces its appends.
const tipEvery = 100 * time.Millisecond

// quietAfter is how long the tailer follows the log live while it
// delivers only this process's own commits, before it stops its consumer.
const quietAfter = time.Second

// tipProbeWait bounds the probe of the tip subject, and tipProbeEvery
// spaces its tries.
const (
	tipProbeWait  = 5 * time.Second
	tipProbeEvery = 250 * time.Millisecond
)

// tipSubject is the subject of a log's tips: one token, so that no log of
// any Rewind store ("<name>.>") and no bucket ("$KV.<bucket>.>") or
// snapshot stream ("<name>-snapshots.>") captures it.
func tipSubject(jsName string) string { return jsName + "-tips" }

// tips sends this store's tips and receives the others'.
type tips struct {
	subject string
	id      []byte     // this store's identity in its tips
	nc      *nats.Conn // sends
	sub     *nats.Subscription

	on       atomic.Bool   // the probe came back: tips are sent, and the tailer may go quiet
	muted    atomic.Bool   // tests: send no tip (what an older Rewind does)
	tipsOnly atomic.Bool   // tests: a quiet tailer does not compare the log's last sequence with the index
	last     atomic.Int64  // Unix ns of the last tip sent
	others   atomic.Uint64 // the highest sequence another store announced
	signal   chan struct{} // receives when another store announced a sequence

	mu        sync.Mutex
	probeAt   time.Time // the first probe
	probeSent time.Time // the last one
	gaveUp    bool
	log       func(msg string, args ...any)
}

// startTips subscribes to the log's tips on rnc, to send them on nc. A
// subscription that fails or is refused leaves the store following the
// log live.
func (s *Store) startTips() *tips {
	t := &tips{subject: tipSubject(s.jsName), id: []byte(s.consumerPrefix), nc: s.nc,
		signal: make(chan struct{}, 1), log: s.log.Info}
	sub, err := s.rnc.Subscribe(t.subject, t.receive)
	if err == nil {
		t.sub = sub
		err = refused(s.rnc, "Subscription to", t.subject)
	}
	if err != nil {
		t.giveUp(err)
	}
	return t
}

// refused returns the error of a permissions violation on subject that
// the server answered nc with (what, "Publish to" or "Subscription to"),
// once what nc sent so far has reached the server (a flush).
func refused(nc *nats.Conn, what, subject string) error {
	if err := nc.FlushTimeout(time.Second); err != nil {
		return nil // not known: the probe decides
	}
	if err := nc.LastError(); errors.Is(err, nats.ErrPermissionViolation) && strings.Contains(err.Error(), what+` "`+subject+`"`) {
		return err
	}
	return nil
}

// giveUp gives tips up for good (the store follows the log live); t.mu
// is not held.
func (t *tips) giveUp(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.gaveUpLocked(err)
}

func (t *tips) gaveUpLocked(err error) {
	if t.gaveUp {
		return
	}
	t.gaveUp = true
	t.log("eventstore: no tips on this log's tip subject; the read index follows the log live", "subject", t.subject, "err", err)
}

// announce sends a tip for seq unless one went less than tipEvery ago.
// It is called after every acknowledged append.
func (t *tips) announce(seq uint64) {
	if t == nil || !t.on.Load() || t.muted.Load() {
		return
	}
	now := time.Now().UnixNano()
	last := t.last.Load()
	if now-last < int64(tipEvery) || !t.last.CompareAndSwap(last, now) {
		return
	}
	t.send(seq)
}

func (t *tips) send(seq uint64) {
	var b [64]byte
	msg := append(b[:0], t.id...)
	msg = append(msg, ' ')
	msg = strconv.AppendUint(msg, seq, 10)
	_ = t.nc.Publish(t.subject, msg) // lost or refused: the tailer's comparison with the log finds it
}

// receive handles one tip (the subscription's goroutine).
func (t *tips) receive(m *nats.Msg) {
	id, seqText, ok := bytes.Cut(m.Data, []byte{' '})
	if !ok {
		return
	}
	seq, err := strconv.ParseUint(string(seqText), 10, 64)
	if err != nil {
		return
	}
	if bytes.Equal(id, t.id) {
		if seq == 0 {
			t.on.Store(true) // the probe came back
		}
		return
	}
	if !raise(&t.others, seq) {
		return
	}
	select {
	case t.signal <- struct{}{}:
	default:
	}
}

// probe sends the probe, while it has not come back, at most every
// tipProbeEvery and for up to tipProbeWait (on a cluster, this store's
// subscription takes a moment to reach the other servers); it reports
// whether tips work. The tailer calls it while it follows the log live.
func (t *tips) probe() bool {
	if t.on.Load() {
		return true
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.gaveUp || t.on.Load() {
		return t.on.Load()
	}
	now := time.Now()
	switch {
	case t.probeAt.IsZero():
		t.probeAt = now
	case now.Sub(t.probeAt) > tipProbeWait:
		t.gaveUpLocked(fmt.Errorf("its own tips did not come back within %v", tipProbeWait))
		return false
	case now.Sub(t.probeSent) < tipProbeEvery:
		return false
	}
	t.probeSent = now
	t.send(0)
	if err := refused(t.nc, "Publish to", t.subject); err != nil {
		t.gaveUpLocked(err)
	}
	return false
}

// othersAfter reports whether another store announced a sequence after
// pos.
func (t *tips) othersAfter(pos uint64) bool { return t != nil && t.others.Load() > pos }

// signalled is the channel that receives when another store announced a
// sequence (nil for a store without tips: it never receives).
func (t *tips) signalled() <-chan struct{} {
	if t == nil {
		return nil
	}
	return t.signal
}
