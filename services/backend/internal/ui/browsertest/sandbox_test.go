//go:build browser

package browsertest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/proto"
)

// SandboxToken is the service token the fake sandbox requires and the
// backend sends (MCPBOX_SANDBOX_TOKEN).
const SandboxToken = "5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d"

// FakeSandbox implements the sandbox contract of proto/ (sandbox.md §4) on
// loopback, answering every route from plain Go: analysis reads the code
// with regular expressions, executions answer a fixed result, discovery and
// MCP calls answer what the test configured, and fetch really calls the
// local fakes Hosts names (the real sandbox's broker never reaches
// loopback; tests give their fakes public-looking names instead).
type FakeSandbox struct {
	URL string
	srv *httptest.Server

	mu        sync.Mutex
	hits      map[string]int
	readiness proto.SandboxReadiness
	unready   bool // /readyz answers 503 with a not_ready body
	// Analyze, Execute, Discover and MCPCall replace the default answers.
	analyze  func(proto.AnalyzeRequest) proto.AnalyzeResponse
	execute  func(proto.ExecuteRequest) proto.ExecuteResponse
	discover func(proto.DiscoverRequest) proto.DiscoverResponse
	mcpCall  func(proto.MCPCallRequest) proto.MCPCallResponse
	hosts    map[string]string // public host[:port] → local base URL
	// analyzeDelay delays every analysis (UI-55's progress).
	analyzeDelay time.Duration
	// catalogue is what /v1/packages answers (nil: Catalogue).
	catalogue *proto.PackageCatalogue
}

// NewFakeSandbox starts a fake sandbox, closed when the test ends.
func NewFakeSandbox(t testing.TB) *FakeSandbox {
	t.Helper()
	f := &FakeSandbox{
		hits:      map[string]int{},
		readiness: proto.SandboxReadiness{Status: proto.ReadinessReady, Warm: 2, Isolation: proto.IsolationFull},
		hosts:     map[string]string{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+proto.PathReadyz, f.readyz)
	mux.HandleFunc("GET "+proto.PathHealthz, func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.Handle("GET "+proto.PathSandboxPackages, f.guard(f.packages))
	mux.Handle("POST "+proto.PathSandboxAnalyze, f.guard(jsonRoute(f.analyzeRoute)))
	mux.Handle("POST "+proto.PathSandboxExecute, f.guard(jsonRoute(f.executeRoute)))
	mux.Handle("POST "+proto.PathSandboxDiscover, f.guard(jsonRoute(f.discoverRoute)))
	mux.Handle("POST "+proto.PathSandboxMCPCall, f.guard(jsonRoute(f.mcpCallRoute)))
	mux.Handle("POST "+proto.PathSandboxFetch, f.guard(jsonRoute(f.fetchRoute)))
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.hits[r.URL.Path]++
		f.mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	f.URL = f.srv.URL
	return f
}

// Hits returns how many requests reached path (proto.PathSandbox*).
func (f *FakeSandbox) Hits(path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits[path]
}

// SetReadiness sets the /readyz answer; ready=false answers 503.
func (f *FakeSandbox) SetReadiness(r proto.SandboxReadiness) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.readiness, f.unready = r, r.Status != proto.ReadinessReady
}

// Close makes the sandbox unreachable (connection refused from now on).
func (f *FakeSandbox) Close() { f.srv.Close() }

// OnAnalyze replaces the default analysis (Analysis).
func (f *FakeSandbox) OnAnalyze(fn func(proto.AnalyzeRequest) proto.AnalyzeResponse) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.analyze = fn
}

// OnExecute replaces the default execution answer.
func (f *FakeSandbox) OnExecute(fn func(proto.ExecuteRequest) proto.ExecuteResponse) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.execute = fn
}

// OnDiscover sets the discovery answer (default: an AuthRequired-free
// empty tool list).
func (f *FakeSandbox) OnDiscover(fn func(proto.DiscoverRequest) proto.DiscoverResponse) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.discover = fn
}

// OnMCPCall sets the answer of external tool calls.
func (f *FakeSandbox) OnMCPCall(fn func(proto.MCPCallRequest) proto.MCPCallResponse) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mcpCall = fn
}

// SetAnalyzeDelay delays every analysis.
func (f *FakeSandbox) SetAnalyzeDelay(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.analyzeDelay = d
}

// SetCatalogue replaces the package catalogue /v1/packages answers (a
// sandbox whose catalogue differs from the backend's approvable list, as
// after an upgrade: UI-37's never-tier request). The default analysis
// keeps reading Catalogue.
func (f *FakeSandbox) SetCatalogue(c proto.PackageCatalogue) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.catalogue = &c
}

// MapHost makes fetches of host (host or host:port, as in a URL) go to the
// local server at base (an httptest URL), keeping path and query.
func (f *FakeSandbox) MapHost(host, base string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hosts[host] = base
}

func (f *FakeSandbox) guard(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(proto.HeaderServiceToken) != SandboxToken {
			writeJSON(w, http.StatusUnauthorized, proto.ErrorBody{Error: proto.Error{Code: proto.CodeUnauthenticated, Message: "service token required"}})
			return
		}
		h(w, r)
	})
}

// jsonRoute decodes the request body into Req and encodes the answer.
func jsonRoute[Req, Resp any](fn func(context.Context, Req) Resp) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req Req
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			writeJSON(w, http.StatusBadRequest, proto.ErrorBody{Error: proto.Error{Code: proto.CodeValidationFailed, Message: err.Error()}})
			return
		}
		writeJSON(w, http.StatusOK, fn(r.Context(), req))
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *FakeSandbox) readyz(w http.ResponseWriter, _ *http.Request) {
	f.mu.Lock()
	r, unready := f.readiness, f.unready
	f.mu.Unlock()
	status := http.StatusOK
	if unready {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, r)
}

// Catalogue is the fake's package catalogue: a default, an opt-in and a
// never-tier package.
var Catalogue = proto.PackageCatalogue{
	CatalogueVersion: "fake-1", GoVersion: "go1.27.3", LanguageLevel: "go1.22",
	Packages: []proto.Package{
		{Path: "strings", Tier: proto.TierDefault, Description: "String manipulation."},
		{Path: "encoding/json", Tier: proto.TierDefault, Description: "JSON encoding."},
		{Path: "net/http", Tier: proto.TierDefault, Description: "HTTP client through the broker.", Filtered: true, Note: "client only"},
		{Path: "encoding/csv", Tier: proto.TierOptIn, Description: "CSV reading and writing."},
		{Path: "os/exec", Tier: proto.TierNever, Description: "Running programs.", Note: "tools never start processes"},
	},
}

func (f *FakeSandbox) packages(w http.ResponseWriter, _ *http.Request) {
	f.mu.Lock()
	c := Catalogue
	if f.catalogue != nil {
		c = *f.catalogue
	}
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, c)
}

// What the default analysis reads from code.
var (
	secretCall  = regexp.MustCompile(`mcpbox\.(?:Lookup)?Secret\("([A-Z][A-Z0-9_]*)"\)`)
	importLine  = regexp.MustCompile(`(?m)^\s*(?:import\s+)?"([a-z0-9_./]+)"\s*$`)
	mainComment = regexp.MustCompile(`(?m)^// Main (.+)$`)
)

// Analysis is the fake's default analysis of code: the sorted secret
// names of mcpbox.Secret/LookupSecret calls, the imports with their
// catalogue tiers (an unknown or never-tier import is an ImportError), the
// doc comment of Main, and a schema without properties.
func Analysis(req proto.AnalyzeRequest) proto.AnalyzeResponse {
	sum := sha256.Sum256([]byte(req.Code))
	out := proto.AnalyzeResponse{
		OK: true, CodeSHA256: "sha256:" + hex.EncodeToString(sum[:]), AnalyzerVersion: "fake-sandbox; catalogue fake-1",
		Main:        &proto.MainInfo{HasInput: true, InputType: "Input", OutputType: "string"},
		InputSchema: json.RawMessage(`{"type":"object","properties":{}}`), OutputSchema: json.RawMessage(`{"type":"string"}`),
		Imports: []proto.Import{}, Secrets: []string{}, Diagnostics: []proto.Diagnostic{},
	}
	if m := mainComment.FindStringSubmatch(req.Code); m != nil {
		out.Description = strings.TrimSpace(m[1])
	}
	for _, m := range secretCall.FindAllStringSubmatch(req.Code, -1) {
		if !slices.Contains(out.Secrets, m[1]) {
			out.Secrets = append(out.Secrets, m[1])
		}
	}
	slices.Sort(out.Secrets)
	for _, m := range importLine.FindAllStringSubmatch(req.Code, -1) {
		im := proto.Import{Path: m[1], Tier: proto.TierNever}
		for _, p := range Catalogue.Packages {
			if p.Path == m[1] {
				im.Tier = p.Tier
			}
		}
		im.Allowed = im.Tier == proto.TierDefault || (im.Tier == proto.TierOptIn && slices.Contains(req.ExtraPackages, im.Path))
		out.Imports = append(out.Imports, im)
		if im.Tier == proto.TierNever {
			out.OK = false
			out.Diagnostics = append(out.Diagnostics, proto.Diagnostic{
				Severity: proto.SeverityError, Type: proto.ErrTypeImportError, Message: "package " + im.Path + " is not available", Line: 1, Column: 1,
			})
		}
	}
	return out
}

func (f *FakeSandbox) analyzeRoute(ctx context.Context, req proto.AnalyzeRequest) proto.AnalyzeResponse {
	f.mu.Lock()
	fn, delay := f.analyze, f.analyzeDelay
	f.mu.Unlock()
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
	if fn != nil {
		return fn(req)
	}
	return Analysis(req)
}

// Execution is the fake's default execution answer: success with the
// arguments echoed as the result.
func Execution(req proto.ExecuteRequest) proto.ExecuteResponse {
	args := req.Arguments
	if len(args) == 0 {
		args = json.RawMessage(`{}`)
	}
	result := json.RawMessage(`{"echo":` + string(args) + `}`)
	return proto.ExecuteResponse{
		OK: true, Result: result, ContentText: string(result), Structured: true, Stdout: "ran\n", DurationMS: 7,
		Worker: &proto.WorkerStats{CPUMS: 2, MaxRSSKB: 20000, Exit: "code:0"},
	}
}

func (f *FakeSandbox) executeRoute(_ context.Context, req proto.ExecuteRequest) proto.ExecuteResponse {
	f.mu.Lock()
	fn := f.execute
	f.mu.Unlock()
	if fn != nil {
		return fn(req)
	}
	return Execution(req)
}

func (f *FakeSandbox) discoverRoute(_ context.Context, req proto.DiscoverRequest) proto.DiscoverResponse {
	f.mu.Lock()
	fn := f.discover
	f.mu.Unlock()
	if fn != nil {
		return fn(req)
	}
	return proto.DiscoverResponse{
		OK: false, Error: &proto.UpstreamError{Type: proto.ErrTypeConnectError, Message: "the fake sandbox knows no MCP server at " + req.URL},
	}
}

func (f *FakeSandbox) mcpCallRoute(_ context.Context, req proto.MCPCallRequest) proto.MCPCallResponse {
	f.mu.Lock()
	fn := f.mcpCall
	f.mu.Unlock()
	if fn != nil {
		return fn(req)
	}
	return proto.MCPCallResponse{
		OK: false, Error: &proto.UpstreamError{Type: proto.ErrTypeConnectError, Message: "the fake sandbox knows no MCP server at " + req.URL},
	}
}

// fetchRoute performs a brokered fetch against the mapped local fakes,
// enforcing allowed_hosts and never following redirects.
func (f *FakeSandbox) fetchRoute(ctx context.Context, req proto.FetchRequest) proto.FetchResponse {
	u, err := url.Parse(req.URL)
	if err != nil || u.Host == "" {
		return fetchError(proto.ErrTypeConnectError, "the URL does not parse")
	}
	if !hostAllowed(req.AllowedHosts, u) {
		return fetchError(proto.ErrTypeEgressDenied, u.Host+" is not in allowed_hosts")
	}
	f.mu.Lock()
	base, ok := f.hosts[u.Host]
	if !ok {
		base, ok = f.hosts[u.Hostname()]
	}
	f.mu.Unlock()
	if !ok {
		return fetchError(proto.ErrTypeConnectError, "dial "+u.Host+": no such host (fake sandbox)")
	}
	target := strings.TrimSuffix(base, "/") + u.EscapedPath()
	if u.RawQuery != "" {
		target += "?" + u.RawQuery
	}
	timeout := time.Duration(req.TimeoutMS) * time.Millisecond
	if timeout <= 0 {
		timeout = time.Duration(proto.DefaultFetchTimeoutMS) * time.Millisecond
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(ctx, req.Method, target, bytes.NewReader([]byte(req.Body)))
	if err != nil {
		return fetchError(proto.ErrTypeConnectError, err.Error())
	}
	for k, v := range req.Headers {
		hreq.Header.Set(k, v)
	}
	hreq.Host = u.Host
	client := http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(hreq)
	if err != nil {
		if ctx.Err() != nil {
			return fetchError(proto.ErrTypeTimeout, "the request timed out")
		}
		return fetchError(proto.ErrTypeConnectError, err.Error())
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, proto.MaxFetchResponseBodyBytes+1))
	truncated := len(body) > proto.MaxFetchResponseBodyBytes
	if truncated {
		body = body[:proto.MaxFetchResponseBodyBytes]
	}
	return proto.FetchResponse{OK: true, Status: resp.StatusCode, Headers: resp.Header, Body: string(body), BodyTruncated: truncated}
}

func fetchError(typ proto.SandboxErrorType, msg string) proto.FetchResponse {
	return proto.FetchResponse{Error: &proto.UpstreamError{Type: typ, Message: msg}}
}

func hostAllowed(a proto.AllowedHosts, u *url.URL) bool {
	if a.Any {
		return true
	}
	return slices.Contains(a.Hosts, u.Host) || slices.Contains(a.Hosts, u.Hostname())
}
