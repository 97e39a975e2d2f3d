package readmodel_test

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/rewindhq/rewind/aggregate"
	"github.com/rewindhq/rewind/eventstore"
	"github.com/rewindhq/rewind/examples/orders/domain"
	"github.com/rewindhq/rewind/examples/orders/readmodel"
	"github.com/rewindhq/rewind/projection"
)

// fixture is a store with an orders repository and a read model database,
// on a clock the test moves.
type fixture struct {
	store  *eventstore.Store
	orders *aggregate.Repository[domain.Order, domain.OrderEvent]
	dbPath string
	now    time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{dbPath: filepath.Join(t.TempDir(), "readmodels.db"), now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	store, err := eventstore.Open(context.Background(), t.TempDir(), eventstore.WithClock(func() time.Time { return f.now }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	orders, err := aggregate.NewRepository(store, domain.Orders())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { orders.Close() })
	f.store, f.orders = store, orders
	return f
}

// handle runs one decider on order id, failing the test on an error.
func (f *fixture) handle(t *testing.T, id string, decide func(domain.Order) ([]domain.OrderEvent, error)) {
	t.Helper()
	if _, err := f.orders.Handle(context.Background(), id, decide); err != nil {
		t.Fatalf("orders/%s: %v", id, err)
	}
}

// order places order id with two mugs and a lamp (7499 cents), and pays
// it when pay is set.
func (f *fixture) order(t *testing.T, id string, pay bool) {
	t.Helper()
	f.handle(t, id, func(o domain.Order) ([]domain.OrderEvent, error) {
		return []domain.OrderEvent{domain.OrderPlaced{Workspace: "acme", PlacedBy: "ada"}}, nil
	})
	f.handle(t, id, domain.AddItem{SKU: "mug", Quantity: 2, UnitPriceCents: 1250}.Decide)
	f.handle(t, id, domain.AddItem{SKU: "lamp", Quantity: 1, UnitPriceCents: 4999}.Decide)
	if pay {
		f.handle(t, id, domain.PayOrder{AmountCents: 7499, Method: "card"}.Decide)
	}
}

// run opens the database, runs both projections until they have caught
// up, and returns the database and a stop function.
func (f *fixture) run(t *testing.T) (*readmodel.DB, *projection.Runner, func()) {
	t.Helper()
	ctx := context.Background()
	db, err := readmodel.Open(ctx, f.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	runner := projection.NewRunner(f.store, nil)
	for _, p := range db.Projections() {
		if err := runner.Start(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	stop := func() {
		runner.Close()
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	}
	waitCaughtUp(t, runner)
	return db, runner, stop
}

func waitCaughtUp(t *testing.T, runner *projection.Runner) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, name := range []string{readmodel.OrderSummary, readmodel.RevenuePerDay} {
		if err := runner.WaitCaughtUp(ctx, name); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
}

func TestOrderSummary(t *testing.T) {
	f := newFixture(t)
	f.order(t, "1", true)
	f.handle(t, "1", domain.ShipOrder{Carrier: "ups", Tracking: "1Z"}.Decide)
	f.order(t, "2", false)
	f.handle(t, "2", domain.RemoveItem{SKU: "mug", Quantity: 1}.Decide)
	f.handle(t, "2", domain.ApplyDiscount{Code: "SPRING", Percent: 15}.Decide)
	db, _, stop := f.run(t)
	defer stop()
	ctx := context.Background()

	s, ok, err := db.Summary(ctx, "1")
	if err != nil || !ok {
		t.Fatalf("summary 1: %v %v", ok, err)
	}
	if s.Status != "shipped" || s.TotalCents != 7499 || s.PaidCents != 7499 || s.Lines != 2 || s.Units != 3 || s.Version != 5 {
		t.Errorf("summary 1 = %+v", s)
	}
	s, _, _ = db.Summary(ctx, "2")
	// 1 mug + 1 lamp = 6249; 15% off rounds 937.35 down to 937.
	want := readmodel.Summary{ID: "2", Workspace: "acme", PlacedBy: "ada", Status: "open", Lines: 2, Units: 2, SubtotalCents: 6249,
		DiscountCode: "SPRING", DiscountPercent: 15, DiscountCents: 937, TotalCents: 5312, PlacedAt: f.now, UpdatedAt: f.now, Version: 5}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("summary 2 =\n%+v, want\n%+v", s, want)
	}
	// The read model prices an order as the aggregate does.
	o, err := f.orders.Load(ctx, "2")
	if err != nil {
		t.Fatal(err)
	}
	if o.State.TotalCents != s.TotalCents || o.State.DiscountCents != s.DiscountCents {
		t.Errorf("aggregate total %d discount %d, read model %d %d", o.State.TotalCents, o.State.DiscountCents, s.TotalCents, s.DiscountCents)
	}
	if _, ok, _ := db.Summary(ctx, "nope"); ok {
		t.Error("summary of an order never placed")
	}
}

func TestRevenuePerDay(t *testing.T) {
	f := newFixture(t)
	f.order(t, "1", true)
	f.order(t, "2", true)
	f.now = f.now.Add(24 * time.Hour)
	f.order(t, "3", true)
	f.handle(t, "2", domain.CancelOrder{Reason: "lost"}.Decide)
	f.handle(t, "3", domain.CancelOrder{Reason: "lost"}.Decide) // refunded
	f.order(t, "4", false)
	f.handle(t, "4", domain.CancelOrder{Reason: "abandoned"}.Decide) // nothing to refund
	db, _, stop := f.run(t)
	defer stop()
	days, err := db.Revenue(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []readmodel.Day{
		{Day: "2026-03-02", OrdersPaid: 2, PaidCents: 14998, NetCents: 14998},
		{Day: "2026-03-03", OrdersPaid: 1, PaidCents: 7499, OrdersRefunded: 2, RefundedCents: 14998, NetCents: -7499},
	}
	if !reflect.DeepEqual(days, want) {
		t.Errorf("revenue =\n%+v, want\n%+v", days, want)
	}
}

// TestRestartResumesExactly stops the projections, appends, and starts
// them again on the same database: the read models count every event once.
func TestRestartResumesExactly(t *testing.T) {
	f := newFixture(t)
	for i := range 5 {
		f.order(t, fmt.Sprint(i), true)
	}
	_, _, stop := f.run(t)
	stop()
	for i := 5; i < 12; i++ {
		f.order(t, fmt.Sprint(i), i%2 == 0)
	}
	db, _, stop := f.run(t)
	checkTotals(t, db, 12, 5+3)
	stop()
	// A third start with nothing new changes nothing.
	db, _, stop = f.run(t)
	defer stop()
	checkTotals(t, db, 12, 8)
}

// checkTotals checks the orders paid and open, and the revenue of the paid
// ones at 7499 cents each.
func checkTotals(t *testing.T, db *readmodel.DB, orders, paid int) {
	t.Helper()
	ctx := context.Background()
	counts, err := db.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if counts["paid"] != paid || counts["open"] != orders-paid {
		t.Errorf("counts %v, want %d paid of %d", counts, paid, orders)
	}
	days, err := db.Revenue(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(days) != 1 || days[0].OrdersPaid != paid || days[0].PaidCents != int64(paid)*7499 {
		t.Errorf("revenue %+v, want %d orders paid, %d cents", days, paid, paid*7499)
	}
}

func TestRebuild(t *testing.T) {
	f := newFixture(t)
	for i := range 6 {
		f.order(t, fmt.Sprint(i), i%3 != 0)
	}
	db, runner, stop := f.run(t)
	defer stop()
	ctx := context.Background()
	before, _ := db.Revenue(ctx)
	// Spoil the live table: a rebuild must rebuild it from the log.
	if _, err := db.SQL().ExecContext(ctx, `UPDATE revenue_per_day SET paid_cents = 1`); err != nil {
		t.Fatal(err)
	}
	start := func(p projection.Projection) error { return runner.Start(context.Background(), p) }
	var last projection.Progress
	for _, name := range []string{readmodel.RevenuePerDay, readmodel.OrderSummary} {
		if err := db.Rebuild(ctx, f.store, runner, name, start, func(p projection.Progress) { last = p }); err != nil {
			t.Fatalf("rebuild %s: %v", name, err)
		}
	}
	if last.Events == 0 {
		t.Errorf("no progress reported: %+v", last)
	}
	after, _ := db.Revenue(ctx)
	if !reflect.DeepEqual(before, after) {
		t.Errorf("after rebuild %+v, want %+v", after, before)
	}
	// The projections are live again, from where the replays ended.
	f.order(t, "new", true)
	waitCaughtUp(t, runner)
	checkTotals(t, db, 7, 5)
	if err := db.Rebuild(ctx, f.store, runner, "nope", start, nil); err == nil {
		t.Error("rebuild of an unknown projection")
	}
}
