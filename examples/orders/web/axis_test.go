package web_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestAxisClickGoesToTheNearestEvent: a click on the time axis goes to
// the event nearest the time clicked and leaves the axis's window as it
// was (the wheel, + and − zoom), as the README says.
func TestAxisClickGoesToTheNearestEvent(t *testing.T) {
	readme, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if text := strings.Join(strings.Fields(string(readme)), " "); !strings.Contains(text, "click the time axis (a click goes to the nearest event; the wheel, the + and − buttons or keys zoom it)") {
		t.Errorf("the README does not say what a click on the time axis does: it goes to the nearest event; the wheel, + and − zoom")
	}

	bin := findChromium(t)
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	a := startSeeded(t, ctx, t.TempDir(), 40)
	base := strings.TrimSuffix(a.URL, "/")
	id, tl := pickOrder(t, base)
	stream := "orders/" + id + "/events"

	b := newBrowser(t, ctx, bin)
	openAt(b, base, fmt.Sprintf("#%s@%d", stream, tl.Version))
	b.waitShown(stream, tl.Version)
	window := `document.getElementById("axis").dataset.from + "–" + document.getElementById("axis").dataset.to`
	before := eval[string](b, window)
	last := eval[int](b, `Number(document.querySelector('#axis .tick[data-first="1"]').dataset.last)`)
	b.do("click the first events on the axis", chromedp.Click(chromedp.CSS(`#axis .tick[data-first="1"]`)))
	b.waitFor("a version of the column clicked", fmt.Sprintf(`Number(document.getElementById("point").dataset.version) >= 1 && Number(document.getElementById("point").dataset.version) <= %d`, last))
	if after := eval[string](b, window); after != before {
		t.Errorf("a click on the axis changed its window from %s to %s", before, after)
	}
}
