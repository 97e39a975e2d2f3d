package eventstore

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Snapshots.
//
// A snapshot is a state of a stream as of a version, saved by the layer
// that folds the stream (package aggregate) so that a load replays only the
// events after it. Snapshots are kept in JetStream, in a stream of their
// own beside the log ("<log>-snapshots", one subject per Rewind stream), so
// they are never part of any stream,
// category or log read, and never seen by a subscription. A copy of each
// is kept in the read index, so that loading one in a new process costs an
// index lookup and not a JetStream block load; the index's copy is a
// cache, rebuilt from JetStream when the index lacks it.
//
// The store gives snapshots no meaning: a snapshot that does not decode,
// or was made by another version of the folding code (Schema), is the
// caller's to skip. Deleting every snapshot changes no read.

// Snapshot is a saved state of a stream.
type Snapshot struct {
	// Stream is the stream whose events the state folds.
	Stream string
	// Version is the version of the last event the state includes.
	Version uint64
	// StoredAt is the store time of the event at Version (the state as of
	// that time), which LoadSnapshot's ToTime bound compares.
	StoredAt time.Time
	// Schema names the shape of Data, so that a loader can skip a
	// snapshot made by another version of its code.
	Schema string
	// Data is the encoded state.
	Data []byte
}

// keepSnapshots is how many snapshots of each stream are kept. They are
// kept spread through the stream's history, not only the newest: when a
// new one makes one too many, the one whose removal leaves the smallest
// gap between its neighbours goes (never the newest), so that a load as
// of any version or time finds one near it.
const keepSnapshots = 64

// snapshotHeaders.
const (
	hdrSnapVersion  = "Rewind-Version"
	hdrSnapStoredAt = "Rewind-Stored-At"
	hdrSnapSchema   = "Rewind-Schema"
)

func (s *Store) snapshotStream() string { return s.jsName + "-snapshots" }

// snapshotSubject is the subject of a stream's snapshots.
func (s *Store) snapshotSubject(name string) (string, error) {
	return subjectFor(s.snapshotStream(), name)
}

// ensureSnapshots creates the snapshot stream on first use.
func (s *Store) ensureSnapshots(ctx context.Context) error {
	if err := s.awaitStart(ctx); err != nil { // s.replicas is the log's, found at the start
		return err
	}
	s.snapMu.Lock()
	defer s.snapMu.Unlock()
	if s.snapReady {
		return nil
	}
	// Made with the log's replication; an existing one is used as it is
	// (ensureJSStream), never lowered.
	st, err := s.ensureJSStream(ctx, jetstream.StreamConfig{
		Name:        s.snapshotStream(),
		Description: "Rewind snapshots of the log " + s.jsName,
		Subjects:    []string{s.snapshotStream() + ".>"},
		Storage:     jetstream.FileStorage,
		Replicas:    s.replicas,
		AllowDirect: true,
		Duplicates:  time.Second,
	}, s.cfg.replicasSet)
	if err != nil {
		return s.closedOr(fmt.Errorf("eventstore: snapshot stream: %w", err))
	}
	s.snapReady, s.snapStream = true, st
	return nil
}

// unknownStoredAt is the store time of a snapshot saved with a zero
// StoredAt before SaveSnapshot filled it in: the zero time's UnixNano,
// which overflows to 1754. No ToTime bound selects such a snapshot.
const unknownStoredAt = -6795364578871345152 // time.Time{}.UnixNano()

// SaveSnapshot saves a state of snap.Stream as of snap.Version. It is
// stored in JetStream (not in the stream: no read or subscription sees
// it) and in the read index. A zero StoredAt is filled in with the store
// time of the stream's event at snap.Version; without such an event it is
// an error wrapping ErrInvalidOption, as is a StoredAt before 1677-09-21
// or after 2262-04-11 (see Event's Time). A snapshot that does not fit in one
// message (its Data and Schema above MaxAppendBytes) is an error wrapping
// ErrTooLarge.
func (s *Store) SaveSnapshot(ctx context.Context, snap Snapshot) error {
	if s.closed.Load() {
		return ErrClosed
	}
	if err := validateName(snap.Stream); err != nil {
		return fmt.Errorf("eventstore: save snapshot of %q: %w", snap.Stream, err)
	}
	if snap.Version == 0 {
		return fmt.Errorf("eventstore: save snapshot of %q: %w: version 0", snap.Stream, ErrInvalidOption)
	}
	if snap.StoredAt.IsZero() {
		// LoadSnapshot's ToTime compares StoredAt: a zero one would
		// hand this state to a read as of any time. It is the store
		// time of the event at Version, which the stream may hold.
		at, ok, err := s.storedAt(ctx, snap.Stream, snap.Version)
		if err != nil {
			return fmt.Errorf("eventstore: save snapshot of %q: %w", snap.Stream, err)
		}
		if !ok {
			return fmt.Errorf("eventstore: save snapshot of %q: %w: no StoredAt, and the stream has no version %d to take it from",
				snap.Stream, ErrInvalidOption, snap.Version)
		}
		snap.StoredAt = at
	}
	if !storableTime(snap.StoredAt) {
		// Stored as int64 nanoseconds, as an event's Time is.
		return fmt.Errorf("eventstore: save snapshot of %q: %w: StoredAt %s is outside 1677-09-21 to 2262-04-11",
			snap.Stream, ErrInvalidOption, snap.StoredAt.Format(time.RFC3339Nano))
	}
	if n, limit := len(snap.Data)+len(snap.Schema), s.maxPayload-headerRoom; n > limit {
		// Refused here, as an append is, rather than by the server's
		// untyped "maximum payload exceeded": callers tell it by
		// ErrTooLarge and stop trying a state that cannot fit.
		return fmt.Errorf("eventstore: save snapshot of %q: %w: %d bytes, the server takes at most %d per message",
			snap.Stream, ErrTooLarge, n, limit)
	}
	if err := s.ensureSnapshots(ctx); err != nil {
		return err
	}
	subj, err := s.snapshotSubject(snap.Stream)
	if err != nil {
		return err
	}
	msg := &nats.Msg{Subject: subj, Data: snap.Data, Header: nats.Header{
		hdrSnapVersion:  {strconv.FormatUint(snap.Version, 10)},
		hdrSnapStoredAt: {strconv.FormatInt(snap.StoredAt.UnixNano(), 10)},
		hdrSnapSchema:   {snap.Schema},
	}}
	// Tried again across an election: a snapshot stored twice (a try
	// whose acknowledgement was lost) is the same state twice, and the
	// newest is the one read.
	var ack *jetstream.PubAck
	err = retry(ctx, func(ctx context.Context) (err error) {
		ack, err = s.js.PublishMsg(ctx, msg)
		return err
	})
	if errors.Is(err, nats.ErrMaxPayload) {
		// A server whose limit is below the one the store was told.
		return fmt.Errorf("eventstore: save snapshot of %q: %w: %w", snap.Stream, ErrTooLarge, err)
	}
	if err != nil {
		return s.closedOr(fmt.Errorf("eventstore: save snapshot of %q: %w", snap.Stream, err))
	}
	if victim := s.cacheSnapshot(snap, ack.Sequence); victim != 0 {
		if err := retry(ctx, func(ctx context.Context) error { return s.snapStream.DeleteMsg(ctx, victim) }); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
			return s.closedOr(fmt.Errorf("eventstore: save snapshot of %q: drop an old one: %w", snap.Stream, err))
		}
	}
	return nil
}

// LoadSnapshot returns the newest snapshot of stream, or with ToVersion or
// ToTime the newest one at or before that version or store time (other
// options are refused). It reports false when there is none.
func (s *Store) LoadSnapshot(ctx context.Context, stream string, opts ...ReadOption) (Snapshot, bool, error) {
	if err := validateName(stream); err != nil {
		return Snapshot{}, false, fmt.Errorf("eventstore: load snapshot of %q: %w", stream, err)
	}
	var rc readConfig
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&rc); err != nil {
			return Snapshot{}, false, fmt.Errorf("eventstore: load snapshot of %q: %w", stream, err)
		}
	}
	if rc.from != "" || rc.fromVersion != 0 || rc.toOffset != "" {
		return Snapshot{}, false, fmt.Errorf("eventstore: load snapshot of %q: %w: only ToVersion and ToTime bound a snapshot", stream, ErrInvalidOption)
	}
	if s.closed.Load() {
		return Snapshot{}, false, ErrClosed
	}
	fits := func(sn Snapshot) bool {
		return (rc.toVersion == 0 || sn.Version <= rc.toVersion) &&
			(rc.toTime.IsZero() || sn.StoredAt.UnixNano() != unknownStoredAt && !sn.StoredAt.After(rc.toTime))
	}
	snap, ok, err := s.indexedSnapshot(stream, fits)
	if err != nil || ok {
		return snap, ok, err
	}
	// Not in the index (a new index, or saved by another process): ask
	// JetStream, and keep what it has in the index.
	all, err := s.storedSnapshots(ctx, stream)
	if err != nil {
		return Snapshot{}, false, err
	}
	for _, sn := range all {
		s.cacheSnapshot(sn.Snapshot, sn.seq)
	}
	for i := len(all) - 1; i >= 0; i-- {
		if fits(all[i].Snapshot) {
			return all[i].Snapshot, true, nil
		}
	}
	return Snapshot{}, false, nil
}

// Snapshots returns the snapshots kept of stream, by version, oldest
// first (at most 64 are kept, spread through its history), read from
// JetStream: what LoadSnapshot chooses from.
func (s *Store) Snapshots(ctx context.Context, stream string) ([]Snapshot, error) {
	if err := validateName(stream); err != nil {
		return nil, fmt.Errorf("eventstore: snapshots of %q: %w", stream, err)
	}
	if s.closed.Load() {
		return nil, ErrClosed
	}
	all, err := s.storedSnapshots(ctx, stream)
	if err != nil {
		return nil, err
	}
	out := make([]Snapshot, len(all))
	for i, sn := range all {
		out[i] = sn.Snapshot
	}
	return out, nil
}

// DeleteSnapshots deletes every snapshot of stream. Loads then replay the
// stream from its start; no read changes.
func (s *Store) DeleteSnapshots(ctx context.Context, stream string) error {
	if err := validateName(stream); err != nil {
		return fmt.Errorf("eventstore: delete snapshots of %q: %w", stream, err)
	}
	if err := s.ensureSnapshots(ctx); err != nil {
		return err
	}
	subj, err := s.snapshotSubject(stream)
	if err != nil {
		return err
	}
	if err := retry(ctx, func(ctx context.Context) error {
		return s.snapStream.Purge(ctx, jetstream.WithPurgeSubject(subj))
	}); err != nil {
		return s.closedOr(fmt.Errorf("eventstore: delete snapshots of %q: %w", stream, err))
	}
	x, ok := s.hold()
	if !ok {
		return ErrClosed
	}
	defer s.release(x)
	p := streamPrefix('n', stream)
	if err := x.db.DeleteRange(p, upperBound(p), pebble.NoSync); err != nil {
		return fmt.Errorf("eventstore: delete snapshots of %q from the read index: %w", stream, err)
	}
	return nil
}

// storedSnapshot is a snapshot with its sequence in the snapshot stream.
type storedSnapshot struct {
	Snapshot
	seq uint64
}

// storedSnapshots returns the snapshots JetStream keeps of stream, in the
// order they were saved.
func (s *Store) storedSnapshots(ctx context.Context, stream string) ([]storedSnapshot, error) {
	if err := s.ensureSnapshots(ctx); err != nil {
		return nil, err
	}
	subj, err := s.snapshotSubject(stream)
	if err != nil {
		return nil, err
	}
	var out []storedSnapshot
	from := uint64(1)
	for {
		err = s.directGet(ctx, s.snapshotStream(), subj, from, func(m *nats.Msg) error {
			seq, err := strconv.ParseUint(m.Header.Get("Nats-Sequence"), 10, 64)
			if err != nil {
				return fmt.Errorf("%w: snapshot without a sequence", ErrCorrupt)
			}
			from = seq + 1
			v, err := strconv.ParseUint(m.Header.Get(hdrSnapVersion), 10, 64)
			if err != nil {
				return nil // not one of ours: skipped
			}
			ns, _ := strconv.ParseInt(m.Header.Get(hdrSnapStoredAt), 10, 64)
			out = append(out, storedSnapshot{Snapshot: Snapshot{Stream: stream, Version: v, StoredAt: time.Unix(0, ns),
				Schema: m.Header.Get(hdrSnapSchema), Data: m.Data}, seq: seq})
			return nil
		})
		if !errors.Is(err, errMoreMsgs) {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("eventstore: load snapshots of %q: %w", stream, err)
	}
	slices.SortStableFunc(out, func(a, b storedSnapshot) int { return cmp.Compare(a.Version, b.Version) })
	return out, nil
}

// Index copies of snapshots: 'n' name 0x00 version(8) → storedAt(8)
// seq(8, in the snapshot stream) len(schema) schema data.

func snapshotKey(name string, version uint64) []byte {
	return binary.BigEndian.AppendUint64(streamPrefix('n', name), version)
}

// cacheSnapshot writes a copy of snap (at seq in the snapshot stream) to
// the read index, and if that makes more than keepSnapshots, drops the
// copy that leaves the smallest gap and returns its sequence in the
// snapshot stream (0: none dropped). A failure only costs a later load a
// JetStream lookup.
func (s *Store) cacheSnapshot(snap Snapshot, seq uint64) (victim uint64) {
	x, ok := s.hold()
	if !ok {
		return 0
	}
	defer s.release(x)
	v := binary.BigEndian.AppendUint64(nil, uint64(snap.StoredAt.UnixNano()))
	v = binary.BigEndian.AppendUint64(v, seq)
	v = binary.AppendUvarint(v, uint64(len(snap.Schema)))
	v = append(v, snap.Schema...)
	v = append(v, snap.Data...)
	b := x.db.NewIndexedBatch()
	defer b.Close()
	_ = b.Set(snapshotKey(snap.Stream, snap.Version), v, nil)
	type kept struct {
		version, seq uint64
	}
	var all []kept
	p := streamPrefix('n', snap.Stream)
	it, err := b.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: upperBound(p)})
	if err == nil {
		for ok := it.First(); ok; ok = it.Next() {
			if k, val := it.Key(), it.Value(); len(k) == len(p)+8 && len(val) >= 16 {
				all = append(all, kept{binary.BigEndian.Uint64(k[len(p):]), binary.BigEndian.Uint64(val[8:])})
			}
		}
		_ = it.Close()
	}
	if len(all) > keepSnapshots {
		// Never the newest; the oldest goes only if it is the closest pair.
		best, gap := -1, uint64(math.MaxUint64)
		for i := 0; i < len(all)-1; i++ {
			prev := uint64(0)
			if i > 0 {
				prev = all[i-1].version
			}
			if g := all[i+1].version - prev; g < gap {
				best, gap = i, g
			}
		}
		_ = b.Delete(snapshotKey(snap.Stream, all[best].version), nil)
		victim = all[best].seq
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		s.log.Warn("eventstore: snapshot not kept in the read index", "stream", snap.Stream, "err", err)
		return 0
	}
	return victim
}

// indexedSnapshot returns the newest snapshot copy in the index that fits.
func (s *Store) indexedSnapshot(stream string, fits func(Snapshot) bool) (Snapshot, bool, error) {
	x, ok := s.hold()
	if !ok {
		return Snapshot{}, false, ErrClosed
	}
	defer s.release(x)
	p := streamPrefix('n', stream)
	it, err := x.db.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: upperBound(p)})
	if err != nil {
		return Snapshot{}, false, err
	}
	defer it.Close()
	for ok := it.Last(); ok; ok = it.Prev() {
		k, v := it.Key(), it.Value()
		if len(k) != len(p)+8 || len(v) < 16 {
			continue
		}
		sn := Snapshot{Stream: stream, Version: binary.BigEndian.Uint64(k[len(p):]),
			StoredAt: time.Unix(0, int64(binary.BigEndian.Uint64(v)))}
		d := decoder{b: v[16:]}
		sn.Schema = string(d.bytes())
		if d.err != nil {
			continue
		}
		sn.Data = bytes.Clone(d.rest())
		if fits(sn) {
			return sn, true, nil
		}
	}
	return Snapshot{}, false, it.Error()
}

// storedAt returns the store time of version v of stream, and false if
// the stream has no such version.
func (s *Store) storedAt(ctx context.Context, stream string, v uint64) (time.Time, bool, error) {
	for e, err := range s.Read(ctx, stream, FromVersion(v), ToVersion(v), BorrowData()) {
		if err != nil {
			return time.Time{}, false, err
		}
		return e.StoredAt, true, nil
	}
	return time.Time{}, false, nil
}
