package main

import (
	"slices"
	"time"
)

// Summary is the median and the spread (min-max) of a set of figures.
type Summary struct {
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

// summarize returns the median (the mean of the two middle values for an
// even count) and the extremes of xs; zero for none.
func summarize(xs []float64) Summary {
	if len(xs) == 0 {
		return Summary{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + m) / 2
	}
	return Summary{Median: m, Min: s[0], Max: s[len(s)-1]}
}

// seconds maps durations to seconds for summarize.
func seconds(ds []time.Duration) []float64 {
	xs := make([]float64, len(ds))
	for i, d := range ds {
		xs[i] = d.Seconds()
	}
	return xs
}

// medianInt is the median of ns, or -1 if any is -1 (not measured).
func medianInt(ns []int64) int64 {
	xs := make([]float64, len(ns))
	for i, n := range ns {
		if n < 0 {
			return -1
		}
		xs[i] = float64(n)
	}
	if len(xs) == 0 {
		return -1
	}
	return int64(summarize(xs).Median)
}
