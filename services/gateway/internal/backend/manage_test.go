package backend

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/proto"
)

// manageReq is a typical management call.
func manageReq() proto.ManageRequest {
	return proto.ManageRequest{
		Arguments: json.RawMessage(`{"name":"weather"}`),
		Caller:    proto.Caller{Kind: proto.CallerRemote, Email: "alice@example.com"},
	}
}

func TestManageAnswers(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		switch strings.TrimPrefix(r.URL.Path, "/internal/v1/manage/") {
		case string(proto.MgmtCreateServer):
			writeJSON(w, http.StatusOK, proto.ManageResponse{OK: true, Result: json.RawMessage(`{"id":"s1"}`), CatalogRevision: 12})
		case string(proto.MgmtDeleteServer):
			writeJSON(w, http.StatusOK, proto.ManageResponse{OK: false, Error: &proto.Error{
				Code: proto.CodeHasDependents, Message: "Server has tools.", Details: []proto.FieldError{{Field: "server_id", Message: "x"}},
			}})
		}
	})
	c, _ := newClient(t, f.srv.URL)

	resp, err := c.Manage(t.Context(), proto.MgmtCreateServer, manageReq(), time.Second)
	if err != nil || !resp.OK || string(resp.Result) != `{"id":"s1"}` || resp.CatalogRevision != 12 {
		t.Fatalf("ok answer = %+v, %v", resp, err)
	}
	r := f.requests()[0]
	if r.method != http.MethodPost || r.path != "/internal/v1/manage/mcpbox_create_server" {
		t.Errorf("request %s %s", r.method, r.path)
	}
	var sent proto.ManageRequest
	if err := json.Unmarshal(r.body, &sent); err != nil || string(sent.Arguments) != `{"name":"weather"}` ||
		sent.Caller != (proto.Caller{Kind: proto.CallerRemote, Email: "alice@example.com"}) {
		t.Errorf("body %s (%v)", r.body, err)
	}

	resp, err = c.Manage(t.Context(), proto.MgmtDeleteServer, proto.ManageRequest{Caller: proto.Caller{Kind: proto.CallerLocal}}, 0)
	if err != nil || resp.OK || resp.Error == nil || resp.Error.Code != proto.CodeHasDependents || len(resp.Error.Details) != 1 {
		t.Fatalf("tool-level error = %+v, %v; want it returned as an answer with every field", resp, err)
	}
	if body := string(f.requests()[1].body); !strings.Contains(body, `"arguments":{}`) {
		t.Errorf("absent arguments sent as %s, want {}", body)
	}
	if got := count(c, EndpointManage, resultOK); got != 2 {
		t.Errorf("manage ok = %v, want 2", got)
	}
}

// TestManageErrorClasses: the failure classes of gateway.md §10.2, each
// after exactly one request (management calls are never retried).
func TestManageErrorClasses(t *testing.T) {
	t.Parallel()
	// The fake reads the whole request before calling a handler.
	hijackClose := func(w http.ResponseWriter, _ *http.Request) {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			_ = conn.Close()
		}
	}
	for _, tc := range []struct {
		name      string
		handle    http.HandlerFunc // nil: nothing listens
		timeout   time.Duration
		kind      ManageErrorKind
		cause     string
		result    string
		wantCalls int
	}{
		{name: "connection refused", kind: ManageNotSent, cause: "backend unreachable", result: resultTransport},
		{
			name: "closed after reading", handle: hijackClose,
			kind: ManageUnconfirmed, cause: "the connection was lost", result: resultTransport, wantCalls: 1,
		},
		{
			name: "5xx", kind: ManageUnconfirmed, cause: "HTTP 503 unavailable", result: resultHTTPError, wantCalls: 1,
			handle: func(w http.ResponseWriter, _ *http.Request) {
				writeError(w, http.StatusServiceUnavailable, proto.CodeUnavailable, "The database is unavailable.")
			},
		},
		{
			name: "timeout", timeout: 100 * time.Millisecond, kind: ManageUnconfirmed, cause: "no answer within 100ms",
			result: resultTimeout, wantCalls: 1,
			handle: func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() },
		},
		{
			name: "unknown tool", kind: ManageUnknownTool, cause: "HTTP 404 unknown_tool", result: resultHTTPError, wantCalls: 1,
			handle: func(w http.ResponseWriter, _ *http.Request) {
				writeError(w, http.StatusNotFound, proto.CodeUnknownTool, "Unknown tool: mcpbox_get_server")
			},
		},
		{
			name: "refused", kind: ManageRefused, cause: "HTTP 401 unauthenticated", result: resultHTTPError, wantCalls: 1,
			handle: func(w http.ResponseWriter, _ *http.Request) {
				writeError(w, http.StatusUnauthorized, proto.CodeUnauthenticated, "missing or invalid service token")
			},
		},
		{
			name: "unreadable 200", kind: ManageUnconfirmed, cause: "unreadable answer", result: resultHTTPError, wantCalls: 1,
			handle: func(w http.ResponseWriter, _ *http.Request) {
				writeJSON(w, http.StatusOK, map[string]any{"ok": false})
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			url := ""
			var f *fake
			if tc.handle == nil {
				url = closedURL(t)
			} else {
				f = newFake(t, tc.handle)
				url = f.srv.URL
			}
			c, _ := newClient(t, url)
			timeout := tc.timeout
			if timeout == 0 {
				timeout = 5 * time.Second
			}
			_, err := c.Manage(t.Context(), proto.MgmtGetServer, manageReq(), timeout)
			var me *ManageError
			if !errors.As(err, &me) || me.Kind != tc.kind || me.Cause != tc.cause || me.Tool != proto.MgmtGetServer {
				t.Fatalf("err = %v, want kind %s cause %q", err, tc.kind, tc.cause)
			}
			if got := count(c, EndpointManage, tc.result); got != 1 {
				t.Errorf("manage %s = %v, want 1", tc.result, got)
			}
			if f != nil {
				if n := len(f.requests()); n != tc.wantCalls {
					t.Errorf("the backend saw %d requests, want %d", n, tc.wantCalls)
				}
			}
		})
	}
}

func TestManageRejectsNonManagementName(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(http.ResponseWriter, *http.Request) {})
	c, _ := newClient(t, f.srv.URL)
	_, err := c.Manage(t.Context(), proto.ManagementTool("mcpbox_nope"), manageReq(), 0)
	var me *ManageError
	if !errors.As(err, &me) || me.Kind != ManageUnknownTool {
		t.Fatalf("err = %v, want ManageUnknownTool", err)
	}
	if n := len(f.requests()); n != 0 {
		t.Errorf("%d requests sent for an invalid name", n)
	}
}
