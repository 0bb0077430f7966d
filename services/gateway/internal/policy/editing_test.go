package policy_test

import (
	"testing"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/gateway/internal/caller"
	"github.com/mcpbox/mcpbox/services/gateway/internal/policy"
)

func editing(t proto.Toggle) proto.Policy {
	p := proto.DefaultPolicy()
	p.RemoteToolEditing = t
	return p
}

// The editing gate of §6.4: the nine gated tools, remote callers only,
// while editing is not enabled (an unknown value counts as disabled).
func TestEditingGate(t *testing.T) {
	t.Parallel()
	gated := map[proto.ManagementTool]bool{
		proto.MgmtCreateServer: true, proto.MgmtDeleteServer: true, proto.MgmtCreateTool: true, proto.MgmtUpdateTool: true,
		proto.MgmtDeleteTool: true, proto.MgmtRollbackTool: true, proto.MgmtAddExternalSource: true,
		proto.MgmtImportExternalTools: true, proto.MgmtTestCode: true,
	}
	remote := caller.Remote("a@x.com", "")
	for _, tool := range proto.ManagementTools() {
		for _, tc := range []struct {
			p    proto.Policy
			c    caller.Caller
			want bool
		}{
			{editing(proto.ToggleDisabled), remote, gated[tool]},
			{editing("unknown"), remote, gated[tool]},
			{editing(proto.ToggleEnabled), remote, false},
			{editing(proto.ToggleDisabled), caller.Local(), false},
		} {
			if got := policy.EditingGated(tc.p, tc.c, tool); got != tc.want {
				t.Errorf("%s, editing %q, %s caller: gated %v, want %v", tool, tc.p.RemoteToolEditing, tc.c.Listener, got, tc.want)
			}
		}
	}
	// GW-45's decision: these are never gated.
	for _, tool := range []proto.ManagementTool{proto.MgmtListServers, proto.MgmtStartServer, proto.MgmtRequestPublish} {
		if policy.EditingGated(editing(proto.ToggleDisabled), remote, tool) {
			t.Errorf("%s gated", tool)
		}
	}
}
