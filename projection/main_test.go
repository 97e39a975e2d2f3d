package projection_test

import (
	"testing"

	"github.com/rewindhq/rewind/internal/testchild"
)

// childEnv selects child mode: tests that need another process re-execute
// the test binary with REWIND_PROJ_CHILD=<name>.
const childEnv = "REWIND_PROJ_CHILD"

var children = map[string]func() int{}

func TestMain(m *testing.M) { testchild.Main(m, childEnv, children) }
