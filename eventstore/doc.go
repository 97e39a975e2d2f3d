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
// server or cluster instead, for when one machine is not enough, and keeps
// the read index in a local directory ([WithIndexDir]). The API and its
// guarantees are the same either way (see "On a cluster" below for what a
// failover adds).
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
// store sets: Stream, Version (1-based, per stream), Offset and StoredAt.
// Data is JSON by convention but may be any bytes.
//
// StoredAt is the committing store's clock when it stored the append,
// recorded in the commit itself, so that every read path gives the same
// time and a read of one stream never has to ask the log for it. With Open
// that clock is the embedded server's own, since it runs in the process;
// [WithClock] sets another one (for tests, or to import a history whose
// times lie in the past). Store times never go backwards: within a store
// they follow the log's order, within a stream its versions, even when the
// clock steps back. With [Connect] and several writing processes each
// stamps with its own clock: a stream's times still never go backwards,
// but in log order two processes' commits can disagree by as much as their
// clocks do, and a log read bounded by ToTime ends at the first commit
// stored after the bound.
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
// An append starts from what this store knows of the stream's end: its
// cache of recently appended streams, else the read index once it holds
// every append acknowledged before; a stream the index holds nothing of
// (and any append with ExpectVersion(0)) starts from an empty stream at
// once, without that wait. The server's check is the truth either way: a
// stream that was not new after all is caught up from the log, its
// command ids and producer states included, before anything is decided.
//
// [ExpectNoStream] is ExpectVersion(0). Without an expectation, concurrent
// appends to a stream are all stored, one after another. A version alone
// cannot tell a stream deleted and made again up to the same version from
// the one loaded; [ExpectLast] adds the offset of the last event loaded,
// which no other stream, nor the same name made again, ever has.
//
// [WithCommandID] makes an append exactly-once per stream and id, for the
// life of the stream. An append with a command id and no events stores a
// commit that records only the id (the version does not move and no read
// yields anything for it), so a command that decided nothing or was
// refused keeps that outcome too; [WithCommandData] records a few bytes
// of the caller's with the id (a fingerprint of the command, a refusal),
// which a duplicate and [Store.CommandOutcome] give back.
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
// exactly what followed: nothing twice, nothing skipped. Each position has
// exactly one string, so offsets compare for equality too: the offset of a
// stream's last event is its [Head]'s Offset and, right after the append
// that stored it, the log's [Store.Tail] (a commit without events, such as
// a delete, moves Tail past it); an empty stream's Head and an empty log's
// Tail are Start. Because the one log
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
// [Store.ReadAll] read in log order, from a log-ordered copy of the commits
// that the read index keeps, as far as the index holds every commit, and
// from the log itself after that (see the read index, below). A read sees
// every append acknowledged before it began, and ends when it reaches the
// end of what is stored; following what comes next is the job of
// subscriptions.
//
// [ReadOption] values bound a read. [From] starts after an offset;
// [FromVersion] at a version. [ToVersion] stops after a version, [ToOffset]
// after the event carrying an offset and [ToTime] after the last event
// stored at or before a time: together they give a stream, a category or
// the log as it was at any point. Versions belong to one stream, so
// ReadCategory and ReadAll refuse them with [ErrInvalidOption].
// [CheckUpperBounds] tells a caller that picks a read's start itself
// whether options it was given only bound the end.
//
// The events a read returns stay valid after it: a read copies each
// event's data out of the index's buffers. [BorrowData] lets a one-stream
// Read skip that copy, for a caller that writes each event somewhere at
// once and keeps nothing: each event's data is then valid only until the
// loop moves on.
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
// yielded. A bound the log has already reached ends it once it has
// delivered what lies within: ToVersion of a stream at that version or
// beyond, ToOffset at or before the log's end. A bound still ahead (a
// version not reached yet, an offset beyond the log's end) and ToTime
// wait for the first event beyond them: the processes sharing a log stamp
// commits with their own clocks, so no time says that nothing stored at
// or before it can still come. To resume, subscribe again From the
// offset of the last event handled.
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
// from reporting. With Open and no listener only this process writes, and
// the tailer reads the log only when a read waits for a commit the index
// lacks or an acknowledged commit did not reach it. A store that shares its
// log (Connect, WithListen) follows the log live through a consumer while
// other processes write; once that consumer has delivered only this
// process's own commits for a second, it is stopped and the tailer works as
// a sole writer's, until it hears that another process wrote: every such
// store announces its appends on the core NATS subject "rewind-tips"
// ("<name>-tips" with [WithStreamName]; its identity and the last log
// sequence it was acknowledged, at most ten times a second) and listens
// there, and a quiet tailer also compares, every 200 ms, the log's last
// sequence of the turn before with what the index holds (a lost
// announcement, an older Rewind, a commit whose acknowledgement was lost). A
// store whose NATS user may not publish and subscribe on that subject says
// so once in its log and follows the log live, as it always did. A
// one-stream read never touches the log: commits carry their store times.
// The checkpoint, how far the index holds every commit, is stored with the
// index's own writes. The index has no write-ahead log and is never fsynced:
// after a crash the tailer reapplies the log from the checkpoint, and an
// index that is missing, damaged, of another format, of another log or
// ahead of the log (its newest commit no longer in the log, as after a
// power cut that took the log's unsynced tail) is deleted and rebuilt from
// the log, on open, or when a read finds it damaged (one rebuild, shared
// by every read that found it). [Store.Reindex] rebuilds it on purpose,
// beside the current one, while reads go on. It is never stale: a read
// first waits until the index holds every append acknowledged before the
// read began (with Connect, every append the server held), in this process
// or any other, and yields nothing past the position up to which the index
// holds every commit, so a read never sees version n+1 without version n,
// however other processes write.
//
// Opening a store that was closed cleanly costs opening the index, not
// starting the server. With Open and no listener, the directory is this
// process's alone and only this store writes its log; when Close finds the
// index at the log's last sequence with nothing left able to append, it
// records so beside the index (the generation, the log's id, that
// sequence and the index's format, written once the index is closed and
// its files synced). The next Open without WithListen finds that record,
// opens the generation it names (the newest) taking the record's word for
// the index's own records, and returns once the index is open, reading no
// block of it: Read and Head serve from the index at once, as of that
// close. The embedded server starts behind Open on the first cue: the
// first call that needs it, the end of the first read (so that a process
// that opens the store to read one stream does not share the CPU with the
// server's start), or 10 ms after Open. A first append right after Open
// therefore waits for the whole start, as it did; one made after a read
// waits for the start that the read's end began. When the server is up,
// the index's own records (format, log id, checkpoint) and its first and
// last keys are checked against the record before anything else, and a
// mismatch rebuilds the index from the log. Everything that
// needs the server or the log (Append, DeleteStream, subscriptions,
// ReadAll and ReadCategory, Tail, Ready, metadata, snapshots, producers,
// Reindex) waits for the start within its ctx; if the server
// cannot start or the log cannot be opened, they fail with an error
// wrapping [ErrStart] (a [*StartError]), as does [Store.Started], which
// waits for the start. The record is removed, and the removal synced,
// before anything can append, so a record never outlives a change to the
// log: after a crash there is none, and Open waits for the server and
// checks the index as it always did. Once the server is up the index is
// checked against the log before anything new is served (the log's id, its
// last sequence, the newest commit): if the log went on without it, reads
// wait for the tailer to catch up; if the log is another one or behind the
// index, the index is rebuilt from the log and reads wait for that. The
// only reads that trust the record unchecked are those served while the
// server starts, and what they read is what the log held at the clean
// close: they would be wrong only if the log's files were changed behind
// the store's back (restored from a backup, copied from another store)
// while it was closed, or the index's files replaced. Close waits for a
// start still in progress, and calls off one that has not begun (nothing
// has changed the log or the index then), so a short-lived process that
// opens, reads and closes leaves the record for the next one. The index's open itself skips pebble's fsyncs of its own
// bookkeeping (a new MANIFEST and OPTIONS file): a power cut right after
// an open can cost a rebuild of the index from the log, never a wrong read.
//
// The index also keeps a second copy of every commit it holds, ordered by
// log sequence, because reading the log in order through JetStream (a
// consumer's pulls, a message and its metadata per commit) is several
// times slower than scanning that copy, and replaying the log into a
// projection is the read that matters most for its cost. ReadAll,
// ReadCategory and the catch-up of SubscribeAll and SubscribeCategory read
// the copy up to the position up to which the index holds every commit,
// without waiting for it, and go on from the log itself after that
// position: the switch is exact, as it is for subscriptions. The copy is
// derived like the rest of the index and holds exactly the commits the
// index accepted, so a read gives the same events whichever part of it
// the copy served; JetStream stays the only truth, from which the copy is
// rebuilt with the index.
//
// The index also finds an event by its ID: [Store.EventByID] answers the
// event, its stream, version and offset in a few reads of the index
// (keys from ID to commit, written with the commit's other keys and
// deleted with them: one for a run of consecutive IDs the store gave the
// events of one append, one for each other event), whatever the size of
// the log, seeing every append acknowledged before the call as a read
// does; an ID it does not hold is [ErrNotFound]. An index of an earlier
// format (none of these keys, or one per event) is rebuilt from the log
// on the first open.
//
// # Disk
//
// Both sides compress. A log the store creates has JetStream's S2
// compression on ([WithLogCompression]): the server writes each message
// block as it comes and compresses it once it is full and sealed (8 MiB),
// so an append costs what it did, and a read that loads a sealed block
// decompresses it (a one-stream read never loads one: the index serves
// it). The index compresses its tables with zstd. On 1M events of 200 B
// of JSON the log and the index together take less disk than the same rows
// in a SQLite table with a UNIQUE(stream, version) index (BENCHMARKS.md).
// An existing log keeps the compression it was created with: opening it
// with another setting changes nothing. To move a log to S2, update its
// JetStream stream config (Compression: S2, with the nats CLI or
// jetstream.UpdateStream) and open the store again: from then on every
// block the server seals is compressed; blocks sealed before stay as they
// are, readable, until they are deleted. An index of the previous format
// (snappy) is rebuilt from the log on the first open, which brings it to
// its new size at once.
//
// # Memory
//
// What a store holds in memory grows with the number of streams appended
// to more than with the number of events. The embedded server keeps, for the
// log, a per-subject index (each stream is a subject), and for each
// message block one of the subjects written in it, kept until two minutes
// after the block's last activity (nats-server's SubjectStateExpire, which
// neither the server's options nor a stream's config reaches): together
// about 120 B a stream for a million one-event streams (nats-server 2.15).
// When a message block is full (8 MiB) the server compresses it, with the
// whole block and its compressed copy in buffers for a moment (20-50 MB).
// The store caches the heads of up to 100,000 recently appended streams
// ([WithHeadCache]), about 200 B each, of which the streams it created and
// has not appended to since take at most a sixteenth. The read index holds
// two memtables of 32 MiB and its block cache ([WithIndexCache], 64 MiB),
// outside the Go heap. When the store closes, the server writes its index
// of the log from one buffer of about 60 B a stream (60 MB for a million
// streams); the store closes its read index, and with it the memtables,
// before the server shuts down. Go's garbage collector lets the heap grow
// to twice what it found live (GOGC=100) before it collects, and a
// collection that falls while a block is compressed finds those buffers
// live too. A process appending to a million new streams peaked at
// 400-535 MB of RSS on a loaded 2-core machine (BENCHMARKS.md), most of it
// the server's per-subject state and compression buffers, doubled; the
// store's own live memory was about 10 MB of it. The store sets no
// process-wide memory limit or GC percentage: both are the
// program's, not a library's. A program that needs a bound sets GOMEMLIMIT
// (or calls debug.SetMemoryLimit): with GOMEMLIMIT=300MiB the same build
// peaked at 396-397 MB, at the cost of more frequent collections.
//
// # Foreign messages
//
// Any NATS client with access to the log (Connect, WithListen) can publish
// on a stream's subject. A message there that is not a whole, valid commit
// following the stream's previous one is never read as one: the read index
// and every read of the log itself skip it with a warning in the store's
// log naming its log sequence (see [ErrCorrupt]), it changes no stream's
// events or [Head], and appends to the stream go on after it.
//
// # Waits and their bounds
//
// Every call that waits honours its context, and has a bound of its own
// when the context has none: an append gives up 10 s after it began
// (including the wait for another append to the same stream in this
// process), a request to the server after 10 s of tries, a batched read of
// the log's messages after 5 s, and a wait for the read index when the
// index has made no progress for 20 s ([ErrIndexStalled]). An append that
// ends without its acknowledgement may or may not have been stored; an
// idempotent producer can retry it safely.
//
// # On a cluster
//
// Replication is the deployment's: the first store to make the log gives
// it [WithReplicas] (1 by default), and every bucket (metadata, package
// checkpoint's) and the snapshot stream a store makes gets the log's. An
// existing resource is never updated, so never lowered; asking
// WithReplicas for more than one has fails with a [*ReplicasError]
// ([ErrReplicas]).
//
// The log's leader orders and stores every commit; a publish that reaches
// another server is routed to it, one hop more each way. So a store made
// by Connect publishes its appends at the leader's server when the URLs it
// was given or those the cluster advertises reach it (with the first given
// URL's credentials, as nats.go uses them for advertised servers): it
// moves its append connection there while it opens, and follows the
// leader when it moves (it listens for the log's leader elections on
// "$JS.EVENT.ADVISORY.STREAM.LEADER_ELECTED.<name>"). A move waits until
// nothing sent on the old connection can still be on its way (no
// acknowledgement outstanding, none missed in the last ten seconds), so
// that the store's commits still reach the log in the order of their
// store times; the appends that come meanwhile wait for about a round
// trip. A move that meets a request going unanswered (as in the election
// that called for it), or does not reach the leader, is tried again a
// second later, then less and less often (at most every 30 s), until it
// happens or another election comes. A store refused those subjects, or
// that cannot reach the leader, appends through another server, one hop
// away.
//
// When a node dies, JetStream elects new leaders for what it led, in
// seconds. Each request the store makes (a publish's acknowledgement, the
// log's info, a direct get, a bucket operation, a consumer's creation) has
// a 500 ms deadline per try and is tried again while the cluster answers
// nothing, "no responders" or "unavailable", until the caller's context
// ends (10 s without a deadline): then it fails with [ErrUnavailable],
// which is transient. Every call that outlasts its context waiting for
// the cluster fails so, whatever it waited in (an append queued behind
// another on its stream, a read waiting for the read index), and the
// error wraps the context's error as well; a call whose context was done
// before it asked anything returns the context's error alone. A log that
// lost its quorum keeps a commit in process at its leader, which refuses
// the stream's next commits until it is decided: an append waits for
// that, asking less and less often (from 100 µs up to every 250 ms), and
// is not counted as losing a race to another writer. A publish whose
// acknowledgement was lost is sent again; refused because it was stored after all, it is recognised by its
// own bytes as the one message that can follow the sequence it expected,
// and returns as acknowledged: no commit is stored twice; its commit
// reaches the read index of every store (a quiet tailer finds it in the
// log's last sequence), even if nothing reads. The store's
// consumers of the log (the read index's tailer, log reads, subscriptions)
// hear from their server every 500 ms and are recreated from the next
// message after about a second of silence. Making a consumer needs the
// cluster's meta leader as well, so the read index does not wait for one
// to catch up: up to 8,192 commits behind, it reads them by direct gets,
// which any replica of the log answers, and the live tailer catches up so
// every 2 s while no consumer can be made. A store's connections reconnect
// for as long as it is open, however long an outage lasts (unless
// WithNATSOptions says otherwise), and give up a server that stops
// answering without closing them (a frozen process, a network dropping
// packets) after 3 to 4 s of unanswered pings, for another server of the
// cluster: one given to Connect or one the cluster advertises. A store
// that knows of no other server waits for that one, and its calls fail
// with ErrUnavailable when their contexts end. Asking [WithReplicas] for
// more replicas than the cluster has servers fails Connect at once with
// [ErrReplicas]. A consumer sits on one of the
// log's replicas, which may lag its leader: a log read up to the log's end
// (ReadAll, ReadCategory past the index) whose consumer has nothing more
// asks the leader whether the log holds more of what it reads up to the
// end it was given, and goes on through a new consumer if so, rather than
// end early. Reads of one stream are served
// by the local index throughout, once the cluster has said where the log
// ends (a read sees every append acknowledged before it began): during an
// election of the log's leader that answer, and so the read, waits for
// the new leader, as an append does. The answer counts only from the
// log's leader while it has heard from a majority of the log's replicas
// in the last 3 s: a replica left without a leader (too few nodes up to
// elect one) answers from what it holds, which may lack acknowledged
// appends, and a leader cut off from its replicas may have been replaced;
// so with a majority of the nodes down every read that needs the log's
// end (Read, Head, Tail, ReadAll, ReadCategory, a subscription's
// catch-up, WaitStream) fails with ErrUnavailable, as an append does,
// rather than return part of what is stored as if it were all of it, and
// [Store.Ready] says not ready. A stream's metadata set through one store
// is seen by every other at once (a miss in the mirror reads the bucket).
// Direct gets are answered by any replica, and one that lags answers "not
// found" for what it has not stored yet: where that answer would mislead
// (a log message read by sequence, a metadata read-through, a bucket key
// read back after a lost acknowledgement) it is asked again of the leader,
// whose message get only it answers. Where a lagging answer only costs
// time it is taken: an append's catch-up after a lost race then falls back
// on the index, and a snapshot lookup may choose an older snapshot and
// replay more events to the same state.
//
// # Idempotent producers
//
// A writer that retries after a timeout cannot know whether its first try
// was stored. An idempotent producer makes the retry safe: it has an id,
// an epoch (raised by each new instance, which fences the old one) and a
// sequence number per append, and the store keeps each (id, epoch, seq) at
// most once, by the rules of the Durable Streams protocol. [WithProducer]
// makes one Append a producer append; a duplicate returns with
// [AppendResult].Duplicate set and stores nothing; refusals are
// [*ProducerError] values matching [ErrStaleEpoch], [ErrSequenceGap] or
// [ErrInvalidProducer]. Per stream and producer id, the store keeps the
// current epoch E and the last sequence number accepted L, and decides an
// append at epoch e with sequence number n so:
//
//	stored state   append (epoch e, seq n)      outcome
//	none           n = 0, any e                 accepted
//	none           n ≠ 0                        ErrSequenceGap, expected 0
//	epoch E        e < E                        ErrStaleEpoch, current E
//	epoch E        e > E, n = 0                 accepted, epoch becomes e
//	epoch E        e > E, n ≠ 0                 ErrInvalidProducer
//	E, last L      e = E, n ≤ L                 duplicate: nothing stored
//	E, last L      e = E, n = L+1               accepted
//	E, last L      e = E, n > L+1               ErrSequenceGap, expected L+1
//
// The producer's state is not kept aside: it is carried by the producer's
// newest commit in the stream, so it is stored atomically with the events
// it admits, holds for the life of the stream rather than for a time
// window, and survives crashes and restarts. [Store.Producer] returns a
// [Producer] that claims the producer's next epoch (fencing every earlier
// instance, and never taking another instance's writes for its own
// duplicates) and numbers, batches and retries appends for one stream and
// id, so callers need not track sequence numbers themselves.
//
// # Closing, deleting and waiting
//
// A stream that is finished can say so: an append [WithClose] stores its
// events, or none, and closes the stream in the same commit, so a reader
// that sees the last events also sees that nothing will follow them, and a
// reader at the tail learns it without a timeout ([Head].Closed). Every
// later append fails with [ErrStreamClosed]; the close is a commit like any
// other, so ExpectVersion, WithCommandID and an idempotent producer's retry
// apply to it as to any append.
//
// [Store.DeleteStream] is for streams that must go (a resource removed, data
// that may not be kept). The delete is itself a commit in the log, a
// tombstone, after which the stream's earlier messages are purged from the
// JetStream log: every process, and every rebuild of a read index, learns
// of the delete in log order, and the next append to the name starts a new
// stream at version 1. Offsets are never reused, so a reader holding an
// offset of the old stream cannot mistake an event of the new one for it.
// A delete also takes the stream's producer states, command ids, close,
// metadata and snapshots.
//
// [Store.WaitStream] is one stream's tail without a subscription: it waits
// until the stream has an event after an offset, is closed or is deleted,
// and costs a parked goroutine, nothing on the server, which suits a
// long-poll over HTTP. [Store.Metadata] and [Store.SetMetadata] keep a few
// string pairs beside a stream (what a protocol says about the stream as a
// whole), outside its history, changed by compare-and-set.
//
// # Durability
//
// The embedded server acknowledges a write only after it has reached the
// operating system, so a process that crashes or is killed (kill -9) loses
// nothing it was told was stored. The log is fsynced every
// [DefaultSyncInterval] (one second), which bounds what a power cut or a
// kernel crash can take; [SyncEvery] picks another interval. [SyncAlways]
// closes that window: an append returns only after an fsync of the log
// that began after the append was stored (on Linux an fdatasync of the
// log's block files: their data and size, not their times; the
// directories are fsynced when a block file appears), run by the waiting
// append itself when no other is running. Appends running at the same time
// share their fsyncs (a group commit), so its cost depends on how many
// append at once: on a 2-core VM one goroutine appends at about 4–5k/s (a
// seventh of the default's 30–35k/s), 16 goroutines at 17–28k/s, three to
// six times one goroutine's rate (BENCHMARKS.md). On a cluster (Connect with
// WithReplicas(3)) a write is acknowledged once a majority of replicas
// holds it, and survives the death of any one node.
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
