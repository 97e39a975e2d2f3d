package aggregate_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rewindhq/rewind/aggregate"
	"github.com/rewindhq/rewind/eventstore"
)

// The commands of the crash tests: command i adds item "sku-i" to order
// "crash-<i%4>" with command id "cmd-i".
const crashCommands = 400

func crashCommand(i int) (id string, decide func(order) ([]orderEvent, error), cmdID string) {
	sku := fmt.Sprint("sku-", i)
	return fmt.Sprint("crash-", i%4), func(o order) ([]orderEvent, error) {
		return []orderEvent{itemAdded{SKU: sku, Qty: 1, Price: 1}}, nil
	}, fmt.Sprint("cmd-", i)
}

func init() {
	children["handle"] = handleChild
}

// handleChild handles commands [from, to) on the store in REWIND_AGG_DIR
// (Open) or at REWIND_AGG_URL (Connect), printing "handled i" after each
// Handle returns, until killed or done.
func handleChild() int {
	ctx := context.Background()
	from, _ := strconv.Atoi(os.Getenv("REWIND_AGG_FROM"))
	to, _ := strconv.Atoi(os.Getenv("REWIND_AGG_TO"))
	var s *eventstore.Store
	var err error
	if url := os.Getenv("REWIND_AGG_URL"); url != "" {
		s, err = eventstore.Connect(ctx, url, eventstore.WithIndexDir(os.Getenv("REWIND_AGG_DIR")))
	} else {
		s, err = eventstore.Open(ctx, os.Getenv("REWIND_AGG_DIR"))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer s.Close()
	repo, err := aggregate.NewRepository(s, defineOrders(), aggregate.WithMaxAttempts(100))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer repo.Close()
	fmt.Println("ready")
	for i := from; i < to; i++ {
		id, decide, cmd := crashCommand(i)
		res, err := repo.Handle(ctx, id, decide, aggregate.CommandID(cmd))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Printf("handled %d %d %s\n", i, res.Version, res.Offsets[0])
	}
	return 0
}

func startHandleChild(t *testing.T, env ...string) (*exec.Cmd, *bufio.Scanner) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), childEnv+"=handle"), env...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	sc := bufio.NewScanner(out)
	if !sc.Scan() || sc.Text() != "ready" {
		t.Fatalf("child did not start: %q", sc.Text())
	}
	return cmd, sc
}

// checkOnce checks that every command in [0, n) appended its item exactly
// once, and that handling it again returns its original outcome.
func checkOnce(t *testing.T, ctx context.Context, s *eventstore.Store, n int) {
	t.Helper()
	repo, err := aggregate.NewRepository(s, defineOrders())
	if err != nil {
		t.Fatal(err)
	}
	defer repo.Close()
	for i := range n {
		id, decide, cmd := crashCommand(i)
		res, err := repo.Handle(ctx, id, decide, aggregate.CommandID(cmd))
		if err != nil {
			t.Fatalf("command %d: %v", i, err)
		}
		if !res.Duplicate || len(res.Events) != 1 || res.Events[0] != (itemAdded{SKU: fmt.Sprint("sku-", i), Qty: 1, Price: 1}) {
			t.Fatalf("command %d handled again: %+v; want its original outcome", i, res)
		}
	}
	for o := range 4 {
		l, err := repo.Load(ctx, fmt.Sprint("crash-", o))
		if err != nil {
			t.Fatal(err)
		}
		for sku, qty := range l.State.Items {
			if qty != 1 {
				t.Fatalf("order crash-%d holds %s %d times", o, sku, qty)
			}
		}
		if want := n/4 + map[bool]int{true: 1}[o < n%4]; len(l.State.Items) != want || int(l.Version) != want {
			t.Fatalf("order crash-%d: %d items at version %d, want %d", o, len(l.State.Items), l.Version, want)
		}
	}
}

// TestExactlyOnceKill9: a child handles commands with ids and is killed
// with SIGKILL at a random moment, in rounds, some of them right after a
// command's append was acknowledged and before the child replied (printed)
// anything; each time, the next round's process handles every command
// again. In the end every command's events are stored exactly once, and
// handling any command again returns its original outcome.
func TestExactlyOnceKill9(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	done := 0
	for round := 0; done < crashCommands && round < 40; round++ {
		cmd, sc := startHandleChild(t, "REWIND_AGG_DIR="+dir, "REWIND_AGG_FROM=0", fmt.Sprint("REWIND_AGG_TO=", crashCommands))
		// Kill it after a random number of acknowledged commands beyond
		// the last round's: either right after a "handled" line (the next
		// command in flight) or after a random pause.
		target := min(done+1+rng.IntN(60), crashCommands)
		last := -1
		for last+1 < target && sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) >= 2 {
				last, _ = strconv.Atoi(f[1])
			}
		}
		if rng.IntN(2) == 0 {
			time.Sleep(time.Duration(rng.IntN(3000)) * time.Microsecond)
		}
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		done = max(done, last+1)
	}
	s, err := eventstore.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	checkOnce(t, ctx, s, crashCommands)
}

// TestExactlyOnceTwoProcesses: this process and a child (on one server)
// handle the same commands at the same time; each is stored once, and
// both get the same outcome for it.
func TestExactlyOnceTwoProcesses(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, eventstore.WithListen("127.0.0.1", 0))
	cmd, sc := startHandleChild(t, "REWIND_AGG_URL="+s.ClientURL(), "REWIND_AGG_DIR="+t.TempDir(),
		"REWIND_AGG_FROM=0", fmt.Sprint("REWIND_AGG_TO=", crashCommands))
	childOut := make(map[int]string)
	var wg sync.WaitGroup
	wg.Go(func() {
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) == 4 {
				i, _ := strconv.Atoi(f[1])
				childOut[i] = f[2] + " " + f[3]
			}
		}
	})
	repo := newRepo(t, s, defineOrders(), aggregate.WithMaxAttempts(100))
	mine := make(map[int]string)
	for i := range crashCommands {
		id, decide, c := crashCommand(i)
		res, err := repo.Handle(ctx, id, decide, aggregate.CommandID(c))
		if err != nil {
			t.Fatal(err)
		}
		mine[i] = fmt.Sprint(res.Version, " ", res.Offsets[0])
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
	wg.Wait()
	for i := range crashCommands {
		if mine[i] != childOut[i] {
			t.Fatalf("command %d: this process got %q, the child %q", i, mine[i], childOut[i])
		}
	}
	checkOnce(t, ctx, s, crashCommands)
}
