package proto

import (
	"encoding/json"
	"maps"
	"slices"
	"time"
)

// Plan is the body of GET /internal/v1/tools/{id}/plan?version=N (backend.md
// §9.4): everything the gateway needs to run one approved tool version. The
// execution fields carry the names of the sandbox requests, so
// ExecuteRequest and MCPCallRequest copy them with exactly the three
// renamings of contracts.md §3. A plan is served with Cache-Control:
// no-store and cached by the gateway under (tool id, version, hash) until
// ExpiresAt.
type Plan struct {
	ToolID     string   `json:"tool_id"`
	ServerID   string   `json:"server_id"`
	ServerName string   `json:"server_name"`
	Name       string   `json:"name"`
	Kind       ToolKind `json:"kind"`
	// Version is the approved version.
	Version int `json:"version"`
	// Hash is the pinned hash, sent to the sandbox as pinned_hash.
	Hash string `json:"hash"`
	// Code is set for a go tool.
	Code string `json:"code,omitempty"`
	// External is set for an external tool.
	External *PlanExternal `json:"external,omitempty"`
	// Manifest is the pinned, normalised manifest.
	Manifest     Manifest        `json:"manifest"`
	InputSchema  json.RawMessage `json:"input_schema"`
	OutputSchema json.RawMessage `json:"output_schema"`
	// AllowedHosts is the manifest's hosts, or null (any public host) for a
	// go tool under network_access_policy allow_all_public.
	AllowedHosts AllowedHosts `json:"allowed_hosts"`
	// ExtraPackages are the manifest's packages.
	ExtraPackages []string `json:"extra_packages"`
	// Secrets are the values of the manifest's secrets, by name.
	Secrets map[string]string `json:"secrets"`
	// Limits are the manifest's timeout_ms and memory_mb.
	Limits Limits `json:"limits"`
	// Redact is true iff redact_secrets_in_output is enabled.
	Redact bool `json:"redact"`
	// ExpiresAt is the expiry of an OAuth access token in the plan, else nil.
	ExpiresAt *time.Time `json:"expires_at"`
}

// PlanExternal is the external part of a plan.
type PlanExternal struct {
	// SourceID is the external source's id.
	SourceID string `json:"source_id"`
	// URL is the source's MCP endpoint.
	URL       string    `json:"url"`
	Transport Transport `json:"transport"`
	// Tool is the external tool name (Definition.Name).
	Tool string `json:"tool"`
	// Definition is the pinned definition of backend.md §5.3.
	Definition ExternalDefinition `json:"definition"`
	// Headers are the resolved auth headers.
	Headers map[string]string `json:"headers"`
}

// ExecuteRequest builds the /v1/execute body of a go tool's plan: the plan's
// fields under the same names, hash sent as pinned_hash. The arguments are
// passed verbatim ({} when nil); slices and maps are copied.
func (p Plan) ExecuteRequest(requestID string, arguments json.RawMessage) ExecuteRequest {
	var secrets map[string]*string
	if len(p.Secrets) > 0 {
		secrets = make(map[string]*string, len(p.Secrets))
		for name, v := range p.Secrets {
			secrets[name] = &v
		}
	}
	redact := p.Redact
	return ExecuteRequest{
		RequestID:     requestID,
		ToolID:        p.ToolID,
		Version:       p.Version,
		ExposedName:   p.Name,
		Code:          p.Code,
		Manifest:      cloneManifest(p.Manifest),
		PinnedHash:    p.Hash,
		Arguments:     argumentsOrEmpty(arguments),
		InputSchema:   slices.Clone(p.InputSchema),
		AllowedHosts:  cloneAllowedHosts(p.AllowedHosts),
		ExtraPackages: slices.Clone(p.ExtraPackages),
		Secrets:       secrets,
		Limits:        p.Limits,
		Redact:        &redact,
	}
}

// MCPCallRequest builds the /v1/mcp/call body of an external tool's plan:
// the fields of External at the top level, hash sent as pinned_hash and
// limits.timeout_ms sent as timeout_ms. It returns false when the plan has
// no External part.
func (p Plan) MCPCallRequest(requestID string, arguments json.RawMessage) (MCPCallRequest, bool) {
	if p.External == nil {
		return MCPCallRequest{}, false
	}
	x := p.External
	return MCPCallRequest{
		RequestID:    requestID,
		ToolID:       p.ToolID,
		Version:      p.Version,
		ExposedName:  p.Name,
		URL:          x.URL,
		Transport:    x.Transport,
		Headers:      maps.Clone(x.Headers),
		AllowedHosts: cloneAllowedHosts(p.AllowedHosts),
		Tool:         x.Tool,
		Arguments:    argumentsOrEmpty(arguments),
		TimeoutMS:    p.Limits.TimeoutMS,
		Definition:   x.Definition,
		Manifest:     cloneManifest(p.Manifest),
		PinnedHash:   p.Hash,
	}, true
}

// argumentsOrEmpty returns {} for absent arguments.
func argumentsOrEmpty(a json.RawMessage) json.RawMessage {
	if len(a) == 0 {
		return json.RawMessage(`{}`)
	}
	return a
}

// cloneManifest copies the manifest's lists.
func cloneManifest(m Manifest) Manifest {
	m.Hosts = slices.Clone(m.Hosts)
	m.Packages = slices.Clone(m.Packages)
	m.Secrets = slices.Clone(m.Secrets)
	return m
}

// cloneAllowedHosts copies the host list.
func cloneAllowedHosts(a AllowedHosts) AllowedHosts {
	a.Hosts = slices.Clone(a.Hosts)
	return a
}
