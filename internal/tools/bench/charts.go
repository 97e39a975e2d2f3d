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
	if c.xticks != nil {
		var ticks []plot.Tick
		for _, x := range c.xticks {
			ticks = append(ticks, plot.Tick{Value: x, Label: c.xfmt(x)})
		}
		p.X.Tick.Marker = plot.ConstantTicks(ticks)
	}
	// Room above the highest point for the legend.
	if !c.logY && any {
		p.Y.Max *= 1.35
	}
	if c.logY && any {
		p.Y.Max *= 8
	}
	return p.Save(8*vg.Inch, 5*vg.Inch, filepath.Join(dir, c.file))
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
		xlabel: "events in the stream", ylabel: "p99 (ms, log scale)", logX: true, logY: true, xfmt: intfmt, xticks: []float64{10, 100, 1000}}
	for _, store := range []string{"rewind", "sqlite", "postgres"} {
		s := series{store: store, name: storeLabel[store]}
		seen := map[int]bool{}
		for _, p := range rep.Curves.ReadsByStream {
			if p.Store == store && !seen[p.Events] {
				seen[p.Events] = true
				s.pts = append(s.pts, plotter.XY{X: float64(p.Events), Y: p.P99MS})
			}
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
		xlabel: "events in the log", ylabel: "ms (log scale)", logY: true, xfmt: human, xticks: logSizeTicks(rep)}
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
		xlabel: "events in the log", ylabel: "ms (log scale)", logY: true, xfmt: human, xticks: logSizeTicks(rep)}
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
		c.series = append(c.series, stageSeries(rep, store, storeLabel[store], false, func(p stagePoint) float64 { return p.DiskMB }))
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
