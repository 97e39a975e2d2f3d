package aggregate_test

import (
	"testing"

	"github.com/rewindhq/rewind/internal/testchild"
)

// childEnv selects child mode: a test that needs a second process
// re-executes the test binary with REWIND_AGG_CHILD=<name>, and TestMain
// runs children[name] instead of the tests.
const childEnv = "REWIND_AGG_CHILD"

var children = map[string]func() int{}

func TestMain(m *testing.M) { testchild.Main(m, childEnv, children) }
