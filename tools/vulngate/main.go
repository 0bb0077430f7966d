// Command vulngate is the govulncheck gate of `make vuln` (operations.md §7,
// OPS-41). It runs the pinned govulncheck offline, against the database
// indexed from the pinned golang.org/x/vulndb, over the code that ships (every
// go.work module: proto, db and the four services), and fails on any
// reachable (symbol-level) finding not accepted by
// deploy/security/vuln-exceptions.yaml, on an exception that has expired,
// lacks a reason or matches nothing, and on a scan that is not symbol-level.
// It prints the database's snapshot date and warns when it is over 90 days
// old.
//
//	vulngate -govulncheck .cache/bin/govulncheck-<pin>-<go> -db .cache/vulndb/<version> [-root DIR] [-input FILE]
//
// The workspace modules are scanned in one govulncheck run (from the first
// module, with a ./... pattern per module): inside go.work they share one
// build list, so the findings equal those of one run per module, at a
// fraction of the time (packages and the call graph are loaded once). With
// -input, vulngate reads saved `govulncheck -format json` output instead of
// running govulncheck.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/mcpbox/mcpbox/tools/internal/repo"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Environ(), os.Stdout, time.Now()))
}

func run(ctx context.Context, args, environ []string, out io.Writer, now time.Time) int {
	fs := flag.NewFlagSet("vulngate", flag.ContinueOnError)
	fs.SetOutput(out)
	root := fs.String("root", "", "repository root (default: the directory above the working directory holding go.work)")
	bin := fs.String("govulncheck", "", "the pinned govulncheck binary")
	db := fs.String("db", "", "the indexed vulnerability database directory, .cache/vulndb/<version>")
	input := fs.String("input", "", "read this saved `govulncheck -format json` output instead of running govulncheck")
	exceptions := fs.String("exceptions", "", "exceptions file (default: <root>/"+ExceptionsFile+")")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *root == "" {
		r, err := repo.RootFromWD()
		if err != nil {
			_, _ = fmt.Fprintf(out, "vulngate: %v\n", err)
			return 2
		}
		*root = r
	}
	if *db == "" || (*bin == "" && *input == "") {
		_, _ = fmt.Fprintln(out, "vulngate: -db and one of -govulncheck or -input are required")
		return 2
	}
	if *exceptions == "" {
		*exceptions = filepath.Join(*root, ExceptionsFile)
	}
	// The scan needs go.work: a caller's GOWORK=off (tools/ is built with it)
	// must not leak into govulncheck.
	environ = slices.DeleteFunc(slices.Clone(environ), func(kv string) bool { return strings.HasPrefix(kv, "GOWORK=") })
	if err := gate(ctx, gateArgs{root: *root, bin: *bin, db: *db, input: *input, exceptions: *exceptions, environ: environ}, out, now); err != nil {
		_, _ = fmt.Fprintf(out, "vulngate: FAIL: %v\n", err)
		return 1
	}
	return 0
}

type gateArgs struct {
	root, bin, db, input, exceptions string
	environ                          []string
}

func gate(ctx context.Context, a gateArgs, out io.Writer, now time.Time) error {
	db, err := filepath.Abs(a.db)
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(db, "index", "db.json")); err != nil {
		return fmt.Errorf("database %s is not indexed (%w); run make vuln, which indexes it from tools/pins/vulndb", db, err)
	}
	f, err := os.Open(a.exceptions)
	if err != nil {
		return err
	}
	excs, err := ParseExceptions(a.exceptions, f)
	_ = f.Close()
	if err != nil {
		return err
	}
	res, err := scan(ctx, a, db)
	if err != nil {
		return err
	}
	snap, err := Snapshot(db, res.Config.DBLastModified)
	if err != nil {
		return err
	}
	_, _ = fmt.Fprintf(out, "vulngate: database %s, snapshot %s; %s %s, %s, scan level %s\n",
		filepath.Base(db), snap.Format(time.DateOnly), "govulncheck", res.Config.ScannerVersion, res.Config.GoVersion, res.Config.ScanLevel)
	if w := AgeWarning(snap, now); w != "" {
		_, _ = fmt.Fprintln(out, "vulngate: "+w)
	}
	r := Evaluate(res.Findings, excs, now)
	if res.Config.ScanLevel != "symbol" {
		r.Problems = append(r.Problems, fmt.Sprintf("govulncheck scanned at level %q, want symbol: only a symbol-level scan tells reachable findings apart", res.Config.ScanLevel))
	}
	for _, e := range r.Excepted {
		_, _ = fmt.Fprintln(out, "vulngate: excepted: "+e)
	}
	for _, p := range r.Problems {
		_, _ = fmt.Fprintln(out, "vulngate: "+p)
	}
	_, _ = fmt.Fprintf(out, "vulngate: %d reachable findings (%d excepted), %d module- or package-level findings not reached, %d exceptions\n",
		r.Reachable, len(r.Excepted), r.Informational, len(excs))
	if !r.OK() {
		return fmt.Errorf("%d problems", len(r.Problems))
	}
	_, _ = fmt.Fprintln(out, "vulngate: ok")
	return nil
}

// scan reads -input, or runs govulncheck over every go.work module.
func scan(ctx context.Context, a gateArgs, db string) (Output, error) {
	if a.input != "" {
		f, err := os.Open(a.input)
		if err != nil {
			return Output{}, err
		}
		defer func() { _ = f.Close() }()
		return Decode(f)
	}
	cmd := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}")
	cmd.Dir, cmd.Env = a.root, a.environ
	b, err := cmd.Output()
	if err != nil {
		return Output{}, fmt.Errorf("list the go.work modules: %w", err)
	}
	mods := strings.Fields(string(b))
	if len(mods) == 0 {
		return Output{}, fmt.Errorf("go.work in %s lists no modules", a.root)
	}
	var patterns []string
	for _, m := range mods {
		rel, err := filepath.Rel(mods[0], m)
		if err != nil {
			return Output{}, err
		}
		switch rel = filepath.ToSlash(rel); {
		case rel == ".":
			patterns = append(patterns, "./...")
		case strings.HasPrefix(rel, "../"):
			patterns = append(patterns, rel+"/...")
		default:
			patterns = append(patterns, "./"+rel+"/...")
		}
	}
	return Scan(ctx, a.bin, db, mods[0], a.environ, patterns)
}
