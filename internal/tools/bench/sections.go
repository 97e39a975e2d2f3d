package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/rewindhq/rewind/internal/benchstat"
)

// appends measures append throughput by number of writers, default and
// durable, on a fresh store each time.
func (r *runner) appends(ctx context.Context) error {
	dur := time.Duration(r.sz.AppendSeconds * float64(time.Second))
	for _, durable := range []bool{false, true} {
		for _, w := range r.sz.Writers {
			for _, kind := range r.kinds {
				if kind == "postgres" && durable {
					continue // synchronous_commit on: the default is durable already
				}
				name := fmt.Sprintf("append-%d-%v", w, durable)
				t := r.targetFor(kind, name)
				st, err := openStore(ctx, t, durable)
				if err != nil {
					return fmt.Errorf("%s: %w", kind, err)
				}
				rate, err := appendRate(ctx, st, "tp", w, dur)
				st.Close()
				r.remove(ctx, t)
				if err != nil {
					return fmt.Errorf("%s, %d writers: %w", kind, w, err)
				}
				progress("append %s, %d writers, durable %v: %.0f/s", kind, w, durable, rate)
				r.rep.Curves.Append = append(r.rep.Curves.Append, appendPoint{Store: kind, Durable: durable, Writers: w, Rate: rate})
			}
		}
	}
	rate := func(kind string, w int, durable bool) (float64, bool) {
		if kind == "postgres" {
			durable = false
		}
		for _, p := range r.rep.Curves.Append {
			if p.Store == kind && p.Writers == w && p.Durable == durable {
				return p.Rate, true
			}
		}
		return 0, false
	}
	for _, c := range []struct {
		id, measure, target string
		w                   int
		durable             bool
		check               func(*row) (bool, bool)
	}{
		{"append-1", "append, 1 writer, default durability", "≥ best baseline (issue 24: 1.01×)", 1, false, vsBaselines(1, true, "postgres", "sqlite")},
		{"append-16", "append, 16 writers", "≥ best baseline (issue 24: 2.76×)", 16, false, vsBaselines(1, true, "postgres", "sqlite")},
		{"append-16-fsync", "append, 16 writers, fsync before ack", "≥ best baseline (issue 24: 1.48×)", 16, true, vsBaselines(1, true, "postgres", "sqlite")},
		{"append-1-fsync", "append, 1 writer, fsync before ack", "≥ PostgreSQL (item 6)", 1, true, vsBaselines(1, true, "postgres")},
	} {
		var v *float64
		if x, ok := rate("rewind", c.w, c.durable); ok {
			v = f64(x)
		}
		note := ""
		if c.durable {
			note = "SQLite synchronous=FULL; PostgreSQL synchronous_commit on (its default row)"
		}
		r.rep.add(&row{ID: c.id, Issue: "24", Measure: c.measure, Unit: "/s", Target: c.target, Rewind: v, Note: note,
			Baselines: r.baselines(func(k string) (float64, bool) { return rate(k, c.w, c.durable) }), check: c.check})
	}
	return nil
}

// dataset builds the data set in stages through each store's append path,
// and after each stage measures the opens and first reads in new
// processes, the disk, warm reads and a replay.
func (r *runner) dataset(ctx context.Context) error {
	n, stages := r.sz.Events, r.sz.Stages
	p := newPlan(n, stages)
	idx := map[string]int{}
	for i, name := range p.names {
		idx[name] = i
	}
	var final []stagePoint
	for _, kind := range r.kinds {
		t := r.targetFor(kind, "data")
		b := newBuilder(p)
		st, err := openStore(ctx, t, false)
		if err != nil {
			return fmt.Errorf("%s: %w", kind, err)
		}
		t.Create = false
		var total time.Duration
		for stage := 1; stage <= stages; stage++ {
			from, to := (stage-1)*n/stages, stage*n/stages
			d, err := b.build(ctx, st, from, to)
			total += d
			if err == nil {
				err = st.Close()
			}
			if err != nil {
				return fmt.Errorf("%s: build: %w", kind, err)
			}
			progress("%s: %d events built (%.1f s this stage)", kind, to, d.Seconds())
			pt, err := r.measureStage(ctx, t, to, int(b.ver[idx[targetStream]]))
			if err != nil {
				return fmt.Errorf("%s at %d events: %w", kind, to, err)
			}
			if st, err = openStore(ctx, t, false); err != nil {
				return fmt.Errorf("%s: reopen: %w", kind, err)
			}
			if err := settle(ctx, st); err != nil {
				return fmt.Errorf("%s: reopen: %w", kind, err)
			}
			_, p99, err := readLatency(ctx, st, earlyStream, int(b.ver[idx[earlyStream]]), r.sz.WarmReads)
			if err != nil {
				return fmt.Errorf("%s: %w", kind, err)
			}
			pt.EarlyP99MS = ms(p99)
			if pt.ReplayPerSec, err = replayRate(ctx, st, to); err != nil {
				return fmt.Errorf("%s: %w", kind, err)
			}
			if stage == stages {
				for _, name := range []string{smallStream, earlyStream, midStream, targetStream} { // mid after early: see readByStreamChart
					want := int(b.ver[idx[name]])
					p50, p99, err := readLatency(ctx, st, name, want, r.sz.WarmReads)
					if err != nil {
						return fmt.Errorf("%s: %w", kind, err)
					}
					r.rep.Curves.ReadsByStream = append(r.rep.Curves.ReadsByStream, readPoint{Store: kind, Stream: name, Events: want, P50MS: ms(p50), P99MS: ms(p99)})
				}
				final = append(final, pt)
			}
			progress("%s at %d events: open %.1f / %.1f ms, first read %.2f ms, disk %.0f MB, replay %.0f/s",
				kind, to, pt.OpenFirstMS, pt.OpenSecondMS, pt.FirstReadMS, pt.DiskMB, pt.ReplayPerSec)
			r.rep.Curves.Stages = append(r.rep.Curves.Stages, pt)
		}
		st.Close()
		r.build[kind] = total
		if n := b.retries.Load(); n > 0 {
			r.buildRetries[kind] = n
		}
		r.remove(ctx, t)
	}
	r.datasetRows(final)
	return nil
}

// measureStage takes what needs the store closed or a new process: the
// first open after the build, then Children-1 more (the "second" open),
// each followed by the first read of bench/target; and the disk.
func (r *runner) measureStage(ctx context.Context, t target, events, targetEvents int) (stagePoint, error) {
	pt := stagePoint{Store: t.Kind, Events: events, TargetEvents: targetEvents}
	var opens, reads, both []float64
	for i := range r.sz.Children {
		var res childOpenRes
		if err := runChild(ctx, "child-open", childOpenReq{Target: t, Stream: targetStream, Want: targetEvents}, &res); err != nil {
			return pt, err
		}
		if i == 0 {
			pt.OpenFirstMS = res.OpenMS
			continue
		}
		opens = append(opens, res.OpenMS)
		reads = append(reads, res.FirstReadMS)
		both = append(both, res.OpenMS+res.FirstReadMS)
	}
	pt.OpenSecondMS, pt.FirstReadMS, pt.OpenReadMS = benchstat.Median(opens), benchstat.Median(reads), benchstat.Median(both)
	total, parts, err := diskBytes(ctx, t)
	if err != nil {
		return pt, err
	}
	pt.DiskMB = float64(total) / 1e6
	if parts != nil {
		pt.DiskPartsMB = map[string]float64{}
		for k, v := range parts {
			pt.DiskPartsMB[k] = float64(v) / 1e6
		}
	}
	return pt, nil
}

func (r *runner) datasetRows(final []stagePoint) {
	get := func(kind string) (stagePoint, bool) {
		for _, p := range final {
			if p.Store == kind {
				return p, true
			}
		}
		return stagePoint{}, false
	}
	fig := func(f func(stagePoint) float64) (*float64, map[string]*float64) {
		var v *float64
		if p, ok := get("rewind"); ok {
			v = f64(f(p))
		}
		return v, r.baselines(func(k string) (float64, bool) {
			p, ok := get(k)
			return f(p), ok
		})
	}
	readsOf := func(kind string, events int) (readPoint, bool) {
		for _, p := range r.rep.Curves.ReadsByStream {
			if p.Store == kind && p.Events == events {
				return p, true
			}
		}
		return readPoint{}, false
	}
	size := fmt.Sprintf("%d-event", r.sz.Events)
	add := func(id, measure, unit, target string, f func(stagePoint) float64, check func(*row) (bool, bool), note string) {
		v, bl := fig(f)
		r.rep.add(&row{ID: id, Issue: "24", Measure: measure, Unit: unit, Target: target, Rewind: v, Baselines: bl, check: check, Note: note})
	}
	add("first-read", "first read of the 1,000-event stream in a new process (median)", "ms", "≤ 5 ms (ColdRead)",
		func(p stagePoint) float64 { return p.FirstReadMS }, atMost(5), "")
	{
		var v *float64
		if p, ok := readsOf("rewind", 1000); ok {
			v = f64(p.P99MS)
		}
		bl := r.baselines(func(k string) (float64, bool) { p, ok := readsOf(k, 1000); return p.P99MS, ok })
		r.rep.add(&row{ID: "warm-read-p99", Issue: "24", Measure: fmt.Sprintf("warm read p99, %d reads of the 1,000-event stream", r.sz.WarmReads),
			Unit: "ms", Target: "≤ 1 ms (item 3)", Rewind: v, Baselines: bl, check: atMost(1)})
	}
	add("replay", "replay of the whole "+size+" log in order", "events/s", "≥ 1.5× SQLite (item 2)",
		func(p stagePoint) float64 { return p.ReplayPerSec }, vsBaselines(1.5, true, "sqlite"), "")
	{
		v := f64(r.build["rewind"].Seconds())
		if _, ok := r.build["rewind"]; !ok {
			v = nil
		}
		bl := r.baselines(func(k string) (float64, bool) { d, ok := r.build[k]; return d.Seconds(), ok })
		note := ""
		for kind, n := range r.buildRetries {
			note += fmt.Sprintf("%s: %d appends timed out inside the store and were tried again; ", kind, n)
		}
		r.rep.add(&row{ID: "build", Issue: "24", Measure: "build the " + size + " data set, 16 writers", Unit: "s", Target: "≤ best baseline (issue 24: 4.5× faster)",
			Rewind: v, Baselines: bl, check: vsBaselines(1, false, "postgres", "sqlite"), Note: strings.TrimSuffix(note, "; ")})
	}
	add("open-first", "open in a new process, first time after the build (connect for PostgreSQL)", "ms", "≤ 25 ms (item 1)",
		func(p stagePoint) float64 { return p.OpenFirstMS }, atMost(25), "")
	add("open-second", "open in a new process, again (median)", "ms", "≤ 10 ms (item 1)",
		func(p stagePoint) float64 { return p.OpenSecondMS }, atMost(10), "")
	add("open-read", "open + first read of the 1,000-event stream, new process (median)", "ms", "≤ 30 ms (item 1)",
		func(p stagePoint) float64 { return p.OpenReadMS }, atMost(30), "")
	note := ""
	if p, ok := get("rewind"); ok {
		note = fmt.Sprintf("Rewind: log %.0f MB + index %.0f MB", p.DiskPartsMB["log"], p.DiskPartsMB["index"])
	}
	if p, ok := get("postgres"); ok {
		note += fmt.Sprintf("; PostgreSQL: table %.0f MB + indexes %.0f MB", p.DiskPartsMB["table"], p.DiskPartsMB["indexes"])
	}
	add("disk", "disk for the "+size+" data set", "MB", "≤ 1.0× SQLite (item 2)",
		func(p stagePoint) float64 { return p.DiskMB }, vsBaselines(1, false, "sqlite"), note)
}

// many appends one event to each of ManyStreams new streams in a new
// process (rate, peak RSS), then opens the store in new processes.
func (r *runner) many(ctx context.Context) error {
	type result struct {
		rate, rss, reopen float64
	}
	res := map[string]result{}
	for _, kind := range r.kinds {
		if kind == "postgres" && !r.cfg.quick {
			continue // see the note on the many-build row
		}
		t := r.targetFor(kind, "many")
		if kind != "rewind" { // create the table first, not timed
			st, err := openStore(ctx, t, false)
			if err != nil {
				return err
			}
			st.Close()
		}
		var mres childManyRes
		if err := runChild(ctx, "child-many", childManyReq{Target: t, Streams: r.sz.ManyStreams}, &mres); err != nil {
			return fmt.Errorf("%s: %w", kind, err)
		}
		t.Create = false
		var opens []float64
		for range r.sz.Children {
			var ores childOpenRes
			if err := runChild(ctx, "child-open", childOpenReq{Target: t, Stream: "many/0000042", Want: 1}, &ores); err != nil {
				return fmt.Errorf("%s: reopen: %w", kind, err)
			}
			opens = append(opens, ores.OpenMS)
		}
		r.remove(ctx, t)
		res[kind] = result{mres.Rate, mres.PeakRSSMB, benchstat.Median(opens)}
		progress("many streams, %s: %.0f appends/s, peak RSS %.0f MB, reopen %.1f ms", kind, mres.Rate, mres.PeakRSSMB, benchstat.Median(opens))
	}
	n := r.sz.ManyStreams
	fig := func(f func(result) float64, kinds ...string) (*float64, map[string]*float64) {
		var v *float64
		if x, ok := res["rewind"]; ok {
			v = f64(f(x))
		}
		bl := r.baselines(func(k string) (float64, bool) {
			for _, want := range kinds {
				if want == k {
					x, ok := res[k]
					return f(x), ok
				}
			}
			return 0, false
		})
		for k := range bl {
			found := false
			for _, want := range kinds {
				found = found || want == k
			}
			if !found {
				delete(bl, k)
			}
		}
		return v, bl
	}
	v, bl := fig(func(x result) float64 { return x.rate }, "postgres", "sqlite")
	note := ""
	if !r.cfg.quick {
		note = "PostgreSQL not run in full mode: a million one-row inserts over loopback take about ten minutes here; its per-append rate is in the 16-writer append row"
	}
	r.rep.add(&row{ID: "many-build", Issue: "24", Measure: fmt.Sprintf("many streams: %d one-event streams, 16 writers, build rate", n), Unit: "/s",
		Target: "≥ 42k/s (item 4)", Rewind: v, Baselines: bl, check: atLeast(42_000), Note: note})
	v, bl = fig(func(x result) float64 { return x.rss }, "sqlite")
	r.rep.add(&row{ID: "many-rss", Issue: "24", Measure: "many streams: peak RSS of the building process", Unit: "MB",
		Target: "≤ 400 MB (item 4)", Rewind: v, Baselines: bl, check: atMost(400),
		Note: "PostgreSQL's memory is in its server, not the client: no RSS baseline"})
	v, bl = fig(func(x result) float64 { return x.reopen }, "postgres", "sqlite")
	r.rep.add(&row{ID: "many-reopen", Issue: "24", Measure: "many streams: reopen in a new process (median)", Unit: "ms",
		Target: "≤ 50 ms (item 4)", Rewind: v, Baselines: bl, check: atMost(50)})
	return nil
}
