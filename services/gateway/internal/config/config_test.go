package config_test

import (
	"strings"
	"testing"

	"github.com/mcpbox/mcpbox/services/gateway/internal/config"
)

func env(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }

func base() map[string]string {
	return map[string]string{
		"MCPBOX_BACKEND_TOKEN": "b7e1c2d3a4f5061728394a5b6c7d8e9fb7e1c2d3a4f5061728394a5b6c7d8e9f",
		"MCPBOX_SANDBOX_TOKEN": "5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d",
		"MCPBOX_GATEWAY_TOKEN": "e9d8c7b6a5f40312e9d8c7b6a5f40312e9d8c7b6a5f40312e9d8c7b6a5f40312",
	}
}

// OPS-13: a non-loopback local listener needs MCPBOX_GATEWAY_LOCAL_ALLOW_NONLOOPBACK=true.
func TestOPS13_NonLoopbackLocalListener(t *testing.T) {
	t.Parallel()
	kv := base()
	kv["MCPBOX_GATEWAY_LOCAL_LISTEN"] = "172.31.254.2:8002"
	_, err := config.Load(env(kv))
	if err == nil || !strings.Contains(err.Error(), "MCPBOX_GATEWAY_LOCAL_LISTEN: must be a loopback address") {
		t.Fatalf("err = %v", err)
	}
	kv["MCPBOX_GATEWAY_LOCAL_ALLOW_NONLOOPBACK"] = "true"
	if _, err := config.Load(env(kv)); err != nil {
		t.Fatalf("with the opt-in: %v", err)
	}
}

func TestDefaultsAndListenerRules(t *testing.T) {
	t.Parallel()
	c, err := config.Load(env(base()))
	if err != nil {
		t.Fatal(err)
	}
	if c.LocalListen != "127.0.0.1:8002" || c.RemoteListen != ":8003" || c.ShutdownTimeout.String() != "1m0s" || c.SessionMode != "stateless" {
		t.Errorf("defaults: %+v", c)
	}
	kv := base()
	delete(kv, "MCPBOX_GATEWAY_TOKEN")
	if _, err := config.Load(env(kv)); err == nil || !strings.Contains(err.Error(), "MCPBOX_GATEWAY_TOKEN: required while") {
		t.Errorf("remote listener without token: %v", err)
	}
	kv["MCPBOX_GATEWAY_REMOTE_LISTEN"] = "off"
	if _, err := config.Load(env(kv)); err != nil {
		t.Errorf("remote off needs no token: %v", err)
	}
	kv["MCPBOX_GATEWAY_LOCAL_LISTEN"] = "off"
	if _, err := config.Load(env(kv)); err == nil || !strings.Contains(err.Error(), "both listeners are off") {
		t.Errorf("both off: %v", err)
	}
	kv = base()
	kv["MCPBOX_GATEWAY_LOCAL_RPM"] = "fast"
	if _, err := config.Load(env(kv)); err == nil || !strings.Contains(err.Error(), "MCPBOX_GATEWAY_LOCAL_RPM: must be off or an integer") {
		t.Errorf("rpm: %v", err)
	}
}
