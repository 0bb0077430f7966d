package transfer

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/db/dbq"
	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/activity"
)

// timeLayout is RFC 3339 with milliseconds and Z (backend.md §2).
const timeLayout = "2006-01-02T15:04:05.000Z"

// Export is a signed export document and its file name.
type Export struct {
	Document Document
	// Body is the document as served: indented JSON, signature included.
	Body []byte
	// Filename is mcpbox-export-YYYYMMDD.json (UTC date of exported_at).
	Filename string
}

// Export reads every server, or the one serverID names (ErrServerNotFound
// when none), in one snapshot and returns the signed document (§14.4).
// With a server, packages holds only the records of packages its tools'
// manifests name. The download is audited (export.download).
func (s *Service) Export(ctx context.Context, a Audit, serverID *uuid.UUID) (Export, error) {
	now := time.Now().UTC()
	d := Document{
		Format: Format, FormatVersion: FormatVersion, ExportedAt: now.Format(timeLayout), AppVersion: s.d.Version,
		Servers: []Server{}, Packages: []Package{},
	}
	if err := s.d.Store.InSnapshot(ctx, func(q *dbq.Queries) error { return collect(ctx, q, serverID, &d) }); err != nil {
		return Export{}, fmt.Errorf("export: %w", err)
	}
	if serverID != nil && len(d.Servers) == 0 {
		return Export{}, ErrServerNotFound
	}
	if err := sign(s.d.Keys, &d); err != nil {
		return Export{}, err
	}
	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(d); err != nil {
		return Export{}, fmt.Errorf("export: encode: %w", err)
	}
	tools := d.ToolCount()
	details := map[string]any{"servers": len(d.Servers), "tools": tools, "packages": len(d.Packages)}
	msg := fmt.Sprintf("Exported %d servers with %d tools.", len(d.Servers), tools)
	if serverID != nil {
		details["server_id"] = serverID.String()
		msg = fmt.Sprintf("Exported server '%s' with %d tools.", d.Servers[0].Name, tools)
	}
	err := s.d.Store.InTx(ctx, db.ReadCommitted, func(q *dbq.Queries) error {
		return activity.Write(ctx, q, activity.Entry{
			Category: activity.Audit, Action: "export.download", Actor: a.Actor, Message: msg,
			ServerID: serverID, RequestID: a.RequestID, Details: details,
		})
	})
	if err != nil {
		return Export{}, fmt.Errorf("export: audit: %w", err)
	}
	return Export{Document: d, Body: body.Bytes(), Filename: "mcpbox-export-" + now.Format("20060102") + ".json"}, nil
}

// collect fills d from q's snapshot.
func collect(ctx context.Context, q *dbq.Queries, serverID *uuid.UUID, d *Document) error {
	rows, err := q.ExportServers(ctx, serverID)
	if err != nil {
		return err
	}
	ids := make([]uuid.UUID, len(rows))
	at := make(map[uuid.UUID]*Server, len(rows))
	d.Servers = make([]Server, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
		d.Servers[i] = Server{
			Name: r.Name, Description: r.Description, Status: r.Status,
			Secrets: []Secret{}, Network: []Network{}, Sources: []Source{}, Tools: []Tool{},
		}
		at[r.ID] = &d.Servers[i]
	}
	if err := collectServerParts(ctx, q, ids, at); err != nil {
		return err
	}
	packages, err := q.ExportPackageRequests(ctx)
	if err != nil {
		return err
	}
	named := map[string]bool{}
	for _, s := range d.Servers {
		for _, t := range s.Tools {
			for _, v := range []*Version{t.Latest, t.Approved} {
				if v != nil {
					for _, p := range v.Manifest.Packages {
						named[p] = true
					}
				}
			}
		}
	}
	for _, r := range packages {
		p := Package{Package: r.Package, Status: r.Status, Justification: r.Justification}
		if serverID != nil && !named[p.Package] {
			continue
		}
		if !slices.ContainsFunc(d.Packages, func(o Package) bool { return o.Package == p.Package && o.Status == p.Status }) {
			d.Packages = append(d.Packages, p)
		}
	}
	return nil
}

// collectServerParts adds the secrets, network records, sources and tools
// of the servers ids to their entries in at.
func collectServerParts(ctx context.Context, q *dbq.Queries, ids []uuid.UUID, at map[uuid.UUID]*Server) error {
	secrets, err := q.ExportSecrets(ctx, ids)
	if err != nil {
		return err
	}
	for _, r := range secrets {
		s := at[r.ServerID]
		s.Secrets = append(s.Secrets, Secret{Name: r.Name, Description: r.Description})
	}
	network, err := q.ExportNetworkRequests(ctx, ids)
	if err != nil {
		return err
	}
	for _, r := range network {
		s := at[r.ServerID]
		n := Network{Host: r.Host, Status: r.Status, Justification: r.Justification}
		if r.Port != nil {
			n.Port = ptr(int(*r.Port))
		}
		if !slices.ContainsFunc(s.Network, n.same) {
			s.Network = append(s.Network, n)
		}
	}
	sources, err := q.ExportSources(ctx, ids)
	if err != nil {
		return err
	}
	for _, r := range sources {
		s := at[r.ServerID]
		s.Sources = append(s.Sources, Source{
			Name: r.Name, URL: r.Url, Transport: r.Transport, AuthType: r.AuthType,
			AuthSecretName: r.AuthSecretName, AuthHeaderName: r.AuthHeaderName, Status: r.Status,
		})
	}
	tools, err := q.ExportTools(ctx, ids)
	if err != nil {
		return err
	}
	for _, r := range tools {
		t, err := exportTool(r)
		if err != nil {
			return err
		}
		s := at[r.ServerID]
		s.Tools = append(s.Tools, t)
	}
	return nil
}

// same reports whether two network records have the same target and state.
func (n Network) same(o Network) bool {
	return n.Host == o.Host && n.Status == o.Status && (n.Port == nil) == (o.Port == nil) && (n.Port == nil || *n.Port == *o.Port)
}

// exportTool builds a tool entry from its row.
func exportTool(r dbq.ExportToolsRow) (Tool, error) {
	t := Tool{
		Name: r.Name, Kind: proto.ToolKind(r.Kind), Enabled: ptr(r.Enabled),
		ExternalSource: r.ExternalSource, ExternalToolName: r.ExternalToolName,
	}
	latest, err := exportVersion(r.LatestCode, r.LatestDefinition, r.LatestManifest, r.LatestHash)
	if err != nil {
		return Tool{}, fmt.Errorf("tool %s: latest version: %w", r.Name, err)
	}
	t.Latest = &latest
	if r.ApprovedHash != nil {
		approved, err := exportVersion(r.ApprovedCode, r.ApprovedDefinition, r.ApprovedManifest, *r.ApprovedHash)
		if err != nil {
			return Tool{}, fmt.Errorf("tool %s: approved version: %w", r.Name, err)
		}
		t.Approved = &approved
	}
	return t, nil
}

// exportVersion builds a version entry from stored columns.
func exportVersion(code *string, def, manifest []byte, hash string) (Version, error) {
	var m proto.Manifest
	if err := json.Unmarshal(manifest, &m); err != nil {
		return Version{}, fmt.Errorf("stored manifest: %w", err)
	}
	v := Version{Manifest: &m, Hash: hash, Content: json.RawMessage(def)}
	if code != nil {
		raw, err := json.Marshal(*code)
		if err != nil {
			return Version{}, err
		}
		v.Content = raw
	}
	return v, nil
}

// ptr returns a pointer to v.
func ptr[T any](v T) *T { return &v }
