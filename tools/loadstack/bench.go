package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Where a scenario's requests enter.
const (
	viaEdge  = "edge"  // the edge's public /mcp with a remote user's devidp token: edge → gateway (remote) → …
	viaLocal = "local" // the gateway's local listener, the trusted local caller: no edge, no token
	viaBare  = "bare"  // loadgen bare, a bare go-sdk server in a process of its own
)

// scenario is one closed-loop run of make bench's stack part.
type scenario struct {
	key    string // in file names and the JSON report
	name   string // in the table and the chart
	via    string
	method string // loadgen -method: call or list
	tool   string // of a call
	args   string // of a call, JSON
	// inFlight, when not zero, replaces -concurrency: the one-at-a-time runs measure the latency of a call on an
	// otherwise idle stack, which the closed loop at -concurrency (capacity) turns into queueing.
	inFlight int
}

// concurrency is the requests sc keeps in flight.
func (sc scenario) concurrency(o options) int {
	if sc.inFlight > 0 {
		return sc.inFlight
	}
	return o.concurrency
}

// Keys of the scenarios the ratio compares.
const (
	keyBare        = "bare-trivial"
	keyLocal       = "local-trivial"
	keyEdgeTrivial = "edge-trivial"
	keyBare1       = "bare-trivial-1"
	keyEdge1       = "edge-trivial-1"
)

// benchScenarios lists the scenarios in the order they run: the trivial call one at a time on the bare server and
// through the edge (latency), the trivial call on the bare server, on the local listener and through the edge, then
// through the edge one brokered HTTP call, tools/list with listTools user tools and a management call.
func benchScenarios(listTools int) []scenario {
	return []scenario{
		{key: keyBare1, name: "bare go-sdk server: trivial call, 1 in flight", via: viaBare, method: "call", tool: addTool, args: addArgs, inFlight: 1},
		{key: keyEdge1, name: "edge: trivial call, 1 in flight", via: viaEdge, method: "call", tool: addTool, args: addArgs, inFlight: 1},
		{key: keyBare, name: "bare go-sdk server: trivial call", via: viaBare, method: "call", tool: addTool, args: addArgs},
		{key: keyLocal, name: "gateway local listener: trivial call", via: viaLocal, method: "call", tool: addTool, args: addArgs},
		{key: keyEdgeTrivial, name: "edge: trivial call", via: viaEdge, method: "call", tool: addTool, args: addArgs},
		{key: "edge-fetch", name: "edge: one brokered HTTP GET", via: viaEdge, method: "call", tool: fetchTool, args: fetchArgs},
		{key: "edge-list", name: fmt.Sprintf("edge: tools/list, %d tools", listTools), via: viaEdge, method: "list"},
		{key: "edge-manage", name: "edge: " + manageTool, via: viaEdge, method: "call", tool: manageTool, args: manageArgs},
	}
}

// scenarioResult is one scenario's figures, from its loadgen report.
type scenarioResult struct {
	Key         string   `json:"key"`
	Name        string   `json:"name"`
	Via         string   `json:"via"`
	CallsPerSec float64  `json:"calls_per_s"` // ok answers of the window per second
	P50         float64  `json:"p50_ms"`
	P95         float64  `json:"p95_ms"`
	P99         float64  `json:"p99_ms"`
	Max         float64  `json:"max_ms"`
	Sent        int      `json:"sent"`
	OK          int      `json:"ok"`
	Errors      int      `json:"errors"` // of the window and the warm-up
	ErrorTexts  []string `json:"error_texts"`
	Report      string   `json:"report"` // loadgen's JSON report, relative to the bench report
}

// resultOf turns a loadgen report into a scenario result.
func resultOf(sc scenario, r report, reportFile string) scenarioResult {
	return scenarioResult{
		Key: sc.key, Name: sc.name, Via: sc.via, CallsPerSec: r.AchievedRate,
		P50: r.LatencyMS.P50, P95: r.LatencyMS.P95, P99: r.LatencyMS.P99, Max: r.LatencyMS.Max,
		Sent: r.Sent, OK: r.OK, Errors: r.Errors + r.WarmupErrors, ErrorTexts: r.ErrorTexts, Report: reportFile,
	}
}

// problem says what is wrong with a result, "" when nothing: errors, or a run that could not be made.
func (r scenarioResult) problem(runErr string) string {
	switch {
	case runErr != "":
		return fmt.Sprintf("%s: the run could not be made: %s", r.Name, runErr)
	case r.Errors > 0:
		return fmt.Sprintf("%s: %d errors (%s)", r.Name, r.Errors, strings.Join(r.ErrorTexts, "; "))
	case r.OK == 0:
		return r.Name + ": no call succeeded"
	}
	return ""
}

// ratio compares the gateway's trivial call with the bare server's in the same run.
type ratio struct {
	Stack string `json:"stack"` // the stack's scenario key
	Bare  string `json:"bare"`
	// LatencyP50 is the stack's p50 ÷ the bare server's p50: how many times slower the median call is.
	LatencyP50 float64 `json:"latency_p50"`
	// Throughput is the bare server's calls/s ÷ the stack's calls/s at the same concurrency: how many times more
	// calls the bare server answers.
	Throughput float64 `json:"throughput"`
}

// ratios computes the ratio of the edge and local trivial calls against the bare server at the same concurrency,
// for each pair that ran.
func ratios(rs []scenarioResult) []ratio {
	by := map[string]scenarioResult{}
	for _, r := range rs {
		by[r.Key] = r
	}
	var out []ratio
	for _, p := range [][2]string{{keyEdge1, keyBare1}, {keyEdgeTrivial, keyBare}, {keyLocal, keyBare}} {
		s, sok := by[p[0]]
		bare, bok := by[p[1]]
		if !sok || !bok || s.P50 <= 0 || s.CallsPerSec <= 0 || bare.P50 <= 0 || bare.CallsPerSec <= 0 {
			continue
		}
		out = append(out, ratio{Stack: p[0], Bare: p[1], LatencyP50: round2(s.P50 / bare.P50), Throughput: round2(bare.CallsPerSec / s.CallsPerSec)})
	}
	return out
}

// benchEnv is what the scenarios need of the running stack.
type benchEnv struct {
	edgeMCP, localMCP, bareMCP string
	tokens                     []string
	target                     *fetchTarget
	stamp                      string // the run's UTC time in file names
}

// runScenarios makes every scenario in turn, with -pause between them, and returns their results and the
// problems found; an error means loadstack could not go on (an interrupt, a loadgen that printed no report).
func (l *loadstack) runScenarios(ctx context.Context, env benchEnv, scs []scenario) ([]scenarioResult, loadgenMachine, []string, error) {
	var (
		results  []scenarioResult
		problems []string
		machine  loadgenMachine
	)
	for i, sc := range scs {
		if i > 0 {
			if err := l.pause(ctx); err != nil {
				return results, machine, problems, err
			}
		}
		hits := env.target.hits.Load()
		res, rep, err := l.runScenario(ctx, env, sc)
		if err != nil {
			return results, machine, problems, err
		}
		machine = rep.Machine
		runErr := rep.Error
		if p := res.problem(runErr); p != "" {
			problems = append(problems, p)
		}
		if sc.tool == fetchTool {
			if got := env.target.hits.Load() - hits; got < int64(res.OK) {
				problems = append(problems, fmt.Sprintf("%s: the target answered %d GETs for %d successful calls", sc.name, got, res.OK))
			}
		}
		results = append(results, res)
		if ctx.Err() != nil {
			return results, machine, problems, fmt.Errorf("interrupted: %w", ctx.Err())
		}
	}
	return results, machine, problems, nil
}

// runScenario makes one closed-loop loadgen run and returns its result and loadgen's report.
func (l *loadstack) runScenario(ctx context.Context, env benchEnv, sc scenario) (scenarioResult, report, error) {
	file := "stack-" + env.stamp + "-" + sc.key + ".json"
	l.say("%s: closed loop, %d in flight, %s warm-up, then %s; load average %s", sc.name, sc.concurrency(l.opt), l.opt.benchWarmup, l.opt.benchDuration, loadavg())
	rep, _, err := runLoadgen(ctx, l.opt.loadgen, scenarioArgs(sc, l.opt, env, filepath.Join(l.opt.out, file)), io.Discard, l.stderr)
	if err != nil {
		return scenarioResult{}, report{}, err
	}
	res := resultOf(sc, rep, file)
	l.say("%s: %s calls/s, p50 %s ms, p95 %s ms, p99 %s ms, %d errors", sc.name, num(res.CallsPerSec), ms3(res.P50), ms3(res.P95), ms3(res.P99), res.Errors)
	return res, rep, nil
}

// scenarioArgs is loadgen's command line for sc. Edge runs give every worker a user's token, and have at least one
// worker per user, so the gateway's per-user limit sees -users users.
func scenarioArgs(sc scenario, o options, env benchEnv, out string) []string {
	url, workers := env.localMCP, o.workers
	switch sc.via {
	case viaEdge:
		url, workers = env.edgeMCP, max(o.workers, len(env.tokens))
	case viaBare:
		url = env.bareMCP
	}
	args := []string{
		"gateway", "-url", url, "-era", o.era, "-method", sc.method, "-concurrency", strconv.Itoa(sc.concurrency(o)),
		"-duration", o.benchDuration.String(), "-warmup", o.benchWarmup.String(), "-workers", strconv.Itoa(workers), "-out", out,
	}
	if sc.method == "call" {
		args = append(args, "-tool", sc.tool, "-args", sc.args)
	}
	if sc.via == viaEdge {
		for _, t := range env.tokens {
			args = append(args, "-worker-header", "Authorization: Bearer "+t)
		}
	}
	return args
}

// pause waits -pause unless interrupted.
func (l *loadstack) pause(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return fmt.Errorf("interrupted: %w", ctx.Err())
	case <-time.After(l.opt.pause):
		return nil
	}
}

// round2 rounds to two decimals.
func round2(f float64) float64 { return math.Round(f*100) / 100 }
