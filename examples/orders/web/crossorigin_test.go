package web_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/rewindhq/rewind/examples/orders/app"
)

// attack is a script a page runs against the victim server: each entry
// tries one thing and reports what the browser saw (a status, or
// "blocked" when the browser itself refused).
const attack = `(async (victim) => {
  const out = {};
  const status = (p) => p.then(r => r.type === "opaque" ? "opaque" : r.status).catch(e => "blocked");
  out.delete = await status(fetch(victim + "/v1/stream/notes/secret", {method: "DELETE"}));
  out.append = await status(fetch(victim + "/v1/stream/notes/secret", {method: "POST", mode: "no-cors",
    headers: {"Content-Type": "text/plain"}, body: '{"pwned":true}'}));
  out.command = await status(fetch(victim + "/v1/commands/users/mallory", {method: "POST", mode: "no-cors",
    headers: {"Content-Type": "text/plain"}, body: '{"type":"RegisterUser","name":"Mallory","email":"m@evil.test"}'}));
  out.commandJSON = await status(fetch(victim + "/v1/commands/users/mallory2", {method: "POST",
    headers: {"Content-Type": "application/json"}, body: '{"type":"RegisterUser","name":"Mallory","email":"m@evil.test"}'}));
  const form = new URLSearchParams(); form.set("x", "1");
  out.rebuild = await status(fetch(victim + "/v1/projections/order_summary/rebuild", {method: "POST", mode: "no-cors", body: form}));
  return out;
})`

// startVictim starts the example without authentication, with a JSON
// stream notes/secret holding a secret.
func startVictim(t *testing.T) *app.App {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	a, err := app.Start(ctx, app.Config{Addr: "127.0.0.1:0", Data: t.TempDir(), Seed: app.SeedConfig{Skip: true}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	base := strings.TrimSuffix(a.URL, "/")
	mustStatus(t, "PUT", base+"/v1/stream/notes/secret", `[{"secret":"s3cr3t"}]`, http.StatusCreated)
	return a
}

func mustStatus(t *testing.T, method, url, body string, want int) string {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d %s, want %d", method, url, resp.StatusCode, b, want)
	}
	return string(b)
}

// checkNothingChanged checks, from Go, that none of the attack's writes
// took effect.
func checkNothingChanged(t *testing.T, base string) {
	t.Helper()
	if code, got := fetch(t, "GET", base+"/v1/stream/notes/secret?offset=-1"); code != 200 || got != `[{"secret":"s3cr3t"}]` {
		t.Errorf("the stream changed: %d %s", code, got)
	}
	for _, u := range []string{"mallory", "mallory2"} {
		if code, got := fetch(t, "GET", base+"/v1/state/users/"+u); code != http.StatusNotFound {
			t.Errorf("the command ran: user %s is %d %s", u, code, got)
		}
	}
	if code, got := fetch(t, "GET", base+"/v1/projections/order_summary/rebuild"); code != 200 || !strings.Contains(got, `"started":null`) {
		t.Errorf("a rebuild started: %d %s", code, got)
	}
}

func fetch(t *testing.T, method, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestCrossSiteWritesRefusedInChromium: a page served from another origin
// (a second loopback server), in headless Chromium, cannot delete a
// stream, append to it, run a command by a "simple" text/plain POST or a
// preflighted JSON one, or start a rebuild with a form-encoded POST, on
// the example running without authentication.
func TestCrossSiteWritesRefusedInChromium(t *testing.T) {
	bin := findChromium(t)
	a := startVictim(t)
	victim := strings.TrimSuffix(a.URL, "/")
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<!doctype html><title>a page on another site</title>")
	}))
	defer evil.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	b := newBrowser(t, ctx, bin)
	b.do("open the other site's page", chromedp.Navigate(evil.URL+"/"))
	got, err := chromedp.Run(b.ctx, chromedp.Evaluate[map[string]any](attack+`(`+jsString(victim)+`)`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("run the attack: %v%s", err, b.console())
	}
	t.Logf("what the other site's page saw: %v", got)
	if s, ok := got["delete"].(float64); !ok || s != http.StatusForbidden {
		t.Errorf("DELETE from another origin: %v, want 403", got["delete"])
	}
	// The commands endpoint answers no CORS preflight: the browser does
	// not even send a JSON command.
	if s, ok := got["commandJSON"].(float64); got["commandJSON"] != "blocked" && (!ok || s != http.StatusForbidden) {
		t.Errorf("a JSON command from another origin: %v, want blocked or 403", got["commandJSON"])
	}
	checkNothingChanged(t, victim)

	// The page of the server's own origin still writes.
	b.do("open the victim's own page", chromedp.Navigate(victim+"/"))
	own, err := chromedp.Run(b.ctx, chromedp.Evaluate[float64](`fetch("/v1/commands/users/ada", {method: "POST",
		headers: {"Content-Type": "application/json"}, body: '{"type":"RegisterUser","name":"Ada","email":"ada@example.test"}'}).then(r => r.status)`,
		chromedp.EvalAwaitPromise))
	if err != nil || own != http.StatusOK {
		t.Errorf("a command from the server's own page: %v %v, want 200", own, err)
	}
}

// TestDNSRebindingRefusedInChromium: a name that resolves to the server's
// loopback address (what DNS rebinding achieves; here Chromium's
// host-resolver rules map evil.test to 127.0.0.1) makes the attacker's
// page same-origin with the server, so the Origin check cannot help: the
// Host check refuses every API request, reads included.
func TestDNSRebindingRefusedInChromium(t *testing.T) {
	bin := findChromium(t)
	a := startVictim(t)
	victim := strings.TrimSuffix(a.URL, "/")
	_, port, err := net.SplitHostPort(strings.TrimPrefix(victim, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	b := newBrowser(t, ctx, bin, chromedp.Flag("host-resolver-rules", "MAP evil.test 127.0.0.1"))
	rebound := "http://evil.test:" + port
	b.do("open the rebound page", chromedp.Navigate(rebound+"/"))
	got, err := chromedp.Run(b.ctx, chromedp.Evaluate[map[string]any](attack+`("")`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("run the attack: %v%s", err, b.console())
	}
	t.Logf("what the rebound page saw: %v", got)
	for _, k := range []string{"delete", "commandJSON", "append", "command", "rebuild"} {
		if s, ok := got[k].(float64); !ok || s != http.StatusForbidden {
			t.Errorf("%s through the rebound name: %v, want 403", k, got[k])
		}
	}
	read, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`fetch("/v1/stream/notes/secret?offset=-1").then(r => r.status + " " + r.statusText)`,
		chromedp.EvalAwaitPromise))
	if err != nil || !strings.HasPrefix(read, "403") {
		t.Errorf("a read through the rebound name: %q %v, want 403", read, err)
	}
	checkNothingChanged(t, victim)
}

func jsString(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }
