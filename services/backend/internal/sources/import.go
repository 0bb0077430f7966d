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
	"github.com/mcpbox/mcpbox/services/backend/internal/activity"
	"github.com/mcpbox/mcpbox/services/backend/internal/approvals"
	"github.com/mcpbox/mcpbox/services/backend/internal/policy"
	"github.com/mcpbox/mcpbox/services/backend/internal/revision"
	"github.com/mcpbox/mcpbox/services/backend/internal/tools"
)

// MaxImportNames is the most tool names one import takes: a discovery
// lists at most 1000 tools (sandbox.md §4.5).
const MaxImportNames = 1000

// Reasons an import skips a name (§10.2).
const (
	SkipNotFound  = "not_found"
	SkipNameTaken = "name_taken"
)

// ImportedTool is a tool an import created.
type ImportedTool struct {
	ToolID       uuid.UUID
	Name         string
	ExposedName  string
	ExternalName string
	ReviewStatus proto.ReviewStatus
}

// SkippedTool is a name an import did not create a tool for.
type SkippedTool struct {
	Name   string
	Reason string // SkipNotFound or SkipNameTaken
}

// ImportResult is the outcome of an import.
type ImportResult struct {
	Source   Source
	Imported []ImportedTool
	Skipped  []SkippedTool
}

// checkNames validates the tool_names of an import: 1–1000 non-empty
// strings; duplicates count once.
func checkNames(names []string) ([]string, error) {
	if len(names) < 1 || len(names) > MaxImportNames {
		return nil, &proto.RuleError{Field: "tool_names", Message: fmt.Sprintf(
			"must list 1 to %d names of discovered tools; this request has %d.", MaxImportNames, len(names))}
	}
	out := make([]string, 0, len(names))
	seen := map[string]bool{}
	for i, n := range names {
		if n == "" {
			return nil, &proto.RuleError{Field: fmt.Sprintf("tool_names[%d]", i), Message: "must not be empty."}
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out, nil
}

// Import creates a tool for each named tool of the source's last
// discovery (§13.2), named ImportName(source, tool), with version 1
// pinning its definition and the manifest {hosts: [source host],
// packages: [], secrets: [auth secret] or [], timeout_ms: 30000,
// memory_mb: 0}. An LLM's tools are drafts (with the automatic requests of
// §6.2); an admin's are approved at once by that admin, which grants the
// source host (§6.3), since the admin has just reviewed the definitions.
// A name the discovery does not list is skipped as not_found, one whose
// tool name the server already has as name_taken. The source must be
// usable and discovered (*InvalidStateError); the tool quota applies
// (*tools.QuotaError). Everything happens in one transaction.
func (s *Service) Import(ctx context.Context, a Audit, id uuid.UUID, names []string) (ImportResult, error) {
	names, err := checkNames(names)
	if err != nil {
		return ImportResult{}, err
	}
	pol, _, err := s.d.Policy.Current(ctx)
	if err != nil {
		return ImportResult{}, fmt.Errorf("import from external source %s: %w", id, err)
	}
	out := ImportResult{Imported: []ImportedTool{}, Skipped: []SkippedTool{}}
	err = s.d.Store.InTx(ctx, db.ReadCommitted, func(q *dbq.Queries) error {
		src, server, err := lockSource(ctx, q, id)
		if err != nil {
			return err
		}
		if !usable(src.Status) {
			return notUsable(src.Name, src.Status)
		}
		defs, err := discoveredOf(src, a)
		if err != nil {
			return err
		}
		if err := q.LockToolQuota(ctx); err != nil {
			return err
		}
		count, err := q.CountTools(ctx)
		if err != nil {
			return err
		}
		for _, name := range names {
			d, ok := defs[name]
			if !ok {
				out.Skipped = append(out.Skipped, SkippedTool{Name: name, Reason: SkipNotFound})
				continue
			}
			if count >= tools.MaxTools {
				return &tools.QuotaError{}
			}
			t, created, err := importOne(ctx, q, a, pol, src, server, d)
			if err != nil {
				return err
			}
			if !created {
				out.Skipped = append(out.Skipped, SkippedTool{Name: name, Reason: SkipNameTaken})
				continue
			}
			count++
			out.Imported = append(out.Imported, t)
		}
		if len(out.Imported) > 0 {
			if _, err := revision.Catalog(ctx, q); err != nil {
				return err
			}
		}
		if err := audit(ctx, q, a, "source.import", src.ServerID,
			fmt.Sprintf("Imported %d tool(s) from external source '%s' of server '%s'; %d skipped.",
				len(out.Imported), src.Name, server, len(out.Skipped)),
			map[string]any{"source_id": id, "imported": importedNames(out.Imported), "skipped": skippedDetails(out.Skipped)}); err != nil {
			return err
		}
		out.Source, err = load(ctx, q, id)
		return err
	})
	if err != nil {
		return ImportResult{}, wrap("import from external source "+id.String(), err)
	}
	return out, nil
}

// discoveredOf returns the source's cached discovery by upstream name, or
// the *InvalidStateError asking to discover first.
func discoveredOf(src dbq.ExternalMcpSource, a Audit) (map[string]discovered, error) {
	if src.DiscoveredTools == nil {
		how := "run POST /api/v1/external-sources/" + src.ID.String() + "/discover first."
		if a.byLLM() {
			how = "run mcpbox_discover_external_tools first."
		}
		return nil, &InvalidStateError{Message: "No discovered tools; " + how}
	}
	var defs []discovered
	if err := json.Unmarshal(src.DiscoveredTools, &defs); err != nil {
		return nil, fmt.Errorf("external source %s: discovered tools: %w", src.ID, err)
	}
	out := make(map[string]discovered, len(defs))
	for _, d := range defs {
		out[d.Name] = d
	}
	return out, nil
}

// importOne creates the tool of one discovered definition in q's
// transaction; created is false when the server already has its name.
func importOne(ctx context.Context, q *dbq.Queries, a Audit, pol policy.Policy, src dbq.ExternalMcpSource, server string,
	d discovered,
) (ImportedTool, bool, error) {
	c, err := buildContent(src, d, proto.DefaultTimeoutMS)
	if err != nil {
		return ImportedTool{}, false, err
	}
	name := ImportName(src.Name, d.Name)
	toolID, err := q.InsertExternalTool(ctx, dbq.InsertExternalToolParams{
		ServerID: src.ServerID, Name: name, SourceID: &src.ID, ExternalToolName: &d.Name, CreatedBy: a.Actor,
	})
	if errors.Is(err, db.ErrNotFound) {
		return ImportedTool{}, false, nil
	} else if err != nil {
		return ImportedTool{}, false, err
	}
	summary := fmt.Sprintf("Imported from external source '%s'", src.Name)
	if err := insertVersion(ctx, q, a, toolID, 1, c, a.changeSource(), summary); err != nil {
		return ImportedTool{}, false, err
	}
	exposed := proto.ExposedName(server, name)
	out := ImportedTool{ToolID: toolID, Name: name, ExposedName: exposed, ExternalName: d.Name, ReviewStatus: proto.ReviewDraft}
	if err := activity.Write(ctx, q, activity.Entry{
		Category: activity.Audit, Action: "tool.create", Actor: a.Actor, ServerID: &src.ServerID, ToolID: &toolID,
		RequestID: a.RequestID,
		Message:   fmt.Sprintf("Imported tool '%s' from external source '%s' (version 1, draft).", exposed, src.Name),
		Details: map[string]any{
			"name": name, "exposed_name": exposed, "version": 1, "hash": c.hash, "source_id": src.ID,
			"external_tool_name": d.Name,
		},
	}); err != nil {
		return ImportedTool{}, false, err
	}
	if a.byLLM() {
		err = approvals.EnsureVersionRequests(ctx, q, pol, approvals.Audit(a), approvals.NewVersion{
			ToolID: toolID, ServerID: src.ServerID, ServerName: server, ToolName: name, Number: 1, Manifest: c.manifest,
		})
		return out, true, err
	}
	if _, err := approvals.ApproveInTx(ctx, q, approvals.Audit(a), toolID, 1, c.hash); err != nil {
		return ImportedTool{}, false, fmt.Errorf("approve imported tool %s: %w", exposed, err)
	}
	out.ReviewStatus = proto.ReviewApproved
	return out, true, nil
}

func importedNames(ts []ImportedTool) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.ExposedName
	}
	return out
}

func skippedDetails(ss []SkippedTool) []map[string]string {
	out := make([]map[string]string, len(ss))
	for i, s := range ss {
		out[i] = map[string]string{"name": s.Name, "reason": s.Reason}
	}
	return out
}
