package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"
)

// offsetRE matches one offset as the store formats it.
const offsetRE = `\d{20}_\d{6}`

func runTour(t *testing.T, dir string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, dir, &out); err != nil {
		t.Fatalf("run: %v\noutput so far:\n%s", err, out.String())
	}
	return squeeze(out.String())
}

// squeeze collapses runs of spaces, so that checks do not depend on the
// column widths of the output.
func squeeze(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.Join(strings.Fields(l), " ")
	}
	return strings.Join(lines, "\n")
}

// wantLines checks that each pattern matches a whole line of out, in order.
func wantLines(t *testing.T, out string, patterns ...string) {
	t.Helper()
	rest := out
	for _, p := range patterns {
		re := regexp.MustCompile(`(?m)^` + p + `$`)
		loc := re.FindStringIndex(rest)
		if loc == nil {
			t.Fatalf("no line matching %q (in order) in output:\n%s", p, out)
		}
		rest = rest[loc[1]:]
	}
}

func TestTour(t *testing.T) {
	dir := t.TempDir()
	out := runTour(t, dir)
	wantLines(t, out,
		`orders/1001: 2 events stored, now at version 2, offset `+offsetRE,
		`orders/1003: 2 events stored, now at version 2, offset `+offsetRE,
		`orders/1001: item added at version 3`,
		`clerk A and clerk B both see version 3`,
		`clerk A ships it: version 4`,
		`clerk B adds gift wrap: ErrConcurrency \(expected version 3, actual 4\)`,
		`clerk B decides again on version 4 and gives up: orders/1001: the order has already shipped`,
		`orders/1001 v4 ada shipped \(ups\) 2 item\(s\) \$74\.00`,
		offsetRE+` orders/1001 v1 OrderPlaced \{"customer":"ada"\}`,
		offsetRE+` orders/1001 v4 OrderShipped \{"carrier":"ups"\}`,
		`orders/1001 v3 ada placed 2 item\(s\) \$74\.00`,
		`orders/1001 v2 ada placed 1 item\(s\) \$49\.00`,
		`catch-up `+offsetRE+` orders/1001 v3 ItemAdded .*`,
		`catch-up `+offsetRE+` orders/1001 v4 OrderShipped .*`,
		`live `+offsetRE+` orders/1002 v3 ItemAdded .*`,
		`live `+offsetRE+` orders/1002 v4 OrderShipped .*`,
		`live `+offsetRE+` orders/1003 v3 OrderShipped .*`,
		`subscription stopped`,
		`store closed`,
	)
	if n := strings.Count(out, "OrderPlaced"); n != 3 {
		t.Errorf("the category read lists %d OrderPlaced events, want 3", n)
	}

	// A second run on the kept directory finds the first run's orders
	// (they survived Close and Open) and numbers its own after them.
	out = runTour(t, dir)
	wantLines(t, out,
		`the store already holds 3 order\(s\); this run starts after offset `+offsetRE,
		`orders/1004: 2 events stored, now at version 2, offset `+offsetRE,
		`clerk B adds gift wrap: ErrConcurrency \(expected version 3, actual 4\)`,
		`live `+offsetRE+` orders/1006 v3 OrderShipped .*`,
		`store closed`,
	)
	if strings.Contains(out, "orders/1001") {
		t.Errorf("second run lists orders of the first:\n%s", out)
	}
}
