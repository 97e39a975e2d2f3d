package eventstore

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// The benchmark dataset: a log of benchEvents() one-event commits of 200 B
// of data over many streams (10k for 1M events), with two streams spread
// evenly through it:
//
//	bench/target  1,000 events, one every n/1000 messages
//	bench/small      10 events, one every n/10 messages
//
// Building it through Append would take minutes, so it is bulk-loaded with
// asynchronous publishes of encoded commits (with correct versions) and
// cached in os.TempDir() across runs: a marker file says it is complete.
const (
	benchTarget       = "bench/target"
	benchSmall        = "bench/small"
	benchTargetEvents = 1000
	benchSmallEvents  = 10
	benchDataSize     = 200
	benchEventType    = "BenchEvent"
	benchLoadWriters  = 16 // goroutines appending while loading
	benchLogStream    = "rewind"
	benchDataVersion  = "v2" // bump when the dataset's layout changes

	envBenchEvents = "REWIND_BENCH_EVENTS"
)

// benchLogger discards the store's log lines (a rebuild logs at Info).
func benchLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// benchSink keeps reads from being optimized away.
var benchSink int

// benchPayload returns 200 bytes of JSON.
func benchPayload() []byte {
	p := []byte(`{"kind":"bench","pad":"`)
	p = append(p, bytes.Repeat([]byte("x"), benchDataSize-len(p)-2)...)
	return append(p, '"', '}')
}

// benchEvents is the dataset size: REWIND_BENCH_EVENTS, default 1M.
func benchEvents() (int, error) {
	v := os.Getenv(envBenchEvents)
	if v == "" {
		return 1_000_000, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 20_000 || n > 100_000_000 {
		return 0, fmt.Errorf("%s=%q: want an integer from 20000 to 100000000", envBenchEvents, v)
	}
	return n, nil
}

type benchDataset struct {
	dir     string
	events  int
	streams int // streams besides target and small
}

func (d benchDataset) marker() string {
	return fmt.Sprintf("events=%d streams=%d target=%d small=%d data=%d commit=%c%d\n",
		d.events, d.streams, benchTargetEvents, benchSmallEvents, benchDataSize, commitMagic, commitFormatV2)
}

var (
	benchDataOnce sync.Once
	benchData     benchDataset
	benchDataErr  error
)

// loadBenchDataset builds the dataset if its cache is missing or stale,
// and makes sure its read index has caught up with the log (the index of a
// cached dataset may be of an older format: the store rebuilds it on open,
// and no timed read may wait for that). Once per process; closed on return.
func loadBenchDataset(tb testing.TB) benchDataset {
	tb.Helper()
	benchDataOnce.Do(func() { benchData, benchDataErr = prepareBenchDataset() })
	if benchDataErr != nil {
		tb.Fatalf("benchmark dataset: %v", benchDataErr)
	}
	return benchData
}

func prepareBenchDataset() (benchDataset, error) {
	n, err := benchEvents()
	if err != nil {
		return benchDataset{}, err
	}
	name := fmt.Sprintf("rewind-bench-%d-%s", n, benchDataVersion)
	if n == 1_000_000 {
		name = "rewind-bench-1m-" + benchDataVersion
	}
	d := benchDataset{dir: filepath.Join(os.TempDir(), name), events: n, streams: max(100, n/100)}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Minute)
	defer cancel()
	marker := filepath.Join(d.dir, "READY")
	if got, err := os.ReadFile(marker); err != nil || string(got) != d.marker() {
		if err := os.RemoveAll(d.dir); err != nil {
			return d, err
		}
		fmt.Fprintf(os.Stderr, "rewind bench: building a dataset of %d events in %s\n", n, d.dir)
		start := time.Now()
		if err := buildBenchDataset(ctx, d); err != nil {
			return d, fmt.Errorf("build %s: %w", d.dir, err)
		}
		if err := os.WriteFile(marker+".tmp", []byte(d.marker()), 0o644); err != nil {
			return d, err
		}
		if err := os.Rename(marker+".tmp", marker); err != nil {
			return d, err
		}
		fmt.Fprintf(os.Stderr, "rewind bench: dataset built in %v\n", time.Since(start).Round(time.Millisecond))
	}
	return d, catchUpBenchDataset(ctx, d)
}

// benchStreamNames returns the dataset's stream names: target, small, then
// the others.
func benchStreamNames(others int) []string {
	names := []string{benchTarget, benchSmall}
	for i := range others {
		names = append(names, fmt.Sprintf("bench/s-%05d", i))
	}
	return names
}

// benchPlan assigns each log position to a stream (an index into
// benchStreamNames): target and small spread evenly, the others at random
// (fixed seed).
func benchPlan(n, others int) []int32 {
	plan := make([]int32, n)
	const free = -1
	for i := range plan {
		plan[i] = free
	}
	step := n / benchTargetEvents
	for j := range benchTargetEvents {
		plan[j*step+step/2] = 0
	}
	step = n / benchSmallEvents
	for j := range benchSmallEvents {
		i := j*step + step/3
		for plan[i] != free {
			i++
		}
		plan[i] = 1
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range plan {
		if plan[i] == free {
			plan[i] = int32(2 + rng.IntN(others))
		}
	}
	return plan
}

// buildBenchDataset appends the plan through Store.Append from
// benchLoadWriters goroutines, as users write: each takes the plan's next
// position and appends one event to that position's stream, so the log
// follows the plan up to the order in which concurrent appends land.
func buildBenchDataset(ctx context.Context, d benchDataset) error {
	s, err := Open(ctx, d.dir, WithLogger(benchLogger()))
	if err != nil {
		return err
	}
	defer s.Close()
	if err := appendPlan(ctx, s, benchStreamNames(d.streams), benchPlan(d.events, d.streams)); err != nil {
		return err
	}
	last := s.lastAcked.Load()
	if last != uint64(d.events) {
		return fmt.Errorf("log ends at %d after %d appends", last, d.events)
	}
	x, err := s.acquire(ctx, last)
	if err != nil {
		return fmt.Errorf("index the log: %w", err)
	}
	s.release(x)
	return nil
}

// catchUpBenchDataset opens the dataset, waits until the read index holds
// the whole log and checks the two spread streams.
func catchUpBenchDataset(ctx context.Context, d benchDataset) error {
	s, err := Open(ctx, d.dir, WithLogger(benchLogger()))
	if err != nil {
		return err
	}
	defer s.Close()
	last := s.lastAcked.Load() // the log's last sequence at Open
	if last != uint64(d.events) {
		return fmt.Errorf("log of %s ends at %d, want %d (delete it to rebuild)", d.dir, last, d.events)
	}
	x, err := s.acquire(ctx, last)
	if err != nil {
		return fmt.Errorf("index the log: %w", err)
	}
	s.release(x)
	for name, want := range map[string]uint64{benchTarget: benchTargetEvents, benchSmall: benchSmallEvents} {
		h, err := s.Head(ctx, name)
		if err != nil {
			return err
		}
		if h.Version != want {
			return fmt.Errorf("stream %s at version %d, want %d", name, h.Version, want)
		}
	}
	return nil
}

// openBenchDataset opens the (cached, indexed) dataset for one benchmark,
// with a raw JetStream client on a second in-process connection to the
// same embedded server.
func openBenchDataset(b *testing.B) (*Store, jetstream.JetStream, benchDataset) {
	b.Helper()
	d := loadBenchDataset(b)
	s, err := Open(context.Background(), d.dir, WithLogger(benchLogger()))
	if err != nil {
		b.Fatalf("open dataset: %v", err)
	}
	b.Cleanup(func() { s.Close() })
	return s, rawClient(b, s), d
}

// openBenchStore opens a store on a fresh temp dir, with a raw JetStream
// client on a second in-process connection to the same embedded server.
func openBenchStore(b *testing.B) (*Store, jetstream.JetStream) {
	b.Helper()
	s, err := Open(context.Background(), b.TempDir(), WithLogger(benchLogger()))
	if err != nil {
		b.Fatalf("open: %v", err)
	}
	b.Cleanup(func() { s.Close() })
	return s, rawClient(b, s)
}

func rawClient(b *testing.B, s *Store) jetstream.JetStream {
	b.Helper()
	mustStart(b, s)
	nc, err := nats.Connect("", nats.InProcessServer(s.srv), nats.Name("rewind-bench-raw"))
	if err != nil {
		b.Fatalf("raw connection: %v", err)
	}
	b.Cleanup(nc.Close) // cleanups run last-in first-out: before the store closes
	js, err := jetstream.New(nc)
	if err != nil {
		b.Fatalf("raw jetstream: %v", err)
	}
	return js
}

// rewindRead reads a whole stream through Store.Read.
func rewindRead(ctx context.Context, s *Store, stream string) (int, error) {
	n := 0
	for e, err := range s.Read(ctx, stream) {
		if err != nil {
			return n, err
		}
		benchSink += len(e.Data)
		n++
	}
	return n, nil
}

// rawRead reads the log's messages on the filter subjects (nil: every
// message) through a raw ordered consumer, reading each message's data and
// metadata, up to upTo (0: until nothing is pending). It returns the
// messages read and the time taken up to the last one; deleting the
// server-side consumer afterwards is not timed.
func rawRead(ctx context.Context, js jetstream.JetStream, filters []string, upTo uint64, pull int) (n int, d time.Duration, err error) {
	start := time.Now()
	cons, err := js.OrderedConsumer(ctx, benchLogStream, jetstream.OrderedConsumerConfig{FilterSubjects: filters})
	if err != nil {
		return 0, 0, err
	}
	var opts []jetstream.PullMessagesOpt
	if pull > 0 {
		opts = append(opts, jetstream.PullMaxMessages(pull))
	}
	it, err := cons.Messages(opts...)
	if err != nil {
		return 0, 0, err
	}
	defer func() {
		it.Stop()
		if info := cons.CachedInfo(); info != nil {
			dctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_ = js.DeleteConsumer(dctx, benchLogStream, info.Name)
			cancel()
		}
	}()
	if info := cons.CachedInfo(); info != nil && info.NumPending == 0 {
		return 0, time.Since(start), nil
	}
	for {
		msg, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			return n, 0, err
		}
		meta, err := msg.Metadata()
		if err != nil {
			return n, 0, err
		}
		benchSink += len(msg.Data())
		n++
		if meta.NumPending == 0 || upTo > 0 && meta.Sequence.Stream >= upTo {
			return n, time.Since(start), nil
		}
	}
}

// Child processes for first reads in a new process. TestBenchChild does
// nothing unless REWIND_BENCH_CHILD names a mode; a benchmark re-executes
// the test binary with it set, and reads the child's result line.
const (
	envBenchChild       = "REWIND_BENCH_CHILD"
	envBenchChildDir    = "REWIND_BENCH_CHILD_DIR"
	envBenchChildStream = "REWIND_BENCH_CHILD_STREAM"
	benchChildTag       = "REWIND-BENCH-CHILD-RESULT"

	childColdRewind = "cold-rewind"
	childColdNaive  = "cold-naive"
)

func TestBenchChild(t *testing.T) {
	mode := os.Getenv(envBenchChild)
	if mode == "" {
		return
	}
	dir, stream := os.Getenv(envBenchChildDir), os.Getenv(envBenchChildStream)
	var n int
	var d time.Duration
	var err error
	switch mode {
	case childColdRewind:
		n, d, err = coldReadRewind(dir, stream)
	case childColdNaive:
		n, d, err = coldReadNaive(dir, stream)
	default:
		err = fmt.Errorf("unknown mode %q", mode)
	}
	if err != nil {
		t.Fatalf("bench child %s: %v", mode, err)
	}
	fmt.Printf("%s events=%d ns=%d\n", benchChildTag, n, d.Nanoseconds())
}

// coldReadRewind opens the store (not timed) and times its first Read.
func coldReadRewind(dir, stream string) (int, time.Duration, error) {
	ctx := context.Background()
	s, err := Open(ctx, dir, WithLogger(benchLogger()))
	if err != nil {
		return 0, 0, err
	}
	defer s.Close()
	start := time.Now()
	n, err := rewindRead(ctx, s, stream)
	return n, time.Since(start), err
}

// coldReadNaive starts the embedded server on the same log (not timed; the
// directory is locked as the store would) and times a subject-filtered read.
func coldReadNaive(dir, stream string) (int, time.Duration, error) {
	lock, err := lockDir(dir)
	if err != nil {
		return 0, 0, err
	}
	defer lock.unlock()
	cfg := defaultConfig()
	srv, err := startServer(dir, &cfg)
	if err != nil {
		return 0, 0, err
	}
	defer func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	}()
	nc, err := nats.Connect("", nats.InProcessServer(srv))
	if err != nil {
		return 0, 0, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return 0, 0, err
	}
	subj, err := subjectFor(benchLogStream+".s", stream)
	if err != nil {
		return 0, 0, err
	}
	return rawRead(context.Background(), js, []string{subj}, 0, 0)
}

// runBenchChild runs one child process and returns its timed read.
func runBenchChild(mode, dir, stream string) (int, time.Duration, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestBenchChild$", "-test.count=1", "-test.timeout=10m")
	cmd.Env = append(os.Environ(), envBenchChild+"="+mode, envBenchChildDir+"="+dir, envBenchChildStream+"="+stream)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return 0, 0, fmt.Errorf("child %s: %w\n%s", mode, err, out)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), benchChildTag+" ")
		if !ok {
			continue
		}
		var n int
		var ns int64
		if _, err := fmt.Sscanf(rest, "events=%d ns=%d", &n, &ns); err != nil {
			return 0, 0, fmt.Errorf("child %s: result %q: %w", mode, rest, err)
		}
		return n, time.Duration(ns), nil
	}
	return 0, 0, fmt.Errorf("child %s printed no result:\n%s", mode, out)
}

// percentile returns the nearest-rank p-th percentile of sorted samples.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// reportLatency reports p50 and p99 of samples in unit ("ms" or "us") and
// returns them.
func reportLatency(b *testing.B, samples []time.Duration, unit string) (p50, p99 time.Duration) {
	sorted := slices.Clone(samples)
	slices.Sort(sorted)
	p50, p99 = percentile(sorted, 50), percentile(sorted, 99)
	scale := float64(time.Microsecond)
	if unit == "ms" {
		scale = float64(time.Millisecond)
	}
	b.ReportMetric(float64(p50)/scale, "p50-"+unit)
	b.ReportMetric(float64(p99)/scale, "p99-"+unit)
	return p50, p99
}

// dirSize returns the total size of the regular files under dir.
func dirSize(dir string) (int64, error) {
	var total int64
	err := filepath.WalkDir(dir, func(_ string, e fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) { // removed while walking (compaction)
				return nil
			}
			return err
		}
		if !e.Type().IsRegular() {
			return nil
		}
		info, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		total += info.Size()
		return nil
	})
	return total, err
}

// benchRun remembers the final run of a sub-benchmark (the framework runs
// it several times while it sizes b.N) so that its parent can compare it
// with the sibling's.
type benchRun struct {
	ok     bool
	metric float64 // a benchmark-specific figure (events/s, p99, ...)
}

func (r *benchRun) record(_ *testing.B, metric float64) { r.ok, r.metric = true, metric }

// The verdicts: a benchmark with sub-benchmarks runs once, but its log is
// printed only with -v, and a sub-benchmark runs several times while the
// framework sizes b.N (each run adding to its log). So the parent prints
// its verdicts itself, once, after its sub-benchmarks, on lines that
// benchstat does not take for results.

// printTarget prints a figure against its target.
func printTarget(b *testing.B, what string, got float64, cmp string, want float64, unit string) {
	met := cmp == ">=" && got >= want || cmp == "<=" && got <= want
	verdict := "met"
	if !met {
		verdict = "MISSED"
	}
	fmt.Printf("--- TARGET %s: %s = %s%s (target %s %s%s): %s\n",
		b.Name(), what, fmtFigure(got), unit, cmp, fmtFigure(want), unit, verdict)
}

// printNote prints a figure that has no target.
func printNote(b *testing.B, what string, got float64, unit string) {
	fmt.Printf("--- NOTE   %s: %s = %s%s\n", b.Name(), what, fmtFigure(got), unit)
}

func fmtFigure(v float64) string {
	if math.Abs(v) >= 1000 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// ratio returns a.metric/b.metric, and whether both runs happened (a
// -bench pattern may select one sibling only).
func ratio(a, b benchRun) (float64, bool) {
	if !a.ok || !b.ok || b.metric == 0 {
		return 0, false
	}
	return a.metric / b.metric, true
}
