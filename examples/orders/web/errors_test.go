package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestErrorsSaidWhole: every error box says its message and, when it has
// one, its button, and nothing else (a missing button once ended a box
// with the text "null", as did a comparison with no event between); a
// stream that could not be loaded is still said, with its Try again, after
// a visit to another view, and the address names it without the point of
// the stream shown before.
func TestErrorsSaidWhole(t *testing.T) {
	bin := findChromium(t)
	ctx, cancel := context.WithTimeout(t.Context(), 120*time.Second)
	defer cancel()
	dir := t.TempDir()
	a := startSeeded(t, ctx, dir, 40)
	base := strings.TrimSuffix(a.URL, "/")
	addr := strings.TrimPrefix(base, "http://")
	id, _ := pickOrder(t, base)
	stream := "orders/" + id + "/events"
	streams, _ := get[struct {
		Streams []struct {
			Name string `json:"name"`
		} `json:"streams"`
	}](t, base+"/v1/streams?category=orders")
	other := ""
	for _, s := range streams.Streams {
		if s.Name != stream {
			other = s.Name
			break
		}
	}

	b := newBrowser(t, ctx, bin)
	noNull := func(what, sel string) {
		t.Helper()
		b.waitFor(what, fmt.Sprintf(`document.querySelector(%q)?.hidden === false && document.querySelector(%q).textContent !== ""`, sel, sel))
		if text := eval[string](b, fmt.Sprintf(`document.querySelector(%q).textContent`, sel)); strings.Contains(text, "null") || strings.Contains(text, "undefined") {
			t.Errorf("%s says %q", what, text)
		}
	}

	// A comparison of points that are neither versions nor times.
	openAt(b, base, fmt.Sprintf("#%s@2&tab=diff&from=zz&to=%%ZZ", stream))
	noNull("the comparison's error", "#diff-error")
	// A comparison with nothing between.
	eval[string](b, fmt.Sprintf(`location.hash = %q`, fmt.Sprintf("#%s@2&tab=diff&from=2&to=2", stream)))
	b.waitFor("the empty comparison", `document.getElementById("pane-diff").dataset.from === "2" && document.getElementById("pane-diff").dataset.to === "2" && document.getElementById("diff-body").textContent !== ""`)
	if text := eval[string](b, `document.getElementById("diff-body").textContent`); text != "No field differs." {
		t.Errorf("a comparison of version 2 with itself says %q", text)
	}

	// Searches the server refuses.
	for _, c := range []struct{ kind, field, q string }{{"field", "no such..field[[", "x"}, {"eventId", "", "not-a-uuid"}} {
		b.do("open the search", chromedp.Click(chromedp.CSS("#nav-search")))
		b.do("search "+c.q, chromedp.SetValue(chromedp.CSS("#search-kind"), c.kind))
		eval[bool](b, `document.getElementById("search-kind").dispatchEvent(new Event("change"))`)
		if c.field != "" {
			b.do("the field", chromedp.SetValue(chromedp.CSS("#search-field"), c.field))
		}
		b.do("search", chromedp.SetValue(chromedp.CSS("#search-q"), c.q), chromedp.Click(chromedp.CSS("#search-form button")))
		noNull("the search's error for "+c.kind, "#search-error")
	}

	// With the server gone, a stream that cannot be loaded, then the
	// projections (which cannot be listed), then the streams again.
	openAt(b, base, fmt.Sprintf("#%s@2", stream))
	b.waitShown(stream, 2)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	eval[string](b, fmt.Sprintf(`location.hash = %q`, "#"+other))
	b.waitFor("the stream's problem", `document.getElementById("problem").hidden === false && !document.getElementById("problem-retry").hidden`)
	b.do("open the projections", chromedp.Click(chromedp.CSS("#nav-projections")))
	noNull("the projections' error", "#projections-error")
	b.do("back to the streams", chromedp.Click(chromedp.CSS("#nav-streams")))
	b.waitFor("the stream's problem again", `document.getElementById("problem").hidden === false && !document.getElementById("problem-retry").hidden && document.getElementById("view").hidden`)
	if title := eval[string](b, `document.getElementById("problem-title").textContent`); !strings.Contains(title, other) {
		t.Errorf("back on the streams, the problem says %q; want the stream %s", title, other)
	}
	if h := eval[string](b, `location.hash`); h != "#"+other {
		t.Errorf("back on the streams the address is %q, want #%s", h, other)
	}

	restarted := restartOn(t, ctx, addr, dir)
	defer restarted.Close()
	b.do("try again", chromedp.Click(chromedp.CSS("#problem-retry")))
	otherTL, _ := get[timeline](t, base+"/v1/timeline/"+strings.TrimSuffix(other, "/events"))
	b.waitShown(other, otherTL.Version)
	if p := b.console(); strings.Contains(p, "Uncaught") {
		t.Errorf("the page threw:%s", p)
	}
}
