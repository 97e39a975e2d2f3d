package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rewindhq/rewind/eventstore"
	"github.com/rewindhq/rewind/internal/ctxsleep"
)

// streamInfo is one stream of GET /v1/streams.
type streamInfo struct {
	Name     string `json:"name"`
	Version  uint64 `json:"version"`
	Offset   string `json:"offset"`
	StoredAt string `json:"storedAt"`
	Closed   bool   `json:"closed"`
}

func streamsCommand() command {
	return command{
		name:    "streams",
		args:    "[category] [flags]",
		summary: "list the streams, with their event counts and last offsets",
		help: `Lists the streams that have events, in name order, with how many events each
holds, when its last event was stored and the offset after it (for
"rewind read --from"). A category (the first segment of the names, like
"orders") lists only its streams; one without streams is an error (exit
3) that names the nearest category when the name looks like a typo.
`,
		run: func(ctx context.Context, c *cli, args []string) error {
			if err := wantArgs(args, 0, 1, "category"); err != nil {
				return err
			}
			q := url.Values{}
			if len(args) == 1 {
				if args[0] == "" || strings.Contains(args[0], "/") {
					return usageErr("%q is not a category: want the first segment of stream names, like orders", args[0])
				}
				q.Set("category", args[0])
			}
			// The server answers a page at a time: follow next to the end.
			var all []streamInfo
			var raws []json.RawMessage
			for {
				var page struct {
					Streams []json.RawMessage `json:"streams"`
					Next    *string           `json:"next"`
				}
				if _, err := c.client.getJSON(ctx, "/v1/streams", q, &page); err != nil {
					return err
				}
				for _, raw := range page.Streams {
					var st streamInfo
					if err := json.Unmarshal(raw, &st); err != nil {
						return &exitError{code: exitServer, msg: fmt.Sprintf("the server's list of streams is not what rewind reads: %v", err)}
					}
					all = append(all, st)
					raws = append(raws, raw)
				}
				if page.Next == nil || *page.Next <= q.Get("after") {
					break
				}
				q.Set("after", *page.Next)
			}
			if len(all) == 0 && q.Has("category") {
				return noCategory(ctx, c.client, q.Get("category"))
			}
			if c.json {
				if raws == nil {
					raws = []json.RawMessage{}
				}
				return c.printJSONValue(map[string]any{"streams": raws})
			}
			return c.printStreams(all)
		},
	}
}

func (c *cli) printStreams(streams []streamInfo) error {
	if len(streams) == 0 {
		fmt.Fprintln(c.stdout, "no streams")
		return nil
	}
	// A CLOSED column only when a stream is closed: most never are.
	anyClosed := slices.ContainsFunc(streams, func(s streamInfo) bool { return s.Closed })
	// The offset is what --from takes: never cut. On a narrow terminal
	// the time goes first, then the offset goes on a line of its own.
	tw := newTable(c.stdout).keep(3).drop(2)
	header := []string{"STREAM", "EVENTS", "LAST EVENT AT", "LAST OFFSET"}
	if anyClosed {
		header = append(header, "CLOSED")
	}
	row(tw, header...)
	var events uint64
	for _, s := range streams {
		cells := []string{s.Name, strconv.FormatUint(s.Version, 10), c.localTime(s.StoredAt), s.Offset}
		if anyClosed && s.Closed {
			cells = append(cells, "closed")
		}
		row(tw, cells...)
		events += s.Version
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(c.stdout, "%s, %s\n", plural(len(streams), "stream"), plural(int(events), "event"))
	return err
}

// plural writes a count with its noun: "1 event", "3 events".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return groupDigits(int64(n)) + " " + noun + "s"
}

// groupDigits writes n with thousands separators: 12,345.
func groupDigits(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// logEvent is one event of GET /v1/events.
type logEvent struct {
	Stream   string          `json:"stream"`
	Version  uint64          `json:"version"`
	Offset   string          `json:"offset"`
	Type     string          `json:"type"`
	StoredAt string          `json:"storedAt"`
	Data     json.RawMessage `json:"data"`
}

// readPage is how many events one request of "rewind read" asks for.
const readPage = 500

// followWait is how long one request of "rewind read --follow" waits for
// new events (the server caps it at 60 s).
const followWait = 30 * time.Second

func readCommand() command {
	var from string
	var follow bool
	var limit int
	return command{
		name:    "read",
		args:    "<stream|category> [--from OFFSET] [--follow] [--limit N]",
		summary: "print the events of a stream or a category, and follow new ones",
		help: `Prints the events of one stream, or of every stream of a category, in log
order. A stream is named exactly as "rewind streams" prints it; an
aggregate's stream "orders/<id>/events" may also be named "orders/<id>" when
no stream of that exact name exists. A name without "/" is a category. A
stream or category without events is not found (exit code 3).

--from starts after an offset (as "rewind streams" and the end of this
command's output show them); --follow then waits for new events and prints
them as they are stored, until Ctrl-C or until the stream is closed
(nothing can come after that). When the server goes away (a
restart, a network error), --follow says so on stderr and reconnects, with
a backoff of up to 5 s, from the offset it had reached. The last line
without --follow is the command that goes on from where the read ended.
--json prints one JSON object per line (stream, version, offset, type,
storedAt, data), for scripts.

Against a server that serves streams only ("rewind serve"), read speaks the
Durable Streams protocol: the name is a stream's (no categories there), a
JSON stream prints one message a line, a byte stream its bytes as sent,
and --follow long-polls. The protocol gives messages, not events: --json
prints them as they are too.
`,
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&from, "from", "-1", "start after this offset (-1: the start; now: only new events)")
			fs.BoolVar(&follow, "follow", false, "keep waiting for new events and print them as they come")
			fs.IntVar(&limit, "limit", 0, "stop after this many events (0: no limit)")
		},
		run: func(ctx context.Context, c *cli, args []string) error {
			if err := wantArgs(args, 1, 1, "stream or category"); err != nil {
				return err
			}
			off, err := parseOffset("--from", from)
			if err != nil {
				return err
			}
			if limit < 0 {
				return usageErr("--limit %d: want 0 (no limit) or more", limit)
			}
			q, err := resolveRead(ctx, c.client, args[0])
			if ee := (*exitError)(nil); errors.As(err, &ee) && ee.streamsOnly {
				// A Durable Streams server, like rewind serve: read
				// the stream in its protocol.
				r := &reader{c: c, limit: limit, name: args[0]}
				return r.runDurable(ctx, string(off), follow)
			}
			if err != nil {
				return err
			}
			r := &reader{c: c, category: q.Has("category"), limit: limit, name: q.Get("stream")}
			if r.category {
				r.name = q.Get("category")
			}
			return r.run(ctx, q, string(off), follow)
		},
	}
}

// reader runs "rewind read": pages through /v1/events and prints them.
type reader struct {
	c           *cli
	name        string // the stream or the category read
	category    bool   // print each event's stream
	limit       int
	printed     int
	cols        *columns
	failures    int    // requests failed in a row while following
	lastFailure string // the last failure told in full
	cut         []byte // a character a terminal's chunk ended in the middle of
}

// Backoff of "read --follow" while the server is away: it waits
// retryFirst after the first failure, twice as long after each next one,
// at most retryMax, and goes on from the offset it had reached.
const (
	retryFirst = 250 * time.Millisecond
	retryMax   = 5 * time.Second
)

// retry reports whether a follow goes on after err: a transient failure
// (the server restarting, a network error) is told on stderr, waited out
// with a backoff and retried, until ctx ends.
func (r *reader) retry(ctx context.Context, err error, from string) bool {
	var ee *exitError
	if !errors.As(err, &ee) || !ee.transient {
		return false
	}
	delay := retryFirst << min(r.failures, 5)
	delay = min(delay, retryMax)
	// The whole reason once, then one line a try: the same two-line
	// message every few seconds buries what the reader wants to see.
	again := ""
	if r.failures == 0 || ee.msg != r.lastFailure {
		fmt.Fprintf(r.c.stderr, "%s: %s\n", r.c.name, ee.msg)
		r.lastFailure = ee.msg
	} else {
		again = fmt.Sprintf("the same again (try %d); ", r.failures+1)
	}
	r.failures++
	fmt.Fprintf(r.c.stderr, "%s: %sreconnecting in %v, from offset %s\n", r.c.name, again, delay, from)
	return ctxsleep.Sleep(ctx, delay) == nil
}

// reconnected tells, after failures that retry waited out, that the
// follow is back, and starts the backoff afresh.
func (r *reader) reconnected(from string) {
	if r.failures > 0 {
		fmt.Fprintf(r.c.stderr, "%s: reconnected, going on from offset %s\n", r.c.name, from)
		r.failures, r.lastFailure = 0, ""
	}
}

func (r *reader) run(ctx context.Context, q url.Values, from string, follow bool) error {
	caughtUp := false
	for {
		n := readPage
		if r.limit > 0 && r.limit-r.printed < n {
			n = r.limit - r.printed
		}
		q.Set("from", from)
		q.Set("limit", strconv.Itoa(n))
		wait := time.Duration(0)
		if caughtUp && follow {
			wait = followWait
			q.Set("wait", wait.String())
		}
		var ans struct {
			Events []logEvent `json:"events"`
			Next   string     `json:"next"`
			Closed bool       `json:"closed"`
		}
		raw, _, err := r.c.client.do(ctx, "GET", "/v1/events", q, nil, wait)
		if err == nil {
			err = decodeAnswer("/v1/events", raw, &ans)
		}
		if err != nil {
			if follow && ctx.Err() != nil {
				return r.end(from) // Ctrl-C is how a follow ends
			}
			if follow && r.retry(ctx, err, from) {
				continue
			}
			if follow && ctx.Err() != nil {
				return r.end(from) // Ctrl-C while reconnecting ends it as well
			}
			return err
		}
		r.reconnected(from)
		if err := r.print(ans.Events); err != nil {
			return err
		}
		if ans.Next != "" {
			from = ans.Next
		}
		if r.limit > 0 && r.printed >= r.limit {
			return r.end(from)
		}
		if ans.Closed && follow {
			r.closed()
			return r.end(from)
		}
		if len(ans.Events) == 0 {
			if !follow {
				return r.end(from)
			}
			caughtUp = true
		}
	}
}

func (r *reader) print(events []logEvent) error {
	c := r.c
	for _, e := range events {
		r.printed++
		if c.json {
			b, err := json.Marshal(e)
			if err != nil {
				return err
			}
			if _, err := fmt.Fprintf(c.stdout, "%s\n", b); err != nil {
				return err
			}
			continue
		}
		if r.cols == nil {
			r.cols = r.header()
		}
		cells := []string{c.localTime(e.StoredAt)}
		if r.category {
			cells = append(cells, e.Stream)
		}
		cells = append(cells, strconv.FormatUint(e.Version, 10), e.Type, compactJSON(e.Data))
		if err := r.cols.print(c.stdout, cells...); err != nil {
			return err
		}
	}
	return nil
}

func (r *reader) header() *columns {
	names := []string{"STORED AT"}
	if r.category {
		names = append(names, "STREAM")
	}
	names = append(names, "VERSION", "TYPE", "DATA")
	cols := newColumns(terminalWidth(r.c.stdout), names...)
	cols.color = useColor(r.c.stdout)
	cols.styles = make([]string, len(names))
	cols.styles[len(names)-2] = styleType
	// Typical widths, so that the first rows do not set them too narrow
	// for the ones that follow.
	cols.widen(0, len(timeLayout)+1)
	if r.category {
		cols.widen(1, 24)
	}
	cols.widen(len(names)-2, 16)
	_ = cols.printHeader(r.c.stdout, names...)
	return cols
}

// end reports where the read ended, so that it can go on from there.
// closed tells that a follow stops because its stream is closed: nothing
// will ever come after what it printed.
func (r *reader) closed() {
	fmt.Fprintf(r.c.stderr, "%s: the stream is closed; nothing more will come\n", r.c.name)
}

func (r *reader) end(next string) error {
	if len(r.cut) > 0 {
		// The stream ends in the middle of a character: its bytes.
		for _, b := range r.cut {
			fmt.Fprintf(r.c.stdout, `\x%02x`, b)
		}
		r.cut = nil
	}
	if r.c.json {
		return nil
	}
	if r.printed == 0 {
		fmt.Fprintln(r.c.stdout, "no events")
	}
	line := fmt.Sprintf("next offset: %s (%s goes on from here)", next, r.resumeCommand(next))
	width := terminalWidth(r.c.stdout)
	if width == 0 || cellWidth(line) <= width {
		_, err := fmt.Fprintln(r.c.stdout, line)
		return err
	}
	// Too wide for the terminal: the offset, then the command on a line
	// of its own, broken (as a shell reads it) where it must be.
	lines := append(wrapWords("next offset: "+next+", to go on from here:", width, ""),
		breakCommand(r.resumeCommandWords(next), width)...)
	_, err := fmt.Fprintln(r.c.stdout, strings.Join(lines, "\n"))
	return err
}

// breakCommand lays out a command's words in lines of at most width
// columns, each line but the last ending with " \\" so that the whole
// pastes into a shell as one command; a word is never broken.
func breakCommand(words []string, width int) []string {
	var lines []string
	line := ""
	for _, w := range words {
		switch {
		case line == "":
			line = w
		case cellWidth(line)+1+cellWidth(w)+2 <= width:
			line += " " + w
		default:
			lines = append(lines, line+" \\")
			line = "  " + w
		}
	}
	return append(lines, line)
}

// resumeCommand is the command line that reads on from next: the same
// stream or category, on the same server, ready to paste (but for a
// password in the server's URL, which it does not print).
func (r *reader) resumeCommand(next string) string {
	return strings.Join(r.resumeCommandWords(next), " ")
}

// resumeCommandWords is resumeCommand in words, a flag with its value
// for one, to be broken between them.
func (r *reader) resumeCommandWords(next string) []string {
	words := []string{"rewind read " + shellQuote(r.name)}
	if r.c.server != strings.TrimRight(envOr("REWIND_SERVER", defaultServer), "/") {
		words = append(words, "--server "+shellQuote(eventstore.RedactURL(r.c.server)))
	}
	return append(words, "--from "+next)
}

// shellQuote quotes s for a POSIX shell when it holds anything but the
// characters of names, URLs and offsets.
func shellQuote(s string) string {
	safe := s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:@%+=,", r))
	}) < 0
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// noCategory is the error for a category no stream with events has, with
// the nearest of the categories of the server's first page of streams
// when the name looks like a typo of one.
func noCategory(ctx context.Context, a *apiClient, name string) error {
	msg := fmt.Sprintf("no stream of category %q has events", name)
	var page struct {
		Streams []streamInfo `json:"streams"`
	}
	if _, err := a.getJSON(ctx, "/v1/streams", nil, &page); err == nil {
		var cats []string
		for _, st := range page.Streams {
			if cat, _, _ := strings.Cut(st.Name, "/"); !slices.Contains(cats, cat) {
				cats = append(cats, cat)
			}
		}
		if c := closest(name, cats); c != "" {
			msg += fmt.Sprintf("; did you mean %q?", c)
		}
	}
	return &exitError{code: exitNotFound, msg: msg + ` ("rewind streams" lists the streams)`}
}

// resolveRead finds what "rewind read NAME" reads and returns its query: a
// name without "/" is a category; any other name is first the stream of
// exactly that name (as "rewind streams" prints it), and only if no such
// stream has events, for "<category>/<id>", the aggregate's stream
// "<category>/<id>/events". A stream or category without events is an
// error with the exit code of a missing stream, never an empty read of
// another name.
func resolveRead(ctx context.Context, a *apiClient, name string) (url.Values, error) {
	if name == "" {
		return nil, usageErr("the stream or category is empty")
	}
	if !strings.Contains(name, "/") {
		q := url.Values{"category": {name}}
		ok, err := hasEvents(ctx, a, q)
		if err != nil || ok {
			return q, err
		}
		return nil, noCategory(ctx, a, name)
	}
	candidates := []string{name}
	if parts := strings.Split(name, "/"); len(parts) == 2 && parts[0] != "" && parts[1] != "" {
		candidates = append(candidates, name+"/events")
	}
	for _, stream := range candidates {
		q := url.Values{"stream": {stream}}
		ok, err := hasEvents(ctx, a, q)
		if err != nil || ok {
			return q, err
		}
	}
	also := ""
	if len(candidates) == 2 {
		also = fmt.Sprintf(" (nor %q)", candidates[1])
	}
	return nil, &exitError{code: exitNotFound, msg: fmt.Sprintf(
		"no stream %q%s: \"rewind streams\" lists the streams", name, also)}
}

// hasEvents reports whether the stream or category of q holds an event:
// a stream exists once it has one.
func hasEvents(ctx context.Context, a *apiClient, q url.Values) (bool, error) {
	probe := url.Values{"from": {"-1"}, "limit": {"1"}}
	for k, v := range q {
		probe[k] = v
	}
	var ans struct {
		Events []json.RawMessage `json:"events"`
	}
	if _, err := a.getJSON(ctx, "/v1/events", probe, &ans); err != nil {
		return false, err
	}
	return len(ans.Events) > 0, nil
}
