package main

import (
	"encoding/json"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// The charts: one PNG per scaling curve, a colour per store (Rewind blue,
// SQLite green, PostgreSQL orange, Node red, the floor grey), dashes for a
// store's second line (durable appends, first opens, the index's share).

var storeColor = map[string]color.Color{
	"rewind":         color.RGBA{R: 31, G: 119, B: 180, A: 255},
	"sqlite":         color.RGBA{R: 44, G: 160, B: 44, A: 255},
	"postgres":       color.RGBA{R: 255, G: 127, B: 14, A: 255},
	"node-reference": color.RGBA{R: 214, G: 39, B: 40, A: 255},
	"floor":          color.RGBA{R: 127, G: 127, B: 127, A: 255},
}

var storeLabel = map[string]string{
	"rewind": "Rewind", "sqlite": "SQLite", "postgres": "PostgreSQL",
	"node-reference": "Node reference server", "floor": "floor server",
}

type series struct {
	name   string
	store  string
	dashed bool
	pts    plotter.XYs
}

type chart struct {
	file, title, xlabel, ylabel string
	run                         string // what run drew it: mode, date, load
	logX, logY                  bool
	xticks                      []float64
	xfmt                        func(float64) string
	series                      []series
	targets                     []targetLine // horizontal lines: a target of BENCHMARKS.md
}

type targetLine struct {
	y     float64
	label string
}

func drawCharts(rep *report, dir string) error {
	run := fmt.Sprintf("(%s run of scripts/bench.sh, %s, %d CPUs, load average %s at its start)",
		rep.Mode, rep.Started, rep.Machine.CPUs, strings.Fields(rep.Machine.LoadStart + " ?")[0])
	for _, c := range []chart{
		appendChart(rep), readByStreamChart(rep), readByLogChart(rep), replayChart(rep),
		httpChart(rep), openChart(rep), diskChart(rep),
	} {
		c.run = run
		if err := c.save(dir); err != nil {
			return fmt.Errorf("%s: %w", c.file, err)
		}
	}
	return nil
}

// redraw draws the charts of a run's JSON into dir.
func redraw(results, dir string) error {
	b, err := os.ReadFile(results)
	if err != nil {
		return err
	}
	var rep report
	if err := json.Unmarshal(b, &rep); err != nil {
		return fmt.Errorf("%s: %w", results, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return drawCharts(&rep, dir)
}

func (c chart) save(dir string) error {
	p := plot.New()
	p.Title.Text = c.title + "\n" + c.run
	p.Title.TextStyle.Font.Size = vg.Points(13)
	p.Title.Padding = vg.Points(8)
	p.X.Label.Text = c.xlabel
	p.Y.Label.Text = c.ylabel
	p.Legend.Top = true
	p.Legend.Left = true
	p.Legend.ThumbnailWidth = vg.Points(30)
	p.Add(plotter.NewGrid())
	any := false
	for _, s := range c.series {
		pts := plotter.XYs{}
		for _, pt := range s.pts {
			if (c.logX && pt.X <= 0) || (c.logY && pt.Y <= 0) || math.IsNaN(pt.Y) {
				continue
			}
			pts = append(pts, pt)
		}
		if len(pts) == 0 {
			continue
		}
		sort.Slice(pts, func(i, j int) bool { return pts[i].X < pts[j].X })
		line, scatter, err := plotter.NewLinePoints(pts)
		if err != nil {
			return err
		}
		col := storeColor[s.store]
		line.Color, scatter.Color = col, col
		line.Width = vg.Points(2)
		scatter.Shape = draw.CircleGlyph{}
		scatter.Radius = vg.Points(3)
		if s.dashed {
			line.Dashes = []vg.Length{vg.Points(6), vg.Points(4)}
			scatter.Shape = draw.BoxGlyph{}
		}
		p.Add(line, scatter)
		p.Legend.Add(s.name, line, scatter)
		any = true
	}
	if any {
		if err := addTargets(p, c); err != nil {
			return err
		}
	}
	if !any {
		// Nothing to draw: an empty chart that says so (a log scale needs
		// points).
		p.Title.Text += " (not measured in this run)"
		c.logX, c.logY, c.xticks = false, false, nil
	}
	if c.logY {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	} else {
		p.Y.Min = 0
		p.Y.Tick.Marker = humanTicks{}
	}
	if c.logX {
		p.X.Scale = plot.LogScale{}
	}
	// One point on a log axis: gonum would widen the range to [x-1, x+1],
	// which reaches zero; widen it by factors instead.
	if c.logX && p.X.Min == p.X.Max {
		p.X.Min, p.X.Max = p.X.Min/2, p.X.Max*2
	}
	if c.logY && p.Y.Min == p.Y.Max {
		p.Y.Min, p.Y.Max = p.Y.Min/2, p.Y.Max*2
	}
	if c.xticks != nil {
		var ticks []plot.Tick
		for _, x := range c.xticks {
			ticks = append(ticks, plot.Tick{Value: x, Label: c.xfmt(x)})
		}
		p.X.Tick.Marker = plot.ConstantTicks(ticks)
	}
	// Room above the highest point for the legend: the points keep the
	// lower part of the plot, the legend's lines the upper part.
	if any {
		f := min(0.6, 0.05+0.052*float64(legendN(c)))
		if c.logY {
			lo, hi := math.Log10(p.Y.Min), math.Log10(p.Y.Max)
			p.Y.Max = math.Pow(10, lo+(hi-lo)/(1-f))
		} else {
			p.Y.Max /= 1 - f
		}
	}
	return p.Save(8*vg.Inch, 5*vg.Inch, filepath.Join(dir, c.file))
}

// legendN is how many lines the chart's legend has.
func legendN(c chart) int {
	n := len(c.targets)
	for _, s := range c.series {
		for _, pt := range s.pts {
			if !(c.logX && pt.X <= 0) && !(c.logY && pt.Y <= 0) {
				n++
				break
			}
		}
	}
	return n
}

// addTargets draws each target as a grey dotted line across the points.
func addTargets(p *plot.Plot, c chart) error {
	xmin, xmax := math.Inf(1), math.Inf(-1)
	for _, s := range c.series {
		for _, pt := range s.pts {
			if c.logX && pt.X <= 0 {
				continue
			}
			xmin, xmax = math.Min(xmin, pt.X), math.Max(xmax, pt.X)
		}
	}
	for _, t := range c.targets {
		line, err := plotter.NewLine(plotter.XYs{{X: xmin, Y: t.y}, {X: xmax, Y: t.y}})
		if err != nil {
			return err
		}
		line.Color = color.Gray{Y: 90}
		line.Width = vg.Points(1.5)
		line.Dashes = []vg.Length{vg.Points(2), vg.Points(3)}
		p.Add(line)
		p.Legend.Add(t.label, line)
	}
	return nil
}

// humanTicks labels a linear axis with k and M.
type humanTicks struct{}

func (humanTicks) Ticks(min, max float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(min, max)
	for i := range ticks {
		if ticks[i].Label != "" {
			ticks[i].Label = human(ticks[i].Value)
		}
	}
	return ticks
}

func human(v float64) string {
	switch {
	case math.Abs(v) >= 1e6:
		return trim(fmt.Sprintf("%.2f", v/1e6)) + "M"
	case math.Abs(v) >= 1e3:
		return trim(fmt.Sprintf("%.1f", v/1e3)) + "k"
	default:
		return trim(fmt.Sprintf("%.2f", v))
	}
}

func trim(s string) string {
	for len(s) > 1 && s[len(s)-1] == '0' && containsDot(s) {
		s = s[:len(s)-1]
	}
	if s[len(s)-1] == '.' {
		s = s[:len(s)-1]
	}
	return s
}

func containsDot(s string) bool {
	for _, c := range s {
		if c == '.' {
			return true
		}
	}
	return false
}

func intfmt(x float64) string { return fmt.Sprintf("%.0f", x) }

func appendChart(rep *report) chart {
	c := chart{file: "append-by-writers.png", title: "Append throughput by number of writers (one event per append)",
		xlabel: "writers (goroutines, each on its own 64 streams)", ylabel: "appends/s", logX: true, xfmt: intfmt}
	for _, store := range []string{"rewind", "sqlite", "postgres"} {
		for _, durable := range []bool{false, true} {
			s := series{store: store, dashed: durable, name: storeLabel[store]}
			switch {
			case store == "postgres" && durable:
				continue
			case store == "postgres":
				s.name += " (synchronous_commit on)"
			case store == "sqlite" && durable:
				s.name += " (synchronous=FULL)"
			case store == "sqlite":
				s.name += " (WAL, synchronous=NORMAL)"
			case durable:
				s.name += " (SyncAlways: fsync before ack)"
			default:
				s.name += " (default: fsync every second)"
			}
			for _, p := range rep.Curves.Append {
				if p.Store == store && p.Durable == durable {
					s.pts = append(s.pts, plotter.XY{X: float64(p.Writers), Y: p.Rate})
				}
			}
			c.series = append(c.series, s)
		}
	}
	for _, w := range rep.Sizes.Writers {
		c.xticks = append(c.xticks, float64(w))
	}
	return c
}

func readByStreamChart(rep *report) chart {
	c := chart{file: "read-by-stream-size.png",
		title:  fmt.Sprintf("Warm read of one whole stream, p99 of %d reads, %s-event log", rep.Sizes.WarmReads, human(float64(rep.Sizes.Events))),
		xlabel: "events in the stream", ylabel: "p99 (ms, log scale)", logX: true, logY: true, xfmt: intfmt, xticks: []float64{10, 100, 1000},
		targets: []targetLine{{1, "target: Rewind's 1,000-event p99 ≤ 1 ms"}}}
	for _, store := range []string{"rewind", "sqlite", "postgres"} {
		s := series{store: store, name: storeLabel[store]}
		// Two streams have 100 events (bench/early, then bench/mid): the
		// last of a size is drawn, the one spread through the log.
		last := map[int]float64{}
		for _, p := range rep.Curves.ReadsByStream {
			if p.Store == store {
				last[p.Events] = p.P99MS
			}
		}
		for events, p99 := range last {
			s.pts = append(s.pts, plotter.XY{X: float64(events), Y: p99})
		}
		c.series = append(c.series, s)
	}
	return c
}

func stageSeries(rep *report, store, name string, dashed bool, f func(stagePoint) float64) series {
	s := series{store: store, name: name, dashed: dashed}
	for _, p := range rep.Curves.Stages {
		if p.Store == store {
			s.pts = append(s.pts, plotter.XY{X: float64(p.Events), Y: f(p)})
		}
	}
	return s
}

func logSizeTicks(rep *report) []float64 {
	var xs []float64
	for i := 1; i <= rep.Sizes.Stages; i++ {
		xs = append(xs, float64(i*rep.Sizes.Events/rep.Sizes.Stages))
	}
	return xs
}

func readByLogChart(rep *report) chart {
	c := chart{file: "read-by-log-size.png", title: "Read latency by log size",
		xlabel: "events in the log", ylabel: "ms (log scale)", logY: true, xfmt: human, xticks: logSizeTicks(rep),
		targets: []targetLine{{5, "target: first read in a new process ≤ 5 ms"}}}
	for _, store := range []string{"rewind", "sqlite", "postgres"} {
		c.series = append(c.series,
			stageSeries(rep, store, storeLabel[store]+": warm p99, 100-event stream", false, func(p stagePoint) float64 { return p.EarlyP99MS }),
			stageSeries(rep, store, storeLabel[store]+": first read in a new process, 1,000-event stream*", true, func(p stagePoint) float64 { return p.FirstReadMS }))
	}
	c.title += " (* that stream grows with the log)"
	return c
}

func replayChart(rep *report) chart {
	c := chart{file: "replay-by-log-size.png", title: "Replay of the whole log in order",
		xlabel: "events in the log", ylabel: "events/s", xfmt: human, xticks: logSizeTicks(rep)}
	for _, store := range []string{"rewind", "sqlite", "postgres"} {
		c.series = append(c.series, stageSeries(rep, store, storeLabel[store], false, func(p stagePoint) float64 { return p.ReplayPerSec }))
	}
	return c
}

func openChart(rep *report) chart {
	c := chart{file: "open-by-log-size.png", title: "Open in a new process (PostgreSQL: connect)",
		xlabel: "events in the log", ylabel: "ms (log scale)", logY: true, xfmt: human, xticks: logSizeTicks(rep),
		targets: []targetLine{{25, "target: first open ≤ 25 ms"}, {10, "target: open again ≤ 10 ms"}}}
	for _, store := range []string{"rewind", "sqlite", "postgres"} {
		c.series = append(c.series,
			stageSeries(rep, store, storeLabel[store]+": again (median)", false, func(p stagePoint) float64 { return p.OpenSecondMS }),
			stageSeries(rep, store, storeLabel[store]+": first time after the build", true, func(p stagePoint) float64 { return p.OpenFirstMS }))
	}
	return c
}

func diskChart(rep *report) chart {
	c := chart{file: "disk-by-log-size.png", title: "Disk by log size (events of about 200 B of JSON)",
		xlabel: "events in the log", ylabel: "MB", xfmt: human, xticks: logSizeTicks(rep)}
	for _, store := range []string{"rewind", "sqlite", "postgres"} {
		name := storeLabel[store]
		if store == "sqlite" {
			name += " (the target: Rewind at most this)"
		}
		c.series = append(c.series, stageSeries(rep, store, name, false, func(p stagePoint) float64 { return p.DiskMB }))
	}
	c.series = append(c.series, stageSeries(rep, "rewind", "Rewind: its index alone", true, func(p stagePoint) float64 { return p.DiskPartsMB["index"] }))
	return c
}

func httpChart(rep *report) chart {
	c := chart{file: "http-by-clients.png", title: "HTTP append throughput by clients (Durable Streams, 100 messages per POST)",
		xlabel: "concurrent writers, a stream each", ylabel: "messages/s", logX: true, xfmt: intfmt}
	c.xticks = nil
	for _, x := range rep.Sizes.HTTPClients {
		c.xticks = append(c.xticks, float64(x))
	}
	for _, server := range []string{"rewind", "node-reference"} {
		s := series{store: server, name: storeLabel[server]}
		if server == "rewind" {
			s.name = "rewind serve"
		}
		for _, p := range rep.Curves.HTTP {
			if p.Server == server {
				s.pts = append(s.pts, plotter.XY{X: float64(p.Clients), Y: p.Rate})
			}
		}
		c.series = append(c.series, s)
	}
	return c
}
