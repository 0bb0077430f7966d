package main

import (
	"strings"
	"testing"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/lifecycle/lifecycletest"
)

const gatewayToken = "e9d8c7b6a5f40312e9d8c7b6a5f40312e9d8c7b6a5f40312e9d8c7b6a5f40312"

func TestRunServesBothListeners(t *testing.T) {
	t.Parallel()
	svc := lifecycletest.Start(t, run, nil, map[string]string{
		"MCPBOX_BACKEND_TOKEN":         "b7e1c2d3a4f5061728394a5b6c7d8e9fb7e1c2d3a4f5061728394a5b6c7d8e9f",
		"MCPBOX_SANDBOX_TOKEN":         "5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d",
		"MCPBOX_GATEWAY_TOKEN":         gatewayToken,
		"MCPBOX_GATEWAY_LOCAL_LISTEN":  "127.0.0.1:0",
		"MCPBOX_GATEWAY_REMOTE_LISTEN": "127.0.0.1:0",
	})
	local := "http://" + svc.Logs.WaitListening(t, "local")
	remote := "http://" + svc.Logs.WaitListening(t, "remote")
	for _, base := range []string{local, remote} {
		for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
			if code, _ := lifecycletest.Get(t, base+p); code != 200 {
				t.Errorf("%s%s: %d", base, p, code)
			}
		}
	}
	// The local listener refuses any request that carries a service token.
	if code, body := lifecycletest.Do(t, "POST", local+"/mcp", proto.HeaderServiceToken, gatewayToken); code != 403 || !strings.Contains(body, "-32083") {
		t.Errorf("local /mcp with a service token: %d %s", code, body)
	}
	// The remote listener requires one: 403 (never 401) without it.
	if code, body := lifecycletest.Do(t, "POST", remote+"/mcp"); code != 403 || !strings.Contains(body, "-32083") {
		t.Errorf("remote /mcp without token: %d %s", code, body)
	}
	for _, base := range []string{local, remote} {
		code, body := lifecycletest.Do(t, "POST", base+"/mcp", proto.HeaderServiceToken, gatewayToken)
		if base == local {
			code, body = lifecycletest.Do(t, "POST", base+"/mcp")
		}
		if code != 501 || !strings.Contains(body, `"jsonrpc":"2.0"`) {
			t.Errorf("%s/mcp: %d %s", base, code, body)
		}
	}
	if err := svc.Stop(); err != nil {
		t.Fatal(err)
	}
}
