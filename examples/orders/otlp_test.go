package main

import (
	"context"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rewindhq/rewind/eventstore"
	"github.com/rewindhq/rewind/internal/tracing/tracingtest"
)

// A command sent over HTTP under a client's trace to the example started
// with --otlp reaches a real OTLP/HTTP receiver, by the time run returns,
// as the span tree request → aggregate.Handle → aggregate.Decide and
// eventstore.Append, in the client's trace, named by OTEL_SERVICE_NAME;
// the event stored names the append's span.
func TestRunExportsTracesByOTLP(t *testing.T) {
	rc := tracingtest.Start(t)
	t.Setenv("OTEL_SERVICE_NAME", "orders-test")
	data := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"--addr", "127.0.0.1:0", "--data", data, "--seed-orders", "5", "--seed-days", "1",
			"--otlp", rc.URL}, &stdout, &stderr)
	}()
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(stdout.String(), "Ctrl-C") {
		select {
		case code := <-done:
			t.Fatalf("run ended early with %d:\n%s\n%s", code, stdout.String(), stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready after a minute:\n%s", stdout.String())
		}
	}
	if !strings.Contains(stdout.String(), `orders: tracing to `+rc.URL+`/v1/traces as "orders-test"`) {
		t.Errorf("no line says where spans go:\n%s", stdout.String())
	}
	url := regexp.MustCompile(`Open (http://\S+)`).FindStringSubmatch(stdout.String())[1]
	const traceID, clientSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	req, err := http.NewRequest("POST", url+"v1/commands/users/zoe",
		strings.NewReader(`{"type":"RegisterUser","name":"Zoe","email":"zoe@example.com"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("traceparent", "00-"+traceID+"-"+clientSpan+"-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("command: %d", resp.StatusCode)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit code %d:\n%s", code, stderr.String())
	}

	spans := rc.Trace(traceID)
	server, handle, decide, appended := spans["POST /v1/commands/"], spans["aggregate.Handle"], spans["aggregate.Decide"], spans["eventstore.Append"]
	if server.ID == "" || handle.ID == "" || decide.ID == "" || appended.ID == "" {
		t.Fatalf("spans of the client's trace received: %v; want the request's, Handle, Decide and Append", spans)
	}
	for _, c := range []struct{ child, parent tracingtest.Span }{{handle, server}, {decide, handle}, {appended, handle}} {
		if c.child.ParentID != c.parent.ID {
			t.Errorf("%s has parent %s, want %s (%s)", c.child.Name, c.child.ParentID, c.parent.ID, c.parent.Name)
		}
	}
	if server.ParentID != clientSpan || server.Service != "orders-test" {
		t.Errorf("the request's span: parent %s, service %q; want the client's span %s, orders-test", server.ParentID, server.Service, clientSpan)
	}

	s, err := eventstore.Open(context.Background(), filepath.Join(data, "events"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var last eventstore.Event
	for e, err := range s.Read(context.Background(), "users/zoe/events") {
		if err != nil {
			t.Fatal(err)
		}
		last = e
	}
	if want := "00-" + traceID + "-" + appended.ID + "-01"; last.TraceParent() != want {
		t.Errorf("the event's traceparent is %q, want %q", last.TraceParent(), want)
	}
}
