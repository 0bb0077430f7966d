package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// minRateRatio is the share of -rate the achieved rate must reach (gateway.md §15).
const minRateRatio = 0.99

// gatewayReport is the JSON report of `loadgen gateway`, printed on stdout. -header values are not in it: they
// may hold the service token.
type gatewayReport struct {
	Target     string    `json:"target"` // "gateway"
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
	Machine    machine   `json:"machine"`
	URL        string    `json:"url"`
	Era        string    `json:"era"`
	Method     string    `json:"method"`
	Tool       string    `json:"tool,omitempty"`
	Workers    int       `json:"workers"`
	// Mode is "open" (requests at Rate, whatever became of the earlier ones) or "closed" (Concurrency requests in
	// flight, each sent when the previous one ended; Rate is 0).
	Mode        string  `json:"mode"`
	Concurrency int     `json:"concurrency,omitempty"`
	Rate        float64 `json:"rate"` // offered requests per second (open loop)
	WarmupS     float64 `json:"warmup_s"`
	DurationS   float64 `json:"duration_s"`
	// The measured window: the requests due in it.
	Sent         int            `json:"sent"`           // sent, whatever became of them
	OK           int            `json:"ok"`             // answered with a good result
	Errors       int            `json:"errors"`         // everything else, dropped sends included
	ErrorsByKind map[string]int `json:"errors_by_kind"` // transport, timeout, protocol, rpc_error, tool_error, dropped, http_<status>
	ErrorTexts   []string       `json:"error_texts"`    // the first distinct error texts, warm-up included
	AchievedRate float64        `json:"achieved_rate"`  // ok / duration
	// LatencyMS is over every sent request of the window: from its due time (open loop) or its send (closed loop)
	// to the end of its answer.
	LatencyMS    latencies `json:"latency_ms"`
	PeakInflight int       `json:"peak_inflight"` // warm-up included
	// WarmupErrors counts the failed requests of the warm-up; they fail the run too.
	WarmupErrors int    `json:"warmup_errors"`
	Pass         bool   `json:"pass"`
	FailReason   string `json:"fail_reason,omitempty"` // every failed condition, "; "-separated
	Error        string `json:"error,omitempty"`       // why the run could not be made (a session did not open)
}

// newGatewayReport starts the report of a run of cfg.
func newGatewayReport(cfg gatewayConfig, m machine, started time.Time) gatewayReport {
	r := gatewayReport{
		Target: "gateway", StartedAt: started.UTC(), Machine: m, URL: cfg.url, Era: cfg.era, Method: cfg.method,
		Tool: cfg.tool, Workers: cfg.workers, Mode: modeOpen, Rate: cfg.rate, WarmupS: cfg.warmup.Seconds(),
		DurationS: cfg.duration.Seconds(), ErrorsByKind: map[string]int{}, ErrorTexts: []string{},
	}
	if cfg.closed() {
		r.Mode, r.Concurrency, r.Rate = modeClosed, cfg.concurrency, 0
	}
	return r
}

// Modes of the gateway report.
const (
	modeOpen   = "open"
	modeClosed = "closed"
)

// summarize fills the counts, the rate and the latencies from what drive or driveClosed measured over a window
// of length window, and judges them: no error, warm-up included, and open loop at least 99 % of the rate.
func (r *gatewayReport) summarize(window time.Duration, res driveResult) {
	r.PeakInflight = res.peakInflight
	lat := make([]time.Duration, 0, len(res.window))
	for _, s := range res.window {
		if s.outcome.kind == kindNotSent {
			continue
		}
		if r.count(s.outcome) {
			lat = append(lat, s.latency)
		}
	}
	for _, s := range res.warmup {
		if s.outcome.kind != kindOK && s.outcome.kind != kindNotSent {
			r.WarmupErrors++
			r.noteText(s.outcome)
		}
	}
	r.Sent = len(lat)
	r.AchievedRate = round3(float64(r.OK) / window.Seconds())
	r.LatencyMS = percentiles(lat)
	var reasons []string
	if res.interrupted {
		reasons = append(reasons, "interrupted")
	}
	if res.truncated {
		reasons = append(reasons, fmt.Sprintf("stopped at %d requests (every sample is kept in memory)", maxRequestsPerStep))
	}
	if r.Sent == 0 {
		reasons = append(reasons, "nothing was sent in the measured window")
	}
	if r.Errors > 0 {
		reasons = append(reasons, fmt.Sprintf("%d errors", r.Errors))
	}
	if r.WarmupErrors > 0 {
		reasons = append(reasons, fmt.Sprintf("%d errors during the warm-up", r.WarmupErrors))
	}
	if r.Mode == modeOpen && r.AchievedRate < minRateRatio*r.Rate {
		reasons = append(reasons, fmt.Sprintf("achieved %s/s < %g %% of %s/s", formatRate(r.AchievedRate), 100*minRateRatio, formatRate(r.Rate)))
	}
	r.FailReason = strings.Join(reasons, "; ")
}

// count adds one window request to the counts; it reports whether the request was sent.
func (r *gatewayReport) count(o outcome) bool {
	switch o.kind {
	case kindOK:
		r.OK++
		return true
	case kindDropped:
		r.Errors++
		r.ErrorsByKind[errKindDropped]++
		r.noteText(o)
		return false
	default:
		r.Errors++
		r.ErrorsByKind[o.class]++
		r.noteText(o)
		return true
	}
}

// noteText keeps the first distinct error texts, prefixed with their kind.
func (r *gatewayReport) noteText(o outcome) {
	text := o.class + ": " + o.errText
	if o.kind == kindDropped {
		text = errKindDropped + ": -max-inflight requests were already in flight"
	}
	if len(r.ErrorTexts) < maxErrorTexts && !slices.Contains(r.ErrorTexts, text) {
		r.ErrorTexts = append(r.ErrorTexts, text)
	}
}

// finish sets the verdict.
func (r *gatewayReport) finish(now time.Time) {
	r.FinishedAt = now.UTC()
	if r.Error != "" && r.FailReason == "" {
		r.FailReason = "the run could not be made"
	}
	r.Pass = r.Error == "" && r.FailReason == ""
}

// printGatewaySummary prints one line for people; the JSON report is on stdout.
func printGatewaySummary(w io.Writer, r gatewayReport) {
	verdict := "pass"
	if !r.Pass {
		verdict = "FAIL: " + r.FailReason
	}
	load := "rate " + formatRate(r.Rate) + "/s"
	if r.Mode == modeClosed {
		load = fmt.Sprintf("closed loop, %d in flight", r.Concurrency)
	}
	_, _ = fmt.Fprintf(w, "%s: sent %d, ok %d, errors %d, achieved %s/s, p50 %.2f ms p90 %.2f ms p95 %.2f ms p99 %.2f ms max %.2f ms — %s\n",
		load, r.Sent, r.OK, r.Errors, formatRate(r.AchievedRate), r.LatencyMS.P50, r.LatencyMS.P90, r.LatencyMS.P95,
		r.LatencyMS.P99, r.LatencyMS.Max, verdict)
	for _, e := range r.ErrorTexts {
		_, _ = fmt.Fprintf(w, "    error: %s\n", e)
	}
}
