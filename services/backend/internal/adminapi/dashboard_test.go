package adminapi_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/buildinfo"
	"github.com/mcpbox/mcpbox/services/backend/internal/adminapi"
)

// statusSandbox is a fake sandbox answering GET /readyz with readiness (200
// when ready, else 503) and GET /v1/packages (service token required) with
// catalogue; it counts the catalogue requests.
func statusSandbox(t *testing.T, readiness proto.SandboxReadiness, catalogue proto.PackageCatalogue) (string, *atomic.Int32) {
	t.Helper()
	var packageCalls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == http.MethodGet && r.URL.Path == proto.PathReadyz:
			if readiness.Status != proto.ReadinessReady {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
			_ = json.NewEncoder(w).Encode(readiness)
		case r.Method == http.MethodGet && r.URL.Path == proto.PathSandboxPackages:
			if r.Header.Get(proto.HeaderServiceToken) != sandboxToken {
				w.WriteHeader(http.StatusUnauthorized)
				_ = json.NewEncoder(w).Encode(proto.ErrorBody{Error: proto.Error{Code: "unauthenticated", Message: "bad token"}})
				return
			}
			packageCalls.Add(1)
			_ = json.NewEncoder(w).Encode(catalogue)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL, &packageCalls
}

// insertExecution stores a record created ago (a PostgreSQL interval).
func (b *backend) insertExecution(t *testing.T, ago string, tool *uuid.UUID, name, kind string, success bool, ms int,
	isTest bool, errText string,
) {
	t.Helper()
	via := "direct"
	if isTest {
		via = "test"
	}
	b.sql(t, `INSERT INTO execution_records (exposed_name, tool_id, caller_kind, success, duration_ms, via, is_test,
		error, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, NULLIF($8, ''), now() - $9::interval)`,
		nil, name, tool, kind, success, ms, via, isTest, errText, ago)
}

// getDashboard returns GET /dashboard?period=… decoded.
func (b *backend) getDashboard(t *testing.T, tok []string, query string, out any) {
	t.Helper()
	r := b.call(t, http.MethodGet, "/api/v1/dashboard"+query, nil, tok...)
	if r.status != http.StatusOK {
		t.Fatalf("dashboard%s: %d %s", query, r.status, r.raw)
	}
	if err := json.Unmarshal([]byte(r.raw), out); err != nil {
		t.Fatal(err)
	}
}

type dashBucket struct {
	T      time.Time `json:"t"`
	Total  int64     `json:"total"`
	Failed int64     `json:"failed"`
}

// The dashboard, status and package routes need a signed-in admin.
func TestDashboardRoutesNeedAnAdmin(t *testing.T) {
	t.Parallel()
	b := newBackend(t)
	b.setup(t)
	for _, path := range []string{"/api/v1/dashboard", "/api/v1/dashboard?period=1h", "/api/v1/system/status", "/api/v1/packages"} {
		wantError(t, b.call(t, http.MethodGet, path, nil), http.StatusUnauthorized, proto.CodeUnauthenticated)
		wantError(t, b.call(t, http.MethodGet, path, nil, "Authorization", "Bearer nope"), http.StatusUnauthorized,
			proto.CodeTokenInvalid)
	}
}

// TestBE88_DashboardBucketsOfOneHour: period=1h gives the 13 five-minute
// buckets from date_bin(now - 1h) to date_bin(now), on the Unix epoch,
// zero-filled, each holding exactly the records of the period created in
// it (test runs and older records excluded); period=2h is 400.
func TestBE88_DashboardBucketsOfOneHour(t *testing.T) {
	t.Parallel()
	b, tok := signedIn(t)
	tool := uuid.New()
	for _, r := range []struct {
		ago     string
		success bool
		isTest  bool
	}{
		{"30 seconds", true, false},
		{"1 minute", false, false},
		{"7 minutes", true, false},
		{"7 minutes", true, false},
		{"23 minutes", false, false},
		{"41 minutes", true, false},
		{"55 minutes", false, false},
		{"2 minutes", true, true}, // a test run: not in the buckets
		{"65 minutes", true, false},
		{"3 hours", false, false}, // before the period
	} {
		b.insertExecution(t, r.ago, &tool, "weather__forecast", "local", r.success, 10, r.isTest, "")
	}
	// The buckets the records of the period belong to, by PostgreSQL.
	type count struct{ total, failed int64 }
	var bins []time.Time
	var totals, fails []int64
	b.sql(t, `SELECT array_agg(bin ORDER BY bin), array_agg(total ORDER BY bin), array_agg(failed ORDER BY bin)
		FROM (SELECT date_bin('5 minutes', created_at, TIMESTAMPTZ 'epoch') AS bin, count(*) AS total,
		             count(*) FILTER (WHERE NOT success) AS failed
		      FROM execution_records WHERE NOT is_test AND created_at >= now() - interval '1 hour' GROUP BY 1) AS g`,
		[]any{&bins, &totals, &fails})
	want := map[time.Time]count{}
	for i, at := range bins {
		want[at.UTC()] = count{totals[i], fails[i]}
	}
	if len(want) < 5 {
		t.Fatalf("the records fall in %d buckets, want at least 5", len(want))
	}

	var d struct {
		Period  string       `json:"period"`
		Buckets []dashBucket `json:"executions_over_time"`
		Stats   struct {
			Executions       int64 `json:"executions"`
			ExecutionsFailed int64 `json:"executions_failed"`
			TestRuns         int64 `json:"test_runs"`
		} `json:"stats"`
	}
	b.getDashboard(t, tok, "?period=1h", &d)
	if d.Period != "1h" || len(d.Buckets) != 13 {
		t.Fatalf("period %q with %d buckets, want 1h with 13: %+v", d.Period, len(d.Buckets), d.Buckets)
	}
	var got int64
	for i, bk := range d.Buckets {
		if bk.T.Unix()%300 != 0 || i > 0 && bk.T.Sub(d.Buckets[i-1].T) != 5*time.Minute {
			t.Errorf("bucket %d at %s is not on the five-minute grid", i, bk.T)
		}
		w := want[bk.T.UTC()]
		if bk.Total != w.total || bk.Failed != w.failed {
			t.Errorf("bucket %s holds %d/%d, want %d/%d", bk.T, bk.Total, bk.Failed, w.total, w.failed)
		}
		got += bk.Total
	}
	if last := d.Buckets[12].T; time.Since(last) < 0 || time.Since(last) > 5*time.Minute+time.Minute {
		t.Errorf("last bucket %s is not the bucket of now", last)
	}
	if got != 7 || d.Stats.Executions != 7 || d.Stats.ExecutionsFailed != 3 || d.Stats.TestRuns != 1 {
		t.Errorf("buckets hold %d, stats %+v; want 7 executions, 3 failed, 1 test run", got, d.Stats)
	}

	for _, q := range []string{"?period=2h", "?period=1H", "?period=30m", "?period=7"} {
		r := b.call(t, http.MethodGet, "/api/v1/dashboard"+q, nil, tok...)
		wantError(t, r, http.StatusBadRequest, proto.CodeValidationFailed)
		if r.err.Field != "period" || !strings.Contains(r.err.Message, "1h") {
			t.Errorf("%s: %s", q, r.raw)
		}
	}
	// No period is 24h: 25 hourly buckets.
	var def struct {
		Period  string       `json:"period"`
		Buckets []dashBucket `json:"executions_over_time"`
	}
	b.getDashboard(t, tok, "", &def)
	if def.Period != "24h" || len(def.Buckets) != 25 {
		t.Errorf("default: period %q with %d buckets, want 24h with 25", def.Period, len(def.Buckets))
	}
}

// The dashboard's stats count servers, tools, live tools and what waits for
// review; top_tools and recent_failures cover the period only, test runs
// excluded.
func TestDashboardStatsTopToolsAndFailures(t *testing.T) {
	t.Parallel()
	b, tok := signedIn(t)

	// Servers: weather running, mail running, notes stopped.
	weather := b.newServer(t, tok, "weather", "")
	mail := b.newServer(t, tok, "mail", "")
	notes := b.newServer(t, tok, "notes", "")
	b.sql(t, `UPDATE servers SET status = 'running' WHERE id IN ($1, $2)`, nil, weather, mail)
	// Tools: live are forecast (approved, enabled, running) and the external
	// one of an active source; not live: disabled, draft, stopped server,
	// pending source.
	b.insertTool(t, weather, "forecast", true, true, nil)
	b.insertTool(t, weather, "alerts", true, false, nil)
	b.insertTool(t, weather, "radar", false, true, nil)
	b.insertTool(t, notes, "list", true, true, nil)
	active := b.insertSource(t, mail, "inbox", "active")
	pendingSrc := b.insertSource(t, mail, "outbox", "pending_review")
	b.insertTool(t, mail, "read", true, true, &active)
	b.insertTool(t, mail, "send", true, true, &pendingSrc)
	b.sql(t, `UPDATE tools SET review_status = 'pending_review' WHERE name IN ('radar', 'alerts')`, nil)
	// Requests: 2 pending network, 1 approved; 1 pending package, 1 rejected.
	b.sql(t, `INSERT INTO network_requests (server_id, host, status) VALUES
		($1, 'a.example.com', 'pending'), ($1, 'b.example.com', 'pending'), ($1, 'c.example.com', 'approved')`, nil, weather)
	b.sql(t, `INSERT INTO package_requests (package, status) VALUES ('encoding/xml', 'pending'), ('image/png', 'rejected')`, nil)

	// Executions: tool A 3 in the last hour (1 failed, renamed: its newest
	// record names it), tool B 1 (failed), a deleted tool's 2 records, a
	// test run, and older records.
	toolA, toolB := uuid.New(), uuid.New()
	long := strings.Repeat("é", 250) // 250 characters, 500 bytes
	// Oldest first, so seq follows created_at as it does for ingested records.
	b.insertExecution(t, "3 days", &toolB, "mail__send", "local", true, 70, false, "")
	b.insertExecution(t, "3 hours", &toolB, "mail__send", "local", false, 70, false, "old failure")
	b.insertExecution(t, "6 minutes", nil, "gone__tool", "local", true, 20, false, "")
	b.insertExecution(t, "5 minutes", nil, "gone__tool", "local", true, 10, false, "")
	b.insertExecution(t, "4 minutes", &toolB, "mail__send", "remote", false, 50, false, long)
	b.insertExecution(t, "3 minutes", &toolA, "weather__forecast_old", "local", true, 200, false, "")
	b.insertExecution(t, "2 minutes", &toolA, "weather__forecast", "remote", false, 300, false, "boom")
	b.insertExecution(t, "1 minute", &toolA, "weather__forecast", "local", true, 100, false, "")
	b.insertExecution(t, "30 seconds", &toolB, "mail__send", "admin", false, 5, true, "test failure")

	type topTool struct {
		ToolID        *string `json:"tool_id"`
		ExposedName   string  `json:"exposed_name"`
		Executions    int64   `json:"executions"`
		Failed        int64   `json:"failed"`
		AvgDurationMS int64   `json:"avg_duration_ms"`
	}
	type failure struct {
		ID          string    `json:"id"`
		ExposedName string    `json:"exposed_name"`
		Error       string    `json:"error"`
		CreatedAt   time.Time `json:"created_at"`
	}
	type pending struct {
		Tools    int64 `json:"tools"`
		Network  int64 `json:"network"`
		Packages int64 `json:"packages"`
		Sources  int64 `json:"sources"`
	}
	type stats struct {
		Servers          int64   `json:"servers"`
		ServersRunning   int64   `json:"servers_running"`
		Tools            int64   `json:"tools"`
		ToolsLive        int64   `json:"tools_live"`
		Pending          pending `json:"pending"`
		Executions       int64   `json:"executions"`
		ExecutionsFailed int64   `json:"executions_failed"`
		ErrorRate        float64 `json:"error_rate"`
		AvgDurationMS    int64   `json:"avg_duration_ms"`
		P95DurationMS    int64   `json:"p95_duration_ms"`
		ExecutionsLocal  int64   `json:"executions_local"`
		ExecutionsRemote int64   `json:"executions_remote"`
		TestRuns         int64   `json:"test_runs"`
	}
	type dash struct {
		Stats          stats     `json:"stats"`
		TopTools       []topTool `json:"top_tools"`
		RecentFailures []failure `json:"recent_failures"`
	}
	var d dash
	b.getDashboard(t, tok, "?period=1h", &d)

	wantStats := stats{
		Servers: 3, ServersRunning: 2, Tools: 6, ToolsLive: 2,
		Pending:    pending{Tools: 2, Network: 2, Packages: 1, Sources: 1},
		Executions: 6, ExecutionsFailed: 2, ErrorRate: 2.0 / 6, AvgDurationMS: 113, P95DurationMS: 300,
		ExecutionsLocal: 4, ExecutionsRemote: 2, TestRuns: 1,
	}
	if d.Stats != wantStats {
		t.Errorf("stats\n got %+v\nwant %+v", d.Stats, wantStats)
	}

	a, bID := toolA.String(), toolB.String()
	wantTop := []topTool{
		{ToolID: &a, ExposedName: "weather__forecast", Executions: 3, Failed: 1, AvgDurationMS: 200},
		{ToolID: nil, ExposedName: "gone__tool", Executions: 2, Failed: 0, AvgDurationMS: 15},
		{ToolID: &bID, ExposedName: "mail__send", Executions: 1, Failed: 1, AvgDurationMS: 50},
	}
	if !slices.EqualFunc(d.TopTools, wantTop, func(x, y topTool) bool {
		return (x.ToolID == nil) == (y.ToolID == nil) && (x.ToolID == nil || *x.ToolID == *y.ToolID) &&
			x.ExposedName == y.ExposedName && x.Executions == y.Executions && x.Failed == y.Failed &&
			x.AvgDurationMS == y.AvgDurationMS
	}) {
		t.Errorf("top_tools: %s", mustJSON(t, d.TopTools))
	}

	if len(d.RecentFailures) != 2 {
		t.Fatalf("recent_failures: %s", mustJSON(t, d.RecentFailures))
	}
	f0, f1 := d.RecentFailures[0], d.RecentFailures[1]
	if f0.ExposedName != "weather__forecast" || f0.Error != "boom" || f1.ExposedName != "mail__send" ||
		f1.Error != strings.Repeat("é", 200) || !f0.CreatedAt.After(f1.CreatedAt) {
		t.Errorf("recent_failures: %s", mustJSON(t, d.RecentFailures))
	}
	var id string
	b.sql(t, `SELECT id::text FROM execution_records WHERE error = 'boom'`, []any{&id})
	if f0.ID != id {
		t.Errorf("recent failure id %s, want %s", f0.ID, id)
	}

	// 24h takes the 3-hour-old failure in; only the period's ten newest
	// failures are listed, and ten tools at most.
	for i := range 12 {
		b.insertExecution(t, "10 minutes", nil, "bulk__t"+string(rune('a'+i)), "local", false, 1, false, "e")
	}
	var day dash
	b.getDashboard(t, tok, "?period=24h", &day)
	if len(day.TopTools) != 10 || len(day.RecentFailures) != 10 || day.Stats.Executions != 19 {
		t.Errorf("24h: %d top tools, %d failures, %d executions; want 10, 10, 19",
			len(day.TopTools), len(day.RecentFailures), day.Stats.Executions)
	}
	// Ties by name: gone__tool before mail__send.
	if day.TopTools[0].ExposedName != "weather__forecast" || day.TopTools[1].ExposedName != "gone__tool" ||
		day.TopTools[2].ExposedName != "mail__send" || day.TopTools[2].Executions != 2 || day.TopTools[2].Failed != 2 {
		t.Errorf("24h top tools: %s", mustJSON(t, day.TopTools))
	}

	// An empty installation: zeros and empty lists, never null.
	e, etok := signedIn(t)
	r := e.call(t, http.MethodGet, "/api/v1/dashboard?period=7d", nil, etok...)
	if r.status != http.StatusOK || !strings.Contains(r.raw, `"top_tools":[]`) ||
		!strings.Contains(r.raw, `"recent_failures":[]`) || !strings.Contains(r.raw, `"error_rate":0`) {
		t.Errorf("empty dashboard: %d %s", r.status, r.raw)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

type sandboxStatusBody struct {
	Reachable bool    `json:"reachable"`
	LatencyMS *int64  `json:"latency_ms"`
	Ready     bool    `json:"ready"`
	Warm      int     `json:"warm"`
	Busy      int     `json:"busy"`
	Starting  int     `json:"starting"`
	Queued    int     `json:"queued"`
	Isolation *string `json:"isolation"`
	Error     string  `json:"error"`
}

type systemStatusBody struct {
	Version          string            `json:"version"`
	DB               bool              `json:"db"`
	Listen           bool              `json:"listen"`
	Sandbox          sandboxStatusBody `json:"sandbox"`
	EventSubscribers int               `json:"event_subscribers"`
	Revisions        *struct {
		Catalog int64 `json:"catalog"`
		Policy  int64 `json:"policy"`
	} `json:"revisions"`
}

func (b *backend) systemStatus(t *testing.T, tok []string) systemStatusBody {
	t.Helper()
	r := b.call(t, http.MethodGet, "/api/v1/system/status", nil, tok...)
	if r.status != http.StatusOK {
		t.Fatalf("system status: %d %s", r.status, r.raw)
	}
	var s systemStatusBody
	if err := json.Unmarshal([]byte(r.raw), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// GET /system/status copies the sandbox's /readyz, reports the database,
// the LISTEN connection and the event subscribers given by WithStatus, and
// the revisions.
func TestSystemStatusWithTheSandboxUp(t *testing.T) {
	t.Parallel()
	t.Run("ready", func(t *testing.T) {
		t.Parallel()
		url, _ := statusSandbox(t, proto.SandboxReadiness{
			Status: proto.ReadinessReady, Warm: 3, Busy: 1, Starting: 2, Queued: 4, Isolation: proto.IsolationDegraded,
		}, proto.PackageCatalogue{})
		b := newBackend(t, withSandbox(url), func(o *options) {
			o.cfgMore = func(d *adminapi.Deps) {
				d.Dashboard.WithStatus(func() bool { return true }, func() int { return 2 })
			}
		})
		b.setup(t)
		tok := bearer(b.login(t))
		b.sql(t, `UPDATE revisions SET catalog = 7, policy = 3`, nil)
		s := b.systemStatus(t, tok)
		sb := s.Sandbox
		if !sb.Reachable || !sb.Ready || sb.Warm != 3 || sb.Busy != 1 || sb.Starting != 2 || sb.Queued != 4 ||
			sb.Isolation == nil || *sb.Isolation != "degraded" || sb.LatencyMS == nil || *sb.LatencyMS < 0 || sb.Error != "" {
			t.Errorf("sandbox: %+v", sb)
		}
		if s.Version != buildinfo.Version || !s.DB || !s.Listen || s.EventSubscribers != 2 ||
			s.Revisions == nil || s.Revisions.Catalog != 7 || s.Revisions.Policy != 3 {
			t.Errorf("status: %+v", s)
		}
	})
	t.Run("starting", func(t *testing.T) {
		t.Parallel()
		// A 503 with a readiness body is an answer: reachable, not ready.
		url, _ := statusSandbox(t, proto.SandboxReadiness{
			Status: proto.ReadinessStarting, Starting: 4, Isolation: proto.IsolationFull,
		}, proto.PackageCatalogue{})
		b := newBackend(t, withSandbox(url))
		b.setup(t)
		s := b.systemStatus(t, bearer(b.login(t)))
		sb := s.Sandbox
		if !sb.Reachable || sb.Ready || sb.Starting != 4 || sb.Isolation == nil || *sb.Isolation != "full" {
			t.Errorf("sandbox: %+v", sb)
		}
		// Without WithStatus: LISTEN false, no subscribers.
		if s.Listen || s.EventSubscribers != 0 || !s.DB {
			t.Errorf("status: %+v", s)
		}
	})
}

// With the sandbox down the status still answers 200: unreachable, null
// latency and isolation, and a message saying what to do.
func TestSystemStatusWithTheSandboxDown(t *testing.T) {
	t.Parallel()
	b, tok := signedIn(t) // the harness's sandbox is a closed port
	r := b.call(t, http.MethodGet, "/api/v1/system/status", nil, tok...)
	if r.status != http.StatusOK || !strings.Contains(r.raw, `"latency_ms":null`) || !strings.Contains(r.raw, `"isolation":null`) {
		t.Fatalf("status: %d %s", r.status, r.raw)
	}
	s := b.systemStatus(t, tok)
	if sb := s.Sandbox; sb.Reachable || sb.Ready || sb.Warm != 0 || !strings.Contains(sb.Error, "unavailable") ||
		strings.Contains(sb.Error, "127.0.0.1") {
		t.Errorf("sandbox: %+v", sb)
	}
	if !s.DB || s.Revisions == nil {
		t.Errorf("status: %+v", s)
	}
}

type packagesBody struct {
	Default        []string        `json:"default"`
	Approvable     []string        `json:"approvable"`
	Approved       []string        `json:"approved"`
	Catalogue      []proto.Package `json:"catalogue"`
	CatalogueError *proto.Error    `json:"catalogue_error"`
}

func (b *backend) packages(t *testing.T, tok []string) (packagesBody, string) {
	t.Helper()
	r := b.call(t, http.MethodGet, "/api/v1/packages", nil, tok...)
	if r.status != http.StatusOK {
		t.Fatalf("packages: %d %s", r.status, r.raw)
	}
	var p packagesBody
	if err := json.Unmarshal([]byte(r.raw), &p); err != nil {
		t.Fatal(err)
	}
	return p, r.raw
}

// GET /packages: the default and approvable tiers, the approved packages
// (sorted) and the sandbox's catalogue.
func TestPackagesWithTheSandboxUp(t *testing.T) {
	t.Parallel()
	catalogue := proto.PackageCatalogue{
		CatalogueVersion: "c1", GoVersion: "go1.27.3", LanguageLevel: "go1.22",
		Packages: []proto.Package{
			{Path: "strings", Tier: proto.TierDefault, Description: "String functions."},
			{Path: "encoding/xml", Tier: proto.TierOptIn, Description: "XML.", Filtered: true, Note: "no Decoder.Strict"},
			{Path: "os/exec", Tier: proto.TierNever, Description: "Processes.", Note: "runs programs"},
		},
	}
	url, calls := statusSandbox(t, proto.SandboxReadiness{Status: proto.ReadinessReady, Isolation: proto.IsolationFull}, catalogue)
	b := newBackend(t, withSandbox(url))
	b.setup(t)
	tok := bearer(b.login(t))
	b.sql(t, `INSERT INTO package_requests (package, status) VALUES ('image/png', 'approved'),
		('encoding/xml', 'approved'), ('archive/zip', 'pending'), ('log', 'rejected')`, nil)
	p, raw := b.packages(t, tok)
	if !slices.Equal(p.Default, proto.DefaultPackages()) || !slices.Equal(p.Approvable, proto.ApprovablePackages()) {
		t.Errorf("tiers: %s", raw)
	}
	if !slices.Equal(p.Approved, []string{"encoding/xml", "image/png"}) {
		t.Errorf("approved: %v", p.Approved)
	}
	if !slices.Equal(p.Catalogue, catalogue.Packages) || p.CatalogueError != nil {
		t.Errorf("catalogue: %s", raw)
	}
	if !strings.Contains(raw, `"catalogue_error":null`) {
		t.Errorf("catalogue_error is not null: %s", raw)
	}
	if calls.Load() != 1 {
		t.Errorf("the sandbox was asked %d times, want 1", calls.Load())
	}
}

// With the sandbox down GET /packages still answers the three sets the
// backend holds, with catalogue null and catalogue_error
// sandbox_unavailable.
func TestPackagesWithTheSandboxDown(t *testing.T) {
	t.Parallel()
	b, tok := signedIn(t)
	p, raw := b.packages(t, tok)
	if len(p.Default) == 0 || len(p.Approvable) == 0 || p.Approved == nil || len(p.Approved) != 0 {
		t.Errorf("sets: %s", raw)
	}
	if !strings.Contains(raw, `"catalogue":null`) || p.CatalogueError == nil ||
		p.CatalogueError.Code != proto.CodeSandboxUnavailable || p.CatalogueError.Message == "" ||
		strings.Contains(p.CatalogueError.Message, "127.0.0.1") {
		t.Errorf("catalogue: %s", raw)
	}
}
