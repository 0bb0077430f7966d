package analyze_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/analyze"
)

const okTool = `package tool

import "context"

type Input struct {
	Name string ` + "`json:\"name\"`" + `
}

// Main greets someone.
func Main(ctx context.Context, in Input) (string, error) {
	return "hello " + in.Name, nil
}
`

// tool builds a tool source from an import block and a body of declarations.
func tool(imports, decls string) string {
	return "package tool\n\nimport (\n\t\"context\"\n" + imports + ")\n\n" + decls + "\n"
}

// firstError returns the first error diagnostic, failing when there is none.
func firstError(t *testing.T, resp proto.AnalyzeResponse) proto.Diagnostic {
	t.Helper()
	for _, d := range resp.Diagnostics {
		if d.Severity == proto.SeverityError {
			return d
		}
	}
	t.Fatalf("no error diagnostic; got %+v", resp.Diagnostics)
	return proto.Diagnostic{}
}

// SB-28: a syntax error is a SyntaxError with line, column and context, and
// no worker is involved (static analysis only: no compile job, no worker).
func TestSB28_SyntaxError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, code string
		line, col  int
		want       string
	}{
		{"unclosed literal", "package tool\n\nfunc Main() {\n\tx := []int{1, 2\n}\n", 4, 17, "missing ','"},
		{"statement at top level", "package tool\n\nx := 1\n", 3, 1, "only declarations"},
		{"no package clause", "func Main() {}\n", 1, 1, "package tool"},
		{"unterminated string", "package tool\n\nvar s = \"abc\n", 3, 9, "close the quote"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := newAnalyzer(t).Analyze(context.Background(), proto.AnalyzeRequest{Code: tt.code, Compile: true})
			d := firstError(t, res.Response)
			if d.Type != proto.ErrTypeSyntaxError || d.Line != tt.line || d.Column != tt.col {
				t.Fatalf("diagnostic = %+v, want SyntaxError at %d:%d", d, tt.line, tt.col)
			}
			if !strings.Contains(d.Message, tt.want) || !strings.HasPrefix(d.Message, "line ") {
				t.Errorf("message %q lacks %q", d.Message, tt.want)
			}
			if !strings.Contains(d.Context, ">>") {
				t.Errorf("context %q has no >> marker", d.Context)
			}
			if res.Response.OK || res.Compile != nil || res.Response.Worker != nil {
				t.Errorf("ok=%t compile=%v worker=%v, want no worker", res.Response.OK, res.Compile, res.Response.Worker)
			}
			if e := res.ExecutionError(); e == nil || e.Type != proto.ErrTypeSyntaxError || e.Line == nil || *e.Line != tt.line || e.Context == nil {
				t.Errorf("execution error = %+v", e)
			}
		})
	}
}

// SB-29: missing Main, wrong signature, pointer input, input not a struct,
// identifier MCPBoxMain → ValidationError with the expected form.
func TestSB29_MainContract(t *testing.T) {
	t.Parallel()
	const expected = "func Main(ctx context.Context, in Input) (Output, error)"
	tests := []struct {
		name, code string
		want       string
	}{
		{"missing Main", tool("", "// Run runs.\nfunc Run(ctx context.Context) (string, error) { return \"\", nil }"), "no function Main"},
		{"method Main", tool("", "type T struct{}\n\n// Main is a method.\nfunc (T) Main(ctx context.Context) (string, error) { return \"\", nil }"), "not a method"},
		{"no context", tool("", "// Main x.\nfunc Main(in string) (string, error) { return \"\", nil }"), "ctx context.Context"},
		{"one result", tool("", "// Main x.\nfunc Main(ctx context.Context) string { return \"\" }"), "two results"},
		{"second result not error", tool("", "// Main x.\nfunc Main(ctx context.Context) (string, bool) { return \"\", false }"), "must be `error`"},
		{"too many params", tool("", "type Input struct{}\n\n// Main x.\nfunc Main(ctx context.Context, a, b Input) (string, error) { return \"\", nil }"), "optionally `in Input`"},
		{"pointer input", tool("", "type Input struct{}\n\n// Main x.\nfunc Main(ctx context.Context, in *Input) (string, error) { return \"\", nil }"), "by value, not as a pointer"},
		{"input not a struct", tool("", "type Input map[string]string\n\n// Main x.\nfunc Main(ctx context.Context, in Input) (string, error) { return \"\", nil }"), "is not a struct"},
		{"input undeclared", tool("", "// Main x.\nfunc Main(ctx context.Context, in string) (string, error) { return \"\", nil }"), "struct type declared in the file"},
		{"variadic", tool("", "type Input struct{}\n\n// Main x.\nfunc Main(ctx context.Context, in ...Input) (string, error) { return \"\", nil }"), "variadic"},
		{"type parameters", tool("", "// Main x.\nfunc Main[T any](ctx context.Context) (T, error) { var z T; return z, nil }"), "type parameters"},
		{"channel result", tool("", "// Main x.\nfunc Main(ctx context.Context) (chan int, error) { return nil, nil }"), "channel"},
		{"twice", tool("", "// Main x.\nfunc Main(ctx context.Context) (int, error) { return 0, nil }\n\n// Main y.\nfunc Main(ctx context.Context) (int, error) { return 0, nil }"), "more than once"},
		{"reserved identifier", strings.Replace(okTool, "// Main greets", "func MCPBoxMain() {}\n\n// Main greets", 1), "MCPBoxMain is reserved"},
		{"reserved variable", strings.Replace(okTool, "// Main greets", "var mcpbox_x = 1\n\n// Main greets", 1), "reserved"},
		{"wrong package", strings.Replace(okTool, "package tool", "package main", 1), "`package tool`"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := newAnalyzer(t).Analyze(context.Background(), proto.AnalyzeRequest{Code: tt.code})
			d := firstError(t, res.Response)
			if d.Type != proto.ErrTypeValidationError || !strings.Contains(d.Message, tt.want) {
				t.Fatalf("diagnostic = %+v, want ValidationError containing %q", d, tt.want)
			}
			isSignature := !strings.Contains(tt.name, "reserved") && tt.name != "wrong package"
			if isSignature && !strings.Contains(d.Message, expected) {
				t.Errorf("message %q does not show the expected form", d.Message)
			}
			if isSignature && res.Response.Main != nil {
				t.Errorf("main = %+v, want null for a broken Main", res.Response.Main)
			}
			if res.Response.OK {
				t.Error("ok = true")
			}
		})
	}
	// The valid forms pass.
	for _, code := range []string{okTool, tool("", "// Main x.\nfunc Main(ctx context.Context) (any, error) { return nil, nil }")} {
		res := newAnalyzer(t).Analyze(context.Background(), proto.AnalyzeRequest{Code: code})
		if !res.Response.OK || res.Response.Main == nil {
			t.Errorf("valid tool refused: %+v", res.Response.Diagnostics)
		}
	}
}

// importCase analyses a tool importing path and returns the ImportError.
func importError(t *testing.T, path string, extra []string) proto.Diagnostic {
	t.Helper()
	code := tool("\t"+`_ "`+path+`"`+"\n", "// Main x.\nfunc Main(ctx context.Context) (int, error) { return 0, nil }")
	res := newAnalyzer(t).Analyze(context.Background(), proto.AnalyzeRequest{Code: code, ExtraPackages: extra})
	d := firstError(t, res.Response)
	if d.Type != proto.ErrTypeImportError || d.Line != 5 || d.Column != 4 || res.Response.OK {
		t.Fatalf("%s: diagnostic = %+v (ok=%t), want ImportError at 5:4", path, d, res.Response.OK)
	}
	for _, im := range res.Response.Imports {
		if im.Path == path && (im.Allowed || im.Tier != proto.TierNever) {
			t.Errorf("%s: import = %+v, want never and not allowed", path, im)
		}
	}
	if e := res.ExecutionError(); e == nil || e.Type != proto.ErrTypeImportError {
		t.Errorf("%s: execution error = %+v", path, e)
	}
	return d
}

// SB-31 (analysis layer): capability packages are an ImportError, even when
// listed in extra_packages.
func TestSB31_CapabilityImportsRefused(t *testing.T) {
	t.Parallel()
	for _, path := range []string{"os", "os/exec", "syscall", "unsafe", "runtime", "runtime/debug", "plugin", "C"} {
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			d := importError(t, path, []string{path})
			want := "not available in MCPbox tools: "
			if !strings.Contains(d.Message, want) {
				t.Errorf("message %q lacks %q", d.Message, want)
			}
		})
	}
}

// SB-32 (analysis layer): reflect is refused, even when the caller lists it
// as approved, with a hint that names what to use instead.
func TestReflectRefused(t *testing.T) {
	t.Parallel()
	d := importError(t, "reflect", []string{"reflect"})
	if !strings.Contains(d.Message, "not available in MCPbox tools") || !strings.Contains(d.Message, "encoding/json") {
		t.Errorf("message %q", d.Message)
	}
}

// SB-33 (analysis layer): the interpreter's own packages are refused.
func TestSB33_YaegiImportsRefused(t *testing.T) {
	t.Parallel()
	for _, path := range []string{"github.com/traefik/yaegi/stdlib", "github.com/traefik/yaegi/interp", "github.com/traefik/yaegi/stdlib/unrestricted"} {
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			d := importError(t, path, nil)
			if !strings.Contains(d.Message, "not available in MCPbox tools") {
				t.Errorf("message %q", d.Message)
			}
		})
	}
}

// SB-34 (analysis layer): relative and absolute import paths are refused.
func TestSB34_PathImportsRefused(t *testing.T) {
	t.Parallel()
	for path, want := range map[string]string{
		"../../tmp/x": "relative imports are not supported",
		"/etc":        "absolute paths are not supported",
		"./x":         "relative imports are not supported",
		"a/../../b":   `".." elements`,
	} {
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			d := importError(t, path, nil)
			if !strings.Contains(d.Message, want) {
				t.Errorf("message %q lacks %q", d.Message, want)
			}
		})
	}
}

func TestImportTiers(t *testing.T) {
	t.Parallel()
	code := tool("\t\"encoding/xml\"\n\t\"strings\"\n\t\"github.com/acme/lib\"\n",
		"var _ = xml.Marshal\nvar _ = strings.ToUpper\nvar _ = lib.X\n\n// Main x.\nfunc Main(ctx context.Context) (int, error) { return 0, nil }")
	a := newAnalyzer(t)
	// The opt-in package is only allowed=false without extra_packages: no
	// diagnostic, but /v1/execute refuses with the request hint (SB-68).
	res := a.Analyze(context.Background(), proto.AnalyzeRequest{Code: code})
	want := []proto.Import{
		{Path: "context", Tier: proto.TierDefault, Allowed: true},
		{Path: "encoding/xml", Tier: proto.TierOptIn, Allowed: false},
		{Path: "github.com/acme/lib", Tier: proto.TierNever, Allowed: false},
		{Path: "strings", Tier: proto.TierDefault, Allowed: true},
	}
	if got := res.Response.Imports; !equalImports(got, want) {
		t.Fatalf("imports = %+v", got)
	}
	errs := 0
	for _, d := range res.Response.Diagnostics {
		if d.Severity == proto.SeverityError {
			errs++
			if !strings.Contains(d.Message, "third-party modules are not supported; see the package catalogue") {
				t.Errorf("unexpected error %+v", d)
			}
		}
	}
	if errs != 1 {
		t.Errorf("want exactly the third-party ImportError, got %+v", res.Response.Diagnostics)
	}
	// Without the third-party import, the opt-in one is the refusal.
	code = strings.Replace(code, "\t\"github.com/acme/lib\"\n", "", 1)
	code = strings.Replace(code, "var _ = lib.X\n", "", 1)
	res = a.Analyze(context.Background(), proto.AnalyzeRequest{Code: code})
	if !res.Response.OK || res.Refusal == nil || res.Refusal.Type != proto.ErrTypeImportError ||
		!strings.Contains(res.Refusal.Message, "mcpbox_request_package") || res.Refusal.Line != 5 {
		t.Fatalf("ok=%t refusal=%+v", res.Response.OK, res.Refusal)
	}
	res = a.Analyze(context.Background(), proto.AnalyzeRequest{Code: code, ExtraPackages: []string{"encoding/xml"}})
	if res.Refusal != nil || !res.Response.Imports[1].Allowed {
		t.Fatalf("approved opt-in still refused: %+v", res.Refusal)
	}
}

func equalImports(a, b []proto.Import) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// SB-76: identical code hits the cache; a new catalogue_version misses.
func TestSB76_AnalysisCache(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	a := analyze.New(reg, analyze.Options{CatalogueVersion: "cat-1"})
	ctx := context.Background()
	first := a.Analyze(ctx, proto.AnalyzeRequest{Code: okTool})
	second := a.Analyze(ctx, proto.AnalyzeRequest{Code: okTool, ExtraPackages: []string{"encoding/xml"}})
	if got := cacheCount(t, reg, "hit"); got != 1 {
		t.Fatalf("hits = %v, want 1", got)
	}
	if got := cacheCount(t, reg, "miss"); got != 1 {
		t.Fatalf("misses = %v, want 1", got)
	}
	j1, _ := json.Marshal(first.Response)
	j2, _ := json.Marshal(second.Response)
	if string(j1) != string(j2) {
		t.Fatalf("cached response differs:\n%s\n%s", j1, j2)
	}
	// Mutating a returned response never reaches the cache.
	second.Response.Secrets = append(second.Response.Secrets, "LEAK")
	second.Response.Diagnostics = append(second.Response.Diagnostics, proto.Diagnostic{Message: "x"})
	third := a.Analyze(ctx, proto.AnalyzeRequest{Code: okTool})
	if len(third.Response.Secrets) != 0 || len(third.Response.Diagnostics) != 0 {
		t.Fatalf("cache was mutated through a response: %+v", third.Response)
	}
	// Different code misses.
	a.Analyze(ctx, proto.AnalyzeRequest{Code: okTool + "\n"})
	if got := cacheCount(t, reg, "miss"); got != 2 {
		t.Fatalf("misses after new code = %v, want 2", got)
	}
	// A new catalogue version misses on the same code, with a shared cache.
	b := a.WithCatalogueVersion("cat-2")
	b.Analyze(ctx, proto.AnalyzeRequest{Code: okTool})
	if got := cacheCount(t, reg, "miss"); got != 3 {
		t.Fatalf("misses after new catalogue version = %v, want 3", got)
	}
	b.Analyze(ctx, proto.AnalyzeRequest{Code: okTool})
	if got := cacheCount(t, reg, "hit"); got != 3 {
		t.Fatalf("hits = %v, want 3", got)
	}
	if got := testutil.CollectAndCount(reg, "mcpbox_sandbox_analyze_duration_seconds"); got != 1 {
		t.Fatalf("duration histogram series = %d", got)
	}
}

// cacheCount reads mcpbox_sandbox_analysis_cache_total{result}.
func cacheCount(t *testing.T, reg *prometheus.Registry, result string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "mcpbox_sandbox_analysis_cache_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if m.GetLabel()[0].GetValue() == result {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no analysis_cache_total{result=%q}", result)
	return 0
}

func TestCacheEviction(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	a := analyze.New(reg, analyze.Options{CacheEntries: 2})
	ctx := context.Background()
	for _, suffix := range []string{"", "\n", "\n\n", ""} { // the first entry was evicted by the third
		a.Analyze(ctx, proto.AnalyzeRequest{Code: okTool + suffix})
	}
	if got := cacheCount(t, reg, "miss"); got != 4 {
		t.Fatalf("misses = %v, want 4 with a cache of 2", got)
	}
}

func TestCompileRequest(t *testing.T) {
	t.Parallel()
	a := newAnalyzer(t)
	res := a.Analyze(context.Background(), proto.AnalyzeRequest{Code: okTool, Compile: true, ExtraPackages: []string{"encoding/xml"}})
	job := res.Compile
	if job == nil || job.Code != okTool || job.Timeout != analyze.CompileTimeout || !job.Main.HasInput || job.Main.InputType != "Input" || len(job.ExtraPackages) != 0 {
		t.Fatalf("compile job = %+v", job)
	}
	if res.Response.Worker != nil {
		t.Fatal("static analysis reported a worker")
	}
	if res := a.Analyze(context.Background(), proto.AnalyzeRequest{Code: okTool}); res.Compile != nil {
		t.Fatal("compile job without compile: true")
	}
	resp := res.Response
	analyze.MergeCompile(&resp, []proto.Diagnostic{{Severity: proto.SeverityError, Type: proto.ErrTypeCompileError, Message: "undefined: x", Line: 10, Column: 9}}, &proto.WorkerStats{Exit: "code:0"})
	if resp.OK || resp.Worker == nil || resp.Diagnostics[0].Type != proto.ErrTypeCompileError {
		t.Fatalf("merged = %+v", resp)
	}
}

func TestLanguageLevel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, decls string
		sev         proto.Severity
		want        string // "" = no diagnostic at all
	}{
		{"min builtin", "func f() int { return min(1, 2) }", proto.SeverityError, "builtin min"},
		{"clear builtin", "func f(m map[string]int) { clear(m) }", proto.SeverityError, "builtin clear"},
		{"shadowed min", "func min(a, b int) int { return a }\n\nfunc f() int { return min(1, 2) }", "", ""},
		{"range over func literal", "func f() { for x := range func(yield func(int) bool) {} { _ = x } }", proto.SeverityError, "range over a function"},
		{"range over func variable", "func f() { seq := func(yield func(int) bool) {}\n\tfor x := range seq { _ = x } }", proto.SeverityError, "range over a function"},
		{"range over func result", "func gen() func(func(int) bool) { return nil }\n\nfunc f() { for x := range gen() { _ = x } }", proto.SeverityError, "range over a function"},
		{"strings.SplitSeq", "func f() { for s := range strings.SplitSeq(\"a,b\", \",\") { _ = s } }", proto.SeverityError, "strings.Split"},
		{"slices.Sorted", "func f(m map[string]int) []string { return slices.Sorted(maps.Keys(m)) }", proto.SeverityError, "iterators"},
		{"range over int literal", "func f() { for i := range 3 { _ = i } }", proto.SeverityWarning, "three-clause loop"},
		{"range over len", "func f(s []int) { for i := range len(s) { _ = i } }", proto.SeverityWarning, "three-clause loop"},
		{"range over int param", "func f(n int) { for i := range n - 1 { _ = i } }", proto.SeverityWarning, "three-clause loop"},
		{"range over slice", "func f(n []int) { for i := range n { _ = i } }", "", ""},
		{"goroutine captures loop var", "func f(xs []int) { for _, x := range xs { go func() { _ = x }() } }", proto.SeverityWarning, "shares loop variables"},
		{"deferred capture in for", "func f() { for i := 0; i < 3; i++ { defer func() { _ = i }() } }", proto.SeverityWarning, "shares loop variables"},
		{"copied loop var", "func f(xs []int) { for _, x := range xs {\n\t\tx := x\n\t\tgo func() { _ = x }() } }", "", ""},
		{"passed loop var", "func f(xs []int) { for _, x := range xs { go func(x int) { _ = x }(x) } }", "", ""},
		{"generic inference with closure", "func Map[T, U any](s []T, f func(T) U) []U { return nil }\n\nfunc f() { _ = Map([]int{1}, func(i int) string { return \"\" }) }", proto.SeverityWarning, "explicit type arguments"},
		{"explicit instantiation", "func Map[T, U any](s []T, f func(T) U) []U { return nil }\n\nfunc f() { _ = Map[int, string]([]int{1}, func(i int) string { return \"\" }) }", "", ""},
		{"constraint with methods", "type Str interface{ ~string; String() string }\n\nfunc g[T Str](v T) string { return v.String() }", proto.SeverityWarning, "constraints with methods"},
		{"go directive", "//go:linkname x runtime.x\nvar x int", proto.SeverityError, "//go:linkname"},
	}
	imports := "\t\"maps\"\n\t\"slices\"\n\t\"strings\"\n"
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code := tool(imports, "var _ = maps.Copy[map[int]int]\nvar _ = slices.Index[[]int]\nvar _ = strings.ToUpper\n\n"+
				tt.decls+"\n\n// Main x.\nfunc Main(ctx context.Context) (int, error) { return 0, nil }")
			res := newAnalyzer(t).Analyze(context.Background(), proto.AnalyzeRequest{Code: code})
			if tt.want == "" {
				if len(res.Response.Diagnostics) != 0 {
					t.Fatalf("unexpected diagnostics %+v", res.Response.Diagnostics)
				}
				return
			}
			for _, d := range res.Response.Diagnostics {
				if d.Severity == tt.sev && strings.Contains(d.Message, tt.want) && d.Line > 0 && d.Column > 0 {
					if d.Type != proto.ErrTypeUnsupportedFeature {
						t.Errorf("type = %s", d.Type)
					}
					if res.Response.OK != (tt.sev == proto.SeverityWarning) {
						t.Errorf("ok = %t for a %s", res.Response.OK, tt.sev)
					}
					return
				}
			}
			t.Fatalf("no %s containing %q in %+v", tt.sev, tt.want, res.Response.Diagnostics)
		})
	}
}

func TestSecrets(t *testing.T) {
	t.Parallel()
	code := tool("\tbox \"mcpbox\"\n",
		"// Main x.\nfunc Main(ctx context.Context) (string, error) {\n\tv, _ := box.LookupSecret(\"B_TOKEN\")\n\treturn box.Secret(\"A_KEY\") + v + box.Secret(\"A_KEY\"), nil\n}")
	res := newAnalyzer(t).Analyze(context.Background(), proto.AnalyzeRequest{Code: code})
	if got := strings.Join(res.Response.Secrets, ","); got != "A_KEY,B_TOKEN" || !res.Response.OK {
		t.Fatalf("secrets = %q, diags %+v", got, res.Response.Diagnostics)
	}
	// A dot import counts bare calls.
	code = tool("\t. \"mcpbox\"\n", "// Main x.\nfunc Main(ctx context.Context) (string, error) { return Secret(\"C\"), nil }")
	res = newAnalyzer(t).Analyze(context.Background(), proto.AnalyzeRequest{Code: code})
	if got := strings.Join(res.Response.Secrets, ","); got != "C" {
		t.Fatalf("dot-import secrets = %q", got)
	}
	// Names the host package does not have are reported.
	code = tool("\t\"mcpbox\"\n", "// Main x.\nfunc Main(ctx context.Context) (string, error) { return mcpbox.Env(\"X\"), nil }")
	res = newAnalyzer(t).Analyze(context.Background(), proto.AnalyzeRequest{Code: code})
	if d := firstError(t, res.Response); !strings.Contains(d.Message, "mcpbox has no Env") || d.Line != 9 {
		t.Fatalf("diagnostic = %+v", d)
	}
	// Another package cannot be imported under a reserved name.
	code = tool("\tmcpbox \"strings\"\n", "var _ = mcpbox.ToUpper\n\n// Main x.\nfunc Main(ctx context.Context) (string, error) { return \"\", nil }")
	res = newAnalyzer(t).Analyze(context.Background(), proto.AnalyzeRequest{Code: code})
	if d := firstError(t, res.Response); d.Type != proto.ErrTypeValidationError || !strings.Contains(d.Message, "reserved") {
		t.Fatalf("diagnostic = %+v", d)
	}
}

func TestInputSchemaErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, fields, want string }{
		{"int map key", "M map[int]string `json:\"m\"`", "map keys must be strings"},
		{"channel", "C chan int `json:\"c\"`", "channels"},
		{"func", "F func() `json:\"f\"`", "functions"},
		{"complex", "Z complex128 `json:\"z\"`", "complex"},
		{"foreign type", "D time.Duration `json:\"d\"`", "another package"},
		{"recursive", "Next *Input `json:\"next\"`", "refers to itself"},
		{"bad enum", "N int `json:\"n\" enum:\"1,two\"`", "not a valid integer"},
		{"enum on struct", "S struct{} `json:\"s\" enum:\"a\"`", "enum is only supported"},
		{"interface", "E error `json:\"e\"`", "error values"},
		{"unknown type", "U Missing `json:\"u\"`", "unknown type Missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code := tool("\t\"time\"\n", "var _ = time.Now\n\ntype Input struct {\n\t"+tt.fields+"\n}\n\n// Main x.\nfunc Main(ctx context.Context, in Input) (int, error) { return 0, nil }")
			res := newAnalyzer(t).Analyze(context.Background(), proto.AnalyzeRequest{Code: code})
			d := firstError(t, res.Response)
			if d.Type != proto.ErrTypeValidationError || !strings.Contains(d.Message, tt.want) || d.Line != 11 {
				t.Fatalf("diagnostic = %+v, want ValidationError at line 11 containing %q", d, tt.want)
			}
			if string(res.Response.InputSchema) != "null" {
				t.Errorf("input_schema = %s, want null", res.Response.InputSchema)
			}
		})
	}
}

func TestPreflight(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, code, want string }{
		{"empty", "  \n", "empty"},
		{"too large", okTool + "//" + strings.Repeat("x", proto.MaxCodeBytes) + "\n", "at most 102400 bytes"},
		{"nul", "package tool\n\nvar s = \"a\x00\"\n", "NUL"},
		{"invalid utf-8", "package tool\n\nvar s = \"a\xff\"\n", "UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := newAnalyzer(t).Analyze(context.Background(), proto.AnalyzeRequest{Code: tt.code})
			if d := firstError(t, res.Response); d.Type != proto.ErrTypeValidationError || !strings.Contains(d.Message, tt.want) {
				t.Fatalf("diagnostic = %+v", d)
			}
		})
	}
}

func TestDescription(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("word ", 400)
	code := tool("", "// Main   fetches\n//\tthe weather.\n// "+long+"\nfunc Main(ctx context.Context) (int, error) { return 0, nil }")
	desc := newAnalyzer(t).Analyze(context.Background(), proto.AnalyzeRequest{Code: code}).Response.Description
	if !strings.HasPrefix(desc, "Fetches the weather. word word") || len([]rune(desc)) > 1024 || !strings.HasSuffix(desc, "…") {
		t.Fatalf("description = %q (%d runes)", desc, len([]rune(desc)))
	}
}

func TestSourceContext(t *testing.T) {
	t.Parallel()
	got := analyze.SourceContext("a\nb\nc\nd\ne\nf", 3)
	want := "     1| a\n     2| b\n>>   3| c\n     4| d\n     5| e"
	if got != want {
		t.Fatalf("context =\n%s\nwant\n%s", got, want)
	}
	if analyze.SourceContext("a", 2) != "" || analyze.SourceContext("a", 0) != "" {
		t.Fatal("context outside the source")
	}
}
