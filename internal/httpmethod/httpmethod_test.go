package httpmethod_test

import (
	"strings"
	"testing"

	"github.com/rewindhq/rewind/internal/httpmethod"
)

func TestName(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"GET", "GET"},
		{"HEAD", "HEAD"},
		{"POST", "POST"},
		{"PUT", "PUT"},
		{"PATCH", "PATCH"},
		{"DELETE", "DELETE"},
		{"OPTIONS", "OPTIONS"},
		{"CONNECT", "CONNECT"},
		{"TRACE", "TRACE"},
		{"get", "other"},
		{"PROPFIND", "other"},
		{"", "other"},
		{strings.Repeat("X", 4096), "other"},
	} {
		if got := httpmethod.Name(c.in); got != c.want {
			t.Errorf("Name(%.20q) = %q, want %q", c.in, got, c.want)
		}
	}
}
