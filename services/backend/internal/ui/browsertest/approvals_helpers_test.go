//go:build browser

package browsertest

import (
	"net/http"
	"testing"

	"github.com/mcpbox/mcpbox/proto"
)

// Seeding helpers of the approvals checks (admin-ui.md §11.7): everything
// goes through the internal management API, as an LLM client would, and
// decisions the check does not look at go through /api/v1.

// approvalsCode is a tool's Go source: a Main with a doc comment and body.
func approvalsCode(desc, body string) string {
	return "package main\n\n// Main " + desc + "\nfunc Main() (string, error) {\n" + body + "\treturn \"\", nil\n}\n"
}

// approvalsServer creates a server and returns its id.
func approvalsServer(t *testing.T, b *Backend, name string) string {
	t.Helper()
	var out struct {
		ID string `json:"server_id"`
	}
	b.Manage(t, "mcpbox_create_server", map[string]any{"name": name, "description": "approvals check"}, &out)
	return out.ID
}

// approvalsTool creates a tool and submits it for review; it returns the
// tool's id and exposed name.
func approvalsTool(t *testing.T, b *Backend, serverID, name, code string, hosts []string) (string, string) {
	t.Helper()
	args := map[string]any{"server_id": serverID, "name": name, "code": code}
	if hosts != nil {
		args["hosts"] = hosts
	}
	var out struct {
		ToolID      string `json:"tool_id"`
		ExposedName string `json:"exposed_name"`
	}
	b.Manage(t, "mcpbox_create_tool", args, &out)
	b.Manage(t, "mcpbox_request_publish", map[string]any{"tool_id": out.ToolID, "notes": "Notes for " + name}, nil)
	return out.ToolID, out.ExposedName
}

// approvalsUpdate saves a new version of a tool and submits it.
func approvalsUpdate(t *testing.T, b *Backend, toolID, code string, hosts []string) {
	t.Helper()
	args := map[string]any{"tool_id": toolID, "code": code}
	if hosts != nil {
		args["hosts"] = hosts
	}
	b.Manage(t, "mcpbox_update_tool", args, nil)
	// A new version of a tool under review stays under review; a draft is
	// submitted.
	if out := b.ManageRaw(t, "mcpbox_request_publish", map[string]any{"tool_id": toolID}); !out.OK && (out.Error == nil || out.Error.Code != "invalid_state") {
		t.Fatalf("request_publish: %+v", out.Error)
	}
}

// approvalsToolJSON is the part of GET /api/v1/tools/{id} the checks read.
type approvalsToolJSON struct {
	ReviewStatus    string  `json:"review_status"`
	LatestVersion   int     `json:"latest_version"`
	ApprovedVersion *int    `json:"approved_version"`
	RejectionReason *string `json:"rejection_reason"`
	Latest          struct {
		Version int    `json:"version"`
		Hash    string `json:"hash"`
	} `json:"latest"`
}

func approvalsGetTool(t *testing.T, b *Backend, bearer []string, id string) approvalsToolJSON {
	t.Helper()
	r := b.API(t, http.MethodGet, "/api/v1/tools/"+id, nil, bearer...)
	if r.Status != http.StatusOK {
		t.Fatalf("GET tool %s: %d %s", id, r.Status, r.Body)
	}
	var out approvalsToolJSON
	r.JSON(t, &out)
	return out
}

// approvalsApproveAPI approves the latest version of a tool through /api/v1.
func approvalsApproveAPI(t *testing.T, b *Backend, bearer []string, id string) {
	t.Helper()
	tl := approvalsGetTool(t, b, bearer, id)
	r := b.API(t, http.MethodPost, "/api/v1/tools/"+id+"/approve", map[string]any{"version": tl.Latest.Version, "hash": tl.Latest.Hash}, bearer...)
	if r.Status != http.StatusOK {
		t.Fatalf("approve %s: %d %s", id, r.Status, r.Body)
	}
}

// approvalsSetNetworkPolicy sets network_access_policy through /api/v1.
func approvalsSetNetworkPolicy(t *testing.T, b *Backend, bearer []string, value string) {
	t.Helper()
	r := b.API(t, http.MethodGet, "/api/v1/settings/security-policy", nil, bearer...)
	etag := r.Header.Get("ETag")
	h := append([]string{}, bearer...)
	if etag != "" {
		h = append(h, "If-Match", etag)
	}
	r = b.API(t, http.MethodPatch, "/api/v1/settings/security-policy", map[string]any{"network_access_policy": value}, h...)
	if r.Status != http.StatusOK {
		t.Fatalf("set network policy: %d %s", r.Status, r.Body)
	}
}

// approvalsCatalog returns the gateway's catalog as text.
func approvalsCatalog(t *testing.T, b *Backend) string {
	t.Helper()
	r := Request(t, http.MethodGet, b.InternalURL+proto.PathInternalCatalog, nil, proto.HeaderServiceToken, BackendToken)
	if r.Status != http.StatusOK {
		t.Fatalf("catalog: %d %s", r.Status, r.Body)
	}
	return string(r.Body)
}

// approvalsCard is the selector of a tool's card.
func approvalsCard(id string) string { return "#approval-tool-" + id }

// approvalsBadge reads the shell's pending count.
func approvalsBadge(p *Page) string {
	v, _ := p.Attr("#approvals-badge", "data-count")
	return v
}

// approvalsPress clicks a button by id inside the page, in one step: the
// live refresh may replace the list between the harness's locating and
// clicking a node (the new node has the same id).
func approvalsPress(p *Page, id string) {
	p.t.Helper()
	if !Eval[bool](p, `((b) => { if (!b) return false; b.scrollIntoView({block: "center"}); b.click(); return true; })(document.getElementById(`+jsString(id)+`))`) {
		p.t.Fatalf("no button #%s", id)
	}
}
