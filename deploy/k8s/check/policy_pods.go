package check

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// checkLabels: every object carries name, part-of and component (§4.1); overlays add the version label, never to a
// selector.
func checkLabels(o *Objects, p Profile) []string {
	var ps problems
	for _, m := range o.All {
		if m.Labels[LabelName] != "mcpbox" || m.Labels[LabelPartOf] != "mcpbox" || m.Labels[LabelComponent] == "" {
			ps.addf(m.Ref(), "labels: %s=mcpbox, %s=mcpbox and %s are required", LabelName, LabelPartOf, LabelComponent)
		}
		if p.Overlay && m.Labels[LabelVersion] == "" {
			ps.addf(m.Ref(), "labels: overlays add %s", LabelVersion)
		}
	}
	for _, d := range o.Deployments {
		for k := range d.Spec.Selector.MatchLabels {
			if k != LabelName && k != LabelComponent {
				ps.addf("Deployment/"+d.Name, "selector: only %s and %s, not %s", LabelName, LabelComponent, k)
			}
		}
	}
	return ps
}

// checkResources: every container sets cpu and memory requests and limits, limits ≥ requests, and MCPbox workloads
// use the §4.2 table (dev may lower requests).
func checkResources(o *Objects, p Profile) []string {
	var ps problems
	for _, w := range o.Workloads() {
		for _, c := range w.Pod.Spec.Containers {
			ref := w.Ref()
			rs := c.Resources
			for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
				req, okReq := rs.Requests[name]
				lim, okLim := rs.Limits[name]
				if !okReq || !okLim {
					ps.addf(ref, "container %s: resources: %s requests and limits are required", c.Name, name)
					continue
				}
				if lim.Cmp(req) < 0 {
					ps.addf(ref, "container %s: resources: %s limit %s is below the request %s", c.Name, name, lim.String(), req.String())
				}
			}
			spec, ok := componentOf(w)
			if !ok {
				continue
			}
			for i, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
				if !equalQuantity(rs.Limits[name], spec.Limits[i]) {
					ps.addf(ref, "container %s: resources: %s limit must be %s (§4.2)", c.Name, name, spec.Limits[i])
				}
				if !p.Dev && !equalQuantity(rs.Requests[name], spec.Requests[i]) {
					ps.addf(ref, "container %s: resources: %s request must be %s (§4.2)", c.Name, name, spec.Requests[i])
				}
			}
		}
	}
	return ps
}

func equalQuantity(q resource.Quantity, want string) bool {
	return q.Cmp(resource.MustParse(want)) == 0
}

// checkProbes: every MCPbox Deployment container has startup and liveness probes on /healthz and a readiness probe
// on /readyz, all on a declared port (the component's §4.2 port), with the §4.2 timings.
func checkProbes(o *Objects, _ Profile) []string {
	var ps problems
	for _, w := range o.Workloads() {
		spec, ok := componentOf(w)
		if !ok || spec.Kind != "Deployment" {
			continue
		}
		for _, c := range w.Pod.Spec.Containers {
			want := []struct {
				kind                       string
				probe                      *corev1.Probe
				path                       string
				period, timeout, threshold int32
			}{
				{"startupProbe", c.StartupProbe, "/healthz", 2, 0, 30},
				{"livenessProbe", c.LivenessProbe, "/healthz", 10, 2, 3},
				{"readinessProbe", c.ReadinessProbe, "/readyz", 5, 0, 2},
			}
			for _, pw := range want {
				ref := w.Ref()
				if pw.probe == nil || pw.probe.HTTPGet == nil {
					ps.addf(ref, "container %s: %s: an httpGet probe on %s is required", c.Name, pw.kind, pw.path)
					continue
				}
				g := pw.probe.HTTPGet
				if g.Path != pw.path {
					ps.addf(ref, "container %s: %s: path must be %s, got %q", c.Name, pw.kind, pw.path, g.Path)
				}
				if !declaresPort(c, g.Port) {
					ps.addf(ref, "container %s: %s: port %s is not a declared container port", c.Name, pw.kind, g.Port.String())
				} else if g.Port.String() != spec.ProbePort {
					ps.addf(ref, "container %s: %s: must use port %s (§4.2)", c.Name, pw.kind, spec.ProbePort)
				}
				if pw.probe.PeriodSeconds != pw.period || pw.probe.FailureThreshold != pw.threshold ||
					(pw.timeout != 0 && pw.probe.TimeoutSeconds != pw.timeout) {
					ps.addf(ref, "container %s: %s: period %ds, timeout %ds, failureThreshold %d required (§4.2)",
						c.Name, pw.kind, pw.period, pw.timeout, pw.threshold)
				}
			}
		}
	}
	return ps
}

// declaresPort reports whether the container declares the (named or numbered) port.
func declaresPort(c corev1.Container, port intstr.IntOrString) bool {
	for _, cp := range c.Ports {
		if (port.Type == intstr.String && cp.Name == port.StrVal) || (port.Type == intstr.Int && cp.ContainerPort == port.IntVal) {
			return true
		}
	}
	return false
}

// checkSecurityContext: the §4.2 pod and container security context for MCPbox workloads; every workload (postgres-dev
// included) meets Pod Security "restricted": non-root, RuntimeDefault seccomp, no privilege escalation, all
// capabilities dropped, no host namespaces, hostPath or hostPort; /tmp is a 64Mi emptyDir (memory-backed for the sandbox).
func checkSecurityContext(o *Objects, _ Profile) []string {
	var ps problems
	for _, w := range o.Workloads() {
		ref := w.Ref()
		spec := w.Pod.Spec
		sc := spec.SecurityContext
		if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.SeccompProfile == nil ||
			sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			ps.addf(ref, "securityContext: runAsNonRoot true and seccompProfile RuntimeDefault are required")
		}
		if spec.HostNetwork || spec.HostPID || spec.HostIPC {
			ps.addf(ref, "securityContext: host namespaces are forbidden")
		}
		for _, v := range spec.Volumes {
			if v.HostPath != nil {
				ps.addf(ref, "volume %s: hostPath is forbidden", v.Name)
			}
		}
		for _, c := range append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...) {
			cs := c.SecurityContext
			if cs == nil || cs.AllowPrivilegeEscalation == nil || *cs.AllowPrivilegeEscalation ||
				cs.ReadOnlyRootFilesystem == nil || !*cs.ReadOnlyRootFilesystem || cs.Capabilities == nil ||
				len(cs.Capabilities.Drop) != 1 || cs.Capabilities.Drop[0] != "ALL" || len(cs.Capabilities.Add) > 0 ||
				(cs.Privileged != nil && *cs.Privileged) {
				ps.addf(ref, "container %s: securityContext: allowPrivilegeEscalation false, readOnlyRootFilesystem true and capabilities.drop [ALL] are required", c.Name)
			}
			for _, p := range c.Ports {
				if p.HostPort != 0 {
					ps.addf(ref, "container %s: hostPort is forbidden", c.Name)
				}
			}
		}
		comp, ok := componentOf(w)
		if !ok {
			continue
		}
		if sc == nil || !is(sc.RunAsUser, 65532) || !is(sc.RunAsGroup, 65532) || !is(sc.FSGroup, 65532) {
			ps.addf(ref, "securityContext: runAsUser, runAsGroup and fsGroup must be 65532 (§4.2)")
		}
		ps = append(ps, checkTmp(w, comp)...)
	}
	return ps
}

func is(p *int64, v int64) bool { return p != nil && *p == v }

// checkTmp: /tmp is mounted from a 64Mi emptyDir, memory-backed exactly for the components that say so.
func checkTmp(w Workload, comp Component) []string {
	var ps problems
	for _, c := range w.Pod.Spec.Containers {
		found := false
		for _, m := range c.VolumeMounts {
			if m.MountPath != "/tmp" {
				continue
			}
			for _, v := range w.Pod.Spec.Volumes {
				if v.Name != m.Name || v.EmptyDir == nil || v.EmptyDir.SizeLimit == nil {
					continue
				}
				memory := v.EmptyDir.Medium == corev1.StorageMediumMemory
				found = equalQuantity(*v.EmptyDir.SizeLimit, "64Mi") && memory == comp.MemoryTmp
			}
		}
		if !found {
			medium := "disk"
			if comp.MemoryTmp {
				medium = "Memory"
			}
			ps.addf(w.Ref(), "container %s: /tmp must be a 64Mi emptyDir (medium %s)", c.Name, medium)
		}
	}
	return ps
}

// checkRollout: RollingUpdate with maxUnavailable 0 and the §4.2 surge, the grace period, and GOMEMLIMIT.
func checkRollout(o *Objects, _ Profile) []string {
	var ps problems
	for _, d := range o.Deployments {
		ref := "Deployment/" + d.Name
		comp, ok := componentByName(d.Spec.Template.Labels[LabelComponent])
		if !ok {
			continue
		}
		ru := d.Spec.Strategy.RollingUpdate
		if d.Spec.Strategy.Type != "RollingUpdate" || ru == nil || ru.MaxUnavailable == nil || ru.MaxUnavailable.String() != "0" ||
			ru.MaxSurge == nil || ru.MaxSurge.String() != comp.MaxSurge {
			ps.addf(ref, "strategy: RollingUpdate with maxUnavailable 0 and maxSurge %s (§4.2)", comp.MaxSurge)
		}
		if g := d.Spec.Template.Spec.TerminationGracePeriodSeconds; g == nil || *g != comp.Grace {
			ps.addf(ref, "terminationGracePeriodSeconds must be %d (§4.2)", comp.Grace)
		}
	}
	for _, w := range o.Workloads() {
		comp, ok := componentOf(w)
		if !ok {
			continue
		}
		for _, c := range w.Pod.Spec.Containers {
			if !goMemLimitOK(c, comp) {
				want := "resourceFieldRef limits.memory"
				if comp.GoMemLimit != "" {
					want = comp.GoMemLimit
				}
				ps.addf(w.Ref(), "container %s: GOMEMLIMIT must be %s (§4.2)", c.Name, want)
			}
		}
	}
	return ps
}

func goMemLimitOK(c corev1.Container, comp Component) bool {
	for _, e := range c.Env {
		if e.Name != "GOMEMLIMIT" {
			continue
		}
		if comp.GoMemLimit != "" {
			return e.Value == comp.GoMemLimit && e.ValueFrom == nil
		}
		return e.ValueFrom != nil && e.ValueFrom.ResourceFieldRef != nil &&
			e.ValueFrom.ResourceFieldRef.Resource == "limits.memory" &&
			(e.ValueFrom.ResourceFieldRef.ContainerName == "" || e.ValueFrom.ResourceFieldRef.ContainerName == c.Name)
	}
	return false
}

// checkAutomount: no ServiceAccount and no pod mounts an API token.
func checkAutomount(o *Objects, _ Profile) []string {
	var ps problems
	for _, sa := range o.ServiceAccounts {
		if sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
			ps.addf("ServiceAccount/"+sa.Name, "automountServiceAccountToken must be false")
		}
	}
	for _, w := range o.Workloads() {
		if a := w.Pod.Spec.AutomountServiceAccountToken; a == nil || *a {
			ps.addf(w.Ref(), "pod automountServiceAccountToken must be false")
		}
	}
	return ps
}

// checkServiceAccounts: each workload runs as its own ServiceAccount mcpbox-<component>, which exists.
func checkServiceAccounts(o *Objects, _ Profile) []string {
	var ps problems
	users := map[string][]string{}
	for _, w := range o.Workloads() {
		sa := w.Pod.Spec.ServiceAccountName
		users[sa] = append(users[sa], w.Ref())
		if sa != "mcpbox-"+w.Component {
			ps.addf(w.Ref(), "serviceAccountName must be its own, mcpbox-%s, got %q", w.Component, sa)
		}
		if !hasServiceAccount(o, sa) {
			ps.addf(w.Ref(), "serviceAccountName %q: no such ServiceAccount", sa)
		}
	}
	for sa, refs := range users {
		if len(refs) > 1 {
			ps.addf(refs[1], "ServiceAccount %s is shared with %s; each workload needs its own", sa, strings.Join(refs[:1], ", "))
		}
	}
	return ps
}

func hasServiceAccount(o *Objects, name string) bool {
	for _, sa := range o.ServiceAccounts {
		if sa.Name == name {
			return true
		}
	}
	return false
}

// checkImages: every image has an explicit non-latest tag or a digest; MCPbox containers run their component's
// image; an overlay uses one MCPbox version.
func checkImages(o *Objects, p Profile) []string {
	var ps problems
	versions := map[string]string{}
	for _, w := range o.Workloads() {
		for _, c := range w.Pod.Spec.Containers {
			repo, tag, digest := splitImage(c.Image)
			switch {
			case digest == "" && tag == "":
				ps.addf(w.Ref(), "container %s: image %q needs an explicit tag or digest", c.Name, c.Image)
			case tag == "latest":
				ps.addf(w.Ref(), "container %s: image %q: the latest tag is forbidden", c.Name, c.Image)
			}
			comp, ok := componentOf(w)
			if !ok {
				continue
			}
			if repo != comp.Image {
				ps.addf(w.Ref(), "container %s: image must be %s, got %q", c.Name, comp.Image, repo)
			}
			if tag != "" && digest == "" {
				versions[tag] = w.Ref()
			}
		}
	}
	if p.Overlay && len(versions) > 1 {
		for _, tag := range sortedKeys(versions) {
			ps.addf(versions[tag], "images: one MCPbox version per overlay, found %s", strings.Join(sortedKeys(versions), ", "))
		}
	}
	if p.Overlay && len(versions) == 1 {
		tag := sortedKeys(versions)[0]
		for _, m := range o.All {
			if v := m.Labels[LabelVersion]; v != "" && v != tag {
				ps.addf(m.Ref(), "label %s=%s differs from the image version %s", LabelVersion, v, tag)
			}
		}
	}
	return ps
}

// splitImage splits "repo:tag@digest".
func splitImage(image string) (repo, tag, digest string) {
	repo, digest, _ = strings.Cut(image, "@")
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		repo, tag = repo[:i], repo[i+1:]
	}
	return repo, tag, digest
}
