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

// TestNilOptionsIgnored: a nil option, as a caller that builds its options
// conditionally may pass, is no option, never a panic.
func TestNilOptionsIgnored(t *testing.T) {
	ctx := context.Background()
	s, err := eventstore.Open(ctx, t.TempDir(), nil)
	if err != nil {
		t.Fatalf("Open with a nil Option: %v", err)
	}
	defer s.Close()
	if _, err := s.Append(ctx, "nil/1", evs(2, 1), nil); err != nil {
		t.Fatalf("Append with a nil AppendOption: %v", err)
	}
	if got := collect(t, s.Read(ctx, "nil/1", nil)); len(got) != 2 {
		t.Errorf("Read with a nil ReadOption: %d events", len(got))
	}
	if got := collect(t, s.ReadAll(ctx, nil)); len(got) != 2 {
		t.Errorf("ReadAll with a nil ReadOption: %d events", len(got))
	}
	if err := eventstore.CheckUpperBounds(nil); err != nil {
		t.Errorf("CheckUpperBounds(nil): %v", err)
	}
	if _, _, err := s.LoadSnapshot(ctx, "nil/1", nil); err != nil {
		t.Errorf("LoadSnapshot with a nil ReadOption: %v", err)
	}
	p, err := s.Producer(ctx, "nil/1", "p", nil)
	if err != nil {
		t.Fatalf("Producer with a nil ProducerOption: %v", err)
	}
	if err := p.Close(ctx); err != nil {
		t.Error(err)
	}
}
