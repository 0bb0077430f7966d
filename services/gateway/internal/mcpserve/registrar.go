package mcpserve

import (
	"fmt"
	"log/slog"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/obs"
	"github.com/mcpbox/mcpbox/services/gateway/internal/catalog"
	"github.com/mcpbox/mcpbox/services/gateway/internal/policy"
)

// registerManagement adds the 30 management tools to every server: the
// local servers get Def, the remote ones RemoteDef with the current
// remote-editing flag (gateway.md §6.4). A refusal by the SDK is a defect
// of proto's table, so it fails New.
func (g *Gateway) registerManagement() error {
	g.regMu.Lock()
	defer g.regMu.Unlock()
	for _, s := range g.servers {
		for _, t := range proto.ManagementTools() {
			if err := g.addManagement(s, t); err != nil {
				return err
			}
		}
	}
	return nil
}

// addManagement (re)registers management tool t on s.
func (g *Gateway) addManagement(s *server, t proto.ManagementTool) error {
	def := t.Def()
	if s.remote() {
		def = t.RemoteDef(g.editing)
	}
	td, err := managementToolDef(def)
	if err != nil {
		return errorf("management tool %s: %w", t, err)
	}
	if err := addTool(s, td, g.managementHandler(t)); err != nil {
		return errorf("management tool %s: %w", t, err)
	}
	return nil
}

// applyPolicy re-registers the gated tools on the remote servers when the
// remote-editing flag flips, so their descriptions gain or lose the note
// of §6.4 and remote sessions get list_changed.
func (g *Gateway) applyPolicy(p proto.Policy) {
	g.regMu.Lock()
	defer g.regMu.Unlock()
	enabled := !policy.EditingDisabled(p)
	if enabled == g.editing {
		return
	}
	g.editing = enabled
	for _, s := range g.servers {
		if !s.remote() {
			continue
		}
		for _, t := range proto.ManagementTools() {
			if !t.Gated() {
				continue
			}
			if err := g.addManagement(s, t); err != nil {
				g.log.Error("re-registering a gated management tool failed", slog.Any(obs.KeyError, err))
			}
		}
	}
	if enabled {
		g.log.Info("remote tool editing enabled: the gated tools lost their note on the remote listener")
	} else {
		g.log.Info("remote tool editing disabled: the gated tools carry the note on the remote listener")
	}
}

// applySnapshot brings every server from the last applied snapshot to next
// (gateway.md §7.4): RemoveTools for vanished names and AddTool for new or
// changed definitions, one server after another in a tight loop, so the
// SDK's debounce sends one list_changed per server. A definition the SDK
// refuses (it panics) is skipped, its older definition removed, and
// reported to the catalog (reason sdk_rejected).
func (g *Gateway) applySnapshot(next *catalog.Snapshot) {
	g.regMu.Lock()
	defer g.regMu.Unlock()
	removed, changed := catalog.Diff(g.applied, next)
	g.applied = next
	if len(removed) > 0 {
		for _, s := range g.servers {
			s.sdk.RemoveTools(removed...)
			s.tools.remove(removed...)
		}
	}
	for i := range changed {
		e := &changed[i]
		err := g.addUser(e)
		if err == nil {
			continue
		}
		for _, s := range g.servers {
			s.sdk.RemoveTools(e.Name)
			s.tools.remove(e.Name)
		}
		g.opts.Catalog.RejectedBySDK(e.Name, err)
	}
}

// addUser registers catalog entry e on every server.
func (g *Gateway) addUser(e *catalog.Entry) error {
	td, err := userToolDef(e)
	if err != nil {
		return err
	}
	for _, s := range g.servers {
		if err := addTool(s, td, g.userTool); err != nil {
			return err
		}
	}
	return nil
}

// addTool registers td on s, turning an SDK panic into an error, and
// records it in s's table.
func addTool(s *server, td toolDef, h mcp.ToolHandler) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("the MCP SDK refused the definition: %v", p)
		}
	}()
	s.sdk.AddTool(td.tool, h)
	s.tools.set(td.tool.Name, td)
	return nil
}
