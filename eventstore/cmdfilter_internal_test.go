package eventstore

import (
	"strconv"
	"testing"
)

// TestCommandFilterHasNoFalseNo: every id added is "maybe" (never a false
// "no"), ids never added are "no" but for a few false positives, and a
// filter not ready yet says "maybe" to everything.
func TestCommandFilterHasNoFalseNo(t *testing.T) {
	f := newCommandFilter()
	if !f.mayHold("orders-1", "never-added") {
		t.Fatal("a filter not ready said no")
	}
	const n = 300_000
	for i := range n {
		f.add("orders-"+strconv.Itoa(i%1000), "cmd-"+strconv.Itoa(i))
	}
	f.ready.Store(true)
	for i := range n {
		if !f.mayHold("orders-"+strconv.Itoa(i%1000), "cmd-"+strconv.Itoa(i)) {
			t.Fatalf("id %d was added, the filter says it was not", i)
		}
	}
	falsePositives := 0
	for i := range n {
		// The same ids on other streams, and other ids on the same streams.
		if f.mayHold("orders-"+strconv.Itoa(i%1000+1000), "cmd-"+strconv.Itoa(i)) {
			falsePositives++
		}
		if f.mayHold("orders-"+strconv.Itoa(i%1000), "other-"+strconv.Itoa(i)) {
			falsePositives++
		}
	}
	// At 300,000 ids the expected rate is below 1e-5 (2^24 bits, 8 bits an
	// id in blocks of 256); 0.1% leaves room for an unlucky seed.
	if rate := float64(falsePositives) / (2 * n); rate > 0.001 {
		t.Fatalf("false positive rate %.4f%% at %d ids", rate*100, n)
	}
}
