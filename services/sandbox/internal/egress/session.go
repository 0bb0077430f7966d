package egress

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Limits are the caps of one Session (sandbox.md §12.6). Zero means no cap
// for MaxRequests and MaxConcurrent only.
type Limits struct {
	// MaxRequests is the request budget; 0 = unlimited.
	MaxRequests int
	// MaxConcurrent is how many requests may run at once; 0 = unlimited.
	MaxConcurrent int
	// MaxRequestBody bounds a request body.
	MaxRequestBody int64
	// MaxResponseBody is what Do returns of a response body (then Truncated).
	MaxResponseBody int64
	// RequestTimeout bounds one request; the caller's context bounds it too.
	RequestTimeout time.Duration
}

// ToolLimits are the caps of one execution's tool HTTP.
func ToolLimits() Limits {
	return Limits{
		MaxRequests: MaxToolRequests, MaxConcurrent: MaxToolConcurrent,
		MaxRequestBody: MaxToolRequestBody, MaxResponseBody: MaxToolResponseBody,
		RequestTimeout: MaxToolRequestTimeout,
	}
}

// Request is one outgoing request as the worker asked for it (the
// http_request frame of sandbox.md §11). The broker builds the real request
// itself from it (§12.5).
type Request struct {
	Method string
	URL    string
	Header http.Header
	Body   []byte
	// Timeout is the tool's own timeout; 0 or more than the cap means the
	// cap.
	Timeout time.Duration
}

// Response is what the tool receives: the status, headers and at most
// Limits.MaxResponseBody bytes of the decoded body.
type Response struct {
	Status    int
	Header    http.Header
	Body      []byte
	Truncated bool
}

// Session is the broker for one execution, one /v1/fetch call or one
// external MCP session: one policy, one transport (so a connection opened
// under one policy is never reused under another), one budget. Close it when
// done. It is safe for concurrent use.
type Session struct {
	b         *Broker
	policy    *Policy
	source    Source
	limits    Limits
	transport *http.Transport

	mu       sync.Mutex
	used     int
	inflight int
}

// NewSession returns a session for allow's policy. source labels its
// metrics; limits are its caps (ToolLimits for executions).
func (b *Broker) NewSession(allow Allowlist, source Source, limits Limits) *Session {
	s := &Session{b: b, policy: b.Policy(allow), source: source, limits: limits}
	s.transport = b.newTransport(s.dial)
	return s
}

// Policy returns the session's policy.
func (s *Session) Policy() *Policy { return s.policy }

// Close closes the session's idle connections; requests still running
// finish on their own.
func (s *Session) Close() { s.transport.CloseIdleConnections() }

// Client returns an *http.Client over the session, for parent-side users
// (the external MCP client): redirects are returned, never followed, and
// Limits.RequestTimeout (if set) bounds each request including its body.
func (s *Session) Client() *http.Client {
	return &http.Client{
		Transport: s,
		Timeout:   s.limits.RequestTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// Do performs one tool request: budget, shaping and URL checks, the guarded
// dial, then at most Limits.MaxResponseBody bytes of the decoded body. A
// refusal is a *BlockedError; any other failure a *RequestError whose Kind
// is the metric outcome. 3xx responses are returned as they are.
func (s *Session) Do(ctx context.Context, r Request) (resp Response, err error) {
	defer func() { s.b.record(ctx, s.source, err) }()
	release, err := s.begin()
	if err != nil {
		return Response{}, err
	}
	defer release()
	if s.limits.MaxRequestBody > 0 && int64(len(r.Body)) > s.limits.MaxRequestBody {
		return Response{}, &RequestError{Kind: OutcomeTooLarge, Message: fmt.Sprintf(
			"the request body is %d bytes; the limit is %s", len(r.Body), byteSize(s.limits.MaxRequestBody))}
	}
	timeout := s.limits.RequestTimeout
	if r.Timeout > 0 && (timeout == 0 || r.Timeout < timeout) {
		timeout = r.Timeout
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	var body io.Reader
	if len(r.Body) > 0 {
		body = bytes.NewReader(r.Body)
	}
	out, t, err := s.prepare(ctx, r.Method, r.URL, r.Header, body)
	if err != nil {
		return Response{}, err
	}
	hr, err := s.transport.RoundTrip(out)
	if err != nil {
		return Response{}, s.classify(ctx, t, err)
	}
	defer func() { _ = hr.Body.Close() }()
	resp = Response{Status: hr.StatusCode, Header: hr.Header}
	limit := s.limits.MaxResponseBody
	if limit <= 0 {
		limit = MaxToolResponseBody
	}
	resp.Body, err = io.ReadAll(io.LimitReader(hr.Body, limit+1))
	if err != nil {
		return Response{}, s.classify(ctx, t, err)
	}
	if int64(len(resp.Body)) > limit {
		resp.Body, resp.Truncated = resp.Body[:limit], true
	}
	return resp, nil
}

// RoundTrip implements http.RoundTripper for parent-side users: the same
// budget, shaping, URL checks and guarded dial as Do, without reading the
// body. It never follows redirects.
func (s *Session) RoundTrip(req *http.Request) (resp *http.Response, err error) {
	ctx := req.Context()
	defer func() { s.b.record(ctx, s.source, err) }()
	release, err := s.begin()
	if err != nil {
		closeBody(req)
		return nil, err
	}
	defer release()
	if s.limits.MaxRequestBody > 0 && req.ContentLength > s.limits.MaxRequestBody {
		closeBody(req)
		return nil, &RequestError{Kind: OutcomeTooLarge, Message: fmt.Sprintf(
			"the request body is %d bytes; the limit is %s", req.ContentLength, byteSize(s.limits.MaxRequestBody))}
	}
	var body io.Reader
	if req.Body != nil && req.Body != http.NoBody {
		body = req.Body
	}
	out, t, err := s.prepare(ctx, req.Method, req.URL.String(), req.Header, body)
	if err != nil {
		closeBody(req)
		return nil, err
	}
	out.ContentLength = req.ContentLength
	out.GetBody = req.GetBody
	resp, err = s.transport.RoundTrip(out)
	if err != nil {
		return nil, s.classify(ctx, t, err)
	}
	return resp, nil
}

// closeBody closes a request body RoundTrip will not send, as the
// RoundTripper contract requires.
func closeBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}

// begin takes one request from the budget and one concurrency slot.
func (s *Session) begin() (release func(), err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.limits.MaxRequests > 0 && s.used >= s.limits.MaxRequests {
		return nil, &RequestError{Kind: OutcomeBudgetExceeded, Message: fmt.Sprintf(
			"This execution already made %d HTTP requests (the limit).", s.limits.MaxRequests)}
	}
	if s.limits.MaxConcurrent > 0 && s.inflight >= s.limits.MaxConcurrent {
		return nil, &RequestError{Kind: OutcomeBudgetExceeded, Message: fmt.Sprintf(
			"At most %d HTTP requests may run at once; wait for one to finish.", s.limits.MaxConcurrent)}
	}
	s.used++
	s.inflight++
	return func() {
		s.mu.Lock()
		s.inflight--
		s.mu.Unlock()
	}, nil
}

// classify turns a transport error into a *BlockedError or a *RequestError
// whose message names host and port only.
func (s *Session) classify(ctx context.Context, t Target, err error) error {
	var be *BlockedError
	var re *RequestError
	switch {
	case errors.As(err, &be):
		return be
	case errors.As(err, &re):
		return re
	}
	hp := t.HostPort()
	var netErr interface{ Timeout() bool }
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) ||
		(errors.As(err, &netErr) && netErr.Timeout()):
		return &RequestError{Kind: OutcomeTimeout, Message: fmt.Sprintf("the request to '%s' timed out", hp), Err: err}
	case errors.Is(err, context.Canceled):
		return &RequestError{Kind: OutcomeTimeout, Message: fmt.Sprintf("the request to '%s' was cancelled", hp), Err: err}
	}
	if msg, ok := tlsMessage(err); ok {
		return &RequestError{Kind: OutcomeTLSError, Message: fmt.Sprintf("TLS with '%s' failed: %s", hp, msg), Err: err}
	}
	if isHeaderTooLarge(err) {
		return &RequestError{Kind: OutcomeTooLarge, Message: fmt.Sprintf(
			"the response headers of '%s' exceed %s", hp, byteSize(MaxResponseHeaderBytes)), Err: err}
	}
	return &RequestError{Kind: OutcomeConnectError, Message: fmt.Sprintf(
		"the connection to '%s' failed before a complete response arrived", hp), Err: err}
}

// tlsMessage returns a safe description of a TLS or certificate failure.
func tlsMessage(err error) (string, bool) {
	var (
		hostErr  x509.HostnameError
		authErr  x509.UnknownAuthorityError
		invalid  x509.CertificateInvalidError
		verify   *tls.CertificateVerificationError
		record   tls.RecordHeaderError
		alert    tls.AlertError
		echError *tls.ECHRejectionError
	)
	switch {
	case errors.As(err, &hostErr):
		return hostErr.Error(), true
	case errors.As(err, &authErr):
		return "the certificate is signed by an unknown authority", true
	case errors.As(err, &invalid):
		return invalid.Error(), true
	case errors.As(err, &verify):
		return "the certificate could not be verified", true
	case errors.As(err, &record):
		return "the server did not answer with TLS", true
	case errors.As(err, &alert):
		return alert.Error(), true
	case errors.As(err, &echError):
		return "encrypted client hello was rejected", true
	}
	return "", false
}

// isHeaderTooLarge reports net/http's "server response headers exceeded"
// error, which has no type of its own.
func isHeaderTooLarge(err error) bool {
	return err != nil && bytes.Contains([]byte(err.Error()), []byte("response headers exceeded"))
}

// byteSize formats a cap: "4 MiB", "64 KiB", or bytes.
func byteSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}
