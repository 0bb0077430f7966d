package main

import (
	"strings"
	"testing"

	"github.com/mcpbox/mcpbox/proto/lifecycle/lifecycletest"
)

func TestRunServesPublicAndAdminListeners(t *testing.T) {
	t.Parallel()
	svc := lifecycletest.Start(t, run, nil, map[string]string{
		"MCPBOX_GATEWAY_TOKEN":     "e9d8c7b6a5f40312e9d8c7b6a5f40312e9d8c7b6a5f40312e9d8c7b6a5f40312",
		"MCPBOX_EDGE_PUBLIC_URL":   "https://mcp.example.com",
		"MCPBOX_EDGE_ISSUER":       "https://idp.example.com",
		"MCPBOX_EDGE_LISTEN":       "127.0.0.1:0",
		"MCPBOX_EDGE_ADMIN_LISTEN": "127.0.0.1:0",
		"MCPBOX_SHUTDOWN_DELAY":    "0s",
	})
	public := "http://" + svc.Logs.WaitListening(t, "public")
	admin := "http://" + svc.Logs.WaitListening(t, "admin")
	if code, _ := lifecycletest.Get(t, public+"/health"); code != 200 {
		t.Errorf("/health: %d", code)
	}
	// Only /mcp, /health and the metadata documents pass; metrics and
	// readiness live on the admin listener alone.
	for _, p := range []string{"/metrics", "/readyz", "/healthz", "/admin", "/mcp/../metrics"} {
		if code, body := lifecycletest.Get(t, public+p); code != 404 || !strings.Contains(body, `"error":"not_found"`) {
			t.Errorf("public %s: %d %s", p, code, body)
		}
	}
	for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
		if code, _ := lifecycletest.Get(t, admin+p); code != 200 {
			t.Errorf("admin %s: %d", p, code)
		}
	}
	if code, body := lifecycletest.Do(t, "POST", public+"/mcp"); code != 501 || !strings.Contains(body, `"error_description"`) {
		t.Errorf("/mcp stub: %d %s", code, body)
	}
	if err := svc.Stop(); err != nil {
		t.Fatal(err)
	}
}
