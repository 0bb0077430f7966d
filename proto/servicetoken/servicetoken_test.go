package servicetoken_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/servicetoken"
)

const (
	oldToken = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"
	newToken = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9"
)

func call(t *testing.T, h http.Handler, token string) int {
	t.Helper()
	r := httptest.NewRequestWithContext(context.Background(), http.MethodPost, "/v1/execute", nil)
	if token != "" {
		r.Header.Set(proto.HeaderServiceToken, token)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Code
}

// OPS-39: during a rotation both values are accepted and counted apart;
// once PREVIOUS is cleared the old value is refused with 401.
func TestOPS39_RotationAcceptsBothThenOnlyCurrent(t *testing.T) {
	t.Parallel()
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })

	reg := prometheus.NewRegistry()
	during := servicetoken.New(reg, "sandbox", newToken, oldToken).Guard(ok)
	for token, want := range map[string]int{newToken: 204, oldToken: 204, "": 401, "wrong": 401, newToken + "x": 401} {
		if got := call(t, during, token); got != want {
			t.Errorf("during rotation, token %.8q: status %d, want %d", token, got, want)
		}
	}
	want := `
# HELP mcpbox_sandbox_service_token_checks_total Service-token checks on this receiver, by result.
# TYPE mcpbox_sandbox_service_token_checks_total counter
mcpbox_sandbox_service_token_checks_total{result="current"} 1
mcpbox_sandbox_service_token_checks_total{result="invalid"} 2
mcpbox_sandbox_service_token_checks_total{result="missing"} 1
mcpbox_sandbox_service_token_checks_total{result="previous"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Error(err)
	}

	after := servicetoken.New(prometheus.NewRegistry(), "sandbox", newToken, "").Guard(ok)
	if got := call(t, after, oldToken); got != http.StatusUnauthorized {
		t.Errorf("old token after rotation: %d, want 401", got)
	}
	if got := call(t, after, newToken); got != http.StatusNoContent {
		t.Errorf("new token after rotation: %d, want 204", got)
	}
}

func TestAuthorizationHeaderIsNotACarrier(t *testing.T) {
	t.Parallel()
	c := servicetoken.New(prometheus.NewRegistry(), "backend", newToken, "")
	h := c.Guard(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	r := httptest.NewRequestWithContext(context.Background(), http.MethodGet, "/internal/v1/catalog", nil)
	r.Header.Set("Authorization", "Bearer "+newToken)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), `"code":"unauthenticated"`) {
		t.Errorf("Authorization accepted as a service token: %d %s", w.Code, w.Body)
	}
	if strings.Contains(w.Body.String(), newToken) {
		t.Error("refusal echoes the token")
	}
}

func TestEmptyPreviousNeverMatchesEmpty(t *testing.T) {
	t.Parallel()
	c := servicetoken.New(prometheus.NewRegistry(), "backend", newToken, "")
	if got := c.Check(""); got != servicetoken.Missing {
		t.Errorf("Check(\"\") = %s", got)
	}
}
