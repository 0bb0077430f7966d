package main

import (
	"fmt"
	"slices"
)

// verdict is the gate's result.
type verdict struct {
	Num, Den             string  // benchmark names
	NumMedian, DenMedian float64 // ns/op
	NumRuns, DenRuns     int
	Ratio                float64 // NumMedian / DenMedian
	Max                  float64
	Pass                 bool // Ratio ≤ Max
}

// String is the line benchgate prints.
func (v verdict) String() string {
	cmp, result := "≤", "pass"
	if !v.Pass {
		cmp, result = ">", "FAIL"
	}
	return fmt.Sprintf("%s median %.0f ns/op (%d runs) / %s median %.0f ns/op (%d runs) = ratio %.2f %s %g: %s",
		v.Num, v.NumMedian, v.NumRuns, v.Den, v.DenMedian, v.DenRuns, v.Ratio, cmp, v.Max, result)
}

// judge compares the median ns/op of num and den in samples with limit; it is an error when either has no result.
func judge(samples map[string][]float64, num, den string, limit float64) (verdict, error) {
	for _, name := range []string{num, den} {
		if len(samples[name]) == 0 {
			return verdict{}, fmt.Errorf("no ns/op result of %s on stdin: run its package's benchmarks (make bench) and pipe their output here", name)
		}
	}
	v := verdict{
		Num: num, Den: den, NumMedian: median(samples[num]), DenMedian: median(samples[den]),
		NumRuns: len(samples[num]), DenRuns: len(samples[den]), Max: limit,
	}
	v.Ratio = v.NumMedian / v.DenMedian
	v.Pass = v.Ratio <= limit
	return v, nil
}

// median is the middle value of the non-empty xs, the mean of the two middle ones for an even count (halved
// first, so that two huge values cannot overflow).
func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return s[n/2-1]/2 + s[n/2]/2
}
