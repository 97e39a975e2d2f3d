package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

type sizes struct {
	Events        int     `json:"events"`
	Stages        int     `json:"stages"`
	ManyStreams   int     `json:"many_streams"`
	AppendSeconds float64 `json:"append_seconds"`
	Writers       []int   `json:"writers"`
	Children      int     `json:"children_per_open"`
	WarmReads     int     `json:"warm_reads"`
	HTTPSeconds   int     `json:"http_seconds"`
	HTTPClients   []int   `json:"http_clients"`
}

func sizesFor(quick bool) sizes {
	if quick {
		return sizes{Events: 50_000, Stages: 4, ManyStreams: 50_000, AppendSeconds: 1, Writers: []int{1, 4, 16},
			Children: 3, WarmReads: 200, HTTPSeconds: 2, HTTPClients: []int{1, 16}}
	}
	return sizes{Events: 1_000_000, Stages: 4, ManyStreams: 1_000_000, AppendSeconds: 3, Writers: []int{1, 2, 4, 8, 16},
		Children: 5, WarmReads: 200, HTTPSeconds: 5, HTTPClients: []int{1, 4, 16}}
}

// curves are the figures behind the charts.
type curves struct {
	Append        []appendPoint `json:"append"`
	Stages        []stagePoint  `json:"by_log_size"`
	ReadsByStream []readPoint   `json:"reads_by_stream_size"`
	HTTP          []httpPoint   `json:"http_by_clients"`
}

type appendPoint struct {
	Store   string  `json:"store"`
	Durable bool    `json:"durable"`
	Writers int     `json:"writers"`
	Rate    float64 `json:"appends_per_s"`
}

type stagePoint struct {
	Store        string             `json:"store"`
	Events       int                `json:"events"`
	OpenFirstMS  float64            `json:"open_first_ms"`
	OpenSecondMS float64            `json:"open_second_ms"`
	FirstReadMS  float64            `json:"first_read_target_ms"`
	OpenReadMS   float64            `json:"open_plus_first_read_ms"`
	TargetEvents int                `json:"target_events"`
	EarlyP99MS   float64            `json:"warm_p99_early100_ms"`
	ReplayPerSec float64            `json:"replay_per_s"`
	DiskMB       float64            `json:"disk_mb"`
	DiskPartsMB  map[string]float64 `json:"disk_parts_mb,omitempty"`
}

type readPoint struct {
	Store  string  `json:"store"`
	Stream string  `json:"stream,omitempty"`
	Events int     `json:"stream_events"`
	P50MS  float64 `json:"p50_ms"`
	P99MS  float64 `json:"p99_ms"`
}

type httpPoint struct {
	Server  string  `json:"server"`
	Clients int     `json:"clients"`
	Rate    float64 `json:"msgs_per_s"`
}

type runner struct {
	cfg   config
	sz    sizes
	rep   *report
	work  string
	kinds []string
	// build holds each store's data set build time.
	build        map[string]time.Duration
	buildRetries map[string]int64
}

func run(ctx context.Context, cfg config) error {
	r := &runner{cfg: cfg, sz: sizesFor(cfg.quick), build: map[string]time.Duration{}, buildRetries: map[string]int64{}}
	if cfg.sizes != nil {
		r.sz = *cfg.sizes
	}
	mode := "full"
	if cfg.quick {
		mode = "quick"
	}
	r.rep = &report{Mode: mode, Started: time.Now().UTC().Format(time.RFC3339), Sizes: r.sz, Absent: map[string]string{},
		Machine: machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), LoadStart: loadavg(),
			SharedNote: "taken on whatever else the machine was doing; see the load averages"}}
	r.kinds = []string{"rewind", "sqlite"}
	if cfg.pgDSN != "" {
		r.kinds = append(r.kinds, "postgres")
		r.rep.Machine.Postgres = postgresVersion(ctx, cfg.pgDSN)
	} else {
		r.rep.Absent["postgres"] = cfg.pgAbsent
	}
	work := cfg.work
	if work == "" {
		var err error
		if work, err = os.MkdirTemp("", "rewind-bench-"); err != nil {
			return err
		}
		defer os.RemoveAll(work)
	}
	r.work = work
	progress("mode %s, %d events, stores %s; load average %s", mode, r.sz.Events, strings.Join(r.kinds, ", "), r.rep.Machine.LoadStart)

	sections := []struct {
		name string
		fn   func(context.Context) error
	}{
		{"appends", r.appends},
		{"dataset", r.dataset},
		{"many", r.many},
		{"http", r.http},
		{"gotest", r.gotest},
		{"cluster", r.cluster},
	}
	for _, s := range sections {
		if cfg.skip[s.name] || s.name == "cluster" && cfg.quick {
			continue
		}
		if err := s.fn(ctx); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			// A section that fails leaves its rows "not measured" with the
			// error; the others still run.
			progress("section %s failed: %v", s.name, err)
			r.rep.add(&row{ID: s.name + "-failed", Issue: "24", Measure: "section " + s.name, Note: err.Error()})
		}
		// What is measured so far, in case the run is stopped.
		if os.MkdirAll(filepath.Dir(cfg.jsonOut), 0o755) == nil {
			r.rep.writeJSON(cfg.jsonOut)
		}
	}
	r.rep.Machine.LoadEnd = loadavg()
	r.rep.Finished = time.Now().UTC().Format(time.RFC3339)
	if err := os.MkdirAll(filepath.Dir(cfg.jsonOut), 0o755); err != nil {
		return err
	}
	if err := r.rep.writeJSON(cfg.jsonOut); err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.charts, 0o755); err != nil {
		return err
	}
	if err := drawCharts(r.rep, cfg.charts); err != nil {
		return fmt.Errorf("charts: %w", err)
	}
	fmt.Println()
	fmt.Printf("bench (%s mode, %d CPUs, load average %s at the start, %s at the end)\n\n", mode, r.rep.Machine.CPUs, r.rep.Machine.LoadStart, r.rep.Machine.LoadEnd)
	r.rep.writeTable(os.Stdout)
	fmt.Printf("\nfigures in %s, charts in %s\n", cfg.jsonOut, cfg.charts)
	return nil
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench %s: "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// targetFor names a fresh data location of a store for one use.
func (r *runner) targetFor(kind, name string) target {
	switch kind {
	case "rewind":
		return target{Kind: kind, Path: filepath.Join(r.work, "rewind-"+name), Create: true}
	case "sqlite":
		os.MkdirAll(filepath.Join(r.work, "sqlite"), 0o755)
		return target{Kind: kind, Path: filepath.Join(r.work, "sqlite", name+".db"), Create: true}
	default:
		return target{Kind: kind, DSN: r.cfg.pgDSN, Table: "events_" + strings.ReplaceAll(name, "-", "_"), Create: true}
	}
}

// remove deletes a data location.
func (r *runner) remove(ctx context.Context, t target) {
	switch t.Kind {
	case "rewind":
		os.RemoveAll(t.Path)
	case "sqlite":
		for _, s := range []string{"", "-wal", "-shm"} {
			os.Remove(t.Path + s)
		}
	case "postgres":
		if err := dropPostgres(ctx, t.DSN, t.Table); err != nil {
			progress("drop %s: %v", t.Table, err)
		}
	}
}

// baselines maps each baseline store to its figure, nil where absent.
func (r *runner) baselines(fig func(kind string) (float64, bool)) map[string]*float64 {
	m := map[string]*float64{"sqlite": nil, "postgres": nil}
	for _, k := range r.kinds {
		if k == "rewind" {
			continue
		}
		if v, ok := fig(k); ok {
			m[k] = f64(v)
		}
	}
	return m
}
