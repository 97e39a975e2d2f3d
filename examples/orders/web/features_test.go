package web_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// capture makes the page's copies and downloads land in window.__copied
// and window.__saved (the text of the last Blob made into a URL) instead
// of the clipboard and the disk.
const capture = `(() => {
	navigator.clipboard.writeText = (t) => { window.__copied = t; return Promise.resolve(); };
	const make = URL.createObjectURL;
	URL.createObjectURL = (b) => { b.text().then((t) => { window.__saved = t; }); return make(b); };
	return true;
})()`

// TestPageTools: the compare tab agrees with /v1/diff and goes into the
// address; the event tab gives the event's offset and time; the state's
// copy and download are the JSON shown; the link has the point and no
// token; the UTC switch shows store times in UTC; export downloads a Go
// test; the command form, built from the command's schema, stores an
// event the page then shows; the projections view lists the read models
// and rebuilds one to the end.
func TestPageTools(t *testing.T) {
	p := openOrderPage(t, 150*time.Second)
	base, id, tl, stream, b := p.base, p.id, p.tl, p.stream, p.b
	head := tl.Version

	b.do("size", chromedp.EmulateViewport(1024, 700))
	openAt(b, base, fmt.Sprintf("#%s@%d", stream, head))
	b.waitShown(stream, head)
	eval[bool](b, capture)

	// Compare: by default the event before with this one.
	b.do("open the compare tab", chromedp.Click(chromedp.CSS("#tab-diff")))
	checkDiff := func(from, to uint64) {
		t.Helper()
		b.waitFor("the comparison", fmt.Sprintf(`document.getElementById("pane-diff").dataset.from === "%d" && document.getElementById("pane-diff").dataset.to === "%d"`, from, to))
		var d struct {
			Changes []change `json:"changes"`
			Events  []event  `json:"events"`
		}
		d, _ = get[struct {
			Changes []change `json:"changes"`
			Events  []event  `json:"events"`
		}](t, fmt.Sprintf("%s/v1/diff/orders/%s?from=%d&to=%d", base, id, from, to))
		paths := eval[[]string](b, `Array.from(document.querySelectorAll(".diff-table tbody tr"), (r) => r.dataset.path)`)
		if len(paths) != len(d.Changes) {
			t.Fatalf("from %d to %d the page lists the fields %q; /v1/diff has %d changes", from, to, paths, len(d.Changes))
		}
		for i, c := range d.Changes {
			if paths[i] != c.Path {
				t.Errorf("change %d: the page says %q, /v1/diff %q", i, paths[i], c.Path)
			}
		}
		if n := eval[int](b, `document.querySelectorAll(".diff-events li").length`); n != len(d.Events) {
			t.Errorf("from %d to %d the page lists %d events between; /v1/diff %d", from, to, n, len(d.Events))
		}
	}
	checkDiff(head-1, head)
	b.do("compare from 1", chromedp.SetValue(chromedp.CSS("#diff-from"), "1"), chromedp.Click(chromedp.CSS("#diff-form button")))
	checkDiff(1, head)
	b.screenshot("compare.png", shotPath("compare.png"))
	if h := eval[string](b, `location.hash`); h != fmt.Sprintf("#%s@%d&tab=diff&from=1&to=%d", stream, head, head) {
		t.Errorf("the compare view's address is %q", h)
	}
	// The address alone opens it again.
	openAt(b, base, fmt.Sprintf("#%s@%d&tab=diff&from=0&to=2", stream, head))
	checkDiff(0, 2)
	eval[bool](b, capture)

	// The event tab.
	b.do("open the event tab", chromedp.Click(chromedp.CSS("#tab-event")))
	last := tl.Events[head-1]
	b.waitFor("the event's details", fmt.Sprintf(`document.getElementById("event-body").textContent.includes(%q)`, last.Offset))
	b.screenshot("event.png", shotPath("event.png"))
	if text := eval[string](b, `document.getElementById("event-body").textContent`); !strings.Contains(text, last.StoredAt) || !strings.Contains(text, last.Type) {
		t.Errorf("the event pane of v%d says %q; want its type %s and its store time %s", head, text, last.Type, last.StoredAt)
	}
	b.do("copy the event", chromedp.Click(chromedp.CSS("#copy-event")))
	b.waitFor("the event copied", `typeof window.__copied === "string"`)
	var copied map[string]any
	if err := json.Unmarshal([]byte(eval[string](b, `window.__copied`)), &copied); err != nil || copied["offset"] != last.Offset {
		t.Errorf("the event copied: %v %v", copied, err)
	}

	// The state's copy and download are the state shown, as JSON.
	b.do("open the state tab", chromedp.Click(chromedp.CSS("#tab-state")))
	want, _ := get[state](t, fmt.Sprintf("%s/v1/state/orders/%s?version=%d", base, id, head))
	var ind bytes.Buffer
	if err := json.Indent(&ind, want.State, "", "  "); err != nil {
		t.Fatal(err)
	}
	eval[bool](b, `(window.__copied = null, window.__saved = null, true)`)
	b.do("copy the state", chromedp.Click(chromedp.CSS("#copy-state")))
	b.waitFor("the state copied", `typeof window.__copied === "string"`)
	if got := eval[string](b, `window.__copied`); got != ind.String() {
		t.Errorf("the state copied is\n%s\nwant\n%s", got, ind.String())
	}
	b.do("download the state", chromedp.Click(chromedp.CSS("#download-state")))
	b.waitFor("the state saved", `typeof window.__saved === "string"`)
	if got := eval[string](b, `window.__saved`); got != ind.String()+"\n" {
		t.Errorf("the state downloaded is\n%s\nwant\n%s", got, ind.String())
	}

	// The link names the point, never a token.
	eval[bool](b, `(sessionStorage.setItem("rewind.token", "secret-token"), window.__copied = null, true)`)
	b.do("copy the link", chromedp.Click(chromedp.CSS("#copy-link")))
	b.waitFor("the link copied", `typeof window.__copied === "string"`)
	if got := eval[string](b, `window.__copied`); got != fmt.Sprintf("%s/#%s@%d", base, stream, head) {
		t.Errorf("the link copied is %q", got)
	}
	eval[bool](b, `(sessionStorage.removeItem("rewind.token"), true)`)

	// UTC and back.
	b.do("switch to UTC", chromedp.Click(chromedp.CSS("#zone-switch")))
	b.waitFor("times in UTC", `document.getElementById("zone").textContent === "UTC"`)
	at, _ := time.Parse(time.RFC3339Nano, last.StoredAt)
	if got := eval[string](b, `document.getElementById("time").value`); got != at.UTC().Format("2006-01-02T15:04:05") {
		t.Errorf("in UTC the time picker holds %q, want %s", got, at.UTC().Format("2006-01-02T15:04:05"))
	}
	if got := eval[string](b, `document.getElementById("point").textContent`); !strings.Contains(got, "UTC") {
		t.Errorf("in UTC the point says %q", got)
	}
	// The comparison drawn before the switch follows it too.
	inUTC := func(what, sel string) {
		t.Helper()
		got := eval[[]string](b, `Array.from(document.querySelectorAll(`+jsString(sel)+`), (e) => e.textContent)`)
		if len(got) == 0 {
			t.Errorf("no %s to see (%s)", what, sel)
		}
		for _, s := range got {
			if !strings.HasSuffix(s, "UTC") {
				t.Errorf("in UTC %s says %q", what, s)
			}
		}
	}
	inUTC("the comparison's events in between", ".diff-events li .muted")
	b.do("switch back", chromedp.Click(chromedp.CSS("#zone-switch")))
	b.waitFor("local times", `document.getElementById("zone").textContent !== "UTC"`)

	// Export as a test.
	eval[bool](b, `(window.__saved = null, true)`)
	b.do("export", chromedp.Click(chromedp.CSS("#export-test")))
	b.waitFor("the test file", `typeof window.__saved === "string"`)
	if got := eval[string](b, `window.__saved`); !strings.Contains(got, "package ") || !strings.Contains(got, "func Test") {
		t.Errorf("the export is not a Go test:\n%s", got)
	}

	// A command from the form built from AddItem's schema.
	b.do("open the command form", chromedp.Click(chromedp.CSS("#run-command")))
	b.do("pick AddItem", chromedp.SetValue(chromedp.CSS("#command-type"), "AddItem"))
	eval[bool](b, `document.getElementById("command-type").dispatchEvent(new Event("change"))`)
	b.waitFor("the form's fields", `!!document.querySelector('#command-fields [data-field="quantity"]')`)
	b.screenshot("command.png", shotPath("command.png"))
	b.do("fill the form",
		chromedp.SetValue(chromedp.CSS(`#command-fields [data-field="sku"]`), "mug-form"),
		chromedp.SetValue(chromedp.CSS(`#command-fields [data-field="name"]`), "Form mug"),
		chromedp.SetValue(chromedp.CSS(`#command-fields [data-field="quantity"]`), "3"),
		chromedp.SetValue(chromedp.CSS(`#command-fields [data-field="unitPriceCents"]`), "1200"),
		chromedp.Click(chromedp.CSS("#command-send")))
	b.waitFor("the command's answer", `document.getElementById("command-result").dataset.kind === "ok"`)
	if got := eval[string](b, `document.getElementById("command-result").textContent`); got != fmt.Sprintf("Stored v%d ItemAdded.", head+1) {
		t.Errorf("the command form says %q", got)
	}
	b.do("close the form", chromedp.Click(chromedp.CSS("#command-cancel")))
	b.waitFor("the new event", fmt.Sprintf(`!!document.querySelector('#events li[data-version="%d"]')`, head+1))
	// A refusal is said, and stores nothing.
	b.do("open the command form", chromedp.Click(chromedp.CSS("#run-command")))
	b.do("pick AddItem", chromedp.SetValue(chromedp.CSS("#command-type"), "AddItem"))
	eval[bool](b, `document.getElementById("command-type").dispatchEvent(new Event("change"))`)
	b.do("send a bad quantity",
		chromedp.SetValue(chromedp.CSS(`#command-fields [data-field="sku"]`), "mug-form"),
		chromedp.SetValue(chromedp.CSS(`#command-fields [data-field="name"]`), "Form mug"),
		chromedp.SetValue(chromedp.CSS(`#command-fields [data-field="quantity"]`), "5000"),
		chromedp.SetValue(chromedp.CSS(`#command-fields [data-field="unitPriceCents"]`), "1200"))
	eval[bool](b, `(document.querySelector('#command-fields [data-field="quantity"]').removeAttribute("max"), true)`)
	b.do("send", chromedp.Click(chromedp.CSS("#command-send")))
	b.waitFor("the refusal", `document.getElementById("command-result").dataset.kind === "error"`)
	b.do("close the form", chromedp.Click(chromedp.CSS("#command-cancel")))

	// Search a category by event id, and jump to the event found.
	var withID struct {
		Events []struct {
			ID      string `json:"id"`
			Version uint64 `json:"version"`
		} `json:"events"`
	}
	withID, _ = get[struct {
		Events []struct {
			ID      string `json:"id"`
			Version uint64 `json:"version"`
		} `json:"events"`
	}](t, fmt.Sprintf("%s/v1/timeline/orders/%s", base, id))
	target := withID.Events[1]
	b.do("open the search", chromedp.Click(chromedp.CSS("#nav-search")))
	b.do("search an event id", chromedp.SetValue(chromedp.CSS("#search-kind"), "eventId"),
		chromedp.SetValue(chromedp.CSS("#search-q"), target.ID), chromedp.Click(chromedp.CSS("#search-form button")))
	b.waitFor("the search's end", `document.getElementById("search-summary").textContent.includes("found")`)
	if got := eval[[]string](b, `Array.from(document.querySelectorAll("#search-results li"), (li) => li.dataset.stream + "@" + li.dataset.version)`); len(got) != 1 || got[0] != fmt.Sprintf("%s@%d", stream, target.Version) {
		t.Fatalf("searching the event id %s finds %q, want %s@%d", target.ID, got, stream, target.Version)
	}
	b.screenshot("search.png", shotPath("search.png"))
	b.do("jump to the event", chromedp.Click(chromedp.CSS("#search-results li")))
	b.waitShown(stream, target.Version)
	b.waitFor("the event's id in its tab", fmt.Sprintf(`!document.getElementById("pane-event").hidden && document.getElementById("event-body").textContent.includes(%q)`, target.ID))
	// By type: every event found is of that type.
	b.do("open the search", chromedp.Click(chromedp.CSS("#nav-search")))
	b.do("search a type", chromedp.SetValue(chromedp.CSS("#search-kind"), "type"),
		chromedp.SetValue(chromedp.CSS("#search-q"), "OrderPaid"), chromedp.Click(chromedp.CSS("#search-form button")))
	b.waitFor("the search's end", `document.getElementById("search-summary").textContent.includes("found")`)
	types := eval[[]string](b, `Array.from(document.querySelectorAll("#search-results li .point-ev"), (e) => e.textContent)`)
	if len(types) == 0 {
		t.Errorf("no OrderPaid found in the seed")
	}
	for _, ty := range types {
		if ty != "OrderPaid" {
			t.Errorf("a search of OrderPaid finds a %s", ty)
		}
	}
	// The results' times follow the UTC switch.
	b.do("switch to UTC", chromedp.Click(chromedp.CSS("#zone-switch")))
	b.waitFor("times in UTC", `document.getElementById("zone").textContent === "UTC"`)
	inUTC("a search result", "#search-results li .muted")
	b.do("switch back", chromedp.Click(chromedp.CSS("#zone-switch")))
	b.waitFor("local times", `document.getElementById("zone").textContent !== "UTC"`)
	// The stream list says how many streams there are.
	if got := eval[string](b, `document.getElementById("stream-count").textContent`); !strings.HasSuffix(got, " streams") {
		t.Errorf("the stream list's total reads %q", got)
	}
	eval[string](b, fmt.Sprintf(`location.hash = "#%s@%d"`, stream, head+1))
	b.waitShown(stream, head+1)

	// Projections, and a rebuild to its end.
	b.do("open the projections", chromedp.Click(chromedp.CSS("#nav-projections")))
	b.waitFor("the projections", `document.querySelectorAll("#projections tbody tr").length >= 2`)
	name := eval[string](b, `document.querySelector("#projections tbody tr").dataset.name`)
	b.do("rebuild", chromedp.Click(chromedp.CSS(fmt.Sprintf(`#projections tr[data-name=%q] button`, name))))
	b.screenshot("projections.png", shotPath("projections.png"))
	b.waitFor("the rebuild done", fmt.Sprintf(`(document.querySelector('#projections tr[data-name=%q] .progress-box')?.textContent || "").startsWith("done")`, name))
	// Its end, in UTC as soon as the switch is pressed.
	b.do("switch to UTC", chromedp.Click(chromedp.CSS("#zone-switch")))
	if got := eval[string](b, fmt.Sprintf(`document.querySelector('#projections tr[data-name=%q] .progress-box').textContent`, name)); !strings.Contains(got, "UTC") {
		t.Errorf("in UTC the rebuild says %q", got)
	}
	b.do("switch back", chromedp.Click(chromedp.CSS("#zone-switch")))
	eval[bool](b, `(history.back(), true)`)
	b.waitShown(stream, head+1) // the page followed the new event
	if p := b.console(); strings.Contains(p, "Uncaught") || strings.Contains(p, "Content Security Policy") {
		t.Errorf("the page reported problems:%s", p)
	}
}
