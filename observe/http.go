package observe

import (
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/rewindhq/rewind/eventstore/access"
	"github.com/rewindhq/rewind/internal/httpmethod"
)

// Handler wraps h, mounted at route (a pattern such as "/v1/stream/", the
// label "route": keep it one of a few, never a path with names in it), so
// that every request is counted (rewind_http_*: the bytes of the request's
// body that h read, and of the answer's; a method outside the standard
// ones is labelled "other") and, when o traces, runs
// in a server span whose parent is the trace context the request carries
// (W3C traceparent by default, see WithPropagator): a command sent under
// a client's trace stores events whose metadata names that trace. With a
// nil o, or one that neither counts nor traces, it returns h itself.
func (o *Observer) Handler(route string, h http.Handler) http.Handler {
	if !o.Metrics() && !o.Tracing() {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rw := &responseWriter{ResponseWriter: w, code: http.StatusOK}
		// A made-up method is "other": as a label, each distinct one would
		// add series to every scrape for good, and no token is needed to
		// send one.
		method := httpmethod.Name(r.Method)
		var span trace.Span
		if o.tracer != nil {
			ctx := o.prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
			ctx, span = o.tracer.Start(ctx, method+" "+route, trace.WithSpanKind(trace.SpanKindServer),
				trace.WithAttributes(attribute.String("http.request.method", method), attribute.String("http.route", route),
					attribute.String("url.path", r.URL.Path)))
			r = r.WithContext(ctx)
		}
		var inFlight prometheus.Gauge
		var body *countingBody
		if o.m != nil {
			inFlight = o.m.httpInFlight.WithLabelValues(route)
			inFlight.Inc()
			if r.Body != nil && r.Body != http.NoBody {
				body = &countingBody{ReadCloser: r.Body}
				r.Body = body
			}
		}
		defer func() {
			if inFlight != nil {
				inFlight.Dec()
				code := strconv.Itoa(rw.code)
				o.m.httpRequests.WithLabelValues(route, method, code).Inc()
				o.m.httpSeconds.WithLabelValues(route, method).Observe(time.Since(start).Seconds())
				o.m.httpBytes.WithLabelValues(route).Add(float64(rw.bytes))
				if body != nil {
					o.m.httpRequestBytes.WithLabelValues(route).Add(float64(body.n))
				}
			}
			if span != nil {
				span.SetAttributes(attribute.Int("http.response.status_code", rw.code))
				if rw.code >= 500 {
					span.SetStatus(codes.Error, http.StatusText(rw.code))
				}
				span.End()
			}
		}()
		h.ServeHTTP(rw, r)
	})
}

// countingBody counts the bytes of a request's body the handler read.
type countingBody struct {
	io.ReadCloser
	n int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	return n, err
}

// responseWriter notes the status and the body's size. Unwrap lets
// http.ResponseController reach the connection (flushes and write
// deadlines of long-polls and SSE).
type responseWriter struct {
	http.ResponseWriter
	code    int
	bytes   int64
	written bool
}

func (w *responseWriter) WriteHeader(code int) {
	if !w.written && code >= 200 {
		w.code, w.written = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(b []byte) (int, error) {
	w.written = true
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Flush flushes the answer so far (for handlers that ask for an
// http.Flusher).
func (w *responseWriter) Flush() {
	w.written = true
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// MetricsOp is what MetricsHandler asks the Authorizer about: the admin
// action on the resource "metrics", which the scopes "admin",
// "admin:*" and "admin:metrics" allow. A scrape token carries
// "admin:metrics", which allows nothing else.
var MetricsOp = access.Op{Action: access.Admin, Resource: "metrics"}

// MetricsHandler serves g's metrics in Prometheus' text format (or
// OpenMetrics, when the scraper asks), to requests auth allows MetricsOp
// (access.Anonymous for a server without authentication; a nil auth
// refuses every request). A refusal answers 401 or 403 with the
// WWW-Authenticate of package access.
func MetricsHandler(g prometheus.Gatherer, auth access.Authorizer) http.Handler {
	h := promhttp.HandlerFor(g, promhttp.HandlerOpts{EnableOpenMetrics: true})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed: GET the metrics", http.StatusMethodNotAllowed)
			return
		}
		err := access.ErrForbidden
		if auth != nil {
			err = auth.Authorize(r, MetricsOp)
		}
		if err != nil {
			code, reason := access.Refuse(w, err)
			http.Error(w, reason, code)
			return
		}
		h.ServeHTTP(w, r)
	})
}
