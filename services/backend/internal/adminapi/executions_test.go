package adminapi_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/executions"
	"github.com/mcpbox/mcpbox/services/backend/internal/seal"
	"github.com/mcpbox/mcpbox/services/backend/internal/secrets"
)

// ingestRecords stores gateway records through the ingestion path of
// backend.md §9.6, over the backend's database.
func ingestRecords(t *testing.T, b *backend, records ...proto.ExecutionRecord) {
	t.Helper()
	keys, err := seal.New(1, testKey, "")
	if err != nil {
		t.Fatal(err)
	}
	res, err := executions.New(b.store, secrets.New(b.store, keys)).Ingest(t.Context(), records)
	if err != nil || res.Accepted != len(records) {
		t.Fatalf("ingest: %+v, %v", res, err)
	}
}

// execRecord is a valid record; mut changes it.
func execRecord(name string, mut func(r *proto.ExecutionRecord)) proto.ExecutionRecord {
	r := proto.ExecutionRecord{
		ID: uuid.NewString(), ExposedName: name, Via: proto.ViaDirect, Caller: proto.Caller{Kind: proto.CallerLocal},
		Success: true, DurationMS: 10, StartedAt: time.Now().Add(-time.Second),
	}
	if mut != nil {
		mut(&r)
	}
	return r
}

func (b *backend) list(t *testing.T, tok []string, query string) ([]string, *string) {
	t.Helper()
	r := b.call(t, http.MethodGet, "/api/v1/executions?"+query, nil, tok...)
	if r.status != http.StatusOK {
		t.Fatalf("list %s: %d %s", query, r.status, r.raw)
	}
	var page struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
		NextCursor *string `json:"next_cursor"`
	}
	if err := json.Unmarshal([]byte(r.raw), &page); err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(page.Items))
	for i, it := range page.Items {
		ids[i] = it.ID
	}
	return ids, page.NextCursor
}

// The execution routes need a signed-in admin.
func TestExecutionsNeedAnAdmin(t *testing.T) {
	t.Parallel()
	b := newBackend(t)
	b.setup(t)
	for _, path := range []string{"/api/v1/executions", "/api/v1/executions/stats", "/api/v1/executions/" + uuid.NewString()} {
		wantError(t, b.call(t, http.MethodGet, path, nil), http.StatusUnauthorized, proto.CodeUnauthenticated)
		wantError(t, b.call(t, http.MethodGet, path, nil, "Authorization", "Bearer nope"), http.StatusUnauthorized,
			proto.CodeTokenInvalid)
	}
}

// GET /executions: newest first by seq, every filter of §8.2, cursor pages,
// after= for live tails, and 400 naming each bad parameter.
func TestExecutionListFiltersAndPages(t *testing.T) {
	t.Parallel()
	b, tok := signedIn(t)
	toolA, toolB, server := uuid.New(), uuid.New(), uuid.New()
	recs := []proto.ExecutionRecord{
		execRecord("weather__forecast", func(r *proto.ExecutionRecord) {
			r.ToolID, r.ServerID, r.ToolVersion = toolA.String(), server.String(), 1
		}),
		execRecord("weather__forecast", func(r *proto.ExecutionRecord) {
			r.ToolID, r.ServerID, r.ToolVersion = toolA.String(), server.String(), 2
			r.Success, r.ErrorCode, r.Error = false, "timeout", "deadline of 50%_off exceeded"
			r.Via = proto.ViaRunTool
		}),
		execRecord("crm__lookup", func(r *proto.ExecutionRecord) {
			r.ToolID = toolB.String()
			r.Caller = proto.Caller{Kind: proto.CallerRemote, Email: "ada@example.com", Sub: "s1"}
		}),
		execRecord("crm__lookup", func(r *proto.ExecutionRecord) {
			r.ToolID = toolB.String()
			r.Caller = proto.Caller{Kind: proto.CallerRemote, Email: "bob@example.com"}
			r.Success, r.ErrorCode = false, "egress_denied"
		}),
	}
	ingestRecords(t, b, recs...)
	// A test run, written by the backend itself (§11.2).
	var testID string
	b.sql(t, `INSERT INTO execution_records (exposed_name, via, is_test, caller_kind, success, tool_id)
		VALUES ('weather__forecast', 'test', true, 'admin', true, $1) RETURNING id`, []any{&testID}, toolA)
	ids := func(idx ...int) []string {
		out := make([]string, len(idx))
		for i, n := range idx {
			if n == 4 {
				out[i] = testID
			} else {
				out[i] = recs[n].ID
			}
		}
		return out
	}
	for query, want := range map[string][]string{
		"":                                ids(4, 3, 2, 1, 0),
		"tool_id=" + toolA.String():       ids(4, 1, 0),
		"server_id=" + server.String():    ids(1, 0),
		"success=false":                   ids(3, 1),
		"success=true&is_test=false":      ids(2, 0),
		"error_code=timeout":              ids(1),
		"via=run_tool":                    ids(1),
		"via=test":                        ids(4),
		"caller_kind=remote":              ids(3, 2),
		"caller_kind=admin":               ids(4),
		"caller_email=ADA@example.com":    ids(2),
		"is_test=true":                    ids(4),
		"version=2":                       ids(1),
		"q=LOOKUP":                        ids(3, 2),
		"q=" + url.QueryEscape("50%_off"): ids(1),
		"q=" + url.QueryEscape("50%_of_"): nil,
		"after=" + recs[1].ID:             ids(4, 3, 2),
		"after=" + testID:                 nil,
		"since=2000-01-01T00:00:00Z":      ids(4, 3, 2, 1, 0),
		"until=2000-01-01T00:00:00Z":      nil,
		"tool_id=" + toolB.String() + "&success=false": ids(3),
	} {
		got, next := b.list(t, tok, query)
		if !slices.Equal(got, want) || next != nil {
			t.Errorf("%q: got %v (next %v), want %v", query, got, next, want)
		}
	}
	// Pages of 2: 2, 2, 1; each cursor belongs to its filter.
	var all []string
	query := "limit=2"
	for range 3 {
		got, next := b.list(t, tok, query)
		all = append(all, got...)
		if next == nil {
			break
		}
		if r := b.call(t, http.MethodGet, "/api/v1/executions?limit=2&success=true&cursor="+*next, nil, tok...); r.err.Field != "cursor" {
			t.Errorf("cursor of another filter: %d %s", r.status, r.raw)
		}
		query = "limit=2&cursor=" + *next
	}
	if !slices.Equal(all, ids(4, 3, 2, 1, 0)) {
		t.Errorf("pages %v", all)
	}
	for param, value := range map[string]string{
		"tool_id": "forecast", "server_id": "1", "success": "yes", "error_code": "Timeout", "via": "mcp",
		"caller_kind": "llm", "caller_email": "ada", "is_test": "1", "version": "0", "since": "yesterday",
		"until": "2024-01-01", "limit": "201", "cursor": "abc", "after": uuid.NewString(), "q": strings.Repeat("q", 201),
	} {
		r := b.call(t, http.MethodGet, "/api/v1/executions?"+param+"="+url.QueryEscape(value), nil, tok...)
		wantError(t, r, http.StatusBadRequest, proto.CodeValidationFailed)
		if r.err.Field != param || !strings.HasPrefix(r.err.Message, param+": ") {
			t.Errorf("%s=%s: %s", param, value, r.raw)
		}
	}
}

// GET /executions/{id}: every column but seq, absent values null; 404 for
// an unknown or malformed id.
func TestExecutionGet(t *testing.T) {
	t.Parallel()
	b, tok := signedIn(t)
	rec := execRecord("weather__forecast", func(r *proto.ExecutionRecord) {
		r.ToolID, r.ServerID, r.ToolVersion, r.ToolHash = uuid.NewString(), uuid.NewString(), 3, "sha256:"+strings.Repeat("0", 64)
		r.InputArgs, r.Result, r.Stdout = json.RawMessage(`{"city":"Oslo","password":"x"}`), json.RawMessage(`[1]`), "hi"
		r.Caller = proto.Caller{Kind: proto.CallerRemote, Email: "ada@example.com", Sub: "sub"}
		r.Success, r.ErrorCode, r.Error, r.RequestID = false, "tool_error", "boom", "req-1"
		r.StartedAt = time.Date(2024, 5, 1, 12, 0, 0, 123_456_000, time.UTC)
	})
	ingestRecords(t, b, rec)
	r := b.call(t, http.MethodGet, "/api/v1/executions/"+rec.ID, nil, tok...)
	if r.status != http.StatusOK {
		t.Fatalf("get: %d %s", r.status, r.raw)
	}
	keys := make([]string, 0, len(r.body))
	for k := range r.body {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := []string{
		"caller_email", "caller_kind", "caller_sub", "created_at", "duration_ms", "error", "error_code",
		"exposed_name", "id", "input_args", "is_test", "request_id", "result", "server_id", "started_at", "stdout",
		"success", "tool_hash", "tool_id", "tool_version", "via",
	}
	if !slices.Equal(keys, want) {
		t.Errorf("fields %v", keys)
	}
	for k, v := range map[string]any{
		"id": rec.ID, "tool_id": rec.ToolID, "server_id": rec.ServerID, "tool_version": 3.0, "tool_hash": rec.ToolHash,
		"exposed_name": rec.ExposedName, "via": "direct", "is_test": false, "caller_kind": "remote",
		"caller_email": "ada@example.com", "caller_sub": "sub", "success": false, "error_code": "tool_error",
		"error": "boom", "stdout": "hi", "duration_ms": 10.0, "started_at": "2024-05-01T12:00:00.123Z", "request_id": "req-1",
	} {
		if r.body[k] != v {
			t.Errorf("%s = %v, want %v", k, r.body[k], v)
		}
	}
	if args := r.body["input_args"].(map[string]any); args["city"] != "Oslo" || args["password"] != "[REDACTED]" {
		t.Errorf("input_args %v", args)
	}
	if !strings.HasSuffix(r.body["created_at"].(string), "Z") {
		t.Errorf("created_at %v", r.body["created_at"])
	}
	bare := execRecord("a__b", nil)
	ingestRecords(t, b, bare)
	r = b.call(t, http.MethodGet, "/api/v1/executions/"+bare.ID, nil, tok...)
	for _, k := range []string{
		"tool_id", "server_id", "tool_version", "tool_hash", "caller_email", "caller_sub",
		"error_code", "error", "input_args", "result", "stdout", "request_id",
	} {
		if v, ok := r.body[k]; !ok || v != nil {
			t.Errorf("absent %s = %v (present %v)", k, v, ok)
		}
	}
	wantError(t, b.call(t, http.MethodGet, "/api/v1/executions/"+uuid.NewString(), nil, tok...), http.StatusNotFound, proto.CodeNotFound)
	wantError(t, b.call(t, http.MethodGet, "/api/v1/executions/nope", nil, tok...), http.StatusNotFound, proto.CodeNotFound)
}

// GET /executions/stats (§14.3): figures of the period with test runs
// counted apart, and date_bin buckets from the Unix epoch, zero-filled:
// 13, 25, 25 and 29 of them.
func TestExecutionStats(t *testing.T) {
	t.Parallel()
	b, tok := signedIn(t)
	toolA, toolB := uuid.New(), uuid.New()
	insert := func(ago string, tool uuid.UUID, kind, email string, success bool, ms int, isTest bool) {
		t.Helper()
		via := "direct"
		if isTest {
			via = "test"
		}
		b.sql(t, `INSERT INTO execution_records (exposed_name, tool_id, caller_kind, caller_email, success, duration_ms,
			via, is_test, created_at) VALUES ('x__y', $1, $2, NULLIF($3, ''), $4, $5, $6, $7, now() - $8::interval)`,
			nil, tool, kind, email, success, ms, via, isTest, ago)
	}
	insert("1 minute", toolA, "local", "", true, 100, false)
	insert("2 minutes", toolA, "local", "", false, 300, false)
	insert("20 minutes", toolB, "remote", "ada@example.com", true, 200, false)
	insert("30 minutes", toolB, "remote", "bob@example.com", false, 1000, false)
	insert("3 minutes", toolA, "admin", "", true, 5, true)
	insert("3 hours", toolA, "local", "", true, 50, false)
	insert("2 days", toolB, "remote", "cy@example.com", true, 70, false)
	insert("8 days", toolB, "local", "", true, 70, false)

	type figures struct {
		Period           string  `json:"period"`
		Executions       int64   `json:"executions"`
		ExecutionsFailed int64   `json:"executions_failed"`
		ErrorRate        float64 `json:"error_rate"`
		AvgDurationMS    int64   `json:"avg_duration_ms"`
		P95DurationMS    int64   `json:"p95_duration_ms"`
		ExecutionsLocal  int64   `json:"executions_local"`
		ExecutionsRemote int64   `json:"executions_remote"`
		TestRuns         int64   `json:"test_runs"`
		UniqueTools      int64   `json:"unique_tools"`
		UniqueCallers    int64   `json:"unique_callers"`
	}
	type stats struct {
		figures
		Buckets []struct {
			T      string `json:"t"`
			Total  int64  `json:"total"`
			Failed int64  `json:"failed"`
		} `json:"executions_over_time"`
	}
	get := func(query string) stats {
		t.Helper()
		r := b.call(t, http.MethodGet, "/api/v1/executions/stats"+query, nil, tok...)
		if r.status != http.StatusOK {
			t.Fatalf("stats%s: %d %s", query, r.status, r.raw)
		}
		var s stats
		if err := json.Unmarshal([]byte(r.raw), &s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	for _, c := range []struct {
		query, period string
		buckets       int
		width         time.Duration
		want          figures
	}{
		{"?period=1h", "1h", 13, 5 * time.Minute, figures{
			Executions: 4, ExecutionsFailed: 2, ErrorRate: 0.5, AvgDurationMS: 400,
			P95DurationMS: 1000, ExecutionsLocal: 2, ExecutionsRemote: 2, TestRuns: 1, UniqueTools: 2, UniqueCallers: 3,
		}},
		{"?period=6h", "6h", 25, 15 * time.Minute, figures{
			Executions: 5, ExecutionsFailed: 2, ErrorRate: 0.4, AvgDurationMS: 330,
			P95DurationMS: 1000, ExecutionsLocal: 3, ExecutionsRemote: 2, TestRuns: 1, UniqueTools: 2, UniqueCallers: 3,
		}},
		{"", "24h", 25, time.Hour, figures{
			Executions: 5, ExecutionsFailed: 2, ErrorRate: 0.4, AvgDurationMS: 330,
			P95DurationMS: 1000, ExecutionsLocal: 3, ExecutionsRemote: 2, TestRuns: 1, UniqueTools: 2, UniqueCallers: 3,
		}},
		{"?period=7d", "7d", 29, 6 * time.Hour, figures{
			Executions: 6, ExecutionsFailed: 2, ErrorRate: 2.0 / 6, AvgDurationMS: 287,
			P95DurationMS: 1000, ExecutionsLocal: 3, ExecutionsRemote: 3, TestRuns: 1, UniqueTools: 2, UniqueCallers: 4,
		}},
	} {
		s := get(c.query)
		buckets := s.Buckets
		c.want.Period = c.period
		if s.figures != c.want {
			t.Errorf("%s: got %+v\nwant %+v", c.period, s.figures, c.want)
		}
		if len(buckets) != c.buckets {
			t.Fatalf("%s: %d buckets, want %d", c.period, len(buckets), c.buckets)
		}
		var total, failed int64
		var prev time.Time
		for i, bk := range buckets {
			at, err := time.Parse(time.RFC3339, bk.T)
			if err != nil || at.Unix()%int64(c.width/time.Second) != 0 || i > 0 && at.Sub(prev) != c.width {
				t.Errorf("%s: bucket %d at %s", c.period, i, bk.T)
			}
			prev = at
			total, failed = total+bk.Total, failed+bk.Failed
		}
		if total != s.Executions || failed != s.ExecutionsFailed {
			t.Errorf("%s: buckets hold %d/%d, stats %d/%d", c.period, total, failed, s.Executions, s.ExecutionsFailed)
		}
		if last := prev; time.Since(last) < 0 || time.Since(last) > c.width+time.Minute {
			t.Errorf("%s: last bucket %s is not the bucket of now", c.period, last)
		}
	}
	// The bucket of the record 30 minutes ago holds it.
	var bucket time.Time
	b.sql(t, `SELECT date_bin('5 minutes', max(created_at), TIMESTAMPTZ 'epoch') FROM execution_records
		WHERE duration_ms = 1000`, []any{&bucket})
	for _, bk := range get("?period=1h").Buckets {
		if at, _ := time.Parse(time.RFC3339, bk.T); at.Equal(bucket) && (bk.Total < 1 || bk.Failed < 1) {
			t.Errorf("bucket %s holds %d/%d", bk.T, bk.Total, bk.Failed)
		}
	}
	r := b.call(t, http.MethodGet, "/api/v1/executions/stats?period=2h", nil, tok...)
	wantError(t, r, http.StatusBadRequest, proto.CodeValidationFailed)
	if r.err.Field != "period" {
		t.Errorf("bad period: %s", r.raw)
	}
	// No records: zeros, error rate 0, buckets still present.
	empty, tok2 := signedIn(t)
	r = empty.call(t, http.MethodGet, "/api/v1/executions/stats?period=1h", nil, tok2...)
	if r.status != http.StatusOK || r.body["error_rate"] != 0.0 || r.body["executions"] != 0.0 ||
		len(r.body["executions_over_time"].([]any)) != 13 {
		t.Errorf("empty stats: %s", r.raw)
	}
}
