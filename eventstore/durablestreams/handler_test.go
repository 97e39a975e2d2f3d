package durablestreams_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rewindhq/rewind/eventstore"
	"github.com/rewindhq/rewind/eventstore/durablestreams"
)

// jsonEqual reports whether two JSON texts are the same value.
func jsonEqual(t testing.TB, a, b []byte) bool {
	t.Helper()
	var va, vb any
	if err := json.Unmarshal(a, &va); err != nil {
		t.Fatalf("not JSON: %q: %v", a, err)
	}
	if err := json.Unmarshal(b, &vb); err != nil {
		t.Fatalf("not JSON: %q: %v", b, err)
	}
	return reflect.DeepEqual(va, vb)
}

func TestJSONMessageIsAnEvent(t *testing.T) {
	srv := newServer(t, openStore(t, t.TempDir()))
	const name = "chat/room-1"
	srv.do("PUT", name, nil, "Content-Type", "application/json").must(t, 201, "PUT")
	msg := []byte(`{"text":"héllo","n":[1,2.5,null],"nested":{"ok":true}}`)
	post := srv.do("POST", name, msg, "Content-Type", "application/json").must(t, 204, "POST")

	get := srv.do("GET", name+"?offset=-1", nil).must(t, 200, "GET")
	if ct := get.get("Content-Type"); ct != "application/json" {
		t.Errorf("GET Content-Type %q", ct)
	}
	if !jsonEqual(t, get.body, append(append([]byte("["), msg...), ']')) {
		t.Errorf("GET read %s, want [%s]", get.body, msg)
	}

	evs := events(t, srv.store, name)
	if len(evs) != 1 {
		t.Fatalf("the store holds %d events, want 1", len(evs))
	}
	e := evs[0]
	if e.Type != durablestreams.MessageType || !jsonEqual(t, e.Data, msg) || e.Version != 1 {
		t.Errorf("event %+v, want type %q data %s", e, durablestreams.MessageType, msg)
	}
	if string(e.Offset) != post.get("Stream-Next-Offset") {
		t.Errorf("event offset %s, POST answered Stream-Next-Offset %s", e.Offset, post.get("Stream-Next-Offset"))
	}

	// An array appends its elements, one commit, one level deep.
	srv.do("POST", name, []byte(`[[1,2],{"b":3},"s"]`), "Content-Type", "application/json").must(t, 204, "POST array")
	evs = events(t, srv.store, name)
	if len(evs) != 4 {
		t.Fatalf("the store holds %d events, want 4", len(evs))
	}
	for i, want := range []string{`[1,2]`, `{"b":3}`, `"s"`} {
		if got := evs[i+1]; !jsonEqual(t, got.Data, []byte(want)) || !got.StoredAt.Equal(evs[1].StoredAt) {
			t.Errorf("event %d: %s stored at %v, want %s in one commit", i+2, got.Data, got.StoredAt, want)
		}
	}
}

func TestBytesRoundTrip(t *testing.T) {
	srv := newServer(t, openStore(t, t.TempDir()))
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	for _, ct := range []string{"application/octet-stream", "text/plain"} {
		t.Run(ct, func(t *testing.T) {
			name := "bytes/" + strings.ReplaceAll(ct, "/", "-")
			srv.do("PUT", name, nil, "Content-Type", ct).must(t, 201, "PUT")
			srv.do("POST", name, all, "Content-Type", ct).must(t, 204, "POST")
			srv.do("POST", name, []byte("\r\n\x00tail"), "Content-Type", ct).must(t, 204, "POST")
			want := append(bytes.Clone(all), "\r\n\x00tail"...)
			get := srv.do("GET", name+"?offset=-1", nil).must(t, 200, "GET")
			if !bytes.Equal(get.body, want) {
				t.Errorf("GET read %d bytes %q, want the %d posted", len(get.body), truncate(get.body), len(want))
			}
			if got := get.get("Content-Type"); got != ct {
				t.Errorf("Content-Type %q, want %q", got, ct)
			}
			evs := events(t, srv.store, name)
			if len(evs) != 2 || !bytes.Equal(evs[0].Data, all) || evs[0].Type != durablestreams.MessageType {
				t.Fatalf("the store holds %+v, want the 256 bytes as one message", evs)
			}
		})
	}
}

func TestGoEventsReadAsEnvelopes(t *testing.T) {
	srv := newServer(t, openStore(t, t.TempDir()))
	ctx := context.Background()
	const name = "billing/7"
	res, err := srv.store.Append(ctx, name, []eventstore.Event{
		{Type: "InvoiceIssued", Data: []byte(`{"amount":12.5}`), Metadata: map[string]string{"correlation-id": "c-1"}},
		{Type: "Blob", Data: []byte{0xff, 0x00, 'x'}},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.do("HEAD", name, nil).must(t, 200, "HEAD of a Go stream")
	get := srv.do("GET", name+"?offset=-1", nil).must(t, 200, "GET")
	if ct := get.get("Content-Type"); ct != "application/json" {
		t.Errorf("a Go stream reads as %q, want application/json", ct)
	}
	if got := get.get("Stream-Next-Offset"); got != string(res.Offset()) {
		t.Errorf("Stream-Next-Offset %s, the append's offset %s", got, res.Offset())
	}
	var envs []map[string]json.RawMessage
	if err := json.Unmarshal(get.body, &envs); err != nil || len(envs) != 2 {
		t.Fatalf("GET read %s (%v), want two envelopes", get.body, err)
	}
	evs := events(t, srv.store, name)
	for i, e := range evs {
		env := envs[i]
		var typ, id string
		var version uint64
		var ts int64
		json.Unmarshal(env["type"], &typ)
		json.Unmarshal(env["id"], &id)
		json.Unmarshal(env["version"], &version)
		json.Unmarshal(env["timestamp"], &ts)
		if typ != e.Type || id != e.ID.String() || version != e.Version || ts != e.StoredAt.UnixMilli() {
			t.Errorf("envelope %d: type %q id %q version %d timestamp %d; event %s %s %d %d", i, typ, id, version, ts,
				e.Type, e.ID, e.Version, e.StoredAt.UnixMilli())
		}
	}
	if !jsonEqual(t, envs[0]["data"], []byte(`{"amount":12.5}`)) || envs[0]["dataBase64"] != nil {
		t.Errorf("JSON data: %s", get.body)
	}
	if md := string(envs[0]["metadata"]); md != `{"correlation-id":"c-1"}` {
		t.Errorf("metadata %s", md)
	}
	var b64 string
	json.Unmarshal(envs[1]["dataBase64"], &b64)
	if raw, _ := base64.StdEncoding.DecodeString(b64); !bytes.Equal(raw, []byte{0xff, 0x00, 'x'}) || envs[1]["data"] != nil {
		t.Errorf("non-JSON data: %s", get.body)
	}
	if envs[1]["metadata"] != nil {
		t.Errorf("an event without metadata has some: %s", envs[1]["metadata"])
	}

	// A message posted to the Go stream reads as itself, after them.
	srv.do("POST", name, []byte(`{"via":"http"}`), "Content-Type", "application/json").must(t, 204, "POST")
	get = srv.do("GET", name+"?offset="+string(res.Offset()), nil).must(t, 200, "GET after")
	if !jsonEqual(t, get.body, []byte(`[{"via":"http"}]`)) {
		t.Errorf("GET after the Go events read %s", get.body)
	}
}

func TestOffsetsAreTheStores(t *testing.T) {
	store := openStore(t, t.TempDir())
	srv := newServer(t, store, durablestreams.WithChunkSize(1)) // one message per read
	const name = "offsets/s"
	srv.do("PUT", name, nil, "Content-Type", "application/json").must(t, 201, "PUT")
	var posted []string
	for i := range 4 {
		r := srv.do("POST", name, []byte{'0' + byte(i)}, "Content-Type", "application/json").must(t, 204, "POST")
		posted = append(posted, r.get("Stream-Next-Offset"))
	}
	evs := events(t, store, name)
	for i, o := range posted {
		if _, err := eventstore.ParseOffset(o); err != nil {
			t.Fatalf("POST answered offset %q: %v", o, err)
		}
		if eventstore.Offset(o) != evs[i].Offset {
			t.Errorf("POST %d answered %s, the event's offset is %s", i, o, evs[i].Offset)
		}
	}
	// HTTP reads one message, Go goes on from there, and the other way round.
	get := srv.do("GET", name+"?offset=-1", nil).must(t, 200, "GET")
	if string(get.body) != "[0]" || get.get("Stream-Up-To-Date") != "" {
		t.Fatalf("a one-message chunk read %s (up to date %q)", get.body, get.get("Stream-Up-To-Date"))
	}
	next := eventstore.Offset(get.get("Stream-Next-Offset"))
	rest := events(t, store, name, eventstore.From(next))
	if len(rest) != 3 || string(rest[0].Data) != "1" || rest[0].Version != 2 {
		t.Fatalf("store.Read(From(%s)) read %d events from %+v, want versions 2 to 4", next, len(rest), rest)
	}
	get = srv.do("GET", name+"?offset="+string(rest[1].Offset), nil).must(t, 200, "GET from a Go offset")
	if string(get.body) != "[3]" {
		t.Errorf("GET from the offset of version 3 read %s, want [3]", get.body)
	}
	get = srv.do("GET", name+"?offset="+string(evs[3].Offset), nil).must(t, 200, "GET at the tail")
	if string(get.body) != "[]" || get.get("Stream-Next-Offset") != string(evs[3].Offset) || get.get("Stream-Up-To-Date") != "true" {
		t.Errorf("GET at the tail: %s, next %s, up to date %q", get.body, get.get("Stream-Next-Offset"), get.get("Stream-Up-To-Date"))
	}
}

func TestSubscriptionSeesHTTPMessages(t *testing.T) {
	store := openStore(t, t.TempDir())
	srv := newServer(t, store)
	const name = "live/sub"
	srv.do("PUT", name, nil, "Content-Type", "application/json").must(t, 201, "PUT")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	got := make(chan eventstore.Event)
	done := make(chan error, 1)
	go func() {
		for e, err := range store.Subscribe(ctx, name, eventstore.From(eventstore.Start)) {
			if err != nil {
				done <- err
				return
			}
			select {
			case got <- e:
			case <-ctx.Done():
			}
		}
		done <- nil
	}()
	for i := range 3 {
		srv.do("POST", name, []byte{'1' + byte(i)}, "Content-Type", "application/json").must(t, 204, "POST")
	}
	for i := range 3 {
		select {
		case e := <-got:
			if e.Type != durablestreams.MessageType || string(e.Data) != string([]byte{'1' + byte(i)}) {
				t.Errorf("subscription event %d: %s %q", i, e.Type, e.Data)
			}
		case err := <-done:
			t.Fatalf("the subscription ended: %v", err)
		case <-ctx.Done():
			t.Fatalf("the subscription saw %d of 3 messages", i)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("subscription: %v", err)
	}
}

func TestReadOnlyCategory(t *testing.T) {
	store := openStore(t, t.TempDir())
	srv := newServer(t, store, durablestreams.ReadOnly("orders"))
	ctx := context.Background()
	if _, err := store.Append(ctx, "orders/1", []eventstore.Event{{Type: "OrderPlaced", Data: []byte(`{}`)}}); err != nil {
		t.Fatal(err)
	}
	before := head(t, store, "orders/1")
	for _, name := range []string{"orders/1", "orders/new", "orders/a/b"} {
		for _, method := range []string{"PUT", "POST", "DELETE"} {
			r := srv.do(method, name, []byte(`{}`), "Content-Type", "application/json", "Stream-Closed", "true")
			if r.code != http.StatusMethodNotAllowed || !strings.Contains(r.get("Allow"), "GET") || strings.Contains(r.get("Allow"), method) {
				t.Errorf("%s %s: %d Allow %q, want 405 allowing reads only", method, name, r.code, r.get("Allow"))
			}
			checkReason(t, method+" "+name, r)
		}
	}
	srv.do("GET", "orders/1?offset=-1", nil).must(t, 200, "GET")
	srv.do("HEAD", "orders/1", nil).must(t, 200, "HEAD")
	if after := head(t, store, "orders/1"); after != before {
		t.Errorf("orders/1 changed: %+v, then %+v", before, after)
	}
	for _, name := range []string{"orders/new", "orders/a/b"} {
		if h := head(t, store, name); h.Version != 0 || h.Closed {
			t.Errorf("%s was written: %+v", name, h)
		}
		if md, err := store.Metadata(ctx, name); err != nil || md.Revision != 0 {
			t.Errorf("%s has metadata: %+v %v", name, md, err)
		}
	}
	// The category is the first segment exactly.
	srv.do("PUT", "ordersx/1", nil).must(t, 201, "PUT outside the category")
}

// snapshot is what a refused request must leave as it was.
type snapshot struct {
	head     eventstore.Head
	revision uint64
	body     string
	producer string
}

func takeSnapshot(t *testing.T, srv *server, name string) snapshot {
	t.Helper()
	md, err := srv.store.Metadata(context.Background(), name)
	if err != nil {
		t.Fatalf("metadata of %s: %v", name, err)
	}
	epoch, seq, ok, err := srv.store.ProducerState(context.Background(), name, "p")
	if err != nil {
		t.Fatalf("producer of %s: %v", name, err)
	}
	s := snapshot{head: head(t, srv.store, name), revision: md.Revision}
	if ok {
		s.producer = fmt.Sprintf("epoch %d seq %d", epoch, seq)
	}
	if md.Revision > 0 || s.head.Version > 0 {
		s.body = string(srv.do("GET", name+"?offset=-1", nil).body)
	}
	return s
}

func TestRefusedRequestsChangeNothing(t *testing.T) {
	store := openStore(t, t.TempDir())
	srv := newServer(t, store, durablestreams.WithMaxBody(1024))
	const J, O = "application/json", "application/octet-stream"
	srv.do("PUT", "t/json", []byte(`[{"a":1}]`), "Content-Type", J).must(t, 201, "PUT t/json")
	srv.do("PUT", "t/bytes", []byte("abc"), "Content-Type", O).must(t, 201, "PUT t/bytes")
	srv.do("POST", "t/bytes", []byte("p0"), "Content-Type", O, "Producer-Id", "p", "Producer-Epoch", "1", "Producer-Seq", "0").must(t, 200, "producer")
	srv.do("POST", "t/bytes", []byte("s"), "Content-Type", O, "Stream-Seq", "b").must(t, 204, "Stream-Seq")
	srv.do("PUT", "t/closed", []byte(`[1]`), "Content-Type", J, "Stream-Closed", "true").must(t, 201, "PUT t/closed")
	fixtures := []string{"t/json", "t/bytes", "t/closed"}
	prod := func(epoch, seq string) []string {
		return []string{"Content-Type", O, "Producer-Id", "p", "Producer-Epoch", epoch, "Producer-Seq", seq}
	}
	big := bytes.Repeat([]byte("x"), 1025)
	var gzBuf bytes.Buffer
	zw := gzip.NewWriter(&gzBuf)
	zw.Write([]byte(`[{"a":2}]`))
	zw.Close()
	gz := gzBuf.Bytes()
	offsets := []string{" ", "../", ",", "\x00", "\r\n", "\n", "a b", "-2", "1", "abc", "now ", "NOW", "%2F",
		strings.Repeat("0", 300), "00000000000000000001_00000", "1_1", "00000000000000000001_000000", "0000000000000000000a_000000", "00000000000000000000_000000,1"}
	type row struct {
		method, target string
		body           []byte
		chunked        bool
		kv             []string
		want           int
	}
	rows := []row{
		{method: "POST", target: "t/bytes", body: big, kv: []string{"Content-Type", O}, want: 413},
		{method: "POST", target: "t/bytes", body: big, chunked: true, kv: []string{"Content-Type", O}, want: 413},
		{method: "POST", target: "t/json", body: []byte("[" + strings.Repeat("1,", 600) + "1]"), kv: []string{"Content-Type", J}, want: 413},
		{method: "PUT", target: "t/new-big", body: big, kv: []string{"Content-Type", O}, want: 413},
		{method: "PUT", target: "t/new-big", body: big, chunked: true, kv: []string{"Content-Type", O}, want: 413},
		{method: "GET", target: "t/json?offset=", want: 400},
		{method: "GET", target: "t/json?offset=-1&offset=-1", want: 400},
		{method: "GET", target: "t/json?live=long-poll", want: 400},
		{method: "GET", target: "t/json?live=sse", want: 400},
		{method: "GET", target: "t/missing?offset=-1", want: 404},
		{method: "HEAD", target: "t/missing", want: 404},
		{method: "PATCH", target: "t/json", want: 405},
		{method: "PUT", target: "t/new", kv: []string{"Stream-TTL", "-1"}, want: 400},
		{method: "PUT", target: "t/new", kv: []string{"Stream-TTL", "1.5"}, want: 400},
		{method: "PUT", target: "t/new", kv: []string{"Stream-TTL", "01"}, want: 400},
		{method: "PUT", target: "t/new", kv: []string{"Stream-TTL", "ten"}, want: 400},
		{method: "PUT", target: "t/new", kv: []string{"Stream-TTL", "99999999999999999999999"}, want: 400},
		{method: "PUT", target: "t/new", kv: []string{"Stream-TTL", "10", "Stream-Expires-At", "2099-01-01T00:00:00Z"}, want: 400},
		{method: "PUT", target: "t/new", kv: []string{"Stream-Expires-At", "tomorrow"}, want: 400},
		{method: "PUT", target: "t/new", kv: []string{"Stream-Expires-At", "2099-13-01T00:00:00Z"}, want: 400},
		{method: "PUT", target: "t/new", kv: []string{"Stream-Expires-At", "1735689600"}, want: 400},
		{method: "PUT", target: "t/json", kv: []string{"Content-Type", J, "Stream-TTL", "x"}, want: 400},
		{method: "PUT", target: "t/json", kv: []string{"Content-Type", O}, want: 409},
		{method: "PUT", target: "t/json", kv: []string{"Content-Type", J, "Stream-TTL", "60"}, want: 409},
		{method: "PUT", target: "t/closed", kv: []string{"Content-Type", J}, want: 409},
		{method: "PUT", target: "t/new", body: []byte(`[1,`), kv: []string{"Content-Type", J}, want: 400},
		{method: "PUT", target: "t/new", kv: []string{"Stream-Fork-Offset", "-1"}, want: 400},
		{method: "PUT", target: "t/new", kv: []string{"Stream-Forked-From", "t/missing"}, want: 404},
		{method: "PUT", target: "t/new", kv: []string{"Stream-Forked-From", "t/json", "Stream-Fork-Offset", "now"}, want: 400},
		{method: "PUT", target: "t/new", kv: []string{"Stream-Forked-From", "t/json", "Stream-Fork-Offset", "../"}, want: 400},
		{method: "PUT", target: "t/new", kv: []string{"Stream-Forked-From", "t/json", "Stream-Fork-Offset", "99999999999999999999_999999"}, want: 400},
		{method: "PUT", target: "t/new", kv: []string{"Stream-Forked-From", "t/json", "Content-Type", "text/plain"}, want: 409},
		{method: "PUT", target: "t/new", kv: []string{"Stream-Forked-From", "t/json", "Stream-Fork-Offset", "-1", "Stream-Fork-Sub-Offset", "2"}, want: 400},
		{method: "PUT", target: "t/new", kv: []string{"Stream-Forked-From", "t/json", "Stream-Fork-Sub-Offset", "1"}, want: 400},
		{method: "PUT", target: "t/new", kv: []string{"Stream-Forked-From", "t/json", "Stream-Fork-Offset", "-1", "Stream-Fork-Sub-Offset", "-1"}, want: 400},
		{method: "PUT", target: "t/new", kv: []string{"Stream-Forked-From", "t/bytes", "Stream-Fork-Offset", "-1", "Stream-Fork-Sub-Offset", "4"}, want: 400},
		{method: "POST", target: "t/missing", body: []byte("1"), kv: []string{"Content-Type", J}, want: 404},
		{method: "POST", target: "t/bytes", kv: []string{"Content-Type", O}, want: 400},
		{method: "POST", target: "t/bytes", body: []byte("x"), want: 400},
		{method: "POST", target: "t/bytes", body: []byte("x"), kv: []string{"Content-Type", J}, want: 409},
		{method: "POST", target: "t/json", body: []byte(`{"a":`), kv: []string{"Content-Type", J}, want: 400},
		{method: "POST", target: "t/json", body: []byte(`[]`), kv: []string{"Content-Type", J}, want: 400},
		{method: "POST", target: "t/json", body: []byte(`  [ ] `), kv: []string{"Content-Type", J}, want: 400},
		{method: "POST", target: "t/json", body: []byte(`1 2`), kv: []string{"Content-Type", J}, want: 400},
		{method: "POST", target: "t/closed", body: []byte(`2`), kv: []string{"Content-Type", J}, want: 409},
		{method: "POST", target: "t/bytes", body: []byte("x"), kv: []string{"Content-Type", O, "Stream-Seq", "a"}, want: 409},
		{method: "POST", target: "t/bytes", body: []byte("x"), kv: []string{"Content-Type", O, "Stream-Seq", "b"}, want: 409},
		{method: "POST", target: "t/bytes", body: []byte("x"), kv: []string{"Content-Type", O, "Producer-Id", "p"}, want: 400},
		{method: "POST", target: "t/bytes", body: []byte("x"), kv: []string{"Content-Type", O, "Producer-Id", "p", "Producer-Epoch", "1"}, want: 400},
		{method: "POST", target: "t/bytes", body: []byte("x"), kv: []string{"Content-Type", O, "Producer-Epoch", "1", "Producer-Seq", "1"}, want: 400},
		{method: "POST", target: "t/bytes", body: []byte("x"), kv: []string{"Content-Type", O, "Producer-Id", "", "Producer-Epoch", "1", "Producer-Seq", "1"}, want: 400},
		{method: "POST", target: "t/bytes", body: []byte("x"), kv: prod("-1", "1"), want: 400},
		{method: "POST", target: "t/bytes", body: []byte("x"), kv: prod("1.0", "1"), want: 400},
		{method: "POST", target: "t/bytes", body: []byte("x"), kv: prod("9007199254740992", "0"), want: 400},
		{method: "POST", target: "t/bytes", body: []byte("x"), kv: prod("1", "x"), want: 400},
		{method: "POST", target: "t/bytes", body: []byte("x"), kv: prod("1", "+1"), want: 400},
		{method: "POST", target: "t/bytes", body: []byte("x"), kv: prod("2", "1"), want: 400},
		{method: "POST", target: "t/bytes", body: []byte("x"), kv: prod("0", "1"), want: 403},
		{method: "POST", target: "t/bytes", body: []byte("x"), kv: prod("1", "5"), want: 409},
		{method: "DELETE", target: "t/missing", want: 404},
		// A coded body is not taken for what it codes (415), where a JSON
		// stream said "not valid JSON" and a byte stream stored the gzip.
		{method: "POST", target: "t/json", body: gz, kv: []string{"Content-Type", J, "Content-Encoding", "gzip"}, want: 415},
		{method: "POST", target: "t/bytes", body: gz, kv: []string{"Content-Type", O, "Content-Encoding", "gzip"}, want: 415},
		{method: "POST", target: "t/bytes", body: gz, chunked: true, kv: []string{"Content-Type", O, "Content-Encoding", "identity, br"}, want: 415},
		{method: "PUT", target: "t/new", body: gz, kv: []string{"Content-Type", O, "Content-Encoding", "x-made-up"}, want: 415},
		// A fork's source is a canonical name of a stream of this server.
		{method: "PUT", target: "t/new", kv: []string{"Stream-Forked-From", "/v1/stream/t/../t/json"}, want: 400},
		{method: "PUT", target: "t/new", kv: []string{"Stream-Forked-From", "t/./json"}, want: 400},
		{method: "PUT", target: "t/new", kv: []string{"Stream-Forked-From", "t//json"}, want: 400},
		{method: "PUT", target: "t/new", kv: []string{"Stream-Forked-From", "http://evil.example/v1/stream/t/json"}, want: 400},
		{method: "PUT", target: "t/new", kv: []string{"Stream-Forked-From", "http:///v1/stream/t/json"}, want: 400},
		// One rule for a stream's type: type/subtype, one of them.
		{method: "PUT", target: "t/new", kv: []string{"Content-Type", "x"}, want: 400},
		{method: "PUT", target: "t/new", kv: []string{"Content-Type", "json; charset=utf-8"}, want: 400},
		{method: "PUT", target: "t/new", kv: []string{"Content-Type", "application/json, text/html"}, want: 400},
		{method: "PUT", target: "t/new", kv: []string{"Content-Type", "text/"}, want: 400},
	}
	for _, o := range offsets {
		q := url.Values{"offset": {o}}.Encode()
		rows = append(rows,
			row{method: "GET", target: "t/json?" + q, want: 400},
			row{method: "GET", target: "t/bytes?" + q + "&live=long-poll", want: 400},
			row{method: "GET", target: "t/json?" + q + "&live=sse", want: 400})
	}
	for _, r := range rows {
		name, _, _ := strings.Cut(r.target, "?")
		names := append([]string{name}, fixtures...)
		before := make([]snapshot, len(names))
		for i, n := range names {
			before[i] = takeSnapshot(t, srv, n)
		}
		var got reply
		if r.chunked {
			got = postChunked(t, srv, r.method, r.target, r.body, r.kv...)
		} else {
			got = srv.do(r.method, r.target, r.body, r.kv...)
		}
		what := r.method + " " + r.target + " " + strings.Join(r.kv, " ")
		if got.code != r.want {
			t.Errorf("%s: %d %q, want %d", what, got.code, truncate(got.body), r.want)
		}
		if r.method != "HEAD" {
			checkReason(t, what, got)
		}
		for i, n := range names {
			if after := takeSnapshot(t, srv, n); after != before[i] {
				t.Errorf("%s: %d, and %s changed: %+v, then %+v", what, got.code, n, before[i], after)
			}
		}
	}
}

// postChunked sends a body of unknown length (chunked), so that only
// reading it tells how large it is.
func postChunked(t *testing.T, srv *server, method, target string, body []byte, kv ...string) reply {
	t.Helper()
	req, err := http.NewRequest(method, srv.url(target), io.MultiReader(bytes.NewReader(body)))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		req.Header.Set(kv[i], kv[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{code: resp.StatusCode, header: resp.Header, body: b}
}
