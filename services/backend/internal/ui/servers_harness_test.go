package ui_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/mcpbox/mcpbox/proto"
)

// The servers area's tests need every service (servers, tools, secrets,
// executions), so they run against the backend as package wiring builds
// it, with a fake sandbox that answers analysis only.

const (
	serversToken        = "c7e1c2d3a4f5061728394a5b6c7d8e9fb7e1c2d3a4f5061728394a5b6c7d8e9f"
	serversSandboxToken = "d5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0"
)

// serversBackend is a wired backend; backend is the shape the shared
// helpers (browser, setup, apiToken) take.
type serversBackend struct {
	*backend
	internal *httptest.Server
	logs     *syncBuffer
}

var serversSecretCall = regexp.MustCompile(`mcpbox\.(?:Lookup)?Secret\("([A-Z][A-Z0-9_]*)"\)`)

// serversSandbox answers /v1/analyze: the secret names of the code, no
// imports, no diagnostics.
func serversSandbox(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+proto.PathSandboxAnalyze, func(w http.ResponseWriter, r *http.Request) {
		var req proto.AnalyzeRequest
		if r.Header.Get(proto.HeaderServiceToken) != serversSandboxToken || json.NewDecoder(r.Body).Decode(&req) != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		sum := sha256.Sum256([]byte(req.Code))
		out := proto.AnalyzeResponse{
			OK: true, CodeSHA256: "sha256:" + hex.EncodeToString(sum[:]), AnalyzerVersion: "servers-fake",
			Main:        &proto.MainInfo{HasInput: true, InputType: "Input", OutputType: "string"},
			InputSchema: json.RawMessage(`{"type":"object","properties":{}}`), OutputSchema: json.RawMessage(`{"type":"string"}`),
			Imports: []proto.Import{}, Secrets: []string{}, Diagnostics: []proto.Diagnostic{}, Description: "A tool.",
		}
		for _, m := range serversSecretCall.FindAllStringSubmatch(req.Code, -1) {
			out.Secrets = append(out.Secrets, m[1])
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func newServersBackend(t *testing.T) *serversBackend {
	t.Helper()
	b := newBackend(t)
	return &serversBackend{backend: b, internal: b.internal, logs: b.logs}
}

// manage calls a management tool through the internal API, as the LLM does.
func (b *serversBackend) manage(t *testing.T, tool string, args, result any) {
	t.Helper()
	raw, _ := json.Marshal(args)                                                                                //nolint:errchkjson // test arguments always encode
	body, _ := json.Marshal(proto.ManageRequest{Arguments: raw, Caller: proto.Caller{Kind: proto.CallerLocal}}) //nolint:errchkjson // as above
	status, out := serversDo(t, http.MethodPost, b.internal.URL+proto.PathInternalAPIPrefix+"/manage/"+tool, body,
		proto.HeaderServiceToken, serversToken)
	var resp proto.ManageResponse
	if status != http.StatusOK || json.Unmarshal(out, &resp) != nil || !resp.OK {
		t.Fatalf("manage %s: %d %s", tool, status, out)
	}
	if result != nil {
		if err := json.Unmarshal(resp.Result, result); err != nil {
			t.Fatal(err)
		}
	}
}

// api calls /api/v1 with a bearer token.
func (b *serversBackend) api(t *testing.T, method, path string, body any) (int, []byte) {
	t.Helper()
	var raw []byte
	if body != nil {
		raw, _ = json.Marshal(body) //nolint:errchkjson // test bodies always encode
	}
	return serversDo(t, method, b.srv.URL+path, raw, "Authorization", "Bearer "+apiToken(t, b.backend), "Content-Type", "application/json")
}

func serversDo(t *testing.T, method, url string, body []byte, header ...string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	if body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

// serversSeed creates a server through the management tools; with a tool
// (reading API_KEY, reaching api.example.com) submitted for review and,
// when approve is set, approved through the API. It returns the server and
// tool ids.
func (b *serversBackend) seed(t *testing.T, name string, withTool, approve bool) (server, tool string) {
	t.Helper()
	var s struct {
		ID string `json:"server_id"`
	}
	b.manage(t, "mcpbox_create_server", map[string]any{"name": name, "description": "The " + name + " server"}, &s)
	if !withTool {
		return s.ID, ""
	}
	var tl struct {
		ID string `json:"tool_id"`
	}
	b.manage(t, "mcpbox_create_tool", map[string]any{
		"server_id": s.ID, "name": "fetch", "hosts": []string{"api.example.com"},
		"code": "package main\n\n// Main fetches.\nfunc Main() (string, error) {\n\t_ = mcpbox.Secret(\"API_KEY\")\n\treturn \"\", nil\n}\n",
	}, &tl)
	b.manage(t, "mcpbox_request_publish", map[string]any{"tool_id": tl.ID}, nil)
	if approve {
		status, raw := b.api(t, http.MethodGet, "/api/v1/tools/"+tl.ID, nil)
		var got struct {
			LatestVersion int `json:"latest_version"`
			Latest        struct {
				Hash string `json:"hash"`
			} `json:"latest"`
		}
		if status != http.StatusOK || json.Unmarshal(raw, &got) != nil {
			t.Fatalf("get tool: %d %s", status, raw)
		}
		status, raw = b.api(t, http.MethodPost, "/api/v1/tools/"+tl.ID+"/approve", map[string]any{"version": got.LatestVersion, "hash": got.Latest.Hash})
		if status != http.StatusOK {
			t.Fatalf("approve: %d %s", status, raw)
		}
	}
	return s.ID, tl.ID
}

// contains reports whether the page's body holds s.
func (p page) contains(s string) bool { return strings.Contains(p.body, s) }
