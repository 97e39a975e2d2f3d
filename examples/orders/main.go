// Command orders is Rewind's example application: a small shop's orders,
// users and workspaces as event-sourced aggregates on the embedded store,
// SQLite read models fed by exactly-once projections, the commands and the
// time-travel endpoints over HTTP, the Durable Streams endpoint, and a
// time-travel page in the browser.
//
//	go run ./examples/orders [--addr 127.0.0.1:4437] [--data ./data/orders] [--nats URL[,URL...] --replicas 3]
//	go run ./examples/orders --auth-tokens tokens.txt [--tls-cert c.pem --tls-key k.pem]
//	go run ./examples/orders --otlp http://localhost:4318   # or OTEL_EXPORTER_OTLP_ENDPOINT=...
//
// It takes the access-control and TLS flags of rewind serve (package
// eventstore/access, Config.RegisterFlags): without authentication it
// listens on loopback only. It serves /metrics, /healthz and /readyz;
// with --otlp, or the standard OTEL_EXPORTER_OTLP_ENDPOINT (or
// _TRACES_ENDPOINT) variable, it sends a span for every request, command,
// append, read and projection batch to that OpenTelemetry collector by
// OTLP over HTTP (OTEL_SERVICE_NAME, default "orders", and the other
// OTEL_* variables apply), and flushes them when it stops.
//
// The first start seeds weeks of history (thousands of orders, their
// events stored at times in the past), so that "what did this order look
// like yesterday at 3pm?" has an answer; later starts open the same data.
// It prints the URL to open and a few rewind commands to try, and drains
// on SIGINT or SIGTERM. Delete the data directory to seed again.
//
// The code is in the packages beside this file: domain (the aggregates and
// their invariants), readmodel (the SQLite read models), seed (the
// history) and app (the wiring); web is the page.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rewindhq/rewind/eventstore/access"
	"github.com/rewindhq/rewind/examples/orders/app"
	"github.com/rewindhq/rewind/examples/orders/seed"
	"github.com/rewindhq/rewind/internal/tracing"
)

// envInt reads an integer environment variable; unset or not a number is 0
// (then --replicas' check refuses nothing and Connect adopts the log's).
func envInt(key string) int {
	n, _ := strconv.Atoi(os.Getenv(key))
	return n
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run starts the application with the flags in args and serves until ctx
// ends, then drains. It returns the exit code: 0, 1 on a failure, 2 on bad
// usage.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("orders", flag.ContinueOnError)
	fl.SetOutput(stderr)
	addr := fl.String("addr", app.DefaultAddr, "address to listen on")
	data := fl.String("data", "./"+app.DefaultData, "data directory (seeded on first start)")
	orders := fl.Int("seed-orders", seed.DefaultOrders, "orders the first start seeds")
	days := fl.Int("seed-days", seed.DefaultDays, "days of history the first start seeds")
	rnd := fl.Uint64("seed", seed.DefaultRand, "random seed of the history")
	natsURL := fl.String("nats", os.Getenv("REWIND_NATS"), "URL of an external NATS server, or a cluster's comma-separated URLs, instead of the embedded store (nothing is seeded) [REWIND_NATS]")
	replicas := fl.Int("replicas", envInt("REWIND_REPLICAS"), "with --nats: replicas of the log and its buckets when this process makes them (3 on a cluster; never lowered; 0 adopts the log's) [REWIND_REPLICAS]")
	otlp := fl.String("otlp", "", "send OpenTelemetry spans to the collector at this base URL by OTLP over HTTP (http://localhost:4318); without it OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT turn tracing on, and without any nothing is traced")
	var acc access.Config
	acc.RegisterFlags(fl, os.Getenv)
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fl.NArg() > 0 {
		fmt.Fprintf(stderr, "orders: unexpected argument %q\n", fl.Arg(0))
		return 2
	}
	if *replicas < 0 || *replicas > 5 || *replicas > 1 && *natsURL == "" {
		fmt.Fprintln(stderr, "orders: --replicas takes 0 to 5, and more than 1 needs --nats")
		return 2
	}
	if *orders <= 0 || *days <= 0 {
		fmt.Fprintln(stderr, "orders: --seed-orders and --seed-days must be positive")
		return 2
	}
	tr, err := tracing.Start(ctx, *otlp, os.Getenv, "orders")
	if err != nil {
		fmt.Fprintln(stderr, "orders: --otlp:", err)
		return 2
	}
	defer shutdownTracing(tr, stderr) // after the application's close: its last spans are sent
	cfg := app.Config{Addr: *addr, Data: *data, NATS: *natsURL, Replicas: *replicas,
		Seed: app.SeedConfig{Config: seed.Config{Orders: *orders, Days: *days, Rand: *rnd}}, Access: acc}
	if tr != nil {
		cfg.TracerProvider = tr.Provider
		fmt.Fprintf(stdout, "orders: tracing to %s as %q\n", tr.Endpoint, tr.Service)
	} else if *otlp != "" && tracing.Disabled(os.Getenv) {
		fmt.Fprintln(stdout, "orders: tracing off: OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none wins over --otlp")
	}
	if app.Seeds(cfg) {
		fmt.Fprintf(stdout, "orders: first start: seeding %s with %d orders over %d days, placed by users and workspaces made in the two days before\n", *data, *orders, *days)
	} else {
		fmt.Fprintf(stdout, "orders: opening %s\n", *data)
	}
	a, err := app.Start(ctx, cfg)
	if err != nil {
		// The application's errors name it already ("orders: …").
		msg := err.Error()
		if !strings.HasPrefix(msg, "orders: ") {
			msg = "orders: " + msg
		}
		fmt.Fprintln(stderr, msg)
		return 1
	}
	code := serve(ctx, a, stdout, stderr)
	if err := a.Close(); err != nil {
		fmt.Fprintln(stderr, "orders: close:", err)
		code = 1
	}
	return code
}

// shutdownTracing sends the spans still buffered, for up to 5 s.
func shutdownTracing(tr *tracing.Tracing, stderr io.Writer) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := tr.Shutdown(ctx); err != nil {
		fmt.Fprintln(stderr, "orders: spans not sent:", err)
	}
}

// serve tells what to try, then waits for ctx.
func serve(ctx context.Context, a *app.App, stdout, stderr io.Writer) int {
	if r := a.Seeded; r != nil {
		fmt.Fprintf(stdout, "orders: seeded %d orders, %d users, %d workspaces: %d events from %s to %s, in %s\n",
			r.Orders, r.Users, r.Workspaces, r.Events, r.First.Local().Format(time.DateTime), r.Last.Local().Format(time.DateTime),
			r.Took.Round(100*time.Millisecond))
	}
	wait, cancel := context.WithTimeout(ctx, time.Minute)
	err := a.WaitCaughtUp(wait)
	cancel()
	if err != nil && ctx.Err() == nil {
		fmt.Fprintln(stderr, "orders: read models:", err)
		return 1
	}
	fmt.Fprintf(stdout, "\nOpen %s\n\n", a.URL)
	if a.Authenticates {
		fmt.Fprintf(stdout, "The server has authentication: open %s#token=<a token with read scopes>\n"+
			"(the page keeps it in sessionStorage), and give the rewind commands --token or REWIND_TOKEN.\n\n", a.URL)
	}
	if ex, ok, err := a.Example(ctx); err == nil && ok {
		server := ""
		if a.URL != "http://"+app.DefaultAddr+"/" {
			server = " --server " + a.URL[:len(a.URL)-1]
		}
		// The installed CLI, as the README says: go run turns every
		// failure into exit code 1, whatever the CLI's own exit code.
		fmt.Fprintf(stdout, "Try, in another terminal, the rewind CLI (install it once with\n"+
			"\"go install ./cmd/rewind\": go run would turn its exit codes into 1):\n\n")
		fmt.Fprintf(stdout, "  rewind%s state orders/%s --at %q\n", server, ex.Order, ex.At.Format(time.RFC3339))
		fmt.Fprintf(stdout, "  rewind%s timeline orders/%s\n", server, ex.Order)
		if sum, ok, err := a.ReadModels.Summary(ctx, ex.Order); err == nil && ok {
			fmt.Fprintf(stdout, "  rewind%s diff orders/%s --from %q --to %d\n", server, ex.Order, ex.At.Format(time.RFC3339), sum.Version)
		}
		fmt.Fprintln(stdout)
	}
	fmt.Fprintln(stdout, "Ctrl-C stops the server.")
	<-ctx.Done()
	fmt.Fprintln(stdout, "orders: draining")
	return 0
}
