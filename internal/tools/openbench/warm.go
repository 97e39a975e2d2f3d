package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"runtime/trace"
	"time"

	"github.com/rewindhq/rewind/eventstore"
	"github.com/rewindhq/rewind/internal/benchstat"
	"golang.org/x/sys/unix"
)

// warm measures warm reads of one stream on a data set made by build, as
// scripts/bench.sh's warm-read row does: the store opened (and Started),
// the whole log replayed once (the bench replays before its warm reads),
// then -rounds rounds of one read of the stream followed by -reads timed
// reads of it, each through Store.Read as a user would, keeping every
// event's data. It reports the p50 and p99 of each round and their
// medians, and the garbage collections during the timed reads.
//
//	openbench warm -dir D [-fresh] [-reads 200] [-rounds 5] [-replay=true] [-lock=true] [-borrow] [-trace F] [-cpuprofile F]
//
// With -fresh the store opened is a new copy of D.pristine (as build left
// it, its compactions still to run while the reads are timed), removed
// afterwards.
func warm(args []string) error {
	fs := flag.NewFlagSet("warm", flag.ExitOnError)
	dir := fs.String("dir", "", "data directory made by build")
	fresh := fs.Bool("fresh", false, "read a new copy of DIR.pristine")
	stream := fs.String("read", target, "stream to read")
	reads := fs.Int("reads", 200, "timed reads per round")
	rounds := fs.Int("rounds", 5, "rounds")
	replay := fs.Bool("replay", true, "replay the whole log once before the rounds")
	lock := fs.Bool("lock", true, "lock the reading goroutine to its thread (the thread's CPU is then the reads'; the bench does not lock)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the timed reads here")
	memProfile := fs.String("memprofile", "", "write a profile of what the timed reads allocated here (every allocation sampled)")
	borrow := fs.Bool("borrow", false, "read with eventstore.BorrowData (the events' data is not kept; the bench does not borrow)")
	traceOut := fs.String("trace", "", "write an execution trace of the timed reads here, each read a task \"read\" (go tool trace)")
	blockProfile := fs.String("blockprofile", "", "write a profile of where goroutines blocked during the timed reads here")
	_ = fs.Parse(args)
	if *dir == "" {
		return errors.New("give -dir")
	}
	path := *dir
	if *fresh {
		path = fmt.Sprintf("%s.warm-%d", *dir, os.Getpid())
		_ = os.RemoveAll(path)
		if out, err := exec.Command("cp", "-a", *dir+".pristine", path).CombinedOutput(); err != nil {
			return fmt.Errorf("copy: %v: %s", err, out)
		}
		defer os.RemoveAll(path)
	}
	ctx := context.Background()
	s, err := eventstore.Open(ctx, path, eventstore.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.Started(ctx); err != nil {
		return err
	}
	replayed := 0
	if *replay {
		for _, err := range s.ReadAll(ctx) {
			if err != nil {
				return err
			}
			replayed++
		}
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
		defer pprof.StopCPUProfile()
	}
	if *memProfile != "" {
		runtime.MemProfileRate = 1
		defer func() {
			runtime.GC()
			if err := writeAllocProfile(*memProfile); err != nil {
				fmt.Fprintln(os.Stderr, "openbench: memprofile:", err)
			}
		}()
	}
	if *traceOut != "" {
		f, err := os.Create(*traceOut)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := trace.Start(f); err != nil {
			return err
		}
		defer trace.Stop()
	}
	if *blockProfile != "" {
		runtime.SetBlockProfileRate(1)
		defer func() {
			f, err := os.Create(*blockProfile)
			if err == nil {
				_ = pprof.Lookup("block").WriteTo(f, 0)
				f.Close()
			}
		}()
	}
	// The reading goroutine keeps its thread, so that the thread's CPU
	// time is the read's own (its GC assists included), apart from the
	// stalls other processes cause on a shared machine.
	// A locked goroutine is slower to reschedule (its thread sleeps and is
	// woken for it when it is preempted, as a collection's phases do):
	// -lock=false reads as the bench does, and the thread CPU figures then
	// mean little.
	if *lock {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
	}
	var p50s, p99s, maxs, cpu50s, cpu99s, clean99s, procCPU []float64
	var gcs uint32
	overlapped := 0
	// What the reads slower than 1 ms have in common: their thread's
	// context switches (voluntary: it blocked) and page faults.
	var slow struct {
		Reads                             int
		WallMS, CPUMS                     float64
		Voluntary, Involuntary            int64
		MinorFaults, MajorFaults, GCEnded int64
	}
	gcm := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	// Per read, over all timed reads: bytes and objects allocated, large
	// objects (the allocation histogram's last bucket, above 32 KiB), page
	// faults and the thread's CPU.
	allocs := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}, {Name: "/gc/heap/allocs:objects"}, {Name: "/gc/heap/allocs-by-size:bytes"}}
	large := func() uint64 {
		h := allocs[2].Value.Float64Histogram()
		return h.Counts[len(h.Counts)-1]
	}
	var allocBytes, allocObjects, largeObjects uint64
	var faults int64
	var cpuAll time.Duration
	want := -1
	for range *rounds {
		if _, err := readCount(ctx, s, *stream, *borrow); err != nil {
			return err
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		proc0 := cpuMS()
		metrics.Read(allocs)
		b0, o0, l0 := allocs[0].Value.Uint64(), allocs[1].Value.Uint64(), large()
		samples := make([]time.Duration, *reads)
		cpu := make([]time.Duration, *reads)
		var clean []time.Duration
		for i := range samples {
			metrics.Read(gcm)
			g0 := gcm[0].Value.Uint64()
			c0 := threadCPU()
			var ru0, ru1 unix.Rusage
			_ = unix.Getrusage(unix.RUSAGE_THREAD, &ru0)
			t := time.Now()
			rctx, task := ctx, (*trace.Task)(nil)
			if *traceOut != "" { // a task's context is an allocation more in the timed read
				rctx, task = trace.NewTask(ctx, "read")
			}
			n, err := readCount(rctx, s, *stream, *borrow)
			if task != nil {
				task.End()
			}
			samples[i] = time.Since(t)
			cpu[i] = threadCPU() - c0
			_ = unix.Getrusage(unix.RUSAGE_THREAD, &ru1)
			metrics.Read(gcm)
			faults += ru1.Minflt - ru0.Minflt
			cpuAll += cpu[i]
			if samples[i] > time.Millisecond {
				slow.Reads++
				slow.WallMS += ms(samples[i])
				slow.CPUMS += ms(cpu[i])
				slow.Voluntary += ru1.Nvcsw - ru0.Nvcsw
				slow.Involuntary += ru1.Nivcsw - ru0.Nivcsw
				slow.MinorFaults += ru1.Minflt - ru0.Minflt
				slow.MajorFaults += ru1.Majflt - ru0.Majflt
				if gcm[0].Value.Uint64() != g0 {
					slow.GCEnded++
				}
			}
			if gcm[0].Value.Uint64() != g0 {
				overlapped++
			} else {
				clean = append(clean, samples[i])
			}
			if err != nil {
				return err
			}
			if want >= 0 && n != want {
				return fmt.Errorf("read %d events of %s, then %d", want, *stream, n)
			}
			want = n
		}
		metrics.Read(allocs)
		allocBytes += allocs[0].Value.Uint64() - b0
		allocObjects += allocs[1].Value.Uint64() - o0
		largeObjects += large() - l0
		procCPU = append(procCPU, (cpuMS()-proc0)/float64(*reads))
		runtime.ReadMemStats(&after)
		gcs += after.NumGC - before.NumGC
		p50s = append(p50s, ms(benchstat.Quantile(samples, 0.5)))
		p99s = append(p99s, ms(benchstat.Quantile(samples, 0.99)))
		maxs = append(maxs, ms(benchstat.Quantile(samples, 1)))
		cpu99s = append(cpu99s, ms(benchstat.Quantile(cpu, 0.99)))
		cpu50s = append(cpu50s, ms(benchstat.Quantile(cpu, 0.5)))
		if len(clean) > 0 {
			clean99s = append(clean99s, ms(benchstat.Quantile(clean, 0.99)))
		}
	}
	return printJSON(map[string]any{
		"stream":     *stream,
		"events":     want,
		"replayed":   replayed,
		"p50_ms":     benchstat.Median(p50s),
		"p99_ms":     benchstat.Median(p99s),
		"p50_all_ms": p50s,
		"p99_all_ms": p99s,
		"max_all_ms": maxs,
		"gcs_timed":  gcs,
		"slow_reads": slow,
		"per_read": map[string]float64{
			"alloc_bytes":   float64(allocBytes) / float64(*reads**rounds),
			"alloc_objects": float64(allocObjects) / float64(*reads**rounds),
			"large_objects": float64(largeObjects) / float64(*reads**rounds),
			"minor_faults":  float64(faults) / float64(*reads**rounds),
			"thread_cpu_ms": ms(cpuAll) / float64(*reads**rounds),
		},
		// A read "overlaps" a GC when a cycle ended between its start and
		// its end; clean: the p99 of the others.
		"reads_gc_ended_in":     overlapped,
		"clean_p99_ms":          benchstat.Median(clean99s),
		"thread_cpu_p99_ms":     benchstat.Median(cpu99s),
		"thread_cpu_p99_all_ms": cpu99s,
		"thread_cpu_p50_ms":     benchstat.Median(cpu50s),
		// The whole process's CPU per read (the GC's workers, pebble's
		// compactions, the server), median of the rounds.
		"process_cpu_per_read_ms": benchstat.Median(procCPU),
		"reads_total":             *reads * *rounds,
	})
}

// readCount reads the stream whole as the bench does, counting the events
// that carry data; with borrow, through eventstore.BorrowData.
func readCount(ctx context.Context, s *eventstore.Store, stream string, borrow bool) (int, error) {
	var opts []eventstore.ReadOption
	if borrow {
		opts = append(opts, eventstore.BorrowData())
	}
	n := 0
	for ev, err := range s.Read(ctx, stream, opts...) {
		if err != nil {
			return n, err
		}
		if len(ev.Data) > 0 {
			n++
		}
	}
	return n, nil
}

// threadCPU is the CPU time of the calling thread.
func threadCPU() time.Duration {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts) != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

func writeAllocProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return pprof.Lookup("allocs").WriteTo(f, 0)
}
