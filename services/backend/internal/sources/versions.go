package sources

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/db/dbq"
	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/canon"
	"github.com/mcpbox/mcpbox/services/backend/internal/approvals"
)

// Approvers that are not admins (backend.md §2).
const (
	approvedByHashMatch = "hash_match"
	approvedByPolicy    = "policy"
)

// discovered is one upstream tool as a discovery caches it in
// external_mcp_sources.discovered_tools (§4.2): exactly the fields an
// external definition pins (§5.3).
type discovered struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	InputSchema json.RawMessage `json:"input_schema"`
	Annotations json.RawMessage `json:"annotations"`
}

// content is the content of an external tool version: its pinned
// definition and manifest and their hash.
type content struct {
	def      proto.ExternalDefinition
	manifest proto.Manifest
	hash     string
}

// buildContent is the content of the upstream tool d of the source src
// (§5.2, §5.3): the definition {annotations, description, input_schema,
// name, source_id} and the manifest {hosts: [source host], packages: [],
// secrets: [auth secret] or [], timeout_ms, memory_mb: 0}.
func buildContent(src dbq.ExternalMcpSource, d discovered, timeoutMS int) (content, error) {
	def := proto.ExternalDefinition{
		Annotations: orNull(d.Annotations), Description: d.Description, InputSchema: orNull(d.InputSchema),
		Name: d.Name, SourceID: src.ID.String(),
	}
	m := proto.Manifest{Hosts: []string{hostOf(src.Url)}, Packages: []string{}, Secrets: []string{}, TimeoutMS: timeoutMS}
	if src.AuthSecretName != nil {
		m.Secrets = []string{*src.AuthSecretName}
	}
	m, err := m.Normalize()
	if err == nil {
		err = m.Validate(proto.ToolKindExternal)
	}
	if err != nil {
		return content{}, fmt.Errorf("manifest of external tool %q: %w", d.Name, err)
	}
	hash, err := canon.HashExternal(def, m)
	if err != nil {
		return content{}, err
	}
	return content{def: def, manifest: m, hash: hash}, nil
}

// orNull is a raw JSON value, JSON null when absent.
func orNull(raw json.RawMessage) json.RawMessage {
	if len(bytes.TrimSpace(raw)) == 0 {
		return json.RawMessage("null")
	}
	return raw
}

// schemaObject is the input schema clients see: the upstream's when it is
// an object, else the empty object schema (the pinned definition keeps
// the upstream's value either way).
func schemaObject(raw json.RawMessage) []byte {
	if t := bytes.TrimSpace(raw); len(t) > 0 && t[0] == '{' {
		return t
	}
	return []byte(`{"type":"object"}`)
}

// insertVersion appends version n of an external tool.
func insertVersion(ctx context.Context, q *dbq.Queries, a Audit, toolID uuid.UUID, n int, c content,
	source proto.ChangeSource, summary string,
) error {
	def, err := json.Marshal(c.def)
	if err != nil {
		return err
	}
	manifest, err := json.Marshal(c.manifest)
	if err != nil {
		return err
	}
	return q.InsertToolVersion(ctx, dbq.InsertToolVersionParams{
		ToolID: toolID, Version: int32(n), ExternalDefinition: def, Manifest: manifest, Hash: c.hash, //nolint:gosec // G115: versions are small
		Description: c.def.Description, InputSchema: schemaObject(c.def.InputSchema), ChangeSummary: summary,
		ChangeSource: string(source), CreatedBy: a.Actor,
	})
}

// setReview records version n (with content c) as a tool's latest and
// takes the review transition of a content change (§6.1): hash_match
// first, then a draft stays a draft, then require_approval →
// pending_review and auto_approve → approved by policy when the manifest's
// hosts are covered (§6.3), else pending_review. Unlike a go version, an
// external one naming a secret may be auto-approved: its secret only
// becomes an auth header sent to the approved source (§6.3).
func setReview(ctx context.Context, q *dbq.Queries, t dbq.Tool, n int, c content, auto bool) (proto.ReviewStatus, error) {
	at := now()
	p := dbq.SetToolReviewParams{
		ID: t.ID, LatestVersion: int32(n), ReviewStatus: t.ReviewStatus, //nolint:gosec // G115: versions are small
		ReviewRequestedAt: t.ReviewRequestedAt, ApprovedVersion: t.ApprovedVersion, ApprovedHash: t.ApprovedHash,
		ApprovedAt: t.ApprovedAt, ApprovedBy: t.ApprovedBy,
	}
	approve := func(by string) {
		p.ReviewStatus = string(proto.ReviewApproved)
		p.ApprovedVersion, p.ApprovedHash, p.ApprovedAt, p.ApprovedBy = &p.LatestVersion, &c.hash, &at, &by
	}
	switch {
	case t.ApprovedHash != nil && *t.ApprovedHash == c.hash:
		approve(approvedByHashMatch)
	case t.ReviewStatus == string(proto.ReviewDraft):
	default:
		covered := false
		if auto {
			miss, err := approvals.MissingInTx(ctx, q, t.ServerID, c.manifest)
			if err != nil {
				return "", err
			}
			covered = miss.Empty()
		}
		if covered {
			approve(approvedByPolicy)
		} else {
			p.ReviewStatus, p.ReviewRequestedAt = string(proto.ReviewPendingReview), &at
		}
	}
	if err := q.SetToolReview(ctx, p); err != nil {
		return "", err
	}
	return proto.ReviewStatus(p.ReviewStatus), nil
}

// changeSummary names what a discovery changed between two contents, e.g.
// "Discovery changed description and input_schema".
func changeSummary(old, next content) string {
	var parts []string
	for _, f := range []struct {
		name string
		a, b any
	}{
		{"description", old.def.Description, next.def.Description},
		{"input_schema", canonical(old.def.InputSchema), canonical(next.def.InputSchema)},
		{"annotations", canonical(old.def.Annotations), canonical(next.def.Annotations)},
		{"hosts", strings.Join(old.manifest.Hosts, ","), strings.Join(next.manifest.Hosts, ",")},
		{"secrets", strings.Join(old.manifest.Secrets, ","), strings.Join(next.manifest.Secrets, ",")},
	} {
		if f.a != f.b {
			parts = append(parts, f.name)
		}
	}
	switch len(parts) {
	case 0:
		return "Discovery changed the definition"
	case 1:
		return "Discovery changed " + parts[0]
	}
	return "Discovery changed " + strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}

// canonical is the canonical JSON of a raw value, for comparison ("" when
// it does not encode).
func canonical(raw json.RawMessage) string {
	b, err := canon.Marshal(orNull(raw))
	if err != nil {
		return string(raw)
	}
	return string(b)
}

// readContent reads back the content of a stored version of an external
// tool.
func readContent(v dbq.ToolVersion) (content, error) {
	var c content
	if err := json.Unmarshal(v.ExternalDefinition, &c.def); err != nil {
		return content{}, fmt.Errorf("version %d: external definition: %w", v.Version, err)
	}
	if err := json.Unmarshal(v.Manifest, &c.manifest); err != nil {
		return content{}, fmt.Errorf("version %d: manifest: %w", v.Version, err)
	}
	c.hash = v.Hash
	return c, nil
}
