package approvals

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/db/dbq"
	"github.com/mcpbox/mcpbox/proto"
)

// hostCoverage is a server's approved network requests (backend.md §6.3).
type hostCoverage struct {
	anyPort map[string]bool // host → an any-port approval exists
	ports   map[string]bool // "host:port" → approved
}

// loadHosts reads a server's approved hosts in q's transaction.
func loadHosts(ctx context.Context, q *dbq.Queries, serverID uuid.UUID) (hostCoverage, error) {
	rows, err := q.ListToolCoverageHosts(ctx, serverID)
	if err != nil {
		return hostCoverage{}, fmt.Errorf("approved hosts: %w", err)
	}
	c := hostCoverage{anyPort: map[string]bool{}, ports: map[string]bool{}}
	for _, r := range rows {
		if r.Port == nil {
			c.anyPort[r.Host] = true
		} else {
			c.ports[r.Host+":"+strconv.Itoa(int(*r.Port))] = true
		}
	}
	return c, nil
}

// covers reports whether t is covered: an any-port approval of its host,
// or, for a port, an approval of exactly that port.
func (c hostCoverage) covers(t Target) bool {
	return c.anyPort[t.Host] || (t.Port != nil && c.ports[t.String()])
}

// Missing is what a manifest needs that no approved request covers.
type Missing struct {
	Hosts    []string
	Packages []string
}

// Empty reports whether nothing is missing.
func (m Missing) Empty() bool { return len(m.Hosts) == 0 && len(m.Packages) == 0 }

// missing returns the manifest's hosts and packages that are not covered
// for a tool of serverID, in manifest order.
func missing(ctx context.Context, q *dbq.Queries, serverID uuid.UUID, m proto.Manifest) (Missing, error) {
	out := Missing{Hosts: []string{}, Packages: []string{}}
	if len(m.Hosts) > 0 {
		hosts, err := loadHosts(ctx, q, serverID)
		if err != nil {
			return Missing{}, err
		}
		for _, h := range m.Hosts {
			if !hosts.covers(splitTarget(h)) {
				out.Hosts = append(out.Hosts, h)
			}
		}
	}
	if len(m.Packages) > 0 {
		approved, err := q.ListApprovedPackagesOf(ctx, m.Packages)
		if err != nil {
			return Missing{}, fmt.Errorf("approved packages: %w", err)
		}
		ok := map[string]bool{}
		for _, p := range approved {
			ok[p] = true
		}
		for _, p := range m.Packages {
			if !ok[p] && !proto.IsDefaultPackage(p) {
				out.Packages = append(out.Packages, p)
			}
		}
	}
	return out, nil
}

// parseManifest decodes a stored manifest.
func parseManifest(raw []byte) (proto.Manifest, error) {
	var m proto.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return proto.Manifest{}, fmt.Errorf("stored manifest: %w", err)
	}
	return m, nil
}
