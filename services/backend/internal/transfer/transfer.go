// Package transfer is the signed export and the import of backend.md §14.4.
//
// An export is one JSON document (document.go) read from one REPEATABLE
// READ snapshot: servers with their secret names, network records, external
// sources and tools (latest and approved content, manifest and hash), and
// the package records, signed with HMAC-SHA256 under a key derived from the
// encryption key (sign.go). It never holds a secret value, a token, version
// history, execution records or activity.
//
// An import verifies the signature against the current and the old keys
// before anything else, decodes the document strictly and checks every rule
// (open.go, validate.go), has every go version analysed again by the
// sandbox (prepare.go), then writes each server in its own savepoint of one
// transaction (write.go) with its audit rows; a dry run does all of it and
// rolls back. The package is HTTP-agnostic: adminapi maps its errors.
package transfer

import (
	"errors"
	"strings"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/services/backend/internal/seal"
	"github.com/mcpbox/mcpbox/services/backend/internal/tools"
)

// Deps are what the service works with.
type Deps struct {
	Store *db.Store
	Keys  *seal.Keyring
	Tools *tools.Service
	// Version is the app_version written into exports.
	Version string
}

// Service exports and imports installations.
type Service struct{ d Deps }

// New returns the service.
func New(d Deps) *Service { return &Service{d: d} }

// Audit says who exports or imports, for the audit rows and *_by columns.
type Audit struct {
	Actor     string // admin:<username>
	RequestID string
}

// importActor is the actor of what an import creates: import:<username>
// (backend.md §2).
func (a Audit) importActor() string {
	return "import:" + strings.TrimPrefix(a.Actor, "admin:")
}

// ErrServerNotFound is an export of a server id that names no server.
var ErrServerNotFound = errors.New("transfer: no such server")

// SignatureError is a document whose signature is missing (Missing) or
// does not verify under any configured key (400 signature_missing,
// signature_invalid). Nothing is written.
type SignatureError struct {
	Missing bool
	Message string
}

// Error implements error.
func (e *SignatureError) Error() string { return e.Message }

// SyntaxError is a document that is not well-formed JSON, has trailing
// data or a duplicate key (400 invalid_json). Nothing is written.
type SyntaxError struct{ Message string }

// Error implements error.
func (e *SyntaxError) Error() string { return e.Message }
