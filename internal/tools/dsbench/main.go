// Command dsbench loads a Durable Streams server and measures what the
// protocol's users feel: append throughput (batched and one message per POST),
// catch-up read throughput, and how fast parked long-poll readers wake.
//
//	dsbench --url http://127.0.0.1:4438 [--json] [--tests batch,single,catchup,longpoll]
//	dsbench compare NODE.json[,NODE2.json...] REWIND.json[,REWIND2.json...]
//	dsbench show REPORT.json[,REPORT2.json...]
//
// compare prints two servers' --json (or --json-file) reports side by side,
// show one server's as a table; given several reports of a server, each test
// is taken from its best run.
//
//	dsbench floorserver
//
// runs a trivial in-memory server (floor.go) on REWIND_ADDR: the long-poll
// test against it shows the floor this machine and this driver impose.
//
// Streams are created under URL/v1/stream/dsbench/RUN/, RUN being unique per
// run, so a server can be measured more than once. Every message is a 100-byte
// JSON object, except in the catch-up shapes (--catchup-shapes, shapes.go):
// 20-byte, 100-byte and 1 KB nested JSON messages, one or a hundred per POST,
// a hundred streams of 1,000 messages, and application/octet-stream streams,
// each filled and then read from -1 to its tail. The long-poll test needs the server's long-poll timeout well
// above the time it takes to park every reader (30 s is what
// scripts/bench-ds.sh uses); a reader answered by a timeout counts as an error.
//
// All requests share one http.Client whose transport keeps enough idle
// connections for every parked reader. It asks for no compression, so what is
// measured is the server's work on the data, not gzip's.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "floorserver" {
		if err := runFloorServer(); err != nil {
			fmt.Fprintln(os.Stderr, "dsbench floorserver:", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) > 2 && os.Args[1] == "show" {
		rep, err := bestOf(strings.Split(os.Args[2], ","))
		if err != nil {
			fmt.Fprintln(os.Stderr, "dsbench show:", err)
			os.Exit(1)
		}
		rep.writeTable(os.Stdout)
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "compare" {
		if err := compare(os.Stdout, os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "dsbench compare:", err)
			os.Exit(1)
		}
		return
	}
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "dsbench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "dsbench:", err)
		os.Exit(1)
	}
	if cfg.jsonFile != "" {
		err = writeJSONFile(cfg.jsonFile, rep)
	}
	if err == nil && cfg.jsonOut {
		err = rep.writeJSON(os.Stdout)
	} else if err == nil {
		rep.writeTable(os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "dsbench:", err)
		os.Exit(1)
	}
}

type config struct {
	url           string
	label         string
	tests         map[string]bool
	duration      time.Duration
	writers       int
	singleWriters int
	sharedStream  bool
	batchSize     int
	catchupMsgs   int
	catchupRounds int
	catchupShapes []shape
	shapeMsgs     int
	readers       int
	lpRounds      int
	parkWait      time.Duration
	jsonOut       bool
	jsonFile      string
}

var allTests = []string{"batch", "single", "catchup", "longpoll"}

func parseFlags(args []string) (config, error) {
	var cfg config
	var tests string
	fs := flag.NewFlagSet("dsbench", flag.ContinueOnError)
	fs.StringVar(&cfg.url, "url", "http://127.0.0.1:4438", "the server's base URL (streams live at URL/v1/stream/...)")
	fs.StringVar(&cfg.label, "label", "", "a name for the server in the report (default: the URL)")
	fs.StringVar(&tests, "tests", strings.Join(allTests, ","), "which tests to run, comma-separated: "+strings.Join(allTests, ","))
	fs.DurationVar(&cfg.duration, "duration", 10*time.Second, "how long each append test runs")
	fs.IntVar(&cfg.writers, "writers", 16, "concurrent writers in the batched append test")
	fs.IntVar(&cfg.singleWriters, "single-writers", 16, "concurrent writers in the single-message append test")
	fs.BoolVar(&cfg.sharedStream, "shared-stream", false, "all writers append to one stream (default: one stream per writer)")
	fs.IntVar(&cfg.batchSize, "batch", 100, "messages per POST in the batched append test and the catch-up fill")
	fs.IntVar(&cfg.catchupMsgs, "catchup-messages", 100_000, "messages in the catch-up stream")
	fs.IntVar(&cfg.catchupRounds, "catchup-rounds", 3, "full reads of the catch-up stream (the median is reported)")
	shapeList := fs.String("catchup-shapes", "", "also read these message shapes from -1 to the tail (comma-separated, or all): "+strings.Join(shapeNames(), ","))
	fs.IntVar(&cfg.shapeMsgs, "catchup-shape-messages", 0, "at most this many messages in each shape's streams together, a quarter of it for the shapes of one message per POST (0: each shape's own size)")
	fs.IntVar(&cfg.readers, "readers", 1000, "parked long-poll readers")
	fs.IntVar(&cfg.lpRounds, "longpoll-rounds", 5, "appends that wake the parked readers (after one warm-up round)")
	fs.DurationVar(&cfg.parkWait, "park-wait", 2*time.Second, "how long to let the readers park before each append")
	fs.BoolVar(&cfg.jsonOut, "json", false, "print the results as JSON instead of a table")
	fs.StringVar(&cfg.jsonFile, "json-file", "", "also write the results as JSON to this file")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var err error
	if cfg.catchupShapes, err = parseShapes(*shapeList); err != nil {
		return cfg, err
	}
	if cfg.shapeMsgs < 0 {
		return cfg, fmt.Errorf("--catchup-shape-messages: want 0 or more")
	}
	for i := range cfg.catchupShapes {
		cfg.catchupShapes[i] = cfg.catchupShapes[i].capped(cfg.shapeMsgs)
	}
	cfg.url = strings.TrimRight(cfg.url, "/")
	if cfg.label == "" {
		cfg.label = cfg.url
	}
	cfg.tests = map[string]bool{}
	for _, t := range strings.Split(tests, ",") {
		t = strings.TrimSpace(t)
		if !contains(allTests, t) {
			return cfg, fmt.Errorf("--tests: unknown test %q (want %s)", t, strings.Join(allTests, ","))
		}
		cfg.tests[t] = true
	}
	if cfg.writers < 1 || cfg.singleWriters < 1 || cfg.batchSize < 1 || cfg.readers < 1 ||
		cfg.lpRounds < 1 || cfg.catchupMsgs < 1 || cfg.catchupRounds < 1 {
		return cfg, fmt.Errorf("counts must be at least 1")
	}
	return cfg, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func run(ctx context.Context, cfg config) (*report, error) {
	c := newClient(cfg.url, cfg.readers)
	defer c.closeIdle()
	if err := c.ping(ctx); err != nil {
		return nil, err
	}
	rep := &report{Server: cfg.label, URL: cfg.url, Started: time.Now().UTC()}
	progress := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "dsbench: "+format+"\n", args...)
	}
	if cfg.tests["batch"] {
		progress("batched append: %d writers, %d messages per POST, %s", cfg.writers, cfg.batchSize, cfg.duration)
		r, err := appendTest(ctx, c, "batch", cfg.writers, cfg.batchSize, cfg.duration, cfg.sharedStream)
		if err != nil {
			return nil, err
		}
		rep.Batch = r
	}
	if cfg.tests["single"] {
		progress("single-message append: %d writers, %s", cfg.singleWriters, cfg.duration)
		r, err := appendTest(ctx, c, "single", cfg.singleWriters, 1, cfg.duration, cfg.sharedStream)
		if err != nil {
			return nil, err
		}
		rep.Single = r
	}
	if cfg.tests["catchup"] {
		progress("catch-up read: filling a stream with %d messages", cfg.catchupMsgs)
		r, err := catchupTest(ctx, c, cfg.catchupMsgs, cfg.batchSize, cfg.catchupRounds, progress)
		if err != nil {
			return nil, err
		}
		rep.Catchup = r
		for _, s := range cfg.catchupShapes {
			progress("catch-up read of %s: filling %d streams of %d messages, %d per POST", s.Name, s.Streams, s.PerStr, s.PerPOST)
			r, err := shapeTest(ctx, c, s, cfg.catchupRounds, progress)
			if err != nil {
				return nil, err
			}
			rep.Shapes = append(rep.Shapes, r)
		}
	}
	if cfg.tests["longpoll"] {
		progress("long-poll wake-up: %d readers, %d rounds", cfg.readers, cfg.lpRounds)
		r, err := longPollTest(ctx, c, cfg.readers, cfg.lpRounds, cfg.parkWait, progress)
		if err != nil {
			return nil, err
		}
		rep.LongPoll = r
	}
	return rep, nil
}
