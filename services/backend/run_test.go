package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/db/dbtest"
	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/lifecycle/lifecycletest"
	"github.com/mcpbox/mcpbox/services/backend/internal/seal"
)

const backendToken = "b7e1c2d3a4f5061728394a5b6c7d8e9fb7e1c2d3a4f5061728394a5b6c7d8e9f"

func testEnv(dsn string) map[string]string {
	return map[string]string{
		"MCPBOX_DATABASE_URL":            dsn,
		"MCPBOX_ENCRYPTION_KEY":          "9c1e5f2a7b3d8c4e0f6a1b7c2d8e3f9a4b0c5d1e6f2a7b3c8d4e9f0a5b1c6d2e",
		"MCPBOX_BACKEND_TOKEN":           backendToken,
		"MCPBOX_SANDBOX_TOKEN":           "5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d",
		"MCPBOX_BACKEND_LISTEN":          "127.0.0.1:0",
		"MCPBOX_BACKEND_INTERNAL_LISTEN": "127.0.0.1:0",
		"MCPBOX_DB_MAX_CONNS":            "4",
	}
}

// The backend migrates an empty database at start, then serves the main and
// the internal listener with the routes and guards of backend.md §3.
func TestRunMigratesAndServesBothListeners(t *testing.T) {
	t.Parallel()
	svc := lifecycletest.Start(t, run, nil, testEnv(dbtest.EmptyURL(t)))
	main := "http://" + svc.Logs.WaitListening(t, "main")
	internal := "http://" + svc.Logs.WaitListening(t, "internal")

	for _, base := range []string{main, internal} {
		if code, body := lifecycletest.Get(t, base+"/readyz"); code != 200 || !strings.Contains(body, `"database":"ok"`) || !strings.Contains(body, `"schema":"ok"`) {
			t.Errorf("%s/readyz: %d %s", base, code, body)
		}
	}
	// The main listener never exposes the internal API or the metrics.
	for _, p := range []string{"/metrics", proto.PathInternalCatalog, "/internal/v1/manage/mcpbox_list_servers"} {
		if code, _ := lifecycletest.Get(t, main+p, proto.HeaderServiceToken, backendToken); code != 404 {
			t.Errorf("main %s: %d, want 404", p, code)
		}
	}
	if code, body := lifecycletest.Get(t, main+"/api/v1/servers"); code != 401 || !strings.Contains(body, `"code":"unauthenticated"`) {
		t.Errorf("/api/v1 without a session: %d %s", code, body)
	}
	if code, body := lifecycletest.Get(t, main+"/api/v1/auth/status"); code != 200 || !strings.Contains(body, `"setup_required":true`) {
		t.Errorf("/api/v1/auth/status: %d %s", code, body)
	}
	// The internal listener: token-guarded /internal/v1, metrics, 404 elsewhere.
	if code, body := lifecycletest.Get(t, internal+proto.PathInternalCatalog); code != 401 || !strings.Contains(body, `"code":"unauthenticated"`) {
		t.Errorf("internal without token: %d %s", code, body)
	}
	// BE-91: the same requests the main listener refuses are served here.
	if code, body := lifecycletest.Get(t, internal+proto.PathInternalCatalog, proto.HeaderServiceToken, backendToken); code != 200 || !strings.Contains(body, `"revision"`) {
		t.Errorf("internal catalog with token: %d %s", code, body)
	}
	var listed struct {
		OK bool `json:"ok"`
	}
	if code := postJSONWith(t, internal+"/internal/v1/manage/mcpbox_list_servers", map[string]any{
		"arguments": map[string]any{}, "caller": map[string]any{"kind": "local"},
	}, &listed, proto.HeaderServiceToken, backendToken); code != 200 || !listed.OK {
		t.Errorf("internal manage with token: %d %+v", code, listed)
	}
	if code, body := lifecycletest.Get(t, internal+"/metrics"); code != 200 || !strings.Contains(body, "mcpbox_backend_build_info{") {
		t.Errorf("internal /metrics: %d", code)
	}
	if code, _ := lifecycletest.Get(t, internal+"/api/v1/servers"); code != 404 {
		t.Errorf("internal /api/v1: %d, want 404", code)
	}
	if err := svc.Stop(); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(svc.Logs.String(), `"msg":"migration applied"`); n != int(db.NewestMigration()) {
		t.Errorf("%d migrations logged, want %d", n, db.NewestMigration())
	}
}

// OPS-22: without its database the backend's /readyz answers 503 naming the
// failing check, while /healthz stays 200.
func TestOPS22_ReadyzWithoutDatabase(t *testing.T) {
	t.Parallel()
	dsn := dbtest.URL(t)
	svc := lifecycletest.Start(t, run, nil, testEnv(dsn))
	main := "http://" + svc.Logs.WaitListening(t, "main")
	if code, _ := lifecycletest.Get(t, main+"/readyz"); code != 200 {
		t.Fatalf("readyz with a database: %d", code)
	}
	dbtest.Drop(t, dsn)
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body := lifecycletest.Get(t, main+"/readyz")
		if code == 503 && strings.Contains(body, `"failing":"database"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("readyz after the database went away: %d %s", code, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code, _ := lifecycletest.Get(t, main+"/healthz"); code != 200 {
		t.Errorf("healthz: %d", code)
	}
}

// OPS-37: a binary below the schema floor refuses to start, naming both
// numbers; one a migration behind the database starts with a WARN.
func TestOPS37_SchemaFloorAndAhead(t *testing.T) {
	t.Parallel()
	newest := db.NewestMigration()
	t.Run("below floor", func(t *testing.T) {
		t.Parallel()
		dsn := dbtest.URL(t)
		dbtest.Exec(t, dsn, "UPDATE mcpbox_schema_floor SET version = $1", newest+1)
		_, err := lifecycletest.Run(t, run, nil, testEnv(dsn))
		var floor *db.FloorError
		if !errors.As(err, &floor) || !strings.Contains(err.Error(), strconv.FormatInt(newest+1, 10)) ||
			!strings.Contains(err.Error(), strconv.FormatInt(newest, 10)) {
			t.Fatalf("start below the floor: %v", err)
		}
	})
	t.Run("one behind", func(t *testing.T) {
		t.Parallel()
		dsn := dbtest.URL(t)
		dbtest.Exec(t, dsn, "INSERT INTO goose_db_version (version_id, is_applied) VALUES ($1, true)", newest+1)
		svc := lifecycletest.Start(t, run, nil, testEnv(dsn))
		svc.Logs.WaitListening(t, "main")
		if !strings.Contains(svc.Logs.String(), `"level":"WARN","msg":"database schema is ahead of this binary`) {
			t.Errorf("no WARN:\n%s", svc.Logs.String())
		}
		if err := svc.Stop(); err != nil {
			t.Fatal(err)
		}
	})
}

// OPS-11 for `backend migrate`: it needs only the database URL and the key.
func TestMigrateSubcommandNeedsOnlyStoreVariables(t *testing.T) {
	t.Parallel()
	dsn := dbtest.EmptyURL(t)
	env := map[string]string{"MCPBOX_DATABASE_URL": dsn, "MCPBOX_ENCRYPTION_KEY": testEnv("")["MCPBOX_ENCRYPTION_KEY"]}
	if _, err := lifecycletest.Run(t, run, []string{"migrate", "check"}, env); err == nil {
		t.Fatal("migrate check passed on an empty database")
	}
	if _, err := lifecycletest.Run(t, run, []string{"migrate"}, env); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	if _, err := lifecycletest.Run(t, run, []string{"migrate", "check"}, env); err != nil {
		t.Fatalf("migrate check after migrate: %v", err)
	}
	if _, err := lifecycletest.Run(t, run, []string{"migrate", "down"}, env); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("migrate down outside dev mode: %v", err)
	}
}

// Startup steps 4, 5 and 7 (backend.md §3, §7.1): the key check and a
// signing key are created on first start; while no admin exists the derived
// setup code is logged, a configured MCPBOX_SETUP_CODE never is; a start
// with another encryption key exits with the key-mismatch message (BE-60).
func TestBE60_StartupKeysAndSetupCode(t *testing.T) {
	t.Parallel()
	url := dbtest.URL(t)
	env := testEnv(url)
	keys, err := seal.New(1, env["MCPBOX_ENCRYPTION_KEY"], "")
	if err != nil {
		t.Fatal(err)
	}
	svc := lifecycletest.Start(t, run, nil, env)
	svc.Logs.WaitListening(t, "main")
	if !strings.Contains(svc.Logs.String(), "enter the setup code "+keys.SetupCode()) {
		t.Errorf("derived setup code not logged:\n%s", svc.Logs.String())
	}
	if err := svc.Stop(); err != nil {
		t.Fatal(err)
	}
	var checks, signingKeys int
	dbtest.QueryRow(t, url, "SELECT (SELECT count(*) FROM settings WHERE key = 'encryption_key_check'), (SELECT count(*) FROM signing_keys WHERE retired_at IS NULL)",
		[]any{&checks, &signingKeys})
	if checks != 1 || signingKeys != 1 {
		t.Errorf("key check rows %d, active signing keys %d", checks, signingKeys)
	}

	env["MCPBOX_SETUP_CODE"] = "configured-setup-code-1234"
	again := lifecycletest.Start(t, run, nil, env)
	again.Logs.WaitListening(t, "main")
	if logs := again.Logs.String(); strings.Contains(logs, "configured-setup-code-1234") || !strings.Contains(logs, "enter MCPBOX_SETUP_CODE") {
		t.Errorf("configured setup code handling:\n%s", logs)
	}
	if err := again.Stop(); err != nil {
		t.Fatal(err)
	}

	env["MCPBOX_ENCRYPTION_KEY"] = "4f1a9c2e7b3d5f8a0c6e1b4d7f2a9c3e5b8d0f6a1c4e7b2d9f3a5c8e0b6d1f4a"
	logs, err := lifecycletest.Run(t, run, nil, env)
	if err == nil || !strings.Contains(err.Error()+logs.String(), "MCPBOX_ENCRYPTION_KEY does not match the key this database was created with (key id 1)") {
		t.Errorf("start with another key: %v\n%s", err, logs.String())
	}
}

// postJSON posts body to url and decodes the JSON answer into out.
func postJSON(t *testing.T, url string, body, out any) int {
	t.Helper()
	return postJSONWith(t, url, body, out)
}

// postJSONWith is postJSON with header name, value pairs.
func postJSONWith(t *testing.T, url string, body, out any, header ...string) int {
	t.Helper()
	raw, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	if out != nil {
		_ = json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

// BE-64: /internal/v1 answers 401 unauthenticated without the service token
// or with a wrong one, and an admin's access token is no substitute.
func TestBE64_InternalAPINeedsTheServiceToken(t *testing.T) {
	t.Parallel()
	env := testEnv(dbtest.URL(t))
	env["MCPBOX_SETUP_CODE"] = "be64-setup-code-0123456789"
	svc := lifecycletest.Start(t, run, nil, env)
	main := "http://" + svc.Logs.WaitListening(t, "main")
	internal := "http://" + svc.Logs.WaitListening(t, "internal")
	if code := postJSON(t, main+"/api/v1/auth/setup", map[string]string{
		"username": "admin", "password": "correct horse battery", "setup_code": env["MCPBOX_SETUP_CODE"],
	}, nil); code != http.StatusCreated {
		t.Fatalf("setup: %d", code)
	}
	var login struct {
		AccessToken string `json:"access_token"`
	}
	if code := postJSON(t, main+"/api/v1/auth/login", map[string]string{"username": "admin", "password": "correct horse battery"}, &login); code != http.StatusOK || login.AccessToken == "" {
		t.Fatalf("login: %d", code)
	}
	for name, header := range map[string][]string{
		"no token":           nil,
		"wrong token":        {proto.HeaderServiceToken, strings.Repeat("f", 64)},
		"admin access token": {"Authorization", "Bearer " + login.AccessToken},
	} {
		code, body := lifecycletest.Get(t, internal+proto.PathInternalCatalog, header...)
		if code != http.StatusUnauthorized || !strings.Contains(body, `"code":"unauthenticated"`) {
			t.Errorf("%s: %d %s", name, code, body)
		}
	}
}
