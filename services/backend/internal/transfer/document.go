package transfer

import (
	"encoding/json"

	"github.com/mcpbox/mcpbox/proto"
)

// The document's identity (backend.md §14.4).
const (
	// Format is the document's "format".
	Format = "mcpbox-export"
	// FormatVersion is the only "format_version" this build reads and writes.
	FormatVersion = 2
	// SignaturePrefix starts "signature", followed by 64 lowercase hex digits.
	SignaturePrefix = "hmac-sha256:"
	// signatureInfo is the HKDF info of the signing key.
	signatureInfo = "mcpbox export v2"
	// MaxDocumentBytes is the largest document POST /import accepts (16 MiB).
	MaxDocumentBytes = 16 << 20
)

// Record states an export carries: rejected records are history and are not
// exported.
const (
	statusApproved = "approved"
	statusPending  = "pending"
)

// Document is an export (backend.md §14.4). Signature is
// "hmac-sha256:<hex>" over the canonical JSON (RFC 8785) of the document
// without it; it is empty (and omitted) while the document is signed.
type Document struct {
	Format        string    `json:"format"`
	FormatVersion int       `json:"format_version"`
	ExportedAt    string    `json:"exported_at"`
	AppVersion    string    `json:"app_version"`
	Servers       []Server  `json:"servers"`
	Packages      []Package `json:"packages"`
	Signature     string    `json:"signature,omitempty"`
}

// Server is one exported server.
type Server struct {
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Status      string    `json:"status"`
	Secrets     []Secret  `json:"secrets"`
	Network     []Network `json:"network"`
	Sources     []Source  `json:"external_mcp_sources"`
	Tools       []Tool    `json:"tools"`
}

// Secret is a secret's name and description, never its value.
type Secret struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

// Network is an approved or pending network record of a server; Port nil
// is any port.
type Network struct {
	Host          string `json:"host"`
	Port          *int   `json:"port"`
	Status        string `json:"status"`
	Justification string `json:"justification"`
}

// Source is an external MCP source without credentials, OAuth state or
// discovery results.
type Source struct {
	Name           string  `json:"name"`
	URL            string  `json:"url"`
	Transport      string  `json:"transport"`
	AuthType       string  `json:"auth_type"`
	AuthSecretName *string `json:"auth_secret_name"`
	AuthHeaderName *string `json:"auth_header_name"`
	Status         string  `json:"status"`
}

// Tool is an exported tool: its latest version and its approved version
// (nil when it has none). ExternalSource names a source of the same server
// and, with ExternalToolName, is set iff Kind is external.
type Tool struct {
	Name             string         `json:"name"`
	Kind             proto.ToolKind `json:"kind"`
	Enabled          *bool          `json:"enabled"`
	ExternalSource   *string        `json:"external_source"`
	ExternalToolName *string        `json:"external_tool_name"`
	Latest           *Version       `json:"latest"`
	Approved         *Version       `json:"approved"`
}

// Version is exported version content: Content is the code (a JSON string)
// of a go tool or the definition (an object, §5.3) of an external one.
type Version struct {
	Content  json.RawMessage `json:"content"`
	Manifest *proto.Manifest `json:"manifest"`
	Hash     string          `json:"hash"`
}

// Package is an approved or pending package record (global, §6.2).
type Package struct {
	Package       string `json:"package"`
	Status        string `json:"status"`
	Justification string `json:"justification"`
}

// ToolCount is the number of tools in the document, the total of an
// import's progress.
func (d *Document) ToolCount() int {
	n := 0
	for _, s := range d.Servers {
		n += len(s.Tools)
	}
	return n
}
