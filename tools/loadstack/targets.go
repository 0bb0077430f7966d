package main

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// target is one performance target of gateway.md §15 as loadstack judges it.
type target struct {
	name     string
	rate     float64       // the rate the target names (0: any rate)
	duration time.Duration // the window the target names (0: any)
	p50MS    float64       // p50 bound
	p99MS    float64       // p99 bound (0: none)
}

// The targets of gateway.md §15 that the load run measures.
func p1Target() target {
	return target{name: "P1", rate: 250, duration: 60 * time.Second, p50MS: 5, p99MS: 25}
}

func p2Target() target { return target{name: "P2", p50MS: 2} }

// minRateRatio is the share of the offered rate a run must achieve (as loadgen judges it).
const minRateRatio = 0.99

// report is the part of loadgen's gateway report (tools/loadgen gateway_report.go) loadstack judges.
type report struct {
	Machine      loadgenMachine `json:"machine"`
	Mode         string         `json:"mode"` // open or closed
	Concurrency  int            `json:"concurrency"`
	Rate         float64        `json:"rate"`
	DurationS    float64        `json:"duration_s"`
	WarmupS      float64        `json:"warmup_s"`
	Sent         int            `json:"sent"`
	OK           int            `json:"ok"`
	Errors       int            `json:"errors"`
	ErrorsByKind map[string]int `json:"errors_by_kind"`
	WarmupErrors int            `json:"warmup_errors"`
	AchievedRate float64        `json:"achieved_rate"`
	LatencyMS    struct {
		P50 float64 `json:"p50"`
		P90 float64 `json:"p90"`
		P95 float64 `json:"p95"`
		P99 float64 `json:"p99"`
		Max float64 `json:"max"`
	} `json:"latency_ms"`
	ErrorTexts []string `json:"error_texts"`
	Pass       bool     `json:"pass"`
	Error      string   `json:"error"`
}

// loadgenMachine is the machine as loadgen describes it.
type loadgenMachine struct {
	CPUs      int    `json:"cpus"`
	CPUModel  string `json:"cpu_model"`
	Kernel    string `json:"kernel"`
	GoVersion string `json:"go_version"`
}

// parseReport decodes loadgen's JSON report.
func parseReport(b []byte) (report, error) {
	var r report
	if err := json.Unmarshal(b, &r); err != nil {
		return report{}, fmt.Errorf("loadgen report: %w", err)
	}
	if r.Rate <= 0 && r.Mode != "closed" {
		return report{}, fmt.Errorf("loadgen report without a rate or closed mode: %s", truncate(string(b), 200))
	}
	return r, nil
}

// verdict is the judgement of one run against its target.
type verdict struct {
	target target
	rep    report
	// misses lists every criterion the run missed; empty when its figures are within the target.
	misses []string
	// atTarget is true when the run was made at the target's rate and window, so meeting its criteria meets the
	// target; a run at a lower rate only shows where the latency bounds still hold.
	atTarget bool
}

// met reports whether the run meets the target itself.
func (v verdict) met() bool { return v.atTarget && len(v.misses) == 0 }

// judge compares a report with its target.
func judge(t target, r report) verdict {
	v := verdict{target: t, rep: r}
	v.atTarget = r.Rate >= t.rate && time.Duration(r.DurationS*float64(time.Second)) >= t.duration
	if r.Error != "" {
		v.misses = append(v.misses, "the run could not be made: "+r.Error)
	}
	if n := r.Errors + r.WarmupErrors; n > 0 {
		v.misses = append(v.misses, fmt.Sprintf("%d errors (%s)", n, kinds(r.ErrorsByKind)))
	}
	if r.AchievedRate < minRateRatio*r.Rate {
		v.misses = append(v.misses, fmt.Sprintf("achieved %s/s of %s/s offered", num(r.AchievedRate), num(r.Rate)))
	}
	if r.LatencyMS.P50 > t.p50MS {
		v.misses = append(v.misses, fmt.Sprintf("p50 %s ms > %s ms", num(r.LatencyMS.P50), num(t.p50MS)))
	}
	if t.p99MS > 0 && r.LatencyMS.P99 > t.p99MS {
		v.misses = append(v.misses, fmt.Sprintf("p99 %s ms > %s ms", num(r.LatencyMS.P99), num(t.p99MS)))
	}
	return v
}

// String is one line of the summary.
func (v verdict) String() string {
	r := v.rep
	head := fmt.Sprintf("%s at %s/s for %gs: sent %d, ok %d, errors %d, achieved %s/s, p50 %s ms, p90 %s ms, p99 %s ms, max %s ms",
		v.target.name, num(r.Rate), r.DurationS, r.Sent, r.OK, r.Errors+r.WarmupErrors, num(r.AchievedRate),
		num(r.LatencyMS.P50), num(r.LatencyMS.P90), num(r.LatencyMS.P99), num(r.LatencyMS.Max))
	switch {
	case v.met():
		return head + " — target met"
	case !v.atTarget && len(v.misses) == 0:
		return head + fmt.Sprintf(" — within the target's bounds, below its %s/s for %s", num(v.target.rate), v.target.duration)
	default:
		return head + " — missed: " + strings.Join(v.misses, "; ")
	}
}

// targetMet reports whether some verdict of the target meets it; P1 needs a run at its rate and window.
func targetMet(vs []verdict, name string) bool {
	for _, v := range vs {
		if v.target.name == name && v.met() {
			return true
		}
	}
	return false
}

// kinds lists error counts by kind, in a stable order.
func kinds(m map[string]int) string {
	if len(m) == 0 {
		return "warm-up"
	}
	ks := make([]string, 0, len(m))
	for k, n := range m {
		ks = append(ks, k+" "+strconv.Itoa(n))
	}
	slices.Sort(ks)
	return strings.Join(ks, ", ")
}

// num formats a figure without trailing zeros, at most two decimals.
func num(f float64) string { return strconv.FormatFloat(math.Round(f*100)/100, 'f', -1, 64) }
