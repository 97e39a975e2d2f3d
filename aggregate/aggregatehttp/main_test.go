package aggregatehttp_test

import (
	"testing"

	"github.com/rewindhq/rewind/internal/leakcheck"
)

// TestMain fails the package when a goroutine of ours, of the store or of
// NATS outlives the tests: a wait the events endpoint started must end
// with its request.
func TestMain(m *testing.M) { leakcheck.Main(m) }
