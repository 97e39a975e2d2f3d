package projection

import "github.com/rewindhq/rewind/observe"

// A runner reports to its store's Observer (eventstore.WithObserver):
// each batch is a span ("projection.Batch") and is counted with its
// latency (rewind_projection_batches_total, _events_total,
// _batch_duration_seconds), as are retries and poison events; and at each
// scrape every projection's position, lag behind its own source (the
// Status of each, in commits and in time) and whether this process holds
// its lease (rewind_projection_position, _lag_commits, _lag_seconds,
// _lease_held).

// watch shows the runner's projections to the Observer's scrapes; the
// returned func stops it.
func (r *Runner) watch() func() {
	if r.store == nil { // Start refuses every projection
		return func() {}
	}
	o := r.store.Observer()
	if !o.Metrics() {
		return func() {}
	}
	return o.WatchProjections(&observe.ProjectionSource{States: r.observed})
}

// observed is every projection's state, for a scrape.
func (r *Runner) observed() []observe.ProjectionState {
	sts := r.Statuses()
	out := make([]observe.ProjectionState, 0, len(sts))
	for _, st := range sts {
		out = append(out, observe.ProjectionState{Name: st.Name, Position: offsetSeq(st.Position),
			LagCommits: st.LagCommits, LagTime: st.LagTime, Leading: st.State == StateCatchingUp || st.State == StateLive})
	}
	return out
}
