package projectionhttp_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rewindhq/rewind/checkpoint"
	"github.com/rewindhq/rewind/eventstore"
	"github.com/rewindhq/rewind/eventstore/access"
	"github.com/rewindhq/rewind/projection"
	"github.com/rewindhq/rewind/projection/projectionhttp"
)

// counter is a read model that counts events.
type counter struct {
	mu sync.Mutex
	n  int
}

func (c *counter) Handle(_ context.Context, b projection.Batch) error {
	c.mu.Lock()
	c.n += len(b.Events)
	c.mu.Unlock()
	return nil
}

func (c *counter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

type fixture struct {
	store   *eventstore.Store
	runner  *projection.Runner
	handler *projectionhttp.Handler
	url     string
	rebuilt *counter
	release chan struct{} // lets the "slow" rebuild end
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	store, err := eventstore.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	for i := range 50 {
		if _, err := store.Append(ctx, fmt.Sprintf("orders/%d", i%5), []eventstore.Event{{Type: "Placed", Data: []byte(`{}`)}}); err != nil {
			t.Fatal(err)
		}
	}
	runner := projection.NewRunner(store, slog.New(slog.DiscardHandler))
	t.Cleanup(runner.Close)
	if err := runner.Start(ctx, projection.Projection{Name: "count", Source: projection.Category("orders"),
		Sink: projection.AtLeastOnce("count", &counter{}, &checkpoint.Memory{})}); err != nil {
		t.Fatal(err)
	}
	if err := runner.Start(ctx, projection.Projection{Name: "broken", Source: projection.Category("orders"), Retries: 1,
		Sink: projection.AtLeastOnce("broken", projection.HandlerFunc(func(context.Context, projection.Batch) error {
			return errors.New("the disk is full")
		}), &checkpoint.Memory{})}); err != nil {
		t.Fatal(err)
	}
	f := &fixture{store: store, runner: runner, rebuilt: &counter{}, release: make(chan struct{})}
	f.handler = projectionhttp.New(runner, map[string]projectionhttp.Rebuilder{
		"count": func(ctx context.Context, progress func(projection.Progress)) error {
			return projection.Rebuild(ctx, runner, projection.Projection{Name: "count-v2", Source: projection.Category("orders"), BatchSize: 10,
				Sink: projection.AtLeastOnce("count-v2", f.rebuilt, &checkpoint.Memory{})}, progress)
		},
		"slow": func(ctx context.Context, progress func(projection.Progress)) error {
			progress(projection.Progress{Events: 7, Done: 3, Total: 10, Rate: 70, Remaining: 1500 * time.Millisecond})
			select {
			case <-f.release:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		},
		"failing": func(context.Context, func(projection.Progress)) error { return errors.New("no space left") },
		"panicky": func(context.Context, func(projection.Progress)) error { panic("index out of range") },
		"never":   func(context.Context, func(projection.Progress)) error { return nil },
	})
	t.Cleanup(f.handler.Close)
	mux := http.NewServeMux()
	mux.Handle("/v1/projections", f.handler)
	mux.Handle("/v1/projections/", f.handler)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	f.url = srv.URL
	return f
}

func (f *fixture) do(t *testing.T, method, path string, code int, v any) []byte {
	t.Helper()
	req, err := http.NewRequest(method, f.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != code {
		t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, b, code)
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%v in %s", err, b)
		}
	}
	return b
}

// waitRebuild polls a rebuild's progress until it is no longer running.
func (f *fixture) waitRebuild(t *testing.T, name string) projectionhttp.Rebuild {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var r projectionhttp.Rebuild
		f.do(t, "GET", "/v1/projections/"+name+"/rebuild", 200, &r)
		if !r.Running {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("the rebuild of %s still runs: %+v", name, r)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestProjections: the list shows each projection's state, position, lag
// and error, as the runner reports them.
func TestProjections(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if err := f.runner.WaitCaughtUp(ctx, "count"); err != nil {
		t.Fatal(err)
	}
	tail, err := f.store.Tail(ctx)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		var list projectionhttp.Projections
		f.do(t, "GET", "/v1/projections", 200, &list)
		if len(list.Projections) != 2 {
			t.Fatalf("projections %+v", list)
		}
		broken, count := list.Projections[0], list.Projections[1]
		if count.Name != "count" || count.Status != "live" || count.Position != string(tail) || count.LagEvents != 0 ||
			count.LagSeconds != 0 || count.Error != "" {
			t.Errorf("count: %+v", count)
		}
		// count has a rebuild registered and none run: its progress says
		// so; broken has none.
		if count.Rebuild == nil || count.Rebuild.Name != "count" || count.Rebuild.Running || count.Rebuild.Started != nil {
			t.Errorf("count's rebuild: %+v", count.Rebuild)
		}
		if broken.Rebuild != nil {
			t.Errorf("broken has no rebuild registered: %+v", broken.Rebuild)
		}
		if broken.Name == "broken" && broken.Status == "failed" {
			if !strings.Contains(broken.Error, "the disk is full") || broken.Position == "" || broken.LagEvents != 50 {
				t.Errorf("broken: %+v", broken)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("broken never failed: %+v", broken)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// After a rebuild of count, the list gives its progress too.
	f.do(t, "POST", "/v1/projections/count/rebuild", 202, nil)
	done := f.waitRebuild(t, "count")
	var list projectionhttp.Projections
	f.do(t, "GET", "/v1/projections", 200, &list)
	if r := list.Projections[1].Rebuild; r == nil || r.Finished == nil || r.Running || *r.Finished != *done.Finished || r.Events != done.Events {
		t.Errorf("count's rebuild in the list: %+v, want %+v", r, done)
	}
	if body := f.do(t, "GET", "/v1/projections/count/nothing", 404, nil); !strings.Contains(string(body), "no endpoint GET") {
		t.Errorf("unknown path: %s", body)
	}
}

// TestRebuild: a rebuild starts at once (202), reports its progress while it
// runs, refuses a second start (409), ends with its error if it fails,
// and a real projection.Rebuild builds the new version and goes live.
func TestRebuild(t *testing.T) {
	f := newFixture(t)
	var never projectionhttp.Rebuild
	f.do(t, "GET", "/v1/projections/never/rebuild", 200, &never)
	if never.Running || never.Started != nil || never.Finished != nil || never.Events != 0 {
		t.Errorf("before any rebuild: %+v", never)
	}

	var started projectionhttp.Started
	f.do(t, "POST", "/v1/projections/count/rebuild", 202, &started)
	if started.Name != "count" || started.Started == "" {
		t.Errorf("started %+v", started)
	}
	r := f.waitRebuild(t, "count")
	if r.Error != "" || r.Events != 50 || r.Total == 0 || r.Done != r.Total || r.Started == nil || r.Finished == nil {
		t.Errorf("rebuild of count: %+v", r)
	}
	if f.rebuilt.count() != 50 {
		t.Errorf("the new version holds %d events, want 50", f.rebuilt.count())
	}
	// The new version's runner may still be starting the moment the
	// rebuild reports its end; it must be running soon after.
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, ok := f.runner.Status("count-v2")
		if ok && (st.State == projection.StateLive || st.State == projection.StateCatchingUp) {
			break
		}
		if !ok || st.State != projection.StateStarting || time.Now().After(deadline) {
			t.Errorf("count-v2 after its rebuild: %+v", st)
			break
		}
		time.Sleep(10 * time.Millisecond)
	}

	f.do(t, "POST", "/v1/projections/slow/rebuild", 202, nil)
	if body := f.do(t, "POST", "/v1/projections/slow/rebuild", 409, nil); !strings.Contains(string(body), `a rebuild of \"slow\" is running since`) {
		t.Errorf("second start: %s", body)
	}
	var running projectionhttp.Rebuild
	for deadline := time.Now().Add(10 * time.Second); running.Events == 0 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		f.do(t, "GET", "/v1/projections/slow/rebuild", 200, &running)
	}
	if !running.Running || running.Events != 7 || running.Done != 3 || running.Total != 10 || running.Rate != 70 ||
		running.ETASeconds != 1.5 || running.Finished != nil {
		t.Errorf("running: %+v", running)
	}
	close(f.release)
	if r := f.waitRebuild(t, "slow"); r.Error != "" || r.Finished == nil {
		t.Errorf("slow after its end: %+v", r)
	}

	f.do(t, "POST", "/v1/projections/failing/rebuild", 202, nil)
	if r := f.waitRebuild(t, "failing"); r.Error != `rebuild of "failing": no space left` {
		t.Errorf("failing: %+v", r)
	}
	// A Rebuilder that panics fails its rebuild, saying so; it does not
	// take the server down from the rebuild's goroutine.
	f.do(t, "POST", "/v1/projections/panicky/rebuild", 202, nil)
	if r := f.waitRebuild(t, "panicky"); r.Error != `rebuild of "panicky": panicked: index out of range` {
		t.Errorf("panicky: %+v", r)
	}
	for _, m := range []string{"GET", "POST"} {
		if body := f.do(t, m, "/v1/projections/nope/rebuild", 404, nil); !strings.Contains(string(body), `no rebuild for projection \"nope\"`) {
			t.Errorf("%s nope: %s", m, body)
		}
	}
}

// TestClose: Close cancels a running rebuild and waits for it.
func TestClose(t *testing.T) {
	f := newFixture(t)
	f.do(t, "POST", "/v1/projections/slow/rebuild", 202, nil)
	f.handler.Close()
	var r projectionhttp.Rebuild
	f.do(t, "GET", "/v1/projections/slow/rebuild", 200, &r)
	if r.Running || r.Error != `rebuild of "slow": cancelled` {
		t.Errorf("after Close: %+v", r)
	}
	f.do(t, "POST", "/v1/projections/slow/rebuild", 202, nil)
	if r := f.waitRebuild(t, "slow"); r.Error != `rebuild of "slow": cancelled` {
		t.Errorf("started after Close: %+v", r)
	}
}

// TestMethodNotAllowed: a known path asked with another method is a 405
// with Allow and a JSON reason, not a 404.
func TestMethodNotAllowed(t *testing.T) {
	f := newFixture(t)
	for path, allow := range map[string]string{
		"/v1/projections":               "GET, HEAD",
		"/v1/projections/count/rebuild": "GET, HEAD, POST",
	} {
		req, err := http.NewRequest(http.MethodDelete, f.url+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var e struct{ Error string }
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != allow ||
			json.Unmarshal(b, &e) != nil || !strings.Contains(e.Error, "takes "+allow) {
			t.Errorf("DELETE %s: %d Allow %q %s", path, resp.StatusCode, resp.Header.Get("Allow"), b)
		}
	}
}

// TestMetricsScopeRebuildsNothing: admin:metrics, the metrics scrape's
// scope, does not rebuild a projection named metrics or under metrics/,
// and a projection's own admin scope of that name does not either; admin
// of every resource does, and other projections keep their own scopes.
func TestMetricsScopeRebuildsNothing(t *testing.T) {
	ctx := context.Background()
	store, err := eventstore.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	runner := projection.NewRunner(store, slog.New(slog.DiscardHandler))
	t.Cleanup(runner.Close)
	idle := func(context.Context, func(projection.Progress)) error { return nil }
	tokens, token := scopedTokens(t, nil, "admin:metrics", "admin:metrics/daily", "admin:orders", "admin")
	// The nil options around the authorizer are ignored (an option left
	// unset), as the store's are.
	h := projectionhttp.New(runner, map[string]projectionhttp.Rebuilder{"metrics": idle, "metrics/daily": idle, "orders": idle},
		nil, projectionhttp.WithAuthorizer(tokens), nil)
	t.Cleanup(h.Close)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	for _, c := range []struct {
		scope, name string
		code        int
	}{
		{"admin:metrics", "metrics", 403},
		{"admin:metrics", "metrics/daily", 403},
		{"admin:metrics/daily", "metrics/daily", 403},
		{"admin:metrics", "orders", 403},
		{"admin:orders", "orders", 202},
		{"admin", "metrics", 202},
		{"admin", "metrics/daily", 202},
	} {
		req, err := http.NewRequest("POST", srv.URL+"/v1/projections/"+url.PathEscape(c.name)+"/rebuild", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token[c.scope])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.code {
			t.Errorf("%s rebuilding %s: %d %s, want %d", c.scope, c.name, resp.StatusCode, body, c.code)
		}
	}
}

// TestErrorsShownToAdmins: a projection's error and a rebuild's are the
// handler's own text (a database's error may name its host, user or
// file); a client with read scope alone learns that there is one, a
// client that may rebuild the projection reads it.
func TestErrorsShownToAdmins(t *testing.T) {
	ctx := context.Background()
	store, err := eventstore.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if _, err := store.Append(ctx, "orders/1", []eventstore.Event{{Type: "Placed", Data: []byte(`{}`)}}); err != nil {
		t.Fatal(err)
	}
	runner := projection.NewRunner(store, slog.New(slog.DiscardHandler))
	t.Cleanup(runner.Close)
	const secret = "dial tcp db.internal:5432: password authentication failed for user \"reporting\""
	if err := runner.Start(ctx, projection.Projection{Name: "broken", Source: projection.Category("orders"), Retries: projection.NoRetries,
		Sink: projection.AtLeastOnce("broken", projection.HandlerFunc(func(context.Context, projection.Batch) error {
			return errors.New(secret)
		}), &checkpoint.Memory{})}); err != nil {
		t.Fatal(err)
	}
	if err := runner.WaitCaughtUp(ctx, "broken"); err == nil {
		t.Fatal("the broken projection did not fail")
	}
	tokens, token := scopedTokens(t, []string{"read"}, "read", "admin:broken")
	h := projectionhttp.New(runner, map[string]projectionhttp.Rebuilder{
		"broken": func(context.Context, func(projection.Progress)) error { return errors.New(secret) },
	}, projectionhttp.WithAuthorizer(tokens))
	t.Cleanup(h.Close)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	get := func(scope, path string) string {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+token[scope])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("%s GET %s: %d %s", scope, path, resp.StatusCode, b)
		}
		return string(b)
	}
	req, _ := http.NewRequest("POST", srv.URL+"/v1/projections/broken/rebuild", nil)
	req.Header.Set("Authorization", "Bearer "+token["admin:broken"])
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(get("admin:broken", "/v1/projections/broken/rebuild"), "finished\":\""); {
		if time.Now().After(deadline) {
			t.Fatal("the rebuild did not finish")
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, path := range []string{"/v1/projections", "/v1/projections/broken/rebuild"} {
		if read := get("read", path); strings.Contains(read, "password") || !strings.Contains(read, "admin scope") {
			t.Errorf("read scope, GET %s: %s; want the error's text left out", path, read)
		}
		if admin := get("admin:broken", path); !strings.Contains(admin, "password authentication failed") {
			t.Errorf("admin scope, GET %s: %s; want the error's text", path, admin)
		}
	}
}

// scopedTokens makes one token for each of scopes, granting it that scope
// and those of also, and the authorizer that takes them; token maps each
// scope to its token.
func scopedTokens(t *testing.T, also []string, scopes ...string) (tokens access.Authorizer, token map[string]string) {
	t.Helper()
	var lines []string
	token = map[string]string{}
	for _, scope := range scopes {
		tok, line, err := access.NewToken(append([]string{scope}, also...)...)
		if err != nil {
			t.Fatal(err)
		}
		token[scope], lines = tok, append(lines, line)
	}
	tokens, err := access.ParseTokens(strings.NewReader(strings.Join(lines, "\n")))
	if err != nil {
		t.Fatal(err)
	}
	return tokens, token
}
