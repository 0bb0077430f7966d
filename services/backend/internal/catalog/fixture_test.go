package catalog_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/db/dbtest"
	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/canon"
	"github.com/mcpbox/mcpbox/proto/obs"
	"github.com/mcpbox/mcpbox/services/backend/internal/catalog"
	"github.com/mcpbox/mcpbox/services/backend/internal/policy"
	"github.com/mcpbox/mcpbox/services/backend/internal/seal"
	"github.com/mcpbox/mcpbox/services/backend/internal/secrets"
)

const (
	testKey       = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	testRequestID = "req-catalog-test"
)

// fixture is one migrated database with the catalog service mounted the way
// the internal listener mounts it.
type fixture struct {
	url     string
	store   *db.Store
	secrets *secrets.Service
	policy  *policy.Service
	svc     *catalog.Service
	mux     http.Handler
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	url := dbtest.URL(t)
	store, err := db.Open(t.Context(), url, db.WithMaxConns(4))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	keys, err := seal.New(1, testKey, "")
	if err != nil {
		t.Fatal(err)
	}
	f := fixture{url: url, store: store, secrets: secrets.New(store, keys), policy: policy.New(store)}
	f.svc = catalog.New(store, f.secrets, f.policy)
	mux := http.NewServeMux()
	mux.Handle("GET "+proto.PathInternalCatalog, f.svc.CatalogHandler())
	mux.Handle("GET "+proto.PathInternalPlan, f.svc.PlanHandler())
	f.mux = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(w, r.WithContext(obs.WithRequestID(r.Context(), testRequestID)))
	})
	return f
}

// get serves one GET and returns the recorder.
func (f fixture) get(t *testing.T, path string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequestWithContext(t.Context(), http.MethodGet, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	f.mux.ServeHTTP(w, r)
	return w
}

func (f fixture) catalog(t *testing.T) proto.Catalog {
	t.Helper()
	w := f.get(t, proto.PathInternalCatalog)
	if w.Code != http.StatusOK {
		t.Fatalf("GET catalog: %d %s", w.Code, w.Body)
	}
	var c proto.Catalog
	if err := json.Unmarshal(w.Body.Bytes(), &c); err != nil {
		t.Fatalf("decode catalog: %v\n%s", err, w.Body)
	}
	return c
}

func planPath(tool uuid.UUID, version int) string {
	return "/internal/v1/tools/" + tool.String() + "/plan?version=" + strconv.Itoa(version)
}

// plan fetches a plan and expects 200.
func (f fixture) plan(t *testing.T, tool uuid.UUID, version int) proto.Plan {
	t.Helper()
	w := f.get(t, planPath(tool, version))
	if w.Code != http.StatusOK {
		t.Fatalf("GET plan: %d %s", w.Code, w.Body)
	}
	if cc := w.Header().Get("Cache-Control"); cc != "no-store" {
		t.Errorf("plan Cache-Control = %q, want no-store", cc)
	}
	var p proto.Plan
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
		t.Fatalf("decode plan: %v\n%s", err, w.Body)
	}
	return p
}

// wantError checks a refusal's status and code and returns the error.
func wantError(t *testing.T, w *httptest.ResponseRecorder, status int, code string) proto.Error {
	t.Helper()
	var body proto.ErrorBody
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatalf("decode error body: %v\n%s", err, w.Body)
	}
	if w.Code != status || body.Error.Code != code {
		t.Fatalf("got %d %s (%s), want %d %s", w.Code, body.Error.Code, body.Error.Message, status, code)
	}
	if body.Error.RequestID != testRequestID {
		t.Errorf("request_id = %q, want %q", body.Error.RequestID, testRequestID)
	}
	return body.Error
}

func (f fixture) server(t *testing.T, name, status string) uuid.UUID {
	t.Helper()
	var id uuid.UUID
	dbtest.QueryRow(t, f.url, "INSERT INTO servers (name, status) VALUES ($1, $2) RETURNING id", []any{&id}, name, status)
	return id
}

func manifest(hosts, packages, secretNames []string) proto.Manifest {
	m, err := proto.Manifest{
		Hosts: hosts, Packages: packages, Secrets: secretNames,
		TimeoutMS: proto.DefaultTimeoutMS, MemoryMB: proto.DefaultMemoryMB,
	}.Normalize()
	if err != nil {
		panic(err)
	}
	return m
}

func code(body string) string { return "package tool\n\n// Main " + body + "\nfunc Main() {}\n" }

func marshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// goTool inserts a go tool with version 1 as a draft and returns its id.
func (f fixture) goTool(t *testing.T, server uuid.UUID, name, src string, m proto.Manifest) uuid.UUID {
	t.Helper()
	hash, err := canon.HashGo(src, m)
	if err != nil {
		t.Fatal(err)
	}
	var id uuid.UUID
	dbtest.QueryRow(t, f.url, `WITH t AS (INSERT INTO tools (server_id, name) VALUES ($1, $2) RETURNING id)
		INSERT INTO tool_versions (tool_id, version, code, manifest, hash, description, input_schema)
		SELECT id, 1, $3, $4, $5, $6, '{"type":"object","properties":{"city":{"type":"string"}}}' FROM t
		RETURNING tool_id`, []any{&id}, server, name, src, marshal(t, m), hash, "Tool "+name+".")
	return id
}

// addGoVersion appends version n to a go tool and makes it the latest.
func (f fixture) addGoVersion(t *testing.T, tool uuid.UUID, n int, src string, m proto.Manifest, status string) {
	t.Helper()
	hash, err := canon.HashGo(src, m)
	if err != nil {
		t.Fatal(err)
	}
	dbtest.Exec(t, f.url, `WITH v AS (INSERT INTO tool_versions (tool_id, version, code, manifest, hash, description)
		VALUES ($1, $2, $3, $4, $5, 'New version.') RETURNING tool_id, version)
		UPDATE tools SET latest_version = v.version, review_status = $6 FROM v WHERE tools.id = v.tool_id`,
		tool, n, src, marshal(t, m), hash, status)
}

// approve makes version n the live version of tool (review_status approved
// when n is the latest, else pending_review).
func (f fixture) approve(t *testing.T, tool uuid.UUID, n int) {
	t.Helper()
	dbtest.Exec(t, f.url, `UPDATE tools SET approved_version = v.version, approved_hash = v.hash, approved_at = now(),
		approved_by = 'admin:alice',
		review_status = CASE WHEN tools.latest_version = v.version THEN 'approved' ELSE 'pending_review' END
		FROM tool_versions v WHERE v.tool_id = tools.id AND v.version = $2 AND tools.id = $1`, tool, n)
}

func (f fixture) setReview(t *testing.T, tool uuid.UUID, status string) {
	t.Helper()
	dbtest.Exec(t, f.url, "UPDATE tools SET review_status = $2 WHERE id = $1", tool, status)
}

func (f fixture) disable(t *testing.T, tool uuid.UUID) {
	t.Helper()
	dbtest.Exec(t, f.url, "UPDATE tools SET enabled = false, disabled_by = 'admin' WHERE id = $1", tool)
}

// approveHost inserts an approved network request (port 0 = any port).
func (f fixture) approveHost(t *testing.T, server uuid.UUID, host string, port int) {
	t.Helper()
	var p *int
	if port != 0 {
		p = &port
	}
	dbtest.Exec(t, f.url, `INSERT INTO network_requests (server_id, host, port, status, reviewed_by, reviewed_at)
		VALUES ($1, $2, $3, 'approved', 'admin:alice', now())`, server, host, p)
}

func (f fixture) secret(t *testing.T, server uuid.UUID, name string, value *string) {
	t.Helper()
	_, err := f.secrets.Create(t.Context(), secrets.Audit{Actor: "admin:alice"}, server,
		secrets.CreateInput{Name: name, Value: value})
	if err != nil {
		t.Fatal(err)
	}
}

func (f fixture) setPolicy(t *testing.T, key, value string) {
	t.Helper()
	_, err := f.policy.Patch(context.WithoutCancel(t.Context()), "admin:alice", "req-policy",
		map[string]json.RawMessage{key: json.RawMessage(`"` + value + `"`)}, nil)
	if err != nil {
		t.Fatal(err)
	}
}

func ptr[T any](v T) *T { return &v }

// source inserts an external source of server.
func (f fixture) source(t *testing.T, server uuid.UUID, name, url, authType string, secret *string, status string) uuid.UUID {
	t.Helper()
	var id uuid.UUID
	dbtest.QueryRow(t, f.url, `INSERT INTO external_mcp_sources (server_id, name, url, auth_type, auth_secret_name, status)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, []any{&id}, server, name, url, authType, secret, status)
	return id
}

// externalTool inserts an external tool of source with version 1 as a
// draft and returns its id and definition.
func (f fixture) externalTool(t *testing.T, server, source uuid.UUID, name, extName string, m proto.Manifest,
) (uuid.UUID, proto.ExternalDefinition) {
	t.Helper()
	def := proto.ExternalDefinition{
		Annotations: json.RawMessage(`{"readOnlyHint":true}`), Description: "Lists repositories.",
		InputSchema: json.RawMessage(`{"type":"object"}`), Name: extName, SourceID: source.String(),
	}
	hash, err := canon.HashExternal(def, m)
	if err != nil {
		t.Fatal(err)
	}
	var id uuid.UUID
	dbtest.QueryRow(t, f.url, `WITH t AS (INSERT INTO tools (server_id, name, kind, external_source_id, external_tool_name)
		VALUES ($1, $2, 'external', $3, $4) RETURNING id)
		INSERT INTO tool_versions (tool_id, version, external_definition, manifest, hash, description, change_source)
		SELECT id, 1, $5, $6, $7, $8, 'import' FROM t RETURNING tool_id`,
		[]any{&id}, server, name, source, extName, marshal(t, def), marshal(t, m), hash, def.Description)
	return id, def
}
