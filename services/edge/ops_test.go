package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/mcpbox/mcpbox/proto/lifecycle/lifecycletest"
)

// OPS-22 (edge): before its first JWKS load (the identity provider does not
// answer) the edge's /readyz answers 503 naming the key set, while
// /healthz stays 200 and /health (the public liveness route) still serves.
func TestOPS22_EdgeNotReadyBeforeItsFirstKeySet(t *testing.T) {
	t.Parallel()
	e := startEdge(t, map[string]string{"MCPBOX_EDGE_ISSUER": "http://127.0.0.1:1", "MCPBOX_TEST_NO_WAIT": "1"})
	code, body := lifecycletest.Get(t, e.Admin+"/readyz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "not_ready") || !strings.Contains(strings.ToLower(body), "jwks") {
		t.Errorf("/readyz before the first key set: %d %s, want 503 naming the JWKS", code, body)
	}
	if code, body := lifecycletest.Get(t, e.Admin+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz: %d %s, want 200", code, body)
	}
}
