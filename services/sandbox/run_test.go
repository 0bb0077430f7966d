package main

import (
	"strings"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/lifecycle/lifecycletest"
)

const token = "5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d"

func TestRunServesHealthMetricsAndGuardedStubs(t *testing.T) {
	t.Parallel()
	svc := lifecycletest.Start(t, run, nil, map[string]string{
		"MCPBOX_SANDBOX_TOKEN": token, "MCPBOX_SANDBOX_LISTEN": "127.0.0.1:0",
	})
	base := "http://" + svc.Logs.WaitListening(t, "main")
	if code, body := lifecycletest.Get(t, base+"/healthz"); code != 200 {
		t.Errorf("healthz %d %s", code, body)
	}
	waitReady(t, base)
	if code, body := lifecycletest.Get(t, base+"/readyz"); code != 200 || !strings.Contains(body, `"status":"ready"`) ||
		!strings.Contains(body, `"isolation":"full"`) || !strings.Contains(body, `"warm":`) {
		t.Errorf("readyz body: %s", body)
	}
	if code, body := lifecycletest.Get(t, base+"/metrics"); code != 200 || !strings.Contains(body, "mcpbox_sandbox_build_info{") {
		t.Errorf("metrics %d", code)
	}
	for _, route := range []struct{ method, path string }{
		{"POST", proto.PathSandboxExecute},
		{"POST", proto.PathSandboxAnalyze},
		{"GET", proto.PathSandboxPackages},
		{"POST", proto.PathSandboxFetch},
		{"POST", proto.PathSandboxDiscover},
		{"POST", proto.PathSandboxMCPCall},
	} {
		if code, _ := lifecycletest.Do(t, route.method, base+route.path); code != 401 {
			t.Errorf("%s %s without token: %d", route.method, route.path, code)
		}
	}
	if code, body := lifecycletest.Get(t, base+proto.PathSandboxPackages, proto.HeaderServiceToken, token); code != 200 ||
		!strings.Contains(body, `"catalogue_version":"cat-`) || !strings.Contains(body, `"path":"encoding/xml","tier":"opt_in"`) {
		t.Errorf("packages: %d %.200s", code, body)
	}
	if code, _ := lifecycletest.Get(t, base+"/nope"); code != 404 {
		t.Errorf("unknown path: %d", code)
	}
	if err := svc.Stop(); err != nil {
		t.Fatal(err)
	}
	if logs := svc.Logs.String(); strings.Contains(logs, token) || !strings.Contains(logs, `"msg":"config"`) {
		t.Errorf("logs leak the token or lack the config line:\n%s", logs)
	}
}

// waitReady polls /readyz until the pool is warm (10 s deadline).
func waitReady(t testing.TB, base string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body := lifecycletest.Get(t, base+"/readyz")
		if code == 200 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("readyz %d %s", code, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
