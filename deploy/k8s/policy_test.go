package k8s_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mcpbox/mcpbox/deploy/k8s/check"
	"github.com/mcpbox/mcpbox/deploy/k8s/promrule"
)

// TestOPS26_PoliciesHold proves every §4.6 policy holds for every object of base, dev and prod (OPS-26, OPS-27,
// OPS-29, OPS-30), and that the policy list is the full §4.6 set (so none is silently dropped).
func TestOPS26_PoliciesHold(t *testing.T) {
	t.Parallel()
	if n := len(check.Policies()); n != 21 {
		t.Errorf("%d policies, want the 21 of §4.6", n)
	}
	for _, r := range renderings() {
		t.Run(r.dir, func(t *testing.T) {
			t.Parallel()
			for _, p := range check.Run(load(t, r.dir), r.profile) {
				t.Error(p)
			}
		})
	}
}

// TestOPS26_NegativeFixtures proves each policy fails on its fixture under testdata/bad, with a problem naming the
// object ("Kind/name") and the rule.
func TestOPS26_NegativeFixtures(t *testing.T) {
	t.Parallel()
	base := check.Profile{}
	dev := check.Profile{Overlay: true, Dev: true, Namespace: "mcpbox-dev"}
	prod := check.Profile{Overlay: true, Prod: true, Namespace: "mcpbox"}
	tests := []struct {
		fixture, policy string
		profile         check.Profile
		want            string
	}{
		{"no-limits", "resources", base, "Deployment/mcpbox-gateway: container gateway: resources: cpu requests and limits are required"},
		{"limits-below-requests", "resources", base, "Deployment/mcpbox-edge: container edge: resources: memory limit 128Mi is below the request 1Gi"},
		{"probe-undeclared-port", "probes", base, "Deployment/mcpbox-backend: container backend: readinessProbe: port metrics is not a declared container port"},
		{"root-user", "security-context", base, "Deployment/mcpbox-sandbox: securityContext: runAsUser, runAsGroup and fsGroup must be 65532"},
		{"grace-period", "rollout", base, "Deployment/mcpbox-gateway: terminationGracePeriodSeconds must be 75"},
		{"automount-on", "automount", base, "Deployment/mcpbox-edge: pod automountServiceAccountToken must be false"},
		{"shared-service-account", "service-account", base, `Deployment/mcpbox-edge: serviceAccountName must be its own, mcpbox-edge, got "mcpbox-gateway"`},
		{"latest-tag", "images", base, `Deployment/mcpbox-sandbox: container sandbox: image "mcpbox/sandbox:latest": the latest tag is forbidden`},
		{"mixed-versions", "images", dev, "images: one MCPbox version per overlay, found 0.1.0-dev, 0.2.0"},
		// OPS-27
		{"extra-pdb", "pdb", base, "Deployment/mcpbox-gateway: must be selected by exactly one PodDisruptionBudget, got 2"},
		{"no-networkpolicy", "network-policy", base, "Deployment/mcpbox-sandbox: must be selected by exactly one non-default NetworkPolicy, got 0"},
		{"no-hpa", "hpa", base, "Deployment/mcpbox-sandbox: must have exactly one HorizontalPodAutoscaler, got 0"},
		{"prod-hpa-min1", "hpa", prod, "HorizontalPodAutoscaler/mcpbox-gateway: prod: minReplicas must be at least 2"},
		{"prod-no-spread", "spread", prod, "Deployment/mcpbox-edge: prod: topologySpreadConstraints on topology.kubernetes.io/zone"},
		{"selector-mismatch", "services", base, "Service/mcpbox-backend: selector map[app.kubernetes.io/component:backnd app.kubernetes.io/name:mcpbox] matches no pod template"},
		{"bad-targetport", "services", base, "Service/mcpbox-edge: port admin: targetPort adminn is not declared by Deployment/mcpbox-edge"},
		// OPS-29
		{"secret-object", "no-secret-objects", base, "Secret/mcpbox-secrets: no Secret is ever committed"},
		{"extra-secret-key", "secret-keys", base, "Deployment/mcpbox-gateway: secret key database-url is not in its §4.3 allowlist"},
		{"secret-in-configmap", "secret-keys", base, "ConfigMap/mcpbox-sandbox-config-"},
		{"ingress-to-backend", "ingress", base, "Ingress/mcpbox-edge: path /admin: backend must be Service mcpbox-edge port http"},
		{"nodeport", "service-type", base, "Service/mcpbox-edge: type NodePort is forbidden"},
		// OPS-30
		{"job-backoff", "job", base, "Job/mcpbox-migrate: backoffLimit 2, activeDeadlineSeconds 600 and ttlSecondsAfterFinished 86400 are required"},
		{"migrate-on-start", "settings", base, `Deployment/mcpbox-backend: container backend: MCPBOX_MIGRATE_ON_START must be "false", got "true"`},
		// OPS-43
		{"gateway-main-port", "settings", base, `Deployment/mcpbox-gateway: container gateway: MCPBOX_BACKEND_INTERNAL_URL must be "http://mcpbox-backend:8004"`},
		{"monitoring-main-port", "monitoring", prod, "ServiceMonitor/mcpbox-backend: must scrape port internal of Service mcpbox-backend"},
		{"service-links", "settings", base, "Deployment/mcpbox-sandbox: enableServiceLinks must be false"},
		{"psa-baseline", "psa", dev, "Namespace/mcpbox-dev: label pod-security.kubernetes.io/enforce must be restricted"},
		{"missing-label", "labels", base, "Service/mcpbox-edge: labels: app.kubernetes.io/name=mcpbox, app.kubernetes.io/part-of=mcpbox"},
	}
	covered := map[string]bool{}
	for _, tt := range tests {
		covered[tt.policy] = true
	}
	for _, p := range check.Policies() {
		if !covered[p.Name] {
			t.Errorf("policy %s has no negative fixture", p.Name)
		}
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			t.Parallel()
			pol, ok := check.PolicyByName(tt.policy)
			if !ok {
				t.Fatalf("no policy %q", tt.policy)
			}
			got := pol.Check(load(t, filepath.Join("testdata", "bad", tt.fixture)), tt.profile)
			for _, p := range got {
				if strings.Contains(p, tt.want) {
					return
				}
			}
			t.Errorf("policy %s on %s: want a problem containing %q, got %q", tt.policy, tt.fixture, tt.want, got)
		})
	}
}

// TestOPS27_DisruptionAndScaling proves, beyond the policies, the concrete numbers: in every rendering each
// Deployment has one PDB and one NetworkPolicy; in prod the replicas follow §4.2 and the HPAs are 3–10 and 3–20.
func TestOPS27_DisruptionAndScaling(t *testing.T) {
	t.Parallel()
	for _, r := range renderings() {
		t.Run(r.dir, func(t *testing.T) {
			t.Parallel()
			o := load(t, r.dir)
			for _, name := range []string{"pdb", "network-policy", "hpa", "spread"} {
				pol, _ := check.PolicyByName(name)
				for _, p := range pol.Check(o, r.profile) {
					t.Error(p)
				}
			}
			want := map[string]int32{"mcpbox-backend": 1, "mcpbox-gateway": 1, "mcpbox-sandbox": 1, "mcpbox-edge": 1}
			if r.profile.Prod {
				want = map[string]int32{"mcpbox-backend": 2, "mcpbox-gateway": 3, "mcpbox-sandbox": 3, "mcpbox-edge": 2}
			}
			for _, d := range o.Deployments {
				if d.Spec.Replicas == nil || *d.Spec.Replicas != want[d.Name] {
					t.Errorf("Deployment/%s: replicas %v, want %d", d.Name, d.Spec.Replicas, want[d.Name])
				}
			}
			if !r.profile.Prod {
				return
			}
			ranges := map[string][2]int32{}
			for _, h := range o.HPAs {
				ranges[h.Name] = [2]int32{*h.Spec.MinReplicas, h.Spec.MaxReplicas}
			}
			if ranges["mcpbox-gateway"] != [2]int32{3, 10} || ranges["mcpbox-sandbox"] != [2]int32{3, 20} {
				t.Errorf("prod HPA ranges %v, want gateway 3–10 and sandbox 3–20", ranges)
			}
		})
	}
}

// TestOPS29_NoSecretsUnderDeploy proves no file under deploy/ is a Secret or carries data:/stringData:, and that the
// scan finds the committed Secret of the secret-object fixture, naming the file and the rule.
func TestOPS29_NoSecretsUnderDeploy(t *testing.T) {
	t.Parallel()
	got, err := check.ScanSecrets(check.DeployRoot)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range got {
		t.Error(p)
	}
	bad, err := check.ScanSecrets(filepath.Join("testdata", "bad", "secret-object"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"secret.yaml (document 1): is a Secret; secrets are never committed (§4.3)",
		"secret.yaml (document 1): has stringData:; no secret values under deploy/ (§4.3)",
	}
	if strings.Join(bad, "\n") != strings.Join(want, "\n") {
		t.Errorf("scan of the secret-object fixture:\n got %q\nwant %q", bad, want)
	}
}

// TestOPS29_SecretKeysAndIngress proves each component references exactly its §4.3 keys (positive side of the
// secret-keys policy, listed per component) and that prod serves the three §4.5 paths from one TLS Ingress.
func TestOPS29_SecretKeysAndIngress(t *testing.T) {
	t.Parallel()
	o := load(t, "overlays/prod")
	for _, w := range o.Workloads() {
		var keys []string
		for _, e := range w.Pod.Spec.Containers[0].Env {
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				keys = append(keys, e.ValueFrom.SecretKeyRef.Key)
			}
		}
		comp, _ := componentNamed(w.Component)
		if len(keys) != len(comp.Secrets) {
			t.Errorf("%s: secret keys %v, want exactly %v", w.Ref(), keys, comp.Secrets)
		}
	}
	if len(o.Ingresses) != 1 {
		t.Fatalf("%d Ingresses, want 1", len(o.Ingresses))
	}
	ing := o.Ingresses[0]
	if len(ing.Spec.Rules) != 1 || len(ing.Spec.Rules[0].HTTP.Paths) != 3 || ing.Spec.TLS[0].SecretName != "mcpbox-edge-tls" {
		t.Errorf("Ingress/%s: want one host rule with the three §4.5 paths and TLS secret mcpbox-edge-tls", ing.Name)
	}
}

func componentNamed(name string) (check.Component, bool) {
	for _, c := range check.Components() {
		if c.Name == name {
			return c, true
		}
	}
	return check.Component{}, false
}

// TestOPS30_JobAndMigrateOnStart proves in every rendering the migrate Job has backoffLimit 2, a deadline and a TTL,
// and the backend's environment sets MCPBOX_MIGRATE_ON_START=false.
func TestOPS30_JobAndMigrateOnStart(t *testing.T) {
	t.Parallel()
	for _, r := range renderings() {
		t.Run(r.dir, func(t *testing.T) {
			t.Parallel()
			o := load(t, r.dir)
			j := o.Jobs[0]
			if *j.Spec.BackoffLimit != 2 || *j.Spec.ActiveDeadlineSeconds != 600 || *j.Spec.TTLSecondsAfterFinished != 86400 {
				t.Errorf("Job/%s: backoffLimit %d, deadline %d, ttl %d", j.Name, *j.Spec.BackoffLimit,
					*j.Spec.ActiveDeadlineSeconds, *j.Spec.TTLSecondsAfterFinished)
			}
			for _, d := range o.Deployments {
				if d.Name == "mcpbox-backend" {
					if v := o.Env(d.Spec.Template.Spec.Containers[0])["MCPBOX_MIGRATE_ON_START"]; v != "false" {
						t.Errorf("Deployment/mcpbox-backend: MCPBOX_MIGRATE_ON_START=%q, want false", v)
					}
				}
			}
		})
	}
}

// TestOPS30_PrometheusRuleMatchesRulesYAML proves the rendered PrometheusRule's spec.groups equal
// deploy/prometheus/rules.yaml's groups as parsed data, and that a stale PrometheusRule fixture is reported.
func TestOPS30_PrometheusRuleMatchesRulesYAML(t *testing.T) {
	t.Parallel()
	rules, err := os.ReadFile(filepath.Join("..", "prometheus", "rules.yaml"))
	if err != nil {
		t.Fatalf("rules.yaml: %v", err)
	}
	o := load(t, "overlays/prod")
	if len(o.PrometheusRules) != 1 {
		t.Fatalf("%d PrometheusRules in prod, want 1", len(o.PrometheusRules))
	}
	if err := promrule.Drift(rules, o.PrometheusRules[0].Spec.Groups); err != nil {
		t.Error(err)
	}
	if len(o.PrometheusRules[0].Spec.Groups) == 0 {
		t.Error("PrometheusRule/mcpbox: no groups")
	}

	bad := filepath.Join("testdata", "bad", "rule-drift")
	staleRules, err := os.ReadFile(filepath.Join(bad, "rules.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	docs, err := check.RenderFiles(filepath.Join(bad, "prometheusrule.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	stale, err := check.Decode(docs)
	if err != nil {
		t.Fatal(err)
	}
	err = promrule.Drift(staleRules, stale.PrometheusRules[0].Spec.Groups)
	if err == nil || !strings.Contains(err.Error(), `PrometheusRule/mcpbox: spec.groups[0].rules[0].for differs from rules.yaml (regenerate with `+
		"`cd deploy && GOWORK=off go run ./k8s/cmd/genrule`): rules.yaml has \"5m\", the PrometheusRule \"2m\"") {
		t.Errorf("drift fixture: got %v, want the differing group named", err)
	}
}

// TestOPS30_GeneratedRuleIsFresh proves the committed prometheusrule.yaml is byte-identical to what genrule writes
// from rules.yaml now (make generate leaves it unchanged).
func TestOPS30_GeneratedRuleIsFresh(t *testing.T) {
	t.Parallel()
	rules, err := os.ReadFile(filepath.Join("..", "prometheus", "rules.yaml"))
	if err != nil {
		t.Fatalf("rules.yaml: %v", err)
	}
	want, err := promrule.Build(rules)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join("components", "monitoring", "prometheusrule.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Error("components/monitoring/prometheusrule.yaml is stale: run `cd deploy && GOWORK=off go run ./k8s/cmd/genrule`")
	}
}
