package durablestreams_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/rewindhq/rewind/eventstore"
	"github.com/rewindhq/rewind/eventstore/durablestreams"
	"github.com/rewindhq/rewind/internal/rawhttp"
)

// rawRequest opens a connection to hs and writes a request's head (and
// body, if any) as given, leaving the connection open.
func rawRequest(t *testing.T, hs *httptest.Server, head string, body []byte) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", hs.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := io.WriteString(c, strings.ReplaceAll(head, "\n", "\r\n")+"\r\n"); err != nil {
		t.Fatal(err)
	}
	if len(body) > 0 {
		if _, err := c.Write(body); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// readResponse reads one response's head from c, within d.
func readResponse(t *testing.T, c net.Conn, d time.Duration) *http.Response {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(d))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer within %v: %v", d, err)
	}
	return resp
}

// The body limit is never above what the store takes, and a body whose
// Content-Length is above it is refused before it is read: the answer
// comes although the body never does.
func TestBodyLimitIsTheStoresAndRefusedBeforeReading(t *testing.T) {
	srv := newServer(t, openStore(t, t.TempDir()), durablestreams.WithMaxBody(64<<20))
	srv.do("PUT", "big/s", nil, "Content-Type", "application/octet-stream").must(t, 201, "PUT")
	size := srv.store.MaxAppendBytes() + 1
	c := rawRequest(t, srv.http, fmt.Sprintf("POST /v1/stream/big/s HTTP/1.1\nHost: 127.0.0.1\nContent-Type: application/octet-stream\nContent-Length: %d\n", size), nil)
	resp := readResponse(t, c, 10*time.Second)
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("POST of %d bytes (more than the store takes): %d, want 413", size, resp.StatusCode)
	}
	if h := head(t, srv.store, "big/s"); h.Version != 0 {
		t.Fatalf("the refused body stored something: %+v", h)
	}
}

// Bytes of bodies in flight are bounded: while one request holds the whole
// budget, another is refused with 503 and Retry-After; once the first is
// done, the next goes.
func TestBodiesInFlightAreBounded(t *testing.T) {
	const size = 100_000
	srv := newServer(t, openStore(t, t.TempDir()), durablestreams.WithMaxBodiesInFlight(size))
	srv.do("PUT", "fl/s", nil, "Content-Type", "application/octet-stream").must(t, 201, "PUT")
	body := bytes.Repeat([]byte("x"), size)
	// The first request sends half its body and holds its bytes.
	c := rawRequest(t, srv.http, fmt.Sprintf("POST /v1/stream/fl/s HTTP/1.1\nHost: 127.0.0.1\nContent-Type: application/octet-stream\nContent-Length: %d\n", size), body[:size/2])
	deadline := time.Now().Add(10 * time.Second)
	var r reply
	for {
		r = srv.do("POST", "fl/s", body, "Content-Type", "application/octet-stream")
		if r.code != http.StatusNoContent || time.Now().After(deadline) {
			break
		}
		// The first request had not reached the handler yet: this one
		// went; try again.
	}
	r.must(t, http.StatusServiceUnavailable, "POST while another holds the budget")
	if r.get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	checkReason(t, "503", r)
	if _, err := c.Write(body[size/2:]); err != nil {
		t.Fatal(err)
	}
	if resp := readResponse(t, c, 10*time.Second); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("the first POST: %d", resp.StatusCode)
	}
	srv.do("POST", "fl/s", body, "Content-Type", "application/octet-stream").must(t, http.StatusNoContent, "POST once the budget is free")
}

// A client that opens an SSE answer of a large stream and stops reading is
// cut by the write deadline, or by Shutdown's grace when the deadline is
// far: it does not hold the server's shutdown.
func TestNonReadingSSEClientIsCut(t *testing.T) {
	for _, wt := range []time.Duration{500 * time.Millisecond, 10 * time.Minute} {
		t.Run(fmt.Sprint("write timeout ", wt), func(t *testing.T) { nonReadingSSE(t, wt) })
	}
}

func nonReadingSSE(t *testing.T, writeTimeout time.Duration) {
	store := openStore(t, t.TempDir())
	h := durablestreams.New(store, durablestreams.WithLogger(quietLog), durablestreams.WithWriteTimeout(writeTimeout),
		durablestreams.WithSSELifetime(10*time.Minute))
	mux := http.NewServeMux()
	mux.Handle("/v1/stream/", h)
	hs := httptest.NewServer(mux)
	srv := &server{t: t, store: store, handler: h, http: hs}
	srv.do("PUT", "sse/big", nil, "Content-Type", "application/octet-stream").must(t, 201, "PUT")
	msg := bytes.Repeat([]byte("y"), 1<<20)
	for range 16 { // 16 MiB
		evs := []eventstore.Event{{Type: durablestreams.MessageType, Data: msg}}
		if _, err := store.Append(context.Background(), "sse/big", evs); err != nil {
			t.Fatal(err)
		}
	}
	c := rawRequest(t, hs, "GET /v1/stream/sse/big?offset=-1&live=sse HTTP/1.1\nHost: 127.0.0.1\n", nil)
	time.Sleep(2 * time.Second) // the answer fills the connection's buffers and its writes stop
	h.Shutdown()
	closed := make(chan struct{})
	go func() {
		hs.Close() // waits for every request in progress
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(30 * time.Second):
		c.Close()
		<-closed
		t.Fatal("the server's close waited for an SSE client that does not read")
	}
	// The client got part of the stream and then the end of the connection.
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	n, err := io.Copy(io.Discard, c)
	if err != nil {
		t.Fatalf("after %d bytes: %v, want the server's close", n, err)
	}
	if n >= 16<<20*4/3 { // the stream in base64
		t.Fatalf("read %d bytes: the whole stream was buffered, the test proves nothing", n)
	}
}

// Nobody can fence a producer for good with the largest epoch: a new epoch
// may be at most 2^20 above the current one.
func TestProducerEpochStepIsBounded(t *testing.T) {
	srv := newServer(t, openStore(t, t.TempDir()))
	const J = "application/json"
	srv.do("PUT", "ep/s", nil, "Content-Type", J).must(t, 201, "PUT")
	r := srv.do("POST", "ep/s", []byte(`1`), "Content-Type", J, "Producer-Id", "p", "Producer-Epoch", "9007199254740991", "Producer-Seq", "0").must(t, 400, "the largest epoch")
	checkReason(t, "epoch", r)
	if h := head(t, srv.store, "ep/s"); h.Version != 0 {
		t.Fatalf("the refused append stored something: %+v", h)
	}
	srv.do("POST", "ep/s", []byte(`1`), "Content-Type", J, "Producer-Id", "p", "Producer-Epoch", "0", "Producer-Seq", "0").must(t, 200, "epoch 0 after the refusal")
	srv.do("POST", "ep/s", []byte(`2`), "Content-Type", J, "Producer-Id", "p", "Producer-Epoch", fmt.Sprint(1<<20), "Producer-Seq", "0").must(t, 200, "epoch 2^20")
	srv.do("POST", "ep/s", []byte(`3`), "Content-Type", J, "Producer-Id", "p", "Producer-Epoch", fmt.Sprint(2<<20+1), "Producer-Seq", "0").must(t, 400, "more than 2^20 above")
	srv.do("POST", "ep/s", []byte(`3`), "Content-Type", J, "Producer-Id", "p", "Producer-Epoch", fmt.Sprint(1<<20+1), "Producer-Seq", "0").must(t, 200, "the next epoch")
}

// The bound on a new epoch's step does not apply to an old epoch: once the
// producer's epoch is past 2^20, a fenced instance writing with an epoch
// above 2^20 but below the current one is a stale epoch (403 with the
// current epoch, which a client's auto-claim reacts to), not a 400 that
// says its epoch is "more than 2^20 above" a larger one.
func TestProducerStaleEpochAboveTheStepIsFenced(t *testing.T) {
	srv := newServer(t, openStore(t, t.TempDir()))
	const J = "application/json"
	srv.do("PUT", "ep/s", nil, "Content-Type", J).must(t, 201, "PUT")
	srv.do("POST", "ep/s", []byte(`1`), "Content-Type", J, "Producer-Id", "p", "Producer-Epoch", fmt.Sprint(1<<20), "Producer-Seq", "0").must(t, 200, "epoch 2^20")
	srv.do("POST", "ep/s", []byte(`2`), "Content-Type", J, "Producer-Id", "p", "Producer-Epoch", fmt.Sprint(2<<20), "Producer-Seq", "0").must(t, 200, "epoch 2^21")
	r := srv.do("POST", "ep/s", []byte(`3`), "Content-Type", J, "Producer-Id", "p", "Producer-Epoch", fmt.Sprint(1<<20+1), "Producer-Seq", "1").must(t, 403, "the fenced instance's epoch")
	if got := r.get("Producer-Epoch"); got != fmt.Sprint(2<<20) {
		t.Fatalf("Producer-Epoch %q, want the current epoch %d", got, 2<<20)
	}
	if h := head(t, srv.store, "ep/s"); h.Version != 2 {
		t.Fatalf("the stale append stored something: %+v", h)
	}
}

// A body that does not arrive in time is a 408, one that ends before its
// announced length a 400, each with a plain reason: never the I/O error,
// which names the server's sockets. Nothing of either is stored.
func TestBodyReadFailuresSayWhatHappened(t *testing.T) {
	store := openStore(t, t.TempDir())
	h := durablestreams.New(store, durablestreams.WithLogger(quietLog))
	mux := http.NewServeMux()
	mux.Handle("/v1/stream/", h)
	// As access.NewServer gives a body BodyTimeout, here 300 ms.
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		h.Shutdown()
		hs.Close()
	})
	doURL(t, http.MethodPut, hs.URL+"/v1/stream/t/slow", nil, "Content-Type", "application/json").must(t, http.StatusCreated, "create")
	addr := strings.TrimPrefix(hs.URL, "http://")
	for _, tc := range []struct {
		name     string
		cut      bool // close the connection's writing side after the part sent
		code     int
		contains string
	}{
		{"slow", false, http.StatusRequestTimeout, "did not arrive in time"},
		{"cut", true, http.StatusBadRequest, "ended before its announced length"},
	} {
		a := rawhttp.Send(t, addr, "POST /v1/stream/t/slow HTTP/1.1\r\nHost: "+addr+"\r\nContent-Type: application/json\r\nContent-Length: 100\r\n", `[{"a":1}`, tc.cut)
		if a.Status != tc.code || !strings.Contains(string(a.Body), tc.contains) || strings.Contains(string(a.Body), "tcp") || strings.Contains(string(a.Body), "127.0.0.1") {
			t.Errorf("%s: %d %q, want %d saying %q and nothing of the socket", tc.name, a.Status, a.Body, tc.code, tc.contains)
		}
	}
	if r := doURL(t, http.MethodGet, hs.URL+"/v1/stream/t/slow?offset=-1", nil); r.code != 200 || string(r.body) != "[]" {
		t.Errorf("the stream after both: %d %s, want 200 []", r.code, r.body)
	}
}

// An error answer never sends a client's long input back whole: a 60 kB
// stream name, a 50 kB Producer-Id, a long Stream-Seq each get a 4xx of a
// few hundred bytes at most. A Stream-Seq over 256 bytes is refused, and
// nothing of it is stored.
func TestErrorAnswersAreShort(t *testing.T) {
	s := newServer(t, openStore(t, t.TempDir()))
	s.do(http.MethodPut, "t/seq", nil, "Content-Type", "application/json").must(t, http.StatusCreated, "create")
	long := strings.Repeat("a", 60000)
	for _, tc := range []struct {
		name string
		r    reply
		code int
	}{
		{"long name", s.do(http.MethodPut, "t/"+long, nil, "Content-Type", "application/json"), http.StatusBadRequest},
		{"long Producer-Id", s.do(http.MethodPost, "t/seq", []byte(`[1]`), "Content-Type", "application/json",
			"Producer-Id", long[:50000], "Producer-Epoch", "0", "Producer-Seq", "0"), http.StatusBadRequest},
		{"long Stream-Seq", s.do(http.MethodPost, "t/seq", []byte(`[1]`), "Content-Type", "application/json", "Stream-Seq", long[:257]), http.StatusBadRequest},
	} {
		if tc.r.code != tc.code || len(tc.r.body) > 600 {
			t.Errorf("%s: %d, %d bytes %.100q, want %d of at most 600 bytes", tc.name, tc.r.code, len(tc.r.body), tc.r.body, tc.code)
		}
	}
	s.do(http.MethodPost, "t/seq", []byte(`[1]`), "Content-Type", "application/json", "Stream-Seq", long[:256]).must(t, http.StatusNoContent, "a Stream-Seq of 256 bytes")
	if r := s.do(http.MethodGet, "t/seq?offset=-1", nil); r.code != 200 || string(r.body) != "[1]" {
		t.Errorf("the stream: %d %s, want [1]: one append, the one under the bound", r.code, r.body)
	}
}

// A JSON stream takes only JSON, which is UTF-8: a body with a byte that
// is not is refused, and nothing of it is stored; UTF-8 is taken as sent.
func TestJSONStreamRefusesInvalidUTF8(t *testing.T) {
	s := newServer(t, openStore(t, t.TempDir()))
	s.do(http.MethodPut, "t/utf8", nil, "Content-Type", "application/json").must(t, http.StatusCreated, "create")
	if r := s.do(http.MethodPost, "t/utf8", []byte("[\"\xff\"]"), "Content-Type", "application/json"); r.code != http.StatusBadRequest || !strings.Contains(string(r.body), "not valid JSON") {
		t.Errorf("POST of a byte that is not UTF-8: %d %s, want 400", r.code, r.body)
	}
	s.do(http.MethodPost, "t/utf8", []byte(`["é😀"]`), "Content-Type", "application/json").must(t, http.StatusNoContent, "UTF-8")
	if r := s.do(http.MethodGet, "t/utf8?offset=-1", nil); r.code != 200 || string(r.body) != `["é😀"]` {
		t.Errorf("the stream: %d %s, want [\"é😀\"]", r.code, r.body)
	}
}

// A parameter or header the handler cannot read is a 400, not ignored: a
// live mode it does not have (a catch-up answer would make the client
// poll in a loop), and a PUT's Content-Type that is not a media type (it
// made a stream of application/octet-stream). Nothing is made.
func TestUnreadableModesAreRefused(t *testing.T) {
	s := newServer(t, openStore(t, t.TempDir()))
	s.do(http.MethodPut, "t/m", nil, "Content-Type", "application/json").must(t, http.StatusCreated, "create")
	if r := s.do(http.MethodGet, "t/m?offset=-1&live=bogus", nil); r.code != http.StatusBadRequest || !strings.Contains(string(r.body), "long-poll or sse") {
		t.Errorf("live=bogus: %d %s, want 400", r.code, r.body)
	}
	if r := s.do(http.MethodPut, "t/ct", nil, "Content-Type", ";;;;"); r.code != http.StatusBadRequest || !strings.Contains(string(r.body), "not a media type") {
		t.Errorf("PUT with Content-Type ;;;;: %d %s, want 400", r.code, r.body)
	}
	if r := s.do(http.MethodHead, "t/ct", nil); r.code != http.StatusNotFound {
		t.Errorf("HEAD of the refused stream: %d, want 404", r.code)
	}
}

// The producer is checked before the Stream-Seq, as the protocol orders
// them: a fenced instance whose Stream-Seq is also not after the last one
// gets 403 with the current epoch (what a client's auto-claim reacts to),
// a producer gap 409 with Producer-Expected-Seq, a new epoch not at 0 a
// 400; only an append the producer rules take meets the Stream-Seq's 409.
func TestProducerIsCheckedBeforeStreamSeq(t *testing.T) {
	srv := newServer(t, openStore(t, t.TempDir()))
	const J = "application/json"
	srv.do("PUT", "ps/s", nil, "Content-Type", J).must(t, 201, "PUT")
	post := func(id, epoch, seq, streamSeq string) reply {
		return srv.do("POST", "ps/s", []byte(`1`), "Content-Type", J, "Producer-Id", id, "Producer-Epoch", epoch, "Producer-Seq", seq, "Stream-Seq", streamSeq)
	}
	post("p", "0", "0", "b").must(t, 200, "epoch 0")
	post("p", "1", "0", "c").must(t, 200, "epoch 1 fences epoch 0")
	r := post("p", "0", "1", "a").must(t, 403, "the fenced instance, with an old Stream-Seq")
	if got := r.get("Producer-Epoch"); got != "1" {
		t.Fatalf("Producer-Epoch %q, want 1", got)
	}
	r = post("p", "1", "5", "a").must(t, 409, "a producer gap, with an old Stream-Seq")
	if got := r.get("Producer-Expected-Seq"); got != "1" {
		t.Fatalf("Producer-Expected-Seq %q, want 1 (%s)", got, r.body)
	}
	post("q", "0", "3", "a").must(t, 409, "an unknown producer not at 0, with an old Stream-Seq")
	post("p", "2", "5", "a").must(t, 400, "a new epoch not at 0, with an old Stream-Seq")
	post("p", "0", "0", "a").must(t, 403, "the fenced instance's duplicate, with an old Stream-Seq")
	post("p", "1", "0", "a").must(t, 204, "a duplicate, with an old Stream-Seq")
	r = post("p", "1", "1", "a").must(t, 409, "the producer's next append, with an old Stream-Seq")
	if r.get("Producer-Expected-Seq") != "" || !strings.Contains(string(r.body), "Stream-Seq") {
		t.Fatalf("the Stream-Seq refusal: %q, %v", r.body, r.header)
	}
	if h := head(t, srv.store, "ps/s"); h.Version != 2 {
		t.Fatalf("a refused append stored something: %+v", h)
	}
}

// A producer header given twice is a 400 that says so: which of the two
// the request meant is not for the server to guess (it took the first).
func TestProducerHeadersComeOnce(t *testing.T) {
	srv := newServer(t, openStore(t, t.TempDir()))
	const J = "application/json"
	srv.do("PUT", "dup/s", nil, "Content-Type", J).must(t, 201, "PUT")
	for _, twice := range []string{"Producer-Id", "Producer-Epoch", "Producer-Seq"} {
		req, err := http.NewRequest("POST", srv.url("dup/s"), strings.NewReader(`1`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", J)
		for k, v := range map[string]string{"Producer-Id": "p", "Producer-Epoch": "0", "Producer-Seq": "0"} {
			req.Header.Set(k, v)
		}
		req.Header.Add(twice, map[string]string{"Producer-Id": "q", "Producer-Epoch": "1", "Producer-Seq": "1"}[twice])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 400 || !strings.Contains(string(b), "each come once") {
			t.Errorf("%s twice: %d %s, want 400 saying the headers each come once", twice, resp.StatusCode, b)
		}
	}
	if h := head(t, srv.store, "dup/s"); h.Version != 0 {
		t.Fatalf("a refused append stored something: %+v", h)
	}
}

// A producer id the store would refuse (over 256 bytes, or with a control
// character) is a 400 before anything else is decided, a Stream-Seq not
// after the last included: it was that Stream-Seq's 409.
func TestBadProducerIDBeforeStreamSeq(t *testing.T) {
	srv := newServer(t, openStore(t, t.TempDir()))
	const J = "application/json"
	srv.do("PUT", "pid/s", nil, "Content-Type", J).must(t, 201, "PUT")
	srv.do("POST", "pid/s", []byte(`1`), "Content-Type", J, "Stream-Seq", "b").must(t, 204, "a Stream-Seq")
	for _, id := range []string{strings.Repeat("p", 257), "tab\there"} {
		r := srv.do("POST", "pid/s", []byte(`2`), "Content-Type", J, "Stream-Seq", "a",
			"Producer-Id", id, "Producer-Epoch", "0", "Producer-Seq", "0").must(t, 400, "a bad producer id")
		if !strings.Contains(string(r.body), "Producer-Id: producer id must be 1 to 256 bytes without control characters") || strings.Contains(string(r.body), id) {
			t.Errorf("producer id %.20q…: %s", id, r.body)
		}
	}
	if h := head(t, srv.store, "pid/s"); h.Version != 1 {
		t.Fatalf("a refused append stored something: %+v", h)
	}
}

// A JSON array of more messages than one append holds is refused at a few
// times the cost of its body: a 2 MB array of 999,999 numbers (the most events
// an append may hold, but far more bytes encoded than the store takes) was
// made into a million events and encoded, about 400 MB, before its 413; a
// million and one, or a PUT's first body of them, the same.
func TestManyMessagesAreRefusedBeforeTheirEvents(t *testing.T) {
	srv := newServer(t, openStore(t, t.TempDir()))
	srv.do("PUT", "many/s", nil, "Content-Type", "application/json").must(t, 201, "PUT")
	for _, c := range []struct {
		method, name string
		n            int
	}{
		{"POST", "many/s", eventstore.MaxEventsPerAppend},
		{"POST", "many/s", eventstore.MaxEventsPerAppend + 1},
		{"PUT", "many/t", eventstore.MaxEventsPerAppend},
	} {
		body := []byte("[" + strings.Repeat("1,", c.n-1) + "1]")
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		r := srv.do(c.method, c.name, body, "Content-Type", "application/json")
		runtime.ReadMemStats(&after)
		what := fmt.Sprintf("%s of %d messages", c.method, c.n)
		r.must(t, http.StatusRequestEntityTooLarge, what)
		checkReason(t, what, r)
		// The body, and the elements scanned before the refusal (a slice
		// of 24 bytes each): about 8 times a body of 2-byte messages, 12
		// with the race detector (the old code: 150 to 250 times).
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16*uint64(len(body)) {
			t.Errorf("%s: %.1f MB allocated for a body of %.1f MB", what, float64(alloc)/(1<<20), float64(len(body))/(1<<20))
		}
	}
	if h := head(t, srv.store, "many/s"); h.Version != 0 {
		t.Errorf("a refused append stored something: %+v", h)
	}
	srv.do("HEAD", "many/t", nil).must(t, http.StatusNotFound, "HEAD of the stream whose first body was refused")
}
