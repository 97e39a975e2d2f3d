package aggregate_test

import (
	"context"
	"testing"

	"github.com/rewindhq/rewind/aggregate"
	"github.com/rewindhq/rewind/eventstore"
)

func openStore(t testing.TB, opts ...eventstore.Option) *eventstore.Store {
	t.Helper()
	s, err := eventstore.Open(context.Background(), t.TempDir(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newRepo(t testing.TB, s *eventstore.Store, d *aggregate.Definition[order, orderEvent], opts ...aggregate.Option) *aggregate.Repository[order, orderEvent] {
	t.Helper()
	r, err := aggregate.NewRepository(s, d, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}
