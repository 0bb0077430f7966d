package manage

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/approvals"
	"github.com/mcpbox/mcpbox/services/backend/internal/servers"
	"github.com/mcpbox/mcpbox/services/backend/internal/tools"
)

// serverItem is an item of mcpbox_list_servers.
type serverItem struct {
	ID            uuid.UUID          `json:"id"`
	Name          string             `json:"name"`
	Description   string             `json:"description"`
	Status        proto.ServerStatus `json:"status"`
	ToolCount     int                `json:"tool_count"`
	LiveToolCount int                `json:"live_tool_count"`
}

// listPage is the result of a list operation (§10.1).
type listPage[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

func toServerItem(v servers.Server) serverItem {
	return serverItem{
		ID: v.ID, Name: v.Name, Description: v.Description, Status: v.Status,
		ToolCount: v.ToolCount, LiveToolCount: v.LiveToolCount,
	}
}

func (c *call) serverAudit() servers.Audit {
	return servers.Audit{Actor: c.actor(), RequestID: c.requestID}
}

// serverArg reads server_id and remembers it for not_found.
func (c *call) serverArg() (uuid.UUID, error) {
	id, err := c.args.id("server_id")
	if err == nil {
		c.serverID = id.String()
	}
	return id, err
}

func (s *Service) listServers(ctx context.Context, c *call) (any, error) {
	limit, cursor, err := c.args.page()
	if err != nil {
		return nil, err
	}
	p, err := s.d.Servers.List(ctx, servers.Filter{}, limit, cursor)
	if err != nil {
		return nil, err
	}
	out := listPage[serverItem]{Items: make([]serverItem, len(p.Items)), NextCursor: p.NextCursor}
	for i, v := range p.Items {
		out.Items[i] = toServerItem(v)
	}
	return out, nil
}

// serverTool is an entry of mcpbox_get_server's tools.
type serverTool struct {
	ID           uuid.UUID          `json:"id"`
	Name         string             `json:"name"`
	ReviewStatus proto.ReviewStatus `json:"review_status"`
	Enabled      bool               `json:"enabled"`
	Live         bool               `json:"live"`
}

// pendingCounts are a server's pending requests.
type pendingCounts struct {
	Network  int `json:"network"`
	Packages int `json:"packages"`
}

func (s *Service) getServer(ctx context.Context, c *call) (any, error) {
	id, err := c.serverArg()
	if err != nil {
		return nil, err
	}
	v, err := s.d.Servers.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	p, err := s.d.Tools.List(ctx, id, tools.Filter{}, proto.MaxListLimit, "")
	if err != nil {
		return nil, err
	}
	ts := make([]serverTool, len(p.Items))
	for i, t := range p.Items {
		ts[i] = serverTool{ID: t.ID, Name: t.Name, ReviewStatus: t.ReviewStatus, Enabled: t.Enabled, Live: t.Live}
	}
	var pending pendingCounts
	if pending.Network, err = s.countPending(ctx, approvals.KindNetwork, id); err != nil {
		return nil, err
	}
	if pending.Packages, err = s.countPending(ctx, approvals.KindPackage, id); err != nil {
		return nil, err
	}
	return struct {
		serverItem

		ApprovedHosts   []string      `json:"approved_hosts"`
		CreatedBy       string        `json:"created_by"`
		CreatedAt       time.Time     `json:"created_at"`
		UpdatedAt       time.Time     `json:"updated_at"`
		Tools           []serverTool  `json:"tools"`
		ToolsNextCursor string        `json:"tools_next_cursor,omitempty"`
		PendingRequests pendingCounts `json:"pending_requests"`
	}{
		serverItem: toServerItem(v), ApprovedHosts: v.ApprovedHosts, CreatedBy: v.CreatedBy,
		CreatedAt: v.CreatedAt, UpdatedAt: v.UpdatedAt,
		Tools: ts, ToolsNextCursor: p.NextCursor, PendingRequests: pending,
	}, nil
}

// countPending counts the pending requests of one kind for a server.
func (s *Service) countPending(ctx context.Context, kind approvals.Kind, serverID uuid.UUID) (int, error) {
	f := approvals.RequestFilter{Status: approvals.StatusPending, ServerID: &serverID}
	n, cursor := 0, ""
	for {
		p, err := s.d.Approvals.ListRequests(ctx, kind, f, proto.MaxListLimit, cursor)
		if err != nil {
			return 0, err
		}
		n += len(p.Items)
		if p.NextCursor == "" {
			return n, nil
		}
		cursor = p.NextCursor
	}
}

func (s *Service) createServer(ctx context.Context, c *call) (any, error) {
	name, err := c.args.requiredString("name")
	if err != nil {
		return nil, err
	}
	description, err := c.args.string("description")
	if err != nil {
		return nil, err
	}
	in := servers.CreateInput{Name: name}
	if description != nil {
		in.Description = *description
	}
	v, err := s.d.Servers.Create(ctx, c.serverAudit(), in)
	if err != nil {
		return nil, err
	}
	return struct {
		ServerID  uuid.UUID          `json:"server_id"`
		Name      string             `json:"name"`
		Status    proto.ServerStatus `json:"status"`
		NextSteps string             `json:"next_steps"`
	}{
		ServerID: v.ID, Name: v.Name, Status: v.Status,
		NextSteps: fmt.Sprintf("Add tools with mcpbox_create_tool(server_id: %q, ...), then start the server "+
			"with mcpbox_start_server.", v.ID),
	}, nil
}

func (s *Service) deleteServer(ctx context.Context, c *call) (any, error) {
	id, err := c.serverArg()
	if err != nil {
		return nil, err
	}
	before, err := s.d.Servers.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	rev, err := s.d.Servers.Delete(ctx, c.serverAudit(), id)
	if err != nil {
		return nil, err
	}
	c.catalogRevision = rev
	return struct {
		Deleted      bool      `json:"deleted"`
		ServerID     uuid.UUID `json:"server_id"`
		RemovedTools int       `json:"removed_tools"`
	}{Deleted: true, ServerID: id, RemovedTools: before.ToolCount}, nil
}

func (s *Service) startServer(ctx context.Context, c *call) (any, error) {
	return s.setServerStatus(ctx, c, s.d.Servers.Start)
}

func (s *Service) stopServer(ctx context.Context, c *call) (any, error) {
	return s.setServerStatus(ctx, c, s.d.Servers.Stop)
}

func (s *Service) setServerStatus(ctx context.Context, c *call,
	change func(context.Context, servers.Audit, uuid.UUID) (servers.Result, error),
) (any, error) {
	id, err := c.serverArg()
	if err != nil {
		return nil, err
	}
	r, err := change(ctx, c.serverAudit(), id)
	if err != nil {
		return nil, err
	}
	c.catalogRevision = r.CatalogRevision
	v := r.Server
	var next string
	switch {
	case v.Status == proto.ServerStopped:
		next = fmt.Sprintf("Server '%s' is stopped; its tools are not callable until mcpbox_start_server.", v.Name)
	case v.LiveToolCount == 0:
		next = fmt.Sprintf("Server '%s' is running but has no approved, enabled tools yet; create tools with "+
			"mcpbox_create_tool and ask for review with mcpbox_request_publish.", v.Name)
	default:
		next = fmt.Sprintf("Server '%s' is running with %d live tools; call them by their exposed names.",
			v.Name, v.LiveToolCount)
	}
	return struct {
		ServerID      uuid.UUID          `json:"server_id"`
		Status        proto.ServerStatus `json:"status"`
		Changed       bool               `json:"changed"`
		LiveToolCount int                `json:"live_tool_count"`
		NextSteps     string             `json:"next_steps"`
	}{ServerID: id, Status: v.Status, Changed: r.Changed, LiveToolCount: v.LiveToolCount, NextSteps: next}, nil
}
