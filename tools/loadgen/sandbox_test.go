package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/canon"
	"github.com/mcpbox/mcpbox/tools/internal/repo"
)

func TestClassify(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status int
		body   string
		kind   outcomeKind
		text   string
	}{
		{"ok", 200, `{"ok":true,"result":{"greeting":"hello gopher","length":6},"error":null}`, kindOK, ""},
		{"tool error", 200, `{"ok":false,"result":null,"error":{"type":"timeout","message":"took too long"}}`, kindError, "status 200 with ok=false: timeout: took too long"},
		{"not json", 200, `<html>`, kindError, "status 200 with a body that is not an execute response"},
		{"saturated", 429, `{"error":{"code":"saturated","message":"busy"}}`, kindSaturated, ""},
		{"error envelope without request id", 503, `{"error":{"code":"draining","message":"shutting down","request_id":"r-1"}}`, kindError, "status 503: draining: shutting down"},
		{"field error", 400, `{"error":{"code":"invalid_request","field":"manifest.hosts","message":"bad"}}`, kindError, "status 400: invalid_request (manifest.hosts): bad"},
		{"plain body", 502, "bad gateway\n", kindError, "status 502: bad gateway"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := classify(tt.status, []byte(tt.body))
			if got.kind != tt.kind || !strings.HasPrefix(got.errText, tt.text) || (tt.text == "" && got.errText != "") {
				t.Errorf("got %+v, want kind %d with text %q", got, tt.kind, tt.text)
			}
		})
	}
}

func TestListeningAddr(t *testing.T) {
	t.Parallel()
	tests := []struct {
		line string
		want string
	}{
		{`{"msg":"listening","service":"sandbox","listener":"main","addr":"127.0.0.1:33303"}`, "127.0.0.1:33303"},
		{`{"msg":"listening","listener":"metrics","addr":"127.0.0.1:9000"}`, ""},
		{`{"msg":"config","listener":"main","addr":"127.0.0.1:1"}`, ""},
		{`{"msg":"listening","listener":"main"}`, ""},
		{`listening main 127.0.0.1:1`, ""},
	}
	for _, tt := range tests {
		got, ok := listeningAddr([]byte(tt.line))
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("%s: got %q, %v; want %q", tt.line, got, ok, tt.want)
		}
	}
}

// The watcher finds the line across split writes and copies every byte to the log.
func TestListenWatcher(t *testing.T) {
	t.Parallel()
	var log bytes.Buffer
	w := newListenWatcher(&log)
	in := `{"msg":"config"}` + "\n" + `{"msg":"listening","listener":"main","addr":"127.0.0.1:4242"}` + "\n" + `{"msg":"request"}` + "\n"
	for i := 0; i < len(in); i += 7 {
		if n, err := w.Write([]byte(in[i:min(i+7, len(in))])); err != nil || n != min(7, len(in)-i) {
			t.Fatalf("write: %d, %v", n, err)
		}
	}
	select {
	case addr := <-w.found:
		if addr != "127.0.0.1:4242" {
			t.Errorf("addr %q", addr)
		}
	default:
		t.Error("no address found")
	}
	if log.String() != in {
		t.Errorf("log %q, want %q", log.String(), in)
	}
}

func TestCheckLoopback(t *testing.T) {
	t.Parallel()
	for addr, ok := range map[string]bool{
		"127.0.0.1:8001": true, "[::1]:8001": true, "127.0.0.2:1": true,
		"10.0.0.1:8001": false, "localhost:8001": false, "[::]:8001": false, "127.0.0.1": false,
	} {
		if err := checkLoopback(addr); (err == nil) != ok {
			t.Errorf("%s: %v, want ok=%v", addr, err, ok)
		}
	}
}

func TestCPUModel(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"processor\t: 0\nvendor_id\t: GenuineIntel\nmodel\t\t: 85\nmodel name\t: Intel(R) Xeon(R) Processor\n": "Intel(R) Xeon(R) Processor",
		"processor\t: 0\nBogoMIPS\t: 50.00\nCPU part\t: 0xd0c\n":                                               "",
	} {
		if got := cpuModel(in); got != want {
			t.Errorf("cpuModel = %q, want %q", got, want)
		}
	}
}

// The request body is a valid execute request: the repository's trivial tool, its pinned hash, [] allowed hosts.
func TestExecuteBody(t *testing.T) {
	t.Parallel()
	root, err := repo.RootFromWD()
	if err != nil {
		t.Fatal(err)
	}
	body, tool, err := executeBody(root)
	if err != nil {
		t.Fatal(err)
	}
	var req proto.ExecuteRequest
	if err := json.Unmarshal(body, &req); err != nil {
		t.Fatal(err)
	}
	hash, err := canon.HashGo(req.Code, req.Manifest)
	if err != nil || hash != req.PinnedHash || hash != tool.PinnedHash {
		t.Errorf("pinned hash %q, body hash %q, tool hash %q (%v)", req.PinnedHash, hash, tool.PinnedHash, err)
	}
	for _, want := range []string{`"allowed_hosts":[]`, `"hosts":[]`, `"packages":[]`, `"secrets":[]`, `"arguments":{"name":"gopher"}`, `"limits":{"timeout_ms":5000,"memory_mb":64}`} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("body lacks %s", want)
		}
	}
	if !strings.Contains(req.Code, "func Main(") {
		t.Errorf("code is not the trivial tool: %q", req.Code)
	}
}
