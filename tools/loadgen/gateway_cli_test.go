package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// GW-100: the flags of gateway.md §15 exist, with the defaults of P1 (local listener, 250/s for 60 s).
func TestGW100_GatewayFlagsAndDefaults(t *testing.T) {
	t.Parallel()
	// -tool is required with -method call: the defaults alone are a usage error naming it.
	if _, err := parseGatewayArgs(nil, io.Discard); err == nil || !strings.Contains(err.Error(), "-tool") {
		t.Fatalf("error %v without -tool, want one naming -tool", err)
	}
	cfg, err := parseGatewayArgs([]string{"-tool", "e2e__add"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := gatewayConfig{
		url: "http://127.0.0.1:8002/mcp", era: eraInitialize, method: methodCall, args: json.RawMessage(`{}`), rate: 250,
		duration: 60 * time.Second, warmup: 10 * time.Second, workers: 8, timeout: 30 * time.Second, maxInflight: 2000,
		headers: http.Header{},
	}
	want.tool = "e2e__add"
	if diff := cmp.Diff(want, cfg, cmp.AllowUnexported(gatewayConfig{})); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}

	cfg, err = parseGatewayArgs([]string{
		"-url", "http://localhost:9/mcp", "-era", "modern", "-method", "call", "-tool", "e2e__add", "-args", ` { "a": 2, "b": 40 } `,
		"-rate", "12.5", "-duration", "2s", "-warmup", "0s", "-workers", "3", "-timeout", "5s", "-max-inflight", "10",
		"-header", "X-MCPbox-Service-Token: abc", "-header", "x-mcpbox-user-email:  a@x.com ", "-header", "X-MCPbox-Service-Token: def",
		"-out", "r.json",
	}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want = gatewayConfig{
		url: "http://localhost:9/mcp", era: eraModern, method: methodCall, tool: "e2e__add", args: json.RawMessage(`{"a":2,"b":40}`),
		rate: 12.5, duration: 2 * time.Second, warmup: 0, workers: 3, timeout: 5 * time.Second, maxInflight: 10,
		headers: http.Header{"X-Mcpbox-Service-Token": {"abc", "def"}, "X-Mcpbox-User-Email": {"a@x.com"}}, out: "r.json",
	}
	if diff := cmp.Diff(want, cfg, cmp.AllowUnexported(gatewayConfig{})); diff != "" {
		t.Errorf("flags (-want +got):\n%s", diff)
	}
}

// Bad gateway command lines exit 2 before anything is sent, naming the flag at fault.
func TestLoadgenGatewayUsageErrors(t *testing.T) {
	t.Parallel()
	tool := []string{"-tool", "e2e__add"}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no tool", nil, "-tool"},
		{"tool with list", []string{"-method", "list", "-tool", "x__y"}, "-tool"},
		{"bad era", append([]string{"-era", "2026"}, tool...), "-era"},
		{"bad method", append([]string{"-method", "ping"}, tool...), "-method"},
		{"args not an object", append([]string{"-args", "[1,2]"}, tool...), "-args"},
		{"args not JSON", append([]string{"-args", "{a:1}"}, tool...), "-args"},
		{"args null", append([]string{"-args", "null"}, tool...), "-args"},
		{"zero rate", append([]string{"-rate", "0"}, tool...), "-rate"},
		{"infinite rate", append([]string{"-rate", "+Inf"}, tool...), "-rate"},
		{"zero duration", append([]string{"-duration", "0s"}, tool...), "-duration"},
		{"negative warmup", append([]string{"-warmup", "-1s"}, tool...), "-warmup"},
		{"zero workers", append([]string{"-workers", "0"}, tool...), "-workers"},
		{"zero timeout", append([]string{"-timeout", "0s"}, tool...), "-timeout"},
		{"zero max-inflight", append([]string{"-max-inflight", "0"}, tool...), "-max-inflight"},
		{"too many samples", append([]string{"-rate", "1e6", "-duration", "1h"}, tool...), "-rate"},
		{"remote host", append([]string{"-url", "http://mcp.example.com/mcp"}, tool...), "not a loopback address"},
		{"private address", append([]string{"-url", "http://10.0.0.1:8002/mcp"}, tool...), "not a loopback address"},
		{"credentials", append([]string{"-url", "http://u:p@127.0.0.1/mcp"}, tool...), "-url"},
		{"not http", append([]string{"-url", "ftp://127.0.0.1/mcp"}, tool...), "-url"},
		{"header without colon", append([]string{"-header", "X-Token abc"}, tool...), "Name: value"},
		{"header bad name", append([]string{"-header", "X Token: abc"}, tool...), "Name: value"},
		{"header loadgen sets", append([]string{"-header", "mcp-session-id: abc"}, tool...), "Mcp-Session-Id"},
		{"header version", append([]string{"-header", "MCP-Protocol-Version: 2025-06-18"}, tool...), "Mcp-Protocol-Version"},
		{"extra argument", append(tool, "extra"), "extra"},
		{"unknown flag", append([]string{"-cpus", "0,1"}, tool...), "-cpus"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), append([]string{"gateway"}, tt.args...), nil, &stdout, &stderr)
			if code != exitUsage {
				t.Errorf("exit %d, want %d; stderr %q", code, exitUsage, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("stderr %q does not name %q", stderr.String(), tt.want)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout %q, want nothing", stdout.String())
			}
		})
	}
}

// gateway -h prints the gateway's flags and exits 0; the target list names it.
func TestLoadgenGatewayHelp(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	if code := run(t.Context(), []string{"gateway", "-h"}, nil, &stdout, &stderr); code != exitPass {
		t.Errorf("exit %d, want 0", code)
	}
	for _, flag := range []string{"-url", "-era", "-method", "-tool", "-args", "-rate", "-duration", "-warmup", "-workers", "-header"} {
		if !strings.Contains(stderr.String(), flag) {
			t.Errorf("usage lacks %s", flag)
		}
	}
	stderr.Reset()
	run(t.Context(), []string{"-h"}, nil, &stdout, &stderr)
	if !strings.Contains(stderr.String(), "gateway") {
		t.Errorf("usage %q does not name the gateway target", stderr.String())
	}
}

// Header values may be secrets: the flag's String never shows them.
func TestHeaderFlagHidesValues(t *testing.T) {
	t.Parallel()
	f := headerFlag{http.Header{}}
	if err := f.Set("X-MCPbox-Service-Token: s3cr3t"); err != nil {
		t.Fatal(err)
	}
	if s := f.String(); strings.Contains(s, "s3cr3t") {
		t.Errorf("String %q shows the value", s)
	}
	if err := f.Set("X-Evil: a\rb"); err == nil {
		t.Error("a value with a carriage return was accepted")
	}
}
