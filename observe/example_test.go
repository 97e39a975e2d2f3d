package observe_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rewindhq/rewind/eventstore/access"
	"github.com/rewindhq/rewind/internal/scrape"
	"github.com/rewindhq/rewind/observe"
)

// An Observer on the application's own registry counts the requests of
// the handlers it wraps; MetricsHandler serves the registry.
func Example() {
	reg := prometheus.NewRegistry()
	obs, err := observe.New(observe.WithRegisterer(reg))
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/v1/", obs.Handler("/v1/", http.NotFoundHandler()))
	mux.Handle("/metrics", observe.MetricsHandler(reg, access.Anonymous{}))
	mux.Handle("/healthz", observe.Healthz())
	srv := httptest.NewServer(mux)
	defer srv.Close()

	for range 2 {
		resp, err := http.Get(srv.URL + "/v1/nothing")
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
	}
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	ss, err := scrape.Parse(resp.Body)
	if err != nil {
		panic(err)
	}
	n, _ := ss.Sum("rewind_http_requests_total", "route", "/v1/", "code", "404")
	fmt.Println(resp.StatusCode, n)
	// Output: 200 2
}
