package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rewindhq/rewind/eventstore"
	"github.com/rewindhq/rewind/internal/scrape"
	"github.com/rewindhq/rewind/internal/tracing/tracingtest"
)

// A POST under a client's trace, to rewind serve with
// OTEL_EXPORTER_OTLP_ENDPOINT set, reaches a real OTLP/HTTP receiver as
// the request's server span with the append's span as its child, in the
// client's trace, the service named by OTEL_SERVICE_NAME, sent by the exit
// (SIGTERM flushes); the stored event names the append's span; the
// exporter's headers are sent and never logged.
func TestServeExportsTracesByOTLP(t *testing.T) {
	rc := tracingtest.Start(t)
	dir := t.TempDir()
	const secret = "s3cr3t-collector-token"
	p := startServe(t, []string{"OTEL_EXPORTER_OTLP_ENDPOINT=" + rc.URL, "OTEL_SERVICE_NAME=rewind-test",
		"OTEL_EXPORTER_OTLP_HEADERS=authorization=Bearer%20" + secret}, "--addr", "127.0.0.1:0", "--data", dir)
	const traceID, clientSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	url := p.url + "/v1/stream/otlp/s"
	mustDo(t, "PUT", url, nil, 201, "Content-Type", "application/json")
	mustDo(t, "POST", url, []byte(`{"n":1}`), 204, "Content-Type", "application/json",
		"traceparent", "00-"+traceID+"-"+clientSpan+"-01")
	p.cmd.Process.Signal(syscall.SIGTERM)
	if code := p.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("exit %d after SIGTERM:\n%s", code, p.output())
	}

	spans := rc.Trace(traceID)
	server, appended := spans["POST /v1/stream/"], spans["eventstore.Append"]
	if server.ID == "" || appended.ID == "" {
		t.Fatalf("spans of the client's trace received: %v; want the request's and the append's\n%s", spans, p.output())
	}
	if server.ParentID != clientSpan {
		t.Errorf("the request's span has parent %q, want the client's span %s", server.ParentID, clientSpan)
	}
	if appended.ParentID != server.ID {
		t.Errorf("the append's span has parent %q, want the request's span %s", appended.ParentID, server.ID)
	}
	if server.Service != "rewind-test" || appended.Attributes["rewind.stream"] != "otlp/s" {
		t.Errorf("service %q, append attributes %v", server.Service, appended.Attributes)
	}
	if hs := rc.Headers(); len(hs) == 0 || hs[0].Get("Authorization") != "Bearer "+secret {
		t.Errorf("the export requests did not carry OTEL_EXPORTER_OTLP_HEADERS")
	}
	out := p.output()
	if strings.Contains(out, secret) {
		t.Errorf("the collector's token is in the log:\n%s", out)
	}
	if !strings.Contains(out, "msg=tracing otlp="+rc.URL+"/v1/traces service=rewind-test") {
		t.Errorf("no line says where spans go:\n%s", out)
	}

	ctx := context.Background()
	s, err := eventstore.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var got []eventstore.Event
	for e, err := range s.Read(ctx, "otlp/s") {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, e)
	}
	if want := "00-" + traceID + "-" + appended.ID + "-01"; len(got) != 1 || got[0].TraceParent() != want {
		t.Errorf("stored %v, want one event whose traceparent is %s", got, want)
	}
}

// REWIND_OTLP names the collector as --otlp does.
func TestServeOTLPFromEnv(t *testing.T) {
	rc := tracingtest.Start(t)
	p := startServe(t, []string{"REWIND_OTLP=" + rc.URL}, "--addr", "127.0.0.1:0", "--data", t.TempDir())
	if out := p.output(); !strings.Contains(out, "msg=tracing otlp="+rc.URL+"/v1/traces") {
		t.Errorf("REWIND_OTLP=%s: no line says spans go there:\n%s", rc.URL, out)
	}
}

// Without a collector named, serve traces nothing and says nothing of it;
// a bad --otlp is refused.
func TestServeTracingOffByDefault(t *testing.T) {
	p := startServe(t, nil, "--addr", "127.0.0.1:0", "--data", t.TempDir())
	p.cmd.Process.Signal(syscall.SIGTERM)
	if code := p.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("exit %d:\n%s", code, p.output())
	}
	if strings.Contains(p.output(), "tracing") {
		t.Errorf("tracing without a collector:\n%s", p.output())
	}
	code, _, stderr := runBin(t, nil, "serve", "--addr", "127.0.0.1:0", "--data", t.TempDir(), "--otlp", "collector:4318")
	if code == 0 || !strings.Contains(stderr, "http(s)://host:port") {
		t.Errorf("--otlp collector:4318: exit %d, %s", code, stderr)
	}
}

// A long-poll waiting for data shows in rewind_http_parked_requests.
func TestServeCountsParkedLongPolls(t *testing.T) {
	p := startServe(t, nil, "--addr", "127.0.0.1:0", "--data", t.TempDir(), "--long-poll-timeout", "60s")
	url := p.url + "/v1/stream/parked/s"
	mustDo(t, "PUT", url, nil, 201, "Content-Type", "application/json")
	done := make(chan int, 1)
	go func() {
		resp, err := http.Get(url + "?offset=now&live=long-poll")
		if err != nil {
			done <- 0
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	parked := func() float64 {
		resp, err := http.Get(p.url + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		ss, err := scrape.Parse(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		n, _ := ss.Sum("rewind_http_parked_requests", "route", "/v1/stream/")
		return n
	}
	deadline := time.Now().Add(30 * time.Second)
	for parked() != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("rewind_http_parked_requests never 1 while a long-poll waits")
		}
		time.Sleep(20 * time.Millisecond)
	}
	mustDo(t, "POST", url, []byte(`{"n":1}`), 204, "Content-Type", "application/json")
	if code := <-done; code != 200 {
		t.Fatalf("the long-poll answered %d", code)
	}
	if n := parked(); n != 0 {
		t.Errorf("rewind_http_parked_requests = %v after the long-poll answered", n)
	}
}
