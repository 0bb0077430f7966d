package manage

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/gateway/internal/backend"
	"github.com/mcpbox/mcpbox/services/gateway/internal/caller"
)

// TestGW82_ListServersIsForwarded: the call goes to
// /internal/v1/manage/mcpbox_list_servers with its arguments and caller;
// the result is structuredContent plus the same JSON as text.
func TestGW82_ListServersIsForwarded(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	result := `{"items": [{"name": "weather", "status": "running", "note": "<b>&</b>", "n": 9007199254740993}], "next_cursor": null}`
	h.server.Handle("/internal/v1/manage/", manageAnswer(proto.ManageResponse{OK: true, Result: json.RawMessage(result)}))

	r := h.svc.Management(t.Context(), caller.Local(), proto.MgmtListServers, json.RawMessage(`{"limit": 20}`))

	calls := h.manageCalls(t, proto.MgmtListServers)
	if len(calls) != 1 {
		t.Fatalf("backend got %d calls", len(calls))
	}
	if string(calls[0].Arguments) != `{"limit":20}` || calls[0].Caller != (proto.Caller{Kind: proto.CallerLocal}) {
		t.Errorf("forwarded %+v", calls[0])
	}
	want := `{"items":[{"name":"weather","status":"running","note":"<b>&</b>","n":9007199254740993}],"next_cursor":null}`
	if r.IsError || text(t, r) != want {
		t.Errorf("result %v %q", r.IsError, text(t, r))
	}
	if sc, ok := r.StructuredContent.(json.RawMessage); !ok || string(sc) != want {
		t.Errorf("structuredContent = %v", r.StructuredContent)
	}
}

// TestGW83_BackendErrorsKeepEveryField: an error is "Error: <message>",
// "Details:" and the whole error object in _meta; a failed test run is a
// success carrying success:false and its stdout.
func TestGW83_BackendErrorsKeepEveryField(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	codeErr := &proto.Error{
		Code: proto.CodeCodeInvalid, Message: "code: the code does not compile.", Field: "code",
		Details: []proto.FieldError{
			{Field: "code", Message: "line 3:7: undefined: x"},
			{Field: "code", Message: "line 9:1: missing return"},
		},
	}
	h.server.Handle("/internal/v1/manage/mcpbox_create_tool", manageAnswer(proto.ManageResponse{Error: codeErr}))
	args := `{"server_id": "` + sampleID + `", "name": "forecast", "code": "package tool"}`
	r := h.svc.Management(t.Context(), caller.Local(), proto.MgmtCreateTool, json.RawMessage(args))
	want := "Error: code: the code does not compile.\n\nDetails: " +
		`[{"field":"code","message":"line 3:7: undefined: x"},{"field":"code","message":"line 9:1: missing return"}]`
	if !r.IsError || text(t, r) != want {
		t.Errorf("got %v %q\nwant %q", r.IsError, text(t, r), want)
	}
	if r.StructuredContent != nil {
		t.Error("an error result carries structuredContent")
	}
	if got := asJSON(t, r.Meta["io.mcpbox/error"]); got != asJSON(t, codeErr) {
		t.Errorf("_meta error = %s", got)
	}

	h.server.Handle("/internal/v1/manage/mcpbox_test_code", manageAnswer(proto.ManageResponse{
		OK:     true,
		Result: json.RawMessage(`{"success":false,"stdout":"step 1\n","error":{"type":"ToolError","message":"boom","line":4}}`),
	}))
	r = h.svc.Management(t.Context(), caller.Local(), proto.MgmtTestCode, json.RawMessage(`{"tool_id": "`+sampleID+`"}`))
	if r.IsError || !strings.Contains(text(t, r), `"success":false`) || !strings.Contains(text(t, r), `"stdout":"step 1\n"`) {
		t.Errorf("failed test run: %v %q", r.IsError, text(t, r))
	}

	h.server.Handle("/internal/v1/manage/mcpbox_get_tool", manageAnswer(proto.ManageResponse{Error: &proto.Error{
		Code: proto.CodeNotFound, Message: "Tool x not found. Use mcpbox_list_tools to see existing tools.",
	}}))
	r = h.svc.Management(t.Context(), caller.Local(), proto.MgmtGetTool, json.RawMessage(`{"tool_id": "`+sampleID+`"}`))
	if text(t, r) != "Error: Tool x not found. Use mcpbox_list_tools to see existing tools." {
		t.Errorf("an error without details: %q", text(t, r))
	}
}

// TestGW84_ArgumentsAreCheckedBeforeTheBackend: a missing field and an
// out-of-range limit are named without calling the backend.
func TestGW84_ArgumentsAreCheckedBeforeTheBackend(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	tests := []struct {
		tool proto.ManagementTool
		args string
		want string
	}{
		{proto.MgmtCreateTool, `{"server_id": "` + sampleID + `", "name": "forecast"}`, "- /code: required property is missing"},
		{proto.MgmtListServers, `{"limit": 500}`, "- /limit: must be at most 200"},
		{proto.MgmtListServers, `[]`, "Invalid arguments for mcpbox_list_servers: arguments must be a JSON object."},
	}
	for _, tc := range tests {
		r := h.svc.Management(t.Context(), caller.Local(), tc.tool, json.RawMessage(tc.args))
		got := text(t, r)
		if !r.IsError || !strings.HasPrefix(got, "Invalid arguments for "+string(tc.tool)+":") || !strings.Contains(got, tc.want) {
			t.Errorf("%s %s: %q", tc.tool, tc.args, got)
		}
	}
	if n := len(h.server.Requests("/internal/")); n != 0 {
		t.Errorf("backend got %d requests", n)
	}
}

// TestGW85_NotSentAndUnconfirmed: an unreachable backend changed nothing;
// a timeout, a 5xx or a lost answer may have applied the change, and the
// text names the tool to check with. An unknown operation is internal.
func TestGW85_NotSentAndUnconfirmed(t *testing.T) {
	t.Parallel()
	args := json.RawMessage(`{"name": "weather"}`)

	t.Run("unreachable", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		gone := httptest.NewServer(http.NotFoundHandler())
		gone.Close()
		bc, err := backend.New(gone.URL, testToken, prometheus.NewRegistry())
		if err != nil {
			t.Fatal(err)
		}
		h.svc.backend = bc
		r := h.svc.Management(t.Context(), caller.Local(), proto.MgmtCreateServer, args)
		if got := text(t, r); !r.IsError || got != "The MCPbox backend is unreachable; nothing was changed. Retry shortly." {
			t.Errorf("got %q", got)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.server.Handle("/internal/v1/manage/", func(_ http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(30 * time.Second): // only against a hang
			}
		})
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		defer cancel()
		r := h.svc.Management(ctx, caller.Local(), proto.MgmtCreateServer, args)
		want := "The MCPbox backend did not confirm mcpbox_create_server (no answer before the deadline). " +
			"It may have been applied; check with mcpbox_list_servers before retrying."
		if got := text(t, r); !r.IsError || got != want {
			t.Errorf("got %q", got)
		}
		if n := len(h.server.Requests("/internal/v1/manage/")); n != 1 {
			t.Errorf("backend got %d requests, want 1 (never retried)", n)
		}
	})
	t.Run("5xx", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.server.Handle("/internal/v1/manage/", writeJSON(http.StatusServiceUnavailable,
			proto.ErrorBody{Error: proto.Error{Code: proto.CodeUnavailable, Message: "down"}}))
		r := h.svc.Management(t.Context(), caller.Local(), proto.MgmtStartServer, json.RawMessage(`{"server_id": "`+sampleID+`"}`))
		want := "The MCPbox backend did not confirm mcpbox_start_server (HTTP 503 unavailable). " +
			"It may have been applied; check with mcpbox_get_server before retrying."
		if got := text(t, r); got != want {
			t.Errorf("got %q", got)
		}
		if n := len(h.server.Requests("/internal/v1/manage/")); n != 1 {
			t.Errorf("backend got %d requests, want 1 (never retried)", n)
		}
	})
	t.Run("unknown operation", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.server.Handle("/internal/v1/manage/", writeJSON(http.StatusNotFound,
			proto.ErrorBody{Error: proto.Error{Code: proto.CodeUnknownTool, Message: "unknown tool"}}))
		r := h.svc.Management(t.Context(), caller.Local(), proto.MgmtListPackages, json.RawMessage(`{}`))
		if got := text(t, r); !strings.HasPrefix(got, "MCPbox failed internally while running mcpbox_list_packages (request id ") {
			t.Errorf("got %q", got)
		}
		if !strings.Contains(h.logs.String(), `"level":"ERROR"`) {
			t.Error("not logged as an error")
		}
	})
}

// TestGW86_TheAnswerWaitsForItsCatalogRevision: the result of an
// operation carrying catalog_revision is returned only once the catalog
// has reached it (at most 2 s).
func TestGW86_TheAnswerWaitsForItsCatalogRevision(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.cat.release = make(chan struct{})
	h.server.Handle("/internal/v1/manage/", manageAnswer(proto.ManageResponse{
		OK: true, Result: json.RawMessage(`{"changed":true}`), CatalogRevision: 7,
	}))
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.svc.Management(t.Context(), caller.Local(), proto.MgmtStartServer, json.RawMessage(`{"server_id": "`+sampleID+`"}`))
	}()
	deadline := time.After(10 * time.Second)
	for {
		if revs, _ := h.cat.waited(); len(revs) == 1 {
			break
		}
		select {
		case <-done:
			t.Fatal("answered without waiting for the catalog revision")
		case <-deadline:
			t.Fatal("WaitRevision never called")
		case <-time.After(5 * time.Millisecond):
		}
	}
	select {
	case <-done:
		t.Fatal("answered before the catalog reached the revision")
	default:
	}
	close(h.cat.release)
	<-done
	revs, maxWait := h.cat.waited()
	if revs[0] != 7 || maxWait != 2*time.Second {
		t.Errorf("waited for %v up to %v, want 7 up to 2s", revs, maxWait)
	}

	h2 := newHarness(t)
	h2.server.Handle("/internal/v1/manage/", manageAnswer(proto.ManageResponse{OK: true, Result: json.RawMessage(`{}`)}))
	h2.svc.Management(t.Context(), caller.Local(), proto.MgmtListServers, nil)
	if revs, _ := h2.cat.waited(); len(revs) != 0 {
		t.Errorf("an answer without catalog_revision waited for %v", revs)
	}
}

// TestTimeoutsAndReadTools: the forwarding timeouts of §10.1, and every
// tool named by the unconfirmed text is read-only.
func TestTimeoutsAndReadTools(t *testing.T) {
	t.Parallel()
	if Timeout(proto.MgmtTestCode) != 330*time.Second || Timeout(proto.MgmtDiscoverExternalTools) != 90*time.Second ||
		Timeout(proto.MgmtCreateTool) != 30*time.Second {
		t.Error("timeouts differ from gateway.md §10.1")
	}
	for _, tool := range proto.ManagementTools() {
		if tool.ServedByGateway() {
			continue
		}
		if rt := ReadTool(tool); !rt.Def().Annotations.ReadOnlyHint && rt != proto.MgmtTestCode {
			t.Errorf("%s names %s, which is not read-only", tool, rt)
		}
	}
}

// TestManagementCallsAreCounted: server "mcpbox", the tool's name, the
// outcome.
func TestManagementCallsAreCounted(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.server.Handle("/internal/v1/manage/", manageAnswer(proto.ManageResponse{OK: true, Result: json.RawMessage(`{}`)}))
	h.svc.Management(t.Context(), caller.Local(), proto.MgmtListServers, nil)
	h.svc.Management(t.Context(), caller.Local(), proto.MgmtListServers, json.RawMessage(`{"limit": 0}`))
	fams, err := h.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range fams {
		if f.GetName() != "mcpbox_gateway_tool_calls_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			var parts []string
			for _, l := range m.GetLabel() {
				parts = append(parts, l.GetValue())
			}
			got[strings.Join(parts, "/")] = m.GetCounter().GetValue()
		}
	}
	want := map[string]float64{"invalid_arguments/mcpbox/mcpbox_list_servers": 1, "ok/mcpbox/mcpbox_list_servers": 1}
	if asJSON(t, got) != asJSON(t, want) {
		t.Errorf("series = %v, want %v", got, want)
	}
}

// TestReadableJSON: HTML-safe escapes become characters again, every
// other escape stays.
func TestReadableJSON(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		`{"a": "\u003cb\u003e \u0026 \u003C"}`: `{"a":"<b> & <"}`,
		`{"a": "\\u003c", "b": "\"\u003e"}`:    `{"a":"\\u003c","b":"\">"}`,
		`{"\u0026": 1e3}`:                      `{"&":1e3}`,
		`not json`:                             `not json`,
	}
	for in, want := range tests {
		if got := readableJSON(json.RawMessage(in)); got != want {
			t.Errorf("readableJSON(%s) = %s, want %s", in, got, want)
		}
	}
}

// FuzzReadableJSON: the text of a backend result is the same JSON value as
// the result.
func FuzzReadableJSON(f *testing.F) {
	for _, s := range []string{`{"a":"\u003c\\\u0026"}`, `["\u003e",1,{"\u0026":null}]`, `"\\"`, `{"a":"\ud800"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		if !json.Valid([]byte(in)) {
			return
		}
		out := readableJSON(json.RawMessage(in))
		var a, b any
		if json.Unmarshal([]byte(in), &a) != nil {
			return
		}
		if err := json.Unmarshal([]byte(out), &b); err != nil {
			t.Fatalf("%q became invalid JSON %q: %v", in, out, err)
		}
		if asJSON(t, a) != asJSON(t, b) {
			t.Fatalf("%q changed value: %q", in, out)
		}
	})
}
