package durablestreams_test

import (
	"testing"

	"github.com/rewindhq/rewind/internal/leakcheck"
)

// TestMain fails the package when a goroutine of ours, of the store or of
// NATS outlives the tests: every store, server and wait a test started
// must have ended with it.
func TestMain(m *testing.M) { leakcheck.Main(m) }
