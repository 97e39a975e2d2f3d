package reason

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCap(t *testing.T) {
	if got := Cap("short"); got != "short" {
		t.Errorf("Cap(short) = %q", got)
	}
	for _, s := range []string{strings.Repeat("a", 60000), strings.Repeat("é", 1000), strings.Repeat("a", Max+1)} {
		got := Cap(s)
		if len(got) > Max || !utf8.ValidString(got) || !strings.HasSuffix(got, "…") || !strings.HasPrefix(s, strings.TrimSuffix(got, "…")) {
			t.Errorf("Cap of %d bytes = %d bytes %q…", len(s), len(got), got[:20])
		}
	}
	if got := Cap(strings.Repeat("a", Max)); got != strings.Repeat("a", Max) {
		t.Error("Cap cut a reason of exactly Max bytes")
	}
}

func TestQuote(t *testing.T) {
	if got := Quote(`a"b`); got != `"a\"b"` {
		t.Errorf("Quote = %s", got)
	}
	got := Quote(strings.Repeat("x", 60000))
	if len(got) > maxQuoted+10 || !strings.HasPrefix(got, `"xxx`) || !strings.HasSuffix(got, `"…`) {
		t.Errorf("Quote of 60000 bytes = %d bytes %s", len(got), got)
	}
	if got := Quote(strings.Repeat("é", 100)); !utf8.ValidString(got) || len(got) > maxQuoted+10 {
		t.Errorf("Quote of runes = %s", got)
	}
}
