package compose_test

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"go.yaml.in/yaml/v3"
)

// problems collects rule violations, each "<service or network>: <rule>".
type problems []string

func (p *problems) addf(object, format string, args ...any) {
	*p = append(*p, object+": "+fmt.Sprintf(format, args...))
}

// checkProject asserts §5.1 on a loaded project (every profile enabled): the
// service set, images and builds, hardening, healthchecks, profiles,
// dependencies, ports, networks and each service's variables. env is what the
// project was loaded with; n the network settings it should produce.
func checkProject(p *types.Project, env map[string]string, n netParams) problems {
	var out problems
	if p.Name != "mcpbox" {
		out.addf("project", "name must be mcpbox (got %q)", p.Name)
	}
	if got := slices.Sorted(maps.Keys(p.Services)); !slices.Equal(got, slices.Sorted(slices.Values(allServices()))) {
		out.addf("project", "services must be exactly %v (got %v)", allServices(), got)
	}
	for _, name := range slices.Sorted(maps.Keys(p.Services)) {
		svc := p.Services[name]
		if name == "postgres" {
			checkPostgres(&out, p, svc)
		} else {
			checkMCPboxService(&out, p, svc, env["MCPBOX_VERSION"])
		}
		checkPorts(&out, svc, wantPorts(n)[name])
		checkEnvironment(&out, svc, env, wantValues(n)[name])
		checkSet(&out, name, "networks", slices.Collect(maps.Keys(svc.Networks)), wantNetworks()[name])
		checkDependsOn(&out, svc)
		wantProfiles := []string(nil)
		if name == "edge" {
			wantProfiles = []string{"edge"}
		}
		if !slices.Equal(svc.Profiles, wantProfiles) {
			out.addf(name, "profiles must be %v: only the edge has a profile, edge (got %v)", wantProfiles, svc.Profiles)
		}
	}
	checkNetworks(&out, p, n)
	return out
}

// checkMCPboxService checks the image, the build and the hardening of one of
// the four MCPbox services.
func checkMCPboxService(out *problems, p *types.Project, svc types.ServiceConfig, version string) {
	name := svc.Name
	if want := "mcpbox/" + name + ":" + version; svc.Image != want {
		out.addf(name, "image must be %s, tagged ${MCPBOX_VERSION} (got %q)", want, svc.Image)
	}
	if b := svc.Build; b == nil {
		out.addf(name, "build must use deploy/docker/Dockerfile")
	} else {
		if want := repoRoot(p.WorkingDir); b.Context != want {
			out.addf(name, "build context must be the repository root %s (got %s)", want, b.Context)
		}
		if b.Dockerfile != "deploy/docker/Dockerfile" {
			out.addf(name, "build dockerfile must be deploy/docker/Dockerfile (got %q)", b.Dockerfile)
		}
		if arg := b.Args["SERVICE"]; arg == nil || *arg != name {
			out.addf(name, "build arg SERVICE must be %s", name)
		}
	}
	if !svc.ReadOnly {
		out.addf(name, "hardening: read_only must be true")
	}
	if !slices.Equal(svc.Tmpfs, []string{"/tmp"}) {
		out.addf(name, "hardening: tmpfs must be [/tmp] (got %v)", svc.Tmpfs)
	}
	if svc.User != "65532:65532" {
		out.addf(name, `hardening: user must be "65532:65532" (got %q)`, svc.User)
	}
	checkDropAll(out, svc)
	hc := svc.HealthCheck
	if hc == nil || hc.Disable || !slices.Equal(hc.Test, types.HealthCheckTest{"CMD", "/mcpbox", "healthcheck"}) {
		out.addf(name, `healthcheck must be ["CMD","/mcpbox","healthcheck"]`)
	}
}

// checkDropAll checks the hardening postgres shares with the MCPbox services.
func checkDropAll(out *problems, svc types.ServiceConfig) {
	if !slices.Equal(svc.CapDrop, []string{"ALL"}) {
		out.addf(svc.Name, "hardening: cap_drop must be [ALL] (got %v)", svc.CapDrop)
	}
	if !slices.Contains(svc.SecurityOpt, "no-new-privileges:true") {
		out.addf(svc.Name, "hardening: security_opt must hold no-new-privileges:true (got %v)", svc.SecurityOpt)
	}
}

// checkPostgres checks the postgres service of §5.1.
func checkPostgres(out *problems, p *types.Project, svc types.ServiceConfig) {
	postgresImage := regexp.MustCompile(`^postgres:17\.[0-9]+-bookworm$`) // an exact-tag official image
	if !postgresImage.MatchString(svc.Image) {
		out.addf("postgres", "image must be an exact tag postgres:17.<patch>-bookworm (got %q)", svc.Image)
	}
	if svc.User != "postgres" {
		out.addf("postgres", "user must be postgres (got %q)", svc.User)
	}
	checkDropAll(out, svc)
	named := false
	for _, v := range svc.Volumes {
		_, declared := p.Volumes[v.Source]
		named = named || (v.Type == types.VolumeTypeVolume && declared && v.Target == "/var/lib/postgresql/data")
	}
	if !named {
		out.addf("postgres", "its data directory /var/lib/postgresql/data must be a named volume")
	}
	if hc := svc.HealthCheck; hc == nil || hc.Disable || len(hc.Test) < 2 || hc.Test[0] != "CMD" || hc.Test[1] != "pg_isready" {
		out.addf("postgres", `healthcheck must be ["CMD","pg_isready",…]`)
	}
}

// checkPorts checks the published ports; 8004, the backend's internal
// listener, is never published (OPS-43).
func checkPorts(out *problems, svc types.ServiceConfig, want []string) {
	var got []string
	for _, pc := range svc.Ports {
		got = append(got, pc.HostIP+":"+pc.Published+":"+strconv.FormatUint(uint64(pc.Target), 10))
		if pc.Target == 8004 || pc.Published == "8004" {
			out.addf(svc.Name, "port 8004 (the backend's internal listener) must never be published")
		}
	}
	if len(want) == 0 && len(got) > 0 {
		out.addf(svc.Name, "must publish no port (got %v)", got)
		return
	}
	checkSet(out, svc.Name, "published ports", got, want)
}

// checkEnvironment checks the exact variable set, the values §5.1 fixes, that
// secrets resolve to the supplied .env values, and the sandbox's forbidden
// variables.
func checkEnvironment(out *problems, svc types.ServiceConfig, env, values map[string]string) {
	name := svc.Name
	checkSet(out, name, "environment variables", slices.Collect(maps.Keys(svc.Environment)), wantEnv()[name])
	value := func(k string) string {
		if v := svc.Environment[k]; v != nil {
			return *v
		}
		return ""
	}
	for _, k := range slices.Sorted(maps.Keys(values)) {
		if got := value(k); got != values[k] {
			out.addf(name, "%s must be %q (got %q)", k, values[k], got)
		}
	}
	for k, src := range secretSources() {
		if _, ok := svc.Environment[k]; !ok || env[src] == "" {
			continue
		}
		want := env[src]
		if k == "MCPBOX_DATABASE_URL" {
			want = "postgres://mcpbox:" + env[src] + "@postgres:5432/mcpbox?sslmode=disable"
		}
		if value(k) != want {
			out.addf(name, "secret %s must come from ${%s}", k, src)
		}
	}
	if name != "sandbox" {
		return
	}
	for _, k := range sandboxForbidden() {
		if _, ok := svc.Environment[k]; ok {
			out.addf(name, "forbidden variable %s: the sandbox never receives it (operations.md §2.5)", k)
		}
	}
	for k := range svc.Environment {
		for _, f := range sandboxForbidden() {
			if s := env[f]; s != "" && strings.Contains(value(k), s) {
				out.addf(name, "%s carries the value of %s, which the sandbox never receives", k, f)
			}
		}
	}
}

// checkDependsOn checks that each service waits, healthy, for exactly the
// services of §5.1.
func checkDependsOn(out *problems, svc types.ServiceConfig) {
	checkSet(out, svc.Name, "depends_on", slices.Collect(maps.Keys(svc.DependsOn)), wantDependsOn()[svc.Name])
	for dep, d := range svc.DependsOn {
		if d.Condition != types.ServiceConditionHealthy {
			out.addf(svc.Name, "depends_on %s must use condition service_healthy (got %q)", dep, d.Condition)
		}
	}
}

// checkNetworks checks the network definitions and the gateway's fixed
// address on mcp-local.
func checkNetworks(out *problems, p *types.Project, n netParams) {
	want := []string{"admin", "backplane", "mcp-local", "public", "sandbox-egress"}
	checkSet(out, "project", "networks", slices.Collect(maps.Keys(p.Networks)), want)
	for _, name := range want {
		nw, ok := p.Networks[name]
		if !ok {
			continue
		}
		if nw.Internal != (name == "backplane") {
			out.addf("network "+name, "internal must be %t: only backplane is internal", name == "backplane")
		}
		wantSubnet := map[string]string{"backplane": n.backplane, "mcp-local": n.local}[name]
		var subnets []string
		for _, pool := range nw.Ipam.Config {
			subnets = append(subnets, pool.Subnet)
		}
		if wantSubnet != "" && !slices.Equal(subnets, []string{wantSubnet}) {
			out.addf("network "+name, "subnet must be %s (got %v)", wantSubnet, subnets)
		}
	}
	if gw, ok := p.Services["gateway"]; ok {
		if cfg := gw.Networks["mcp-local"]; cfg == nil || cfg.Ipv4Address != n.gatewayIP {
			out.addf("gateway", "ipv4_address on mcp-local must be %s", n.gatewayIP)
		}
	}
}

// checkSet reports a difference between got and want as sets.
func checkSet(out *problems, object, what string, got, want []string) {
	g, w := slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))
	if !slices.Equal(g, w) {
		out.addf(object, "%s must be exactly %v (got %v)", what, w, g)
	}
}

// checkRaw reads the YAML of each compose file before interpolation and
// checks that every secret is an interpolation of its .env variable:
// ${VAR:?message} for a required one, ${VAR:-} for a rotation-only one, and
// the database URL's password ${MCPBOX_POSTGRES_PASSWORD:?…}.
func checkRaw(files map[string][]byte) problems {
	var out problems
	required := regexp.MustCompile(`^\$\{([A-Z0-9_]+):\?[^}]+\}$`)
	optional := regexp.MustCompile(`^\$\{([A-Z0-9_]+):-\}$`)
	dbURL := regexp.MustCompile(`^postgres://mcpbox:\$\{MCPBOX_POSTGRES_PASSWORD:\?[^}]+\}@postgres:5432/mcpbox\?sslmode=disable$`)
	for _, file := range slices.Sorted(maps.Keys(files)) {
		var doc yaml.Node
		if err := yaml.Unmarshal(files[file], &doc); err != nil || len(doc.Content) == 0 {
			out.addf(file, "not YAML: %v", err)
			continue
		}
		services := child(doc.Content[0], "services")
		for i := 0; services != nil && i+1 < len(services.Content); i += 2 {
			name := services.Content[i].Value
			envNode := child(services.Content[i+1], "environment")
			if envNode == nil {
				continue
			}
			if envNode.Kind != yaml.MappingNode {
				out.addf(name, "environment must be a mapping in %s, so each secret's interpolation can be checked", file)
				continue
			}
			for j := 0; j+1 < len(envNode.Content); j += 2 {
				key, val := envNode.Content[j].Value, envNode.Content[j+1].Value
				src, secret := secretSources()[key]
				switch {
				case !secret:
				case key == "MCPBOX_DATABASE_URL":
					if !dbURL.MatchString(val) {
						out.addf(name, "secret %s must be postgres://mcpbox:${MCPBOX_POSTGRES_PASSWORD:?…}@postgres:5432/mcpbox?sslmode=disable", key)
					}
				case slices.Contains(optionalSecrets(), key):
					if m := optional.FindStringSubmatch(val); m == nil || m[1] != src {
						out.addf(name, "secret %s must be the interpolation ${%s:-}", key, src)
					}
				default:
					if m := required.FindStringSubmatch(val); m == nil || m[1] != src {
						out.addf(name, "secret %s must be the interpolation ${%s:?<message>}", key, src)
					}
				}
			}
		}
	}
	return out
}

// child returns the value of key in a YAML mapping node, or nil.
func child(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}
