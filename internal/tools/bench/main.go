// Command bench runs every target of BENCHMARKS.md beside its baseline in
// one run, prints each as met or missed, writes the figures as JSON and
// draws the scaling curves as PNG charts. scripts/bench.sh builds it,
// starts PostgreSQL for it and runs it; see "How to run the benchmarks" in
// BENCHMARKS.md.
//
//	bench charts RESULTS.json DIR
//	bench freeport
//	bench [--quick] [--json FILE] [--charts DIR] [--pg-dsn DSN | --pg-absent WHY] [--skip SECTIONS]
//
// Every Rewind figure is taken through the public API a user calls
// (Store.Append with ExpectVersion from 16 goroutines, Store.Read,
// Store.ReadAll, `rewind serve` over HTTP), beside the same work on SQLite
// (modernc, WAL) and PostgreSQL (pgx, one events table), in the same run.
// A baseline whose tool is missing is printed and written as "baseline
// absent", never dropped.
//
// Sections (--skip takes a comma-separated list of them): appends, dataset,
// many, http, gotest, cluster (cluster runs in full mode only).
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	if len(os.Args) == 3 && strings.HasPrefix(os.Args[1], "child-") {
		if err := childMain(context.Background(), os.Args[1], os.Args[2]); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) == 2 && os.Args[1] == "freeport" {
		// For scripts/bench.sh: a free TCP port on 127.0.0.1 for PostgreSQL.
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		fmt.Println(l.Addr().(*net.TCPAddr).Port)
		l.Close()
		return
	}
	if len(os.Args) == 4 && os.Args[1] == "charts" {
		// Draws the charts again from a run's JSON.
		if err := redraw(os.Args[2], os.Args[3]); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type config struct {
	quick    bool
	jsonOut  string
	charts   string
	work     string
	pgDSN    string
	pgAbsent string
	root     string
	skip     map[string]bool
	sizes    *sizes // set by tests: smaller than --quick's
}

func parseFlags(args []string) (config, error) {
	var cfg config
	var skip string
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.BoolVar(&cfg.quick, "quick", false, "smaller sizes (50,000 events; under 5 minutes on 2 cores)")
	fs.StringVar(&cfg.jsonOut, "json", "", "write the figures as JSON to this file (default: CHARTS/results.json)")
	fs.StringVar(&cfg.charts, "charts", "docs/bench", "directory for the PNG charts")
	fs.StringVar(&cfg.work, "work", "", "directory for the data sets (default: a new one under $TMPDIR, removed at the end)")
	fs.StringVar(&cfg.pgDSN, "pg-dsn", "", "PostgreSQL to measure beside Rewind (scripts/bench.sh starts one)")
	fs.StringVar(&cfg.pgAbsent, "pg-absent", "", "why PostgreSQL is not measured (printed and written in the JSON)")
	fs.StringVar(&cfg.root, "root", ".", "the repository's root (for scripts/bench-ds.sh and go test)")
	fs.StringVar(&skip, "skip", "", "sections to skip: appends,dataset,many,http,gotest,cluster")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	cfg.skip = map[string]bool{}
	for _, s := range strings.Split(skip, ",") {
		if s = strings.TrimSpace(s); s != "" {
			cfg.skip[s] = true
		}
	}
	if cfg.pgDSN == "" && cfg.pgAbsent == "" {
		cfg.pgAbsent = "no --pg-dsn given"
	}
	if cfg.jsonOut == "" {
		cfg.jsonOut = cfg.charts + "/results.json"
	}
	return cfg, nil
}
