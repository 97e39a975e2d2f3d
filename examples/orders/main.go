// Command orders is a short tour of Rewind's event store, on the embedded
// default: no server to install, the store is a directory.
//
// It places a few orders, each an event stream "orders/<id>"; adds an item
// with an expected version; lets two clerks race on one order so that one
// of them gets ErrConcurrency and decides again; folds an order's events
// into its state; lists the "orders" category in log order; shows an order
// as it was at an earlier version and at an earlier offset; and follows the
// category live while new events are appended.
//
//	go run ./examples/orders              # store in a temp dir, removed at exit
//	go run ./examples/orders -dir ./data/orders
//
// By default the store lives in a temporary directory that is removed at
// exit, so every run tells the same story. With -dir the store is kept; a
// second run opens it again, finds the orders of the first and numbers its
// own after them.
//
// The domain code is plain Go: an Order struct, an evolve function that
// applies one event to it, and decide functions that turn a request into
// events or refuse it. Nothing here depends on a framework.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/rewindhq/rewind/eventstore"
)

func main() {
	dir := flag.String("dir", "", "keep the store in this directory (default: a temporary directory, removed at exit)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := start(ctx, *dir)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "orders:", err)
		os.Exit(1)
	}
}

// start picks the store directory and runs the tour in it.
func start(ctx context.Context, dir string) error {
	if dir == "" {
		tmp, err := os.MkdirTemp("", "rewind-orders-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
		fmt.Printf("store: %s (temporary; use -dir to keep it)\n", dir)
	} else {
		fmt.Printf("store: %s\n", dir)
	}
	return run(ctx, dir, os.Stdout)
}

// Event types and their data, stored as JSON.
const (
	typePlaced  = "OrderPlaced"
	typeItem    = "ItemAdded"
	typeShipped = "OrderShipped"
)

type OrderPlaced struct {
	Customer string `json:"customer"`
}

type ItemAdded struct {
	SKU        string `json:"sku"`
	Qty        int    `json:"qty"`
	PriceCents int    `json:"price_cents"`
}

type OrderShipped struct {
	Carrier string `json:"carrier"`
}

// Order is the state of one order, folded from its events.
type Order struct {
	ID         string
	Customer   string
	Items      []ItemAdded
	TotalCents int
	Status     string // "" (no such order), "placed" or "shipped"
	Carrier    string
	Version    uint64 // the version of the last event applied
}

// evolve applies one event to an order. Types it does not know are
// skipped, so that older code can read streams that newer code wrote to.
func evolve(o Order, e eventstore.Event) (Order, error) {
	var err error
	switch e.Type {
	case typePlaced:
		var d OrderPlaced
		err = json.Unmarshal(e.Data, &d)
		o.Customer, o.Status = d.Customer, "placed"
	case typeItem:
		var d ItemAdded
		err = json.Unmarshal(e.Data, &d)
		o.Items = append(o.Items, d)
		o.TotalCents += d.Qty * d.PriceCents
	case typeShipped:
		var d OrderShipped
		err = json.Unmarshal(e.Data, &d)
		o.Status, o.Carrier = "shipped", d.Carrier
	}
	if err != nil {
		return o, fmt.Errorf("%s v%d (%s): %w", e.Stream, e.Version, e.Type, err)
	}
	o.Version = e.Version
	return o, nil
}

var errShipped = errors.New("the order has already shipped")

// addItem decides whether an item may be added to an order.
func addItem(o Order, item ItemAdded) ([]eventstore.Event, error) {
	if o.Status == "shipped" {
		return nil, fmt.Errorf("orders/%s: %w", o.ID, errShipped)
	}
	return []eventstore.Event{newEvent(typeItem, item)}, nil
}

// ship decides whether an order may ship.
func ship(o Order, carrier string) ([]eventstore.Event, error) {
	if o.Status != "placed" {
		return nil, fmt.Errorf("orders/%s: cannot ship an order that is %q", o.ID, o.Status)
	}
	return []eventstore.Event{newEvent(typeShipped, OrderShipped{Carrier: carrier})}, nil
}

// newEvent encodes data as the event's JSON body. The data types above
// always encode, so an error here is a bug in this file.
func newEvent(typ string, data any) eventstore.Event {
	b, err := json.Marshal(data)
	if err != nil {
		panic(fmt.Sprintf("encode %s: %v", typ, err))
	}
	return eventstore.Event{Type: typ, Data: b}
}

func streamOf(id string) string { return "orders/" + id }

// load reads an order's stream and folds it. Read options bound the read:
// eventstore.ToVersion(n) or eventstore.ToOffset(o) give the order as it
// was then.
func load(ctx context.Context, store *eventstore.Store, id string, opts ...eventstore.ReadOption) (Order, error) {
	o := Order{ID: id}
	for e, err := range store.Read(ctx, streamOf(id), opts...) {
		if err != nil {
			return Order{}, err
		}
		if o, err = evolve(o, e); err != nil {
			return Order{}, err
		}
	}
	return o, nil
}

func (o Order) String() string {
	if o.Status == "" {
		return fmt.Sprintf("orders/%s: no such order", o.ID)
	}
	status := o.Status
	if o.Carrier != "" {
		status += " (" + o.Carrier + ")"
	}
	return fmt.Sprintf("orders/%s v%d  %-6s %-14s %d item(s)  %s",
		o.ID, o.Version, o.Customer, status, len(o.Items), money(o.TotalCents))
}

func money(cents int) string { return fmt.Sprintf("$%d.%02d", cents/100, cents%100) }

func eventLine(e eventstore.Event) string {
	return fmt.Sprintf("%s  %-12s v%d  %-12s %s", e.Offset, e.Stream, e.Version, e.Type, e.Data)
}

// run is the whole tour, writing what happens to out.
func run(ctx context.Context, dir string, out io.Writer) error {
	store, err := eventstore.Open(ctx, dir)
	if err != nil {
		return err
	}
	defer store.Close()
	w := &lockedWriter{w: out}

	// A kept store (-dir) may hold orders from earlier runs: count them and
	// remember where the log ended, so this run numbers its orders after
	// them and lists only its own events.
	known, runStart, err := countOrders(ctx, store)
	if err != nil {
		return err
	}
	if known > 0 {
		w.printf("the store already holds %d order(s); this run starts after offset %s\n", known, runStart)
	}
	ids := make([]string, 3)
	for i := range ids {
		ids[i] = strconv.Itoa(1001 + known + i)
	}
	first := ids[0]

	placedAt, err := placeOrders(ctx, store, w, ids)
	if err != nil {
		return err
	}
	if err := addMouse(ctx, store, w, first); err != nil {
		return err
	}
	if err := clerksRace(ctx, store, w, first); err != nil {
		return err
	}

	w.printf("\n== read %s back and fold it with evolve\n", streamOf(first))
	o, err := load(ctx, store, first)
	if err != nil {
		return err
	}
	w.printf("%s\n", o)

	end, err := listCategory(ctx, store, w, runStart)
	if err != nil {
		return err
	}
	if err := timeTravel(ctx, store, w, first, placedAt); err != nil {
		return err
	}
	if err := followLive(ctx, store, w, ids, placedAt, end); err != nil {
		return err
	}
	if err := store.Close(); err != nil {
		return err
	}
	w.printf("store closed\n")
	return nil
}

// placeOrders places one order per id, each in one atomic append that
// requires the order to be new, and returns the offset after the last.
func placeOrders(ctx context.Context, store *eventstore.Store, w *lockedWriter, ids []string) (eventstore.Offset, error) {
	w.printf("\n== place orders: one atomic append each, ExpectVersion(0) = the order must be new\n")
	placed := []struct {
		customer string
		item     ItemAdded
	}{
		{"ada", ItemAdded{SKU: "keyboard", Qty: 1, PriceCents: 4900}},
		{"grace", ItemAdded{SKU: "cable", Qty: 3, PriceCents: 450}},
		{"linus", ItemAdded{SKU: "monitor", Qty: 1, PriceCents: 18900}},
	}
	var last eventstore.Offset
	for i, p := range placed {
		events := []eventstore.Event{newEvent(typePlaced, OrderPlaced{Customer: p.customer}), newEvent(typeItem, p.item)}
		res, err := store.Append(ctx, streamOf(ids[i]), events, eventstore.ExpectVersion(0))
		if err != nil {
			return "", err
		}
		w.printf("%s: %d events stored, now at version %d, offset %s\n", res.Stream, len(res.Offsets), res.Version, res.Offset())
		last = res.Offset()
	}
	return last, nil
}

// addMouse is one command, handled the usual way: load the order, decide,
// and append on condition that the order is still at the version loaded.
func addMouse(ctx context.Context, store *eventstore.Store, w *lockedWriter, id string) error {
	w.printf("\n== %s adds an item: load, decide, append with ExpectVersion(loaded version)\n", streamOf(id))
	o, err := load(ctx, store, id)
	if err != nil {
		return err
	}
	events, err := addItem(o, ItemAdded{SKU: "mouse", Qty: 2, PriceCents: 1250})
	if err != nil {
		return err
	}
	res, err := store.Append(ctx, streamOf(id), events, eventstore.ExpectVersion(o.Version))
	if err != nil {
		return err
	}
	w.printf("%s: item added at version %d\n", res.Stream, res.Version)
	return nil
}

// listCategory prints the "orders" category after offset from, in log
// order, and returns the offset of its last event.
func listCategory(ctx context.Context, store *eventstore.Store, w *lockedWriter, from eventstore.Offset) (eventstore.Offset, error) {
	w.printf("\n== the \"orders\" category, in log order (ReadCategory)\n")
	end := from
	for e, err := range store.ReadCategory(ctx, "orders", eventstore.From(from)) {
		if err != nil {
			return "", err
		}
		w.printf("%s\n", eventLine(e))
		end = e.Offset
	}
	return end, nil
}

// timeTravel folds an order as it was at an earlier version, and at an
// earlier offset of the log.
func timeTravel(ctx context.Context, store *eventstore.Store, w *lockedWriter, id string, at eventstore.Offset) error {
	w.printf("\n== time travel on %s\n", streamOf(id))
	o, err := load(ctx, store, id, eventstore.ToVersion(3))
	if err != nil {
		return err
	}
	w.printf("as of version 3 (ToVersion):\n  %s\n", o)
	if o, err = load(ctx, store, id, eventstore.ToOffset(at)); err != nil {
		return err
	}
	w.printf("as of offset %s, when the three orders were placed (ToOffset):\n  %s\n", at, o)
	return nil
}

// clerksRace has two clerks load the same order, then write one after the
// other. The second write was decided on a version that is no longer the
// stream's, so the store refuses it; the clerk reloads and decides again,
// which is what every command handler does on ErrConcurrency.
func clerksRace(ctx context.Context, store *eventstore.Store, w *lockedWriter, id string) error {
	w.printf("\n== two clerks load %s at the same time\n", streamOf(id))
	a, err := load(ctx, store, id)
	if err != nil {
		return err
	}
	b, err := load(ctx, store, id)
	if err != nil {
		return err
	}
	w.printf("clerk A and clerk B both see version %d\n", a.Version)

	events, err := ship(a, "ups")
	if err != nil {
		return err
	}
	res, err := store.Append(ctx, streamOf(id), events, eventstore.ExpectVersion(a.Version))
	if err != nil {
		return err
	}
	w.printf("clerk A ships it: version %d\n", res.Version)

	for attempt := 1; attempt <= 3; attempt++ {
		events, err := addItem(b, ItemAdded{SKU: "gift-wrap", Qty: 1, PriceCents: 300})
		if err != nil {
			w.printf("clerk B decides again on version %d and gives up: %v\n", b.Version, err)
			return nil
		}
		_, err = store.Append(ctx, streamOf(id), events, eventstore.ExpectVersion(b.Version))
		var conflict *eventstore.ConcurrencyError
		if errors.As(err, &conflict) { // errors.Is(err, eventstore.ErrConcurrency) holds too
			w.printf("clerk B adds gift wrap: ErrConcurrency (expected version %d, actual %d)\n",
				conflict.Expected, conflict.Actual)
			if b, err = load(ctx, store, id); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		w.printf("clerk B adds gift wrap\n")
		return nil
	}
	return errors.New("clerk B: still conflicting after 3 attempts")
}

// followLive subscribes to the category in a goroutine from offset from,
// as a projection resumes from the offset it saved, and appends while the
// subscription runs. The subscription first catches up on what followed
// from, up to end (the category's last event when it began), then delivers
// new events as they are stored, with no gap and no duplicate between the
// two.
func followLive(ctx context.Context, store *eventstore.Store, w *lockedWriter, ids []string, from, end eventstore.Offset) error {
	w.printf("\n== subscribe to \"orders\" from offset %s, then append\n", from)

	subCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	delivered := make(chan eventstore.Offset)
	done := make(chan error, 1)
	go func() {
		for e, err := range store.SubscribeCategory(subCtx, "orders", eventstore.From(from)) {
			if err != nil {
				done <- err
				return
			}
			// Offsets compare as strings: anything up to end was stored
			// before the subscription began.
			kind := "live    "
			if e.Offset <= end {
				kind = "catch-up"
			}
			w.printf("  %s %s\n", kind, eventLine(e))
			select {
			case delivered <- e.Offset:
			case <-subCtx.Done():
			}
		}
		done <- nil // ends without an error when subCtx is cancelled
	}()

	// waitFor waits until the subscriber has printed the event at offset o.
	waitFor := func(o eventstore.Offset) error {
		for {
			select {
			case got := <-delivered:
				if got >= o {
					return nil
				}
			case err := <-done:
				return fmt.Errorf("subscription ended early: %v", err)
			case <-time.After(10 * time.Second):
				return fmt.Errorf("event at %s not delivered within 10s", o)
			}
		}
	}
	if err := waitFor(end); err != nil {
		return err
	}

	appends := []struct {
		id    string
		event eventstore.Event
	}{
		{ids[1], newEvent(typeItem, ItemAdded{SKU: "adapter", Qty: 1, PriceCents: 1500})},
		{ids[1], newEvent(typeShipped, OrderShipped{Carrier: "dhl"})},
		{ids[2], newEvent(typeShipped, OrderShipped{Carrier: "fedex"})},
	}
	for _, a := range appends {
		w.printf("append %s %s\n", streamOf(a.id), a.event.Type)
		res, err := store.Append(ctx, streamOf(a.id), []eventstore.Event{a.event})
		if err != nil {
			return err
		}
		if err := waitFor(res.Offset()); err != nil {
			return err
		}
	}

	cancel()
	if err := <-done; err != nil {
		return err
	}
	w.printf("\nsubscription stopped\n")
	return nil
}

// countOrders returns how many orders the store holds and the offset of
// the last event of the "orders" category (Start when it has none).
func countOrders(ctx context.Context, store *eventstore.Store) (int, eventstore.Offset, error) {
	n, last := 0, eventstore.Start
	for e, err := range store.ReadCategory(ctx, "orders") {
		if err != nil {
			return 0, "", err
		}
		if e.Type == typePlaced {
			n++
		}
		last = e.Offset
	}
	return n, last, nil
}

// lockedWriter lets the subscriber goroutine and the main flow write to
// one output without interleaving their lines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, format, args...)
}
