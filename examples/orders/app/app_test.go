package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rewindhq/rewind/eventstore"
	"github.com/rewindhq/rewind/examples/orders/app"
	"github.com/rewindhq/rewind/examples/orders/readmodel"
	"github.com/rewindhq/rewind/examples/orders/seed"
)

// small is the seed of the tests: enough history to travel through.
var small = app.SeedConfig{Config: seed.Config{Orders: 50, Days: 4, Rand: 7}}

// start starts the whole application on a free port with a small seed, and
// waits for its read models.
func start(t *testing.T, data string) *app.App {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	a, err := app.Start(ctx, app.Config{Addr: "127.0.0.1:0", Data: data, Seed: small})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	if err := a.WaitCaughtUp(ctx); err != nil {
		t.Fatal(err)
	}
	return a
}

// call sends one request and decodes a JSON answer into out (if not nil).
func call(t *testing.T, method, u, key string, body any, out any) (int, string) {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(buf)
	}
	req, err := http.NewRequest(method, u, r)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	if r != nil || method == http.MethodPost {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, u, err, raw)
		}
	}
	return resp.StatusCode, string(raw)
}

type result struct {
	Version   uint64 `json:"version"`
	Offset    string `json:"offset"`
	Duplicate bool   `json:"duplicate"`
	Events    []struct {
		Type string          `json:"type"`
		Data json.RawMessage `json:"data"`
	} `json:"events"`
}

// command posts a command and requires a 200.
func command(t *testing.T, a *app.App, path, key string, body map[string]any) result {
	t.Helper()
	var res result
	if code, raw := call(t, "POST", a.URL+"v1/commands/"+path, key, body, &res); code != 200 {
		t.Fatalf("%s %v: %d %s", path, body, code, raw)
	}
	return res
}

func TestCommandsOverHTTP(t *testing.T) {
	a := start(t, t.TempDir())
	command(t, a, "users/zoe", "", map[string]any{"type": "RegisterUser", "name": "Zoe", "email": "zoe@example.com"})
	command(t, a, "workspaces/zoeco", "", map[string]any{"type": "CreateWorkspace", "name": "Zoe & Co", "owner": "zoe"})
	command(t, a, "users/yan", "", map[string]any{"type": "RegisterUser", "name": "Yan", "email": "yan@example.com"})
	command(t, a, "workspaces/zoeco", "", map[string]any{"type": "AddMember", "user": "yan"})
	res := command(t, a, "orders/z-1", "", map[string]any{"type": "PlaceOrder", "workspace": "zoeco", "placedBy": "yan"})
	if res.Version != 1 || len(res.Events) != 1 || res.Events[0].Type != "OrderPlaced" {
		t.Fatalf("PlaceOrder: %+v", res)
	}

	// A retry with the same key answers the same and stores nothing.
	add := map[string]any{"type": "AddItem", "sku": "mug", "name": "Mug", "quantity": 2, "unitPriceCents": 1250}
	first := command(t, a, "orders/z-1", "add-mug-1", add)
	again := command(t, a, "orders/z-1", "add-mug-1", add)
	if !again.Duplicate || first.Duplicate || again.Version != first.Version || again.Offset != first.Offset || len(again.Events) != 1 {
		t.Fatalf("retry: first %+v, again %+v", first, again)
	}
	head, err := a.Store.Head(context.Background(), "orders/z-1/events")
	if err != nil || head.Version != 2 {
		t.Fatalf("head after a retried command: %+v %v", head, err)
	}

	// Invariants answer 409 with the reason.
	refusals := []struct {
		path string
		body map[string]any
		want string
	}{
		{"orders/z-1", map[string]any{"type": "ShipOrder", "carrier": "ups", "tracking": "1"}, "not paid"},
		{"orders/z-1", map[string]any{"type": "PayOrder", "amountCents": 100, "method": "card"}, "the total is 2500"},
		{"orders/z-2", map[string]any{"type": "PlaceOrder", "workspace": "zoeco", "placedBy": "ada-lovelace"}, "not a member"},
		{"orders/z-3", map[string]any{"type": "PlaceOrder", "workspace": "nowhere", "placedBy": "yan"}, "no such workspace"},
		{"workspaces/zoeco", map[string]any{"type": "RemoveMember", "user": "zoe"}, "owner"},
	}
	for _, r := range refusals {
		code, raw := call(t, "POST", a.URL+"v1/commands/"+r.path, "", r.body, nil)
		var e struct{ Error string }
		json.Unmarshal([]byte(raw), &e)
		if code != http.StatusConflict || !strings.Contains(e.Error, r.want) {
			t.Errorf("%s %v: %d %s, want 409 with %q", r.path, r.body["type"], code, raw, r.want)
		}
	}
	command(t, a, "orders/z-1", "", map[string]any{"type": "PayOrder", "amountCents": 2500, "method": "card"})
	code, raw := call(t, "POST", a.URL+"v1/commands/orders/z-1", "", map[string]any{"type": "AddItem", "sku": "lamp", "quantity": 1, "unitPriceCents": 10}, nil)
	if code != http.StatusConflict || !strings.Contains(raw, "paid") {
		t.Errorf("AddItem after payment: %d %s", code, raw)
	}
	command(t, a, "orders/z-1", "", map[string]any{"type": "ShipOrder", "carrier": "ups", "tracking": "1Z"})
	code, raw = call(t, "POST", a.URL+"v1/commands/orders/z-1", "", map[string]any{"type": "CancelOrder", "reason": "late"}, nil)
	if code != http.StatusConflict || !strings.Contains(raw, "shipped") {
		t.Errorf("CancelOrder after shipping: %d %s", code, raw)
	}

	// Bad input answers 400, unknown names 404.
	bad := []struct {
		path string
		body string
		want int
	}{
		{"orders/z-1", `{"type": "AddItem", "sku": `, 400},
		{"orders/z-1", `{"type": "AddItem", "sku": "a", "quantity": "two"}`, 400},
		{"orders/z-1", `{"type": "AddItem", "colour": "red"}`, 400},
		{"orders/z-1", `{"sku": "a"}`, 400},
		// Fields invalid whatever the order (the commands' Validate).
		{"orders/z-1", `{"type": "AddItem", "sku": "mug", "quantity": -1, "unitPriceCents": 1250}`, 400},
		{"orders/z-1", `{"type": "AddItem", "sku": "mug", "unitPriceCents": 1250}`, 400},
		{"orders/z-1", `{"type": "ApplyDiscount", "code": "X", "percent": 90}`, 400},
		{"orders/z-1", `{"type": "Teleport"}`, 404},
		{"planets/mars", `{"type": "PlaceOrder"}`, 404},
	}
	for _, b := range bad {
		if code, raw := call(t, "POST", a.URL+"v1/commands/"+b.path, "", b.body, nil); code != b.want {
			t.Errorf("%s %s: %d %s, want %d", b.path, b.body, code, raw, b.want)
		}
	}
	head, _ = a.Store.Head(context.Background(), "orders/z-1/events")
	if head.Version != 4 {
		t.Errorf("orders/z-1 at version %d after refused commands, want 4", head.Version)
	}

	// Every aggregate type and command is registered.
	var aggs struct {
		Aggregates []struct {
			Category string
			Commands []string
		}
	}
	call(t, "GET", a.URL+"v1/aggregates", "", nil, &aggs)
	got := map[string]int{}
	for _, g := range aggs.Aggregates {
		got[g.Category] = len(g.Commands)
	}
	if got["orders"] != 7 || got["users"] != 3 || got["workspaces"] != 3 {
		t.Errorf("aggregates %+v", aggs)
	}
}

func TestStreamsAreReadOnly(t *testing.T) {
	a := start(t, t.TempDir())
	for _, stream := range []string{"orders/ord-00001/events", "users/ada-lovelace/events", "workspaces/acme/events"} {
		if code, raw := call(t, "POST", a.URL+"v1/stream/"+stream, "", `{"type":"OrderShipped"}`, nil); code != http.StatusMethodNotAllowed {
			t.Errorf("POST %s: %d %s, want 405", stream, code, raw)
		}
		if code, raw := call(t, "GET", a.URL+"v1/stream/"+stream+"?offset=-1", "", nil, nil); code != 200 || !strings.Contains(raw, `"version":1`) {
			t.Errorf("GET %s: %d %.200s", stream, code, raw)
		}
	}
	if code, _ := call(t, "DELETE", a.URL+"v1/stream/orders/ord-00001/events", "", nil, nil); code != http.StatusMethodNotAllowed {
		t.Errorf("DELETE an order's stream: %d, want 405", code)
	}
	// A write to a path that is not canonical is refused, never redirected
	// to another stream.
	for _, m := range []string{"PUT", "POST", "DELETE"} {
		code, raw := call(t, m, a.URL+"v1/stream/chat//room", "", "x", nil)
		if code != http.StatusBadRequest {
			t.Errorf("%s v1/stream/chat//room: %d %.100s, want 400", m, code, raw)
		}
	}
	// The page is served at the root.
	code, raw := call(t, "GET", a.URL, "", nil, nil)
	if code != 200 || !strings.Contains(strings.ToLower(raw), "<html") {
		t.Errorf("GET /: %d %.100s", code, raw)
	}
}

func TestProjectionsReflectCommands(t *testing.T) {
	a := start(t, t.TempDir())
	ctx := context.Background()
	before, err := a.ReadModels.Revenue(ctx)
	if err != nil {
		t.Fatal(err)
	}
	command(t, a, "orders/p-1", "", map[string]any{"type": "PlaceOrder", "workspace": "acme", "placedBy": "ada-lovelace"})
	command(t, a, "orders/p-1", "", map[string]any{"type": "AddItem", "sku": "lamp", "quantity": 3, "unitPriceCents": 1000})
	command(t, a, "orders/p-1", "", map[string]any{"type": "ApplyDiscount", "code": "TEST", "percent": 10})
	command(t, a, "orders/p-1", "", map[string]any{"type": "PayOrder", "amountCents": 2700, "method": "card"})
	if err := a.WaitCaughtUp(ctx); err != nil {
		t.Fatal(err)
	}
	s, ok, err := a.ReadModels.Summary(ctx, "p-1")
	if err != nil || !ok {
		t.Fatalf("summary: %v %v", ok, err)
	}
	if s.Status != "paid" || s.TotalCents != 2700 || s.DiscountCents != 300 || s.Units != 3 || s.Workspace != "acme" || s.Version != 4 {
		t.Errorf("summary %+v", s)
	}
	after, err := a.ReadModels.Revenue(ctx)
	if err != nil {
		t.Fatal(err)
	}
	today := time.Now().UTC().Format("2006-01-02")
	if paid(after, today)-paid(before, today) != 2700 {
		t.Errorf("revenue today went from %d to %d, want +2700", paid(before, today), paid(after, today))
	}

	var list struct {
		Projections []struct {
			Name, Status, Position string
		}
	}
	if code, raw := call(t, "GET", a.URL+"v1/projections", "", nil, &list); code != 200 || len(list.Projections) != 2 {
		t.Fatalf("projections: %d %s", code, raw)
	}
	for _, p := range list.Projections {
		if p.Status != "live" || p.Position == "" {
			t.Errorf("projection %+v", p)
		}
	}

	// A rebuild over HTTP gives the same read model, and it stays live.
	if code, raw := call(t, "POST", a.URL+"v1/projections/revenue_per_day/rebuild", "", nil, nil); code != http.StatusAccepted {
		t.Fatalf("rebuild: %d %s", code, raw)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var st struct {
			Running bool
			Events  uint64
			Error   string
		}
		call(t, "GET", a.URL+"v1/projections/revenue_per_day/rebuild", "", nil, &st)
		if !st.Running {
			if st.Error != "" || st.Events == 0 {
				t.Fatalf("rebuild ended: %+v", st)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("rebuild still running after 30s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	rebuilt, _ := a.ReadModels.Revenue(ctx)
	if fmt.Sprint(rebuilt) != fmt.Sprint(after) {
		t.Errorf("rebuilt revenue %v, want %v", rebuilt, after)
	}
	command(t, a, "orders/p-1", "", map[string]any{"type": "CancelOrder", "reason": "test"})
	if err := a.WaitCaughtUp(ctx); err != nil {
		t.Fatal(err)
	}
	last, _ := a.ReadModels.Revenue(ctx)
	if refunded(last, today)-refunded(after, today) != 2700 {
		t.Errorf("refunds after the rebuild: %v", last)
	}
}

func paid(days []readmodel.Day, day string) int64 {
	for _, d := range days {
		if d.Day == day {
			return d.PaidCents
		}
	}
	return 0
}

func refunded(days []readmodel.Day, day string) int64 {
	for _, d := range days {
		if d.Day == day {
			return d.RefundedCents
		}
	}
	return 0
}

func TestTimeTravel(t *testing.T) {
	a := start(t, t.TempDir())
	ctx := context.Background()
	ex, ok, err := a.Example(ctx)
	if err != nil || !ok {
		t.Fatalf("example: %+v %v %v", ex, ok, err)
	}
	// Yesterday at 15:00 answers for a seeded order placed before it (the
	// example main prints is one, when some order changed after it).
	y, m, d := time.Now().AddDate(0, 0, -1).Date()
	yesterday := time.Date(y, m, d, 15, 0, 0, 0, time.Local)
	if ex.At != yesterday {
		err := a.ReadModels.SQL().QueryRowContext(ctx, `SELECT id FROM order_summary WHERE placed_at < ? ORDER BY placed_at DESC LIMIT 1`,
			yesterday.UTC().Format(readmodel.TimeFormat)).Scan(&ex.Order)
		if err != nil {
			t.Fatalf("no seeded order placed before %s: %v", yesterday, err)
		}
		ex.At = yesterday
	}
	var old struct {
		Version uint64
		At      *string
		State   struct{ Status string }
	}
	at := ex.At.Format(time.RFC3339)
	if code, raw := call(t, "GET", a.URL+"v1/state/orders/"+ex.Order+"?at="+url.QueryEscape(at), "", nil, &old); code != 200 || old.At == nil {
		t.Fatalf("state at %s: %d %s", at, code, raw)
	}
	// It is the fold of exactly the events stored up to then.
	stream := "orders/" + ex.Order + "/events"
	var n uint64
	for e, err := range a.Store.Read(ctx, stream, eventstore.ToTime(ex.At)) {
		if err != nil {
			t.Fatal(err)
		}
		n = e.Version
	}
	if old.Version != n || n == 0 {
		t.Errorf("state at %s is version %d; %d events were stored by then", at, old.Version, n)
	}

	var tl struct {
		Version uint64
		Events  []struct {
			Version  uint64
			Type     string
			StoredAt string
			Changes  []struct{ Path string }
		}
	}
	if code, raw := call(t, "GET", a.URL+"v1/timeline/orders/"+ex.Order, "", nil, &tl); code != 200 || len(tl.Events) != int(tl.Version) {
		t.Fatalf("timeline: %d %s", code, raw)
	}
	if tl.Events[0].Type != "OrderPlaced" || len(tl.Events[0].Changes) == 0 {
		t.Errorf("timeline's first event %+v", tl.Events[0])
	}

	var diff struct {
		From, To struct{ Version uint64 }
		Changes  []struct{ Path string }
		Events   []struct{ Version uint64 }
	}
	q := fmt.Sprintf("?from=%s&to=%d", url.QueryEscape(at), tl.Version)
	if code, raw := call(t, "GET", a.URL+"v1/diff/orders/"+ex.Order+q, "", nil, &diff); code != 200 {
		t.Fatalf("diff: %d %s", code, raw)
	}
	if diff.From.Version != old.Version || diff.To.Version != tl.Version || len(diff.Events) != int(tl.Version-old.Version) {
		t.Errorf("diff from %d to %d with %d events", diff.From.Version, diff.To.Version, len(diff.Events))
	}
	if old.Version < tl.Version && len(diff.Changes) == 0 {
		t.Errorf("diff from version %d to %d changes nothing", old.Version, tl.Version)
	}

	if code, raw := call(t, "GET", a.URL+"v1/export/orders/"+ex.Order+"?to="+fmt.Sprint(old.Version), "", nil, nil); code != 200 || !strings.Contains(raw, "OrderPlaced") {
		t.Errorf("export: %d %.300s", code, raw)
	}
	// The export is text holding what users typed (names, notes): never
	// sniffed into a page a browser would run.
	resp, err := http.Get(a.URL + "v1/export/orders/" + ex.Order + "?to=" + fmt.Sprint(old.Version))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("export: X-Content-Type-Options %q, want nosniff", got)
	}
}

// TestRestart stops the application and starts it on the same data: no
// second seed, the read models resume where they were.
func TestRestart(t *testing.T) {
	data := t.TempDir()
	a := start(t, data)
	if a.Seeded == nil || a.Seeded.Orders != 50 {
		t.Fatalf("first start seeded %+v", a.Seeded)
	}
	ctx := context.Background()
	counts, _ := a.ReadModels.Counts(ctx)
	command(t, a, "orders/r-1", "", map[string]any{"type": "PlaceOrder", "workspace": "acme", "placedBy": "ada-lovelace"})
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	b := start(t, data)
	if b.Seeded != nil {
		t.Errorf("second start seeded again: %+v", b.Seeded)
	}
	again, _ := b.ReadModels.Counts(ctx)
	total := func(m map[string]int) (n int) {
		for _, v := range m {
			n += v
		}
		return n
	}
	if total(again) != total(counts)+1 || total(counts) != 50 {
		t.Errorf("orders before %v, after a restart %v", counts, again)
	}
}
