package main

import (
	"strings"
	"testing"
)

// p1Report is a loadgen report of a P1 run at rate for 60 s with the given figures.
func p1Report(rate, achieved, p50, p99 float64, errs int) report {
	r := report{Rate: rate, DurationS: 60, WarmupS: 5, Sent: int(rate * 60), OK: int(rate*60) - errs, Errors: errs, AchievedRate: achieved}
	if errs > 0 {
		r.ErrorsByKind = map[string]int{"rpc_error": errs}
	}
	r.LatencyMS.P50, r.LatencyMS.P99 = p50, p99
	return r
}

func TestJudgeP1(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		rep    report
		met    bool
		misses []string
	}{
		{"within every bound at 250/s", p1Report(250, 250, 4.9, 24, 0), true, nil},
		{"p99 over", p1Report(250, 249, 4, 61.5, 0), false, []string{"p99 61.5 ms > 25 ms"}},
		{"rate short and p50 over", p1Report(250, 180.25, 9.123, 20, 0), false, []string{"achieved 180.25/s of 250/s offered", "p50 9.12 ms > 5 ms"}},
		{"errors", p1Report(250, 250, 3, 20, 7), false, []string{"7 errors (rpc_error 7)"}},
		{"a lower rate within the bounds is not the target", p1Report(150, 150, 3, 20, 0), false, nil},
	} {
		v := judge(p1Target(), tc.rep)
		if v.met() != tc.met || strings.Join(v.misses, "|") != strings.Join(tc.misses, "|") {
			t.Errorf("%s: met %v, misses %q; want %v, %q", tc.name, v.met(), v.misses, tc.met, tc.misses)
		}
	}
}

func TestJudgeP1NeedsTheFullWindow(t *testing.T) {
	t.Parallel()
	r := p1Report(250, 250, 3, 20, 0)
	r.DurationS = 10
	if v := judge(p1Target(), r); v.met() || len(v.misses) != 0 {
		t.Errorf("a 10 s run: met %v, misses %q", v.met(), v.misses)
	}
}

func TestJudgeP2HasNoRateOrP99Bound(t *testing.T) {
	t.Parallel()
	r := report{Rate: 50, DurationS: 20, Sent: 1000, OK: 1000, AchievedRate: 50}
	r.LatencyMS.P50, r.LatencyMS.P99 = 1.8, 300
	if v := judge(p2Target(), r); !v.met() {
		t.Errorf("P2 at p50 1.8 ms: misses %q", v.misses)
	}
	r.LatencyMS.P50 = 2.5
	if v := judge(p2Target(), r); v.met() || len(v.misses) != 1 || v.misses[0] != "p50 2.5 ms > 2 ms" {
		t.Errorf("P2 at p50 2.5 ms: misses %q", v.misses)
	}
}

func TestJudgeCountsWarmupErrorsAndFailedRuns(t *testing.T) {
	t.Parallel()
	r := p1Report(250, 250, 3, 20, 0)
	r.WarmupErrors = 2
	r.Error = "worker 1: connection refused"
	v := judge(p1Target(), r)
	want := "the run could not be made: worker 1: connection refused|2 errors (warm-up)"
	if got := strings.Join(v.misses, "|"); got != want {
		t.Errorf("misses %q, want %q", got, want)
	}
}

func TestVerdictLines(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		rep  report
		want string
	}{
		{p1Report(250, 250, 4.25, 20.5, 0), "P1 at 250/s for 60s: sent 15000, ok 15000, errors 0, achieved 250/s, p50 4.25 ms, p90 0 ms, p99 20.5 ms, max 0 ms — target met"},
		{p1Report(150, 150, 3, 20, 0), "— within the target's bounds, below its 250/s for 1m0s"},
		{p1Report(250, 240, 3, 80, 0), "— missed: achieved 240/s of 250/s offered; p99 80 ms > 25 ms"},
	} {
		if got := judge(p1Target(), tc.rep).String(); !strings.Contains(got, tc.want) {
			t.Errorf("line %q, want it to contain %q", got, tc.want)
		}
	}
}

func TestMissedTargets(t *testing.T) {
	t.Parallel()
	o := options{runs: []string{runP1, runP2}, listTools: 500}
	p2 := report{Rate: 50, DurationS: 20, AchievedRate: 50}
	p2.LatencyMS.P50 = 1
	vs := []verdict{judge(p1Target(), p1Report(150, 150, 3, 20, 0)), judge(p1Target(), p1Report(250, 200, 30, 900, 0)), judge(p2Target(), p2)}
	got := missedTargets(o, vs)
	if len(got) != 1 || !strings.HasPrefix(got[0], "P1 NOT MET: no run at 250/s for 1m0s") {
		t.Errorf("missed %q", got)
	}
	vs = append(vs, judge(p1Target(), p1Report(250, 250, 3, 20, 0)))
	if got := missedTargets(o, vs); len(got) != 0 {
		t.Errorf("missed %q after a run that met P1", got)
	}
	if got := missedTargets(options{runs: []string{runP2}, listTools: 500}, nil); len(got) != 1 || !strings.HasPrefix(got[0], "P2 NOT MET") {
		t.Errorf("P2 without a run: %q", got)
	}
}

func TestParseReportOfLoadgen(t *testing.T) {
	t.Parallel()
	// The shape of tools/loadgen's gateway report (gateway_report.go), abridged.
	raw := `{"target":"gateway","rate":250,"warmup_s":5,"duration_s":60,"sent":15000,"ok":14990,"errors":10,
		"errors_by_kind":{"timeout":10},"achieved_rate":249.83,"latency_ms":{"p50":3.1,"p90":7.2,"p95":9,"p99":31.4,"max":120},
		"warmup_errors":0,"pass":false,"fail_reason":"10 errors"}`
	r, err := parseReport([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	if r.Rate != 250 || r.OK != 14990 || r.ErrorsByKind["timeout"] != 10 || r.LatencyMS.P99 != 31.4 || r.AchievedRate != 249.83 {
		t.Errorf("parsed %+v", r)
	}
	for _, bad := range []string{`not json`, `{"target":"gateway"}`} {
		if _, err := parseReport([]byte(bad)); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}
