// Command clusterbench measures Rewind on a three-node JetStream cluster
// (nats-server processes on 127.0.0.1, internal/natscluster) against bare
// JetStream on the same cluster in the same run: R3 append throughput
// with 16 writers beside raw synchronous publishing of the same size, and,
// over rounds of SIGKILLs of the log's leader and of a follower, the time
// from the kill to each writer's first acknowledged append beside a bare
// nats.go publisher that retries (on the log itself, so that one election
// stops both), reads from the local index during the failover, and every
// acknowledged event stored once.
//
//	go run ./internal/tools/clusterbench [--rounds 5] [--duration 5s] [--pairs 3 | --slices 20] [--same-path] [--cpuprofile FILE] [--perf DIR]
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rewindhq/rewind/eventstore"
	"github.com/rewindhq/rewind/internal/natscluster"
)

func main() {
	rounds := flag.Int("rounds", 5, "stream-leader kills (a follower kill follows each)")
	dur := flag.Duration("duration", 5*time.Second, "length of each throughput run")
	flag.IntVar(&pairs, "pairs", 3, "throughput runs of Rewind, each between two raw runs")
	flag.BoolVar(&samePath, "same-path", false, "connect the raw publisher to the server Rewind's publisher is on and move the raw stream's leader to the log's leader, so that both publish along the same path")
	flag.IntVar(&nSlices, "slices", 0, "instead of --pairs: this many short runs of each kind (--duration each, e.g. 500ms), alternating, added up; no failover rounds")
	prof := flag.String("cpuprofile", "", "write this process's CPU profile of the first Rewind throughput run to the file")
	flag.StringVar(&perfDir, "perf", "", "record the first raw and the first Rewind throughput run of every process with perf record -g into files of this directory")
	flag.Parse()
	cpuProfile = *prof
	h := &harness{}
	defer h.cleanup()
	if err := run(h, *rounds, *dur); err != nil {
		h.cleanup()
		fmt.Fprintln(os.Stderr, "clusterbench:", err)
		os.Exit(1)
	}
}

// harness stands in for testing.TB for natscluster.
type harness struct{ cleanups []func() }

func (h *harness) Helper()                         {}
func (h *harness) Cleanup(f func())                { h.cleanups = append(h.cleanups, f) }
func (h *harness) Logf(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
func (h *harness) Fatalf(format string, args ...any) {
	h.cleanup()
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(1)
}
func (h *harness) TempDir() string {
	d, err := os.MkdirTemp("", "clusterbench")
	if err != nil {
		h.Fatalf("%v", err)
	}
	h.Cleanup(func() { os.RemoveAll(d) })
	return d
}
func (h *harness) cleanup() {
	for i := len(h.cleanups) - 1; i >= 0; i-- {
		h.cleanups[i]()
	}
	h.cleanups = nil
}

var payload = []byte(`{"order":"ord-0042","sku":"sku-17","qty":3,"price":1299,"note":"a payload of about two hundred bytes, like the measurements in the notes","pad":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}`)

func run(h *harness, rounds int, dur time.Duration) error {
	c := natscluster.Start(h, 3)
	ctx := context.Background()
	store, err := eventstore.Connect(ctx, c.URLs(), eventstore.WithReplicas(3), eventstore.WithIndexDir(h.TempDir()))
	if err != nil {
		return err
	}
	defer store.Close()
	url := c.URLs()
	if samePath {
		// The raw publisher's connection on the server Rewind's
		// publisher is on (the other servers are discovered from it).
		if at := c.ClientNodes("rewind"); len(at) == 1 {
			url = c.Nodes[at[0]].URL()
		}
	}
	nc, err := nats.Connect(url, nats.Name("clusterbench-raw"))
	if err != nil {
		return err
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "raw", Subjects: []string{"raw.>"},
		Storage: jetstream.FileStorage, Replicas: 3, Duplicates: time.Second}); err != nil {
		return err
	}
	if samePath {
		if err := leadOn(ctx, c, nc, "raw", c.StreamLeader("rewind")); err != nil {
			return err
		}
	}
	fmt.Println("machine: 2 cores, shared with other work; 3 nats-server processes and this process on it")
	leader := func(stream string) string {
		if i := c.StreamLeader(stream); i >= 0 {
			return c.Nodes[i].Name
		}
		return "none"
	}
	fmt.Printf("stream leaders: Rewind's log on %s, raw on %s\n", leader("rewind"), leader("raw"))
	// Each client picks one of the servers at random: a publisher that
	// is not on its stream's leader sends every message over a route and
	// gets its acknowledgement back the same way, which moves the ratio
	// from run to run.
	node := func(conn string) string {
		var names []string
		for _, i := range c.ClientNodes(conn) {
			names = append(names, c.Nodes[i].Name)
		}
		return strings.Join(names, ",")
	}
	fmt.Printf("connections: raw publisher on %s, Rewind's publisher on %s, its reader (the index's tailer) on %s\n",
		node("clusterbench-raw"), node("rewind"), node("rewind-reader"))

	// Throughput, 16 writers each, in alternating runs (the machine is
	// shared: its load changes from one run to the next); the median of
	// each, and of the ratios of neighbouring runs.
	pids := []int{os.Getpid()}
	for i := range c.Nodes {
		pids = append(pids, c.Pid(i))
	}
	var rawCPU, rewCPU []float64 // CPU µs per operation, servers and this process
	var lastEach []float64       // the last run's, per process (this one, then each server)
	measured := func(cpus *[]float64, run func() (float64, int64)) float64 {
		before := make([]time.Duration, len(pids))
		for i, pid := range pids {
			before[i] = cpuTime([]int{pid})
		}
		r, n := run()
		lastEach = lastEach[:0]
		var total float64
		for i, pid := range pids {
			us := float64(cpuTime([]int{pid})-before[i]) / float64(time.Microsecond) / float64(max(n, 1))
			lastEach = append(lastEach, us)
			total += us
		}
		*cpus = append(*cpus, total)
		return r
	}
	// each formats the last run's CPU per operation by process.
	each := func() string {
		var b strings.Builder
		for i, us := range lastEach {
			if i == 0 {
				fmt.Fprintf(&b, "this process %.0f", us)
			} else {
				fmt.Fprintf(&b, ", %s %.0f", c.Nodes[i-1].Name, us)
			}
		}
		return b.String() + " µs/op"
	}
	rawOp := func(w, i int) error {
		_, err := js.Publish(ctx, fmt.Sprintf("raw.%d", w), payload)
		return err
	}
	rewindOp := func(w, i int) error {
		_, err := store.Append(ctx, fmt.Sprintf("tput/%d", w), []eventstore.Event{{Type: "T", Data: payload}})
		return err
	}
	// One run of each first, not counted: the first run on a new cluster
	// is slower (its streams, subjects and connections are new), and it
	// would be a raw run.
	rate(time.Second, 16, rawOp)
	rate(time.Second, 16, rewindOp)
	rawPerfed := false
	rawRun := func() float64 {
		if !rawPerfed {
			rawPerfed = true
			defer startPerf("raw", pids, dur)()
		}
		return measured(&rawCPU, func() (float64, int64) {
			return rate(dur, 16, rawOp)
		})
	}
	profiled := false
	rewindRun := func() float64 {
		if !profiled {
			// The first Rewind run only: the raw runs' stacks would mix
			// with its own (both publish through nats.go).
			profiled = true
			defer startProfile()()
			defer startPerf("rewind", pids, dur)()
		}
		return measured(&rewCPU, func() (float64, int64) {
			return rate(dur, 16, rewindOp)
		})
	}
	if nSlices > 0 {
		return interleaved(pids, rawOp, rewindOp, dur)
	}
	var raws, rews, ratios []float64
	for range pairs {
		r1 := rawRun()
		e1 := each()
		rw := rewindRun()
		ew := each()
		r2 := rawRun()
		e2 := each()
		raws, rews = append(raws, r1, r2), append(rews, rw)
		ratios = append(ratios, rw/((r1+r2)/2))
		fmt.Printf("  raw %.0f/s, Rewind %.0f/s, raw %.0f/s: %.2fx\n", r1, rw, r2, rw/((r1+r2)/2))
		fmt.Printf("    CPU: raw (%s); Rewind (%s); raw (%s)\n", e1, ew, e2)
	}
	fmt.Printf("R3 append throughput, 16 writers (median of the runs): Rewind %.0f/s, raw JetStream sync publish %.0f/s; median ratio %.2fx\n",
		median(rews), median(raws), median(ratios))
	if rawCPU[0] > 0 {
		fmt.Printf("CPU per operation, 3 servers and this process (median): Rewind %.0f µs, raw %.0f µs; raw/Rewind %.2fx\n",
			median(rewCPU), median(rawCPU), median(rawCPU)/median(rewCPU))
	}

	if rounds == 0 {
		return nil
	}
	// Failover rounds.
	f := newFailover(store, js)
	f.start(4)
	defer f.stop()
	time.Sleep(2 * time.Second)
	var leaderRatios []float64
	var followerMax time.Duration
	for r := 0; r < rounds; r++ {
		for _, kind := range []string{"leader", "follower"} {
			leader := c.StreamLeader("rewind")
			victim := leader
			if kind == "follower" {
				victim = (leader + 1) % 3
				if victim == c.MetaLeader() {
					victim = (leader + 2) % 3
				}
			}
			if victim < 0 {
				return errors.New("no stream leader")
			}
			kill := time.Now()
			f.mark(kill)
			c.Kill(victim)
			got, err := f.waitAll(kill, 60*time.Second)
			if err != nil {
				return err
			}
			var worst time.Duration
			for _, d := range got.writers {
				worst = max(worst, d)
			}
			fmt.Printf("round %d, kill -9 %s (%s): bare publisher back after %v, Rewind writers after %v (worst %v)\n",
				r+1, c.Nodes[victim].Name, kind, got.bare.Round(time.Millisecond), roundAll(got.writers), worst.Round(time.Millisecond))
			if kind == "leader" {
				leaderRatios = append(leaderRatios, float64(worst)/float64(max(got.bare, time.Millisecond)))
			} else {
				followerMax = max(followerMax, worst)
			}
			c.Restart(victim)
			c.WaitReady(60 * time.Second)
			time.Sleep(3 * time.Second)
		}
	}
	f.stop()
	lost, dup, acked, err := f.verify(ctx)
	if err != nil {
		return err
	}
	slices.Sort(leaderRatios)
	fmt.Printf("leader kills: worst Rewind writer / bare publisher = %v (max %.2f)\n", fmtRatios(leaderRatios), leaderRatios[len(leaderRatios)-1])
	fmt.Printf("follower kills: worst Rewind writer back after %v\n", followerMax.Round(time.Millisecond))
	fmt.Printf("reads from the index during the rounds: %d, errors: %d\n", f.reads.Load(), f.readErrs.Load())
	fmt.Printf("acknowledged appends: %d, lost: %d, duplicated: %d\n", acked, lost, dup)
	return nil
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func roundAll(ds []time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d.Round(time.Millisecond)
	}
	return out
}

func fmtRatios(rs []float64) string {
	s := ""
	for i, r := range rs {
		if i > 0 {
			s += " "
		}
		s += fmt.Sprintf("%.2f", r)
	}
	return s
}

var (
	cpuProfile string
	perfDir    string
	pairs      int
	nSlices    int
	samePath   bool
)

// startProfile starts the CPU profile asked for, if any, and returns what
// stops it.
func startProfile() func() {
	if cpuProfile == "" {
		return func() {}
	}
	f, err := os.Create(cpuProfile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "clusterbench:", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return func() {}
	}
	return func() { pprof.StopCPUProfile(); f.Close() }
}

// startPerf records the processes with perf for d into perfDir/name.data,
// if asked, and returns what waits for the recording to end.
func startPerf(name string, pids []int, d time.Duration) func() {
	if perfDir == "" {
		return func() {}
	}
	ps := make([]string, len(pids))
	for i, p := range pids {
		ps[i] = strconv.Itoa(p)
	}
	cmd := exec.Command("perf", "record", "-g", "-F", "499", "-o", filepath.Join(perfDir, name+".data"),
		"-p", strings.Join(ps, ","), "--", "sleep", strconv.FormatFloat(d.Seconds(), 'f', 1, 64))
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "clusterbench: perf:", err)
		return func() {}
	}
	return func() { _ = cmd.Wait() }
}

// cpuTime returns the CPU time (user and system) the processes have used,
// from /proc; 0 where it cannot be read.
func cpuTime(pids []int) time.Duration {
	var ticks int64
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return 0
		}
		// Fields after the command's closing parenthesis: state is the
		// third field, utime the 14th, stime the 15th.
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(f) < 13 {
			return 0
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		ticks += u + st
	}
	return time.Duration(ticks) * (time.Second / 100) // USER_HZ
}

// rate runs op from n goroutines for d and returns ops per second and
// the operations done.
func rate(d time.Duration, n int, op func(w, i int) error) (float64, int64) {
	var done atomic.Int64
	end := time.Now().Add(d)
	var wg sync.WaitGroup
	for w := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(end); i++ {
				if op(w, i) == nil {
					done.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return float64(done.Load()) / d.Seconds(), done.Load()
}

// failover runs ExpectVersion writers and readers on the store and a bare
// publisher on the log's subjects outside Rewind's streams.
type failover struct {
	store *eventstore.Store
	js    jetstream.JetStream
	quit  chan struct{}
	wg    sync.WaitGroup
	once  sync.Once

	mu    sync.Mutex
	since time.Time   // the last kill
	first []time.Time // per writer (last: the bare publisher): first ack after since
	acks  []ackRec

	reads, readErrs atomic.Int64
}

type ackRec struct {
	stream  string
	version uint64
	id      uuid.UUID
}

func newFailover(s *eventstore.Store, js jetstream.JetStream) *failover {
	return &failover{store: s, js: js, quit: make(chan struct{})}
}

func (f *failover) mark(t time.Time) {
	f.mu.Lock()
	f.since = t
	for i := range f.first {
		f.first[i] = time.Time{}
	}
	f.mu.Unlock()
}

// acked records writer w's acknowledgement of an operation started at
// start: the first after the kill counts if it started after it, or
// completed well after it (an acknowledgement in flight at the kill
// is not a recovery).
func (f *failover) acked(w int, start time.Time) {
	now := time.Now()
	f.mu.Lock()
	if !f.since.IsZero() && f.first[w].IsZero() && (start.After(f.since) || now.Sub(f.since) > 100*time.Millisecond) {
		f.first[w] = now
	}
	f.mu.Unlock()
}

func (f *failover) start(writers int) {
	f.first = make([]time.Time, writers+1)
	for w := range writers {
		f.wg.Add(2)
		stream := fmt.Sprintf("fo/%d", w)
		go f.writer(w, stream)
		go f.reader(stream)
	}
	f.wg.Add(1)
	go f.bare(writers)
}

func (f *failover) writer(w int, stream string) {
	defer f.wg.Done()
	var v uint64
	for {
		select {
		case <-f.quit:
			return
		default:
		}
		e := eventstore.Event{ID: uuid.Must(uuid.NewV7()), Type: "T", Data: payload}
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		res, err := f.store.Append(ctx, stream, []eventstore.Event{e}, eventstore.ExpectVersion(v))
		cancel()
		var cerr *eventstore.ConcurrencyError
		switch {
		case err == nil:
			f.acked(w, start)
			f.mu.Lock()
			f.acks = append(f.acks, ackRec{stream, res.Version, e.ID})
			f.mu.Unlock()
			v = res.Version
		case errors.As(err, &cerr):
			v = cerr.Actual
		}
	}
}

// bare publishes to the log outside Rewind's streams with nats.go, each
// try 500 ms (the store's own try), again at once after an error.
func (f *failover) bare(w int) {
	defer f.wg.Done()
	for {
		select {
		case <-f.quit:
			return
		default:
		}
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		_, err := f.js.Publish(ctx, "rewind.bare", payload)
		cancel()
		if err == nil {
			f.acked(w, start)
		} else {
			time.Sleep(25 * time.Millisecond)
		}
	}
}

func (f *failover) reader(stream string) {
	defer f.wg.Done()
	for {
		select {
		case <-f.quit:
			return
		case <-time.After(50 * time.Millisecond):
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		for _, err := range f.store.Read(ctx, stream) {
			if err != nil {
				f.readErrs.Add(1)
				break
			}
		}
		cancel()
		f.reads.Add(1)
	}
}

type recovery struct {
	writers []time.Duration
	bare    time.Duration
}

// waitAll waits until every writer and the bare publisher had an
// acknowledgement after kill.
func (f *failover) waitAll(kill time.Time, limit time.Duration) (recovery, error) {
	deadline := time.Now().Add(limit)
	for {
		f.mu.Lock()
		done := true
		for _, t := range f.first {
			done = done && !t.IsZero()
		}
		var r recovery
		if done {
			for i, t := range f.first {
				if i == len(f.first)-1 {
					r.bare = t.Sub(kill)
				} else {
					r.writers = append(r.writers, t.Sub(kill))
				}
			}
			f.since = time.Time{}
		}
		f.mu.Unlock()
		if done {
			return r, nil
		}
		if time.Now().After(deadline) {
			return recovery{}, fmt.Errorf("writers not back %v after a kill", limit)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (f *failover) stop() {
	f.once.Do(func() { close(f.quit) })
	f.wg.Wait()
}

// verify reads every stream written and counts acknowledged events not at
// their version (lost) and events stored twice.
func (f *failover) verify(ctx context.Context) (lost, dup, acked int, err error) {
	want := make(map[string]map[uint64]uuid.UUID)
	for _, a := range f.acks {
		if want[a.stream] == nil {
			want[a.stream] = make(map[uint64]uuid.UUID)
		}
		want[a.stream][a.version] = a.id
	}
	seen := make(map[uuid.UUID]bool)
	for stream, versions := range want {
		var got []eventstore.Event
		for e, err := range f.store.Read(ctx, stream) {
			if err != nil {
				return 0, 0, 0, err
			}
			if seen[e.ID] {
				dup++
			}
			seen[e.ID] = true
			got = append(got, e)
		}
		for v, id := range versions {
			if v > uint64(len(got)) || got[v-1].ID != id {
				lost++
			}
		}
	}
	return lost, dup, len(f.acks), nil
}

// interleaved runs the two kinds in turn, nSlices times each for d, and
// prints their totals: on a shared machine whose load changes from one
// second to the next, short alternating runs see the same load on
// average, where a few long ones each see their own.
func interleaved(pids []int, rawOp, rewindOp func(w, i int) error, d time.Duration) error {
	var rawN, rewN int64
	var rawCPU, rewCPU time.Duration
	for range nSlices {
		c0 := cpuTime(pids)
		_, n := rate(d, 16, rawOp)
		c1 := cpuTime(pids)
		_, m := rate(d, 16, rewindOp)
		c2 := cpuTime(pids)
		rawN, rewN = rawN+n, rewN+m
		rawCPU, rewCPU = rawCPU+c1-c0, rewCPU+c2-c1
	}
	total := d.Seconds() * float64(nSlices)
	fmt.Printf("R3 append throughput, 16 writers, %d alternating runs of %v each: Rewind %.0f/s, raw JetStream sync publish %.0f/s; ratio %.3fx\n",
		nSlices, d, float64(rewN)/total, float64(rawN)/total, float64(rewN)/float64(max(rawN, 1)))
	fmt.Printf("CPU per operation, 3 servers and this process: Rewind %.0f µs, raw %.0f µs\n",
		float64(rewCPU/time.Microsecond)/float64(max(rewN, 1)), float64(rawCPU/time.Microsecond)/float64(max(rawN, 1)))
	return nil
}

// leadOn moves the leadership of stream to node i (a leader step-down
// with that node preferred) and waits until it has moved.
func leadOn(ctx context.Context, c *natscluster.Cluster, nc *nats.Conn, stream string, i int) error {
	if i < 0 {
		return errors.New("no leader to follow")
	}
	for range 20 {
		if c.StreamLeader(stream) == i {
			return nil
		}
		req := fmt.Sprintf(`{"placement":{"preferred":%q}}`, c.Nodes[i].Name)
		if _, err := nc.RequestWithContext(ctx, "$JS.API.STREAM.LEADER.STEPDOWN."+stream, []byte(req)); err != nil {
			return fmt.Errorf("step down %s: %w", stream, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	return fmt.Errorf("the leader of %s did not move to %s", stream, c.Nodes[i].Name)
}
