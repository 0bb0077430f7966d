// Package approvals is tool approvals and network and package requests
// (backend.md §6.1–§6.3, §8.2).
//
// Tool review (§6.1): Submit (request_publish), Approve of the exact version
// and hash an admin reviewed, which grants the version's uncovered hosts and
// packages in the same transaction (§6.3), Reject, and Revoke, which takes
// the tool out of the catalog. Requests (§6.2): admin grants (created
// approved), tool requests (pending, or approved by 'policy' under the
// permissive settings of §6.6), approve, reject, revoke, which re-evaluates
// the coverage of every approved tool it concerned and revokes those no
// longer covered, and delete of pending or rejected requests.
//
// Every mutation is one READ COMMITTED transaction that locks the rows it
// changes (§4.1), writes its audit rows (§14.1) and bumps the catalog
// revision once when a tool's review state changes (§9.2). Bulk decisions
// run each item in its own savepoint of one transaction.
//
// The package is HTTP-agnostic: adminapi maps its errors to the API's.
package approvals

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/db/dbq"
	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/activity"
	"github.com/mcpbox/mcpbox/services/backend/internal/policy"
)

// MaxTextLen bounds reasons, notes and justifications (backend.md §2).
const MaxTextLen = 2000

// Actors that are not admins (backend.md §2).
const (
	actorPolicy = "policy"
	actorSystem = "system"
)

// Request states (backend.md §6.2).
const (
	StatusPending  = "pending"
	StatusApproved = "approved"
	StatusRejected = "rejected"
)

// Service reviews tool versions and network and package requests.
type Service struct {
	store  *db.Store
	policy *policy.Service
	// sources decides the source items of a bulk decision; nil until
	// UseSources.
	sources SourceDecider
	// decisions is mcpbox_backend_approval_decisions_total (Instrument).
	decisions *prometheus.CounterVec
}

// New returns the service. Its metrics are registered by Instrument.
func New(store *db.Store) *Service {
	return &Service{store: store, policy: policy.New(store), decisions: newDecisionsMetric()}
}

// Audit says who decides, for the audit rows and *_by columns.
type Audit struct {
	Actor     string // an actor string of backend.md §2, e.g. admin:alice
	RequestID string
}

// ErrNotFound is an id that names no tool.
var ErrNotFound = errors.New("approvals: no such tool")

// ErrServerNotFound is an id that names no server.
var ErrServerNotFound = errors.New("approvals: no such server")

// ErrRequestNotFound is an id that names no network or package request.
var ErrRequestNotFound = errors.New("approvals: no such request")

// InvalidStateError is a transition the current state does not allow
// (409 invalid_state); Message is written for the caller.
type InvalidStateError struct{ Message string }

// Error implements error.
func (e *InvalidStateError) Error() string { return e.Message }

// VersionChangedError is an approve or reject of a version that is no
// longer the latest (409 version_changed).
type VersionChangedError struct{ Message string }

// Error implements error.
func (e *VersionChangedError) Error() string { return e.Message }

// AlreadyCoveredError is a request for what is already allowed
// (409 already_covered).
type AlreadyCoveredError struct{ Message string }

// Error implements error.
func (e *AlreadyCoveredError) Error() string { return e.Message }

// AlreadyRejectedError is a request a tool already had rejected
// (409 already_rejected).
type AlreadyRejectedError struct{ Message string }

// Error implements error.
func (e *AlreadyRejectedError) Error() string { return e.Message }

// PackageForbiddenError is a package outside the approvable set
// (400 package_forbidden).
type PackageForbiddenError struct{ Package string }

// Error implements error.
func (e *PackageForbiddenError) Error() string {
	return fmt.Sprintf("package: '%s' is not an approvable package (only the opt-in tier of the package catalogue can be "+
		"requested); GET /api/v1/packages lists the approvable packages.", e.Package)
}

// CorruptError is a stored version whose content no longer hashes to its
// stored hash (backend.md §5.3): an internal error, never approved.
type CorruptError struct {
	Tool    string // exposed name
	Version int
	Stored  string
	Actual  string
}

// Error implements error.
func (e *CorruptError) Error() string {
	return fmt.Sprintf("tool %s version %d is corrupt: stored hash %s, content hashes to %s", e.Tool, e.Version, e.Stored, e.Actual)
}

// checkText validates an optional reason, note or justification.
func checkText(field, s string) error {
	if len([]rune(s)) > MaxTextLen {
		return &proto.RuleError{Field: field, Message: fmt.Sprintf("at most %d characters.", MaxTextLen)}
	}
	return nil
}

// checkReason validates a required reason: 1–2000 characters, not blank.
func checkReason(s string) error {
	if len(s) == 0 || len([]rune(s)) > MaxTextLen || isBlank(s) {
		return &proto.RuleError{Field: "reason", Message: fmt.Sprintf("required, 1 to %d characters: say why, so the requester can fix it.", MaxTextLen)}
	}
	return nil
}

func isBlank(s string) bool {
	for _, r := range s {
		if r != ' ' && r != '\t' && r != '\n' && r != '\r' {
			return false
		}
	}
	return true
}

// entry is an audit row.
func entry(a Audit, action string, serverID, toolID *uuid.UUID, msg string, details map[string]any) activity.Entry {
	return activity.Entry{
		Category: activity.Audit, Action: action, Actor: a.Actor, Message: msg,
		ServerID: serverID, ToolID: toolID, RequestID: a.RequestID, Details: details,
	}
}

// wrap names the operation on unexpected errors and turns a missing row
// into notFound; the package's own errors pass unwrapped.
func wrap(op string, err error, notFound error) error {
	if err == nil {
		return nil
	}
	var (
		rule      *proto.RuleError
		state     *InvalidStateError
		changed   *VersionChangedError
		covered   *AlreadyCoveredError
		rejected  *AlreadyRejectedError
		forbidden *PackageForbiddenError
	)
	switch {
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrServerNotFound), errors.Is(err, ErrRequestNotFound):
		return err
	case errors.Is(err, db.ErrNotFound):
		return notFound
	case errors.As(err, &rule), errors.As(err, &state), errors.As(err, &changed), errors.As(err, &covered),
		errors.As(err, &rejected), errors.As(err, &forbidden):
		return err
	}
	return fmt.Errorf("%s: %w", op, err)
}

// now is the decision time of a transaction, in UTC.
func now() time.Time { return time.Now().UTC() }

// ptr returns a pointer to v.
func ptr[T any](v T) *T { return &v }

// inTx runs fn in one READ COMMITTED transaction.
func (s *Service) inTx(ctx context.Context, fn func(q *dbq.Queries) error) error {
	return s.store.InTx(ctx, db.ReadCommitted, fn)
}

// isNotFound reports whether a query found no row.
func isNotFound(err error) bool { return errors.Is(err, db.ErrNotFound) }
