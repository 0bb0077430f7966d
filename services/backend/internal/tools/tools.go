// Package tools manages tools and their immutable versions (backend.md §5,
// §8.2): create (after one /v1/analyze call), read and list with keyset
// pagination (§15.2), update (a content change appends a version, §5.1),
// rename, enable and disable, delete (§4.3), version history, diffs and
// rollback, and the save-free analysis of POST /tools/analyze.
//
// Every mutation is one READ COMMITTED transaction that locks the tool's row
// (§4.1), writes its audit rows (§14.1) and bumps the catalog revision once
// when the catalog document changes (§9.2). The review transitions of a new
// version are those of §6.1: hash_match first, then draft stays draft, and
// otherwise require_approval → pending_review, auto_approve → approved by
// 'policy' when the manifest is covered (§6.3) and names no secret.
//
// The package is HTTP-agnostic: adminapi maps its errors to the API's.
package tools

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/sandboxclient"
)

// MaxTools is the installation-wide tool quota (backend.md §9.3).
const MaxTools = 5000

// Constraint names of the tools table (db/migrations/00003_servers_tools.sql).
const (
	constraintNameKey   = "tools_server_id_name_key"
	constraintNameCheck = "tools_name_check"
)

// Version statuses besides the review statuses (backend.md §8.1).
const (
	// StatusSuperseded is a version that is neither approved nor the latest.
	StatusSuperseded = "superseded"
)

// Approvers that are not admins (backend.md §2).
const (
	approvedByHashMatch = "hash_match"
	approvedByPolicy    = "policy"
)

// Service manages tools and versions.
type Service struct {
	store   *db.Store
	sandbox *sandboxclient.Client
}

// New returns the service.
func New(store *db.Store, sandbox *sandboxclient.Client) *Service {
	return &Service{store: store, sandbox: sandbox}
}

// Tool is the Tool resource of backend.md §8.1, with its latest version.
type Tool struct {
	ID                uuid.UUID
	ServerID          uuid.UUID
	ServerName        string
	Name              string
	Kind              proto.ToolKind
	Enabled           bool
	DisabledBy        *string
	Live              bool
	LatestVersion     int
	ReviewStatus      proto.ReviewStatus
	ReviewRequestedAt *time.Time
	PublishNotes      *string
	RejectionReason   *string
	ReviewedBy        *string
	ReviewedAt        *time.Time
	ApprovedVersion   *int
	ApprovedHash      *string
	ApprovedAt        *time.Time
	ApprovedBy        *string
	ExternalSourceID  *uuid.UUID
	ExternalToolName  *string
	CreatedBy         string
	CreatedAt         time.Time
	UpdatedAt         time.Time
	Latest            Version
}

// ExposedName is the name clients call: "<server>__<tool>".
func (t Tool) ExposedName() string { return proto.ExposedName(t.ServerName, t.Name) }

// Version is the Version resource of backend.md §8.1.
type Version struct {
	Version int
	Hash    string
	// Status is approved (the approved version), else the tool's review
	// status for the latest version, else superseded.
	Status string
	// Code is set for a go tool, ExternalDefinition for an external one.
	Code               *string
	ExternalDefinition json.RawMessage
	Manifest           proto.Manifest
	Description        string
	InputSchema        json.RawMessage
	// OutputSchema is nil when the version has none.
	OutputSchema   json.RawMessage
	Coverage       Coverage
	ChangeSummary  string
	ChangeSource   proto.ChangeSource
	BasedOnVersion *int
	CreatedBy      string
	CreatedAt      time.Time
}

// Coverage says, for each manifest host and package, whether an approved
// request covers it (backend.md §6.3): a host "h" needs an any-port
// approval of h for the tool's server, "h:p" one for h or for h:p; a
// package an approved package request (manifest packages are never in the
// default set, which needs no request). Secrets are not part of coverage.
type Coverage struct {
	Hosts    map[string]bool
	Packages map[string]bool
}

// Covered reports whether every host and package is covered.
func (c Coverage) Covered() bool {
	for _, ok := range c.Hosts {
		if !ok {
			return false
		}
	}
	for _, ok := range c.Packages {
		if !ok {
			return false
		}
	}
	return true
}

// Audit says who asks for a change, for its audit rows and *_by columns.
type Audit struct {
	Actor     string // an actor string of backend.md §2, e.g. admin:alice
	RequestID string
}

// ErrNotFound is returned for an id that names no tool.
var ErrNotFound = errors.New("tools: no such tool")

// ErrServerNotFound is returned for a server id that names no server.
var ErrServerNotFound = errors.New("tools: no such server")

// NameTakenError is a create or rename to a name another tool of the same
// server has.
type NameTakenError struct{ Server, Name string }

// Error implements error.
func (e *NameTakenError) Error() string {
	return fmt.Sprintf("Tool '%s' already exists in server '%s'; choose another name.", e.Name, e.Server)
}

// VersionNotFoundError is a version number the tool does not have.
type VersionNotFoundError struct {
	Tool    string // the exposed name
	Version int
	Latest  int
}

// Error implements error; the message is the API's (§8.2).
func (e *VersionNotFoundError) Error() string {
	return fmt.Sprintf("Version %d of tool '%s' not found (latest is %d).", e.Version, e.Tool, e.Latest)
}

// InvalidStateError is an operation the tool's state does not allow
// (409 invalid_state); Message is written for the caller.
type InvalidStateError struct{ Message string }

// Error implements error.
func (e *InvalidStateError) Error() string { return e.Message }

// QuotaError is a create beyond MaxTools.
type QuotaError struct{}

// Error implements error; the message is the API's (§9.3).
func (*QuotaError) Error() string {
	return fmt.Sprintf("MCPbox holds at most %d tools; delete unused tools first.", MaxTools)
}

// CodeInvalidError is code the analysis rejected (400 code_invalid): every
// error diagnostic, first one first.
type CodeInvalidError struct{ Diagnostics []proto.Diagnostic }

// Error implements error: "code: line L:C: <message>" of the first error.
func (e *CodeInvalidError) Error() string { return "code: " + diagnosticText(e.Diagnostics[0]) }

// PackageForbiddenError is code importing a package tools may not use
// (400 package_forbidden).
type PackageForbiddenError struct{ Paths []string }

// Error implements error.
func (e *PackageForbiddenError) Error() string {
	return fmt.Sprintf("code: package '%s' is not available to tools; GET /api/v1/packages lists what is.", e.Paths[0])
}

// diagnosticText is "line L:C: message", or the message alone when the
// finding has no position.
func diagnosticText(d proto.Diagnostic) string {
	if d.Line == 0 {
		return d.Message
	}
	return fmt.Sprintf("line %d:%d: %s", d.Line, d.Column, d.Message)
}

// ptr returns a pointer to v.
func ptr[T any](v T) *T { return &v }
