package oauthflow_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/db/dbtest"
	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/canon"
	"github.com/mcpbox/mcpbox/services/backend/internal/catalog"
	"github.com/mcpbox/mcpbox/services/backend/internal/oauthflow/oauthfake"
	"github.com/mcpbox/mcpbox/services/backend/internal/policy"
	"github.com/mcpbox/mcpbox/services/backend/internal/secrets"
)

// approvedExternalTool inserts an approved external tool of source and
// returns its id.
func (e *env) approvedExternalTool(t *testing.T, source uuid.UUID, name string) uuid.UUID {
	t.Helper()
	m, err := proto.Manifest{Hosts: []string{"mcp.example.com"}, TimeoutMS: proto.DefaultTimeoutMS}.Normalize()
	if err != nil {
		t.Fatal(err)
	}
	def := proto.ExternalDefinition{
		Annotations: json.RawMessage(`null`), Description: "Lists repositories.",
		InputSchema: json.RawMessage(`{"type":"object"}`), Name: "list-repos", SourceID: source.String(),
	}
	hash, err := canon.HashExternal(def, m)
	if err != nil {
		t.Fatal(err)
	}
	rawDef, _ := json.Marshal(def)
	rawManifest, _ := json.Marshal(m)
	var id uuid.UUID
	dbtest.QueryRow(t, e.url, `WITH t AS (INSERT INTO tools (server_id, name, kind, external_source_id, external_tool_name)
		VALUES ($1, $2, 'external', $3, 'list-repos') RETURNING id)
		INSERT INTO tool_versions (tool_id, version, external_definition, manifest, hash, description, change_source)
		SELECT id, 1, $4, $5, $6, $7, 'import' FROM t RETURNING tool_id`,
		[]any{&id}, e.server, name, source, rawDef, rawManifest, hash, def.Description)
	dbtest.Exec(t, e.url, `UPDATE tools SET approved_version = 1, approved_hash = $2, approved_at = now(),
		approved_by = 'admin:alice', review_status = 'approved' WHERE id = $1`, id, hash)
	e.approveHost(t, "mcp.example.com")
	return id
}

// A plan of a tool of an OAuth source carries the source's access token as
// a Bearer header and the token's expiry; a token about to expire is
// refreshed first; a source that must sign in again is 409
// source_auth_failed.
func TestPlanOfOAuthSourceCarriesBearerToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	src := e.source(t, "GitHub", mcpURL, "oauth", "active")
	tool := e.approvedExternalTool(t, src, "github_list_repos")
	plans := catalog.New(e.store, secrets.New(e.store, e.keys), policy.New(e.store)).WithOAuth(e.svc)

	_, err := plans.Plan(t.Context(), tool, 1, "req-plan")
	var re *catalog.RefusedError
	if !errors.As(err, &re) || re.Status != http.StatusConflict || re.Code != proto.CodeSourceAuthFailed {
		t.Fatalf("plan before sign-in: %v, want 409 source_auth_failed", err)
	}

	e.signIn(t, src)
	tokens, _ := e.storedTokens(t, src)
	p, err := plans.Plan(t.Context(), tool, 1, "req-plan")
	if err != nil {
		t.Fatal(err)
	}
	if p.External == nil || p.External.Headers["Authorization"] != "Bearer "+tokens["access_token"].(string) || len(p.External.Headers) != 1 {
		t.Fatalf("plan headers %v", p.External)
	}
	if p.ExpiresAt == nil || time.Until(*p.ExpiresAt) < 59*time.Minute {
		t.Fatalf("plan expires_at %v, want the token's expiry", p.ExpiresAt)
	}
	if !e.as.ValidAccessToken(tokens["access_token"].(string)) {
		t.Fatal("the plan's token is not one the authorization server issued")
	}

	// About to expire: refreshed for the plan.
	dbtest.Exec(t, e.url, `UPDATE external_mcp_sources SET oauth_tokens_enc = $2 WHERE id = $1`, src, e.resealExpired(t, src))
	p, err = plans.Plan(t.Context(), tool, 1, "req-plan")
	if err != nil || p.External.Headers["Authorization"] == "Bearer "+tokens["access_token"].(string) || e.as.Count("refresh") != 1 {
		t.Fatalf("plan after expiry: %v %v, %d refreshes", p.External, err, e.as.Count("refresh"))
	}

	dbtest.Exec(t, e.url, `UPDATE external_mcp_sources SET oauth_tokens_enc = $2 WHERE id = $1`, src, e.resealExpired(t, src))
	e.as.Set(func(a *oauthfake.AuthServer) { a.FailRefresh = true })
	if _, err := plans.Plan(t.Context(), tool, 1, "req-plan"); !errors.As(err, &re) || re.Code != proto.CodeSourceAuthFailed {
		t.Fatalf("plan with a failed refresh: %v, want source_auth_failed", err)
	}
}
