package mcpserve_test

import (
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/gateway/internal/caller"
	"github.com/mcpbox/mcpbox/services/gateway/internal/catalog"
	"github.com/mcpbox/mcpbox/services/gateway/internal/config"
	"github.com/mcpbox/mcpbox/services/gateway/internal/mcpserve"
	"github.com/mcpbox/mcpbox/services/gateway/internal/mcpserve/mcpservetest"
)

// FromConfig carries the settings of §14 over; New refuses incomplete or
// inconsistent options with one error naming every problem.
func TestOptions(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"MCPBOX_BACKEND_TOKEN":                   "9f2c4e1a7b3d5f608e1c2a4b6d8f0a1c3e5b7d9f1a2c4e6b8d0f2a4c6e8b0d2f",
		"MCPBOX_SANDBOX_TOKEN":                   "3a5c7e9b1d2f4a6c8e0b2d4f6a8c0e1b3d5f7a9c2e4b6d8f0a1c3e5b7d9f1a2c",
		"MCPBOX_GATEWAY_TOKEN":                   mcpservetest.Token[:32] + "5e7a9c1b3d5f7a9c0e2b4d6f8a0c2e4b",
		"MCPBOX_GATEWAY_SESSION_MODE":            "hybrid",
		"MCPBOX_GATEWAY_MAX_SESSIONS_PER_CALLER": "4",
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	o := mcpserve.FromConfig(cfg)
	if !slices.Equal(o.Listeners, []string{caller.ListenerLocal, caller.ListenerRemote}) || o.Mode != mcpserve.ModeHybrid ||
		o.MaxSessionsPerCaller != 4 || o.MaxSessions != 1000 || o.MaxBodyBytes != 1<<20 || o.SSEKeepalive != cfg.SSEKeepalive {
		t.Errorf("options %+v", o)
	}
	reg := prometheus.NewRegistry()
	cache := catalog.New(mcpservetest.NewSource(proto.Catalog{Revision: 1}, mcpservetest.DefaultPolicy()), catalog.Options{}, reg, slog.New(slog.DiscardHandler))
	o.Catalog, o.Calls, o.Registerer, o.Log = cache, &mcpservetest.Calls{}, reg, slog.New(slog.DiscardHandler)
	g, err := mcpserve.New(o)
	if err != nil || g.Endpoint(caller.ListenerLocal) == nil || !g.Endpoint(caller.ListenerRemote).Hybrid() {
		t.Fatalf("New: %v", err)
	}
	bad := o
	bad.Listeners, bad.Mode, bad.Calls = []string{"local", "local", "edge"}, "sessions", nil
	_, err = mcpserve.New(bad)
	for _, want := range []string{"unknown listener", "listed twice", "session mode", "Calls"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
}
