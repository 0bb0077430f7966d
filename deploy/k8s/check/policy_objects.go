package check

import (
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// selects reports whether a label selector (nil selects nothing) matches the labels.
func selects(sel *metav1.LabelSelector, l map[string]string) bool {
	if sel == nil {
		return false
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return false
	}
	return s.Matches(labels.Set(l))
}

func isEmptySelector(sel metav1.LabelSelector) bool {
	return len(sel.MatchLabels) == 0 && len(sel.MatchExpressions) == 0
}

// checkPDBs: each Deployment is selected by exactly one PDB, with maxUnavailable 1.
func checkPDBs(o *Objects, _ Profile) []string {
	var ps problems
	for _, d := range o.Deployments {
		var names []string
		for _, pdb := range o.PDBs {
			if selects(pdb.Spec.Selector, d.Spec.Template.Labels) {
				names = append(names, pdb.Name)
				if pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.String() != "1" {
					ps.addf("PodDisruptionBudget/"+pdb.Name, "maxUnavailable must be 1 (§4.2)")
				}
			}
		}
		if len(names) != 1 {
			ps.addf("Deployment/"+d.Name, "must be selected by exactly one PodDisruptionBudget, got %d %v", len(names), names)
		}
	}
	return ps
}

// checkNetworkPolicyCoverage: a default-deny policy (empty selector, Ingress and Egress, no rules) exists, and every
// workload is selected by exactly one NetworkPolicy with a non-empty pod selector. Policies with an empty selector are
// the namespace-wide ones (default-deny, DNS).
func checkNetworkPolicyCoverage(o *Objects, _ Profile) []string {
	var ps problems
	deny := false
	for _, np := range o.NetworkPolicies {
		if isEmptySelector(np.Spec.PodSelector) && len(np.Spec.Ingress) == 0 && len(np.Spec.Egress) == 0 &&
			slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) &&
			slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeEgress) {
			deny = true
		}
	}
	if !deny {
		ps.addf("NetworkPolicy/default-deny", "a default-deny policy selecting every pod for Ingress and Egress is required (§4.4)")
	}
	for _, w := range o.Workloads() {
		var names []string
		for _, np := range o.NetworkPolicies {
			if !isEmptySelector(np.Spec.PodSelector) && selects(&np.Spec.PodSelector, w.Pod.Labels) {
				names = append(names, np.Name)
			}
		}
		if len(names) != 1 {
			ps.addf(w.Ref(), "must be selected by exactly one non-default NetworkPolicy, got %d %v", len(names), names)
		}
	}
	return ps
}

// checkHPAs: the gateway and the sandbox have autoscaling/v2 HPAs on CPU; in prod they follow the §4.2 table with
// minReplicas ≥ 2 and a 300 s scale-down stabilization.
func checkHPAs(o *Objects, p Profile) []string {
	var ps problems
	for _, comp := range Components() {
		if comp.HPA.Max == 0 {
			continue
		}
		ref := "Deployment/" + comp.ObjectName()
		found := 0
		for _, h := range o.HPAs {
			if h.Spec.ScaleTargetRef.Kind != "Deployment" || h.Spec.ScaleTargetRef.Name != comp.ObjectName() {
				continue
			}
			found++
			href := "HorizontalPodAutoscaler/" + h.Name
			if len(h.Spec.Metrics) != 1 || h.Spec.Metrics[0].Resource == nil || h.Spec.Metrics[0].Resource.Name != corev1.ResourceCPU ||
				h.Spec.Metrics[0].Resource.Target.AverageUtilization == nil ||
				*h.Spec.Metrics[0].Resource.Target.AverageUtilization != comp.HPA.CPU {
				ps.addf(href, "metrics: CPU utilization %d%% (§4.2)", comp.HPA.CPU)
			}
			if !p.Prod {
				continue
			}
			if h.Spec.MinReplicas == nil || *h.Spec.MinReplicas < 2 {
				ps.addf(href, "prod: minReplicas must be at least 2")
			}
			if h.Spec.MinReplicas == nil || *h.Spec.MinReplicas != comp.HPA.Min || h.Spec.MaxReplicas != comp.HPA.Max {
				ps.addf(href, "prod: replicas %d–%d (§4.2)", comp.HPA.Min, comp.HPA.Max)
			}
			b := h.Spec.Behavior
			if b == nil || b.ScaleDown == nil || b.ScaleDown.StabilizationWindowSeconds == nil || *b.ScaleDown.StabilizationWindowSeconds != 300 {
				ps.addf(href, "prod: scaleDown stabilizationWindowSeconds must be 300")
			}
		}
		if found != 1 {
			ps.addf(ref, "must have exactly one HorizontalPodAutoscaler, got %d", found)
		}
	}
	return ps
}

// checkSpread: in prod, every Deployment spreads over zones and hostnames with maxSkew 1, ScheduleAnyway, a selector
// matching its own pods and pod-template-hash in matchLabelKeys.
func checkSpread(o *Objects, p Profile) []string {
	if !p.Prod {
		return nil
	}
	var ps problems
	for _, d := range o.Deployments {
		for _, key := range []string{"topology.kubernetes.io/zone", "kubernetes.io/hostname"} {
			ok := false
			for _, t := range d.Spec.Template.Spec.TopologySpreadConstraints {
				if t.TopologyKey == key && t.MaxSkew == 1 && t.WhenUnsatisfiable == corev1.ScheduleAnyway &&
					selects(t.LabelSelector, d.Spec.Template.Labels) && slices.Contains(t.MatchLabelKeys, "pod-template-hash") {
					ok = true
				}
			}
			if !ok {
				ps.addf("Deployment/"+d.Name, "prod: topologySpreadConstraints on %s (maxSkew 1, ScheduleAnyway, matchLabelKeys pod-template-hash) required", key)
			}
		}
	}
	return ps
}

// checkServices: each component's Service is named mcpbox-<component>, carries the scrape-job label and the §4.2
// ports; every Service selector matches pods, and every targetPort is declared by each selected pod.
func checkServices(o *Objects, _ Profile) []string {
	var ps problems
	for _, comp := range Components() {
		if comp.Ports == nil {
			continue
		}
		svc := findService(o, comp.ObjectName())
		ref := "Service/" + comp.ObjectName()
		if svc == nil {
			ps.addf(ref, "missing: every component has a ClusterIP Service mcpbox-<component>")
			continue
		}
		if svc.Labels[LabelScrapeJob] != comp.ObjectName() {
			ps.addf(ref, "label %s must be %s", LabelScrapeJob, comp.ObjectName())
		}
		got := map[string]int32{}
		for _, sp := range svc.Spec.Ports {
			got[sp.Name] = sp.Port
		}
		if !mapsEqual(got, comp.Ports) {
			ps.addf(ref, "ports must be %v, got %v (§4.2)", comp.Ports, got)
		}
	}
	for _, svc := range o.Services {
		ref := "Service/" + svc.Name
		var pods []Workload
		for _, w := range o.Workloads() {
			if len(svc.Spec.Selector) > 0 && labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(w.Pod.Labels)) {
				pods = append(pods, w)
			}
		}
		if len(pods) == 0 {
			ps.addf(ref, "selector %v matches no pod template", svc.Spec.Selector)
		}
		for _, sp := range svc.Spec.Ports {
			for _, w := range pods {
				if !podDeclares(w, sp.TargetPort, sp.Port) {
					ps.addf(ref, "port %s: targetPort %s is not declared by %s", sp.Name, sp.TargetPort.String(), w.Ref())
				}
			}
		}
	}
	return ps
}

func mapsEqual[V comparable](a, b map[string]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func findService(o *Objects, name string) *corev1.Service {
	for _, s := range o.Services {
		if s.Name == name {
			return s
		}
	}
	return nil
}

func podDeclares(w Workload, target intstr.IntOrString, port int32) bool {
	if target.Type == intstr.Int && target.IntVal == 0 {
		target = intstr.FromInt32(port)
	}
	for _, c := range w.Pod.Spec.Containers {
		if declaresPort(c, target) {
			return true
		}
	}
	return false
}

// checkServiceTypes: no Service is NodePort or LoadBalancer (§4.5).
func checkServiceTypes(o *Objects, _ Profile) []string {
	var ps problems
	for _, s := range o.Services {
		if s.Spec.Type != "" && s.Spec.Type != corev1.ServiceTypeClusterIP {
			ps.addf("Service/"+s.Name, "type %s is forbidden; only ClusterIP (§4.5)", s.Spec.Type)
		}
	}
	return ps
}

// checkNoSecretObjects: nothing rendered is a Secret (§4.3).
func checkNoSecretObjects(o *Objects, _ Profile) []string {
	var ps problems
	for _, s := range o.Secrets {
		ps.addf("Secret/"+s.Name, "no Secret is ever committed; the operator creates %s (§4.3)", SecretName)
	}
	return ps
}

// checkSecretKeys: each workload references exactly its §4.3 keys of mcpbox-secrets, with *-previous and
// encryption-old-keys optional and the rest required; no envFrom secretRef; no ConfigMap holds a secret variable.
func checkSecretKeys(o *Objects, _ Profile) []string {
	var ps problems
	for _, w := range o.Workloads() {
		allowed := DevPostgresSecrets()
		if comp, ok := componentOf(w); ok {
			allowed = comp.Secrets
		}
		got := map[string]bool{}
		for _, c := range w.Pod.Spec.Containers {
			for _, ef := range c.EnvFrom {
				if ef.SecretRef != nil {
					ps.addf(w.Ref(), "container %s: envFrom secretRef is forbidden; reference single keys", c.Name)
				}
			}
			for _, e := range c.Env {
				if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
					continue
				}
				ref := e.ValueFrom.SecretKeyRef
				if ref.Name != SecretName {
					ps.addf(w.Ref(), "env %s: secret %q; only %s is referenced", e.Name, ref.Name, SecretName)
				}
				got[ref.Key] = ref.Optional != nil && *ref.Optional
			}
		}
		for _, k := range sortedKeys(got) {
			opt, ok := allowed[k]
			switch {
			case !ok:
				ps.addf(w.Ref(), "secret key %s is not in its §4.3 allowlist", k)
			case opt != got[k]:
				ps.addf(w.Ref(), "secret key %s: optional must be %v (§4.3)", k, opt)
			}
		}
		for _, k := range sortedKeys(allowed) {
			if _, ok := got[k]; !ok {
				ps.addf(w.Ref(), "secret key %s of its §4.3 allowlist is not referenced", k)
			}
		}
	}
	for _, cm := range o.ConfigMaps {
		for _, k := range SecretVariables() {
			if _, ok := cm.Data[k]; ok {
				ps.addf("ConfigMap/"+cm.Name, "holds secret variable %s; secrets come only from %s", k, SecretName)
			}
		}
	}
	return ps
}

// Env resolves a container's environment as the kubelet would for literal values: ConfigMaps from envFrom, then env.
func (o *Objects) Env(c corev1.Container) map[string]string {
	env := map[string]string{}
	for _, ef := range c.EnvFrom {
		if ef.ConfigMapRef == nil {
			continue
		}
		for _, cm := range o.ConfigMaps {
			if cm.Name == ef.ConfigMapRef.Name {
				for k, v := range cm.Data {
					env[ef.Prefix+k] = v
				}
			}
		}
	}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			env[e.Name] = e.Value
		}
	}
	return env
}

// checkSettings: the §4.2 service settings (backend MIGRATE_ON_START=false, the gateway's local listener off,
// stateless sessions and internal backend URL, 5 s shutdown delay, …), and each envFrom ConfigMap exists. Service
// links stay off: kubelet would inject MCPBOX_BACKEND_PORT and friends for the mcpbox-* Services, variables in the
// services' own MCPBOX_* namespace that their loaders would warn about as unknown.
func checkSettings(o *Objects, _ Profile) []string {
	var ps problems
	for _, w := range o.Workloads() {
		comp, ok := componentOf(w)
		if !ok {
			continue
		}
		if l := w.Pod.Spec.EnableServiceLinks; l == nil || *l {
			ps.addf(w.Ref(), "enableServiceLinks must be false (service links inject MCPBOX_* variables)")
		}
		for _, c := range w.Pod.Spec.Containers {
			for _, ef := range c.EnvFrom {
				if ef.ConfigMapRef != nil && !slices.ContainsFunc(o.ConfigMaps, func(cm *corev1.ConfigMap) bool { return cm.Name == ef.ConfigMapRef.Name }) {
					ps.addf(w.Ref(), "container %s: envFrom ConfigMap %s does not exist", c.Name, ef.ConfigMapRef.Name)
				}
			}
			env := o.Env(c)
			for _, k := range sortedKeys(comp.Settings) {
				if env[k] != comp.Settings[k] {
					ps.addf(w.Ref(), "container %s: %s must be %q, got %q", c.Name, k, comp.Settings[k], env[k])
				}
			}
		}
	}
	return ps
}

// IngressPaths are §4.5's paths and their types.
func IngressPaths() map[string]networkingv1.PathType {
	return map[string]networkingv1.PathType{
		"/mcp": networkingv1.PathTypePrefix, "/health": networkingv1.PathTypeExact,
		"/.well-known/oauth-protected-resource": networkingv1.PathTypePrefix,
	}
}

// checkIngress: exactly one Ingress, routing only to the edge's http port, with exactly the §4.5 paths; prod sets the
// class, the host and the TLS secret.
func checkIngress(o *Objects, p Profile) []string {
	var ps problems
	if len(o.Ingresses) != 1 {
		ps.addf("Ingress/mcpbox-edge", "exactly one Ingress is required, got %d", len(o.Ingresses))
	}
	for _, ing := range o.Ingresses {
		ref := "Ingress/" + ing.Name
		if ing.Spec.DefaultBackend != nil {
			ps.addf(ref, "defaultBackend is forbidden; only the §4.5 paths route")
		}
		got := map[string]networkingv1.PathType{}
		for _, r := range ing.Spec.Rules {
			if r.HTTP == nil {
				continue
			}
			if p.Prod && r.Host == "" {
				ps.addf(ref, "prod: every rule sets its host")
			}
			for _, path := range r.HTTP.Paths {
				if path.PathType != nil {
					got[path.Path] = *path.PathType
				}
				s := path.Backend.Service
				if s == nil || s.Name != "mcpbox-edge" || (s.Port.Name != "http" && s.Port.Number != 8080) {
					ps.addf(ref, "path %s: backend must be Service mcpbox-edge port http; nothing else is routed", path.Path)
				}
			}
		}
		if !mapsEqual(got, IngressPaths()) {
			ps.addf(ref, "paths must be exactly %v, got %v (§4.5)", IngressPaths(), got)
		}
		if p.Prod {
			if ing.Spec.IngressClassName == nil || *ing.Spec.IngressClassName == "" {
				ps.addf(ref, "prod: ingressClassName is required")
			}
			if len(ing.Spec.TLS) == 0 || ing.Spec.TLS[0].SecretName == "" || len(ing.Spec.TLS[0].Hosts) == 0 {
				ps.addf(ref, "prod: tls with hosts and a secretName is required")
			}
		}
	}
	return ps
}

// checkJob: the mcpbox-migrate Job runs the backend image's migrate command with the §4.2 settings.
func checkJob(o *Objects, _ Profile) []string {
	var ps problems
	n := 0
	for _, j := range o.Jobs {
		if j.Name != "mcpbox-migrate" {
			continue
		}
		n++
		ref := "Job/" + j.Name
		s := j.Spec
		if !is32(s.BackoffLimit, 2) || !is(s.ActiveDeadlineSeconds, 600) || !is32(s.TTLSecondsAfterFinished, 86400) {
			ps.addf(ref, "backoffLimit 2, activeDeadlineSeconds 600 and ttlSecondsAfterFinished 86400 are required (§4.2)")
		}
		if s.Template.Spec.RestartPolicy != corev1.RestartPolicyNever {
			ps.addf(ref, "restartPolicy must be Never")
		}
		if cs := s.Template.Spec.Containers; len(cs) != 1 || strings.Join(cs[0].Command, " ") != "/mcpbox migrate" {
			ps.addf(ref, `command must be ["/mcpbox","migrate"]`)
		}
	}
	if n != 1 {
		ps.addf("Job/mcpbox-migrate", "exactly one migrate Job is required, got %d", n)
	}
	return ps
}

func is32(p *int32, v int32) bool { return p != nil && *p == v }

// checkPSA: an overlay creates its namespace with Pod Security Admission enforce, warn and audit "restricted", and
// every namespaced object lives in it.
func checkPSA(o *Objects, p Profile) []string {
	if !p.Overlay {
		return nil
	}
	var ps problems
	found := false
	for _, ns := range o.Namespaces {
		if ns.Name != p.Namespace {
			continue
		}
		found = true
		for _, mode := range []string{"enforce", "warn", "audit"} {
			if ns.Labels["pod-security.kubernetes.io/"+mode] != "restricted" {
				ps.addf("Namespace/"+ns.Name, "label pod-security.kubernetes.io/%s must be restricted", mode)
			}
		}
	}
	if !found {
		ps.addf("Namespace/"+p.Namespace, "the overlay must create its namespace")
	}
	for _, m := range o.All {
		if m.Kind != "Namespace" && m.Ns != p.Namespace {
			ps.addf(m.Ref(), "namespace must be %s, got %q", p.Namespace, m.Ns)
		}
	}
	return ps
}

// checkMonitoring: in prod, one ServiceMonitor per component with jobLabel mcpbox.io/scrape-job, selecting the
// component's Service and scraping a port that Service has (backend internal, edge admin, others http).
func checkMonitoring(o *Objects, p Profile) []string {
	if !p.Prod {
		return nil
	}
	want := map[string]string{"backend": "internal", "gateway": "http", "sandbox": "http", "edge": "admin"}
	var ps problems
	for _, comp := range sortedKeys(want) {
		name := "mcpbox-" + comp
		n := 0
		for _, sm := range o.ServiceMonitors {
			svc := findService(o, name)
			if svc == nil || !selects(&sm.Spec.Selector, svc.Labels) {
				continue
			}
			n++
			ref := "ServiceMonitor/" + sm.Name
			if sm.Spec.JobLabel != LabelScrapeJob {
				ps.addf(ref, "jobLabel must be %s", LabelScrapeJob)
			}
			if len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Port != want[comp] {
				ps.addf(ref, "must scrape port %s of Service %s (§4.5)", want[comp], name)
			}
		}
		if n != 1 {
			ps.addf("Service/"+name, "must be selected by exactly one ServiceMonitor, got %d", n)
		}
	}
	if len(o.PrometheusRules) != 1 || o.PrometheusRules[0].Name != "mcpbox" {
		ps.addf("PrometheusRule/mcpbox", "prod: exactly one PrometheusRule mcpbox is required")
	}
	return ps
}
