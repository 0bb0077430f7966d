package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/mcpbox/mcpbox/tools/devstack/internal/composeenv"
)

// composeEnv writes deploy/compose/.env when it is missing (and appends any key it lacks).
func composeEnv(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("devstack compose-env", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := options{}
	fs.StringVar(&o.root, "root", "", "repository root (default: the nearest directory above the working directory holding go.work)")
	out := fs.String("out", "", "file to write (default <root>/deploy/compose/.env)")
	version := fs.String("version", "", "image tag MCPBOX_VERSION (default: git describe --always --dirty)")
	if err := fs.Parse(args); err != nil {
		return exitError{2, err}
	}
	if fs.NArg() > 0 {
		return exitError{2, fmt.Errorf("compose-env: unexpected argument %q", fs.Arg(0))}
	}
	if err := o.resolvePaths(); err != nil {
		return exitError{2, err}
	}
	if *out == "" {
		*out = filepath.Join(o.root, "deploy", "compose", ".env")
	}
	if *version == "" {
		*version = gitVersion(o.root)
	}
	added, err := composeenv.Write(*out, *version)
	if err != nil {
		return err
	}
	if len(added) == 0 {
		_, err = fmt.Fprintf(stdout, "%s already has every key; left unchanged\n", *out)
	} else {
		_, err = fmt.Fprintf(stdout, "wrote %s (mode 0600): %s\n", *out, strings.Join(added, ", "))
	}
	return err
}

// gitVersion is the version make run builds with, or "dev" outside a git checkout.
func gitVersion(root string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "git", "-C", root, "describe", "--always", "--dirty").Output()
	if v := strings.TrimSpace(string(out)); err == nil && v != "" {
		return v
	}
	return "dev"
}
