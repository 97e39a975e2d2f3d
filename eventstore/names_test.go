package eventstore_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rewindhq/rewind/eventstore"
)

// validNames are names the store must take as they are, including every
// byte that means something to NATS (". * > $ %", whitespace) and names that
// spell JetStream's or Rewind's own subjects.
var validNames = []string{
	"orders",
	"orders/123",
	"orders/123/events",
	"x.y",
	"x/y",
	"x%2Ey",
	"x%2ey",
	"x_y",
	"x y",
	"x/y/z",
	"*",
	">",
	"x/*",
	"x/>",
	"a*b>c",
	"with space/and more",
	" leading and trailing ",
	"100%",
	"%",
	"$JS/API",
	"$JS.API.STREAM.DELETE.rewind",
	"$SYS/REQ",
	"_INBOX/abc",
	"rewind.s.orders.123",
	"...",
	".hidden/..dots",
	"ünïcödé/日本語",
	"emoji/🚀",
	"dollar$/and&amp=?",
	"-_/-",
	strings.Repeat("é", eventstore.MaxStreamNameLen/2),
	strings.Repeat(".", eventstore.MaxStreamNameLen), // the longest subject escaping makes
}

// invalidNames are names every operation must refuse with
// ErrInvalidStreamName.
var invalidNames = map[string]string{
	"empty":             "",
	"slash":             "/",
	"leading slash":     "/orders/1",
	"trailing slash":    "orders/1/",
	"empty segment":     "a//b",
	"dot":               ".",
	"dot dot":           "..",
	"dot segment":       "a/./b",
	"dot dot segment":   "a/../b",
	"leading dot dot":   "../a",
	"trailing dot":      "a/.",
	"NUL":               "a\x00b",
	"newline":           "a\nb",
	"CRLF":              "a\r\nb",
	"tab":               "a\tb",
	"DEL":               "a\x7fb",
	"C1 control":        "a\u0085b",
	"invalid UTF-8":     "a\xffb",
	"truncated UTF-8":   "a\xc3",
	"too long":          strings.Repeat("a", eventstore.MaxStreamNameLen+1),
	"too long in bytes": strings.Repeat("é", eventstore.MaxStreamNameLen/2+1),
}

// TestValidNamesRoundTrip stores one event in each valid stream, all in one
// store, and checks that every name reads back exactly its own event, under
// its own name, through the index (Read, Head) and through the log
// (ReadAll, ReadCategory, Subscribe): distinct names are distinct streams,
// and names that look like NATS wildcards or JetStream API subjects are
// ordinary streams.
func TestValidNamesRoundTrip(t *testing.T) {
	s, _ := openStore(t)
	ctx := context.Background()
	for _, name := range validNames {
		if _, err := s.Append(ctx, name, []eventstore.Event{ev("Named", name)}); err != nil {
			t.Fatalf("append to %q: %v", shorten(name), err)
		}
	}

	for _, name := range validNames {
		got := collect(t, s.Read(ctx, name))
		if len(got) != 1 || got[0].Stream != name || string(got[0].Data) != name || got[0].Version != 1 {
			t.Errorf("read %q: got %s, want its one event", shorten(name), describe(got))
		}
		h, err := s.Head(ctx, name)
		if err != nil || h.Version != 1 {
			t.Errorf("head of %q: %+v, %v; want version 1", shorten(name), h, err)
		}
	}

	all := collect(t, s.ReadAll(ctx))
	if len(all) != len(validNames) {
		t.Fatalf("read all: %d events, want %d (did a name reach another subject?)", len(all), len(validNames))
	}
	for i, e := range all {
		if e.Stream != validNames[i] || string(e.Data) != validNames[i] {
			t.Errorf("read all, event %d: stream %q data %q, want %q", i, shorten(e.Stream), shorten(string(e.Data)), shorten(validNames[i]))
		}
	}

	categories := map[string]bool{}
	for _, name := range validNames {
		cat, _, _ := strings.Cut(name, "/")
		categories[cat] = true
	}
	for cat := range categories {
		var want []string
		for _, name := range validNames {
			if c, _, _ := strings.Cut(name, "/"); c == cat {
				want = append(want, name)
			}
		}
		got := collect(t, s.ReadCategory(ctx, cat))
		if !sameStreams(got, want) {
			t.Errorf("read category %q: got %s, want streams %q", shorten(cat), describe(got), want)
		}
	}
}

// TestValidNamesSubscribe subscribes to the names whose subjects are the
// hardest on NATS (wildcards, "$" tokens, the longest escaped subject) and
// checks that each live subscription gets its own stream's event only.
func TestValidNamesSubscribe(t *testing.T) {
	s, _ := openStore(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	names := []string{"*", ">", "x/>", "$JS/API", "x.y", "x/y", strings.Repeat(".", eventstore.MaxStreamNameLen)}
	for _, name := range names {
		if _, err := s.Append(ctx, name, []eventstore.Event{ev("Named", name)}); err != nil {
			t.Fatalf("append to %q: %v", shorten(name), err)
		}
	}
	for _, name := range names {
		subCtx, stop := context.WithCancel(ctx)
		var got []eventstore.Event
		for e, err := range s.Subscribe(subCtx, name) {
			if err != nil {
				t.Fatalf("subscribe to %q: %v", shorten(name), err)
			}
			got = append(got, e)
			if len(got) == 2 {
				break
			}
			// The second event comes live, after the catch-up.
			if _, err := s.Append(ctx, name, []eventstore.Event{ev("Named", name)}); err != nil {
				t.Fatalf("append to %q: %v", shorten(name), err)
			}
		}
		stop()
		if len(got) != 2 || got[0].Version != 1 || got[1].Version != 2 ||
			got[0].Stream != name || got[1].Stream != name || string(got[1].Data) != name {
			t.Errorf("subscribe to %q: got %s, want versions 1 and 2 of it", shorten(name), describe(got))
		}
	}
}

// TestInvalidNames checks that every operation that takes a stream name
// refuses an invalid one with ErrInvalidStreamName, and stores nothing.
func TestInvalidNames(t *testing.T) {
	s, _ := openStore(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for label, name := range invalidNames {
		t.Run(label, func(t *testing.T) {
			_, err := s.Append(ctx, name, evs(1, 0))
			wantInvalidName(t, "Append", err)
			_, err = s.Head(ctx, name)
			wantInvalidName(t, "Head", err)
			wantInvalidName(t, "Read", firstError(t, s.Read(ctx, name)))
			wantInvalidName(t, "Subscribe", firstError(t, s.Subscribe(ctx, name)))
			wantInvalidName(t, "ReadCategory", firstError(t, s.ReadCategory(ctx, name)))
			wantInvalidName(t, "SubscribeCategory", firstError(t, s.SubscribeCategory(ctx, name)))
		})
	}
	if got := collect(t, s.ReadAll(ctx)); len(got) != 0 {
		t.Errorf("the log holds %s after refused appends, want nothing", describe(got))
	}
}

// TestCategoryWithSlashInvalid checks that a category is one segment: a
// name that is a valid stream is still an invalid category when it has a
// "/".
func TestCategoryWithSlashInvalid(t *testing.T) {
	s, _ := openStore(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.Append(ctx, "orders/1", evs(1, 0)); err != nil {
		t.Fatal(err)
	}
	for _, cat := range []string{"orders/1", "orders/1/events"} {
		wantInvalidName(t, "ReadCategory("+cat+")", firstError(t, s.ReadCategory(ctx, cat)))
		wantInvalidName(t, "SubscribeCategory("+cat+")", firstError(t, s.SubscribeCategory(ctx, cat)))
	}
}

func wantInvalidName(t *testing.T, op string, err error) {
	t.Helper()
	if !errors.Is(err, eventstore.ErrInvalidStreamName) {
		t.Errorf("%s: %v, want ErrInvalidStreamName", op, err)
	}
}

// sameStreams reports whether events are one per stream in want, in order.
func sameStreams(events []eventstore.Event, want []string) bool {
	if len(events) != len(want) {
		return false
	}
	for i, e := range events {
		if e.Stream != want[i] || string(e.Data) != want[i] {
			return false
		}
	}
	return true
}
