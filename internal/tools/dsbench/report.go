package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rewindhq/rewind/internal/benchstat"
)

// report is one run against one server: the --json output and what compare
// reads back.
type report struct {
	Server   string          `json:"server"`
	URL      string          `json:"url"`
	Started  time.Time       `json:"started"`
	Batch    *appendResult   `json:"batch_append,omitempty"`
	Single   *appendResult   `json:"single_append,omitempty"`
	Catchup  *catchupResult  `json:"catchup_read,omitempty"`
	Shapes   []*shapeResult  `json:"catchup_shapes,omitempty"`
	LongPoll *longPollResult `json:"long_poll_wake,omitempty"`
}

func (r *report) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

func writeJSONFile(name string, r *report) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := r.writeJSON(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (r *report) writeTable(w io.Writer) {
	fmt.Fprintf(w, "dsbench: %s (%s)\n\n", r.Server, r.URL)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "test\tthroughput\tMB/s\tp50\tp99\tmax\terrors\t")
	for _, a := range []*appendResult{r.Batch, r.Single} {
		if a == nil {
			continue
		}
		fmt.Fprintf(tw, "%s\t%.0f msg/s (%.0f POST/s)\t%.1f\t%s\t%s\t%s\t%d\t\n", appendName(a),
			a.MsgsPerSec, a.POSTsPerSec, a.MBPerSec, ms(a.Latency.P50), ms(a.Latency.P99), ms(a.Latency.Max), a.Errors)
	}
	if c := r.Catchup; c != nil {
		fmt.Fprintf(tw, "catch-up read of %d messages (%d GETs)\t%.0f msg/s\t%.1f\t\t\t\t0\t\n",
			c.Messages, c.GETsPerRead, c.MsgsPerSec, c.MBPerSec)
	}
	for _, s := range r.Shapes {
		fmt.Fprintf(tw, "catch-up read, %s (%d GETs)\t%.0f msg/s\t%.1f\t\t\t\t0\t\n", s.Name, s.GETsPerRound, s.MsgsPerSec, s.MBPerSec)
	}
	if l := r.LongPoll; l != nil {
		fmt.Fprintf(tw, "long-poll wake, %d readers x %d rounds\t\t\t%s\t%s\t%s\t%d\t\n",
			l.Readers, len(l.Rounds), ms(l.Wake.P50), ms(l.Wake.P99), ms(l.Wake.Max), l.Errors)
		fmt.Fprintf(tw, "  (the waking append's ack)\t\t\t%s\t%s\t%s\t\t\n",
			ms(l.AppendAck.P50), ms(l.AppendAck.P99), ms(l.AppendAck.Max))
	}
	tw.Flush()
	if l := r.LongPoll; l != nil && len(l.Rounds) > 1 {
		fmt.Fprint(w, "\nlong-poll wake p99 by round:")
		newConns := 0
		for _, rd := range l.Rounds {
			fmt.Fprintf(w, " %s", ms(rd.Wake.P99))
			newConns += rd.NewConns
		}
		fmt.Fprintf(w, " (readers that dialed a new connection after the warm-up: %d)\n", newConns)
		fmt.Fprintf(w, "long-poll first reader woken after %s (median of rounds' fastest)\n", ms(medianMin(l.Rounds)))
	}
	for _, e := range []struct{ what, err string }{
		{"batched append", firstError(r.Batch)},
		{"single append", firstError(r.Single)},
		{"long-poll", longPollError(r.LongPoll)},
	} {
		if e.err != "" {
			fmt.Fprintf(w, "\nfirst %s error: %s\n", e.what, e.err)
		}
	}
	if c := r.Catchup; c != nil {
		fmt.Fprintf(w, "\ncatch-up stream filled at %.0f msg/s\n", c.FillMsgsPerSec)
	}
	fmt.Fprintln(w, "POST latency is per request; a wake runs from just before the append is sent to the reader's whole response")
}

func appendName(a *appendResult) string {
	streams := "a stream each"
	if a.Streams == 1 && a.Writers > 1 {
		streams = "one stream"
	}
	if a.PerPOST == 1 {
		return fmt.Sprintf("single-message POSTs, %d writers, %s", a.Writers, streams)
	}
	return fmt.Sprintf("append %d msgs/POST, %d writers, %s", a.PerPOST, a.Writers, streams)
}

func firstError(a *appendResult) string {
	if a == nil {
		return ""
	}
	return a.FirstError
}

func longPollError(l *longPollResult) string {
	if l == nil {
		return ""
	}
	return l.FirstError
}

func ms(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
}

// compare prints two servers' --json reports side by side with the second's
// ratio to the first (higher is better for the second: throughput over
// throughput, latency under latency). Each argument may list several
// reports of one server, comma-separated: each test's figures are then
// taken from that server's best run of it, which filters out bursts of
// other work on a shared machine.
func compare(w io.Writer, args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("want two arguments, each a report file (dsbench --json output) or a comma-separated list of them; got %d", len(args))
	}
	var reps [2]report
	for i, list := range args {
		r, err := bestOf(strings.Split(list, ","))
		if err != nil {
			return err
		}
		reps[i] = *r
	}
	a, b := &reps[0], &reps[1]
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "metric\t%s\t%s\t%s vs %s\t\n", a.Server, b.Server, b.Server, a.Server)
	rate := func(name string, x, y float64, unit string) {
		fmt.Fprintf(tw, "%s\t%.0f %s\t%.0f %s\t%s\t\n", name, x, unit, y, unit, ratio(y, x))
	}
	lat := func(name string, x, y time.Duration) {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\n", name, ms(x), ms(y), ratio(float64(x), float64(y)))
	}
	count := func(name string, x, y int) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t\t\n", name, x, y)
	}
	if a.Batch != nil && b.Batch != nil {
		rate("batched append", a.Batch.MsgsPerSec, b.Batch.MsgsPerSec, "msg/s")
		lat("  POST p99", a.Batch.Latency.P99, b.Batch.Latency.P99)
		count("  errors", a.Batch.Errors, b.Batch.Errors)
	}
	if a.Single != nil && b.Single != nil {
		rate("single-message POSTs", a.Single.MsgsPerSec, b.Single.MsgsPerSec, "msg/s")
		lat("  POST p99", a.Single.Latency.P99, b.Single.Latency.P99)
		count("  errors", a.Single.Errors, b.Single.Errors)
	}
	if a.Catchup != nil && b.Catchup != nil {
		rate("catch-up read", a.Catchup.MsgsPerSec, b.Catchup.MsgsPerSec, "msg/s")
		fmt.Fprintf(tw, "  MB/s\t%.1f\t%.1f\t%s\t\n", a.Catchup.MBPerSec, b.Catchup.MBPerSec, ratio(b.Catchup.MBPerSec, a.Catchup.MBPerSec))
	}
	for _, sa := range a.Shapes {
		for _, sb := range b.Shapes {
			if sa.Name == sb.Name {
				rate("catch-up read, "+sa.Name, sa.MsgsPerSec, sb.MsgsPerSec, "msg/s")
			}
		}
	}
	if a.LongPoll != nil && b.LongPoll != nil {
		lat("long-poll wake p50", a.LongPoll.Wake.P50, b.LongPoll.Wake.P50)
		lat("long-poll wake p99", a.LongPoll.Wake.P99, b.LongPoll.Wake.P99)
		lat("long-poll wake max", a.LongPoll.Wake.Max, b.LongPoll.Wake.Max)
		count("  errors", a.LongPoll.Errors, b.LongPoll.Errors)
	}
	tw.Flush()
	fmt.Fprintf(w, "\n(ratios: %s's throughput over %s's, and %s's latency over %s's; above 1 means %s is better)\n",
		b.Server, a.Server, a.Server, b.Server, b.Server)
	return nil
}

func ratio(num, den float64) string {
	if num == 0 || den == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", num/den)
}

func medianMin(rounds []wakeRound) time.Duration {
	mins := make([]float64, len(rounds))
	for i, rd := range rounds {
		mins[i] = float64(rd.Wake.Min)
	}
	return time.Duration(benchstat.Median(mins))
}

// bestOf reads reports of one server and keeps, for each test, the run that
// did it best.
func bestOf(files []string) (*report, error) {
	var best *report
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var r report
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		if best == nil {
			best = &r
			continue
		}
		if r.Batch != nil && (best.Batch == nil || r.Batch.MsgsPerSec > best.Batch.MsgsPerSec) {
			best.Batch = r.Batch
		}
		if r.Single != nil && (best.Single == nil || r.Single.MsgsPerSec > best.Single.MsgsPerSec) {
			best.Single = r.Single
		}
		for _, s := range r.Shapes {
			i := slices.IndexFunc(best.Shapes, func(b *shapeResult) bool { return b.Name == s.Name })
			if i < 0 {
				best.Shapes = append(best.Shapes, s)
			} else if s.MsgsPerSec > best.Shapes[i].MsgsPerSec {
				best.Shapes[i] = s
			}
		}
		if r.Catchup != nil && (best.Catchup == nil || r.Catchup.MsgsPerSec > best.Catchup.MsgsPerSec) {
			best.Catchup = r.Catchup
		}
		if r.LongPoll != nil && (best.LongPoll == nil || r.LongPoll.Wake.P99 < best.LongPoll.Wake.P99) {
			best.LongPoll = r.LongPoll
		}
	}
	if best == nil {
		return nil, fmt.Errorf("no report files")
	}
	return best, nil
}
