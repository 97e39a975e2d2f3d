package aggregatehttp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"time"

	"github.com/rewindhq/rewind/aggregate"
	"github.com/rewindhq/rewind/eventstore"
)

// ops is what the handlers need of one registered aggregate type, with its
// type parameters erased: typed implements it for each S and E.
type ops interface {
	// streamOf names the stream of instance id (a 400 for a bad id).
	streamOf(id string) (string, error)
	// state loads the instance's state at p (the current one when p is
	// unset).
	state(ctx context.Context, id string, p point) (loadedJSON, error)
	// history loads the states at from and to and walks the events
	// between them, from's version excluded, to's included, calling fn
	// with each and the fields of the state it changed.
	history(ctx context.Context, id string, from, to point, fn func(step) error) (before, after loadedJSON, err error)
	// walk walks the events from..to (versions, from ≥ 1), calling fn
	// with each and the fields of the state it changed.
	walk(ctx context.Context, id string, from, to uint64, fn func(step) error) error
	// goTypes are the Go types of the state and of the events' interface.
	goTypes() (state, event reflect.Type)
}

// point is where in a stream a request looks: a version, a time, or
// (unset) the stream's end.
type point struct {
	set     bool
	version uint64
	at      time.Time // used when isTime
	isTime  bool
}

// loadedJSON is a state, encoded, with the version and time it is at.
type loadedJSON struct {
	version uint64
	at      time.Time
	state   json.RawMessage
}

// step is one event of a history with what it changed.
type step struct {
	event   eventstore.Event
	value   any // the decoded event, of its Go type
	changes []Change
}

// typed is ops for one aggregate type.
type typed[S, E any] struct {
	store *eventstore.Store
	repo  *aggregate.Repository[S, E]
	def   *aggregate.Definition[S, E]
}

func newOps[S, E any](store *eventstore.Store, repo *aggregate.Repository[S, E]) ops {
	return &typed[S, E]{store: store, repo: repo, def: repo.Definition()}
}

func (t *typed[S, E]) goTypes() (reflect.Type, reflect.Type) {
	return reflect.TypeFor[S](), reflect.TypeFor[E]()
}

func (t *typed[S, E]) streamOf(id string) (string, error) {
	stream, err := t.def.Stream(id)
	if err != nil {
		return "", &httpError{code: http.StatusBadRequest, reason: fmt.Sprintf("invalid id %q", id), err: err}
	}
	return stream, nil
}

// load returns the state at p, a 400 for a version past the stream's and
// a 404 for an instance without events.
func (t *typed[S, E]) load(ctx context.Context, id string, p point) (aggregate.Loaded[S], error) {
	stream, err := t.streamOf(id)
	if err != nil {
		return aggregate.Loaded[S]{}, err
	}
	head, err := t.store.Head(ctx, stream)
	if err != nil {
		return aggregate.Loaded[S]{}, err
	}
	if head.Version == 0 {
		return aggregate.Loaded[S]{}, &httpError{code: http.StatusNotFound, reason: fmt.Sprintf("%s has no events", stream)}
	}
	switch {
	case !p.set:
		return t.repo.Load(ctx, id)
	case p.isTime:
		return t.repo.LoadAt(ctx, id, p.at)
	case p.version > head.Version:
		return aggregate.Loaded[S]{}, &httpError{code: http.StatusBadRequest,
			reason: fmt.Sprintf("version %d is past the stream's version %d", p.version, head.Version)}
	}
	l, err := t.repo.LoadVersion(ctx, id, p.version)
	if errors.Is(err, aggregate.ErrNoVersion) { // deleted and made again meanwhile
		return l, &httpError{code: http.StatusBadRequest, reason: fmt.Sprintf("version %d is past the stream's version", p.version), err: err}
	}
	return l, err
}

func (t *typed[S, E]) encode(l aggregate.Loaded[S]) (loadedJSON, error) {
	b, err := marshalJSON(l.State)
	if err != nil {
		return loadedJSON{}, fmt.Errorf("encode the state: %w", err)
	}
	return loadedJSON{version: l.Version, at: l.At, state: b}, nil
}

func (t *typed[S, E]) state(ctx context.Context, id string, p point) (loadedJSON, error) {
	l, err := t.load(ctx, id, p)
	if err != nil {
		return loadedJSON{}, err
	}
	return t.encode(l)
}

func (t *typed[S, E]) history(ctx context.Context, id string, from, to point, fn func(step) error) (loadedJSON, loadedJSON, error) {
	stream, err := t.streamOf(id)
	if err != nil {
		return loadedJSON{}, loadedJSON{}, err
	}
	end, err := t.load(ctx, id, to)
	if err != nil {
		return loadedJSON{}, loadedJSON{}, err
	}
	start := aggregate.Loaded[S]{State: t.def.Initial()}
	if from.set {
		if start, err = t.load(ctx, id, from); err != nil {
			return loadedJSON{}, loadedJSON{}, err
		}
	}
	if start.Version > end.Version {
		return loadedJSON{}, loadedJSON{}, &httpError{code: http.StatusBadRequest,
			reason: fmt.Sprintf("from (version %d) is after to (version %d)", start.Version, end.Version)}
	}
	before, err := t.encode(start)
	if err != nil {
		return loadedJSON{}, loadedJSON{}, err
	}
	state, prev, at := start.State, before.state, start.At
	diff := newDiffer(prev)
	version := start.Version
	if end.Version > start.Version {
		for e, err := range t.store.Read(ctx, stream, eventstore.FromVersion(start.Version+1), eventstore.ToVersion(end.Version)) {
			if err != nil {
				return loadedJSON{}, loadedJSON{}, err
			}
			value, err := t.def.Decode(e)
			if err != nil {
				return loadedJSON{}, loadedJSON{}, err
			}
			if state, err = evolve(t.def, state, e, value); err != nil {
				return loadedJSON{}, loadedJSON{}, err
			}
			next, err := marshalJSON(state)
			if err != nil {
				return loadedJSON{}, loadedJSON{}, fmt.Errorf("encode the state: %w", err)
			}
			changes, err := diff.next(next)
			if err != nil {
				return loadedJSON{}, loadedJSON{}, err
			}
			if err := fn(step{event: e, value: value, changes: changes}); err != nil {
				return loadedJSON{}, loadedJSON{}, err
			}
			prev, at, version = next, e.StoredAt, e.Version
		}
	}
	return before, loadedJSON{version: version, at: at, state: prev}, nil
}

// decodeRecovered is decode with a panic of the command's own code (its
// decide function, its Validate, a field's UnmarshalJSON) turned into an
// error wrapping aggregate.ErrDeciderPanic, as Handle does for a decider's:
// a 500 whose cause is logged, not a connection dropped without an answer.
func decodeRecovered[S, E any](decode func(map[string]json.RawMessage) (func(S) ([]E, error), error), fields map[string]json.RawMessage) (decide func(S) ([]E, error), err error) {
	defer func() {
		if p := recover(); p != nil {
			decide, err = nil, fmt.Errorf("%w: %v", aggregate.ErrDeciderPanic, p)
		}
	}()
	return decode(fields)
}

// makeCommand turns a decoded command into a commandFunc on repo.
func makeCommand[S, E any](store *eventstore.Store, repo *aggregate.Repository[S, E], decode func(map[string]json.RawMessage) (func(S) ([]E, error), error)) commandFunc {
	def := repo.Definition()
	ops := &typed[S, E]{store: store, repo: repo, def: def}
	return func(ctx context.Context, id string, fields map[string]json.RawMessage, key commandKey) (CommandResult, error) {
		decide, err := decodeRecovered(decode, fields)
		if err != nil {
			return CommandResult{}, err
		}
		stream, err := def.Stream(id)
		if err != nil {
			return CommandResult{}, &httpError{code: http.StatusBadRequest, reason: fmt.Sprintf("invalid id %q", id), err: err}
		}
		var opts []aggregate.HandleOption
		if key.key != "" {
			opts = append(opts, aggregate.CommandID(key.key), aggregate.Fingerprint(key.fingerprint))
		}
		res, err := repo.Handle(ctx, id, func(s S) ([]E, error) {
			events, err := decide(s)
			if err != nil {
				return nil, &refusal{err: err}
			}
			return events, nil
		}, opts...)
		if err != nil {
			return CommandResult{}, commandError(err)
		}
		out := CommandResult{Version: res.Version, Duplicate: res.Duplicate, Events: []Event{}}
		if len(res.Events) == 0 {
			// The offset of the version decided on, not the stream's head:
			// a retry of the command, after other events, gets the first
			// answer again, offset included.
			at, err := offsetOf(ctx, store, stream, res.Version)
			if err != nil {
				return CommandResult{}, err
			}
			out.Offset = string(at)
			return out, nil
		}
		out.Offset = string(res.Offsets[len(res.Offsets)-1])
		// The events as stored, read back: their ids, times, command id
		// and metadata are the store's.
		first, last := res.FirstVersion, res.FirstVersion+uint64(len(res.Events))-1
		before, err := repo.LoadVersion(ctx, id, first-1)
		if err != nil {
			return CommandResult{}, err
		}
		err = ops.fold(ctx, stream, before, last, func(s step) error {
			out.Events = append(out.Events, eventJSON(s.event, s.value, s.changes))
			return nil
		})
		if err != nil {
			return CommandResult{}, err
		}
		return out, nil
	}
}

// offsetOf returns the offset of stream's event at version (Start for
// version 0). A stream that no longer reaches the version (deleted and
// made again since) answers its head's: the version's event is gone.
func offsetOf(ctx context.Context, store *eventstore.Store, stream string, version uint64) (eventstore.Offset, error) {
	if version == 0 {
		return eventstore.Start, nil
	}
	for e, err := range store.Read(ctx, stream, eventstore.FromVersion(version), eventstore.ToVersion(version)) {
		if err != nil {
			return "", err
		}
		return e.Offset, nil
	}
	h, err := store.Head(ctx, stream)
	return h.Offset, err
}

// refusal marks a decider's error, so that it is told from the store's.
type refusal struct{ err error }

func (r *refusal) Error() string { return r.err.Error() }
func (r *refusal) Unwrap() error { return r.err }

// commandError gives Handle's error its status code.
func commandError(err error) error {
	var ref *refusal
	var again *aggregate.RefusedError
	switch {
	case errors.As(err, &ref):
		return &httpError{code: http.StatusConflict, reason: ref.Error(), err: err}
	case errors.As(err, &again):
		// The refusal recorded for the key: the same answer as the first.
		return &httpError{code: http.StatusConflict, reason: again.Message, err: err}
	case errors.Is(err, aggregate.ErrCommandIDReused):
		return &httpError{code: http.StatusUnprocessableEntity,
			reason: "the Idempotency-Key was used for a different request (another command type or body)", err: err}
	case errors.Is(err, aggregate.ErrInvalidCommand):
		return &httpError{code: http.StatusBadRequest, reason: "invalid Idempotency-Key", err: err}
	case errors.Is(err, aggregate.ErrInvalidID):
		return &httpError{code: http.StatusBadRequest, reason: "invalid id", err: err}
	case errors.Is(err, aggregate.ErrTooManyConflicts):
		return &httpError{code: http.StatusConflict, reason: "the instance kept changing under the command: try again", err: err}
	case errors.Is(err, eventstore.ErrStreamClosed):
		return &httpError{code: http.StatusConflict, reason: "the instance's stream is closed", err: err}
	case errors.Is(err, eventstore.ErrTooLarge):
		return &httpError{code: http.StatusRequestEntityTooLarge, reason: "the command's events are too large to store", err: err}
	case errors.Is(err, eventstore.ErrInvalidOption):
		return &httpError{code: http.StatusBadRequest, reason: "invalid Idempotency-Key", err: err}
	}
	return err
}

// eventJSON is a stored event as the answers give it. Data is the stored
// JSON, or the decoded value in JSON when the codec is not JSON.
func eventJSON(e eventstore.Event, value any, changes []Change) Event {
	if changes == nil {
		changes = []Change{}
	}
	data := json.RawMessage(e.Data)
	if !json.Valid(e.Data) {
		if b, err := marshalJSON(value); err == nil {
			data = b
		} else {
			data, _ = json.Marshal(e.Data) // base64
		}
	}
	meta := e.Metadata
	if meta == nil {
		meta = map[string]string{}
	}
	return Event{Version: e.Version, Offset: string(e.Offset), Type: e.Type, StoredAt: formatTime(e.StoredAt),
		ID: e.ID.String(), Time: formatTime(e.Time), CommandID: e.CommandID, Metadata: meta,
		Data: data, Changes: changes}
}

// evolve is def.Evolve of one stored event, with a panic of the apply
// function turned into the error the repository's loads give
// (aggregate.ErrApplyPanic, naming the event): a view is a 500, never a
// dropped connection.
func evolve[S, E any](def *aggregate.Definition[S, E], state S, e eventstore.Event, value E) (next S, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &aggregate.EventError{Kind: aggregate.ErrApplyPanic, Stream: e.Stream, Version: e.Version, Type: e.Type,
				Err: fmt.Errorf("%v", p)}
		}
	}()
	return def.Evolve(state, value), nil
}
