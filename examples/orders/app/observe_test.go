package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/rewindhq/rewind/eventstore"
	"github.com/rewindhq/rewind/examples/orders/app"
	"github.com/rewindhq/rewind/examples/orders/readmodel"
	"github.com/rewindhq/rewind/internal/scrape"
)

// get sends a GET with an optional bearer token and returns the status
// and body.
func get(t *testing.T, u, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// scrapeApp scrapes the application's /metrics.
func scrapeApp(t *testing.T, a *app.App, token string) scrape.Samples {
	t.Helper()
	code, body := get(t, a.URL+"metrics", token)
	if code != 200 {
		t.Fatalf("/metrics: %d %s", code, body)
	}
	ss, err := scrape.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return ss
}

func TestTracedCommandOverHTTP(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer tp.Shutdown(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	a, err := app.Start(ctx, app.Config{Addr: "127.0.0.1:0", Data: t.TempDir(), Seed: app.SeedConfig{Skip: true}, TracerProvider: tp})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()

	const traceID, clientSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	req, err := http.NewRequest("POST", a.URL+"v1/commands/users/zoe",
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

	spans := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range rec.Ended() {
		if s.SpanContext().TraceID().String() == traceID {
			spans[s.Name()] = s
		}
	}
	server, handle, decide, appended := spans["POST /v1/commands/"], spans["aggregate.Handle"], spans["aggregate.Decide"], spans["eventstore.Append"]
	if server == nil || handle == nil || decide == nil || appended == nil {
		t.Fatalf("spans of the client's trace: %v; want the request's, Handle, Decide and Append", keys(spans))
	}
	if p := server.Parent(); !p.IsRemote() || p.SpanID().String() != clientSpan {
		t.Errorf("the request's span has parent %v, want the client's span %s", p.SpanID(), clientSpan)
	}
	for child, parent := range map[sdktrace.ReadOnlySpan]sdktrace.ReadOnlySpan{handle: server, decide: handle, appended: handle} {
		if child.Parent().SpanID() != parent.SpanContext().SpanID() {
			t.Errorf("%s is not a child of %s", child.Name(), parent.Name())
		}
	}
	var e eventstore.Event
	for ev, err := range a.Store.Read(ctx, "users/zoe/events") {
		if err != nil {
			t.Fatal(err)
		}
		e = ev
	}
	if want := "00-" + traceID + "-" + appended.SpanContext().SpanID().String() + "-01"; e.TraceParent() != want {
		t.Errorf("the event's traceparent is %q (metadata %v), want %q (the append's span in the client's trace)", e.TraceParent(), e.Metadata, want)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestMetricsAfterKnownWork(t *testing.T) {
	a := start(t, t.TempDir())
	before := scrapeApp(t, a, "")
	command(t, a, "users/zoe", "", map[string]any{"type": "RegisterUser", "name": "Zoe", "email": "zoe@example.com"})
	command(t, a, "users/yan", "", map[string]any{"type": "RegisterUser", "name": "Yan", "email": "yan@example.com"})
	if code, raw := call(t, "POST", a.URL+"v1/commands/users/zoe", "", map[string]any{"type": "RegisterUser", "name": "Zoe", "email": "zoe@example.com"}, nil); code < 400 || code >= 500 {
		t.Fatalf("registering zoe again: %d %s", code, raw)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := a.WaitCaughtUp(ctx); err != nil {
		t.Fatal(err)
	}
	ss := scrapeApp(t, a, "")
	delta := func(name string, labels ...string) float64 {
		now, _ := ss.Sum(name, labels...)
		then, _ := before.Sum(name, labels...)
		return now - then
	}
	for _, c := range []struct {
		want   float64
		name   string
		labels []string
	}{
		{2, "rewind_commands_total", []string{"aggregate", "users", "outcome", "ok"}},
		{1, "rewind_commands_total", []string{"aggregate", "users", "outcome", "refused"}},
		{3, "rewind_command_duration_seconds_count", []string{"aggregate", "users"}},
		{2, "rewind_appends_total", []string{"outcome", "ok"}},
		{2, "rewind_http_requests_total", []string{"route", "/v1/commands/", "method", "POST", "code", "200"}},
		{3, "rewind_http_requests_total", []string{"route", "/v1/commands/", "method", "POST"}}, // and the refusal
	} {
		if got := delta(c.name, c.labels...); got != c.want {
			t.Errorf("%s%v grew by %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	for _, p := range []string{readmodel.OrderSummary, readmodel.RevenuePerDay} {
		if held, ok := ss.Sum("rewind_projection_lease_held", "projection", p); !ok || held != 1 {
			t.Errorf("projection %s: lease held %v (found: %v)", p, held, ok)
		}
		if lag, ok := ss.Sum("rewind_projection_lag_commits", "projection", p); !ok || lag != 0 {
			t.Errorf("projection %s caught up: lag %v (found: %v)", p, lag, ok)
		}
	}
	checkDashboard(t, ss)
}

// scraperLabels are the labels Prometheus adds to every series it scrapes
// (the target's), which a dashboard may use though /metrics has none.
var scraperLabels = map[string]bool{"instance": true, "job": true}

var (
	metricName = regexp.MustCompile(`\brewind_[a-z_]+\b`)
	matcher    = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"`)
	grouping   = regexp.MustCompile(`\b(?:by|without)\s*\(([^)]*)\)`)
	legend     = regexp.MustCompile(`\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}`)
)

// checkDashboard checks that every query of the dashboard in
// docs/grafana names only metrics the scrape ss has, and only labels those
// metrics carry (or the scraper adds).
func checkDashboard(t *testing.T, ss scrape.Samples) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "grafana", "rewind.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string
			Type    string
			Targets []struct{ Expr, LegendFormat string }
		}
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatal(err)
	}
	have := ss.Names()
	queries := 0
	for _, p := range dash.Panels {
		if p.Type != "row" && len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, q := range p.Targets {
			queries++
			names := metricName.FindAllString(q.Expr, -1)
			if len(names) == 0 {
				t.Errorf("panel %q: %q names no rewind metric", p.Title, q.Expr)
			}
			labels := map[string]bool{}
			for _, n := range names {
				if have[n] == nil {
					t.Errorf("panel %q: %s is not in the scrape", p.Title, n)
				}
				for l := range have[n] {
					labels[l] = true
				}
			}
			var used []string
			for _, m := range matcher.FindAllStringSubmatch(q.Expr, -1) {
				used = append(used, m[1])
			}
			for _, m := range grouping.FindAllStringSubmatch(q.Expr, -1) {
				for l := range strings.SplitSeq(m[1], ",") {
					used = append(used, strings.TrimSpace(l))
				}
			}
			for _, m := range legend.FindAllStringSubmatch(q.LegendFormat, -1) {
				used = append(used, m[1])
			}
			for _, l := range used {
				if !labels[l] && !scraperLabels[l] {
					t.Errorf("panel %q: label %q is on none of %v in the scrape", p.Title, l, names)
				}
			}
		}
	}
	if queries < 20 {
		t.Errorf("the dashboard has %d queries", queries)
	}
}

func TestOperationsEndpoints(t *testing.T) {
	a, tokens := startWithTokens(t, []string{"admin:metrics"}, []string{"read"})
	scraper, reader := tokens[0], tokens[1]
	for _, c := range []struct {
		path, token string
		want        int
	}{
		{"metrics", scraper, 200},
		{"metrics", reader, 403},
		{"metrics", "", 401},
		{"healthz", "", 200},
		{"readyz", "", 200},
	} {
		if code, body := get(t, a.URL+c.path, c.token); code != c.want {
			t.Errorf("/%s with token %d: %d %s, want %d", c.path, len(c.token), code, body, c.want)
		}
	}
	if ss := scrapeApp(t, a, scraper); len(ss) == 0 {
		t.Error("an empty scrape")
	}
	a.Store.Close() // no longer ready, still alive
	if code, body := get(t, a.URL+"readyz", ""); code != 503 || strings.Contains(body, "closed") {
		t.Errorf("/readyz of a closed store: %d %q, want 503 without the reason", code, body)
	}
	if code, _ := get(t, a.URL+"healthz", ""); code != 200 {
		t.Errorf("/healthz: %d", code)
	}
}
