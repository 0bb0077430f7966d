package toolcall

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/gateway/internal/caller"
	"github.com/mcpbox/mcpbox/services/gateway/internal/records"
)

// TestGW76_RecordsAreRedactedEndToEnd runs a call through the real record
// queue and backend client to a loopback /internal/v1/executions: one
// record with caller, tool, version, via, duration and outcome; sensitive
// keys and the plan's secret value redacted; a 5,000-character string cut.
func TestGW76_RecordsAreRedactedEndToEnd(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.cat.set(snapshot(1, []proto.CatalogTool{withSchema(goTool(), `{"type":"object"}`)}), nil)
	h.backend.Handle(proto.PathInternalExecutions, jsonAnswer(http.StatusOK, proto.ExecutionBatchResult{Accepted: 1}))
	h.sandbox.Handle(proto.PathSandboxExecute, jsonAnswer(http.StatusOK, proto.ExecuteResponse{
		OK: true, Result: json.RawMessage(`{"echo":"key ` + secretValue + `"}`), ContentText: `{"echo":"key"}`,
		Structured: true, Stdout: "using " + secretValue, DurationMS: 3,
	}))
	q := records.New(h.bc, records.Options{BatchDelay: 10 * time.Millisecond}, prometheus.NewRegistry(), h.log)
	ctx, stop := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); q.Run(ctx) }()
	svc := New(h.cat, h.plans, h.sbc, q, h.metrics, h.log)

	long := strings.Repeat("x", 5000)
	args := `{"city":"Oslo","api_key":"k-123456789","Authorization":"Bearer abcdefgh","nested":{"password":"hunter2hunter2"},` +
		`"note":"my key is ` + secretValue + `","long":"` + long + `"}`
	r := svc.Call(requestContext(t, "req-76"), caller.Remote("ann@example.com", ""), forecastName, json.RawMessage(args), proto.ViaRunTool)
	if r.IsError {
		t.Fatalf("call failed: %s", text(t, r))
	}
	closeCtx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := q.Close(closeCtx); err != nil {
		t.Fatal(err)
	}
	stop()
	<-done

	posted := h.backend.Requests(proto.PathInternalExecutions)
	if len(posted) != 1 {
		t.Fatalf("executions posted %d times, want 1", len(posted))
	}
	batch := decodeBody[proto.ExecutionBatch](t, posted[0].Body)
	if len(batch.Records) != 1 {
		t.Fatalf("batch holds %d records", len(batch.Records))
	}
	rec := batch.Records[0]
	if rec.ToolID != goToolID || rec.ToolVersion != 3 || rec.Via != proto.ViaRunTool || !rec.Success ||
		rec.Caller != (proto.Caller{Kind: proto.CallerRemote, Email: "ann@example.com"}) || rec.RequestID != "req-76" ||
		rec.DurationMS < 0 || rec.ExposedName != forecastName {
		t.Errorf("record = %+v", rec)
	}
	in := string(rec.InputArgs)
	for _, leaked := range []string{"k-123456789", "abcdefgh", "hunter2hunter2", secretValue} {
		if strings.Contains(in, leaked) || strings.Contains(string(rec.Result), leaked) || strings.Contains(rec.Stdout, leaked) {
			t.Errorf("record leaks %q: args %s result %s stdout %q", leaked, in, rec.Result, rec.Stdout)
		}
	}
	for _, want := range []string{
		`"api_key":"[REDACTED]"`, `"Authorization":"[REDACTED]"`, `"password":"[REDACTED]"`,
		`"note":"my key is [REDACTED]"`, `"city":"Oslo"`, strings.Repeat("x", 1000) + "…[truncated 4000 chars]",
	} {
		if !strings.Contains(in, want) {
			t.Errorf("input_args %.300s… lack %q", in, want)
		}
	}
	if !strings.Contains(string(rec.Result), "[REDACTED]") || rec.Stdout != "using [REDACTED]" {
		t.Errorf("result %s, stdout %q: the secret value is not redacted", rec.Result, rec.Stdout)
	}
}

// TestSecretValuesIncludeExternalAuth: an external plan's auth header is
// redacted whole and without its scheme.
func TestSecretValuesIncludeExternalAuth(t *testing.T) {
	t.Parallel()
	p := planOf(extTool())
	got := secretValues(&p)
	want := []string{"Bearer " + upstreamTok, upstreamTok}
	if asJSON(t, got) != asJSON(t, want) {
		t.Errorf("secret values = %q, want %q", got, want)
	}
	if secretValues(nil) != nil {
		t.Error("no plan has secret values")
	}
}
