package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/mcpbox/mcpbox/tools/internal/repo"
)

// exitError carries a non-default exit status; an empty err prints nothing.
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string {
	if e.err == nil {
		return ""
	}
	return e.err.Error()
}

func (e exitError) Unwrap() error { return e.err }

// options are devstack's command line.
type options struct {
	root, bin, data string
	sandboxBin      string
	portOffset      int
	probeAddr       string
	readyTimeout    time.Duration
	restart         bool
}

// run dispatches the command line. environ is the caller's environment; sigs delivers Ctrl-C and
// SIGTERM.
func run(args, environ []string, stdout, stderr io.Writer, sigs <-chan os.Signal) error {
	if len(args) > 0 && args[0] == "compose-env" {
		return composeEnv(args[1:], stdout, stderr)
	}
	caller := envMap(environ)
	fs := flag.NewFlagSet("devstack", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.root, "root", "", "repository root (default: the nearest directory above the working directory holding go.work)")
	fs.StringVar(&o.bin, "bin", "", "directory of the service binaries (default <root>/bin)")
	fs.StringVar(&o.data, "data", "", "data directory (default <root>/.data)")
	fs.StringVar(&o.sandboxBin, "sandbox-bin", "", "sandbox binary (default <bin>/sandbox; e2e: <bin>/sandbox-e2e)")
	offset := 0
	if v := caller["MCPBOX_DEV_PORT_OFFSET"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return exitError{2, fmt.Errorf("MCPBOX_DEV_PORT_OFFSET=%q: must be an integer", v)}
		}
		offset = n
	}
	fs.IntVar(&o.portOffset, "port-offset", offset, "added to every default port (e2e: 10000); also MCPBOX_DEV_PORT_OFFSET")
	fs.StringVar(&o.probeAddr, "probe-addr", "127.0.0.1:5432", `system PostgreSQL to try before a private cluster; "off" skips it`)
	fs.DurationVar(&o.readyTimeout, "ready-timeout", 30*time.Second, "how long each service has to answer 200 on /readyz")
	fs.BoolVar(&o.restart, "restart", false, "after the banner, restart a service that exits (backoff 250ms doubling to 5s) instead of stopping the stack")
	if err := fs.Parse(args); err != nil {
		return exitError{2, err}
	}
	if fs.NArg() > 0 {
		return exitError{2, fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	if o.probeAddr == "off" {
		o.probeAddr = ""
	}
	if err := o.resolvePaths(); err != nil {
		return exitError{2, err}
	}
	s := newStack(o, environ, stdout)
	return s.run(sigs)
}

func (o *options) resolvePaths() error {
	if o.root == "" {
		wd, err := os.Getwd()
		if err != nil {
			return fmt.Errorf("working directory: %w", err)
		}
		root, err := repo.Root(wd)
		if err != nil {
			return err
		}
		o.root = root
	}
	root, err := filepath.Abs(o.root)
	if err != nil {
		return fmt.Errorf("-root: %w", err)
	}
	o.root = root
	if o.bin == "" {
		o.bin = filepath.Join(root, "bin")
	}
	if o.data == "" {
		o.data = filepath.Join(root, ".data")
	}
	if o.sandboxBin == "" {
		o.sandboxBin = filepath.Join(o.bin, "sandbox")
	}
	for _, p := range []*string{&o.bin, &o.data, &o.sandboxBin} {
		abs, err := filepath.Abs(*p)
		if err != nil {
			return fmt.Errorf("path %s: %w", *p, err)
		}
		*p = abs
	}
	return nil
}

// envMap turns KEY=value strings into a map; a later entry wins.
func envMap(environ []string) map[string]string {
	m := make(map[string]string, len(environ))
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}
