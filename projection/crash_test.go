package projection_test

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rewindhq/rewind/checkpoint"
	"github.com/rewindhq/rewind/eventstore"
	"github.com/rewindhq/rewind/projection"

	_ "modernc.org/sqlite"
)

func init() {
	children["sqlite-projector"] = sqliteProjector
	children["leased-projector"] = leasedProjector
}

func openSQLite(path string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", path+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(FULL)")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	_, err = db.Exec(`CREATE TABLE IF NOT EXISTS applied (offset TEXT NOT NULL, stream TEXT NOT NULL)`)
	return db, err
}

// countSink is the read model of the crash tests: one row per event
// applied, in the transaction of its checkpoint.
func countSink(db *sql.DB, cps *checkpoint.SQL, name string) projection.Sink {
	return projection.ExactlyOnce(name, db, cps, projection.TxHandlerFunc(func(ctx context.Context, tx *sql.Tx, b projection.Batch) error {
		for _, e := range b.Events {
			if _, err := tx.ExecContext(ctx, `INSERT INTO applied (offset, stream) VALUES (?, ?)`, string(e.Offset), e.Stream); err != nil {
				return err
			}
		}
		return nil
	}))
}

// sqliteProjector runs the "crash" projection into the SQLite database at
// REWIND_PROJ_DB from the store at REWIND_PROJ_URL until killed.
func sqliteProjector() int {
	ctx := context.Background()
	s, err := eventstore.Connect(ctx, os.Getenv("REWIND_PROJ_URL"), eventstore.WithIndexDir(os.Getenv("REWIND_PROJ_INDEX")))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer s.Close()
	db, err := openSQLite(os.Getenv("REWIND_PROJ_DB"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	cps, err := checkpoint.NewSQL(ctx, db)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	r := projection.NewRunner(s, nil)
	var p projection.Projection
	p = projection.Projection{Name: "crash", Source: projection.Category("c"), Sink: countSink(db, cps, "crash"), BatchSize: 1 + rand.IntN(64)}
	if name := os.Getenv("REWIND_PROJ_LEASE"); name != "" {
		kv, err := checkpoint.NewKV(ctx, s, "")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		p.Lease, p.LeaseTTL = kv, 1500*time.Millisecond
	}
	if err := r.Start(ctx, p); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("ready")
	for {
		time.Sleep(20 * time.Millisecond)
		if st, _ := r.Status("crash"); st.State == projection.StateLive || st.State == projection.StateCatchingUp {
			fmt.Println("leading", st.Position)
		}
		if st, _ := r.Status("crash"); st.State == projection.StateFailed {
			fmt.Fprintln(os.Stderr, st.Err)
			return 1
		}
	}
}

func leasedProjector() int { return sqliteProjector() }

type child struct {
	cmd   *exec.Cmd
	lines chan string
}

func startChild(t *testing.T, name string, env ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), childEnv+"="+name), env...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, lines: make(chan string, 1024)}
	go func() {
		defer close(c.lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			select {
			case c.lines <- sc.Text():
			default: // a reader that stopped listening
			}
		}
	}()
	t.Cleanup(c.kill)
	select {
	case l := <-c.lines:
		if l != "ready" {
			t.Fatalf("child said %q", l)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("child did not start")
	}
	return c
}

func (c *child) kill() {
	if c.cmd.ProcessState == nil {
		_ = c.cmd.Process.Kill()
		_ = c.cmd.Wait()
	}
}

// checkExactlyOnce checks the read model: every event of category c once.
func checkExactlyOnce(t *testing.T, s *eventstore.Store, db *sql.DB) {
	t.Helper()
	ctx := context.Background()
	want := collect(t, s.ReadCategory(ctx, "c"))
	var dups int
	if err := db.QueryRow(`SELECT COUNT(*) FROM (SELECT offset FROM applied GROUP BY offset HAVING COUNT(*) > 1)`).Scan(&dups); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM applied`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if dups != 0 || n != len(want) {
		t.Fatalf("read model holds %d rows (%d offsets twice) for %d events", n, dups, len(want))
	}
	rows, err := db.Query(`SELECT offset FROM applied`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	have := map[string]bool{}
	for rows.Next() {
		var o string
		if err := rows.Scan(&o); err != nil {
			t.Fatal(err)
		}
		have[o] = true
	}
	for _, e := range want {
		if !have[string(e.Offset)] {
			t.Fatalf("event %s v%d (%s) never applied", e.Stream, e.Version, e.Offset)
		}
	}
}

// TestExactlyOnceSQLiteKill9: a child process projects into SQLite with
// transactional checkpoints while this one appends; it is killed with
// SIGKILL at random moments, in rounds, and restarted. In the end every
// event is counted exactly once, none missing.
func TestExactlyOnceSQLiteKill9(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, eventstore.WithListen("127.0.0.1", 0))
	dbPath := filepath.Join(t.TempDir(), "model.db")
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; !stop.Load(); i++ {
			evs := make([]eventstore.Event, 1+i%3)
			for j := range evs {
				evs[j] = eventstore.Event{Type: "E"}
			}
			if _, err := s.Append(ctx, fmt.Sprint("c/", i%7), evs); err != nil {
				t.Error(err)
				return
			}
			time.Sleep(200 * time.Microsecond)
		}
	})
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	index := t.TempDir()
	for round := range 8 {
		c := startChild(t, "sqlite-projector", "REWIND_PROJ_URL="+s.ClientURL(), "REWIND_PROJ_DB="+dbPath, "REWIND_PROJ_INDEX="+index)
		time.Sleep(time.Duration(50+rng.IntN(400)) * time.Millisecond)
		c.kill()
		_ = round
	}
	stop.Store(true)
	wg.Wait()
	// Catch up in this process with the same read model, and check.
	db, err := openSQLite(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var byChildren int
	if err := db.QueryRow(`SELECT COUNT(*) FROM applied`).Scan(&byChildren); err != nil || byChildren == 0 {
		t.Fatalf("the killed children applied %d events (%v): the rounds did not run", byChildren, err)
	}
	t.Logf("%d events applied by children killed in 8 rounds", byChildren)
	cps, err := checkpoint.NewSQL(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	r := projection.NewRunner(s, nil)
	defer r.Close()
	if err := r.Start(ctx, projection.Projection{Name: "crash", Source: projection.Category("c"), Sink: countSink(db, cps, "crash")}); err != nil {
		t.Fatal(err)
	}
	if err := r.WaitCaughtUp(ctx, "crash"); err != nil {
		t.Fatal(err)
	}
	r.Close()
	checkExactlyOnce(t, s, db)
}

// TestLeaseTakeoverKill9: two processes run the same projection into one
// SQLite read model under a lease; the leader is killed with SIGKILL, and
// the other takes over within five seconds, with no event counted twice.
func TestLeaseTakeoverKill9(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, eventstore.WithListen("127.0.0.1", 0))
	dbPath := filepath.Join(t.TempDir(), "model.db")
	for i := range 200 {
		if _, err := s.Append(ctx, fmt.Sprint("c/", i%5), []eventstore.Event{{Type: "E"}}); err != nil {
			t.Fatal(err)
		}
	}
	env := func() []string {
		return []string{"REWIND_PROJ_URL=" + s.ClientURL(), "REWIND_PROJ_DB=" + dbPath, "REWIND_PROJ_INDEX=" + t.TempDir(), "REWIND_PROJ_LEASE=1"}
	}
	a := startChild(t, "leased-projector", env()...)
	leader := waitLeading(t, a.lines, 10*time.Second)
	if !leader {
		t.Fatal("the first process never led")
	}
	b := startChild(t, "leased-projector", env()...)
	if waitLeading(t, b.lines, 1*time.Second) {
		t.Fatal("the second process led while the first held the lease")
	}
	a.kill()
	killed := time.Now()
	for i := range 50 { // appended while nobody leads
		if _, err := s.Append(ctx, fmt.Sprint("c/", i%5), []eventstore.Event{{Type: "E"}}); err != nil {
			t.Fatal(err)
		}
	}
	if !waitLeading(t, b.lines, 10*time.Second) {
		t.Fatal("the second process never took over")
	}
	took := time.Since(killed)
	t.Logf("takeover after kill -9: %v", took)
	if took > 5*time.Second {
		t.Fatalf("takeover took %v, more than 5 s", took)
	}
	time.Sleep(500 * time.Millisecond) // let it catch up
	b.kill()
	db, err := openSQLite(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cps, _ := checkpoint.NewSQL(ctx, db)
	r := projection.NewRunner(s, nil)
	defer r.Close()
	if err := r.Start(ctx, projection.Projection{Name: "crash", Source: projection.Category("c"), Sink: countSink(db, cps, "crash")}); err != nil {
		t.Fatal(err)
	}
	if err := r.WaitCaughtUp(ctx, "crash"); err != nil {
		t.Fatal(err)
	}
	r.Close()
	checkExactlyOnce(t, s, db)
}

// waitLeading waits for a "leading" line from a child.
func waitLeading(t *testing.T, lines <-chan string, d time.Duration) bool {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				return false
			}
			if len(l) >= 7 && l[:7] == "leading" {
				return true
			}
		case <-deadline:
			return false
		}
	}
}
