package adminapi_test

import (
	"net/http"
	"strings"
	"testing"
)

// xmlCode imports the opt-in package encoding/xml under xmlAnswer.
const xmlCode = "package tool\n// xml\nfunc Main() {}\n"

// autoRequest is one request row of a tool as the automatic requests of
// §6.2 leave it.
type autoRequest struct {
	Target        string
	Status        string
	RequestedBy   string
	ReviewedBy    string
	Justification string
}

// autoRequests returns a tool's network requests ("host" or "host:port")
// and package requests, ordered by target.
func (b *backend) autoRequests(t *testing.T, toolID string) []autoRequest {
	t.Helper()
	var text string
	b.sql(t, `SELECT coalesce(string_agg(r, E'\n' ORDER BY r), '') FROM (
	  SELECT host || coalesce(':' || port, '') || '|' || status || '|' || requested_by || '|' ||
	         coalesce(reviewed_by, '') || '|' || justification AS r FROM network_requests WHERE tool_id = $1
	  UNION ALL
	  SELECT package || '|' || status || '|' || requested_by || '|' || coalesce(reviewed_by, '') || '|' || justification
	  FROM package_requests WHERE tool_id = $1) x`, []any{&text}, toolID)
	var out []autoRequest
	for line := range strings.SplitSeq(text, "\n") {
		if line == "" {
			continue
		}
		f := strings.Split(line, "|")
		out = append(out, autoRequest{Target: f[0], Status: f[1], RequestedBy: f[2], ReviewedBy: f[3], Justification: f[4]})
	}
	return out
}

func wantRequests(t *testing.T, got []autoRequest, want ...autoRequest) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("requests %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("request %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

// §6.2: a new version's uncovered hosts and packages get pending requests
// of the actor; a later version refreshes their justification instead of
// duplicating them.
func TestAutoRequests_CreateAndUpdate(t *testing.T) {
	t.Parallel()
	b, _, auth, sid := toolsBackend(t, xmlAnswer)
	tool := b.newTool(t, auth, sid, "forecast", map[string]any{
		"code": xmlCode, "hosts": []string{"api.example.com", "nas.local:8080"},
	})
	id := tool["id"].(string)
	v1 := "Needed by weather__forecast version 1"
	wantRequests(t, b.autoRequests(t, id),
		autoRequest{"api.example.com", "pending", "admin:admin", "", v1},
		autoRequest{"encoding/xml", "pending", "admin:admin", "", v1},
		autoRequest{"nas.local:8080", "pending", "admin:admin", "", v1},
	)
	if n := b.countRows(t, "SELECT count(*) FROM activity_log WHERE action IN ('network.request', 'package.request') AND tool_id = $1", id); n != 3 {
		t.Fatalf("%d request audit rows, want 3", n)
	}
	up := b.call(t, http.MethodPatch, "/api/v1/tools/"+id, map[string]any{"code": xmlCode + "// v2\n"}, auth...)
	if up.status != http.StatusOK || num(up.body["latest_version"]) != 2 {
		t.Fatalf("update: %d %s", up.status, up.raw)
	}
	v2 := "Needed by weather__forecast version 2"
	wantRequests(t, b.autoRequests(t, id),
		autoRequest{"api.example.com", "pending", "admin:admin", "", v2},
		autoRequest{"encoding/xml", "pending", "admin:admin", "", v2},
		autoRequest{"nas.local:8080", "pending", "admin:admin", "", v2},
	)
}

// §6.2, §6.6: under allow_all_public the public-looking host's request is
// approved by 'policy', the private-looking one stays pending; under
// package_approval_mode auto_approve the package's too.
func TestAutoRequests_PermissivePolicy(t *testing.T) {
	t.Parallel()
	b, _, auth, sid := toolsBackend(t, xmlAnswer)
	b.setPolicy(t, "network_access_policy", "allow_all_public")
	b.setPolicy(t, "package_approval_mode", "auto_approve")
	tool := b.newTool(t, auth, sid, "forecast", map[string]any{
		"code": xmlCode, "hosts": []string{"api.example.com", "nas.local:8080"},
	})
	v1 := "Needed by weather__forecast version 1"
	wantRequests(t, b.autoRequests(t, tool["id"].(string)),
		autoRequest{"api.example.com", "approved", "admin:admin", "policy", v1},
		autoRequest{"encoding/xml", "approved", "admin:admin", "policy", v1},
		autoRequest{"nas.local:8080", "pending", "admin:admin", "", v1},
	)
}

// §6.2: an entry that is already covered, or in the default tier, needs
// no request; one this tool had rejected is skipped without refusing the
// save.
func TestAutoRequests_CoveredAndRejectedAreSkipped(t *testing.T) {
	t.Parallel()
	b, _, auth, sid := toolsBackend(t, xmlAnswer)
	b.sql(t, `INSERT INTO network_requests (server_id, host, status, requested_by, reviewed_by, reviewed_at)
	VALUES ($1, 'api.example.com', 'approved', 'admin:admin', 'admin:admin', now())`, nil, sid)
	b.sql(t, `INSERT INTO package_requests (package, status, requested_by, reviewed_by, reviewed_at)
	VALUES ('encoding/xml', 'approved', 'admin:admin', 'admin:admin', now())`, nil)
	tool := b.newTool(t, auth, sid, "forecast", map[string]any{"code": xmlCode, "hosts": []string{"api.example.com:443"}})
	id := tool["id"].(string)
	wantRequests(t, b.autoRequests(t, id))
	if n := b.countRows(t, "SELECT count(*) FROM network_requests"); n != 1 {
		t.Fatalf("%d network requests, want only the admin grant", n)
	}
	// A host this tool had rejected is not requested again by version 2.
	b.sql(t, `INSERT INTO network_requests (server_id, tool_id, host, port, status, requested_by, rejection_reason)
	VALUES ($1, $2, 'nas.local', 8080, 'rejected', 'admin:admin', 'no LAN access')`, nil, sid, id)
	up := b.call(t, http.MethodPatch, "/api/v1/tools/"+id, map[string]any{"hosts": []string{"api.example.com", "nas.local:8080"}}, auth...)
	if up.status != http.StatusOK || num(up.body["latest_version"]) != 2 {
		t.Fatalf("update: %d %s", up.status, up.raw)
	}
	wantRequests(t, b.autoRequests(t, id), autoRequest{"nas.local:8080", "rejected", "admin:admin", "", ""})
}

// §6.2: a rollback is a new version and makes its automatic requests the
// same way.
func TestAutoRequests_Rollback(t *testing.T) {
	t.Parallel()
	b, _, auth, sid := toolsBackend(t, xmlAnswer)
	tool := b.newTool(t, auth, sid, "forecast", map[string]any{"hosts": []string{"api.example.com"}})
	id := tool["id"].(string)
	up := b.call(t, http.MethodPatch, "/api/v1/tools/"+id, map[string]any{"hosts": []string{}}, auth...)
	if up.status != http.StatusOK || num(up.body["latest_version"]) != 2 {
		t.Fatalf("update: %d %s", up.status, up.raw)
	}
	// An admin deletes the pending request version 1 made.
	b.sql(t, `DELETE FROM network_requests WHERE tool_id = $1`, nil, id)
	r := b.call(t, http.MethodPost, "/api/v1/tools/"+id+"/rollback", map[string]any{"version": 1}, auth...)
	if r.status != http.StatusOK || num(r.body["latest_version"]) != 3 {
		t.Fatalf("rollback: %d %s", r.status, r.raw)
	}
	wantRequests(t, b.autoRequests(t, id),
		autoRequest{"api.example.com", "pending", "admin:admin", "", "Needed by weather__forecast version 3"})
}
