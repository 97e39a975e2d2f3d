package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

func postgresVersion(ctx context.Context, dsn string) string {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return "unknown: " + err.Error()
	}
	defer conn.Close(ctx)
	var v string
	if err := conn.QueryRow(ctx, `SHOW server_version`).Scan(&v); err != nil {
		return "unknown"
	}
	return v
}

// dsReport is the part of a dsbench JSON report the bench reads.
type dsReport struct {
	Batch *struct {
		MsgsPerSec float64 `json:"messages_per_sec"`
	} `json:"batch_append"`
	Single *struct {
		MsgsPerSec float64 `json:"messages_per_sec"`
	} `json:"single_append"`
	Catchup *struct {
		MsgsPerSec float64 `json:"messages_per_sec"`
	} `json:"catchup_read"`
	Shapes []struct {
		Name       string  `json:"name"`
		MsgsPerSec float64 `json:"messages_per_sec"`
	} `json:"catchup_shapes"`
	LongPoll *struct {
		Wake struct {
			P99 time.Duration `json:"p99_ns"`
		} `json:"wake"`
	} `json:"long_poll_wake"`
}

// benchDS runs scripts/bench-ds.sh (the Node reference server and `rewind
// serve` one after the other, loaded by internal/tools/dsbench) and reads
// back each server's report.
func (r *runner) benchDS(ctx context.Context, name string, floor, node bool, args ...string) (map[string]*dsReport, error) {
	out := filepath.Join(r.work, "ds-"+name)
	cmd := exec.CommandContext(ctx, filepath.Join(r.cfg.root, "scripts/bench-ds.sh"), args...)
	cmd.Dir = r.cfg.root
	cmd.Env = append(os.Environ(), "BENCH_OUT="+out, "BENCH_REPEAT=1")
	if !floor {
		cmd.Env = append(cmd.Env, "BENCH_FLOOR=0")
	}
	if !node {
		cmd.Env = append(cmd.Env, "BENCH_ONLY=rewind")
	}
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("scripts/bench-ds.sh %s: %w\n%s", strings.Join(args, " "), err, tail(log.String(), 2000))
	}
	reps := map[string]*dsReport{}
	for _, server := range []string{"node-reference", "rewind", "floor"} {
		b, err := os.ReadFile(filepath.Join(out, server+"-1.json"))
		if err != nil {
			continue
		}
		var rep dsReport
		if err := json.Unmarshal(b, &rep); err != nil {
			return nil, fmt.Errorf("%s report: %w", server, err)
		}
		reps[server] = &rep
	}
	return reps, nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// catchupShapes are the message shapes (dsbench --catchup-shapes) whose
// catch-up reads are rows of their own beside the 100-byte JSON one: small
// and large JSON messages many to a POST, and binary ones each its own
// POST (item 5: ≥ 3× Node on any shape).
var catchupShapes = []string{"json-20B", "json-100B", "json-1KB-nested", "binary-1KB-1-per-POST"}

// http measures the Durable Streams server against the Node reference:
// batched appends by number of clients, then the catch-up read, single
// POSTs and the long-poll wake at 16 clients.
func (r *runner) http(ctx context.Context) error {
	_, nodeErr := exec.LookPath("node")
	if nodeErr == nil {
		_, nodeErr = exec.LookPath("npm")
	}
	node := nodeErr == nil
	if !node {
		r.rep.Absent["node"] = "node or npm not on PATH: the Node reference server (conformance/refserver.mjs) cannot run"
	} else if v, err := exec.Command("node", "--version").Output(); err == nil {
		r.rep.Machine.Node = strings.TrimSpace(string(v))
	}
	dur := fmt.Sprintf("%ds", r.sz.HTTPSeconds)
	var last map[string]*dsReport
	for _, c := range r.sz.HTTPClients {
		args := []string{"--tests", "batch", "--writers", strconv.Itoa(c), "--duration", dur}
		final := c == r.sz.HTTPClients[len(r.sz.HTTPClients)-1]
		if final {
			args = []string{"--tests", "batch,single,catchup,longpoll", "--writers", strconv.Itoa(c), "--duration", dur,
				"--catchup-shapes", strings.Join(catchupShapes, ","), "--catchup-rounds", "5"}
			if r.cfg.quick {
				args = append(args, "--catchup-messages", "20000", "--catchup-shape-messages", "20000",
					"--readers", "200", "--longpoll-rounds", "2", "--park-wait", "1s")
			}
		}
		reps, err := r.benchDS(ctx, fmt.Sprintf("c%d", c), final, node, args...)
		if err != nil {
			return err
		}
		for server, rep := range reps {
			if rep.Batch != nil {
				r.rep.Curves.HTTP = append(r.rep.Curves.HTTP, httpPoint{Server: server, Clients: c, Rate: rep.Batch.MsgsPerSec})
			}
		}
		progress("http, %d clients: %d reports", c, len(reps))
		if final {
			last = reps
		}
	}
	fig := func(server string, f func(*dsReport) (float64, bool)) *float64 {
		if rep := last[server]; rep != nil {
			if v, ok := f(rep); ok {
				return f64(v)
			}
		}
		return nil
	}
	add := func(id, measure, unit, target string, f func(*dsReport) (float64, bool), check func(*row) (bool, bool), floor bool) {
		bl := map[string]*float64{"node": fig("node-reference", f)}
		if floor {
			bl["floor"] = fig("floor", f)
		}
		r.rep.add(&row{ID: id, Issue: "24/16", Measure: measure, Unit: unit, Target: target, Rewind: fig("rewind", f), Baselines: bl, check: check})
	}
	add("http-catchup", "HTTP catch-up read, 100-byte JSON messages", "msg/s", "≥ 3× Node (item 5)",
		func(d *dsReport) (float64, bool) {
			return val(d.Catchup != nil, func() float64 { return d.Catchup.MsgsPerSec })
		},
		vsBaselines(3, true, "node"), false)
	for _, shape := range catchupShapes {
		add("http-catchup-"+shape, "HTTP catch-up read, shape "+shape, "msg/s", "≥ 3× Node (item 5)",
			func(d *dsReport) (float64, bool) {
				for _, s := range d.Shapes {
					if s.Name == shape {
						return s.MsgsPerSec, true
					}
				}
				return 0, false
			},
			vsBaselines(3, true, "node"), false)
	}
	add("http-batch", "HTTP append, 100 messages per POST, 16 writers", "msg/s", "≥ 3× Node (issue 16)",
		func(d *dsReport) (float64, bool) {
			return val(d.Batch != nil, func() float64 { return d.Batch.MsgsPerSec })
		},
		vsBaselines(3, true, "node"), false)
	add("http-single", "HTTP append, 1 message per POST, 16 writers", "msg/s", "≥ 3× Node (issue 16)",
		func(d *dsReport) (float64, bool) {
			return val(d.Single != nil, func() float64 { return d.Single.MsgsPerSec })
		},
		vsBaselines(3, true, "node"), false)
	add("http-longpoll", "HTTP long-poll wake p99", "ms", "≤ 5 ms (issue 16; the floor server shows this machine's own)",
		func(d *dsReport) (float64, bool) {
			return val(d.LongPoll != nil, func() float64 { return ms(d.LongPoll.Wake.P99) })
		}, atMost(5), true)
	return nil
}

func val(ok bool, f func() float64) (float64, bool) {
	if !ok {
		return 0, false
	}
	return f(), true
}

var targetRE = regexp.MustCompile(`^--- TARGET (.+?) = ([-0-9.,e+]+)(\S*) \(target (>=|<=) ([-0-9.,e+]+)(\S*)\): (met|MISSED)`)

// goTest runs a go test benchmark and turns each of its "--- TARGET" lines
// into a row.
func (r *runner) goTest(ctx context.Context, issue string, args ...string) error {
	cmd := exec.CommandContext(ctx, "go", append([]string{"test"}, args...)...)
	cmd.Dir = r.cfg.root
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	found := 0
	for _, line := range strings.Split(out.String(), "\n") {
		m := targetRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		got, err1 := strconv.ParseFloat(strings.ReplaceAll(m[2], ",", ""), 64)
		want, err2 := strconv.ParseFloat(strings.ReplaceAll(m[5], ",", ""), 64)
		if err1 != nil || err2 != nil {
			continue
		}
		found++
		check := atLeast(want)
		if m[4] == "<=" {
			check = atMost(want)
		}
		r.rep.add(&row{ID: "go-" + slug(m[1]), Issue: issue, Measure: m[1], Unit: m[3],
			Target: m[4] + " " + m[5] + m[6], Rewind: f64(got), check: check,
			Note: "from `go test " + strings.Join(args, " ") + "` (its baseline is inside the figure)"})
	}
	if err != nil || found == 0 {
		return fmt.Errorf("go test %s: %v, %d targets\n%s", strings.Join(args, " "), err, found, tail(out.String(), 2000))
	}
	return nil
}

func (r *runner) gotest(ctx context.Context) error {
	bt := "2s"
	if r.cfg.quick {
		bt = "1s"
	}
	progress("go test: issue 21's Handle")
	if err := r.goTest(ctx, "21", "./aggregate", "-run", "^$", "-bench", "BenchmarkHandle$", "-benchtime", bt, "-count", "1"); err != nil {
		return err
	}
	if r.cfg.quick {
		return nil
	}
	progress("go test: the store's appends")
	return r.goTest(ctx, "13", "./eventstore", "-run", "^$", "-bench", "^BenchmarkAppend$|^BenchmarkAppendParallel16$|^BenchmarkAppendSyncAlways$", "-benchtime", bt, "-count", "1")
}

var clusterLines = []struct {
	re               *regexp.Regexp
	id, measure, tgt string
	unit             string
	check            func(*row) (bool, bool)
	fig              func(m []string) float64
}{
	{regexp.MustCompile(`median ratio ([0-9.]+)x`), "cluster-r3", "R3 append throughput, 16 writers, / raw JetStream R3", "≥ 0.8×", "×", atLeast(0.8),
		func(m []string) float64 { return atof(m[1]) }},
	{regexp.MustCompile(`leader kills: .*\(max ([0-9.]+)\)`), "cluster-leader", "writers back after a leader kill / bare publisher (worst)", "≤ 1.2×", "×", atMost(1.2),
		func(m []string) float64 { return atof(m[1]) }},
	{regexp.MustCompile(`follower kills: worst Rewind writer back after (\S+)`), "cluster-follower", "writers back after a follower kill (worst)", "≤ 1,000 ms", "ms", atMost(1000),
		func(m []string) float64 { d, _ := time.ParseDuration(m[1]); return ms(d) }},
	{regexp.MustCompile(`reads from the index during the rounds: \d+, errors: (\d+)`), "cluster-reads", "read errors during and after failover", "0", "", atMost(0),
		func(m []string) float64 { return atof(m[1]) }},
	{regexp.MustCompile(`acknowledged appends: \d+, lost: (\d+), duplicated: (\d+)`), "cluster-lost", "acknowledged appends lost or duplicated", "0", "", atMost(0),
		func(m []string) float64 { return atof(m[1]) + atof(m[2]) }},
}

func atof(s string) float64 { v, _ := strconv.ParseFloat(s, 64); return v }

// cluster runs issue 23's internal/tools/clusterbench (full mode only).
func (r *runner) cluster(ctx context.Context) error {
	progress("clusterbench: three nats-server processes, kills")
	cmd := exec.CommandContext(ctx, "go", "run", "./internal/tools/clusterbench", "--rounds", "5", "--duration", "3s")
	cmd.Dir = r.cfg.root
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	text := out.String()
	for _, c := range clusterLines {
		var v *float64
		if m := c.re.FindStringSubmatch(text); m != nil {
			v = f64(c.fig(m))
		}
		rw := &row{ID: c.id, Issue: "23", Measure: c.measure, Unit: c.unit, Target: c.tgt, Rewind: v, check: c.check}
		if v == nil {
			rw.Note = "clusterbench printed no figure"
		}
		r.rep.add(rw)
	}
	if err != nil {
		return fmt.Errorf("clusterbench: %w\n%s", err, tail(text, 2000))
	}
	return nil
}

// slug makes an id of a benchmark's target line.
func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, c := range strings.ToLower(s) {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			b.WriteRune(c)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}
