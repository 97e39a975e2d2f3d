// Package checkpoint remembers how far a projection has got through the
// log: a named position (an eventstore.Offset), saved with compare-and-set
// so that two runners can never both advance one checkpoint.
//
// Store is the small interface a projection runner uses; implementations:
//   - Memory, for tests and for projections rebuilt at every start;
//   - KV, a JetStream key-value bucket on the event store's own server
//     (the default: an embedded store needs nothing more);
//   - SQL, a table reached through database/sql, whose SaveTx writes the
//     checkpoint in the same transaction as the read model's change. That
//     is what makes a SQL read model exactly-once: the change and the
//     position it reflects commit together or not at all, so after a crash
//     the projection resumes exactly after the last change it committed.
//
// Every implementation passes the same suite (checkpointtest.Run).
//
// A checkpoint has a revision, which Save compares: Save(name, pos, rev)
// succeeds only if the stored revision is still rev (0: nothing saved yet)
// and returns the new one; otherwise it fails with ErrConflict and changes
// nothing. A runner that loaded revision r and saves with r cannot
// overwrite a position another runner saved meanwhile.
//
// Leases use the same compare-and-set: Acquire makes one holder the owner
// of a name until its lease expires, unless it renews it; the others stand
// by and take over when it lapses. A refused Acquire says until when the
// lease is held (*LeaseHeldError, which matches ErrConflict), so a standby
// can try again at that moment rather than poll.
//
// KV on a NATS cluster outlasts an election of its bucket's leader: each
// request has a short deadline of its own and is sent again while the
// cluster has no leader for the bucket, until the caller's ctx ends (10 s
// when it has no deadline), as the event store's own requests are; a
// transient cluster error that outlasts it comes back matching
// eventstore.ErrUnavailable. A Save or Acquire whose answer an election
// lost may have been stored: the next try's compare-and-set then fails,
// and the key is read back; holding the value written, at a later
// revision, it is that write's success, not ErrConflict.
//
// SQL's LoadTx and SaveTx run on any Querier: a *sql.DB, a *sql.Tx (the
// read model's transaction) or a *sql.Conn. A SQLite database shared by
// several processes (lease holders) is opened in WAL mode with a busy
// timeout, e.g. "file:model.db?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)"
// with modernc.org/sqlite.
package checkpoint
