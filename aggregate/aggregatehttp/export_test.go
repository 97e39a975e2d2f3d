package aggregatehttp_test

import (
	"context"
	"encoding/json"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rewindhq/rewind/aggregate/aggregatehttp"
	"github.com/rewindhq/rewind/eventstore"
)

// TestExport: the exported file parses, is in the events' package, and
// holds the Given of every event up to the point asked, as literals of
// their Go types; then, compiled into the test cart's package (with a go
// tool overlay, so that nothing is written into the source tree), it
// builds and vets, skips itself as exported, and once its When and Then are
// written it replays the history and checks a decision on it.
func TestExport(t *testing.T) {
	s := newServer(t)
	s.seed(t, "c1")
	s.commandAt(t, 20*time.Hour, "c1", `{"type":"CheckOut","at":"2026-03-03T10:00:00.5Z","ratio":0.25,"extras":{"gift":true,"n":3,"list":[1,"x"]}}`)

	src := string(s.get(t, "/v1/export/carts/c1?to=6", 200, nil))
	if _, err := parser.ParseFile(token.NewFileSet(), "export_test.go", src, parser.AllErrors); err != nil {
		t.Fatalf("does not parse: %v\n%s", err, src)
	}
	for _, want := range []string{
		"package testcart\n",
		"func TestCartsC1AtVersion6(t *testing.T) {",
		"t.Skip(",
		"var def *aggregate.Definition[Cart, Event]",
		"aggregatetest.Given[Cart, Event](def,",
		`Opened{Customer: "ann"},`,
		`ItemAdded{SKU: "sku-1", Quantity: 2, Price: 150},`,
		`ItemAdded{SKU: "sku-2", Quantity: 1, Price: 900},`,
		`Tagged{Tags: []string{"a", "b"}},`,
		`AddressSet{City: "Paris"},`,
		`ItemAdded{SKU: "sku-1", Quantity: 3, Price: 140},`,
		"When(func(state Cart) ([]Event, error) {",
	} {
		if !strings.Contains(src, want) {
			t.Errorf("export lacks %q:\n%s", want, src)
		}
	}
	if strings.Contains(src, "ItemRemoved") {
		t.Errorf("export goes past version 6:\n%s", src)
	}
	// By time: the same point.
	if byTime := string(s.get(t, "/v1/export/carts/c1?to=2026-03-02T14:30:00Z", 200, nil)); byTime != src {
		t.Errorf("export at a time differs from the export at its version:\n%s", byTime)
	}
	ext := string(s.get(t, "/v1/export/carts/c1?package=testcart_test&def=testcart.Definition()", 200, nil))
	for _, want := range []string{
		"package testcart_test\n",
		`"github.com/rewindhq/rewind/aggregate/aggregatehttp/internal/testcart"`,
		"def := testcart.Definition()",
		`testcart.CheckedOut{At: time.Date(2026, time.March, 3, 10, 0, 0, 500000000, time.UTC), Ratio: 0.25, Extras: map[string]any{"gift": true, "list": []any{1.0, "x"}, "n": 3.0}},`,
		"When(func(state testcart.Cart) ([]testcart.Event, error) {",
	} {
		if !strings.Contains(ext, want) {
			t.Errorf("export lacks %q:\n%s", want, ext)
		}
	}
	resp, err := httpGet(s.url + "/v1/export/carts/c1?to=1")
	if err != nil {
		t.Fatal(err)
	}
	if ct, cd := resp.Header.Get("Content-Type"), resp.Header.Get("Content-Disposition"); resp.StatusCode != 200 ||
		ct != "text/plain; charset=utf-8" || cd != `inline; filename="carts_c1_v1_test.go"` {
		t.Errorf("%d, content type %q, disposition %q", resp.StatusCode, ct, cd)
	}
	for _, tc := range []struct{ query, reason string }{
		{"to=11", "version 11 is past the stream's version 9"},
		{"to=soon", `to="soon" is neither`},
		{"package=not-a-name", `package="not-a-name" is not a Go package name`},
		{"def=%7B%7B", `def="{{" is not a Go expression`},
	} {
		if body := s.get(t, "/v1/export/carts/c1?"+tc.query, 400, nil); !strings.Contains(errorOf(t, body), tc.reason) {
			t.Errorf("%s: %s, want %q", tc.query, body, tc.reason)
		}
	}
	s.get(t, "/v1/export/carts/nobody", 404, nil)

	if testing.Short() {
		t.Skip("compiling the export takes the go tool")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool on PATH")
	}
	// The runnable one: at version 9 the cart is checked out, so adding an
	// item is refused — which holds only if the Given replayed the history.
	full := string(s.get(t, "/v1/export/carts/c1?package=testcart_test&def=testcart.Definition()", 200, nil))
	full = strings.Replace(full, "return nil, nil //", "return testcart.AddItem{SKU: \"late\", Quantity: 1}.Decide(state) //", 1)
	full = strings.Replace(full, "}).Then(t) //", "}).ThenError(t, testcart.ErrCheckedOut) //", 1)
	full = strings.Replace(full, "TestCartsC1AtVersion9", "TestRunnableExport", -1)
	lines := strings.Split(full, "\n")
	for i, l := range lines {
		if strings.Contains(l, "t.Skip(") {
			lines = append(lines[:i], lines[i+1:]...)
			break
		}
	}
	full = strings.Join(lines, "\n")

	pkgDir, err := filepath.Abs("internal/testcart")
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	replace := map[string]string{}
	for name, content := range map[string]string{"exported_test.go": src, "exported_ext_test.go": ext, "runnable_ext_test.go": full} {
		path := filepath.Join(tmp, name)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		replace[filepath.Join(pkgDir, name)] = path
	}
	overlay, _ := json.Marshal(map[string]any{"Replace": replace})
	overlayFile := filepath.Join(tmp, "overlay.json")
	if err := os.WriteFile(overlayFile, overlay, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(goTool, "vet", "-overlay="+overlayFile, "./internal/testcart").CombinedOutput(); err != nil {
		t.Fatalf("go vet of the exports: %v\n%s\n--- exported:\n%s\n--- external:\n%s\n--- runnable:\n%s", err, out, src, ext, full)
	}
	out, err := exec.Command(goTool, "test", "-count=1", "-overlay="+overlayFile, "-run", "^(TestCartsC1|TestRunnableExport)", "-v", "./internal/testcart").CombinedOutput()
	if err != nil {
		t.Fatalf("go test of the exports: %v\n%s", err, out)
	}
	for _, want := range []string{"--- SKIP: TestCartsC1AtVersion6", "--- SKIP: TestCartsC1AtVersion9", "--- PASS: TestRunnableExport"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("go test of the exports lacks %q:\n%s", want, out)
		}
	}
}

// TestLongHistoryBounds: the answers that walk a history are held whole
// before they are written, so each has a bound: a diff lists the first
// 1,000 events between its points and counts the rest in "more"; an
// export of more than 10,000 events is a 400 naming a to= that fits.
func TestLongHistoryBounds(t *testing.T) {
	s := newServer(t)
	s.command(t, "long", `{"type":"Open","customer":"ann"}`)
	added := eventstore.Event{Type: "ItemAdded", Data: []byte(`{"sku":"s","quantity":1,"price":1}`)}
	batch := make([]eventstore.Event, 1000)
	for i := range batch {
		batch[i] = added
	}
	for range 10 {
		if _, err := s.store.Append(context.Background(), "carts/long/events", batch); err != nil {
			t.Fatal(err)
		}
	} // 10,001 events

	var d aggregatehttp.Diff
	s.get(t, "/v1/diff/carts/long?from=1&to=1501", 200, &d)
	if len(d.Events) != 1000 || d.Events[0].Version != 2 || d.Events[999].Version != 1001 || d.More != 500 {
		t.Errorf("diff from 1 to 1501: %d events, more %d; want versions 2 to 1001 and 500 more", len(d.Events), d.More)
	}
	if d.To.Version != 1501 || changes(d.Changes) != `items: null → {"s":{"price":1,"quantity":1500}}`+"\n" {
		t.Errorf("diff from 1 to 1501: to v%d, changes %s", d.To.Version, changes(d.Changes))
	}
	s.get(t, "/v1/diff/carts/long?from=1&to=11", 200, &d)
	if len(d.Events) != 10 || d.More != 0 {
		t.Errorf("diff from 1 to 11: %d events, more %d; want 10 and none more", len(d.Events), d.More)
	}

	body := s.get(t, "/v1/export/carts/long", 400, nil)
	if !strings.Contains(errorOf(t, body), "more than 10000 events") || !strings.Contains(errorOf(t, body), "to=10000") {
		t.Errorf("an export of 10,001 events: %s, want a 400 naming to=10000", body)
	}
	if src := string(s.get(t, "/v1/export/carts/long?to=10000", 200, nil)); !strings.Contains(src, "func TestCartsLongAtVersion10000(") {
		t.Errorf("an export of 10,000 events is not the test it should be: %.300s", src)
	}
}
