package policy_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/db/dbtest"
	"github.com/mcpbox/mcpbox/services/backend/internal/policy"
)

const actor = "admin:alice"

// fixture is a policy service over a fresh migrated database.
type fixture struct {
	svc   *policy.Service
	store *db.Store
	url   string
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	url := dbtest.URL(t)
	store, err := db.Open(t.Context(), url, db.WithMaxConns(4))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	return fixture{svc: policy.New(store), store: store, url: url}
}

// patch sends a JSON object as a patch.
func (f fixture) patch(t *testing.T, body string, seen *int64) (policy.PatchResult, error) {
	t.Helper()
	var p map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Fatal(err)
	}
	return f.svc.Patch(context.Background(), actor, "req-1", p, seen)
}

func (f fixture) count(t *testing.T, query string, args ...any) int64 {
	t.Helper()
	var n int64
	dbtest.QueryRow(t, f.url, query, []any{&n}, args...)
	return n
}

func (f fixture) audits(t *testing.T) int64 {
	t.Helper()
	return f.count(t, "SELECT count(*) FROM activity_log WHERE action = 'settings.update'")
}

func receive(t *testing.T, ch <-chan string) string {
	t.Helper()
	select {
	case p := <-ch:
		return p
	case <-time.After(5 * time.Second):
		t.Fatal("no notification")
		return ""
	}
}

func quiet(t *testing.T, ch <-chan string) {
	t.Helper()
	select {
	case p := <-ch:
		t.Fatalf("unexpected notification %s", p)
	case <-time.After(200 * time.Millisecond):
	}
}

// BE-54: on an empty database every setting has its default and the
// revision is 0.
func TestBE54_DefaultsOnEmptyDB(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	p, rev, err := f.svc.Get(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := policy.Policy{
		RemoteToolEditing: "disabled", ToolApprovalMode: "require_approval", NetworkAccessPolicy: "approved_hosts_only",
		PackageApprovalMode: "require_approval", RedactSecretsInOutput: "enabled", LogRetentionDays: 30, MCPRateLimitRPM: 120,
		RemoteEmailAllowlist: policy.EmailAllowlist{Mode: "emails", Values: []string{}},
	}
	got, _ := json.Marshal(p)
	if wantJSON, _ := json.Marshal(want); string(got) != string(wantJSON) || rev != 0 {
		t.Fatalf("got %s revision %d, want %s revision 0", got, rev, wantJSON)
	}
	if p.RemoteEmailAllowlist.Values == nil {
		t.Fatal("values must be [] on the wire, not null")
	}
	if err := p.Proto(rev).Validate(); err != nil {
		t.Fatalf("defaults fail the gateway's check: %v", err)
	}
}

// BE-53: a change writes the rows with the actor, bumps the revision once,
// is visible through Get and Current, NOTIFYs mcpbox_policy with the new
// revision and writes one audit row with the old and new values.
func TestBE53_PatchBumpsNotifiesAudits(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	notes := dbtest.Listen(t, f.url, "mcpbox_policy")
	res, err := f.patch(t, `{"tool_approval_mode": "auto_approve", "mcp_rate_limit_rpm": 300,
		"remote_email_allowlist": {"mode": "emails", "values": ["Alice@Example.com"]}, "redact_secrets_in_output": "enabled"}`, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Revision != 1 || !slices.Equal(res.Changed, []string{"tool_approval_mode", "mcp_rate_limit_rpm", "remote_email_allowlist"}) {
		t.Fatalf("revision %d, changed %v", res.Revision, res.Changed)
	}
	if p := receive(t, notes); p != `{"revision":1}` {
		t.Fatalf("payload %s", p)
	}
	for _, read := range []func(context.Context) (policy.Policy, int64, error){f.svc.Get, f.svc.Current} {
		p, rev, err := read(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if rev != 1 || p.ToolApprovalMode != "auto_approve" || p.MCPRateLimitRPM != 300 ||
			!slices.Equal(p.RemoteEmailAllowlist.Values, []string{"alice@example.com"}) || p.NetworkAccessPolicy != "approved_hosts_only" {
			t.Fatalf("read back %+v revision %d", p, rev)
		}
	}
	if n := f.count(t, "SELECT count(*) FROM settings WHERE updated_by = $1", actor); n != 3 {
		t.Fatalf("%d rows by %s, want 3 (an unchanged value is not written)", n, actor)
	}
	var stored string
	dbtest.QueryRow(t, f.url, "SELECT value::text FROM settings WHERE key = 'remote_email_allowlist'", []any{&stored})
	if stored != `{"mode": "emails", "values": ["alice@example.com"]}` {
		t.Fatalf("stored allowlist %s", stored)
	}
	var details, who, requestID string
	dbtest.QueryRow(t, f.url, "SELECT details::text, actor, request_id FROM activity_log WHERE action = 'settings.update' AND category = 'audit'",
		[]any{&details, &who, &requestID})
	var d struct {
		Changes map[string]struct{ Old, New json.RawMessage }
	}
	if err := json.Unmarshal([]byte(details), &d); err != nil {
		t.Fatal(err)
	}
	if who != actor || requestID != "req-1" || len(d.Changes) != 3 ||
		string(d.Changes["tool_approval_mode"].Old) != `"require_approval"` || string(d.Changes["tool_approval_mode"].New) != `"auto_approve"` ||
		string(d.Changes["mcp_rate_limit_rpm"].Old) != `120` || string(d.Changes["mcp_rate_limit_rpm"].New) != `300` ||
		string(d.Changes["remote_email_allowlist"].New) != `{"mode": "emails", "values": ["alice@example.com"]}` {
		t.Fatalf("audit row by %s (%s): %s", who, requestID, details)
	}

	// A patch that changes nothing answers the current state and writes nothing.
	res, err = f.patch(t, `{"tool_approval_mode": "auto_approve"}`, new(int64(1)))
	if err != nil || res.Revision != 1 || len(res.Changed) != 0 || res.Policy.MCPRateLimitRPM != 300 {
		t.Fatalf("no-op patch: %+v, %v", res, err)
	}
	quiet(t, notes)
	if n := f.audits(t); n != 1 {
		t.Fatalf("%d audit rows after a no-op patch", n)
	}
}

// BE-53: a stale revision is version_changed and writes nothing; the
// current revision passes.
func TestBE53_StaleRevisionWritesNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if _, err := f.patch(t, `{"log_retention_days": 90}`, new(int64(0))); err != nil {
		t.Fatal(err)
	}
	_, err := f.patch(t, `{"log_retention_days": 7, "remote_tool_editing": "enabled"}`, new(int64(0)))
	var vc *policy.VersionChangedError
	if !errors.Is(err, policy.ErrVersionChanged) || !errors.As(err, &vc) || vc.Seen != 0 || vc.Current != 1 {
		t.Fatalf("stale patch: %v", err)
	}
	p, rev, err := f.svc.Get(t.Context())
	if err != nil || rev != 1 || p.LogRetentionDays != 90 || p.RemoteToolEditing != "disabled" || f.audits(t) != 1 {
		t.Fatalf("after a stale patch: %+v revision %d audits %d, %v", p, rev, f.audits(t), err)
	}
	if res, err := f.patch(t, `{"log_retention_days": 7}`, new(int64(1))); err != nil || res.Revision != 2 {
		t.Fatalf("current revision: %+v, %v", res, err)
	}
}

// Two changes that read the same revision: one wins, the other is
// version_changed, and the revision moves once.
func TestConcurrentPatchesOfOneRevision(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	errs := make([]error, 8)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() {
			body := map[string]json.RawMessage{"log_retention_days": json.RawMessage(strconv.Itoa(100 + i))}
			_, errs[i] = f.svc.Patch(context.Background(), actor, "", body, new(int64(0)))
		})
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, policy.ErrVersionChanged):
			t.Fatalf("unexpected error %v", err)
		}
	}
	if _, rev, _ := f.svc.Get(t.Context()); won != 1 || rev != 1 || f.audits(t) != 1 {
		t.Fatalf("%d winners, revision %d, %d audit rows", won, rev, f.audits(t))
	}
}

// Validation errors, an empty patch and unknown keys write nothing.
func TestBE52_RefusedPatchesWriteNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, body := range []string{
		`{}`, `{"tool_approval_mode": "yolo"}`, `{"mcp_rate_limit_rpm": 5}`,
		`{"log_retention_days": 10, "colour": "blue"}`, `{"remote_tool_editing": "enabled", "mcp_rate_limit_rpm": 10001}`,
	} {
		_, err := f.patch(t, body, nil)
		if err == nil {
			t.Fatalf("%s accepted", body)
		}
		if body == `{}` {
			if !errors.Is(err, policy.ErrNoSettings) {
				t.Fatalf("%s: %v", body, err)
			}
			continue
		}
		if len(policy.FieldErrors(err)) == 0 {
			t.Fatalf("%s: not a field error: %v", body, err)
		}
	}
	if n := f.count(t, "SELECT count(*) FROM settings"); n != 0 || f.audits(t) != 0 {
		t.Fatalf("%d settings rows, %d audit rows", n, f.audits(t))
	}
}

// BE-55: each profile sets exactly its five keys of §6.6 and nothing else.
func TestBE55_ProfilesSetFiveKeys(t *testing.T) {
	t.Parallel()
	want := map[string][5]string{ // tool, network, package, remote editing, redact
		"strict":     {"require_approval", "approved_hosts_only", "require_approval", "disabled", "enabled"},
		"balanced":   {"auto_approve", "approved_hosts_only", "auto_approve", "disabled", "enabled"},
		"permissive": {"auto_approve", "allow_all_public", "auto_approve", "enabled", "enabled"},
	}
	for _, name := range policy.Profiles() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			// Start away from every profile, so each of the five keys changes
			// where the profile says, and the other three must stay.
			start, err := f.patch(t, `{"tool_approval_mode": "auto_approve", "network_access_policy": "allow_all_public",
				"package_approval_mode": "require_approval", "remote_tool_editing": "enabled", "redact_secrets_in_output": "disabled",
				"log_retention_days": 90, "mcp_rate_limit_rpm": 200, "remote_email_allowlist": {"mode": "everyone", "values": []}}`, nil)
			if err != nil {
				t.Fatal(err)
			}
			res, err := f.svc.ApplyProfile(t.Context(), actor, "req-2", name)
			if err != nil {
				t.Fatal(err)
			}
			p, w := res.Policy, want[name]
			if got := [5]string{p.ToolApprovalMode, p.NetworkAccessPolicy, p.PackageApprovalMode, p.RemoteToolEditing, p.RedactSecretsInOutput}; got != w {
				t.Fatalf("five keys %v, want %v", got, w)
			}
			if p.LogRetentionDays != 90 || p.MCPRateLimitRPM != 200 || p.RemoteEmailAllowlist.Mode != "everyone" {
				t.Fatalf("a profile changed another key: %+v", p)
			}
			five := []string{"remote_tool_editing", "tool_approval_mode", "network_access_policy", "package_approval_mode", "redact_secrets_in_output"}
			for _, k := range res.Changed {
				if !slices.Contains(five, k) {
					t.Fatalf("changed %v", res.Changed)
				}
			}
			if res.Revision != start.Revision+1 || f.audits(t) != 2 {
				t.Fatalf("revision %d after %d, %d audit rows", res.Revision, start.Revision, f.audits(t))
			}
			var profile string
			dbtest.QueryRow(t, f.url, "SELECT details->>'profile' FROM activity_log WHERE action = 'settings.update' AND request_id = 'req-2'", []any{&profile})
			if profile != name {
				t.Fatalf("audit profile %q", profile)
			}
			// Applying it again changes nothing.
			again, err := f.svc.ApplyProfile(t.Context(), actor, "req-3", name)
			if err != nil || again.Revision != res.Revision || len(again.Changed) != 0 {
				t.Fatalf("second apply: %+v, %v", again, err)
			}
		})
	}
}

// An unknown profile is a field error listing the profiles.
func TestUnknownProfile(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	_, err := f.svc.ApplyProfile(t.Context(), actor, "", "yolo")
	fes := policy.FieldErrors(err)
	if len(fes) != 1 || fes[0].Field != "profile" || fes[0].Message != "profile: must be one of strict, balanced, permissive." {
		t.Fatalf("got %v", err)
	}
}

// §6.6: going back to the restrictive value keeps the approvals made by the
// policy and counts them; going further does not count.
func TestKeptPolicyApprovals(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	dbtest.Exec(t, f.url, `WITH s AS (INSERT INTO servers (name) VALUES ('weather') RETURNING id)
		INSERT INTO network_requests (server_id, host, status, requested_by, reviewed_by, reviewed_at)
		SELECT id, h, 'approved', 'llm:local', r, now() FROM s,
		(VALUES ('api.example.com', 'policy'), ('api.example.org', 'admin:alice')) AS v(h, r)`)
	dbtest.Exec(t, f.url, `INSERT INTO package_requests (package, status, requested_by, reviewed_by, reviewed_at) VALUES
		('encoding/xml', 'approved', 'llm:local', 'policy', now()), ('archive/zip', 'approved', 'llm:local', 'policy', now()),
		('compress/gzip', 'pending', 'llm:local', NULL, NULL)`)
	res, err := f.patch(t, `{"network_access_policy": "allow_all_public", "package_approval_mode": "auto_approve"}`, nil)
	if err != nil || res.KeptPolicyApprovals != nil {
		t.Fatalf("relaxing: %+v, %v", res, err)
	}
	res, err = f.patch(t, `{"network_access_policy": "approved_hosts_only"}`, nil)
	if err != nil {
		t.Fatal(err)
	}
	k := res.KeptPolicyApprovals
	if k == nil || k.NetworkRequests == nil || *k.NetworkRequests != 1 || k.PackageRequests != nil ||
		k.Message != "1 network request approved automatically by the previous policy stay approved; revoke the ones you no longer want under Approvals." {
		t.Fatalf("kept %+v", k)
	}
	res, err = f.svc.ApplyProfile(t.Context(), actor, "", "strict")
	if err != nil {
		t.Fatal(err)
	}
	if k = res.KeptPolicyApprovals; k == nil || k.PackageRequests == nil || *k.PackageRequests != 2 || k.NetworkRequests != nil {
		t.Fatalf("kept after strict %+v", k)
	}
	if n := f.count(t, "SELECT count(*) FROM network_requests WHERE status = 'approved'"); n != 2 {
		t.Fatalf("%d approved network requests; going back must keep them", n)
	}
}

// Onboarding completes once: the row holds JSON true, the first call writes
// one audit row, later calls nothing, and no policy revision moves.
func TestCompleteOnboardingIdempotent(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for range 3 {
		if err := f.svc.CompleteOnboarding(t.Context(), actor, "req-o"); err != nil {
			t.Fatal(err)
		}
	}
	var value, by string
	dbtest.QueryRow(t, f.url, "SELECT value::text, updated_by FROM settings WHERE key = 'onboarding_completed'", []any{&value, &by})
	var details string
	dbtest.QueryRow(t, f.url, "SELECT details::text FROM activity_log WHERE action = 'settings.update'", []any{&details})
	if value != "true" || by != actor || details != `{"changes": {"onboarding_completed": {"new": true, "old": false}}}` {
		t.Fatalf("row %s by %s, audit %s", value, by, details)
	}
	if _, rev, _ := f.svc.Get(t.Context()); rev != 0 {
		t.Fatalf("policy revision %d", rev)
	}
}
