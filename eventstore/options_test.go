package eventstore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/rewindhq/rewind/eventstore"
)

// TestOpenReplicas: the embedded server is one node, so Open refuses
// WithReplicas above 1 at once with ErrReplicas, as Connect does for more
// replicas than its cluster has servers, rather than with the server's
// untyped refusal of a replicated log.
func TestOpenReplicas(t *testing.T) {
	ctx := context.Background()
	for _, n := range []int{2, 3, 5} {
		s, err := eventstore.Open(ctx, t.TempDir(), eventstore.WithReplicas(n))
		if err == nil {
			s.Close()
			t.Fatalf("WithReplicas(%d): opened", n)
		}
		if !errors.Is(err, eventstore.ErrReplicas) {
			t.Errorf("WithReplicas(%d): %v, want ErrReplicas", n, err)
		}
	}
	s, err := eventstore.Open(ctx, t.TempDir(), eventstore.WithReplicas(1))
	if err != nil {
		t.Fatalf("WithReplicas(1): %v", err)
	}
	s.Close()
}
