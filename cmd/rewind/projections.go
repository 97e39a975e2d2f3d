package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/rewindhq/rewind/internal/ctxsleep"
)

// projectionStatus is one projection of GET /v1/projections.
type projectionStatus struct {
	Name       string  `json:"name"`
	Status     string  `json:"status"`
	Position   string  `json:"position"`
	LagEvents  uint64  `json:"lagEvents"`
	LagSeconds float64 `json:"lagSeconds"`
	Error      string  `json:"error"`
}

func projectionsCommand() command {
	return command{
		name:    "projections",
		args:    "[flags]",
		summary: "list the projections with their status, position and lag",
		help: `Lists the server's projections: their status, the offset of the last event
each applied, and how far behind its own source it is: in log commits up to
the newest event of its source, and in how long the oldest event it has yet
to apply has waited ("caught up" when it has applied them all).
`,
		run: func(ctx context.Context, c *cli, args []string) error {
			if err := wantArgs(args, 0, 0, ""); err != nil {
				return err
			}
			var ans struct {
				Projections []projectionStatus `json:"projections"`
			}
			raw, err := c.client.getJSON(ctx, "/v1/projections", nil, &ans)
			if err != nil {
				return err
			}
			if c.json {
				return c.printJSON(raw)
			}
			if len(ans.Projections) == 0 {
				fmt.Fprintln(c.stdout, "no projections")
				return nil
			}
			tw := newTable(c.stdout)
			row(tw, "NAME", "STATUS", "POSITION", "LAG", "ERROR")
			for _, p := range ans.Projections {
				errText := p.Error
				if errText == "" {
					errText = "-"
				}
				row(tw, p.Name, p.Status, orDash(p.Position), describeLag(p), errText)
			}
			return tw.Flush()
		},
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func describeLag(p projectionStatus) string {
	if p.LagEvents == 0 {
		return "caught up"
	}
	lag := plural(int(p.LagEvents), "commit")
	if p.LagSeconds > 0 {
		lag += ", " + humanDuration(time.Duration(p.LagSeconds*float64(time.Second))) + " behind"
	}
	return lag
}

// humanDuration shows a duration to the precision a person reads it at:
// "450ms", "12s", "3m12s", "5h03m", "18d 4h".
func humanDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(time.Second).String()
	case d < time.Hour:
		d = d.Round(time.Second)
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 24*time.Hour:
		d = d.Round(time.Minute)
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	d = d.Round(time.Hour)
	return fmt.Sprintf("%dd %dh", int(d.Hours())/24, int(d.Hours())%24)
}

// rebuildStatus is the answer of GET /v1/projections/<name>/rebuild.
type rebuildStatus struct {
	Name       string  `json:"name"`
	Running    bool    `json:"running"`
	Done       uint64  `json:"done"`
	Events     uint64  `json:"events"`
	Total      uint64  `json:"total"`
	Rate       float64 `json:"rate"`
	ETASeconds float64 `json:"etaSeconds"`
	Error      string  `json:"error"`
}

// rebuildPoll is how often "rewind rebuild" asks how far the rebuild is.
const rebuildPoll = 200 * time.Millisecond

func rebuildCommand() command {
	return command{
		name:    "rebuild",
		args:    "<projection>",
		summary: "rebuild a projection from the start of the log, with a progress bar",
		help: `Starts a rebuild of one projection (its read model is replayed from the start
of the log) and shows its progress until it is done: a bar on a terminal, a
line a second otherwise. Ctrl-C stops watching; the rebuild goes on on the
server. With --json, prints the final status as JSON.
`,
		run: func(ctx context.Context, c *cli, args []string) error {
			if err := wantArgs(args, 1, 1, "projection name (see rewind projections)"); err != nil {
				return err
			}
			name := args[0]
			if name == "" || strings.ContainsAny(name, "/?#") {
				return usageErr("%q is not a projection name (see rewind projections)", name)
			}
			path := "/v1/projections/" + url.PathEscape(name) + "/rebuild"
			if _, _, err := c.client.do(ctx, http.MethodPost, path, nil, strings.NewReader("{}"), 0); err != nil {
				return c.localTimesIn(err) // a rebuild running since a time
			}
			return c.watchRebuild(ctx, path)
		},
	}
}

// watchRebuild polls the rebuild's status until it ends.
func (c *cli) watchRebuild(ctx context.Context, path string) error {
	started := time.Now()
	bar := newProgress(c.stdout, c.json)
	for {
		var st rebuildStatus
		raw, err := c.client.getJSON(ctx, path, nil, &st)
		if err != nil {
			bar.abort()
			return err
		}
		if !st.Running {
			bar.finish(st, time.Since(started))
			if c.json {
				if err := c.printJSON(raw); err != nil {
					return err
				}
			}
			if st.Error != "" {
				return &exitError{code: exitServer, msg: fmt.Sprintf("the rebuild of %s failed: %s", st.Name, st.Error)}
			}
			return nil
		}
		bar.update(st)
		if ctxsleep.Sleep(ctx, rebuildPoll) != nil {
			bar.abort()
			return &exitError{code: exitServer, msg: "interrupted (the rebuild goes on on the server)"}
		}
	}
}

// progress draws a rebuild's progress: a bar redrawn in place on a
// terminal, a plain line a second elsewhere (a log, a CI job), nothing with
// --json.
type progress struct {
	w        io.Writer
	tty      bool
	quiet    bool
	width    int
	lastLine time.Time
	drawn    bool
}

func newProgress(w io.Writer, quiet bool) *progress {
	width := terminalWidth(w)
	return &progress{w: w, tty: width > 0, quiet: quiet, width: width}
}

// fraction is how far the rebuild is, 0 to 1.
func (st rebuildStatus) fraction() float64 {
	if st.Total == 0 {
		return 0
	}
	return min(float64(st.Done)/float64(st.Total), 1)
}

func (st rebuildStatus) figures() string {
	s := fmt.Sprintf("%3.0f%%  %s", st.fraction()*100, plural(int(st.Events), "event"))
	if st.Rate > 0 {
		s += fmt.Sprintf("  %s ev/s", groupDigits(int64(st.Rate)))
	}
	if st.ETASeconds > 0 {
		s += "  ETA " + humanDuration(time.Duration(st.ETASeconds*float64(time.Second)))
	}
	return s
}

func (p *progress) update(st rebuildStatus) {
	switch {
	case p.quiet:
	case p.tty:
		p.draw(st)
	case time.Since(p.lastLine) >= time.Second:
		p.lastLine = time.Now()
		fmt.Fprintf(p.w, "rebuilding %s: %s\n", st.Name, st.figures())
	}
}

// draw redraws the bar in place: "\r", the line, and erase to its end.
func (p *progress) draw(st rebuildStatus) {
	figures := st.figures()
	label := st.Name + " "
	barWidth := min(40, p.width-len(label)-len(figures)-5)
	line := label + figures
	if barWidth >= 10 {
		full := int(st.fraction() * float64(barWidth))
		line = label + "[" + strings.Repeat("█", full) + strings.Repeat("░", barWidth-full) + "] " + figures
	}
	fmt.Fprintf(p.w, "\r%s\x1b[K", line)
	p.drawn = true
}

func (p *progress) finish(st rebuildStatus, took time.Duration) {
	if p.quiet {
		return
	}
	if p.tty && st.Error == "" {
		st.Done, st.ETASeconds = st.Total, 0
		if st.Total == 0 {
			st.Done, st.Total = 1, 1
		}
		p.draw(st)
		fmt.Fprintln(p.w)
	} else if p.drawn {
		fmt.Fprintln(p.w)
	}
	if st.Error == "" {
		fmt.Fprintf(p.w, "rebuilt %s: %s in %s\n", st.Name, plural(int(st.Events), "event"), humanDuration(took))
	}
}

// abort ends a bar drawn in place, so that a message starts on a line of
// its own.
func (p *progress) abort() {
	if p.drawn {
		fmt.Fprintln(p.w)
	}
}
