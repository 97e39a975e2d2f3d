package aggregatehttp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/rewindhq/rewind/aggregate"
	"github.com/rewindhq/rewind/eventstore"
	"github.com/rewindhq/rewind/eventstore/access"
	"github.com/rewindhq/rewind/internal/reason"
)

// Registry holds the aggregate types a server exposes over HTTP, each with
// the commands it accepts. It is a value the caller creates (no global
// registry): two registries on two stores in one process are independent.
// Register every type before serving; a Registry is safe for concurrent use.
type Registry struct {
	store *eventstore.Store

	mu    sync.RWMutex
	types map[string]*aggregateType // by category

	waits eventWaits // the requests that wait for events
	axes  axisCache  // the timeline's axes of long streams

	// stopping ends with Shutdown: the waits of GET /v1/events answer as
	// if they had run out.
	stopping context.Context
	stop     context.CancelFunc
}

// NewRegistry returns an empty registry of aggregate types on store, which
// must be the store of every repository registered with it.
func NewRegistry(store *eventstore.Store) *Registry {
	r := &Registry{store: store, types: make(map[string]*aggregateType)}
	r.stopping, r.stop = context.WithCancel(context.Background())
	return r
}

// Shutdown ends the waits of GET /v1/events?wait= in progress, and any
// that start later: they answer at once, as if their wait had run out
// (an empty list and the offset to ask from again), so that an
// http.Server's Shutdown does not wait for them and the client's next
// poll finds the server gone, not a failure. Call it before the server's
// Shutdown; every other request finishes as usual.
func (r *Registry) Shutdown() { r.stop() }

// Command is one command type an aggregate accepts over HTTP: its name
// (the "type" of the request body) and how a body becomes a decider.
// Make one with NewCommand.
type Command[S, E any] struct {
	name   string
	decode func(fields map[string]json.RawMessage) (func(S) ([]E, error), error)
	schema json.RawMessage // of the request body (schema.go)
	err    error           // a command type that cannot be described
}

// Name returns the command's name, the "type" a request body gives.
func (c Command[S, E]) Name() string { return c.name }

// Validator is implemented by a command type whose fields can be checked
// without the state: a quantity between 1 and 99, a code that is not
// empty. NewCommand calls Validate after decoding and before the decider
// runs; its error is a 400 with the error's text, where a decider's error
// (an invariant, which needs the state) is a 409. Nothing is decided or
// recorded for an invalid command, under an Idempotency-Key or not.
type Validator interface {
	Validate() error
}

// NewCommand makes a command named name whose JSON body (all fields but
// "type") decodes into C; decide turns the decoded command into a decider
// on the state, the function Repository.Handle runs. Decoding is strict:
// a field C does not have, or a value of the wrong JSON type, is a 400
// naming the field, so a typo never becomes a silently ignored field.
// When C (or *C) implements Validator, its Validate runs on the decoded
// command, and its error is a 400. A panic in decide (or in Validate) is
// a 500, as a decider's is, with nothing decided; a nil decide is refused
// by Register (ErrRegister).
func NewCommand[S, E, C any](name string, decide func(C) func(S) ([]E, error)) Command[S, E] {
	schema, required, err := commandSchema(name, reflect.TypeFor[C]())
	if err == nil && decide == nil {
		err = fmt.Errorf("%w: command %q: no decide function", ErrRegister, name)
	}
	return Command[S, E]{name: name, schema: schema, err: err, decode: func(fields map[string]json.RawMessage) (func(S) ([]E, error), error) {
		var c C
		if err := decodeFields(fields, &c); err != nil {
			return nil, err
		}
		if err := checkRequired(fields, required); err != nil {
			return nil, err
		}
		if err := validate(&c); err != nil {
			return nil, err
		}
		return decide(c), nil
	}}
}

// validate runs the command's Validate, if it has one; an error is a 400.
func validate(c any) error {
	v, ok := c.(Validator)
	if !ok {
		v, ok = reflect.ValueOf(c).Elem().Interface().(Validator)
	}
	if !ok {
		return nil
	}
	if err := v.Validate(); err != nil {
		return &httpError{code: http.StatusBadRequest, reason: err.Error(), err: err}
	}
	return nil
}

// Register serves repo's aggregate type (its Definition's category) with
// the given commands. repo must be on the registry's store. It fails with
// ErrRegister for a nil repository, a category registered already, or a
// command name that is empty or given twice.
func Register[S, E any](r *Registry, repo *aggregate.Repository[S, E], commands ...Command[S, E]) error {
	if r == nil || repo == nil {
		return fmt.Errorf("aggregatehttp: register: %w: nil registry or repository", ErrRegister)
	}
	def := repo.Definition()
	t := &aggregateType{
		category: def.Category(),
		commands: make(map[string]commandFunc, len(commands)),
		ops:      newOps(r.store, repo),
	}
	for _, c := range commands {
		if c.name == "" || c.decode == nil {
			return fmt.Errorf("aggregatehttp: register %q: %w: a command without a name (use NewCommand)", t.category, ErrRegister)
		}
		if c.err != nil {
			return c.err
		}
		if _, dup := t.commands[c.name]; dup {
			return fmt.Errorf("aggregatehttp: register %q: %w: command %q given twice", t.category, ErrRegister, c.name)
		}
		t.commands[c.name] = makeCommand(r.store, repo, c.decode)
		t.names = append(t.names, c.name)
		t.schemas = append(t.schemas, CommandType{Name: c.name, Schema: c.schema})
	}
	sort.Strings(t.names)
	sort.Slice(t.schemas, func(i, j int) bool { return t.schemas[i].Name < t.schemas[j].Name })
	for _, et := range def.EventTypes() {
		t.events = append(t.events, EventType{Name: et.Name, Version: et.Schema, Schema: eventSchema(et.GoType)})
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.types[t.category]; dup {
		return fmt.Errorf("aggregatehttp: register %q: %w: category registered already", t.category, ErrRegister)
	}
	r.types[t.category] = t
	return nil
}

// aggregateType is one registered type with its generic operations erased
// behind closures, so that the handlers need no type parameters.
type aggregateType struct {
	category string
	commands map[string]commandFunc
	names    []string      // command names, sorted
	schemas  []CommandType // by name
	events   []EventType   // by name
	ops      ops
}

// commandFunc handles one decoded request body on instance id.
type commandFunc func(ctx context.Context, id string, fields map[string]json.RawMessage, key commandKey) (commandAnswer, error)

func (r *Registry) lookup(category string) (*aggregateType, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	t, ok := r.types[category]
	return t, ok
}

func (r *Registry) sorted() []*aggregateType {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]*aggregateType, 0, len(r.types))
	for _, t := range r.types {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].category < out[j].category })
	return out
}

// Handler serves every endpoint of the package (see the package
// documentation): mount it at "/v1/" on a mux, beside "/v1/stream/".
// Paths it does not know answer 404 with a JSON error, and a known path
// asked with another method 405 with an Allow header. Every request is
// first asked about to the Authorizer (WithAuthorizer; see guard).
func (r *Registry) Handler(opts ...HandlerOption) http.Handler {
	cfg := handlerConfig{auth: access.Anonymous{}}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	a := cfg.auth
	mux := http.NewServeMux()
	for _, rt := range r.routes() {
		mux.HandleFunc(rt.method+" "+rt.pattern, guard(a, rt.action, rt.resource, onlyParams(rt.params, rt.serve)))
		allow := rt.method
		if rt.method == http.MethodGet {
			allow = "GET, HEAD"
		}
		mux.HandleFunc(rt.pattern, methodNotAllowed(allow))
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, req *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no endpoint %s %s (GET /v1/ lists them)", req.Method, req.URL.Path))
	})
	return mux
}

// onlyParams answers 400 to a request with a query parameter the endpoint
// does not read, naming those it does.
func onlyParams(params []string, serve http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		for k := range req.URL.Query() {
			if slices.Contains(params, k) {
				continue
			}
			takes := "takes no query parameters"
			if len(params) > 0 {
				takes = "takes " + strings.Join(params, ", ")
			}
			writeError(w, http.StatusBadRequest, fmt.Sprintf("unknown query parameter %s: %s %s", reason.Quote(k), req.URL.Path, takes))
			return
		}
		serve(w, req)
	}
}

// methodNotAllowed answers 405 with the methods the path takes.
func methodNotAllowed(allow string) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Allow", allow)
		writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("%s takes %s, not %s", req.URL.Path, allow, req.Method))
	}
}
