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
	"strings"
	"time"

	"github.com/rewindhq/rewind/eventstore"
	"github.com/rewindhq/rewind/eventstore/durablestreams"
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
}

// parseServe reads the flags, with the environment's values as defaults.
func parseServe(args []string, stderr io.Writer) (serveConfig, error) {
	fs := flag.NewFlagSet("rewind serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
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
	fs.StringVar(&cfg.natsURL, "nats", os.Getenv("REWIND_NATS"), "URL of an external NATS server or cluster to use instead of the embedded one [REWIND_NATS]")
	fs.DurationVar(&cfg.longPoll, "long-poll-timeout", lp, "how long a long-poll read waits for data before it answers 204 [REWIND_LONG_POLL_TIMEOUT]")
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: rewind serve [flags]

Serves the store over HTTP: the Durable Streams protocol at /v1/stream/<name>.
SIGTERM or Ctrl-C drains requests in flight and closes the store cleanly.

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return cfg, err
		}
		fmt.Fprint(stderr, flagProblem("rewind serve", fs, err))
		return cfg, errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "rewind serve: unexpected argument %q\n", fs.Arg(0))
		return cfg, errUsage
	}
	if cfg.longPoll <= 0 {
		fmt.Fprintln(stderr, "rewind serve: --long-poll-timeout must be positive")
		return cfg, errUsage
	}
	return cfg, nil
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
	var store *eventstore.Store
	if cfg.natsURL != "" {
		store, err = eventstore.Connect(ctx, cfg.natsURL, eventstore.WithIndexDir(filepath.Join(data, "index")),
			eventstore.WithLogger(log))
	} else {
		store, err = eventstore.Open(ctx, data, eventstore.WithLogger(log))
	}
	if err != nil {
		return fmt.Errorf("open the store: %w", err)
	}
	defer store.Close()
	ds := durablestreams.New(store, durablestreams.WithLongPollTimeout(cfg.longPoll), durablestreams.WithLogger(log))
	srv := &http.Server{
		Handler:           streamsFirst(ds, http.HandlerFunc(notFound)),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	where := "embedded store in " + data
	if cfg.natsURL != "" {
		where = "NATS at " + cfg.natsURL + ", read index in " + filepath.Join(data, "index")
	}
	log.Info("listening", "url", "http://"+ln.Addr().String(), "streams", "http://"+ln.Addr().String()+"/v1/stream/",
		"data", where, "long_poll_timeout", cfg.longPoll)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
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

// notFound answers a path the server does not serve.
func notFound(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusNotFound)
	fmt.Fprintln(w, "nothing here: streams are under /v1/stream/<name>")
}
