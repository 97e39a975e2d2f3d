package main

import (
	"strconv"
	"strings"
	"time"
)

// The human forms of a time that parseTime reads after the exact layouts,
// relative to now and in now's location: "now"; a while ago ("90m ago",
// "3 hours ago", "an hour ago", "2 days ago", "1 week ago"); a day with an
// optional time of day ("today", "yesterday 15:00", "last monday 3pm",
// "Dec 4 15:00", "4 December 2026"); or a time of day alone, the latest
// such time not after now (today's, or yesterday's when today's is still
// to come: there is no state in the future to travel to).
// No library on offer reads these forms with the guarantees we want (an
// error, never a guess, for what it cannot read), so this is ours, with
// its table in input_test.go.

// parseRelative reads a human time relative to now, in now's location.
func parseRelative(s string, now time.Time) (time.Time, bool) {
	f := strings.Fields(strings.ToLower(s))
	switch {
	case len(f) == 0:
		return time.Time{}, false
	case len(f) == 1 && f[0] == "now":
		return now, true
	case f[len(f)-1] == "ago":
		return parseAgo(f[:len(f)-1], now)
	}
	day, rest, dayGiven := parseDay(f, now)
	if !dayGiven {
		day, rest = now, f
	} else if len(rest) == 0 {
		return day, true // midnight of that day
	}
	h, m, sec, ok := parseClock(strings.Join(rest, ""))
	if !ok {
		return time.Time{}, false
	}
	y, mo, d := day.Date()
	t := time.Date(y, mo, d, h, m, sec, 0, now.Location())
	if !dayGiven && t.After(now) {
		// A time of day alone is the latest such time: "3pm" at 2 am is
		// yesterday's.
		t = time.Date(y, mo, d-1, h, m, sec, 0, now.Location())
	}
	return t, true
}

// units are the units of "<n> <unit> ago" that have a fixed length;
// days and weeks are calendar days (AddDate), the same clock time.
var units = map[string]time.Duration{
	"s": time.Second, "sec": time.Second, "secs": time.Second, "second": time.Second, "seconds": time.Second,
	"m": time.Minute, "min": time.Minute, "mins": time.Minute, "minute": time.Minute, "minutes": time.Minute,
	"h": time.Hour, "hr": time.Hour, "hrs": time.Hour, "hour": time.Hour, "hours": time.Hour,
}

// parseAgo reads what comes before "ago": a Go duration ("90m", "1h30m")
// or a count and a unit ("3 hours", "an hour", "2 days", "1 week").
func parseAgo(f []string, now time.Time) (time.Time, bool) {
	switch len(f) {
	case 1:
		d, err := time.ParseDuration(f[0])
		if err != nil || d < 0 {
			return time.Time{}, false
		}
		return now.Add(-d), true
	case 2:
		n, err := strconv.Atoi(f[0])
		if f[0] == "a" || f[0] == "an" {
			n, err = 1, nil
		}
		if err != nil || n < 0 || n > 1_000_000 {
			return time.Time{}, false
		}
		switch f[1] {
		case "d", "day", "days":
			return now.AddDate(0, 0, -n), true
		case "w", "week", "weeks":
			return now.AddDate(0, 0, -7*n), true
		}
		if u, ok := units[f[1]]; ok {
			return now.Add(-time.Duration(n) * u), true
		}
	}
	return time.Time{}, false
}

// parseDay reads the day at the start of f ("today", "yesterday", "last
// monday", "Dec 4 [2026]", "4 Dec [2026]") and returns its midnight and
// the fields after it.
func parseDay(f []string, now time.Time) (time.Time, []string, bool) {
	y, mo, d := now.Date()
	today := time.Date(y, mo, d, 0, 0, 0, 0, now.Location())
	switch {
	case f[0] == "today":
		return today, f[1:], true
	case f[0] == "yesterday":
		return today.AddDate(0, 0, -1), f[1:], true
	case f[0] == "last" && len(f) > 1:
		wd, ok := weekday(f[1])
		if !ok {
			return time.Time{}, nil, false
		}
		// The latest such day before today: last monday, on a Monday,
		// is a week ago.
		back := (int(today.Weekday())-int(wd)+6)%7 + 1
		return today.AddDate(0, 0, -back), f[2:], true
	}
	return parseDate(f, now)
}

// parseDate reads "<month> <day> [year]" or "<day> <month> [year]"; without
// a year it is the latest such date that is not after today.
func parseDate(f []string, now time.Time) (time.Time, []string, bool) {
	if len(f) < 2 {
		return time.Time{}, nil, false
	}
	mo, ok := month(f[0])
	dayField := f[1]
	if !ok {
		if mo, ok = month(f[1]); !ok {
			return time.Time{}, nil, false
		}
		dayField = f[0]
	}
	d, err := strconv.Atoi(strings.TrimRight(dayField, ","))
	if err != nil || d < 1 || d > 31 {
		return time.Time{}, nil, false
	}
	rest := f[2:]
	y, yearGiven := now.Year(), false
	if len(rest) > 0 && len(rest[0]) == 4 {
		if yy, err := strconv.Atoi(rest[0]); err == nil {
			y, yearGiven, rest = yy, true, rest[1:]
		}
	}
	t := time.Date(y, mo, d, 0, 0, 0, 0, now.Location())
	if t.Day() != d {
		return time.Time{}, nil, false // Feb 30
	}
	if !yearGiven && t.After(now) {
		t = time.Date(y-1, mo, d, 0, 0, 0, 0, now.Location())
		if t.Day() != d {
			return time.Time{}, nil, false
		}
	}
	return t, rest, true
}

// parseClock reads a time of day: "15:04", "15:04:05", "3pm", "3:30pm".
func parseClock(s string) (h, m, sec int, ok bool) {
	for _, layout := range []string{"15:04:05", "15:04", "3pm", "3:04pm", "3:04:05pm"} {
		if c, err := time.Parse(layout, s); err == nil {
			h, m, sec = c.Clock()
			return h, m, sec, true
		}
	}
	return 0, 0, 0, false
}

func weekday(s string) (time.Weekday, bool) {
	for d := time.Sunday; d <= time.Saturday; d++ {
		name := strings.ToLower(d.String())
		if s == name || s == name[:3] {
			return d, true
		}
	}
	return 0, false
}

func month(s string) (time.Month, bool) {
	s = strings.TrimRight(s, ".,")
	for m := time.January; m <= time.December; m++ {
		name := strings.ToLower(m.String())
		if len(s) >= 3 && strings.HasPrefix(name, s) {
			return m, true
		}
	}
	return 0, false
}
