package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/canon"
)

// echoTool is the trivial tool of sandbox.md §16, relative to the repository root.
const echoTool = "services/sandbox/internal/worker/testdata/bench/echo.go"

// requestTimeout bounds one request, response body included.
const requestTimeout = 30 * time.Second

// runSandbox is `loadgen sandbox`: start the sandbox, run the steps, stop it, write the report.
func runSandbox(ctx context.Context, cfg config, root, path string, stdout, stderr io.Writer) int {
	started := time.Now()
	if err := os.MkdirAll(filepath.Dir(cfg.out), 0o755); err != nil {
		_, _ = fmt.Fprintf(stderr, "loadgen: report directory for -out %s: %v\n", cfg.out, err)
		return exitFail
	}
	spec := procSpec{bin: cfg.bin, path: path, logPath: logPath(cfg.out), env: cfg.env}
	if cfg.cpus != "" {
		if ts, err := exec.LookPath("taskset"); err == nil {
			spec.taskset, spec.cpus = ts, cfg.cpus
		} else {
			_, _ = fmt.Fprintf(stdout, "no taskset on PATH: the sandbox runs unpinned, not on CPUs %s\n", cfg.cpus)
		}
	}
	rep := newReport(cfg, describeMachine(ctx, spec.cpus), started)
	err := loadSandbox(ctx, cfg, root, spec, &rep, stdout)
	if err != nil {
		rep.Error = err.Error()
		_, _ = fmt.Fprintf(stderr, "loadgen: %v\n", err)
	}
	rep.finish(time.Now())
	if werr := rep.write(cfg.out); werr != nil {
		_, _ = fmt.Fprintf(stderr, "loadgen: %v\n", werr)
		return exitFail
	}
	_, _ = fmt.Fprintf(stdout, "report: %s (sandbox log: %s)\nmax passing rate: %s/s\n", cfg.out, rep.Log, formatRate(rep.MaxPassingRate))
	if !rep.Passed {
		return exitFail
	}
	return exitPass
}

// loadSandbox fills rep.Tool, rep.Steps and rep.TargetExit; an error means the run could not be made.
func loadSandbox(ctx context.Context, cfg config, root string, spec procSpec, rep *report, stdout io.Writer) error {
	if _, err := os.Stat(cfg.bin); err != nil {
		return fmt.Errorf("sandbox binary: %w; run `make build` or pass -bin", err)
	}
	body, tool, err := executeBody(root)
	if err != nil {
		return err
	}
	rep.Tool = tool
	client := loadClient(cfg.maxInflight)
	defer client.CloseIdleConnections()
	p, err := startSandbox(ctx, spec, client)
	if err != nil {
		return err
	}
	pinned := "unpinned"
	if spec.taskset != "" {
		pinned = "pinned to CPUs " + spec.cpus
	}
	_, _ = fmt.Fprintf(stdout, "sandbox %s on %s, %s; log in %s\n", cfg.bin, p.addr, pinned, p.logPath)
	sys := &sandboxSystem{
		client: client, url: "http://" + p.addr + proto.PathSandboxExecute, metricsURL: "http://" + p.addr + "/metrics",
		token: p.token, body: body, pid: p.pid(), ticksPerSecond: rep.Machine.ClockTicks,
	}
	rep.Steps = runSteps(ctx, sys, cfg, sandboxCriteria(), stdout)
	runErr := p.running()
	stopErr := p.stop()
	rep.TargetExit = exitErr(stopErr).Error()
	if runErr != nil {
		return runErr
	}
	if stopErr != nil {
		return fmt.Errorf("stop the sandbox: %w; see %s", stopErr, p.logPath)
	}
	return nil
}

// executeBody is the JSON body of every request: the trivial tool with its pinned hash, no network, 5 s, 64 MB.
func executeBody(root string) ([]byte, toolInfo, error) {
	code, err := os.ReadFile(filepath.Join(root, echoTool))
	if err != nil {
		return nil, toolInfo{}, fmt.Errorf("the trivial tool: %w", err)
	}
	m := proto.Manifest{Hosts: []string{}, Packages: []string{}, Secrets: []string{}, TimeoutMS: 5000, MemoryMB: 64}
	hash, err := canon.HashGo(string(code), m)
	if err != nil {
		return nil, toolInfo{}, fmt.Errorf("%s: %w", echoTool, err)
	}
	args := json.RawMessage(`{"name":"gopher"}`)
	body, err := json.Marshal(proto.ExecuteRequest{
		Code: string(code), Manifest: m, PinnedHash: hash, Arguments: args, AllowedHosts: proto.OnlyHosts(),
		Limits: proto.Limits{TimeoutMS: m.TimeoutMS, MemoryMB: m.MemoryMB},
	})
	if err != nil {
		return nil, toolInfo{}, fmt.Errorf("encode the execute request: %w", err)
	}
	return body, toolInfo{Path: echoTool, PinnedHash: hash, Arguments: args}, nil
}

// loadClient is the one keep-alive client of a run: enough idle connections for every request in flight, no proxy
// (loopback only), 30 s per request.
func loadClient(maxInflight int) *http.Client {
	return &http.Client{
		Timeout: requestTimeout,
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        maxInflight + 16,
			MaxIdleConnsPerHost: maxInflight + 16, // + the /metrics and /readyz requests
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		},
	}
}

// sandboxSystem loads POST /v1/execute of one sandbox.
type sandboxSystem struct {
	client         *http.Client
	url            string // POST /v1/execute
	metricsURL     string
	token          string
	body           []byte
	pid            int
	ticksPerSecond int
}

// call sends one execution.
func (s *sandboxSystem) call(ctx context.Context) outcome {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(s.body))
	if err != nil {
		return outcome{kind: kindError, errText: err.Error()}
	}
	req.Header.Set(proto.HeaderServiceToken, s.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return outcome{kind: kindError, errText: err.Error()}
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return outcome{kind: kindError, errText: fmt.Sprintf("status %d, reading the body: %v", resp.StatusCode, err)}
	}
	return classify(resp.StatusCode, body)
}

// classify sorts a response: 200 with "ok": true is OK, 429 is saturated, anything else an error whose text says
// what came back.
func classify(status int, body []byte) outcome {
	switch status {
	case http.StatusOK:
		var r proto.ExecuteResponse
		if err := json.Unmarshal(body, &r); err != nil {
			return outcome{kind: kindError, errText: "status 200 with a body that is not an execute response: " + err.Error()}
		}
		if r.OK {
			return outcome{kind: kindOK}
		}
		text := "status 200 with ok=false"
		if r.Error != nil {
			text += fmt.Sprintf(": %s: %s", r.Error.Type, truncate(r.Error.Message, 200))
		}
		return outcome{kind: kindError, errText: text}
	case http.StatusTooManyRequests:
		return outcome{kind: kindSaturated}
	default:
		return outcome{kind: kindError, errText: fmt.Sprintf("status %d: %s", status, errorText(body))}
	}
}

// errorText is the code, field and message of a proto.ErrorBody without its request id, so that equal errors
// read equal; another body is quoted, shortened.
func errorText(body []byte) string {
	var eb proto.ErrorBody
	if err := json.Unmarshal(body, &eb); err != nil || eb.Error.Code == "" {
		return truncate(strings.TrimSpace(string(body)), 200)
	}
	text := eb.Error.Code
	if eb.Error.Field != "" {
		text += " (" + eb.Error.Field + ")"
	}
	return text + ": " + truncate(eb.Error.Message, 200)
}

// counters reads the cold-start counter from /metrics and the sandbox's CPU time from /proc.
func (s *sandboxSystem) counters(ctx context.Context) (counters, error) {
	cpu, err := processCPU(s.pid, s.ticksPerSecond)
	if err != nil {
		return counters{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	status, body, err := get(ctx, s.client, s.metricsURL)
	if err != nil {
		return counters{}, err
	}
	if status != http.StatusOK {
		return counters{}, fmt.Errorf("GET /metrics: status %d", status)
	}
	cold, err := metricValue(string(body), coldStartsMetric)
	if err != nil {
		return counters{}, err
	}
	return counters{coldStarts: cold, cpu: cpu}, nil
}
