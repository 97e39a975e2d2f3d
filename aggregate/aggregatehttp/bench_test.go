package aggregatehttp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/rewindhq/rewind/aggregate"
	"github.com/rewindhq/rewind/aggregate/aggregatehttp"
	"github.com/rewindhq/rewind/aggregate/aggregatehttp/internal/testcart"
	"github.com/rewindhq/rewind/eventstore"
)

// bigCart serves a cart with n events, made by commands of ten events
// each through the repository (so its snapshots are the default policy's,
// one per 100 versions), on a loopback server.
func bigCart(b *testing.B, n int) (url string, store *eventstore.Store) {
	b.Helper()
	ctx := context.Background()
	store, err := eventstore.Open(ctx, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	repo, err := aggregate.NewRepository(store, testcart.Definition())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { repo.Close() })
	if _, err := repo.Handle(ctx, "big", testcart.Open{Customer: "ann"}.Decide); err != nil {
		b.Fatal(err)
	}
	for v := 1; v < n; v += 10 {
		_, err := repo.Handle(ctx, "big", func(testcart.Cart) ([]testcart.Event, error) {
			var out []testcart.Event
			for i := v; i < min(v+10, n); i++ {
				out = append(out, testcart.ItemAdded{SKU: fmt.Sprintf("sku-%d", i%50), Quantity: 1, Price: int64(i%50 + 1)})
			}
			return out, nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	reg := aggregatehttp.NewRegistry(store)
	if err := aggregatehttp.Register(reg, repo); err != nil {
		b.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/v1/", reg.Handler())
	srv := httptest.NewServer(mux)
	b.Cleanup(srv.Close)
	return srv.URL, store
}

func fetch(b *testing.B, url string) int {
	resp, err := http.Get(url)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		b.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return int(n)
}

// BenchmarkTimeline10k is what the page asks of a 10,000-event stream:
// its first paint (the last page of 100 events with the axis of every
// version, and the current state), a step of the slider (the state at a
// version), the whole timeline the endpoint answered before it paged
// (10 pages of 1,000), and the baseline, a plain read of the stream's
// 10,000 events from the store.
func BenchmarkTimeline10k(b *testing.B) {
	const n = 10000
	url, store := bigCart(b, n)
	b.Run("first-paint", func(b *testing.B) {
		bytes := 0
		for b.Loop() {
			bytes = fetch(b, url+fmt.Sprintf("/v1/timeline/carts/big?from=%d&limit=100&axis=true", n-99))
			bytes += fetch(b, url+"/v1/state/carts/big")
		}
		b.ReportMetric(float64(bytes), "bytes/op")
	})
	// The axis alone: the page's first request for the stream, with one
	// event (the server keeps the axis of a long stream after the first).
	b.Run("axis", func(b *testing.B) {
		bytes := 0
		for b.Loop() {
			bytes = fetch(b, url+fmt.Sprintf("/v1/timeline/carts/big?from=%d&limit=1&axis=true", n))
		}
		b.ReportMetric(float64(bytes), "bytes/op")
	})
	b.Run("slider-step", func(b *testing.B) {
		for b.Loop() {
			fetch(b, url+fmt.Sprintf("/v1/state/carts/big?version=%d", 1+rand.IntN(n)))
		}
	})
	b.Run("whole-timeline", func(b *testing.B) {
		bytes := 0
		for b.Loop() {
			bytes = 0
			for from := 1; from <= n; from += 1000 {
				bytes += fetch(b, url+fmt.Sprintf("/v1/timeline/carts/big?from=%d", from))
			}
		}
		b.ReportMetric(float64(bytes), "bytes/op")
	})
	b.Run("baseline-store-read", func(b *testing.B) {
		for b.Loop() {
			count := 0
			for _, err := range store.Read(context.Background(), "carts/big/events") {
				if err != nil {
					b.Fatal(err)
				}
				count++
			}
			if count != n {
				b.Fatalf("%d events", count)
			}
		}
	})
}

// BenchmarkSearchEventID is a search for one event id in a category of
// 100,000 events (1,000 streams), made through the store's public Append
// in commits of 100 events, the id being that of the category's last event
// (the worst case for a scan), following the cursor to the end; beside it
// the store's EventByID alone, and as the baseline a plain read of the
// category's events (what a search that scans costs).
func BenchmarkSearchEventID(b *testing.B) { benchSearchEventID(b, 100_000, "100k") }

// BenchmarkSearchEventID1M is BenchmarkSearchEventID on a category of
// 1,000,000 events (the target).
func BenchmarkSearchEventID1M(b *testing.B) { benchSearchEventID(b, 1_000_000, "1M") }

func benchSearchEventID(b *testing.B, n int, size string) {
	url, store := bigCart(b, 10)
	ctx := context.Background()
	for i := 0; i < n; i += 100 {
		events := make([]eventstore.Event, 100)
		for j := range events {
			events[j] = eventstore.Event{Type: "ItemAdded", Data: []byte(`{"sku":"sku-1","quantity":1,"price":5}`)}
		}
		if _, err := store.Append(ctx, fmt.Sprintf("shop/s%d/events", (i/100)%1000), events); err != nil {
			b.Fatal(err)
		}
	}
	var first, last eventstore.Event
	for e, err := range store.ReadCategory(ctx, "shop") {
		if err != nil {
			b.Fatal(err)
		}
		if first.Stream == "" {
			first = e
		}
		last = e
	}
	for _, target := range []struct {
		name string
		e    eventstore.Event
	}{{"last", last}, {"first", first}} {
		b.Run("search-"+target.name+"-"+size, func(b *testing.B) {
			for b.Loop() {
				cursor, found := "", 0
				for {
					resp, err := http.Get(url + "/v1/search?category=shop&eventId=" + target.e.ID.String() + "&cursor=" + cursor)
					if err != nil {
						b.Fatal(err)
					}
					var res aggregatehttp.SearchResult
					err = json.NewDecoder(resp.Body).Decode(&res)
					resp.Body.Close()
					if err != nil {
						b.Fatal(err)
					}
					found += len(res.Events)
					if res.End {
						break
					}
					cursor = res.Cursor
				}
				if found != 1 {
					b.Fatalf("found %d", found)
				}
			}
		})
	}
	b.Run("eventbyid-"+size, func(b *testing.B) {
		for b.Loop() {
			if e, err := store.EventByID(ctx, last.ID); err != nil || e.Offset != last.Offset {
				b.Fatalf("EventByID: %+v, %v", e, err)
			}
		}
	})
	b.Run("baseline-category-read-"+size, func(b *testing.B) {
		for b.Loop() {
			count := 0
			for _, err := range store.ReadCategory(ctx, "shop") {
				if err != nil {
					b.Fatal(err)
				}
				count++
			}
			if count != n {
				b.Fatalf("%d events", count)
			}
		}
	})
}
