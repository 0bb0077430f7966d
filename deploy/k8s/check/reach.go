package check

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Peer is one end of a connection: a pod (ours, whose NetworkPolicies apply, or a cluster add-on's) or a bare address.
type Peer struct {
	Name string
	// Pod is true for pods; policies can select them by labels. Bare addresses match only ipBlock.
	Pod       bool
	Namespace string
	NSLabels  map[string]string
	Labels    map[string]string
	// Ports are the pod's declared container ports, used to resolve named ports.
	Ports []corev1.ContainerPort
	IP    netip.Addr
	// Managed is true for pods in the rendered namespace, whose policies the evaluator applies; other peers are
	// assumed to allow everything on their side.
	Managed bool
}

// Port is a protocol and port number, written "TCP/8004".
type Port struct {
	Protocol corev1.Protocol
	Number   int32
}

func (p Port) String() string { return fmt.Sprintf("%s/%d", p.Protocol, p.Number) }

// ProbePorts are the ports the matrix is computed on: every port §4.4 names, plus 80 as an arbitrary other port.
func ProbePorts() []Port {
	ps := []Port{{corev1.ProtocolUDP, 53}}
	for _, n := range []int32{53, 80, 443, 5432, 8000, 8001, 8003, 8004, 8080, 9080} {
		ps = append(ps, Port{corev1.ProtocolTCP, n})
	}
	return ps
}

// Pseudo-peer names used in the matrix.
const (
	IngressController = "ingress-controller"
	Prometheus        = "prometheus"
	KubeDNS           = "kube-dns"
	Public            = "public"
	Public6           = "public-v6"
	IDP               = "idp"
	Private           = "private-10.0.0.10"
	Metadata          = "metadata-169.254.169.254"
	CGNAT             = "cgnat-100.64.0.1"
	ULA6              = "ula-fd00:ec2::254"
	ManagedDB         = "managed-db"
)

// PseudoPeers are the cluster add-ons and addresses of §4.6, with the labels base/networkpolicies.yaml expects.
// The public addresses are data only; nothing is ever dialled.
func PseudoPeers() []Peer {
	addon := func(name, ns string, labels map[string]string, ip string) Peer {
		return Peer{
			Name: name, Pod: true, Namespace: ns, NSLabels: map[string]string{"kubernetes.io/metadata.name": ns},
			Labels: labels, IP: netip.MustParseAddr(ip),
		}
	}
	addr := func(name, ip string) Peer { return Peer{Name: name, IP: netip.MustParseAddr(ip)} }
	return []Peer{
		addon(IngressController, "ingress-nginx", map[string]string{"app.kubernetes.io/name": "ingress-nginx"}, "10.244.9.1"),
		addon(Prometheus, "monitoring", map[string]string{"app.kubernetes.io/name": "prometheus"}, "10.244.9.2"),
		addon(KubeDNS, "kube-system", map[string]string{"k8s-app": "kube-dns"}, "10.244.9.3"),
		addr(Public, "8.8.8.8"),
		addr(Public6, "2001:4860:4860::8888"),
		addr(IDP, "9.9.9.9"),
		addr(Private, "10.0.0.10"),
		addr(Metadata, "169.254.169.254"),
		addr(CGNAT, "100.64.0.1"),
		addr(ULA6, "fd00:ec2::254"),
		addr(ManagedDB, "10.20.30.5"),
	}
}

// Conn is one allowed connection and the policies that allowed each side ("" when that side is unrestricted).
type Conn struct {
	Src, Dst        string
	Port            Port
	Egress, Ingress string
}

// Matrix lists every allowed connection with at least one managed end, sorted.
type Matrix []Conn

// Peers returns our pods (one per workload, named by component, with addresses in the pod range) and the pseudo-peers.
func Peers(o *Objects, namespace string) []Peer {
	if namespace == "" {
		namespace = "default"
	}
	var peers []Peer
	for i, w := range o.Workloads() {
		var ports []corev1.ContainerPort
		for _, c := range w.Pod.Spec.Containers {
			ports = append(ports, c.Ports...)
		}
		peers = append(peers, Peer{
			Name: w.Component, Pod: true, Namespace: namespace,
			NSLabels: map[string]string{"kubernetes.io/metadata.name": namespace},
			Labels:   w.Pod.Labels, Ports: ports, IP: netip.AddrFrom4([4]byte{10, 244, 0, byte(10 + i)}), Managed: true,
		})
	}
	return append(peers, PseudoPeers()...)
}

// Reach computes what every peer can reach: a connection is allowed only when the source's egress policies and the
// destination's ingress policies both allow it (a pod no policy selects for a direction is open in that direction).
func Reach(o *Objects, namespace string) Matrix {
	peers := Peers(o, namespace)
	var m Matrix
	for _, src := range peers {
		for _, dst := range peers {
			if src.Name == dst.Name || (!src.Managed && !dst.Managed) || !src.Pod {
				continue
			}
			for _, port := range ProbePorts() {
				eg, okE := allows(o, src, dst, port, networkingv1.PolicyTypeEgress)
				in, okI := allows(o, dst, src, port, networkingv1.PolicyTypeIngress)
				if okE && okI {
					m = append(m, Conn{Src: src.Name, Dst: dst.Name, Port: port, Egress: eg, Ingress: in})
				}
			}
		}
	}
	return m
}

// allows evaluates the policies selecting subject in one direction against the other end and port (always the
// destination's port). It returns the allowing policy's name.
func allows(o *Objects, subject, other Peer, port Port, dir networkingv1.PolicyType) (string, bool) {
	if !subject.Managed {
		return "", true
	}
	dst := other
	if dir == networkingv1.PolicyTypeIngress {
		dst = subject
	}
	isolated := false
	for _, np := range o.NetworkPolicies {
		if !selects(&np.Spec.PodSelector, subject.Labels) && !isEmptySelector(np.Spec.PodSelector) {
			continue
		}
		if !hasType(np, dir) {
			continue
		}
		isolated = true
		if dir == networkingv1.PolicyTypeEgress {
			for _, r := range np.Spec.Egress {
				if peersMatch(r.To, np.Namespace, subject.Namespace, other) && portsMatch(r.Ports, port, dst) {
					return np.Name, true
				}
			}
			continue
		}
		for _, r := range np.Spec.Ingress {
			if peersMatch(r.From, np.Namespace, subject.Namespace, other) && portsMatch(r.Ports, port, dst) {
				return np.Name, true
			}
		}
	}
	return "", !isolated
}

// hasType applies the API defaulting of policyTypes: Ingress always, Egress when egress rules exist.
func hasType(np *networkingv1.NetworkPolicy, t networkingv1.PolicyType) bool {
	if len(np.Spec.PolicyTypes) > 0 {
		return slices.Contains(np.Spec.PolicyTypes, t)
	}
	return t == networkingv1.PolicyTypeIngress || len(np.Spec.Egress) > 0
}

// peersMatch: an empty list matches everyone; otherwise any peer must match.
func peersMatch(rule []networkingv1.NetworkPolicyPeer, policyNS, subjectNS string, p Peer) bool {
	if len(rule) == 0 {
		return true
	}
	ns := policyNS
	if ns == "" {
		ns = subjectNS
	}
	for _, r := range rule {
		switch {
		case r.IPBlock != nil:
			if ipBlockMatches(r.IPBlock, p.IP) {
				return true
			}
		case !p.Pod:
		case r.NamespaceSelector == nil:
			if p.Namespace == ns && selects(r.PodSelector, p.Labels) {
				return true
			}
		default:
			if selects(r.NamespaceSelector, p.NSLabels) && (r.PodSelector == nil || selects(r.PodSelector, p.Labels)) {
				return true
			}
		}
	}
	return false
}

// ipBlockMatches: the address is inside the CIDR and outside every except range (IPv4 and IPv6).
func ipBlockMatches(b *networkingv1.IPBlock, ip netip.Addr) bool {
	cidr, err := netip.ParsePrefix(b.CIDR)
	if err != nil || !ip.IsValid() || !cidr.Contains(ip) {
		return false
	}
	for _, e := range b.Except {
		if ex, err := netip.ParsePrefix(e); err == nil && ex.Contains(ip) {
			return false
		}
	}
	return true
}

// portsMatch: an empty list matches every port; a rule port matches by protocol (default TCP) and by number, range
// (endPort) or name resolved against the destination pod's container ports.
func portsMatch(rule []networkingv1.NetworkPolicyPort, port Port, dst Peer) bool {
	if len(rule) == 0 {
		return true
	}
	for _, r := range rule {
		proto := corev1.ProtocolTCP
		if r.Protocol != nil {
			proto = *r.Protocol
		}
		if proto != port.Protocol {
			continue
		}
		switch {
		case r.Port == nil:
			return true
		case r.Port.Type == intstr.Int:
			end := r.Port.IntVal
			if r.EndPort != nil {
				end = *r.EndPort
			}
			if port.Number >= r.Port.IntVal && port.Number <= end {
				return true
			}
		default:
			for _, cp := range dst.Ports {
				cpProto := cp.Protocol
				if cpProto == "" {
					cpProto = corev1.ProtocolTCP
				}
				if cp.Name == r.Port.StrVal && cpProto == port.Protocol && cp.ContainerPort == port.Number {
					return true
				}
			}
		}
	}
	return false
}

// Lines renders the matrix as "src -> dst: TCP/53 UDP/53", one line per pair, sorted.
func (m Matrix) Lines() []string {
	pairs := map[string][]string{}
	for _, c := range m {
		k := c.Src + " -> " + c.Dst
		pairs[k] = append(pairs[k], c.Port.String())
	}
	lines := make([]string, 0, len(pairs))
	for _, k := range sortedKeys(pairs) {
		sort.Strings(pairs[k])
		lines = append(lines, k+": "+strings.Join(pairs[k], " "))
	}
	return lines
}

// Allowed reports whether src may open a connection to dst on port.
func (m Matrix) Allowed(src, dst string, port Port) bool {
	return slices.ContainsFunc(m, func(c Conn) bool { return c.Src == src && c.Dst == dst && c.Port == port })
}

// Arrow is one expected connection set of §4.4.
type Arrow struct {
	Src, Dst string
	Ports    []Port
}

// Expected transcribes §4.4 for the given workloads: components lists the pods present (postgres only in dev) and
// db is the peer PostgreSQL is reached at (the postgres pod, the managed-DB address, or "" in base).
func Expected(components []string, db string) []Arrow {
	tcp := func(ns ...int32) []Port {
		var ps []Port
		for _, n := range ns {
			ps = append(ps, Port{corev1.ProtocolTCP, n})
		}
		return ps
	}
	var anyTCP []Port
	for _, p := range ProbePorts() {
		if p.Protocol == corev1.ProtocolTCP {
			anyTCP = append(anyTCP, p)
		}
	}
	arrows := []Arrow{
		{IngressController, "edge", tcp(8080)},
		{"edge", "gateway", tcp(8003)},
		{"gateway", "backend", tcp(8004)},
		{"gateway", "sandbox", tcp(8001)},
		{"backend", "sandbox", tcp(8001)},
		{Prometheus, "backend", tcp(8004)},
		{Prometheus, "gateway", tcp(8003)},
		{Prometheus, "sandbox", tcp(8001)},
		{Prometheus, "edge", tcp(9080)},
	}
	for _, internet := range []string{Public, Public6, IDP} {
		arrows = append(arrows, Arrow{"edge", internet, tcp(443)}, Arrow{"sandbox", internet, anyTCP})
	}
	if db != "" {
		arrows = append(arrows, Arrow{"backend", db, tcp(5432)}, Arrow{"migrate", db, tcp(5432)})
	}
	for _, c := range components {
		arrows = append(arrows, Arrow{c, KubeDNS, []Port{{corev1.ProtocolUDP, 53}, {corev1.ProtocolTCP, 53}}})
	}
	return arrows
}

// ExpectedLines renders arrows like Matrix.Lines.
func ExpectedLines(arrows []Arrow) []string {
	var m Matrix
	for _, a := range arrows {
		for _, p := range a.Ports {
			m = append(m, Conn{Src: a.Src, Dst: a.Dst, Port: p})
		}
	}
	return m.Lines()
}

// CompareReach returns one problem per connection that differs from §4.4: an extra one names the NetworkPolicies that
// allowed it, a missing one the pair and port.
func CompareReach(got Matrix, want []Arrow) []string {
	wantSet := map[string]bool{}
	for _, a := range want {
		for _, p := range a.Ports {
			wantSet[a.Src+" -> "+a.Dst+" "+p.String()] = true
		}
	}
	var ps problems
	gotSet := map[string]bool{}
	for _, c := range got {
		k := c.Src + " -> " + c.Dst + " " + c.Port.String()
		gotSet[k] = true
		if !wantSet[k] {
			ps.addf("NetworkPolicy/"+cmpOr(c.Egress, c.Ingress), "%s allowed but §4.4 denies it (egress by %q, ingress by %q)",
				k, c.Egress, c.Ingress)
		}
	}
	for _, k := range sortedKeys(wantSet) {
		if !gotSet[k] {
			ps.addf("NetworkPolicy/*", "%s denied but §4.4 allows it", k)
		}
	}
	sort.Strings(ps)
	return ps
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	if b != "" {
		return b
	}
	return "(none)"
}
