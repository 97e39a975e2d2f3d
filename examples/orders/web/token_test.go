package web_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/rewindhq/rewind/eventstore/access"
	"github.com/rewindhq/rewind/examples/orders/app"
)

// command posts a command with a bearer token and wants 200.
func commandWithToken(t *testing.T, base, path, token, body string) {
	t.Helper()
	req, err := http.NewRequest("POST", base+"/v1/commands/"+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: %d", path, resp.StatusCode)
	}
}

// TestPageWithToken: with authentication on, the page opened as
// /#token=... keeps the token in sessionStorage, drops it from the
// address, sends it on every request (the list, the timeline) and on the
// long-poll, which brings an event appended later.
func TestPageWithToken(t *testing.T) {
	bin := findChromium(t)
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	reader, readLine, err := access.NewToken("read")
	if err != nil {
		t.Fatal(err)
	}
	writer, writeLine, err := access.NewToken("write:users")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens")
	if err := os.WriteFile(tokens, []byte(readLine+"\n"+writeLine+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := app.Start(ctx, app.Config{Addr: "127.0.0.1:0", Data: filepath.Join(dir, "data"), Seed: app.SeedConfig{Skip: true},
		Access: access.Config{TokensFile: tokens}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	base := strings.TrimSuffix(a.URL, "/")
	commandWithToken(t, base, "users/ada", writer, `{"type":"RegisterUser","name":"Ada","email":"ada@example.test"}`)
	if code, _ := fetch(t, "GET", base+"/v1/streams"); code != http.StatusUnauthorized {
		t.Fatalf("the server answers without a token: %d", code)
	}

	b := newBrowser(t, ctx, bin)
	b.do("open the page with a token", chromedp.Navigate(base+"/#token="+reader),
		chromedp.WaitVisible(chromedp.CSS(`body[data-ready="true"]`)))
	b.waitFor("the categories", `!!document.querySelector('#category option[value="users"]')`)
	eval[bool](b, `(() => { const s = document.getElementById("category"); s.value = "users"; return s.dispatchEvent(new Event("change")); })()`)
	b.waitFor("the stream list", `!!document.querySelector('#stream-list li[data-stream="users/ada/events"]')`)
	if got := eval[string](b, `location.hash + "|" + sessionStorage.getItem("rewind.token")`); got != "|"+reader {
		t.Errorf("the address's fragment and the stored token: %q", got)
	}
	b.do("pick the stream", chromedp.Click(chromedp.CSS(`#stream-list li[data-stream="users/ada/events"]`)))
	b.waitFor("the stream's event", `document.querySelectorAll("#events li").length === 1`)
	b.waitFor("the long-poll", `document.getElementById("live").dataset.state === "live"`)
	commandWithToken(t, base, "users/ada", writer, `{"type":"RenameUser","name":"Ada L."}`)
	b.waitFor("the event the long-poll brings", `document.querySelectorAll("#events li").length === 2`)
	if p := b.console(); strings.Contains(p, "401") {
		t.Errorf("a request went without the token:%s", p)
	}

	// A link to a point with the token: the page keeps the point in the
	// address and drops the token from it.
	eval[bool](b, `(sessionStorage.clear(), true)`)
	b.do("open a point with a token", chromedp.Navigate(base+"/#users/ada/events@1&token="+reader),
		chromedp.WaitVisible(chromedp.CSS(`body[data-ready="true"]`)))
	b.waitShown("users/ada/events", 1)
	if got := eval[string](b, `location.hash + "|" + sessionStorage.getItem("rewind.token")`); got != "#users/ada/events@1|"+reader {
		t.Errorf("the address's fragment and the stored token: %q", got)
	}
}
