package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// durableWait is how long one long-poll of "rewind read --follow" against a
// Durable Streams server may take: the server answers 204 when its own
// long-poll timeout (30 s by default) runs out.
const durableWait = 90 * time.Second

// streamPath is the protocol's path of a stream, each segment escaped.
func streamPath(name string) string {
	segs := strings.Split(name, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return "/v1/stream/" + strings.Join(segs, "/")
}

// runDurable reads the stream r.name from a Durable Streams server (rewind
// serve): GET /v1/stream/<name>?offset=X in chunks, each answering the
// offset after it in Stream-Next-Offset, then, with --follow, long-polls
// (live=long-poll) at the tail. A JSON stream prints one message a line; a
// byte stream prints its bytes as they are. The protocol has no versions
// or event types, and no categories: the name is a stream's.
func (r *reader) runDurable(ctx context.Context, from string, follow bool) error {
	c := r.c
	path := streamPath(r.name)
	caughtUp := false
	for {
		q := url.Values{"offset": {from}}
		wait := time.Duration(0)
		if caughtUp && follow {
			q.Set("live", "long-poll")
			wait = durableWait
		}
		body, hd, err := c.client.do(ctx, http.MethodGet, path, q, nil, wait)
		if err != nil {
			if follow && ctx.Err() != nil {
				return r.end(from)
			}
			if ee := (*exitError)(nil); errors.As(err, &ee) && (ee.status == http.StatusNotFound || ee.status == http.StatusGone) {
				return &exitError{code: exitNotFound, msg: fmt.Sprintf("no stream %q on this server (a Durable Streams server: it cannot list its streams)", r.name)}
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
		if err := r.printChunk(hd, body); err != nil {
			return err
		}
		if next := hd.Get("Stream-Next-Offset"); next != "" {
			from = next
		}
		upToDate := hd.Get("Stream-Up-To-Date") == "true"
		closed := hd.Get("Stream-Closed") == "true"
		if r.limit > 0 && r.printed >= r.limit || upToDate && !follow {
			return r.end(from)
		}
		if upToDate && closed {
			r.closed()
			return r.end(from)
		}
		if upToDate {
			caughtUp = true
		}
	}
}

// printChunk prints one answer's messages: a JSON stream's array one
// message a line (up to --limit), a byte stream's bytes as sent, but on a
// terminal with its control characters escaped (terminalText).
func (r *reader) printChunk(hd http.Header, body []byte) error {
	if len(body) == 0 {
		return nil
	}
	mt, _, _ := mime.ParseMediaType(hd.Get("Content-Type"))
	if mt != "application/json" {
		r.printed++
		if !isTerminal(r.c.stdout) {
			_, err := r.c.stdout.Write(body) // to a pipe or a file, the bytes are data
			return err
		}
		var buf bytes.Buffer
		r.cut = bytes.Clone(terminalText(&buf, append(r.cut, body...)))
		_, err := r.c.stdout.Write(buf.Bytes())
		return err
	}
	var msgs []json.RawMessage
	if err := json.Unmarshal(body, &msgs); err != nil {
		return &exitError{code: exitServer, msg: fmt.Sprintf("the server's JSON stream answer is not a JSON array: %v", err)}
	}
	for _, m := range msgs {
		if r.limit > 0 && r.printed >= r.limit {
			break
		}
		r.printed++
		if _, err := fmt.Fprintf(r.c.stdout, "%s\n", compactJSON(m)); err != nil {
			return err
		}
	}
	return nil
}
