package ui_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/db/dbtest"
	"github.com/mcpbox/mcpbox/proto/envcfg"
	"github.com/mcpbox/mcpbox/services/backend/internal/adminapi"
	"github.com/mcpbox/mcpbox/services/backend/internal/config"
	"github.com/mcpbox/mcpbox/services/backend/internal/password"
	"github.com/mcpbox/mcpbox/services/backend/internal/policy"
	"github.com/mcpbox/mcpbox/services/backend/internal/seal"
	"github.com/mcpbox/mcpbox/services/backend/internal/wiring"
)

const (
	testKey   = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	adminName = "admin"
	adminPass = "correct horse battery"
)

// backend is the real backend as package wiring builds it (the main
// listener, which mounts the UI, and the internal listener) on loopback
// over a fresh PostgreSQL database, with the fast test hashing parameters
// and a fake sandbox that answers analysis (serversSandbox). Loopback is a
// trusted proxy, so a test picks its client IP with X-Forwarded-For.
type backend struct {
	srv      *httptest.Server
	internal *httptest.Server
	store    *db.Store
	url      string // the database
	code     string // the setup code
	policy   *policy.Service
	logs     *syncBuffer
}

type options struct {
	heartbeat, recheck time.Duration
	// sandboxURL and sandboxToken replace the default fake sandbox
	// (serversSandbox); token replaces the gateway's service token.
	sandboxURL, sandboxToken, token string
}

func newBackend(t *testing.T, opts ...func(*options)) *backend {
	t.Helper()
	var o options
	for _, f := range opts {
		f(&o)
	}
	dsn := dbtest.URL(t)
	store, err := db.Open(t.Context(), dsn, db.WithMaxConns(8))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	keys, err := seal.New(1, testKey, "")
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	if o.sandboxURL == "" {
		o.sandboxURL, o.sandboxToken = serversSandbox(t).URL, serversSandboxToken
	}
	if o.token == "" {
		o.token = serversToken
	}
	ctx, cancel := context.WithCancel(context.Background())
	w, err := wiring.New(ctx, wiring.Options{
		Config: config.Config{
			Token: envcfg.Token(o.token), SandboxURL: o.sandboxURL, SandboxToken: envcfg.Token(o.sandboxToken), CookieSecure: "auto",
			SessionIdle: 30 * time.Minute, SessionMax: 7 * 24 * time.Hour, HashConcurrency: 2, TestRunConc: 2,
			LocalMCPURL: "http://mcpbox.lan:8002/mcp", TrustedProxies: []string{"127.0.0.0/8", "::1/128"},
		},
		Store: store, Keys: keys, Hasher: password.New(password.Fast(), 4),
		Log: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Main: func(d *adminapi.Deps) {
			d.StreamPing, d.StreamRecheck = o.heartbeat, o.recheck
		},
	})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	main, internal := httptest.NewServer(w.Main), httptest.NewServer(w.Internal)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("backend log:\n%s", logs.String())
		}
		w.CloseStreams()
		main.CloseClientConnections()
		main.Close()
		internal.Close()
		cancel()
		w.Close()
	})
	return &backend{srv: main, internal: internal, store: store, url: dsn, code: w.SetupCode, policy: policy.New(store), logs: logs}
}

// sql runs a statement on the backend's database.
func (b *backend) sql(t *testing.T, query string, args ...any) {
	t.Helper()
	dbtest.Exec(t, b.url, query, args...)
}

// browser is one browser: a cookie jar, no redirect following, and the
// client address it sends as X-Forwarded-For.
type browser struct {
	b      *backend
	client *http.Client
	ip     string
}

func (b *backend) browser(t *testing.T, ip string) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{b: b, ip: ip, client: &http.Client{
		Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// page is a response with its body, and the parsed document for HTML.
type page struct {
	status int
	header http.Header
	body   string
	doc    *html.Node
}

// do sends a request; header pairs follow.
func (br *browser) do(t *testing.T, method, path string, body io.Reader, header ...string) page {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, br.b.srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if br.ip != "" {
		req.Header.Set("X-Forwarded-For", br.ip)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := br.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	p := page{status: resp.StatusCode, header: resp.Header, body: string(raw)}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		if p.doc, err = html.Parse(bytes.NewReader(raw)); err != nil {
			t.Fatalf("%s %s: parse: %v", method, path, err)
		}
	}
	return p
}

func (br *browser) get(t *testing.T, path string, header ...string) page {
	t.Helper()
	return br.do(t, http.MethodGet, path, nil, header...)
}

// post sends a form; the _csrf field is whatever form holds.
func (br *browser) post(t *testing.T, path string, form url.Values, header ...string) page {
	t.Helper()
	return br.do(t, http.MethodPost, path, strings.NewReader(form.Encode()), header...)
}

// csrf is the token a page rendered in <meta name="csrf-token">.
func (p page) csrf(t *testing.T) string {
	t.Helper()
	m := find(p.doc, func(n *html.Node) bool { return n.Data == "meta" && attr(n, "name") == "csrf-token" })
	if m == nil {
		t.Fatalf("no csrf-token meta in %d page", p.status)
	}
	return attr(m, "content")
}

// byID returns the element with the id, or nil.
func (p page) byID(id string) *html.Node {
	return find(p.doc, func(n *html.Node) bool { return attr(n, "id") == id })
}

// text is the text content of the element with the id ("" when absent).
func (p page) text(id string) string {
	n := p.byID(id)
	if n == nil {
		return ""
	}
	return strings.Join(strings.Fields(textOf(n)), " ")
}

// setup creates the admin through the UI (step 1 and step 2 with the
// given profile) and leaves the browser signed in.
func (br *browser) setup(t *testing.T, profile string) {
	t.Helper()
	p := br.get(t, "/setup")
	if p.status != http.StatusOK {
		t.Fatalf("GET /setup: %d", p.status)
	}
	r := br.post(t, "/setup", url.Values{
		"_csrf": {p.csrf(t)}, "setup_code": {br.b.code}, "username": {adminName},
		"password": {adminPass}, "confirm_password": {adminPass},
	})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/setup" {
		t.Fatalf("POST /setup: %d %s %s", r.status, r.header.Get("Location"), r.body)
	}
	step2 := br.get(t, "/setup")
	if step2.status != http.StatusOK || step2.byID("setup-security-form") == nil {
		t.Fatalf("step 2: %d", step2.status)
	}
	r = br.post(t, "/setup/security", url.Values{"_csrf": {step2.csrf(t)}, "profile": {profile}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/" {
		t.Fatalf("POST /setup/security: %d %s %s", r.status, r.header.Get("Location"), r.body)
	}
}

// login signs the browser in through the UI.
func (br *browser) login(t *testing.T) {
	t.Helper()
	p := br.get(t, "/login")
	r := br.post(t, "/login", url.Values{"_csrf": {p.csrf(t)}, "username": {adminName}, "password": {adminPass}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("login: %d %s", r.status, r.body)
	}
}

// token is the CSRF token of the browser's signed-in pages.
func (br *browser) token(t *testing.T) string {
	t.Helper()
	return br.get(t, "/servers").csrf(t)
}

// cookie returns the value of the browser's cookie name ("" when none).
func (br *browser) cookie(t *testing.T, name string) *http.Cookie {
	t.Helper()
	u, err := url.Parse(br.b.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range br.client.Jar.Cookies(u) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// HTML helpers.

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func hasAttr(n *html.Node, key string) bool {
	for _, a := range n.Attr {
		if a.Key == key {
			return true
		}
	}
	return false
}

func find(n *html.Node, match func(*html.Node) bool) *html.Node {
	if n == nil {
		return nil
	}
	if n.Type == html.ElementNode && match(n) {
		return n
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if m := find(c, match); m != nil {
			return m
		}
	}
	return nil
}

func findAll(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && match(n) {
			out = append(out, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	if n != nil {
		walk(n)
	}
	return out
}

func textOf(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}

// syncBuffer is a log sink safe for the handlers' goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}
