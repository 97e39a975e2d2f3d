package observe

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the instruments of one Observer, registered on the user's
// registerer (no global registry: two Observers on two registries count
// apart).
type metrics struct {
	appends         *prometheus.CounterVec // outcome
	appendEvents    prometheus.Counter
	appendBytes     prometheus.Counter
	appendSeconds   prometheus.Histogram
	duplicates      *prometheus.CounterVec   // reason
	producerRefused *prometheus.CounterVec   // reason
	reads           *prometheus.CounterVec   // kind
	readEvents      *prometheus.CounterVec   // kind
	readSeconds     *prometheus.HistogramVec // kind
	subsStarted     *prometheus.CounterVec   // kind
	subsActive      *prometheus.GaugeVec     // kind
	subEvents       *prometheus.CounterVec   // kind
	subLag          *prometheus.HistogramVec // kind
	indexRebuilds   prometheus.Counter
	indexStalls     prometheus.Counter
	groupRounds     prometheus.Counter
	groupAppenders  prometheus.Histogram
	fsyncSeconds    prometheus.Histogram

	commands       *prometheus.CounterVec   // aggregate, outcome
	commandSeconds *prometheus.HistogramVec // aggregate
	commandRetries *prometheus.CounterVec   // aggregate
	cache          *prometheus.CounterVec   // aggregate, result
	loads          *prometheus.CounterVec   // aggregate, snapshot
	loadEvents     *prometheus.CounterVec   // aggregate
	loadSeconds    *prometheus.HistogramVec // aggregate

	batches      *prometheus.CounterVec   // projection
	batchEvents  *prometheus.CounterVec   // projection
	batchSeconds *prometheus.HistogramVec // projection
	projRetries  *prometheus.CounterVec   // projection
	projPoison   *prometheus.CounterVec   // projection, policy

	httpRequests *prometheus.CounterVec   // route, method, code
	httpSeconds  *prometheus.HistogramVec // route, method
	httpInFlight *prometheus.GaugeVec     // route
	httpBytes    *prometheus.CounterVec   // route

	httpRequestBytes *prometheus.CounterVec // route
}

// latency is the buckets of every duration histogram, in seconds: 100 µs
// (a cached load) to 6.5 s (an append waiting out an election), ×4 apart.
var latency = prometheus.ExponentialBuckets(0.0001, 4, 9)

// lagBuckets are the buckets of a subscription's lag, in seconds: 1 ms (a
// live subscription's delivery) to 70 minutes (one catching up), ×4
// apart; older is +Inf.
var lagBuckets = prometheus.ExponentialBuckets(0.001, 4, 12)

func newMetrics(reg prometheus.Registerer, o *Observer) (*metrics, error) {
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	}
	counterVec := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	}
	histogram := func(name, help string, buckets []float64) prometheus.Histogram {
		return prometheus.NewHistogram(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets})
	}
	histogramVec := func(name, help string, labels ...string) *prometheus.HistogramVec {
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: latency}, labels)
	}
	m := &metrics{
		appends:         counterVec("rewind_appends_total", "Appends by outcome: ok, duplicate, conflict, fenced, gap, closed, invalid, error.", "outcome"),
		appendEvents:    counter("rewind_append_events_total", "Events stored by appends."),
		appendBytes:     counter("rewind_append_bytes_total", "Bytes of data and metadata stored by appends."),
		appendSeconds:   histogram("rewind_append_duration_seconds", "Latency of Append, every outcome.", latency),
		duplicates:      counterVec("rewind_append_duplicates_total", "Appends found already stored, by reason: producer (a sequence number) or command (a command id).", "reason"),
		producerRefused: counterVec("rewind_producer_refusals_total", "Producer appends refused, by reason: fenced (a stale epoch) or gap (a sequence gap).", "reason"),
		reads:           counterVec("rewind_reads_total", "Reads, by kind: stream (Read), category (ReadCategory), all (ReadAll), streams (ReadStreams).", "kind"),
		readEvents:      counterVec("rewind_read_events_total", "Events delivered by reads, by kind.", "kind"),
		readSeconds:     histogramVec("rewind_read_duration_seconds", "Time from a read's start to its last event (the consumer's time included), by kind.", "kind"),
		subsStarted:     counterVec("rewind_subscriptions_total", "Subscriptions started, by kind: stream (Subscribe), category, all, streams.", "kind"),
		subsActive: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "rewind_subscriptions_active",
			Help: "Subscriptions running (catching up or live), by kind."}, []string{"kind"}),
		subEvents: counterVec("rewind_subscription_events_total", "Events delivered by subscriptions, by kind.", "kind"),
		subLag: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "rewind_subscription_lag_seconds",
			Help:    "Time from an event's storing to its delivery by a subscription, by kind: a live subscription's delivery latency, or how far behind a catching-up one reads.",
			Buckets: lagBuckets}, []string{"kind"}),
		indexRebuilds:  counter("rewind_index_rebuilds_total", "Rebuilds of the read index (Reindex, after damage, or at open for an index it could not use)."),
		indexStalls:    counter("rewind_index_stalls_total", "Waits for the read index that gave up with ErrIndexStalled."),
		groupRounds:    counter("rewind_group_commit_rounds_total", "Fsync rounds of the group commit (SyncAlways)."),
		groupAppenders: histogram("rewind_group_commit_appenders", "Appends that shared one fsync round.", prometheus.ExponentialBuckets(1, 2, 9)),
		fsyncSeconds:   histogram("rewind_fsync_duration_seconds", "Latency of one group commit fsync round.", latency),

		commands:       counterVec("rewind_commands_total", "Commands handled, by aggregate type and outcome: ok, noop, refused, duplicate, conflict (too many), error.", "aggregate", "outcome"),
		commandSeconds: histogramVec("rewind_command_duration_seconds", "Latency of Handle, by aggregate type.", "aggregate"),
		commandRetries: counterVec("rewind_command_retries_total", "Handle retries after a concurrency conflict, by aggregate type.", "aggregate"),
		cache:          counterVec("rewind_aggregate_cache_total", "Lookups of the repository cache by Handle, by aggregate type and result: hit or miss.", "aggregate", "result"),
		loads:          counterVec("rewind_loads_total", "Loads of an aggregate instance, by type and whether a snapshot was used (snapshot: true or false).", "aggregate", "snapshot"),
		loadEvents:     counterVec("rewind_load_events_total", "Events replayed by loads, by aggregate type.", "aggregate"),
		loadSeconds:    histogramVec("rewind_load_duration_seconds", "Latency of a load, by aggregate type.", "aggregate"),

		batches:      counterVec("rewind_projection_batches_total", "Batches applied, by projection.", "projection"),
		batchEvents:  counterVec("rewind_projection_events_total", "Events applied, by projection.", "projection"),
		batchSeconds: histogramVec("rewind_projection_batch_duration_seconds", "Latency of applying one batch (retries included), by projection.", "projection"),
		projRetries:  counterVec("rewind_projection_retries_total", "Batches tried again after a failure, by projection.", "projection"),
		projPoison:   counterVec("rewind_projection_poison_total", "Poison events, by projection and policy: stop or dead-letter.", "projection", "policy"),

		httpRequests: counterVec("rewind_http_requests_total", "HTTP requests answered, by route, method and status code.", "route", "method", "code"),
		httpSeconds:  histogramVec("rewind_http_request_duration_seconds", "HTTP request latency to the end of the answer (long-polls and SSE included), by route and method.", "route", "method"),
		httpInFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "rewind_http_in_flight_requests",
			Help: "HTTP requests being answered, by route: parked long-polls and open SSE streams show here."}, []string{"route"}),
		httpBytes:        counterVec("rewind_http_response_bytes_total", "Bytes of HTTP answers' bodies, by route.", "route"),
		httpRequestBytes: counterVec("rewind_http_request_bytes_total", "Bytes of HTTP requests' bodies read, by route.", "route"),
	}
	cs := []prometheus.Collector{m.appends, m.appendEvents, m.appendBytes, m.appendSeconds, m.duplicates, m.producerRefused,
		m.reads, m.readEvents, m.readSeconds, m.subsStarted, m.subsActive, m.subEvents, m.subLag, m.indexRebuilds, m.indexStalls, m.groupRounds, m.groupAppenders, m.fsyncSeconds,
		m.commands, m.commandSeconds, m.commandRetries, m.cache, m.loads, m.loadEvents, m.loadSeconds,
		m.batches, m.batchEvents, m.batchSeconds, m.projRetries, m.projPoison,
		m.httpRequests, m.httpSeconds, m.httpInFlight, m.httpBytes, m.httpRequestBytes, &gauges{o: o}}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	// Outcomes a dashboard sums over exist from the start, at zero.
	for _, oc := range []string{AppendOK, AppendDuplicate, AppendConflict, AppendFenced, AppendGap, AppendClosed, AppendInvalid, AppendError} {
		m.appends.WithLabelValues(oc)
	}
	m.duplicates.WithLabelValues("command")
	m.duplicates.WithLabelValues("producer")
	m.producerRefused.WithLabelValues(AppendFenced)
	m.producerRefused.WithLabelValues(AppendGap)
	for _, k := range []string{ReadStream, ReadCategory, ReadAll, ReadStreams} {
		m.reads.WithLabelValues(k)
		m.readEvents.WithLabelValues(k)
		m.readSeconds.WithLabelValues(k)
		m.subsStarted.WithLabelValues(k)
		m.subsActive.WithLabelValues(k)
		m.subEvents.WithLabelValues(k)
		m.subLag.WithLabelValues(k)
	}
	return m, nil
}

// AggregateKnown makes the series of aggregate exist at zero, so that a
// dashboard's rates over them have a start: a repository of that type
// was made. aggregate.NewRepository calls it.
func (o *Observer) AggregateKnown(aggregate string) {
	m := o.metrics()
	if m == nil {
		return
	}
	for _, oc := range []string{CommandOK, CommandNoop, CommandRefused, CommandDuplicate, CommandConflict, CommandError} {
		m.commands.WithLabelValues(aggregate, oc)
	}
	m.commandSeconds.WithLabelValues(aggregate)
	m.commandRetries.WithLabelValues(aggregate)
	m.cache.WithLabelValues(aggregate, "hit")
	m.cache.WithLabelValues(aggregate, "miss")
	m.loads.WithLabelValues(aggregate, "true")
	m.loads.WithLabelValues(aggregate, "false")
	m.loadEvents.WithLabelValues(aggregate)
	m.loadSeconds.WithLabelValues(aggregate)
}

// ProjectionKnown makes the series of projection exist at zero: it was
// started. projection.Runner.Start calls it.
func (o *Observer) ProjectionKnown(projection string) {
	m := o.metrics()
	if m == nil {
		return
	}
	m.batches.WithLabelValues(projection)
	m.batchEvents.WithLabelValues(projection)
	m.batchSeconds.WithLabelValues(projection)
	m.projRetries.WithLabelValues(projection)
	m.projPoison.WithLabelValues(projection, "stop")
	m.projPoison.WithLabelValues(projection, "dead-letter")
}
