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
// store (package aggregatetest: Given(events).When(decider).Then(events)).
//
// # Storage
//
// Each instance is one stream, "<category>/<id>/events" by default (the
// layout of the Durable Streams event-sourcing guide, so the same URL serves
// browsers; WithStreamName changes it). Ids are checked: an id that could
// not name exactly one stream is an error wrapping ErrInvalidID. Events are
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
// events on condition that the stream is still at the version decided on.
// When another writer came first it reloads and decides again, up to three
// attempts by default with a jittered pause, then fails with
// ErrTooManyConflicts wrapping the last conflict. A decider that returns
// no events appends nothing.
//
// A command with a CommandID (an HTTP idempotency key, a message id) or a
// Producer sequence number is exactly-once for the life of the stream,
// with no time window: handling it again, after a timeout, a crash, or at
// the same moment in another process, appends nothing and returns the
// original Result (its version, offsets and events). The record that the
// command was handled is part of the commit of its events
// (eventstore.WithCommandID), so it is never lost or half-written, and the
// read index keeps it, so the check is one lookup. It is checked before the
// decider runs, so a retried command gets its outcome, not a refusal by a
// state it already changed.
//
// # Loading
//
// Load returns the current state; LoadVersion the state after a version;
// LoadAt the state after every event stored at or before a time (the
// events' store times: see eventstore.Event.StoredAt). Each starts from the
// newest snapshot at or before its target and replays only the events
// after it, from the store's read index.
//
// Snapshots are taken by a goroutine of the repository after the command
// whose append crosses the policy's mark (every 100 events by default,
// WithSnapshotEvery or WithSnapshotWhen), so no command waits for one.
// They are kept beside the log (eventstore.SaveSnapshot), never in a
// stream, and tagged with the state's schema (WithStateSchema): a snapshot
// of another schema, or one that does not decode, is skipped with a log
// line and the stream is replayed. Deleting every snapshot changes no
// result, only the time a load takes.
//
// The repository keeps loaded states in a bounded cache (WithCache). Handle
// decides on a cached state as if it were current; the append's version
// check corrects it when another writer moved the stream, so a command on
// a cached instance costs one append. Deciders and apply functions get
// copies (WithClone; by default through the state codec), so neither can
// change a cached state.
package aggregate
