package proto

import "encoding/json"

// CallerKind says who called: a local MCP client, a remote one through the
// edge, or an admin (test runs from the UI; execution records only).
type CallerKind string

// Caller kinds (execution_records.caller_kind).
const (
	CallerLocal  CallerKind = "local"
	CallerRemote CallerKind = "remote"
	CallerAdmin  CallerKind = "admin"
)

// Caller is the identity a management call or an execution record carries
// (contracts.md §2): the backend never derives identity from anything else.
type Caller struct {
	Kind CallerKind `json:"kind"`
	// Email is the verified email of a remote caller, lowercased, if any.
	Email string `json:"email,omitempty"`
	// Sub is the verified JWT subject of a remote caller, if any.
	Sub string `json:"sub,omitempty"`
}

// Actor returns the actor string of an LLM caller (backend.md §2):
// "llm:local", "llm:<email>", or "llm:remote" for a remote caller without
// email. An admin caller is "admin" (the backend writes admin:<username>
// itself).
func (c Caller) Actor() string {
	switch c.Kind {
	case CallerLocal:
		return "llm:local"
	case CallerRemote:
		if c.Email != "" {
			return "llm:" + c.Email
		}
		return "llm:remote"
	default:
		return string(c.Kind)
	}
}

// ManageRequest is the body of POST /internal/v1/manage/{tool} (backend.md
// §9.5).
type ManageRequest struct {
	// Arguments are the tool call's arguments ({} when none).
	Arguments json.RawMessage `json:"arguments"`
	Caller    Caller          `json:"caller"`
}

// ManageResponse is the 200 body of POST /internal/v1/manage/{tool}: either
// OK with Result, or not OK with Error ({code, message, field?, details?};
// the codes of backend.md §15.1 and the management-only codes).
type ManageResponse struct {
	OK     bool            `json:"ok"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  *Error          `json:"error,omitempty"`
	// CatalogRevision is set when the operation bumped the catalog revision;
	// the gateway waits until its snapshot has reached it.
	CatalogRevision int64 `json:"catalog_revision,omitempty"`
}

// ServerStatus is servers.status.
type ServerStatus string

// Server statuses.
const (
	ServerStopped ServerStatus = "stopped"
	ServerRunning ServerStatus = "running"
)

// RequestStatus is the status of a network or package request (backend.md
// §6.2).
type RequestStatus string

// Request statuses.
const (
	RequestPending  RequestStatus = "pending"
	RequestApproved RequestStatus = "approved"
	RequestRejected RequestStatus = "rejected"
)

// SourceStatus is external_mcp_sources.status.
type SourceStatus string

// External source statuses.
const (
	SourcePendingReview SourceStatus = "pending_review"
	SourceActive        SourceStatus = "active"
	SourceError         SourceStatus = "error"
	SourceDisabled      SourceStatus = "disabled"
)

// SourceAuthType is external_mcp_sources.auth_type.
type SourceAuthType string

// External source auth types.
const (
	AuthNone   SourceAuthType = "none"
	AuthBearer SourceAuthType = "bearer"
	AuthHeader SourceAuthType = "header"
	AuthOAuth  SourceAuthType = "oauth"
)

// ChangeSource is tool_versions.change_source: what created a version.
type ChangeSource string

// Change sources.
const (
	ChangeAdmin     ChangeSource = "admin"
	ChangeLLM       ChangeSource = "llm"
	ChangeRollback  ChangeSource = "rollback"
	ChangeImport    ChangeSource = "import"
	ChangeDiscovery ChangeSource = "discovery"
)

// DisabledBy is tools.disabled_by: who disabled a tool.
type DisabledBy string

// Who may disable a tool.
const (
	DisabledByAdmin DisabledBy = "admin"
	DisabledByLLM   DisabledBy = "llm"
)

// Pagination of management lists and the admin API (backend.md §10.1, §15.2).
const (
	DefaultListLimit = 50
	MaxListLimit     = 200
)
