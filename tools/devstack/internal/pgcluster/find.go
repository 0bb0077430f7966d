// Package pgcluster runs make run's private PostgreSQL cluster in .data/pg (operations.md §1.3, "Private
// cluster"): it finds initdb and pg_ctl, installing PostgreSQL with apt-get when they are missing and
// devstack may; creates the cluster with a generated password; starts it on 127.0.0.1 only, TCP only,
// or reuses it when it already runs; and stops it.
//
// When devstack runs as root, PostgreSQL refuses to, so every initdb and pg_ctl runs through
// `runuser -u postgres --`, .data/pg belongs to postgres, and so does .data itself (still mode 0700),
// because postgres must be able to enter it.
package pgcluster

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// InstallCommand is what devstack runs (as root, or through sudo -n) when PostgreSQL is missing.
const InstallCommand = "apt-get install -y --no-install-recommends postgresql"

// Host is the system access pgcluster needs, injected so the lookup and install order can be tested
// without touching the machine.
type Host struct {
	LookPath func(file string) (string, error)
	Glob     func(pattern string) ([]string, error)
	Geteuid  func() int
	// Run runs name to completion with its output to out.
	Run func(ctx context.Context, out io.Writer, name string, args ...string) error
}

// OSHost is the real machine.
func OSHost() Host {
	return Host{LookPath: exec.LookPath, Glob: filepath.Glob, Geteuid: os.Geteuid, Run: run}
}

// run starts the command in its own process group, so the terminal's Ctrl-C reaches devstack alone and
// a postmaster started by pg_ctl never sees it; cancelling ctx kills the whole group.
func run(ctx context.Context, out io.Writer, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive", "LC_ALL=C")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return nil
}

// Binaries are the PostgreSQL programs devstack runs.
type Binaries struct {
	Initdb, PgCtl string
}

// Find returns initdb and pg_ctl from PATH or the newest /usr/lib/postgresql/*/bin. When neither has
// them, it installs PostgreSQL with apt-get as root or through `sudo -n`; when it can do neither, the
// error names the command to run.
func Find(ctx context.Context, h Host, out io.Writer) (Binaries, error) {
	if b, ok := lookup(h); ok {
		return b, nil
	}
	args := strings.Fields(InstallCommand)
	var err error
	switch {
	case h.Geteuid() == 0:
		_, _ = fmt.Fprintf(out, "PostgreSQL is not installed; running %s\n", InstallCommand)
		err = h.Run(ctx, out, args[0], args[1:]...)
	case h.Run(ctx, io.Discard, "sudo", "-n", "true") == nil:
		_, _ = fmt.Fprintf(out, "PostgreSQL is not installed; running sudo -n %s\n", InstallCommand)
		err = h.Run(ctx, out, "sudo", append([]string{"-n"}, args...)...)
	default:
		return Binaries{}, fmt.Errorf("PostgreSQL (initdb, pg_ctl) is not installed, and devstack is neither root nor "+
			"allowed to use sudo without a password; install it with\n    sudo %s\nor set MCPBOX_DATABASE_URL", InstallCommand)
	}
	if err != nil {
		return Binaries{}, fmt.Errorf("installing PostgreSQL failed: %w; install it with\n    sudo %s\nor set MCPBOX_DATABASE_URL",
			err, InstallCommand)
	}
	if b, ok := lookup(h); ok {
		return b, nil
	}
	return Binaries{}, fmt.Errorf("after %s, initdb and pg_ctl are still not in PATH or /usr/lib/postgresql/*/bin", InstallCommand)
}

func lookup(h Host) (Binaries, bool) {
	initdb, err1 := h.LookPath("initdb")
	pgctl, err2 := h.LookPath("pg_ctl")
	if err1 == nil && err2 == nil {
		return Binaries{Initdb: initdb, PgCtl: pgctl}, true
	}
	dirs, err := h.Glob("/usr/lib/postgresql/*/bin")
	if err != nil {
		return Binaries{}, false
	}
	slices.SortFunc(dirs, func(a, b string) int { return versionOf(b) - versionOf(a) }) // newest first
	for _, dir := range dirs {
		initdb, err1 := h.LookPath(filepath.Join(dir, "initdb"))
		pgctl, err2 := h.LookPath(filepath.Join(dir, "pg_ctl"))
		if err1 == nil && err2 == nil {
			return Binaries{Initdb: initdb, PgCtl: pgctl}, true
		}
	}
	return Binaries{}, false
}

// versionOf returns the major version in /usr/lib/postgresql/<v>/bin, or -1.
func versionOf(binDir string) int {
	v, err := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	if err != nil {
		return -1
	}
	return v
}
