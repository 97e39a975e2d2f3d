package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	_ "time/tzdata" // the browser's zone, whatever the machine has

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/rewindhq/rewind/examples/orders/app"
	"github.com/rewindhq/rewind/examples/orders/seed"
	"github.com/rewindhq/rewind/internal/chromium"
)

var screenshot = flag.String("screenshot", "",
	"also write the page's screenshot to this file (the README's: -screenshot ../../../docs/time-travel.png)")

// browserZone is the time zone of the browser and of the seed's business
// hours: not UTC, so that the test sees the page turn local times into
// store times and back.
const browserZone = "America/New_York"

// findChromium finds the browser the test drives: $CHROMIUM_BIN, or
// Chromium or Chrome on PATH. Without one the test fails, saying how to
// get one: the page is part of what every run tests.
func findChromium(t *testing.T) string {
	t.Helper()
	return chromium.Find(t, "the time-travel page's test")
}

// browser is one headless Chromium tab on the page, with what the page
// wrote to its console.
type browser struct {
	t   *testing.T
	ctx context.Context

	mu       sync.Mutex
	problems []string // exceptions and console errors
}

func newBrowser(t *testing.T, ctx context.Context, bin string, extra ...chromedp.ExecAllocatorOption) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.WindowSize(1366, 768),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("lang", "en-US"),
		chromedp.Env("TZ="+browserZone, "LANGUAGE=en-US"),
		chromedp.UserDataDir(t.TempDir()),
	)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // Chromium's sandbox refuses root
	}
	opts = append(opts, extra...)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	tctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(cancelTab)
	b := &browser{t: t, ctx: tctx}
	if err := chromedp.Do(tctx); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	messages := chromedp.Console(tctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.IsException() || m.Type == "error" {
				b.mu.Lock()
				b.problems = append(b.problems, m.String())
				b.mu.Unlock()
			}
		}
	}()
	return b
}

func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v%s", what, err, b.console())
	}
}

// eval runs a JavaScript expression in the page and decodes its value.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v%s", expr, err, b.console())
	}
	return v
}

// waitFor waits until a JavaScript expression is true in the page, for up
// to 30 s: on a loaded 2-core machine under -race a page of a long stream
// took more than 15 s to come once.
func (b *browser) waitFor(what, expr string) {
	b.t.Helper()
	_, err := chromedp.Run(b.ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(30*time.Second), chromedp.WithPollingInterval(50*time.Millisecond)))
	if err != nil {
		b.t.Fatalf("waiting for %s (%s): %v%s", what, expr, err, b.console())
	}
}

func (b *browser) console() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.problems) == 0 {
		return ""
	}
	return "\nthe page's console:\n  " + strings.Join(b.problems, "\n  ")
}

// screenshot saves the viewport to the test's artifacts (and to paths).
func (b *browser) screenshot(name string, paths ...string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatalf("screenshot: %v", err)
	}
	paths = append(paths, filepath.Join(b.t.ArtifactDir(), name))
	for _, p := range paths {
		if p == "" {
			continue
		}
		if err := os.WriteFile(p, png, 0o644); err != nil {
			b.t.Fatalf("save the screenshot: %v", err)
		}
		b.t.Logf("screenshot: %s", p)
	}
}

// The answers of the endpoints the test compares the page with.
type (
	change struct {
		Path string          `json:"path"`
		From json.RawMessage `json:"from"`
		To   json.RawMessage `json:"to"`
	}
	event struct {
		Version  uint64   `json:"version"`
		Type     string   `json:"type"`
		StoredAt string   `json:"storedAt"`
		Offset   string   `json:"offset"`
		Changes  []change `json:"changes"`
	}
	timeline struct {
		Stream  string  `json:"stream"`
		Version uint64  `json:"version"`
		Events  []event `json:"events"`
	}
	state struct {
		Version uint64          `json:"version"`
		State   json.RawMessage `json:"state"`
	}
)

func get[T any](t *testing.T, url string) (T, []byte) {
	t.Helper()
	var v T
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %s", url, resp.Status, body)
	}
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return v, body
}

// shownState is the state the page shows, as text: its lines of JSON.
const shownState = `Array.from(document.querySelectorAll("#state-json .code"), (e) => e.textContent).join("\n")`

// checkState checks that the page shows exactly the state the endpoint
// answers at query: the same JSON, to the byte once indented, at the same
// version, with the fields the version's event changed highlighted.
func checkState(t *testing.T, b *browser, base, id, query string, tl timeline) state {
	t.Helper()
	want, _ := get[state](t, base+"/v1/state/orders/"+id+"?"+query)
	b.waitFor(fmt.Sprintf("the page at version %d (%s)", want.Version, query),
		fmt.Sprintf(`document.getElementById("view").dataset.version === "%d" && document.querySelectorAll("#state-json .code").length > 0`, want.Version))
	var indented bytes.Buffer
	if err := json.Indent(&indented, want.State, "", "  "); err != nil {
		t.Fatal(err)
	}
	if got := eval[string](b, shownState); got != indented.String() {
		t.Fatalf("at %s the page shows the state\n%s\nbut GET /v1/state answers\n%s", query, got, indented.String())
	}
	hot := eval[[]string](b, `Array.from(document.querySelectorAll("#state-json .ln.hot:not(.close)"), (e) => e.dataset.path)`)
	var changed []change
	if want.Version > 0 {
		changed = tl.Events[want.Version-1].Changes
	}
	for _, c := range changed {
		if string(c.To) != "null" && !slices.Contains(hot, c.Path) {
			t.Errorf("version %d changed %s, which the page does not highlight (highlighted: %q)", want.Version, c.Path, hot)
		}
	}
	for _, p := range hot {
		if !slices.ContainsFunc(changed, func(c change) bool { return c.Path == p || strings.HasPrefix(p, c.Path+".") }) {
			t.Errorf("the page highlights %s, which version %d did not change", p, want.Version)
		}
	}
	return want
}

// orderPage is what several page tests begin with: the example seeded
// with 40 orders, one of them picked, and a browser.
type orderPage struct {
	ctx    context.Context // ends when the test does, or after its timeout
	base   string          // the example's URL, without the slash at its end
	id     string          // the order picked
	tl     timeline        // its timeline
	stream string          // its stream
	b      *browser
}

// openOrderPage starts the seeded example and a browser, bounded by
// timeout, and picks an order.
func openOrderPage(t *testing.T, timeout time.Duration) orderPage {
	t.Helper()
	bin := findChromium(t)
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	t.Cleanup(cancel)
	a := startSeeded(t, ctx, t.TempDir(), 40)
	base := strings.TrimSuffix(a.URL, "/")
	id, tl := pickOrder(t, base)
	return orderPage{ctx: ctx, base: base, id: id, tl: tl, stream: "orders/" + id + "/events", b: newBrowser(t, ctx, bin)}
}

// pickOrder finds an open order (one that takes another item) with the
// longest history, so that its timeline has something to travel through.
func pickOrder(t *testing.T, base string) (id string, tl timeline) {
	t.Helper()
	streams, _ := get[struct {
		Streams []struct {
			Name    string `json:"name"`
			Version uint64 `json:"version"`
		} `json:"streams"`
	}](t, base+"/v1/streams?category=orders")
	best := uint64(0)
	for _, s := range streams.Streams {
		oid := strings.Split(s.Name, "/")[1]
		if s.Version <= best {
			continue
		}
		st, _ := get[struct {
			State struct {
				Status string `json:"status"`
			} `json:"state"`
		}](t, base+"/v1/state/orders/"+oid)
		if st.State.Status == "open" {
			id, best = oid, s.Version
		}
	}
	if best < 3 {
		t.Fatalf("the seed has no open order with 3 events or more")
	}
	tl, _ = get[timeline](t, base+"/v1/timeline/orders/"+id)
	return id, tl
}

func TestTimeTravelPage(t *testing.T) {
	bin := findChromium(t)
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	zone, err := time.LoadLocation(browserZone)
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.Start(ctx, app.Config{Addr: "127.0.0.1:0", Data: t.TempDir(), Seed: app.SeedConfig{
		Config: seed.Config{Orders: 120, Days: 5, Rand: 7, Location: zone},
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	base := strings.TrimSuffix(a.URL, "/")
	id, tl := pickOrder(t, base)
	stream := "orders/" + id + "/events"

	b := newBrowser(t, ctx, bin)
	b.do("open the page", chromedp.EmulateViewport(1366, 768), chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.CSS(`body[data-ready="true"]`)))
	b.waitFor("the stream list", fmt.Sprintf(`!!document.querySelector('#stream-list li[data-stream="%s"]')`, stream))

	// Pick the stream as a user does: filter the list, click the stream.
	b.do("filter the streams", chromedp.SendKeys(chromedp.CSS("#filter"), id))
	b.waitFor("the filtered list", fmt.Sprintf(`document.querySelectorAll("#stream-list li").length === 1 && !!document.querySelector('#stream-list li[data-stream="%s"]')`, stream))
	b.do("pick the stream", chromedp.Click(chromedp.CSS(fmt.Sprintf(`#stream-list li[data-stream="%s"]`, stream))))
	b.waitFor("the stream's events", `document.querySelectorAll("#events li").length > 0`)
	eval[bool](b, `(() => { const f = document.getElementById("filter"); f.value = ""; return f.dispatchEvent(new Event("input")); })()`)
	b.waitFor("the whole list, the stream selected", fmt.Sprintf(`document.querySelectorAll("#stream-list li").length > 1 && !!document.querySelector('#stream-list li.selected[data-stream="%s"]')`, stream))

	// The timeline lists every event of the stream, in order, with its type.
	b.waitFor("the timeline", fmt.Sprintf(`document.querySelectorAll("#events li").length === %d`, len(tl.Events)))
	type shown struct {
		Version string `json:"version"`
		Type    string `json:"type"`
	}
	listed := eval[[]shown](b, `Array.from(document.querySelectorAll("#events li"), (li) => ({version: li.dataset.version, type: li.querySelector(".ev-type").textContent}))`)
	for i, e := range tl.Events {
		if listed[i].Version != fmt.Sprint(e.Version) || listed[i].Type != e.Type {
			t.Fatalf("the timeline's event %d is v%s %s, want v%d %s", i, listed[i].Version, listed[i].Type, e.Version, e.Type)
		}
	}
	head := tl.Version
	checkState(t, b, base, id, fmt.Sprintf("version=%d", head), tl)

	// Move the slider back, with the keyboard as a user can, to an event
	// that changed something worth seeing (the last ItemAdded before the
	// head, when there is one).
	target := head - 1
	for v := head - 1; v >= 2; v-- {
		if tl.Events[v-1].Type == "ItemAdded" {
			target = v
			break
		}
	}
	b.do("focus the slider", chromedp.Focus(chromedp.CSS("#slider")))
	for v := head; v > target; v-- {
		b.do("press ←", chromedp.KeyEvent(kb.ArrowLeft))
	}
	checkState(t, b, base, id, fmt.Sprintf("version=%d", target), tl)
	// The pointer off the stream list (the stream it clicked is elsewhere
	// now the list is whole), so no row shows as hovered.
	b.do("move the pointer away", chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, 1, 760))
	b.screenshot("slider.png", *screenshot)
	if text := eval[string](b, `["point", "state-at", "stream-meta", "changed-by"].map((id) => document.getElementById(id).textContent).join(" | ")`); strings.Contains(text, "null") || strings.Contains(text, "undefined") || strings.Contains(text, "NaN") {
		t.Errorf("the page shows a JavaScript null, undefined or NaN: %s", text)
	}

	// Click an earlier event in the list.
	b.do("click v2", chromedp.Click(chromedp.CSS(`#events li[data-version="2"]`)))
	checkState(t, b, base, id, "version=2", tl)

	// Pick a time between two events: the page shows the state the
	// endpoint gives for that time, in the browser's zone.
	t1, _ := time.Parse(time.RFC3339Nano, tl.Events[1].StoredAt)
	t2, _ := time.Parse(time.RFC3339Nano, tl.Events[2].StoredAt)
	mid := t1.Add(t2.Sub(t1) / 2).Truncate(time.Second)
	if !mid.After(t1) {
		mid = t1.Truncate(time.Second).Add(time.Second)
	}
	b.do("pick a time",
		chromedp.SetValue(chromedp.CSS("#time"), mid.In(zone).Format("2006-01-02T15:04:05")),
		chromedp.Click(chromedp.CSS("#go-time")))
	at := checkState(t, b, base, id, "at="+mid.UTC().Format(time.RFC3339), tl)
	if at.Version != 2 && mid.Before(t2) {
		t.Errorf("at %s (between v2 and v3) the page shows version %d", mid, at.Version)
	}
	b.screenshot("time.png")

	// Back to the head, then append through a command while the page is
	// open: the event arrives over the Durable Streams long-poll, without
	// a reload.
	b.do("press Latest", chromedp.Click(chromedp.CSS("#go-head")))
	checkState(t, b, base, id, fmt.Sprintf("version=%d", head), tl)
	b.waitFor("the live follow", `document.getElementById("live").dataset.state === "live"`)
	eval[int](b, `window.__sameDocument = 17`)
	body := `{"type": "AddItem", "sku": "mug-rewind", "name": "Rewind mug", "quantity": 2, "unitPriceCents": 1450}`
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/commands/orders/"+id, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", "browser-test-"+id)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST AddItem: %s %s", resp.Status, answer)
	}
	b.waitFor("the new event in the timeline", fmt.Sprintf(`document.querySelectorAll("#events li").length === %d && document.querySelector('#events li[data-version="%d"] .ev-type').textContent === "ItemAdded"`, head+1, head+1))
	tl2, _ := get[timeline](t, base+"/v1/timeline/orders/"+id)
	checkState(t, b, base, id, fmt.Sprintf("version=%d", head+1), tl2)
	if got := eval[int](b, `window.__sameDocument || 0`); got != 17 {
		t.Errorf("the page reloaded to show the new event")
	}
	b.screenshot("live.png")
	if p := b.console(); p != "" {
		t.Errorf("the page reported problems:%s", p)
	}
}
