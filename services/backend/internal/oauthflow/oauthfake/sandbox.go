// Package oauthfake holds test fakes of the OAuth flow of external sources
// (backend.md §13.3): a sandbox whose POST /v1/fetch really performs the
// brokered requests, against local fakes of an MCP server (a protected
// resource answering 401 with its metadata) and of an authorization server
// (metadata, dynamic registration, a token endpoint checking PKCE S256).
// Tests use public-looking host names (mcp.example.com); the sandbox maps
// each to the loopback address of its fake, so every request of the flow
// must pass through it. For tests only.
package oauthfake

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/approvals"
)

// Fetch is one /v1/fetch request as the fake sandbox received it.
type Fetch struct {
	proto.FetchRequest
	// Raw is the request body, to check how allowed_hosts was encoded.
	Raw string
}

// Sandbox is a fake sandbox serving POST /v1/fetch (sandbox.md §4.7). It
// enforces the broker's allowed_hosts the way the real one does for these
// tests (null: public-looking hosts only; a list: exactly its entries),
// performs allowed requests against the fake mapped to the URL's host,
// returns redirects without following them, and records every request.
type Sandbox struct {
	srv   *httptest.Server
	token string

	mu      sync.Mutex
	hosts   map[string]string // host[:port] of a public URL → base URL of its fake
	fetches []Fetch
	other   int // requests to other paths or with a wrong token
}

// NewSandbox starts a fake sandbox that expects token.
func NewSandbox(t testing.TB, token string) *Sandbox {
	t.Helper()
	s := &Sandbox{token: token, hosts: map[string]string{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

// URL is the sandbox's base URL.
func (s *Sandbox) URL() string { return s.srv.URL }

// Map makes requests to host (as written in URLs: "mcp.example.com" or
// "nas.lan:8443") go to the fake srv.
func (s *Sandbox) Map(host string, srv *httptest.Server) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hosts[host] = srv.URL
}

// Fetches returns the /v1/fetch requests received so far.
func (s *Sandbox) Fetches() []Fetch {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.fetches)
}

// Reset forgets the requests received so far.
func (s *Sandbox) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fetches, s.other = nil, 0
}

// Other counts requests that were not a /v1/fetch with the right token.
func (s *Sandbox) Other() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.other
}

func (s *Sandbox) serve(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get(proto.HeaderServiceToken) != s.token || r.Method != http.MethodPost || r.URL.Path != proto.PathSandboxFetch {
		s.mu.Lock()
		s.other++
		s.mu.Unlock()
		http.NotFound(w, r)
		return
	}
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "read", http.StatusBadRequest)
		return
	}
	var req proto.FetchRequest
	if err := json.Unmarshal(raw, &req); err != nil || !req.AllowedHosts.Set {
		writeJSON(w, http.StatusBadRequest, proto.ErrorBody{Error: proto.Error{
			Code: proto.CodeInvalidRequest, Field: "allowed_hosts", Message: "allowed_hosts is required",
		}})
		return
	}
	s.mu.Lock()
	s.fetches = append(s.fetches, Fetch{FetchRequest: req, Raw: string(raw)})
	base, mapped := "", false
	if u, err := url.Parse(req.URL); err == nil {
		if base, mapped = s.hosts[u.Host]; !mapped && (u.Scheme == "https" && u.Port() == "443" || u.Scheme == "http" && u.Port() == "80") {
			base, mapped = s.hosts[u.Hostname()]
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, s.perform(req, base, mapped))
}

// perform is the broker's work on one request.
func (s *Sandbox) perform(req proto.FetchRequest, base string, mapped bool) proto.FetchResponse {
	failure := func(typ proto.SandboxErrorType, msg string) proto.FetchResponse {
		return proto.FetchResponse{Headers: map[string][]string{}, Error: &proto.UpstreamError{Type: typ, Message: msg}}
	}
	u, err := url.Parse(req.URL)
	if err != nil || u.Host == "" {
		return failure(proto.ErrTypeConnectError, "invalid URL")
	}
	if !Allowed(req.AllowedHosts, u) {
		return failure(proto.ErrTypeEgressDenied, "destination "+u.Host+" is not allowed")
	}
	if !mapped {
		return failure(proto.ErrTypeConnectError, "no such host "+u.Host)
	}
	target := base + u.EscapedPath()
	if u.RawQuery != "" {
		target += "?" + u.RawQuery
	}
	out, err := http.NewRequest(req.Method, target, strings.NewReader(req.Body)) //nolint:noctx // a test fake
	if err != nil {
		return failure(proto.ErrTypeConnectError, "bad request")
	}
	for k, v := range req.Headers {
		out.Header.Set(k, v)
	}
	out.Host = u.Host
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Do(out)
	if err != nil {
		return failure(proto.ErrTypeConnectError, "connect failed")
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, proto.MaxFetchResponseBodyBytes))
	return proto.FetchResponse{OK: true, Status: resp.StatusCode, Headers: resp.Header, Body: string(body)}
}

// Allowed applies allowed_hosts to a URL as the broker does for the hosts
// of these tests: null allows public-looking hosts only; a list allows
// exactly its entries ("host" any port, "host:port" that port).
func Allowed(a proto.AllowedHosts, u *url.URL) bool {
	host := strings.ToLower(u.Hostname())
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if a.Any {
		return approvals.PublicLooking(host)
	}
	return slices.Contains(a.Hosts, host) || (u.Port() != "" && slices.Contains(a.Hosts, host+":"+u.Port()))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	_ = json.NewEncoder(&buf).Encode(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
