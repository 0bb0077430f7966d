package proto

import "encoding/json"

// ToolKind says how a tool runs: Go code in the sandbox, or a call to an
// external MCP server through the sandbox (backend.md §4.2 tools.kind).
type ToolKind string

// Tool kinds.
const (
	ToolKindGo       ToolKind = "go"
	ToolKindExternal ToolKind = "external"
)

// ReviewStatus is the review state of a tool's latest version (backend.md
// §6.1, tools.review_status).
type ReviewStatus string

// Review statuses.
const (
	ReviewDraft         ReviewStatus = "draft"
	ReviewPendingReview ReviewStatus = "pending_review"
	ReviewApproved      ReviewStatus = "approved"
	ReviewRejected      ReviewStatus = "rejected"
)

// WithheldReason says why a known tool is not callable (backend.md §9.3): the
// first that applies of server_stopped, disabled, source_unusable, then the
// review status of the latest version.
type WithheldReason string

// Withheld reasons.
const (
	WithheldServerStopped  WithheldReason = "server_stopped"
	WithheldDisabled       WithheldReason = "disabled"
	WithheldSourceUnusable WithheldReason = "source_unusable"
	WithheldDraft          WithheldReason = "draft"
	WithheldPendingReview  WithheldReason = "pending_review"
	WithheldRejected       WithheldReason = "rejected"
)

// MaxCatalogTools is the most tools one installation holds (409
// quota_exceeded beyond it).
const MaxCatalogTools = 5000

// Catalog is the body of GET /internal/v1/catalog (backend.md §9.3): one
// consistent snapshot of the callable tools and of the known but withheld
// ones. Its ETag is `"<revision>"`.
type Catalog struct {
	// Revision increases strictly with every catalog-changing transaction.
	Revision int64 `json:"revision"`
	// Tools are the callable tools, sorted by name.
	Tools []CatalogTool `json:"tools"`
	// Withheld are the other tools, for error messages only.
	Withheld []WithheldTool `json:"withheld"`
}

// CatalogTool is one callable tool: its approved version, tool enabled,
// server running and, for an external tool, a usable source.
type CatalogTool struct {
	// ToolID and ServerID are lowercase UUIDs.
	ToolID   string `json:"tool_id"`
	ServerID string `json:"server_id"`
	// ServerName is the server's name.
	ServerName string `json:"server_name"`
	// Name is the exposed name "<server>__<tool>".
	Name string `json:"name"`
	// Kind is go or external.
	Kind ToolKind `json:"kind"`
	// Version is the approved version.
	Version int `json:"version"`
	// Hash is the pinned hash of that version ("sha256:" + 64 hex).
	Hash string `json:"hash"`
	// Description is what clients see.
	Description string `json:"description"`
	// InputSchema is the JSON Schema of the arguments, as stored.
	InputSchema json.RawMessage `json:"input_schema"`
	// OutputSchema is the JSON Schema of the result, or JSON null.
	OutputSchema json.RawMessage `json:"output_schema"`
	// Annotations are the pinned annotations of an external tool; JSON null
	// for a go tool.
	Annotations json.RawMessage `json:"annotations"`
	// TimeoutMS is the manifest's timeout.
	TimeoutMS int `json:"timeout_ms"`
}

// WithheldTool is a tool that exists but cannot be called, with the reason.
type WithheldTool struct {
	ToolID   string `json:"tool_id"`
	ServerID string `json:"server_id"`
	// Name is the exposed name.
	Name string `json:"name"`
	// Version is the latest version.
	Version int `json:"version"`
	// Reason says why the tool is withheld.
	Reason WithheldReason `json:"reason"`
}
