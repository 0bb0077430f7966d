package servers_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/db/dbq"
	"github.com/mcpbox/mcpbox/db/dbtest"
	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/servers"
)

var who = servers.Audit{Actor: "admin:alice", RequestID: "req-1"}

const patternMessage = "name: must match ^[a-z][a-z0-9]*(_[a-z0-9]+)*$ (lowercase letters and digits, " +
	"words joined by single underscores), at most 24 characters."

type fixture struct {
	url   string
	store *db.Store
	svc   *servers.Service
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	url := dbtest.URL(t)
	store, err := db.Open(t.Context(), url, db.WithMaxConns(8))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	return fixture{url: url, store: store, svc: servers.New(store)}
}

func (f fixture) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	dbtest.Exec(t, f.url, sql, args...)
}

func (f fixture) scan(t *testing.T, sql string, args []any, dest ...any) {
	t.Helper()
	dbtest.QueryRow(t, f.url, sql, dest, args...)
}

func (f fixture) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	f.scan(t, sql, args, &n)
	return n
}

func (f fixture) catalogRevision(t *testing.T) int64 {
	t.Helper()
	r, err := f.store.GetRevisions(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return r.Catalog
}

func (f fixture) audits(t *testing.T, action string) int {
	t.Helper()
	return f.count(t, "SELECT count(*) FROM activity_log WHERE category = 'audit' AND action = $1", action)
}

func (f fixture) create(t *testing.T, name string) servers.Server {
	t.Helper()
	s, err := f.svc.Create(t.Context(), who, servers.CreateInput{Name: name})
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	return s
}

// tool is a tool row inserted with its version 1 in one statement (the
// foreign key (id, latest_version) → tool_versions is deferred to commit).
type tool struct {
	name     string
	approved bool
	enabled  bool
	source   *uuid.UUID // external source; nil for a go tool
}

func (f fixture) addTool(t *testing.T, server uuid.UUID, tl tool) {
	t.Helper()
	kind, extName := "go", (*string)(nil)
	if tl.source != nil {
		kind, extName = "external", &tl.name
	}
	f.exec(t, `WITH t AS (
	INSERT INTO tools (server_id, name, kind, external_source_id, external_tool_name, enabled, disabled_by,
	                   review_status, approved_version, approved_hash, approved_at, approved_by)
	VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN $6 THEN NULL ELSE 'admin' END,
	        CASE WHEN $7 THEN 'approved' ELSE 'draft' END, CASE WHEN $7 THEN 1 END,
	        CASE WHEN $7 THEN 'sha256:' || repeat('a', 64) END, CASE WHEN $7 THEN now() END,
	        CASE WHEN $7 THEN 'admin:alice' END)
	RETURNING id, kind)
INSERT INTO tool_versions (tool_id, version, code, external_definition, manifest, hash)
SELECT id, 1, CASE WHEN kind = 'go' THEN 'package main' END, CASE WHEN kind = 'external' THEN '{}'::jsonb END,
       '{}', 'sha256:' || repeat('a', 64) FROM t`,
		server, tl.name, kind, tl.source, extName, tl.enabled, tl.approved)
}

func (f fixture) addSource(t *testing.T, server uuid.UUID, name, status string) uuid.UUID {
	t.Helper()
	var id uuid.UUID
	f.scan(t, `INSERT INTO external_mcp_sources (server_id, name, url, status)
		VALUES ($1, $2, 'https://mcp.example.com/mcp', $3) RETURNING id`, []any{server, name, status}, &id)
	return id
}

func (f fixture) approveHost(t *testing.T, server uuid.UUID, host string, port any, status string) {
	t.Helper()
	f.exec(t, `INSERT INTO network_requests (server_id, host, port, status) VALUES ($1, $2, $3::int, $4)`, server, host, port, status)
}

func ruleFields(err error) []string {
	var out []string
	for _, fe := range proto.FieldErrors(err) {
		out = append(out, fe.Field)
	}
	return out
}

func TestCreateGetAndAudit(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	rev := f.catalogRevision(t)
	s, err := f.svc.Create(t.Context(), who, servers.CreateInput{Name: "weather_api", Description: "Forecasts"})
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "weather_api" || s.Description != "Forecasts" || s.Status != proto.ServerStopped || s.CreatedBy != "admin:alice" ||
		s.ToolCount != 0 || s.LiveToolCount != 0 || s.ApprovedHosts == nil || len(s.ApprovedHosts) != 0 || s.CreatedAt.IsZero() {
		t.Fatalf("created %+v", s)
	}
	got, err := f.svc.Get(t.Context(), s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s, got) {
		t.Fatalf("Get returned %+v, Create %+v", got, s)
	}
	if f.catalogRevision(t) != rev {
		t.Error("creating a server bumped the catalog revision")
	}
	var actor, reqID, msg, details string
	var serverID uuid.UUID
	f.scan(t, `SELECT actor, request_id, message, details::text, server_id
		FROM activity_log WHERE action = 'server.create'`, nil, &actor, &reqID, &msg, &details, &serverID)
	if actor != "admin:alice" || reqID != "req-1" || serverID != s.ID || msg != "Created server 'weather_api'." ||
		details != `{"name": "weather_api", "description": "Forecasts"}` {
		t.Fatalf("audit row: %q %q %q %s %v", actor, reqID, msg, details, serverID)
	}
}

// BE-6 (service half): the name rules of §2 with the message of §15.1.
func TestNameAndDescriptionRules(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tests := []struct {
		name, description string
		wantField         string
		wantMessage       string
	}{
		{name: "Weather", wantField: "name", wantMessage: patternMessage},
		{name: "a__b", wantField: "name", wantMessage: patternMessage},
		{name: "x_", wantField: "name", wantMessage: patternMessage},
		{name: "_x", wantField: "name", wantMessage: patternMessage},
		{name: "", wantField: "name", wantMessage: patternMessage},
		{name: "1abc", wantField: "name", wantMessage: patternMessage},
		{name: strings.Repeat("a", 25), wantField: "name", wantMessage: patternMessage},
		{name: "mcpbox_x", wantField: "name", wantMessage: "name: names starting with 'mcpbox' are reserved."},
		{name: "mcpboxer", wantField: "name", wantMessage: "name: names starting with 'mcpbox' are reserved."},
		{
			name: "ok", description: strings.Repeat("é", 2001), wantField: "description",
			wantMessage: "description: must be at most 2000 characters, without NUL.",
		},
		{
			name: "ok", description: "a\x00b", wantField: "description",
			wantMessage: "description: must be at most 2000 characters, without NUL.",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name+"/"+fmt.Sprint(len(tc.description)), func(t *testing.T) {
			t.Parallel()
			_, err := f.svc.Create(t.Context(), who, servers.CreateInput{Name: tc.name, Description: tc.description})
			var re *proto.RuleError
			if !errors.As(err, &re) || re.Field != tc.wantField || re.Error() != tc.wantMessage {
				t.Fatalf("got %v; want %s", err, tc.wantMessage)
			}
		})
	}
	t.Run("both fields fail", func(t *testing.T) {
		t.Parallel()
		_, err := f.svc.Create(t.Context(), who, servers.CreateInput{Name: "Bad", Description: strings.Repeat("x", 2001)})
		if got := ruleFields(err); !slices.Equal(got, []string{"name", "description"}) {
			t.Fatalf("fields %v (%v)", got, err)
		}
	})
	t.Run("accepted", func(t *testing.T) {
		t.Parallel()
		for _, name := range []string{"weather_api", "a", strings.Repeat("z", 24), "v2_api_3", "mcp_box"} {
			if _, err := f.svc.Create(t.Context(), who, servers.CreateInput{Name: name, Description: strings.Repeat("é", 2000)}); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
	})
	t.Run("no audit row for refused creates", func(t *testing.T) {
		t.Parallel()
		if _, err := f.svc.Create(t.Context(), who, servers.CreateInput{Name: "Nope"}); err == nil {
			t.Fatal("created")
		}
		if n := f.count(t, "SELECT count(*) FROM activity_log WHERE details->>'name' = 'Nope'"); n != 0 {
			t.Fatalf("%d audit rows", n)
		}
	})
}

// BE-6 (database half): the database refuses what the Go rules refuse, by
// constraint name, even when the service's checks are bypassed.
func TestDatabaseRefusesBadNames(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, name := range []string{"Weather", "a__b", "mcpbox_x", "x_", strings.Repeat("a", 25)} {
		_, err := f.store.CreateServer(t.Context(), dbq.CreateServerParams{Name: name, CreatedBy: "system"})
		var ce *db.CheckError
		if !errors.As(err, &ce) || ce.Constraint != "servers_name_check" {
			t.Errorf("%q: %v", name, err)
		}
	}
	_, err := f.store.CreateServer(t.Context(), dbq.CreateServerParams{Name: "x", Description: strings.Repeat("d", 2001), CreatedBy: "system"})
	var ce *db.CheckError
	if !errors.As(err, &ce) || ce.Constraint != "servers_description_check" {
		t.Errorf("long description: %v", err)
	}
	if _, err := f.store.CreateServer(t.Context(), dbq.CreateServerParams{Name: "weather_api", CreatedBy: "system"}); err != nil {
		t.Errorf("weather_api: %v", err)
	}
}

// BE-24, BE-85: a taken name is a *NameTakenError, on create and rename,
// and the failed mutation leaves no audit row and no revision bump.
func TestNameTaken(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.create(t, "weather")
	other := f.create(t, "news")
	rev := f.catalogRevision(t)
	_, err := f.svc.Create(t.Context(), who, servers.CreateInput{Name: "weather"})
	var taken *servers.NameTakenError
	if !errors.As(err, &taken) || taken.Name != "weather" {
		t.Fatalf("create: %v", err)
	}
	name := "weather"
	_, err = f.svc.Update(t.Context(), who, other.ID, servers.UpdateInput{Name: &name})
	if !errors.As(err, &taken) || taken.Name != "weather" {
		t.Fatalf("rename: %v", err)
	}
	if n := f.audits(t, "server.create"); n != 2 {
		t.Errorf("%d server.create rows, want 2", n)
	}
	if n := f.audits(t, "server.update"); n != 0 {
		t.Errorf("%d server.update rows, want 0", n)
	}
	if f.catalogRevision(t) != rev {
		t.Error("a failed rename bumped the catalog revision")
	}
	if got, _ := f.svc.Get(t.Context(), other.ID); got.Name != "news" {
		t.Errorf("the failed rename changed the name to %q", got.Name)
	}
}

func TestUpdate(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := f.create(t, "weather")
	rev := f.catalogRevision(t)

	desc := "Forecasts"
	res, err := f.svc.Update(t.Context(), who, s.ID, servers.UpdateInput{Description: &desc})
	if err != nil || !res.Changed || res.CatalogRevision != 0 || res.Server.Description != desc || res.Server.Name != "weather" {
		t.Fatalf("description: %+v %v", res, err)
	}
	if f.catalogRevision(t) != rev {
		t.Fatal("a description change bumped the catalog revision")
	}

	name := "forecast"
	res, err = f.svc.Update(t.Context(), who, s.ID, servers.UpdateInput{Name: &name})
	if err != nil || res.Server.Name != "forecast" || res.Server.Description != desc || res.CatalogRevision != rev+1 {
		t.Fatalf("rename: %+v %v", res, err)
	}
	if f.catalogRevision(t) != rev+1 {
		t.Fatal("a rename did not bump the catalog revision")
	}
	if !res.Server.UpdatedAt.After(s.UpdatedAt) {
		t.Errorf("updated_at %v not after %v", res.Server.UpdatedAt, s.UpdatedAt)
	}
	var msg, details string
	f.scan(t, `SELECT message, details::text FROM activity_log
		WHERE action = 'server.update' ORDER BY seq DESC LIMIT 1`, nil, &msg, &details)
	if msg != "Renamed server 'weather' to 'forecast'." || details != `{"changes": {"name": {"new": "forecast", "old": "weather"}}}` {
		t.Errorf("audit: %q %s", msg, details)
	}

	// The same name again changes nothing and bumps nothing.
	res, err = f.svc.Update(t.Context(), who, s.ID, servers.UpdateInput{Name: &name, Description: &desc})
	if err != nil || res.Changed || res.CatalogRevision != 0 || f.catalogRevision(t) != rev+1 {
		t.Fatalf("no-op update: %+v %v", res, err)
	}

	if _, err := f.svc.Update(t.Context(), who, s.ID, servers.UpdateInput{}); err == nil ||
		err.Error() != "no fields to update: send name, description or both." {
		t.Fatalf("empty update: %v", err)
	}
	bad, long := "Bad", strings.Repeat("x", 2001)
	_, err = f.svc.Update(t.Context(), who, s.ID, servers.UpdateInput{Name: &bad, Description: &long})
	if got := ruleFields(err); !slices.Equal(got, []string{"name", "description"}) {
		t.Fatalf("invalid update: %v", err)
	}
	if n := f.audits(t, "server.update"); n != 3 {
		t.Errorf("%d server.update rows, want 3 (two changes and one no-op)", n)
	}
}

// Start and stop are idempotent, report changed, and bump the catalog
// revision only when they change the status (BE-66's transaction half).
func TestStartStop(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := f.create(t, "weather")
	rev := f.catalogRevision(t)
	steps := []struct {
		op      func(context.Context, servers.Audit, uuid.UUID) (servers.Result, error)
		status  proto.ServerStatus
		changed bool
		rev     int64
	}{
		{f.svc.Start, proto.ServerRunning, true, rev + 1},
		{f.svc.Start, proto.ServerRunning, false, rev + 1},
		{f.svc.Stop, proto.ServerStopped, true, rev + 2},
		{f.svc.Stop, proto.ServerStopped, false, rev + 2},
	}
	for i, st := range steps {
		res, err := st.op(t.Context(), who, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantRev := int64(0)
		if st.changed {
			wantRev = st.rev
		}
		if res.Server.Status != st.status || res.Changed != st.changed || res.CatalogRevision != wantRev || f.catalogRevision(t) != st.rev {
			t.Fatalf("step %d: %+v, revision %d", i, res, f.catalogRevision(t))
		}
	}
	if f.audits(t, "server.start") != 2 || f.audits(t, "server.stop") != 2 {
		t.Errorf("audit rows: %d start, %d stop", f.audits(t, "server.start"), f.audits(t, "server.stop"))
	}
	if n := f.count(t, `SELECT count(*) FROM activity_log WHERE action = 'server.start' AND details->>'changed' = 'false'
		AND message = 'Server ''weather'' was already running.'`); n != 1 {
		t.Errorf("%d no-op start rows", n)
	}
}

// Concurrent starts lock the row: exactly one changes the status and bumps
// the revision.
func TestConcurrentStartsChangeOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := f.create(t, "weather")
	rev := f.catalogRevision(t)
	const n = 6
	var wg sync.WaitGroup
	changed := make(chan bool, n)
	for range n {
		wg.Go(func() {
			res, err := f.svc.Start(context.WithoutCancel(t.Context()), who, s.ID)
			if err != nil {
				t.Error(err)
			}
			changed <- res.Changed
		})
	}
	wg.Wait()
	close(changed)
	count := 0
	for c := range changed {
		if c {
			count++
		}
	}
	if count != 1 || f.catalogRevision(t) != rev+1 {
		t.Fatalf("%d starts changed the status; revision %d → %d", count, rev, f.catalogRevision(t))
	}
}

func TestNotFound(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	id := uuid.New()
	name := "x"
	rev := f.catalogRevision(t)
	ops := map[string]func() error{
		"get": func() error { _, err := f.svc.Get(t.Context(), id); return err },
		"update": func() error {
			_, err := f.svc.Update(t.Context(), who, id, servers.UpdateInput{Name: &name})
			return err
		},
		"delete": func() error { _, err := f.svc.Delete(t.Context(), who, id); return err },
		"start":  func() error { _, err := f.svc.Start(t.Context(), who, id); return err },
		"stop":   func() error { _, err := f.svc.Stop(t.Context(), who, id); return err },
	}
	for op, fn := range ops {
		if err := fn(); !errors.Is(err, servers.ErrNotFound) {
			t.Errorf("%s: %v", op, err)
		}
	}
	if n := f.count(t, "SELECT count(*) FROM activity_log"); n != 0 || f.catalogRevision(t) != rev {
		t.Errorf("%d activity rows, revision %d → %d", n, rev, f.catalogRevision(t))
	}
}

// BE-7 (service half): deleting a server cascades (§4.3), keeps execution
// records and audit rows, bumps the catalog revision and audits.
func TestDelete(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := f.create(t, "weather")
	keep := f.create(t, "news")
	src := f.addSource(t, s.ID, "upstream", "active")
	f.addTool(t, s.ID, tool{name: "forecast", approved: true, enabled: true})
	f.addTool(t, s.ID, tool{name: "remote", approved: true, enabled: true, source: &src})
	f.addTool(t, keep.ID, tool{name: "headlines", enabled: true})
	f.exec(t, `INSERT INTO server_secrets (server_id, name) VALUES ($1, 'API_KEY')`, s.ID)
	f.approveHost(t, s.ID, "api.example.com", nil, "approved")
	f.exec(t, `INSERT INTO package_requests (server_id, package) VALUES ($1, 'example/pkg')`, s.ID)
	f.exec(t, `INSERT INTO execution_records (server_id, exposed_name) VALUES ($1, 'weather__forecast')`, s.ID)
	rev := f.catalogRevision(t)

	got, err := f.svc.Delete(t.Context(), who, s.ID)
	if err != nil || got != rev+1 || f.catalogRevision(t) != rev+1 {
		t.Fatalf("delete: %d %v; revision %d", got, err, f.catalogRevision(t))
	}
	for table, want := range map[string]int{
		"servers": 1, "tools": 1, "tool_versions": 1, "server_secrets": 0, "external_mcp_sources": 0,
		"network_requests": 0, "package_requests": 1, "execution_records": 1,
	} {
		if n := f.count(t, "SELECT count(*) FROM "+table); n != want {
			t.Errorf("%s: %d rows, want %d", table, n, want)
		}
	}
	if n := f.count(t, "SELECT count(*) FROM package_requests WHERE server_id IS NULL"); n != 1 {
		t.Error("the package request did not keep its row with server_id NULL")
	}
	if n := f.count(t, `SELECT count(*) FROM activity_log WHERE action = 'server.delete' AND server_id = $1
		AND message = 'Deleted server ''weather'' (2 tools).'`, s.ID); n != 1 {
		t.Error("no server.delete audit row")
	}
	if n := f.count(t, "SELECT count(*) FROM activity_log WHERE action = 'server.create' AND server_id = $1", s.ID); n != 1 {
		t.Error("the server's earlier audit row was deleted")
	}
	if _, err := f.svc.Get(t.Context(), s.ID); !errors.Is(err, servers.ErrNotFound) {
		t.Errorf("get after delete: %v", err)
	}
}

// tool_count, live_tool_count and approved_hosts are computed from the rows.
func TestCountsAndApprovedHosts(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := f.create(t, "weather")
	active := f.addSource(t, s.ID, "active", "active")
	errored := f.addSource(t, s.ID, "errored", "error")
	pending := f.addSource(t, s.ID, "pending", "pending_review")
	disabled := f.addSource(t, s.ID, "disabled", "disabled")
	for _, tl := range []tool{
		{name: "live_go", approved: true, enabled: true},
		{name: "live_ext", approved: true, enabled: true, source: &active},
		{name: "live_err_src", approved: true, enabled: true, source: &errored},
		{name: "draft", enabled: true},
		{name: "off", approved: true},
		{name: "pending_src", approved: true, enabled: true, source: &pending},
		{name: "disabled_src", approved: true, enabled: true, source: &disabled},
	} {
		f.addTool(t, s.ID, tl)
	}
	other := f.create(t, "other")
	f.addTool(t, other.ID, tool{name: "elsewhere", approved: true, enabled: true})
	f.approveHost(t, s.ID, "api.example.com", nil, "approved")
	f.approveHost(t, s.ID, "api.example.com", 8443, "approved")
	f.approveHost(t, s.ID, "nas.local", 8080, "approved")
	f.approveHost(t, s.ID, "nas.local", 443, "approved")
	f.approveHost(t, s.ID, "[fd00::1]", 8443, "approved")
	f.approveHost(t, s.ID, "pending.example.com", nil, "pending")
	f.approveHost(t, s.ID, "rejected.example.com", nil, "rejected")
	f.approveHost(t, other.ID, "other.example.com", nil, "approved")

	wantHosts := []string{"[fd00::1]:8443", "api.example.com", "nas.local:443", "nas.local:8080"}
	got, err := f.svc.Get(t.Context(), s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ToolCount != 7 || got.LiveToolCount != 0 || !slices.Equal(got.ApprovedHosts, wantHosts) {
		t.Fatalf("stopped: %d tools, %d live, hosts %v", got.ToolCount, got.LiveToolCount, got.ApprovedHosts)
	}
	res, err := f.svc.Start(t.Context(), who, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if res.Server.ToolCount != 7 || res.Server.LiveToolCount != 3 {
		t.Fatalf("running: %d tools, %d live", res.Server.ToolCount, res.Server.LiveToolCount)
	}
	list, err := f.svc.List(t.Context(), servers.Filter{}, 50, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 2 || list.Items[1].Name != "weather" || list.Items[1].LiveToolCount != 3 ||
		!slices.Equal(list.Items[1].ApprovedHosts, wantHosts) || !slices.Equal(list.Items[0].ApprovedHosts, []string{"other.example.com"}) ||
		list.Items[0].ToolCount != 1 || list.Items[0].LiveToolCount != 0 {
		t.Fatalf("list: %+v", list.Items)
	}
}

func TestListFiltersAndOrder(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, in := range []servers.CreateInput{
		{Name: "zeta", Description: "Weather FORECASTS"},
		{Name: "a_b", Description: "x"},
		{Name: "ab", Description: "100% literal_"},
		{Name: "weather_api"},
		{Name: "a1"},
	} {
		if _, err := f.svc.Create(t.Context(), who, in); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.svc.Start(t.Context(), who, f.mustFind(t, "ab")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		filter servers.Filter
		want   []string
	}{
		{servers.Filter{}, []string{"a1", "a_b", "ab", "weather_api", "zeta"}},
		{servers.Filter{Q: "WEATHER"}, []string{"weather_api", "zeta"}},
		{servers.Filter{Q: "forecast"}, []string{"zeta"}},
		{servers.Filter{Q: "%"}, []string{"ab"}},
		{servers.Filter{Q: "_"}, []string{"a_b", "ab", "weather_api"}},
		{servers.Filter{Status: "running"}, []string{"ab"}},
		{servers.Filter{Status: "stopped", Q: "a"}, []string{"a1", "a_b", "weather_api", "zeta"}},
		{servers.Filter{Q: "nothing"}, nil},
	}
	for _, tc := range tests {
		list, err := f.svc.List(t.Context(), tc.filter, 50, "")
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, s := range list.Items {
			got = append(got, s.Name)
		}
		if !slices.Equal(got, tc.want) || list.NextCursor != "" {
			t.Errorf("%+v: %v (next %q), want %v", tc.filter, got, list.NextCursor, tc.want)
		}
	}
	for _, bad := range []struct {
		filter servers.Filter
		field  string
	}{
		{servers.Filter{Status: "paused"}, "status"},
		{servers.Filter{Q: strings.Repeat("q", 201)}, "q"},
		{servers.Filter{Q: "a\x00"}, "q"},
		{servers.Filter{Q: "\xff"}, "q"},
	} {
		_, err := f.svc.List(t.Context(), bad.filter, 50, "")
		if got := ruleFields(err); !slices.Equal(got, []string{bad.field}) {
			t.Errorf("%+v: %v", bad.filter, err)
		}
	}
	for _, limit := range []int{0, 201} {
		if _, err := f.svc.List(t.Context(), servers.Filter{}, limit, ""); !slices.Equal(ruleFields(err), []string{"limit"}) {
			t.Errorf("limit %d: %v", limit, err)
		}
	}
}

func (f fixture) mustFind(t *testing.T, name string) uuid.UUID {
	t.Helper()
	var id uuid.UUID
	f.scan(t, "SELECT id FROM servers WHERE name = $1", []any{name}, &id)
	return id
}

// BE-37 (service half): keyset pages neither repeat nor skip rows while
// rows are inserted between pages; a cursor is bound to its filter.
func TestListPagination(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.exec(t, `INSERT INTO servers (name) SELECT 's' || lpad(i::text, 3, '0') FROM generate_series(0, 238, 2) i`)
	var seen []string
	cursor := ""
	var sizes []int
	for page := 0; ; page++ {
		res, err := f.svc.List(t.Context(), servers.Filter{}, 50, cursor)
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, len(res.Items))
		for _, s := range res.Items {
			seen = append(seen, s.Name)
		}
		// Insert rows before and after the position between pages.
		f.exec(t, fmt.Sprintf(`INSERT INTO servers (name) VALUES ('a%d'), ('s%03d'), ('z%d')`, page, 1+page*60, page))
		if res.NextCursor == "" {
			break
		}
		cursor = res.NextCursor
	}
	if !slices.Equal(sizes[:2], []int{50, 50}) {
		t.Fatalf("page sizes %v", sizes)
	}
	if len(seen) != len(slices.Compact(slices.Clone(seen))) || !slices.IsSorted(seen) {
		t.Fatalf("rows repeated or out of order: %v", seen)
	}
	for i := 0; i <= 238; i += 2 {
		if name := fmt.Sprintf("s%03d", i); !slices.Contains(seen, name) {
			t.Errorf("pre-existing %s skipped", name)
		}
	}
	// Without inserts: 120 rows at 50 a page are 50, 50, 20 and no cursor.
	g := newFixture(t)
	g.exec(t, `INSERT INTO servers (name) SELECT 's' || lpad(i::text, 3, '0') FROM generate_series(1, 120) i`)
	sizes, cursor = nil, ""
	for {
		res, err := g.svc.List(t.Context(), servers.Filter{}, 50, cursor)
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, len(res.Items))
		if cursor = res.NextCursor; cursor == "" {
			break
		}
	}
	if !slices.Equal(sizes, []int{50, 50, 20}) {
		t.Fatalf("page sizes %v, want [50 50 20]", sizes)
	}
	first, err := g.svc.List(t.Context(), servers.Filter{Q: "s0"}, 10, "")
	if err != nil || first.NextCursor == "" {
		t.Fatalf("filtered first page: %v", err)
	}
	for _, other := range []servers.Filter{{}, {Q: "s1"}, {Q: "s0", Status: "stopped"}} {
		if _, err := g.svc.List(t.Context(), other, 10, first.NextCursor); !slices.Equal(ruleFields(err), []string{"cursor"}) {
			t.Errorf("cursor of q=s0 used with %+v: %v", other, err)
		}
	}
	if _, err := g.svc.List(t.Context(), servers.Filter{Q: "s0"}, 20, first.NextCursor); err != nil {
		t.Errorf("another limit with the same filter: %v", err)
	}
}
