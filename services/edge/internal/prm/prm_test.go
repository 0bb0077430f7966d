package prm

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

const (
	publicURL = "https://mcp.example.test"
	resource  = publicURL + "/mcp"
	issuer    = "https://id.example.test/realms/mcpbox"
	metaURL   = "https://mcp.example.test/.well-known/oauth-protected-resource/mcp"
)

func newTest(required ...string) *Metadata {
	return New(publicURL, resource, issuer, []string{"openid", "email", "mcp"}, required)
}

func get(t *testing.T, m *Metadata, method, path string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequestWithContext(context.Background(), method, path, nil)
	for i := 0; i < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	if r.Header.Get("Host") != "" {
		r.Host = r.Header.Get("Host")
	}
	w := httptest.NewRecorder()
	m.ServeHTTP(w, r)
	return w
}

func TestEDGE11_MetadataDocument(t *testing.T) {
	t.Parallel()
	m := newTest()
	want := `{"resource":"https://mcp.example.test/mcp",` +
		`"authorization_servers":["https://id.example.test/realms/mcpbox"],` +
		`"bearer_methods_supported":["header"],` +
		`"scopes_supported":["openid","email","mcp"],` +
		`"resource_name":"MCPbox"}`
	for _, path := range []string{"/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"} {
		w := get(t, m, http.MethodGet, path)
		if w.Code != http.StatusOK || w.Body.String() != want {
			t.Fatalf("%s: %d %s, want 200 %s", path, w.Code, w.Body, want)
		}
		for k, v := range map[string]string{
			"Content-Type":                "application/json",
			"Cache-Control":               "public, max-age=300",
			"Access-Control-Allow-Origin": "*",
			"Content-Length":              strconv.Itoa(len(want)),
		} {
			if got := w.Header().Get(k); got != v {
				t.Errorf("%s: %s = %q, want %q", path, k, got, v)
			}
		}
		var doc map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("HEAD has headers only", func(t *testing.T) {
		t.Parallel()
		w := get(t, m, http.MethodHead, "/.well-known/oauth-protected-resource/mcp")
		if w.Code != http.StatusOK || w.Body.Len() != 0 || w.Header().Get("Content-Length") != strconv.Itoa(len(want)) {
			t.Fatalf("HEAD: %d, body %q, Content-Length %q", w.Code, w.Body, w.Header().Get("Content-Length"))
		}
		if w.Header().Get("Access-Control-Allow-Origin") != "*" || w.Header().Get("Cache-Control") != "public, max-age=300" {
			t.Fatalf("HEAD headers %v", w.Header())
		}
	})
	t.Run("scopes_supported omitted when empty", func(t *testing.T) {
		t.Parallel()
		w := get(t, New(publicURL+"/", resource+"/", issuer, nil, nil), http.MethodGet, "/.well-known/oauth-protected-resource")
		if got, want := w.Body.String(), `{"resource":"https://mcp.example.test/mcp","authorization_servers":["https://id.example.test/realms/mcpbox"],"bearer_methods_supported":["header"],"resource_name":"MCPbox"}`; got != want {
			t.Fatalf("body %s, want %s", got, want)
		}
	})
	t.Run("other methods", func(t *testing.T) {
		t.Parallel()
		w := get(t, m, http.MethodPost, "/.well-known/oauth-protected-resource")
		if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "GET, HEAD, OPTIONS" {
			t.Fatalf("POST: %d Allow %q", w.Code, w.Header().Get("Allow"))
		}
	})
}

func TestEDGE12_HostHeaderNeverUsed(t *testing.T) {
	t.Parallel()
	m := newTest("mcp")
	w := get(t, m, http.MethodGet, "http://evil.example/.well-known/oauth-protected-resource/mcp",
		"Host", "evil.example", "X-Forwarded-Host", "evil.example", "X-Forwarded-Proto", "http", "Forwarded", "host=evil.example")
	if strings.Contains(w.Body.String(), "evil") || !strings.Contains(w.Body.String(), `"resource":"https://mcp.example.test/mcp"`) {
		t.Fatalf("body %s does not name the configured URL only", w.Body)
	}
	if m.URL() != metaURL {
		t.Fatalf("URL() = %q", m.URL())
	}
	for _, c := range []string{m.Challenge("", ""), m.Challenge("invalid_token", "token expired")} {
		if !strings.Contains(c, `resource_metadata="`+metaURL+`"`) {
			t.Errorf("challenge %q does not name %s", c, metaURL)
		}
	}
}

func TestMetadataURL(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ public, resource, want string }{
		{publicURL, resource, metaURL},
		{publicURL + "/", resource, metaURL},
		{publicURL, publicURL, "https://mcp.example.test/.well-known/oauth-protected-resource"},
		{publicURL, publicURL + "/", "https://mcp.example.test/.well-known/oauth-protected-resource"},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080/mcp", "http://127.0.0.1:8080/.well-known/oauth-protected-resource/mcp"},
	} {
		if got := New(c.public, c.resource, issuer, nil, nil).URL(); got != c.want {
			t.Errorf("URL(%q, %q) = %q, want %q", c.public, c.resource, got, c.want)
		}
	}
}

func TestEDGE13_NoTokenChallenge(t *testing.T) {
	t.Parallel()
	want := `Bearer resource_metadata="https://mcp.example.test/.well-known/oauth-protected-resource/mcp"`
	if got := newTest().Challenge("", ""); got != want {
		t.Fatalf("Challenge = %q, want %q", got, want)
	}
}

func TestEDGE14_NoTokenChallengeWithScope(t *testing.T) {
	t.Parallel()
	want := `Bearer resource_metadata="https://mcp.example.test/.well-known/oauth-protected-resource/mcp", scope="mcp"`
	if got := newTest("mcp").Challenge("", ""); got != want {
		t.Fatalf("Challenge = %q, want %q", got, want)
	}
	want = `Bearer resource_metadata="https://mcp.example.test/.well-known/oauth-protected-resource/mcp", scope="mcp tools"`
	if got := newTest("mcp", "tools").Challenge("", ""); got != want {
		t.Fatalf("Challenge = %q, want %q", got, want)
	}
}

func TestChallenges(t *testing.T) {
	t.Parallel()
	m := newTest("mcp")
	const rm = `resource_metadata="` + metaURL + `"`
	for _, c := range []struct {
		code, description, want string
	}{
		{"invalid_request", "", `Bearer error="invalid_request", ` + rm},
		{"invalid_request", "ignored", `Bearer error="invalid_request", ` + rm},
		// EDGE-15 (the header of an expired token and of a bad signature)
		{"invalid_token", "token expired", `Bearer error="invalid_token", error_description="token expired", ` + rm},
		{"invalid_token", "token verification failed", `Bearer error="invalid_token", error_description="token verification failed", ` + rm},
		{"invalid_token", "token not yet valid", `Bearer error="invalid_token", error_description="token not yet valid", ` + rm},
		{"invalid_token", "token audience does not match this resource", `Bearer error="invalid_token", error_description="token audience does not match this resource", ` + rm},
		{"invalid_token", "token issuer not accepted", `Bearer error="invalid_token", error_description="token issuer not accepted", ` + rm},
		{"invalid_token", "", `Bearer error="invalid_token", ` + rm},
		{"invalid_token", "say \"hi\" \\ \r\nX-Evil: 1\x00é", `Bearer error="invalid_token", error_description="say \"hi\" \\ X-Evil: 1", ` + rm},
		// EDGE-36 (the header of a missing scope)
		{"insufficient_scope", "", `Bearer error="insufficient_scope", scope="mcp", ` + rm},
		{"other_code", "", `Bearer error="other_code", ` + rm},
	} {
		if got := m.Challenge(c.code, c.description); got != c.want {
			t.Errorf("Challenge(%q, %q) = %q, want %q", c.code, c.description, got, c.want)
		}
	}
	if got, want := newTest().Challenge("insufficient_scope", ""), `Bearer error="insufficient_scope", `+rm; got != want {
		t.Errorf("without required scopes: %q, want %q", got, want)
	}
}

func TestChallengeQuotesConfiguration(t *testing.T) {
	t.Parallel()
	m := New(publicURL, resource, issuer, nil, []string{`a"b`, "c\\d", "e\nf"})
	want := `Bearer resource_metadata="` + metaURL + `", scope="a\"b c\\d ef"`
	if got := m.Challenge("", ""); got != want {
		t.Fatalf("Challenge = %q, want %q", got, want)
	}
}
