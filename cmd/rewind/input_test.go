package main

import (
	"flag"
	"io"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // Europe/Paris whatever the machine has
)

func TestParseTime(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 10, 18, 30, 0, 0, paris)
	for _, c := range []struct {
		in   string
		want time.Time
	}{
		{"2026-03-09T15:00:00Z", time.Date(2026, 3, 9, 15, 0, 0, 0, time.UTC)},
		{"2026-03-09T15:00:00.25+02:00", time.Date(2026, 3, 9, 13, 0, 0, 250e6, time.UTC)},
		{"2026-03-09 15:04", time.Date(2026, 3, 9, 15, 4, 0, 0, paris)},
		{"2026-03-09 15:04:05", time.Date(2026, 3, 9, 15, 4, 5, 0, paris)},
		{"2026-03-09 15:04:05.123", time.Date(2026, 3, 9, 15, 4, 5, 123e6, paris)},
		{"2026-03-09T15:04", time.Date(2026, 3, 9, 15, 4, 0, 0, paris)},
		{"2026-03-09", time.Date(2026, 3, 9, 0, 0, 0, 0, paris)},
		{"yesterday 15:00", time.Date(2026, 3, 9, 15, 0, 0, 0, paris)},
		{"Yesterday 15:00:30", time.Date(2026, 3, 9, 15, 0, 30, 0, paris)},
		{"yesterday", time.Date(2026, 3, 9, 0, 0, 0, 0, paris)},
		{"today 09:30", time.Date(2026, 3, 10, 9, 30, 0, 0, paris)},
		{"09:30", time.Date(2026, 3, 10, 9, 30, 0, 0, paris)},
		{"now", now},
		{"90m ago", now.Add(-90 * time.Minute)},
		{" 2h ago ", now.Add(-2 * time.Hour)},
		// Human forms (humantime.go); now is Tuesday 10 March 2026.
		{"3 hours ago", now.Add(-3 * time.Hour)},
		{"an hour ago", now.Add(-time.Hour)},
		{"45 min ago", now.Add(-45 * time.Minute)},
		{"2 days ago", time.Date(2026, 3, 8, 18, 30, 0, 0, paris)},
		{"1 day ago", time.Date(2026, 3, 9, 18, 30, 0, 0, paris)},
		{"1 week ago", time.Date(2026, 3, 3, 18, 30, 0, 0, paris)},
		{"last monday", time.Date(2026, 3, 9, 0, 0, 0, 0, paris)},
		{"last monday 15:00", time.Date(2026, 3, 9, 15, 0, 0, 0, paris)},
		{"Last Tuesday 15:00", time.Date(2026, 3, 3, 15, 0, 0, 0, paris)}, // today is Tuesday: a week ago
		{"last sun 3pm", time.Date(2026, 3, 8, 15, 0, 0, 0, paris)},
		{"Dec 4 15:00", time.Date(2025, 12, 4, 15, 0, 0, 0, paris)}, // the latest Dec 4 not after now
		{"Mar 10", time.Date(2026, 3, 10, 0, 0, 0, 0, paris)},
		{"march 9 09:15:30", time.Date(2026, 3, 9, 9, 15, 30, 0, paris)},
		{"4 December 2026 15:00", time.Date(2026, 12, 4, 15, 0, 0, 0, paris)},
		{"Dec 4, 2024", time.Date(2024, 12, 4, 0, 0, 0, 0, paris)},
		{"3pm", time.Date(2026, 3, 10, 15, 0, 0, 0, paris)},
		{"18:30", time.Date(2026, 3, 10, 18, 30, 0, 0, paris)}, // now itself
		{"9pm", time.Date(2026, 3, 9, 21, 0, 0, 0, paris)},     // still to come today: yesterday's
		{"today 9pm", time.Date(2026, 3, 10, 21, 0, 0, 0, paris)},
		{"yesterday 3:30pm", time.Date(2026, 3, 9, 15, 30, 0, 0, paris)},
		{"today 9:05 am", time.Date(2026, 3, 10, 9, 5, 0, 0, paris)},
	} {
		got, err := parseTime("--at", c.in, now, paris)
		if err != nil || !got.Equal(c.want) {
			t.Errorf("parseTime(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "tomorrow", "yesterday noon", "25:00", "2026-13-01", "-2h ago", "2h", "15", "2026-03-09 15",
		"3 fortnights ago", "-3 days ago", "ago", "last", "last friday-ish", "next monday", "Feb 30", "Dec 32", "Dec", "4 Decembre",
		"last monday 25:00", "3 days", "monday"} {
		got, err := parseTime("--at", bad, now, paris)
		if err == nil {
			t.Errorf("parseTime(%q) = %v, want an error", bad, got)
			continue
		}
		// The message shows forms that work.
		for _, example := range []string{"3 hours ago", "last monday 15:00", "Dec 4 15:00", "2026-08-20 15:04"} {
			if !strings.Contains(err.Error(), example) {
				t.Errorf("parseTime(%q): %v does not show %q", bad, err, example)
			}
		}
	}
	// Every example the message shows is read.
	for _, example := range regexp.MustCompile(`"([^"]+)"`).FindAllStringSubmatch(timeHelp, -1) {
		if _, err := parseTime("--at", example[1], now, paris); err != nil {
			t.Errorf("timeHelp shows %q, which parseTime refuses: %v", example[1], err)
		}
	}
}

func TestParsePoint(t *testing.T) {
	now := time.Date(2026, 3, 10, 18, 30, 0, 0, time.UTC)
	for in, want := range map[string]string{
		"0":                    "0",
		"7":                    "7",
		"2026-03-09T15:00:00Z": "2026-03-09T15:00:00Z",
		"2026-03-09 15:00":     "2026-03-09T15:00:00Z",
		"yesterday 15:00":      "2026-03-09T15:00:00Z",
	} {
		if got, err := parsePoint("--to", in, now, time.UTC); err != nil || got != want {
			t.Errorf("parsePoint(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "-1", "v3", "99999999999999999999999", "soon"} {
		if got, err := parsePoint("--to", bad, now, time.UTC); err == nil {
			t.Errorf("parsePoint(%q) = %q, want an error", bad, got)
		}
	}
}

func TestParseAggregate(t *testing.T) {
	for in, want := range map[string]aggregateRef{
		"orders/ord-1":        {"orders", "ord-1"},
		"orders/ord-1/events": {"orders", "ord-1"},
	} {
		if got, err := parseAggregate(in); err != nil || got != want {
			t.Errorf("parseAggregate(%q) = %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "orders", "orders/", "/ord-1", "orders/ord-1/other", "orders/a/b/events", "orders//events"} {
		if got, err := parseAggregate(bad); err == nil {
			t.Errorf("parseAggregate(%q) = %v, want an error", bad, got)
		}
	}
}

func TestParseInterspersed(t *testing.T) {
	for _, c := range []struct {
		args     []string
		pos      []string
		version  string
		jsonFlag bool
	}{
		{[]string{"orders/1", "--version", "3"}, []string{"orders/1"}, "3", false},
		{[]string{"--version", "3", "orders/1", "--json"}, []string{"orders/1"}, "3", true},
		{[]string{"a", "b", "--json", "c"}, []string{"a", "b", "c"}, "", true},
		{[]string{"a", "--", "--json"}, []string{"a", "--json"}, "", false},
		{nil, nil, "", false},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		version := fs.String("version", "", "")
		j := fs.Bool("json", false, "")
		pos, err := parseInterspersed(fs, c.args)
		if err != nil || !slices.Equal(pos, c.pos) || *version != c.version || *j != c.jsonFlag {
			t.Errorf("parseInterspersed(%q) = %q, version %q, json %v, %v", c.args, pos, *version, *j, err)
		}
	}
}

func TestLeadingClientFlags(t *testing.T) {
	for _, c := range []struct{ args, global, rest []string }{
		{[]string{"state", "x"}, nil, []string{"state", "x"}},
		{[]string{"--server", "http://h", "state", "x"}, []string{"--server", "http://h"}, []string{"state", "x"}},
		{[]string{"-server=http://h", "--json", "streams"}, []string{"-server=http://h", "--json"}, []string{"streams"}},
		{[]string{"--help"}, nil, []string{"--help"}},
	} {
		global, rest := leadingClientFlags(c.args)
		if !slices.Equal(global, c.global) || !slices.Equal(rest, c.rest) {
			t.Errorf("leadingClientFlags(%q) = %q, %q", c.args, global, rest)
		}
	}
}

func TestFlatten(t *testing.T) {
	fields, err := flatten([]byte(`{"status":"open","items":{"b":{"q":2},"a":{}},"tags":["x",null],"n":1.50,"e":[],"code":"<i>X</i> & \"y\""}`))
	if err != nil {
		t.Fatal(err)
	}
	want := []field{{"status", `"open"`}, {"items.b.q", "2"}, {"items.a", "{}"}, {"tags.0", `"x"`}, {"tags.1", "null"}, {"n", "1.50"}, {"e", "[]"},
		{"code", `"<i>X</i> & \"y\""`}} // as diff and timeline show it, not "\u003ci\u003e"
	if !slices.Equal(fields, want) {
		t.Errorf("flatten = %v\nwant %v", fields, want)
	}
}

func TestHumanDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		450 * time.Millisecond:                      "450ms",
		12*time.Second + 400*time.Millisecond:       "12s",
		3*time.Minute + 12*time.Second:              "3m12s",
		5*time.Hour + 3*time.Minute:                 "5h03m",
		18*24*time.Hour + 4*time.Hour + time.Minute: "18d 4h",
	} {
		if got := humanDuration(d); got != want {
			t.Errorf("humanDuration(%v) = %q, want %q", d, got, want)
		}
	}
}
