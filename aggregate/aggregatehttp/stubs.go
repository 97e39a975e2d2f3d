package aggregatehttp

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/rewindhq/rewind/aggregate"
	"github.com/rewindhq/rewind/eventstore"
)

type ops struct{}

func newOps[S, E any](store *eventstore.Store, repo *aggregate.Repository[S, E]) *ops { return &ops{} }

func makeCommand[S, E any](store *eventstore.Store, repo *aggregate.Repository[S, E], decode func(map[string]json.RawMessage) (func(S) ([]E, error), error)) commandFunc {
	return func(ctx context.Context, id string, fields map[string]json.RawMessage, key string) (commandAnswer, error) {
		return commandAnswer{}, nil
	}
}

func decodeFields(fields map[string]json.RawMessage, v any) error { return nil }

func notYet(w http.ResponseWriter, _ *http.Request) {
	writeError(w, http.StatusNotImplemented, "not implemented yet")
}

func (r *Registry) serveCommand(w http.ResponseWriter, req *http.Request)    { notYet(w, req) }
func (r *Registry) serveState(w http.ResponseWriter, req *http.Request)      { notYet(w, req) }
func (r *Registry) serveDiff(w http.ResponseWriter, req *http.Request)       { notYet(w, req) }
func (r *Registry) serveTimeline(w http.ResponseWriter, req *http.Request)   { notYet(w, req) }
func (r *Registry) serveExport(w http.ResponseWriter, req *http.Request)     { notYet(w, req) }
func (r *Registry) serveAggregates(w http.ResponseWriter, req *http.Request) { notYet(w, req) }
func (r *Registry) serveStreams(w http.ResponseWriter, req *http.Request)    { notYet(w, req) }
func (r *Registry) serveEvents(w http.ResponseWriter, req *http.Request)     { notYet(w, req) }
