package main

import (
	"strings"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/proto/lifecycle/lifecycletest"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/config"
)

// SB-84: /readyz is 503 until the pool is warm and during drain; a failing
// isolation self-test aborts startup; MCPBOX_SANDBOX_INSECURE_DEV is refused
// outside dev mode and on a non-loopback listener, and otherwise starts
// the sandbox degraded, saying so in /readyz.
func TestSB84_ReadinessAndIsolationLifecycle(t *testing.T) {
	t.Parallel()
	t.Run("self-test failure aborts startup", func(t *testing.T) {
		t.Parallel()
		// /bin/true is no sandbox worker: every probe of the self-test fails.
		_, err := lifecycletest.Run(t, command("/bin/true"), nil, map[string]string{
			"MCPBOX_SANDBOX_TOKEN": token, "MCPBOX_SANDBOX_LISTEN": "127.0.0.1:0",
		})
		if err == nil || !strings.Contains(err.Error(), "isolation self-test failed") {
			t.Fatalf("start with a failing self-test: %v", err)
		}
	})
	t.Run("insecure dev needs dev mode and loopback", func(t *testing.T) {
		t.Parallel()
		env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
		for _, kv := range []map[string]string{
			{"MCPBOX_SANDBOX_TOKEN": token, "MCPBOX_SANDBOX_INSECURE_DEV": "true", "MCPBOX_SANDBOX_LISTEN": "127.0.0.1:8001"},
			{"MCPBOX_SANDBOX_TOKEN": token, "MCPBOX_SANDBOX_INSECURE_DEV": "true", "MCPBOX_SANDBOX_LISTEN": "0.0.0.0:8001", "MCPBOX_MODE": "dev"},
		} {
			if _, err := config.Load(env(kv)); err == nil || !strings.Contains(err.Error(), "MCPBOX_SANDBOX_INSECURE_DEV") {
				t.Errorf("%v: %v", kv, err)
			}
		}
	})
	t.Run("degraded and not warm, then drain", func(t *testing.T) {
		t.Parallel()
		svc := lifecycletest.Start(t, command("/bin/true"), nil, map[string]string{
			"MCPBOX_SANDBOX_TOKEN": token, "MCPBOX_SANDBOX_LISTEN": "127.0.0.1:0", "MCPBOX_MODE": "dev",
			"MCPBOX_SANDBOX_INSECURE_DEV": "true", "MCPBOX_SHUTDOWN_DELAY": "2s",
		})
		base := "http://" + svc.Logs.WaitListening(t, "main")
		code, body := lifecycletest.Get(t, base+"/readyz")
		if code != 503 || !strings.Contains(body, `"status":"starting"`) || !strings.Contains(body, `"isolation":"degraded"`) {
			t.Errorf("readyz with a pool that cannot warm: %d %s", code, body)
		}
		go func() { _ = svc.Stop() }()
		deadline := time.Now().Add(5 * time.Second)
		for {
			code, body := lifecycletest.Get(t, base+"/readyz")
			if code == 503 && strings.Contains(body, `"status":"draining"`) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("readyz during drain: %d %s", code, body)
			}
			time.Sleep(10 * time.Millisecond)
		}
		if !strings.Contains(svc.Logs.String(), "running DEGRADED") {
			t.Error("no warning about the degraded isolation")
		}
	})
}
