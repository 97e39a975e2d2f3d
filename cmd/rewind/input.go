package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/rewindhq/rewind/eventstore"
)

// aggregateRef names one aggregate instance: its category and id, which
// the /v1/ endpoints take as a path.
type aggregateRef struct {
	category, id string
}

func (r aggregateRef) path() string { return r.category + "/" + r.id }

// stream is the instance's stream under the default naming of package
// aggregate.
func (r aggregateRef) stream() string { return r.category + "/" + r.id + "/events" }

// parseAggregate reads "<category>/<id>/events" or "<category>/<id>". An
// aggregate id cannot hold "/" (aggregate.ErrInvalidID), so the two forms
// are unambiguous.
func parseAggregate(s string) (aggregateRef, error) {
	parts := strings.Split(s, "/")
	if len(parts) == 3 && parts[2] == "events" {
		parts = parts[:2]
	}
	if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
		return aggregateRef{}, usageErr("%q is not an aggregate's stream: want <category>/<id>/events or <category>/<id> (like orders/ord-0042/events)", s)
	}
	return aggregateRef{category: parts[0], id: parts[1]}, nil
}

// parseOffset checks an offset given on the command line before the
// server sees it.
func parseOffset(flagName, s string) (eventstore.Offset, error) {
	off, err := eventstore.ParseOffset(s)
	if err != nil {
		return "", usageErr("%s %q is not an offset: want one the server handed out (like 00000000000000000042_999999, as \"rewind read\" and \"rewind streams\" show them), -1 for the start, or now", flagName, s)
	}
	return off, nil
}

// parseVersion checks a version given on the command line.
func parseVersion(flagName, s string) (uint64, error) {
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, usageErr("%s %q is not a version: want a whole number, 1 for the first event (0 for the state before any)", flagName, s)
	}
	return v, nil
}

// timeHelp lists the time forms parseTime accepts, for messages and help.
const timeHelp = `a date and time in local time ("2026-08-20 15:04", "2026-08-20", "Dec 4 15:00", "4 Dec 2026"), RFC 3339 ("2026-08-20T15:04:05Z"), a day and an optional time ("today 09:30", "yesterday 15:00", "last monday 15:00", "15:04" for the latest 15:04, "3pm"), or a while ago ("90m ago", "3 hours ago", "2 days ago", "1 week ago")`

// timeHelpParagraph explains TIME in a command's --help, wrapped.
func timeHelpParagraph() string {
	return wrapParagraph("TIME is "+timeHelp+". A time without a zone is in local time, like the times this tool prints.", helpWidth) + "\n"
}

// localLayouts are the forms of a time without a zone, read in local time.
var localLayouts = []string{
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04",
	"2006-01-02T15:04",
	"2006-01-02",
}

// parseTime reads a point in time as people type it: RFC 3339, or a
// date and time in the local zone, or a named day with an optional time,
// or a while ago (humantime.go). A time without a zone is local because that is the time
// the human output shows.
func parseTime(flagName, s string, now time.Time, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	for _, layout := range localLayouts {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	if t, ok := parseRelative(s, now.In(loc)); ok {
		return t, nil
	}
	// The forms on lines of their own: one line of them is 300 columns.
	return time.Time{}, usageErr("%s %q is not a time.\n%s", flagName, s, wrapParagraph("Use "+timeHelp+".", helpWidth))
}

// parsePoint reads a point of a stream's history given as a version or a
// time, in the form the /v1/ endpoints take it: the version's digits or
// the time in RFC 3339 (UTC, nanoseconds).
func parsePoint(flagName, s string, now time.Time, loc *time.Location) (string, error) {
	if s == "" {
		return "", usageErr("%s is empty: want a version (like 3) or a time (%s)", flagName, timeHelp)
	}
	if isDigits(s) {
		v, err := parseVersion(flagName, s)
		if err != nil {
			return "", err
		}
		return strconv.FormatUint(v, 10), nil
	}
	if strings.HasPrefix(s, "-") && isDigits(s[1:]) {
		return "", usageErr("%s %q is not a version: versions start at 1 (0 is the state before any event)", flagName, s)
	}
	t, err := parseTime(flagName, s, now, loc)
	if err != nil {
		return "", usageErr("%s %q is neither a version (like 3) nor a time: use %s", flagName, s, timeHelp)
	}
	return t.UTC().Format(time.RFC3339Nano), nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// describePoint says how a point was given, for messages.
func describePoint(p string) string {
	if isDigits(p) {
		return "version " + p
	}
	return fmt.Sprintf("time %s", p)
}
