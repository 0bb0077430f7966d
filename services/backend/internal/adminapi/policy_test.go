package adminapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/db/dbtest"
	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/policy"
)

const policyPath = "/api/v1/settings/security-policy"

// signedIn returns a backend with an admin and the admin's bearer header.
func signedIn(t *testing.T) (*backend, []string) {
	t.Helper()
	b := newBackend(t)
	b.setup(t)
	return b, bearer(b.login(t))
}

// rawCall sends a raw JSON body (the harness marshals Go values; these tests
// need bodies such as {} with a duplicate key or bare null).
func (b *backend) rawCall(t *testing.T, method, path, body string, header ...string) response {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, b.srv.URL+path, bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	resp, err := b.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	out := response{status: resp.StatusCode, header: resp.Header, raw: buf.String()}
	_ = json.Unmarshal(buf.Bytes(), &out.body)
	var eb proto.ErrorBody
	if json.Unmarshal(buf.Bytes(), &eb) == nil {
		out.err = eb.Error
	}
	return out
}

// policyService is the service the internal API reads (§9.7), over the
// backend's database.
func policyService(t *testing.T, b *backend) *policy.Service {
	t.Helper()
	return policy.New(b.store)
}

func (b *backend) policyRevision(t *testing.T) int64 {
	t.Helper()
	var n int64
	b.sql(t, "SELECT policy FROM revisions", []any{&n})
	return n
}

func (b *backend) settingsAudits(t *testing.T) int64 {
	t.Helper()
	var n int64
	b.sql(t, "SELECT count(*) FROM activity_log WHERE action = 'settings.update'", []any{&n})
	return n
}

// BE-52: a value outside its enumeration or range, an empty body and an
// unknown key are 400 validation_failed naming the key and the rule; nothing
// is written.
func TestBE52_PatchRefusesBadSettings(t *testing.T) {
	t.Parallel()
	b, auth := signedIn(t)
	cases := []struct {
		name, body, field, message string
	}{
		{"enum", `{"tool_approval_mode": "yolo"}`, "tool_approval_mode", "tool_approval_mode: must be one of require_approval, auto_approve."},
		{"range", `{"mcp_rate_limit_rpm": 5}`, "mcp_rate_limit_rpm", "mcp_rate_limit_rpm: must be an integer between 10 and 10000 (calls per minute per caller)."},
		{"empty", `{}`, "", "No settings given: send at least one of remote_tool_editing, tool_approval_mode, network_access_policy, " +
			"package_approval_mode, redact_secrets_in_output, log_retention_days, mcp_rate_limit_rpm, remote_email_allowlist, " +
			`e.g. {"tool_approval_mode": "auto_approve"}.`},
		{"revision only", `{"revision": 0}`, "", "No settings given: "},
		{
			"unknown key", `{"log_retention_days": 60, "tool_approval": "auto_approve"}`, "tool_approval",
			"tool_approval: unknown setting; the security policy's settings are remote_tool_editing, tool_approval_mode, ",
		},
		{"null", `{"network_access_policy": null}`, "network_access_policy", "network_access_policy: must be one of approved_hosts_only, allow_all_public."},
		{
			"allowlist", `{"remote_email_allowlist": {"mode": "emails", "values": ["ok@example.com", "not-an-email"]}}`,
			"remote_email_allowlist.values[1]", "remote_email_allowlist.values[1]: must be a lowercased email address",
		},
		{"bad revision", `{"revision": "3", "log_retention_days": 60}`, "revision", "revision: must be the revision you read"},
		{"null revision", `{"revision": null, "log_retention_days": 60}`, "revision", "revision: must be the revision you read"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := b.rawCall(t, http.MethodPatch, policyPath, tc.body, auth...)
			wantError(t, r, http.StatusBadRequest, proto.CodeValidationFailed)
			if r.err.Field != tc.field || !strings.HasPrefix(r.err.Message, tc.message) {
				t.Fatalf("field %q message %q, want %q %q", r.err.Field, r.err.Message, tc.field, tc.message)
			}
			if tc.field != "" && (len(r.err.Details) == 0 || r.err.Details[0].Field != tc.field) {
				t.Fatalf("details %+v", r.err.Details)
			}
		})
	}
	// Every failure is listed, the first in the message.
	r := b.rawCall(t, http.MethodPatch, policyPath, `{"zeta": 1, "mcp_rate_limit_rpm": 5, "tool_approval_mode": "yolo"}`, auth...)
	if len(r.err.Details) != 3 || r.err.Field != "tool_approval_mode" || r.err.Details[1].Field != "mcp_rate_limit_rpm" || r.err.Details[2].Field != "zeta" {
		t.Fatalf("several failures: %s", r.raw)
	}
	// Strict JSON still applies: a duplicate key is invalid_json, a non-object 400.
	wantError(t, b.rawCall(t, http.MethodPatch, policyPath, `{"log_retention_days": 60, "log_retention_days": 61}`, auth...),
		http.StatusBadRequest, proto.CodeInvalidJSON)
	wantError(t, b.rawCall(t, http.MethodPatch, policyPath, `[1]`, auth...), http.StatusBadRequest, proto.CodeValidationFailed)
	var rows int64
	b.sql(t, "SELECT count(*) FROM settings", []any{&rows})
	if rows != 0 || b.policyRevision(t) != 0 || b.settingsAudits(t) != 0 {
		t.Fatalf("refused patches wrote: %d rows, revision %d", rows, b.policyRevision(t))
	}
}

// BE-53: a change bumps the revision by one, shows in GET, NOTIFYs
// mcpbox_policy with the revision and writes one audit row with old and new
// values; a stale revision is 409 version_changed and writes nothing.
func TestBE53_PatchBumpsRevisionAndNotifies(t *testing.T) {
	t.Parallel()
	b, auth := signedIn(t)
	notes := dbtest.Listen(t, b.url, "mcpbox_policy")
	r := b.call(t, http.MethodPatch, policyPath, map[string]any{"remote_tool_editing": "enabled", "log_retention_days": 14, "revision": 0}, auth...)
	if r.status != http.StatusOK || r.body["revision"] != float64(1) || r.body["remote_tool_editing"] != "enabled" ||
		r.body["log_retention_days"] != float64(14) || r.body["tool_approval_mode"] != "require_approval" {
		t.Fatalf("patch: %d %s", r.status, r.raw)
	}
	if _, ok := r.body["kept_policy_approvals"]; ok {
		t.Fatalf("kept_policy_approvals without a setting going back: %s", r.raw)
	}
	select {
	case p := <-notes:
		if p != `{"revision":1}` {
			t.Fatalf("payload %s", p)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no NOTIFY on mcpbox_policy")
	}
	g := b.call(t, http.MethodGet, policyPath, nil, auth...)
	if g.status != http.StatusOK || g.body["revision"] != float64(1) || g.body["remote_tool_editing"] != "enabled" {
		t.Fatalf("get: %d %s", g.status, g.raw)
	}
	if p, rev, err := policyService(t, b).Current(t.Context()); err != nil || rev != 1 || p.LogRetentionDays != 14 {
		t.Fatalf("Current: %+v %d %v", p, rev, err)
	}
	var details, actor string
	b.sql(t, "SELECT details::text, actor FROM activity_log WHERE action = 'settings.update'", []any{&details, &actor})
	if actor != "admin:"+adminName || details !=
		`{"changes": {"log_retention_days": {"new": 14, "old": 30}, "remote_tool_editing": {"new": "enabled", "old": "disabled"}}}` {
		t.Fatalf("audit by %s: %s", actor, details)
	}

	r = b.call(t, http.MethodPatch, policyPath, map[string]any{"remote_tool_editing": "disabled", "revision": 0}, auth...)
	wantError(t, r, http.StatusConflict, proto.CodeVersionChanged)
	if !strings.Contains(r.err.Message, "revision 1") || !strings.Contains(r.err.Message, "reload") {
		t.Fatalf("message %q", r.err.Message)
	}
	if g = b.call(t, http.MethodGet, policyPath, nil, auth...); g.body["remote_tool_editing"] != "enabled" || g.body["revision"] != float64(1) || b.settingsAudits(t) != 1 {
		t.Fatalf("a stale patch wrote: %s", g.raw)
	}
	// A patch that changes nothing is 200 without a bump.
	r = b.call(t, http.MethodPatch, policyPath, map[string]any{"remote_tool_editing": "enabled"}, auth...)
	if r.status != http.StatusOK || r.body["revision"] != float64(1) || b.policyRevision(t) != 1 || b.settingsAudits(t) != 1 {
		t.Fatalf("no-op patch: %d %s", r.status, r.raw)
	}
}

// BE-54: on an empty database GET answers every default and revision 0.
func TestBE54_DefaultsOnEmptyDB(t *testing.T) {
	t.Parallel()
	b, auth := signedIn(t)
	r := b.call(t, http.MethodGet, policyPath, nil, auth...)
	var got map[string]any
	if err := json.Unmarshal([]byte(r.raw), &got); err != nil {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	want := map[string]any{
		"remote_tool_editing": "disabled", "tool_approval_mode": "require_approval", "network_access_policy": "approved_hosts_only",
		"package_approval_mode": "require_approval", "redact_secrets_in_output": "enabled", "log_retention_days": float64(30),
		"mcp_rate_limit_rpm": float64(120), "remote_email_allowlist": map[string]any{"mode": "emails", "values": []any{}},
		"revision": float64(0),
	}
	gotJSON, _ := json.Marshal(got)
	wantJSON, _ := json.Marshal(want)
	if r.status != http.StatusOK || string(gotJSON) != string(wantJSON) {
		t.Fatalf("got %d %s, want %s", r.status, gotJSON, wantJSON)
	}
}

// BE-55: each profile changes exactly its five keys of §6.6.
func TestBE55_ProfilesChangeFiveKeys(t *testing.T) {
	t.Parallel()
	five := []string{"tool_approval_mode", "network_access_policy", "package_approval_mode", "remote_tool_editing", "redact_secrets_in_output"}
	want := map[string][]string{
		"strict":     {"require_approval", "approved_hosts_only", "require_approval", "disabled", "enabled"},
		"balanced":   {"auto_approve", "approved_hosts_only", "auto_approve", "disabled", "enabled"},
		"permissive": {"auto_approve", "allow_all_public", "auto_approve", "enabled", "enabled"},
	}
	for name, values := range want {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b, auth := signedIn(t)
			// Every key away from the profile, so a profile touching another key shows.
			r := b.call(t, http.MethodPatch, policyPath, map[string]any{
				"tool_approval_mode": "auto_approve", "network_access_policy": "allow_all_public", "package_approval_mode": "require_approval",
				"remote_tool_editing": "enabled", "redact_secrets_in_output": "disabled", "log_retention_days": 365, "mcp_rate_limit_rpm": 60,
				"remote_email_allowlist": map[string]any{"mode": "email_domain", "values": []string{"example.com"}},
			}, auth...)
			if r.status != http.StatusOK {
				t.Fatalf("patch: %d %s", r.status, r.raw)
			}
			before := r.body
			r = b.call(t, http.MethodPost, policyPath+"/profile", map[string]any{"profile": name}, auth...)
			if r.status != http.StatusOK || r.body["revision"] != before["revision"].(float64)+1 {
				t.Fatalf("profile: %d %s", r.status, r.raw)
			}
			for i, k := range five {
				if r.body[k] != values[i] {
					t.Errorf("%s = %v, want %s", k, r.body[k], values[i])
				}
			}
			for _, k := range []string{"log_retention_days", "mcp_rate_limit_rpm", "remote_email_allowlist"} {
				a, _ := json.Marshal(before[k])
				z, _ := json.Marshal(r.body[k])
				if string(a) != string(z) {
					t.Errorf("%s changed from %s to %s", k, a, z)
				}
			}
			var changed string
			b.sql(t, "SELECT (SELECT string_agg(k, ',' ORDER BY k) FROM jsonb_object_keys(details->'changes') k) FROM activity_log "+
				"WHERE action = 'settings.update' AND details->>'profile' = $1", []any{&changed}, name)
			for k := range strings.SplitSeq(changed, ",") {
				if !strings.Contains(strings.Join(five, ","), k) {
					t.Errorf("audit lists %s among the profile's changes", k)
				}
			}
		})
	}
	t.Run("unknown", func(t *testing.T) {
		t.Parallel()
		b, auth := signedIn(t)
		r := b.call(t, http.MethodPost, policyPath+"/profile", map[string]any{"profile": "relaxed"}, auth...)
		wantError(t, r, http.StatusBadRequest, proto.CodeValidationFailed)
		if r.err.Field != "profile" || r.err.Message != "profile: must be one of strict, balanced, permissive." {
			t.Fatalf("%s", r.raw)
		}
		wantError(t, b.call(t, http.MethodPost, policyPath+"/profile", map[string]any{}, auth...), http.StatusBadRequest, proto.CodeValidationFailed)
	})
}

// The allowlist through the API: values are stored lowercased; a broken
// value names its path.
func TestPolicyAllowlistThroughAPI(t *testing.T) {
	t.Parallel()
	b, auth := signedIn(t)
	r := b.call(t, http.MethodPatch, policyPath, map[string]any{
		"remote_email_allowlist": map[string]any{"mode": "emails", "values": []string{"Alice@Example.COM", "bob@example.org"}},
	}, auth...)
	if r.status != http.StatusOK {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	got, _ := json.Marshal(r.body["remote_email_allowlist"])
	if string(got) != `{"mode":"emails","values":["alice@example.com","bob@example.org"]}` {
		t.Fatalf("allowlist %s", got)
	}
	r = b.call(t, http.MethodPatch, policyPath, map[string]any{
		"remote_email_allowlist": map[string]any{"mode": "everyone", "values": []string{"alice@example.com"}},
	}, auth...)
	wantError(t, r, http.StatusBadRequest, proto.CodeValidationFailed)
	if r.err.Field != "remote_email_allowlist.values" || !strings.HasPrefix(r.err.Message, "remote_email_allowlist.values: must be empty") {
		t.Fatalf("%s", r.raw)
	}
	r = b.call(t, http.MethodPatch, policyPath, map[string]any{
		"remote_email_allowlist": map[string]any{"mode": "email_domain", "values": []string{}},
	}, auth...)
	wantError(t, r, http.StatusBadRequest, proto.CodeValidationFailed)
	if r.err.Field != "remote_email_allowlist.values" || !strings.Contains(r.err.Message, "1 to 20 domains") {
		t.Fatalf("%s", r.raw)
	}
}

// §6.6: switching network_access_policy back to approved_hosts_only keeps
// the requests the policy approved, and the response counts them.
func TestPolicyKeptApprovalsCount(t *testing.T) {
	t.Parallel()
	b, auth := signedIn(t)
	r := b.call(t, http.MethodPatch, policyPath, map[string]any{"network_access_policy": "allow_all_public"}, auth...)
	if r.status != http.StatusOK {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	b.sql(t, `WITH s AS (INSERT INTO servers (name) VALUES ('weather') RETURNING id)
		INSERT INTO network_requests (server_id, host, port, status, requested_by, reviewed_by, reviewed_at)
		SELECT id, 'api.weather.example', 443, 'approved', 'llm:local', 'policy', now() FROM s`, nil)
	r = b.call(t, http.MethodPatch, policyPath, map[string]any{"network_access_policy": "approved_hosts_only"}, auth...)
	kept, _ := r.body["kept_policy_approvals"].(map[string]any)
	if r.status != http.StatusOK || kept["network_requests"] != float64(1) || kept["package_requests"] != nil ||
		!strings.HasPrefix(kept["message"].(string), "1 network request approved automatically by the previous policy stay approved") {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	var status string
	b.sql(t, "SELECT status FROM network_requests", []any{&status})
	if status != "approved" {
		t.Fatalf("the policy approval became %s", status)
	}
}

// Onboarding completes idempotently and GET /auth/status shows it.
func TestOnboardingCompleteIdempotent(t *testing.T) {
	t.Parallel()
	b, auth := signedIn(t)
	if r := b.call(t, http.MethodGet, "/api/v1/auth/status", nil); r.body["onboarding_completed"] != false {
		t.Fatalf("status before: %s", r.raw)
	}
	for range 2 {
		r := b.call(t, http.MethodPost, "/api/v1/settings/onboarding-complete", nil, auth...)
		if r.status != http.StatusOK || r.raw != `{"onboarding_completed":true}`+"\n" {
			t.Fatalf("%d %q", r.status, r.raw)
		}
	}
	if r := b.call(t, http.MethodGet, "/api/v1/auth/status", nil); r.body["onboarding_completed"] != true {
		t.Fatalf("status after: %s", r.raw)
	}
	if n := b.settingsAudits(t); n != 1 {
		t.Fatalf("%d audit rows for two calls", n)
	}
}

// Every policy route needs a signed-in admin.
func TestPolicyRoutesNeedAdmin(t *testing.T) {
	t.Parallel()
	b := newBackend(t)
	b.setup(t)
	for _, rt := range []struct{ method, path string }{
		{http.MethodGet, policyPath},
		{http.MethodPatch, policyPath},
		{http.MethodPost, policyPath + "/profile"},
		{http.MethodPost, "/api/v1/settings/onboarding-complete"},
	} {
		wantError(t, b.rawCall(t, rt.method, rt.path, `{"profile": "strict"}`), http.StatusUnauthorized, proto.CodeUnauthenticated)
	}
	var rows int64
	b.sql(t, "SELECT count(*) FROM settings", []any{&rows})
	if rows != 0 {
		t.Fatalf("%d settings rows written without an admin", rows)
	}
}
