package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// addItem sends an AddItem command to order id and wants it stored.
func addItem(t *testing.T, ctx context.Context, base, id, key string) {
	t.Helper()
	body := `{"type": "AddItem", "sku": "mug-` + key + `", "name": "Mug", "quantity": 1, "unitPriceCents": 900}`
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/commands/orders/"+id, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST AddItem: %s %s", resp.Status, answer)
	}
}

// TestNewEventsInThePast: ‹ and › are disabled where they have nowhere
// to go; an event that arrives while the page shows an older version
// changes the point's total ("of N") and, when the axis showed the whole
// stream, extends the axis to it; an axis zoomed into keeps its window;
// the toast that tells of it covers nothing of the stream's view.
func TestNewEventsInThePast(t *testing.T) {
	p := openOrderPage(t, 120*time.Second)
	ctx, base, id, tl, stream, b := p.ctx, p.base, p.id, p.tl, p.stream, p.b
	head := tl.Version

	steppers := func(at uint64, prev, next bool) {
		t.Helper()
		eval[string](b, fmt.Sprintf(`location.hash = "#%s@%d"`, stream, at))
		b.waitShown(stream, at)
		got := eval[[]bool](b, `[document.getElementById("prev").disabled, document.getElementById("next").disabled]`)
		if got[0] != prev || got[1] != next {
			t.Errorf("at version %d of %d, ‹ and › are disabled: %v; want %v", at, head, got, []bool{prev, next})
		}
	}
	openAt(b, base, fmt.Sprintf("#%s@%d", stream, head))
	b.waitShown(stream, head)
	steppers(head, false, true)
	steppers(0, true, false)
	steppers(2, false, false)
	b.waitFor("the live follow", `document.getElementById("live").dataset.state === "live"`)

	// The axis shows the whole stream: it grows to a new event.
	addItem(t, ctx, base, id, "past-1")
	b.waitFor("the new event in the list", fmt.Sprintf(`!!document.querySelector('#events li[data-version="%d"]:not(.pending)')`, head+1))
	b.waitFor("the toast", `document.getElementById("toast").hidden === false`)
	tl1, _ := get[timeline](t, base+"/v1/timeline/orders/"+id)
	added, _ := time.Parse(time.RFC3339Nano, tl1.Events[head].StoredAt)
	b.waitFor("the point's new total", fmt.Sprintf(`document.getElementById("point").textContent.includes("Version 2 of %d")`, head+1))
	if to := eval[float64](b, `Number(document.getElementById("axis").dataset.to)`); to < float64(added.UnixMilli()) {
		t.Errorf("the axis ends at %s, before the new event (%s)", time.UnixMilli(int64(to)).UTC(), added)
	}
	if n := eval[int](b, fmt.Sprintf(`document.querySelectorAll('#axis .tick[data-last="%d"]').length`, head+1)); n != 1 {
		t.Errorf("the new event v%d is on the axis %d times, want once", head+1, n)
	}
	if next := eval[bool](b, `document.getElementById("next").disabled`); next {
		t.Errorf("at version 2 of %d, › is disabled", head+1)
	}
	// The toast covers nothing of the stream's view.
	if over := eval[string](b, `(() => {
		const r = document.getElementById("toast").getBoundingClientRect();
		const out = [];
		for (const id of ["stream-name", "stream-meta", "copy-link", "axis", "point", "slider", "events-box", "pane-state"]) {
			const o = document.getElementById(id).getBoundingClientRect();
			if (r.left < o.right && o.left < r.right && r.top < o.bottom && o.top < r.bottom) out.push(id);
		}
		return out.join(", ");
	})()`); over != "" {
		t.Errorf("the toast covers %s", over)
	}
	b.screenshot("new-event-in-the-past.png", shotPath("new-event-in-the-past.png"))

	// Zoomed into: the window stays.
	b.do("zoom in", chromedp.Click(chromedp.CSS("#zoom-in")))
	window := eval[string](b, `document.getElementById("axis").dataset.from + "–" + document.getElementById("axis").dataset.to`)
	addItem(t, ctx, base, id, "past-2")
	b.waitFor("the second new event", fmt.Sprintf(`document.getElementById("point").textContent.includes("Version 2 of %d")`, head+2))
	if got := eval[string](b, `document.getElementById("axis").dataset.from + "–" + document.getElementById("axis").dataset.to`); got != window {
		t.Errorf("the axis zoomed into showed %s; after a new event it shows %s", window, got)
	}
	if p := b.console(); strings.Contains(p, "Uncaught") {
		t.Errorf("the page threw:%s", p)
	}
}
