// Package benchstat holds the two summaries the benchmark tools report
// (internal/tools/...): the median of a set of figures and a nearest-rank
// quantile of latencies, computed one way so that the tools' reports agree.
package benchstat

import (
	"slices"
	"time"
)

// Median returns the median of xs (the mean of the two middle values when
// their number is even), or 0 when xs is empty. xs is not modified.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// Quantile returns the nearest-rank q-quantile (0 < q ≤ 1) of samples,
// which need not be sorted and are not modified. samples must not be
// empty.
func Quantile(samples []time.Duration, q float64) time.Duration {
	s := slices.Clone(samples)
	slices.Sort(s)
	i := int(float64(len(s))*q+0.999999) - 1
	return s[min(max(i, 0), len(s)-1)]
}
