package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/obs"
)

// Transport settings of gateway.md §8.4.
const (
	dialTimeout         = 2 * time.Second
	tlsHandshakeTimeout = 5 * time.Second
	tcpKeepAlive        = 30 * time.Second
	idleConnsPerHost    = 64
	// idleConnTimeout stays below the sandbox's idle timeout (120 s), so
	// the gateway closes an idle connection before the sandbox does.
	idleConnTimeout = 90 * time.Second
	maxHeaderBytes  = 64 << 10
	// maxAnswerBytes caps a 200 answer: an execution's 1 MiB result and
	// 1 MiB of stdout, JSON-escaped, or a 4 MiB external result fit with
	// room to spare.
	maxAnswerBytes = 32 << 20
	// maxErrorBodyBytes caps the error body of a non-200 answer.
	maxErrorBodyBytes = 64 << 10
	// maxRetryAfter caps the Retry-After taken from a 429.
	maxRetryAfter = time.Minute
)

// Defaults of Options (MCPBOX_GATEWAY_EXEC_MARGIN, _BREAKER_FAILURES,
// _BREAKER_OPEN).
const (
	DefaultExecMargin      = 15 * time.Second
	DefaultBreakerFailures = 5
	DefaultBreakerOpen     = 30 * time.Second
)

// Options configure a Client; zero fields take their defaults.
type Options struct {
	// ExecMargin is added to the tool's timeout to make the HTTP timeout
	// (the sandbox may queue a request up to 10 s before running it).
	ExecMargin time.Duration
	// BreakerFailures consecutive failures open the breaker.
	BreakerFailures int
	// BreakerOpen is how long the breaker stays open before a probe.
	BreakerOpen time.Duration
	// Now is the breaker's clock (tests); time.Now when nil.
	Now func() time.Time
	// Transport replaces the pooled transport below (nil: that one). The
	// gateway never sets it; the benchmarks of gateway.md §15 answer the
	// sandbox in memory through it.
	Transport http.RoundTripper
}

// withDefaults fills the zero fields.
func (o Options) withDefaults() Options {
	if o.ExecMargin <= 0 {
		o.ExecMargin = DefaultExecMargin
	}
	if o.BreakerFailures <= 0 {
		o.BreakerFailures = DefaultBreakerFailures
	}
	if o.BreakerOpen <= 0 {
		o.BreakerOpen = DefaultBreakerOpen
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Client calls one sandbox. It is safe for concurrent use; the gateway
// makes one per process, so its breaker covers both endpoints.
type Client struct {
	base    *url.URL
	token   string
	hc      *http.Client
	margin  time.Duration
	breaker *breaker
	metrics *metrics
}

// New returns a client of the sandbox at baseURL (MCPBOX_SANDBOX_URL) that
// sends token (MCPBOX_SANDBOX_TOKEN) and registers its metrics with reg
// (one Client per registry: a second one would register the same metrics
// twice and panic; nil registers nothing).
func New(baseURL, token string, opts Options, reg prometheus.Registerer) (*Client, error) {
	base, err := proto.PeerBaseURL("MCPBOX_SANDBOX_URL", baseURL, "http://127.0.0.1:8001")
	if err != nil {
		return nil, err
	}
	if token == "" {
		return nil, errors.New("MCPBOX_SANDBOX_TOKEN: must be set; the sandbox refuses requests without its service token")
	}
	opts = opts.withDefaults()
	b := newBreaker(opts.BreakerFailures, opts.BreakerOpen, opts.Now)
	return &Client{
		base:    base,
		token:   token,
		hc:      newHTTPClient(opts.Transport),
		margin:  opts.ExecMargin,
		breaker: b,
		metrics: newMetrics(reg, b),
	}, nil
}

// newHTTPClient is the one pooled client: 2 s dial, keep-alive, 64 idle
// connections per host, no proxy from the environment (the sandbox is an
// internal peer), no redirects followed. It has no overall timeout: every
// call carries its own deadline. rt, when not nil, replaces the transport.
func newHTTPClient(rt http.RoundTripper) *http.Client {
	if rt == nil {
		dialer := &net.Dialer{Timeout: dialTimeout, KeepAlive: tcpKeepAlive}
		rt = &http.Transport{
			DialContext:            dialer.DialContext,
			MaxIdleConns:           idleConnsPerHost,
			MaxIdleConnsPerHost:    idleConnsPerHost,
			IdleConnTimeout:        idleConnTimeout,
			TLSHandshakeTimeout:    tlsHandshakeTimeout,
			MaxResponseHeaderBytes: maxHeaderBytes,
		}
	}
	return &http.Client{
		Transport:     rt,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// State reports the breaker's state (for tests and diagnostics).
func (c *Client) State() State { return c.breaker.state() }

// Execute sends POST /v1/execute once. The HTTP timeout is
// req.Limits.TimeoutMS plus the margin. A 200 answer is returned whatever
// the tool did (check OK); every other ending is an *Error, or a plain
// error when req could not be encoded.
func (c *Client) Execute(ctx context.Context, req proto.ExecuteRequest) (proto.ExecuteResponse, error) {
	var out proto.ExecuteResponse
	if err := c.call(ctx, EndpointExecute, req, req.RequestID, req.Limits.TimeoutMS, &out, func() error { return checkExecute(&out) }); err != nil {
		return proto.ExecuteResponse{}, err
	}
	return out, nil
}

// MCPCall sends POST /v1/mcp/call once. The HTTP timeout is req.TimeoutMS
// (the sandbox's default of 60 s when zero) plus the margin. A 200 answer
// is returned whether or not a result was obtained (check OK).
func (c *Client) MCPCall(ctx context.Context, req proto.MCPCallRequest) (proto.MCPCallResponse, error) {
	timeoutMS := req.TimeoutMS
	if timeoutMS <= 0 {
		timeoutMS = proto.DefaultMCPCallTimeoutMS
	}
	var out proto.MCPCallResponse
	if err := c.call(ctx, EndpointMCPCall, req, req.RequestID, timeoutMS, &out, func() error { return checkMCPCall(&out) }); err != nil {
		return proto.MCPCallResponse{}, err
	}
	return out, nil
}

// call encodes body, asks the breaker, sends once and records the verdict
// and the metric. requestID is the body's request_id, the X-Request-Id
// when the context carries none.
func (c *Client) call(ctx context.Context, ep Endpoint, body any, requestID string, timeoutMS int, out any, check func() error) error {
	payload, err := encode(body)
	if err != nil {
		return fmt.Errorf("sandbox %s: encode the request: %w", ep, err)
	}
	t, refused := c.breaker.allow()
	if refused != nil {
		c.metrics.count(ep, resultCircuitOpen)
		return &Error{Endpoint: ep, Kind: CircuitOpen, RetryAfter: refused.retryIn, Failures: refused.failures}
	}
	x := exchange{ep: ep, payload: payload, requestID: requestID, timeout: time.Duration(timeoutMS)*time.Millisecond + c.margin}
	o := c.send(ctx, x, out, check)
	c.breaker.record(t, o.verdict)
	c.metrics.count(ep, o.result)
	if o.err != nil {
		o.err.Endpoint = ep
		return o.err
	}
	return nil
}

// encode marshals a request without HTML escaping, so arguments and code
// reach the sandbox as close to verbatim as JSON allows.
func encode(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("marshal: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// errCallTimeout is the cause of a call ended by its own HTTP timeout,
// told apart from the caller's context ending.
var errCallTimeout = errors.New("the sandbox call's HTTP timeout passed")

// exchange is one request to send.
type exchange struct {
	ep        Endpoint
	payload   []byte
	requestID string
	// timeout is the HTTP timeout: the tool's timeout plus the margin.
	timeout time.Duration
}

// send makes the one HTTP exchange and classifies its ending.
func (c *Client) send(ctx context.Context, x exchange, out any, check func() error) outcome {
	cctx, cancel := context.WithTimeoutCause(ctx, x.timeout, errCallTimeout)
	defer cancel()
	// sent turns true once the request headers were written: from then on
	// the request may have reached the sandbox and the tool may have run.
	var sent atomic.Bool
	tctx := httptrace.WithClientTrace(cctx, &httptrace.ClientTrace{WroteHeaders: func() { sent.Store(true) }})
	u := *c.base
	u.Path = c.base.Path + x.ep.path()
	req, err := http.NewRequestWithContext(tctx, http.MethodPost, u.String(), bytes.NewReader(x.payload))
	if err != nil {
		return outcome{err: &Error{Kind: Unreachable, Err: fmt.Errorf("build the request: %w", err)}, verdict: neutral, result: resultTransport}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set(proto.HeaderServiceToken, c.token)
	obs.SetOutgoing(req)
	if req.Header.Get(proto.HeaderRequestID) == "" && proto.ValidRequestID(x.requestID) {
		req.Header.Set(proto.HeaderRequestID, x.requestID)
	}

	resp, err := c.hc.Do(req)
	if err != nil {
		return interrupted(ctx, cctx, sent.Load(), x.timeout, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return statusFailure(resp)
	}
	body, err := readAnswer(resp)
	switch {
	case errors.Is(err, errAnswerTooLarge):
		return invalidAnswer(http.StatusOK, err)
	case err != nil:
		return interrupted(ctx, cctx, true, x.timeout, err)
	}
	return decodeAnswer(body, out, check)
}
