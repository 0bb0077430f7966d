package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// admin is the MCPbox admin of a stack, speaking the backend's REST API
// (backend.md §7–§8) with a token-mode access token, as a script would.
type admin struct {
	base  string // http://127.0.0.1:18000
	token string
	http  *http.Client
}

// adminUser and adminPassword are the e2e stack's admin account.
const (
	adminUser     = "e2e_admin"
	adminPassword = "e2e-admin-password-42"
)

// newAdmin creates the first admin of the e2e stack's backend with the
// stack's setup code (a stack whose admin exists already logs in) and logs
// in in token mode.
func newAdmin(t *testing.T, setupCode string) *admin {
	t.Helper()
	return newAdminAt(t, e2eBackendURL, setupCode)
}

// newAdminAt is newAdmin for the backend at base.
func newAdminAt(t *testing.T, base, setupCode string) *admin {
	t.Helper()
	a := &admin{base: base, http: &http.Client{Timeout: 30 * time.Second}}
	status, body := a.do(t, http.MethodPost, "/api/v1/auth/setup",
		map[string]string{"username": adminUser, "password": adminPassword, "setup_code": setupCode})
	if status != http.StatusCreated && status != http.StatusConflict {
		t.Fatalf("POST /api/v1/auth/setup: %d %s", status, body)
	}
	var login struct {
		AccessToken string `json:"access_token"`
	}
	a.must(t, http.MethodPost, "/api/v1/auth/login",
		map[string]string{"username": adminUser, "password": adminPassword, "mode": "token"}, &login)
	if login.AccessToken == "" {
		t.Fatal("login returned no access token")
	}
	a.token = login.AccessToken
	return a
}

// do sends one request with an optional JSON body and returns the status and body.
func (a *admin) do(t *testing.T, method, path string, in any) (int, []byte) {
	t.Helper()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(context.WithoutCancel(t.Context()), method, a.base+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	resp, err := a.http.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return resp.StatusCode, b
}

// must sends a request that has to succeed (2xx) and decodes its body into out.
func (a *admin) must(t *testing.T, method, path string, in, out any) {
	t.Helper()
	status, body := a.do(t, method, path, in)
	if status < 200 || status > 299 {
		t.Fatalf("%s %s: %d %s", method, path, status, body)
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, path, body, err)
		}
	}
}

// adminTool is the part of the REST Tool resource (backend.md §8.1) the flow reads.
type adminTool struct {
	LatestVersion   int  `json:"latest_version"`
	ApprovedVersion *int `json:"approved_version"`
	Latest          struct {
		Version int    `json:"version"`
		Hash    string `json:"hash"`
	} `json:"latest"`
}

// approveLatest approves the tool's latest version with the number and hash
// the admin read (POST /api/v1/tools/{id}/approve {version, hash}) and
// returns that version.
func (a *admin) approveLatest(t *testing.T, toolID string) int {
	t.Helper()
	var tool adminTool
	a.must(t, http.MethodGet, "/api/v1/tools/"+url.PathEscape(toolID), nil, &tool)
	if tool.Latest.Version != tool.LatestVersion || tool.Latest.Hash == "" {
		t.Fatalf("GET /api/v1/tools/%s: latest_version %d, latest %+v", toolID, tool.LatestVersion, tool.Latest)
	}
	var approved adminTool
	a.must(t, http.MethodPost, "/api/v1/tools/"+url.PathEscape(toolID)+"/approve",
		map[string]any{"version": tool.Latest.Version, "hash": tool.Latest.Hash}, &approved)
	if approved.ApprovedVersion == nil || *approved.ApprovedVersion != tool.Latest.Version {
		t.Fatalf("approve version %d: approved_version %v", tool.Latest.Version, approved.ApprovedVersion)
	}
	return tool.Latest.Version
}

// allowRemote lets email use the stack remotely with remote tool editing on
// (PATCH /api/v1/settings/security-policy), at the highest rate limit: the
// flow polls, and its bursts would exceed the default 120 requests/min.
func (a *admin) allowRemote(t *testing.T, email string) {
	t.Helper()
	a.must(t, http.MethodPatch, "/api/v1/settings/security-policy", map[string]any{
		"remote_email_allowlist": map[string]any{"mode": "emails", "values": []string{email}},
		"remote_tool_editing":    "enabled",
		"mcp_rate_limit_rpm":     10000,
	}, nil)
}

// adminExecution is the part of the REST Execution resource the flow reads.
type adminExecution struct {
	ToolVersion int     `json:"tool_version"`
	Via         string  `json:"via"`
	CallerKind  string  `json:"caller_kind"`
	CallerEmail *string `json:"caller_email"`
	Success     bool    `json:"success"`
}

// executions lists the tool's execution records, newest first.
func (a *admin) executions(t *testing.T, toolID string) []adminExecution {
	t.Helper()
	var page struct {
		Items []adminExecution `json:"items"`
	}
	a.must(t, http.MethodGet, "/api/v1/executions?tool_id="+url.QueryEscape(toolID), nil, &page)
	return page.Items
}

// deleteServer removes a server and its tools, so the next client of a
// shared stack can create "e2e" again.
func (a *admin) deleteServer(t *testing.T, serverID string) {
	t.Helper()
	if status, body := a.do(t, http.MethodDelete, "/api/v1/servers/"+url.PathEscape(serverID), nil); status != http.StatusNoContent && status != http.StatusNotFound {
		t.Errorf("DELETE /api/v1/servers/%s: %d %s", serverID, status, body)
	}
}

// String names the admin in failure messages.
func (a *admin) String() string { return fmt.Sprintf("admin at %s", a.base) }
