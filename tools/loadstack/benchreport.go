package main

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// benchMachine is where and what was measured: the machine as loadgen describes it, the load average around the
// run, and the build of the services (their build_info labels).
type benchMachine struct {
	CPUs         int    `json:"cpus"`
	CPUModel     string `json:"cpu_model"`
	Kernel       string `json:"kernel"`
	GoVersion    string `json:"go_version"` // of the services
	Version      string `json:"version"`    // git describe --always --dirty of the services' build
	Revision     string `json:"revision"`   // the commit of the services' build
	LoadAvgStart string `json:"loadavg_start"`
	LoadAvgEnd   string `json:"loadavg_end"`
}

// benchSettings are the knobs of the run.
type benchSettings struct {
	Concurrency int     `json:"concurrency"`
	WarmupS     float64 `json:"warmup_s"`
	DurationS   float64 `json:"duration_s"`
	Users       int     `json:"users"`
	Workers     int     `json:"workers"`
	Era         string  `json:"era"`
	ListTools   int     `json:"list_tools"`
}

// benchReport is make bench's stack report, written as JSON and Markdown next to the chart.
type benchReport struct {
	StartedAt  time.Time        `json:"started_at"`
	FinishedAt time.Time        `json:"finished_at"`
	Command    string           `json:"command"`
	Machine    benchMachine     `json:"machine"`
	Settings   benchSettings    `json:"settings"`
	Scenarios  []scenarioResult `json:"scenarios"`
	Ratios     []ratio          `json:"ratios"`
	Problems   []string         `json:"problems"` // every scenario with errors; any makes the exit status 1
}

// json is the indented report.
func (r benchReport) json() ([]byte, error) {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode the bench report: %w", err)
	}
	return append(b, '\n'), nil
}

// machineLine describes the machine in one line, for the chart's title and the Markdown.
func (m benchMachine) line() string {
	return fmt.Sprintf("%d × %s, Linux %s, %s", m.CPUs, m.CPUModel, m.Kernel, m.GoVersion)
}

// table is the results as a Markdown table.
func (r benchReport) table() string {
	var b strings.Builder
	b.WriteString("| scenario | calls/s | p50 ms | p95 ms | p99 ms | errors |\n|---|---:|---:|---:|---:|---:|\n")
	for _, s := range r.Scenarios {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %d |\n", s.Name, fixed(s.CallsPerSec, 0), ms3(s.P50), ms3(s.P95), ms3(s.P99), s.Errors)
	}
	return b.String()
}

// ratioLines says each ratio in words, one Markdown list item each.
func (r benchReport) ratioLines() string {
	if len(r.Ratios) == 0 {
		return "- no ratio: the bare server's or the stack's trivial call has no figures\n"
	}
	name := map[string]string{}
	for _, s := range r.Scenarios {
		name[s.Key] = s.Name
	}
	var b strings.Builder
	for _, q := range r.Ratios {
		fmt.Fprintf(&b, "- %s: p50 is %s× the bare server's (stack p50 ÷ bare p50); the bare server answers %s× the calls/s (bare calls/s ÷ stack calls/s)\n",
			name[q.Stack], fixed(q.LatencyP50, 2), fixed(q.Throughput, 2))
	}
	return b.String()
}

// markdown is the report for people: what ran where, the table, the ratios, the chart and the command. svg is the
// chart's path relative to the Markdown file.
func (r benchReport) markdown(svg string) string {
	m, st := r.Machine, r.Settings
	var b strings.Builder
	fmt.Fprintf(&b, "Measured %s at commit `%s` (`%s`) on %s; load average %s at the start, %s at the end (`/proc/loadavg`).\n",
		r.StartedAt.UTC().Format("2006-01-02 15:04 UTC"), shortRev(m.Revision), m.Version, m.line(), m.LoadAvgStart, m.LoadAvgEnd)
	fmt.Fprintf(&b, "Each scenario: closed loop with %d requests in flight (1 where its name says so), %s of warm-up, then %s measured; %s era, %d MCP clients; "+
		"edge runs as %d users (one devidp token each).\n\n",
		st.Concurrency, seconds(st.WarmupS), seconds(st.DurationS), st.Era, st.Workers, st.Users)
	b.WriteString(r.table())
	b.WriteString("\nGateway vs bare go-sdk server, the same trivial call from the same client in the same run:\n\n")
	b.WriteString(r.ratioLines())
	if len(r.Problems) > 0 {
		b.WriteString("\nProblems:\n\n")
		for _, p := range r.Problems {
			fmt.Fprintf(&b, "- %s\n", p)
		}
	}
	fmt.Fprintf(&b, "\n![Latency percentiles per scenario, log scale](%s)\n\nCommand: `%s`\n", svg, r.Command)
	return b.String()
}

// shortRev is the first 12 characters of a commit.
func shortRev(rev string) string {
	if len(rev) > 12 {
		return rev[:12]
	}
	return rev
}

// fixed formats f with d decimals.
func fixed(f float64, d int) string { return strconv.FormatFloat(f, 'f', d, 64) }

// ms3 formats milliseconds with three significant digits at most (0.412, 4.12, 41.2, 412).
func ms3(f float64) string {
	switch a := math.Abs(f); {
	case a == 0:
		return "0"
	case a < 1:
		return fixed(f, 3)
	case a < 10:
		return fixed(f, 2)
	case a < 100:
		return fixed(f, 1)
	}
	return fixed(f, 0)
}

// seconds formats a number of seconds as a duration.
func seconds(s float64) time.Duration {
	return time.Duration(s * float64(time.Second)).Round(time.Millisecond)
}
