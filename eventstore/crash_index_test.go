package eventstore_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/google/uuid"

	"github.com/rewindhq/rewind/eventstore"
)

// A store killed with kill -9 between an append's acknowledgement and the
// read index's update must, when it opens again, serve every acknowledged
// event through the index, exactly as the log holds it. The child process
// appends as fast as it can from several goroutines (the index is written
// after the server acknowledges, and reaches the disk later still) and
// reports each acknowledgement on stdout; the parent kills it at a random
// point and checks the reopened store against those reports and against
// the log. The test log shows, for each kill, how far behind the log the
// index on disk was.

func init() { children["index-crash-appender"] = crashAppenderChild }

// crashStreams are the streams the crash child writes; their names hold no
// spaces (the report is space separated).
var crashStreams = []string{"crash/1", "crash/2", "crash/3", "crash/4", "crash/5", "crash/6/x", "other/a", "other/b"}

// crashAppenderChild opens the store in $REWIND_CRASH_DIR and appends until
// it is killed, printing "ready" once open and then one line per
// acknowledged append:
//
//	ack <stream> <first version> <offset>,<offset>,... <id>,<id>,...
//
// With $REWIND_CRASH_REINDEX set it also rebuilds the index over and over,
// so that some kills land in the middle of a Reindex.
func crashAppenderChild() int {
	ctx := context.Background()
	s, err := eventstore.Open(ctx, os.Getenv("REWIND_CRASH_DIR"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		return 1
	}
	defer s.Close()
	var out sync.Mutex
	report := func(line string) {
		out.Lock()
		defer out.Unlock()
		os.Stdout.WriteString(line) // unbuffered: one write per line
	}
	report("ready\n")
	seed, _ := strconv.ParseUint(os.Getenv("REWIND_CRASH_SEED"), 10, 64)
	fail := make(chan error, 8)
	for w := range 4 {
		go func() {
			rng := rand.New(rand.NewPCG(seed, uint64(w)))
			for {
				name := crashStreams[rng.IntN(len(crashStreams))]
				events := make([]eventstore.Event, 1+rng.IntN(4))
				ids := make([]string, len(events))
				for i := range events {
					events[i] = eventstore.Event{ID: uuid.New(), Type: "Crashed", Data: fmt.Appendf(nil, `{"w":%d}`, w)}
					ids[i] = events[i].ID.String()
				}
				var opts []eventstore.AppendOption
				if w == 0 { // one writer checks versions: read, then append at that version
					h, err := s.Head(ctx, name)
					if err != nil {
						fail <- err
						return
					}
					opts = append(opts, eventstore.ExpectVersion(h.Version))
				}
				res, err := s.Append(ctx, name, events, opts...)
				if errors.Is(err, eventstore.ErrConcurrency) {
					continue
				}
				if err != nil {
					fail <- err
					return
				}
				offsets := make([]string, len(res.Offsets))
				for i, o := range res.Offsets {
					offsets[i] = string(o)
				}
				report(fmt.Sprintf("ack %s %d %s %s\n", name, res.FirstVersion, strings.Join(offsets, ","), strings.Join(ids, ",")))
			}
		}()
	}
	if os.Getenv("REWIND_CRASH_REINDEX") != "" {
		go func() {
			for {
				if err := s.Reindex(ctx, nil); err != nil {
					fail <- err
					return
				}
			}
		}()
	}
	err = <-fail
	fmt.Fprintln(os.Stderr, "child:", err)
	return 1
}

// crashAck is one acknowledged event as the child reported it.
type crashAck struct {
	stream  string
	version uint64
	offset  eventstore.Offset
	id      uuid.UUID
}

func parseCrashAck(line string) ([]crashAck, error) {
	f := strings.Fields(line)
	if len(f) != 5 || f[0] != "ack" {
		return nil, fmt.Errorf("bad report line %q", line)
	}
	first, err := strconv.ParseUint(f[2], 10, 64)
	if err != nil {
		return nil, fmt.Errorf("bad report line %q: %v", line, err)
	}
	offsets, ids := strings.Split(f[3], ","), strings.Split(f[4], ",")
	if len(offsets) != len(ids) {
		return nil, fmt.Errorf("bad report line %q", line)
	}
	acks := make([]crashAck, len(ids))
	for i := range ids {
		o, err := eventstore.ParseOffset(offsets[i])
		if err != nil {
			return nil, err
		}
		id, err := uuid.Parse(ids[i])
		if err != nil {
			return nil, err
		}
		acks[i] = crashAck{stream: f[1], version: first + uint64(i), offset: o, id: id}
	}
	return acks, nil
}

// crashKill says when to kill a child: after a number of acknowledged
// appends, then after a delay.
type crashKill struct {
	afterAcks int
	delay     time.Duration
	reindex   bool
}

// runCrashChild runs one child on dir, kills it as k says and returns the
// events it acknowledged.
func runCrashChild(t *testing.T, dir string, seed uint64, k crashKill) []crashAck {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	env := []string{"REWIND_CRASH_DIR=" + dir, fmt.Sprintf("REWIND_CRASH_SEED=%d", seed)}
	if k.reindex {
		env = append(env, "REWIND_CRASH_REINDEX=1")
	}
	cmd := ixChild(ctx, "index-crash-appender", env...)
	stdout, stderr := ixStartChild(t, cmd)
	var acks []crashAck
	sc := bufio.NewScanner(stdout)
	appends, killed := 0, false
	for sc.Scan() {
		line := sc.Text()
		if line == "ready" {
			continue
		}
		a, err := parseCrashAck(line)
		if err != nil {
			t.Errorf("child: %v", err)
			continue
		}
		acks = append(acks, a...)
		if appends++; appends == k.afterAcks && !killed {
			time.Sleep(k.delay)
			if err := syscall.Kill(cmd.Process.Pid, syscall.SIGKILL); err != nil {
				t.Fatalf("kill -9: %v", err)
			}
			killed = true
		}
		// Lines the child wrote before it died are still read: they were
		// acknowledged too.
	}
	err := cmd.Wait()
	if !killed {
		t.Fatalf("child ended after %d acknowledged appends, before the kill (%v):\n%s", appends, err, stderr.String())
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("child: %v", err)
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child did not die of SIGKILL: %v\n%s", err, stderr.String())
	}
	return acks
}

// TestCrashIndexKill9 kills an appending store with kill -9 again and
// again, at random points (some within a millisecond of the first
// acknowledgement, some during a Reindex), and checks after each kill that
// the reopened store serves every acknowledged event through the index,
// that the index equals the log and that the log holds no duplicate.
func TestCrashIndexKill9(t *testing.T) {
	rng := indexRand(t)
	dir := t.TempDir()
	ctx := context.Background()
	rounds := []crashKill{
		{afterAcks: 1},
		{afterAcks: 1, delay: time.Duration(rng.IntN(2000)) * time.Microsecond},
		{afterAcks: 2 + rng.IntN(20)},
		{afterAcks: 50 + rng.IntN(400)},
		{afterAcks: 1, delay: time.Duration(rng.IntN(5000)) * time.Microsecond, reindex: true},
		{afterAcks: 20 + rng.IntN(300), reindex: true},
		{afterAcks: 1 + rng.IntN(5)},
	}
	var acked []crashAck
	for round, k := range rounds {
		acks := runCrashChild(t, dir, rng.Uint64(), k)
		acked = append(acked, acks...)
		// Every other time, the next child starts right after the kill;
		// otherwise this process opens the store first and checks it.
		if round%2 == 1 && round != len(rounds)-1 {
			t.Logf("round %d: kill after %d appends (+%v, reindex %v): %d events acknowledged; restarting the child at once",
				round, k.afterAcks, k.delay, k.reindex, len(acks))
			continue
		}
		cp := indexCheckpointOnDisk(dir)
		lv := checkAfterCrash(t, ctx, dir, acked)
		t.Logf("round %d: kill after %d appends (+%v, reindex %v): %d events acknowledged, %d in the log; "+
			"on disk the index was at %s, the log at sequence %d", round, k.afterAcks, k.delay, k.reindex, len(acks), len(lv.all), cp, lv.lastSeq())
	}
}

// checkAfterCrash opens dir and checks it against every acknowledgement so
// far and against its log, which it returns.
func checkAfterCrash(t *testing.T, ctx context.Context, dir string, acked []crashAck) ixLogView {
	t.Helper()
	s, err := eventstore.Open(ctx, dir)
	if err != nil {
		t.Fatalf("open after kill -9: %v", err)
	}
	defer s.Close()
	lv := checkIndexWithLog(t, ctx, s, crashStreams, rand.New(rand.NewPCG(1, 2)), 2)
	seen := map[uuid.UUID]eventstore.Offset{}
	for _, e := range lv.all {
		if o, dup := seen[e.ID]; dup {
			t.Fatalf("event %v stored twice: at %s and at %s", e.ID, o, e.Offset)
		}
		seen[e.ID] = e.Offset
	}
	read := map[string][]eventstore.Event{}
	for _, a := range acked {
		evs, ok := read[a.stream]
		if !ok {
			evs = collect(t, s.Read(ctx, a.stream))
			read[a.stream] = evs
		}
		if a.version > uint64(len(evs)) {
			t.Fatalf("acknowledged %s version %d (%s) is missing: the index has %d events", a.stream, a.version, a.offset, len(evs))
		}
		e := evs[a.version-1]
		if e.ID != a.id || e.Offset != a.offset || e.Version != a.version {
			t.Fatalf("acknowledged %s version %d: id %v offset %s, read id %v version %d offset %s",
				a.stream, a.version, a.id, a.offset, e.ID, e.Version, e.Offset)
		}
	}
	return lv
}

// indexCheckpointOnDisk peeks, read-only, at the checkpoint of the newest
// index generation left by a killed store, to show how far behind the log
// the kill left it. It knows the index's private key for the checkpoint,
// so it only informs the test log and asserts nothing.
func indexCheckpointOnDisk(dir string) (cp string) {
	gens, _ := filepath.Glob(filepath.Join(dir, "index", "gen-*"))
	if len(gens) == 0 {
		return "no generation"
	}
	gen := gens[len(gens)-1]
	defer func() {
		if r := recover(); r != nil {
			cp = fmt.Sprintf("%s: pebble panicked: %v", filepath.Base(gen), r)
		}
	}()
	db, err := pebble.Open(gen, &pebble.Options{ReadOnly: true, Logger: quietPebble{},
		EventListener: &pebble.EventListener{DataCorruption: func(pebble.DataCorruptionInfo) {}}})
	if err != nil {
		return fmt.Sprintf("%s: %v", filepath.Base(gen), err)
	}
	defer db.Close()
	v, closer, err := db.Get([]byte("m.checkpoint"))
	if err != nil {
		return fmt.Sprintf("%s: no checkpoint (%v)", filepath.Base(gen), err)
	}
	defer closer.Close()
	if len(v) != 8 {
		return fmt.Sprintf("%s: checkpoint %x", filepath.Base(gen), v)
	}
	return fmt.Sprintf("%s sequence %d", filepath.Base(gen), binary.BigEndian.Uint64(v))
}

type quietPebble struct{}

func (quietPebble) Infof(string, ...any)  {}
func (quietPebble) Errorf(string, ...any) {}
func (quietPebble) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf(format, args...))
}
