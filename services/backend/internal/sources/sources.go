// Package sources is the external MCP sources of backend.md §13: their
// lifecycle (§13.1), discovery through the sandbox and the import of their
// tools (§13.2).
//
// A source an LLM adds waits in pending_review; one an admin adds, or
// approves, is active. Only a usable source (active or error) is ever
// discovered, so no credential (a server secret or an OAuth token) reaches
// a URL no admin approved. A successful discovery caches the upstream's
// tool definitions on the source (status active), a failed one records
// the redacted error (status error). Importing a discovered tool creates
// an external tool whose version 1 pins the definition and the manifest
// {hosts: [source host], packages: [], secrets: [auth secret], timeout_ms:
// 30000, memory_mb: 0} by hash (§5.3): a draft for an LLM, approved at once
// for an admin, which grants the source host (§6.3). A re-discovery that
// changes an imported tool's definition appends a version (change_source
// discovery) under the normal review rules while the approved one keeps
// serving.
//
// Every mutation is one READ COMMITTED transaction that locks the source's
// row (§4.1), writes its audit rows (§14.1) and bumps the catalog revision
// when the catalog can change (§9.2). The sandbox is called outside any
// transaction. The package is HTTP-agnostic: adminapi and manage map its
// errors.
package sources

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/approvals"
	"github.com/mcpbox/mcpbox/services/backend/internal/policy"
	"github.com/mcpbox/mcpbox/services/backend/internal/sandboxclient"
	"github.com/mcpbox/mcpbox/services/backend/internal/secrets"
	"github.com/mcpbox/mcpbox/services/backend/internal/tools"
)

// OAuthTokens gives the current access token of a source that signs in
// with OAuth (backend.md §13.3), refreshed when needed. Package oauthflow
// implements it.
type OAuthTokens interface {
	AccessToken(ctx context.Context, sourceID uuid.UUID) (string, error)
}

// Deps are what the service works with.
type Deps struct {
	Store     *db.Store
	Sandbox   *sandboxclient.Client
	Secrets   *secrets.Service
	Policy    *policy.Service
	Tools     *tools.Service
	Approvals *approvals.Service
	Logger    *slog.Logger
	// OAuthTokens resolves the bearer token of auth_type oauth sources at
	// discovery; nil: such sources cannot be discovered (invalid_state).
	OAuthTokens OAuthTokens
}

// Service manages external sources.
type Service struct{ d Deps }

// New returns the service and registers it with Deps.Approvals as the
// decider of bulk items of kind source (POST /approvals/bulk).
func New(d Deps) *Service {
	s := &Service{d: d}
	if d.Approvals != nil {
		d.Approvals.UseSources(s)
	}
	return s
}

// Audit says who asks for a change, for its audit rows and *_by columns.
type Audit struct {
	Actor     string // an actor string of backend.md §2, e.g. admin:alice or llm:local
	RequestID string
}

// byLLM reports whether the caller is an LLM (a management operation).
func (a Audit) byLLM() bool { return strings.HasPrefix(a.Actor, "llm:") }

// changeSource is the change_source of the versions the caller creates by
// importing.
func (a Audit) changeSource() proto.ChangeSource {
	if a.byLLM() {
		return proto.ChangeLLM
	}
	return proto.ChangeAdmin
}

// Source is the Source resource of backend.md §8.1 (plus its server's
// name).
type Source struct {
	ID                  uuid.UUID
	ServerID            uuid.UUID
	ServerName          string
	Name                string
	URL                 string
	Transport           proto.Transport
	AuthType            proto.SourceAuthType
	AuthSecretName      *string
	AuthHeaderName      *string
	Status              proto.SourceStatus
	LastError           *string
	OAuthAuthenticated  bool
	OAuthIssuer         *string
	OAuthClientID       *string
	DiscoveredAt        *time.Time
	DiscoveredToolCount int
	ImportedToolCount   int
	ApprovedBy          *string
	ApprovedAt          *time.Time
	CreatedBy           string
	CreatedAt           time.Time
	UpdatedAt           time.Time
}

// Usable reports whether the source may be discovered and its tools
// called: an admin approved it and did not disable it (§13.1).
func (s Source) Usable() bool { return usable(string(s.Status)) }

func usable(status string) bool {
	return status == string(proto.SourceActive) || status == string(proto.SourceError)
}

// ErrNotFound is an id that names no source.
var ErrNotFound = errors.New("sources: no such source")

// ErrServerNotFound is an id that names no server.
var ErrServerNotFound = errors.New("sources: no such server")

// InvalidStateError is an operation the source's state does not allow
// (409 invalid_state); Message is written for the caller.
type InvalidStateError struct{ Message string }

// Error implements error.
func (e *InvalidStateError) Error() string { return e.Message }

// NameTakenError is a source name the server already has (409
// name_taken).
type NameTakenError struct{ Server, Name string }

// Error implements error.
func (e *NameTakenError) Error() string {
	return fmt.Sprintf("Server '%s' already has an external source named '%s'; choose another name.", e.Server, e.Name)
}

// HasDependentsError is the delete of a source that still has imported
// tools (409 has_dependents, §4.3).
type HasDependentsError struct {
	Source string
	Tools  int
}

// Error implements error.
func (e *HasDependentsError) Error() string {
	return fmt.Sprintf("External source '%s' has %d imported tool(s); delete them first, or delete the source "+
		"with delete_tools=true to delete them with it.", e.Source, e.Tools)
}

// DiscoveryFailedError is a discovery the upstream server failed (502
// discovery_failed); the source is now in error with the same, redacted,
// text in last_error.
type DiscoveryFailedError struct{ Reason string }

// Error implements error: "Discovery failed: <reason>".
func (e *DiscoveryFailedError) Error() string { return "Discovery failed: " + e.Reason }

// SecretMissingError is a discovery of a source whose auth secret has no
// value (409 secret_missing); nothing was sent.
type SecretMissingError struct{ Server, Name string }

// Error implements error; the message is the one of plans (§9.4).
func (e *SecretMissingError) Error() string {
	return fmt.Sprintf("Secret '%s' of server '%s' has no value. An admin must set it in the MCPbox UI (Servers > %s > Secrets).",
		e.Name, e.Server, e.Server)
}

// AuthFailedError is an OAuth source whose access token could not be had
// (409 source_auth_failed); nothing was sent.
type AuthFailedError struct{ Source, Server string }

// Error implements error; the message is the one of plans (§9.4).
func (e *AuthFailedError) Error() string {
	return fmt.Sprintf("External source '%s' needs an admin to sign in again (Servers > %s > External sources).", e.Source, e.Server)
}

// wrap names the operation on unexpected errors and turns a missing row
// into ErrNotFound; the package's own errors, the tools quota and the
// sandbox's errors pass unwrapped.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var (
		rule    *proto.RuleError
		state   *InvalidStateError
		taken   *NameTakenError
		deps    *HasDependentsError
		failed  *DiscoveryFailedError
		missing *SecretMissingError
		auth    *AuthFailedError
		quota   *tools.QuotaError
		sandbox *sandboxclient.Error
	)
	switch {
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrServerNotFound):
		return err
	case errors.Is(err, db.ErrNotFound):
		return ErrNotFound
	case errors.As(err, &rule), errors.As(err, &state), errors.As(err, &taken), errors.As(err, &deps),
		errors.As(err, &failed), errors.As(err, &missing), errors.As(err, &auth), errors.As(err, &quota),
		errors.As(err, &sandbox):
		return err
	}
	return fmt.Errorf("%s: %w", op, err)
}

// ptr returns a pointer to v.
func ptr[T any](v T) *T { return &v }

// now is the time of a change, in UTC.
func now() time.Time { return time.Now().UTC() }

// logger is Deps.Logger, or a logger that drops everything.
func (s *Service) logger() *slog.Logger {
	if s.d.Logger != nil {
		return s.d.Logger
	}
	return slog.New(slog.DiscardHandler)
}
