package k8s_test

import (
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/mcpbox/mcpbox/deploy/k8s/check"
)

// expectedFor transcribes §4.4 for one rendering's pods.
func expectedFor(o *check.Objects, db string) []check.Arrow {
	var comps []string
	for _, w := range o.Workloads() {
		comps = append(comps, w.Component)
	}
	return check.Expected(comps, db)
}

// readableDiff prints the matrix problems and both matrices, line by line.
func readableDiff(t *testing.T, problems []string, got check.Matrix, want []check.Arrow) {
	t.Helper()
	t.Errorf("reachability differs from §4.4:\n  %s\n\ncomputed:\n  %s\n\n§4.4:\n  %s", strings.Join(problems, "\n  "),
		strings.Join(got.Lines(), "\n  "), strings.Join(check.ExpectedLines(want), "\n  "))
}

// TestOPS28_ReachabilityMatchesSpec proves, for base, dev and prod, that what every pod can reach (among our pods,
// the ingress controller, prometheus, kube-dns, public, private, metadata, CGNAT and ULA addresses and the IDP) under
// the rendered NetworkPolicies equals the §4.4 table exactly, and spells out the arrows OPS-28 names.
func TestOPS28_ReachabilityMatchesSpec(t *testing.T) {
	t.Parallel()
	tcp := func(n int32) check.Port { return check.Port{Protocol: corev1.ProtocolTCP, Number: n} }
	for _, r := range renderings() {
		t.Run(r.dir, func(t *testing.T) {
			t.Parallel()
			o := load(t, r.dir)
			got := check.Reach(o, r.profile.Namespace)
			want := expectedFor(o, r.db)
			if ps := check.CompareReach(got, want); len(ps) > 0 {
				readableDiff(t, ps, got, want)
			}
			for _, c := range []struct {
				src, dst string
				port     check.Port
				allowed  bool
			}{
				{"sandbox", check.Public, tcp(443), true},
				{"sandbox", check.Public, tcp(80), true},
				{"sandbox", check.Public6, tcp(443), true},
				{"sandbox", check.Private, tcp(443), false},
				{"sandbox", check.Metadata, tcp(80), false},
				{"sandbox", check.CGNAT, tcp(443), false},
				{"sandbox", check.ULA6, tcp(443), false},
				{"sandbox", check.ManagedDB, tcp(5432), false},
				{"sandbox", "backend", tcp(8004), false},
				{"sandbox", "gateway", tcp(8003), false},
				{"edge", "backend", tcp(8000), false},
				{"edge", "backend", tcp(8004), false},
				{"edge", check.IDP, tcp(443), true},
				{"gateway", check.ManagedDB, tcp(5432), false},
				{"gateway", "postgres", tcp(5432), false},
				{check.IngressController, "backend", tcp(8000), false},
				{check.IngressController, "edge", tcp(8080), true},
			} {
				if got.Allowed(c.src, c.dst, c.port) != c.allowed {
					t.Errorf("%s -> %s %s: allowed=%v, §4.4 says %v", c.src, c.dst, c.port, !c.allowed, c.allowed)
				}
			}
		})
	}
}

// TestOPS43_BackendListeners proves in every rendering that gateway → backend:8000 is denied and :8004 allowed,
// Prometheus reaches backend:8004 but not :8000, and the backend Service exposes http 8000 and internal 8004.
func TestOPS43_BackendListeners(t *testing.T) {
	t.Parallel()
	tcp := func(n int32) check.Port { return check.Port{Protocol: corev1.ProtocolTCP, Number: n} }
	for _, r := range renderings() {
		t.Run(r.dir, func(t *testing.T) {
			t.Parallel()
			o := load(t, r.dir)
			m := check.Reach(o, r.profile.Namespace)
			for _, c := range []struct {
				src     string
				port    int32
				allowed bool
			}{{"gateway", 8000, false}, {"gateway", 8004, true}, {check.Prometheus, 8004, true}, {check.Prometheus, 8000, false}} {
				if m.Allowed(c.src, "backend", tcp(c.port)) != c.allowed {
					t.Errorf("%s -> backend:%d: allowed=%v, want %v", c.src, c.port, !c.allowed, c.allowed)
				}
			}
			ports := map[string]int32{}
			for _, s := range o.Services {
				if s.Name == "mcpbox-backend" {
					for _, p := range s.Spec.Ports {
						ports[p.Name] = p.Port
					}
				}
			}
			if len(ports) != 2 || ports["http"] != 8000 || ports["internal"] != 8004 {
				t.Errorf("Service/mcpbox-backend ports %v, want http 8000 and internal 8004", ports)
			}
			for _, d := range o.Deployments {
				if d.Name == "mcpbox-gateway" {
					if u := o.Env(d.Spec.Template.Spec.Containers[0])["MCPBOX_BACKEND_INTERNAL_URL"]; u != "http://mcpbox-backend:8004" {
						t.Errorf("Deployment/mcpbox-gateway: MCPBOX_BACKEND_INTERNAL_URL=%q", u)
					}
				}
			}
			for _, sm := range o.ServiceMonitors {
				if sm.Name == "mcpbox-backend" && sm.Spec.Endpoints[0].Port != "internal" {
					t.Errorf("ServiceMonitor/mcpbox-backend scrapes %q, want internal", sm.Spec.Endpoints[0].Port)
				}
			}
		})
	}
}

// TestOPS28_WidenedPathFails proves the matrix check catches an extra allow: the fixture lets the gateway reach the
// backend's main port, and the problem names that connection and both NetworkPolicies that allowed it.
func TestOPS28_WidenedPathFails(t *testing.T) {
	t.Parallel()
	o := load(t, filepath.Join("testdata", "bad", "widen-gateway-backend"))
	got := check.CompareReach(check.Reach(o, "mcpbox-dev"), expectedFor(o, "postgres"))
	want := `NetworkPolicy/mcpbox-gateway: gateway -> backend TCP/8000 allowed but §4.4 denies it (egress by "mcpbox-gateway", ingress by "mcpbox-backend")`
	if len(got) != 1 || got[0] != want {
		t.Errorf("widened fixture:\n got %q\nwant [%q]", got, want)
	}
}
