package backend

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/proto"
)

var testToolID = uuid.MustParse("0b7d2d1e-3f0a-4c55-9a51-6f0c1d2e3f40")

// testPlan is the plan of testToolID v3, with a secret.
func testPlan() proto.Plan {
	return proto.Plan{
		ToolID: testToolID.String(), ServerID: "5f0e0a7c-1111-4222-8333-944455556666", ServerName: "weather",
		Name: "weather__forecast", Kind: proto.ToolKindGo, Version: 3, Hash: "sha256:" + strings.Repeat("ab", 32),
		Code: "package main", Secrets: map[string]string{"API_KEY": "s3cret-value-123"},
		Limits: proto.Limits{TimeoutMS: 1000, MemoryMB: 64},
	}
}

func TestPlan(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		want := "/internal/v1/tools/" + testToolID.String() + "/plan"
		if r.URL.Path != want {
			writeError(w, http.StatusNotFound, proto.CodeNotFound, "Tool x not found.")
			return
		}
		switch r.URL.Query().Get("version") {
		case "3":
			w.Header().Set("Cache-Control", "no-store")
			writeJSON(w, http.StatusOK, testPlan())
		case "4":
			writeError(w, http.StatusNotFound, proto.CodeNotFound, "Tool "+testToolID.String()+" not found.")
		case "5":
			writeError(w, http.StatusConflict, proto.CodeNotExecutable, "Server 'weather' is stopped; start it with mcpbox_start_server.")
		case "6":
			writeError(w, http.StatusConflict, proto.CodeSecretMissing, "Secret 'API_KEY' of server 'weather' has no value.")
		case "7":
			writeError(w, http.StatusConflict, proto.CodeSourceAuthFailed, "External source 'github' needs an admin to sign in again.")
		case "8":
			writeError(w, http.StatusServiceUnavailable, proto.CodeUnavailable, "The database is unavailable.")
		case "9":
			writeJSON(w, http.StatusOK, testPlan()) // version 3's plan for version 9
		case "10":
			w.WriteHeader(http.StatusConflict) // no envelope
		}
	})
	c, _ := newClient(t, f.srv.URL)
	ctx := t.Context()

	p, err := c.Plan(ctx, testToolID, 3)
	if err != nil || p.Hash != testPlan().Hash || p.Secrets["API_KEY"] != "s3cret-value-123" || p.Code != "package main" {
		t.Fatalf("Plan v3 = %+v, %v", p, err)
	}
	if r := f.requests()[0]; r.query != "version=3" || r.method != http.MethodGet {
		t.Errorf("request %s ?%s", r.method, r.query)
	}

	_, err = c.Plan(ctx, testToolID, 4)
	var nc *NotCallableError
	if !errors.As(err, &nc) || nc.ToolID != testToolID || nc.Version != 4 || !strings.Contains(nc.Message, "not found") {
		t.Errorf("404: err = %v, want *NotCallableError", err)
	}

	for version, code := range map[int]string{5: proto.CodeNotExecutable, 6: proto.CodeSecretMissing, 7: proto.CodeSourceAuthFailed} {
		_, err = c.Plan(ctx, testToolID, version)
		var pr *PlanRefusedError
		if !errors.As(err, &pr) || pr.Code != code || pr.Message == "" || pr.Version != version {
			t.Errorf("409 %s: err = %v, want *PlanRefusedError", code, err)
		}
	}

	_, err = c.Plan(ctx, testToolID, 8)
	var he *HTTPError
	if !errors.As(err, &he) || he.Status != http.StatusServiceUnavailable || he.Code != proto.CodeUnavailable {
		t.Errorf("503: err = %v, want *HTTPError", err)
	}

	_, err = c.Plan(ctx, testToolID, 9)
	var me *MalformedError
	if !errors.As(err, &me) || me.Endpoint != EndpointPlan {
		t.Errorf("plan of another version: err = %v, want *MalformedError", err)
	}
	if err != nil && strings.Contains(err.Error(), "s3cret") {
		t.Errorf("the error shows a secret: %v", err)
	}

	_, err = c.Plan(ctx, testToolID, 10)
	if !errors.As(err, &he) || he.Status != http.StatusConflict {
		t.Errorf("409 without envelope: err = %v, want *HTTPError", err)
	}

	if got := count(c, EndpointPlan, resultOK); got != 1 {
		t.Errorf("plan ok = %v, want 1", got)
	}
	if got := count(c, EndpointPlan, resultHTTPError); got != 7 {
		t.Errorf("plan http_error = %v, want 7", got)
	}
}

func TestPlanBackendDown(t *testing.T) {
	t.Parallel()
	c, _ := newClient(t, closedURL(t))
	_, err := c.Plan(t.Context(), testToolID, 1)
	var te *TransportError
	if !errors.As(err, &te) || te.Sent || te.Timeout {
		t.Fatalf("err = %#v, want an unsent transport error", err)
	}
	if got := count(c, EndpointPlan, resultTransport); got != 1 {
		t.Errorf("plan transport = %v, want 1", got)
	}
}
