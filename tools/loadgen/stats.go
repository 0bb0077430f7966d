package main

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// maxErrorTexts is how many distinct error texts a step keeps for the report.
const maxErrorTexts = 5

// criteria are the pass conditions of a step besides "no errors, no 429, nothing dropped".
type criteria struct {
	maxP99            time.Duration // highest acceptable p99 latency
	maxColdStartRatio float64       // cold starts / sent must stay below this
}

// sandboxCriteria are sandbox.md §16's: p99 ≤ 100 ms, cold starts < 1 % of executions.
func sandboxCriteria() criteria {
	return criteria{maxP99: 100 * time.Millisecond, maxColdStartRatio: 0.01}
}

// step is the report of one offered rate.
type step struct {
	OfferedRate       float64   `json:"offered_rate"`         // requests per second scheduled
	WarmupS           float64   `json:"warmup_s"`             // seconds before the measured window
	DurationS         float64   `json:"duration_s"`           // seconds of the measured window
	Sent              int       `json:"sent"`                 // requests due in the window and sent
	OK                int       `json:"ok"`                   // 200 with "ok": true
	Saturated         int       `json:"saturated"`            // 429
	Errors            int       `json:"errors"`               // anything else, transport errors included
	Dropped           int       `json:"dropped"`              // due in the window but not sent (-max-inflight)
	PeakInflight      int       `json:"peak_inflight"`        // most requests in flight at once, warm-up included
	AchievedRate      float64   `json:"achieved_rate"`        // ok / duration
	LatencyMS         latencies `json:"latency_ms"`           // over every sent request of the window
	Histogram         []bucket  `json:"histogram"`            // the same latencies, bucketed
	ColdStarts        int64     `json:"cold_starts"`          // delta of the target's cold-start counter over the window
	ColdStartRatio    float64   `json:"cold_start_ratio"`     // cold_starts / sent
	CPUMSPerExecution float64   `json:"cpu_ms_per_execution"` // target CPU over the window / (ok + errors)
	ErrorTexts        []string  `json:"error_texts"`          // the first distinct error texts
	Pass              bool      `json:"pass"`
	FailReason        string    `json:"fail_reason,omitempty"` // every failed condition, "; "-separated
}

// latencies are percentiles in milliseconds.
type latencies struct {
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// bucket is one histogram bucket: the latencies above the previous bucket's bound, up to and including LE.
type bucket struct {
	LE    string `json:"le_ms"` // upper bound in ms, "+Inf" for the last
	Count int    `json:"count"`
}

// bucketBoundsMS are the log-spaced upper bounds of the histogram, in ms; a +Inf bucket follows.
func bucketBoundsMS() []float64 {
	return []float64{0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 50, 75, 100, 150, 200, 300, 500, 1000}
}

// summarize turns what drive measured into a step and judges it.
func summarize(p plan, r driveResult, crit criteria) step {
	st := step{
		OfferedRate: p.rate, WarmupS: p.warmup.Seconds(), DurationS: p.duration.Seconds(), PeakInflight: r.peakInflight,
		ErrorTexts: []string{},
	}
	lat := make([]time.Duration, 0, len(r.window))
	for _, s := range r.window {
		switch s.outcome.kind {
		case kindNotSent:
			continue
		case kindDropped:
			st.Dropped++
			continue
		case kindOK:
			st.OK++
		case kindSaturated:
			st.Saturated++
		case kindError:
			st.Errors++
			if len(st.ErrorTexts) < maxErrorTexts && !slices.Contains(st.ErrorTexts, s.outcome.errText) {
				st.ErrorTexts = append(st.ErrorTexts, s.outcome.errText)
			}
		}
		lat = append(lat, s.latency)
	}
	st.Sent = len(lat)
	st.AchievedRate = round3(float64(st.OK) / p.duration.Seconds())
	st.LatencyMS = percentiles(lat)
	st.Histogram = histogram(lat)
	if r.countersErr == nil {
		st.ColdStarts = int64(math.Round(r.after.coldStarts - r.before.coldStarts))
		if st.Sent > 0 {
			st.ColdStartRatio = round6(float64(st.ColdStarts) / float64(st.Sent))
		}
		if execs := st.OK + st.Errors; execs > 0 {
			st.CPUMSPerExecution = round3(ms(r.after.cpu-r.before.cpu) / float64(execs))
		}
	}
	reasons := judge(st, crit)
	if r.interrupted {
		reasons = append([]string{"interrupted"}, reasons...)
	}
	if r.countersErr != nil {
		reasons = append(reasons, "could not read the target's counters "+r.countersErr.Error())
	}
	st.Pass = len(reasons) == 0
	st.FailReason = strings.Join(reasons, "; ")
	return st
}

// judge lists the pass conditions a step misses: nothing sent, errors, 429s, dropped sends, p99, cold starts.
func judge(st step, crit criteria) []string {
	var reasons []string
	if st.Sent == 0 {
		reasons = append(reasons, "nothing was sent in the measured window")
	}
	if st.Errors > 0 {
		reasons = append(reasons, fmt.Sprintf("%d errors", st.Errors))
	}
	if st.Saturated > 0 {
		reasons = append(reasons, fmt.Sprintf("%d answered 429 (saturated)", st.Saturated))
	}
	if st.Dropped > 0 {
		reasons = append(reasons, fmt.Sprintf("%d dropped: -max-inflight requests were already in flight", st.Dropped))
	}
	if limit := ms(crit.maxP99); st.LatencyMS.P99 > limit {
		reasons = append(reasons, fmt.Sprintf("p99 %.1f ms > %g ms", st.LatencyMS.P99, limit))
	}
	if st.Sent > 0 && st.ColdStartRatio >= crit.maxColdStartRatio {
		reasons = append(reasons, fmt.Sprintf("cold starts %.2f %% of sent, want < %g %%", 100*st.ColdStartRatio, 100*crit.maxColdStartRatio))
	}
	return reasons
}

// percentiles are the nearest-rank p50, p90, p95, p99 and the maximum of lat, in ms; all zero when lat is empty.
func percentiles(lat []time.Duration) latencies {
	if len(lat) == 0 {
		return latencies{}
	}
	s := slices.Clone(lat)
	slices.Sort(s)
	return latencies{
		P50: round3(ms(nearestRank(s, 50))), P90: round3(ms(nearestRank(s, 90))), P95: round3(ms(nearestRank(s, 95))),
		P99: round3(ms(nearestRank(s, 99))), Max: round3(ms(s[len(s)-1])),
	}
}

// nearestRank is the p-th percentile of the sorted, non-empty s: the smallest value with at least p % of s at or
// below it.
func nearestRank(sorted []time.Duration, p float64) time.Duration {
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// histogram counts lat into the buckets of bucketBoundsMS plus +Inf; a latency equal to a bound falls in that
// bound's bucket.
func histogram(lat []time.Duration) []bucket {
	bounds := bucketBoundsMS()
	out := make([]bucket, len(bounds)+1)
	for i, b := range bounds {
		out[i].LE = strconv.FormatFloat(b, 'f', -1, 64)
	}
	out[len(bounds)].LE = "+Inf"
	for _, d := range lat {
		i, _ := slices.BinarySearch(bounds, ms(d))
		out[i].Count++
	}
	return out
}

// ms is d in milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// round3 rounds to three decimals (microseconds, for ms values).
func round3(x float64) float64 { return math.Round(x*1e3) / 1e3 }

// round6 rounds to six decimals.
func round6(x float64) float64 { return math.Round(x*1e6) / 1e6 }
