package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/rewindhq/rewind/aggregate"
	"github.com/rewindhq/rewind/aggregate/aggregatehttp"
	"github.com/rewindhq/rewind/eventstore"
	"github.com/rewindhq/rewind/eventstore/access"
	"github.com/rewindhq/rewind/eventstore/durablestreams"
	"github.com/rewindhq/rewind/examples/orders/domain"
	"github.com/rewindhq/rewind/examples/orders/readmodel"
	"github.com/rewindhq/rewind/examples/orders/seed"
	"github.com/rewindhq/rewind/examples/orders/web"
	"github.com/rewindhq/rewind/observe"
	"github.com/rewindhq/rewind/projection"
	"github.com/rewindhq/rewind/projection/projectionhttp"
)

// Defaults of Config.
const (
	DefaultAddr = "127.0.0.1:4437"
	DefaultData = "data/orders"
)

// Config configures Start.
type Config struct {
	// Addr is the address to listen on (default DefaultAddr; port 0 picks
	// a free one, see App.URL).
	Addr string
	// Data is the data directory (default DefaultData): the store in
	// Data/events, the read models in Data/readmodels.db.
	Data string
	// Seed shapes the history seeded on the first start, the one that
	// finds no store in Data.
	Seed SeedConfig
	// Logger logs the server's failures (default slog.Default()).
	Logger *slog.Logger
	// NATS, when set, is the URL (or a cluster's comma-separated URLs) of
	// an external NATS server with JetStream to keep the events on
	// (eventstore.Connect) instead of the embedded store; the read index
	// is then in Data/index. Nothing is seeded on it.
	NATS string
	// Replicas is the replication of what the store makes on NATS
	// (eventstore.WithReplicas; 3 on a cluster); 0 adopts the log's.
	Replicas int
	// Access is the access control and TLS (see package
	// eventstore/access): without authentication the server listens on
	// loopback only, unless Access.InsecureNoAuth.
	Access access.Config
	// Authorizer, when set, is used instead of the one Access describes.
	Authorizer access.Authorizer
	// TracerProvider, when set, records spans of every request, command,
	// append, read and projection batch (package observe); by default
	// nothing is traced. Metrics are always counted, and served on
	// /metrics.
	TracerProvider trace.TracerProvider
}

// SeedConfig shapes the seed (see package seed; zero fields take its
// defaults: thousands of orders over four weeks).
type SeedConfig struct {
	// Skip starts an empty store instead.
	Skip bool
	seed.Config
}

// App is the running application. Close it to drain and stop it.
type App struct {
	// URL is the base URL the server answers on, "http://host:port/".
	URL string
	// Data is the data directory.
	Data string
	// Store is the event store, for tests and tools that append or read
	// directly.
	Store *eventstore.Store
	// ReadModels are the SQLite read models.
	ReadModels *readmodel.DB
	// Seeded reports the seed of this start (nil when the store existed).
	Seeded *seed.Report
	// Authenticates is true when requests need a credential.
	Authenticates bool

	cancel   context.CancelFunc
	log      *slog.Logger
	obs      *observe.Observer
	metrics  *prometheus.Registry
	repos    repos
	runner   *projection.Runner
	streams  *durablestreams.Handler
	registry *aggregatehttp.Registry
	proj     *projectionhttp.Handler
	auth     access.Authorizer
	server   *http.Server
	served   chan error
	closed   sync.Once
	closeErr error
	ctx      context.Context // the application's life, for the projections it starts
}

// Start opens (and on the first start seeds) the data directory, starts the
// projections and serves HTTP on cfg.Addr. It returns once the server
// listens; the read models may still be catching up (WaitCaughtUp).
func Start(ctx context.Context, cfg Config) (*App, error) {
	if cfg.Addr == "" {
		cfg.Addr = DefaultAddr
	}
	if cfg.Data == "" {
		cfg.Data = DefaultData
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	// The configuration is checked before anything is made on disk.
	auth, tlsCfg, err := cfg.security()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Data, 0o755); err != nil {
		return nil, fmt.Errorf("orders: %w", err)
	}
	// Listen first: a busy port fails before minutes of seeding.
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("orders: listen: %w", err)
	}
	appCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	a := &App{Data: cfg.Data, cancel: cancel, log: cfg.Logger, ctx: appCtx, served: make(chan error, 1), auth: auth}
	if err := a.observe(cfg); err != nil {
		ln.Close()
		cancel()
		return nil, err
	}
	if err := a.open(ctx, cfg); err != nil {
		ln.Close()
		return nil, errors.Join(err, a.shutdown(context.Background()))
	}
	a.URL = "http://" + ln.Addr().String() + "/"
	_, anonymous := auth.(access.Anonymous)
	a.Authenticates = !anonymous
	if tlsCfg != nil {
		a.URL = "https://" + ln.Addr().String() + "/"
	}
	a.server = access.NewServer(a.mux(), access.WithTLS(tlsCfg),
		access.WithErrorLog(slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn)))
	go func() { a.served <- access.Serve(a.server, ln) }()
	return a, nil
}

// Seeds reports whether Start with cfg seeds a history: the embedded
// store, no store in cfg.Data yet, and seeding not skipped.
func Seeds(cfg Config) bool {
	_, err := os.Stat(filepath.Join(cfg.Data, "events"))
	return errors.Is(err, fs.ErrNotExist) && !cfg.Seed.Skip && cfg.NATS == ""
}

// open seeds if needed, opens the store and the read models, and starts
// the projections.
func (a *App) open(ctx context.Context, cfg Config) error {
	events := filepath.Join(cfg.Data, "events")
	if Seeds(cfg) {
		// Seed into a directory of its own and rename it when done, so a
		// seed cut short is never taken for a store.
		tmp := events + ".seeding"
		if err := os.RemoveAll(tmp); err != nil {
			return fmt.Errorf("orders: %w", err)
		}
		// A read model left from an earlier store would not match.
		if err := removeReadModels(cfg.Data); err != nil {
			return err
		}
		r, err := seed.Run(ctx, tmp, cfg.Seed.Config)
		if err != nil {
			return err
		}
		if err := os.Rename(tmp, events); err != nil {
			return fmt.Errorf("orders: %w", err)
		}
		a.Seeded = &r
	}
	store, err := openStore(ctx, cfg, events, eventstore.WithObserver(a.obs))
	if err != nil {
		return fmt.Errorf("orders: %w", err)
	}
	a.Store = store
	if a.repos.orders, err = aggregate.NewRepository(store, domain.Orders()); err != nil {
		return err
	}
	if a.repos.users, err = aggregate.NewRepository(store, domain.Users()); err != nil {
		return err
	}
	if a.repos.workspaces, err = aggregate.NewRepository(store, domain.Workspaces()); err != nil {
		return err
	}
	if a.ReadModels, err = readmodel.Open(ctx, filepath.Join(cfg.Data, "readmodels.db")); err != nil {
		return err
	}
	a.runner = projection.NewRunner(store, a.log)
	for _, p := range a.ReadModels.Projections() {
		if err := a.startProjection(p); err != nil {
			return err
		}
	}
	return nil
}

// openStore opens the embedded store in dir, or with cfg.NATS connects to
// that server or cluster.
func openStore(ctx context.Context, cfg Config, dir string, opts ...eventstore.Option) (*eventstore.Store, error) {
	if cfg.NATS == "" {
		return eventstore.Open(ctx, dir, opts...)
	}
	opts = append(opts, eventstore.WithIndexDir(filepath.Join(cfg.Data, "index")), eventstore.WithLogger(cfg.Logger))
	if cfg.Replicas > 0 {
		opts = append(opts, eventstore.WithReplicas(cfg.Replicas))
	}
	return eventstore.Connect(ctx, cfg.NATS, opts...)
}

func removeReadModels(dir string) error {
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(filepath.Join(dir, "readmodels.db"+suffix)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("orders: %w", err)
		}
	}
	return nil
}

// startProjection runs p for the application's life.
func (a *App) startProjection(p projection.Projection) error {
	return a.runner.Start(a.ctx, p)
}

// mux mounts the handlers.
func (a *App) mux() http.Handler {
	reg := aggregatehttp.NewRegistry(a.Store)
	a.registry = reg
	if err := a.repos.register(a.ctx, reg); err != nil {
		// The registrations are this package's own; one that fails is a
		// bug caught by every test.
		a.log.Error("orders: register aggregates", "err", err)
	}
	rebuild := map[string]projectionhttp.Rebuilder{}
	for _, p := range a.ReadModels.Projections() {
		name := p.Name
		rebuild[name] = func(ctx context.Context, progress func(projection.Progress)) error {
			return a.ReadModels.Rebuild(ctx, a.Store, a.runner, name, a.startProjection, progress)
		}
	}
	a.proj = projectionhttp.New(a.runner, rebuild, projectionhttp.WithAuthorizer(a.auth))
	a.streams = durablestreams.New(a.Store, durablestreams.ReadOnly("orders", "users", "workspaces"), durablestreams.WithLogger(a.log),
		durablestreams.WithAuthorizer(a.auth))
	a.obs.WatchParked("/v1/stream/", a.streams.Waiting) // for as long as the Observer: the application's life
	mux := http.NewServeMux()
	mux.Handle("/v1/stream/", a.obs.Handler("/v1/stream/", a.streams))
	mux.Handle("/v1/projections", a.obs.Handler("/v1/projections", a.proj))
	mux.Handle("/v1/projections/", a.obs.Handler("/v1/projections/", a.proj))
	// One handler serves every endpoint of aggregatehttp; mounting it at
	// each endpoint's prefix labels its metrics and spans by endpoint, so
	// that commands, state reads and waits for events are told apart
	// (anything else under /v1/ is "/v1/").
	agg := reg.Handler(aggregatehttp.WithAuthorizer(a.auth))
	for _, route := range []string{"/v1/commands/", "/v1/state/", "/v1/diff/", "/v1/timeline/",
		"/v1/export/", "/v1/streams", "/v1/search", "/v1/events", "/v1/aggregates"} {
		mux.Handle(route, a.obs.Handler(route, agg))
	}
	mux.Handle("/v1/", a.obs.Handler("/v1/", agg))
	a.operations(mux)
	mux.Handle("/", a.obs.Handler("/", web.Handler()))
	return noRedirectedWrites(mux)
}

// noRedirectedWrites keeps the mux from cleaning a path it would redirect:
// a ServeMux answers "/v1/stream/a//b" with a redirect to "/v1/stream/a/b",
// and a client that follows it writes to another stream. A write (any
// method but GET, HEAD and OPTIONS) to a path that is not canonical is
// refused with 400; the rest goes to the mux.
func noRedirectedWrites(mux http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
		default:
			p := r.URL.Path
			if clean := path.Clean(p); clean != p && clean+"/" != p {
				w.Header().Set("X-Content-Type-Options", "nosniff")
				http.Error(w, "the path is not canonical (empty, . or .. segments): write to "+clean, http.StatusBadRequest)
				return
			}
		}
		mux.ServeHTTP(w, r)
	})
}

// WaitCaughtUp waits until both read models reflect every event appended
// before the call.
func (a *App) WaitCaughtUp(ctx context.Context) error {
	for _, name := range []string{readmodel.OrderSummary, readmodel.RevenuePerDay} {
		if err := a.runner.WaitCaughtUp(ctx, name); err != nil {
			return err
		}
	}
	return nil
}

// Close drains the application: the long-polls end, the server stops
// taking requests and finishes those in flight (for up to 10 s), then the
// rebuilds, projections, repositories, read models and store stop. Calls
// after the first return its result.
func (a *App) Close() error {
	a.closed.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		a.closeErr = a.shutdown(ctx)
	})
	return a.closeErr
}

func (a *App) shutdown(ctx context.Context) error {
	var errs []error
	if a.server != nil {
		a.streams.Shutdown()
		a.registry.Shutdown()
		errs = append(errs, a.server.Shutdown(ctx))
		if err := <-a.served; !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, err)
		}
	}
	if a.proj != nil {
		a.proj.Close()
	}
	if a.runner != nil {
		a.runner.Close()
	}
	a.cancel()
	errs = append(errs, a.repos.close())
	if a.ReadModels != nil {
		errs = append(errs, a.ReadModels.Close())
	}
	if a.Store != nil {
		errs = append(errs, a.Store.Close())
	}
	return errors.Join(errs...)
}

// security returns the authorizer and TLS configuration of cfg, and
// refuses an address beyond loopback without authentication (unless
// cfg.Access.InsecureNoAuth).
func (cfg Config) security() (access.Authorizer, *tls.Config, error) {
	tlsCfg, err := cfg.Access.TLS()
	if err != nil {
		return nil, nil, fmt.Errorf("orders: %w", err)
	}
	auth := cfg.Authorizer
	if auth == nil {
		if auth, err = cfg.Access.Authorizer(); err != nil {
			return nil, nil, fmt.Errorf("orders: %w", err)
		}
		if err := cfg.Access.CheckListen(cfg.Addr); err != nil {
			return nil, nil, fmt.Errorf("orders: %w", err)
		}
	}
	return auth, tlsCfg, nil
}
