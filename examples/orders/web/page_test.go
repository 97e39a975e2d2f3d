package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/rewindhq/rewind/eventstore"
	"github.com/rewindhq/rewind/examples/orders/app"
	"github.com/rewindhq/rewind/examples/orders/domain"
	"github.com/rewindhq/rewind/examples/orders/seed"
)

var shots = flag.String("shots", "", "also write the layout test's screenshots into this directory")

// startSeeded starts the example on a small seed in dir.
func startSeeded(t *testing.T, ctx context.Context, dir string, orders int) *app.App {
	t.Helper()
	zone, err := time.LoadLocation(browserZone)
	if err != nil {
		t.Fatal(err)
	}
	// The seed's history ends at the last midnight, not now: a history
	// that ends now holds fewer of the day's steps the earlier in the day
	// the test runs, and before 05:00 UTC it had no open order of three
	// events or more for the tests to travel through.
	now := time.Now().In(zone)
	end := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, zone)
	a, err := app.Start(ctx, app.Config{Addr: "127.0.0.1:0", Data: dir, Seed: app.SeedConfig{
		Config: seed.Config{Orders: orders, Days: 3, Rand: 11, Location: zone, End: end},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// openAt opens the page at a fragment and waits until it is ready.
func openAt(b *browser, base, fragment string) {
	b.t.Helper()
	b.do("open "+fragment, chromedp.Navigate(base+"/"+fragment),
		chromedp.WaitVisible(chromedp.CSS(`body[data-ready="true"]`)))
}

// waitShown waits until the page shows stream at version v: the name, the
// point and a state of that version, nothing loading.
func (b *browser) waitShown(stream string, v uint64) {
	b.t.Helper()
	b.waitFor(fmt.Sprintf("%s at version %d", stream, v), fmt.Sprintf(`document.getElementById("stream-name").textContent === %q &&
		document.querySelector("#point strong")?.textContent === "Version %d" &&
		document.getElementById("view").dataset.version === "%d" && !document.getElementById("view").dataset.loading &&
		document.querySelectorAll("#state-json .code").length > 0`, stream, v, v))
}

// TestStateIsAlwaysThePointShown: with the server stopped, moving the
// slider puts an error where the state was (never the last state under
// the new version's label); the live indicator says so within seconds,
// and says "live" again within seconds of the server's restart, without
// waiting for a long-poll to answer.
func TestStateIsAlwaysThePointShown(t *testing.T) {
	bin := findChromium(t)
	ctx, cancel := context.WithTimeout(t.Context(), 120*time.Second)
	defer cancel()
	dir := t.TempDir()
	a := startSeeded(t, ctx, dir, 40)
	base := strings.TrimSuffix(a.URL, "/")
	addr := strings.TrimPrefix(base, "http://")
	id, tl := pickOrder(t, base)
	stream := "orders/" + id + "/events"
	head := tl.Version

	b := newBrowser(t, ctx, bin)
	openAt(b, base, fmt.Sprintf("#%s@%d", stream, head))
	b.waitShown(stream, head)
	b.waitFor("the live follow", `document.getElementById("live").dataset.state === "live"`)

	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	b.waitFor("the indicator to see the server gone", `document.getElementById("live").dataset.state === "error"`)
	b.do("focus the slider", chromedp.Focus(chromedp.CSS("#slider")))
	b.do("press Home", chromedp.KeyEvent(kb.Home))
	b.waitFor("an error in the state's place", `document.getElementById("state-error")?.hidden === false`)
	got := eval[map[string]any](b, `({point: document.getElementById("point").dataset.version,
		shown: document.getElementById("view").dataset.version,
		label: document.getElementById("state-version").textContent,
		lines: document.querySelectorAll("#state-json .code").length,
		error: document.getElementById("state-error").textContent})`)
	if got["point"] != "0" || got["shown"] != "" || got["label"] != "0" || got["lines"] != float64(0) ||
		!strings.Contains(got["error"].(string), "version 0") {
		t.Fatalf("with the server stopped, at version 0 the page shows %v; want the point at 0, no state and an error about version 0", got)
	}
	b.do("press →", chromedp.KeyEvent(kb.ArrowRight))
	b.waitFor("the error for version 1", `document.getElementById("point").dataset.version === "1" && document.getElementById("state-error").textContent.includes("version 1") && document.querySelectorAll("#state-json .code").length === 0`)

	// The same address, the same data, a new process's worth of server.
	restarted := restartOn(t, ctx, addr, dir)
	defer restarted.Close()
	began := time.Now()
	b.waitFor("the indicator to see the server back", `document.getElementById("live").dataset.state === "live"`)
	t.Logf("the indicator said live %v after the restart", time.Since(began).Round(time.Millisecond))
	b.do("try again", chromedp.Click(chromedp.CSS("#state-error button")))
	checkState(t, b, base, id, "version=1", tl)
	if p := b.console(); strings.Contains(p, "Uncaught") {
		t.Errorf("the page threw:%s", p)
	}
}

// TestSliderStepsAskForTheNewest: steps of the slider made while a step's
// state is on its way do not each ask for their state: the page waits for
// the answer on its way, then asks for the newest step's state only, and
// shows it.
func TestSliderStepsAskForTheNewest(t *testing.T) {
	p := openOrderPage(t, 120*time.Second)
	base, id, tl, stream, b := p.base, p.id, p.tl, p.stream, p.b
	head := tl.Version

	openAt(b, base, fmt.Sprintf("#%s@%d", stream, head))
	b.waitShown(stream, head)
	// In one task, so that every step is made before the first step's
	// answer can arrive.
	eval[bool](b, fmt.Sprintf(`(() => { const s = document.getElementById("slider");
		for (let v = %d; v >= 0; v--) { s.value = String(v); s.dispatchEvent(new Event("input")); }
		return true; })()`, head-1))
	b.waitShown(stream, 0)
	want, _ := get[state](t, base+"/v1/state/orders/"+id+"?version=0")
	var ind bytes.Buffer
	if err := json.Indent(&ind, want.State, "", "  "); err != nil {
		t.Fatal(err)
	}
	if got := eval[string](b, shownState); got != ind.String() {
		t.Errorf("after the steps the page shows\n%s\nbut GET /v1/state?version=0 answers\n%s", got, ind.String())
	}
	asked := eval[[]string](b, fmt.Sprintf(`performance.getEntriesByType("resource").map((e) => e.name).filter((n) => n.includes("/v1/state/orders/%s?version="))`, id))
	count := map[uint64]int{}
	for _, u := range asked {
		var v uint64
		if _, err := fmt.Sscanf(u[strings.LastIndex(u, "=")+1:], "%d", &v); err != nil {
			t.Fatalf("a state request %s", u)
		}
		count[v]++
	}
	if count[head-1] != 1 || count[0] != 1 {
		t.Errorf("the first step (v%d) and the newest (v0) were asked for %d and %d times, want once each (requests %v)", head-1, count[head-1], count[0], asked)
	}
	for v := uint64(1); v < head-1; v++ {
		if count[v] != 0 {
			t.Errorf("v%d, a step passed while the first step's state was on its way, was asked for %d times (requests %v)", v, count[v], asked)
		}
	}
}

// TestRoutes: a link to a stream and a version typed into an open tab
// shows it; Back and Forward go through the views seen; a point that is
// neither a version nor a time, a version past the stream's end and a
// stream that does not exist say so.
func TestRoutes(t *testing.T) {
	bin := findChromium(t)
	ctx, cancel := context.WithTimeout(t.Context(), 120*time.Second)
	defer cancel()
	a := startSeeded(t, ctx, t.TempDir(), 40)
	base := strings.TrimSuffix(a.URL, "/")
	id, tl := pickOrder(t, base)
	stream := "orders/" + id + "/events"
	other := ""
	streams, _ := get[struct {
		Streams []struct {
			Name    string `json:"name"`
			Version uint64 `json:"version"`
		} `json:"streams"`
	}](t, base+"/v1/streams?category=orders")
	for _, s := range streams.Streams {
		if s.Name != stream && s.Version >= 3 {
			other = s.Name
			break
		}
	}
	if other == "" {
		t.Fatal("the seed has no second stream of 3 events")
	}

	b := newBrowser(t, ctx, bin)
	openAt(b, base, "#"+stream+"@2")
	b.waitShown(stream, 2)
	checkState(t, b, base, id, "version=2", tl)

	// A link typed into the open tab.
	eval[string](b, fmt.Sprintf(`location.hash = %q`, "#"+other+"@3"))
	b.waitShown(other, 3)
	// A click on an event is a step in the history too.
	b.do("click v1", chromedp.Click(chromedp.CSS(`#events li[data-version="1"]`)))
	b.waitShown(other, 1)

	eval[bool](b, `(history.back(), true)`)
	b.waitShown(other, 3)
	eval[bool](b, `(history.back(), true)`)
	b.waitShown(stream, 2)
	eval[bool](b, `(history.forward(), true)`)
	b.waitShown(other, 3)

	// The address follows the slider once it is still (a write of the
	// address is left out of each step of a drag), and Back then goes to
	// the entry before, not to a step.
	b.do("focus the slider", chromedp.Focus(chromedp.CSS("#slider")))
	b.do("press ←", chromedp.KeyEvent(kb.ArrowLeft))
	b.waitShown(other, 2)
	b.waitFor("the address of the point", fmt.Sprintf(`location.hash === %q`, "#"+other+"@2"))
	eval[bool](b, `(history.back(), true)`)
	b.waitShown(stream, 2)
	eval[bool](b, `(history.forward(), true)`)
	b.waitShown(other, 2)

	// A point that is neither a version nor a time (once thrown from a
	// time formatter, leaving the last point on the screen; "-1" was sent
	// to the server as a time and answered with its parser's words).
	for _, point := range []string{"abc", "-1", "2026-13-45T99:00:00Z"} {
		eval[string](b, fmt.Sprintf(`location.hash = %q`, "#"+stream+"@"+point))
		b.waitFor("the bad point said", `document.getElementById("state-error")?.hidden === false && document.getElementById("point").textContent.includes("neither a version nor a time")`)
		msg := eval[string](b, `document.getElementById("point").textContent + " | " + document.getElementById("state-error").textContent`)
		if !strings.Contains(msg, "“"+point+"”") || !strings.Contains(msg, fmt.Sprintf("a version (0 to %d) or a time", tl.Version)) || strings.Contains(msg, "RFC 3339") {
			t.Errorf("at @%s the page says %q", point, msg)
		}
		if n := eval[int](b, `document.querySelectorAll("#state-json .code").length`); n != 0 {
			t.Errorf("at @%s the page shows %d lines of a state", point, n)
		}
	}

	// A version the stream does not have.
	eval[string](b, fmt.Sprintf(`location.hash = %q`, "#"+stream+"@99"))
	b.waitFor("the missing version said", `document.getElementById("state-error")?.hidden === false && document.getElementById("point").dataset.version === "99"`)
	msg := eval[string](b, `document.getElementById("state-error").textContent + " | " + document.getElementById("point").textContent`)
	if !strings.Contains(msg, "no version 99") || !strings.Contains(msg, fmt.Sprintf("has %d events", tl.Version)) {
		t.Errorf("at @99 of a %d-event stream the page says %q", tl.Version, msg)
	}
	if n := eval[int](b, `document.querySelectorAll("#state-json .code").length`); n != 0 {
		t.Errorf("at @99 the page shows %d lines of a state", n)
	}

	// A stream that does not exist.
	eval[string](b, `location.hash = "#orders/ord-nope/events@2"`)
	b.waitFor("the missing stream said", `document.getElementById("problem")?.hidden === false && document.getElementById("view").hidden`)
	if title := eval[string](b, `document.getElementById("problem-title").textContent`); !strings.Contains(title, "No stream orders/ord-nope/events") {
		t.Errorf("for a missing stream the page says %q", title)
	}
	eval[bool](b, `(history.back(), true)`)
	b.waitFor("the missing version again", `document.getElementById("state-error")?.hidden === false && document.getElementById("point").dataset.version === "99"`)
	if p := b.console(); strings.Contains(p, "Uncaught") {
		t.Errorf("the page threw:%s", p)
	}
}

// writeLongOrder stores an order of n events in the store at dir (the
// example's data directory), stored in bursts: a few seconds apart within
// a burst, hours between bursts, so that a time axis shows clusters.
func writeLongOrder(t *testing.T, ctx context.Context, dir, id string, n int, start time.Time) {
	t.Helper()
	clock := start
	store, err := eventstore.Open(ctx, filepath.Join(dir, "events"), eventstore.WithClock(func() time.Time { return clock }))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	stream := "orders/" + id + "/events"
	mk := func(typ string, v any) eventstore.Event {
		data, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return eventstore.Event{Type: typ, Data: data}
	}
	batch := []eventstore.Event{mk("OrderPlaced", domain.OrderPlaced{Workspace: "ws-01", PlacedBy: "usr-001"})}
	for i := 1; i < n; i++ {
		sku := fmt.Sprintf("sku-%02d", i%40)
		if i%3 == 2 {
			batch = append(batch, mk("ItemRemoved", domain.ItemRemoved{SKU: fmt.Sprintf("sku-%02d", (i-1)%40), Quantity: 1}))
		} else {
			batch = append(batch, mk("ItemAdded", domain.ItemAdded{SKU: sku, Name: "Item " + sku, Quantity: 1, UnitPriceCents: int64(100 + i%40)}))
		}
		// Ten events to a commit; a burst is 30 events, then a pause.
		if len(batch) == 10 || i == n-1 {
			if _, err := store.Append(ctx, stream, batch); err != nil {
				t.Fatal(err)
			}
			batch = batch[:0]
			if i%30 < 10 {
				clock = clock.Add(time.Duration(3+i%7) * time.Hour)
			} else {
				clock = clock.Add(7 * time.Second)
			}
		}
	}
}

// writeWideOrder stores an order whose second event holds an item name of
// 20,000 characters: one line of its data far wider than any window.
func writeWideOrder(t *testing.T, ctx context.Context, dir, id string) {
	t.Helper()
	store, err := eventstore.Open(ctx, filepath.Join(dir, "events"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	placed, _ := json.Marshal(domain.OrderPlaced{Workspace: "ws-01", PlacedBy: "usr-001"})
	added, _ := json.Marshal(domain.ItemAdded{SKU: "long", Name: strings.Repeat("A", 20_000), Quantity: 1, UnitPriceCents: 100})
	if _, err := store.Append(ctx, "orders/"+id+"/events", []eventstore.Event{{Type: "OrderPlaced", Data: placed}, {Type: "ItemAdded", Data: added}}); err != nil {
		t.Fatal(err)
	}
}

// TestLayout looks at the page at 1400, 1024 and 500 px: the streams'
// names are whole, nothing overflows sideways (an event's data of 20,000
// characters included: it scrolls in its pane), the header is whole, a
// comparison keeps its short field names on one line; on a
// 302-event stream stored in bursts the axis places events by time (not a
// solid bar), the event list follows the version (to its top at version
// 0), and the state pane's top line is never cut.
func TestLayout(t *testing.T) {
	bin := findChromium(t)
	ctx, cancel := context.WithTimeout(t.Context(), 120*time.Second)
	defer cancel()
	dir := t.TempDir()
	zone, err := time.LoadLocation(browserZone)
	if err != nil {
		t.Fatal(err)
	}
	// A seed that ends 20 days ago, then the long order after it.
	seeded, err := app.Start(ctx, app.Config{Addr: "127.0.0.1:0", Data: dir, Seed: app.SeedConfig{
		Config: seed.Config{Orders: 60, Days: 3, Rand: 5, Location: zone, End: time.Now().Add(-20 * 24 * time.Hour)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := seeded.Close(); err != nil {
		t.Fatal(err)
	}
	writeLongOrder(t, ctx, dir, "ord-long", 302, time.Now().Add(-19*24*time.Hour))
	writeWideOrder(t, ctx, dir, "ord-wide")
	a, err := app.Start(ctx, app.Config{Addr: "127.0.0.1:0", Data: dir, Seed: app.SeedConfig{Skip: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	base := strings.TrimSuffix(a.URL, "/")
	stream := "orders/ord-long/events"
	tl, _ := get[timeline](t, base+"/v1/timeline/orders/ord-long")

	b := newBrowser(t, ctx, bin)
	for _, w := range []int64{1400, 1024, 500, 375} {
		b.do("resize", chromedp.EmulateViewport(w, 800))
		openAt(b, base, fmt.Sprintf("#%s@150", stream))
		b.waitShown(stream, 150)
		b.screenshot(fmt.Sprintf("layout-%d.png", w), shotPath(fmt.Sprintf("layout-%d.png", w)))
		cut := eval[[]string](b, `Array.from(document.querySelectorAll("#stream-list .sid")).filter((e) => e.scrollWidth > e.clientWidth + 1 || e.getBoundingClientRect().right > e.closest("li").getBoundingClientRect().right + 1).map((e) => e.textContent)`)
		if len(cut) > 0 {
			t.Errorf("at %d px the sidebar cuts the names %q", w, cut)
		}
		if sw := eval[int](b, `document.documentElement.scrollWidth`); sw > int(w) {
			t.Errorf("at %d px the page is %d px wide: it overflows sideways", w, sw)
		}
		outside := eval[[]string](b, `Array.from(document.querySelectorAll(".top .name, .top .nav-link, #live, #zone-switch")).filter((e) => { const r = e.getBoundingClientRect(); return r.left < 0 || r.right > innerWidth || r.width === 0; }).map((e) => e.id || e.className)`)
		if len(outside) > 0 {
			t.Errorf("at %d px the header cuts %q", w, outside)
		}
		// The time axis's two end labels keep apart: a space between them
		// where they share a line.
		if gap := eval[float64](b, `(() => { const a = document.getElementById("axis-from").getBoundingClientRect(), z = document.getElementById("axis-to").getBoundingClientRect(); return a.bottom <= z.top || z.bottom <= a.top ? 99 : z.left - a.right; })()`); gap < 8 {
			t.Errorf("at %d px the time axis's end labels are %.0f px apart: they run together", w, gap)
		}
		// The event list shows the current event (it scrolls there after
		// the version is shown: on a loaded machine, a moment later).
		b.waitFor(fmt.Sprintf("the event list to show v150 at %d px", w), `(() => { const box = document.getElementById("events-box"), li = document.querySelector('#events li[data-version="150"]'); if (!li) return false; const r = li.getBoundingClientRect(), bx = box.getBoundingClientRect(); return r.top >= bx.top - 1 && r.bottom <= bx.bottom + 1; })()`)
		// On a narrow screen a state line's note that does not fit beside
		// its value goes under it: every note in the pane's view is
		// within the pane, and the pane does not scroll sideways (the
		// notes once went past its right edge, out of sight).
		if w <= 760 {
			openAt(b, base, "#orders/ord-00001/events")
			b.waitFor("ord-00001's state", `document.querySelector("#state-json .ln .tag") !== null`)
			eval[bool](b, `(document.querySelector(".state-card").scrollIntoView(), document.getElementById("state-json").scrollTop = 0, true)`)
			b.screenshot(fmt.Sprintf("state-notes-%d.png", w), shotPath(fmt.Sprintf("state-notes-%d.png", w)))
			// Every line laid out (a line out of view is not, and measures
			// as if it fit), then measured.
			if bad := eval[[]string](b, `(() => { const box = document.getElementById("state-json"), bx = box.getBoundingClientRect();
				for (const l of box.querySelectorAll(".ln")) l.style.contentVisibility = "visible";
				const out = Array.from(box.querySelectorAll(".ln")).filter((l) => { const t = l.querySelector(".tag"); if (!t) return false; const r = t.getBoundingClientRect(); return r.left < bx.left || r.right > bx.left + box.clientWidth + 1; }).map((l) => l.textContent);
				if (box.scrollWidth > box.clientWidth + 1) out.push("the pane scrolls sideways: " + box.scrollWidth + " px in " + box.clientWidth);
				return out; })()`); len(bad) > 0 {
				t.Errorf("at %d px a state's notes go past the pane's right edge: %q", w, bad)
			}
		}
		// An event with a line of data wider than the window: the line
		// scrolls in the event's pane, which stays beside the events
		// (it once grew past the window, its Copy button out of sight).
		openAt(b, base, "#orders/ord-wide/events@2&tab=event")
		b.waitFor("the wide event shown", `document.querySelector("#event-body .json") !== null && !document.getElementById("pane-event").hidden`)
		if sw := eval[int](b, `document.documentElement.scrollWidth`); sw > int(w) {
			t.Errorf("at %d px, with a wide event shown, the page is %d px wide: it overflows sideways", w, sw)
		}
		if out := eval[[]string](b, `(() => { const panes = document.querySelector(".panes").getBoundingClientRect();
			return Array.from(document.querySelectorAll(".state-card, .events-card, #copy-event, #download-event")).filter((e) => { const r = e.getBoundingClientRect(); return r.right > panes.right + 1 || r.right > innerWidth; }).map((e) => e.id || e.className); })()`); len(out) > 0 {
			t.Errorf("at %d px, with a wide event shown, %q stick out of the panes", w, out)
		}
		// Compared with a long value, a field's name of up to 16
		// characters stays on one line (it was squeezed to
		// "subtotalCen|ts" to give the value room).
		openAt(b, base, "#orders/ord-wide/events@2&tab=diff&from=1&to=2")
		b.waitFor("the comparison shown", `document.querySelector("#diff-body .diff-table") !== null && !document.getElementById("pane-diff").hidden`)
		if split := eval[[]string](b, `Array.from(document.querySelectorAll("#diff-body .diff-table td:first-child")).filter((td) => {
			const r = document.createRange(); r.selectNodeContents(td); return td.textContent.length <= 16 && r.getClientRects().length > 1; }).map((td) => td.textContent)`); len(split) > 0 {
			t.Errorf("at %d px the comparison breaks the field names %q", w, split)
		}
	}

	// A link to a version whose page of events the page has not loaded
	// (opened at the head) names its event's type once the page comes.
	b.do("resize", chromedp.EmulateViewport(1400, 800))
	openAt(b, base, "#"+stream)
	b.waitShown(stream, tl.Version)
	eval[string](b, fmt.Sprintf(`location.hash = "#%s@150"`, stream))
	b.waitShown(stream, 150)
	b.waitFor("the type of v150 on the point's line", fmt.Sprintf(`document.querySelector("#point .point-ev")?.textContent === %q`, tl.Events[149].Type))

	// The axis: events by time, in clusters, not one tick per version.
	b.do("resize", chromedp.EmulateViewport(1400, 800))
	openAt(b, base, fmt.Sprintf("#%s@150", stream))
	b.waitShown(stream, 150)
	b.waitFor("the axis drawn at its width", `Number(document.getElementById("axis").dataset.width) === document.getElementById("axis").clientWidth`)
	type tick struct {
		Left  float64 `json:"left"`
		First uint64  `json:"first"`
		Last  uint64  `json:"last"`
	}
	axis := eval[struct {
		Width float64 `json:"width"`
		From  float64 `json:"from"`
		To    float64 `json:"to"`
		Ticks []tick  `json:"ticks"`
	}](b, `(() => { const a = document.getElementById("axis"); return {width: a.clientWidth, from: Number(a.dataset.from), to: Number(a.dataset.to),
		ticks: Array.from(a.querySelectorAll(".tick"), (t) => ({left: parseFloat(t.style.left), first: Number(t.dataset.first), last: Number(t.dataset.last)}))}; })()`)
	if len(axis.Ticks) == 0 || axis.Width < 100 {
		t.Fatalf("the axis: %+v", axis)
	}
	if occupied := float64(len(axis.Ticks)*3) / axis.Width; occupied > 0.5 {
		t.Errorf("the axis's ticks cover %.0f%% of it: a solid bar, not events in time", occupied*100)
	}
	for _, e := range tl.Events {
		at, _ := time.Parse(time.RFC3339Nano, e.StoredAt)
		want := (float64(at.UnixMilli()) - axis.From) / (axis.To - axis.From) * (axis.Width - 1)
		found := false
		for _, tk := range axis.Ticks {
			if tk.First <= e.Version && e.Version <= tk.Last {
				found = true
				if want < tk.Left-1 || want > tk.Left+4 {
					t.Fatalf("v%d, stored at %s, sits at %.0f px on the axis; its time is at %.0f px", e.Version, e.StoredAt, tk.Left, want)
				}
			}
		}
		if !found {
			t.Fatalf("v%d is not on the axis", e.Version)
		}
	}
	// Zooming in shows a shorter span.
	span := axis.To - axis.From
	b.do("zoom in", chromedp.Click(chromedp.CSS("#zoom-in")))
	if got := eval[float64](b, `Number(document.getElementById("axis").dataset.to) - Number(document.getElementById("axis").dataset.from)`); got > span*0.6 {
		t.Errorf("after zooming in, the axis spans %.0f ms; it spanned %.0f", got, span)
	}
	b.do("show all", chromedp.Click(chromedp.CSS("#zoom-fit")))

	// Version 0 brings the list to its top (once the slider is still: the
	// list follows a step after 150 ms).
	b.do("focus the slider", chromedp.Focus(chromedp.CSS("#slider")))
	b.do("press Home", chromedp.KeyEvent(kb.Home))
	b.waitShown(stream, 0)
	b.waitFor("the event list at its top at version 0", `document.getElementById("events-box").scrollTop === 0`)

	// The state pane scrolls to what changed with a whole line at its top.
	b.do("resize", chromedp.EmulateViewport(1024, 600))
	for _, v := range []uint64{40, 41, 80, 301} {
		eval[string](b, fmt.Sprintf(`location.hash = "#%s@%d"`, stream, v))
		b.waitShown(stream, v)
		if off := eval[float64](b, `(() => { const box = document.getElementById("state-json"); if (box.scrollTop === 0) return 0;
			let best = 1e9; for (const ln of box.children) best = Math.min(best, Math.abs(ln.offsetTop - box.scrollTop)); return best; })()`); off > 0.5 {
			t.Errorf("at version %d the state pane's top line is cut (%.1f px of it above the pane)", v, off)
		}
	}
	b.screenshot("state-1024x600.png", shotPath("state-1024x600.png"))
	if p := b.console(); strings.Contains(p, "Uncaught") || strings.Contains(p, "Content Security Policy") {
		t.Errorf("the page reported problems:%s", p)
	}
}

func shotPath(name string) string {
	if *shots == "" {
		return ""
	}
	if err := os.MkdirAll(*shots, 0o755); err != nil {
		return ""
	}
	return filepath.Join(*shots, name)
}

// restartOn starts the example again on addr with the data in dir, once
// the port the stopped server held is free again.
func restartOn(t *testing.T, ctx context.Context, addr, dir string) *app.App {
	t.Helper()
	for range 50 {
		a, err := app.Start(ctx, app.Config{Addr: addr, Data: dir, Seed: app.SeedConfig{Skip: true}})
		if err == nil {
			return a
		}
		if !strings.Contains(err.Error(), "address already in use") {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("could not restart the server on " + addr)
	return nil
}
