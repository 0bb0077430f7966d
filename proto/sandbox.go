package proto

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
)

// Request limits of the sandbox API (sandbox.md §4, §12.6), so callers can
// check them before sending.
const (
	// MaxExecuteBodyBytes bounds the body of /v1/execute and /v1/mcp/call.
	MaxExecuteBodyBytes = 2 << 20
	// MaxAnalyzeBodyBytes bounds the body of /v1/analyze.
	MaxAnalyzeBodyBytes = 256 << 10
	// MaxDiscoverBodyBytes bounds the body of /v1/mcp/discover.
	MaxDiscoverBodyBytes = 64 << 10
	// MaxArgumentsBytes bounds the serialised arguments of one call.
	MaxArgumentsBytes = 1 << 20
	// MaxArgumentsDepth bounds the nesting depth of the arguments.
	MaxArgumentsDepth = 64
	// MaxAllowedHosts bounds allowed_hosts.
	MaxAllowedHosts = 256
	// MaxSecrets, MaxSecretValueBytes and MaxSecretsTotalBytes bound the
	// secrets of one execution.
	MaxSecrets           = 64
	MaxSecretValueBytes  = 16 << 10
	MaxSecretsTotalBytes = 64 << 10
	// MinExecTimeoutMS and MaxExecTimeoutMS bound limits.timeout_ms of
	// /v1/execute (the manifest itself needs at least MinTimeoutMS).
	MinExecTimeoutMS = 100
	MaxExecTimeoutMS = 300_000
	// MaxStdoutBytes bounds the captured stdout of an execution.
	MaxStdoutBytes = 1 << 20
	// DefaultMCPCallTimeoutMS and MaxMCPCallTimeoutMS bound /v1/mcp/call.
	DefaultMCPCallTimeoutMS = 60_000
	MaxMCPCallTimeoutMS     = 300_000
	// DefaultDiscoverTimeoutMS and MaxDiscoverTimeoutMS bound /v1/mcp/discover.
	DefaultDiscoverTimeoutMS = 30_000
	MaxDiscoverTimeoutMS     = 60_000
	// DefaultFetchTimeoutMS and MaxFetchTimeoutMS bound /v1/fetch.
	DefaultFetchTimeoutMS = 15_000
	MaxFetchTimeoutMS     = 30_000
	// MaxFetchRequestBodyBytes and MaxFetchResponseBodyBytes bound /v1/fetch.
	MaxFetchRequestBodyBytes  = 64 << 10
	MaxFetchResponseBodyBytes = 1 << 20
	// MaxMCPResultBytes bounds an external tool's result.
	MaxMCPResultBytes = 4 << 20
)

// AllowedHosts is the allowed_hosts field of the sandbox requests and of the
// plan (sandbox.md §12.1). The key is required on the wire and has three
// meanings: JSON null allows any public host (Any); [] allows no network; a
// list allows exactly those hosts. Set records that the value was given: it
// is true after decoding the key (null included) and for values built with
// AnyPublicHost or OnlyHosts, so the sandbox can tell a missing key (Set
// false) from null. A zero AllowedHosts encodes as [], failing closed.
type AllowedHosts struct {
	// Any allows any public host; Hosts is then ignored and encodes as null.
	Any bool
	// Hosts are the allowed entries when Any is false.
	Hosts []string
	// Set reports that the value was decoded or built on purpose.
	Set bool
}

// AnyPublicHost returns allowed_hosts = null: any public destination.
func AnyPublicHost() AllowedHosts { return AllowedHosts{Any: true, Set: true} }

// OnlyHosts returns allowed_hosts = the given list; no argument means no
// network ([]).
func OnlyHosts(hosts ...string) AllowedHosts {
	if hosts == nil {
		hosts = []string{}
	}
	return AllowedHosts{Hosts: hosts, Set: true}
}

// MarshalJSON encodes null for Any, else the list ([] when empty).
func (a AllowedHosts) MarshalJSON() ([]byte, error) {
	if a.Any {
		return []byte("null"), nil
	}
	if a.Hosts == nil {
		return []byte("[]"), nil
	}
	b, err := json.Marshal(a.Hosts)
	if err != nil {
		return nil, fmt.Errorf("allowed_hosts: %w", err)
	}
	return b, nil
}

// UnmarshalJSON decodes null as Any and an array as Hosts, and sets Set.
func (a *AllowedHosts) UnmarshalJSON(b []byte) error {
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		*a = AnyPublicHost()
		return nil
	}
	var hosts []string
	if err := json.Unmarshal(b, &hosts); err != nil {
		return fmt.Errorf("allowed_hosts: must be null (any public host) or an array of host strings: %w", err)
	}
	*a = OnlyHosts(hosts...)
	return nil
}

// Limits are the resource limits of one execution; they must equal the
// manifest's.
type Limits struct {
	TimeoutMS int `json:"timeout_ms"`
	MemoryMB  int `json:"memory_mb"`
}

// ExecuteRequest is the body of POST /v1/execute (sandbox.md §4.2.1).
type ExecuteRequest struct {
	// RequestID is optional; the X-Request-Id header is used otherwise.
	RequestID string `json:"request_id,omitempty"`
	// ToolID, Version and ExposedName are for the log line only.
	ToolID      string `json:"tool_id,omitempty"`
	Version     int    `json:"version,omitempty"`
	ExposedName string `json:"exposed_name,omitempty"`
	// Code is the tool source: UTF-8, at most MaxCodeBytes, no NUL.
	Code string `json:"code"`
	// Manifest is the pinned manifest.
	Manifest Manifest `json:"manifest"`
	// PinnedHash must equal the canon hash of code and manifest.
	PinnedHash string `json:"pinned_hash"`
	// Arguments are the MCP call arguments ({} when none), kept verbatim.
	Arguments json.RawMessage `json:"arguments"`
	// InputSchema overrides the derived schema when present.
	InputSchema json.RawMessage `json:"input_schema,omitempty"`
	// AllowedHosts is required: null = any public host, [] = none.
	AllowedHosts AllowedHosts `json:"allowed_hosts"`
	// ExtraPackages are the approved opt-in packages (⊆ manifest.packages).
	ExtraPackages []string `json:"extra_packages,omitempty"`
	// Secrets maps manifest secret names to values; a nil value is declared
	// but not set.
	Secrets map[string]*string `json:"secrets,omitempty"`
	// WithheldSecrets are manifest secret names whose values are withheld.
	WithheldSecrets []string `json:"withheld_secrets,omitempty"`
	// Limits must equal the manifest's timeout_ms and memory_mb.
	Limits Limits `json:"limits"`
	// Redact is secret redaction of the response; nil means true.
	Redact *bool `json:"redact,omitempty"`
	// Debug adds http_calls to the response.
	Debug bool `json:"debug,omitempty"`
}

// RedactOutput reports whether the response is redacted (Redact, default
// true).
func (r ExecuteRequest) RedactOutput() bool { return r.Redact == nil || *r.Redact }

// ExecuteResponse is the 200 body of POST /v1/execute (sandbox.md §4.2.4).
type ExecuteResponse struct {
	// OK is true iff Main returned a nil error and the result was accepted.
	OK bool `json:"ok"`
	// Result is Main's value, redacted; JSON null when OK is false.
	Result json.RawMessage `json:"result"`
	// ContentText is the text of the single MCP content item.
	ContentText string `json:"content_text"`
	// Structured is true iff OK and Result is an object (structuredContent).
	Structured bool `json:"structured"`
	// Stdout is the captured output, redacted, at most 1 MiB, valid UTF-8.
	Stdout          string `json:"stdout"`
	StdoutTruncated bool   `json:"stdout_truncated"`
	// Error is nil iff OK.
	Error *ExecutionError `json:"error"`
	// DurationMS is wall time measured by the sandbox parent.
	DurationMS int64 `json:"duration_ms"`
	// Worker is nil when no worker ran.
	Worker *WorkerStats `json:"worker"`
	// HTTPCalls is set only when the request had debug.
	HTTPCalls []HTTPCall `json:"http_calls,omitempty"`
}

// ExecutionError describes a failed execution (sandbox.md §4.2.4).
type ExecutionError struct {
	Type SandboxErrorType `json:"type"`
	// Message is one paragraph for the LLM: what failed and what to do.
	Message string `json:"message"`
	// Line and Column are 1-based positions in the tool source, when known.
	Line   *int `json:"line"`
	Column *int `json:"column"`
	// Context is up to 5 numbered source lines around Line, when known.
	Context *string `json:"context"`
	// HTTP describes the one HTTP call the failure is tied to, if any.
	HTTP *HTTPFailure `json:"http"`
}

// HTTPFailure is error.http: the parent's own record of the HTTP call a
// failure is tied to.
type HTTPFailure struct {
	Method string `json:"method"`
	URL    string `json:"url"`
	// Status is the response status; 0 when no response arrived.
	Status int `json:"status"`
	// Headers keeps content-type, retry-after, www-authenticate, x-ratelimit-*.
	Headers map[string]string `json:"headers"`
	// BodyPreview is at most 500 characters of the response body.
	BodyPreview string `json:"body_preview"`
	// Error is the transport error, when there was no response.
	Error string `json:"error"`
}

// WorkerStats come from wait4 in the parent, never from the worker.
type WorkerStats struct {
	// CPUMS is user + system CPU time.
	CPUMS int64 `json:"cpu_ms"`
	// MaxRSSKB is the peak resident set size.
	MaxRSSKB int64 `json:"max_rss_kb"`
	// Exit is "code:<n>" or "signal:<NAME>".
	Exit string `json:"exit"`
}

// HTTPCall is one brokered call, listed when the request had debug.
type HTTPCall struct {
	Method     string `json:"method"`
	URL        string `json:"url"`
	Status     int    `json:"status"`
	DurationMS int64  `json:"duration_ms"`
	// RequestHeaders has Authorization, Proxy-Authorization, Cookie and
	// X-Api-Key values replaced by [REDACTED].
	RequestHeaders map[string]string `json:"request_headers"`
	// ResponsePreview is at most 500 characters of the response body.
	ResponsePreview string `json:"response_preview"`
	Error           string `json:"error"`
}

// SandboxErrorType is error.type of the sandbox responses (sandbox.md §4.2.5
// for executions and analysis, §13.4 for /v1/mcp/* and /v1/fetch).
type SandboxErrorType string

// Execution and analysis error types (sandbox.md §4.2.5).
const (
	ErrTypeSyntaxError         SandboxErrorType = "SyntaxError"
	ErrTypeValidationError     SandboxErrorType = "ValidationError"
	ErrTypeImportError         SandboxErrorType = "ImportError"
	ErrTypeUnsupportedFeature  SandboxErrorType = "UnsupportedFeature"
	ErrTypeCompileError        SandboxErrorType = "CompileError"
	ErrTypeInvalidArguments    SandboxErrorType = "InvalidArguments"
	ErrTypeToolError           SandboxErrorType = "ToolError"
	ErrTypeEgressDenied        SandboxErrorType = "EgressDenied"
	ErrTypeInvalidResult       SandboxErrorType = "InvalidResult"
	ErrTypePanic               SandboxErrorType = "Panic"
	ErrTypeTimeout             SandboxErrorType = "Timeout"
	ErrTypeMemoryLimitExceeded SandboxErrorType = "MemoryLimitExceeded"
	ErrTypeCPULimitExceeded    SandboxErrorType = "CPULimitExceeded"
	ErrTypeStackOverflow       SandboxErrorType = "StackOverflow"
	ErrTypeThreadLimitExceeded SandboxErrorType = "ThreadLimitExceeded"
	ErrTypeOutputLimitExceeded SandboxErrorType = "OutputLimitExceeded"
	ErrTypeSecurityViolation   SandboxErrorType = "SecurityViolation"
	ErrTypeWorkerCrashed       SandboxErrorType = "WorkerCrashed"
	ErrTypeConnectError        SandboxErrorType = "ConnectError"
	ErrTypeAuthRequired        SandboxErrorType = "AuthRequired"
	ErrTypeHTTPError           SandboxErrorType = "HTTPError"
	ErrTypeRedirect            SandboxErrorType = "Redirect"
	ErrTypeCloudflareChallenge SandboxErrorType = "CloudflareChallenge"
	ErrTypeProtocolError       SandboxErrorType = "ProtocolError"
	ErrTypeRPCError            SandboxErrorType = "RpcError"
	ErrTypeDefinitionChanged   SandboxErrorType = "DefinitionChanged"
	ErrTypeResponseTooLarge    SandboxErrorType = "ResponseTooLarge"
)

// SnakeCase returns the snake_case form of the type ("EgressDenied" →
// "egress_denied", "CPULimitExceeded" → "cpu_limit_exceeded"): the sandbox's
// metric outcome label and the error_code of an execution record.
func (t SandboxErrorType) SnakeCase() string {
	r := []rune(string(t))
	var b strings.Builder
	for i, c := range r {
		if unicode.IsUpper(c) {
			prevLower := i > 0 && !unicode.IsUpper(r[i-1])
			acronymEnd := i > 0 && i+1 < len(r) && unicode.IsUpper(r[i-1]) && unicode.IsLower(r[i+1])
			if prevLower || acronymEnd {
				b.WriteByte('_')
			}
			c = unicode.ToLower(c)
		}
		b.WriteRune(c)
	}
	return b.String()
}

// AnalyzeRequest is the body of POST /v1/analyze (sandbox.md §4.3).
type AnalyzeRequest struct {
	RequestID string `json:"request_id,omitempty"`
	Code      string `json:"code"`
	// ExtraPackages are the opt-in packages to treat as allowed.
	ExtraPackages []string `json:"extra_packages,omitempty"`
	// Compile also compiles tool and harness in a worker (nothing runs).
	Compile bool `json:"compile,omitempty"`
}

// PackageTier is the tier of a package in the catalogue (sandbox.md §6).
type PackageTier string

// Package tiers.
const (
	TierDefault PackageTier = "default"
	TierOptIn   PackageTier = "opt_in"
	TierNever   PackageTier = "never"
)

// Severity is the severity of an analysis diagnostic.
type Severity string

// Severities.
const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
)

// AnalyzeResponse is the 200 body of POST /v1/analyze (sandbox.md §4.3).
type AnalyzeResponse struct {
	// OK is true when no diagnostic has severity error.
	OK bool `json:"ok"`
	// CodeSHA256 is "sha256:" + hex of the code alone.
	CodeSHA256 string   `json:"code_sha256"`
	Imports    []Import `json:"imports"`
	// Main describes Main's shape, nil when it was not found.
	Main *MainInfo `json:"main"`
	// InputSchema and OutputSchema are derived schemas or JSON null.
	InputSchema  json.RawMessage `json:"input_schema"`
	OutputSchema json.RawMessage `json:"output_schema"`
	// Description is Main's normalised doc comment, or "".
	Description string `json:"description"`
	// Secrets are the sorted secret names the code reads.
	Secrets []string `json:"secrets"`
	// AnalyzerVersion is the sandbox build and catalogue version.
	AnalyzerVersion string       `json:"analyzer_version"`
	Diagnostics     []Diagnostic `json:"diagnostics"`
	// Worker is set only when compile ran.
	Worker *WorkerStats `json:"worker,omitempty"`
}

// Import is one import of the analysed code.
type Import struct {
	Path string      `json:"path"`
	Tier PackageTier `json:"tier"`
	// Allowed is judged against default ∪ extra_packages.
	Allowed bool `json:"allowed"`
}

// MainInfo is the shape of the tool's Main function.
type MainInfo struct {
	HasInput   bool   `json:"has_input"`
	InputType  string `json:"input_type"`
	OutputType string `json:"output_type"`
}

// Diagnostic is one finding of the analysis, sorted by position.
type Diagnostic struct {
	Severity Severity         `json:"severity"`
	Type     SandboxErrorType `json:"type"`
	Message  string           `json:"message"`
	// Line and Column are 1-based; 0 when the finding has no position.
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Context string `json:"context,omitempty"`
}

// PackageCatalogue is the body of GET /v1/packages (sandbox.md §4.4, §6).
type PackageCatalogue struct {
	// CatalogueVersion changes whenever a symbol table changes.
	CatalogueVersion string `json:"catalogue_version"`
	GoVersion        string `json:"go_version"`
	// LanguageLevel is "go1.22".
	LanguageLevel string    `json:"language_level"`
	Packages      []Package `json:"packages"`
}

// Package is one entry of the package catalogue.
type Package struct {
	Path string      `json:"path"`
	Tier PackageTier `json:"tier"`
	// Description is one line.
	Description string `json:"description"`
	// Filtered says only some symbols are exposed.
	Filtered bool `json:"filtered"`
	// Note explains filtering, limits or, for never, the reason.
	Note string `json:"note"`
}

// Transport is the MCP transport of an external source.
type Transport string

// TransportStreamableHTTP is the only supported transport; "sse" (legacy
// HTTP+SSE) is refused.
const TransportStreamableHTTP Transport = "streamable_http"

// DiscoverRequest is the body of POST /v1/mcp/discover (sandbox.md §4.5).
type DiscoverRequest struct {
	RequestID string `json:"request_id,omitempty"`
	URL       string `json:"url"`
	// Transport defaults to streamable_http.
	Transport Transport `json:"transport,omitempty"`
	// Headers are credentials built by the backend.
	Headers      map[string]string `json:"headers,omitempty"`
	AllowedHosts AllowedHosts      `json:"allowed_hosts"`
	// TimeoutMS bounds the whole discovery (default 30000, at most 60000).
	TimeoutMS int `json:"timeout_ms,omitempty"`
}

// DiscoverResponse is the 200 body of POST /v1/mcp/discover.
type DiscoverResponse struct {
	OK              bool             `json:"ok"`
	ProtocolVersion string           `json:"protocol_version"`
	ServerInfo      ServerInfo       `json:"server_info"`
	Instructions    string           `json:"instructions"`
	Tools           []DiscoveredTool `json:"tools"`
	LatencyMS       int64            `json:"latency_ms"`
	// Error is set when OK is false.
	Error *UpstreamError `json:"error"`
}

// ServerInfo is the external server's implementation info.
type ServerInfo struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// DiscoveredTool is one tool of an external server's tools/list.
type DiscoveredTool struct {
	Name         string          `json:"name"`
	Title        string          `json:"title"`
	Description  string          `json:"description"`
	InputSchema  json.RawMessage `json:"input_schema"`
	OutputSchema json.RawMessage `json:"output_schema"`
	Annotations  json.RawMessage `json:"annotations"`
}

// UpstreamError is error of /v1/mcp/discover, /v1/mcp/call and /v1/fetch
// (sandbox.md §13.4).
type UpstreamError struct {
	Type    SandboxErrorType `json:"type"`
	Message string           `json:"message"`
	// Status is the upstream HTTP status, when one arrived.
	Status int `json:"status,omitempty"`
	// WWWAuthenticate is kept for AuthRequired, so OAuth can start.
	WWWAuthenticate string `json:"www_authenticate,omitempty"`
	// RPCCode is the JSON-RPC error code of an RpcError.
	RPCCode *int `json:"rpc_code,omitempty"`
}

// MCPCallRequest is the body of POST /v1/mcp/call (sandbox.md §4.6).
type MCPCallRequest struct {
	RequestID string `json:"request_id,omitempty"`
	// ToolID, Version and ExposedName are for the log line only.
	ToolID      string            `json:"tool_id,omitempty"`
	Version     int               `json:"version,omitempty"`
	ExposedName string            `json:"exposed_name,omitempty"`
	URL         string            `json:"url"`
	Transport   Transport         `json:"transport,omitempty"`
	Headers     map[string]string `json:"headers,omitempty"`
	// AllowedHosts is required.
	AllowedHosts AllowedHosts `json:"allowed_hosts"`
	// Tool is the external tool name; it must equal Definition.Name.
	Tool      string          `json:"tool"`
	Arguments json.RawMessage `json:"arguments"`
	// TimeoutMS defaults to 60000, at most 300000.
	TimeoutMS  int                `json:"timeout_ms,omitempty"`
	Definition ExternalDefinition `json:"definition"`
	Manifest   Manifest           `json:"manifest"`
	// PinnedHash must equal the canon hash of definition and manifest.
	PinnedHash string `json:"pinned_hash"`
}

// MCPSession says whether a call opened a new upstream session.
type MCPSession string

// MCP session values.
const (
	SessionNew    MCPSession = "new"
	SessionReused MCPSession = "reused"
)

// MCPCallResponse is the 200 body of POST /v1/mcp/call.
type MCPCallResponse struct {
	// OK is false only when no result was obtained.
	OK bool `json:"ok"`
	// Result is the upstream CallToolResult, passed through faithfully.
	Result     json.RawMessage `json:"result"`
	Error      *UpstreamError  `json:"error"`
	DurationMS int64           `json:"duration_ms"`
	Session    MCPSession      `json:"session"`
}

// FetchPurpose says why the backend fetches; it is logged only.
type FetchPurpose string

// Fetch purposes.
const (
	FetchOAuth     FetchPurpose = "oauth"
	FetchSelfcheck FetchPurpose = "selfcheck"
)

// FetchRequest is the body of POST /v1/fetch (sandbox.md §4.7).
type FetchRequest struct {
	RequestID string `json:"request_id,omitempty"`
	// Method is GET or POST.
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"`
	// Body is at most 64 KiB.
	Body         string       `json:"body,omitempty"`
	AllowedHosts AllowedHosts `json:"allowed_hosts"`
	// TimeoutMS defaults to 15000, at most 30000.
	TimeoutMS int          `json:"timeout_ms,omitempty"`
	Purpose   FetchPurpose `json:"purpose"`
}

// FetchResponse is the 200 body of POST /v1/fetch. OK is true whenever a
// response arrived, whatever its status; redirects are returned, not
// followed.
type FetchResponse struct {
	OK      bool                `json:"ok"`
	Status  int                 `json:"status"`
	Headers map[string][]string `json:"headers"`
	// Body is the response as text, cut at 1 MiB.
	Body          string `json:"body"`
	BodyTruncated bool   `json:"body_truncated"`
	// Error (EgressDenied, ConnectError, Timeout) only when no response arrived.
	Error *UpstreamError `json:"error"`
}

// ReadinessStatus is the status of the sandbox's /readyz body.
type ReadinessStatus string

// Readiness statuses (sandbox.md §4.8 leaves the words open; these are
// fixed here).
const (
	ReadinessReady ReadinessStatus = "ready"
	// ReadinessStarting: the self-test has not passed or the pool has not
	// reached its warm target yet.
	ReadinessStarting ReadinessStatus = "starting"
	// ReadinessDraining: SIGTERM received.
	ReadinessDraining ReadinessStatus = "draining"
	// ReadinessNotReady: any other reason (spawning fails, self-test failed).
	ReadinessNotReady ReadinessStatus = "not_ready"
)

// Isolation is the isolation level the sandbox runs with.
type Isolation string

// Isolation levels.
const (
	IsolationFull Isolation = "full"
	// IsolationDegraded is dev only (MCPBOX_SANDBOX_INSECURE_DEV).
	IsolationDegraded Isolation = "degraded"
)

// SandboxReadiness is the body of the sandbox's GET /readyz (200 or 503).
type SandboxReadiness struct {
	Status    ReadinessStatus `json:"status"`
	Warm      int             `json:"warm"`
	Busy      int             `json:"busy"`
	Starting  int             `json:"starting"`
	Queued    int             `json:"queued"`
	Isolation Isolation       `json:"isolation"`
}
