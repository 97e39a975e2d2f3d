package projectionhttp_test

import (
	"testing"

	"github.com/rewindhq/rewind/internal/leakcheck"
)

// TestMain fails the package when a goroutine of ours, of the store or of
// NATS outlives the tests: every rebuild the handler started must have
// ended by its Close.
func TestMain(m *testing.M) { leakcheck.Main(m) }
