// Command confdoc copies each service's configuration table, printed by
// `<service> config-doc` from the loader's struct tags, into README.md
// between the markers
//
//	<!-- BEGIN config-doc <service> -->
//	<!-- END config-doc <service> -->
//
// `make generate` runs it; with -check it changes nothing and exits 1 naming
// every stale table (the generate stage of make test).
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Services whose tables the README carries, in README order.
func services() []string { return []string{"backend", "gateway", "sandbox", "edge"} }

func main() {
	root := flag.String("root", ".", "repository root")
	bin := flag.String("bin", "", "directory with built service binaries (default: go run each service)")
	check := flag.Bool("check", false, "report stale tables instead of rewriting README.md")
	flag.Parse()
	if err := run(context.Background(), *root, *bin, *check); err != nil {
		fmt.Fprintln(os.Stderr, "confdoc:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, root, bin string, check bool) error {
	path := filepath.Join(root, "README.md")
	readme, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	tables := map[string]string{}
	for _, svc := range services() {
		out, err := configDoc(ctx, root, bin, svc)
		if err != nil {
			return fmt.Errorf("%s config-doc: %w", svc, err)
		}
		tables[svc] = out
	}
	updated, stale, err := Splice(readme, tables)
	if err != nil {
		return err
	}
	if check {
		if len(stale) > 0 {
			return fmt.Errorf("README.md is stale for %s; run `make generate`", strings.Join(stale, ", "))
		}
		return nil
	}
	if len(stale) == 0 {
		return nil
	}
	return os.WriteFile(path, updated, 0o644)
}

func configDoc(ctx context.Context, root, bin, svc string) (string, error) {
	var cmd *exec.Cmd
	if bin != "" {
		cmd = exec.CommandContext(ctx, filepath.Join(bin, svc), "config-doc")
	} else {
		cmd = exec.CommandContext(ctx, "go", "run", "./services/"+svc, "config-doc")
		cmd.Dir = root
	}
	cmd.Env = append(os.Environ(), "GOWORK=") // the services build in the workspace
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

// Splice replaces the body between each service's markers with its table and
// returns the new README and the services whose table changed.
func Splice(readme []byte, tables map[string]string) ([]byte, []string, error) {
	out := string(readme)
	var stale []string
	for _, svc := range services() {
		begin := "<!-- BEGIN config-doc " + svc + " -->\n"
		end := "<!-- END config-doc " + svc + " -->"
		i := strings.Index(out, begin)
		j := strings.Index(out, end)
		if i < 0 || j < i {
			return nil, nil, errors.New("README.md lacks the markers " + strings.TrimSpace(begin) + " … " + end)
		}
		body := out[i+len(begin) : j]
		if body != tables[svc] {
			stale = append(stale, svc)
			out = out[:i+len(begin)] + tables[svc] + out[j:]
		}
	}
	return []byte(out), stale, nil
}
