// Package tracingtest is an OTLP/HTTP receiver for tests: a real HTTP
// server on 127.0.0.1 that takes the export requests a collector takes
// (POST /v1/traces, protobuf, gzip or not) and keeps their spans.
package tracingtest

import (
	"compress/gzip"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// Span is one span received, with the resource's service name.
type Span struct {
	Name, Service         string
	TraceID, ID, ParentID string // hex; ParentID "" for a root
	Attributes            map[string]string
	Kind                  tracepb.Span_SpanKind
}

// Receiver is a running receiver. Its URL is the collector's base URL
// (what OTEL_EXPORTER_OTLP_ENDPOINT names).
type Receiver struct {
	URL string

	mu      sync.Mutex
	spans   []Span
	headers []http.Header
}

// Start starts a receiver, stopped at the end of the test.
func Start(t testing.TB) *Receiver {
	rc := &Receiver{}
	srv := httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(srv.Close)
	rc.URL = srv.URL
	return rc
}

func (rc *Receiver) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" {
		http.Error(w, "POST /v1/traces", http.StatusNotFound)
		return
	}
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	raw, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var req coltrace.ExportTraceServiceRequest
	if err := proto.Unmarshal(raw, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	rc.headers = append(rc.headers, r.Header.Clone())
	for _, rs := range req.ResourceSpans {
		service := ""
		for _, kv := range rs.GetResource().GetAttributes() {
			if kv.Key == "service.name" {
				service = kv.GetValue().GetStringValue()
			}
		}
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				attrs := map[string]string{}
				for _, kv := range s.Attributes {
					attrs[kv.Key] = anyString(kv.GetValue())
				}
				parent := ""
				if len(s.ParentSpanId) > 0 {
					parent = hex.EncodeToString(s.ParentSpanId)
				}
				rc.spans = append(rc.spans, Span{Name: s.Name, Service: service, TraceID: hex.EncodeToString(s.TraceId),
					ID: hex.EncodeToString(s.SpanId), ParentID: parent, Attributes: attrs, Kind: s.Kind})
			}
		}
	}
	rc.mu.Unlock()
	resp, _ := proto.Marshal(&coltrace.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(resp)
}

// anyString is a value's text (a string's, an integer's or a bool's).
func anyString(v *commonpb.AnyValue) string {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return x.StringValue
	case *commonpb.AnyValue_IntValue:
		return strconv.FormatInt(x.IntValue, 10)
	case *commonpb.AnyValue_BoolValue:
		return strconv.FormatBool(x.BoolValue)
	}
	return ""
}

// Spans returns the spans received so far.
func (rc *Receiver) Spans() []Span {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]Span(nil), rc.spans...)
}

// Headers returns the headers of the export requests received so far.
func (rc *Receiver) Headers() []http.Header {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]http.Header(nil), rc.headers...)
}

// Trace returns the spans of one trace, by name (the last of a name).
func (rc *Receiver) Trace(traceID string) map[string]Span {
	out := map[string]Span{}
	for _, s := range rc.Spans() {
		if s.TraceID == traceID {
			out[s.Name] = s
		}
	}
	return out
}
