package catalog

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/mcpbox/mcpbox/db/dbq"
	"github.com/mcpbox/mcpbox/proto"
)

// Server statuses and the source statuses that make a source usable
// (backend.md §4.2, §13.1).
const (
	serverRunning = "running"
	sourceActive  = "active"
	sourceError   = "error"
)

// Revision returns the current catalog revision.
func (s *Service) Revision(ctx context.Context) (int64, error) {
	r, err := s.store.GetRevisions(ctx)
	if err != nil {
		return 0, fmt.Errorf("catalog: read the revision: %w", err)
	}
	return r.Catalog, nil
}

// Snapshot returns the catalog (backend.md §9.3), read in one REPEATABLE
// READ snapshot together with its revision: the live tools with their
// approved version and pinned hash, sorted by exposed name, and every
// other tool under withheld with its latest version and the first reason
// that applies.
func (s *Service) Snapshot(ctx context.Context) (proto.Catalog, error) {
	var out proto.Catalog
	err := s.store.InSnapshot(ctx, func(q *dbq.Queries) error {
		r, err := q.GetRevisions(ctx)
		if err != nil {
			return fmt.Errorf("read the revision: %w", err)
		}
		rows, err := q.ListCatalogEntries(ctx)
		if err != nil {
			return fmt.Errorf("read the tools: %w", err)
		}
		out = proto.Catalog{Revision: r.Catalog, Tools: []proto.CatalogTool{}, Withheld: []proto.WithheldTool{}}
		for _, row := range rows {
			reason, live := withheldReason(row)
			if !live {
				out.Withheld = append(out.Withheld, proto.WithheldTool{
					ToolID: row.ID.String(), ServerID: row.ServerID.String(),
					Name: proto.ExposedName(row.ServerName, row.Name), Version: int(row.LatestVersion), Reason: reason,
				})
				continue
			}
			t, err := catalogTool(row)
			if err != nil {
				return err
			}
			out.Tools = append(out.Tools, t)
		}
		return nil
	})
	if err != nil {
		return proto.Catalog{}, fmt.Errorf("catalog: %w", err)
	}
	slices.SortFunc(out.Tools, func(a, b proto.CatalogTool) int { return cmp.Compare(a.Name, b.Name) })
	slices.SortFunc(out.Withheld, func(a, b proto.WithheldTool) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.ToolID, b.ToolID))
	})
	return out, nil
}

// withheldReason returns live = true for a tool the catalog serves, else
// the first reason of §9.3 that applies: server_stopped, disabled,
// source_unusable, then the review status of the latest version.
func withheldReason(row dbq.ListCatalogEntriesRow) (proto.WithheldReason, bool) {
	switch {
	case row.ServerStatus != serverRunning:
		return proto.WithheldServerStopped, false
	case !row.Enabled:
		return proto.WithheldDisabled, false
	case proto.ToolKind(row.Kind) == proto.ToolKindExternal && !usable(row.SourceStatus):
		return proto.WithheldSourceUnusable, false
	case row.ApprovedVersion != nil:
		return "", true
	}
	switch proto.ReviewStatus(row.ReviewStatus) {
	case proto.ReviewDraft:
		return proto.WithheldDraft, false
	case proto.ReviewRejected:
		return proto.WithheldRejected, false
	default:
		// pending_review; "approved" without an approved version cannot be
		// stored (tools CHECK), and waiting for review is what it would mean.
		return proto.WithheldPendingReview, false
	}
}

// usable reports whether an external source's status lets its tools run:
// an admin approved it and did not disable it (§13.1).
func usable(status *string) bool {
	return status != nil && (*status == sourceActive || *status == sourceError)
}

// catalogTool converts a live tool's row: the approved version's content,
// its pinned hash, the manifest's timeout and, for an external tool, the
// pinned annotations.
func catalogTool(row dbq.ListCatalogEntriesRow) (proto.CatalogTool, error) {
	name := proto.ExposedName(row.ServerName, row.Name)
	if row.ApprovedHash == nil || row.ApprovedDescription == nil {
		return proto.CatalogTool{}, fmt.Errorf("tool %s (%s): approved version %d has no stored content",
			row.ID, name, derefInt(row.ApprovedVersion))
	}
	var m proto.Manifest
	if err := json.Unmarshal(row.ApprovedManifest, &m); err != nil {
		return proto.CatalogTool{}, fmt.Errorf("tool %s (%s): approved manifest: %w", row.ID, name, err)
	}
	annotations := json.RawMessage("null")
	if proto.ToolKind(row.Kind) == proto.ToolKindExternal {
		var def proto.ExternalDefinition
		if err := json.Unmarshal(row.ApprovedExternalDefinition, &def); err != nil {
			return proto.CatalogTool{}, fmt.Errorf("tool %s (%s): approved external definition: %w", row.ID, name, err)
		}
		annotations = orNull(def.Annotations)
	}
	return proto.CatalogTool{
		ToolID: row.ID.String(), ServerID: row.ServerID.String(), ServerName: row.ServerName, Name: name,
		Kind: proto.ToolKind(row.Kind), Version: derefInt(row.ApprovedVersion), Hash: *row.ApprovedHash,
		Description: *row.ApprovedDescription, InputSchema: orNull(row.ApprovedInputSchema),
		OutputSchema: orNull(row.ApprovedOutputSchema), Annotations: annotations, TimeoutMS: m.TimeoutMS,
	}, nil
}

// orNull returns JSON null for an absent value.
func orNull(b []byte) json.RawMessage {
	if len(b) == 0 {
		return json.RawMessage("null")
	}
	return json.RawMessage(b)
}

func derefInt(p *int32) int {
	if p == nil {
		return 0
	}
	return int(*p)
}

// ETag returns the catalog's entity tag for revision: the revision in
// double quotes.
func ETag(revision int64) string { return `"` + strconv.FormatInt(revision, 10) + `"` }

// matchesETag reports whether an If-None-Match header value names etag:
// "*", or a comma-separated list of entity tags one of which, weak or
// strong, equals etag (RFC 9110 §13.1.2, weak comparison).
func matchesETag(header, etag string) bool {
	for part := range strings.SplitSeq(header, ",") {
		tag := strings.TrimSpace(part)
		if tag == "*" {
			return true
		}
		if strings.TrimPrefix(tag, "W/") == etag {
			return true
		}
	}
	return false
}
