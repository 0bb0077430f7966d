package adminapi_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/proto"
)

const (
	remoteAccessPath = "/api/v1/settings/remote-access"
	selfCheckPath    = "/api/v1/settings/remote-access/self-check"
	// The fake deployment: an edge and an identity provider on names the
	// fake sandbox maps to loopback listeners.
	edgeHost     = "edge.test"
	edgeURL      = "https://" + edgeHost
	idpHost      = "idp.test"
	issuerURL    = "https://" + idpHost + "/realms/mcpbox"
	jwksPath     = "/realms/mcpbox/protocol/openid-connect/certs"
	viaSandbox   = "X-Test-Via-Sandbox" // set by the fake sandbox on every request it performs
	loopbackSkip = "loopback addresses are never contacted through the sandbox; use the machine's LAN address"
)

// testRSAKey is the identity provider's 2048-bit signing key.
var testRSAKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// hits records the requests a fake deployment server received.
type hits struct {
	mu     sync.Mutex
	paths  []string
	direct []string // requests that did not come through the fake sandbox
}

func (h *hits) record(r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.paths = append(h.paths, r.Method+" "+r.URL.Path)
	if r.Header.Get(viaSandbox) != "selfcheck" {
		h.direct = append(h.direct, r.Method+" "+r.URL.Path)
	}
}

func (h *hits) snapshot() (paths, direct []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.paths), slices.Clone(h.direct)
}

// edgeFake is the MCPbox edge as a client sees it (edge.md §4, §6.6, §8).
type edgeFake struct {
	hits
	srv *httptest.Server
	// open makes /mcp answer 200 without a token; prmResource replaces the
	// document's resource; movedHealth redirects /health; hold, when set,
	// makes /health wait for it after signalling arrived.
	open, movedHealth bool
	prmResource       string
	hold              chan struct{}
	arrived           chan struct{}
}

func newEdgeFake(t *testing.T, configure func(*edgeFake)) *edgeFake {
	t.Helper()
	e := &edgeFake{}
	if configure != nil {
		configure(e)
	}
	meta := edgeURL + proto.PathProtectedResourceMCP
	e.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.record(r)
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == http.MethodGet && r.URL.Path == proto.PathEdgeHealth && e.movedHealth:
			http.Redirect(w, r, "https://elsewhere.test/health", http.StatusMovedPermanently)
		case r.Method == http.MethodGet && r.URL.Path == proto.PathEdgeHealth:
			if e.hold != nil {
				e.arrived <- struct{}{}
				<-e.hold
			}
			_, _ = io.WriteString(w, `{"status":"ok"}`)
		case r.Method == http.MethodPost && r.URL.Path == proto.PathMCP:
			var msg struct {
				Method string `json:"method"`
			}
			if json.NewDecoder(r.Body).Decode(&msg) != nil || msg.Method != "initialize" ||
				r.Header.Get("MCP-Protocol-Version") == "" || !strings.Contains(r.Header.Get("Accept"), "text/event-stream") {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			switch {
			case e.open:
				_, _ = io.WriteString(w, `{"jsonrpc":"2.0","id":1,"result":{}}`)
			case r.Header.Get("Authorization") == "":
				w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer resource_metadata=%q`, meta))
				w.WriteHeader(http.StatusUnauthorized)
				_, _ = io.WriteString(w, `{"error":"unauthorized"}`)
			default:
				w.Header().Set("WWW-Authenticate",
					fmt.Sprintf(`Bearer error="invalid_token", error_description="token verification failed", resource_metadata=%q`, meta))
				w.WriteHeader(http.StatusUnauthorized)
				_, _ = io.WriteString(w, `{"error":"invalid_token"}`)
			}
		case r.Method == http.MethodGet && r.URL.Path == proto.PathProtectedResourceMCP:
			resource := edgeURL + proto.PathMCP
			if e.prmResource != "" {
				resource = e.prmResource
			}
			_ = json.NewEncoder(w).Encode(map[string]any{
				"resource": resource, "authorization_servers": []string{issuerURL},
				"bearer_methods_supported": []string{"header"}, "resource_name": "MCPbox",
			})
		default:
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"error":"not_found"}`)
		}
	}))
	t.Cleanup(e.srv.Close)
	return e
}

// idpFake is an identity provider with RFC 8414 metadata and a JWKS.
type idpFake struct {
	hits
	srv *httptest.Server
	// noS256 leaves out code_challenge_methods_supported; jwksMissing makes
	// the key set 404.
	noS256, jwksMissing bool
}

func newIDPFake(t *testing.T, configure func(*idpFake)) *idpFake {
	t.Helper()
	p := &idpFake{}
	if configure != nil {
		configure(p)
	}
	key := testRSAKey().PublicKey
	b64 := base64.RawURLEncoding.EncodeToString
	p.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.record(r)
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/.well-known/oauth-authorization-server/realms/mcpbox":
			doc := map[string]any{
				"issuer": issuerURL, "authorization_endpoint": issuerURL + "/protocol/openid-connect/auth",
				"token_endpoint": issuerURL + "/protocol/openid-connect/token", "jwks_uri": "https://" + idpHost + jwksPath,
				"registration_endpoint": issuerURL + "/clients-registrations/openid-connect",
			}
			if !p.noS256 {
				doc["code_challenge_methods_supported"] = []string{"plain", "S256"}
			}
			_ = json.NewEncoder(w).Encode(doc)
		case r.URL.Path == jwksPath && !p.jwksMissing:
			_ = json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{
				{"kty": "RSA", "kid": "k1", "use": "sig", "alg": "RS256", "n": b64(key.N.Bytes()), "e": b64(big.NewInt(int64(key.E)).Bytes())},
			}})
		default:
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"error":"not_found"}`)
		}
	}))
	t.Cleanup(p.srv.Close)
	return p
}

// fetchSandbox is the sandbox's POST /v1/fetch (sandbox.md §4.7): it
// really performs each request, resolving the test names to the fakes'
// loopback listeners, refusing hosts outside allowed_hosts, never following
// redirects, and records every request it received.
type fetchSandbox struct {
	t      *testing.T
	srv    *httptest.Server
	client *http.Client
	mu     sync.Mutex
	reqs   []proto.FetchRequest
}

func newFetchSandbox(t *testing.T, edge *edgeFake, idp *idpFake) *fetchSandbox {
	t.Helper()
	targets := map[string]string{
		edgeHost + ":443": edge.srv.Listener.Addr().String(),
		idpHost + ":443":  idp.srv.Listener.Addr().String(),
	}
	roots := x509.NewCertPool()
	roots.AddCert(edge.srv.Certificate())
	roots.AddCert(idp.srv.Certificate())
	f := &fetchSandbox{t: t}
	f.client = &http.Client{
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				target, ok := targets[addr]
				if !ok {
					return nil, fmt.Errorf("lookup %s: no such host", addr)
				}
				return (&net.Dialer{}).DialContext(ctx, network, target)
			},
			// httptest's certificate names example.com.
			TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: "example.com", MinVersion: tls.VersionTLS12},
		},
	}
	t.Cleanup(f.client.CloseIdleConnections)
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fetchSandbox) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != proto.PathSandboxFetch || r.Header.Get(proto.HeaderServiceToken) != sandboxToken {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	var req proto.FetchRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.reqs = append(f.reqs, req)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(f.perform(r.Context(), req))
}

func (f *fetchSandbox) perform(ctx context.Context, req proto.FetchRequest) proto.FetchResponse {
	u, err := url.Parse(req.URL)
	if err != nil {
		return proto.FetchResponse{Error: &proto.UpstreamError{Type: proto.ErrTypeConnectError, Message: err.Error()}}
	}
	if req.AllowedHosts.Any || !slices.Contains(req.AllowedHosts.Hosts, u.Hostname()) {
		return proto.FetchResponse{Error: &proto.UpstreamError{Type: proto.ErrTypeEgressDenied, Message: u.Hostname() + " is not in allowed_hosts"}}
	}
	ctx, cancel := context.WithTimeout(ctx, time.Duration(req.TimeoutMS)*time.Millisecond)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, req.Method, req.URL, strings.NewReader(req.Body))
	if err != nil {
		return proto.FetchResponse{Error: &proto.UpstreamError{Type: proto.ErrTypeConnectError, Message: err.Error()}}
	}
	for k, v := range req.Headers {
		hr.Header.Set(k, v)
	}
	hr.Header.Set(viaSandbox, string(req.Purpose))
	resp, err := f.client.Do(hr)
	if err != nil {
		return proto.FetchResponse{Error: &proto.UpstreamError{Type: proto.ErrTypeConnectError, Message: err.Error()}}
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, proto.MaxFetchResponseBodyBytes+1))
	truncated := len(body) > proto.MaxFetchResponseBodyBytes
	if truncated {
		body = body[:proto.MaxFetchResponseBodyBytes]
	}
	return proto.FetchResponse{OK: true, Status: resp.StatusCode, Headers: resp.Header, Body: string(body), BodyTruncated: truncated}
}

func (f *fetchSandbox) requests() []proto.FetchRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.reqs)
}

// deployment is a signed-in backend whose sandbox reaches a fake edge and
// identity provider.
type deployment struct {
	b    *backend
	auth []string
	sb   *fetchSandbox
	edge *edgeFake
	idp  *idpFake
}

func newDeployment(t *testing.T, edgeOpt func(*edgeFake), idpOpt func(*idpFake)) *deployment {
	t.Helper()
	d := &deployment{edge: newEdgeFake(t, edgeOpt), idp: newIDPFake(t, idpOpt)}
	d.sb = newFetchSandbox(t, d.edge, d.idp)
	d.b = newBackend(t, withSandbox(d.sb.srv.URL))
	d.b.setup(t)
	d.auth = bearer(d.b.login(t))
	return d
}

// configure saves the expected configuration of the fake deployment.
func (d *deployment) configure(t *testing.T) {
	t.Helper()
	r := d.b.call(t, http.MethodPatch, remoteAccessPath, map[string]string{"public_url": edgeURL, "expected_issuer": issuerURL}, d.auth...)
	if r.status != http.StatusOK {
		t.Fatalf("configure: %d %s", r.status, r.raw)
	}
}

// selfCheckBody is the answer of the self-check routes.
type selfCheckBody struct {
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
	PublicURL  string    `json:"public_url"`
	Steps      []struct {
		ID       string `json:"id"`
		Result   string `json:"result"`
		Critical bool   `json:"critical"`
		Observed string `json:"observed"`
		Fix      string `json:"fix"`
	} `json:"steps"`
}

func (d *deployment) run(t *testing.T) selfCheckBody {
	t.Helper()
	r := d.b.call(t, http.MethodPost, selfCheckPath, nil, d.auth...)
	if r.status != http.StatusOK {
		t.Fatalf("self-check: %d %s", r.status, r.raw)
	}
	var out selfCheckBody
	if err := json.Unmarshal([]byte(r.raw), &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Steps) != 7 || out.StartedAt.IsZero() || out.FinishedAt.Before(out.StartedAt) {
		t.Fatalf("result shape: %s", r.raw)
	}
	for i, s := range out.Steps {
		if s.ID != fmt.Sprintf("R%d", i+1) || s.Observed == "" || (s.Result != "pass" && s.Fix == "") {
			t.Fatalf("step %d: %+v", i, s)
		}
	}
	return out
}

// results lists the result of each step, "R1:pass R2:…".
func (s selfCheckBody) results() string {
	parts := make([]string, len(s.Steps))
	for i, st := range s.Steps {
		parts[i] = st.ID + ":" + st.Result
	}
	return strings.Join(parts, " ")
}

// assertBrokered checks that every request the fakes received came through
// the fake sandbox, and that every fetch was a self-check fetch of 10 s
// allowing exactly the host it contacts.
func (d *deployment) assertBrokered(t *testing.T, wantFetches int) {
	t.Helper()
	reqs := d.sb.requests()
	if len(reqs) != wantFetches {
		t.Errorf("%d fetches, want %d", len(reqs), wantFetches)
	}
	for _, r := range reqs {
		u, err := url.Parse(r.URL)
		if err != nil || r.Purpose != proto.FetchSelfcheck || r.TimeoutMS != 10000 || r.AllowedHosts.Any ||
			!slices.Equal(r.AllowedHosts.Hosts, []string{u.Hostname()}) {
			t.Errorf("fetch %+v", r)
		}
	}
	edgePaths, edgeDirect := d.edge.snapshot()
	idpPaths, idpDirect := d.idp.snapshot()
	if len(edgeDirect)+len(idpDirect) > 0 {
		t.Errorf("requests not brokered by the sandbox: %v %v", edgeDirect, idpDirect)
	}
	if len(edgePaths)+len(idpPaths) != len(reqs) {
		t.Errorf("the fakes saw %v and %v for %d fetches", edgePaths, idpPaths, len(reqs))
	}
}

// A healthy deployment passes R1–R7; every request goes through the
// sandbox; GET returns the stored result.
func TestSelfCheck_AllStepsPass(t *testing.T) {
	t.Parallel()
	d := newDeployment(t, nil, nil)
	d.configure(t)
	res := d.run(t)
	if got := res.results(); got != "R1:pass R2:pass R3:pass R4:pass R5:pass R6:pass R7:pass" {
		t.Fatalf("%s\n%+v", got, res.Steps)
	}
	if res.PublicURL != edgeURL || !strings.Contains(res.Steps[5].Observed, `"k1"`) {
		t.Fatalf("%+v", res)
	}
	d.assertBrokered(t, 6)
	edgePaths, _ := d.edge.snapshot()
	if want := []string{"GET /health", "POST /mcp", "GET " + proto.PathProtectedResourceMCP, "POST /mcp"}; !slices.Equal(edgePaths, want) {
		t.Fatalf("edge saw %v, want %v", edgePaths, want)
	}
	last := d.b.call(t, http.MethodGet, selfCheckPath, nil, d.auth...)
	var stored selfCheckBody
	if err := json.Unmarshal([]byte(last.raw), &stored); err != nil || stored.results() != res.results() || !stored.StartedAt.Equal(res.StartedAt) {
		t.Fatalf("stored result %s", last.raw)
	}
}

// An edge that answers /mcp without a token fails R3 as critical; R7,
// which depends on R3, is skipped.
func TestSelfCheck_OpenEndpointIsCritical(t *testing.T) {
	t.Parallel()
	d := newDeployment(t, func(e *edgeFake) { e.open = true }, nil)
	d.configure(t)
	res := d.run(t)
	if got := res.results(); got != "R1:pass R2:pass R3:fail R4:pass R5:pass R6:pass R7:skipped" {
		t.Fatalf("%s", got)
	}
	r3 := res.Steps[2]
	if !r3.Critical || !strings.Contains(r3.Observed, "Critical — the endpoint answers without authentication") {
		t.Fatalf("R3 %+v", r3)
	}
	if res.Steps[6].Observed != "Not run because R3 failed." {
		t.Fatalf("R7 %+v", res.Steps[6])
	}
	d.assertBrokered(t, 5)
}

// Protected-resource metadata naming another resource fails R4 with both
// values; R5 still runs against the saved issuer.
func TestSelfCheck_OtherResourceFailsR4(t *testing.T) {
	t.Parallel()
	d := newDeployment(t, func(e *edgeFake) { e.prmResource = "https://other.test/mcp" }, nil)
	d.configure(t)
	res := d.run(t)
	if got := res.results(); got != "R1:pass R2:pass R3:pass R4:fail R5:pass R6:pass R7:pass" {
		t.Fatalf("%s", got)
	}
	r4 := res.Steps[3]
	if !strings.Contains(r4.Observed, `resource is "https://other.test/mcp", expected "https://edge.test/mcp"`) ||
		!strings.Contains(r4.Fix, "MCPBOX_EDGE_RESOURCE") || r4.Critical {
		t.Fatalf("R4 %+v", r4)
	}
}

// A key set that is not found fails R6.
func TestSelfCheck_MissingJWKSFailsR6(t *testing.T) {
	t.Parallel()
	d := newDeployment(t, nil, func(p *idpFake) { p.jwksMissing = true })
	d.configure(t)
	res := d.run(t)
	if got := res.results(); got != "R1:pass R2:pass R3:pass R4:pass R5:pass R6:fail R7:pass" {
		t.Fatalf("%s", got)
	}
	if !strings.Contains(res.Steps[5].Observed, "https://idp.test"+jwksPath+" answered 404") {
		t.Fatalf("R6 %+v", res.Steps[5])
	}
}

// Metadata without S256 is a warning, and R6 still runs.
func TestSelfCheck_NoS256IsWarning(t *testing.T) {
	t.Parallel()
	d := newDeployment(t, nil, func(p *idpFake) { p.noS256 = true })
	d.configure(t)
	res := d.run(t)
	if got := res.results(); got != "R1:pass R2:pass R3:pass R4:pass R5:warning R6:pass R7:pass" {
		t.Fatalf("%s", got)
	}
	if r5 := res.Steps[4]; !strings.Contains(r5.Observed, "does not include S256") || !strings.Contains(r5.Fix, "PKCE") {
		t.Fatalf("R5 %+v", r5)
	}
}

// A redirect is reported, not followed; the steps that need a working
// edge are skipped, the identity provider is still checked.
func TestSelfCheck_RedirectIsReported(t *testing.T) {
	t.Parallel()
	d := newDeployment(t, func(e *edgeFake) { e.movedHealth = true }, nil)
	d.configure(t)
	res := d.run(t)
	if got := res.results(); got != "R1:pass R2:fail R3:skipped R4:skipped R5:pass R6:pass R7:skipped" {
		t.Fatalf("%s", got)
	}
	if r2 := res.Steps[1]; !strings.Contains(r2.Observed, `answered 301 redirecting to "https://elsewhere.test/health"; redirects are reported, not followed`) {
		t.Fatalf("R2 %+v", r2)
	}
	d.assertBrokered(t, 3)
}

// When the sandbox cannot be reached, the steps say so; nothing is
// contacted directly.
func TestSelfCheck_SandboxDown(t *testing.T) {
	t.Parallel()
	b, auth := signedIn(t) // its sandbox is a closed port
	r := b.call(t, http.MethodPatch, remoteAccessPath, map[string]string{"public_url": edgeURL, "expected_issuer": issuerURL}, auth...)
	if r.status != http.StatusOK {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	r = b.call(t, http.MethodPost, selfCheckPath, nil, auth...)
	var res selfCheckBody
	if r.status != http.StatusOK || json.Unmarshal([]byte(r.raw), &res) != nil {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	if got := res.results(); got != "R1:pass R2:fail R3:skipped R4:skipped R5:fail R6:skipped R7:skipped" {
		t.Fatalf("%s", got)
	}
	if r2 := res.Steps[1]; !strings.Contains(r2.Observed, "MCPbox's sandbox did not send the request") || !strings.Contains(r2.Fix, "sandbox") {
		t.Fatalf("R2 %+v", r2)
	}
}

// One check at a time per installation: while a check runs, a second one
// on another replica of the same database gets 409 invalid_state.
func TestSelfCheck_OneAtATime(t *testing.T) {
	t.Parallel()
	hold, arrived := make(chan struct{}), make(chan struct{}, 1)
	var release sync.Once
	d := newDeployment(t, func(e *edgeFake) { e.hold, e.arrived = hold, arrived }, nil)
	t.Cleanup(func() { release.Do(func() { close(hold) }) })
	d.configure(t)
	first := make(chan response, 1)
	go func() { first <- d.b.call(t, http.MethodPost, selfCheckPath, nil, d.auth...) }()
	select {
	case <-arrived:
	case <-time.After(20 * time.Second):
		t.Fatal("the first check never reached the edge")
	}
	other := replica(t, d.b.url, withSandbox(d.sb.srv.URL))
	second := other.call(t, http.MethodPost, selfCheckPath, nil, bearer(other.login(t))...)
	wantError(t, second, http.StatusConflict, proto.CodeInvalidState)
	if !strings.HasPrefix(second.err.Message, "A check is already running") {
		t.Fatalf("message %q", second.err.Message)
	}
	release.Do(func() { close(hold) })
	if r := <-first; r.status != http.StatusOK {
		t.Fatalf("first check: %d %s", r.status, r.raw)
	}
	// The lock is released with the check.
	if r := d.b.call(t, http.MethodPost, selfCheckPath, nil, d.auth...); r.status != http.StatusOK {
		t.Fatalf("third check: %d %s", r.status, r.raw)
	}
	if n := d.b.countRows(t, "SELECT count(*) FROM activity_log WHERE action = 'settings.self_check'"); n != 2 {
		t.Fatalf("%d self-check audit rows, want 2", n)
	}
}

// Without a saved public URL the check is 409 and nothing is fetched.
func TestSelfCheck_NoPublicURL(t *testing.T) {
	t.Parallel()
	d := newDeployment(t, nil, nil)
	r := d.b.call(t, http.MethodPost, selfCheckPath, nil, d.auth...)
	wantError(t, r, http.StatusConflict, proto.CodeInvalidState)
	if !strings.Contains(r.err.Message, "No public URL is saved") {
		t.Fatalf("message %q", r.err.Message)
	}
	if last := d.b.call(t, http.MethodGet, selfCheckPath, nil, d.auth...); last.status != http.StatusOK || last.raw != "null\n" {
		t.Fatalf("last result: %d %q", last.status, last.raw)
	}
	d.assertBrokered(t, 0)
}

// A loopback public URL passes R1 and skips R2–R7 with the stated text,
// without a single fetch.
func TestSelfCheck_LoopbackURLSkipsTheRest(t *testing.T) {
	t.Parallel()
	d := newDeployment(t, nil, nil)
	if r := d.b.call(t, http.MethodPatch, remoteAccessPath, map[string]string{"public_url": "http://127.0.0.1:8080"}, d.auth...); r.status != http.StatusOK {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	res := d.run(t)
	if got := res.results(); got != "R1:pass R2:skipped R3:skipped R4:skipped R5:skipped R6:skipped R7:skipped" {
		t.Fatalf("%s", got)
	}
	for _, s := range res.Steps[1:] {
		if s.Observed != loopbackSkip {
			t.Fatalf("%s observed %q", s.ID, s.Observed)
		}
	}
	d.assertBrokered(t, 0)
}

// A stored public URL that breaks the rule (written before the rule, or by
// hand) fails R1, and every other step is skipped.
func TestSelfCheck_BadStoredURLFailsR1(t *testing.T) {
	t.Parallel()
	d := newDeployment(t, nil, nil)
	d.b.sql(t, `INSERT INTO settings (key, value) VALUES ('remote_public_url', '"https://edge.test/mcp?x=1"')`, nil)
	res := d.run(t)
	if got := res.results(); got != "R1:fail R2:skipped R3:skipped R4:skipped R5:skipped R6:skipped R7:skipped" {
		t.Fatalf("%s", got)
	}
	if r1 := res.Steps[0]; !strings.HasPrefix(r1.Observed, "public_url: must not contain a query") || res.Steps[1].Observed != "Not run because R1 failed." {
		t.Fatalf("%+v", res.Steps[:2])
	}
	d.assertBrokered(t, 0)
}

// remoteSettings is the body of GET/PATCH /settings/remote-access.
type remoteSettings struct {
	PublicURL        *string `json:"public_url"`
	ExpectedIssuer   *string `json:"expected_issuer"`
	ExpectedAudience *string `json:"expected_audience"`
	Revision         int64   `json:"revision"`
}

func decodeSettings(t *testing.T, r response) remoteSettings {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	var s remoteSettings
	if err := json.Unmarshal([]byte(r.raw), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

func str(p *string) string {
	if p == nil {
		return "<null>"
	}
	return *p
}

// PATCH refuses bad values naming the field, normalises the public URL,
// defaults the audience and checks the revision.
func TestRemoteAccessSettings(t *testing.T) {
	t.Parallel()
	b, auth := signedIn(t)
	s := decodeSettings(t, b.call(t, http.MethodGet, remoteAccessPath, nil, auth...))
	if s.PublicURL != nil || s.ExpectedIssuer != nil || s.ExpectedAudience != nil || s.Revision != 0 {
		t.Fatalf("initial %+v", s)
	}
	for _, tc := range []struct{ body, field, message string }{
		{`{"public_url": "http://mcp.example.com"}`, "public_url", "public_url: must use https (http only on a loopback address"},
		{`{"public_url": "https://mcp.example.com/mcp"}`, "public_url", "public_url: must be the base address without a path"},
		{`{"public_url": "https://mcp.example.com?a=b"}`, "public_url", "public_url: must not contain a query"},
		{`{"public_url": "https://mcp.example.com#x"}`, "public_url", "public_url: must not contain a fragment"},
		{`{"expected_issuer": "ftp://id.example.com"}`, "expected_issuer", "expected_issuer: must use https"},
		{`{"expected_audience": 5}`, "expected_audience", "expected_audience: must be a string"},
		{`{"public_url": "https://ok.example", "expected_audience": "https://a.example/mcp#f"}`, "expected_audience", "expected_audience: must not contain a fragment"},
		{`{"public_url": "https://ok.example", "foo": 1}`, "foo", "foo: unknown field"},
		{`{}`, "", "No settings given"},
		{`{"revision": 0}`, "", "No settings given"},
		{`{"revision": null, "public_url": "https://ok.example"}`, "revision", "revision: must be the revision you read"},
	} {
		r := b.rawCall(t, http.MethodPatch, remoteAccessPath, tc.body, auth...)
		wantError(t, r, http.StatusBadRequest, proto.CodeValidationFailed)
		if r.err.Field != tc.field || !strings.HasPrefix(r.err.Message, tc.message) {
			t.Errorf("%s: field %q message %q", tc.body, r.err.Field, r.err.Message)
		}
	}
	if n := b.settingsAudits(t); n != 0 || b.policyRevision(t) != 0 {
		t.Fatalf("refused changes wrote %d audit rows", n)
	}
	s = decodeSettings(t, b.call(t, http.MethodPatch, remoteAccessPath, map[string]any{"public_url": "https://MCP.Example.com/", "revision": 0}, auth...))
	if str(s.PublicURL) != "https://mcp.example.com" || str(s.ExpectedAudience) != "https://mcp.example.com/mcp" || s.ExpectedIssuer != nil || s.Revision != 1 {
		t.Fatalf("after the first change %+v", s)
	}
	// A change made on a revision that is no longer current writes nothing.
	stale := b.call(t, http.MethodPatch, remoteAccessPath, map[string]any{"expected_issuer": issuerURL, "revision": 0}, auth...)
	wantError(t, stale, http.StatusConflict, proto.CodeVersionChanged)
	if !strings.Contains(stale.err.Message, "revision 1, not at revision 0") {
		t.Fatalf("message %q", stale.err.Message)
	}
	s = decodeSettings(t, b.call(t, http.MethodGet, remoteAccessPath, nil, auth...))
	if s.ExpectedIssuer != nil || s.Revision != 1 {
		t.Fatalf("the stale change was written: %+v", s)
	}
	s = decodeSettings(t, b.call(t, http.MethodPatch, remoteAccessPath, map[string]any{
		"expected_issuer": issuerURL, "expected_audience": "https://mcp.example.com/api", "revision": 1,
	}, auth...))
	if str(s.ExpectedIssuer) != issuerURL || str(s.ExpectedAudience) != "https://mcp.example.com/api" || s.Revision != 2 {
		t.Fatalf("after the second change %+v", s)
	}
	// "" and null clear: the audience goes back to its default.
	s = decodeSettings(t, b.rawCall(t, http.MethodPatch, remoteAccessPath, `{"expected_audience": "", "expected_issuer": null}`, auth...))
	if s.ExpectedIssuer != nil || str(s.ExpectedAudience) != "https://mcp.example.com/mcp" || s.Revision != 3 {
		t.Fatalf("after clearing %+v", s)
	}
	// The security policy's revision is the same counter.
	if b.policyRevision(t) != 3 {
		t.Fatalf("policy revision %d", b.policyRevision(t))
	}
	// Without a session every route is 401.
	for _, route := range [][2]string{
		{http.MethodGet, remoteAccessPath}, {http.MethodPatch, remoteAccessPath}, {http.MethodPost, selfCheckPath}, {http.MethodGet, selfCheckPath},
	} {
		wantError(t, b.call(t, route[0], route[1], nil), http.StatusUnauthorized, proto.CodeUnauthenticated)
	}
}

// BE-85: every remote-access mutation writes its audit row in the same
// transaction; a refused or empty one writes none.
func TestBE85_RemoteAccessAudit(t *testing.T) {
	t.Parallel()
	d := newDeployment(t, nil, nil)
	d.configure(t)
	var details string
	d.b.sql(t, "SELECT details::text FROM activity_log WHERE action = 'settings.update' AND actor LIKE 'admin:%'", []any{&details})
	var changes struct {
		Changes map[string]struct{ Old, New any } `json:"changes"`
	}
	if err := json.Unmarshal([]byte(details), &changes); err != nil {
		t.Fatal(err)
	}
	if c := changes.Changes["remote_public_url"]; c.Old != nil || c.New != edgeURL || len(changes.Changes) != 2 ||
		changes.Changes["remote_expected_issuer"].New != issuerURL {
		t.Fatalf("details %s", details)
	}
	// The same values again change nothing and write nothing; a refused
	// change writes nothing either.
	d.configure(t)
	wantError(t, d.b.call(t, http.MethodPatch, remoteAccessPath, map[string]string{"public_url": "ftp://x"}, d.auth...),
		http.StatusBadRequest, proto.CodeValidationFailed)
	if n := d.b.settingsAudits(t); n != 1 {
		t.Fatalf("%d settings.update rows, want 1", n)
	}
	res := d.run(t)
	var level, results string
	d.b.sql(t, "SELECT level, details->>'results' FROM activity_log WHERE action = 'settings.self_check'", []any{&level, &results})
	if level != "info" || !strings.Contains(results, `"R7": "pass"`) || res.results() == "" {
		t.Fatalf("self-check audit %s %s", level, results)
	}
	var stored string
	d.b.sql(t, "SELECT value->>'public_url' FROM settings WHERE key = 'remote_selfcheck_result'", []any{&stored})
	if stored != edgeURL {
		t.Fatalf("stored result for %q", stored)
	}
}
