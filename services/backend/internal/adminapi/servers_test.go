package adminapi_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/db/dbq"
	"github.com/mcpbox/mcpbox/proto"
)

const serverNameMessage = "name: must match ^[a-z][a-z0-9]*(_[a-z0-9]+)*$ (lowercase letters and digits, " +
	"words joined by single underscores), at most 24 characters."

// serversBackend is a replica with the admin account and a Bearer header.
func serversBackend(t *testing.T) (*backend, []string) {
	t.Helper()
	b := newBackend(t)
	b.setup(t)
	return b, bearer(b.login(t))
}

// newServer creates a server through the API and returns its id.
func (b *backend) newServer(t *testing.T, auth []string, name, description string) string {
	t.Helper()
	r := b.call(t, http.MethodPost, "/api/v1/servers", map[string]string{"name": name, "description": description}, auth...)
	if r.status != http.StatusCreated {
		t.Fatalf("create %s: %d %s", name, r.status, r.raw)
	}
	return r.body["id"].(string)
}

func (b *backend) catalogRev(t *testing.T) int64 {
	t.Helper()
	var n int64
	b.sql(t, "SELECT catalog FROM revisions", []any{&n})
	return n
}

func (b *backend) countRows(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	b.sql(t, query, []any{&n}, args...)
	return n
}

// insertTool inserts a tool with its version 1 in one statement: the foreign
// key (id, latest_version) → tool_versions is checked at commit.
func (b *backend) insertTool(t *testing.T, serverID, name string, approved, enabled bool, source *string) {
	t.Helper()
	kind, extName := "go", (*string)(nil)
	if source != nil {
		kind, extName = "external", &name
	}
	b.sql(t, `WITH t AS (
	INSERT INTO tools (server_id, name, kind, external_source_id, external_tool_name, enabled, disabled_by,
	                   review_status, approved_version, approved_hash, approved_at, approved_by)
	VALUES ($1, $2, $3, $4::uuid, $5, $6, CASE WHEN $6 THEN NULL ELSE 'admin' END,
	        CASE WHEN $7 THEN 'approved' ELSE 'draft' END, CASE WHEN $7 THEN 1 END,
	        CASE WHEN $7 THEN 'sha256:' || repeat('b', 64) END, CASE WHEN $7 THEN now() END,
	        CASE WHEN $7 THEN 'admin:admin' END)
	RETURNING id, kind)
INSERT INTO tool_versions (tool_id, version, code, external_definition, manifest, hash)
SELECT id, 1, CASE WHEN kind = 'go' THEN 'package main' END, CASE WHEN kind = 'external' THEN '{}'::jsonb END,
       '{}', 'sha256:' || repeat('b', 64) FROM t`, nil,
		serverID, name, kind, source, extName, enabled, approved)
}

func (b *backend) insertSource(t *testing.T, serverID, name, status string) string {
	t.Helper()
	var id uuid.UUID
	b.sql(t, `INSERT INTO external_mcp_sources (server_id, name, url, status)
		VALUES ($1, $2, 'https://mcp.example.com/mcp', $3) RETURNING id`, []any{&id}, serverID, name, status)
	return id.String()
}

func listItems(t *testing.T, r response) []map[string]any {
	t.Helper()
	raw, ok := r.body["items"].([]any)
	if !ok {
		t.Fatalf("no items: %s", r.raw)
	}
	out := make([]map[string]any, len(raw))
	for i, it := range raw {
		out[i] = it.(map[string]any)
	}
	return out
}

func itemNames(list []map[string]any) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = s["name"].(string)
	}
	return out
}

// BE-6: the name rules of §2 on the API (the exact message of §15.1) and in
// the database itself.
func TestBE6_ServerNameRules(t *testing.T) {
	t.Parallel()
	b, auth := serversBackend(t)
	for _, name := range []string{"Weather", "a__b", "mcpbox_x", "x_", strings.Repeat("a", 25)} {
		t.Run("api/"+name, func(t *testing.T) {
			t.Parallel()
			r := b.call(t, http.MethodPost, "/api/v1/servers", map[string]string{"name": name}, auth...)
			wantError(t, r, http.StatusBadRequest, proto.CodeValidationFailed)
			want := serverNameMessage
			if name == "mcpbox_x" {
				want = "name: names starting with 'mcpbox' are reserved."
			}
			if r.err.Field != "name" || r.err.Message != want || len(r.err.Details) != 1 || r.err.Details[0].Field != "name" {
				t.Fatalf("error %+v", r.err)
			}
		})
		t.Run("db/"+name, func(t *testing.T) {
			t.Parallel()
			_, err := b.store.CreateServer(t.Context(), dbq.CreateServerParams{Name: name, CreatedBy: "system"})
			var ce *db.CheckError
			if !errors.As(err, &ce) || ce.Constraint != "servers_name_check" {
				t.Fatalf("the database accepted %q: %v", name, err)
			}
		})
	}
	t.Run("accepted", func(t *testing.T) {
		t.Parallel()
		b.newServer(t, auth, "weather_api", "")
		if _, err := b.store.CreateServer(t.Context(), dbq.CreateServerParams{Name: "weather_db", CreatedBy: "system"}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("description", func(t *testing.T) {
		t.Parallel()
		r := b.call(t, http.MethodPost, "/api/v1/servers", map[string]string{"name": "long", "description": strings.Repeat("d", 2001)}, auth...)
		wantError(t, r, http.StatusBadRequest, proto.CodeValidationFailed)
		if r.err.Field != "description" {
			t.Fatalf("error %+v", r.err)
		}
	})
}

// BE-7: deleting a server removes its tools, versions, secrets, sources and
// network requests; execution records and audit rows remain; the catalog
// revision is bumped in the same transaction.
func TestBE7_DeleteServerCascades(t *testing.T) {
	t.Parallel()
	b, auth := serversBackend(t)
	id := b.newServer(t, auth, "weather", "")
	keep := b.newServer(t, auth, "news", "")
	src := b.insertSource(t, id, "upstream", "active")
	b.insertTool(t, id, "forecast", true, true, nil)
	b.insertTool(t, id, "remote", true, true, &src)
	b.insertTool(t, keep, "headlines", false, true, nil)
	b.sql(t, `INSERT INTO server_secrets (server_id, name) VALUES ($1, 'API_KEY')`, nil, id)
	b.sql(t, `INSERT INTO network_requests (server_id, host, status) VALUES ($1, 'api.example.com', 'approved')`, nil, id)
	b.sql(t, `INSERT INTO network_requests (server_id, host) VALUES ($1, 'pending.example.com')`, nil, id)
	b.sql(t, `INSERT INTO execution_records (server_id, exposed_name) VALUES ($1, 'weather__forecast')`, nil, id)
	rev := b.catalogRev(t)

	r := b.call(t, http.MethodDelete, "/api/v1/servers/"+id, nil, auth...)
	if r.status != http.StatusNoContent || r.raw != "" {
		t.Fatalf("delete: %d %s", r.status, r.raw)
	}
	for table, want := range map[string]int{
		"servers": 1, "tools": 1, "tool_versions": 1, "server_secrets": 0, "external_mcp_sources": 0,
		"network_requests": 0, "execution_records": 1,
	} {
		if n := b.countRows(t, "SELECT count(*) FROM "+table); n != want {
			t.Errorf("%s: %d rows, want %d", table, n, want)
		}
	}
	if n := b.countRows(t, "SELECT count(*) FROM activity_log WHERE server_id = $1 AND action IN ('server.create', 'server.delete')", id); n != 2 {
		t.Errorf("%d audit rows of the server remain, want 2", n)
	}
	if got := b.catalogRev(t); got != rev+1 {
		t.Errorf("catalog revision %d → %d", rev, got)
	}
	wantError(t, b.call(t, http.MethodGet, "/api/v1/servers/"+id, nil, auth...), http.StatusNotFound, proto.CodeNotFound)
	wantError(t, b.call(t, http.MethodDelete, "/api/v1/servers/"+id, nil, auth...), http.StatusNotFound, proto.CodeNotFound)
	if got := b.catalogRev(t); got != rev+1 {
		t.Errorf("a failed delete bumped the revision to %d", got)
	}
}

// BE-24 (admin API half): an existing name is 409 name_taken, on create and
// on rename.
func TestBE24_ServerNameTaken(t *testing.T) {
	t.Parallel()
	b, auth := serversBackend(t)
	b.newServer(t, auth, "weather", "")
	other := b.newServer(t, auth, "news", "")
	r := b.call(t, http.MethodPost, "/api/v1/servers", map[string]string{"name": "weather"}, auth...)
	wantError(t, r, http.StatusConflict, proto.CodeNameTaken)
	if r.err.Message != "A server named 'weather' already exists; pick another name." || r.err.Field != "name" {
		t.Errorf("error %+v", r.err)
	}
	r = b.call(t, http.MethodPatch, "/api/v1/servers/"+other, map[string]string{"name": "weather"}, auth...)
	wantError(t, r, http.StatusConflict, proto.CodeNameTaken)
	if strings.Contains(r.raw, "servers_name_key") || strings.Contains(r.raw, "constraint") {
		t.Errorf("the constraint leaked: %s", r.raw)
	}
}

// BE-37 on GET /servers: 120 servers at limit 50 are 50, 50, 20 and
// next_cursor null; rows inserted between pages are never returned twice
// and no pre-existing row is skipped.
func TestBE37_ServerPagination(t *testing.T) {
	t.Parallel()
	b, auth := serversBackend(t)
	b.sql(t, `INSERT INTO servers (name) SELECT 's' || lpad((i * 2)::text, 3, '0') FROM generate_series(0, 119) i`, nil)
	var seen []string
	var sizes []int
	path := "/api/v1/servers?limit=50"
	for pageNo := 0; ; pageNo++ {
		r := b.call(t, http.MethodGet, path, nil, auth...)
		if r.status != http.StatusOK {
			t.Fatalf("page %d: %d %s", pageNo, r.status, r.raw)
		}
		list := listItems(t, r)
		sizes = append(sizes, len(list))
		seen = append(seen, itemNames(list)...)
		// Before, between and after the rows already read.
		b.sql(t, fmt.Sprintf(`INSERT INTO servers (name) VALUES ('a%d'), ('s%03d'), ('z%d')`, pageNo, 1+pageNo*60, pageNo), nil)
		next, ok := r.body["next_cursor"]
		if !ok {
			t.Fatalf("no next_cursor key: %s", r.raw)
		}
		if next == nil {
			break
		}
		path = "/api/v1/servers?limit=50&cursor=" + url.QueryEscape(next.(string))
	}
	if len(sizes) < 3 || sizes[0] != 50 || sizes[1] != 50 {
		t.Fatalf("page sizes %v", sizes)
	}
	if !sort.StringsAreSorted(seen) || len(slices.Compact(slices.Clone(seen))) != len(seen) {
		t.Fatalf("rows repeated or out of order: %v", seen)
	}
	for i := 0; i < 240; i += 2 {
		if name := fmt.Sprintf("s%03d", i); !slices.Contains(seen, name) {
			t.Errorf("pre-existing %s skipped", name)
		}
	}

	// Without concurrent inserts: exactly 50, 50, 20, then null.
	c, auth2 := serversBackend(t)
	c.sql(t, `INSERT INTO servers (name) SELECT 't' || lpad(i::text, 3, '0') FROM generate_series(1, 120) i`, nil)
	sizes = nil
	path = "/api/v1/servers?limit=50"
	for {
		r := c.call(t, http.MethodGet, path, nil, auth2...)
		if r.status != http.StatusOK {
			t.Fatalf("%d %s", r.status, r.raw)
		}
		sizes = append(sizes, len(listItems(t, r)))
		if r.body["next_cursor"] == nil {
			if !strings.Contains(r.raw, `"next_cursor":null`) {
				t.Errorf("last page without next_cursor null: %s", r.raw)
			}
			break
		}
		path = "/api/v1/servers?limit=50&cursor=" + url.QueryEscape(r.body["next_cursor"].(string))
	}
	if !slices.Equal(sizes, []int{50, 50, 20}) {
		t.Fatalf("page sizes %v, want [50 50 20]", sizes)
	}
	r := c.call(t, http.MethodGet, "/api/v1/servers", nil, auth2...)
	if len(listItems(t, r)) != 50 || r.body["next_cursor"] == nil {
		t.Errorf("the default limit is not 50: %d items", len(listItems(t, r)))
	}
}

// BE-38 on GET /servers: limit 0 and 201, a tampered cursor and a cursor
// of another filter are 400 validation_failed naming the parameter; so is
// an unknown status.
func TestBE38_ServerListRefusesBadParameters(t *testing.T) {
	t.Parallel()
	b, auth := serversBackend(t)
	b.sql(t, `INSERT INTO servers (name) SELECT 's' || i FROM generate_series(1, 5) i`, nil)
	r := b.call(t, http.MethodGet, "/api/v1/servers?limit=2&q=s", nil, auth...)
	cursor, _ := r.body["next_cursor"].(string)
	if r.status != http.StatusOK || cursor == "" {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	tampered := []byte(cursor)
	tampered[len(tampered)/2] ^= 0x01
	tests := map[string]struct{ query, field string }{
		"limit 0":          {"limit=0", "limit"},
		"limit 201":        {"limit=201", "limit"},
		"limit not number": {"limit=ten", "limit"},
		"tampered cursor":  {"q=s&cursor=" + url.QueryEscape(string(tampered)), "cursor"},
		"garbage cursor":   {"q=s&cursor=%25%25%25", "cursor"},
		"other filter":     {"q=s1&cursor=" + url.QueryEscape(cursor), "cursor"},
		"no filter":        {"cursor=" + url.QueryEscape(cursor), "cursor"},
		"other status":     {"q=s&status=running&cursor=" + url.QueryEscape(cursor), "cursor"},
		"unknown status":   {"status=paused", "status"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := b.call(t, http.MethodGet, "/api/v1/servers?"+tc.query, nil, auth...)
			wantError(t, r, http.StatusBadRequest, proto.CodeValidationFailed)
			if r.err.Field != tc.field || !strings.HasPrefix(r.err.Message, tc.field+": ") {
				t.Fatalf("error %+v", r.err)
			}
		})
	}
	t.Run("the cursor works untampered", func(t *testing.T) {
		t.Parallel()
		r := b.call(t, http.MethodGet, "/api/v1/servers?limit=2&q=s&cursor="+url.QueryEscape(cursor), nil, auth...)
		if r.status != http.StatusOK || !slices.Equal(itemNames(listItems(t, r)), []string{"s3", "s4"}) {
			t.Fatalf("%d %s", r.status, r.raw)
		}
	})
}

// BE-85 for servers: every mutation writes its audit row (actor, request
// id) in its transaction; a refused mutation writes none.
func TestBE85_ServerMutationsAudit(t *testing.T) {
	t.Parallel()
	b, auth := serversBackend(t)
	withID := func(id string) []string { return append(slices.Clone(auth), "X-Request-Id", id) }
	r := b.call(t, http.MethodPost, "/api/v1/servers", map[string]string{"name": "weather"}, withID("req-create")...)
	if r.status != http.StatusCreated {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	id := r.body["id"].(string)
	steps := []struct {
		method, path string
		body         any
		reqID        string
		action       string
	}{
		{http.MethodPatch, "/api/v1/servers/" + id, map[string]string{"description": "d"}, "req-update", "server.update"},
		{http.MethodPost, "/api/v1/servers/" + id + "/start", nil, "req-start", "server.start"},
		{http.MethodPost, "/api/v1/servers/" + id + "/stop", nil, "req-stop", "server.stop"},
		{http.MethodDelete, "/api/v1/servers/" + id, nil, "req-delete", "server.delete"},
	}
	for _, st := range steps {
		if r := b.call(t, st.method, st.path, st.body, withID(st.reqID)...); r.status >= 300 {
			t.Fatalf("%s %s: %d %s", st.method, st.path, r.status, r.raw)
		}
	}
	steps = append(steps, struct {
		method, path string
		body         any
		reqID        string
		action       string
	}{reqID: "req-create", action: "server.create"})
	for _, st := range steps {
		var actor, category string
		var server uuid.UUID
		b.sql(t, `SELECT actor, category, server_id FROM activity_log WHERE request_id = $1 AND action = $2`,
			[]any{&actor, &category, &server}, st.reqID, st.action)
		if actor != "admin:"+adminName || category != "audit" || server.String() != id {
			t.Errorf("%s: actor %q category %q server %v", st.action, actor, category, server)
		}
	}

	// Refused mutations: nothing written.
	other := b.newServer(t, auth, "news", "")
	before := b.countRows(t, "SELECT count(*) FROM activity_log WHERE category = 'audit'")
	missing := uuid.NewString()
	refused := []struct {
		method, path string
		body         any
		status       int
	}{
		{http.MethodPost, "/api/v1/servers", map[string]string{"name": "news"}, http.StatusConflict},
		{http.MethodPost, "/api/v1/servers", map[string]string{"name": "Bad"}, http.StatusBadRequest},
		{http.MethodPatch, "/api/v1/servers/" + other, map[string]any{"name": nil}, http.StatusBadRequest},
		{http.MethodPatch, "/api/v1/servers/" + other, map[string]any{}, http.StatusBadRequest},
		{http.MethodPatch, "/api/v1/servers/" + missing, map[string]string{"name": "x"}, http.StatusNotFound},
		{http.MethodPost, "/api/v1/servers/" + missing + "/start", nil, http.StatusNotFound},
		{http.MethodPost, "/api/v1/servers/" + missing + "/stop", nil, http.StatusNotFound},
		{http.MethodDelete, "/api/v1/servers/" + missing, nil, http.StatusNotFound},
	}
	for _, rf := range refused {
		if r := b.call(t, rf.method, rf.path, rf.body, auth...); r.status != rf.status {
			t.Errorf("%s %s: %d %s", rf.method, rf.path, r.status, r.raw)
		}
	}
	if after := b.countRows(t, "SELECT count(*) FROM activity_log WHERE category = 'audit'"); after != before {
		t.Errorf("refused mutations wrote %d audit rows", after-before)
	}
}

// Start and stop answer the Server with changed, are idempotent and bump
// the catalog revision only when they change the status.
func TestServerStartStopChanged(t *testing.T) {
	t.Parallel()
	b, auth := serversBackend(t)
	id := b.newServer(t, auth, "weather", "")
	rev := b.catalogRev(t)
	steps := []struct {
		verb, status string
		changed      bool
		rev          int64
	}{
		{"start", "running", true, rev + 1},
		{"start", "running", false, rev + 1},
		{"stop", "stopped", true, rev + 2},
		{"stop", "stopped", false, rev + 2},
		{"start", "running", true, rev + 3},
	}
	for i, st := range steps {
		r := b.call(t, http.MethodPost, "/api/v1/servers/"+id+"/"+st.verb, nil, auth...)
		if r.status != http.StatusOK || r.body["status"] != st.status || r.body["changed"] != st.changed || r.body["id"] != id {
			t.Fatalf("step %d %s: %d %s", i, st.verb, r.status, r.raw)
		}
		if got := b.catalogRev(t); got != st.rev {
			t.Fatalf("step %d %s: revision %d, want %d", i, st.verb, got, st.rev)
		}
	}
	r := b.call(t, http.MethodGet, "/api/v1/servers/"+id, nil, auth...)
	if _, ok := r.body["changed"]; ok || r.body["status"] != "running" {
		t.Errorf("GET: %s", r.raw)
	}
}

// A rename bumps the catalog revision; a description change does not.
func TestServerPatch(t *testing.T) {
	t.Parallel()
	b, auth := serversBackend(t)
	id := b.newServer(t, auth, "weather", "old")
	rev := b.catalogRev(t)
	r := b.call(t, http.MethodPatch, "/api/v1/servers/"+id, map[string]string{"description": "Forecasts"}, auth...)
	if r.status != http.StatusOK || r.body["description"] != "Forecasts" || r.body["name"] != "weather" {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	if b.catalogRev(t) != rev {
		t.Fatal("a description change bumped the catalog revision")
	}
	r = b.call(t, http.MethodPatch, "/api/v1/servers/"+id, map[string]string{"name": "forecast"}, auth...)
	if r.status != http.StatusOK || r.body["name"] != "forecast" || r.body["description"] != "Forecasts" {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	if b.catalogRev(t) != rev+1 {
		t.Fatal("a rename did not bump the catalog revision")
	}
	refused := []struct {
		body  any
		field string
		msg   string
	}{
		{map[string]any{}, "", "no fields to update: send name, description or both."},
		{map[string]any{"name": nil}, "name", "name: must be a string, not null; omit the field to keep its value"},
		{map[string]any{"description": nil}, "description", "description: must be a string, not null; omit the field to keep its value"},
		{map[string]any{"name": 5}, "name", "name: must be a string"},
		{map[string]any{"name": "Bad"}, "name", serverNameMessage},
		{map[string]any{"status": "running"}, "status", ""},
	}
	for _, rf := range refused {
		r := b.call(t, http.MethodPatch, "/api/v1/servers/"+id, rf.body, auth...)
		wantError(t, r, http.StatusBadRequest, proto.CodeValidationFailed)
		if r.err.Field != rf.field || (rf.msg != "" && r.err.Message != rf.msg) {
			t.Errorf("%v: %+v", rf.body, r.err)
		}
	}
	if b.catalogRev(t) != rev+1 {
		t.Error("a refused patch bumped the catalog revision")
	}
}

// Unknown and malformed ids are 404 not_found on every server route; every
// route needs a signed-in admin.
func TestServerNotFoundAndUnauthenticated(t *testing.T) {
	t.Parallel()
	b, auth := serversBackend(t)
	for _, id := range []string{uuid.NewString(), "not-a-uuid", "1"} {
		for _, rt := range []struct {
			method, suffix string
			body           any
		}{
			{http.MethodGet, "", nil},
			{http.MethodPatch, "", map[string]string{"name": "x"}},
			{http.MethodDelete, "", nil},
			{http.MethodPost, "/start", nil},
			{http.MethodPost, "/stop", nil},
		} {
			r := b.call(t, rt.method, "/api/v1/servers/"+id+rt.suffix, rt.body, auth...)
			wantError(t, r, http.StatusNotFound, proto.CodeNotFound)
			if r.err.Message != "No such server; list the servers with GET /api/v1/servers." {
				t.Errorf("%s %s: %+v", rt.method, id, r.err)
			}
		}
	}
	id := b.newServer(t, auth, "weather", "")
	for _, rt := range []struct{ method, path string }{
		{http.MethodGet, "/api/v1/servers"},
		{http.MethodPost, "/api/v1/servers"},
		{http.MethodGet, "/api/v1/servers/" + id},
		{http.MethodPatch, "/api/v1/servers/" + id},
		{http.MethodDelete, "/api/v1/servers/" + id},
		{http.MethodPost, "/api/v1/servers/" + id + "/start"},
		{http.MethodPost, "/api/v1/servers/" + id + "/stop"},
	} {
		wantError(t, b.call(t, rt.method, rt.path, map[string]string{"name": "x"}), http.StatusUnauthorized, proto.CodeUnauthenticated)
	}
}

// The Server resource: every field of §8.1, timestamps in UTC with
// milliseconds and Z, counts and approved hosts computed from the rows,
// and list items in the same shape, sorted by name.
func TestServerResource(t *testing.T) {
	t.Parallel()
	b, auth := serversBackend(t)
	id := b.newServer(t, auth, "weather", "Forecasts")
	b.newServer(t, auth, "alpha", "")
	active := b.insertSource(t, id, "active", "active")
	disabled := b.insertSource(t, id, "disabled", "disabled")
	b.insertTool(t, id, "live_go", true, true, nil)
	b.insertTool(t, id, "live_ext", true, true, &active)
	b.insertTool(t, id, "dead_ext", true, true, &disabled)
	b.insertTool(t, id, "draft", false, true, nil)
	b.insertTool(t, id, "off", true, false, nil)
	for _, q := range []string{
		`INSERT INTO network_requests (server_id, host, port, status) VALUES ($1, 'nas.local', 8080, 'approved')`,
		`INSERT INTO network_requests (server_id, host, port, status) VALUES ($1, 'api.example.com', NULL, 'approved')`,
		`INSERT INTO network_requests (server_id, host, port, status) VALUES ($1, 'api.example.com', 8443, 'approved')`,
		`INSERT INTO network_requests (server_id, host, port, status) VALUES ($1, 'nas.local', 443, 'approved')`,
		`INSERT INTO network_requests (server_id, host, port, status) VALUES ($1, 'wanted.example.com', NULL, 'pending')`,
	} {
		b.sql(t, q, nil, id)
	}
	r := b.call(t, http.MethodPost, "/api/v1/servers/"+id+"/start", nil, auth...)
	if r.status != http.StatusOK {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	r = b.call(t, http.MethodGet, "/api/v1/servers/"+id, nil, auth...)
	wantKeys := []string{
		"approved_hosts", "created_at", "created_by", "description", "id", "live_tool_count",
		"name", "status", "tool_count", "updated_at",
	}
	var keys []string
	for k := range r.body {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if !slices.Equal(keys, wantKeys) {
		t.Fatalf("keys %v", keys)
	}
	ts := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)
	if !ts.MatchString(r.body["created_at"].(string)) || !ts.MatchString(r.body["updated_at"].(string)) {
		t.Errorf("timestamps %v %v", r.body["created_at"], r.body["updated_at"])
	}
	if r.body["tool_count"] != float64(5) || r.body["live_tool_count"] != float64(2) || r.body["created_by"] != "admin:"+adminName ||
		r.body["description"] != "Forecasts" || r.body["status"] != "running" {
		t.Errorf("server %s", r.raw)
	}
	if !strings.Contains(r.raw, `"approved_hosts":["api.example.com","nas.local:443","nas.local:8080"]`) {
		t.Errorf("approved_hosts: %s", r.raw)
	}
	list := b.call(t, http.MethodGet, "/api/v1/servers", nil, auth...)
	got := listItems(t, list)
	if !slices.Equal(itemNames(got), []string{"alpha", "weather"}) {
		t.Fatalf("list %s", list.raw)
	}
	if fmt.Sprint(got[1]) != fmt.Sprint(r.body) {
		t.Errorf("list item %v differs from GET %v", got[1], r.body)
	}
	if !strings.Contains(list.raw, `"approved_hosts":[]`) || !ts.MatchString(got[0]["created_at"].(string)) {
		t.Errorf("alpha: %v", got[0])
	}
	r = b.call(t, http.MethodGet, "/api/v1/servers?q=FORE&status=running", nil, auth...)
	if !slices.Equal(itemNames(listItems(t, r)), []string{"weather"}) {
		t.Errorf("filtered: %s", r.raw)
	}
	r = b.call(t, http.MethodGet, "/api/v1/servers?status=stopped", nil, auth...)
	if !slices.Equal(itemNames(listItems(t, r)), []string{"alpha"}) {
		t.Errorf("stopped: %s", r.raw)
	}
}
