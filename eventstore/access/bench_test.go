package access_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/rewindhq/rewind/eventstore/access"
)

// BenchmarkTokensAuthorize is the cost of one request's check against a
// tokens file of 10 tokens (hash, 10 constant-time compares, scope match).
func BenchmarkTokensAuthorize(b *testing.B) {
	var lines []string
	var token string
	for i := range 10 {
		tok, line, err := access.NewToken(fmt.Sprintf("write:bench%d/*", i))
		if err != nil {
			b.Fatal(err)
		}
		lines, token = append(lines, line), tok
	}
	toks, err := access.ParseTokens(strings.NewReader(strings.Join(lines, "\n")))
	if err != nil {
		b.Fatal(err)
	}
	r := bearer(token)
	op := access.Op{Action: access.Write, Resource: "bench9/x"}
	for b.Loop() {
		if err := toks.Authorize(r, op); err != nil {
			b.Fatal(err)
		}
	}
}
