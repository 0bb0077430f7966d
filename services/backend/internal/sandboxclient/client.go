// Package sandboxclient is the backend's client of the sandbox (backend.md
// §11.1): one typed method per call of the table (analyze, execute, MCP
// discovery, fetch, the package catalogue, readiness), each with its
// deadline and retry rule, the service token and the request id on every
// request, the sandbox's answers checked against the contract of sandbox.md
// §4 (types in proto/sandbox.go), failures classified as a typed *Error that
// maps to the backend's API codes, and the metrics of backend.md §3.
//
// Deadlines cover the whole logical call, retries and backoff included.
// Retries happen only on a connect error (the request never reached the
// sandbox), at most twice, for analyze, discover and packages; execute
// (tools are not idempotent), fetch (OAuth token exchanges are not) and
// readyz are sent once. There is no circuit breaker: failures surface at
// once.
//
// Metrics: one observation per logical call, never per attempt, so a call
// that needed three connection attempts counts once. result is ok (an
// answer that decoded; a 503 readiness answer included), unavailable
// (Unavailable and Busy: no capacity to serve, whether the sandbox is down,
// slow or saturated) or error (Malformed, Refused, a request the client
// could not encode, or a call the caller's own context cancelled). Cached
// Packages answers make no request and are not counted.
package sandboxclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/obs"
)

// Timeouts of the client's own transport. Per-call deadlines (the table of
// backend.md §11.1) bound each call; these bound the steps of one attempt
// and are a backstop for the longest call.
const (
	dialTimeout         = 3 * time.Second
	tlsHandshakeTimeout = 5 * time.Second
	idleConnTimeout     = 90 * time.Second // below the sandbox's idle timeout of 120 s
	// clientTimeout backstops the longest call: execute at the maximum
	// timeout_ms (300 s) plus its 15 s margin.
	clientTimeout = 330 * time.Second
	// maxResponseBytes caps an answer: an execution's result and 1 MiB of
	// stdout (JSON-escaped) fit with room to spare.
	maxResponseBytes = 32 << 20
	// maxHeaderBytes caps the answer's headers.
	maxHeaderBytes = 64 << 10
)

// Retry rule: attempts of the retried calls and the backoff after the
// first failed attempt (doubled after each further one).
const (
	retriedAttempts = 3
	firstBackoff    = 100 * time.Millisecond
)

// Client calls one sandbox base URL. It is safe for concurrent use.
type Client struct {
	base    *url.URL
	token   string
	hc      *http.Client
	metrics *metrics
	backoff time.Duration
	// deadlines overrides the deadline of an op (tests).
	deadlines map[Op]time.Duration
	packages  packageCache
	now       func() time.Time
}

// Option configures New.
type Option func(*Client)

// WithHTTPClient makes the client send its requests through hc instead of
// its own *http.Client. hc should not follow redirects (a 3xx is reported
// as Malformed either way) and needs no timeout of its own: every call has
// a deadline.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) { c.hc = hc }
}

// withDeadline replaces the deadline of op (tests).
func withDeadline(op Op, d time.Duration) Option {
	return func(c *Client) { c.deadlines[op] = d }
}

// withBackoff replaces the first backoff between attempts (tests).
func withBackoff(d time.Duration) Option {
	return func(c *Client) { c.backoff = d }
}

// withClock replaces time.Now for the package cache's age (tests).
func withClock(now func() time.Time) Option {
	return func(c *Client) { c.now = now }
}

// New returns a client of the sandbox at baseURL (MCPBOX_SANDBOX_URL, e.g.
// http://127.0.0.1:8001) that sends token (MCPBOX_SANDBOX_TOKEN) on every
// /v1 request and registers its metrics with reg.
func New(baseURL, token string, reg prometheus.Registerer, opts ...Option) (*Client, error) {
	base, err := proto.PeerBaseURL("MCPBOX_SANDBOX_URL", baseURL, "http://127.0.0.1:8001")
	if err != nil {
		return nil, err
	}
	if token == "" {
		return nil, errors.New("MCPBOX_SANDBOX_TOKEN: must be set; the sandbox refuses requests without its service token")
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	c := &Client{
		base:      base,
		token:     token,
		metrics:   m,
		backoff:   firstBackoff,
		deadlines: map[Op]time.Duration{},
		now:       time.Now,
	}
	for _, o := range opts {
		o(c)
	}
	if c.hc == nil {
		c.hc = newHTTPClient()
	}
	return c, nil
}

// newHTTPClient returns the client's own *http.Client: bounded dial, TLS
// and header sizes, no proxy from the environment (the sandbox is a
// cluster-internal peer), no redirects followed.
func newHTTPClient() *http.Client {
	dialer := &net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}
	return &http.Client{
		Transport: &http.Transport{
			DialContext:            dialer.DialContext,
			TLSHandshakeTimeout:    tlsHandshakeTimeout,
			IdleConnTimeout:        idleConnTimeout,
			MaxIdleConns:           64,
			MaxIdleConnsPerHost:    32,
			ExpectContinueTimeout:  time.Second,
			MaxResponseHeaderBytes: maxHeaderBytes,
			ForceAttemptHTTP2:      true,
		},
		Timeout: clientTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// call describes one logical call.
type call struct {
	op     Op
	method string
	path   string
	// body is the JSON request body; nil for GET.
	body []byte
	// token sends the service token (every /v1 route; not /readyz).
	token bool
	// deadline bounds the whole call, retries included.
	deadline time.Duration
	// attempts is 1, or retriedAttempts for the calls retried on connect
	// errors.
	attempts int
	// readiness accepts a 503 with a readiness body as an answer.
	readiness bool
}

// errDeadline is the cause of a call's own deadline, told apart from the
// caller's context ending; it is a context.DeadlineExceeded.
var errDeadline = fmt.Errorf("the call's deadline (backend.md §11.1) passed: %w", context.DeadlineExceeded)

// do runs c, decodes the answer into out and checks it with valid; it
// records one metric observation.
func (c *Client) do(ctx context.Context, k call, out any, valid func(status int) error) (err error) {
	start := time.Now()
	defer func() { c.metrics.observe(k.op, outcome(ctx, err), time.Since(start)) }()
	if d, ok := c.deadlines[k.op]; ok {
		k.deadline = d
	}
	cctx, cancel := context.WithTimeoutCause(ctx, k.deadline, errDeadline)
	defer cancel()

	resp, attempts, err := c.send(cctx, k)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return unavailable(cctx, k.op, attempts, resp.StatusCode, fmt.Errorf("read the answer: %w", err))
	}
	if len(body) > maxResponseBytes {
		return &Error{
			Op: k.op, Kind: Malformed, HTTPStatus: resp.StatusCode, Attempts: attempts,
			Err: fmt.Errorf("the answer is larger than %d MiB", maxResponseBytes>>20),
		}
	}
	if err := interpret(k.op, resp.StatusCode, resp.Header, body, k.readiness, out, valid); err != nil {
		err.Attempts = attempts
		return err
	}
	return nil
}

// send sends k, retrying connect errors when k allows; it returns the
// response and the number of attempts made.
func (c *Client) send(ctx context.Context, k call) (*http.Response, int, error) {
	wait := c.backoff
	for attempt := 1; ; attempt++ {
		req, err := c.newRequest(ctx, k)
		if err != nil {
			return nil, attempt, err
		}
		resp, err := c.hc.Do(req)
		if err == nil {
			return resp, attempt, nil
		}
		if attempt >= k.attempts || !isConnectError(err) || ctx.Err() != nil {
			return nil, attempt, unavailable(ctx, k.op, attempt, 0, err)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, attempt, unavailable(ctx, k.op, attempt, 0, err)
		case <-t.C:
		}
		wait *= 2
	}
}

// newRequest builds one attempt's request: a fresh body reader, the service
// token when k needs it, the caller's request id.
func (c *Client) newRequest(ctx context.Context, k call) (*http.Request, error) {
	u := *c.base
	u.Path = c.base.Path + k.path
	var body io.Reader
	if k.body != nil {
		body = bytes.NewReader(k.body)
	}
	req, err := http.NewRequestWithContext(ctx, k.method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("sandbox %s: build the request: %w", k.op, err)
	}
	req.Header.Set("Accept", "application/json")
	if k.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if k.token {
		req.Header.Set(proto.HeaderServiceToken, c.token)
	}
	obs.SetOutgoing(req)
	return req, nil
}

// encode marshals a request body; a failure is a defect of the caller's
// value (an invalid json.RawMessage), not of the sandbox.
func encode(op Op, v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("sandbox %s: encode the request: %w", op, err)
	}
	return b, nil
}

// isConnectError reports whether err happened while connecting, so the
// request cannot have reached the sandbox and may be sent again.
func isConnectError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// unavailable builds the Unavailable error of a call that got no (complete)
// answer; Timeout is set when a deadline ended it.
func unavailable(ctx context.Context, op Op, attempts, status int, cause error) *Error {
	e := &Error{Op: op, Kind: Unavailable, HTTPStatus: status, Attempts: attempts, Err: cause}
	var ne net.Error
	e.Timeout = errors.Is(ctx.Err(), context.DeadlineExceeded) || (errors.As(cause, &ne) && ne.Timeout())
	if errors.Is(context.Cause(ctx), errDeadline) && !errors.Is(cause, errDeadline) {
		e.Err = fmt.Errorf("%w: %w", errDeadline, cause)
	}
	return e
}

// outcome maps a call's error to the result label.
func outcome(ctx context.Context, err error) string {
	var e *Error
	switch {
	case err == nil:
		return resultOK
	case errors.Is(ctx.Err(), context.Canceled):
		return resultError // the caller gave up; not the sandbox's fault
	case errors.As(err, &e) && (e.Kind == Unavailable || e.Kind == Busy):
		return resultUnavailable
	}
	return resultError
}
