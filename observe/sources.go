package observe

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// IndexState is what a store tells of its read index at a scrape.
type IndexState struct {
	// Applied is the log position up to which the index is complete.
	Applied uint64
	// Log is the log's last position.
	Log uint64
}

// IndexSource is a store's read index as a scrape sees it (see
// WatchIndex).
type IndexSource struct {
	// Store names the store: its log's name, the label "store".
	Store string
	// Log identifies the log (its id; "" if unknown): two sources of one
	// log are one series; two logs of one name are told apart by it
	// ("rewind@1a2b3c4d").
	Log string
	// State reads the index's state; an error leaves the gauges out of
	// that scrape.
	State func(ctx context.Context) (IndexState, error)
}

// ProjectionState is what a runner tells of one projection at a scrape.
type ProjectionState struct {
	Name string
	// Position is the log position of the last event applied.
	Position uint64
	// LagCommits and LagTime are its lag behind its own source.
	LagCommits uint64
	LagTime    time.Duration
	// Leading is true while it holds its lease and feeds (false while it
	// stands by, has failed or has stopped).
	Leading bool
}

// ProjectionSource is a runner's projections as a scrape sees them (see
// WatchProjections).
type ProjectionSource struct {
	// States returns every projection's state.
	States func() []ProjectionState
}

// WatchIndex makes every scrape read src; the returned func stops it. The
// store calls it when it opens with an Observer that counts metrics.
func (o *Observer) WatchIndex(src *IndexSource) (stop func()) {
	return o.watch(func(add bool) {
		if add {
			o.indexes[src] = struct{}{}
		} else {
			delete(o.indexes, src)
		}
	})
}

// WatchProjections makes every scrape read src; the returned func stops
// it. projection.NewRunner calls it for a store with an Observer.
func (o *Observer) WatchProjections(src *ProjectionSource) (stop func()) {
	return o.watch(func(add bool) {
		if add {
			o.runners[src] = struct{}{}
		} else {
			delete(o.runners, src)
		}
	})
}

// parkedSource is a server's parked requests, for WatchParked.
type parkedSource struct {
	route   string
	waiting func() int
}

// WatchParked makes every scrape read waiting, how many requests of route
// are parked (long-polls and SSE streams waiting for data, such as
// durablestreams.Handler.Waiting): rewind_http_parked_requests{route}.
// The returned func stops it.
func (o *Observer) WatchParked(route string, waiting func() int) (stop func()) {
	src := &parkedSource{route: route, waiting: waiting}
	return o.watch(func(add bool) {
		if add {
			o.parked[src] = struct{}{}
		} else {
			delete(o.parked, src)
		}
	})
}

func (o *Observer) watch(set func(add bool)) func() {
	if !o.Metrics() {
		return func() {}
	}
	o.mu.Lock()
	set(true)
	o.mu.Unlock()
	return func() {
		o.mu.Lock()
		set(false)
		o.mu.Unlock()
	}
}

// scrapeTimeout bounds what one scrape waits for a store's log position
// (a request to the cluster).
const scrapeTimeout = 2 * time.Second

var (
	descIndexApplied = prometheus.NewDesc("rewind_index_applied_position", "Log position up to which the read index is complete.", []string{"store"}, nil)
	descLogPosition  = prometheus.NewDesc("rewind_log_position", "The log's last position.", []string{"store"}, nil)
	descIndexLag     = prometheus.NewDesc("rewind_index_lag_commits", "Commits of the log not yet in the read index.", []string{"store"}, nil)
	descProjPosition = prometheus.NewDesc("rewind_projection_position", "Log position of the last event a projection applied.", []string{"projection"}, nil)
	descProjLag      = prometheus.NewDesc("rewind_projection_lag_commits", "How far the projection's source's newest event lies after its position, in log commits.", []string{"projection"}, nil)
	descProjLagTime  = prometheus.NewDesc("rewind_projection_lag_seconds", "How long the oldest event of its source the projection has yet to apply has been stored.", []string{"projection"}, nil)
	descParked       = prometheus.NewDesc("rewind_http_parked_requests", "HTTP requests parked: long-polls and SSE streams waiting for data, by route.", []string{"route"}, nil)
	descProjLeading  = prometheus.NewDesc("rewind_projection_lease_held", "1 while this process holds the projection's lease and feeds it, else 0.", []string{"projection"}, nil)
)

// gauges reads the watched stores and runners at each scrape. It is an
// unchecked collector (Describe sends nothing): its series come and go
// with the stores and projections.
type gauges struct{ o *Observer }

func (g *gauges) Describe(chan<- *prometheus.Desc) {}

func (g *gauges) Collect(ch chan<- prometheus.Metric) {
	o := g.o
	o.mu.Lock()
	idx := make([]*IndexSource, 0, len(o.indexes))
	for s := range o.indexes {
		idx = append(idx, s)
	}
	run := make([]*ProjectionSource, 0, len(o.runners))
	for s := range o.runners {
		run = append(run, s)
	}
	parked := map[string]int{}
	for s := range o.parked {
		parked[s.route] += s.waiting()
	}
	o.mu.Unlock()
	for route, n := range parked {
		ch <- prometheus.MustNewConstMetric(descParked, prometheus.GaugeValue, float64(n), route)
	}
	seen := map[string]bool{}
	for _, s := range idx {
		label := indexLabel(s, idx)
		if seen[label] {
			continue // two stores on one log: one series
		}
		ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
		st, err := s.State(ctx)
		cancel()
		if err != nil {
			continue
		}
		seen[label] = true
		ch <- prometheus.MustNewConstMetric(descIndexApplied, prometheus.GaugeValue, float64(st.Applied), label)
		ch <- prometheus.MustNewConstMetric(descLogPosition, prometheus.GaugeValue, float64(st.Log), label)
		ch <- prometheus.MustNewConstMetric(descIndexLag, prometheus.GaugeValue, float64(st.Log-min(st.Applied, st.Log)), label)
	}
	named := map[string]bool{}
	for _, s := range run {
		for _, p := range s.States() {
			if named[p.Name] {
				continue
			}
			named[p.Name] = true
			lead := 0.0
			if p.Leading {
				lead = 1
			}
			ch <- prometheus.MustNewConstMetric(descProjPosition, prometheus.GaugeValue, float64(p.Position), p.Name)
			ch <- prometheus.MustNewConstMetric(descProjLag, prometheus.GaugeValue, float64(p.LagCommits), p.Name)
			ch <- prometheus.MustNewConstMetric(descProjLagTime, prometheus.GaugeValue, p.LagTime.Seconds(), p.Name)
			ch <- prometheus.MustNewConstMetric(descProjLeading, prometheus.GaugeValue, lead, p.Name)
		}
	}
}

// indexLabel is the "store" label of s's index gauges: its log's name,
// and, when another source of all has the name for another log, the
// log's id after "@" (its first 8 characters), so that two logs of one
// name are two series, each always the same.
func indexLabel(s *IndexSource, all []*IndexSource) string {
	for _, o := range all {
		if o.Store == s.Store && o.Log != s.Log {
			id := s.Log
			if len(id) > 8 {
				id = id[:8]
			}
			return s.Store + "@" + id
		}
	}
	return s.Store
}
