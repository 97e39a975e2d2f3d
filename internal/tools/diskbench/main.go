// Command diskbench measures issue 24's disk and read-latency figures in
// one run, Rewind beside SQLite on the same data set (internal/diskbench):
// each store built by 16 goroutines through its own append path, then its
// bytes on disk, a replay in log order, warm reads of the 1,000-event
// stream (in the building process while the index compacts, and in a new
// process) and first reads of it in new processes. It prints one JSON
// object.
//
//	go run ./internal/tools/diskbench -dir /tmp/diskbench            # 1M events, S2 log, and SQLite
//	go run ./internal/tools/diskbench -dir /tmp/d -log-compression=false -sqlite=false
//	go run ./internal/tools/diskbench -dir /tmp/work -index-variants /tmp/d/rewind/index/gen-000001
//	go run ./internal/tools/diskbench -dir /tmp/work -read-compare /tmp/d/rewind/index/gen-000001 -reads 400
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"

	"github.com/rewindhq/rewind/eventstore"
	"github.com/rewindhq/rewind/internal/diskbench"
)

// Result is the command's output.
type Result struct {
	Events        int               `json:"events"`
	Streams       int               `json:"streams"`
	LogCompressed bool              `json:"log_compressed"`
	Rewind        *diskbench.Rewind `json:"rewind,omitempty"`
	// FirstReads: the first read of the 1,000-event stream in each of
	// -cold new processes.
	FirstRead *diskbench.Latency `json:"first_read,omitempty"`
	SQLite    *diskbench.SQLite  `json:"sqlite,omitempty"`
	// Store.Reindex: the whole log read through JetStream and indexed.
	RebuildPerSec     float64 `json:"rebuild_events_per_sec,omitempty"`
	RebuildIndexBytes int64   `json:"rebuild_index_bytes,omitempty"`
	// Ratios the targets are set on (issue 24, items 2 and 3).
	DiskVsSQLite   float64 `json:"disk_vs_sqlite,omitempty"`   // (log+index) ÷ SQLite's file: ≤ 1
	ReplayVsSQLite float64 `json:"replay_vs_sqlite,omitempty"` // ≥ 1.5
}

func main() {
	dir := flag.String("dir", "", "work directory (the stores are made in it, replacing what is there)")
	events := flag.Int("events", 1_000_000, "events in the data set")
	reads := flag.Int("reads", 200, "warm reads of the 1,000-event stream")
	cold := flag.Int("cold", 10, "new processes timing a first read")
	compress := flag.Bool("log-compression", true, "S2 compression of the Rewind log")
	sqlite := flag.Bool("sqlite", true, "measure SQLite too")
	rewind := flag.Bool("rewind", true, "measure Rewind")
	reuse := flag.Bool("reuse", false, "measure the stores already in -dir instead of building them")
	child := flag.String("first-read", "", "internal: time one first read of the store in this directory")
	rebuild := flag.Bool("rebuild", false, "time Store.Reindex of the Rewind store in -dir (after building or with -reuse)")
	readCompare := flag.String("read-compare", "", "copy this index generation directory with and without its log-ordered copy, snappy and zstd, and time warm reads of the 1,000-event stream in each, interleaved")
	variants := flag.String("index-variants", "", "copy this index generation directory into variants of layout and compression, and measure them")
	flag.Parse()
	ctx := context.Background()
	quiet := eventstore.WithLogger(slog.New(slog.DiscardHandler))
	if *child != "" {
		d, n, err := diskbench.FirstRead(ctx, *child, quiet)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%d %d\n", d.Nanoseconds(), n)
		return
	}
	if *dir == "" {
		log.Fatal("give -dir")
	}
	if *readCompare != "" {
		lat, err := diskbench.ReadCompare(*readCompare, *dir, diskbench.CopyVariants(), *reads)
		must(err)
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		must(enc.Encode(lat))
		return
	}
	if *variants != "" {
		vs, err := diskbench.IndexVariants(*variants, *dir, diskbench.DefaultVariants())
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		must(enc.Encode(vs))
		must(err)
		return
	}
	spec := diskbench.Spec{Events: *events}
	res := Result{Events: *events, Streams: max(100, *events/100), LogCompressed: *compress}
	if *rewind {
		rdir := filepath.Join(*dir, "rewind")
		opts := []eventstore.Option{quiet, eventstore.WithLogCompression(*compress)}
		var r diskbench.Rewind
		var err error
		if !*reuse {
			must(os.RemoveAll(rdir))
			progress("building the Rewind store")
			r, err = diskbench.BuildRewind(ctx, rdir, spec, *reads, opts...)
			must(err)
		}
		progress("measuring the Rewind store")
		r, err = diskbench.MeasureRewind(ctx, rdir, r, *reads, opts...)
		must(err)
		res.Rewind = &r
		fr, err := firstReads(rdir, *cold)
		must(err)
		res.FirstRead = &fr
		if *rebuild {
			progress("rebuilding the Rewind store's index")
			res.RebuildPerSec, res.RebuildIndexBytes, err = diskbench.Rebuild(ctx, rdir, *events, opts...)
			must(err)
		}
	}
	if *sqlite {
		path := filepath.Join(*dir, "sqlite", "events.db")
		must(os.MkdirAll(filepath.Dir(path), 0o755))
		var s diskbench.SQLite
		var err error
		if !*reuse {
			progress("building the SQLite file")
			s, err = diskbench.BuildSQLite(ctx, path, spec)
			must(err)
		}
		progress("measuring the SQLite file")
		s, err = diskbench.MeasureSQLite(ctx, path, s, *reads)
		must(err)
		res.SQLite = &s
	}
	if res.Rewind != nil && res.SQLite != nil {
		res.DiskVsSQLite = float64(res.Rewind.LogBytes+res.Rewind.IndexBytes) / float64(res.SQLite.FileBytes)
		res.ReplayVsSQLite = res.Rewind.ReplayPerSec / res.SQLite.ScanPerSec
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	must(enc.Encode(res))
}

// firstReads runs n children, one at a time, each timing its first read.
func firstReads(dir string, n int) (diskbench.Latency, error) {
	exe, err := os.Executable()
	if err != nil {
		return diskbench.Latency{}, err
	}
	var samples []time.Duration
	events := 0
	for range n {
		out, err := exec.Command(exe, "-first-read", dir).Output()
		if err != nil {
			return diskbench.Latency{}, fmt.Errorf("first-read child: %w", err)
		}
		var ns int64
		if _, err := fmt.Sscanf(string(out), "%d %d", &ns, &events); err != nil {
			return diskbench.Latency{}, fmt.Errorf("first-read child said %q", out)
		}
		samples = append(samples, time.Duration(ns))
	}
	slices.Sort(samples)
	return diskbench.LatencyOf(samples, events), nil
}

func progress(what string) {
	fmt.Fprintf(os.Stderr, "%s diskbench: %s\n", time.Now().Format("15:04:05"), what)
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
