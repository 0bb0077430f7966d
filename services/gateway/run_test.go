package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/lifecycle/lifecycletest"
)

const gatewayToken = "e9d8c7b6a5f40312e9d8c7b6a5f40312e9d8c7b6a5f40312e9d8c7b6a5f40312"

// The wired gateway with its backend down (a closed loopback port): both
// listeners answer health and metrics without a token; /readyz is 503 until
// a catalog loads (GW-35); the local listener serves the 30 management tools
// to a real go-sdk client while the remote one answers 503 -32082 because
// its policy never loaded (GW-42); a service token on the local listener
// and a missing one on the remote listener are refused with -32083.
// OPS-22 (gateway): before its first catalog load /readyz is 503 naming the
// catalog while /healthz stays 200.
func TestGW42_BackendDownAtStart(t *testing.T) {
	t.Parallel()
	svc := lifecycletest.Start(t, run, nil, map[string]string{
		"MCPBOX_BACKEND_TOKEN":         "b7e1c2d3a4f5061728394a5b6c7d8e9fb7e1c2d3a4f5061728394a5b6c7d8e9f",
		"MCPBOX_SANDBOX_TOKEN":         "5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d",
		"MCPBOX_BACKEND_INTERNAL_URL":  "http://127.0.0.1:1",
		"MCPBOX_SANDBOX_URL":           "http://127.0.0.1:1",
		"MCPBOX_GATEWAY_TOKEN":         gatewayToken,
		"MCPBOX_GATEWAY_LOCAL_LISTEN":  "127.0.0.1:0",
		"MCPBOX_GATEWAY_REMOTE_LISTEN": "127.0.0.1:0",
		"MCPBOX_GATEWAY_SESSION_MODE":  "hybrid",
	})
	local := "http://" + svc.Logs.WaitListening(t, "local")
	remote := "http://" + svc.Logs.WaitListening(t, "remote")
	for _, base := range []string{local, remote} {
		for path, want := range map[string]int{"/healthz": 200, "/readyz": 503, "/metrics": 200} {
			if code, body := lifecycletest.Get(t, base+path); code != want {
				t.Errorf("%s%s: %d %s", base, path, code, body)
			}
		}
		if _, body := lifecycletest.Get(t, base+"/readyz"); !strings.Contains(body, "not_ready") || !strings.Contains(body, "catalog") {
			t.Errorf("%s/readyz does not name the catalog: %s", base, body)
		}
	}
	if code, body := lifecycletest.Do(t, "POST", local+"/mcp", proto.HeaderServiceToken, gatewayToken); code != 403 || !strings.Contains(body, "-32083") {
		t.Errorf("local /mcp with a service token: %d %s", code, body)
	}
	if code, body := lifecycletest.Do(t, "POST", remote+"/mcp"); code != 403 || !strings.Contains(body, "-32083") {
		t.Errorf("remote /mcp without token: %d %s", code, body)
	}
	init := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, remote+"/mcp", bytes.NewBufferString(init))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set(proto.HeaderServiceToken, gatewayToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "-32082") || resp.Header.Get("Retry-After") == "" {
		t.Errorf("remote initialize without a policy: %d %s", resp.StatusCode, body)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	client := mcp.NewClient(&mcp.Implementation{Name: "run-test", Version: "1"}, nil)
	session, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: local + "/mcp"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = session.Close() }()
	tools, err := session.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, tool := range tools.Tools {
		names[tool.Name] = true
	}
	for _, m := range proto.ManagementTools() {
		if !names[string(m)] {
			t.Errorf("tools/list lacks %s", m)
		}
	}
	if len(tools.Tools) != len(proto.ManagementTools()) {
		t.Errorf("tools/list has %d tools, want the %d management tools", len(tools.Tools), len(proto.ManagementTools()))
	}
	if err := session.Close(); err != nil {
		t.Log(err)
	}
	if err := svc.Stop(); err != nil {
		t.Fatal(err)
	}
}
