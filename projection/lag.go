package projection

import (
	"context"
	"sync"
	"time"

	"github.com/rewindhq/rewind/eventstore"
)

// lagScan remembers what Status has read of a projection's source, so that
// each call reads only what was stored since the previous one. Nothing the
// projection wants lies in (base, first) (or (base, scanned] when first is
// unset), and last is the newest wanted event up to scanned.
type lagScan struct {
	mu      sync.Mutex
	base    eventstore.Offset // the position the scan was made from
	scanned eventstore.Offset // the source was read up to here
	first   *eventstore.Event // the oldest wanted event after base
	last    eventstore.Offset // the newest wanted event up to scanned ("": none after base)
}

// lag measures how far pr's projection at pos is behind its source as of
// tail: in commits up to the source's newest event, and in time since the
// oldest event it has yet to apply. An error reading the source reports
// the log's distance instead (an upper bound) and no time.
func (r *Runner) lag(ctx context.Context, pr *proc, pos, tail eventstore.Offset) (uint64, time.Duration) {
	if pos >= tail {
		return 0, 0
	}
	l := &pr.lag
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.base == "" || pos < l.base {
		// First call, or the position moved back (a position saved by
		// another runner): nothing is known after pos.
		l.reset(pos)
	}
	l.base = max(l.base, pos)
	l.scanned = max(l.scanned, pos)
	if l.last <= pos {
		l.last = ""
	}
	if l.first != nil && l.first.Offset <= pos {
		l.first = nil
	}
	err := l.scan(ctx, r.store, pr.p, tail)
	if err != nil {
		l.reset("")
		return offsetSeq(tail) - offsetSeq(pos), 0
	}
	if l.last == "" {
		return 0, 0
	}
	var since time.Duration
	if l.first != nil {
		since = max(time.Since(l.first.StoredAt), 0)
	}
	return offsetSeq(l.last) - offsetSeq(pos), since
}

// reset forgets everything read after pos.
func (l *lagScan) reset(pos eventstore.Offset) {
	l.base, l.scanned, l.first, l.last = pos, pos, nil, ""
}

// scan finds the oldest wanted event after base (if some lies up to
// scanned, the scan stops at it) and reads the source from scanned to
// tail for the newest.
func (l *lagScan) scan(ctx context.Context, s *eventstore.Store, p Projection, tail eventstore.Offset) error {
	if l.first == nil && l.last != "" {
		for e, err := range p.Source.read(ctx, s, false, eventstore.From(l.base), eventstore.ToOffset(l.scanned)) {
			if err != nil {
				return err
			}
			if wanted(p, e) {
				l.first = &e
				break
			}
		}
	}
	if l.scanned >= tail {
		return nil
	}
	for e, err := range p.Source.read(ctx, s, false, eventstore.From(l.scanned), eventstore.ToOffset(tail)) {
		if err != nil {
			return err
		}
		if !wanted(p, e) {
			continue
		}
		if l.first == nil {
			l.first = &e
		}
		l.last = e.Offset
	}
	l.scanned = tail
	return nil
}
