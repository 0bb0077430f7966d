//go:build !e2e

package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/lifecycle/lifecycletest"
)

// A release build ignores MCPBOX_SANDBOX_E2E_LOOPBACK: loopback stays always
// blocked, even approved (sandbox.md §12.3).
func TestReleaseBuildRefusesE2ELoopback(t *testing.T) {
	t.Parallel()
	fixture := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("reached")) }))
	defer fixture.Close()
	addr := strings.TrimPrefix(fixture.URL, "http://")
	svc := lifecycletest.Start(t, run, nil, map[string]string{
		"MCPBOX_SANDBOX_TOKEN": token, "MCPBOX_SANDBOX_LISTEN": "127.0.0.1:0", "MCPBOX_MODE": "dev",
		"MCPBOX_SANDBOX_E2E_LOOPBACK": addr,
	})
	base := "http://" + svc.Logs.WaitListening(t, "main")
	body, _ := json.Marshal(map[string]any{
		"method": "GET", "url": fixture.URL + "/", "allowed_hosts": []string{addr}, "purpose": "selfcheck",
	})
	raw := postJSON(t, base+proto.PathSandboxFetch, body)
	var out proto.FetchResponse
	if json.Unmarshal(raw, &out) != nil || out.OK || strings.Contains(string(raw), "reached") {
		t.Fatalf("a release build reached loopback: %s", raw)
	}
}
