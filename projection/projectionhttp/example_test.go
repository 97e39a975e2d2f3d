package projectionhttp_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/rewindhq/rewind/checkpoint"
	"github.com/rewindhq/rewind/eventstore"
	"github.com/rewindhq/rewind/projection"
	"github.com/rewindhq/rewind/projection/projectionhttp"
)

// Serve a runner's projections over HTTP, with a rebuild for one of them.
func ExampleNew() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "rewind-example-*")
	defer os.RemoveAll(dir)
	store, err := eventstore.Open(ctx, dir)
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	for _, stream := range []string{"orders/1", "orders/2"} {
		if _, err := store.Append(ctx, stream, []eventstore.Event{{Type: "OrderPlaced"}}); err != nil {
			log.Fatal(err)
		}
	}
	count := func(context.Context, projection.Batch) error { return nil }
	runner := projection.NewRunner(store, nil)
	defer runner.Close()
	orders := projection.Projection{Name: "orders", Source: projection.Category("orders"),
		Sink: projection.AtLeastOnce("orders", projection.HandlerFunc(count), &checkpoint.Memory{})}
	if err := runner.Start(ctx, orders); err != nil {
		log.Fatal(err)
	}
	if err := runner.WaitCaughtUp(ctx, "orders"); err != nil {
		log.Fatal(err)
	}

	h := projectionhttp.New(runner, map[string]projectionhttp.Rebuilder{
		"orders": func(ctx context.Context, progress func(projection.Progress)) error {
			next := projection.Projection{Name: "orders-v2", Source: projection.Category("orders"),
				Sink: projection.AtLeastOnce("orders-v2", projection.HandlerFunc(count), &checkpoint.Memory{})}
			return projection.Rebuild(ctx, runner, next, progress)
		},
	})
	defer h.Close()
	mux := http.NewServeMux()
	mux.Handle("/v1/projections", h)
	mux.Handle("/v1/projections/", h)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/v1/projections")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	fmt.Print(string(b))
	// Output:
	// {"projections":[{"name":"orders","status":"live","position":"00000000000000000002_999999","lagEvents":0,"lagSeconds":0,"error":"","rebuild":{"name":"orders","running":false,"started":null,"finished":null,"events":0,"done":0,"total":0,"rate":0,"etaSeconds":0,"error":""}}]}
}
