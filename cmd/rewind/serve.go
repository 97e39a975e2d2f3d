package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/rewindhq/rewind/eventstore"
	"github.com/rewindhq/rewind/eventstore/access"
	"github.com/rewindhq/rewind/eventstore/durablestreams"
	"github.com/rewindhq/rewind/internal/tracing"
	"github.com/rewindhq/rewind/observe"
)

// defaultServeAddr is where "rewind serve" listens by default: not the
// orders example's port (4437), so that both can run side by side.
const defaultServeAddr = "127.0.0.1:4438"

// serveConfig is what "rewind serve" runs with.
type serveConfig struct {
	addr     string
	data     string
	natsURL  string
	longPoll time.Duration
	// replicas is --replicas: 0 when not given (Connect then adopts the
	// log's replication).
	replicas int
	// storageLimit is --storage-limit in bytes: 0 leaves the embedded
	// server's default.
	storageLimit int64
	storageText  string
	// otlp is --otlp: the base URL of an OpenTelemetry collector to send
	// spans to by OTLP/HTTP; "" leaves it to OTEL_EXPORTER_OTLP_*.
	otlp   string
	access access.Config // authentication, origins, hosts, TLS
	nats   natsAuth      // credentials and TLS of --nats
}

// natsAuth is how serve authenticates to an external NATS.
type natsAuth struct {
	creds, nkey, ca, cert, key string
}

// options returns the eventstore options of a.
func (a natsAuth) options() []eventstore.Option {
	var opts []eventstore.Option
	if a.creds != "" {
		opts = append(opts, eventstore.WithNATSCredentials(a.creds))
	}
	if a.nkey != "" {
		opts = append(opts, eventstore.WithNATSNKey(a.nkey))
	}
	if a.ca != "" || a.cert != "" || a.key != "" {
		opts = append(opts, eventstore.WithNATSTLS(a.ca, a.cert, a.key))
	}
	return opts
}

// parseSize reads a size in bytes: a number, with an optional unit (B,
// KB, MB, GB, TB in powers of 1000; KiB, MiB, GiB, TiB in powers of 1024).
func parseSize(v string) (int64, error) {
	v = strings.TrimSpace(v)
	i := strings.IndexFunc(v, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := v, ""
	if i >= 0 {
		num, unit = v[:i], strings.TrimSpace(v[i:])
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("%q is not a size", v)
	}
	mult := map[string]float64{"": 1, "b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
		"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40}[strings.ToLower(unit)]
	if mult == 0 {
		return 0, fmt.Errorf("%q: unknown unit %q (B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)", v, unit)
	}
	if f*mult > 1<<62 {
		return 0, fmt.Errorf("%q is too large", v)
	}
	return int64(f * mult), nil
}

// registerSecurityFlags registers serve's flags of access control, TLS
// and NATS credentials, kept together.
func registerSecurityFlags(fs *flag.FlagSet, cfg *serveConfig) {
	cfg.access.RegisterFlags(fs, os.Getenv)
	fs.StringVar(&cfg.nats.creds, "nats-creds", os.Getenv("REWIND_NATS_CREDS"), "NATS credentials file (user JWT and nkey seed) for --nats [REWIND_NATS_CREDS]")
	fs.StringVar(&cfg.nats.nkey, "nats-nkey", os.Getenv("REWIND_NATS_NKEY"), "file holding the nkey seed to authenticate to --nats with [REWIND_NATS_NKEY]")
	fs.StringVar(&cfg.nats.ca, "nats-ca", os.Getenv("REWIND_NATS_CA"), "PEM CA certificates to trust for --nats over TLS [REWIND_NATS_CA]")
	fs.StringVar(&cfg.nats.cert, "nats-cert", os.Getenv("REWIND_NATS_CERT"), "PEM client certificate for --nats over TLS [REWIND_NATS_CERT]")
	fs.StringVar(&cfg.nats.key, "nats-key", os.Getenv("REWIND_NATS_KEY"), "PEM private key of --nats-cert [REWIND_NATS_KEY]")
}

// parseServe reads the flags, with the environment's values as defaults.
func parseServe(args []string, stderr io.Writer) (serveConfig, error) {
	fs := flag.NewFlagSet("rewind serve", flag.ContinueOnError)
	// The flag package would print its error and the whole usage: a bad
	// flag gets one line (flagProblem), the help only when asked for.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	cfg := serveConfig{}
	lp := 30 * time.Second
	if v := os.Getenv("REWIND_LONG_POLL_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			fmt.Fprintf(stderr, "rewind serve: REWIND_LONG_POLL_TIMEOUT=%q is not a positive duration (like 30s)\n", v)
			return cfg, errUsage
		}
		lp = d
	}
	fs.StringVar(&cfg.addr, "addr", envOr("REWIND_ADDR", defaultServeAddr), "address to listen on, host:port (port 0 picks a free one) [REWIND_ADDR]")
	fs.StringVar(&cfg.data, "data", envOr("REWIND_DATA", "./data"), "directory of the embedded store (with --nats: of the read index) [REWIND_DATA]")
	fs.StringVar(&cfg.natsURL, "nats", os.Getenv("REWIND_NATS"), "URL of an external NATS server or cluster to use instead of the embedded one; for a cluster, a comma-separated list of its nodes' URLs (nats://n1:4222,nats://n2:4222,nats://n3:4222), so that the server reconnects to another node when one dies [REWIND_NATS]")
	replicas := 0
	if v := os.Getenv("REWIND_REPLICAS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 5 {
			fmt.Fprintf(stderr, "rewind serve: REWIND_REPLICAS=%q is not a replica count (1 to 5)\n", v)
			return cfg, errUsage
		}
		replicas = n
	}
	fs.IntVar(&cfg.replicas, "replicas", replicas, "with --nats: how many replicas (1 to 5; 3 on a production cluster) the log, its buckets and snapshots have when this server makes them; an existing log or bucket with fewer is refused, one with more is used as it is (never lowered); without the flag the server adopts the log's replication [REWIND_REPLICAS]")
	fs.StringVar(&cfg.storageText, "storage-limit", os.Getenv("REWIND_STORAGE_LIMIT"), "how much disk the embedded store's log may take, like 50GiB or 500MB (at least 1MiB); past it appends answer 507 and /readyz is not ready, and nothing stored is lost; the default is three quarters of the disk space free when the server starts, plus what the log holds, which leaves the rest to the read index (about half the log's size) [REWIND_STORAGE_LIMIT]")
	fs.DurationVar(&cfg.longPoll, "long-poll-timeout", lp, "how long a long-poll read waits for data before it answers 204 [REWIND_LONG_POLL_TIMEOUT]")
	fs.StringVar(&cfg.otlp, "otlp", os.Getenv("REWIND_OTLP"), "send OpenTelemetry spans to the collector at this base URL by OTLP over HTTP (http://localhost:4318: spans go to /v1/traces); without it, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT turn tracing on, and without any, nothing is traced [REWIND_OTLP]")
	registerSecurityFlags(fs, &cfg)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printServeHelp(stderr, fs)
			return cfg, err
		}
		fmt.Fprint(stderr, flagProblem("rewind serve", fs, err))
		return cfg, errUsage
	}
	// A bad address is bad input: said as such before any other check
	// (the one on authentication would read it as beyond loopback).
	if problem := checkAddr(cfg.addr); problem != "" {
		fmt.Fprintf(stderr, "rewind serve: %s %q: %s\n", given(fs, "addr", "REWIND_ADDR"), cfg.addr, problem)
		return cfg, errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "rewind serve: unexpected argument %q\n", fs.Arg(0))
		return cfg, errUsage
	}
	if strings.TrimSpace(cfg.data) == "" {
		// filepath.Abs("") is the working directory: a store made
		// wherever the command happened to run.
		fmt.Fprintf(stderr, "rewind serve: %s is empty: give the store's directory (default ./data)\n", given(fs, "data", "REWIND_DATA"))
		return cfg, errUsage
	}
	if cfg.longPoll <= 0 {
		fmt.Fprintln(stderr, "rewind serve: --long-poll-timeout must be positive")
		return cfg, errUsage
	}
	if cfg.storageText != "" {
		n, err := parseSize(cfg.storageText)
		if err != nil || n < 1<<20 {
			fmt.Fprintf(stderr, "rewind serve: %s %q: want a size of at least 1MiB, like 50GiB or 500MB\n", given(fs, "storage-limit", "REWIND_STORAGE_LIMIT"), cfg.storageText)
			return cfg, errUsage
		}
		if cfg.natsURL != "" {
			fmt.Fprintln(stderr, "rewind serve: --storage-limit is the embedded server's; with --nats, set max_file_store in the NATS servers' configuration")
			return cfg, errUsage
		}
		cfg.storageLimit = n
	}
	if cfg.replicas < 0 || cfg.replicas > 5 || cfg.replicas > 1 && cfg.natsURL == "" {
		fmt.Fprintln(stderr, "rewind serve: --replicas takes 1 to 5, and more than 1 needs --nats (the embedded server is one node)")
		return cfg, errUsage
	}
	if cfg.otlp != "" && !tracing.Disabled(os.Getenv) {
		if err := tracing.CheckEndpoint(cfg.otlp); err != nil {
			fmt.Fprintf(stderr, "rewind serve: %s %q: want http(s)://host:port, like http://localhost:4318\n", given(fs, "otlp", "REWIND_OTLP"), cfg.otlp)
			return cfg, errUsage
		}
	}
	if err := cfg.access.CheckListen(cfg.addr); err != nil {
		fmt.Fprintf(stderr, "rewind serve: --addr %s: the server has no authentication, and anyone who reaches this address could read, write and delete every stream.\n"+
			"Give --auth-tokens FILE (rewind token makes its lines), --jwt-secret-file or --jwt-jwks; or listen on 127.0.0.1;\n"+
			"or, on a network you trust with all the data, --insecure-no-auth.\n", cfg.addr)
		return cfg, errUsage
	}
	return cfg, nil
}

// checkAddr checks a listening address: HOST:PORT (HOST may be empty, an
// IPv6 address in brackets) with a port from 0 to 65535. It returns what
// is wrong, or "".
func checkAddr(addr string) string {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "want HOST:PORT, like 127.0.0.1:4438 (port 0 picks a free one)"
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return "the port must be a number from 0 to 65535 (0 picks a free one)"
	}
	return ""
}

// printServeHelp prints serve's help and flags to w.
func printServeHelp(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprint(w, serveHelp)
	printFlags(w, fs)
}

// serveHelp is what "rewind serve --help" says before the flags.
const serveHelp = `Usage: rewind serve [flags]

Serves the store over HTTP: the Durable Streams protocol at /v1/stream/<name>.
SIGTERM or Ctrl-C drains requests in flight and closes the store cleanly.

By default the store is embedded (one process, --data holds everything).
On a NATS cluster, run one "rewind serve --nats URLs --replicas 3" per
machine behind a load balancer, each with its own --data (its read index):
they serve the same streams. While the cluster elects a leader (a node
died) a request answers 503 with Retry-After; retry it (the official
clients do).

Without --auth-tokens, --jwt-secret-file or --jwt-jwks (or --tls-client-ca)
the server has no authentication: it listens on loopback only (unless
--insecure-no-auth), answers only requests whose Host is an IP address,
localhost or an --allow-host (over plain HTTP; TLS checks the name), and
refuses writes from pages of other origins (--allow-origin adds some). With
authentication, every request needs a bearer token whose scopes allow it
(rewind token makes one); client certificates alone still refuse writes
from pages of other origins, since a browser sends them on its own.

Operations: /metrics (Prometheus; with authentication, a token with the scope
admin:metrics), /healthz and /readyz (open). Traces are off by default;
--otlp (REWIND_OTLP) or the standard OTEL_EXPORTER_OTLP_ENDPOINT (or
_TRACES_ENDPOINT) variable sends a span for every request, append and read to
an OpenTelemetry collector by OTLP/HTTP; the other OTEL_* variables apply
(OTEL_SERVICE_NAME, default "rewind"; OTEL_EXPORTER_OTLP_HEADERS, never logged;
OTEL_TRACES_SAMPLER). An append under a traced request records the trace in
its events' metadata.

Exit codes: 0 stopped (SIGTERM, Ctrl-C); 1 a failure of the store or the
network; 2 bad usage or input: a flag or variable, or a file one names
(tokens, JWT keys, certificates) that cannot be read or is not valid.

Flags:
`

// given names where a flag's value came from, for messages: "--name"
// when the command line set it, env otherwise (its variable).
func given(fs *flag.FlagSet, name, env string) string {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	if set {
		return "--" + name
	}
	return env
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseServe(args, stderr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	// A file named by a flag that cannot be read or is not what the flag
	// wants (the tokens, a JWT key, a certificate) is bad input, exit 2,
	// as a bad flag is: said before anything is bound or made.
	badInput := func(err error) error {
		fmt.Fprintln(stderr, "rewind serve:", err)
		return errUsage
	}
	auth, err := cfg.access.Authorizer()
	if err != nil {
		return badInput(err)
	}
	tlsCfg, err := cfg.access.TLS()
	if err != nil {
		return badInput(err)
	}
	data, err := filepath.Abs(cfg.data)
	if err != nil {
		return err
	}
	// Bind first: a port in use fails before anything is made on disk.
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	defer ln.Close()
	tr, err := tracing.Start(ctx, cfg.otlp, os.Getenv, "rewind")
	if errors.Is(err, tracing.ErrInvalidEndpoint) { // an OTEL_EXPORTER_OTLP_* variable's
		return badInput(err)
	}
	if err != nil {
		return err
	}
	defer shutdownTracing(tr, log) // after the store's close: its last spans are sent
	reg := newRegistry()
	obsOpts := []observe.Option{observe.WithRegisterer(reg)}
	if tr != nil {
		obsOpts = append(obsOpts, observe.WithTracerProvider(tr.Provider))
		log.Info("tracing", "otlp", tr.Endpoint, "service", tr.Service)
	} else if cfg.otlp != "" && tracing.Disabled(os.Getenv) {
		log.Info("tracing off: OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none wins over --otlp")
	}
	obs, err := observe.New(obsOpts...)
	if err != nil {
		return err
	}
	var store *eventstore.Store
	if cfg.natsURL != "" {
		opts := append([]eventstore.Option{eventstore.WithIndexDir(filepath.Join(data, "index")), eventstore.WithLogger(log),
			eventstore.WithObserver(obs)}, cfg.nats.options()...)
		if cfg.replicas > 0 {
			opts = append(opts, eventstore.WithReplicas(cfg.replicas))
		}
		store, err = eventstore.Connect(ctx, cfg.natsURL, opts...)
	} else {
		opts := []eventstore.Option{eventstore.WithLogger(log), eventstore.WithObserver(obs)}
		if cfg.storageLimit > 0 {
			opts = append(opts, eventstore.WithStorageLimit(cfg.storageLimit))
		}
		store, err = eventstore.Open(ctx, data, opts...)
	}
	if errors.Is(err, eventstore.ErrInvalidOption) { // a --nats-* file that cannot be read or is not valid
		return badInput(err)
	}
	if err != nil {
		return fmt.Errorf("open the store: %w", err)
	}
	defer store.Close()
	ds := durablestreams.New(store, durablestreams.WithLongPollTimeout(cfg.longPoll), durablestreams.WithLogger(log),
		durablestreams.WithAuthorizer(auth))
	obs.WatchParked("/v1/stream/", ds.Waiting) // for as long as the Observer: the process's life
	srv := access.NewServer(streamsFirst(obs.Handler("/v1/stream/", ds), operations(store, reg, auth, log)), access.WithTLS(tlsCfg),
		access.WithErrorLog(slog.NewLogLogger(log.Handler(), slog.LevelWarn)))
	where := "embedded store in " + data
	if cfg.natsURL != "" {
		where = "NATS at " + eventstore.RedactURL(cfg.natsURL) + ", read index in " + filepath.Join(data, "index")
	}
	scheme := "http://"
	if tlsCfg != nil {
		scheme = "https://"
	}
	authMode := "none (loopback only)"
	switch {
	case cfg.access.Authenticates():
		authMode = "on"
	case cfg.access.InsecureNoAuth:
		authMode = "none (--insecure-no-auth)"
	}
	log.Info("listening", "url", scheme+ln.Addr().String(), "streams", scheme+ln.Addr().String()+"/v1/stream/",
		"data", where, "long_poll_timeout", cfg.longPoll, "auth", authMode)
	if !cfg.access.Authenticates() && !access.IsLoopback(hostOf(ln.Addr().String())) {
		log.Warn("no authentication on an address beyond loopback: anyone who reaches it can read, write and delete every stream")
	}
	served := make(chan error, 1)
	go func() { served <- access.Serve(srv, ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: draining requests in flight")
	ds.Shutdown()
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("requests still in flight were cut", "err", err)
	}
	if err := store.Close(); err != nil {
		return fmt.Errorf("close the store: %w", err)
	}
	log.Info("stopped")
	return nil
}

// shutdownTracing sends the spans still buffered, for up to 5 s.
func shutdownTracing(tr *tracing.Tracing, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := tr.Shutdown(ctx); err != nil {
		log.Warn("spans not sent", "err", err)
	}
}

// streamsFirst sends every request under /v1/stream/ to ds as it came, and
// the rest to other. A ServeMux would clean the path first and redirect
// "/v1/stream/a//b" to "/v1/stream/a/b", another stream: a stream's name is
// taken as sent, and one that is not valid is refused with 400.
func streamsFirst(ds, other http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/v1/stream/") {
			ds.ServeHTTP(w, r)
			return
		}
		other.ServeHTTP(w, r)
	})
}

// readyMaxLag is how many commits the read index may lie behind the log
// for /readyz to answer ready: about a second of a busy log's appends, far
// less than a replica that fell behind or an index being rebuilt.
const readyMaxLag = 10_000

// newRegistry returns the registry of serve's /metrics: Rewind's metrics
// (registered by observe.New) and the Go runtime's and the process's.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// operations serves what is not a stream: /metrics (allowed to
// observe.MetricsOp, the scope admin:metrics, when auth is on), /healthz
// and /readyz (open: they reveal nothing), and 404 for the rest.
func operations(store *eventstore.Store, reg *prometheus.Registry, auth access.Authorizer, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", observe.MetricsHandler(reg, auth))
	mux.Handle("/healthz", observe.Healthz())
	mux.Handle("/readyz", observe.Readyz(func(ctx context.Context) error { return store.Ready(ctx, readyMaxLag) },
		func(err error) { log.Warn("not ready", "err", err) }))
	mux.HandleFunc("/", notFound)
	return mux
}

// notFound answers a path the server does not serve.
func notFound(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusNotFound)
	fmt.Fprintln(w, "nothing here: streams are under /v1/stream/<name>")
}

// hostOf returns the host of a host:port.
func hostOf(hostport string) string {
	h, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return hostport
	}
	return h
}
