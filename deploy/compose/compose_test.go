// Package compose_test checks deploy/compose/compose.yaml against
// spec/operations.md §5.1 without a Docker engine (§5.3): it loads the file
// with compose-go, as docker compose does, and asserts the ports, networks,
// hardening, healthchecks, profile and variables of every service; the raw
// YAML shows that every secret is an interpolation. Negative fixtures in
// testdata/ are compose override files that each break one rule.
package compose_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
)

// composeFile is the file under test, relative to this package.
const composeFile = "compose.yaml"

// testEnv is a complete deploy/compose/.env: what `devstack compose-env`
// writes, with recognisable fake values (never real secrets).
func testEnv() map[string]string {
	return map[string]string{
		"MCPBOX_VERSION":           "v0.0.0-composetest",
		"MCPBOX_BACKEND_TOKEN":     "fake-backend-token-for-the-compose-test",
		"MCPBOX_SANDBOX_TOKEN":     "fake-sandbox-token-for-the-compose-test",
		"MCPBOX_GATEWAY_TOKEN":     "fake-gateway-token-for-the-compose-test",
		"MCPBOX_ENCRYPTION_KEY":    "fake-encryption-key-for-the-compose-test",
		"MCPBOX_ENCRYPTION_KEY_ID": "1",
		"MCPBOX_POSTGRES_PASSWORD": "fake-postgres-password-for-the-compose-test",
	}
}

// load loads compose.yaml plus overrides with env, every profile enabled
// unless profiles says otherwise.
func load(t *testing.T, env map[string]string, profiles []string, overrides ...string) (*types.Project, error) {
	t.Helper()
	dir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	details := types.ConfigDetails{WorkingDir: dir, Environment: env}
	for _, f := range append([]string{composeFile}, overrides...) {
		details.ConfigFiles = append(details.ConfigFiles, types.ConfigFile{Filename: filepath.Join(dir, f)})
	}
	return loader.LoadWithContext(t.Context(), details, loader.WithProfiles(profiles))
}

// rawFiles reads the named compose files as written, before interpolation.
func rawFiles(t *testing.T, names ...string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		out[n] = b
	}
	return out
}

// yamlLines is raw without its comment lines, whose ${…} are prose.
func yamlLines(raw []byte) string {
	var keep []string
	for _, line := range strings.Split(string(raw), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "\n")
}

// repoRoot is the repository root, two levels above deploy/compose.
func repoRoot(composeDir string) string { return filepath.Dir(filepath.Dir(composeDir)) }

// OPS-32, OPS-33 and OPS-43's compose half: with every required variable
// supplied, compose.yaml loads and meets every §5.1 rule (see checkProject):
// backend and gateway publish only on 127.0.0.1, postgres publishes nothing,
// 8004 is published nowhere, the gateway reaches http://backend:8004, the
// networks, subnets and the gateway's ipv4_address are §5.1's, every MCPbox
// service is hardened and healthchecked, each has exactly its variables and
// the sandbox none of the forbidden ones; secrets are interpolations.
func TestOPS32_ComposeLoadsAndMeetsTheSpec(t *testing.T) {
	t.Parallel()
	env := testEnv()
	p, err := load(t, env, []string{"*"})
	if err != nil {
		t.Fatalf("compose.yaml does not load with every required variable: %v", err)
	}
	for _, problem := range checkProject(p, env, defaultNet()) {
		t.Error(problem)
	}
	for _, problem := range checkRaw(rawFiles(t, composeFile)) {
		t.Error(problem)
	}
}

// OPS-33: the network settings are interpolations with §5.1's defaults; set,
// they move the subnets, the gateway's address and its local listener, the
// sandbox's egress deny list and the edge's bind address together.
func TestOPS33_NetworkSettingsFollowTheirVariables(t *testing.T) {
	t.Parallel()
	env := testEnv()
	n := netParams{backplane: "10.77.1.0/24", local: "10.77.2.0/29", gatewayIP: "10.77.2.3", edgeBind: "192.0.2.10"}
	env["MCPBOX_BACKPLANE_SUBNET"], env["MCPBOX_LOCAL_SUBNET"] = n.backplane, n.local
	env["MCPBOX_LOCAL_GATEWAY_IP"], env["MCPBOX_EDGE_BIND"] = n.gatewayIP, n.edgeBind
	p, err := load(t, env, []string{"*"})
	if err != nil {
		t.Fatal(err)
	}
	for _, problem := range checkProject(p, env, n) {
		t.Error(problem)
	}
}

// OPS-32: the edge runs only under profile edge; without it the project has
// the other four services.
func TestOPS32_EdgeOnlyUnderItsProfile(t *testing.T) {
	t.Parallel()
	p, err := load(t, testEnv(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.ServiceNames(); !slices.Equal(slices.Sorted(slices.Values(got)), []string{"backend", "gateway", "postgres", "sandbox"}) {
		t.Errorf("without a profile the services are %v, want backend, gateway, postgres, sandbox", got)
	}
	if _, ok := p.DisabledServices["edge"]; !ok {
		t.Error("edge: must be disabled without profile edge")
	}
	p, err = load(t, testEnv(), []string{"edge"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := p.Services["edge"]; !ok {
		t.Error("edge: must run with --profile edge")
	}
}

// OPS-32: loading without any one required variable fails and names it; the
// set of ${VAR:?…} interpolations in compose.yaml is exactly requiredVars.
func TestOPS32_MissingRequiredVariableIsNamed(t *testing.T) {
	t.Parallel()
	raw := yamlLines(rawFiles(t, composeFile)[composeFile])
	var inFile []string
	for _, m := range regexp.MustCompile(`\$\{([A-Z0-9_]+):\?`).FindAllStringSubmatch(raw, -1) {
		if !slices.Contains(inFile, m[1]) {
			inFile = append(inFile, m[1])
		}
	}
	if !slices.Equal(slices.Sorted(slices.Values(inFile)), slices.Sorted(slices.Values(requiredVars()))) {
		t.Errorf("compose.yaml requires %v, want exactly %v", inFile, requiredVars())
	}
	for _, v := range requiredVars() {
		env := testEnv()
		delete(env, v)
		_, err := load(t, env, nil)
		if err == nil || !strings.Contains(err.Error(), v) {
			t.Errorf("loading without %s: error %v, want one naming %s", v, err, v)
		}
	}
}

// The .env.example documents exactly the variables compose.yaml reads, each
// with an empty value (no secret in the repository), and .gitignore keeps
// the real deploy/compose/.env out of git.
func TestOPS33_EnvExampleDocumentsEveryVariable(t *testing.T) {
	t.Parallel()
	raw := yamlLines(rawFiles(t, composeFile)[composeFile])
	var used []string
	for _, m := range regexp.MustCompile(`\$\{([A-Z0-9_]+)`).FindAllStringSubmatch(raw, -1) {
		if !slices.Contains(used, m[1]) {
			used = append(used, m[1])
		}
	}
	var documented []string
	for _, line := range strings.Split(string(rawFiles(t, ".env.example")[".env.example"]), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || v != "" {
			t.Errorf(".env.example: %q must be KEY= with an empty value", line)
		}
		documented = append(documented, k)
	}
	if !slices.Equal(slices.Sorted(slices.Values(used)), slices.Sorted(slices.Values(documented))) {
		t.Errorf(".env.example documents %v; compose.yaml reads %v", slices.Sorted(slices.Values(documented)), slices.Sorted(slices.Values(used)))
	}
	ignore, err := os.ReadFile(filepath.Join("..", "..", ".gitignore"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(strings.Split(string(ignore), "\n"), "deploy/compose/.env") {
		t.Error(".gitignore: must list deploy/compose/.env")
	}
}

// fixture is a negative compose override in testdata/ and the problem it
// must cause: the object it names and the rule.
type fixture struct {
	file, want string
}

// fixtures are the negative cases: each override breaks one §5.1 rule.
func fixtures() []fixture {
	return []fixture{
		{"postgres-published-port.yaml", "postgres: must publish no port"},
		{"postgres-latest.yaml", "postgres: image must be an exact tag postgres:17.<patch>-bookworm"},
		{"sandbox-no-cap-drop.yaml", "sandbox: hardening: cap_drop must be [ALL]"},
		{"gateway-writable.yaml", "gateway: hardening: read_only must be true"},
		{"backend-root-user.yaml", `backend: hardening: user must be "65532:65532"`},
		{"edge-no-healthcheck.yaml", `edge: healthcheck must be ["CMD","/mcpbox","healthcheck"]`},
		{"backend-publishes-8004.yaml", "backend: port 8004 (the backend's internal listener) must never be published"},
		{"backend-all-interfaces.yaml", "backend: published ports must be exactly [127.0.0.1:8000:8000]"},
		{"gateway-main-listener.yaml", `gateway: MCPBOX_BACKEND_INTERNAL_URL must be "http://backend:8004"`},
		{"gateway-wrong-address.yaml", "gateway: ipv4_address on mcp-local must be 172.31.254.2"},
		{"sandbox-database-url.yaml", "sandbox: forbidden variable MCPBOX_DATABASE_URL"},
		{"sandbox-on-admin.yaml", "sandbox: networks must be exactly [backplane sandbox-egress]"},
		{"backplane-not-internal.yaml", "network backplane: internal must be true"},
		{"edge-without-profile.yaml", "edge: profiles must be [edge]"},
		{"gateway-literal-token.yaml", "gateway: secret MCPBOX_BACKEND_TOKEN must be the interpolation ${MCPBOX_BACKEND_TOKEN:?<message>}"},
		{"backend-extra-variable.yaml", "backend: environment variables must be exactly"},
		{"gateway-starts-early.yaml", "gateway: depends_on backend must use condition service_healthy"},
	}
}

// OPS-32, OPS-33: every negative fixture loads (it is valid compose) and
// fails the checks with a message naming the service and the rule; every
// file in testdata/ is a listed fixture.
func TestOPS33_NegativeFixturesFailNamingServiceAndRule(t *testing.T) {
	t.Parallel()
	listed := map[string]bool{}
	for _, f := range fixtures() {
		listed[f.file] = true
		t.Run(f.file, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join("testdata", f.file)
			env := testEnv()
			p, err := load(t, env, []string{"*"}, path)
			if err != nil {
				t.Fatalf("fixture does not load: %v", err)
			}
			got := append(checkProject(p, env, defaultNet()), checkRaw(rawFiles(t, composeFile, path))...)
			for _, problem := range got {
				if strings.Contains(problem, f.want) {
					return
				}
			}
			t.Errorf("no problem contains %q; got %q", f.want, got)
		})
	}
	entries, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !listed[e.Name()] {
			t.Errorf("testdata/%s is not a listed fixture", e.Name())
		}
	}
}
