// Package aggregate makes an event-sourced aggregate a few lines of typed
// Go on an eventstore.Store, makes every command safe to retry from
// anywhere, and keeps loading fast however long a history grows.
//
// # The model
//
// An aggregate type is three plain things, in the style of functional
// event sourcing (deciders): a state S and its initial value, the events
// that change it, each a Go type implementing the aggregate's event
// interface E with a function that applies it to the state, and deciders,
// functions from the current state to the events a command causes (or an
// error that refuses it). There is no base struct to embed, no interface{}
// in domain code and no type switch: each event type is registered once,
// with a stable name, and its apply function is typed.
//
//	type Order struct{ Status string; Total int }
//	type OrderEvent interface{ isOrderEvent() }
//	type OrderPlaced struct{ Customer string }
//	func (OrderPlaced) isOrderEvent() {}
//
//	orders := aggregate.Define[Order, OrderEvent]("orders", Order{})
//	aggregate.On(orders, "OrderPlaced", func(o Order, e OrderPlaced) Order {
//		o.Status = "placed"
//		return o
//	})
//
//	func place(customer string) func(Order) ([]OrderEvent, error) {
//		return func(o Order) ([]OrderEvent, error) {
//			if o.Status != "" {
//				return nil, ErrAlreadyPlaced
//			}
//			return []OrderEvent{OrderPlaced{Customer: customer}}, nil
//		}
//	}
//
// Deciders and apply functions are plain functions, tested without a
// store (package aggregatetest: Given(def, events...).When(decider).Then(t,
// events...)).
//
// Repository options (WithSnapshotEvery(4), WithCache(0), ...) are not
// generic: none needs the state type spelled out.
//
// # Storage
//
// Each instance is one stream, "<category>/<id>/events" by default (the
// layout of the Durable Streams event-sourcing guide, so the same URL serves
// browsers; WithStreamName changes it). Ids are checked: an id that could
// not name exactly one stream, or that makes the stream's name longer than
// the store takes (eventstore.MaxStreamNameLen, less the category's bytes),
// is an error wrapping ErrInvalidID. So is the
// category, once: one that cannot be a stream name's first segment (empty,
// ".", "..", holding "/" or a control character, or so long that no id
// fits) is a mistake Definition.Err reports and NewRepository refuses. Errors quote stream
// names (%q), so no control byte reaches a log raw. Events are
// stored under their registered names, encoded by a Codec (JSON by
// default), so renaming a Go type never breaks the history. An event type
// whose shape changes gets a new Schema version and an Upcaster from each
// older one, which turns the stored bytes into the current shape on read.
// An event the definition does not know, or that does not decode, is an
// *EventError naming its stream, version and type: never a zero value.
//
// # Commands
//
// Repository.Handle loads the state, runs the decider and appends its
// events on condition that the stream is still as it was decided on: at
// the same version, with the same last event (its offset, which tells a
// stream deleted and made again up to the same version from the one
// loaded). When another writer came first it reloads and decides again,
// up to three attempts by default with a jittered pause, then fails with
// ErrTooManyConflicts wrapping the last conflict. A decider that returns
// no events appends nothing; one that refuses returns its error as it is.
// A nil decider is an error wrapping ErrInvalidCommand; a decider that
// panics is recovered into an error wrapping ErrDeciderPanic (nothing is
// appended or recorded, so a retry runs it again). An apply function
// that panics on an event is an *EventError matching ErrApplyPanic, from
// Handle (after the command's events are stored; its Result says where)
// and from every load that reaches the event: it never takes the process
// down.
//
// A command with a CommandID (an HTTP idempotency key, a message id; an
// empty id is an error, never "no id") or a Producer sequence number is
// exactly-once for the life of the stream, with no time window: the id is
// looked up before the decider runs, and a command handled before runs no
// decider and gets its first outcome, whatever happened to the stream
// since, after a timeout, a crash, or at the same moment in another
// process:
//
//   - it appended events: the same Result (its versions, offsets and
//     events), Duplicate set;
//   - it decided nothing: the same empty Result, Duplicate set;
//   - the decider refused it: a *RefusedError (ErrRefused) carrying the
//     refusal's message, which also matches the decider's error when the
//     definition registered it (Definition.RegisterError), so that
//     errors.Is(err, ErrOutOfStock) holds for a retry as it did the first
//     time.
//
// What is recorded: the id is part of the commit of the command's events
// (eventstore.WithCommandID), so it is never lost or half-written. A
// command that decided nothing or was refused is recorded by a commit of
// its own that holds no events, only the id and (eventstore.WithCommandData)
// a small JSON record: the command's fingerprint, whether it was refused,
// the registered name of the refusal's error and its message (at most 2
// KiB). That commit moves no version and no read, subscription, load or
// projection ever sees it as an event; it is appended on the same
// condition as events, so a refusal rests on the current state, and it is
// kept in the log like any commit: through restarts, in every rebuild of
// the read index, and until the stream is deleted. The read index keeps
// every id, so the check is one lookup. A closed stream
// (eventstore.WithClose) takes no record: there a command that decides
// nothing or is refused gets its decision unrecorded, which is the same
// every time since the stream never changes again.
//
// A Fingerprint of the command's content (its type and encoded body, say)
// is recorded with the id (a SHA-256 of it, in the record of the commit,
// events or not): a later command with the same id and another
// fingerprint is a *ReusedIDError (ErrCommandIDReused) and decides
// nothing, as the IETF Idempotency-Key draft asks of a key reused for
// another request. An id recorded without a fingerprint matches any, and
// a command that gives no fingerprint matches the id whatever it was
// recorded with.
//
// # Loading
//
// Load returns the current state; LoadVersion the state after a version;
// LoadAt the state after every event stored at or before a time (the
// events' store times: see eventstore.Event.StoredAt). Each starts from the
// newest snapshot at or before its target and replays only the events
// after it, from the store's read index. Every load checks the id, as
// LoadVersion(id, 0) does: an id that cannot name a stream wraps
// ErrInvalidID.
//
// Snapshots are taken by a goroutine of the repository after the command
// whose append crosses the policy's mark (every 100 events by default,
// WithSnapshotEvery or WithSnapshotWhen; WithSnapshotEvery(0) takes none),
// so no command waits for one; a load that replays through a version the
// policy marks queues one there too, so a stream written by plain appends
// (an import, a migration) is replayed in full once, not on every load.
// A state that has outgrown one of the store's messages cannot be
// snapshotted (Repository.Snapshot says so with eventstore.ErrTooLarge):
// the repository logs it once and skips that stream's marks until the
// state could fit (a larger message limit, or the stream's version
// doubled since the refusal), rather than encode it at every mark.
// They are kept beside the log
// (eventstore.SaveSnapshot), never in a stream. Loads use the snapshots
// there are whatever the policy; Repository.Snapshots lists them. Each is
// tagged with everything the library can see that defines the fold: the
// state's schema (WithStateSchema) and the Schema of each event type above
// 1 (its upcasters come with it), and with the offset of the event at its
// version. A snapshot of another fold, of a stream since deleted and made
// again, or one that does not decode, is skipped with a log line and the
// stream is replayed. Deleting every snapshot changes no result, only the
// time a load takes.
//
// What the library cannot see is what an apply function means. When one
// changes meaning (the same events fold into another state), or the
// state's type changes, change WithStateSchema; when an event's stored
// form changes, give its type a new Schema and an Upcaster. Either makes
// the old snapshots unusable.
//
// The repository keeps loaded states in a bounded cache (WithCache). Handle
// decides on a cached state as if it were current; the append's check (the
// version and the last event's offset) corrects it when another writer
// moved the stream, or deleted and made it again, so a command on a cached
// instance costs one append. Deciders and apply functions get
// copies (WithClone; by default through the state codec), so neither can
// change a cached state. A state the codec cannot copy (a NaN in JSON) is
// never handed out instead: the command fails with ErrStateCopy, and such
// a state needs a WithClone of its own.
package aggregate
