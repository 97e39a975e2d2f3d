// Package eventstore is Rewind's event store: many small, durable,
// offset-addressed event streams kept in one NATS JetStream stream, with
// optimistic concurrency, catch-up reads, live subscriptions, reads as of a
// version, an offset or a time, and idempotent producers.
//
// # The store
//
// A [Store] keeps every event in a single JetStream stream, the log
// ("rewind" unless [WithStreamName] says otherwise). Each Rewind stream is
// a subject of that log, so "orders/42" is stored on "rewind.s.orders.42".
// One log rather than one JetStream stream per aggregate, because the log's
// sequence is assigned by the server, has no gaps and orders everything:
// positions in one stream, in a category and in the whole log are then the
// same kind of value, they compare, and a reader never has to guess whether
// a hole in the numbering is an event still to come. Positions are never
// made up on the client.
//
// [Open] runs the JetStream server inside the process, on a directory: no
// server to install, no network listener unless [WithListen] asks for one.
// The directory holds the log (dir/log) and the read index (dir/index) and
// is locked while open, because two servers on one directory would corrupt
// it; a second Open fails with [ErrLocked]. [Connect] uses an external NATS
// server or cluster instead, for when one machine is not enough
// ([WithReplicas] sets the log's replication), and keeps the read index in
// a local directory ([WithIndexDir]). The API and its guarantees are the
// same either way.
//
//	store, err := eventstore.Open(ctx, "./data")
//	if err != nil {
//		return err
//	}
//	defer store.Close()
//
// A Store is safe for concurrent use, and two Stores in one process (on two
// directories) are independent. [Store.Close] stops every goroutine the
// store started and shuts the embedded server down cleanly; reads and
// subscriptions still running end with [ErrClosed].
//
// # Streams and categories
//
// A stream name is a path of segments separated by "/": "orders/42" or
// "orders/42/events". The first segment is the stream's category, and
// [Store.ReadCategory] and [Store.SubscribeCategory] read every stream of a
// category in log order. Any valid UTF-8 name without control characters,
// empty segments or "." and ".." segments, up to [MaxStreamNameLen] bytes,
// is accepted; bytes outside A-Z a-z 0-9 - _ are escaped into the subject,
// so no name can reach a wildcard or a subject that is not a stream
// (names.go has the mapping). Other names fail with [ErrInvalidStreamName].
// A stream exists once it has an event; reading one that does not exist
// returns nothing.
//
// # Events
//
// An [Event] carries what the caller sets (Type, Data, Metadata, an ID and
// Time that default to a UUID v7 and now) and, when read back, what the
// store sets: Stream, Version (1-based, per stream), Offset and StoredAt
// (the server's clock). Data is JSON by convention but may be any bytes.
//
// # Appends and optimistic concurrency
//
// [Store.Append] stores a slice of events at the end of a stream, all or
// none: one Append is one commit, one JetStream message, which the server
// stores whole or not at all, so a reader never sees half an append. An
// append too large for one message fails with [ErrTooLarge] and stores
// nothing ([WithMaxPayload] raises the bound).
//
// [ExpectVersion] makes the append conditional on the stream's version,
// which is how a decision made on loaded state stays valid: load, decide,
// append with the version loaded. The check is made by the JetStream server
// against the stream's last sequence at the moment of storing, so it holds
// between processes too, not only inside this one. A mismatch returns a
// [*ConcurrencyError] carrying the actual version; it matches
// [ErrConcurrency]. Reload and decide again:
//
//	_, err := store.Append(ctx, "orders/42", events, eventstore.ExpectVersion(o.Version))
//	if errors.Is(err, eventstore.ErrConcurrency) {
//		// someone wrote first: reload the order and decide again
//	}
//
// [ExpectNoStream] is ExpectVersion(0). Without an expectation, concurrent
// appends to a stream are all stored, one after another.
//
// # Offsets
//
// An [Offset] is a position in the log, between two events. Offsets are
// opaque strings of a fixed width that compare as plain strings in log
// order ("a < b" means a came first), and they hold only digits and "_", so
// they go into URLs and database columns unescaped. [Start] is the position
// before the first event and [Now] the tail, resolved when used.
//
// Every event's Offset is the position right after it. A reader that saves
// the offset of the last event it handled and later reads From it gets
// exactly what followed: nothing twice, nothing skipped. Because the one log
// holds every stream, the same offsets address one stream, a category and
// the whole log. [AppendResult.Offset] is the offset after an append;
// [ParseOffset] checks an offset that arrives from outside.
//
// # Reads
//
// Reads return an [iter.Seq2] of events and errors, so a stream of any
// length never sits in memory at once; an error is the iterator's last
// pair, and breaking out of the loop ends the read.
//
//	for e, err := range store.Read(ctx, "orders/42") {
//		if err != nil {
//			return err
//		}
//		order = evolve(order, e)
//	}
//
// [Store.Read] reads one stream in version order from the read index, so
// its cost follows the size of the stream, not of the log. [Store.Head]
// gives a stream's version and last offset. [Store.ReadCategory] and
// [Store.ReadAll] read the log itself, in log order. A read sees every
// append acknowledged before it began, and ends when it reaches the end of
// what is stored; following what comes next is the job of subscriptions.
//
// [ReadOption] values bound a read. [From] starts after an offset;
// [FromVersion] at a version. [ToVersion] stops after a version, [ToOffset]
// after the event carrying an offset and [ToTime] after the last event
// stored at or before a time: together they give a stream, a category or
// the log as it was at any point. Versions belong to one stream, so
// ReadCategory and ReadAll refuse them with [ErrInvalidOption].
//
// # Subscriptions
//
// [Store.Subscribe], [Store.SubscribeCategory] and [Store.SubscribeAll]
// take the same options as reads and return one iterator that first catches
// up from the From bound and then delivers events as they are appended. The
// switch from catch-up to live is exact: every event is delivered only if
// its offset is after the last one delivered, so nothing is delivered twice
// and nothing is skipped, however fast others append meanwhile. A
// subscription runs until its context is done (which is not an error: the
// loop just ends), the loop breaks, an upper bound is passed or an error is
// yielded. To resume, subscribe again From the offset of the last event
// handled.
//
// # The read index
//
// JetStream can read one subject, but in a large log it loads every block
// the subject's messages touch, so one short stream could cost as much as
// the whole log. The store therefore keeps a read index beside the log, a
// pebble database in which each stream's commits lie together, ordered by
// version. The index is derived, never a second truth. Each acknowledged
// append is handed to it before Append returns; a tailer reads the log in
// order, adding what other processes wrote and what a crash kept an append
// from reporting. An acknowledgement does not carry the server's store
// time, so an append's commit enters the index with its time pending, and
// the first read that needs it fetches it from the log (with the times of
// the stream's following commits, in one request) and writes it back. The
// checkpoint, how far the index holds every commit, is stored with the
// index's own writes. The index has no write-ahead log and is never
// fsynced: after a crash the tailer reapplies the log from the checkpoint,
// and an index that is missing, damaged, of another format or of another
// log is deleted and rebuilt from the log, on open or when a read finds it
// unreadable. [Store.Reindex] rebuilds it on purpose,
// beside the current one, while reads go on. It is never stale: a read first
// waits until the index holds every append acknowledged before the read
// began (with Connect, every append the server held), in this process or
// any other.
//
// # Idempotent producers
//
// A writer that retries after a timeout cannot know whether its first try
// was stored. An idempotent producer makes the retry safe: it has an id,
// an epoch (raised by each new instance, which fences the old one) and a
// sequence number per append, and the store keeps each (id, epoch, seq) at
// most once, by the rules of the Durable Streams protocol (producer.go has
// the table). [WithProducer] makes one Append a producer append; a
// duplicate returns with [AppendResult].Duplicate set and stores nothing;
// refusals are [*ProducerError] values matching [ErrStaleEpoch],
// [ErrSequenceGap] or [ErrInvalidProducer].
//
// The producer's state is not kept aside: it is carried by the producer's
// newest commit in the stream, so it is stored atomically with the events
// it admits, holds for the life of the stream rather than for a time
// window, and survives crashes and restarts. [Store.Producer] returns a
// [Producer] that numbers, batches and retries appends for one stream and
// id, so callers need not track sequence numbers themselves.
//
// # Durability
//
// The embedded server acknowledges a write only after it has reached the
// operating system, so a process that crashes or is killed (kill -9) loses
// nothing it was told was stored. The log is fsynced every
// [DefaultSyncInterval] (one second), which bounds what a power cut or a
// kernel crash can take; [SyncAlways] fsyncs before every acknowledgement
// and closes that window at about a fifth of the append throughput, and
// [SyncEvery] picks another interval. On a cluster (Connect with
// WithReplicas(3)) a write is acknowledged once a majority of replicas
// holds it.
//
// # Errors
//
// Errors are values. The sentinels in errors.go ([ErrConcurrency],
// [ErrInvalidOffset], [ErrClosed], ...) match with [errors.Is] whatever
// wraps them; [*ConcurrencyError] and [*ProducerError] carry the facts and
// are reached with [errors.As]. Errors are wrapped with the operation and,
// where there is one, the stream's name, so they read well in a log
// without losing their identity.
package eventstore
