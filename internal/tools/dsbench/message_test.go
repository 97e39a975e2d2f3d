package main

import (
	"encoding/json"
	"testing"
)

func TestMessageSize(t *testing.T) {
	for _, m := range [][]byte{message(0, 0), message(15, 99_999_999)} {
		if len(m) != msgSize || !json.Valid(m) {
			t.Errorf("message %s: %d bytes, valid %v; want %d bytes of JSON", m, len(m), json.Valid(m), msgSize)
		}
	}
	b := batchBody(3, 10, 100)
	var items []json.RawMessage
	if err := json.Unmarshal(b, &items); err != nil || len(items) != 100 {
		t.Fatalf("batchBody: %d items, %v", len(items), err)
	}
}

func TestCountItems(t *testing.T) {
	tests := []struct {
		body string
		want int
		bad  bool
	}{
		{body: "", want: 0},
		{body: "[]", want: 0},
		{body: " [ ] \n", want: 0},
		{body: "[1]", want: 1},
		{body: `[{"a":[1,2,3]},"x,y",[4,5],"q\"]",null]`, want: 5},
		{body: "[[1,2],[3]]", want: 2},
		{body: `[{"a":"}"}, {"b":"\\"}]`, want: 2},
		{body: "{}", bad: true},
		{body: "[1,2", bad: true},
		{body: "[1] 2", bad: true},
	}
	for _, tt := range tests {
		got, err := countItems([]byte(tt.body))
		if tt.bad {
			if err == nil {
				t.Errorf("countItems(%q) = %d, want an error", tt.body, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("countItems(%q) = %d, %v; want %d", tt.body, got, err, tt.want)
		}
	}
}

// TestShapeMessages: every catch-up shape's messages have its size, the
// JSON ones are valid JSON, and a POST's body holds PerPOST of them as the
// reader counts them.
func TestShapeMessages(t *testing.T) {
	for _, s := range shapes {
		for _, n := range []int{0, 7, 99_999} {
			m := shapeMessage(s, 3, n)
			if len(m) != s.Size {
				t.Errorf("%s: message %d is %d bytes, want %d", s.Name, n, len(m), s.Size)
			}
			if s.Kind != "binary" && !json.Valid(m) {
				t.Errorf("%s: message %d is not JSON: %.60q", s.Name, n, m)
			}
		}
		body := shapeBody(s, 1, 0, s.PerPOST)
		got := len(body) / s.Size
		if s.Kind != "binary" {
			var err error
			if got, err = countItems(body); err != nil {
				t.Fatalf("%s: %v", s.Name, err)
			}
		}
		if got != s.PerPOST {
			t.Errorf("%s: a POST holds %d messages, want %d", s.Name, got, s.PerPOST)
		}
	}
	if _, err := parseShapes("json-20B,nope"); err == nil {
		t.Error("an unknown shape was accepted")
	}
	if all, err := parseShapes("all"); err != nil || len(all) != len(shapes) {
		t.Errorf("all: %d shapes, %v", len(all), err)
	}
}

func TestShapeCapped(t *testing.T) {
	for _, c := range []struct {
		name      string
		n, perStr int
	}{
		{"json-100B", 0, 100_000},
		{"json-100B", 20_000, 20_000},
		{"json-100B", 150, 100}, // at least one POST
		{"json-100B", 250, 200}, // whole POSTs
		{"json-100B-100-streams-of-1000", 20_000, 1000},
		{"json-100B-100-streams-of-1000", 200_000, 1000},
		{"binary-1KB-1-per-POST", 20_000, 5000},
		{"json-20B", 1_000_000, 100_000},
	} {
		all, err := parseShapes(c.name)
		if err != nil {
			t.Fatal(err)
		}
		if got := all[0].capped(c.n); got.PerStr != c.perStr {
			t.Errorf("%s capped at %d: %d messages per stream, want %d", c.name, c.n, got.PerStr, c.perStr)
		}
	}
	all, _ := parseShapes("all")
	all[0] = all[0].capped(10)
	if shapes[0].PerStr == all[0].PerStr {
		t.Error("capping a parsed shape changed the shapes table")
	}
}
