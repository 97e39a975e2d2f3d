package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rewindhq/rewind/examples/orders/app"
	"github.com/rewindhq/rewind/examples/orders/seed"
)

// TestSliderStepMovesNoKeptNode: a step of the slider redraws the state's
// lines and the list's rows that changed and leaves the others where they
// are. A node moved (taken out and put back) is styled and laid out again
// with all its text, as a new one is: a step that moved every line after
// the first changed one cost the page a layout of the whole state.
func TestSliderStepMovesNoKeptNode(t *testing.T) {
	bin := findChromium(t)
	ctx, cancel := context.WithTimeout(t.Context(), 120*time.Second)
	defer cancel()
	dir := t.TempDir()
	zone, err := time.LoadLocation(browserZone)
	if err != nil {
		t.Fatal(err)
	}
	seeded, err := app.Start(ctx, app.Config{Addr: "127.0.0.1:0", Data: dir, Seed: app.SeedConfig{
		Config: seed.Config{Orders: 10, Days: 3, Rand: 5, Location: zone, End: time.Now().Add(-20 * 24 * time.Hour)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := seeded.Close(); err != nil {
		t.Fatal(err)
	}
	const long = 400
	writeLongOrder(t, ctx, dir, "ord-long", long, time.Now().Add(-19*24*time.Hour))
	a, err := app.Start(ctx, app.Config{Addr: "127.0.0.1:0", Data: dir, Seed: app.SeedConfig{Skip: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	base := strings.TrimSuffix(a.URL, "/")
	stream := "orders/ord-long/events"

	b := newBrowser(t, ctx, bin)
	openAt(b, base, fmt.Sprintf("#%s@%d", stream, long/2))
	b.waitShown(stream, long/2)
	b.waitFor("the rows around the point", `!document.querySelector("#events li.pending")`)

	// Watch the state's lines and the list's rows through a step back of
	// one event (a few lines change), then forward by 20 and back by 40
	// (more lines change, and the list scrolls down, then up, to the point
	// once the slider is still). A node moved is one taken out and put
	// back: the page never puts back a node it removed otherwise.
	type moves struct {
		Moved, Kept, Added int
	}
	total := map[string]moves{}
	var v uint64
	for _, v = range []uint64{long/2 - 1, long/2 - 1 + 20, long/2 - 1 - 20} {
		eval[bool](b, fmt.Sprintf(`(() => {
			const ids = ["state-json", "events"];
			window.before = {};
			window.moves = {};
			for (const id of ids) {
				window.before[id] = [...document.getElementById(id).children];
				window.moves[id] = { added: new Set(), removed: new Set() };
			}
			window.watch = new MutationObserver((records) => {
				for (const r of records) {
					r.addedNodes.forEach((n) => window.moves[r.target.id].added.add(n));
					r.removedNodes.forEach((n) => window.moves[r.target.id].removed.add(n));
				}
			});
			for (const id of ids) window.watch.observe(document.getElementById(id), { childList: true });
			const s = document.getElementById("slider");
			s.value = "%d";
			s.dispatchEvent(new Event("input"));
			return true;
		})()`, v))
		b.waitShown(stream, v)
		b.waitFor("the list at the point", fmt.Sprintf(`(() => { const box = document.getElementById("events-box"), li = document.querySelector('#events li[data-version="%d"]');
			return !!li && li.offsetTop >= box.scrollTop && li.offsetTop + li.offsetHeight <= box.scrollTop + box.clientHeight && !document.querySelector("#events li.pending"); })()`, v))
		got := eval[map[string]moves](b, `(() => {
			window.watch.disconnect();
			const out = {};
			for (const id of ["state-json", "events"]) {
				const m = window.moves[id], now = new Set(document.getElementById(id).children);
				// Taken out and put back: a node there before the step or
				// after it (not one drawn and replaced within the step).
				const was = new Set(window.before[id]);
				out[id] = {
					Moved: [...m.added].filter((n) => m.removed.has(n) && (was.has(n) || now.has(n))).length,
					Kept: window.before[id].filter((n) => now.has(n)).length,
					Added: m.added.size,
				};
			}
			return out;
		})()`)
		for id, m := range got {
			t.Logf("to v%d, #%s: %d kept, %d added, %d moved", v, id, m.Kept, m.Added, m.Moved)
			sum := total[id]
			sum.Moved += m.Moved
			sum.Kept += m.Kept
			sum.Added += m.Added
			total[id] = sum
		}
	}
	for _, id := range []string{"state-json", "events"} {
		m := total[id]
		if m.Kept == 0 {
			t.Errorf("#%s kept none of its nodes through the steps: the test proves nothing", id)
		}
		if m.Moved != 0 {
			t.Errorf("#%s: %d nodes kept through the steps were taken out and put back (%d kept, %d added)", id, m.Moved, m.Kept, m.Added)
		}
	}
	want, _ := get[state](t, fmt.Sprintf("%s/v1/state/orders/ord-long?version=%d", base, v))
	var ind bytes.Buffer
	if err := json.Indent(&ind, want.State, "", "  "); err != nil {
		t.Fatal(err)
	}
	if shown := eval[string](b, shownState); shown != ind.String() {
		t.Errorf("after the steps the page shows\n%s\nbut GET /v1/state?version=%d answers\n%s", shown, v, ind.String())
	}
}
