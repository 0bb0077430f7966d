package check

import (
	"net/netip"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// TestOPS28_EvaluatorRules proves the evaluator's building blocks on hand-made rules: ipBlock with IPv4 and IPv6
// except ranges, numbered ports with endPort, named ports resolved against the destination pod, protocols (TCP is the
// default), and empty lists meaning "everything".
func TestOPS28_EvaluatorRules(t *testing.T) {
	t.Parallel()
	udp, tcp := corev1.ProtocolUDP, corev1.ProtocolTCP
	block := &networkingv1.IPBlock{CIDR: "::/0", Except: []string{"fc00::/7"}}
	block4 := &networkingv1.IPBlock{CIDR: "0.0.0.0/0", Except: []string{"10.0.0.0/8", "169.254.0.0/16"}}
	p1000 := intstr.FromInt32(1000)
	end := int32(2000)
	named := intstr.FromString("internal")
	dst := Peer{Name: "backend", Pod: true, Ports: []corev1.ContainerPort{{Name: "internal", ContainerPort: 8004}}}
	tests := []struct {
		name string
		got  bool
		want bool
	}{
		{"v6 public inside ::/0", ipBlockMatches(block, netip.MustParseAddr("2001:4860:4860::8888")), true},
		{"v6 ULA excepted", ipBlockMatches(block, netip.MustParseAddr("fd00:ec2::254")), false},
		{"v4 address never matches a v6 block", ipBlockMatches(block, netip.MustParseAddr("8.8.8.8")), false},
		{"v4 metadata excepted", ipBlockMatches(block4, netip.MustParseAddr("169.254.169.254")), false},
		{"v4 public", ipBlockMatches(block4, netip.MustParseAddr("8.8.8.8")), true},
		{"range start", portsMatch([]networkingv1.NetworkPolicyPort{{Port: &p1000, EndPort: &end}}, Port{tcp, 1000}, dst), true},
		{"range end", portsMatch([]networkingv1.NetworkPolicyPort{{Port: &p1000, EndPort: &end}}, Port{tcp, 2000}, dst), true},
		{"past range", portsMatch([]networkingv1.NetworkPolicyPort{{Port: &p1000, EndPort: &end}}, Port{tcp, 2001}, dst), false},
		{"default protocol is TCP", portsMatch([]networkingv1.NetworkPolicyPort{{Port: &p1000}}, Port{udp, 1000}, dst), false},
		{"UDP rule", portsMatch([]networkingv1.NetworkPolicyPort{{Protocol: &udp, Port: &p1000}}, Port{udp, 1000}, dst), true},
		{"named port resolves", portsMatch([]networkingv1.NetworkPolicyPort{{Port: &named}}, Port{tcp, 8004}, dst), true},
		{"named port is one number", portsMatch([]networkingv1.NetworkPolicyPort{{Port: &named}}, Port{tcp, 8000}, dst), false},
		{"named port on a bare address", portsMatch([]networkingv1.NetworkPolicyPort{{Port: &named}}, Port{tcp, 8004}, Peer{}), false},
		{"protocol without port", portsMatch([]networkingv1.NetworkPolicyPort{{Protocol: &tcp}}, Port{tcp, 1}, dst), true},
		{"no ports: all", portsMatch(nil, Port{udp, 53}, dst), true},
		{"no peers: all", peersMatch(nil, "ns", "ns", Peer{IP: netip.MustParseAddr("10.0.0.1")}), true},
		{"pod selector stays in its namespace", peersMatch([]networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{}}},
			"ns", "ns", Peer{Pod: true, Namespace: "other"}), false},
		{"namespace selector", peersMatch([]networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{
			MatchLabels: map[string]string{"team": "x"},
		}}}, "ns", "ns", Peer{Pod: true, NSLabels: map[string]string{"team": "x"}}), true},
		{"bare address never matches a selector", peersMatch([]networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{}}},
			"ns", "ns", Peer{IP: netip.MustParseAddr("8.8.8.8")}), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if tt.got != tt.want {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}
