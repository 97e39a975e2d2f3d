package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// pythonNotFound is the page "python3 -m http.server" answers a path it
// does not have with.
const pythonNotFound = `<!DOCTYPE HTML>
<html lang="en">
    <head>
        <meta charset="utf-8">
        <title>Error response</title>
    </head>
    <body>
        <h1>Error response</h1>
        <p>Error code: 404</p>
        <p>Message: File not found.</p>
        <p>Error code explanation: 404 - Nothing matches the given URI.</p>
    </body>
</html>
`

// TestNotARewindServer: a --server that is not a Rewind application (a
// static file server, a proxy answering for a backend that is down) gets
// its status told and a short hint, never its HTML error page, and of any
// other body its text on one line (whole: stderr here is not a terminal,
// where it is cut short).
func TestNotARewindServer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/v1/projections" && r.Method == http.MethodGet:
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusBadGateway)
			w.Write([]byte("upstream connect error or disconnect/reset before headers. " + strings.Repeat("reset reason: connection failure ", 20) + "\nsecond line\nthird line\n"))
		case r.Method == http.MethodPost:
			w.Header().Set("Content-Type", "text/html;charset=utf-8")
			w.WriteHeader(http.StatusNotImplemented)
			w.Write([]byte(strings.ReplaceAll(pythonNotFound, "404", "501")))
		default:
			w.Header().Set("Content-Type", "text/html;charset=utf-8")
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(pythonNotFound))
		}
	}))
	defer srv.Close()
	const hint = "does --server point at an application that serves Rewind's /v1/ API?"
	for _, c := range []struct {
		args []string
		want string // all of stderr
	}{
		{[]string{"streams"}, "rewind streams: GET /v1/streams: HTTP 404 Not Found\n" + hint + "\n"},
		{[]string{"state", "orders/1"}, "rewind state: GET /v1/state/orders/1: HTTP 404 Not Found\n" + hint + "\n"},
		{[]string{"read", "chat/r1"}, "rewind read: GET /v1/events: HTTP 404 Not Found\n" + hint + "\n"},
		{[]string{"rebuild", "orders"}, "rewind rebuild: POST /v1/projections/orders/rebuild: HTTP 501 Not Implemented\n"},
		{[]string{"projections"}, "rewind projections: GET /v1/projections: HTTP 502 Bad Gateway: upstream connect error or disconnect/reset before headers. " +
			strings.Repeat("reset reason: connection failure ", 20) + "second line third line\n"},
	} {
		code, out, errOut := runCLI(t, t.Context(), append(c.args, "--server", srv.URL)...)
		if code != exitServer || out != "" || errOut != c.want {
			t.Errorf("rewind %s against a server that is not Rewind's: exit %d, stdout %q, stderr:\n%s\nwant exit 1 and:\n%s",
				strings.Join(c.args, " "), code, out, errOut, c.want)
		}
	}
}

func TestBodyExcerpt(t *testing.T) {
	for _, c := range []struct {
		contentType, body string
		whole             bool
		want              string
	}{
		{"text/html", pythonNotFound, false, ""},
		{"", pythonNotFound, false, ""}, // HTML without its type
		{"", pythonNotFound, true, ""},
		{"text/plain", "  no\tsuch  thing\r\nmore", false, "no such thing"},
		{"text/plain", "  no\tsuch  thing\r\nmore", true, "no such thing more"},
		{"application/octet-stream", "\x00\x01binary", true, ""},
		{"text/plain", "\x1b[31mred\x1b[0m", false, "[31mred [0m"}, // no escape reaches the terminal
		{"text/plain", "\x1b[31mred\x1b[0m", true, "[31mred [0m"},
		{"text/plain", strings.Repeat("é", 100), false, strings.Repeat("é", maxExcerpt-1) + "…"},
		{"text/plain", strings.Repeat("é", 100), true, strings.Repeat("é", 100)},
	} {
		got := bodyExcerpt(c.contentType, []byte(c.body), c.whole)
		if got != c.want || !c.whole && utf8.RuneCountInString(got) > maxExcerpt {
			t.Errorf("bodyExcerpt(%q, %q, whole %v) = %q, want %q", c.contentType, c.body, c.whole, got, c.want)
		}
	}
}

// TestRebuildRunningSinceLocalTime: a rebuild refused because another is
// running says since when as the CLI shows every time (local, to the
// millisecond), not as the server's RFC 3339 with nanoseconds.
func TestRebuildRunningSinceLocalTime(t *testing.T) {
	const since = "2026-12-07T07:53:05.490768695Z"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusConflict)
		w.Write([]byte(`{"error":"a rebuild of \"orders\" is running since ` + since + `"}`))
	}))
	defer srv.Close()
	at, _ := time.Parse(time.RFC3339Nano, since)
	want := `rewind rebuild: a rebuild of "orders" is running since ` + at.In(time.Local).Format(timeLayout) + "\n"
	code, out, errOut := runCLI(t, t.Context(), "rebuild", "orders", "--server", srv.URL)
	if code != exitServer || out != "" || errOut != want {
		t.Errorf("rewind rebuild while another runs: exit %d, stdout %q, stderr:\n%s\nwant exit 1 and:\n%s", code, out, errOut, want)
	}
}

// TestDiffSaysHowManyMore: a diff whose answer lists the first events in
// between and counts the rest ("more") says how many there are in all
// and how many it does not show, and where to see them.
func TestDiffSaysHowManyMore(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"from":{"category":"orders","id":"o1","stream":"orders/o1/events","version":1,"at":"2026-12-07T07:00:00Z","state":{}},` +
			`"to":{"category":"orders","id":"o1","stream":"orders/o1/events","version":1503,"at":"2026-12-07T08:00:00Z","state":{"n":1502}},` +
			`"changes":[{"path":"n","from":null,"to":1502}],` +
			`"events":[{"version":2,"type":"Counted","storedAt":"2026-12-07T07:00:01Z","changes":[{"path":"n","from":null,"to":1}]}],"more":1501}`))
	}))
	defer srv.Close()
	code, out, errOut := runCLI(t, t.Context(), "diff", "orders/o1", "--from", "1", "--to", "1503", "--server", srv.URL)
	if s := squeeze(out); code != 0 || !strings.Contains(s, "1,502 events in between:") ||
		!strings.Contains(s, "… and 1,501 more (rewind timeline orders/o1/events lists them all)") {
		t.Errorf("rewind diff of an answer with more: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
}
