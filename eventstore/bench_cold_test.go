package eventstore

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Read benchmarks on logs built through Store.Append, as users build them
// (the dataset of bench_test.go is built that way too).

// appendPlan appends plan (stream indexes into names) through Store.Append
// from benchLoadWriters goroutines.
func appendPlan(ctx context.Context, s *Store, names []string, plan []int32) error {
	payload := benchPayload()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, benchLoadWriters)
	for range benchLoadWriters {
		wg.Go(func() {
			ev := []Event{{Type: benchEventType, Data: payload}}
			for {
				i := next.Add(1) - 1
				if i >= int64(len(plan)) {
					return
				}
				if _, err := s.Append(ctx, names[plan[i]], ev); err != nil {
					errs <- fmt.Errorf("append %d: %w", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// BenchmarkReadAfterAppend: in the process that has just appended the
// whole log (REWIND_BENCH_EVENTS, default 1M, through Store.Append from 16
// goroutines, the layout of the dataset), the first Read of the
// 1,000-event stream and of 99 other streams. One op builds a new log (not
// timed). naive: a subject-filtered ordered consumer of the 1,000-event
// stream on the same server, right after. Target: rewind p99 ≤ 5 ms.
func BenchmarkReadAfterAppend(b *testing.B) {
	n, err := benchEvents()
	if err != nil {
		b.Fatal(err)
	}
	streams := max(100, n/100)
	names := benchStreamNames(streams)
	plan := benchPlan(n, streams)
	var ours, naive benchRun
	var samples, naiveSamples []time.Duration
	for range b.N {
		b.StopTimer()
		ctx := context.Background()
		s, err := Open(ctx, b.TempDir(), WithLogger(benchLogger()))
		if err != nil {
			b.Fatal(err)
		}
		if err := appendPlan(ctx, s, names, plan); err != nil {
			b.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(uint64(len(samples)), 3))
		reads := []string{benchTarget}
		for len(reads) < 100 {
			reads = append(reads, names[2+rng.IntN(streams)])
		}
		b.StartTimer()
		for _, name := range reads {
			start := time.Now()
			k, err := rewindRead(ctx, s, name)
			samples = append(samples, time.Since(start))
			if err != nil || k == 0 {
				b.Fatalf("read %s: %d events, %v", name, k, err)
			}
		}
		b.StopTimer()
		js := rawClient(b, s)
		subj, _ := subjectFor(s.prefix, benchTarget)
		k, d, err := rawRead(ctx, js, []string{subj}, 0, 0)
		if err != nil || k != benchTargetEvents {
			b.Fatalf("naive read: %d events, %v", k, err)
		}
		naiveSamples = append(naiveSamples, d)
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(0, "ns/op")
	b.Run("naive", func(b *testing.B) {
		_, p99 := reportLatency(b, naiveSamples, "ms")
		naive.record(b, float64(p99)/float64(time.Millisecond))
	})
	b.Run("rewind", func(b *testing.B) {
		_, p99 := reportLatency(b, samples, "ms")
		ours.record(b, float64(p99)/float64(time.Millisecond))
		b.ReportMetric(float64(samples[0])/float64(time.Millisecond), "target-first-ms")
	})
	if ours.ok {
		printTarget(b, "rewind p99 of first reads in the appending process", ours.metric, "<=", 5, " ms")
	}
	if r, ok := ratio(naive, ours); ok {
		printNote(b, "p99 naive (1,000-event stream) / rewind", r, "x")
	}
}

// The dataset of one-event streams: REWIND_BENCH_EVENTS streams (default
// 1M) of one event each, appended through Store.Append from 16 goroutines,
// cached under $TMPDIR like the main dataset.
func loadSingleDataset(b *testing.B) string {
	b.Helper()
	n, err := benchEvents()
	if err != nil {
		b.Fatal(err)
	}
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("rewind-bench-single-%d-%s", n, benchDataVersion))
	marker := filepath.Join(dir, "READY")
	want := fmt.Sprintf("streams=%d commit=%c%d\n", n, commitMagic, commitFormatV2)
	if got, err := os.ReadFile(marker); err == nil && string(got) == want {
		return dir
	}
	if err := os.RemoveAll(dir); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	s, err := Open(ctx, dir, WithLogger(benchLogger()))
	if err != nil {
		b.Fatal(err)
	}
	names := make([]string, n)
	plan := make([]int32, n)
	for i := range names {
		names[i], plan[i] = singleStream(i), int32(i)
	}
	start := time.Now()
	if err := appendPlan(ctx, s, names, plan); err != nil {
		b.Fatal(err)
	}
	b.Logf("appended %d one-event streams in %v", n, time.Since(start))
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(marker, []byte(want), 0o644); err != nil {
		b.Fatal(err)
	}
	return dir
}

func singleStream(i int) string { return fmt.Sprintf("single/%07d", i) }

// BenchmarkColdReadOneEventStreams: among 1M one-event streams, 200 reads
// of random streams in a new process (opening not timed), and the
// process's RSS after opening and after the reads. naive: 20 reads of
// random streams by a subject-filtered ordered consumer in a new process
// on the same log. Targets: rewind p99 ≤ 1 ms; RSS after 200 reads ≤ 300 MB.
func BenchmarkColdReadOneEventStreams(b *testing.B) {
	dir := loadSingleDataset(b)
	n, _ := benchEvents()
	var ours, naive benchRun
	var rss uint64
	run := func(b *testing.B, mode string, reads int, r *benchRun) {
		var samples []time.Duration
		for i := range b.N {
			res, err := runSamplesChild(mode, dir, n, reads, uint64(i))
			if err != nil {
				b.Fatal(err)
			}
			samples = append(samples, res.samples...)
			if mode == childSingleRewind {
				rss = max(rss, res.rssAfter)
				b.ReportMetric(float64(res.rssOpen)/(1<<20), "rss-open-MB")
				b.ReportMetric(float64(res.rssAfter)/(1<<20), "rss-after-MB")
			}
		}
		b.ReportMetric(0, "ns/op")
		_, p99 := reportLatency(b, samples, "us")
		b.ReportMetric(float64(slices.Max(samples))/float64(time.Microsecond), "max-us")
		r.record(b, float64(p99)/float64(time.Millisecond))
	}
	b.Run("naive", func(b *testing.B) { run(b, childSingleNaive, 20, &naive) })
	b.Run("rewind", func(b *testing.B) { run(b, childSingleRewind, 200, &ours) })
	if ours.ok {
		printTarget(b, "rewind p99", ours.metric, "<=", 1, " ms")
		printTarget(b, "rewind RSS after 200 reads", float64(rss)/(1<<20), "<=", 300, " MB")
	}
	if r, ok := ratio(naive, ours); ok {
		printNote(b, "p99 naive/rewind", r, "x")
	}
}

const (
	childSingleRewind = "single-rewind"
	childSingleNaive  = "single-naive"
	benchSamplesTag   = "REWIND-BENCH-CHILD-SAMPLES"
	envBenchSeed      = "REWIND_BENCH_CHILD_SEED"
	envBenchReads     = "REWIND_BENCH_CHILD_READS"
	envBenchStreams   = "REWIND_BENCH_CHILD_STREAMS"
)

type samplesResult struct {
	samples           []time.Duration
	rssOpen, rssAfter uint64
}

// TestBenchSamplesChild is the child of BenchmarkColdReadOneEventStreams;
// it does nothing unless REWIND_BENCH_CHILD names one of its modes.
func TestBenchSamplesChild(t *testing.T) {
	mode := os.Getenv(envBenchChild)
	if mode != childSingleRewind && mode != childSingleNaive {
		return
	}
	dir := os.Getenv(envBenchChildDir)
	streams, _ := strconv.Atoi(os.Getenv(envBenchStreams))
	reads, _ := strconv.Atoi(os.Getenv(envBenchReads))
	seed, _ := strconv.ParseUint(os.Getenv(envBenchSeed), 10, 64)
	rng := rand.New(rand.NewPCG(seed, 9))
	ctx := context.Background()
	var res samplesResult
	var read func(name string) (int, error)
	switch mode {
	case childSingleRewind:
		s, err := Open(ctx, dir, WithLogger(benchLogger()))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		read = func(name string) (int, error) { return rewindRead(ctx, s, name) }
	default:
		lock, err := lockDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer lock.unlock()
		cfg := defaultConfig()
		srv, err := startServer(dir, &cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { srv.Shutdown(); srv.WaitForShutdown() }()
		js := rawClientOn(t, srv)
		read = func(name string) (int, error) {
			subj, _ := subjectFor(cfg.jsName+".s", name)
			k, _, err := rawRead(ctx, js, []string{subj}, 0, 0)
			return k, err
		}
	}
	res.rssOpen = processRSS()
	for range reads {
		name := singleStream(rng.IntN(streams))
		start := time.Now()
		k, err := read(name)
		res.samples = append(res.samples, time.Since(start))
		if err != nil || k != 1 {
			t.Fatalf("read %s: %d events, %v", name, k, err)
		}
	}
	res.rssAfter = processRSS()
	ns := make([]string, len(res.samples))
	for i, d := range res.samples {
		ns[i] = strconv.FormatInt(d.Nanoseconds(), 10)
	}
	fmt.Printf("%s rss_open=%d rss_after=%d ns=%s\n", benchSamplesTag, res.rssOpen, res.rssAfter, strings.Join(ns, ","))
}

func runSamplesChild(mode, dir string, streams, reads int, seed uint64) (samplesResult, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestBenchSamplesChild$", "-test.count=1", "-test.timeout=10m")
	cmd.Env = append(os.Environ(), envBenchChild+"="+mode, envBenchChildDir+"="+dir,
		envBenchStreams+"="+strconv.Itoa(streams), envBenchReads+"="+strconv.Itoa(reads),
		envBenchSeed+"="+strconv.FormatUint(seed, 10))
	out, err := cmd.CombinedOutput()
	if err != nil {
		return samplesResult{}, fmt.Errorf("child %s: %w\n%s", mode, err, out)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), benchSamplesTag+" ")
		if !ok {
			continue
		}
		var res samplesResult
		var ns string
		if _, err := fmt.Sscanf(rest, "rss_open=%d rss_after=%d ns=%s", &res.rssOpen, &res.rssAfter, &ns); err != nil {
			return samplesResult{}, fmt.Errorf("child %s: result %q: %w", mode, rest, err)
		}
		for f := range strings.SplitSeq(ns, ",") {
			v, err := strconv.ParseInt(f, 10, 64)
			if err != nil {
				return samplesResult{}, fmt.Errorf("child %s: sample %q: %w", mode, f, err)
			}
			res.samples = append(res.samples, time.Duration(v))
		}
		return res, nil
	}
	return samplesResult{}, fmt.Errorf("child %s printed no result:\n%s", mode, out)
}

// processRSS returns the process's resident set size in bytes (Linux).
func processRSS() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// rawClientOn returns a raw JetStream client on an embedded server.
func rawClientOn(tb testing.TB, srv *server.Server) jetstream.JetStream {
	tb.Helper()
	nc, err := nats.Connect("", nats.InProcessServer(srv))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		tb.Fatal(err)
	}
	return js
}
