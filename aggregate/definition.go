package aggregate

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/rewindhq/rewind/eventstore"
)

// Codec encodes events and states to bytes and back. JSON is the default;
// any codec whose Unmarshal fills the value Marshal was given works.
type Codec interface {
	Marshal(v any) ([]byte, error)
	Unmarshal(data []byte, v any) error
}

// JSON is the default Codec, encoding/json.
type JSON struct{}

// Marshal encodes v as JSON.
//
// HTML's characters are written as they are ("<", not "\u003c"), so
// that stored events read as they were decided wherever they are shown.
func (JSON) Marshal(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil || !bytes.Contains(b, []byte(`\u00`)) {
		return b, err // no escape of "<", ">" or "&" in it: as it is
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Unmarshal decodes JSON into v.
func (JSON) Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

// MetaSchema is the event metadata key that holds an event's schema
// version when it is above 1.
const MetaSchema = "rewind-schema"

// MaxIDLen is the longest aggregate id, in bytes.
const MaxIDLen = 256

// Definition describes one aggregate type: its category, its initial
// state, its events (each a Go type with a stable name and a function that
// applies it to the state) and how its states and events are encoded. S
// is the state, E the interface that the aggregate's event types
// implement. A Definition is built once, at start-up, and then only read;
// it is safe for concurrent use once built.
type Definition[S, E any] struct {
	category    string
	initial     S
	stream      func(id string) string
	codec       Codec
	stateCodec  Codec
	stateSchema string
	byName      map[string]*eventType[S, E]
	byType      map[reflect.Type]*eventType[S, E]
	errs        []namedError // RegisterError's, in order
	err         error        // the first mistake in the definition
}

// namedError is a decider's error registered under a stable name.
type namedError struct {
	name string
	err  error
}

// eventType is one registered event type.
type eventType[S, E any] struct {
	name     string
	schema   int
	decode   func(c Codec, data []byte) (E, error)
	apply    func(S, E) S
	upcaster map[int]func([]byte) ([]byte, error) // from schema n to n+1
}

// DefineOption configures a Definition. A nil DefineOption is ignored.
type DefineOption func(*defineConfig)

type defineConfig struct {
	stream      func(id string) string
	codec       Codec
	stateCodec  Codec
	stateSchema string
}

// WithStreamName sets how an id becomes a stream name. The default is
// "<category>/<id>/events", the layout of the Durable Streams
// event-sourcing guide, so the same URL serves browsers.
func WithStreamName(fn func(id string) string) DefineOption {
	return func(c *defineConfig) { c.stream = fn }
}

// WithCodec sets the codec of events (default JSON).
func WithCodec(codec Codec) DefineOption {
	return func(c *defineConfig) { c.codec = codec }
}

// WithStateCodec sets the codec of snapshots and of the copies that keep
// cached states safe from deciders (default JSON: the state's exported
// fields are what is kept).
func WithStateCodec(codec Codec) DefineOption {
	return func(c *defineConfig) { c.stateCodec = codec }
}

// WithStateSchema names the shape and meaning of the state (default "1").
// Change it when the state's type changes, or when an apply function's
// meaning changes (it folds the same events into another state): snapshots
// of another schema are skipped (the stream is replayed instead) rather
// than used as the new fold's. An event type's Schema is part of the
// snapshots' tag by itself.
func WithStateSchema(schema string) DefineOption {
	return func(c *defineConfig) { c.stateSchema = schema }
}

// Define starts the definition of an aggregate type whose instances live
// in category (the first segment of their streams' names) and start from
// initial. Register its events with On.
func Define[S, E any](category string, initial S, opts ...DefineOption) *Definition[S, E] {
	cfg := defineConfig{codec: JSON{}, stateCodec: JSON{}, stateSchema: "1"}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	d := &Definition[S, E]{category: category, initial: initial, stream: cfg.stream, codec: cfg.codec,
		stateCodec: cfg.stateCodec, stateSchema: cfg.stateSchema,
		byName: make(map[string]*eventType[S, E]), byType: make(map[reflect.Type]*eventType[S, E])}
	if err := checkCategory(category); err != nil {
		d.fail(err)
	}
	if cfg.codec == nil || cfg.stateCodec == nil {
		d.fail(fmt.Errorf("%w: a nil codec (WithCodec, WithStateCodec)", ErrDefinition))
	}
	if n := len(category + "/x/events"); d.stream == nil && n > eventstore.MaxStreamNameLen {
		// Not even a one-byte id would fit in the default layout.
		d.fail(fmt.Errorf("%w: category of %d bytes leaves no room for an id in a stream name of at most %d bytes",
			ErrDefinition, len(category), eventstore.MaxStreamNameLen))
	}
	if d.stream == nil {
		d.stream = func(id string) string { return category + "/" + id + "/events" }
	}
	return d
}

// checkCategory refuses a category that cannot be the first segment of a
// stream's name.
func checkCategory(category string) error {
	switch {
	case category == "" || strings.Contains(category, "/"):
		return fmt.Errorf("%w: category %q must be one non-empty segment", ErrDefinition, category)
	case category == "." || category == "..":
		return fmt.Errorf("%w: category %q cannot name a stream", ErrDefinition, category)
	case !utf8.ValidString(category) || strings.ContainsFunc(category, isControl):
		return fmt.Errorf("%w: category %q holds invalid UTF-8 or a control character", ErrDefinition, category)
	}
	return nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 }

func (d *Definition[S, E]) fail(err error) {
	if d.err == nil {
		d.err = err
	}
}

// Category returns the aggregate type's category.
func (d *Definition[S, E]) Category() string { return d.category }

// EventType is one event type registered with On: its stable name, its
// current schema version and its Go type. Tools that describe an
// aggregate (aggregatehttp's /v1/aggregates) read them.
type EventType struct {
	Name   string
	Schema int
	GoType reflect.Type
}

// EventTypes returns the registered event types, sorted by name.
func (d *Definition[S, E]) EventTypes() []EventType {
	out := make([]EventType, 0, len(d.byType))
	for rt, et := range d.byType {
		out = append(out, EventType{Name: et.name, Schema: et.schema, GoType: rt})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Err returns the first mistake made while defining the type (an event
// registered twice, a type that is not an E, ...), or nil. NewRepository
// refuses a definition with an error.
func (d *Definition[S, E]) Err() error { return d.err }

// EventOption configures one event type. A nil EventOption is ignored.
type EventOption func(*eventConfig)

type eventConfig struct {
	schema    int
	upcasters map[int]func([]byte) ([]byte, error)
}

// Schema sets the event type's current schema version (default 1). Events
// stored with an older schema are upcast on read, one version at a time,
// by the Upcaster of each older version.
func Schema(version int) EventOption {
	return func(c *eventConfig) { c.schema = version }
}

// Upcaster turns the encoded form of an event stored with schema version
// from into its form at version from+1. Upcasters run on read, on the
// bytes, before the event is decoded into its Go type.
func Upcaster(from int, fn func(data []byte) ([]byte, error)) EventOption {
	return func(c *eventConfig) {
		if c.upcasters == nil {
			c.upcasters = make(map[int]func([]byte) ([]byte, error))
		}
		c.upcasters[from] = fn
	}
}

// On registers the event type T under name, a stable name that is what
// the store keeps (renaming the Go type never breaks stored history), with
// apply, which returns the state after the event. T must implement E.
func On[T, S, E any](d *Definition[S, E], name string, apply func(S, T) S, opts ...EventOption) {
	cfg := eventConfig{schema: 1}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	var zero T
	if _, ok := any(zero).(E); !ok {
		d.fail(fmt.Errorf("%w: %T does not implement %v", ErrDefinition, zero, reflect.TypeFor[E]()))
		return
	}
	rt := reflect.TypeFor[T]()
	switch {
	case name == "":
		d.fail(fmt.Errorf("%w: %v registered without a name", ErrDefinition, rt))
		return
	case d.byName[name] != nil:
		d.fail(fmt.Errorf("%w: event name %q registered twice", ErrDefinition, name))
		return
	case d.byType[rt] != nil:
		d.fail(fmt.Errorf("%w: %v registered twice", ErrDefinition, rt))
		return
	case apply == nil:
		d.fail(fmt.Errorf("%w: %q registered without an apply function", ErrDefinition, name))
		return
	case cfg.schema < 1:
		d.fail(fmt.Errorf("%w: %q: schema %d", ErrDefinition, name, cfg.schema))
		return
	}
	for v := 1; v < cfg.schema; v++ {
		if cfg.upcasters[v] == nil {
			d.fail(fmt.Errorf("%w: %q is at schema %d and has no upcaster from %d", ErrDefinition, name, cfg.schema, v))
			return
		}
	}
	et := &eventType[S, E]{name: name, schema: cfg.schema, upcaster: cfg.upcasters,
		decode: func(c Codec, data []byte) (E, error) {
			var t T
			if err := c.Unmarshal(data, &t); err != nil {
				var e E
				return e, err
			}
			return any(t).(E), nil
		},
		apply: func(s S, e E) S { return apply(s, any(e).(T)) },
	}
	d.byName[name] = et
	d.byType[rt] = et
}

// RegisterError names err, one of the errors the aggregate's deciders
// refuse commands with, under a stable name (what is recorded; renaming
// the Go variable never breaks it). A command with a CommandID that the
// decider refused with an error matching err (errors.Is) is given, when
// its id comes again, a *RefusedError that matches err too. Register
// errors at start-up, with the events; a name or error registered twice
// is a mistake Err reports.
func (d *Definition[S, E]) RegisterError(name string, err error) {
	if name == "" || err == nil {
		d.fail(fmt.Errorf("%w: RegisterError(%q, %v): a name and an error are needed", ErrDefinition, name, err))
		return
	}
	for _, ne := range d.errs {
		if ne.name == name || ne.err == err {
			d.fail(fmt.Errorf("%w: error %q (%v) registered twice", ErrDefinition, name, err))
			return
		}
	}
	d.errs = append(d.errs, namedError{name: name, err: err})
}

// errorName returns the name of the first registered error err matches.
func (d *Definition[S, E]) errorName(err error) string {
	for _, ne := range d.errs {
		if errors.Is(err, ne.err) {
			return ne.name
		}
	}
	return ""
}

// namedErr returns the error registered under name (nil if none).
func (d *Definition[S, E]) namedErr(name string) error {
	for _, ne := range d.errs {
		if ne.name == name {
			return ne.err
		}
	}
	return nil
}

// foldID names everything the library sees that defines the fold from
// events to state: the state's schema (WithStateSchema) and the schema of
// every event type above 1 (a Schema with its Upcasters). Snapshots are
// tagged with it: one made by another fold is never used.
func (d *Definition[S, E]) foldID() string {
	var b strings.Builder
	b.WriteString(d.stateSchema)
	names := make([]string, 0, len(d.byName))
	for name, et := range d.byName {
		if et.schema > 1 {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(&b, "\x00%s\x00%d", name, d.byName[name].schema)
	}
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:8])
}

// Initial returns the state of an instance with no events: a copy (made
// through the state codec), so that applying events to it, which may change
// its maps and slices in place, never changes the definition's. An initial
// state the codec cannot copy is returned as it is (a Repository refuses
// to load from it, with ErrStateCopy).
func (d *Definition[S, E]) Initial() S {
	c, err := d.copyState(d.initial)
	if err != nil {
		return d.initial
	}
	return c
}

// copyState copies a state through the state codec. A state the codec
// cannot encode, or whose encoding does not decode, has no copy: the error
// wraps ErrStateCopy, and the state must not be handed out in its place.
func (d *Definition[S, E]) copyState(s S) (S, error) {
	var c S
	data, err := d.stateCodec.Marshal(s)
	if err != nil {
		return c, fmt.Errorf("%w: encoding: %w", ErrStateCopy, err)
	}
	if err := d.stateCodec.Unmarshal(data, &c); err != nil {
		return c, fmt.Errorf("%w: decoding: %w", ErrStateCopy, err)
	}
	return c, nil
}

// Evolve returns the state after events, applied in order to state.
// Deciders and their tests use it to fold events without a store. An
// event of a type not registered leaves the state as it is (Encode refuses
// such an event before it is stored).
func (d *Definition[S, E]) Evolve(state S, events ...E) S {
	for _, e := range events {
		if et := d.byType[reflect.TypeOf(e)]; et != nil {
			state = et.apply(state, e)
		}
	}
	return state
}

// applyEvent applies e, of the registered type et, to state, turning a
// panic of the apply function into an *EventError (ErrApplyPanic) naming
// the event, stored at version of stream (0 for one not stored yet).
func applyEvent[S, E any](et *eventType[S, E], state S, e E, stream string, version uint64) (next S, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &EventError{Kind: ErrApplyPanic, Stream: stream, Version: version, Type: et.name, Err: fmt.Errorf("%v", p)}
		}
	}()
	return et.apply(state, e), nil
}

// Stream returns the name of the stream of the instance id, or an error
// wrapping ErrInvalidID.
func (d *Definition[S, E]) Stream(id string) (string, error) {
	if err := checkID(id); err != nil {
		return "", err
	}
	name := d.stream(id)
	if err := eventstore.CheckStreamName(name); err != nil {
		// A valid id may still not fit: a long category leaves less of
		// the stream name's bytes for it. It is the id that is refused,
		// as the documentation says, not the store's name.
		if len(name) > eventstore.MaxStreamNameLen {
			return "", fmt.Errorf("%w: %d bytes do not fit in the stream's name: %w", ErrInvalidID, len(id), err)
		}
		// Any other refusal is of a name WithStreamName made.
		return "", fmt.Errorf("%w: %q makes the stream name %q: %w", ErrInvalidID, id, name, err)
	}
	return name, nil
}

func checkID(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("%w: empty", ErrInvalidID)
	case len(id) > MaxIDLen:
		return fmt.Errorf("%w: %d bytes, at most %d", ErrInvalidID, len(id), MaxIDLen)
	case !utf8.ValidString(id):
		return fmt.Errorf("%w: %q is not valid UTF-8", ErrInvalidID, id)
	case id == "." || id == "..":
		return fmt.Errorf("%w: %q", ErrInvalidID, id)
	case strings.ContainsRune(id, '/'):
		return fmt.Errorf("%w: %q contains \"/\"", ErrInvalidID, id)
	case strings.ContainsFunc(id, isControl):
		return fmt.Errorf("%w: %q contains a control character", ErrInvalidID, id)
	}
	return nil
}

// Encode turns events into store events: each gets its registered name as
// Type, its encoded form as Data and, above schema 1, its schema version
// in Metadata. An event of an unregistered Go type is an error wrapping
// ErrUnknownEvent.
func (d *Definition[S, E]) Encode(events []E) ([]eventstore.Event, error) {
	out := make([]eventstore.Event, len(events))
	for i, e := range events {
		et := d.byType[reflect.TypeOf(e)]
		if et == nil {
			return nil, &EventError{Kind: ErrUnknownEvent, Type: fmt.Sprintf("%T", e)}
		}
		data, err := d.codec.Marshal(e)
		if err != nil {
			return nil, &EventError{Kind: ErrDecode, Type: et.name, Err: fmt.Errorf("encode: %w", err)}
		}
		out[i] = eventstore.Event{Type: et.name, Data: data}
		if et.schema > 1 {
			out[i].Metadata = map[string]string{MetaSchema: strconv.Itoa(et.schema)}
		}
	}
	return out, nil
}

// Decode turns a stored event into the aggregate's event, upcasting it
// from the schema it was stored with. An unknown type, an unknown schema
// or data that does not decode is an *EventError naming the stream,
// version and type; never a zero value.
func (d *Definition[S, E]) Decode(e eventstore.Event) (E, error) {
	ev, _, err := d.decode(e)
	return ev, err
}

// decode is Decode, also returning the event's registered type.
func (d *Definition[S, E]) decode(e eventstore.Event) (E, *eventType[S, E], error) {
	var zero E
	et := d.byName[e.Type]
	if et == nil {
		return zero, nil, &EventError{Kind: ErrUnknownEvent, Stream: e.Stream, Version: e.Version, Type: e.Type}
	}
	data, schema := e.Data, 1
	if s, ok := e.Metadata[MetaSchema]; ok {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > et.schema {
			return zero, nil, &EventError{Kind: ErrDecode, Stream: e.Stream, Version: e.Version, Type: e.Type,
				Err: fmt.Errorf("schema %q: the definition knows 1 to %d", s, et.schema)}
		}
		schema = n
	}
	for v := schema; v < et.schema; v++ {
		up, err := et.upcaster[v](data)
		if err != nil {
			return zero, nil, &EventError{Kind: ErrDecode, Stream: e.Stream, Version: e.Version, Type: e.Type, Schema: v,
				Err: fmt.Errorf("upcast from schema %d: %w", v, err)}
		}
		data = up
	}
	ev, err := et.decode(d.codec, data)
	if err != nil {
		return zero, nil, &EventError{Kind: ErrDecode, Stream: e.Stream, Version: e.Version, Type: e.Type, Schema: schema, Err: err}
	}
	return ev, et, nil
}
