// Package observe makes Rewind visible to the tools its users already run:
// Prometheus metrics (scraped from /metrics, graphed by the Grafana
// dashboard in docs/grafana/rewind.json), OpenTelemetry traces, and
// health and readiness probes for a load balancer.
//
// # No global state
//
// An [Observer] holds everything: the metrics are registered on the
// user's own prometheus.Registerer ([WithRegisterer]), the spans made with
// the user's own trace.TracerProvider ([WithTracerProvider]). Give it to
// the store with eventstore.WithObserver; the aggregate repositories and
// the projection runners made on that store report to it too, and
// [Observer.Handler] wraps HTTP handlers. Without an Observer (the
// default) nothing is observed and nothing is paid: Append, the reads and
// the subscriptions check one nil pointer. An Observer with metrics and no tracer provider makes
// no span.
//
//	reg := prometheus.NewRegistry()
//	obs, err := observe.New(observe.WithRegisterer(reg), observe.WithTracerProvider(tp))
//	store, err := eventstore.Open(ctx, dir, eventstore.WithObserver(obs))
//	mux.Handle("/v1/", obs.Handler("/v1/", api))
//	mux.Handle("/metrics", observe.MetricsHandler(reg, authorizer))
//
// Why the Prometheus client rather than OpenTelemetry's metrics SDK with
// its Prometheus exporter: measured on the append path in one run
// (BenchmarkObserve, BENCHMARKS.md), recording the same instruments cost
// less with the Prometheus client, and Prometheus' format is what a
// scrape reads either way. Traces use OpenTelemetry, the standard every
// collector takes.
//
// # Metrics
//
// The store: rewind_appends_total{outcome} (ok, duplicate, conflict,
// fenced, gap, closed, invalid, error), rewind_append_events_total,
// rewind_append_bytes_total, rewind_append_duration_seconds,
// rewind_append_duplicates_total{reason} (command, producer),
// rewind_producer_refusals_total{reason} (fenced, gap),
// rewind_reads_total{kind}, rewind_read_events_total{kind},
// rewind_read_duration_seconds{kind} (kind: stream for Read, category for
// ReadCategory, all for ReadAll, streams for ReadStreams),
// rewind_subscriptions_total{kind} (started), rewind_subscriptions_active
// {kind}, rewind_subscription_events_total{kind} and
// rewind_subscription_lag_seconds{kind} (each event's age when a
// subscription delivers it: a live subscription's delivery latency, or
// how far behind one that catches up reads; kind: stream for Subscribe,
// category, all, streams), rewind_index_rebuilds_total,
// rewind_index_stalls_total, and, read at each scrape,
// rewind_index_applied_position{store}, rewind_log_position{store} and
// rewind_index_lag_commits{store} (present from the end of the store's
// start, see eventstore.Store.Started, to its Close); with SyncAlways the
// group commit's
// rewind_group_commit_rounds_total, rewind_group_commit_appenders and
// rewind_fsync_duration_seconds. Store.Append, each batch a Producer
// commits (one append, however many of its Append calls it holds), every
// read and every subscription are counted.
//
// Aggregates, by aggregate type (its category): rewind_commands_total
// {aggregate, outcome} (ok, noop, refused, duplicate, conflict: too many
// conflicts, error), rewind_command_duration_seconds,
// rewind_command_retries_total, rewind_aggregate_cache_total{result} (hit,
// miss), rewind_loads_total{snapshot} (true, false),
// rewind_load_events_total and rewind_load_duration_seconds.
//
// Projections, by name: rewind_projection_batches_total,
// rewind_projection_events_total, rewind_projection_batch_duration_seconds,
// rewind_projection_retries_total, rewind_projection_poison_total{policy}
// (stop, dead-letter), and, read at each scrape from the runner's Status,
// rewind_projection_position, rewind_projection_lag_commits,
// rewind_projection_lag_seconds (lag against the projection's own source)
// and rewind_projection_lease_held (1 while this process feeds it).
//
// HTTP, by route (the pattern given to Handler, never a path with names
// in it; only the handlers wrapped in Handler are counted: rewind serve
// wraps its streams' routes, not /metrics, /healthz or /readyz):
// rewind_http_requests_total{route, method, code},
// rewind_http_request_duration_seconds{route, method},
// rewind_http_in_flight_requests{route} (every request being answered),
// rewind_http_response_bytes_total{route},
// rewind_http_request_bytes_total{route} (the bodies read), and, read at
// each scrape from
// a server given to WatchParked, rewind_http_parked_requests{route}: the
// long-polls and SSE streams waiting for data.
//
// Series of a known label value exist at zero from the start (an
// aggregate type once its repository is made, a projection once started),
// so a rate has a beginning.
//
// # Traces
//
// Spans: "eventstore.Append", "eventstore.Read", "eventstore.ReadAll",
// "eventstore.ReadCategory", "eventstore.ReadStreams" (a subscription,
// which lives as long as its subscriber, makes none), "aggregate.Handle" with
// children "aggregate.Decide" (each run of the decider, with its
// attempt), the store's "eventstore.Append", "aggregate.Retry" (the pause
// before each retry after a conflict) and "aggregate.Load";
// "projection.Batch"; and a server span for every request through
// Handler, whose parent is the trace context the request carries (W3C
// traceparent; WithPropagator for another). An Append under a span
// records the span's traceparent in each event's metadata
// (eventstore.MetaTraceParent, unless the event has one), so an event's
// causation can be found from a trace and a trace from an event.
// Unlike the metrics' labels, spans name what they touch: a server span's
// url.path and the store's spans carry stream names, so a collector sees
// them (choose its access as you would the store's).
//
// # Health
//
// [Healthz] answers 200 while the process serves; [Readyz] answers 200
// when its check passes (eventstore.Store.Ready: the store is open, the
// cluster answers, the read index is within a bound of the log) and 503
// otherwise. Both are open and say nothing but ok or not. [MetricsHandler]
// asks the server's access.Authorizer for [MetricsOp], which the scope
// admin:metrics allows (a scrape token carrying only that scope can do
// nothing else) and admin too.
package observe
