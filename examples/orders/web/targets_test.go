package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/rewindhq/rewind/examples/orders/app"
	"github.com/rewindhq/rewind/examples/orders/seed"
)

// TestPageTargets measures, in headless Chromium, the targets: the
// first paint of a picked 5-event stream and of a 10,000-event one (from
// the click to the state drawn), and a step of the slider on the
// 10,000-event stream (from the input to the state drawn). It logs the
// figures (BENCHMARKS.md has them) and fails on none: a loaded machine is
// no place for a timing assertion. It checks what the page shows.
func TestPageTargets(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the 10,000-event stream takes a while to write")
	}
	bin := findChromium(t)
	ctx, cancel := context.WithTimeout(t.Context(), 400*time.Second)
	defer cancel()
	dir := t.TempDir()
	zone, err := time.LoadLocation(browserZone)
	if err != nil {
		t.Fatal(err)
	}
	seeded, err := app.Start(ctx, app.Config{Addr: "127.0.0.1:0", Data: dir, Seed: app.SeedConfig{
		Config: seed.Config{Orders: 100, Days: 3, Rand: 3, Location: zone, End: time.Now().Add(-20 * 24 * time.Hour)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := seeded.Close(); err != nil {
		t.Fatal(err)
	}
	const long = 10_000
	began := time.Now()
	writeLongOrder(t, ctx, dir, "ord-long", long, time.Now().Add(-19*24*time.Hour))
	t.Logf("wrote the %d-event stream in %v", long, time.Since(began).Round(time.Millisecond))
	a, err := app.Start(ctx, app.Config{Addr: "127.0.0.1:0", Data: dir, Seed: app.SeedConfig{Skip: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	base := strings.TrimSuffix(a.URL, "/")
	streams, _ := get[struct {
		Streams []struct {
			Name    string `json:"name"`
			Version uint64 `json:"version"`
		} `json:"streams"`
	}](t, base+"/v1/streams?category=orders")
	var short []string
	for _, s := range streams.Streams {
		if s.Version == 5 {
			short = append(short, s.Name)
		}
	}
	if len(short) < 2 {
		t.Fatalf("the seed has %d streams of 5 events, want 2", len(short))
	}
	longStream := "orders/ord-long/events"
	for _, path := range []string{"/v1/timeline/orders/ord-long", "/v1/state/orders/ord-long?version=5000"} {
		began := time.Now()
		_, body := get[json.RawMessage](t, base+path)
		t.Logf("GET %s: %d bytes in %v", path, len(body), time.Since(began).Round(time.Millisecond))
	}

	b := newBrowser(t, ctx, bin)
	b.do("size", chromedp.EmulateViewport(1400, 800))
	openAt(b, base, "")
	b.waitFor("the list", fmt.Sprintf(`!!document.querySelector('#stream-list li[data-stream=%q]')`, longStream))
	// pick clicks a stream in the list and answers the milliseconds until
	// its state at the head is drawn (the next frame after it).
	pick := func(name string, head uint64) float64 {
		t.Helper()
		ms, err := chromedp.Run(b.ctx, chromedp.Evaluate[float64](fmt.Sprintf(`new Promise((resolve) => {
			const li = document.querySelector('#stream-list li[data-stream=%q]');
			const t0 = performance.now();
			li.click();
			const check = () => {
				const v = document.getElementById("view");
				if (document.getElementById("stream-name").textContent === %q && v.dataset.version === "%d" && !v.dataset.loading &&
					document.querySelectorAll("#state-json .code").length > 0) requestAnimationFrame(() => resolve(performance.now() - t0));
				else requestAnimationFrame(check);
			};
			check();
		})`, name, name, head), chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("pick %s: %v%s", name, err, b.console())
		}
		return ms
	}
	var small, big []float64
	for i := range 5 {
		small = append(small, pick(short[i%len(short)], 5))
		big = append(big, pick(longStream, long))
	}
	// Steps of the slider through versions not seen yet.
	var steps []float64
	for i := range 20 {
		v := long - 1 - uint64(i)*37
		ms, err := chromedp.Run(b.ctx, chromedp.Evaluate[float64](fmt.Sprintf(`new Promise((resolve) => {
			const s = document.getElementById("slider");
			const t0 = performance.now();
			s.value = "%d";
			s.dispatchEvent(new Event("input"));
			const check = () => {
				const v = document.getElementById("view");
				if (v.dataset.version === "%d" && !v.dataset.loading) requestAnimationFrame(() => resolve(performance.now() - t0));
				else requestAnimationFrame(check);
			};
			check();
		})`, v, v), chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("step to %d: %v%s", v, err, b.console())
		}
		steps = append(steps, ms)
		// The state's caption names its version, whether or not the
		// event's page of the list has arrived.
		if at := eval[string](b, `document.getElementById("state-at").textContent`); !strings.HasPrefix(at, fmt.Sprintf("after v%d ", v)) {
			t.Errorf("at version %d the state's caption reads %q", v, at)
		}
	}
	want, _ := get[state](t, base+"/v1/state/orders/ord-long?version="+fmt.Sprint(long-1-19*37))
	if got := eval[string](b, `document.getElementById("view").dataset.version`); got != fmt.Sprint(want.Version) {
		t.Errorf("after the steps the page shows version %s, want %d", got, want.Version)
	}
	var ind bytes.Buffer
	if err := json.Indent(&ind, want.State, "", "  "); err != nil {
		t.Fatal(err)
	}
	if got := eval[string](b, shownState); got != ind.String() {
		t.Errorf("after the steps the page shows\n%s\nbut GET /v1/state answers\n%s", got, ind.String())
	}
	// The list loads the pages it scrolls to: the middle of the stream.
	eval[bool](b, fmt.Sprintf(`(document.getElementById("events-box").scrollTop = %d * 46, true)`, long/2))
	b.waitFor("the middle of the list", fmt.Sprintf(`!!document.querySelector('#events li[data-version="%d"] .ev-type') && !document.querySelector("#events li.pending")`, long/2))
	tl, _ := get[timeline](t, fmt.Sprintf("%s/v1/timeline/orders/ord-long?from=%d&limit=1", base, long/2))
	if got := eval[string](b, fmt.Sprintf(`document.querySelector('#events li[data-version="%d"] .ev-type').textContent`, long/2)); len(tl.Events) != 1 || got != tl.Events[0].Type {
		t.Errorf("v%d in the list is %q; the timeline says %+v", long/2, got, tl.Events)
	}
	// Where the time goes: the server's answers, as the browser timed them.
	for _, what := range []string{"/v1/timeline/orders/ord-long?from=", "/v1/state/orders/ord-long?version=", "/v1/state/orders/ord-0"} {
		ms := eval[[]float64](b, fmt.Sprintf(`performance.getEntriesByType("resource").filter((e) => e.name.includes(%q)).map((e) => e.duration)`, what))
		if len(ms) > 0 {
			t.Logf("requests %s…: %d, median %.0f ms, max %.0f ms", what, len(ms), median(ms), maxOf(ms))
		}
	}
	t.Logf("first paint of a picked 5-event stream: median %.0f ms (%s)", median(small), msList(small))
	t.Logf("first paint of the picked %d-event stream: median %.0f ms (%s)", long, median(big), msList(big))
	over := 0
	for _, ms := range steps {
		if ms > 50 {
			over++
		}
	}
	t.Logf("a slider step on the %d-event stream: median %.0f ms, max %.0f ms, %d of %d steps over 50 ms (%s)",
		long, median(steps), maxOf(steps), over, len(steps), msList(steps))
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	slices.Sort(s)
	return s[len(s)/2]
}

func maxOf(xs []float64) float64 { return slices.Max(xs) }

func msList(xs []float64) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprintf("%.0f", x)
	}
	return strings.Join(parts, ", ") + " ms"
}
