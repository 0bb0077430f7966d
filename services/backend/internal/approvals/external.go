package approvals

import (
	"context"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/db/dbq"
	"github.com/mcpbox/mcpbox/proto"
)

// SourceDecider approves or rejects an external source in the transaction
// of a bulk decision (POST /approvals/bulk, kind source). Package sources
// implements it; approvals cannot import sources, which depends on it.
type SourceDecider interface {
	// DecideSource approves (approve true) or rejects, with reason, the
	// source id in q's transaction, writing its audit row.
	DecideSource(ctx context.Context, q *dbq.Queries, a Audit, id uuid.UUID, approve bool, reason string) error
}

// UseSources registers the decider of bulk items of kind source. Call it
// while wiring, before the service serves requests.
func (s *Service) UseSources(d SourceDecider) { s.sources = d }

// ApproveInTx is Approve in q's transaction, for a change that creates a
// version and approves it at once (an admin's import of external tools,
// backend.md §8.2): the same checks, coverage grant (§6.3), audit row and
// catalog revision bump. The caller maps the errors as Approve's.
func ApproveInTx(ctx context.Context, q *dbq.Queries, a Audit, id uuid.UUID, version int, hash string) (Granted, error) {
	return approveTool(ctx, q, a, id, version, hash)
}

// MissingInTx returns the hosts and packages of manifest m that no
// approved request covers for a tool of serverID (§6.3), read in q's
// transaction.
func MissingInTx(ctx context.Context, q *dbq.Queries, serverID uuid.UUID, m proto.Manifest) (Missing, error) {
	return missing(ctx, q, serverID, m)
}

// HostCoveredInTx reports whether the normalised host entry h ("host" or
// "host:port") is covered for serverID (§6.3): an any-port approval of the
// host, or for a port an approval of exactly that port.
func HostCoveredInTx(ctx context.Context, q *dbq.Queries, serverID uuid.UUID, h string) (bool, error) {
	hosts, err := loadHosts(ctx, q, serverID)
	if err != nil {
		return false, err
	}
	return hosts.covers(splitTarget(h)), nil
}
