package app

import (
	"context"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/rewindhq/rewind/observe"
)

// ReadyMaxLag is how many commits the read index may lie behind the log
// for /readyz to answer ready.
const ReadyMaxLag = 10_000

// observe makes the application's Observer: its metrics on a registry of
// its own (with the Go runtime's and the process's), its spans on
// cfg.TracerProvider if any.
func (a *App) observe(cfg Config) error {
	a.metrics = prometheus.NewRegistry()
	a.metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	opts := []observe.Option{observe.WithRegisterer(a.metrics)}
	if cfg.TracerProvider != nil {
		opts = append(opts, observe.WithTracerProvider(cfg.TracerProvider))
	}
	obs, err := observe.New(opts...)
	if err != nil {
		return err
	}
	a.obs = obs
	return nil
}

// operations mounts /metrics (which needs the scope admin:metrics when
// the server authenticates), /healthz and /readyz (open: they reveal
// nothing) on mux.
func (a *App) operations(mux *http.ServeMux) {
	mux.Handle("/metrics", observe.MetricsHandler(a.metrics, a.auth))
	mux.Handle("/healthz", observe.Healthz())
	mux.Handle("/readyz", observe.Readyz(func(ctx context.Context) error { return a.Store.Ready(ctx, ReadyMaxLag) },
		func(err error) { a.log.Warn("orders: not ready", "err", err) }))
}
