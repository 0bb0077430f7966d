package policy

import (
	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/gateway/internal/caller"
)

// EditingDisabled reports whether remote tool editing is off under the
// policy snapshot p. Any value but "enabled" counts as off: the gate fails
// closed.
func EditingDisabled(p proto.Policy) bool { return p.RemoteToolEditing != proto.ToggleEnabled }

// EditingGated reports whether c's call of tool must be refused without
// contacting the backend (§6.4): a remote caller, one of the nine gated
// tools (proto.ManagementTool.Gated: the eight editing tools and
// mcpbox_test_code) and editing disabled. Local callers and the other tools
// are never gated. The refusal text is tool.RemoteEditingRefusal(); the
// remote servers list a gated tool as tool.RemoteDef(!EditingDisabled(p)).
func EditingGated(p proto.Policy, c caller.Caller, tool proto.ManagementTool) bool {
	return !c.IsLocal() && tool.Gated() && EditingDisabled(p)
}
