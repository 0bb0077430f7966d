package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/canon"
	"github.com/mcpbox/mcpbox/proto/lifecycle"
	"github.com/mcpbox/mcpbox/proto/lifecycle/lifecycletest"
)

const greet = "package tool\n\nimport (\n\t\"context\"\n\t\"fmt\"\n)\n\ntype Input struct {\n\tName string `json:\"name\"`\n}\n\n" +
	"type Output struct {\n\tGreeting string `json:\"greeting\"`\n}\n\n// Main greets someone.\nfunc Main(ctx context.Context, in Input) (Output, error) {\n" +
	"\tfmt.Println(\"greeting\", in.Name)\n\treturn Output{Greeting: \"hello \" + in.Name}, nil\n}\n"

// The whole engine through the public API: a pinned tool runs in a real,
// locked-down worker process and its result comes back structured, both in
// the dedicated worker executable and in the sandbox binary re-executed as
// its own worker (no sandbox-worker installed next to it).
func TestExecuteRunsAToolInAWorker(t *testing.T) {
	t.Parallel()
	self := os.Args[0] // TestMain makes this binary a worker
	if bin := os.Getenv("MCPBOX_BIN_DIR"); bin != "" {
		self = filepath.Join(bin, "sandbox")
	}
	for name, exe := range map[string]string{"worker executable": testWorker(), "sandbox binary": self} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			executeGreet(t, command(exe))
		})
	}
}

func executeGreet(t *testing.T, run lifecycle.RunFunc) {
	svc := lifecycletest.Start(t, run, nil, map[string]string{
		"MCPBOX_SANDBOX_TOKEN": token, "MCPBOX_SANDBOX_LISTEN": "127.0.0.1:0", "MCPBOX_SANDBOX_WARM_WORKERS": "2",
	})
	base := "http://" + svc.Logs.WaitListening(t, "main")
	waitReady(t, base)
	m := proto.Manifest{Hosts: []string{}, Packages: []string{}, Secrets: []string{}, TimeoutMS: 5000, MemoryMB: 128}
	hash, err := canon.HashGo(greet, m)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{
		"code": greet, "manifest": m, "pinned_hash": hash, "arguments": map[string]any{"name": "Ada"},
		"allowed_hosts": []string{}, "limits": map[string]any{"timeout_ms": 5000, "memory_mb": 128},
	})
	raw := postJSON(t, base+proto.PathSandboxExecute, body)
	var out proto.ExecuteResponse
	if json.Unmarshal(raw, &out) != nil {
		t.Fatalf("response: %s", raw)
	}
	if !out.OK || !out.Structured || string(out.Result) != `{"greeting":"hello Ada"}` || out.Stdout != "greeting Ada\n" ||
		out.Worker == nil || out.Worker.CPUMS < 0 || out.Worker.MaxRSSKB <= 0 {
		t.Errorf("response: %s", raw)
	}
}

// SB-78: compile: true reports a type error as CompileError with its
// position, from a real worker that runs without secrets or network.
func TestSB78_CompileReportsTypeErrors(t *testing.T) {
	t.Parallel()
	svc := lifecycletest.Start(t, run, nil, map[string]string{
		"MCPBOX_SANDBOX_TOKEN": token, "MCPBOX_SANDBOX_LISTEN": "127.0.0.1:0", "MCPBOX_SANDBOX_WARM_WORKERS": "2",
	})
	base := "http://" + svc.Logs.WaitListening(t, "main")
	waitReady(t, base)
	analyzeCode := func(src string) proto.AnalyzeResponse {
		body, _ := json.Marshal(map[string]any{"code": src, "compile": true})
		raw := postJSON(t, base+proto.PathSandboxAnalyze, body)
		var out proto.AnalyzeResponse
		if json.Unmarshal(raw, &out) != nil {
			t.Fatalf("response: %s", raw)
		}
		return out
	}
	if ok := analyzeCode(greet); !ok.OK || ok.Worker == nil {
		t.Errorf("a valid tool did not compile: %+v", ok)
	}
	broken := strings.Replace(greet, `"hello " + in.Name`, `"hello " + in.Missing`, 1)
	bad := analyzeCode(broken)
	var found bool
	for _, d := range bad.Diagnostics {
		if d.Type == proto.ErrTypeCompileError && d.Line > 0 {
			found = true
		}
	}
	if bad.OK || !found || bad.Worker == nil {
		t.Errorf("type error not reported as a positioned CompileError: %+v", bad)
	}
}

// postJSON posts body with the service token and returns a 200 body.
func postJSON(t *testing.T, url string, body []byte) []byte {
	t.Helper()
	raw, err := post(url, body)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// post is postJSON for goroutines: it returns the failure.
func post(url string, body []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(proto.HeaderServiceToken, token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("POST %s: %d %s", url, resp.StatusCode, raw)
	}
	return raw, nil
}

// SB-65 (API layer, 16 parallel executions of one tool): each response holds
// only its own secret-derived marker and stdout.
func TestParallelExecutionsStayApart(t *testing.T) {
	t.Parallel()
	svc := lifecycletest.Start(t, run, nil, map[string]string{
		"MCPBOX_SANDBOX_TOKEN": token, "MCPBOX_SANDBOX_LISTEN": "127.0.0.1:0", "MCPBOX_SANDBOX_WARM_WORKERS": "2",
		"MCPBOX_SANDBOX_MAX_CONCURRENT": "4",
	})
	base := "http://" + svc.Logs.WaitListening(t, "main")
	waitReady(t, base)
	const src = "package tool\n\nimport (\n\t\"context\"\n\t\"fmt\"\n\n\t\"mcpbox\"\n)\n\ntype Input struct{}\n\n" +
		"// Main reports its own marker.\nfunc Main(ctx context.Context, in Input) (string, error) {\n" +
		"\tm := mcpbox.Secret(\"KEY\")[:7]\n\tfmt.Println(\"marker\", m)\n\treturn m, nil\n}\n"
	m := proto.Manifest{Hosts: []string{}, Packages: []string{}, Secrets: []string{"KEY"}, TimeoutMS: 10000, MemoryMB: 128}
	hash, err := canon.HashGo(src, m)
	if err != nil {
		t.Fatal(err)
	}
	const n = 16
	errs := make(chan error, n)
	for i := range n {
		go func() {
			secret := fmt.Sprintf("mk-%04d-%s", i, strings.Repeat("s", 12))
			body, _ := json.Marshal(map[string]any{
				"code": src, "manifest": m, "pinned_hash": hash, "arguments": map[string]any{},
				"allowed_hosts": []string{}, "secrets": map[string]string{"KEY": secret},
				"limits": map[string]any{"timeout_ms": 10000, "memory_mb": 128},
			})
			raw, err := post(base+proto.PathSandboxExecute, body)
			if err != nil {
				errs <- err
				return
			}
			var out proto.ExecuteResponse
			if err := json.Unmarshal(raw, &out); err != nil {
				errs <- err
				return
			}
			mine := secret[:7]
			if !out.OK || out.ContentText != mine || out.Stdout != "marker "+mine+"\n" {
				errs <- fmt.Errorf("execution %d: %s", i, raw)
				return
			}
			for j := range n {
				if other := fmt.Sprintf("mk-%04d", j); j != i && strings.Contains(string(raw), other) {
					errs <- fmt.Errorf("execution %d saw %s", i, other)
					return
				}
			}
			errs <- nil
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
