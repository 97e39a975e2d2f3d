package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rewindhq/rewind/eventstore"
	"github.com/rewindhq/rewind/internal/benchstat"
)

// durable measures appends from one writer that return only once on disk:
// Rewind with SyncAlways (Store.Append with ExpectVersion) beside
// PostgreSQL (one events table with UNIQUE(stream, version), INSERT …
// RETURNING over loopback, synchronous_commit on), in alternating rounds
// of -n appends each, and prints the medians and their ratio.
func durable(args []string) error {
	fs := flag.NewFlagSet("durable", flag.ExitOnError)
	dsn := fs.String("pg-dsn", "", "PostgreSQL to measure beside Rewind (empty: Rewind only)")
	n := fs.Int("n", 2000, "appends per round")
	rounds := fs.Int("rounds", 5, "rounds of each")
	_ = fs.Parse(args)
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "openbench-durable")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	s, err := eventstore.Open(ctx, dir, eventstore.SyncAlways(), eventstore.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		return err
	}
	defer s.Close()
	var pg *pgx.Conn
	if *dsn != "" {
		if pg, err = pgx.Connect(ctx, *dsn); err != nil {
			return err
		}
		defer pg.Close(ctx)
		if _, err := pg.Exec(ctx, `DROP TABLE IF EXISTS openbench_events`); err != nil {
			return err
		}
		if _, err := pg.Exec(ctx, `CREATE TABLE openbench_events (
			seq bigserial PRIMARY KEY, stream text NOT NULL, version bigint NOT NULL,
			id uuid NOT NULL, type text NOT NULL, data bytea NOT NULL,
			stored_at timestamptz NOT NULL DEFAULT now(), UNIQUE(stream, version))`); err != nil {
			return err
		}
	}
	data := payload()
	const streams = 64
	ours := make([]uint64, streams)
	theirs := make([]uint64, streams)
	var rw, pw []float64
	ev := []eventstore.Event{{Type: "BenchEvent", Data: data}}
	for r := range *rounds {
		start := time.Now()
		for i := range *n {
			k := i % streams
			if _, err := s.Append(ctx, fmt.Sprintf("durable/%02d", k), ev, eventstore.ExpectVersion(ours[k])); err != nil {
				return err
			}
			ours[k]++
		}
		rw = append(rw, float64(*n)/time.Since(start).Seconds())
		if pg == nil {
			continue
		}
		start = time.Now()
		for i := range *n {
			k := i % streams
			id, err := uuid.NewV7()
			if err != nil {
				return err
			}
			var seq int64
			if err := pg.QueryRow(ctx, `INSERT INTO openbench_events(stream, version, id, type, data) VALUES ($1, $2, $3, $4, $5) RETURNING seq`,
				fmt.Sprintf("durable/%02d", k), int64(theirs[k]+1), id, "BenchEvent", data).Scan(&seq); err != nil {
				return err
			}
			theirs[k]++
		}
		pw = append(pw, float64(*n)/time.Since(start).Seconds())
		fmt.Fprintf(os.Stderr, "round %d: rewind %.0f/s, postgres %.0f/s\n", r, rw[len(rw)-1], pw[len(pw)-1])
	}
	out := map[string]any{"rewind_per_s": benchstat.Median(rw), "rewind_all": rw, "n": *n, "rounds": *rounds}
	if pg != nil {
		if benchstat.Median(pw) == 0 {
			return errors.New("no PostgreSQL figure")
		}
		out["postgres_per_s"], out["postgres_all"] = benchstat.Median(pw), pw
		out["rewind_vs_postgres"] = benchstat.Median(rw) / benchstat.Median(pw)
	}
	return printJSON(out)
}
