package main

import (
	"context"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMain lets the test binary serve as the bench's child processes, as
// the bench binary does.
func TestMain(m *testing.M) {
	if len(os.Args) == 3 && strings.HasPrefix(os.Args[1], "child-") {
		if err := childMain(context.Background(), os.Args[1], os.Args[2]); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestPlanPlacesTheKnownStreams(t *testing.T) {
	p := newPlan(20_000, 4)
	counts := map[string]int{}
	for i, s := range p.pos {
		if s < 0 || int(s) >= len(p.names) {
			t.Fatalf("position %d: stream index %d", i, s)
		}
		counts[p.names[s]]++
	}
	for name, want := range map[string]int{targetStream: 1000, midStream: 100, smallStream: 10, earlyStream: 100} {
		if counts[name] != want {
			t.Errorf("%s: %d events, want %d", name, counts[name], want)
		}
	}
	for i := 20_000 / 4; i < 20_000; i++ {
		if p.names[p.pos[i]] == earlyStream {
			t.Fatalf("%s has an event at %d, after the first stage", earlyStream, i)
		}
	}
}

func TestVerdicts(t *testing.T) {
	rep := &report{}
	rep.add(&row{ID: "a", Rewind: f64(2), check: atMost(5)})
	rep.add(&row{ID: "b", Rewind: f64(6), check: atMost(5)})
	rep.add(&row{ID: "c", Rewind: f64(30), Baselines: map[string]*float64{"sqlite": f64(10), "postgres": nil}, check: vsBaselines(3, true, "sqlite")})
	rep.add(&row{ID: "d", Rewind: f64(30), Baselines: map[string]*float64{"postgres": nil}, check: vsBaselines(1, true, "postgres")})
	rep.add(&row{ID: "e", Note: "section failed"})
	rep.add(&row{ID: "f", Rewind: f64(9), Baselines: map[string]*float64{"sqlite": f64(10), "postgres": f64(5)}, check: vsBaselines(1, false, "postgres", "sqlite")})
	want := map[string]string{"a": "met", "b": "missed", "c": "met", "d": "baseline absent", "e": "not measured", "f": "missed"}
	for _, r := range rep.Rows {
		if r.Status != want[r.ID] {
			t.Errorf("row %s: %s, want %s", r.ID, r.Status, want[r.ID])
		}
	}
}

func TestTargetLines(t *testing.T) {
	for _, line := range []string{
		"--- TARGET BenchmarkHandle: Handle with command ids / without = 0.932 (target >= 0.9): met",
		"--- TARGET BenchmarkAppend: rewind / raw = 0.85x (target >= 0.9x): MISSED",
		"--- TARGET BenchmarkColdRead: p99 = 1,234us (target <= 5,000us): MISSED",
	} {
		if m := targetRE.FindStringSubmatch(line); m == nil {
			t.Errorf("not parsed: %s", line)
		}
	}
}

// TestRunSmall runs the appends, data set and many-streams sections on a
// tiny data set against Rewind and SQLite (children included), and checks
// the rows, the JSON and the charts.
func TestRunSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("builds three small stores and runs child processes")
	}
	dir := t.TempDir()
	cfg := config{
		quick: true, charts: filepath.Join(dir, "charts"), jsonOut: filepath.Join(dir, "results.json"),
		work: filepath.Join(dir, "work"), pgAbsent: "not in this test", root: "../../..",
		skip:  map[string]bool{"http": true, "gotest": true},
		sizes: &sizes{Events: 3000, Stages: 2, ManyStreams: 200, AppendSeconds: 0.1, Writers: []int{1}, Children: 2, WarmReads: 5},
	}
	if err := os.MkdirAll(cfg.work, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(cfg.jsonOut)
	if err != nil {
		t.Fatal(err)
	}
	var rep report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	seen := map[string]*row{}
	for _, r := range rep.Rows {
		seen[r.ID] = r
	}
	for _, id := range []string{"append-1", "append-1-fsync", "append-16-fsync", "first-read", "warm-read-p99", "replay", "build", "open-first", "open-second", "disk", "many-build", "many-rss", "many-reopen"} {
		r := seen[id]
		if r == nil {
			t.Errorf("no row %s", id)
			continue
		}
		if id == "append-16-fsync" { // 16 writers were not measured here
			if r.Status != "not measured" {
				t.Errorf("row %s: %s, want not measured", id, r.Status)
			}
			continue
		}
		if r.Rewind == nil || r.Baselines["sqlite"] == nil && id != "append-1-fsync" {
			t.Errorf("row %s: figures missing: %+v", id, r)
		}
		if r.Baselines["postgres"] != nil || rep.Absent["postgres"] == "" {
			t.Errorf("row %s: PostgreSQL should be absent", id)
		}
		if r.Status != "met" && r.Status != "missed" && r.Status != "baseline absent" {
			t.Errorf("row %s: status %q", id, r.Status)
		}
	}
	if len(rep.Curves.Stages) != 2*2 || len(rep.Curves.ReadsByStream) != 2*4 {
		t.Errorf("curves: %d stage points, %d read points", len(rep.Curves.Stages), len(rep.Curves.ReadsByStream))
	}
	for _, name := range []string{"append-by-writers", "read-by-stream-size", "read-by-log-size", "replay-by-log-size", "http-by-clients", "open-by-log-size", "disk-by-log-size"} {
		f, err := os.Open(filepath.Join(cfg.charts, name+".png"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := png.Decode(f); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		f.Close()
	}
}

// TestChartsOnePoint draws charts whose log axes hold a single value (one
// writer count, one stream size) and charts with nothing measured.
func TestChartsOnePoint(t *testing.T) {
	rep := &report{Mode: "quick", Sizes: sizes{Events: 1000, Stages: 1, Writers: []int{1}, HTTPClients: []int{16}, WarmReads: 5}}
	rep.Curves.Append = []appendPoint{{Store: "rewind", Writers: 1, Rate: 100}}
	rep.Curves.ReadsByStream = []readPoint{{Store: "rewind", Events: 10, P99MS: 0.5}}
	rep.Curves.Stages = []stagePoint{{Store: "sqlite", Events: 1000, OpenSecondMS: 2, OpenFirstMS: 2, FirstReadMS: 1, EarlyP99MS: 1, DiskMB: 1}}
	dir := t.TempDir()
	if err := drawCharts(rep, dir); err != nil {
		t.Fatal(err)
	}
	if err := drawCharts(&report{}, t.TempDir()); err != nil {
		t.Fatalf("nothing measured: %v", err)
	}
	f, err := os.Open(filepath.Join(dir, "append-by-writers.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := png.Decode(f); err != nil {
		t.Fatal(err)
	}
}
