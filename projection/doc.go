// Package projection runs read models: each catches up from its saved
// position, then follows the log live, with no gap and no duplicate at the
// switch, and resumes exactly where it stopped.
//
// A Projection names its Source (the whole log, a category, a list of
// streams; optionally only some event types) and its Sink, which applies
// batches of events and keeps the position. A Runner runs projections,
// reports each one's Status (starting, standby, catching up, live, stopped,
// failed; its position and its lag behind the log's end) and lets callers
// wait until a read model reflects everything appended before now
// (WaitCaughtUp).
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
// runs a projection and the others stand by; when the leader dies, its
// lease lapses and another takes over (within a lease, 3 s by default).
//
// # Failures and slowness
//
// A batch whose handler fails is tried again with a backoff; if it keeps
// failing, its events are tried one at a time, and the one that fails is
// poison: by policy it stops the projection with a *PoisonError naming the
// event, its stream and offset (Stop), or it is appended to the
// projection's dead-letter stream with the error and skipped (DeadLetter).
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
// goes live. Replay builds a read model as of a time or an offset into a
// target of its own, without touching the live projection's position.
package projection
