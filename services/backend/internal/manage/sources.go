package manage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/approvals"
	"github.com/mcpbox/mcpbox/services/backend/internal/sources"
)

// The external-source operations of backend.md §10.2.

func (c *call) sourceAudit() sources.Audit {
	return sources.Audit{Actor: c.actor(), RequestID: c.requestID}
}

// sourceArg reads source_id.
func (c *call) sourceArg() (uuid.UUID, error) { return c.args.id("source_id") }

// sourceFailure maps the sources service's errors to the body errors of
// §10.1 and §15.1, written for the LLM; other errors pass unchanged to
// toError. sourceID is the id the arguments named, for not_found.
func sourceFailure(c *call, sourceID string, err error) error {
	var (
		state   *sources.InvalidStateError
		taken   *sources.NameTakenError
		failed  *sources.DiscoveryFailedError
		missing *sources.SecretMissingError
		auth    *sources.AuthFailedError
	)
	switch {
	case errors.Is(err, sources.ErrNotFound):
		return fail(proto.CodeNotFound, "Source %s not found. Use mcpbox_list_external_sources to see existing sources.",
			sourceID).withField("source_id")
	case errors.Is(err, sources.ErrServerNotFound):
		return serverNotFound(c.serverID)
	case errors.As(err, &state):
		return fail(proto.CodeInvalidState, "%s", state.Message)
	case errors.As(err, &taken):
		return fail(proto.CodeNameTaken, "Server '%s' already has an external source named '%s'; use it "+
			"(mcpbox_list_external_sources) or choose another name.", taken.Server, taken.Name).withField("name")
	case errors.As(err, &failed):
		return fail(proto.CodeDiscoveryFailed, "%s", failed.Error())
	case errors.As(err, &missing):
		return fail(proto.CodeSecretMissing, "%s", missing.Error())
	case errors.As(err, &auth):
		return fail(proto.CodeSourceAuthFailed, "%s", auth.Error())
	}
	return err
}

func (s *Service) addExternalSource(ctx context.Context, c *call) (any, error) {
	serverID, err := c.serverArg()
	if err != nil {
		return nil, err
	}
	var in sources.Input
	for _, f := range []struct {
		name string
		dst  *string
	}{{"name", &in.Name}, {"url", &in.URL}} {
		if *f.dst, err = c.args.requiredString(f.name); err != nil {
			return nil, err
		}
	}
	for _, f := range []struct {
		name string
		dst  *string
	}{{"auth_type", &in.AuthType}, {"transport_type", &in.Transport}} {
		v, err := c.args.string(f.name)
		if err != nil {
			return nil, err
		}
		if v != nil {
			*f.dst = *v
		}
	}
	if in.AuthSecretName, err = c.args.string("auth_secret_name"); err != nil {
		return nil, err
	}
	if in.AuthHeaderName, err = c.args.string("auth_header_name"); err != nil {
		return nil, err
	}
	src, err := s.d.Sources.Create(ctx, c.sourceAudit(), serverID, in, "transport_type")
	if err != nil {
		return nil, sourceFailure(c, "", err)
	}
	return struct {
		SourceID  uuid.UUID          `json:"source_id"`
		Name      string             `json:"name"`
		Status    proto.SourceStatus `json:"status"`
		NextSteps string             `json:"next_steps"`
	}{
		SourceID: src.ID, Name: src.Name, Status: src.Status,
		NextSteps: "An admin must approve this source before it can be discovered.",
	}, nil
}

// sourceItem is an item of mcpbox_list_external_sources.
type sourceItem struct {
	ID                  uuid.UUID            `json:"id"`
	Name                string               `json:"name"`
	URL                 string               `json:"url"`
	AuthType            proto.SourceAuthType `json:"auth_type"`
	TransportType       proto.Transport      `json:"transport_type"`
	Status              proto.SourceStatus   `json:"status"`
	LastError           *string              `json:"last_error"`
	DiscoveredAt        *time.Time           `json:"discovered_at"`
	DiscoveredToolCount int                  `json:"discovered_tool_count"`
	ImportedToolCount   int                  `json:"imported_tool_count"`
}

func (s *Service) listExternalSources(ctx context.Context, c *call) (any, error) {
	serverID, err := c.serverArg()
	if err != nil {
		return nil, err
	}
	limit, cursor, err := c.args.page()
	if err != nil {
		return nil, err
	}
	p, err := s.d.Sources.List(ctx, serverID, limit, cursor)
	if err != nil {
		return nil, sourceFailure(c, "", err)
	}
	items := make([]sourceItem, len(p.Items))
	for i, v := range p.Items {
		items[i] = sourceItem{
			ID: v.ID, Name: v.Name, URL: v.URL, AuthType: v.AuthType, TransportType: v.Transport, Status: v.Status,
			LastError: v.LastError, DiscoveredAt: v.DiscoveredAt, DiscoveredToolCount: v.DiscoveredToolCount,
			ImportedToolCount: v.ImportedToolCount,
		}
	}
	return struct {
		ServerID   uuid.UUID    `json:"server_id"`
		Items      []sourceItem `json:"items"`
		NextCursor string       `json:"next_cursor,omitempty"`
	}{ServerID: serverID, Items: items, NextCursor: p.NextCursor}, nil
}

// discoveredItem is a tool of mcpbox_discover_external_tools.
type discoveredItem struct {
	Name            string          `json:"name"`
	Description     string          `json:"description"`
	InputSchema     json.RawMessage `json:"input_schema"`
	ImportName      string          `json:"import_name"`
	AlreadyImported bool            `json:"already_imported"`
	NameTaken       bool            `json:"name_taken"`
}

// changedItem is an imported tool a re-discovery gave a new version.
type changedItem struct {
	ToolID       uuid.UUID          `json:"tool_id"`
	ExposedName  string             `json:"exposed_name"`
	Version      int                `json:"version"`
	ReviewStatus proto.ReviewStatus `json:"review_status"`
}

func (s *Service) discoverExternalTools(ctx context.Context, c *call) (any, error) {
	id, err := c.sourceArg()
	if err != nil {
		return nil, err
	}
	d, err := s.d.Sources.Discover(ctx, c.sourceAudit(), id)
	if err != nil {
		return nil, sourceFailure(c, id.String(), err)
	}
	if len(d.ChangedTools) > 0 {
		if err := s.bumpedCatalog(ctx, c); err != nil {
			return nil, err
		}
	}
	out := struct {
		SourceID     uuid.UUID        `json:"source_id"`
		Tools        []discoveredItem `json:"tools"`
		ChangedTools []changedItem    `json:"changed_tools"`
		NextSteps    string           `json:"next_steps"`
	}{SourceID: id, Tools: make([]discoveredItem, len(d.Tools)), ChangedTools: make([]changedItem, len(d.ChangedTools))}
	for i, t := range d.Tools {
		out.Tools[i] = discoveredItem{
			Name: t.Name, Description: t.Description, InputSchema: t.InputSchema, ImportName: t.ImportName,
			AlreadyImported: t.AlreadyImported, NameTaken: t.NameTaken,
		}
	}
	for i, t := range d.ChangedTools {
		out.ChangedTools[i] = changedItem{ToolID: t.ToolID, ExposedName: t.ExposedName, Version: t.Version, ReviewStatus: t.ReviewStatus}
	}
	out.NextSteps = discoverNextSteps(id, d)
	return out, nil
}

// discoverNextSteps says what to do after a discovery.
func discoverNextSteps(id uuid.UUID, d sources.Discovery) string {
	var steps []string
	if len(d.Tools) == 0 {
		steps = append(steps, "The external server lists no tools.")
	} else {
		steps = append(steps, fmt.Sprintf("Import the tools you need with mcpbox_import_external_tools(source_id: %q, "+
			"tool_names: [...]); they become drafts named import_name, which an admin reviews.", id))
	}
	if n := len(d.ChangedTools); n > 0 {
		steps = append(steps, fmt.Sprintf("%d imported tool(s) changed upstream and got a new version; the approved "+
			"versions keep serving until an admin approves the new ones.", n))
	}
	return strings.Join(steps, " ")
}

// importedItem is a tool mcpbox_import_external_tools created.
type importedItem struct {
	ToolID      uuid.UUID `json:"tool_id"`
	Name        string    `json:"name"`
	ExposedName string    `json:"exposed_name"`
}

// skippedItem is a name mcpbox_import_external_tools skipped.
type skippedItem struct {
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

func (s *Service) importExternalTools(ctx context.Context, c *call) (any, error) {
	id, err := c.sourceArg()
	if err != nil {
		return nil, err
	}
	names, err := c.args.strings("tool_names")
	if err != nil {
		return nil, err
	}
	if names == nil {
		return nil, fieldFail("tool_names", "is required: the names of discovered tools to import.")
	}
	res, err := s.d.Sources.Import(ctx, c.sourceAudit(), id, *names)
	if err != nil {
		return nil, sourceFailure(c, id.String(), err)
	}
	if len(res.Imported) > 0 {
		if err := s.bumpedCatalog(ctx, c); err != nil {
			return nil, err
		}
	}
	out := struct {
		Imported  []importedItem `json:"imported"`
		Skipped   []skippedItem  `json:"skipped"`
		NextSteps string         `json:"next_steps"`
	}{Imported: make([]importedItem, len(res.Imported)), Skipped: make([]skippedItem, len(res.Skipped))}
	for i, t := range res.Imported {
		out.Imported[i] = importedItem{ToolID: t.ToolID, Name: t.Name, ExposedName: t.ExposedName}
	}
	for i, sk := range res.Skipped {
		out.Skipped[i] = skippedItem(sk)
	}
	out.NextSteps = importNextSteps(res)
	return out, nil
}

// importNextSteps says what to do after an import.
func importNextSteps(res sources.ImportResult) string {
	var steps []string
	if len(res.Imported) > 0 {
		steps = append(steps, "The imported tools are drafts: ask for review with mcpbox_request_publish(tool_id) for each; "+
			"they are callable once an admin approves them and their server runs.")
	}
	taken, missing := false, false
	for _, sk := range res.Skipped {
		taken = taken || sk.Reason == sources.SkipNameTaken
		missing = missing || sk.Reason == sources.SkipNotFound
	}
	if taken {
		steps = append(steps, "name_taken: the server already has a tool of that name (imported before, or another "+
			"tool); see mcpbox_list_tools.")
	}
	if missing {
		steps = append(steps, "not_found: the name is not in the last discovery; run mcpbox_discover_external_tools "+
			"to refresh it and use the names it lists.")
	}
	return strings.Join(steps, " ")
}

// pendingSources are the items of mcpbox_list_pending_requests for the
// external sources in pending_review: detail "<name> (<url>)", requested
// when added.
func (s *Service) pendingSources(ctx context.Context) ([]pendingItem, error) {
	var out []pendingItem
	cursor := ""
	for {
		p, err := s.d.Sources.ListAll(ctx, sources.Filter{Status: string(proto.SourcePendingReview)}, proto.MaxListLimit, cursor)
		if err != nil {
			return nil, err
		}
		for _, src := range p.Items {
			out = append(out, pendingItem{
				Kind: approvals.ItemSource, ID: src.ID, ServerName: ptrTo(src.ServerName),
				Detail: fmt.Sprintf("%s (%s)", src.Name, src.URL), RequestedAt: src.CreatedAt,
			})
		}
		if p.NextCursor == "" {
			return out, nil
		}
		cursor = p.NextCursor
	}
}
