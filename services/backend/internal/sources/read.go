package sources

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/db/dbq"
	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/page"
)

// Page is one page of a list of sources; NextCursor is "" after the last.
type Page struct {
	Items      []Source
	NextCursor string
}

// Filter narrows ListAll: Status one of the four statuses ("" any), Q a
// case-insensitive substring of the name, URL or server name.
type Filter struct {
	Status string
	Q      string
}

// ValidateFilter checks a ListAll filter; a bad status is a
// *proto.RuleError.
func ValidateFilter(f Filter) error {
	switch proto.SourceStatus(f.Status) {
	case "", proto.SourcePendingReview, proto.SourceActive, proto.SourceError, proto.SourceDisabled:
		return nil
	}
	return &proto.RuleError{Field: "status", Message: "must be pending_review, active, error or disabled (or absent for all)."}
}

// Get returns one source, or ErrNotFound.
func (s *Service) Get(ctx context.Context, id uuid.UUID) (Source, error) {
	var out Source
	err := s.d.Store.InSnapshot(ctx, func(q *dbq.Queries) error {
		var err error
		out, err = load(ctx, q, id)
		return err
	})
	if err != nil {
		return Source{}, wrap("get external source "+id.String(), err)
	}
	return out, nil
}

// List returns a server's sources sorted by name (then id), limit of them
// after cursor. An unknown server is ErrServerNotFound; a bad limit or
// cursor a *proto.RuleError.
func (s *Service) List(ctx context.Context, serverID uuid.UUID, limit int, cursor string) (Page, error) {
	if err := page.CheckLimit(limit); err != nil {
		return Page{}, err
	}
	filter := page.Filter("external_sources", serverID.String())
	p := dbq.ListServerExternalSourcesParams{ServerID: serverID, RowLimit: int32(limit) + 1} //nolint:gosec // G115: limit is 1–200
	if cursor != "" {
		var name string
		var id uuid.UUID
		if err := page.Decode(cursor, filter, &name, &id); err != nil {
			return Page{}, err
		}
		p.AfterName, p.AfterID = &name, &id
	}
	var out Page
	err := s.d.Store.InSnapshot(ctx, func(q *dbq.Queries) error {
		if _, err := q.GetToolServer(ctx, serverID); err != nil {
			if errors.Is(err, db.ErrNotFound) {
				return ErrServerNotFound
			}
			return err
		}
		rows, err := q.ListServerExternalSources(ctx, p)
		if err != nil {
			return err
		}
		rows, out.NextCursor = page.Cut(rows, limit, filter, func(r dbq.ListServerExternalSourcesRow) []any {
			return []any{r.Name, r.ID}
		})
		out.Items = make([]Source, len(rows))
		for i, r := range rows {
			out.Items[i] = toSource(dbq.GetExternalSourceDetailRow(r))
		}
		return nil
	})
	if err != nil {
		return Page{}, wrap("list external sources of server "+serverID.String(), err)
	}
	return out, nil
}

// ListAll returns the sources of every server matching f, newest first,
// limit of them after cursor. A bad filter, limit or cursor is a
// *proto.RuleError.
func (s *Service) ListAll(ctx context.Context, f Filter, limit int, cursor string) (Page, error) {
	if err := ValidateFilter(f); err != nil {
		return Page{}, err
	}
	if err := page.CheckLimit(limit); err != nil {
		return Page{}, err
	}
	filter := page.Filter("all_external_sources", f.Status, f.Q)
	p := dbq.ListAllExternalSourcesParams{RowLimit: int32(limit) + 1} //nolint:gosec // G115: limit is 1–200
	if f.Status != "" {
		p.Status = &f.Status
	}
	if f.Q != "" {
		p.Q = &f.Q
	}
	if cursor != "" {
		var at time.Time
		var id uuid.UUID
		if err := page.Decode(cursor, filter, &at, &id); err != nil {
			return Page{}, err
		}
		p.AfterCreatedAt, p.AfterID = &at, &id
	}
	var out Page
	err := s.d.Store.InSnapshot(ctx, func(q *dbq.Queries) error {
		rows, err := q.ListAllExternalSources(ctx, p)
		if err != nil {
			return err
		}
		rows, out.NextCursor = page.Cut(rows, limit, filter, func(r dbq.ListAllExternalSourcesRow) []any {
			return []any{r.CreatedAt, r.ID}
		})
		out.Items = make([]Source, len(rows))
		for i, r := range rows {
			out.Items[i] = toSource(dbq.GetExternalSourceDetailRow(r))
		}
		return nil
	})
	if err != nil {
		return Page{}, wrap("list external sources", err)
	}
	return out, nil
}

// load reads the Source resource of a source.
func load(ctx context.Context, q *dbq.Queries, id uuid.UUID) (Source, error) {
	row, err := q.GetExternalSourceDetail(ctx, id)
	if err != nil {
		return Source{}, err
	}
	return toSource(row), nil
}

func toSource(r dbq.GetExternalSourceDetailRow) Source {
	return Source{
		ID: r.ID, ServerID: r.ServerID, ServerName: r.ServerName, Name: r.Name, URL: r.Url,
		Transport: proto.Transport(r.Transport), AuthType: proto.SourceAuthType(r.AuthType),
		AuthSecretName: r.AuthSecretName, AuthHeaderName: r.AuthHeaderName, Status: proto.SourceStatus(r.Status),
		LastError: r.LastError, OAuthAuthenticated: r.OauthAuthenticated, OAuthIssuer: r.OauthIssuer,
		OAuthClientID: r.OauthClientID, DiscoveredAt: r.DiscoveredAt, DiscoveredToolCount: int(r.DiscoveredToolCount),
		ImportedToolCount: int(r.ImportedToolCount), ApprovedBy: r.ApprovedBy, ApprovedAt: r.ApprovedAt,
		CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
}

// setParams writes back a locked source row.
func setParams(r dbq.ExternalMcpSource) dbq.SetExternalSourceParams {
	return dbq.SetExternalSourceParams{
		ID: r.ID, Name: r.Name, Url: r.Url, Transport: r.Transport, AuthType: r.AuthType,
		AuthSecretName: r.AuthSecretName, AuthHeaderName: r.AuthHeaderName, Status: r.Status, LastError: r.LastError,
		ApprovedBy: r.ApprovedBy, ApprovedAt: r.ApprovedAt, DiscoveredTools: r.DiscoveredTools, DiscoveredAt: r.DiscoveredAt,
	}
}

// lockSource locks a source's row and reads its server's name.
func lockSource(ctx context.Context, q *dbq.Queries, id uuid.UUID) (dbq.ExternalMcpSource, string, error) {
	row, err := q.LockExternalSource(ctx, id)
	if err != nil {
		return dbq.ExternalMcpSource{}, "", err
	}
	srv, err := q.GetToolServer(ctx, row.ServerID)
	if err != nil {
		return dbq.ExternalMcpSource{}, "", err
	}
	return row, srv.Name, nil
}
