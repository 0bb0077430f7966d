package backend

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
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

// Transport limits and deadlines (gateway.md §7.1, §9, §10.1).
const (
	dialTimeout      = 2 * time.Second
	tcpKeepAlive     = 30 * time.Second
	idleConnTimeout  = 90 * time.Second
	maxHeaderBytes   = 64 << 10
	maxIdlePerHost   = 32
	readTimeout      = 10 * time.Second // catalog, policy, plan
	executionTimeout = 30 * time.Second // executions: the spec names none; a batch of 100 records is small
	// DefaultManageTimeout is the timeout of a management call given none
	// (gateway.md §10.1: 30 s; mcpbox_test_code 330 s and
	// mcpbox_discover_external_tools 90 s are the caller's to pass).
	DefaultManageTimeout = 30 * time.Second
	// DefaultEventIdleTimeout is how long the event stream may stay silent
	// before it is considered dead (gateway.md §7.2; the backend pings every
	// 15 s).
	DefaultEventIdleTimeout = 45 * time.Second
)

// Answer size caps: a catalog of 5000 tools with their schemas, a plan with
// its code, a management result with a test run's stdout.
const (
	maxCatalogBytes = 64 << 20
	maxAnswerBytes  = 16 << 20
	// maxErrorBytes caps the body read from a non-success answer.
	maxErrorBytes = 64 << 10
)

// Client calls the backend's internal API. It is safe for concurrent use.
type Client struct {
	base      *url.URL
	token     string
	hc        *http.Client
	log       *slog.Logger
	metrics   *metrics
	eventIdle time.Duration
	// readTimeout bounds catalog, policy and plan requests (tests shorten it).
	readTimeout time.Duration
}

// Option configures New.
type Option func(*Client)

// WithHTTPClient sends the requests through hc instead of the client's own
// pooled *http.Client. hc must not follow redirects and needs no timeout:
// every call has its own deadline.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) { c.hc = hc }
}

// WithLogger sets the logger (default: discard). The client logs only what
// it otherwise drops: skipped unknown events and execution records the
// backend rejected.
func WithLogger(log *slog.Logger) Option {
	return func(c *Client) { c.log = log }
}

// WithEventIdleTimeout replaces the event stream's idle limit
// (DefaultEventIdleTimeout); tests use a short one.
func WithEventIdleTimeout(d time.Duration) Option {
	return func(c *Client) { c.eventIdle = d }
}

// withReadTimeout replaces the deadline of catalog, policy and plan
// requests (tests).
func withReadTimeout(d time.Duration) Option {
	return func(c *Client) { c.readTimeout = d }
}

// New returns a client of the backend's internal listener at baseURL
// (MCPBOX_BACKEND_INTERNAL_URL) that sends token (MCPBOX_BACKEND_TOKEN) on
// every request and registers its metric with reg (promauto: a second
// client on one registry panics).
func New(baseURL, token string, reg prometheus.Registerer, opts ...Option) (*Client, error) {
	base, err := proto.PeerBaseURL("MCPBOX_BACKEND_INTERNAL_URL", baseURL, "http://127.0.0.1:8004")
	if err != nil {
		return nil, err
	}
	if token == "" {
		return nil, errors.New("MCPBOX_BACKEND_TOKEN: must be set; the backend refuses internal requests without its service token")
	}
	c := &Client{
		base:        base,
		token:       token,
		log:         slog.New(slog.DiscardHandler),
		metrics:     newMetrics(reg),
		eventIdle:   DefaultEventIdleTimeout,
		readTimeout: readTimeout,
	}
	for _, o := range opts {
		o(c)
	}
	if c.hc == nil {
		c.hc = newHTTPClient()
	}
	return c, nil
}

// newHTTPClient returns the pooled client: bounded dial and header size,
// TCP keep-alive, no proxy (the backend is an internal peer), no redirects.
func newHTTPClient() *http.Client {
	dialer := &net.Dialer{Timeout: dialTimeout, KeepAlive: tcpKeepAlive}
	return &http.Client{
		Transport: &http.Transport{
			DialContext:            dialer.DialContext,
			TLSHandshakeTimeout:    dialTimeout,
			IdleConnTimeout:        idleConnTimeout,
			MaxIdleConns:           2 * maxIdlePerHost,
			MaxIdleConnsPerHost:    maxIdlePerHost,
			MaxResponseHeaderBytes: maxHeaderBytes,
			ExpectContinueTimeout:  time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// call describes one request.
type call struct {
	endpoint Endpoint
	method   string
	path     string
	query    url.Values
	// header holds extra request headers (If-None-Match, Accept).
	header http.Header
	// body is the JSON request body; nil for GET.
	body []byte
	// timeout bounds the request, reading the answer included; 0: none
	// (the event stream).
	timeout time.Duration
	// maxBody caps the answer's body.
	maxBody int64
}

// answer is a complete answer.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// errCallTimeout is the cause of a call's own deadline, told apart from the
// caller's.
var errCallTimeout = errors.New("the call's own deadline passed")

// do sends k and reads the whole answer, whatever its status. A failure is
// a *TransportError.
func (c *Client) do(ctx context.Context, k call) (answer, error) {
	if k.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, k.timeout, errCallTimeout)
		defer cancel()
	}
	resp, sent, err := c.send(ctx, k)
	if err != nil {
		return answer{}, transportError(ctx, k.endpoint, sent.Load(), err)
	}
	defer func() { _ = resp.Body.Close() }()
	limit := k.maxBody
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		limit = maxErrorBytes
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return answer{}, transportError(ctx, k.endpoint, true, fmt.Errorf("read the answer: %w", err))
	}
	if int64(len(body)) > limit {
		if limit == maxErrorBytes {
			body = body[:limit] // an error body is only read for its envelope
		} else {
			return answer{}, &MalformedError{
				Endpoint: k.endpoint, Status: resp.StatusCode,
				Err: fmt.Errorf("the answer is larger than %d MiB", limit>>20),
			}
		}
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: body}, nil
}

// send builds and sends k's request. sent becomes true once the request
// headers were written, so a failure before that provably reached nothing.
func (c *Client) send(ctx context.Context, k call) (*http.Response, *atomic.Bool, error) {
	sent := &atomic.Bool{}
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{WroteHeaders: func() { sent.Store(true) }})
	u := *c.base
	u.Path = c.base.Path + k.path
	u.RawQuery = k.query.Encode()
	var body io.Reader
	if k.body != nil {
		body = bytes.NewReader(k.body)
	}
	req, err := http.NewRequestWithContext(ctx, k.method, u.String(), body)
	if err != nil {
		return nil, sent, fmt.Errorf("build the request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	for name, values := range k.header {
		req.Header[name] = values
	}
	if k.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set(proto.HeaderServiceToken, c.token)
	obs.SetOutgoing(req)
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, sent, err // transportError adds the endpoint
	}
	return resp, sent, nil
}

// transportError classifies a request that got no complete answer.
func transportError(ctx context.Context, ep Endpoint, sent bool, err error) *TransportError {
	var ne net.Error
	timeout := errors.Is(ctx.Err(), context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
	if errors.Is(context.Cause(ctx), errCallTimeout) && !errors.Is(err, errCallTimeout) {
		err = fmt.Errorf("%w: %w", errCallTimeout, err)
	}
	return &TransportError{Endpoint: ep, Sent: sent, Timeout: timeout, Err: err}
}

// decodeEnvelope decodes the error envelope of backend.md §15.1.
func decodeEnvelope(body []byte) (proto.Error, bool) {
	var env proto.ErrorBody
	if err := json.Unmarshal(body, &env); err != nil || env.Error.Code == "" {
		return proto.Error{}, false
	}
	return env.Error, true
}

// decodeJSON decodes a success answer leniently (unknown fields are
// ignored: operations.md §6.3) into out.
func decodeJSON(ep Endpoint, a answer, out any) error {
	if err := json.Unmarshal(a.body, out); err != nil {
		return &MalformedError{Endpoint: ep, Status: a.status, Err: fmt.Errorf("decode the body: %w", err)}
	}
	return nil
}

// observe counts one request of ep ending with err, unless the caller's
// own context cancelled it.
func (c *Client) observe(ctx context.Context, ep Endpoint, err error) {
	if err != nil && errors.Is(ctx.Err(), context.Canceled) {
		return
	}
	c.metrics.inc(ep, result(err))
}
