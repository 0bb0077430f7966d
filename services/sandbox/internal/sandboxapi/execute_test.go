package sandboxapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/canon"
	"github.com/mcpbox/mcpbox/proto/httpserve"
	"github.com/mcpbox/mcpbox/proto/obs"
	"github.com/mcpbox/mcpbox/proto/servicetoken"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/analyze"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/egress"
)

const (
	token    = "5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d"
	previous = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"
	code     = "package tool\n\nimport \"context\"\n\ntype Input struct{}\n\n// Main says hi.\nfunc Main(ctx context.Context, in Input) (string, error) { return \"hi\", nil }\n"
)

func server(t *testing.T) *httptest.Server {
	t.Helper()
	return serverWith(t, nil)
}

// serverWith serves the routes with exec as the pool (nil: not wired).
func serverWith(t *testing.T, exec Executor) *httptest.Server {
	t.Helper()
	reg := prometheus.NewRegistry()
	broker, err := egress.New(egress.Config{}, reg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	mux := Routes(Deps{
		Health: httpserve.NewHealth(), Reg: reg, Tokens: servicetoken.New(reg, "sandbox", token, previous), MaxMemoryMB: 1024,
		Analyzer: analyze.New(reg, analyze.Options{}), Broker: broker, Pool: exec,
	})
	srv := httptest.NewServer(obs.RequestIDMiddleware(obs.KeepValid, mux))
	t.Cleanup(srv.Close)
	return srv
}

// valid returns a request body that passes every check, as a map to mutate.
func valid(t *testing.T) map[string]any {
	t.Helper()
	m := proto.Manifest{
		Hosts: []string{"api.example.com", "files.example.com:8443"}, Packages: []string{"encoding/xml"},
		Secrets: []string{"API_KEY", "OTHER"}, TimeoutMS: 30000, MemoryMB: 128,
	}
	hash, err := canon.HashGo(code, m)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]any{
		"code": code, "manifest": m, "pinned_hash": hash, "arguments": map[string]any{},
		"allowed_hosts": []string{"api.example.com:443"}, "extra_packages": []string{"encoding/xml"},
		"secrets": map[string]any{"API_KEY": "k-12345678"}, "withheld_secrets": []string{"OTHER"},
		"limits": map[string]any{"timeout_ms": 30000, "memory_mb": 128},
	}
}

func post(t *testing.T, srv *httptest.Server, body []byte, header ...string) (int, proto.ErrorBody, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, srv.URL+proto.PathSandboxExecute, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(proto.HeaderServiceToken, token)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, _ := io.ReadAll(resp.Body)
	var eb proto.ErrorBody
	_ = json.Unmarshal(raw, &eb)
	return resp.StatusCode, eb, string(raw)
}

func marshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestValidRequestPassesEveryCheck(t *testing.T) {
	t.Parallel()
	status, eb, raw := post(t, server(t), marshal(t, valid(t)))
	if status != http.StatusNotImplemented || eb.Error.Code != proto.CodeNotImplemented {
		t.Fatalf("valid request: %d %s", status, raw)
	}
}

// A request_id in the body wins over the X-Request-Id header (sandbox.md
// §4.1); one that breaks the format is a 400 naming the field.
func TestBodyRequestIDWins(t *testing.T) {
	t.Parallel()
	srv := server(t)
	m := valid(t)
	m["request_id"] = "body-req-1"
	status, eb, raw := post(t, srv, marshal(t, m), proto.HeaderRequestID, "header-req-1")
	if status != http.StatusNotImplemented || eb.Error.RequestID != "body-req-1" {
		t.Fatalf("body id not adopted: %d %s", status, raw)
	}
	m["request_id"] = "has space"
	status, eb, raw = post(t, srv, marshal(t, m), proto.HeaderRequestID, "header-req-2")
	if status != http.StatusBadRequest || eb.Error.Field != "request_id" || eb.Error.RequestID != "header-req-2" {
		t.Fatalf("invalid body id: %d %s", status, raw)
	}
}

// SB-59 (API layer): every authentication failure gives the same 401 body (but the
// request id); the previous token is accepted during a rotation.
func TestAuthenticationFailuresAreIdentical(t *testing.T) {
	t.Parallel()
	srv := server(t)
	body := marshal(t, valid(t))
	var bodies []string
	for _, hdr := range [][]string{
		// Leading and trailing whitespace is not part of an HTTP field value
		// (RFC 9110 §5.5), so a padded token arrives unpadded; padding inside
		// the value is refused.
		{proto.HeaderServiceToken, ""},
		{proto.HeaderServiceToken, "wrong"},
		{proto.HeaderServiceToken, token[:32] + " " + token[32:]},
		{proto.HeaderServiceToken, strings.ToUpper(token)},
		{proto.HeaderServiceToken, "", "Authorization", "Bearer " + token},
	} {
		hdr = append(hdr, "X-Request-Id", "same-id")
		status, eb, raw := post(t, srv, body, hdr...)
		if status != http.StatusUnauthorized || eb.Error.Code != proto.CodeUnauthenticated {
			t.Errorf("%q: %d %s", hdr, status, raw)
		}
		bodies = append(bodies, raw)
	}
	for _, b := range bodies[1:] {
		if b != bodies[0] {
			t.Errorf("refusal bodies differ:\n%s\n%s", bodies[0], b)
		}
	}
	if status, _, raw := post(t, srv, body, proto.HeaderServiceToken, previous); status != http.StatusNotImplemented {
		t.Errorf("previous token: %d %s", status, raw)
	}
}

func TestExecuteValidation(t *testing.T) {
	t.Parallel()
	srv := server(t)
	cases := []struct {
		name   string
		mutate func(m map[string]any)
		status int
		field  string
		rule   string
	}{
		// SB-60: code over 100 KiB and timeouts out of range name the field.
		{"code too long", func(m map[string]any) { m["code"] = code + strings.Repeat("/", proto.MaxCodeBytes) }, 400, "code", "at most 102400 bytes"},
		{"timeout 0", func(m map[string]any) { m["limits"] = map[string]any{"timeout_ms": 0, "memory_mb": 128} }, 400, "limits.timeout_ms", "must be 100–300000"},
		{"timeout 300001", func(m map[string]any) { m["limits"] = map[string]any{"timeout_ms": 300001, "memory_mb": 128} }, 400, "limits.timeout_ms", "must be 100–300000"},
		{"memory above max", func(m map[string]any) { m["limits"] = map[string]any{"timeout_ms": 30000, "memory_mb": 2048} }, 400, "limits.memory_mb", "must be 32–1024"},
		// SB-61 (validation layer): the pinned hash and the manifest bound.
		{"code changed", func(m map[string]any) { m["code"] = code + " " }, 409, "pinned_hash", "does not match"},
		{"host added", func(m map[string]any) {
			man := m["manifest"].(proto.Manifest)
			man.Hosts = append(man.Hosts, "evil.example")
			m["manifest"] = man
		}, 409, "pinned_hash", "does not match"},
		{"secret added", func(m map[string]any) {
			man := m["manifest"].(proto.Manifest)
			man.Secrets = append(man.Secrets, "MORE")
			m["manifest"] = man
		}, 409, "pinned_hash", "does not match"},
		{"timeout changed", func(m map[string]any) {
			man := m["manifest"].(proto.Manifest)
			man.TimeoutMS = 60000
			m["manifest"] = man
		}, 409, "pinned_hash", "does not match"},
		{"host outside manifest", func(m map[string]any) { m["allowed_hosts"] = []string{"other.example"} }, 400, "allowed_hosts[0]", "not in manifest.hosts"},
		{"port outside manifest", func(m map[string]any) { m["allowed_hosts"] = []string{"files.example.com:9000"} }, 400, "allowed_hosts[0]", "not in manifest.hosts"},
		{"package outside manifest", func(m map[string]any) { m["extra_packages"] = []string{"compress/gzip"} }, 400, "extra_packages[0]", "not in manifest.packages"},
		{"secret outside manifest", func(m map[string]any) { m["secrets"] = map[string]any{"NOPE": "v-12345678"} }, 400, "secrets.NOPE", "not in manifest.secrets"},
		{"limits differ", func(m map[string]any) { m["limits"] = map[string]any{"timeout_ms": 20000, "memory_mb": 128} }, 400, "limits.timeout_ms", "must equal manifest.timeout_ms"},
		{"sent and withheld", func(m map[string]any) { m["withheld_secrets"] = []string{"API_KEY"} }, 400, "withheld_secrets[0]", "either sent or withheld"},
		// SB-63: an unknown field is named.
		{"unknown field", func(m map[string]any) { m["timeout"] = 5 }, 400, "timeout", "unknown field"},
		{"unknown nested field", func(m map[string]any) { m["limits"] = map[string]any{"timeout_ms": 30000, "memory_mb": 128, "cpu": 1} }, 400, "limits.cpu", "unknown field"},
		// SB-64: argument size and depth.
		{"arguments too large", func(m map[string]any) {
			m["arguments"] = map[string]any{"s": strings.Repeat("x", proto.MaxArgumentsBytes)}
		}, 400, "arguments", "at most 1048576 bytes"},
		{"arguments depth 65", func(m map[string]any) { m["arguments"] = nest(65) }, 400, "arguments", "nesting deeper than 64"},
		{"arguments not an object", func(m map[string]any) { m["arguments"] = []int{1} }, 400, "arguments", "must be a JSON object"},
		// SB-67: allowed_hosts must be present.
		{"allowed_hosts absent", func(m map[string]any) { delete(m, "allowed_hosts") }, 400, "allowed_hosts", "send null for any public host or [] for no network"},
		{"pinned hash malformed", func(m map[string]any) { m["pinned_hash"] = "sha256:XYZ" }, 400, "pinned_hash", "64 lowercase hex"},
		{"code with NUL", func(m map[string]any) { m["code"] = "package tool\x00" }, 400, "code", "NUL"},
		{"bad secret name", func(m map[string]any) { m["secrets"] = map[string]any{"lower": "v-12345678"} }, 400, "secrets.lower", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := valid(t)
			tc.mutate(m)
			status, eb, raw := post(t, srv, marshal(t, m))
			if status != tc.status || !strings.HasPrefix(eb.Error.Field, tc.field) || !strings.Contains(eb.Error.Message, tc.rule) {
				t.Errorf("%d %s; want %d field %q rule %q", status, raw, tc.status, tc.field, tc.rule)
			}
			if eb.Error.RequestID == "" {
				t.Error("error without request_id")
			}
		})
	}
}

// nest returns depth nested objects.
func nest(depth int) any {
	var v any = 1
	for range depth {
		v = map[string]any{"a": v}
	}
	return v
}

// SB-61 (validation layer): reordered or repeated manifest entries hash the same; the manifest
// normalisation of proto/canon makes them equal.
func TestReorderedManifestStillMatches(t *testing.T) {
	t.Parallel()
	m := valid(t)
	man := m["manifest"].(proto.Manifest)
	man.Hosts = []string{"files.example.com:8443", "API.example.com", "api.example.com"}
	man.Secrets = []string{"OTHER", "API_KEY", "OTHER"}
	m["manifest"] = man
	if status, _, raw := post(t, server(t), marshal(t, m)); status != http.StatusNotImplemented {
		t.Errorf("reordered manifest: %d %s", status, raw)
	}
}

// SB-64 (validation layer): a body over 2 MiB is 413.
func TestBodyOverTwoMiB(t *testing.T) {
	t.Parallel()
	m := valid(t)
	m["code"] = strings.Repeat("x", proto.MaxExecuteBodyBytes)
	status, eb, raw := post(t, server(t), marshal(t, m))
	if status != http.StatusRequestEntityTooLarge || eb.Error.Code != proto.CodeRequestTooLarge {
		t.Errorf("%d %s", status, raw)
	}
}

func FuzzDecodeExecute(f *testing.F) {
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"code":"package tool","manifest":{},"pinned_hash":"sha256:00","arguments":{},"allowed_hosts":null,"limits":{}}`))
	f.Add([]byte(`{"allowed_hosts":[1],"secrets":{"A":null}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, e := decodeExecute(body, 1024)
		if e == nil {
			// Whatever passes is inside its manifest and correctly pinned.
			if h, err := canon.HashGo(req.Code, req.Manifest); err != nil || h != req.PinnedHash {
				t.Fatalf("accepted a request whose hash does not match: %s", body)
			}
			return
		}
		if e.Status < 400 || e.Status > 499 || e.Err.Message == "" {
			t.Fatalf("refusal %d without a message: %+v", e.Status, e.Err)
		}
	})
}

func call(t *testing.T, srv *httptest.Server, path string, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, srv.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(proto.HeaderServiceToken, token)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

func TestAnalyzeRoute(t *testing.T) {
	t.Parallel()
	srv := server(t)
	status, raw := call(t, srv, proto.PathSandboxAnalyze, marshal(t, map[string]any{"code": code}))
	var resp proto.AnalyzeResponse
	if status != 200 || json.Unmarshal([]byte(raw), &resp) != nil || !resp.OK || resp.Description != "Says hi." {
		t.Fatalf("analyze: %d %s", status, raw)
	}
	// SB-28 (API layer): a syntax error is an ok:false analysis, not an HTTP error.
	status, raw = call(t, srv, proto.PathSandboxAnalyze, marshal(t, map[string]any{"code": "package tool\nfunc {"}))
	if status != 200 || !strings.Contains(raw, `"SyntaxError"`) {
		t.Errorf("syntax error: %d %s", status, raw)
	}
	for _, tc := range []struct{ body, field string }{
		{`{"code":"package tool","extra_packages":["os"]}`, "extra_packages[0]"},
		{`{"code":"package tool","compiled":true}`, "compiled"},
		{`{}`, "code"},
	} {
		status, raw := call(t, srv, proto.PathSandboxAnalyze, []byte(tc.body))
		if status != 400 || !strings.Contains(raw, `"field":"`+tc.field+`"`) {
			t.Errorf("%s: %d %s", tc.body, status, raw)
		}
	}
	status, raw = call(t, srv, proto.PathSandboxAnalyze, marshal(t, map[string]any{"code": code, "compile": true}))
	if status != http.StatusNotImplemented {
		t.Errorf("compile: true without a pool must not pretend to have compiled: %d %s", status, raw)
	}
}

// SB-83 (API layer): /v1/fetch refuses methods other than GET and POST and
// a request without allowed_hosts; SSRF refusals are 200 with ok:false.
func TestFetchRoute(t *testing.T) {
	t.Parallel()
	srv := server(t)
	status, raw := call(t, srv, proto.PathSandboxFetch, []byte(`{"method":"DELETE","url":"https://api.example.com/","allowed_hosts":null,"purpose":"oauth"}`))
	if status != 400 || !strings.Contains(raw, `"field":"method"`) {
		t.Errorf("DELETE: %d %s", status, raw)
	}
	status, raw = call(t, srv, proto.PathSandboxFetch, []byte(`{"method":"GET","url":"https://api.example.com/","purpose":"oauth"}`))
	if status != 400 || !strings.Contains(raw, "send null for any public host or [] for no network") {
		t.Errorf("no allowed_hosts: %d %s", status, raw)
	}
	status, raw = call(t, srv, proto.PathSandboxFetch, []byte(`{"method":"GET","url":"http://169.254.169.254/latest/meta-data/","allowed_hosts":null,"purpose":"selfcheck"}`))
	if status != 200 || !strings.Contains(raw, `"ok":false`) || !strings.Contains(raw, "EgressDenied") {
		t.Errorf("metadata address: %d %s", status, raw)
	}
}
