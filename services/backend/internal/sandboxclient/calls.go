package sandboxclient

import (
	"context"
	"net/http"
	"time"

	"github.com/mcpbox/mcpbox/proto"
)

// Deadlines of backend.md §11.1.
const (
	// analyzeDeadline: the sandbox may queue the compile job up to 10 s,
	// then compiles for at most 5 s.
	analyzeDeadline = 20 * time.Second
	// executeMargin is added to limits.timeout_ms: the sandbox may queue an
	// execution for up to 10 s.
	executeMargin = 15 * time.Second
	// discoverMargin and fetchMargin are added to the request's timeout_ms
	// (the sandbox's default when 0): discover's 30 s gives the table's 35 s.
	discoverMargin   = 5 * time.Second
	fetchMargin      = 5 * time.Second
	packagesDeadline = 5 * time.Second
	readyzDeadline   = 2 * time.Second
)

// msOr returns ms milliseconds, or def milliseconds when ms is not positive
// (the sandbox applies its default then).
func msOr(ms, def int) time.Duration {
	if ms <= 0 {
		ms = def
	}
	return time.Duration(ms) * time.Millisecond
}

// executeDeadline is limits.timeout_ms + 15 s.
func executeDeadline(r proto.ExecuteRequest) time.Duration {
	return time.Duration(max(r.Limits.TimeoutMS, 0))*time.Millisecond + executeMargin
}

// discoverDeadline is timeout_ms (default 30 s) + 5 s: 35 s for the
// backend's requests, and never shorter than the sandbox's own bound when a
// caller asks for up to 60 s.
func discoverDeadline(r proto.DiscoverRequest) time.Duration {
	return msOr(r.TimeoutMS, proto.DefaultDiscoverTimeoutMS) + discoverMargin
}

// fetchDeadline is timeout_ms (default 15 s) + 5 s.
func fetchDeadline(r proto.FetchRequest) time.Duration {
	return msOr(r.TimeoutMS, proto.DefaultFetchTimeoutMS) + fetchMargin
}

// Analyze sends POST /v1/analyze (sandbox.md §4.3); the backend sends
// compile: true. Deadline 20 s; retried twice on a connect error. ok: false
// is an answer, not an error.
func (c *Client) Analyze(ctx context.Context, req proto.AnalyzeRequest) (proto.AnalyzeResponse, error) {
	var out proto.AnalyzeResponse
	err := c.post(ctx, OpAnalyze, proto.PathSandboxAnalyze, req, analyzeDeadline, retriedAttempts, &out,
		func(int) error { return validAnalyze(&out) })
	if err != nil {
		return proto.AnalyzeResponse{}, err
	}
	c.packages.noteAnalyzerVersion(out.AnalyzerVersion)
	return out, nil
}

// Execute sends POST /v1/execute (sandbox.md §4.2). Deadline limits.timeout_ms
// + 15 s; never retried (tools are not idempotent). A failed tool (ok: false)
// is an answer, not an error.
func (c *Client) Execute(ctx context.Context, req proto.ExecuteRequest) (proto.ExecuteResponse, error) {
	var out proto.ExecuteResponse
	err := c.post(ctx, OpExecute, proto.PathSandboxExecute, req, executeDeadline(req), 1, &out,
		func(int) error { return validExecute(&out) })
	if err != nil {
		return proto.ExecuteResponse{}, err
	}
	return out, nil
}

// Discover sends POST /v1/mcp/discover (sandbox.md §4.5). Deadline
// timeout_ms + 5 s (35 s for the default 30 s); retried twice on a connect
// error. A failed discovery (ok: false with error) is an answer.
func (c *Client) Discover(ctx context.Context, req proto.DiscoverRequest) (proto.DiscoverResponse, error) {
	var out proto.DiscoverResponse
	err := c.post(ctx, OpDiscover, proto.PathSandboxDiscover, req, discoverDeadline(req), retriedAttempts, &out,
		func(int) error { return validDiscover(&out) })
	if err != nil {
		return proto.DiscoverResponse{}, err
	}
	return out, nil
}

// Fetch sends POST /v1/fetch (sandbox.md §4.7). Deadline timeout_ms + 5 s
// (20 s for the default 15 s); never retried (a token exchange is not
// idempotent). An upstream 4xx is an answer (ok: true with its status).
func (c *Client) Fetch(ctx context.Context, req proto.FetchRequest) (proto.FetchResponse, error) {
	var out proto.FetchResponse
	err := c.post(ctx, OpFetch, proto.PathSandboxFetch, req, fetchDeadline(req), 1, &out,
		func(int) error { return validFetch(&out) })
	if err != nil {
		return proto.FetchResponse{}, err
	}
	return out, nil
}

// Ready asks GET /readyz (sandbox.md §4.8) without the service token.
// Deadline 2 s; not retried. A 503 with a readiness body is an answer (the
// sandbox is starting or draining), not an error.
func (c *Client) Ready(ctx context.Context) (proto.SandboxReadiness, error) {
	var out proto.SandboxReadiness
	k := call{
		op: OpReadyz, method: http.MethodGet, path: proto.PathReadyz,
		deadline: readyzDeadline, attempts: 1, readiness: true,
	}
	if err := c.do(ctx, k, &out, func(status int) error { return validReadiness(&out, status) }); err != nil {
		return proto.SandboxReadiness{}, err
	}
	return out, nil
}

// post sends one JSON request to a token-protected /v1 route.
func (c *Client) post(ctx context.Context, op Op, path string, in any, deadline time.Duration, attempts int,
	out any, valid func(int) error,
) error {
	body, err := encode(op, in)
	if err != nil {
		c.metrics.observe(op, resultError, 0)
		return err
	}
	k := call{op: op, method: http.MethodPost, path: path, body: body, token: true, deadline: deadline, attempts: attempts}
	return c.do(ctx, k, out, valid)
}
