// Package docker_test stands in for building the images (there is no Docker
// engine on this project's machines, spec/operations.md §5.3): it parses
// deploy/docker/Dockerfile with BuildKit's own parser and checks the §5.2
// rules, and checks the root .dockerignore. Negative fixtures in testdata/
// each break one rule.
package docker_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// parse reads a Dockerfile into its stages and its global ARGs.
func parse(t *testing.T, path string) ([]instructions.Stage, []instructions.ArgCommand) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	ast, err := parser.Parse(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	stages, metaArgs, err := instructions.Parse(ast.AST, nil)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return stages, metaArgs
}

// makefileGoVersion is the Go version of the Makefile's toolchain pin
// (`export GOTOOLCHAIN := go1.27.3` gives 1.27.3).
func makefileGoVersion(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^export GOTOOLCHAIN := go(\S+)$`).FindSubmatch(raw)
	if m == nil {
		t.Fatal("Makefile: no `export GOTOOLCHAIN := go<version>` line")
	}
	return string(m[1])
}

// check applies the §5.2/§5.3 rules and returns each violation, naming the
// stage or instruction and the rule. goVersion is the Makefile's pin.
func check(stages []instructions.Stage, metaArgs []instructions.ArgCommand, goVersion string) []string {
	var out []string
	addf := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	globals := map[string]string{}
	for _, a := range metaArgs {
		for _, kv := range a.Args {
			globals[kv.Key] = kv.ValueString()
		}
	}
	if got, ok := globals["GO_VERSION"]; !ok || got != goVersion {
		addf("ARG GO_VERSION: its default must equal the Makefile's GOTOOLCHAIN %s (got %q)", goVersion, got)
	}
	if len(stages) == 0 {
		return append(out, "Dockerfile: no FROM")
	}
	for i, s := range stages {
		if problem := checkBase(s.BaseName, globals, stages[:i]); problem != "" {
			addf("FROM %s (stage %d %q): %s", s.BaseName, i, s.Name, problem)
		}
		for _, c := range s.Commands {
			if add, ok := c.(*instructions.AddCommand); ok {
				for _, src := range add.SourcePaths {
					if regexp.MustCompile(`^([a-zA-Z][a-zA-Z0-9+.-]*://|git@)`).MatchString(src) {
						addf("ADD %s (stage %d %q): no ADD may fetch a URL; download in a RUN with a checksum, or COPY", src, i, s.Name)
					}
				}
			}
		}
	}
	out = append(out, checkGoBuild(stages)...)
	return append(out, checkFinal(stages[len(stages)-1])...)
}

// checkBase returns why a FROM is not allowed: it must be scratch, an
// earlier stage, or an image with an exact-version tag (at least
// major.minor, optionally with a suffix such as -bookworm, or a digest),
// never latest or untagged.
func checkBase(base string, globals map[string]string, earlier []instructions.Stage) string {
	image := os.Expand(base, func(k string) string { return globals[k] })
	if image == "scratch" || slices.ContainsFunc(earlier, func(s instructions.Stage) bool { return s.Name == image }) {
		return ""
	}
	if strings.Contains(image, "@sha256:") {
		return ""
	}
	name := image[strings.LastIndex(image, "/")+1:]
	_, tag, tagged := strings.Cut(name, ":")
	switch {
	case !tagged:
		return "untagged image; base images need an exact-version tag (never latest or untagged)"
	case tag == "latest":
		return "tag latest; base images need an exact-version tag (never latest or untagged)"
	case !regexp.MustCompile(`^v?[0-9]+(\.[0-9]+)+([-_.][A-Za-z0-9._-]+)?$`).MatchString(tag):
		return fmt.Sprintf("tag %q is not an exact version; base images need an exact-version tag such as 1.27.3-bookworm", tag)
	}
	return ""
}

// checkGoBuild requires at least one `go build`, and every one with
// -trimpath and CGO_ENABLED=0 (in the same RUN or an earlier ENV of its
// stage), so the binaries are static and carry no build paths.
func checkGoBuild(stages []instructions.Stage) []string {
	var out []string
	builds := 0
	for i, s := range stages {
		cgoOff := false
		for _, c := range s.Commands {
			switch c := c.(type) {
			case *instructions.EnvCommand:
				for _, kv := range c.Env {
					if kv.Key == "CGO_ENABLED" {
						cgoOff = kv.Value == "0"
					}
				}
			case *instructions.RunCommand:
				line := strings.Join(c.CmdLine, " ")
				if !strings.Contains(line, "go build") {
					continue
				}
				builds++
				if !strings.Contains(line, "-trimpath") {
					out = append(out, fmt.Sprintf("RUN go build (stage %d %q): must set -trimpath", i, s.Name))
				}
				if !cgoOff && !strings.Contains(line, "CGO_ENABLED=0") {
					out = append(out, fmt.Sprintf("RUN go build (stage %d %q): must set CGO_ENABLED=0 (static binaries)", i, s.Name))
				}
			}
		}
	}
	if builds == 0 {
		out = append(out, "Dockerfile: no RUN go build; the build stage must build the service")
	}
	return out
}

// checkFinal checks the final stage: no RUN (scratch has no shell), a
// numeric non-zero USER and an exec-form ENTRYPOINT.
func checkFinal(s instructions.Stage) []string {
	var out []string
	var user *instructions.UserCommand
	var entry *instructions.EntrypointCommand
	for _, c := range s.Commands {
		switch c := c.(type) {
		case *instructions.RunCommand:
			out = append(out, fmt.Sprintf("RUN %s (final stage): the final stage has no RUN", strings.Join(c.CmdLine, " ")))
		case *instructions.UserCommand:
			user = c
		case *instructions.EntrypointCommand:
			entry = c
		}
	}
	if user == nil {
		out = append(out, "final stage: needs a numeric non-zero USER")
	} else {
		uid, gid, hasGroup := strings.Cut(user.User, ":")
		numeric := regexp.MustCompile(`^[0-9]+$`)
		if !numeric.MatchString(uid) || strings.TrimLeft(uid, "0") == "" || (hasGroup && !numeric.MatchString(gid)) {
			out = append(out, fmt.Sprintf("USER %s (final stage): must be numeric and non-zero, such as 65532:65532", user.User))
		}
	}
	switch {
	case entry == nil:
		out = append(out, `final stage: needs an exec-form ENTRYPOINT ["/mcpbox"]`)
	case entry.PrependShell:
		out = append(out, fmt.Sprintf(`ENTRYPOINT %s (final stage): must be exec form, such as ["/mcpbox"]`, strings.Join(entry.CmdLine, " ")))
	}
	return out
}

// OPS-34: deploy/docker/Dockerfile passes every §5.3 check: each FROM is
// scratch, an earlier stage or an exact-version tag; ARG GO_VERSION equals
// the Makefile's pin; the final stage has a numeric non-zero USER, an
// exec-form ENTRYPOINT and no RUN; go build runs with CGO_ENABLED=0 and
// -trimpath; no ADD fetches a URL. Its final stage is FROM scratch.
func TestOPS34_DockerfilePassesTheStaticChecks(t *testing.T) {
	t.Parallel()
	stages, metaArgs := parse(t, "Dockerfile")
	for _, problem := range check(stages, metaArgs, makefileGoVersion(t)) {
		t.Error(problem)
	}
	if final := stages[len(stages)-1]; final.BaseName != "scratch" {
		t.Errorf("final stage: must be FROM scratch (got %s)", final.BaseName)
	}
}

// OPS-34: each negative fixture fails with a message naming the instruction
// or stage and the rule; every file in testdata/ is a listed fixture.
func TestOPS34_NegativeDockerfilesFailNamingTheRule(t *testing.T) {
	t.Parallel()
	goVersion := makefileGoVersion(t)
	cases := map[string]string{
		"latest.Dockerfile":           "FROM golang:latest (stage 0 \"build\"): tag latest",
		"untagged.Dockerfile":         "FROM golang (stage 0 \"build\"): untagged image",
		"floating-tag.Dockerfile":     `tag "bookworm" is not an exact version`,
		"user-root.Dockerfile":        "USER root (final stage): must be numeric and non-zero",
		"user-zero.Dockerfile":        "USER 0:0 (final stage): must be numeric and non-zero",
		"no-user.Dockerfile":          "final stage: needs a numeric non-zero USER",
		"final-run.Dockerfile":        "(final stage): the final stage has no RUN",
		"shell-entrypoint.Dockerfile": "(final stage): must be exec form",
		"add-url.Dockerfile":          "ADD https://example.com/tool.tar.gz (stage 0 \"build\"): no ADD may fetch a URL",
		"no-trimpath.Dockerfile":      "must set -trimpath",
		"cgo.Dockerfile":              "must set CGO_ENABLED=0",
		"go-version.Dockerfile":       "ARG GO_VERSION: its default must equal the Makefile's GOTOOLCHAIN",
	}
	for file, want := range cases {
		t.Run(file, func(t *testing.T) {
			t.Parallel()
			stages, metaArgs := parse(t, filepath.Join("testdata", file))
			got := check(stages, metaArgs, goVersion)
			if !slices.ContainsFunc(got, func(p string) bool { return strings.Contains(p, want) }) {
				t.Errorf("no problem contains %q; got %q", want, got)
			}
		})
	}
	entries, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if _, ok := cases[e.Name()]; !ok {
			t.Errorf("testdata/%s is not a listed fixture", e.Name())
		}
	}
}

// OPS-34 (§5.2): the root .dockerignore keeps .git, .data, .cache, bin and
// node_modules (at any depth) out of the build context.
func TestOPS34_DockerignoreExcludesLocalState(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join("..", "..", ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(raw), "\n")
	for _, want := range []string{".git", ".data", ".cache", "bin"} {
		if !slices.Contains(lines, want) && !slices.Contains(lines, want+"/") {
			t.Errorf(".dockerignore: must exclude %s", want)
		}
	}
	if !slices.Contains(lines, "node_modules") && !slices.Contains(lines, "**/node_modules") {
		t.Error(".dockerignore: must exclude node_modules")
	}
}
