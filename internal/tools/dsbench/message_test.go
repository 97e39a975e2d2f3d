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
