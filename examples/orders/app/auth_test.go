package app_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rewindhq/rewind/eventstore/access"
	"github.com/rewindhq/rewind/examples/orders/app"
)

// startWithTokens starts the application with a tokens file holding one
// token per scope list given, and returns the tokens in the same order.
func startWithTokens(t *testing.T, scopes ...[]string) (*app.App, []string) {
	t.Helper()
	dir := t.TempDir()
	var lines, tokens []string
	for _, s := range scopes {
		tok, line, err := access.NewToken(s...)
		if err != nil {
			t.Fatal(err)
		}
		tokens, lines = append(tokens, tok), append(lines, line)
	}
	file := filepath.Join(dir, "tokens")
	if err := os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	a, err := app.Start(ctx, app.Config{Addr: "127.0.0.1:0", Data: filepath.Join(dir, "data"), Seed: small,
		Access: access.Config{TokensFile: file}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	if err := a.WaitCaughtUp(ctx); err != nil {
		t.Fatal(err)
	}
	return a, tokens
}

// route is one request of the table, with the scope it needs.
type route struct {
	method, path, body, scope string
}

func routes(order string) []route {
	stream := "orders/" + order + "/events"
	return []route{
		{"GET", "v1/stream/" + stream + "?offset=-1", "", "read:" + stream},
		{"HEAD", "v1/stream/" + stream, "", "read:" + stream},
		{"GET", "v1/stream/" + stream + "?offset=-1&live=long-poll", "", "read:" + stream},
		{"PUT", "v1/stream/notes/n1", "", "write:notes/n1"},
		{"POST", "v1/stream/notes/n1", `{"a":1}`, "write:notes/n1"},
		{"DELETE", "v1/stream/notes/n1", "", "delete:notes/n1"},
		{"POST", "v1/commands/orders/" + order, `{"type":"CancelOrder","reason":"x"}`, "write:" + stream},
		{"GET", "v1/state/orders/" + order, "", "read:" + stream},
		{"GET", "v1/diff/orders/" + order + "?from=0&to=1", "", "read:" + stream},
		{"GET", "v1/timeline/orders/" + order, "", "read:" + stream},
		{"GET", "v1/export/orders/" + order + "?to=1", "", "read:" + stream},
		{"GET", "v1/aggregates", "", "read"},
		{"GET", "v1/streams", "", "read:*"},
		{"GET", "v1/streams?category=orders", "", "read:orders"},
		{"GET", "v1/events?category=orders&limit=1", "", "read:orders"},
		{"GET", "v1/events?stream=" + stream + "&limit=1", "", "read:" + stream},
		{"GET", "v1/projections", "", "read"},
		{"POST", "v1/projections/order_summary/rebuild", "{}", "admin:order_summary"},
		{"GET", "v1/projections/order_summary/rebuild", "", "read"},
	}
}

func send(t *testing.T, base string, r route, token string) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	req, err := http.NewRequest(r.method, base+r.path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestEveryRouteAsksTheAuthorizer: with tokens on, every route of every
// handler the example mounts answers 401 with a Bearer challenge without a
// token or with an unknown one, and 403 naming the scope it needs with a
// token whose scopes do not allow it; a token with that scope gets past.
func TestEveryRouteAsksTheAuthorizer(t *testing.T) {
	a, toks := startWithTokens(t, []string{"delete:nothing/*"}, []string{"admin"})
	wrong, admin := toks[0], toks[1]
	ex, ok, err := a.Example(context.Background())
	if err != nil || !ok {
		t.Fatalf("no example order: %v", err)
	}
	for _, r := range routes(ex.Order) {
		name := r.method + " /" + r.path
		resp, body := send(t, a.URL, r, "")
		if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer ") {
			t.Errorf("%s without a token: %d %v %q, want 401 with WWW-Authenticate: Bearer", name, resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body)
		}
		resp, body = send(t, a.URL, r, "rwt_made-up")
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
			t.Errorf("%s with an unknown token: %d %v %q, want 401 invalid_token", name, resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body)
		}
		resp, body = send(t, a.URL, r, wrong)
		if resp.StatusCode != http.StatusForbidden || (r.method != "HEAD" && !strings.Contains(body, r.scope)) ||
			!strings.Contains(resp.Header.Get("WWW-Authenticate"), `scope="`+r.scope+`"`) {
			t.Errorf("%s with a token without the scope: %d %q, want 403 naming %q", name, resp.StatusCode, body, r.scope)
		}
	}
	for _, r := range routes(ex.Order) {
		if resp, body := send(t, a.URL, r, admin); resp.StatusCode == 401 || resp.StatusCode == 403 || resp.StatusCode >= 500 {
			t.Errorf("%s /%s with admin: %d %q", r.method, r.path, resp.StatusCode, body)
		}
	}
}

// TestNarrowScopesAllowTheirRoutes: each route is allowed by the scope the
// table names, given alone.
func TestNarrowScopesAllowTheirRoutes(t *testing.T) {
	// The tokens are made once the example order is known: the authorizer
	// reads them through a variable set after Start.
	var toks atomic.Pointer[access.Tokens]
	auth := access.AuthorizerFunc(func(r *http.Request, op access.Op) error { return toks.Load().Authorize(r, op) })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	a, err := app.Start(ctx, app.Config{Addr: "127.0.0.1:0", Data: t.TempDir(), Seed: small, Authorizer: auth})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	if err := a.WaitCaughtUp(ctx); err != nil {
		t.Fatal(err)
	}
	e, ok, err := a.Example(ctx)
	if err != nil || !ok {
		t.Fatalf("no example order: %v", err)
	}
	rs := routes(e.Order)
	var lines, tokens []string
	for _, r := range rs {
		tok, line, err := access.NewToken(r.scope)
		if err != nil {
			t.Fatal(err)
		}
		tokens, lines = append(tokens, tok), append(lines, line)
	}
	parsed, err := access.ParseTokens(strings.NewReader(strings.Join(lines, "\n")))
	if err != nil {
		t.Fatal(err)
	}
	toks.Store(parsed)
	for i, r := range rs {
		if resp, body := send(t, a.URL, r, tokens[i]); resp.StatusCode == 401 || resp.StatusCode == 403 || resp.StatusCode >= 500 {
			t.Errorf("%s /%s with %q: %d %q", r.method, r.path, r.scope, resp.StatusCode, body)
		}
	}
}

func TestStartRefusesBeyondLoopbackWithoutAuth(t *testing.T) {
	ctx := context.Background()
	_, err := app.Start(ctx, app.Config{Addr: "0.0.0.0:0", Data: t.TempDir(), Seed: app.SeedConfig{Skip: true}})
	if !errors.Is(err, access.ErrInsecureListen) {
		t.Fatalf("Start on 0.0.0.0 without auth: %v, want ErrInsecureListen", err)
	}
}
