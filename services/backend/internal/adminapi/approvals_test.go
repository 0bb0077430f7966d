package adminapi_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/approvals"
)

// xmlAnswer is a clean analysis of code that imports the opt-in package
// encoding/xml.
func xmlAnswer(code string) proto.AnalyzeResponse {
	a := okAnswer(code)
	if strings.Contains(code, "xml") {
		a.Imports = append(a.Imports, proto.Import{Path: "encoding/xml", Tier: proto.TierOptIn})
	}
	if strings.Contains(code, "secret") {
		a.Secrets = []string{"API_KEY"}
	}
	return a
}

// setPolicy stores one policy setting directly.
func (b *backend) setPolicy(t *testing.T, key, value string) {
	t.Helper()
	b.sql(t, `INSERT INTO settings (key, value) VALUES ($1, to_jsonb($2::text))
	ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`, nil, key, value)
}

func toolPath(tool map[string]any, op string) string {
	return "/api/v1/tools/" + tool["id"].(string) + "/" + op
}

// approveLatest approves a tool's latest version through the API.
func (b *backend) approveLatest(t *testing.T, auth []string, tool map[string]any) response {
	t.Helper()
	v := latest(tool)
	r := b.call(t, http.MethodPost, toolPath(tool, "approve"), map[string]any{"version": v["version"], "hash": v["hash"]}, auth...)
	if r.status != http.StatusOK {
		t.Fatalf("approve: %d %s", r.status, r.raw)
	}
	return r
}

func reqAudit() approvals.Audit { return approvals.Audit{Actor: "llm:local", RequestID: "test"} }

func TestBE39_ApproveNeedsTheLatestVersionAndHash(t *testing.T) {
	t.Parallel()
	b, _, auth, sid := toolsBackend(t, okAnswer)
	tool := b.newTool(t, auth, sid, "forecast", nil)
	v1 := latest(tool)
	up := b.call(t, http.MethodPatch, "/api/v1/tools/"+tool["id"].(string), map[string]any{"timeout_ms": 5000}, auth...)
	if up.status != http.StatusOK || num(up.body["latest_version"]) != 2 {
		t.Fatalf("update: %d %s", up.status, up.raw)
	}
	stale := b.call(t, http.MethodPost, toolPath(tool, "approve"), map[string]any{"version": 1, "hash": v1["hash"]}, auth...)
	wantError(t, stale, http.StatusConflict, proto.CodeVersionChanged)
	want := "Version 1 (" + v1["hash"].(string) + ") is no longer the latest version; reload and review version 2."
	if stale.err.Message != want {
		t.Fatalf("message %q, want %q", stale.err.Message, want)
	}
	wrongHash := b.call(t, http.MethodPost, toolPath(tool, "approve"), map[string]any{"version": 2, "hash": v1["hash"]}, auth...)
	wantError(t, wrongHash, http.StatusConflict, proto.CodeVersionChanged)
	r := b.approveLatest(t, auth, up.body)
	if r.body["review_status"] != "approved" || num(r.body["approved_version"]) != 2 || r.body["approved_by"] != "admin:admin" ||
		r.body["approved_hash"] != latest(up.body)["hash"] || r.body["reviewed_by"] != "admin:admin" {
		t.Fatalf("approved tool: %s", r.raw)
	}
	var details string
	b.sql(t, `SELECT details::text FROM activity_log WHERE action = 'tool.approve'`, []any{&details})
	if !strings.Contains(details, `"version": 2`) || !strings.Contains(details, `"granted"`) {
		t.Fatalf("audit details %s", details)
	}
	again := b.call(t, http.MethodPost, toolPath(tool, "approve"), map[string]any{"version": 2, "hash": latest(up.body)["hash"]}, auth...)
	wantError(t, again, http.StatusConflict, proto.CodeInvalidState)
}

func TestBE40_ApproveGrantsUncoveredHostsAndPackages(t *testing.T) {
	t.Parallel()
	b, _, auth, sid := toolsBackend(t, xmlAnswer)
	tool := b.newTool(t, auth, sid, "forecast", map[string]any{
		"code": "package tool\n// xml\nfunc Main() {}\n", "hosts": []string{"api.example.com:443", "other.example.com"},
	})
	// Drop the automatic requests of version 1 (§6.2) for api.example.com
	// and the package, so approve inserts them; other.example.com keeps its
	// pending request.
	b.sql(t, `DELETE FROM network_requests WHERE host = 'api.example.com'`, nil)
	b.sql(t, `DELETE FROM package_requests`, nil)
	// A pending request of the tool for one of the hosts is approved, not duplicated.
	id, _ := uuid.Parse(tool["id"].(string))
	pending, err := approvals.New(b.store).RequestNetwork(t.Context(), reqAudit(), id, "other.example.com", nil, "needed for the forecast")
	if err != nil || pending.Status != approvals.StatusPending {
		t.Fatalf("request: %+v %v", pending, err)
	}
	r := b.approveLatest(t, auth, tool)
	g := r.body["granted"].(map[string]any)
	if len(g["hosts"].([]any)) != 2 || g["packages"].([]any)[0] != "encoding/xml" {
		t.Fatalf("granted %v", g)
	}
	cov := latest(r.body)["coverage"].(map[string]any)
	if cov["hosts"].(map[string]any)["api.example.com:443"] != true || cov["packages"].(map[string]any)["encoding/xml"] != true {
		t.Fatalf("coverage after approve %v", cov)
	}
	var n int
	var by, just string
	b.sql(t, `SELECT count(*) FROM network_requests WHERE status = 'approved'`, []any{&n})
	if n != 2 {
		t.Fatalf("%d approved network requests, want 2", n)
	}
	b.sql(t, `SELECT requested_by, justification FROM network_requests WHERE host = 'api.example.com' AND port = 443`, []any{&by, &just})
	if by != "system" || just != "Approved with weather__forecast version 1" {
		t.Fatalf("inserted request by %q: %q", by, just)
	}
	b.sql(t, `SELECT count(*), max(justification) FROM network_requests WHERE host = 'other.example.com'`, []any{&n, &just})
	if n != 1 || just != "needed for the forecast" {
		t.Fatalf("the pending request was not the one approved: %d requests, justification %q", n, just)
	}
	b.sql(t, `SELECT requested_by FROM package_requests WHERE package = 'encoding/xml' AND status = 'approved'`, []any{&by})
	if by != "system" {
		t.Fatalf("package request by %q", by)
	}
}

func TestBE41_RejectNeedsReasonAndPendingReview(t *testing.T) {
	t.Parallel()
	b, _, auth, sid := toolsBackend(t, okAnswer)
	tool := b.newTool(t, auth, sid, "forecast", nil)
	noReason := b.call(t, http.MethodPost, toolPath(tool, "reject"), map[string]any{"version": 1}, auth...)
	wantError(t, noReason, http.StatusBadRequest, proto.CodeValidationFailed)
	blank := b.call(t, http.MethodPost, toolPath(tool, "reject"), map[string]any{"version": 1, "reason": ""}, auth...)
	wantError(t, blank, http.StatusBadRequest, proto.CodeValidationFailed)
	draft := b.call(t, http.MethodPost, toolPath(tool, "reject"), map[string]any{"version": 1, "reason": "no"}, auth...)
	wantError(t, draft, http.StatusConflict, proto.CodeInvalidState)
	if draft.err.Message != "Tool 'weather__forecast' is draft; reject needs pending_review." {
		t.Fatalf("message %q", draft.err.Message)
	}
	if s := b.call(t, http.MethodPost, toolPath(tool, "submit"), map[string]any{"notes": "please"}, auth...); s.status != http.StatusOK {
		t.Fatalf("submit: %d %s", s.status, s.raw)
	}
	r := b.call(t, http.MethodPost, toolPath(tool, "reject"), map[string]any{"version": 1, "reason": "calls an unknown host"}, auth...)
	if r.status != http.StatusOK || r.body["review_status"] != "rejected" || r.body["rejection_reason"] != "calls an unknown host" ||
		r.body["publish_notes"] != "please" {
		t.Fatalf("reject: %d %s", r.status, r.raw)
	}
	// request_publish from rejected clears the reason.
	s := b.call(t, http.MethodPost, toolPath(tool, "submit"), map[string]any{}, auth...)
	if s.status != http.StatusOK || s.body["review_status"] != "pending_review" || s.body["rejection_reason"] != nil {
		t.Fatalf("resubmit: %d %s", s.status, s.raw)
	}
}

func TestBE42_RevokeRemovesTheToolFromTheCatalog(t *testing.T) {
	t.Parallel()
	b, _, auth, sid := toolsBackend(t, okAnswer)
	tool := b.newTool(t, auth, sid, "forecast", nil)
	notApproved := b.call(t, http.MethodPost, toolPath(tool, "revoke"), map[string]any{}, auth...)
	wantError(t, notApproved, http.StatusConflict, proto.CodeInvalidState)
	b.approveV1(t, tool["id"].(string))
	rev := b.catalogRev(t)
	r := b.call(t, http.MethodPost, toolPath(tool, "revoke"), map[string]any{"reason": "leaks data"}, auth...)
	if r.status != http.StatusOK || r.body["approved_version"] != nil || r.body["approved_hash"] != nil ||
		r.body["review_status"] != "pending_review" || r.body["live"] != false {
		t.Fatalf("revoke: %d %s", r.status, r.raw)
	}
	if got := b.catalogRev(t); got != rev+1 {
		t.Fatalf("catalog revision %d, want %d", got, rev+1)
	}
	var details string
	b.sql(t, `SELECT details::text FROM activity_log WHERE action = 'tool.revoke'`, []any{&details})
	if !strings.Contains(details, `"leaks data"`) || !strings.Contains(details, `"cause": "admin"`) {
		t.Fatalf("audit %s", details)
	}
}

func TestBE43_RevokingAHostRevokesEveryToolThatNeedsIt(t *testing.T) {
	t.Parallel()
	b, _, auth, sid := toolsBackend(t, okAnswer)
	hosts := map[string]any{"hosts": []string{"api.example.com"}}
	one := b.newTool(t, auth, sid, "one", map[string]any{"hosts": []string{"api.example.com"}})
	two := b.newTool(t, auth, sid, "two", hosts)
	three := b.newTool(t, auth, sid, "three", nil)
	b.approveLatest(t, auth, one)
	if g := b.approveLatest(t, auth, two).body["granted"].(map[string]any); len(g["hosts"].([]any)) != 0 {
		t.Fatalf("the covered host was granted again: %v", g)
	}
	b.approveLatest(t, auth, three)
	list := b.call(t, http.MethodGet, "/api/v1/network-requests?status=approved&server_id="+sid, nil, auth...)
	items := list.body["items"].([]any)
	if list.status != http.StatusOK || len(items) != 1 {
		t.Fatalf("list: %d %s", list.status, list.raw)
	}
	req := items[0].(map[string]any)
	if req["host"] != "api.example.com" || req["port"] != nil || req["source"] != "admin" || req["server_name"] != "weather" ||
		req["tool_name"] != "one" {
		t.Fatalf("request %v", req)
	}
	rev := b.catalogRev(t)
	r := b.call(t, http.MethodPost, "/api/v1/network-requests/"+req["id"].(string)+"/revoke", nil, auth...)
	if r.status != http.StatusOK {
		t.Fatalf("revoke: %d %s", r.status, r.raw)
	}
	revoked := r.body["revoked_tools"].([]any)
	names := map[any]bool{}
	for _, x := range revoked {
		names[x.(map[string]any)["exposed_name"]] = true
	}
	if len(revoked) != 2 || !names["weather__one"] || !names["weather__two"] {
		t.Fatalf("revoked_tools %v", revoked)
	}
	if r.body["request"].(map[string]any)["status"] != "pending" {
		t.Fatalf("request after revoke %v", r.body["request"])
	}
	var n int
	b.sql(t, `SELECT count(*) FROM tools WHERE approved_version IS NULL`, []any{&n})
	if n != 2 {
		t.Fatalf("%d tools without approval, want 2", n)
	}
	if got := b.catalogRev(t); got != rev+1 {
		t.Fatalf("catalog revision %d, want %d", got, rev+1)
	}
	var actor string
	b.sql(t, `SELECT actor FROM activity_log WHERE action = 'tool.revoke' LIMIT 1`, []any{&actor})
	if actor != "system" {
		t.Fatalf("cascade actor %q", actor)
	}
}

func TestBE44_RequestPublishOnPendingReviewIsInvalidState(t *testing.T) {
	t.Parallel()
	b, _, auth, sid := toolsBackend(t, okAnswer)
	tool := b.newTool(t, auth, sid, "forecast", nil)
	rev := b.catalogRev(t)
	s := b.call(t, http.MethodPost, toolPath(tool, "submit"), map[string]any{}, auth...)
	if s.status != http.StatusOK || s.body["review_status"] != "pending_review" || s.body["review_requested_at"] == nil {
		t.Fatalf("submit: %d %s", s.status, s.raw)
	}
	if b.catalogRev(t) != rev+1 {
		t.Fatal("request_publish did not bump the catalog revision")
	}
	again := b.call(t, http.MethodPost, toolPath(tool, "submit"), map[string]any{}, auth...)
	wantError(t, again, http.StatusConflict, proto.CodeInvalidState)
	if again.err.Message != "Tool 'weather__forecast' is pending_review; request_publish needs draft or rejected." {
		t.Fatalf("message %q", again.err.Message)
	}
}

func TestBE45_RequestPublishUnderAutoApprove(t *testing.T) {
	t.Parallel()
	b, _, auth, sid := toolsBackend(t, xmlAnswer)
	b.setPolicy(t, "tool_approval_mode", "auto_approve")
	covered := b.newTool(t, auth, sid, "covered", nil)
	s := b.call(t, http.MethodPost, toolPath(covered, "submit"), map[string]any{}, auth...)
	if s.status != http.StatusOK || s.body["review_status"] != "approved" || s.body["approved_by"] != "policy" {
		t.Fatalf("covered: %d %s", s.status, s.raw)
	}
	uncovered := b.newTool(t, auth, sid, "uncovered", map[string]any{"hosts": []string{"api.example.com"}})
	u := b.call(t, http.MethodPost, toolPath(uncovered, "submit"), map[string]any{}, auth...)
	if u.status != http.StatusOK || u.body["review_status"] != "pending_review" ||
		u.body["missing"].(map[string]any)["hosts"].([]any)[0] != "api.example.com" {
		t.Fatalf("uncovered: %d %s", u.status, u.raw)
	}
	secret := b.newTool(t, auth, sid, "secretive", map[string]any{"code": "package tool\n// secret\nfunc Main() {}\n"})
	x := b.call(t, http.MethodPost, toolPath(secret, "submit"), map[string]any{}, auth...)
	if x.status != http.StatusOK || x.body["review_status"] != "pending_review" || x.body["approved_version"] != nil {
		t.Fatalf("secret: %d %s", x.status, x.raw)
	}
}

func TestBE46_AllowAllPublicApprovesPublicHostRequests(t *testing.T) {
	t.Parallel()
	b, _, auth, sid := toolsBackend(t, okAnswer)
	b.setPolicy(t, "network_access_policy", "allow_all_public")
	tool := b.newTool(t, auth, sid, "forecast", nil)
	id, _ := uuid.Parse(tool["id"].(string))
	svc := approvals.New(b.store)
	pub, err := svc.RequestNetwork(t.Context(), reqAudit(), id, "api.example.com", nil, "forecast data")
	if err != nil || pub.Status != approvals.StatusApproved || pub.ReviewedBy == nil || *pub.ReviewedBy != "policy" || pub.Source() != "llm" {
		t.Fatalf("public host: %+v %v", pub, err)
	}
	for _, h := range []string{"nas.local", "192.168.1.10", "[::1]", "localhost"} {
		priv, err := svc.RequestNetwork(t.Context(), reqAudit(), id, h, nil, "the NAS")
		if err != nil || priv.Status != approvals.StatusPending {
			t.Fatalf("%s: %+v %v", h, priv, err)
		}
	}
}

func TestBE47_PackageAutoApproveAndForbiddenPackages(t *testing.T) {
	t.Parallel()
	b, _, auth, sid := toolsBackend(t, okAnswer)
	b.setPolicy(t, "package_approval_mode", "auto_approve")
	tool := b.newTool(t, auth, sid, "forecast", nil)
	id, _ := uuid.Parse(tool["id"].(string))
	svc := approvals.New(b.store)
	r, err := svc.RequestPackage(t.Context(), reqAudit(), id, "encoding/xml", "parse the feed")
	if err != nil || r.Status != approvals.StatusApproved || *r.ReviewedBy != "policy" {
		t.Fatalf("approvable: %+v %v", r, err)
	}
	var forbidden *approvals.PackageForbiddenError
	if _, err := svc.RequestPackage(t.Context(), reqAudit(), id, "os/exec", "run things"); !errors.As(err, &forbidden) {
		t.Fatalf("os/exec: %v", err)
	}
	api := b.call(t, http.MethodPost, "/api/v1/package-requests", map[string]any{"package": "reflect"}, auth...)
	wantError(t, api, http.StatusBadRequest, proto.CodePackageForbidden)
	def := b.call(t, http.MethodPost, "/api/v1/package-requests", map[string]any{"package": "encoding/json"}, auth...)
	wantError(t, def, http.StatusConflict, proto.CodeAlreadyCovered)
	if def.err.Message != "Package 'encoding/json' is already allowed; no request needed." {
		t.Fatalf("message %q", def.err.Message)
	}
	bad := b.call(t, http.MethodPost, "/api/v1/package-requests", map[string]any{"package": "Not/A Path"}, auth...)
	wantError(t, bad, http.StatusBadRequest, proto.CodeValidationFailed)
	ok := b.call(t, http.MethodPost, "/api/v1/package-requests", map[string]any{"package": "compress/gzip", "justification": "archives"}, auth...)
	if ok.status != http.StatusCreated || ok.body["status"] != "approved" || ok.body["package"] != "compress/gzip" ||
		ok.body["tool_id"] != nil || ok.body["source"] != "admin" || ok.body["reviewed_by"] != "admin:admin" {
		t.Fatalf("admin grant: %d %s", ok.status, ok.raw)
	}
}

func TestBE48_AnyPortApprovalCoversEveryPortButNotTheReverse(t *testing.T) {
	t.Parallel()
	b, _, auth, sid := toolsBackend(t, okAnswer)
	path := "/api/v1/servers/" + sid + "/network-requests"
	r := b.call(t, http.MethodPost, path, map[string]any{"host": "API.X.com.", "justification": "vendor API"}, auth...)
	if r.status != http.StatusCreated || r.body["host"] != "api.x.com" || r.body["port"] != nil || r.body["status"] != "approved" ||
		r.body["tool_id"] != nil || r.body["reviewed_by"] != "admin:admin" {
		t.Fatalf("create: %d %s", r.status, r.raw)
	}
	port := b.call(t, http.MethodPost, path, map[string]any{"host": "api.x.com", "port": 8443}, auth...)
	wantError(t, port, http.StatusConflict, proto.CodeAlreadyCovered)
	if port.err.Message != "Host 'api.x.com:8443' is already approved for server 'weather'; no request needed." {
		t.Fatalf("message %q", port.err.Message)
	}
	if r := b.call(t, http.MethodPost, path, map[string]any{"host": "b.x.com", "port": 443}, auth...); r.status != http.StatusCreated {
		t.Fatalf("port 443: %d %s", r.status, r.raw)
	}
	if r := b.call(t, http.MethodPost, path, map[string]any{"host": "b.x.com"}, auth...); r.status != http.StatusCreated {
		t.Fatalf("any port after port 443: %d %s", r.status, r.raw)
	}
	bad := b.call(t, http.MethodPost, path, map[string]any{"host": "https://c.x.com/path"}, auth...)
	wantError(t, bad, http.StatusBadRequest, proto.CodeValidationFailed)
	if bad.err.Field != "host" {
		t.Fatalf("field %q", bad.err.Field)
	}
	missing := b.call(t, http.MethodPost, "/api/v1/servers/"+uuid.NewString()+"/network-requests", map[string]any{"host": "d.x.com"}, auth...)
	wantError(t, missing, http.StatusNotFound, proto.CodeNotFound)
}

func TestBE50_ARejectedRequestCannotBeAskedAgain(t *testing.T) {
	t.Parallel()
	b, _, auth, sid := toolsBackend(t, okAnswer)
	tool := b.newTool(t, auth, sid, "forecast", nil)
	id, _ := uuid.Parse(tool["id"].(string))
	svc := approvals.New(b.store)
	port := 443
	first, err := svc.RequestNetwork(t.Context(), reqAudit(), id, "api.x.com", &port, "forecast data")
	if err != nil {
		t.Fatal(err)
	}
	r := b.call(t, http.MethodPost, "/api/v1/network-requests/"+first.ID.String()+"/reject", map[string]any{"reason": "use the official API"}, auth...)
	if r.status != http.StatusOK || r.body["status"] != "rejected" || r.body["rejection_reason"] != "use the official API" {
		t.Fatalf("reject: %d %s", r.status, r.raw)
	}
	_, err = svc.RequestNetwork(t.Context(), reqAudit(), id, "api.x.com", &port, "please")
	var rejected *approvals.AlreadyRejectedError
	want := "A request for 'api.x.com:443' was already rejected for this tool (reason: use the official API). " +
		"An admin must delete the rejected request before it can be requested again."
	if !errors.As(err, &rejected) || rejected.Message != want {
		t.Fatalf("again: %v", err)
	}
	other := 8443
	if r, err := svc.RequestNetwork(t.Context(), reqAudit(), id, "api.x.com", &other, "another port"); err != nil || r.Status != "pending" {
		t.Fatalf("other port: %+v %v", r, err)
	}
	// Once the admin deletes the rejected request, it may be asked again.
	if d := b.call(t, http.MethodDelete, "/api/v1/network-requests/"+first.ID.String(), nil, auth...); d.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", d.status, d.raw)
	}
	if _, err := svc.RequestNetwork(t.Context(), reqAudit(), id, "api.x.com", &port, "please"); err != nil {
		t.Fatalf("after delete: %v", err)
	}
}

func TestBE51_OnlyPendingOrRejectedRequestsAreDeleted(t *testing.T) {
	t.Parallel()
	b, _, auth, sid := toolsBackend(t, okAnswer)
	granted := b.call(t, http.MethodPost, "/api/v1/servers/"+sid+"/network-requests", map[string]any{"host": "api.x.com"}, auth...)
	d := b.call(t, http.MethodDelete, "/api/v1/network-requests/"+granted.body["id"].(string), nil, auth...)
	wantError(t, d, http.StatusConflict, proto.CodeInvalidState)
	if d.err.Message != "Revoke the approved request first, then delete it." {
		t.Fatalf("message %q", d.err.Message)
	}
	tool := b.newTool(t, auth, sid, "forecast", nil)
	id, _ := uuid.Parse(tool["id"].(string))
	pending, err := approvals.New(b.store).RequestNetwork(t.Context(), reqAudit(), id, "b.x.com", nil, "more data")
	if err != nil {
		t.Fatal(err)
	}
	if d := b.call(t, http.MethodDelete, "/api/v1/network-requests/"+pending.ID.String(), nil, auth...); d.status != http.StatusNoContent {
		t.Fatalf("delete pending: %d %s", d.status, d.raw)
	}
	gone := b.call(t, http.MethodDelete, "/api/v1/network-requests/"+pending.ID.String(), nil, auth...)
	wantError(t, gone, http.StatusNotFound, proto.CodeNotFound)
}

func TestApprovalsBulkUsesOneSavepointPerItem(t *testing.T) {
	t.Parallel()
	b, _, auth, sid := toolsBackend(t, okAnswer)
	tool := b.newTool(t, auth, sid, "forecast", nil)
	bad := b.newTool(t, auth, sid, "other", nil)
	id, _ := uuid.Parse(tool["id"].(string))
	svc := approvals.New(b.store)
	net, err := svc.RequestNetwork(t.Context(), reqAudit(), id, "api.x.com", nil, "forecast data")
	if err != nil {
		t.Fatal(err)
	}
	pkg, err := svc.RequestPackage(t.Context(), reqAudit(), id, "encoding/xml", "parse the feed")
	if err != nil {
		t.Fatal(err)
	}
	noReason := b.call(t, http.MethodPost, "/api/v1/approvals/bulk", map[string]any{
		"action": "reject", "items": []any{map[string]any{"kind": "network", "id": net.ID}},
	}, auth...)
	wantError(t, noReason, http.StatusBadRequest, proto.CodeValidationFailed)
	empty := b.call(t, http.MethodPost, "/api/v1/approvals/bulk", map[string]any{"action": "approve", "items": []any{}}, auth...)
	wantError(t, empty, http.StatusBadRequest, proto.CodeValidationFailed)

	v := latest(tool)
	r := b.call(t, http.MethodPost, "/api/v1/approvals/bulk", map[string]any{"action": "approve", "items": []any{
		map[string]any{"kind": "network", "id": net.ID},
		map[string]any{"kind": "tool", "id": bad["id"], "version": 1, "hash": "sha256:" + strings.Repeat("0", 64)},
		map[string]any{"kind": "package", "id": pkg.ID},
		map[string]any{"kind": "tool", "id": tool["id"], "version": 1, "hash": v["hash"]},
		map[string]any{"kind": "network", "id": uuid.NewString()},
	}}, auth...)
	if r.status != http.StatusOK {
		t.Fatalf("bulk: %d %s", r.status, r.raw)
	}
	results := r.body["results"].([]any)
	wantOK := []bool{true, false, true, true, false}
	wantCode := []string{"", proto.CodeVersionChanged, "", "", proto.CodeNotFound}
	for i, x := range results {
		res := x.(map[string]any)
		if res["ok"] != wantOK[i] {
			t.Fatalf("item %d: %v", i, res)
		}
		if !wantOK[i] && res["error"].(map[string]any)["code"] != wantCode[i] {
			t.Fatalf("item %d error %v", i, res["error"])
		}
	}
	var status, review string
	b.sql(t, `SELECT status FROM network_requests WHERE id = $1`, []any{&status}, net.ID)
	b.sql(t, `SELECT review_status FROM tools WHERE id = $1`, []any{&review}, tool["id"])
	if status != "approved" || review != "approved" {
		t.Fatalf("after bulk: request %s, tool %s", status, review)
	}
	b.sql(t, `SELECT review_status FROM tools WHERE id = $1`, []any{&review}, bad["id"])
	if review != "draft" {
		t.Fatalf("the failed item changed its tool: %s", review)
	}
}

func TestApprovalsSummaryAndQueue(t *testing.T) {
	t.Parallel()
	b, _, auth, sid := toolsBackend(t, okAnswer)
	a := b.newTool(t, auth, sid, "alpha", nil)
	bt := b.newTool(t, auth, sid, "beta", nil)
	b.newTool(t, auth, sid, "gamma", nil)
	for _, tool := range []map[string]any{a, bt} {
		if s := b.call(t, http.MethodPost, toolPath(tool, "submit"), map[string]any{}, auth...); s.status != http.StatusOK {
			t.Fatalf("submit: %d %s", s.status, s.raw)
		}
	}
	id, _ := uuid.Parse(a["id"].(string))
	if _, err := approvals.New(b.store).RequestNetwork(t.Context(), reqAudit(), id, "api.x.com", nil, "data"); err != nil {
		t.Fatal(err)
	}
	b.call(t, http.MethodPost, "/api/v1/package-requests", map[string]any{"package": "encoding/xml"}, auth...)
	s := b.call(t, http.MethodGet, "/api/v1/approvals/summary", nil, auth...)
	p := s.body["pending"].(map[string]any)
	if s.status != http.StatusOK || num(p["tools"]) != 2 || num(p["network"]) != 1 || num(p["packages"]) != 0 ||
		num(p["sources"]) != 0 || num(s.body["approved_last_7d"]) != 1 || num(s.body["rejected_last_7d"]) != 0 {
		t.Fatalf("summary: %d %s", s.status, s.raw)
	}
	q := b.call(t, http.MethodGet, "/api/v1/approvals/tools?limit=1", nil, auth...)
	items := q.body["items"].([]any)
	if q.status != http.StatusOK || len(items) != 1 || items[0].(map[string]any)["exposed_name"] != "weather__alpha" ||
		items[0].(map[string]any)["diff_base"] != nil || q.body["next_cursor"] == nil {
		t.Fatalf("queue page 1: %d %s", q.status, q.raw)
	}
	q2 := b.call(t, http.MethodGet, "/api/v1/approvals/tools?limit=1&cursor="+q.body["next_cursor"].(string), nil, auth...)
	if items := q2.body["items"].([]any); len(items) != 1 || items[0].(map[string]any)["exposed_name"] != "weather__beta" ||
		q2.body["next_cursor"] != nil {
		t.Fatalf("queue page 2: %d %s", q2.status, q2.raw)
	}
	all := b.call(t, http.MethodGet, "/api/v1/approvals/tools?status=all&q=GAM", nil, auth...)
	if items := all.body["items"].([]any); len(items) != 1 || items[0].(map[string]any)["name"] != "gamma" {
		t.Fatalf("all + q: %s", all.raw)
	}
	wantError(t, b.call(t, http.MethodGet, "/api/v1/approvals/tools?status=nope", nil, auth...), http.StatusBadRequest, proto.CodeValidationFailed)
	wantError(t, b.call(t, http.MethodGet, "/api/v1/network-requests?status=nope", nil, auth...), http.StatusBadRequest, proto.CodeValidationFailed)
	nets := b.call(t, http.MethodGet, "/api/v1/network-requests?q=ALPHA", nil, auth...)
	if items := nets.body["items"].([]any); len(items) != 1 || items[0].(map[string]any)["host"] != "api.x.com" {
		t.Fatalf("network q: %s", nets.raw)
	}
}
