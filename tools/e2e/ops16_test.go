package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/mcpbox/mcpbox/proto"
)

// uuidV4 is the form of the edge's request ids (operations.md §3.2).
var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// OPS-16 (remote half): a user-tool call through the edge gets a fresh
// X-Request-Id (the client's own id is replaced, and logged by the edge as
// client_request_id); that id appears in the logs of all four services and
// in the call's execution record. (The local listener's policy for client
// ids is proto/obs's TestOPS16_RequestIDPolicy.) It runs in the hybrid
// interop stack after OPS-5, which put remoteEmail on the allowlist.
func runRequestIDThroughEdge(t *testing.T, st *interopStack) {
	exposed := publishConformanceTool(t, st)
	token := devidpToken(t, e2eDevIDPURL, map[string]any{"sub": "e2e-ops16", "email": remoteEmail, "aud": e2eEdgeMCPURL})
	const clientID = "client-chosen-id-ops16"
	body := `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"` + exposed + `","arguments":{"a":2,"b":40}}}`
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, e2eEdgeMCPURL, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
	req.Header.Set(proto.HeaderRequestID, clientID)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	id := resp.Header.Get(proto.HeaderRequestID)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(answer), `"sum":42`) {
		t.Fatalf("tools/call through the edge: %d %s", resp.StatusCode, answer)
	}
	if !uuidV4.MatchString(id) {
		t.Fatalf("the edge answered X-Request-Id %q, want a fresh UUIDv4 (the client sent %q)", id, clientID)
	}

	// The execution record carries the id (records are sent in batches).
	toolID := st.toolIDOf(t, exposed)
	waitFor(t, "the execution record with the edge's request id", func() (bool, string) {
		var page struct {
			Items []struct {
				RequestID string `json:"request_id"`
			} `json:"items"`
		}
		st.admin.must(t, http.MethodGet, "/api/v1/executions?tool_id="+url.QueryEscape(toolID), nil, &page)
		for _, e := range page.Items {
			if e.RequestID == id {
				return true, ""
			}
		}
		raw, _ := json.Marshal(page.Items)
		return false, string(raw)
	})

	// Every service logged a line with it; the edge also logged the client's own id.
	lines := st.ServiceLines(t)
	for _, svc := range services() {
		found := false
		for _, l := range lines[svc] {
			if l["request_id"] == id {
				found = true
				if svc == "edge" && l["client_request_id"] != nil && l["client_request_id"] != clientID {
					t.Errorf("edge logged client_request_id %v, want %s", l["client_request_id"], clientID)
				}
			}
			if l["request_id"] == clientID {
				t.Errorf("%s logged the client's id as its request id: %v", svc, l)
			}
		}
		if !found {
			t.Errorf("no %s log line carries request id %s", svc, id)
		}
	}
	clientLogged := false
	for _, l := range lines["edge"] {
		if l["request_id"] == id && l["client_request_id"] == clientID {
			clientLogged = true
		}
	}
	if !clientLogged {
		t.Errorf("the edge did not log the client's id %s as client_request_id of %s", clientID, id)
	}
}

// toolIDOf returns the id of the listed tool exposed (its io.mcpbox/tool _meta).
func (st *interopStack) toolIDOf(t *testing.T, exposed string) string {
	t.Helper()
	c := connectGo(t, st.localMCP, nil)
	for tool, err := range c.cs.Tools(t.Context(), nil) {
		if err != nil {
			t.Fatal(err)
		}
		if tool.Name == exposed {
			m, _ := tool.Meta["io.mcpbox/tool"].(map[string]any)
			if id, _ := m["id"].(string); id != "" {
				return id
			}
		}
	}
	t.Fatalf("%s is not listed with an io.mcpbox/tool id", exposed)
	return ""
}
