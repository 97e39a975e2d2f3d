package observe_test

import (
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/rewindhq/rewind/internal/scrape"
	"github.com/rewindhq/rewind/observe"
)

// Requests through Handler are counted by route, method and code, with
// the bytes of their bodies and their answers'; parked requests are read
// from WatchParked's func at each scrape, until stopped.
func TestHandlerCountsRequests(t *testing.T) {
	reg := prometheus.NewRegistry()
	o, err := observe.New(observe.WithRegisterer(reg))
	if err != nil {
		t.Fatal(err)
	}
	h := o.Handler("/echo/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if string(b) == "bad" {
			http.Error(w, "no", http.StatusBadRequest)
			return
		}
		w.Write(b)
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	for _, body := range []string{"hello", "bad", "world!"} {
		resp, err := http.Post(srv.URL+"/echo/x", "text/plain", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	resp, err := http.Get(srv.URL + "/echo/y")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	parked := 3
	stop := o.WatchParked("/echo/", func() int { return parked })

	ss, err := scrape.Gather(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		want   float64
		name   string
		labels []string
	}{
		{2, "rewind_http_requests_total", []string{"route", "/echo/", "method", "POST", "code", "200"}},
		{1, "rewind_http_requests_total", []string{"route", "/echo/", "method", "POST", "code", "400"}},
		{1, "rewind_http_requests_total", []string{"route", "/echo/", "method", "GET", "code", "200"}},
		{4, "rewind_http_request_duration_seconds_count", []string{"route", "/echo/"}},
		{14, "rewind_http_request_bytes_total", []string{"route", "/echo/"}},
		{11 + float64(len("no\n")), "rewind_http_response_bytes_total", []string{"route", "/echo/"}},
		{0, "rewind_http_in_flight_requests", []string{"route", "/echo/"}},
		{3, "rewind_http_parked_requests", []string{"route", "/echo/"}},
	} {
		if got, ok := ss.Sum(c.name, c.labels...); !ok || got != c.want {
			t.Errorf("%s%v = %v (found %v), want %v", c.name, c.labels, got, ok, c.want)
		}
	}
	stop()
	if ss, err = scrape.Gather(reg); err != nil {
		t.Fatal(err)
	}
	if _, ok := ss.Sum("rewind_http_parked_requests"); ok {
		t.Error("parked requests still read after stop")
	}
}

// A method a client made up is counted, and its span named, as "other":
// as a label, every distinct method would add series that each scrape
// carries for good, and no token is needed to send one.
func TestHandlerNamesMadeUpMethodsOther(t *testing.T) {
	reg := prometheus.NewRegistry()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	o, err := observe.New(observe.WithRegisterer(reg), observe.WithTracerProvider(tp))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(o.Handler("/v1/stream/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusUnauthorized)
	})))
	defer srv.Close()
	madeUp := []string{"PROPFIND", "get", strings.Repeat("X", 4096)}
	for _, m := range append(madeUp, http.MethodPatch) {
		req, err := http.NewRequest(m, srv.URL+"/v1/stream/a", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}

	ss, err := scrape.Gather(reg)
	if err != nil {
		t.Fatal(err)
	}
	methods := map[string]bool{}
	for _, s := range ss {
		if m, ok := s.Labels["method"]; ok {
			methods[m] = true
		}
	}
	if len(methods) != 2 || !methods["other"] || !methods["PATCH"] {
		t.Errorf("method labels %.60q, want other and PATCH", slices.Collect(maps.Keys(methods)))
	}
	if got, _ := ss.Sum("rewind_http_requests_total", "method", "other", "code", "401"); got != float64(len(madeUp)) {
		t.Errorf("requests of made-up methods = %v, want %d", got, len(madeUp))
	}
	for _, sp := range rec.Ended() {
		if name := sp.Name(); name != "other /v1/stream/" && name != "PATCH /v1/stream/" {
			t.Errorf("span named %.60q", name)
		}
		for _, a := range sp.Attributes() {
			if a.Key == "http.request.method" && a.Value.AsString() != "other" && a.Value.AsString() != "PATCH" {
				t.Errorf("span's method %.60q", a.Value.AsString())
			}
		}
	}
	if n := len(rec.Ended()); n != len(madeUp)+1 {
		t.Errorf("%d spans, want %d", n, len(madeUp)+1)
	}
}

// TestNewNilOption: a nil Option is ignored, as the store's are; the
// option beside it still applies.
func TestNewNilOption(t *testing.T) {
	o, err := observe.New(nil, observe.WithRegisterer(prometheus.NewRegistry()), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !o.Metrics() {
		t.Error("the registerer beside the nil options was not taken")
	}
}
