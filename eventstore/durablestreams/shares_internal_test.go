package durablestreams

import (
	"context"
	"testing"
)

// TestAnswerShares: one client's answers in flight take at most a
// quarter of the budget of answers, so that answers to a client that
// stopped reading, each held until its write deadline, leave the others
// room; what it gives back is its own again.
func TestAnswerShares(t *testing.T) {
	h := &Handler{cfg: config{chunk: 1 << 20, maxOut: 8 << 20}, bodiesOut: newBudget(8 << 20), outShares: newShares(8 << 20)}
	ctx := context.Background()
	var held []*heldBytes
	for range 2 {
		out, why := h.takeOut(ctx, "a")
		if out == nil {
			t.Fatalf("a's answer within its share: %s", why)
		}
		held = append(held, out)
	}
	if out, why := h.takeOut(ctx, "a"); out != nil || why == "" {
		t.Fatalf("a's third answer of 1 MiB with 2 MiB held: taken (%q)", why)
	}
	for range 6 {
		out, why := h.takeOut(ctx, "b")
		if out == nil && len(held) < 4 {
			t.Fatalf("b's answer beside a's: %s", why)
		}
		if out != nil {
			held = append(held, out)
		}
	}
	if got := h.bodiesOut.inUse(); got != 4<<20 {
		t.Errorf("in use %d, want 4 MiB: a's 2 and b's 2", got)
	}
	held[0].release()
	held[0].release() // again: nothing more
	if out, why := h.takeOut(ctx, "a"); out == nil {
		t.Fatalf("a's answer after one of its own was done: %s", why)
	}
	if len(h.outShares.clients) != 2 {
		t.Errorf("%d clients' shares held, want 2", len(h.outShares.clients))
	}
}
