package main

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rewindhq/rewind/internal/benchstat"
)

// A catch-up shape: what the streams read from -1 to their tail hold, and
// how they were filled. The catch-up test's single stream of 100-byte JSON
// messages is one shape among several: a read's cost per message and per
// GET depends on the messages' size, how many each POST carried (one
// commit each, or a hundred messages per commit), and how many streams
// share the messages.
type shape struct {
	Name    string `json:"name"`
	Size    int    `json:"message_bytes"` // each message's size (JSON: the encoded element)
	Kind    string `json:"kind"`          // "json", "nested" (JSON objects nested three deep) or "binary" (application/octet-stream)
	PerPOST int    `json:"messages_per_post"`
	Streams int    `json:"streams"`
	PerStr  int    `json:"messages_per_stream"`
}

// shapes is every shape --catchup-shapes knows, in the order it runs them.
var shapes = []shape{
	{Name: "json-20B", Size: 20, Kind: "json", PerPOST: 100, Streams: 1, PerStr: 100_000},
	{Name: "json-100B", Size: 100, Kind: "json", PerPOST: 100, Streams: 1, PerStr: 100_000},
	{Name: "json-1KB-nested", Size: 1000, Kind: "nested", PerPOST: 100, Streams: 1, PerStr: 20_000},
	{Name: "json-100B-1-per-POST", Size: 100, Kind: "json", PerPOST: 1, Streams: 1, PerStr: 10_000},
	{Name: "json-100B-100-streams-of-1000", Size: 100, Kind: "json", PerPOST: 1000, Streams: 100, PerStr: 1000},
	{Name: "binary-1KB-1-per-POST", Size: 1000, Kind: "binary", PerPOST: 1, Streams: 1, PerStr: 10_000},
	{Name: "binary-64KB-1-per-POST", Size: 64 << 10, Kind: "binary", PerPOST: 1, Streams: 1, PerStr: 1000},
}

// capped returns s with at most n messages in its streams together (n/4
// for a shape of one message per POST, whose fill is slow on a reference
// server, but whose read must still last long enough to be measured: a
// tenth, 2,000 messages in a quick run, was read in a few milliseconds and
// swung by a third from run to run), at least one POST's worth per stream;
// n 0 leaves s as it is.
func (s shape) capped(n int) shape {
	if n <= 0 {
		return s
	}
	if s.PerPOST == 1 {
		n /= 4
	}
	s.PerStr = min(s.PerStr, max(n/s.Streams/s.PerPOST, 1)*s.PerPOST)
	return s
}

func shapeNames() []string {
	var names []string
	for _, s := range shapes {
		names = append(names, s.Name)
	}
	return names
}

// parseShapes reads --catchup-shapes: "" for none, "all", or names.
func parseShapes(list string) ([]shape, error) {
	if list == "" {
		return nil, nil
	}
	if list == "all" {
		return slices.Clone(shapes), nil
	}
	var out []shape
	for _, name := range strings.Split(list, ",") {
		i := slices.IndexFunc(shapes, func(s shape) bool { return s.Name == strings.TrimSpace(name) })
		if i < 0 {
			return nil, fmt.Errorf("--catchup-shapes: unknown shape %q (want all or some of %s)", name, strings.Join(shapeNames(), ","))
		}
		out = append(out, shapes[i])
	}
	return out, nil
}

// shapeResult is one shape's catch-up read.
type shapeResult struct {
	shape
	GETsPerRound int       `json:"gets_per_round"`
	Bytes        int64     `json:"bytes_read"`
	Rounds       []float64 `json:"rounds_messages_per_sec"`
	MsgsPerSec   float64   `json:"messages_per_sec"`
	MBPerSec     float64   `json:"mb_per_sec"`
}

// shapeMessage is message n of writer w in shape s: exactly s.Size bytes
// (a JSON value for the JSON kinds).
func shapeMessage(s shape, w, n int) []byte {
	switch s.Kind {
	case "binary":
		b := bytes.Repeat([]byte{0xA5}, s.Size)
		copy(b, fmt.Sprintf("%d:%d:", w, n))
		return b
	case "nested":
		head := fmt.Sprintf(`{"w":%d,"n":%d,"order":{"lines":[{"sku":"A-1","qty":2,"tags":["x","y"]},{"sku":"B-2","qty":1,"tags":[]}],"note":"`, w, n)
		tail := `"},"ok":true}`
		pad := max(s.Size-len(head)-len(tail), 0)
		return append(append([]byte(head), bytes.Repeat([]byte{'n'}, pad)...), tail...)
	}
	head := fmt.Sprintf(`{"n":%d,"p":"`, n)
	pad := max(s.Size-len(head)-len(`"}`), 0)
	return append(append([]byte(head), bytes.Repeat([]byte{'x'}, pad)...), `"}`...)
}

// shapeBody is the body of one POST of count messages from first.
func shapeBody(s shape, w, first, count int) []byte {
	if s.Kind == "binary" {
		var b []byte
		for i := range count {
			b = append(b, shapeMessage(s, w, first+i)...)
		}
		return b
	}
	b := []byte{'['}
	for i := range count {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, shapeMessage(s, w, first+i)...)
	}
	return append(b, ']')
}

// shapeTest fills s.Streams streams and reads each from -1 to its tail,
// one after the other, rounds times; it reports the median round.
func shapeTest(ctx context.Context, c *client, s shape, rounds int, progress func(string, ...any)) (*shapeResult, error) {
	ctype := jsonType
	if s.Kind == "binary" {
		ctype = "application/octet-stream"
	}
	urls := make([]string, s.Streams)
	for i := range urls {
		urls[i] = c.streamURL("shape-" + s.Name)
		if err := c.createType(ctx, urls[i], ctype); err != nil {
			return nil, err
		}
	}
	if err := fillShape(ctx, c, s, urls, ctype); err != nil {
		return nil, err
	}
	r := &shapeResult{shape: s}
	total := s.Streams * s.PerStr
	var mbs []float64
	var buf bytes.Buffer
	for round := range rounds {
		var bytesRead int64
		gets, n := 0, 0
		start := time.Now()
		for _, url := range urls {
			k, b, g, err := readShapeToTail(ctx, c, s, url, &buf)
			if err != nil {
				return nil, err
			}
			n, bytesRead, gets = n+k, bytesRead+b, gets+g
		}
		elapsed := time.Since(start)
		if n != total {
			return nil, fmt.Errorf("catch-up read of %s, round %d: %d messages, want %d", s.Name, round+1, n, total)
		}
		r.Bytes, r.GETsPerRound = bytesRead, gets
		r.Rounds = append(r.Rounds, float64(n)/elapsed.Seconds())
		mbs = append(mbs, float64(bytesRead)/elapsed.Seconds()/1e6)
		progress("catch-up read of %s, round %d: %d messages in %d GETs, %s", s.Name, round+1, n, gets, elapsed.Round(time.Millisecond))
	}
	r.MsgsPerSec, r.MBPerSec = benchstat.Median(r.Rounds), benchstat.Median(mbs)
	return r, nil
}

func fillShape(ctx context.Context, c *client, s shape, urls []string, ctype string) error {
	type job struct{ url, first, count int }
	jobs := make(chan job)
	errs := make(chan error, fillWriters)
	var wg sync.WaitGroup
	for w := range fillWriters {
		wg.Go(func() {
			for j := range jobs {
				if _, err := c.appendType(ctx, urls[j.url], ctype, shapeBody(s, w, j.first, j.count)); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	var err error
	for u := range urls {
		for first := 0; first < s.PerStr && err == nil; first += s.PerPOST {
			select {
			case jobs <- job{u, first, min(s.PerPOST, s.PerStr-first)}:
			case err = <-errs:
			}
		}
	}
	close(jobs)
	wg.Wait()
	if err == nil {
		select {
		case err = <-errs:
		default:
		}
	}
	if err != nil {
		return fmt.Errorf("filling the %s streams: %w", s.Name, err)
	}
	return nil
}

// readShapeToTail reads url from -1 to its tail and counts its messages
// (a binary stream's by their fixed size).
func readShapeToTail(ctx context.Context, c *client, s shape, url string, buf *bytes.Buffer) (n int, bytesRead int64, gets int, err error) {
	offset := "-1"
	for {
		r, err := c.read(ctx, url, offset, "", buf)
		if err != nil {
			return 0, 0, 0, err
		}
		gets++
		k := len(r.body) / s.Size
		if s.Kind != "binary" {
			if k, err = countItems(r.body); err != nil {
				return 0, 0, 0, fmt.Errorf("GET %s?offset=%s: %w", url, offset, err)
			}
		}
		n += k
		bytesRead += int64(len(r.body))
		if r.upToDate {
			return n, bytesRead, gets, nil
		}
		if r.next == "" || r.next == offset {
			return 0, 0, 0, fmt.Errorf("GET %s?offset=%s: no progress (Stream-Next-Offset %q) and not up to date", url, offset, r.next)
		}
		offset = r.next
	}
}
