package caller_test

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// value returns the value of one labelled counter series of reg.
func value(t *testing.T, reg *prometheus.Registry, name, label, want string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == want {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("no series %s{%s=%q}", name, label, want)
	return 0
}

// mcpbox_gateway_auth_failures_total starts with every reason at zero and
// passes promlint.
func TestAuthFailuresMetric(t *testing.T) {
	t.Parallel()
	rm := newRemote(t, nil)
	want := `
# HELP mcpbox_gateway_auth_failures_total Refused /mcp requests by authentication or authorization reason.
# TYPE mcpbox_gateway_auth_failures_total counter
mcpbox_gateway_auth_failures_total{reason="bad_identity_header"} 0
mcpbox_gateway_auth_failures_total{reason="missing_token"} 0
mcpbox_gateway_auth_failures_total{reason="no_email"} 0
mcpbox_gateway_auth_failures_total{reason="not_allowed"} 0
mcpbox_gateway_auth_failures_total{reason="throttled"} 0
mcpbox_gateway_auth_failures_total{reason="wrong_token"} 0
`
	if err := testutil.GatherAndCompare(rm.reg, strings.NewReader(want), "mcpbox_gateway_auth_failures_total"); err != nil {
		t.Error(err)
	}
	problems, err := testutil.GatherAndLint(rm.reg)
	if err != nil || len(problems) != 0 {
		t.Errorf("promlint: %v %v", problems, err)
	}
}
