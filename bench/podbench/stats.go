package main

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// summary is a sample's order statistics.
type summary struct {
	N                  int
	Min, P50, P99, Max float64
}

// summarize returns the order statistics of xs by the nearest-rank
// method: P is the value at rank ceil(P/100 * N), so with 20 samples p99
// is the largest. An empty sample gives NaNs.
func summarize(xs []float64) summary {
	if len(xs) == 0 {
		nan := math.NaN()
		return summary{Min: nan, P50: nan, P99: nan, Max: nan}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return summary{N: len(s), Min: s[0], P50: rank(s, 50), P99: rank(s, 99), Max: s[len(s)-1]}
}

// rank is the nearest-rank percentile p of sorted s.
func rank(s []float64, p float64) float64 {
	r := int(math.Ceil(p / 100 * float64(len(s))))
	return s[max(r, 1)-1]
}

// ms converts a duration to milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// fmtMs prints milliseconds with two decimals.
func fmtMs(x float64) string {
	if math.IsNaN(x) {
		return "n/a"
	}
	return fmt.Sprintf("%.2f ms", x)
}
