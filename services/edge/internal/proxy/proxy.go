// Package proxy relays a verified /mcp exchange to the gateway (edge.md §11):
// one shared HTTP/1.1 transport, the request body streamed through a cap and
// a body deadline, the response streamed with a flush after every write and
// a per-write stall deadline, MAX_EXCHANGE as a hard cap, and upstream
// failures mapped to 502, 504 or an aborted stream. No retries.
//
// How an exchange ends, what the client gets, and Result.Outcome /
// Result.ErrorKind (the metrics labels):
//
//	before the gateway answered:
//	  Content-Length over MAX_BODY (gateway not contacted)  413 request_too_large  too_large
//	  streamed body passes MAX_BODY                         413 request_too_large  too_large
//	  body not complete: BODY_TIMEOUT, or the client's      408 request_timeout    timeout
//	    body broke off (disconnect, bad chunking)
//	  raw query with a space or control byte (HTTP/2 only)  400 invalid_request    forbidden
//	  Stop closed                                           503 unavailable        unavailable   + Retry-After: 5
//	  client gone                                           nothing written        proxied       Status 499
//	  dial refused, DNS, TCP/TLS connect failure or timeout 502 upstream_unavailable upstream_error / dial
//	  no headers within UPSTREAM_HEADER_TIMEOUT, or         504 upstream_timeout   upstream_error / timeout
//	    MAX_EXCHANGE reached
//	  reset or closed after connecting, malformed answer,   502 upstream_unavailable upstream_error / reset
//	    101 Switching Protocols
//	after the gateway's status and headers were relayed:
//	  end of the gateway's body, or Stop closed             clean end              proxied
//	  client disconnected                                   stream cut             proxied
//	  client stopped reading for WRITE_STALL                stream cut             timeout
//	  MAX_EXCHANGE reached                                  connection aborted     timeout / aborted
//	  gateway read error (reset, truncated body)            connection aborted     upstream_error / aborted
//
// Gateway failures (502, 504, an aborted stream) are upstream_error; timeout
// is kept for the client's own slowness (408, write stall) and for the
// MAX_EXCHANGE cut, a policy limit rather than a gateway fault. Every
// failure to reach the gateway is a 502 (dial timeouts included); 504 means
// connected but no answer in time.
//
// Aborting a started response: on HTTP/1.x Serve hijacks the connection and
// closes it, so the client sees the body end without its terminating chunk
// (an unexpected EOF), and Serve still returns its Result. Where hijacking is
// not possible (HTTP/2, or a ResponseWriter wrapper without Unwrap) it
// panics with http.ErrAbortHandler, the net/http way to reset the stream:
// the metrics are recorded while the panic unwinds, but no Result is
// returned, so the caller's recovery must re-panic http.ErrAbortHandler
// rather than count it as a panic.
//
// The ResponseWriter must lead to net/http's own through Unwrap: flushing,
// deadlines and hijacking use http.ResponseController.
//
// Deadlines on the client connection: the body deadline (BODY_TIMEOUT) is a
// read deadline set when the exchange starts and cleared once the body has
// been read to its end, so it never bounds the answer. Before every write
// the write deadline moves to now + WRITE_STALL; the last one stays, so the
// server's terminating chunk is bounded too (net/http clears the write
// deadline once the response is finished, before the next request on a
// keep-alive connection).
//
// Smaller decisions. The upstream request carries no User-Agent unless the
// client sent one (Go's default is suppressed). The raw query comes from the
// request target (r.RequestURI); a bare "?" is kept. Go's transport resends
// a request on a fresh connection only when a reused keep-alive connection
// failed and nothing of the request had been written, or the request is a
// bodiless GET (or carries an Idempotency-Key header); a POST with a body is
// never resent. upstream_duration_seconds{phase="complete"} is observed only
// for exchanges the gateway answered.
package proxy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mcpbox/mcpbox/services/edge/internal/headers"
	"github.com/mcpbox/mcpbox/services/edge/internal/metrics"
	"github.com/mcpbox/mcpbox/services/edge/internal/reply"
)

// Options configure New.
type Options struct {
	Upstream      *url.URL       // scheme://host[:port]; /mcp is appended
	RootCAs       *x509.CertPool // for an https upstream; nil: system roots
	DialTimeout   time.Duration  // TCP (and TLS) connect
	HeaderTimeout time.Duration  // wait for the gateway's response headers
	MaxBody       int64          // request body cap in bytes
	BodyTimeout   time.Duration  // the whole request body must arrive within
	WriteStall    time.Duration  // longest a single response write may block
	MaxExchange   time.Duration  // hard cap on one exchange, streams included
}

// StatusClientClosed is Result.Status when the client went away before the
// gateway answered: nothing was written (nginx's 499).
const StatusClientClosed = 499

// probeEvery is the spacing of upstream reachability dials (§15).
const probeEvery = 10 * time.Second

// copyBuffer is the size of the response relay buffer.
const copyBuffer = 32 << 10

// Proxy is the upstream side of the edge. Safe for concurrent use.
type Proxy struct {
	o         Options
	m         *metrics.Edge
	transport *http.Transport
	base      url.URL // Upstream with Path /mcp
	host      string  // Host header sent upstream
	hostport  string  // dial target of Probe

	probeMu   sync.Mutex
	probeAt   time.Time
	probeLast string
	now       func() time.Time // injectable for tests
}

// New builds the shared transport.
func New(o Options, m *metrics.Edge) (*Proxy, error) {
	if m == nil {
		return nil, errors.New("proxy: metrics are required")
	}
	if o.Upstream == nil || (o.Upstream.Scheme != "http" && o.Upstream.Scheme != "https") || o.Upstream.Host == "" {
		return nil, errors.New("proxy: upstream must be an absolute http:// or https:// URL")
	}
	if o.Upstream.User != nil || (o.Upstream.Path != "" && o.Upstream.Path != "/") || o.Upstream.RawQuery != "" ||
		o.Upstream.Fragment != "" {
		return nil, errors.New("proxy: upstream takes scheme, host and port only")
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"DialTimeout", o.DialTimeout},
		{"HeaderTimeout", o.HeaderTimeout},
		{"BodyTimeout", o.BodyTimeout},
		{"WriteStall", o.WriteStall},
		{"MaxExchange", o.MaxExchange},
	} {
		if d.v <= 0 {
			return nil, fmt.Errorf("proxy: %s must be positive", d.name)
		}
	}
	if o.MaxBody <= 0 {
		return nil, errors.New("proxy: MaxBody must be positive")
	}
	dialer := &net.Dialer{Timeout: o.DialTimeout, KeepAlive: 30 * time.Second}
	t := &http.Transport{
		Proxy:                  nil, // never from the environment
		DialContext:            dialer.DialContext,
		TLSClientConfig:        &tls.Config{RootCAs: o.RootCAs, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:    o.DialTimeout,
		ForceAttemptHTTP2:      false,
		TLSNextProto:           map[string]func(string, *tls.Conn) http.RoundTripper{}, // HTTP/1.1 only
		MaxIdleConns:           0,                                                      // no overall limit
		MaxIdleConnsPerHost:    256,
		IdleConnTimeout:        90 * time.Second,
		ResponseHeaderTimeout:  o.HeaderTimeout,
		DisableCompression:     true,
		MaxResponseHeaderBytes: 1 << 20,
	}
	base := url.URL{Scheme: o.Upstream.Scheme, Host: o.Upstream.Host, Path: "/mcp"}
	port := o.Upstream.Port()
	if port == "" {
		port = "80"
		if o.Upstream.Scheme == "https" {
			port = "443"
		}
	}
	return &Proxy{
		o: o, m: m, transport: t, base: base, host: o.Upstream.Host,
		hostport: net.JoinHostPort(o.Upstream.Hostname(), port),
		now:      time.Now,
	}, nil
}

// Close releases the transport's idle connections.
func (p *Proxy) Close() { p.transport.CloseIdleConnections() }

// Exchange is one request to relay.
type Exchange struct {
	// Header is the complete upstream request header (headers.Upstream).
	// Serve may add an empty User-Agent entry to it (so Go's default is
	// not sent).
	Header http.Header
	// Decorate runs on the response headers just before they are written,
	// for the client-facing headers the edge adds (CORS, X-Request-Id).
	// Upstream headers were already cleaned (headers.CleanResponse). It
	// runs once for every response Serve writes, relayed or the edge's own
	// error, and not at all when nothing is written.
	Decorate func(http.Header)
	// Stop, when closed, ends the exchange cleanly (a GET stream at drain
	// time: the response ends normally, the upstream request is cancelled).
	// Before the gateway answered, Stop gives 503 unavailable. Nil never
	// stops.
	Stop <-chan struct{}
}

// Result reports what happened, for the access log and metrics.
type Result struct {
	Outcome         string // metrics.Outcome*: proxied, too_large, timeout, upstream_error (also unavailable, forbidden; see the package doc)
	Status          int    // status the client received (StatusClientClosed when nothing was written)
	UpstreamStatus  int    // 0 when the gateway never answered
	UpstreamHeaders time.Duration
	BytesIn         int64
	BytesOut        int64
	ErrorKind       string // metrics.Kind* or ""
}

// Causes of the exchange context's end that Serve tells apart.
var (
	errStopped     = errors.New("proxy: exchange stopped")
	errMaxExchange = errors.New("proxy: MAX_EXCHANGE reached")
	errEnded       = errors.New("proxy: exchange ended")
)

// bufPool holds the relay buffers.
var bufPool = sync.Pool{New: func() any { b := make([]byte, copyBuffer); return &b }} //nolint:gochecknoglobals // buffer pool

// Serve relays r to the gateway and the answer to w. It writes the edge's
// own error (reply package) when no response has started.
func (p *Proxy) Serve(w http.ResponseWriter, r *http.Request, x Exchange) (res Result) {
	start := time.Now()
	rc := http.NewResponseController(w)

	rawQuery, force := rawQueryOf(r)
	if !validQuery(rawQuery) {
		p.edgeError(w, x, &res, http.StatusBadRequest, reply.InvalidRequest, metrics.OutcomeForbidden)
		return res
	}
	if r.ContentLength > p.o.MaxBody {
		p.edgeError(w, x, &res, http.StatusRequestEntityTooLarge, reply.RequestTooLarge, metrics.OutcomeTooLarge)
		return res
	}
	if closed(x.Stop) {
		w.Header().Set("Retry-After", "5")
		p.edgeError(w, x, &res, http.StatusServiceUnavailable, reply.Unavailable, metrics.OutcomeUnavailable)
		return res
	}

	stopCtx, stop := context.WithCancelCause(r.Context())
	defer stop(nil)
	ctx, cancelTimer := context.WithTimeoutCause(stopCtx, p.o.MaxExchange, errMaxExchange)
	defer cancelTimer()
	if x.Stop != nil {
		go func() {
			select {
			case <-x.Stop:
				stop(errStopped)
			case <-stopCtx.Done():
			}
		}()
	}

	var body *capReader
	var outBody io.ReadCloser = http.NoBody
	if r.ContentLength != 0 && r.Body != nil && r.Body != http.NoBody {
		_ = rc.SetReadDeadline(time.Now().Add(p.o.BodyTimeout))
		body = &capReader{r: r.Body, limit: p.o.MaxBody, rc: rc}
		outBody = body
	}
	defer func() {
		if body != nil {
			res.BytesIn = body.n.Load()
		}
		p.m.BodyBytes.WithLabelValues(metrics.DirectionIn).Add(float64(res.BytesIn))
		p.m.BodyBytes.WithLabelValues(metrics.DirectionOut).Add(float64(res.BytesOut))
		if res.ErrorKind != "" {
			p.m.UpstreamErrors.WithLabelValues(res.ErrorKind).Inc()
		}
	}()

	var connected atomic.Bool
	traced := httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn: func(httptrace.GotConnInfo) { connected.Store(true) },
	})
	u := p.base
	u.RawQuery, u.ForceQuery = rawQuery, force
	h := x.Header
	if h == nil {
		h = make(http.Header)
	}
	if _, ok := h["User-Agent"]; !ok {
		h["User-Agent"] = []string{""}
	}
	out := (&http.Request{
		Method:        r.Method,
		URL:           &u,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Body:          outBody,
		ContentLength: r.ContentLength,
		Host:          p.host,
	}).WithContext(traced)
	if body == nil {
		out.ContentLength = 0
	}

	resp, err := p.transport.RoundTrip(out)
	method := methodLabel(r.Method)
	if err != nil {
		p.failBeforeHeaders(ctx, w, r, x, &res, body, connected.Load(), err)
		return res
	}
	res.UpstreamStatus = resp.StatusCode
	res.UpstreamHeaders = time.Since(start)
	p.m.UpstreamDuration.WithLabelValues(method, metrics.PhaseHeaders).Observe(res.UpstreamHeaders.Seconds())
	defer func() {
		p.m.UpstreamDuration.WithLabelValues(method, metrics.PhaseComplete).Observe(time.Since(start).Seconds())
	}()
	defer func() { _ = resp.Body.Close() }()

	switch {
	case body != nil && body.state.Load() == bodyTooLarge:
		// The gateway answered while the body was still arriving and the
		// cap was passed: nothing was written yet, so the cap wins.
		stop(errEnded)
		p.edgeError(w, x, &res, http.StatusRequestEntityTooLarge, reply.RequestTooLarge, metrics.OutcomeTooLarge)
		return res
	case resp.StatusCode < http.StatusOK:
		// Only 101 gets here (Go's transport consumes the other 1xx);
		// the edge strips Upgrade, so the gateway switching protocols is
		// a broken answer.
		stop(errEnded)
		res.ErrorKind = metrics.KindReset
		p.edgeError(w, x, &res, http.StatusBadGateway, reply.UpstreamUnavailable, metrics.OutcomeUpstreamError)
		return res
	}

	headers.CleanResponse(resp.Header)
	dst := w.Header()
	for k, vv := range resp.Header {
		dst[k] = vv
	}
	if x.Decorate != nil {
		x.Decorate(dst)
	}
	w.WriteHeader(resp.StatusCode)
	res.Status = resp.StatusCode
	res.Outcome = metrics.OutcomeProxied

	// Headers go out at once: a GET stream may wait long for its first event.
	_ = rc.SetWriteDeadline(time.Now().Add(p.o.WriteStall))
	if werr := rc.Flush(); werr != nil {
		writeFailed(&res, stop, werr)
		return res
	}
	bp, _ := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			_ = rc.SetWriteDeadline(time.Now().Add(p.o.WriteStall))
			_, werr := w.Write(buf[:n])
			if werr == nil {
				werr = rc.Flush()
			}
			if werr != nil {
				writeFailed(&res, stop, werr)
				return res
			}
			res.BytesOut += int64(n)
		}
		if rerr == nil {
			continue
		}
		if errors.Is(rerr, io.EOF) {
			return res
		}
		cause := context.Cause(ctx)
		switch {
		case errors.Is(cause, errStopped):
			return res // clean end; the server writes the terminating chunk
		case r.Context().Err() != nil:
			// The client is gone (or the server closed its connection):
			// on HTTP/1.x close the connection so nothing could pass for a
			// clean end; HTTP/2 already reset the stream.
			stop(errEnded)
			if conn, _, err := rc.Hijack(); err == nil {
				_ = conn.Close()
			}
			return res
		case errors.Is(cause, errMaxExchange):
			res.Outcome = metrics.OutcomeTimeout
		default:
			res.Outcome = metrics.OutcomeUpstreamError
		}
		res.ErrorKind = metrics.KindAborted
		stop(errEnded)
		abort(rc)
		return res
	}
}

// writeFailed records a failed write to the client and cancels the
// upstream request. A deadline is a write stall (the client stopped
// reading): timeout; anything else is a disconnect: still proxied. The
// server closes the connection itself after a write error.
func writeFailed(res *Result, stop context.CancelCauseFunc, err error) {
	stop(errEnded)
	if isTimeout(err) {
		res.Outcome = metrics.OutcomeTimeout
	}
}

// failBeforeHeaders answers an exchange whose round trip failed, when
// nothing was written to the client yet.
func (p *Proxy) failBeforeHeaders(ctx context.Context, w http.ResponseWriter, r *http.Request, x Exchange,
	res *Result, body *capReader, connected bool, err error,
) {
	cause := context.Cause(ctx)
	var bs int32
	if body != nil {
		bs = body.state.Load()
	}
	switch {
	case bs == bodyTooLarge:
		p.edgeError(w, x, res, http.StatusRequestEntityTooLarge, reply.RequestTooLarge, metrics.OutcomeTooLarge)
	case bs == bodyFailed:
		p.edgeError(w, x, res, http.StatusRequestTimeout, reply.RequestTimeout, metrics.OutcomeTimeout)
	case errors.Is(cause, errStopped):
		w.Header().Set("Retry-After", "5")
		p.edgeError(w, x, res, http.StatusServiceUnavailable, reply.Unavailable, metrics.OutcomeUnavailable)
	case r.Context().Err() != nil:
		res.Status, res.Outcome = StatusClientClosed, metrics.OutcomeProxied
	case errors.Is(cause, errMaxExchange):
		res.ErrorKind = metrics.KindTimeout
		p.edgeError(w, x, res, http.StatusGatewayTimeout, reply.UpstreamTimeout, metrics.OutcomeUpstreamError)
	case !connected:
		res.ErrorKind = metrics.KindDial
		p.edgeError(w, x, res, http.StatusBadGateway, reply.UpstreamUnavailable, metrics.OutcomeUpstreamError)
	case isTimeout(err):
		res.ErrorKind = metrics.KindTimeout
		p.edgeError(w, x, res, http.StatusGatewayTimeout, reply.UpstreamTimeout, metrics.OutcomeUpstreamError)
	default:
		res.ErrorKind = metrics.KindReset
		p.edgeError(w, x, res, http.StatusBadGateway, reply.UpstreamUnavailable, metrics.OutcomeUpstreamError)
	}
}

// edgeError writes one of the edge's own answers (§12).
func (p *Proxy) edgeError(w http.ResponseWriter, x Exchange, res *Result, status int, code, outcome string) {
	if x.Decorate != nil {
		x.Decorate(w.Header())
	}
	reply.Error(w, status, code)
	res.Status, res.Outcome = status, outcome
}

// abort ends a started response so the client sees the truncation: the
// connection is hijacked and closed (HTTP/1.x), else the handler panics
// with http.ErrAbortHandler (HTTP/2 RST_STREAM).
func abort(rc *http.ResponseController) {
	conn, _, err := rc.Hijack()
	if err == nil {
		_ = conn.Close()
		return
	}
	// Serve's deferred metrics still run while this panic unwinds.
	panic(http.ErrAbortHandler)
}

// isTimeout reports a deadline or timeout error.
func isTimeout(err error) bool {
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// closed reports whether a non-nil stop channel is already closed.
func closed(c <-chan struct{}) bool {
	if c == nil {
		return false
	}
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// methodLabel maps a method to the fixed label set of §15.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodPost, http.MethodDelete:
		return m
	default:
		return "other"
	}
}

// rawQueryOf returns the query exactly as sent on the request line and
// whether a "?" was present. The request target (r.RequestURI, also the
// :path of HTTP/2) is the source; r.URL only when RequestURI is empty (a
// request built in code).
func rawQueryOf(r *http.Request) (string, bool) {
	if r.RequestURI != "" {
		for i := 0; i < len(r.RequestURI); i++ {
			if r.RequestURI[i] == '?' {
				return r.RequestURI[i+1:], true
			}
		}
		return "", false
	}
	return r.URL.RawQuery, r.URL.ForceQuery || r.URL.RawQuery != ""
}

// validQuery refuses what cannot be written on an HTTP/1.1 request line:
// a space or a control byte (HTTP/1.1 parsing never delivers them; an
// HTTP/2 :path may carry a space or a tab).
func validQuery(q string) bool {
	for i := 0; i < len(q); i++ {
		if c := q[i]; c <= ' ' || c == 0x7f {
			return false
		}
	}
	return true
}
