package check

import (
	"slices"
	"sort"
)

// Profile says which rendering the objects come from, since some rules differ: overlays must create the namespace and
// add the version label, prod must autoscale and spread, dev may shrink requests.
type Profile struct {
	// Overlay is true for overlays/dev and overlays/prod, false for base.
	Overlay bool
	// Prod is true for overlays/prod.
	Prod bool
	// Dev is true for overlays/dev.
	Dev bool
	// Namespace is the overlay's namespace ("" for base).
	Namespace string
}

// Policy is one §4.6 rule; Check returns its problems, each "Kind/name: rule".
type Policy struct {
	Name  string
	Check func(*Objects, Profile) []string
}

// Policies lists every §4.6 policy, by name.
func Policies() []Policy {
	return []Policy{
		{"labels", checkLabels},
		{"resources", checkResources},
		{"probes", checkProbes},
		{"security-context", checkSecurityContext},
		{"rollout", checkRollout},
		{"automount", checkAutomount},
		{"service-account", checkServiceAccounts},
		{"images", checkImages},
		{"pdb", checkPDBs},
		{"network-policy", checkNetworkPolicyCoverage},
		{"hpa", checkHPAs},
		{"spread", checkSpread},
		{"services", checkServices},
		{"service-type", checkServiceTypes},
		{"no-secret-objects", checkNoSecretObjects},
		{"secret-keys", checkSecretKeys},
		{"settings", checkSettings},
		{"ingress", checkIngress},
		{"job", checkJob},
		{"psa", checkPSA},
		{"monitoring", checkMonitoring},
	}
}

// Run applies every policy and returns all problems, sorted.
func Run(o *Objects, p Profile) []string {
	var all []string
	for _, pol := range Policies() {
		all = append(all, pol.Check(o, p)...)
	}
	sort.Strings(all)
	return all
}

// PolicyByName returns the named policy, or false.
func PolicyByName(name string) (Policy, bool) {
	i := slices.IndexFunc(Policies(), func(p Policy) bool { return p.Name == name })
	if i < 0 {
		return Policy{}, false
	}
	return Policies()[i], true
}

// componentOf returns the §4.2 entry of a workload, or false for workloads outside the table (postgres-dev).
func componentOf(w Workload) (Component, bool) {
	for _, c := range Components() {
		if c.Name == w.Component && c.Kind == w.Kind && c.ObjectName() == w.Name {
			return c, true
		}
	}
	return Component{}, false
}

func componentByName(name string) (Component, bool) {
	i := slices.IndexFunc(Components(), func(c Component) bool { return c.Name == name })
	if i < 0 {
		return Component{}, false
	}
	return Components()[i], true
}
