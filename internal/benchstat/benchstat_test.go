package benchstat

import (
	"testing"
	"time"
)

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		xs   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := Median(c.xs); got != c.want {
			t.Errorf("Median(%v) = %v, want %v", c.xs, got, c.want)
		}
	}
}

func TestQuantile(t *testing.T) {
	var s []time.Duration
	for i := 100; i >= 1; i-- { // unsorted on purpose
		s = append(s, time.Duration(i))
	}
	for q, want := range map[float64]time.Duration{0.01: 1, 0.5: 50, 0.99: 99, 1: 100} {
		if got := Quantile(s, q); got != want {
			t.Errorf("Quantile(1..100, %v) = %v, want %v", q, got, want)
		}
	}
	if s[0] != 100 {
		t.Errorf("Quantile sorted its argument")
	}
	if got := Quantile([]time.Duration{7}, 0.99); got != 7 {
		t.Errorf("Quantile of one sample = %v", got)
	}
}

func TestMedianInterval(t *testing.T) {
	var xs []float64
	for i := 100; i >= 1; i-- { // unsorted on purpose
		xs = append(xs, float64(i))
	}
	// For 100 draws the exact binomial 95 % interval of the median lies
	// between the 40th and the 61st smallest.
	if lo, hi := MedianInterval(xs); lo != 40 || hi != 61 {
		t.Errorf("MedianInterval(1..100) = %v, %v, want 40, 61", lo, hi)
	}
	if lo, hi := MedianInterval([]float64{3, 1, 2}); lo != 1 || hi != 3 {
		t.Errorf("MedianInterval of 3 = %v, %v, want the whole range", lo, hi)
	}
	if lo, hi := MedianInterval(nil); lo != 0 || hi != 0 {
		t.Errorf("MedianInterval(nil) = %v, %v", lo, hi)
	}
	if xs[0] != 100 {
		t.Error("MedianInterval sorted its argument")
	}
}

func TestAtLeast(t *testing.T) {
	for _, c := range []struct {
		lo, hi float64
		want   string
	}{
		{0.91, 0.95, "met"},
		{0.9, 0.95, "met"},
		{0.8, 0.89, "MISSED"},
		{0.88, 0.93, "not decided (the interval holds 0.9: run longer)"},
	} {
		if got := AtLeast(c.lo, c.hi, 0.9, "run longer"); got != c.want {
			t.Errorf("AtLeast(%v, %v, 0.9) = %q, want %q", c.lo, c.hi, got, c.want)
		}
	}
}
