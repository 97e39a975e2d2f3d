// Command openbench measures what opening a Rewind store costs in a new
// process (issue 24, items 1 and 4), with JSON output that scripts/bench.sh
// can read.
//
//	openbench build   -dir D [-events 1000000 -streams 10000 | -single 1000000]
//	openbench measure -dir D [-runs 5] [-fresh 5] [-appends 0]
//	openbench warm    -dir D [-fresh] [-reads 200] [-rounds 5] (warm.go)
//
// build makes the data set once through the public API, as a user would:
// 16 goroutines calling Store.Append with ExpectVersion, each owning a sixth
// of the streams (so every expected version is known), about 200 B of JSON
// per event. With -events/-streams: that many events spread at random over
// that many streams plus bench/target, a 1,000-event stream spread evenly
// through the log. With -single: that many streams of one event each. It
// prints {"appends_per_s", "seconds", "peak_rss_mb", "peak_go_mb" (the Go
// runtime's part of that peak), "at_peak" (the runtime's memory classes,
// live heap and heap goal, and the anonymous and file-backed RSS at the
// peak, in MB), "cpu_us_per_append", ...} and keeps a copy
// of the data set as it was when build closed it (D.pristine) for measure's
// first opens.
//
// measure opens the store in fresh child processes (this binary again) and
// reports medians over the runs: "first" is the first open of a copy of
// the data set as build left it (-fresh copies, each opened once), "second"
// an open after another process has opened and closed it, "open_read" an
// open plus the first read of one stream (bench/target, or single/0000000
// for -single data). Each child times Store.Open (and the read) inside
// itself; process start is not counted. "second_started_ms" is when
// Store.Started returned in the second opens (Open may return before the
// embedded server is up). With -appends N, N children append one event
// right after Open ("open_append_ms", from Open's start) and N more right
// after the first read ("read_append_ms", from the read's end): the first
// append waits for the server's start. Each child also reports the CPU
// time the process had used when Open returned and when the read ended.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rewindhq/rewind/eventstore"
	"github.com/rewindhq/rewind/internal/benchstat"
)

const (
	writers     = 16
	target      = "bench/target"
	targetCount = 1000
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: openbench build|measure|durable|warm|child [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "build":
		err = build(os.Args[2:])
	case "measure":
		err = measure(os.Args[2:])
	case "durable":
		err = durable(os.Args[2:])
	case "warm":
		err = warm(os.Args[2:])
	case "child":
		err = child(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "openbench:", err)
		os.Exit(1)
	}
}

func payload() []byte {
	p := []byte(`{"kind":"bench","pad":"`)
	p = append(p, strings.Repeat("x", 200-len(p)-2)...)
	return append(p, '"', '}')
}

// plan returns the stream names and, for each log position, the index of
// the stream it goes to.
func plan(events, streams, single int) ([]string, []int32) {
	if single > 0 {
		return nil, nil // build names them as it goes, to weigh nothing
	}
	names := []string{target}
	for i := range streams {
		names = append(names, fmt.Sprintf("bench/s-%05d", i))
	}
	p := make([]int32, events)
	step := events / targetCount
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range p {
		if step > 0 && i%step == step/2 {
			p[i] = 0
			continue
		}
		p[i] = int32(1 + rng.IntN(streams))
	}
	return names, p
}

func singleName(i int) string { return fmt.Sprintf("single/%07d", i) }

func build(args []string) error {
	fs := flag.NewFlagSet("build", flag.ExitOnError)
	dir := fs.String("dir", "", "data directory (must not exist)")
	events := fs.Int("events", 1_000_000, "events")
	streams := fs.Int("streams", 10_000, "streams besides bench/target")
	single := fs.Int("single", 0, "if > 0: this many one-event streams instead")
	keep := fs.Bool("pristine", true, "keep a copy as build left it in DIR.pristine")
	memProfile := fs.String("memprofile", "", "write a heap profile here when the appends end")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the open and the appends here")
	headCache := fs.Int("headcache", -1, "if >= 0: eventstore.WithHeadCache(this)")
	indexCache := fs.Int64("indexcache", 0, "if > 0: eventstore.WithIndexCache(this many bytes)")
	peakProfile := fs.String("peakprofile", "", "write a heap profile here whenever the RSS peak grew by 8 MB (the last is taken within 8 MB of the peak)")
	_ = fs.Parse(args)
	if *dir == "" {
		return errors.New("give -dir")
	}
	if _, err := os.Stat(*dir); err == nil {
		return fmt.Errorf("%s exists", *dir)
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	names, p := plan(*events, *streams, *single)
	total := len(p)
	if *single > 0 {
		total = *single
	}
	ctx := context.Background()
	var watch peakWatch
	stop := watch.start(*peakProfile)
	start := time.Now()
	opts := []eventstore.Option{eventstore.WithLogger(slog.New(slog.DiscardHandler))}
	if *headCache >= 0 {
		opts = append(opts, eventstore.WithHeadCache(*headCache))
	}
	if *indexCache > 0 {
		opts = append(opts, eventstore.WithIndexCache(*indexCache))
	}
	s, err := eventstore.Open(ctx, *dir, opts...)
	if err != nil {
		return err
	}
	data := payload()
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			versions := make(map[int32]uint64)
			ev := []eventstore.Event{{Type: "BenchEvent", Data: data}}
			for i := w; i < *single; i += writers {
				if _, err := s.Append(ctx, singleName(i), ev, eventstore.ExpectVersion(0)); err != nil {
					errs <- fmt.Errorf("append to %s: %w", singleName(i), err)
					return
				}
			}
			for _, k := range p {
				if int(k)%writers != w {
					continue
				}
				v := versions[k]
				if _, err := s.Append(ctx, names[k], ev, eventstore.ExpectVersion(v)); err != nil {
					errs <- fmt.Errorf("append to %s at %d: %w", names[k], v, err)
					return
				}
				versions[k] = v + 1
			}
		})
	}
	wg.Wait()
	took, cpu := time.Since(start), cpuMS()
	appendsPeak := watch.peak.Load()
	if *cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	if *memProfile != "" {
		if err := writeHeapProfile(*memProfile); err != nil {
			return err
		}
	}
	cerr := s.Close()
	stop()
	close(errs)
	if err := errors.Join(<-errs, cerr); err != nil {
		return err
	}
	if *keep {
		if out, err := exec.Command("cp", "-a", *dir, *dir+".pristine").CombinedOutput(); err != nil {
			return fmt.Errorf("copy: %v: %s", err, out)
		}
	}
	return printJSON(map[string]any{
		"events":        total,
		"streams":       max(len(names), *single),
		"seconds":       took.Seconds(),
		"appends_per_s": float64(total) / took.Seconds(),
		"peak_rss_mb":   mb(watch.peak.Load()),
		// The peak before Close: what the appends reached, without the
		// shutdown (the embedded server writes its index then).
		"peak_rss_appends_mb": mb(appendsPeak),
		// CPU (user and system, every thread) per append, Open included:
		// less swayed than the rate by other work on a shared machine.
		"cpu_us_per_append": cpu * 1000 / float64(total),
		// The Go runtime's share of that peak (its mapped memory not
		// returned to the OS); the rest is outside the Go heap: pebble's
		// memtables and block cache, C allocations, the binary.
		"peak_go_mb": mb(watch.goAtPeak.Load()),
		// The runtime's memory classes at the peak, in MB.
		"at_peak": watch.atPeak(),
	})
}

// goMemory returns the memory the Go runtime has mapped and not released.
func goMemory() uint64 {
	ms := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(ms)
	return ms[0].Value.Uint64() - ms[1].Value.Uint64()
}

// rss returns VmHWM-free current VmRSS of this process in bytes (Linux).
func rss() uint64 {
	return procStatus("VmRSS")["VmRSS"]
}

// procStatus returns the fields keys of /proc/self/status (Linux), in
// bytes; a field it cannot read is missing.
func procStatus(keys ...string) map[string]uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return nil
	}
	m := make(map[string]uint64, len(keys))
	for line := range strings.SplitSeq(string(b), "\n") {
		for _, k := range keys {
			if rest, ok := strings.CutPrefix(line, k+":"); ok {
				kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
				m[k] = kb << 10
			}
		}
	}
	return m
}

type childResult struct {
	OpenMS float64 `json:"open_ms"`
	ReadMS float64 `json:"read_ms"`
	// StartedMS is when Store.Started returned (the embedded server up
	// and the index checked), from the same start as OpenMS: after the
	// read, if any. Open may return before it.
	StartedMS float64 `json:"started_ms"`
	// AppendMS is when the append asked for (-append) returned, from the
	// same start as OpenMS: after the read, if any, and before Started.
	AppendMS float64 `json:"append_ms"`
	Events   int     `json:"events"`
	// OpenCPUMS and ReadCPUMS are the CPU time (user and system, every
	// thread) the process had used when Open returned and when the read
	// ended: less swayed than wall times by other work on a shared
	// machine.
	OpenCPUMS float64 `json:"open_cpu_ms"`
	ReadCPUMS float64 `json:"read_cpu_ms"`
	RSSMB     float64 `json:"rss_mb"`
	CloseMS   float64 `json:"close_ms"`
}

// child opens dir, reads one stream if asked, closes, and prints a
// childResult.
func child(args []string) error {
	fs := flag.NewFlagSet("child", flag.ExitOnError)
	dir := fs.String("dir", "", "data directory")
	read := fs.String("read", "", "stream to read after opening")
	appendTo := fs.String("append", "", "stream to append one event to after opening (and reading)")
	_ = fs.Parse(args)
	ctx := context.Background()
	var res childResult
	start := time.Now()
	s, err := eventstore.Open(ctx, *dir, eventstore.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		return err
	}
	res.OpenMS = ms(time.Since(start))
	res.OpenCPUMS = cpuMS()
	if *read != "" {
		for _, err := range s.Read(ctx, *read) {
			if err != nil {
				return err
			}
			res.Events++
		}
		res.ReadMS = ms(time.Since(start))
		res.ReadCPUMS = cpuMS()
	}
	if *appendTo != "" {
		if _, err := s.Append(ctx, *appendTo, []eventstore.Event{{Type: "BenchEvent", Data: payload()}}); err != nil {
			return err
		}
		res.AppendMS = ms(time.Since(start))
	}
	if err := s.Started(ctx); err != nil {
		return err
	}
	res.StartedMS = ms(time.Since(start))
	res.RSSMB = float64(rss()) / (1 << 20)
	t := time.Now()
	if err := s.Close(); err != nil {
		return err
	}
	res.CloseMS = ms(time.Since(t))
	return json.NewEncoder(os.Stdout).Encode(res)
}

func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return pprof.Lookup("heap").WriteTo(f, 0)
}

// cpuMS is the CPU time the process has used so far.
func cpuMS() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ms(time.Duration(ru.Utime.Nano() + ru.Stime.Nano()))
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func runChild(dir, read string, more ...string) (childResult, error) {
	self, err := os.Executable()
	if err != nil {
		return childResult{}, err
	}
	args := []string{"child", "-dir", dir}
	if read != "" {
		args = append(args, "-read", read)
	}
	args = append(args, more...)
	cmd := exec.Command(self, args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return childResult{}, fmt.Errorf("child on %s: %w", dir, err)
	}
	var res childResult
	if err := json.Unmarshal(out, &res); err != nil {
		return childResult{}, fmt.Errorf("child on %s printed %q: %w", dir, out, err)
	}
	return res, nil
}

func measure(args []string) error {
	fs := flag.NewFlagSet("measure", flag.ExitOnError)
	dir := fs.String("dir", "", "data directory made by build")
	runs := fs.Int("runs", 5, "child processes for the second open and for open+read")
	fresh := fs.Int("fresh", 5, "copies of DIR.pristine each opened once, for the first open (0: skip)")
	read := fs.String("read", "", "stream to read (default: bench/target, or single/0000000 if DIR holds no bench/target)")
	appends := fs.Int("appends", 0, "child processes that append one event right after the open, and as many that append after the first read")
	_ = fs.Parse(args)
	if *dir == "" {
		return errors.New("give -dir")
	}
	var first, second, openRead, rssOpen, started []float64
	for i := range *fresh {
		work := fmt.Sprintf("%s.first-%d", *dir, i)
		_ = os.RemoveAll(work)
		if out, err := exec.Command("cp", "-a", *dir+".pristine", work).CombinedOutput(); err != nil {
			return fmt.Errorf("copy: %v: %s", err, out)
		}
		r, err := runChild(work, "")
		_ = os.RemoveAll(work)
		if err != nil {
			return err
		}
		first = append(first, r.OpenMS)
	}
	if _, err := runChild(*dir, ""); err != nil { // so the next are "second"
		return err
	}
	for range *runs {
		r, err := runChild(*dir, "")
		if err != nil {
			return err
		}
		second = append(second, r.OpenMS)
		started = append(started, r.StartedMS)
		rssOpen = append(rssOpen, r.RSSMB)
	}
	name := *read
	events := 0
	for range *runs {
		if name == "" {
			name = target
		}
		r, err := runChild(*dir, name)
		if err != nil {
			return err
		}
		if r.Events == 0 && *read == "" && name == target {
			name = singleName(0)
			if r, err = runChild(*dir, name); err != nil {
				return err
			}
		}
		events = r.Events
		openRead = append(openRead, r.ReadMS)
	}
	var openAppend, readAppend []float64
	for range *appends {
		r, err := runChild(*dir, "", "-append", "openbench/appended")
		if err != nil {
			return err
		}
		openAppend = append(openAppend, r.AppendMS)
		if r, err = runChild(*dir, name, "-append", "openbench/appended"); err != nil {
			return err
		}
		readAppend = append(readAppend, r.AppendMS-r.ReadMS)
	}
	return printJSON(map[string]any{
		"first_open_ms":      benchstat.Median(first),
		"second_open_ms":     benchstat.Median(second),
		"second_started_ms":  benchstat.Median(started),
		"open_read_ms":       benchstat.Median(openRead),
		"read_stream":        name,
		"read_events":        events,
		"rss_after_open_mb":  benchstat.Median(rssOpen),
		"first_open_all_ms":  first,
		"second_open_all_ms": second,
		"open_read_all_ms":   openRead,
		// The first append in a new process: right after Open returned,
		// from the start of Open; and right after the first read, from
		// the end of that read (-appends children each).
		"open_append_ms":     benchstat.Median(openAppend),
		"read_append_ms":     benchstat.Median(readAppend),
		"open_append_all_ms": openAppend,
		"read_append_all_ms": readAppend,
	})
}

func printJSON(v any) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
