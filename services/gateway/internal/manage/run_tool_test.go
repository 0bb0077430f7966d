package manage

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/obs"
	"github.com/mcpbox/mcpbox/services/gateway/internal/caller"
	"github.com/mcpbox/mcpbox/services/gateway/internal/catalog"
)

// withoutDuration is a result's JSON with the execution entry's
// duration_ms removed: the gateway's own measure differs from call to
// call when no sandbox answer set it.
func withoutDuration(t *testing.T, v any) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(asJSON(t, v)), &m); err != nil {
		t.Fatal(err)
	}
	if meta, ok := m["_meta"].(map[string]any); ok {
		if ex, ok := meta["io.mcpbox/execution"].(map[string]any); ok {
			delete(ex, "duration_ms")
		}
	}
	return asJSON(t, m)
}

// TestGW89_RunToolIsTheDirectCall: mcpbox_run_tool returns exactly what
// the direct call returns (success, validation text, unavailable text),
// its records say via run_tool, and an mcpbox_* name is refused.
func TestGW89_RunToolIsTheDirectCall(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	withheld := catalog.BuildSnapshot(proto.Catalog{
		Revision: 6, Tools: []proto.CatalogTool{forecastTool()},
		Withheld: []proto.WithheldTool{{
			ToolID: "ae2cbd5a-3abe-44c6-9d3c-2b6a5f4e3dcb", ServerID: goServerID, Name: "weather__alerts", Version: 2,
			Reason: proto.WithheldPendingReview,
		}},
	}, time.Now())
	h.cat.setSnapshot(withheld, nil)
	ctx := obs.WithRequestID(t.Context(), "req-89")
	tests := []struct {
		name, tool, args string
		isError          bool
	}{
		{"success", forecast, `{"city": "Oslo"}`, false},
		{"validation", forecast, `{"days": "3"}`, true},
		{"unavailable", "weather__alerts", `{}`, true},
		{"unknown", "weather__nothing", `{}`, true},
	}
	for _, tc := range tests {
		direct := h.calls.User(ctx, caller.Local(), tc.tool, json.RawMessage(tc.args))
		viaRun := h.svc.Management(ctx, caller.Local(), proto.MgmtRunTool,
			json.RawMessage(`{"arguments": `+tc.args+`, "name": "`+tc.tool+`"}`))
		if direct.IsError != tc.isError {
			t.Errorf("%s: direct isError = %v: %s", tc.name, direct.IsError, text(t, direct))
		}
		if d, v := withoutDuration(t, direct), withoutDuration(t, viaRun); d != v {
			t.Errorf("%s: results differ\n    direct %s\n  run_tool %s", tc.name, d, v)
		}
	}

	var vias []proto.Via
	for _, rec := range h.sink.all() {
		vias = append(vias, rec.Via)
	}
	// success, validation and unavailable are recorded; the unknown name is not.
	want := []proto.Via{proto.ViaDirect, proto.ViaRunTool, proto.ViaDirect, proto.ViaRunTool, proto.ViaDirect, proto.ViaRunTool}
	if asJSON(t, vias) != asJSON(t, want) {
		t.Errorf("record vias = %v, want %v", vias, want)
	}
	if n := len(h.server.Requests(proto.PathSandboxExecute)); n != 2 {
		t.Errorf("sandbox got %d executions, want 2 (one direct, one through run_tool)", n)
	}
}

// TestRunToolRefusesManagementNames: an mcpbox_* name is refused before
// the schema, so run_tool can never bypass the editing gate; nothing is
// called or recorded.
func TestRunToolRefusesManagementNames(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	okBackend(h)
	h.cat.setPolicy(proto.ToggleDisabled)
	tests := map[string]string{
		`{"name": "mcpbox_create_server", "arguments": {"name": "x"}}`: "mcpbox_run_tool runs user tools only; call mcpbox_create_server directly.",
		`{"name": "mcpbox_run_tool"}`:                                  "mcpbox_run_tool runs user tools only; call mcpbox_run_tool directly.",
		`{"name": "mcpbox\nx"}`:                                        `mcpbox_run_tool runs user tools only; call "mcpbox\nx" directly.`,
	}
	for args, want := range tests {
		r := h.svc.Management(t.Context(), caller.Remote("ann@example.com", ""), proto.MgmtRunTool, json.RawMessage(args))
		if got := text(t, r); !r.IsError || got != want {
			t.Errorf("%s: %q", args, got)
		}
	}
	r := h.svc.Management(t.Context(), caller.Local(), proto.MgmtRunTool, json.RawMessage(`{"name": "weather"}`))
	if got := text(t, r); !strings.HasPrefix(got, "Invalid arguments for mcpbox_run_tool:\n- /name: must match the pattern ") {
		t.Errorf("malformed name: %q", got)
	}
	if n := len(h.server.Requests("/")); n != 0 {
		t.Errorf("%d requests made", n)
	}
	if recs := h.sink.all(); len(recs) != 0 {
		t.Errorf("refusals were recorded: %+v", recs)
	}
}

// TestRunToolCountsAsTheInnerTool: a call through run_tool counts under
// the inner tool's labels; a refused one under mcpbox_run_tool.
func TestRunToolCountsAsTheInnerTool(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.svc.Management(t.Context(), caller.Local(), proto.MgmtRunTool, json.RawMessage(`{"name": "weather__forecast", "arguments": {"city": "Oslo"}}`))
	h.svc.Management(t.Context(), caller.Local(), proto.MgmtRunTool, json.RawMessage(`{"name": "mcpbox_list_servers"}`))
	fams, err := h.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range fams {
		if f.GetName() != "mcpbox_gateway_tool_calls_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			var parts []string
			for _, l := range m.GetLabel() {
				parts = append(parts, l.GetValue())
			}
			got[strings.Join(parts, "/")] = m.GetCounter().GetValue()
		}
	}
	want := map[string]float64{"ok/weather/weather__forecast": 1, "invalid_arguments/mcpbox/mcpbox_run_tool": 1}
	if asJSON(t, got) != asJSON(t, want) {
		t.Errorf("series = %v, want %v", got, want)
	}
}
