package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/mcpbox/mcpbox/tools/testrun/internal/deps"
	"github.com/mcpbox/mcpbox/tools/testrun/internal/gotest"
	"github.com/mcpbox/mcpbox/tools/testrun/internal/pipeline"
)

// verifyParallel is how many `go mod verify` run at once: they hash the
// module cache, which is disk- more than CPU-bound.
const verifyParallel = 3

// vuln is `make vuln` with every check counted as a test (operations.md §7,
// OPS-41, OPS-42):
//
//   - `go mod verify` in every module (workspace, tools, deploy, tools/pins/*),
//     one test each;
//   - tools/vulngate, the pinned govulncheck offline against the indexed
//     pinned vulndb over the go.work modules, one test;
//   - the vulngate canary (TestOPS41_CanaryReported, build tag vulncanary),
//     which needs the same binary and database;
//   - the licence check's tests in tools/pins/licenses, which include the
//     check of the real repository (TestOPS42_RealCheckPasses).
//
// `go mod tidy -diff` belongs to the lint stage and is not repeated. The
// pinned binaries and the database come from stage deps (.cache/bin,
// .cache/vulndb); a missing one fails the checks that need it.
func (s *state) vuln(ctx context.Context, log io.Writer) pipeline.Result {
	tally := gotest.NewTally(log, s.cfg.ci, s.allow)
	var errs []error
	var counted gotest.Counts
	var details []string
	check := func(name string, err error) {
		if err != nil {
			counted.Failed++
			details = append(details, name+" failed: "+err.Error())
			return
		}
		counted.Passed++
	}

	mods, err := s.allModules(ctx)
	check("list modules", err)
	for i, err := range s.verifyModules(ctx, log, mods) {
		rel, _ := filepath.Rel(s.cfg.root, mods[i])
		check("go mod verify in "+rel, err)
	}

	toolsDir := filepath.Join(s.cfg.root, "tools")
	toolsEnv := setEnv(s.env, "GOWORK", "off")
	bin, db, err := s.vulnTools()
	if err != nil {
		_, _ = fmt.Fprintf(log, "vuln: %v\n", err)
		check("govulncheck gate", err)
		check("vulngate canary", err)
	} else {
		check("govulncheck gate (tools/vulngate)", pipeline.Exec(ctx, log, pipeline.Command{
			Dir: toolsDir, Env: toolsEnv,
			Args: []string{"go", "run", "./vulngate", "-root", s.cfg.root, "-govulncheck", bin, "-db", db},
		}))
		canaryEnv := setEnv(setEnv(toolsEnv, "MCPBOX_GOVULNCHECK", bin), "MCPBOX_VULNDB", db)
		errs = append(errs, pipeline.Exec(ctx, log, pipeline.Command{
			Dir: toolsDir, Env: canaryEnv, Stdout: tally,
			Args: []string{"go", "test", "-json", "-count=1", "-tags", "vulncanary", "-run", "^TestOPS41_CanaryReported$", "./vulngate"},
		}))
	}
	errs = append(errs, pipeline.Exec(ctx, log, pipeline.Command{
		Dir: filepath.Join(s.cfg.root, deps.PinsDir, "licenses"), Env: toolsEnv, Stdout: tally,
		Args: []string{"go", "test", "-json", "-count=1", "./..."},
	}))
	tally.Flush()
	res := testResult(tally, errors.Join(errs...), "")
	res.Tests.Passed += counted.Passed
	res.Tests.Failed += counted.Failed
	res.Details = append(res.Details, details...)
	if counted.Failed > 0 {
		res.Status = pipeline.Failed
	}
	return res
}

// allModules lists every module: the go.work modules, tools/, deploy/ and
// each tools/pins/<tool> with a go.mod.
func (s *state) allModules(ctx context.Context) ([]string, error) {
	// go.work lists the workspace modules; a GOWORK=off from the caller would hide them.
	mods, err := s.lines(ctx, s.cfg.root, unsetEnv(s.env, "GOWORK"), "go", "list", "-m", "-f", "{{.Dir}}")
	if err != nil {
		return nil, err
	}
	if len(mods) == 0 {
		return nil, fmt.Errorf("go list -m in %s lists no go.work modules", s.cfg.root)
	}
	mods = append(mods, filepath.Join(s.cfg.root, "tools"), filepath.Join(s.cfg.root, "deploy"))
	pins, err := filepath.Glob(filepath.Join(s.cfg.root, deps.PinsDir, "*", "go.mod"))
	if err != nil {
		return nil, err
	}
	for _, p := range pins {
		mods = append(mods, filepath.Dir(p))
	}
	return mods, nil
}

// verifyModules runs `go mod verify` (GOWORK=off, as make mod-verify does)
// in each module, verifyParallel at a time, and returns each one's error.
func (s *state) verifyModules(ctx context.Context, log io.Writer, mods []string) []error {
	errs := make([]error, len(mods))
	var mu sync.Mutex // one writer at a time on log
	sem := make(chan struct{}, verifyParallel)
	var wg sync.WaitGroup
	for i, m := range mods {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			var out strings.Builder
			errs[i] = pipeline.Exec(ctx, &out, pipeline.Command{Dir: m, Env: setEnv(s.env, "GOWORK", "off"), Args: []string{"go", "mod", "verify"}})
			mu.Lock()
			_, _ = io.WriteString(log, out.String())
			mu.Unlock()
		})
	}
	wg.Wait()
	return errs
}

// vulnTools returns the pinned govulncheck and the indexed database, both
// absolute, or why they are missing.
func (s *state) vulnTools() (bin, db string, err error) {
	var gv, vdb *deps.Pin
	for i, p := range s.pins {
		switch p.Name {
		case "govulncheck":
			gv = &s.pins[i]
		case deps.VulnDBPin:
			vdb = &s.pins[i]
		}
	}
	if gv == nil || vdb == nil {
		return "", "", errors.New("tools/pins/govulncheck or tools/pins/vulndb is missing (or stage deps could not read tools/pins)")
	}
	bin = filepath.Join(s.cfg.root, gv.Binary(s.goVersion))
	db = filepath.Join(s.cfg.root, deps.VulnDB(*vdb))
	for _, p := range []string{bin, filepath.Join(s.cfg.root, deps.VulnDBIndex(*vdb))} {
		if _, err := os.Stat(p); err != nil {
			return "", "", fmt.Errorf("%w (stage deps builds and indexes it: see deps.log)", err)
		}
	}
	return bin, db, nil
}
