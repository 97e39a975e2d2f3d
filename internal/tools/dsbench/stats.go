package main

import (
	"slices"
	"time"

	"github.com/rewindhq/rewind/internal/benchstat"
)

// latencies summarizes a set of durations.
type latencies struct {
	N   int           `json:"n"`
	Min time.Duration `json:"min_ns"`
	P50 time.Duration `json:"p50_ns"`
	P99 time.Duration `json:"p99_ns"`
	Max time.Duration `json:"max_ns"`
}

func summarize(ds []time.Duration) latencies {
	if len(ds) == 0 {
		return latencies{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return latencies{N: len(s), Min: s[0], P50: benchstat.Quantile(s, 0.50), P99: benchstat.Quantile(s, 0.99), Max: s[len(s)-1]}
}
