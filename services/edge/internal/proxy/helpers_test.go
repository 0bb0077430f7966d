package proxy

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/url"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mcpbox/mcpbox/services/edge/internal/metrics"
)

// wait bounds every wait on a channel in these tests (a failure, never a
// pass condition).
const wait = 10 * time.Second

const serviceToken = "svc-token-0123456789abcdef0123456789abcdef"

// edgeConfig shapes the test edge: the proxy options and the public
// server's own timeouts.
type edgeConfig struct {
	opts              func(*Options)
	stop              <-chan struct{}
	readHeaderTimeout time.Duration
	idleTimeout       time.Duration
	other             http.HandlerFunc
	h2                bool // TLS with HTTP/2 on the public side
}

// edge is a public listener whose /mcp handler calls Proxy.Serve, as the
// public package will.
type edge struct {
	p       *Proxy
	m       *metrics.Edge
	srv     *httptest.Server
	results chan Result
}

func defaultOptions(upstream string) Options {
	u, err := url.Parse(upstream)
	if err != nil {
		panic(err)
	}
	return Options{
		Upstream:      u,
		DialTimeout:   2 * time.Second,
		HeaderTimeout: 5 * time.Second,
		MaxBody:       1 << 20,
		BodyTimeout:   5 * time.Second,
		WriteStall:    5 * time.Second,
		MaxExchange:   30 * time.Second,
	}
}

func newEdge(t testing.TB, upstream string, c edgeConfig) *edge {
	t.Helper()
	o := defaultOptions(upstream)
	if c.opts != nil {
		c.opts(&o)
	}
	m := metrics.New(prometheus.NewRegistry())
	p, err := New(o, m)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	e := &edge{p: p, m: m, results: make(chan Result, 64)}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/mcp" {
			if c.other != nil {
				c.other(w, r)
				return
			}
			http.NotFound(w, r)
			return
		}
		// A stand-in for headers.Upstream: the client's headers minus
		// hop-by-hop, plus the service token.
		up := r.Header.Clone()
		up.Del("Connection")
		up.Set("X-Mcpbox-Service-Token", serviceToken)
		res := p.Serve(w, r, Exchange{
			Header: up,
			Decorate: func(h http.Header) {
				h.Set("X-Request-Id", "edge-request-id")
				h.Add("Vary", "Origin")
			},
			Stop: c.stop,
		})
		e.results <- res
	})
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ReadHeaderTimeout = 5 * time.Second
	if c.readHeaderTimeout > 0 {
		srv.Config.ReadHeaderTimeout = c.readHeaderTimeout
	}
	srv.Config.IdleTimeout = 30 * time.Second
	if c.idleTimeout > 0 {
		srv.Config.IdleTimeout = c.idleTimeout
	}
	if c.h2 {
		srv.EnableHTTP2 = true
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	e.srv = srv
	return e
}

// result waits for the Result of the next exchange.
func (e *edge) result(t testing.TB) Result {
	t.Helper()
	select {
	case r := <-e.results:
		return r
	case <-time.After(wait):
		t.Fatal("no Result from Serve")
		return Result{}
	}
}

func (e *edge) upstreamErrors(kind string) float64 {
	return testutil.ToFloat64(e.m.UpstreamErrors.WithLabelValues(kind))
}

func (e *edge) addr() string { return e.srv.Listener.Addr().String() }

// client returns an HTTP client of its own (never http.DefaultClient).
func client(t testing.TB) *http.Client {
	t.Helper()
	tr := &http.Transport{Proxy: nil, DisableCompression: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// fake is a fake gateway on 127.0.0.1.
func fake(t testing.TB, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}

// seen is what the fake gateway recorded of one request.
type seen struct {
	method, uri, host string
	header            http.Header
	contentLength     int64
	chunked           bool
	sum               [32]byte
	n                 int
	bodyErr           error
}

func record(r *http.Request) seen {
	b, err := io.ReadAll(r.Body)
	return seen{
		method: r.Method, uri: r.RequestURI, host: r.Host, header: r.Header.Clone(),
		contentLength: r.ContentLength, chunked: len(r.TransferEncoding) > 0 && r.TransferEncoding[0] == "chunked",
		sum: sha256.Sum256(b), n: len(b), bodyErr: err,
	}
}

func recv[T any](t testing.TB, c <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(wait):
		t.Fatalf("timed out waiting for %s", what)
		var zero T
		return zero
	}
}

// rawConn dials the edge for hand-written requests.
func rawConn(t testing.TB, addr string) net.Conn {
	t.Helper()
	c, err := (&net.Dialer{}).DialContext(context.Background(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func readResponse(t testing.TB, c net.Conn) *http.Response {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(wait))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// errorCode decodes an edge error body (§12).
func errorCode(t testing.TB, resp *http.Response) string {
	t.Helper()
	defer func() { _ = resp.Body.Close() }()
	var body struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("error body: %v", err)
	}
	if body.Description == "" {
		t.Error("error_description is empty")
	}
	if got := resp.Header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q", got)
	}
	if got := resp.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q", got)
	}
	if got := resp.Header.Get("X-Request-Id"); got != "edge-request-id" {
		t.Errorf("X-Request-Id = %q (Decorate did not run)", got)
	}
	return body.Error
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t testing.TB) string {
	t.Helper()
	l, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// httptraceReused records whether the request went on a reused connection.
func httptraceReused(ctx context.Context, reused *bool) context.Context {
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn: func(i httptrace.GotConnInfo) { *reused = i.Reused },
	})
}
