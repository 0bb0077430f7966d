package main

import (
	"bufio"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/db/dbtest"
	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/lifecycle/lifecycletest"
)

// catalogue is the metric table of backend.md §3: name → type.
func catalogue() map[string]string {
	return map[string]string{
		"mcpbox_backend_build_info":                               "gauge",
		"mcpbox_backend_http_requests_total":                      "counter",
		"mcpbox_backend_http_request_duration_seconds":            "histogram",
		"mcpbox_backend_service_token_checks_total":               "counter",
		"mcpbox_backend_admin_logins_total":                       "counter",
		"mcpbox_backend_admin_token_reuse_total":                  "counter",
		"mcpbox_backend_csrf_rejections_total":                    "counter",
		"mcpbox_backend_approvals_pending":                        "gauge",
		"mcpbox_backend_approval_decisions_total":                 "counter",
		"mcpbox_backend_management_calls_total":                   "counter",
		"mcpbox_backend_executions_ingested_total":                "counter",
		"mcpbox_backend_sandbox_requests_total":                   "counter",
		"mcpbox_backend_sandbox_request_duration_seconds":         "histogram",
		"mcpbox_backend_event_subscribers":                        "gauge",
		"mcpbox_backend_events_published_total":                   "counter",
		"mcpbox_backend_retention_deleted_rows_total":             "counter",
		"mcpbox_backend_retention_last_success_timestamp_seconds": "gauge",
		"mcpbox_backend_encrypted_values":                         "gauge",
		"mcpbox_backend_db_pool_connections":                      "gauge",
		"mcpbox_backend_db_pool_max_connections":                  "gauge",
		"mcpbox_backend_db_pool_acquire_wait_seconds_total":       "counter",
		"mcpbox_backend_schema_version":                           "gauge",
	}
}

// OPS-18 (backend): /metrics on the internal listener passes promlint and
// exposes exactly the metrics of backend.md §3 with their types, plus the
// Go and process collectors (and promhttp's own error counter). One request on each listener and one
// management call give the label sets that have no zero series.
func TestOPS18_MetricsExposeTheCatalogue(t *testing.T) {
	t.Parallel()
	svc := lifecycletest.Start(t, run, nil, testEnv(dbtest.URL(t)))
	main := "http://" + svc.Logs.WaitListening(t, "main")
	internal := "http://" + svc.Logs.WaitListening(t, "internal")
	if code, _ := lifecycletest.Get(t, main+"/api/v1/auth/status"); code != 200 {
		t.Fatalf("auth status: %d", code)
	}
	if code, _ := lifecycletest.Get(t, main+"/api/v1/whatever/else"); code != 401 {
		t.Fatalf("unknown API path: %d", code)
	}
	var listed struct {
		OK bool `json:"ok"`
	}
	if code := postJSONWith(t, internal+"/internal/v1/manage/mcpbox_list_servers", map[string]any{
		"arguments": map[string]any{}, "caller": map[string]any{"kind": "local"},
	}, &listed, proto.HeaderServiceToken, backendToken); code != 200 || !listed.OK {
		t.Fatalf("manage: %d %+v", code, listed)
	}

	code, body := lifecycletest.Get(t, internal+"/metrics")
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	types := map[string]string{}
	samples := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "# TYPE "); ok {
			name, typ, _ := strings.Cut(rest, " ")
			types[name] = typ
			continue
		}
		// Label values may hold spaces ("GET /healthz"): the value follows the last one.
		if i := strings.LastIndexByte(line, ' '); i > 0 && !strings.HasPrefix(line, "#") {
			samples[line[:i]] = line[i+1:]
		}
	}
	want := catalogue()
	for name, typ := range want {
		if got, ok := types[name]; !ok || got != typ {
			t.Errorf("%s: exposed as %q (present %v), want %s", name, got, ok, typ)
		}
	}
	for name := range types {
		_, listed := want[name]
		if !listed && !strings.HasPrefix(name, "go_") && !strings.HasPrefix(name, "process_") {
			t.Errorf("%s is exposed but not in backend.md §3", name)
		}
	}
	for series, value := range map[string]string{
		`mcpbox_backend_http_requests_total{code="200",method="GET",route="GET /api/v1/auth/status"}`:                "1",
		`mcpbox_backend_http_requests_total{code="401",method="GET",route="unmatched"}`:                              "1",
		`mcpbox_backend_http_requests_total{code="200",method="POST",route="POST /internal/v1/manage/{tool}"}`:       "1",
		`mcpbox_backend_management_calls_total{result="ok",tool="mcpbox_list_servers"}`:                              "1",
		`mcpbox_backend_admin_logins_total{result="failure"}`:                                                        "0",
		`mcpbox_backend_db_pool_max_connections`:                                                                     "4",
		`mcpbox_backend_schema_version`:                                                                              strconv.FormatInt(db.NewestMigration(), 10),
		`mcpbox_backend_encrypted_values{key_id="1"}`:                                                                "2",
		`mcpbox_backend_retention_deleted_rows_total{table="activity_log"}`:                                          "0",
		`mcpbox_backend_service_token_checks_total{result="current"}`:                                                "1",
		`mcpbox_backend_http_request_duration_seconds_count{method="GET",route="GET /api/v1/auth/status"}`:           "1",
		`mcpbox_backend_db_pool_connections{state="constructing"}`:                                                   "0",
		`mcpbox_backend_csrf_rejections_total`:                                                                       "0",
		`mcpbox_backend_admin_token_reuse_total`:                                                                     "0",
		`mcpbox_backend_approvals_pending{kind="tool"}`:                                                              "0",
		`mcpbox_backend_http_request_duration_seconds_bucket{method="GET",route="GET /api/v1/auth/status",le="300"}`: "1",
	} {
		if got, ok := samples[series]; !ok || got != value {
			t.Errorf("%s = %q (present %v), want %s", series, got, ok, value)
		}
	}
	problems, err := promlint.New(strings.NewReader(body)).Lint()
	if err != nil || len(problems) > 0 {
		t.Errorf("promlint: %v %v", err, problems)
	}
	if err := svc.Stop(); err != nil {
		t.Fatal(err)
	}
}
