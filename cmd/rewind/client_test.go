package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rewindhq/rewind/eventstore"
	"github.com/rewindhq/rewind/examples/orders/app"
	"github.com/rewindhq/rewind/examples/orders/seed"
)

// runCLI runs one client command in process and returns its exit code
// and output.
func runCLI(t *testing.T, ctx context.Context, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(ctx, args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// want runs a command that must exit with code, and returns its stdout.
func want(t *testing.T, ctx context.Context, code int, args ...string) string {
	t.Helper()
	got, out, errOut := runCLI(t, ctx, args...)
	if got != code {
		t.Fatalf("rewind %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), got, code, out, errOut)
	}
	return out + errOut
}

// squeeze collapses runs of spaces, so that checks do not depend on the
// widths of a table's columns.
func squeeze(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

type testEvent struct {
	Version  uint64 `json:"version"`
	Offset   string `json:"offset"`
	Type     string `json:"type"`
	StoredAt string `json:"storedAt"`
}

type testTimeline struct {
	Stream  string      `json:"stream"`
	Version uint64      `json:"version"`
	Events  []testEvent `json:"events"`
}

// startApp runs the orders example in the test's process, on a free port
// and a small seed, closed when the test ends; it returns the app and its
// base URL without the trailing slash.
func startApp(t *testing.T, ctx context.Context, sc seed.Config) (*app.App, string) {
	t.Helper()
	a, err := app.Start(ctx, app.Config{Addr: "127.0.0.1:0", Data: t.TempDir(), Seed: app.SeedConfig{Config: sc}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a, strings.TrimSuffix(a.URL, "/")
}

// testStream is one stream of GET /v1/streams.
type testStream struct {
	Name    string `json:"name"`
	Version uint64 `json:"version"`
	Offset  string `json:"offset"`
}

// orderStreams returns the orders' streams of server and the one with the
// longest history.
func orderStreams(t *testing.T, server string) (all []testStream, longest testStream) {
	t.Helper()
	var page struct {
		Streams []testStream `json:"streams"`
	}
	getJSON(t, server+"/v1/streams?category=orders", &page)
	for _, s := range page.Streams {
		if s.Version > longest.Version {
			longest = s
		}
	}
	return page.Streams, longest
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// TestClientCommands runs every client command against the orders example,
// started once on a small seed.
func TestClientCommands(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	a, server := startApp(t, ctx, seed.Config{Orders: 40, Days: 4, Rand: 5})
	t.Setenv("REWIND_SERVER", server)

	// The order with the longest history.
	streams, longestStream := orderStreams(t, server)
	id := strings.Split(longestStream.Name, "/")[1]
	if longestStream.Version < 4 {
		t.Fatalf("no order with 4 events or more in the seed")
	}
	var tl testTimeline
	getJSON(t, server+"/v1/timeline/orders/"+id, &tl)
	stream := "orders/" + id + "/events"

	t.Run("streams", func(t *testing.T) {
		out := want(t, ctx, 0, "streams")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if squeeze(lines[0]) != "STREAM EVENTS LAST EVENT AT LAST OFFSET" {
			t.Errorf("header %q", lines[0])
		}
		if !strings.Contains(out, stream) || !strings.Contains(out, "users/") || !strings.Contains(out, "workspaces/") {
			t.Errorf("streams does not list every category:\n%s", out)
		}
		out = want(t, ctx, 0, "streams", "orders")
		if strings.Contains(out, "users/") || !strings.Contains(out, fmt.Sprintf("%d streams,", len(streams))) {
			t.Errorf("streams orders:\n%s", out)
		}
		// Each row: the name, the count, a local time with its zone, the offset.
		last := streams[len(streams)-1]
		for _, l := range lines {
			if strings.HasPrefix(l, last.Name+" ") {
				f := strings.Fields(l)
				if f[1] != fmt.Sprint(last.Version) || f[len(f)-1] != last.Offset || f[4] != time.Now().Format("MST") {
					t.Errorf("row %q, want %s with %d events, offset %s", l, last.Name, last.Version, last.Offset)
				}
			}
		}
		var ans struct {
			Streams []json.RawMessage `json:"streams"`
		}
		if err := json.Unmarshal([]byte(want(t, ctx, 0, "streams", "orders", "--json")), &ans); err != nil || len(ans.Streams) != len(streams) {
			t.Errorf("streams --json: %v, %d streams, want %d", err, len(ans.Streams), len(streams))
		}
	})

	t.Run("state", func(t *testing.T) {
		out := want(t, ctx, 0, "state", "orders/"+id)
		if want(t, ctx, 0, "state", stream) != out {
			t.Errorf("orders/%s and %s show different states", id, stream)
		}
		first := squeeze(strings.SplitN(out, "\n", 2)[0])
		at, _ := time.Parse(time.RFC3339Nano, tl.Events[len(tl.Events)-1].StoredAt)
		if wantHead := fmt.Sprintf("%s at version %d, stored %s", stream, tl.Version, squeeze(at.Local().Format(timeLayout))); first != wantHead {
			t.Errorf("state's first line %q, want %q", first, wantHead)
		}
		if !strings.Contains(squeeze(out), "FIELD VALUE") || !strings.Contains(squeeze(out), "workspace \"") {
			t.Errorf("state:\n%s", out)
		}
		// Before the first event is version 0, not "the last event".
		out = want(t, ctx, 0, "state", stream, "--at", "2020-01-01")
		if !strings.Contains(out, "at version 0, before the first event") || strings.Contains(out, "the last event") {
			t.Errorf("state --at before the first event:\n%s", out)
		}
		out = want(t, ctx, 0, "state", stream, "--version", "1")
		if !strings.Contains(squeeze(out), `status "open"`) || !strings.Contains(out, "items  ") && !strings.Contains(squeeze(out), "items {}") {
			t.Errorf("state --version 1:\n%s", out)
		}
		// --json is the endpoint's answer.
		var got, api map[string]any
		if err := json.Unmarshal([]byte(want(t, ctx, 0, "state", stream, "--version", "2", "--json")), &got); err != nil {
			t.Fatal(err)
		}
		getJSON(t, server+"/v1/state/orders/"+id+"?version=2", &api)
		if fmt.Sprint(got) != fmt.Sprint(api) {
			t.Errorf("state --json\n%v\nGET /v1/state\n%v", got, api)
		}
		// --at in local time, as people type it: just after event 2, to the
		// second, lands on version 2 unless event 3 came in the same second.
		t2, _ := time.Parse(time.RFC3339Nano, tl.Events[1].StoredAt)
		t3, _ := time.Parse(time.RFC3339Nano, tl.Events[2].StoredAt)
		local := t2.Local().Truncate(time.Second).Add(time.Second)
		if local.Before(t3) {
			out = want(t, ctx, 0, "state", stream, "--at", local.Format("2006-01-02 15:04:05"), "--json")
			if !strings.Contains(out, `"version": 2,`) {
				t.Errorf("state --at %s: %s", local.Format("2006-01-02 15:04:05"), out)
			}
			out = want(t, ctx, 0, "state", stream, "--at", local.UTC().Format(time.RFC3339))
			if !strings.Contains(out, "at version 2,") || !strings.Contains(out, "(the last event stored at or before it)") {
				t.Errorf("state --at RFC 3339:\n%s", out)
			}
		}
	})

	t.Run("diff", func(t *testing.T) {
		out := want(t, ctx, 0, "diff", stream, "--from", "1", "--to", fmt.Sprint(tl.Version))
		s := squeeze(out)
		if !strings.Contains(s, "from version 1,") || !strings.Contains(s, fmt.Sprintf("to version %d,", tl.Version)) ||
			!strings.Contains(s, "FIELD FROM TO") || !strings.Contains(s, fmt.Sprintf("%d events in between:", tl.Version-1)) {
			t.Errorf("diff:\n%s", out)
		}
		var d struct {
			Changes []json.RawMessage `json:"changes"`
			Events  []json.RawMessage `json:"events"`
		}
		if err := json.Unmarshal([]byte(want(t, ctx, 0, "diff", stream, "--from", "0", "--to", "2", "--json")), &d); err != nil || len(d.Events) != 2 {
			t.Errorf("diff --json: %v, %d events, want 2", err, len(d.Events))
		}
		out = want(t, ctx, 0, "diff", stream, "--from", "2", "--to", "2")
		if !strings.Contains(out, "no field changed") {
			t.Errorf("diff of a version with itself:\n%s", out)
		}
	})

	t.Run("timeline", func(t *testing.T) {
		out := want(t, ctx, 0, "timeline", "orders/"+id)
		s := squeeze(out)
		if !strings.HasPrefix(s, fmt.Sprintf("%s: %d events VERSION STORED AT TYPE CHANGED", stream, len(tl.Events))) {
			t.Errorf("timeline:\n%s", out)
		}
		for _, e := range tl.Events {
			at, _ := time.Parse(time.RFC3339Nano, e.StoredAt)
			if !strings.Contains(s, fmt.Sprintf("%d %s %s", e.Version, squeeze(at.Local().Format(timeLayout)), e.Type)) {
				t.Errorf("timeline lacks v%d %s at %s:\n%s", e.Version, e.Type, at.Local().Format(timeLayout), out)
			}
		}
		if !strings.Contains(s, "status: \"\" → \"open\"") && !strings.Contains(s, "status = \"open\"") {
			t.Errorf("timeline does not show the placement's change of status:\n%s", out)
		}
	})

	// A stream outside the aggregates, named as "rewind streams" prints it.
	if _, err := a.Store.Append(ctx, "chat/room-1", []eventstore.Event{
		{Type: "said", Data: []byte(`{"text":"hi"}`)}, {Type: "said", Data: []byte(`{"text":"bye"}`)},
	}); err != nil {
		t.Fatal(err)
	}

	t.Run("read names exactly", func(t *testing.T) {
		if out := want(t, ctx, 0, "streams", "chat"); !strings.Contains(out, "chat/room-1 ") {
			t.Fatalf("streams chat:\n%s", out)
		}
		out := want(t, ctx, 0, "read", "chat/room-1", "--json")
		if strings.Count(out, "\n") != 2 || !strings.Contains(out, `"stream":"chat/room-1"`) || !strings.Contains(out, `"bye"`) {
			t.Errorf("read chat/room-1 --json:\n%s", out)
		}
		for _, args := range [][]string{
			{"read", "nope"}, {"read", "orders/" + id + "/events/x"}, {"read", "orders/ord-nobody"},
			{"read", "chat/room-2"}, {"read", "nope", "--follow"},
		} {
			code, out, errOut := runCLI(t, ctx, args...)
			if code != exitNotFound || out != "" || !strings.Contains(errOut, "no stream") {
				t.Errorf("rewind %s: exit %d, stdout %q, stderr %q; want exit %d (as state's for a missing stream) and no stream",
					strings.Join(args, " "), code, out, errOut, exitNotFound)
			}
		}
		// state's code for a missing stream is the same.
		want(t, ctx, exitNotFound, "state", "orders/ord-nobody")
	})

	t.Run("read", func(t *testing.T) {
		out := want(t, ctx, 0, "read", "orders/"+id, "--json")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != len(tl.Events) {
			t.Fatalf("read --json: %d lines, want %d:\n%s", len(lines), len(tl.Events), out)
		}
		for i, l := range lines {
			var e testEvent
			if err := json.Unmarshal([]byte(l), &e); err != nil || e.Version != tl.Events[i].Version || e.Offset != tl.Events[i].Offset {
				t.Errorf("read --json line %d: %s (%v), want version %d", i, l, err, tl.Events[i].Version)
			}
		}
		out = want(t, ctx, 0, "read", stream, "--from", tl.Events[1].Offset, "--json")
		if n := strings.Count(out, "\n"); n != len(tl.Events)-2 || !strings.HasPrefix(out, `{"stream":"`+stream+`","version":3,`) {
			t.Errorf("read --from the offset of v2: %d lines, want v3 to v%d:\n%s", n, len(tl.Events), out)
		}
		out = want(t, ctx, 0, "read", stream)
		s := squeeze(out)
		if !strings.HasPrefix(s, "STORED AT VERSION TYPE DATA") || !strings.Contains(s, "next offset: "+tl.Events[len(tl.Events)-1].Offset) {
			t.Errorf("read:\n%s", out)
		}
		// The hint at the end is a command that goes on from there as pasted.
		next := tl.Events[1].Offset
		out = want(t, ctx, 0, "read", "orders/"+id, "--limit", "2")
		hint := fmt.Sprintf("(rewind read %s --from %s goes on from here)", stream, next)
		if !strings.Contains(out, hint) {
			t.Fatalf("read --limit 2 ends without %q:\n%s", hint, out)
		}
		if got := want(t, ctx, 0, "read", stream, "--from", next, "--json"); strings.Count(got, "\n") != len(tl.Events)-2 {
			t.Errorf("the hint's command reads %d events, want %d:\n%s", strings.Count(got, "\n"), len(tl.Events)-2, got)
		}
		if out := want(t, ctx, 0, "read", "orders", "--limit", "1"); !strings.Contains(out, "(rewind read orders --from ") {
			t.Errorf("read orders: the hint does not name the category:\n%s", out)
		}
		out = want(t, ctx, 0, "read", "orders", "--limit", "5", "--json")
		if n := strings.Count(out, "\n"); n != 5 {
			t.Errorf("read orders --limit 5: %d lines", n)
		}
		out = want(t, ctx, 0, "read", "orders", "--limit", "3")
		if !strings.HasPrefix(squeeze(out), "STORED AT STREAM VERSION TYPE DATA") {
			t.Errorf("read of a category has no stream column:\n%s", out)
		}
	})

	t.Run("follow", func(t *testing.T) {
		// An open order takes another item; follow its category.
		open := ""
		for _, s := range streams {
			var st struct {
				State struct{ Status string } `json:"state"`
			}
			getJSON(t, server+"/v1/state/"+strings.TrimSuffix(s.Name, "/events"), &st)
			if st.State.Status == "open" {
				open = strings.Split(s.Name, "/")[1]
				break
			}
		}
		if open == "" {
			t.Fatal("no open order in the seed")
		}
		fctx, stop := context.WithCancel(ctx)
		defer stop()
		out := &syncBuffer{}
		done := make(chan int)
		go func() { done <- run(fctx, []string{"read", "orders", "--follow", "--from", "now", "--json"}, out, out) }()
		time.Sleep(300 * time.Millisecond) // the follow is waiting
		body := `{"type": "AddItem", "sku": "cli-follow", "name": "Follow mug", "quantity": 1, "unitPriceCents": 900}`
		resp, err := http.Post(server+"/v1/commands/orders/"+open, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("POST AddItem: %s", resp.Status)
		}
		deadline := time.Now().Add(15 * time.Second)
		for !strings.Contains(out.String(), `"cli-follow"`) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		stop()
		if code := <-done; code != 0 || !strings.Contains(out.String(), `"stream":"orders/`+open+`/events"`) || !strings.Contains(out.String(), `"type":"ItemAdded"`) {
			t.Errorf("read --follow: exit %d, output:\n%s", code, out.String())
		}
	})

	t.Run("projections", func(t *testing.T) {
		if err := a.WaitCaughtUp(ctx); err != nil {
			t.Fatal(err)
		}
		out := want(t, ctx, 0, "projections")
		s := squeeze(out)
		if !strings.HasPrefix(s, "NAME STATUS POSITION LAG ERROR") || !strings.Contains(s, "order_summary") || !strings.Contains(s, "revenue_per_day") {
			t.Errorf("projections:\n%s", out)
		}
		// Caught up, both show no lag, though the log's newest events
		// (the items added above) are not of revenue_per_day's types.
		for _, line := range strings.Split(out, "\n") {
			if strings.HasPrefix(line, "order_summary") || strings.HasPrefix(line, "revenue_per_day") {
				if !strings.Contains(line, "caught up") {
					t.Errorf("a caught-up projection shows a lag: %q", line)
				}
			}
		}
		var p struct {
			Projections []struct{ Name string } `json:"projections"`
		}
		if err := json.Unmarshal([]byte(want(t, ctx, 0, "projections", "--json")), &p); err != nil || len(p.Projections) != 2 {
			t.Errorf("projections --json: %v %v", err, p)
		}
	})

	t.Run("rebuild", func(t *testing.T) {
		out := want(t, ctx, 0, "rebuild", "order_summary")
		if !strings.Contains(out, "rebuilt order_summary: ") || strings.Contains(out, "\r") {
			t.Errorf("rebuild (not on a terminal: plain lines):\n%q", out)
		}
		var st struct {
			Running bool   `json:"running"`
			Name    string `json:"name"`
		}
		if err := json.Unmarshal([]byte(want(t, ctx, 0, "rebuild", "revenue_per_day", "--json")), &st); err != nil || st.Running || st.Name != "revenue_per_day" {
			t.Errorf("rebuild --json: %v %+v", err, st)
		}
		if out := want(t, ctx, exitNotFound, "rebuild", "no_such_projection"); !strings.Contains(out, "no_such_projection") {
			t.Errorf("rebuild of an unknown projection: %s", out)
		}
	})

	t.Run("export", func(t *testing.T) {
		out := want(t, ctx, 0, "export", stream, "--to", "2")
		if !strings.Contains(out, "aggregatetest.Given") || !strings.Contains(out, tl.Events[1].Type+"{") || strings.Contains(out, "// 3 "+tl.Events[2].Type) {
			t.Errorf("export --to 2:\n%s", out)
		}
		file := filepath.Join(t.TempDir(), "order_test.go")
		out = want(t, ctx, 0, "export", stream, "--to", "3", "--out", file, "--package", "domain")
		src, err := os.ReadFile(file)
		if err != nil || !strings.Contains(string(src), "package domain") || !strings.Contains(out, "wrote "+file) {
			t.Errorf("export --out: %v\n%s\n%s", err, out, src)
		}
		if out := want(t, ctx, exitUsage, "export", stream, "--to", "3", "--out", file); !strings.Contains(out, "--force") {
			t.Errorf("export over a file: %s", out)
		}
		want(t, ctx, 0, "export", stream, "--to", "3", "--out", file, "--force")
	})

	t.Run("bad input", func(t *testing.T) {
		closed := closedServer(t)
		for _, c := range []struct {
			code int
			args []string
			msg  string
		}{
			{exitUsage, []string{"state"}, "missing stream"},
			{exitUsage, []string{"state", "orders"}, "not an aggregate's stream"},
			{exitUsage, []string{"state", "orders/a/b"}, "not an aggregate's stream"},
			{exitUsage, []string{"state", stream, "--version", "two"}, `--version "two" is not a version`},
			{exitUsage, []string{"state", stream, "--version", "-1"}, "is not a version"},
			{exitUsage, []string{"state", stream, "--version", "1", "--at", "now"}, "not both"},
			{exitUsage, []string{"state", stream, "--at", "tomorrow-ish"}, `--at "tomorrow-ish" is not a time`},
			{exitUsage, []string{"state", stream, "--at", ""}, "--at is empty"},
			{exitUsage, []string{"state", stream, "--at="}, "--at is empty"},
			{exitUsage, []string{"state", stream, "--version", " "}, "--version is empty"},
			{exitUsage, []string{"diff", stream, "--from", "", "--to", "2"}, "--from is empty"},
			{exitUsage, []string{"export", stream, "--to", ""}, "--to is empty"},
			{exitUsage, []string{"read", stream, "--from", ""}, "--from is empty"},
			{exitUsage, []string{"state", stream, "--server", ""}, "--server is empty"},
			{exitUsage, []string{"state", stream, "--version", "999"}, "past"},
			{exitUsage, []string{"state", stream, "extra"}, `unexpected argument "extra"`},
			{exitUsage, []string{"state", stream, "--bogus"}, "bogus"},
			{exitNotFound, []string{"state", "orders/ord-nobody"}, ""},
			{exitNotFound, []string{"timeline", "orders/ord-nobody"}, ""},
			{exitUsage, []string{"diff", stream, "--from", "1"}, "both --from and --to"},
			{exitUsage, []string{"diff", stream, "--from", "1", "--to", "soon"}, `--to "soon" is neither a version`},
			{exitUsage, []string{"diff", stream, "--from", "-3", "--to", "2"}, "versions start at 1"},
			{exitUsage, []string{"read", stream, "--from", "12"}, `--from "12" is not an offset`},
			{exitUsage, []string{"read", stream, "--limit", "-1"}, "--limit"},
			{exitUsage, []string{"read"}, "missing stream or category"},
			{exitUsage, []string{"export", stream}, "give --to"},
			{exitUsage, []string{"export", stream, "--to", "1", "--package", "my-pkg"}, "not a Go package name"},
			{exitUsage, []string{"streams", "orders/x"}, "not a category"},
			{exitNotFound, []string{"streams", "ordres"}, `no stream of category "ordres" has events; did you mean "orders"? ("rewind streams" lists the streams)`},
			{exitNotFound, []string{"streams", "ordres", "--json"}, `did you mean "orders"?`},
			{exitNotFound, []string{"read", "order"}, `no stream of category "order" has events; did you mean "orders"?`},
			{exitNotFound, []string{"streams", "zzzzzz"}, `no stream of category "zzzzzz" has events ("rewind streams" lists the streams)`},
			{exitUsage, []string{"streams", "--server", "ftp://example.com"}, "not an http:// or https:// URL"},
			{exitUsage, []string{"streams", "--server", server + "/v1"}, "without /v1"},
			{exitUsage, []string{"streams", "--server", server + "/v1/"}, "without /v1"},
			{exitServer, []string{"streams", "--server", server + "/tenant/v1"}, "does --server point at an application that serves Rewind's /v1/ API?"},
			{exitServer, []string{"streams", "--server", strings.Replace(server, "http://", "https://", 1)}, "answers plain HTTP, not HTTPS: give --server with http://"},
			{exitUsage, []string{"rebuild"}, "missing projection name"},
			{exitServer, []string{"streams", "--server", closed}, "cannot reach the server at " + closed},
			{exitServer, []string{"timeline", stream, "--server", closed}, "is it running?"},
		} {
			code, out, errOut := runCLI(t, ctx, c.args...)
			if code != c.code || !strings.Contains(errOut, c.msg) || out != "" && code != 0 {
				t.Errorf("rewind %s: exit %d, stdout %q, stderr:\n%s\nwant exit %d and a message with %q",
					strings.Join(c.args, " "), code, out, errOut, c.code, c.msg)
			}
		}
	})

	t.Run("server from the flag and the environment", func(t *testing.T) {
		t.Setenv("REWIND_SERVER", closedServer(t))
		want(t, ctx, exitServer, "streams")
		want(t, ctx, 0, "streams", "--server", server+"/")
		// The shared flags may come before the command, too.
		want(t, ctx, 0, "--server", server, "state", stream)
		if out := want(t, ctx, 0, "read", stream, "--server", server, "--limit", "1"); !strings.Contains(out, "(rewind read "+stream+" --server "+server+" --from ") {
			t.Errorf("read with --server: the hint leaves the server out:\n%s", out)
		}
		if out := want(t, ctx, 0, "--server="+server, "--json", "timeline", stream); !strings.HasPrefix(out, "{") {
			t.Errorf("rewind --json timeline: %s", out)
		}
		want(t, ctx, exitUsage, "--server", server, "serve")
	})
}

// closedServer returns the URL of a port nobody listens on.
func closedServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ln.Close()
	return url
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestClientHelp(t *testing.T) {
	ctx := t.Context()
	out := want(t, ctx, 0, "--help")
	for _, cmd := range []string{"streams", "read", "state", "diff", "timeline", "projections", "rebuild", "export"} {
		if !strings.Contains(out, "rewind "+cmd) {
			t.Errorf("rewind --help does not list %s", cmd)
		}
		for _, args := range [][]string{{cmd, "--help"}, {"help", cmd}} {
			help := want(t, ctx, 0, args...)
			for _, w := range []string{"Usage: rewind " + cmd, "-server", "REWIND_SERVER", "-json", "Exit codes: 0 ok, 1 server or network error, 2 bad usage or input, 3 not found."} {
				if !strings.Contains(help, w) {
					t.Errorf("rewind %s does not mention %q:\n%s", strings.Join(args, " "), w, help)
				}
			}
		}
	}
}

// TestReadFollowReconnects: "read --follow" outlives a restart of the
// server: it says on stderr that it reconnects, and goes on from its
// offset, with no event missed or printed twice.
func TestReadFollowReconnects(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	data := t.TempDir()
	cfg := app.Config{Addr: "127.0.0.1:0", Data: data, Seed: app.SeedConfig{Config: seed.Config{Orders: 5, Days: 2, Rand: 3}}}
	a, err := app.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	server := strings.TrimSuffix(a.URL, "/")
	if _, err := a.Store.Append(ctx, "chat/room-1", []eventstore.Event{{Type: "said", Data: []byte(`{"n":1}`)}}); err != nil {
		t.Fatal(err)
	}
	fctx, stop := context.WithCancel(ctx)
	defer stop()
	out, errOut := &syncBuffer{}, &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(fctx, []string{"read", "chat/room-1", "--follow", "--json", "--server", server}, out, errOut)
	}()
	waitFor(t, out, `{"n":1}`)

	// The server goes away, and comes back on the same address and data.
	// Its drain waits for the follow's long poll and then cuts it: an
	// error of Close's, not of the test.
	if err := a.Close(); err != nil {
		t.Logf("close: %v", err)
	}
	waitFor(t, errOut, "reconnecting")
	cfg.Addr = strings.TrimPrefix(server, "http://")
	if a, err = app.Start(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, err := a.Store.Append(ctx, "chat/room-1", []eventstore.Event{{Type: "said", Data: []byte(`{"n":2}`)}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, out, `{"n":2}`)
	stop()
	if code := <-done; code != 0 || strings.Count(out.String(), "\n") != 2 || !strings.Contains(errOut.String(), "reconnected") {
		t.Errorf("read --follow across a restart: exit %d, stdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
}

// waitFor waits until b holds s.
func waitFor(t *testing.T, b *syncBuffer, s string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(b.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q within 30 s in:\n%s", s, b.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestReadFollowClosedStream: "read --follow" of a closed stream prints
// its events, says it is closed and ends (exit 0) rather than polling a
// stream nothing will ever come to.
func TestReadFollowClosedStream(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	a, server := startApp(t, ctx, seed.Config{Orders: 2, Days: 1, Rand: 3})
	for i, opts := range [][]eventstore.AppendOption{nil, {eventstore.WithClose()}} {
		if _, err := a.Store.Append(ctx, "chat/closed", []eventstore.Event{{Type: "said", Data: []byte(fmt.Sprintf(`{"n":%d}`, i))}}, opts...); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	code, out, errOut := runCLI(t, ctx, "read", "chat/closed", "--follow", "--json", "--server", server)
	if code != 0 || strings.Count(out, "\n") != 2 || !strings.Contains(errOut, "closed") || time.Since(start) > 10*time.Second {
		t.Errorf("read --follow of a closed stream: exit %d after %v\nstdout:\n%s\nstderr:\n%s", code, time.Since(start), out, errOut)
	}
}
