package manage

import (
	"encoding/json"
	"testing"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/gateway/internal/caller"
)

// gatedTools are the eight editing tools and mcpbox_test_code.
func gatedTools() []proto.ManagementTool {
	return []proto.ManagementTool{
		proto.MgmtCreateServer, proto.MgmtDeleteServer, proto.MgmtCreateTool, proto.MgmtUpdateTool, proto.MgmtDeleteTool,
		proto.MgmtRollbackTool, proto.MgmtAddExternalSource, proto.MgmtImportExternalTools, proto.MgmtTestCode,
	}
}

// okBackend makes every management call succeed.
func okBackend(h *harness) {
	h.server.Handle("/internal/v1/manage/", manageAnswer(proto.ManageResponse{OK: true, Result: json.RawMessage(`{"ok":1}`)}))
}

// TestGW43_GatedToolsAreRefusedRemotelyWhileEditingIsOff: each gated tool
// called remotely returns the gating text and the backend receives
// nothing; locally each is forwarded. GW-101 is the mcpbox_test_code row,
// and the enabled half below.
func TestGW43_GatedToolsAreRefusedRemotelyWhileEditingIsOff(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	okBackend(h)
	h.cat.setPolicy(proto.ToggleDisabled)
	remote := caller.Remote("ann@example.com", "sub-1")
	for _, tool := range gatedTools() {
		r := h.svc.Management(t.Context(), remote, tool, json.RawMessage(validSamples[tool][0]))
		want := string(tool) + " is not available on remote connections: the MCPbox admin has turned off remote tool " +
			"editing (Settings → Security). Use a local connection, or ask the admin to enable it."
		if got := text(t, r); !r.IsError || got != want {
			t.Errorf("%s: %v %q", tool, r.IsError, got)
		}
	}
	if n := len(h.server.Requests("/internal/")); n != 0 {
		t.Fatalf("backend got %d requests from gated remote calls", n)
	}
	for _, tool := range gatedTools() {
		if r := h.svc.Management(t.Context(), caller.Local(), tool, json.RawMessage(validSamples[tool][0])); r.IsError {
			t.Errorf("%s local: %s", tool, text(t, r))
		}
		if n := len(h.manageCalls(t, tool)); n != 1 {
			t.Errorf("%s local: forwarded %d times", tool, n)
		}
	}
}

// TestGW101_RemoteTestRunsFollowTheEditingFlag: refused while editing is
// off (no backend call), forwarded with the caller once it is on.
func TestGW101_RemoteTestRunsFollowTheEditingFlag(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	okBackend(h)
	remote := caller.Remote("ann@example.com", "sub-1")
	args := json.RawMessage(validSamples[proto.MgmtTestCode][0])

	h.cat.setPolicy(proto.ToggleDisabled)
	r := h.svc.Management(t.Context(), remote, proto.MgmtTestCode, args)
	if got := text(t, r); !r.IsError || got != proto.MgmtTestCode.RemoteEditingRefusal() {
		t.Errorf("disabled: %q", got)
	}
	if n := len(h.manageCalls(t, proto.MgmtTestCode)); n != 0 {
		t.Fatalf("backend got %d test runs while editing is off", n)
	}

	h.cat.setPolicy(proto.ToggleEnabled)
	if r := h.svc.Management(t.Context(), remote, proto.MgmtTestCode, args); r.IsError {
		t.Errorf("enabled: %s", text(t, r))
	}
	calls := h.manageCalls(t, proto.MgmtTestCode)
	if len(calls) != 1 || calls[0].Caller != (proto.Caller{Kind: proto.CallerRemote, Email: "ann@example.com", Sub: "sub-1"}) {
		t.Errorf("forwarded %+v", calls)
	}
}

// TestGatingFailsClosedBeforeThePolicyLoads: a remote editing call with no
// policy yet is refused.
func TestGatingFailsClosedBeforeThePolicyLoads(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	okBackend(h)
	h.cat.policy, h.cat.loaded = proto.Policy{}, false
	r := h.svc.Management(t.Context(), caller.Remote("ann@example.com", ""), proto.MgmtCreateServer, json.RawMessage(`{"name":"x"}`))
	if !r.IsError || text(t, r) != proto.MgmtCreateServer.RemoteEditingRefusal() {
		t.Errorf("got %q", text(t, r))
	}
}

// TestGW45_SomeToolsAreNeverGated: mcpbox_list_servers,
// mcpbox_start_server and mcpbox_request_publish are forwarded for remote
// callers while editing is off.
func TestGW45_SomeToolsAreNeverGated(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	okBackend(h)
	h.cat.setPolicy(proto.ToggleDisabled)
	for _, tool := range []proto.ManagementTool{proto.MgmtListServers, proto.MgmtStartServer, proto.MgmtRequestPublish} {
		if r := h.svc.Management(t.Context(), caller.Remote("ann@example.com", ""), tool, json.RawMessage(validSamples[tool][0])); r.IsError {
			t.Errorf("%s: %s", tool, text(t, r))
		}
		if n := len(h.manageCalls(t, tool)); n != 1 {
			t.Errorf("%s forwarded %d times", tool, n)
		}
	}
}

// TestGW48_TheCallerIsForwardedExactly: kind from the listener, email and
// subject only when present.
func TestGW48_TheCallerIsForwardedExactly(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		c    caller.Caller
		want string
	}{
		{"local", caller.Local(), `{"kind":"local"}`},
		{"remote with both", caller.Remote("ann@example.com", "sub-1"), `{"kind":"remote","email":"ann@example.com","sub":"sub-1"}`},
		{"remote with a subject", caller.Remote("", "sub-2"), `{"kind":"remote","sub":"sub-2"}`},
		{"remote with an email", caller.Remote("bob@example.com", ""), `{"kind":"remote","email":"bob@example.com"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			okBackend(h)
			h.svc.Management(t.Context(), tc.c, proto.MgmtGetServer, json.RawMessage(validSamples[proto.MgmtGetServer][0]))
			reqs := h.server.Requests("/internal/v1/manage/mcpbox_get_server")
			if len(reqs) != 1 {
				t.Fatalf("forwarded %d times", len(reqs))
			}
			var body struct {
				Caller json.RawMessage `json:"caller"`
			}
			if err := json.Unmarshal(reqs[0].Body, &body); err != nil {
				t.Fatal(err)
			}
			if string(body.Caller) != tc.want {
				t.Errorf("caller = %s, want %s", body.Caller, tc.want)
			}
		})
	}
}
