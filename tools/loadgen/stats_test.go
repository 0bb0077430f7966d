package main

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestPercentiles(t *testing.T) {
	t.Parallel()
	ms := func(ds ...time.Duration) []time.Duration {
		for i := range ds {
			ds[i] *= time.Millisecond
		}
		return ds
	}
	oneToHundred := make([]time.Duration, 0, 100)
	for i := 100; i >= 1; i-- { // unsorted on purpose
		oneToHundred = append(oneToHundred, time.Duration(i)*time.Millisecond)
	}
	tests := []struct {
		name string
		in   []time.Duration
		want latencies
	}{
		{"empty", nil, latencies{}},
		{"one", []time.Duration{2500 * time.Microsecond}, latencies{P50: 2.5, P90: 2.5, P95: 2.5, P99: 2.5, Max: 2.5}},
		{"1..100 ms", oneToHundred, latencies{P50: 50, P90: 90, P95: 95, P99: 99, Max: 100}},
		{"ten", ms(10, 9, 8, 7, 6, 5, 4, 3, 2, 1), latencies{P50: 5, P90: 9, P95: 10, P99: 10, Max: 10}},
		{"rounded to µs", []time.Duration{1234567 * time.Nanosecond}, latencies{P50: 1.235, P90: 1.235, P95: 1.235, P99: 1.235, Max: 1.235}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			before := slices.Clone(tt.in)
			if diff := cmp.Diff(tt.want, percentiles(tt.in)); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
			if !slices.Equal(before, tt.in) {
				t.Error("percentiles reordered its input")
			}
		})
	}
}

func TestNearestRank(t *testing.T) {
	t.Parallel()
	s := []time.Duration{10, 20, 30, 40}
	for p, want := range map[float64]time.Duration{1: 10, 25: 10, 26: 20, 50: 20, 75: 30, 76: 40, 99: 40, 100: 40} {
		if got := nearestRank(s, p); got != want {
			t.Errorf("p%g of %v = %v, want %v", p, s, got, want)
		}
	}
}

// A latency equal to a bound falls in that bound's bucket; beyond the last bound it is +Inf.
func TestHistogramBucketing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		latency time.Duration
		le      string
	}{
		{0, "0.5"},
		{200 * time.Microsecond, "0.5"},
		{500 * time.Microsecond, "0.5"},
		{500*time.Microsecond + 1, "1"},
		{2900 * time.Microsecond, "3"},
		{7500 * time.Microsecond, "7.5"},
		{7501 * time.Microsecond, "10"},
		{100 * time.Millisecond, "100"},
		{100*time.Millisecond + time.Microsecond, "150"},
		{time.Second, "1000"},
		{time.Second + 1, "+Inf"},
		{time.Hour, "+Inf"},
	}
	for _, tt := range tests {
		t.Run(tt.latency.String(), func(t *testing.T) {
			t.Parallel()
			h := histogram([]time.Duration{tt.latency})
			if len(h) != len(bucketBoundsMS())+1 || h[len(h)-1].LE != "+Inf" {
				t.Fatalf("buckets %+v", h)
			}
			for _, b := range h {
				want := 0
				if b.LE == tt.le {
					want = 1
				}
				if b.Count != want {
					t.Errorf("bucket le %s holds %d, want %d", b.LE, b.Count, want)
				}
			}
		})
	}
}

func TestHistogramCountsSumToSamples(t *testing.T) {
	t.Parallel()
	var lat []time.Duration
	for i := range 1000 {
		lat = append(lat, time.Duration(i*i)*time.Microsecond)
	}
	sum := 0
	for _, b := range histogram(lat) {
		sum += b.Count
	}
	if sum != len(lat) {
		t.Errorf("buckets hold %d, want %d", sum, len(lat))
	}
}

// summarize counts only the window's sent requests, keeps five distinct error texts and judges the step.
func TestSummarize(t *testing.T) {
	t.Parallel()
	p := plan{rate: 10, duration: 2 * time.Second}
	var window []sample
	for range 10 {
		window = append(window, sample{outcome: outcome{kind: kindOK}, latency: 4 * time.Millisecond})
	}
	for _, text := range []string{"a", "b", "a", "c", "d", "e", "f"} {
		window = append(window, sample{outcome: outcome{kind: kindError, errText: text}, latency: 200 * time.Millisecond})
	}
	window = append(window,
		sample{outcome: outcome{kind: kindSaturated}, latency: time.Millisecond},
		sample{outcome: outcome{kind: kindDropped}},
		sample{outcome: outcome{kind: kindNotSent}},
	)
	r := driveResult{
		window: window,
		before: counters{coldStarts: 3, cpu: time.Second},
		after:  counters{coldStarts: 5, cpu: time.Second + 170*time.Millisecond},
	}
	st := summarize(p, r, sandboxCriteria())
	if st.Sent != 18 || st.OK != 10 || st.Errors != 7 || st.Saturated != 1 || st.Dropped != 1 {
		t.Errorf("sent %d ok %d errors %d 429 %d dropped %d", st.Sent, st.OK, st.Errors, st.Saturated, st.Dropped)
	}
	if diff := cmp.Diff([]string{"a", "b", "c", "d", "e"}, st.ErrorTexts); diff != "" {
		t.Errorf("error texts mismatch (-want +got):\n%s", diff)
	}
	if st.AchievedRate != 5 || st.ColdStarts != 2 || st.ColdStartRatio != 0.111111 || st.CPUMSPerExecution != 10 {
		t.Errorf("achieved %v, cold starts %d (%v), cpu %v ms/exec", st.AchievedRate, st.ColdStarts, st.ColdStartRatio, st.CPUMSPerExecution)
	}
	if st.Pass {
		t.Error("step passed")
	}
	for _, want := range []string{"7 errors", "1 answered 429", "1 dropped", "p99 200.0 ms > 100 ms", "cold starts 11.11 %"} {
		if !strings.Contains(st.FailReason, want) {
			t.Errorf("fail reason %q lacks %q", st.FailReason, want)
		}
	}
}

func TestSummarizePassAndCounterFailure(t *testing.T) {
	t.Parallel()
	p := plan{rate: 100, duration: time.Second}
	window := make([]sample, 100)
	for i := range window {
		window[i] = sample{outcome: outcome{kind: kindOK}, latency: 3 * time.Millisecond}
	}
	good := summarize(p, driveResult{window: window, after: counters{cpu: 500 * time.Millisecond}}, sandboxCriteria())
	if !good.Pass || good.FailReason != "" || good.CPUMSPerExecution != 5 {
		t.Errorf("pass %v (%q), cpu %v", good.Pass, good.FailReason, good.CPUMSPerExecution)
	}
	bad := summarize(p, driveResult{window: window, countersErr: fixedError("after the window: boom"), interrupted: true}, sandboxCriteria())
	if bad.Pass || !strings.HasPrefix(bad.FailReason, "interrupted") || !strings.Contains(bad.FailReason, "boom") {
		t.Errorf("pass %v, reason %q", bad.Pass, bad.FailReason)
	}
	empty := summarize(p, driveResult{}, sandboxCriteria())
	if empty.Pass || !strings.Contains(empty.FailReason, "nothing was sent") {
		t.Errorf("empty step: pass %v, reason %q", empty.Pass, empty.FailReason)
	}
}

// fixedError is an error with a fixed text.
type fixedError string

func (e fixedError) Error() string { return string(e) }
