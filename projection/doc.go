// Package projection runs read models: each catches up from its saved
// position, then follows the log live, with no gap and no duplicate at the
// switch, and resumes exactly where it stopped.
//
// A Projection names its Source (the whole log, a category, a list of
// streams; optionally only some event types) and its Sink, which applies
// batches of events and keeps the position, under the projection's Name
// (the sinks of this package are made with that name, and a projection
// whose sink names another is refused). A Runner runs projections,
// reports each one's Status (starting, standby, catching up, live, stopped,
// failed; its position and its lag behind its source) and lets callers
// wait until a read model reflects everything appended before now
// (WaitCaughtUp).
//
// # Catching up, then live
//
// When a projection starts feeding (at Start, or when it takes its
// lease), the runner notes the log's tail (Status.LiveFrom). The events of
// its source stored up to there come in batches marked Replay; every
// event after it comes in a batch that is not, and the projection is
// live as soon as it has applied everything of its source up to LiveFrom
// (a batch that crosses LiveFrom is handed over in two parts). Going live
// never waits for a quiet moment: a projection started under steady
// appends goes live once it has worked through what was stored before it
// started. The switch has no gap and no duplicate: one subscription
// delivers both parts.
//
// # Lag
//
// Status.LagCommits and Status.LagTime measure what the projection has
// yet to apply of its own source (its category or streams, and its Types),
// not of the whole log: a caught-up projection reports zero while other
// categories, or event types it does not take, keep appending.
// LagCommits is the distance, in log commits, from the projection's
// position to the newest event of its source stored before the call;
// LagTime is how long the oldest event of its source that it has yet to
// apply has been stored. Both are zero when it has applied everything of
// its source stored before the call, and while it is starting or
// standing by for its lease (it has no position of its own then). Status
// reads the source from the read index, each call only the part stored
// since the previous one.
//
// # Delivery guarantees
//
// Exactly once, for a read model in a SQL database: ExactlyOnce applies
// each batch and saves its position (package checkpoint's SQL store) in
// one transaction, so after any crash, kill -9 included, the read model
// reflects every event up to its position, each once. Tested by killing a
// child process that projects into SQLite, in rounds, while events are
// appended.
//
// At least once, for any other read model: AtLeastOnce hands a batch to
// its Handler and then saves the position; after a crash between the two,
// the batch comes again. Every event carries its Offset, which only grows,
// so a handler that keeps the last offset it applied can tell a repeat.
//
// Positions are saved with compare-and-set: two runners can never both
// advance one projection. With a Lease (checkpoint.Leaser), one process
// runs a projection and the others stand by; the leader renews its lease
// every third of LeaseTTL. When it dies, its lease lapses at most LeaseTTL
// (3 s by default) after its last renewal, and a standby takes over then:
// the Leasers of package checkpoint tell a standby when the lease it was
// refused lapses (checkpoint.LeaseHeldError), and it tries again 1 ms
// after that moment, so the takeover follows the lapse by the time of
// one Acquire (measured in BENCHMARKS.md). A Leaser that does not say is
// tried again every third of a lease. A holder that stops (Stop, Close,
// its context) releases its lease as last renewed, so a process that
// starts the projection next takes it at once instead of waiting for the
// lapse; a standby already waiting takes it at its next try.
//
// A read model in SQLite shared by lease holders in several processes
// needs the database in WAL mode with a busy timeout, so that one
// process's transaction waits for another's instead of failing with
// "database is locked":
//
//	db, err := sql.Open("sqlite", "file:model.db?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)")
//
// # Failures and slowness
//
// A batch whose handler fails is tried again with a backoff (Retries
// times, 5 by default; NoRetries for none); if it keeps failing, its
// events are tried one at a time, and the one that fails is poison: by
// policy it stops the projection with a *PoisonError naming the event,
// its stream and offset (Stop), or it is appended to the projection's
// dead-letter stream with the error and skipped (DeadLetter). A handler
// that panics fails its batch the same way, with an error matching
// ErrHandlerPanic: the process goes on (an ExactlyOnce transaction is
// rolled back). A dead
// letter always fits in an append (the error is cut to 4 KiB; an event too
// large to carry beside it is dead-lettered without its data, by what
// finds it in the log), and a projection's name is checked at Start to
// make a valid dead-letter stream, so the DeadLetter policy does not
// itself stop the projection it is there to keep going.
// An error that matches eventstore.ErrUnavailable (on a cluster, no
// leader for longer than a call waits: two of three nodes down, say),
// from the store or from the sink (a checkpoint kept on the same
// cluster), does not fail the projection and is not counted against the
// batch: the projection goes on from its saved position once the cluster
// answers again, with the same LiveFrom, and Status.Err says why
// meanwhile.
// A slow handler slows its projection and nothing else: events are pulled
// from the log as the handler takes them, never dropped, never piled up in
// memory beyond one batch.
//
// # Rebuilds and time travel
//
// Batches carry Replay: true while a projection catches up, rebuilds or
// replays, and false once it is live, so side effects can be kept for live
// events. Rebuild builds a new version of a read model from the start into
// a new target while the old one keeps serving, reporting Progress, then
// starts it live on the runner (it runs until Stopped: the context given
// to Rebuild bounds the replay only). Replay builds a read model as of a
// time or an offset into a target of its own, without touching the live
// projection's position; its Progress counts the commits up to its bound
// and reaches Done == Total when it ends.
package projection
