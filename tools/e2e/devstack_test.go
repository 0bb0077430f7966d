package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpbox/mcpbox/db/dbtest"
	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/canon"

	"github.com/mcpbox/mcpbox/proto/obs"
)

// The e2e listeners: each dev port + 10000.
var readyURLs = map[string]string{
	"backend main":     "http://127.0.0.1:18000/readyz",
	"backend internal": "http://127.0.0.1:18004/readyz",
	"sandbox":          "http://127.0.0.1:18001/readyz",
	"gateway local":    "http://127.0.0.1:18002/readyz",
	"gateway remote":   "http://127.0.0.1:18003/readyz",
	"edge admin":       "http://127.0.0.1:19080/readyz",
}

// OPS-5 (up to the banner and every /readyz), OPS-1 (build info), OPS-14
// (config lines, no secret in any log, fingerprints match), OPS-15 (every
// line one JSON object with the closed key list), OPS-6 (SIGINT stops it all).
func TestOPS5_DevstackRunsTheRealStack(t *testing.T) {
	t.Parallel()
	// A loopback fixture the e2e-tagged sandbox may reach once a tool's
	// approved hosts name it (MCPBOX_SANDBOX_E2E_LOOPBACK, sandbox.md §12.3).
	fixture := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("fixture says hi"))
	}))
	defer fixture.Close()
	s := startStackWith(t, t.TempDir(), "MCPBOX_DATABASE_URL="+dbtest.EmptyURL(t),
		"MCPBOX_SANDBOX_E2E_LOOPBACK="+strings.TrimPrefix(fixture.URL, "http://"))
	out := s.out.String()

	// OPS-5: the banner has the admin URL, the local MCP URL and the exact
	// claude mcp add line; every /readyz answers 200.
	for _, want := range []string{
		"Admin UI        http://127.0.0.1:18000/",
		"Local MCP       http://127.0.0.1:18002/mcp",
		"claude mcp add --transport http mcpbox http://127.0.0.1:18002/mcp",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("banner lacks %q:\n%s", want, out)
		}
	}
	for name, url := range readyURLs {
		if code, body := get(t, url); code != 200 {
			t.Errorf("%s %s: %d %s", name, url, code, body)
		}
	}

	// OPS-5, local half: the Go SDK client lists the 30 mcpbox_* tools on
	// the local MCP URL of the banner.
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	session, err := mcp.NewClient(&mcp.Implementation{Name: "ops5", Version: "1"}, nil).
		Connect(ctx, &mcp.StreamableClientTransport{Endpoint: "http://127.0.0.1:18002/mcp"}, nil)
	if err != nil {
		t.Fatalf("connect to the local MCP URL: %v", err)
	}
	listed, err := session.ListTools(ctx, nil)
	if err != nil {
		t.Fatalf("tools/list: %v", err)
	}
	management := 0
	for _, tool := range listed.Tools {
		if strings.HasPrefix(tool.Name, "mcpbox_") {
			management++
		}
	}
	if management != len(proto.ManagementTools()) {
		t.Errorf("tools/list has %d mcpbox_* tools, want %d", management, len(proto.ManagementTools()))
	}
	_ = session.Close()

	// OPS-1: every mcpbox_<service>_build_info shows go1.27.3.
	for svc, url := range metricsURLs() {
		_, body := get(t, url)
		re := regexp.MustCompile(`mcpbox_` + svc + `_build_info\{[^}]*go_version="go1\.27\.3"[^}]*\} 1`)
		if !re.MatchString(body) {
			t.Errorf("%s build_info without go1.27.3", svc)
		}
	}

	// Request-scoped lines: the backend keeps a valid client id.
	if code, _ := get(t, "http://127.0.0.1:18000/api/v1/auth/status", "X-Request-Id", "e2e-ops15-probe"); code != 200 {
		t.Errorf("/api/v1/auth/status: %d", code)
	}

	checkSandboxExecutes(t, s, strings.TrimPrefix(fixture.URL, "http://"))
	checkLiveMetrics(t) // OPS-18

	// OPS-6: SIGINT stops everything with exit 0 and frees the ports.
	if err := s.Stop(t); err != nil {
		t.Errorf("devstack exit: %v\n%s", err, s.out.String())
	}
	for name, url := range readyURLs {
		addr := strings.TrimSuffix(strings.TrimPrefix(url, "http://"), "/readyz")
		if !portFree(addr) {
			t.Errorf("%s still listening on %s after the stop", name, addr)
		}
	}

	lines := s.ServiceLines(t)
	checkLogLines(t, lines)
	checkNoSecrets(t, s)
	checkFingerprints(t, lines)
}

// OPS-15: every line has time, level, msg, service, version; only keys of
// the proto/obs list; request lines carry request_id.
func checkLogLines(t *testing.T, lines map[string][]map[string]any) {
	t.Helper()
	var probeSeen bool
	for svc, ls := range lines {
		if len(ls) == 0 {
			t.Errorf("%s logged nothing", svc)
		}
		for _, l := range ls {
			for _, k := range []string{"time", "level", "msg", "service", "version"} {
				if _, ok := l[k]; !ok {
					t.Errorf("%s line lacks %s: %v", svc, k, l)
				}
			}
			for k := range l {
				if !obs.IsKey(k) {
					t.Errorf("%s line uses key %q outside proto/obs: %v", svc, k, l)
				}
			}
			if l["service"] != svc {
				t.Errorf("%s line says service %v", svc, l["service"])
			}
			if l["msg"] == "request" {
				if _, ok := l["request_id"]; !ok {
					t.Errorf("%s request line without request_id: %v", svc, l)
				}
			}
			probeSeen = probeSeen || l["request_id"] == "e2e-ops15-probe"
		}
	}
	if !probeSeen {
		t.Error("the backend did not log the client's request id")
	}
	for _, svc := range services() {
		if len(lines[svc]) == 0 {
			t.Errorf("no log lines from %s", svc)
		}
	}
}

// OPS-14: no log contains a raw secret of dev.env.
func checkNoSecrets(t *testing.T, s *Stack) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(s.data, "dev.env"))
	if err != nil {
		t.Fatal(err)
	}
	out := s.out.String()
	for _, line := range strings.Split(string(raw), "\n") {
		name, value, ok := strings.Cut(line, "=")
		if !ok || strings.HasPrefix(name, "#") || len(value) < 8 || !isSecretVariable(name) {
			continue
		}
		if strings.Contains(out, value) {
			t.Errorf("the logs contain the value of %s", name)
		}
	}
}

func isSecretVariable(name string) bool {
	return strings.HasSuffix(name, "_TOKEN") || strings.HasSuffix(name, "_KEY") || name == "MCPBOX_SETUP_CODE"
}

// OPS-14: every service logs one config line listing its variables, and a
// sender's token fingerprint equals the receiver's.
func checkFingerprints(t *testing.T, lines map[string][]map[string]any) {
	t.Helper()
	configs := map[string]map[string]any{}
	for svc, ls := range lines {
		for _, l := range ls {
			if l["msg"] == "config" {
				c, _ := l["config"].(map[string]any)
				if configs[svc] != nil {
					t.Errorf("%s logged two config lines", svc)
				}
				configs[svc] = c
			}
		}
	}
	for _, svc := range services() {
		if len(configs[svc]) < 5 {
			t.Fatalf("%s config line missing or short: %v", svc, configs[svc])
		}
	}
	pairs := []struct{ variable, sender, receiver string }{
		{"MCPBOX_BACKEND_TOKEN", "gateway", "backend"},
		{"MCPBOX_SANDBOX_TOKEN", "gateway", "sandbox"},
		{"MCPBOX_SANDBOX_TOKEN", "backend", "sandbox"},
		{"MCPBOX_GATEWAY_TOKEN", "edge", "gateway"},
	}
	fp := regexp.MustCompile(`^\[redacted sha256:[0-9a-f]{8}\]$`)
	for _, p := range pairs {
		a, b := fmt.Sprint(configs[p.sender][p.variable]), fmt.Sprint(configs[p.receiver][p.variable])
		if !fp.MatchString(a) || a != b {
			t.Errorf("%s: %s logs %q, %s logs %q", p.variable, p.sender, a, p.receiver, b)
		}
	}
	if _, ok := configs["sandbox"]["MCPBOX_DATABASE_URL"]; ok {
		t.Error("the sandbox received the database URL")
	}
}

// checkSandboxExecutes runs a pinned tool on the stack's sandbox: the real
// binary re-executes itself as a locked-down worker.
func checkSandboxExecutes(t *testing.T, s *Stack, fixture string) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(s.data, "dev.env"))
	if err != nil {
		t.Fatal(err)
	}
	var token string
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "MCPBOX_SANDBOX_TOKEN="); ok {
			token = v
		}
	}
	// The tool doubles n and fetches the fixture through the broker, over IPC.
	code := "package tool\n\nimport (\n\t\"context\"\n\t\"fmt\"\n\n\t\"mcpbox\"\n)\n\ntype Input struct {\n\tN int `json:\"n\"`\n}\n\n" +
		"// Main doubles n and reads the fixture.\nfunc Main(ctx context.Context, in Input) (string, error) {\n" +
		"\tresp, err := mcpbox.HTTP.Get(ctx, \"http://" + fixture + "/\", nil)\n\tif err != nil {\n\t\treturn \"\", err\n\t}\n" +
		"\treturn fmt.Sprintf(\"%d %s\", 2*in.N, resp.Text()), nil\n}\n"
	m := proto.Manifest{Hosts: []string{fixture}, Packages: []string{}, Secrets: []string{}, TimeoutMS: 5000, MemoryMB: 128}
	hash, err := canon.HashGo(code, m)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{
		"code": code, "manifest": m, "pinned_hash": hash, "arguments": map[string]int{"n": 21},
		"allowed_hosts": []string{fixture}, "limits": map[string]int{"timeout_ms": 5000, "memory_mb": 128},
	})
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, "http://127.0.0.1:18001"+proto.PathSandboxExecute, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(proto.HeaderServiceToken, token)
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var out proto.ExecuteResponse
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("execute: %d %v", resp.StatusCode, err)
	}
	if !out.OK || out.ContentText != "42 fixture says hi" || out.Worker == nil {
		t.Errorf("execute on the stack's sandbox: %+v", out)
	}
}
