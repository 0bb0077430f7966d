package sources

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/db/dbq"
	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/redact"
	"github.com/mcpbox/mcpbox/services/backend/internal/activity"
	"github.com/mcpbox/mcpbox/services/backend/internal/approvals"
	"github.com/mcpbox/mcpbox/services/backend/internal/policy"
	"github.com/mcpbox/mcpbox/services/backend/internal/revision"
	"github.com/mcpbox/mcpbox/services/backend/internal/sandboxclient"
)

// DiscoveredTool is one upstream tool of a discovery.
type DiscoveredTool struct {
	Name        string
	Description string
	InputSchema json.RawMessage // JSON null when the upstream gave none
	Annotations json.RawMessage // JSON null when the upstream gave none
	// ImportName is the name an import gives the tool (§13.2).
	ImportName string
	// AlreadyImported reports that a tool of this source imports it.
	AlreadyImported bool
	// NameTaken reports that the server has a tool named ImportName, so an
	// import skips it (name_taken).
	NameTaken bool
}

// ChangedTool is an imported tool a re-discovery gave a new version.
type ChangedTool struct {
	ToolID       uuid.UUID
	Name         string
	ExposedName  string
	Version      int
	ReviewStatus proto.ReviewStatus
}

// Discovery is the outcome of a successful discovery.
type Discovery struct {
	Source       Source
	Tools        []DiscoveredTool
	ChangedTools []ChangedTool
}

// credentials are the headers of a discovery and the secrets to redact
// from its errors.
type credentials struct {
	headers map[string]string
	secrets []redact.Secret
}

// Discover lists the upstream's tools through the sandbox's
// /v1/mcp/discover (§13.2) and caches them on the source. Only a usable
// source is discovered (*InvalidStateError otherwise, and the sandbox is
// not called). Its credential comes from the server's secret (bearer,
// header) or from OAuthTokens (oauth); allowed_hosts is the source's host
// when an approved network request covers it for the server, else null
// (public hosts only).
//
// Success stores discovered_tools and discovered_at, sets the status
// active and clears last_error; every imported tool whose definition hash
// now differs from its latest version gets a new version (change_source
// discovery, §6.1 review rules), listed in ChangedTools, while its
// approved version keeps serving. An upstream failure stores the redacted
// error in last_error, sets the status error and returns a
// *DiscoveryFailedError. A sandbox failure (*sandboxclient.Error) changes
// nothing.
func (s *Service) Discover(ctx context.Context, a Audit, id uuid.UUID) (Discovery, error) {
	src, err := s.Get(ctx, id)
	if err != nil {
		return Discovery{}, err
	}
	if !src.Usable() {
		return Discovery{}, notUsable(src.Name, string(src.Status))
	}
	cred, err := s.credentials(ctx, src)
	if err != nil {
		return Discovery{}, err
	}
	allowed, err := s.allowedHosts(ctx, src)
	if err != nil {
		return Discovery{}, err
	}
	resp, err := s.d.Sandbox.Discover(ctx, proto.DiscoverRequest{
		RequestID: a.RequestID, URL: src.URL, Transport: src.Transport, Headers: cred.headers,
		AllowedHosts: allowed, TimeoutMS: proto.DefaultDiscoverTimeoutMS,
	})
	if err != nil {
		return Discovery{}, err
	}
	if !resp.OK {
		return Discovery{}, s.recordFailure(ctx, a, src, cred, resp.Error)
	}
	var pol policy.Policy
	if pol, _, err = s.d.Policy.Current(ctx); err != nil {
		return Discovery{}, fmt.Errorf("discover external source %s: %w", id, err)
	}
	out, err := s.recordSuccess(ctx, a, src, pol, resp.Tools)
	if err != nil {
		return Discovery{}, wrap("discover external source "+id.String(), err)
	}
	return out, nil
}

// notUsable is the refusal of discovery and import of a source that is
// not usable.
func notUsable(name, status string) *InvalidStateError {
	if status == string(proto.SourcePendingReview) {
		return &InvalidStateError{Message: fmt.Sprintf("Source '%s' is pending_review; an admin must approve it first.", name)}
	}
	return &InvalidStateError{Message: fmt.Sprintf("Source '%s' is %s; an admin must enable it first.", name, status)}
}

// credentials resolves the source's auth header (§9.4 rules): bearer →
// Authorization: Bearer <secret>, header → <name>: <secret>, oauth →
// Authorization: Bearer <access token>.
func (s *Service) credentials(ctx context.Context, src Source) (credentials, error) {
	switch src.AuthType {
	case proto.AuthBearer, proto.AuthHeader:
		if src.AuthSecretName == nil {
			return credentials{}, fmt.Errorf("external source %s: auth %s without a secret name", src.ID, src.AuthType)
		}
		name := *src.AuthSecretName
		values, missing, err := s.d.Secrets.Values(ctx, src.ServerID, []string{name})
		if err != nil {
			return credentials{}, fmt.Errorf("credentials of external source %s: %w", src.ID, err)
		}
		if len(missing) > 0 {
			return credentials{}, &SecretMissingError{Server: src.ServerName, Name: name}
		}
		header, value := "Authorization", "Bearer "+values[name]
		if src.AuthType == proto.AuthHeader {
			header, value = DefaultHeaderName, values[name]
			if src.AuthHeaderName != nil {
				header = *src.AuthHeaderName
			}
		}
		return credentials{headers: map[string]string{header: value}, secrets: []redact.Secret{{Name: name, Value: values[name]}}}, nil
	case proto.AuthOAuth:
		if s.d.OAuthTokens == nil {
			return credentials{}, &InvalidStateError{Message: fmt.Sprintf("Source '%s' signs in with OAuth and has no access "+
				"token; an admin must sign in with OAuth first (Servers > %s > External sources > Authenticate).", src.Name, src.ServerName)}
		}
		token, err := s.d.OAuthTokens.AccessToken(ctx, src.ID)
		if err != nil {
			var sandbox *sandboxclient.Error
			if errors.As(err, &sandbox) {
				return credentials{}, err
			}
			s.logger().WarnContext(ctx, "no OAuth access token for discovery", "source_id", src.ID.String(), "error", err.Error())
			return credentials{}, &AuthFailedError{Source: src.Name, Server: src.ServerName}
		}
		return credentials{
			headers: map[string]string{"Authorization": "Bearer " + token},
			secrets: []redact.Secret{{Name: "OAUTH_ACCESS_TOKEN", Value: token}},
		}, nil
	}
	return credentials{}, nil
}

// allowedHosts is allowed_hosts of a discovery (§13.2): the source's host
// entry when an approved network request of the server covers it, so an
// approved LAN source can be reached, else null (public hosts only).
func (s *Service) allowedHosts(ctx context.Context, src Source) (proto.AllowedHosts, error) {
	host := hostOf(src.URL)
	var covered bool
	err := s.d.Store.InSnapshot(ctx, func(q *dbq.Queries) error {
		var err error
		covered, err = approvals.HostCoveredInTx(ctx, q, src.ServerID, host)
		return err
	})
	if err != nil {
		return proto.AllowedHosts{}, fmt.Errorf("allowed hosts of external source %s: %w", src.ID, err)
	}
	if covered {
		return proto.OnlyHosts(host), nil
	}
	return proto.AnyPublicHost(), nil
}

// sameSettings reports whether the locked row still has the settings the
// discovery used and is still usable.
func sameSettings(row dbq.ExternalMcpSource, src Source) bool {
	return usable(row.Status) && row.Url == src.URL && row.AuthType == string(src.AuthType) &&
		equalPtr(row.AuthSecretName, src.AuthSecretName) && equalPtr(row.AuthHeaderName, src.AuthHeaderName)
}

// changedMeanwhile is the refusal to store a discovery whose source
// changed while the sandbox worked.
func changedMeanwhile(name string) *InvalidStateError {
	return &InvalidStateError{Message: fmt.Sprintf("External source '%s' was changed while it was being discovered; "+
		"nothing was stored. Run the discovery again.", name)}
}

// recordFailure stores a failed discovery (status error, redacted
// last_error) and returns its *DiscoveryFailedError.
func (s *Service) recordFailure(ctx context.Context, a Audit, src Source, cred credentials, e *proto.UpstreamError) error {
	reason := "the external server did not answer as an MCP server"
	if e != nil {
		reason = string(e.Type) + ": " + e.Message
		if e.Status != 0 {
			reason += fmt.Sprintf(" (HTTP %d)", e.Status)
		}
	}
	reason = truncate(redact.New(cred.secrets, redact.Named).String(reason), maxErrorLen)
	err := s.d.Store.InTx(ctx, db.ReadCommitted, func(q *dbq.Queries) error {
		row, err := q.LockExternalSource(ctx, src.ID)
		if err != nil {
			return err
		}
		if !sameSettings(row, src) {
			return changedMeanwhile(src.Name)
		}
		row.Status, row.LastError = string(proto.SourceError), &reason
		if err := q.SetExternalSource(ctx, setParams(row)); err != nil {
			return err
		}
		return activity.Write(ctx, q, activity.Entry{
			Category: activity.Audit, Action: "source.discover", Level: activity.Warning, Actor: a.Actor,
			ServerID: &src.ServerID, RequestID: a.RequestID,
			Message: fmt.Sprintf("Discovery of external source '%s' of server '%s' failed: %s", src.Name, src.ServerName, reason),
			Details: map[string]any{"source_id": src.ID, "ok": false, "error": reason},
		})
	})
	if err != nil {
		return wrap("record the failed discovery of external source "+src.ID.String(), err)
	}
	return &DiscoveryFailedError{Reason: reason}
}

// recordSuccess stores a successful discovery and gives every imported
// tool whose definition changed a new version.
func (s *Service) recordSuccess(ctx context.Context, a Audit, src Source, pol policy.Policy, upstream []proto.DiscoveredTool) (Discovery, error) {
	defs := cacheable(upstream)
	raw, err := json.Marshal(defs)
	if err != nil {
		return Discovery{}, err
	}
	var out Discovery
	err = s.d.Store.InTx(ctx, db.ReadCommitted, func(q *dbq.Queries) error {
		row, err := q.LockExternalSource(ctx, src.ID)
		if err != nil {
			return err
		}
		if !sameSettings(row, src) {
			return changedMeanwhile(src.Name)
		}
		row.Status, row.LastError, row.DiscoveredTools, row.DiscoveredAt = string(proto.SourceActive), nil, raw, ptr(now())
		if err := q.SetExternalSource(ctx, setParams(row)); err != nil {
			return err
		}
		if out.ChangedTools, err = rediscover(ctx, q, a, pol, row, src.ServerName, defs); err != nil {
			return err
		}
		if len(out.ChangedTools) > 0 {
			if _, err := revision.Catalog(ctx, q); err != nil {
				return err
			}
		}
		changed := make([]string, len(out.ChangedTools))
		for i, c := range out.ChangedTools {
			changed[i] = c.ExposedName
		}
		if err := audit(ctx, q, a, "source.discover", src.ServerID,
			fmt.Sprintf("Discovered %d tool(s) of external source '%s' of server '%s'; %d imported tool(s) changed.",
				len(defs), src.Name, src.ServerName, len(changed)),
			map[string]any{"source_id": src.ID, "ok": true, "tool_count": len(defs), "changed_tools": changed}); err != nil {
			return err
		}
		if out.Tools, err = annotate(ctx, q, row, defs); err != nil {
			return err
		}
		out.Source, err = load(ctx, q, src.ID)
		return err
	})
	return out, err
}

// cacheable keeps the pinned fields of the upstream's tools, once per
// name, in the upstream's order.
func cacheable(upstream []proto.DiscoveredTool) []discovered {
	out := make([]discovered, 0, len(upstream))
	seen := map[string]bool{}
	for _, t := range upstream {
		if seen[t.Name] {
			continue
		}
		seen[t.Name] = true
		out = append(out, discovered{
			Name: t.Name, Description: t.Description, InputSchema: orNull(t.InputSchema), Annotations: orNull(t.Annotations),
		})
	}
	return out
}

// rediscover gives every tool imported from the source whose discovered
// definition (or the manifest the source now implies) hashes differently
// from its latest version a new version (§13.2), under the review rules
// of §6.1 and with the automatic requests of §6.2. Tools the upstream no
// longer lists are left as they are.
func rediscover(ctx context.Context, q *dbq.Queries, a Audit, pol policy.Policy, src dbq.ExternalMcpSource, server string,
	defs []discovered,
) ([]ChangedTool, error) {
	imported, err := q.ListExternalSourceToolsForUpdate(ctx, &src.ID)
	if err != nil {
		return nil, err
	}
	byName := make(map[string]discovered, len(defs))
	for _, d := range defs {
		byName[d.Name] = d
	}
	out := []ChangedTool{}
	auto := pol.ToolApprovalMode == string(proto.ApprovalAuto)
	for _, t := range imported {
		d, ok := byName[deref(t.ExternalToolName)]
		if !ok {
			continue
		}
		latest, err := q.GetToolVersion(ctx, dbq.GetToolVersionParams{ToolID: t.ID, Version: t.LatestVersion})
		if err != nil {
			return nil, fmt.Errorf("tool %s: latest version: %w", t.ID, err)
		}
		old, err := readContent(latest)
		if err != nil {
			return nil, fmt.Errorf("tool %s: %w", t.ID, err)
		}
		next, err := buildContent(src, d, old.manifest.TimeoutMS)
		if err != nil {
			return nil, err
		}
		if next.hash == latest.Hash {
			continue
		}
		n := int(t.LatestVersion) + 1
		summary := changeSummary(old, next)
		if err := insertVersion(ctx, q, a, t.ID, n, next, proto.ChangeDiscovery, summary); err != nil {
			return nil, err
		}
		if err := approvals.EnsureVersionRequests(ctx, q, pol, approvals.Audit(a), approvals.NewVersion{
			ToolID: t.ID, ServerID: t.ServerID, ServerName: server, ToolName: t.Name, Number: n, Manifest: next.manifest,
		}); err != nil {
			return nil, err
		}
		status, err := setReview(ctx, q, t, n, next, auto)
		if err != nil {
			return nil, err
		}
		exposed := proto.ExposedName(server, t.Name)
		if err := activity.Write(ctx, q, activity.Entry{
			Category: activity.Audit, Action: "tool.update", Actor: a.Actor, ServerID: &t.ServerID, ToolID: &t.ID,
			RequestID: a.RequestID,
			Message:   fmt.Sprintf("Discovery gave tool '%s' version %d (%s), %s.", exposed, n, summary, status),
			Details: map[string]any{
				"exposed_name": exposed, "version": n, "hash": next.hash, "review_status": status, "summary": summary,
				"change_source": proto.ChangeDiscovery,
			},
		}); err != nil {
			return nil, err
		}
		out = append(out, ChangedTool{ToolID: t.ID, Name: t.Name, ExposedName: exposed, Version: n, ReviewStatus: status})
	}
	return out, nil
}

// annotate adds to each discovered tool its import name and whether it is
// imported or its import name taken.
func annotate(ctx context.Context, q *dbq.Queries, src dbq.ExternalMcpSource, defs []discovered) ([]DiscoveredTool, error) {
	rows, err := q.ListServerToolOrigins(ctx, src.ServerID)
	if err != nil {
		return nil, err
	}
	names := map[string]bool{}
	imported := map[string]bool{}
	for _, r := range rows {
		names[r.Name] = true
		if r.ExternalSourceID != nil && *r.ExternalSourceID == src.ID && r.ExternalToolName != nil {
			imported[*r.ExternalToolName] = true
		}
	}
	out := make([]DiscoveredTool, len(defs))
	for i, d := range defs {
		name := ImportName(src.Name, d.Name)
		out[i] = DiscoveredTool{
			Name: d.Name, Description: d.Description, InputSchema: d.InputSchema, Annotations: d.Annotations,
			ImportName: name, AlreadyImported: imported[d.Name], NameTaken: names[name],
		}
	}
	return out, nil
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
