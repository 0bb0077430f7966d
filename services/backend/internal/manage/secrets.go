package manage

import (
	"context"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/services/backend/internal/secrets"
)

func (s *Service) createServerSecret(ctx context.Context, c *call) (any, error) {
	id, err := c.serverArg()
	if err != nil {
		return nil, err
	}
	key, err := c.args.requiredString("key")
	if err != nil {
		return nil, err
	}
	description, err := c.args.string("description")
	if err != nil {
		return nil, err
	}
	srv, err := s.d.Servers.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	in := secrets.CreateInput{Name: key}
	if description != nil {
		in.Description = *description
	}
	c.serverName = srv.Name
	sec, err := s.d.Secrets.Create(ctx, secrets.Audit{Actor: c.actor(), RequestID: c.requestID}, id, in)
	if err != nil {
		return nil, err
	}
	return struct {
		ServerID  uuid.UUID `json:"server_id"`
		Key       string    `json:"key"`
		HasValue  bool      `json:"has_value"`
		NextSteps string    `json:"next_steps"`
	}{
		ServerID: id, Key: sec.Name, HasValue: sec.HasValue(),
		NextSteps: "An admin must set the value in the MCPbox UI before the tool can use it.",
	}, nil
}

// secretItem is an item of mcpbox_list_server_secrets.
type secretItem struct {
	Key         string `json:"key"`
	Description string `json:"description"`
	HasValue    bool   `json:"has_value"`
}

func (s *Service) listServerSecrets(ctx context.Context, c *call) (any, error) {
	id, err := c.serverArg()
	if err != nil {
		return nil, err
	}
	limit, cursor, err := c.args.page()
	if err != nil {
		return nil, err
	}
	srv, err := s.d.Servers.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	p, err := s.d.Secrets.List(ctx, id, limit, cursor)
	if err != nil {
		return nil, err
	}
	items := make([]secretItem, len(p.Items))
	for i, v := range p.Items {
		items[i] = secretItem{Key: v.Name, Description: v.Description, HasValue: v.HasValue()}
	}
	return struct {
		ServerID   uuid.UUID    `json:"server_id"`
		ServerName string       `json:"server_name"`
		Items      []secretItem `json:"items"`
		NextCursor string       `json:"next_cursor,omitempty"`
	}{ServerID: id, ServerName: srv.Name, Items: items, NextCursor: p.NextCursor}, nil
}
