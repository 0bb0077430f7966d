package transfer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/db/dbq"
	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/canon"
	"github.com/mcpbox/mcpbox/services/backend/internal/activity"
	"github.com/mcpbox/mcpbox/services/backend/internal/approvals"
	"github.com/mcpbox/mcpbox/services/backend/internal/revision"
	"github.com/mcpbox/mcpbox/services/backend/internal/tools"
)

// maxRenameSuffix bounds the _N suffixes tried for a taken name.
const maxRenameSuffix = 999

// importer writes one import in one transaction.
type importer struct {
	a     Audit
	actor string // import:<admin>, the *_by of what the import creates
	opt   Options
	now   time.Time
	res   *Result
}

// run writes the package records, then each server in its own savepoint,
// then the summary audit row and, when anything was created, the catalog
// revision bump.
func (im *importer) run(ctx context.Context, q *dbq.Queries, d *Document, plans []serverPlan) error {
	if err := q.LockToolQuota(ctx); err != nil {
		return err
	}
	packages, err := im.item(ctx, q, func() (int, error) { return im.packages(ctx, q, d.Packages) })
	if err != nil {
		return err
	}
	for i := range plans {
		if err := im.server(ctx, q, &plans[i]); err != nil {
			return err
		}
	}
	r := im.res
	if r.ServersCreated > 0 || packages > 0 {
		if _, err := revision.Catalog(ctx, q); err != nil {
			return err
		}
	}
	return activity.Write(ctx, q, activity.Entry{
		Category: activity.Audit, Action: "import.apply", Actor: im.a.Actor, RequestID: im.a.RequestID,
		Message: fmt.Sprintf("Imported %d servers with %d tools (%d errors, %d warnings).",
			r.ServersCreated, r.ToolsCreated, len(r.Errors), len(r.Warnings)),
		Details: map[string]any{
			"servers_created": r.ServersCreated, "tools_created": r.ToolsCreated, "package_records": packages,
			"secrets_needing_values": len(r.SecretsNeedingValues), "errors": len(r.Errors), "warnings": len(r.Warnings),
			"restore_approvals": im.opt.RestoreApprovals, "on_conflict": im.opt.OnConflict,
		},
	})
}

// item runs fn in a savepoint: an *itemError or a constraint violation
// rolls back to it and is listed in the result's errors; any other error
// ends the import.
func (im *importer) item(ctx context.Context, q *dbq.Queries, fn func() (int, error)) (int, error) {
	if err := q.SavepointImportItem(ctx); err != nil {
		return 0, err
	}
	n, err := fn()
	if err == nil {
		return n, q.ReleaseImportItem(ctx)
	}
	ie := asItemError(err)
	if ie == nil {
		return 0, err
	}
	if rerr := q.RollbackImportItem(ctx); rerr != nil {
		return 0, rerr
	}
	im.res.Errors = append(im.res.Errors, ie.Problem)
	return 0, nil
}

// asItemError returns err as an *itemError, mapping constraint violations
// by name (§15.1); nil for any other error.
func asItemError(err error) *itemError {
	var (
		ie       *itemError
		conflict *db.ConflictError
		check    *db.CheckError
	)
	switch {
	case errors.As(err, &ie):
		return ie
	case errors.As(err, &conflict):
		return fail("", "", proto.CodeAlreadyExists, "An entry already exists (%s); nothing of this item was imported.", conflict.Constraint)
	case errors.As(err, &check):
		return fail("", "", proto.CodeValidationFailed, "A value breaks the rule %s; nothing of this item was imported.", check.Constraint)
	}
	return nil
}

// packages writes the package records (global, §6.2): approved ones as
// approved under restore_approvals, everything else pending. A package
// already allowed, already requested or outside the approvable set is
// skipped. It returns how many records it created.
func (im *importer) packages(ctx context.Context, q *dbq.Queries, list []Package) (int, error) {
	wanted := map[string]string{}
	var order []string
	for i, p := range list {
		switch {
		case proto.IsDefaultPackage(p.Package):
			continue
		case !proto.IsApprovablePackage(p.Package):
			im.res.warn("", fmt.Sprintf("packages[%d].package", i), proto.CodePackageForbidden,
				"Package '%s' cannot be approved in this installation; its record was not imported.", p.Package)
			continue
		}
		status := statusPending
		if im.opt.RestoreApprovals && p.Status == statusApproved {
			status = statusApproved
		}
		if _, seen := wanted[p.Package]; !seen {
			order = append(order, p.Package)
		}
		if wanted[p.Package] != statusApproved {
			wanted[p.Package] = status
		}
	}
	created := 0
	justification := map[string]string{}
	for _, p := range list {
		if justification[p.Package] == "" {
			justification[p.Package] = p.Justification
		}
	}
	for _, pkg := range order {
		status := wanted[pkg]
		if _, err := q.FindApprovedPackageRequest(ctx, pkg); err == nil {
			continue // already allowed
		} else if !errors.Is(err, db.ErrNotFound) {
			return 0, err
		}
		if status == statusPending {
			_, err := q.FindPackageRequest(ctx, dbq.FindPackageRequestParams{Package: pkg, Status: statusPending})
			if err == nil {
				continue // already requested
			} else if !errors.Is(err, db.ErrNotFound) {
				return 0, err
			}
		}
		p := dbq.InsertPackageRequestParams{
			Package: pkg, Justification: justification[pkg], Status: status, RequestedBy: im.actor,
		}
		if status == statusApproved {
			p.ReviewedBy, p.ReviewedAt = &im.actor, &im.now
		}
		if _, err := q.InsertPackageRequest(ctx, p); err != nil {
			return 0, err
		}
		created++
	}
	if created == 0 {
		return 0, nil
	}
	return created, activity.Write(ctx, q, activity.Entry{
		Category: activity.Audit, Action: "import.packages", Actor: im.a.Actor, RequestID: im.a.RequestID,
		Message: fmt.Sprintf("Imported %d package records.", created), Details: map[string]any{"created": created},
	})
}

// server imports one server of the document, or records why not.
func (im *importer) server(ctx context.Context, q *dbq.Queries, p *serverPlan) error {
	srv := p.srv
	out := ServerResult{Name: srv.Name, Status: ServerFailed}
	defer func() { im.res.Servers = append(im.res.Servers, out) }()
	if p.fail != nil {
		im.res.Errors = append(im.res.Errors, p.fail.Problem)
		return nil
	}
	name, err := im.name(ctx, q, srv.Name, p.skip)
	if err != nil {
		if ie := asItemError(err); ie != nil {
			im.res.Errors = append(im.res.Errors, ie.Problem)
			return nil
		}
		return err
	}
	if name == "" {
		out.Status = ServerSkipped
		im.res.warn(srv.Name, "", proto.CodeNameTaken,
			"A server named '%s' already exists; it was skipped. Import with on_conflict=rename to import it under a new name.", srv.Name)
		return nil
	}
	before, warnings := len(im.res.Errors), len(im.res.Warnings)
	var created ServerResult
	if _, err := im.item(ctx, q, func() (int, error) {
		var err error
		created, err = im.create(ctx, q, p, name)
		return 0, err
	}); err != nil {
		return err
	}
	if len(im.res.Errors) > before {
		im.res.Errors[before].Server = srv.Name
		im.res.Warnings = im.res.Warnings[:warnings] // about what was rolled back
		return nil
	}
	out = created
	return nil
}

// name returns the name to create srv under: its own when free, "" to skip
// it (on_conflict skip, or known taken), else the first free <base>_N.
func (im *importer) name(ctx context.Context, q *dbq.Queries, name string, knownTaken bool) (string, error) {
	taken := knownTaken
	if !taken {
		var err error
		if taken, err = q.ServerNameTaken(ctx, name); err != nil || !taken {
			return name, err
		}
	}
	if im.opt.OnConflict != ConflictRename {
		return "", nil
	}
	for n := 2; n <= maxRenameSuffix; n++ {
		candidate := renamed(name, n)
		taken, err := q.ServerNameTaken(ctx, candidate)
		if err != nil {
			return "", err
		}
		if !taken {
			return candidate, nil
		}
	}
	return "", fail(name, "", proto.CodeNameTaken, "Server '%s' and every name from %s to %s are taken; rename a server and import again.",
		name, renamed(name, 2), renamed(name, maxRenameSuffix))
}

// renamed is name with the suffix _n, the base shortened (and stripped of
// trailing underscores) so the result fits proto.MaxServerNameLen.
func renamed(name string, n int) string {
	suffix := "_" + strconv.Itoa(n)
	base := name
	if len(base)+len(suffix) > proto.MaxServerNameLen {
		base = strings.TrimRight(base[:proto.MaxServerNameLen-len(suffix)], "_")
	}
	return base + suffix
}

// create writes a server and everything it holds under name.
func (im *importer) create(ctx context.Context, q *dbq.Queries, p *serverPlan, name string) (ServerResult, error) {
	srv := p.srv
	out := ServerResult{Name: srv.Name, ImportedAs: name, Status: ServerCreated}
	if name != srv.Name {
		out.Status = ServerRenamed
		im.res.warn(srv.Name, "", proto.CodeNameTaken, "A server named '%s' already exists; this one was imported as '%s'.", srv.Name, name)
	}
	n, err := q.CountTools(ctx)
	if err != nil {
		return out, err
	}
	if int(n)+len(p.tools) > tools.MaxTools {
		return out, fail(srv.Name, "", proto.CodeQuotaExceeded,
			"Importing server '%s' would exceed the quota of %d tools; delete unused tools first.", srv.Name, tools.MaxTools)
	}
	row, err := q.CreateServer(ctx, dbq.CreateServerParams{Name: name, Description: srv.Description, CreatedBy: im.actor})
	if err != nil {
		return out, err
	}
	id := row.ID
	if srv.Status == "running" {
		im.res.warn(srv.Name, "", "", "Server '%s' was running; imported servers start stopped. Start it once its tools are reviewed.", name)
	}
	secrets := make([]SecretRef, 0, len(srv.Secrets))
	for _, s := range srv.Secrets {
		if _, err := q.CreateServerSecret(ctx, dbq.CreateServerSecretParams{
			ServerID: id, Name: s.Name, Description: s.Description, CreatedBy: im.actor,
		}); err != nil {
			return out, err
		}
		secrets = append(secrets, SecretRef{Server: name, Name: s.Name})
	}
	sources, err := im.sources(ctx, q, id, srv)
	if err != nil {
		return out, err
	}
	network, err := im.network(ctx, q, id, srv.Network)
	if err != nil {
		return out, err
	}
	for i := range p.tools {
		restored, err := im.tool(ctx, q, id, srv.Name, &p.tools[i], sources)
		if err != nil {
			return out, err
		}
		out.ToolsCreated++
		if restored {
			out.ApprovalsRestored++
		}
	}
	im.res.ServersCreated++
	im.res.ToolsCreated += out.ToolsCreated
	im.res.SecretsNeedingValues = append(im.res.SecretsNeedingValues, secrets...)
	return out, activity.Write(ctx, q, activity.Entry{
		Category: activity.Audit, Action: "import.server", Actor: im.a.Actor, RequestID: im.a.RequestID, ServerID: &id,
		Message: fmt.Sprintf("Imported server '%s' with %d tools (%d approvals restored).", name, out.ToolsCreated, out.ApprovalsRestored),
		Details: map[string]any{
			"name": name, "original_name": srv.Name, "tools": out.ToolsCreated, "approvals_restored": out.ApprovalsRestored,
			"secrets": len(secrets), "sources": len(sources), "network_records": network,
		},
	})
}

// sources writes a server's external sources and returns their new ids by
// name. Under restore_approvals an active (or error) source is restored
// active and a disabled one stays disabled; otherwise every source that
// is not disabled waits for review.
func (im *importer) sources(ctx context.Context, q *dbq.Queries, serverID uuid.UUID, srv *Server) (map[string]uuid.UUID, error) {
	ids := make(map[string]uuid.UUID, len(srv.Sources))
	for _, s := range srv.Sources {
		p := dbq.InsertExternalSourceParams{
			ServerID: serverID, Name: s.Name, Url: s.URL, Transport: s.Transport, AuthType: s.AuthType,
			AuthSecretName: s.AuthSecretName, AuthHeaderName: s.AuthHeaderName, Status: string(proto.SourcePendingReview),
			CreatedBy: im.actor,
		}
		switch proto.SourceStatus(s.Status) {
		case proto.SourceDisabled:
			p.Status = s.Status
		case proto.SourceActive, proto.SourceError:
			if im.opt.RestoreApprovals {
				p.Status, p.ApprovedBy, p.ApprovedAt = string(proto.SourceActive), &im.actor, &im.now
			}
		}
		id, err := q.InsertExternalSource(ctx, p)
		if err != nil {
			return nil, err
		}
		ids[s.Name] = id
		if s.AuthType == string(proto.AuthOAuth) {
			im.res.warn(srv.Name, "", "", "External source '%s' uses OAuth; its tokens are not exported. Sign in to it again.", s.Name)
		}
	}
	return ids, nil
}

// network writes a server's network records without a tool: approved ones
// as approved under restore_approvals, everything else pending. It returns
// how many it created.
func (im *importer) network(ctx context.Context, q *dbq.Queries, serverID uuid.UUID, list []Network) (int, error) {
	type key struct {
		host   string
		port   int
		status string
	}
	seen := map[key]bool{}
	for _, n := range list {
		t, err := approvals.ParseTarget(n.Host, n.Port)
		if err != nil {
			return 0, err // validated by Decode
		}
		p := dbq.InsertNetworkRequestParams{
			ServerID: serverID, Host: t.Host, Justification: n.Justification, Status: statusPending, RequestedBy: im.actor,
		}
		k := key{host: t.Host, status: statusPending}
		if t.Port != nil {
			p.Port, k.port = ptr(int32(*t.Port)), *t.Port //nolint:gosec // G115: ParseTarget bounds ports to 1–65535
		}
		if im.opt.RestoreApprovals && n.Status == statusApproved {
			p.Status, p.ReviewedBy, p.ReviewedAt, k.status = statusApproved, &im.actor, &im.now, statusApproved
		}
		if seen[k] {
			continue
		}
		seen[k] = true
		if _, err := q.InsertNetworkRequest(ctx, p); err != nil {
			return 0, err
		}
	}
	return len(seen), nil
}

// tool writes a tool with its versions and review state and reports
// whether its approval was restored: only under restore_approvals, when
// the approved content's recomputed hash equals the exported approved.hash
// and its manifest is covered (§6.3) by the records just imported.
// Otherwise a tool that had an approval waits for review and one that had
// none is a draft.
func (im *importer) tool(ctx context.Context, q *dbq.Queries, serverID uuid.UUID, server string, tp *toolPlan,
	sources map[string]uuid.UUID,
) (bool, error) {
	t := tp.t
	p := dbq.InsertImportedToolParams{
		ServerID: serverID, Name: t.Name, Kind: string(t.Kind), Enabled: *t.Enabled,
		LatestVersion: int32(len(tp.versions)), ReviewStatus: string(proto.ReviewDraft), CreatedBy: im.actor, //nolint:gosec // G115: 1 or 2
	}
	if !*t.Enabled {
		p.DisabledBy = ptr("admin")
	}
	if t.Kind == proto.ToolKindExternal {
		id := sources[*t.ExternalSource]
		p.ExternalSourceID, p.ExternalToolName = &id, t.ExternalToolName
		for i := range tp.versions {
			v := &tp.versions[i]
			def := *v.def
			def.SourceID = id.String()
			hash, err := canon.HashExternal(def, v.manifest)
			if err != nil {
				return false, err
			}
			v.def, v.hash = &def, hash
		}
	}
	restored, err := im.restorable(ctx, q, serverID, server, tp)
	if err != nil {
		return false, err
	}
	switch {
	case restored:
		p.ApprovedVersion, p.ApprovedHash, p.ApprovedAt, p.ApprovedBy = ptr(int32(1)), &tp.versions[0].hash, &im.now, &im.actor
		p.ReviewStatus = string(proto.ReviewApproved)
		if len(tp.versions) > 1 {
			p.ReviewStatus, p.ReviewRequestedAt = string(proto.ReviewPendingReview), &im.now
		}
	case tp.approved:
		p.ReviewStatus, p.ReviewRequestedAt = string(proto.ReviewPendingReview), &im.now
	}
	id, err := q.InsertImportedTool(ctx, p)
	if err != nil {
		return false, err
	}
	for i, v := range tp.versions {
		manifest, err := json.Marshal(v.manifest)
		if err != nil {
			return false, err
		}
		row := dbq.InsertToolVersionParams{
			ToolID: id, Version: int32(i + 1), Code: v.code, Manifest: manifest, Hash: v.hash,
			Description: v.description, InputSchema: v.inputSchema, OutputSchema: v.outputSchema,
			ChangeSummary: v.summary, ChangeSource: string(proto.ChangeImport), CreatedBy: im.actor,
		}
		if v.def != nil {
			if row.ExternalDefinition, err = json.Marshal(v.def); err != nil {
				return false, err
			}
		}
		if err := q.InsertToolVersion(ctx, row); err != nil {
			return false, err
		}
	}
	return restored, nil
}

// restorable decides whether a tool's approval is restored, warning when
// restore_approvals asked for it and it is not.
func (im *importer) restorable(ctx context.Context, q *dbq.Queries, serverID uuid.UUID, server string, tp *toolPlan) (bool, error) {
	if !im.opt.RestoreApprovals || !tp.approved {
		return false, nil
	}
	exposed := proto.ExposedName(server, tp.t.Name)
	if !tp.restorable {
		im.res.warn(server, "", proto.CodeHashMismatch,
			"The approval of '%s' was not restored: its approved content, analysed again, hashes to %s instead of the exported %s; it waits for review.",
			exposed, tp.recomputed, tp.t.Approved.Hash)
		return false, nil
	}
	miss, err := approvals.MissingInTx(ctx, q, serverID, tp.versions[0].manifest)
	if err != nil {
		return false, err
	}
	if !miss.Empty() {
		im.res.warn(server, "", "",
			"The approval of '%s' was not restored: %s is not approved in this installation; it waits for review.",
			exposed, strings.Join(append(append([]string{}, miss.Hosts...), miss.Packages...), ", "))
		return false, nil
	}
	return true, nil
}
