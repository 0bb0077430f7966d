package executions_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/db/dbtest"
	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/redact"
	"github.com/mcpbox/mcpbox/services/backend/internal/executions"
	"github.com/mcpbox/mcpbox/services/backend/internal/seal"
	"github.com/mcpbox/mcpbox/services/backend/internal/secrets"
)

const testKey = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

// secretValue has characters that URL encoding changes.
const secretValue = "p@ss/w0rd+Sec=ret&42"

type fixture struct {
	url     string
	store   *db.Store
	secrets *secrets.Service
	svc     *executions.Service
	reg     *prometheus.Registry
	srv     *httptest.Server
}

// newFixture is the ingestion handler on loopback over a fresh migrated
// database, as the internal listener mounts it.
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
	sec := secrets.New(store, keys)
	svc := executions.New(store, sec)
	reg := prometheus.NewRegistry()
	if err := svc.Instrument(reg, nil); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST "+proto.PathInternalExecutions, svc.IngestHandler())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return fixture{url: url, store: store, secrets: sec, svc: svc, reg: reg, srv: srv}
}

// server creates a server with secrets (name → value).
func (f fixture) server(t *testing.T, name string, values map[string]string) uuid.UUID {
	t.Helper()
	var id uuid.UUID
	dbtest.QueryRow(t, f.url, "INSERT INTO servers (name) VALUES ($1) RETURNING id", []any{&id}, name)
	who := secrets.Audit{Actor: "admin:alice", RequestID: "req-1"}
	for n, v := range values {
		if _, err := f.secrets.Create(t.Context(), who, id, secrets.CreateInput{Name: n, Value: &v}); err != nil {
			t.Fatal(err)
		}
	}
	return id
}

// tool creates a Go tool on a server.
func (f fixture) tool(t *testing.T, server uuid.UUID, name string) uuid.UUID {
	t.Helper()
	var id uuid.UUID
	dbtest.QueryRow(t, f.url, `WITH t AS (INSERT INTO tools (server_id, name) VALUES ($1, $2) RETURNING id)
		INSERT INTO tool_versions (tool_id, version, code, manifest, hash)
		SELECT t.id, 1, 'package main', '{}', 'sha256:' || repeat('ab', 32) FROM t RETURNING tool_id`, []any{&id}, server, name)
	return id
}

// post sends a raw body; it returns the status and the raw answer.
func (f fixture) post(t *testing.T, contentType string, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, f.srv.URL+proto.PathInternalExecutions, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(raw)
}

// ingest sends a batch and decodes the 200 answer.
func (f fixture) ingest(t *testing.T, records ...any) proto.ExecutionBatchResult {
	t.Helper()
	raw, err := json.Marshal(map[string]any{"records": records})
	if err != nil {
		t.Fatal(err)
	}
	status, body := f.post(t, "application/json", raw)
	if status != http.StatusOK {
		t.Fatalf("ingest: %d %s", status, body)
	}
	var res proto.ExecutionBatchResult
	if err := json.Unmarshal([]byte(body), &res); err != nil {
		t.Fatal(err)
	}
	return res
}

// stored reads one stored record.
func (f fixture) stored(t *testing.T, id string) executions.Record {
	t.Helper()
	r, err := f.svc.Get(t.Context(), uuid.MustParse(id))
	if err != nil {
		t.Fatalf("record %s: %v", id, err)
	}
	return r
}

func (f fixture) counter(t *testing.T, result string) float64 {
	t.Helper()
	mfs, err := f.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if m.GetLabel()[0].GetValue() == result {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no series for result %s", result)
	return 0
}

// record is a valid gateway record of server/tool.
func record(server, tool uuid.UUID, name string) proto.ExecutionRecord {
	return proto.ExecutionRecord{
		ID: uuid.NewString(), ToolID: tool.String(), ServerID: server.String(), ToolVersion: 1,
		ToolHash: "sha256:" + strings.Repeat("ab", 32), ExposedName: name, Via: proto.ViaDirect,
		Caller: proto.Caller{Kind: proto.CallerLocal}, Success: true, DurationMS: 12,
		StartedAt: time.Now().Add(-time.Second).UTC(), RequestID: "req-" + name,
	}
}

// TestBE61_SecretFormsRedactedInStdout: the value, its URL-encoded form and
// base64("user:"+value) are all replaced by [REDACTED:<NAME>] in stdout, as
// in error, result and input_args (keys included).
func TestBE61_SecretFormsRedactedInStdout(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	srv := f.server(t, "weather", map[string]string{"API_KEY": secretValue, "OTHER": "unused-value-1234"})
	basic := base64.StdEncoding.EncodeToString([]byte("user:" + secretValue))
	rec := record(srv, f.tool(t, srv, "forecast"), "weather__forecast")
	rec.Stdout = "plain " + secretValue + "\nquery ?k=" + url.QueryEscape(secretValue) + "\nAuthorization: Basic " + basic + "\n"
	rec.Error = "call failed with key " + secretValue
	rec.Success, rec.ErrorCode = false, "tool_error"
	rec.Result = json.RawMessage(fmt.Sprintf(`{"echo":[%q,{"%s":1.50}]}`, url.PathEscape(secretValue), secretValue))
	rec.InputArgs = json.RawMessage(fmt.Sprintf(`{"q":"x %s y"}`, secretValue))
	if res := f.ingest(t, rec); res.Accepted != 1 || len(res.Rejected) != 0 {
		t.Fatalf("result %+v", res)
	}
	got := f.stored(t, rec.ID)
	if n := strings.Count(*got.Stdout, "[REDACTED:API_KEY]"); n != 3 {
		t.Errorf("stdout has %d redactions, want 3: %q", n, *got.Stdout)
	}
	if !strings.HasPrefix(*got.Stdout, "plain [REDACTED:API_KEY]\nquery ?k=[REDACTED:API_KEY]\nAuthorization: Basic ") {
		t.Errorf("stdout %q", *got.Stdout)
	}
	if *got.Error != "call failed with key [REDACTED:API_KEY]" {
		t.Errorf("error %q", *got.Error)
	}
	var result map[string]any
	if err := json.Unmarshal(got.Result, &result); err != nil {
		t.Fatal(err)
	}
	echo := result["echo"].([]any)
	if echo[0] != "[REDACTED:API_KEY]" || echo[1].(map[string]any)["[REDACTED:API_KEY]"] != 1.5 {
		t.Errorf("result %s", got.Result)
	}
	if string(got.InputArgs) != `{"q": "x [REDACTED:API_KEY] y"}` {
		t.Errorf("input_args %s", got.InputArgs)
	}
	all := *got.Stdout + *got.Error + string(got.Result) + string(got.InputArgs)
	for _, form := range redact.Forms(secretValue) {
		if strings.Contains(all, form) {
			t.Errorf("form %q of the secret was stored", form)
		}
	}
}

// TestBE62_SensitiveKeysRedacted: password, api_key, clientSecret and
// items[0].token are replaced whatever their type; author and monkey are
// kept.
func TestBE62_SensitiveKeysRedacted(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	srv := f.server(t, "crm", nil)
	rec := record(srv, f.tool(t, srv, "lookup"), "crm__lookup")
	rec.InputArgs = json.RawMessage(`{"password":"hunter2","api_key":"k-1","clientSecret":{"v":1},` +
		`"items":[{"token":"t-1","name":"n"},"token"],"author":"Ann","monkey":"George","nested":{"Authorization":["a","b"]}}`)
	f.ingest(t, rec)
	var got map[string]any
	if err := json.Unmarshal(f.stored(t, rec.ID).InputArgs, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"password": "[REDACTED]", "api_key": "[REDACTED]", "clientSecret": "[REDACTED]",
		"items":  []any{map[string]any{"token": "[REDACTED]", "name": "n"}, "token"},
		"author": "Ann", "monkey": "George", "nested": map[string]any{"Authorization": "[REDACTED]"},
	}
	if g, w := mustJSON(t, got), mustJSON(t, want); g != w {
		t.Errorf("input_args\n got %s\nwant %s", g, w)
	}
}

// TestBE63_RedactionBeforeTruncation: a secret straddling the 500-character
// cut of an argument leaves no prefix behind; a 12,000-byte result is stored
// as {_truncated, _preview}; error and stdout are cut to their limits.
func TestBE63_RedactionBeforeTruncation(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	srv := f.server(t, "files", map[string]string{"TOKEN_VALUE": secretValue})
	rec := record(srv, f.tool(t, srv, "upload"), "files__upload")
	arg := strings.Repeat("a", 490) + secretValue + strings.Repeat("b", 100)
	rec.InputArgs = json.RawMessage(fmt.Sprintf(`{"body":%q}`, arg))
	big := `{"data":"` + strings.Repeat("x", 12_000-len(`{"data":""}`)) + `"}`
	rec.Result = json.RawMessage(big)
	rec.Error = strings.Repeat("é", 6000)
	rec.Stdout = strings.Repeat("o", 9995) + secretValue
	f.ingest(t, rec)
	got := f.stored(t, rec.ID)
	var args map[string]string
	if err := json.Unmarshal(got.InputArgs, &args); err != nil {
		t.Fatal(err)
	}
	want := strings.Repeat("a", 490) + "[REDACTED:" + executions.TruncatedSuffix
	if args["body"] != want {
		t.Errorf("body %q, want %q", args["body"], want)
	}
	if strings.Contains(args["body"], secretValue[:8]) {
		t.Error("a prefix of the secret survived the cut")
	}
	var result struct {
		Truncated bool   `json:"_truncated"`
		Preview   string `json:"_preview"`
	}
	dec := json.NewDecoder(bytes.NewReader(got.Result))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&result); err != nil {
		t.Fatalf("result %s: %v", got.Result, err)
	}
	if !result.Truncated || result.Preview != big[:executions.ResultPreviewChars] {
		t.Errorf("result %+v", result)
	}
	if *got.Error != strings.Repeat("é", executions.MaxErrorChars) {
		t.Errorf("error of %d characters", len([]rune(*got.Error)))
	}
	if *got.Stdout != strings.Repeat("o", 9995)+"[REDA" {
		t.Errorf("stdout ends %q", (*got.Stdout)[9990:])
	}
}

// TestBE70_BadRecordDoesNotRejectTheBatch: the valid records are stored, the
// bad one is reported by index; sending the batch again counts the stored
// ones as duplicates; the metric counts every result; one NOTIFY per batch.
func TestBE70_BadRecordDoesNotRejectTheBatch(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	notes := dbtest.Listen(t, f.url, executions.NotifyChannel)
	srv := f.server(t, "weather", nil)
	tool := f.tool(t, srv, "forecast")
	a, c := record(srv, tool, "weather__forecast"), record(srv, tool, "weather__forecast")
	bad := record(srv, tool, "weather__forecast")
	bad.ID = "not-a-uuid"
	batch := []any{a, bad, c}
	res := f.ingest(t, batch...)
	if res.Accepted != 2 || res.Duplicates != 0 || len(res.Rejected) != 1 {
		t.Fatalf("first send %+v", res)
	}
	if r := res.Rejected[0]; r.Index != 1 || r.Code != proto.CodeValidationFailed || !strings.HasPrefix(r.Message, "id: ") {
		t.Errorf("rejected %+v", r)
	}
	select {
	case p := <-notes:
		var n struct{ Count, MinSeq, MaxSeq int64 }
		if err := json.Unmarshal([]byte(p), &n); err != nil || n.Count != 2 {
			t.Errorf("notify payload %s", p)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no NOTIFY for the batch")
	}
	res = f.ingest(t, batch...)
	if res.Accepted != 0 || res.Duplicates != 2 || len(res.Rejected) != 1 || res.Rejected[0].Index != 1 {
		t.Fatalf("second send %+v", res)
	}
	select {
	case p := <-notes:
		t.Errorf("NOTIFY for a batch of duplicates: %s", p)
	case <-time.After(300 * time.Millisecond):
	}
	var n int
	dbtest.QueryRow(t, f.url, "SELECT count(*) FROM execution_records", []any{&n})
	if n != 2 {
		t.Errorf("%d rows stored", n)
	}
	for result, want := range map[string]float64{"accepted": 2, "duplicate": 2, "rejected": 2} {
		if got := f.counter(t, result); got != want {
			t.Errorf("executions_ingested_total{result=%q} = %v, want %v", result, got, want)
		}
	}
}

// TestBE71_AttributionByToolID: two servers each with a tool forecast; each
// record keeps the tool and server ids the gateway sent, and is redacted
// with its own server's secrets only.
func TestBE71_AttributionByToolID(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	const alphaSecret, betaSecret = "alpha-secret-value", "beta-secret-value"
	alpha := f.server(t, "alpha", map[string]string{"KEY": alphaSecret})
	beta := f.server(t, "beta", map[string]string{"KEY": betaSecret})
	alphaTool, betaTool := f.tool(t, alpha, "forecast"), f.tool(t, beta, "forecast")
	ra, rb := record(alpha, alphaTool, "alpha__forecast"), record(beta, betaTool, "beta__forecast")
	ra.Stdout = alphaSecret + " " + betaSecret
	rb.Stdout = alphaSecret + " " + betaSecret
	// A record whose tool was deleted since: still stored, as sent.
	gone := record(beta, uuid.New(), "beta__forecast")
	if res := f.ingest(t, ra, rb, gone); res.Accepted != 3 {
		t.Fatalf("result %+v", res)
	}
	for _, c := range []struct {
		rec          proto.ExecutionRecord
		tool, server string
		stdout       string
	}{
		{ra, alphaTool.String(), alpha.String(), "[REDACTED:KEY] " + betaSecret},
		{rb, betaTool.String(), beta.String(), alphaSecret + " [REDACTED:KEY]"},
		{gone, gone.ToolID, beta.String(), ""},
	} {
		got := f.stored(t, c.rec.ID)
		if got.ToolID.String() != c.tool || got.ServerID.String() != c.server || got.ExposedName != c.rec.ExposedName {
			t.Errorf("record %s attributed to tool %s server %s", c.rec.ExposedName, got.ToolID, got.ServerID)
		}
		if c.stdout != "" && *got.Stdout != c.stdout {
			t.Errorf("stdout of %s: %q, want %q", c.rec.ExposedName, *got.Stdout, c.stdout)
		}
	}
	for _, tool := range []uuid.UUID{alphaTool, betaTool} {
		page, err := f.svc.List(t.Context(), executions.Filter{ToolID: &tool}, 10, "")
		if err != nil || len(page.Items) != 1 || *page.Items[0].ToolID != tool {
			t.Errorf("list by tool %s: %+v, %v", tool, page.Items, err)
		}
	}
}

// Every field rule of a record is its own rejection, naming the field; the
// stored fields equal the record's.
func TestRecordValidation(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	srv := f.server(t, "weather", nil)
	tool := f.tool(t, srv, "forecast")
	good := record(srv, tool, "weather__forecast")
	good.Caller = proto.Caller{Kind: proto.CallerRemote, Email: "Alice@Example.com", Sub: "sub-1"}
	good.Via = proto.ViaRunTool
	raw := func(mut func(m map[string]any)) map[string]any {
		var m map[string]any
		b, _ := json.Marshal(record(srv, tool, "weather__forecast"))
		_ = json.Unmarshal(b, &m)
		mut(m)
		return m
	}
	cases := []struct {
		field string
		rec   any
	}{
		{"id", raw(func(m map[string]any) { delete(m, "id") })},
		{"tool_id", raw(func(m map[string]any) { m["tool_id"] = "forecast" })},
		{"server_id", raw(func(m map[string]any) { m["server_id"] = "{" + srv.String() + "}" })},
		{"tool_version", raw(func(m map[string]any) { m["tool_version"] = -1 })},
		{"tool_version", raw(func(m map[string]any) { m["tool_version"] = "1" })},
		{"tool_hash", raw(func(m map[string]any) { m["tool_hash"] = "sha256 x" })},
		{"exposed_name", raw(func(m map[string]any) { delete(m, "exposed_name") })},
		{"via", raw(func(m map[string]any) { m["via"] = "test" })},
		{"caller.kind", raw(func(m map[string]any) { m["caller"] = map[string]any{"kind": "admin"} })},
		{"caller.kind", raw(func(m map[string]any) { delete(m, "caller") })},
		{"caller.email", raw(func(m map[string]any) { m["caller"] = map[string]any{"kind": "remote", "email": "nope"} })},
		{"error_code", raw(func(m map[string]any) { m["error_code"] = "Timeout" })},
		{"duration_ms", raw(func(m map[string]any) { m["duration_ms"] = -5 })},
		{"started_at", raw(func(m map[string]any) { delete(m, "started_at") })},
		{"started_at", raw(func(m map[string]any) { m["started_at"] = time.Now().Add(10 * time.Minute).Format(time.RFC3339) })},
		{"request_id", raw(func(m map[string]any) { m["request_id"] = "bad id" })},
		{"input_args", raw(func(m map[string]any) { m["input_args"] = json.RawMessage(`{"n":1e400}`) })},
		{"extra", raw(func(m map[string]any) { m["extra"] = true })},
	}
	batch := []any{good}
	for _, c := range cases {
		batch = append(batch, c.rec)
	}
	res := f.ingest(t, batch...)
	if res.Accepted != 1 || len(res.Rejected) != len(cases) {
		t.Fatalf("result %+v", res)
	}
	for i, r := range res.Rejected {
		if r.Index != i+1 || r.Code != proto.CodeValidationFailed || !strings.HasPrefix(r.Message, cases[i].field+": ") {
			t.Errorf("case %d (%s): %+v", i, cases[i].field, r)
		}
	}
	got := f.stored(t, good.ID)
	var nulls bool
	dbtest.QueryRow(t, f.url, "SELECT input_args IS NULL AND result IS NULL FROM execution_records WHERE id = $1", []any{&nulls}, good.ID)
	if !nulls {
		t.Error("absent input_args and result are not stored as NULL")
	}
	if got.Via != proto.ViaRunTool || got.CallerKind != proto.CallerRemote || *got.CallerEmail != "alice@example.com" ||
		*got.CallerSub != "sub-1" || *got.ToolVersion != 1 || *got.ToolHash != good.ToolHash || !got.Success ||
		got.DurationMS != 12 || good.StartedAt.Sub(got.StartedAt).Abs() >= time.Microsecond || *got.RequestID != good.RequestID ||
		got.IsTest || got.ErrorCode != nil || got.Error != nil || got.InputArgs != nil || got.Result != nil || got.Stdout != nil {
		t.Errorf("stored %+v", got)
	}
}

// A body that is not a batch stores nothing and answers in the shared error
// shape.
func TestBatchErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	rec, _ := json.Marshal(record(uuid.New(), uuid.New(), "a__b"))
	many := `{"records":[` + strings.TrimSuffix(strings.Repeat(string(rec)+",", 501), ",") + `]}`
	for _, c := range []struct {
		name, ct, body string
		status         int
		code, field    string
	}{
		{"media type", "text/plain", `{"records":[]}`, http.StatusUnsupportedMediaType, proto.CodeUnsupportedMediaType, ""},
		{"syntax", "application/json", `{"records":[`, http.StatusBadRequest, proto.CodeInvalidJSON, ""},
		{"duplicate key", "application/json", `{"records":[],"records":[]}`, http.StatusBadRequest, proto.CodeInvalidJSON, ""},
		{"empty", "application/json", `{"records":[]}`, http.StatusBadRequest, proto.CodeValidationFailed, "records"},
		{"absent", "application/json", `{}`, http.StatusBadRequest, proto.CodeValidationFailed, "records"},
		{"unknown", "application/json", `{"records":[{}],"more":1}`, http.StatusBadRequest, proto.CodeValidationFailed, "more"},
		{"501", "application/json", many, http.StatusBadRequest, proto.CodeValidationFailed, "records"},
		{
			"too large", "application/json", `{"records":["` + strings.Repeat("x", proto.MaxExecutionBatchBytes) + `"]}`,
			http.StatusRequestEntityTooLarge, proto.CodeRequestTooLarge, "",
		},
	} {
		status, raw := f.post(t, c.ct, []byte(c.body))
		var eb proto.ErrorBody
		if err := json.Unmarshal([]byte(raw), &eb); err != nil || status != c.status || eb.Error.Code != c.code || eb.Error.Field != c.field {
			t.Errorf("%s: %d %s", c.name, status, raw)
		}
	}
	var n int
	dbtest.QueryRow(t, f.url, "SELECT count(*) FROM execution_records", []any{&n})
	if n != 0 {
		t.Errorf("%d rows stored", n)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
