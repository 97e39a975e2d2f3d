package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/url"
	"strconv"
	"time"
)

// stateAnswer is the answer of GET /v1/state (and each side of a diff).
type stateAnswer struct {
	Category string          `json:"category"`
	ID       string          `json:"id"`
	Stream   string          `json:"stream"`
	Version  uint64          `json:"version"`
	At       *string         `json:"at"`
	State    json.RawMessage `json:"state"`
}

// change is one field a diff or an event changed.
type change struct {
	Path string          `json:"path"`
	From json.RawMessage `json:"from"`
	To   json.RawMessage `json:"to"`
}

// aggEvent is an event of a timeline or a diff.
type aggEvent struct {
	Version  uint64          `json:"version"`
	Offset   string          `json:"offset"`
	Type     string          `json:"type"`
	StoredAt string          `json:"storedAt"`
	Data     json.RawMessage `json:"data"`
	Changes  []change        `json:"changes"`
}

func stateCommand() command {
	var version, at string
	return command{
		name:    "state",
		args:    "<stream> [--version N | --at TIME]",
		summary: "show an aggregate's state now, after a version or at a time",
		help: `Shows the state of one aggregate instance, folded by the server from its
events: now, after event N (--version), or after every event stored at or
before a time (--at). The stream is "orders/<id>/events" or "orders/<id>".

` + timeHelpParagraph(),
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&version, "version", "", "the state after this version (1 is the first event)")
			fs.StringVar(&at, "at", "", "the state as of this time")
		},
		run: func(ctx context.Context, c *cli, args []string) error {
			if err := wantArgs(args, 1, 1, "stream (like orders/ord-0042/events)"); err != nil {
				return err
			}
			ref, err := parseAggregate(args[0])
			if err != nil {
				return err
			}
			q := url.Values{}
			switch {
			case version != "" && at != "":
				return usageErr("usage: give --version or --at, not both")
			case version != "":
				v, err := parseVersion("--version", version)
				if err != nil {
					return err
				}
				q.Set("version", strconv.FormatUint(v, 10))
			case at != "":
				t, err := parseTime("--at", at, time.Now(), c.loc)
				if err != nil {
					return err
				}
				q.Set("at", t.UTC().Format(time.RFC3339Nano))
			}
			var ans stateAnswer
			raw, err := c.client.getJSON(ctx, "/v1/state/"+ref.path(), q, &ans)
			if err != nil {
				return err
			}
			if c.json {
				return c.printJSON(raw)
			}
			return c.printState(ans, q.Get("at"))
		},
	}
}

// pointLine says where in a stream's history a state is.
func (c *cli) pointLine(s stateAnswer) string {
	if s.Version == 0 {
		return "version 0, before the first event (the initial state)"
	}
	at := "-"
	if s.At != nil {
		at = c.localTime(*s.At)
	}
	return fmt.Sprintf("version %d, stored %s", s.Version, at)
}

func (c *cli) printState(s stateAnswer, asOf string) error {
	if asOf != "" {
		fmt.Fprintf(c.stdout, "%s as of %s:\n", s.Stream, c.localTime(asOf))
		if s.Version == 0 {
			fmt.Fprintln(c.stdout, "at version 0, before the first event: none was stored at or before then (the initial state)")
		} else {
			fmt.Fprintf(c.stdout, "at %s (the last event stored at or before it)\n", c.pointLine(s))
		}
	} else {
		fmt.Fprintf(c.stdout, "%s at %s\n", s.Stream, c.pointLine(s))
	}
	fmt.Fprintln(c.stdout)
	fields, err := flatten(s.State)
	if err != nil {
		return &exitError{code: exitServer, msg: err.Error()}
	}
	tw := newTable(c.stdout)
	row(tw, "FIELD", "VALUE")
	for _, f := range fields {
		path := f.path
		if path == "" {
			path = "(state)"
		}
		tw.rowFit(cutFit(cellText(f.value)), path, f.value)
	}
	return tw.Flush()
}

// cutFit shows a cell on one line of the room it is given, shortened
// with "…" when longer, as the width policy cuts a last column; beside a
// field too long to leave it room, it goes on the line under the field.
func cutFit(s string) fitFunc {
	return func(room int, _ bool) []string { return []string{shorten(s, room)} }
}

func diffCommand() command {
	var from, to string
	return command{
		name:    "diff",
		args:    "<stream> --from X --to Y",
		summary: "show what changed in an aggregate between two points",
		help: `Shows the fields of an aggregate's state that changed between two points of
its history, and the events in between. X and Y are versions (3) or times
(TIME).

` + timeHelpParagraph(),
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&from, "from", "", "the earlier point: a version or a time (0 is the initial state)")
			fs.StringVar(&to, "to", "", "the later point: a version or a time")
		},
		run: func(ctx context.Context, c *cli, args []string) error {
			if err := wantArgs(args, 1, 1, "stream (like orders/ord-0042/events)"); err != nil {
				return err
			}
			ref, err := parseAggregate(args[0])
			if err != nil {
				return err
			}
			if from == "" || to == "" {
				return usageErr("usage: give both --from and --to")
			}
			now := time.Now()
			f, err := parsePoint("--from", from, now, c.loc)
			if err != nil {
				return err
			}
			t, err := parsePoint("--to", to, now, c.loc)
			if err != nil {
				return err
			}
			var ans struct {
				From    stateAnswer `json:"from"`
				To      stateAnswer `json:"to"`
				Changes []change    `json:"changes"`
				Events  []aggEvent  `json:"events"`
				More    int         `json:"more"`
			}
			raw, err := c.client.getJSON(ctx, "/v1/diff/"+ref.path(), url.Values{"from": {f}, "to": {t}}, &ans)
			if err != nil {
				return err
			}
			if c.json {
				return c.printJSON(raw)
			}
			fmt.Fprintf(c.stdout, "%s\n  from %s\n    to %s\n\n", ans.To.Stream, c.pointLine(ans.From), c.pointLine(ans.To))
			if len(ans.Changes) == 0 {
				fmt.Fprintln(c.stdout, "no field changed")
			} else {
				if err := c.printChanges(ans.Changes); err != nil {
					return err
				}
			}
			if len(ans.Events) == 0 {
				return nil
			}
			fmt.Fprintf(c.stdout, "\n%s in between:\n", plural(len(ans.Events)+ans.More, "event"))
			if err := c.printEvents(ans.Events); err != nil {
				return err
			}
			if ans.More > 0 {
				fmt.Fprintf(c.stdout, "… and %s more (rewind timeline %s lists them all)\n", groupDigits(int64(ans.More)), ans.To.Stream)
			}
			return nil
		},
	}
}

// jsonOrDash shows a changed value; a field that was absent (null) is "-".
func jsonOrDash(v json.RawMessage) string {
	s := compactJSON(v)
	if s == "null" {
		return "-"
	}
	return s
}

// printEvents prints events with the fields each changed, one change a
// line.
func (c *cli) printEvents(events []aggEvent) error {
	tw := newTable(c.stdout).style(2, styleType)
	row(tw, "VERSION", "STORED AT", "TYPE", "CHANGED")
	for _, e := range events {
		c.eventRows(tw, e)
	}
	return tw.Flush()
}

func (c *cli) eventRows(tw *table, e aggEvent) {
	lead := []string{strconv.FormatUint(e.Version, 10), c.localTime(e.StoredAt), e.Type}
	if len(e.Changes) == 0 {
		row(tw, append(lead, "(no field)")...)
		return
	}
	for i, ch := range e.Changes {
		if i > 0 {
			lead = []string{"", "", ""}
		}
		tw.rowFit(changeFit(ch), append(lead, describeChange(ch))...)
	}
}

// changeFit shows a change in the room a terminal leaves: on one line as
// describeChange does when it fits, or else with the old and the new
// value on lines of their own, each broken over more lines if it must be,
// never cut.
func changeFit(ch change) fitFunc {
	ch.Path = cellText(ch.Path)
	return func(room int, _ bool) []string {
		if one := describeChange(ch); cellWidth(one) <= room {
			return []string{one}
		}
		from, to := compactJSON(ch.From), compactJSON(ch.To)
		var parts []string
		switch {
		case from == "null" || from == "-":
			parts = []string{ch.Path + " =", "  " + to}
		case to == "null" || to == "-":
			parts = []string{ch.Path + " removed, was", "  " + from}
		case cellWidth(ch.Path+": "+from+" →") <= room:
			parts = []string{ch.Path + ": " + from + " →", "  " + to}
		default:
			parts = []string{ch.Path + ":", "  " + from + " →", "  " + to}
		}
		var lines []string
		for _, p := range parts {
			lines = append(lines, wrapHard(p, room, "  ")...)
		}
		return lines
	}
}

// printChanges prints the fields a diff changed: FIELD, FROM and TO in
// columns; on a terminal too narrow for them, FIELD and the change, with
// the old and the new value on lines of their own when they do not fit
// on one, so that no value is cut.
func (c *cli) printChanges(changes []change) error {
	tw := newTable(c.stdout).style(1, styleFrom).style(2, styleTo)
	if width := terminalWidth(c.stdout); width > 0 && !changesFit(changes, width) {
		tw = newTable(c.stdout)
		row(tw, "FIELD", "FROM → TO")
		for _, ch := range changes {
			from, to := jsonOrDash(ch.From), jsonOrDash(ch.To)
			tw.rowFit(diffFit(from, to), ch.Path, from+" → "+to)
		}
		return tw.Flush()
	}
	row(tw, "FIELD", "FROM", "TO")
	for _, ch := range changes {
		row(tw, ch.Path, jsonOrDash(ch.From), jsonOrDash(ch.To))
	}
	return tw.Flush()
}

// changesFit reports whether the FIELD, FROM and TO columns of changes
// fit in width.
func changesFit(changes []change, width int) bool {
	field, from, to := len("FIELD"), len("FROM"), len("TO")
	for _, ch := range changes {
		field = max(field, cellWidth(ch.Path))
		from = max(from, cellWidth(jsonOrDash(ch.From)))
		to = max(to, cellWidth(jsonOrDash(ch.To)))
	}
	return field+2+from+2+to <= width
}

// diffFit shows one change of a diff in the room left beside its field:
// "from → to", or the old value and then the new on lines of their own.
func diffFit(from, to string) fitFunc {
	return func(room int, color bool) []string {
		if cellWidth(from)+3+cellWidth(to) <= room {
			return []string{paint(color, styleFrom, from) + " → " + paint(color, styleTo, to)}
		}
		var lines []string
		for _, l := range wrapHard(from+" →", room, "  ") {
			lines = append(lines, paint(color, styleFrom, l))
		}
		for _, l := range wrapHard(to, room, "  ") {
			lines = append(lines, paint(color, styleTo, l))
		}
		return lines
	}
}

// describeChange shows one change: "status: "placed" → "paid"", or with
// "+"/"-" a field that appeared or went away.
func describeChange(ch change) string {
	from, to := compactJSON(ch.From), compactJSON(ch.To)
	switch {
	case from == "null" || from == "-":
		return fmt.Sprintf("%s = %s", ch.Path, to)
	case to == "null" || to == "-":
		return fmt.Sprintf("%s removed (was %s)", ch.Path, from)
	}
	return fmt.Sprintf("%s: %s → %s", ch.Path, from, to)
}

func timelineCommand() command {
	return command{
		name:    "timeline",
		args:    "<stream>",
		summary: "list an aggregate's events with the fields each one changed",
		help: `Lists every event of one aggregate instance with its version, its store time
and the fields of the state it changed, oldest first. The stream is
"orders/<id>/events" or "orders/<id>".
`,
		run: func(ctx context.Context, c *cli, args []string) error {
			if err := wantArgs(args, 1, 1, "stream (like orders/ord-0042/events)"); err != nil {
				return err
			}
			ref, err := parseAggregate(args[0])
			if err != nil {
				return err
			}
			// The server answers the timeline a page at a time: follow
			// next to the end.
			var ans struct {
				Category string            `json:"category"`
				ID       string            `json:"id"`
				Stream   string            `json:"stream"`
				Version  uint64            `json:"version"`
				Events   []aggEvent        `json:"events"`
				Raw      []json.RawMessage `json:"-"`
			}
			for from := uint64(1); ; {
				var page struct {
					Category string            `json:"category"`
					ID       string            `json:"id"`
					Stream   string            `json:"stream"`
					Version  uint64            `json:"version"`
					Next     *uint64           `json:"next"`
					Events   []json.RawMessage `json:"events"`
				}
				q := url.Values{"from": {strconv.FormatUint(from, 10)}}
				if _, err := c.client.getJSON(ctx, "/v1/timeline/"+ref.path(), q, &page); err != nil {
					return err
				}
				ans.Category, ans.ID, ans.Stream, ans.Version = page.Category, page.ID, page.Stream, page.Version
				for _, raw := range page.Events {
					var e aggEvent
					if err := json.Unmarshal(raw, &e); err != nil {
						return &exitError{code: exitServer, msg: fmt.Sprintf("the server's timeline is not what rewind reads: %v", err)}
					}
					ans.Events = append(ans.Events, e)
					ans.Raw = append(ans.Raw, raw)
				}
				if page.Next == nil || *page.Next <= from {
					break
				}
				from = *page.Next
			}
			if c.json {
				return c.printJSONValue(map[string]any{"category": ans.Category, "id": ans.ID, "stream": ans.Stream,
					"version": ans.Version, "events": ans.Raw})
			}
			fmt.Fprintf(c.stdout, "%s: %s\n\n", ans.Stream, plural(len(ans.Events), "event"))
			return c.printEvents(ans.Events)
		},
	}
}
