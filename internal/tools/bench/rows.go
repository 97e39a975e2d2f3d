package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"text/tabwriter"
)

// A row is one target of BENCHMARKS.md: Rewind's figure, the baselines'
// figures from the same run, and whether the target was met.
//
// Adding a row: measure it, then call report.add with a row whose Check
// decides met or missed from the figures (see the helpers below). A figure
// that could not be taken is left nil with a Note saying why: the row is
// then printed "not measured" (or "baseline absent" when only a baseline is
// missing and the target needs it), never dropped.
type row struct {
	ID      string `json:"id"`
	Issue   string `json:"issue"`
	Measure string `json:"measure"`
	Unit    string `json:"unit"`
	Target  string `json:"target"`
	// Rewind is Rewind's figure; nil when it was not measured.
	Rewind *float64 `json:"rewind"`
	// Baselines holds each baseline's figure by name ("postgres",
	// "sqlite", "node", "raw", ...); nil when the baseline was absent.
	Baselines map[string]*float64 `json:"baselines,omitempty"`
	// Status is "met", "missed", "not measured" or "baseline absent".
	Status string `json:"status"`
	Note   string `json:"note,omitempty"`

	check func(r *row) (bool, bool) // met, decidable
}

// report is what one run of the bench writes as JSON.
type report struct {
	Mode     string            `json:"mode"`
	Started  string            `json:"started"`
	Finished string            `json:"finished"`
	Machine  machine           `json:"machine"`
	Sizes    sizes             `json:"sizes"`
	Absent   map[string]string `json:"absent,omitempty"`
	Rows     []*row            `json:"rows"`
	Curves   curves            `json:"curves"`
}

type machine struct {
	CPUs       int    `json:"cpus"`
	GoVersion  string `json:"go"`
	LoadStart  string `json:"loadavg_start"`
	LoadEnd    string `json:"loadavg_end"`
	Postgres   string `json:"postgres,omitempty"`
	Node       string `json:"node,omitempty"`
	SharedNote string `json:"note"`
}

func f64(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// add decides the row's status and appends it.
func (rep *report) add(r *row) {
	switch {
	case r.Rewind == nil:
		r.Status = "not measured"
	case r.check == nil:
		r.Status = "note"
	default:
		met, ok := r.check(r)
		switch {
		case !ok:
			r.Status = "baseline absent"
		case met:
			r.Status = "met"
		default:
			r.Status = "missed"
		}
	}
	rep.Rows = append(rep.Rows, r)
}

// atMost and atLeast check Rewind's figure against a fixed bound.
func atMost(bound float64) func(*row) (bool, bool) {
	return func(r *row) (bool, bool) { return *r.Rewind <= bound, true }
}

func atLeast(bound float64) func(*row) (bool, bool) {
	return func(r *row) (bool, bool) { return *r.Rewind >= bound, true }
}

// vsBaselines checks Rewind's figure against factor × the best of the named
// baselines (higher is better when higher is set, else lower is). It is
// undecidable when none of them was measured.
func vsBaselines(factor float64, higher bool, names ...string) func(*row) (bool, bool) {
	return func(r *row) (bool, bool) {
		best, ok := bestOf(r, higher, names...)
		if !ok {
			return false, false
		}
		if higher {
			return *r.Rewind >= factor*best, true
		}
		return *r.Rewind <= factor*best, true
	}
}

func bestOf(r *row, higher bool, names ...string) (float64, bool) {
	best, ok := 0.0, false
	for _, n := range names {
		v := r.Baselines[n]
		if v == nil {
			continue
		}
		if !ok || higher && *v > best || !higher && *v < best {
			best, ok = *v, true
		}
	}
	return best, ok
}

// both requires two checks.
func both(a, b func(*row) (bool, bool)) func(*row) (bool, bool) {
	return func(r *row) (bool, bool) {
		m1, ok1 := a(r)
		m2, ok2 := b(r)
		if !ok1 || !ok2 {
			return m1 && m2, false
		}
		return m1 && m2, true
	}
}

func (rep *report) writeJSON(name string) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(name, append(b, '\n'), 0o644)
}

// writeTable prints every row: figure, baselines, target, verdict.
func (rep *report) writeTable(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "issue\tmeasure\tRewind\tbaselines (same run)\ttarget\tverdict\t")
	for _, r := range rep.Rows {
		verdict := r.Status
		switch r.Status {
		case "met":
			verdict = "met"
		case "missed":
			verdict = "MISSED"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t\n", r.Issue, r.Measure, fmtFig(r.Rewind, r.Unit), fmtBaselines(r), r.Target, verdict)
	}
	tw.Flush()
	for _, r := range rep.Rows {
		if r.Note != "" {
			fmt.Fprintf(w, "  %s: %s\n", r.ID, r.Note)
		}
	}
	for name, why := range rep.Absent {
		fmt.Fprintf(w, "baseline absent: %s: %s\n", name, why)
	}
}

func fmtBaselines(r *row) string {
	var parts []string
	for _, n := range baselineOrder(r.Baselines) {
		v := r.Baselines[n]
		if v == nil {
			parts = append(parts, n+" absent")
			continue
		}
		parts = append(parts, n+" "+fmtFig(v, r.Unit))
	}
	if len(parts) == 0 {
		return "—"
	}
	return strings.Join(parts, "; ")
}

// baselineOrder lists the baselines in a fixed order, known names first.
func baselineOrder(m map[string]*float64) []string {
	known := []string{"postgres", "sqlite", "node", "raw", "bare-append", "without-id", "floor"}
	var out []string
	for _, k := range known {
		if _, ok := m[k]; ok {
			out = append(out, k)
		}
	}
	for k := range m {
		found := false
		for _, o := range out {
			found = found || o == k
		}
		if !found {
			out = append(out, k)
		}
	}
	return out
}

func fmtFig(v *float64, unit string) string {
	if v == nil {
		return "—"
	}
	x := *v
	var s string
	switch {
	case math.Abs(x) >= 100_000:
		s = fmt.Sprintf("%.0fk", x/1000)
	case math.Abs(x) >= 10_000:
		s = fmt.Sprintf("%.1fk", x/1000)
	case math.Abs(x) >= 100:
		s = fmt.Sprintf("%.0f", x)
	case math.Abs(x) >= 1:
		s = fmt.Sprintf("%.2f", x)
	default:
		s = fmt.Sprintf("%.3g", x)
	}
	if unit == "" || unit[0] == '/' || unit == "×" {
		return s + unit
	}
	return s + " " + unit
}
