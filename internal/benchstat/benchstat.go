// Package benchstat holds the summaries the benchmark tools report
// (internal/tools/...) and a few benchmarks print: the median of a set of
// figures, its confidence interval, and a nearest-rank quantile of
// latencies, computed one way so that the reports agree.
package benchstat

import (
	"fmt"
	"math"
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

// MedianInterval returns a 95 % confidence interval of the median of the
// distribution xs were drawn from (independent draws), by order
// statistics: the values of ranks n/2 ∓ 0.98·√n (normal approximation of
// the binomial, distribution-free). It needs no assumption on the
// figures' shape, which suits ratios of timings on a loaded machine. With
// fewer than 6 figures the interval is their whole range. xs is not
// modified.
func MedianInterval(xs []float64) (lo, hi float64) {
	if len(xs) == 0 {
		return 0, 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := float64(len(s))
	half := 0.98 * math.Sqrt(n)
	i := int(math.Floor(n/2-half)) - 1  // the lower bound's rank, from 0
	j := int(math.Ceil(1+n/2+half)) - 1 // the upper bound's rank, from 0
	return s[max(i, 0)], s[min(j, len(s)-1)]
}

// AtLeast is the verdict on a target "at least want" decided by a
// median's confidence interval [lo, hi] (MedianInterval): "met" when the
// whole interval is at or above want, "MISSED" when it is below, and
// otherwise not decided, with what to do (more gives the advice, such as
// "run longer").
func AtLeast(lo, hi, want float64, more string) string {
	switch {
	case lo >= want:
		return "met"
	case hi < want:
		return "MISSED"
	}
	return fmt.Sprintf("not decided (the interval holds %g: %s)", want, more)
}
