package durablestreams_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rewindhq/rewind/eventstore"
	"github.com/rewindhq/rewind/eventstore/durablestreams"
)

// fuzzMethods are the methods a fuzzed request picks from: the protocol's
// and one that is not.
var fuzzMethods = []string{"GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS", "PATCH"}

func fuzzMethod(s string) string {
	for _, m := range fuzzMethods {
		if strings.EqualFold(s, m) {
			return m
		}
	}
	return fuzzMethods[len(s)%len(fuzzMethods)]
}

// fuzzHandler is one store and one Handler, made once per fuzz target run
// (per fuzzing worker) and shared by its inputs, with a few streams made
// up front so that inputs meet existing ones too.
func fuzzHandler(f *testing.F) (*eventstore.Store, http.Handler) {
	store := openStore(f, f.TempDir())
	h := durablestreams.New(store, durablestreams.WithLogger(quietLog),
		durablestreams.WithLongPollTimeout(10*time.Millisecond), durablestreams.WithSSELifetime(10*time.Millisecond),
		durablestreams.WithMaxBody(1<<16), durablestreams.ReadOnly("ro"))
	durablestreams.NoSweep(h) // its background deletes would change streams under the checks
	f.Cleanup(h.Shutdown)
	setup := []struct {
		method, name, body string
		kv                 []string
	}{
		{"PUT", "fz/json", `[{"a":1},[2,3],"x"]`, []string{"Content-Type", "application/json"}},
		{"PUT", "fz/bytes", "\x00\x01\xff", []string{"Content-Type", "application/octet-stream"}},
		{"PUT", "fz/text", "line one\nline two\r\n", []string{"Content-Type", "text/plain"}},
		{"PUT", "fz/closed", `[1]`, []string{"Content-Type", "application/json", "Stream-Closed", "true"}},
		{"PUT", "fz/ttl", "", []string{"Content-Type", "application/json", "Stream-TTL", "3600"}},
		{"PUT", "fz/fork", "", []string{"Stream-Forked-From", "/v1/stream/fz/json"}},
		{"POST", "fz/bytes", "more", []string{"Content-Type", "application/octet-stream", "Producer-Id", "p", "Producer-Epoch", "0", "Producer-Seq", "0"}},
	}
	for _, s := range setup {
		r := httptest.NewRequest(s.method, "http://127.0.0.1/v1/stream/"+s.name, strings.NewReader(s.body))
		// A client on this machine: the handler has no Authorizer.
		r.RemoteAddr = "127.0.0.1:1234"
		for i := 0; i < len(s.kv); i += 2 {
			r.Header.Set(s.kv[i], s.kv[i+1])
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code >= 300 {
			f.Fatalf("%s %s: %d %s", s.method, s.name, w.Code, w.Body)
		}
	}
	if _, err := store.Append(context.Background(), "go/orders", []eventstore.Event{
		{Type: "OrderPlaced", Data: []byte(`{"id":1}`), Metadata: map[string]string{"k": "v"}},
		{Type: "Blob", Data: []byte{0xff, 0xfe}},
	}); err != nil {
		f.Fatal(err)
	}
	return store, h
}

// validHeaderValue reports what net/http's server would let through: no
// control characters but tab. A client cannot send the others.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// fuzzHeaders are the request headers FuzzRequest sets, in the order of
// its arguments.
var fuzzHeaders = []string{"Content-Type", "Stream-TTL", "Stream-Expires-At", "Stream-Closed", "Stream-Seq",
	"Producer-Id", "Producer-Epoch", "Producer-Seq", "Stream-Forked-From", "Stream-Fork-Offset",
	"Stream-Fork-Sub-Offset", "If-None-Match"}

// FuzzRequest serves fuzzed requests: no panic, no 5xx, every 4xx with a
// plain-text reason, the security headers on every answer, and a refused
// request leaves its stream as it was.
func FuzzRequest(f *testing.F) {
	store, h := fuzzHandler(f)
	f.Fuzz(func(t *testing.T, method, path, contentType, ttl, expiresAt, closed, streamSeq,
		producerID, producerEpoch, producerSeq, forkedFrom, forkOffset, forkSub, ifNoneMatch,
		offset, live, cursor string, body []byte) {
		method = fuzzMethod(method)
		values := []string{contentType, ttl, expiresAt, closed, streamSeq, producerID, producerEpoch,
			producerSeq, forkedFrom, forkOffset, forkSub, ifNoneMatch}
		r := httptest.NewRequest(method, "http://127.0.0.1/", bytes.NewReader(body))
		r.RemoteAddr = "127.0.0.1:1234"
		r.URL.Path = "/v1/stream/" + path
		r.RequestURI = ""
		q := url.Values{}
		// An empty argument is no parameter (the fuzzer cannot say
		// "absent" otherwise); "\x00empty" is an empty one.
		for k, v := range map[string]string{"offset": offset, "live": live, "cursor": cursor} {
			switch v {
			case "":
			case "\x00empty":
				q.Set(k, "")
			default:
				q.Set(k, v)
			}
		}
		r.URL.RawQuery = q.Encode()
		for i, v := range values {
			if v != "" && validHeaderValue(v) {
				r.Header.Set(fuzzHeaders[i], v)
			}
		}
		// A stream with a TTL or expiry may legitimately vanish on any
		// request; it is left out of the nothing-changed check.
		name := path
		before, checkable := fuzzSnapshot(store, name)

		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)

		hd := w.Result().Header
		if w.Code >= 500 {
			t.Fatalf("%s %q: %d %q", method, r.URL.String(), w.Code, w.Body.String())
		}
		if hd.Get("X-Content-Type-Options") != "nosniff" || hd.Get("Cross-Origin-Resource-Policy") == "" ||
			!strings.HasPrefix(hd.Get("Content-Security-Policy"), "sandbox") {
			t.Fatalf("%s %q: %d without the security headers: %v", method, r.URL.String(), w.Code, hd)
		}
		if w.Code >= 400 {
			if ct := hd.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
				t.Fatalf("%s %q: %d with Content-Type %q", method, r.URL.String(), w.Code, ct)
			}
			if strings.TrimSpace(w.Body.String()) == "" {
				t.Fatalf("%s %q: %d with an empty reason", method, r.URL.String(), w.Code)
			}
			if after, _ := fuzzSnapshot(store, name); checkable && after != before {
				t.Fatalf("%s %q: %d %q, but the stream changed: %+v, then %+v", method, r.URL.String(), w.Code,
					w.Body.String(), before, after)
			}
		}
	})
}

// fuzzState is what the nothing-changed check compares.
type fuzzState struct {
	head     eventstore.Head
	revision uint64
}

func fuzzSnapshot(store *eventstore.Store, name string) (fuzzState, bool) {
	ctx := context.Background()
	hd, err := store.Head(ctx, name)
	if err != nil {
		return fuzzState{}, false // not a name the store takes
	}
	md, err := store.Metadata(ctx, name)
	if err != nil {
		return fuzzState{}, false
	}
	if md.Values["ds.ttl"] != "" || md.Values["ds.expires-at"] != "" {
		return fuzzState{}, false
	}
	hd.StoredAt = time.Time{}
	return fuzzState{head: hd, revision: md.Revision}, true
}

// FuzzOffset reads a stream from fuzzed offsets: an offset is -1, now, one
// the store hands out, or a 400; never a 5xx, and a 200 reads on from a
// real position.
func FuzzOffset(f *testing.F) {
	store := openStore(f, f.TempDir())
	h := durablestreams.New(store, durablestreams.WithLogger(quietLog), durablestreams.WithLongPollTimeout(10*time.Millisecond))
	f.Cleanup(h.Shutdown)
	res, err := store.Append(context.Background(), "fz/offsets", []eventstore.Event{
		{Type: durablestreams.MessageType, Data: []byte(`1`)},
		{Type: durablestreams.MessageType, Data: []byte(`2`)},
	})
	if err != nil {
		f.Fatal(err)
	}
	for _, o := range res.Offsets {
		f.Add(string(o), false)
	}
	for _, s := range []string{"-1", "now", "-2", "0", "0_0", "0000000000000000_0000000000000000", "00000000000000000000_000000",
		string(eventstore.Start), "../", "a b", "1,2", "\x00", "\r\n", "/", strings.Repeat("9", 300), "99999999999999999999_999999",
		"00000000000000000001_000000", "00000000000000000001_000001", " now", "NOW", "-1 ", "%2F"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, offset string, longPoll bool) {
		q := url.Values{"offset": {offset}}
		if longPoll {
			q.Set("live", "long-poll")
		}
		r := httptest.NewRequest("GET", "http://127.0.0.1/v1/stream/fz/offsets?"+q.Encode(), nil)
		r.RemoteAddr = "127.0.0.1:1234"
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		_, perr := eventstore.ParseOffset(offset)
		switch {
		case w.Code >= 500:
			t.Fatalf("offset %q: %d %q", offset, w.Code, w.Body.String())
		case w.Code == http.StatusBadRequest:
			if strings.TrimSpace(w.Body.String()) == "" || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/plain") {
				t.Fatalf("offset %q: 400 without a plain-text reason", offset)
			}
			if perr == nil && offset != "" {
				t.Fatalf("offset %q: 400, but eventstore.ParseOffset takes it", offset)
			}
		case w.Code == http.StatusOK || w.Code == http.StatusNoContent:
			next := w.Header().Get("Stream-Next-Offset")
			if _, err := eventstore.ParseOffset(next); err != nil || next == "-1" || next == "now" {
				t.Fatalf("offset %q: %d with Stream-Next-Offset %q, not a real offset", offset, w.Code, next)
			}
		default:
			t.Fatalf("offset %q: unexpected %d %q", offset, w.Code, w.Body.String())
		}
	})
}

// FuzzJSONBatch posts fuzzed bodies to a JSON stream: valid JSON appends
// one message, or, for a top-level array, its elements one level deep,
// each the element's exact JSON text; anything else is a 400 that appends
// nothing.
func FuzzJSONBatch(f *testing.F) {
	store := openStore(f, f.TempDir())
	h := durablestreams.New(store, durablestreams.WithLogger(quietLog))
	f.Cleanup(h.Shutdown)
	const name = "fz/batch"
	put := httptest.NewRequest("PUT", "http://127.0.0.1/v1/stream/"+name, nil)
	put.RemoteAddr = "127.0.0.1:1234"
	put.Header.Set("Content-Type", "application/json")
	h.ServeHTTP(httptest.NewRecorder(), put)
	for _, s := range []string{`1`, `[1,2]`, `[[1,2],[3]]`, ` [ "a,b" , "]" , {"k":"[,]"} ] `, `"\"[\""`, `[]`, `[ ]`,
		`[1,`, `{"a":[1,2]}`, `[null,true,false,-0.5e10]`, `["\u005d\\",1]`, "[\n1\t,\r2 ]", `[[]]`, `[{}]`, ``, ` `, `[1]x`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ctx := context.Background()
		before, err := store.Head(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest("POST", "http://127.0.0.1/v1/stream/"+name, bytes.NewReader(body))
		r.RemoteAddr = "127.0.0.1:1234"
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)

		var want [][]byte // nil: refused
		if t2 := bytes.TrimSpace(body); json.Valid(body) {
			var items []json.RawMessage
			if t2[0] != '[' {
				want = [][]byte{t2}
			} else if json.Unmarshal(t2, &items) == nil && len(items) > 0 {
				for _, it := range items {
					want = append(want, bytes.TrimSpace(it))
				}
			}
		}
		var got [][]byte
		for e, err := range store.Read(ctx, name, eventstore.From(before.Offset)) {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, e.Data)
		}
		switch {
		case want == nil && w.Code != http.StatusBadRequest:
			t.Fatalf("body %q: %d, want 400", body, w.Code)
		case want != nil && w.Code != http.StatusNoContent:
			t.Fatalf("body %q: %d %q, want 204", body, w.Code, w.Body.String())
		case len(got) != len(want):
			t.Fatalf("body %q appended %d messages %q, want %q", body, len(got), got, want)
		}
		for i := range want {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("body %q: message %d is %q, want %q", body, i, got[i], want[i])
			}
		}
	})
}
