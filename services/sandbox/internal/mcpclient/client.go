package mcpclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/canon"
	"github.com/mcpbox/mcpbox/proto/obs"
	"github.com/mcpbox/mcpbox/proto/redact"
)

// HTTPClientFunc returns the HTTP client for one session under the given
// egress policy. Production passes the broker's guarded client (§12), which
// checks the URL and every dialled address; its CheckRedirect and Jar are
// not used (redirects are never followed).
type HTTPClientFunc func(allowed proto.AllowedHosts) (*http.Client, error)

// Options tune the client; zero values take the defaults of sandbox.md §13.
type Options struct {
	// Version is clientInfo.version (the build version).
	Version string
	// IsEgressDenied reports that an HTTP client error is an SSRF refusal
	// (EgressDenied); nil means none is.
	IsEgressDenied func(error) bool
	// MaxSessions (64), IdleTimeout (5 min), MaxAge (30 min) bound the pool.
	MaxSessions int
	IdleTimeout time.Duration
	MaxAge      time.Duration
	// ToolsTTL (5 min) is the age after which a session's cached tools/list
	// is refreshed before a call.
	ToolsTTL time.Duration
	// DiscoverBackoff (0.5 s, 1 s) are the waits before discovery's retries
	// of transient failures.
	DiscoverBackoff []time.Duration
	// Now is the clock (time.Now).
	Now func() time.Time
}

// Client calls external MCP servers through a session pool. It is safe for
// concurrent use.
type Client struct {
	log            *slog.Logger
	metrics        *metrics
	httpClient     HTTPClientFunc
	isEgressDenied func(error) bool
	version        string
	toolsTTL       time.Duration
	backoff        []time.Duration
	now            func() time.Time
	pool           *pool
	closing        sync.WaitGroup
}

// New returns a Client. Its metrics (mcpbox_sandbox_mcp_requests_total,
// mcpbox_sandbox_mcp_sessions) are registered on reg.
func New(log *slog.Logger, reg prometheus.Registerer, httpClient HTTPClientFunc, opts Options) *Client {
	c := &Client{
		log:            log,
		metrics:        newMetrics(reg),
		httpClient:     httpClient,
		isEgressDenied: opts.IsEgressDenied,
		version:        opts.Version,
		toolsTTL:       orDefault(opts.ToolsTTL, 5*time.Minute),
		backoff:        opts.DiscoverBackoff,
		now:            opts.Now,
	}
	if c.backoff == nil {
		c.backoff = []time.Duration{500 * time.Millisecond, time.Second}
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.version == "" {
		c.version = "dev"
	}
	maxSessions := opts.MaxSessions
	if maxSessions <= 0 {
		maxSessions = 64
	}
	c.pool = &pool{
		sessions: map[string]*session{},
		max:      maxSessions,
		idle:     orDefault(opts.IdleTimeout, 5*time.Minute),
		maxAge:   orDefault(opts.MaxAge, 30*time.Minute),
		now:      c.now,
		closeFn:  c.closeSession,
		gauge:    func(n int) { c.metrics.sessions.Set(float64(n)) },
	}
	return c
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Close closes every pooled session (each sends its best-effort DELETE) and
// waits for the closes in flight.
func (c *Client) Close() {
	c.pool.closeAll()
	c.closing.Wait()
}

// closeSession closes a session in the background: the SDK sends DELETE
// with the session id, bounded by deleteTimeout in the round-tripper.
func (c *Client) closeSession(s *session) {
	c.closing.Go(func() {
		if err := s.cs.Close(); err != nil {
			c.log.Debug("mcp session close failed", obs.KeyError, innermost(err)) // innermost: no URL (§15.2)
		}
		s.hc.CloseIdleConnections()
	})
}

// open initialises a new session for src.
func (c *Client) open(ctx context.Context, src source) (*session, error) {
	hc, err := c.httpClient(src.allowed)
	if err != nil {
		return nil, fmt.Errorf("http client: %w", err)
	}
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	client := &http.Client{
		Transport:     &roundTripper{base: base, origin: src.origin, headers: src.headers},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       hc.Timeout,
	}
	s := &session{key: src.key, hc: client, created: c.now()}
	mc := mcp.NewClient(&mcp.Implementation{Name: "mcpbox", Version: c.version}, &mcp.ClientOptions{
		Logger:                 slog.New(slog.DiscardHandler),
		ToolListChangedHandler: func(context.Context, *mcp.ToolListChangedRequest) { s.toolsStale.Store(true) },
	})
	t := &mcp.StreamableClientTransport{
		Endpoint:             src.url,
		HTTPClient:           client,
		MaxRetries:           -1,
		DisableStandaloneSSE: true,
		MaxEventSize:         maxBodyBytes,
	}
	cs, err := mc.Connect(ctx, t, nil)
	if err != nil {
		client.CloseIdleConnections()
		return nil, fmt.Errorf("initialize: %w", err)
	}
	s.cs = cs
	return s, nil
}

// withSession runs fn on a pooled or new session. It retries only when the
// request provably did not reach the server (sandbox.md §13.3): once after a
// connection that could not be opened, and once, on a new session, after a
// 404 for a request with a session id.
func (c *Client) withSession(ctx context.Context, src source, fn func(context.Context, *session, *observer) error) (proto.MCPSession, *observer, error) {
	retriedConnect, retriedSession := false, false
	for {
		obs := &observer{}
		octx := withObserver(ctx, obs)
		used := proto.SessionReused
		s := c.pool.get(src.key)
		var err error
		if s == nil {
			used = proto.SessionNew
			s, err = c.open(octx, src)
			if err == nil {
				c.pool.put(s)
			}
		}
		if err == nil {
			err = fn(octx, s, obs)
			c.pool.release(s, err != nil && (!keepsSession(err) || obs.sessionMissing()))
			if err == nil {
				return used, obs, nil
			}
			if (errors.Is(err, mcp.ErrSessionMissing) || obs.sessionMissing()) && !retriedSession && ctx.Err() == nil {
				retriedSession = true
				continue
			}
		}
		if !retriedConnect && ctx.Err() == nil && obs.connectFailed() {
			retriedConnect = true
			continue
		}
		return used, obs, err
	}
}

// keepsSession reports errors after which the session is still sound.
func keepsSession(err error) bool {
	return errors.Is(err, errDefinitionChanged) || isRPCError(err)
}

// Discover lists the tools of an external server (sandbox.md §4.5). It
// always returns a response: failures are in Error with OK false. Only a
// malformed request (ErrInvalidRequest) is returned as an error.
func (c *Client) Discover(ctx context.Context, req proto.DiscoverRequest) (proto.DiscoverResponse, error) {
	start := c.now()
	src, err := newSource(req.URL, req.Headers, req.AllowedHosts)
	if err != nil {
		return proto.DiscoverResponse{}, err
	}
	timeout := time.Duration(clampMS(req.TimeoutMS, proto.DefaultDiscoverTimeoutMS, proto.MaxDiscoverTimeoutMS)) * time.Millisecond
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	red := newRedactor(req.Headers)

	var resp proto.DiscoverResponse
	for attempt := 0; ; attempt++ {
		var init *mcp.InitializeResult
		var tools []rawTool
		_, obs, err := c.withSession(ctx, src, func(ctx context.Context, s *session, obs *observer) error {
			init = s.cs.InitializeResult()
			var err error
			tools, err = s.toolsList(ctx, obs, true, c.toolsTTL, c.now())
			return err
		})
		if err == nil {
			resp = proto.DiscoverResponse{OK: true, Tools: make([]proto.DiscoveredTool, 0, len(tools))}
			if init != nil {
				resp.ProtocolVersion = init.ProtocolVersion
				resp.Instructions = init.Instructions
				if init.ServerInfo != nil {
					resp.ServerInfo = proto.ServerInfo{Name: init.ServerInfo.Name, Version: init.ServerInfo.Version}
				}
			}
			for _, t := range tools {
				resp.Tools = append(resp.Tools, t.discovered())
			}
			break
		}
		ue := c.upstreamError(ctx, err, obs, red)
		if attempt < len(c.backoff) && ctx.Err() == nil && transient(ue) && sleep(ctx, c.backoff[attempt]) {
			continue
		}
		resp = proto.DiscoverResponse{Tools: []proto.DiscoveredTool{}, Error: ue}
		break
	}
	resp.LatencyMS = c.now().Sub(start).Milliseconds()
	c.metrics.record(opDiscover, resp.Error)
	return resp, nil
}

// transient reports the failures discovery retries (sandbox.md §13.3).
func transient(e *proto.UpstreamError) bool {
	switch e.Type {
	case proto.ErrTypeTimeout:
		return true
	case proto.ErrTypeHTTPError:
		switch e.Status {
		case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return true
		}
	}
	return false
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func clampMS(v, def, maxMS int) int {
	if v <= 0 {
		return def
	}
	return min(v, maxMS)
}

// Call calls one tool on an external server (sandbox.md §4.6). Failures to
// obtain a result are in the response (OK false, Error set); a result with
// isError true is a result. The error is ErrHashMismatch or
// ErrInvalidRequest (wrapped), for which nothing was sent upstream.
func (c *Client) Call(ctx context.Context, req proto.MCPCallRequest) (proto.MCPCallResponse, error) {
	start := c.now()
	if req.Tool != req.Definition.Name {
		return proto.MCPCallResponse{}, fmt.Errorf("%w: tool: must equal definition.name", ErrInvalidRequest)
	}
	hash, err := canon.HashExternal(req.Definition, req.Manifest)
	if err != nil {
		return proto.MCPCallResponse{}, fmt.Errorf("%w: %w", ErrInvalidRequest, err)
	}
	if hash != req.PinnedHash {
		c.metrics.requests.WithLabelValues(opCall, outcomeHashMismatch).Inc()
		return proto.MCPCallResponse{}, ErrHashMismatch
	}
	src, err := newSource(req.URL, req.Headers, req.AllowedHosts)
	if err != nil {
		return proto.MCPCallResponse{}, err
	}
	var args any
	if len(strings.TrimSpace(string(req.Arguments))) > 0 && string(req.Arguments) != "null" {
		args = req.Arguments
	}
	timeout := time.Duration(clampMS(req.TimeoutMS, proto.DefaultMCPCallTimeoutMS, proto.MaxMCPCallTimeoutMS)) * time.Millisecond
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	red := newRedactor(req.Headers)

	var result json.RawMessage
	used, obs, err := c.withSession(ctx, src, func(ctx context.Context, s *session, obs *observer) error {
		tools, err := s.toolsList(ctx, obs, false, c.toolsTTL, c.now())
		if err != nil {
			return err
		}
		if err := checkDefinition(tools, req.Definition); err != nil {
			return err
		}
		obs.result(methodCallTool)
		if _, err := s.cs.CallTool(ctx, &mcp.CallToolParams{Name: req.Tool, Arguments: args}); err != nil {
			return fmt.Errorf("tools/call: %w", err)
		}
		raw, ok := obs.result(methodCallTool)
		if !ok {
			return fmt.Errorf("%w: tools/call returned no result", errProtocol)
		}
		if len(raw) > proto.MaxMCPResultBytes {
			return errTooLarge
		}
		result = raw
		return nil
	})
	resp := proto.MCPCallResponse{Session: used}
	if err != nil {
		resp.Error = c.upstreamError(ctx, err, obs, red)
	} else {
		resp.OK, resp.Result = true, redactResult(red, result)
	}
	resp.DurationMS = c.now().Sub(start).Milliseconds()
	c.metrics.record(opCall, resp.Error)
	return resp, nil
}

// redactResult removes credential header values from a result. The bytes
// stay verbatim unless a credential is present.
func redactResult(red *redact.Redactor, raw json.RawMessage) json.RawMessage {
	if red.String(string(raw)) == string(raw) {
		return raw
	}
	out, err := red.JSON(raw)
	if err != nil {
		return json.RawMessage(red.String(string(raw)))
	}
	return out
}

func isRPCError(err error) bool {
	return classify(context.Background(), err, nil, 0, "", nil, nil, false, nil).Type == proto.ErrTypeRPCError
}
