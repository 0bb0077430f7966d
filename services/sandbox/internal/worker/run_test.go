package worker_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/hostpkg"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/worker"
)

// tool wraps a body in package tool with the given imports and an Input
// struct {Days int; Name string}.
func tool(imports, body string) string {
	src := "package tool\n\nimport (\n\t\"context\"\n"
	for _, imp := range strings.Fields(imports) {
		src += "\t\"" + imp + "\"\n"
	}
	return src + ")\n\nvar _ = context.Background\n\ntype Input struct {\n\tDays int    `json:\"days\"`\n\tName string `json:\"name,omitempty\"`\n}\n\n" + body
}

func run(t *testing.T, job worker.Job) worker.Result {
	t.Helper()
	if job.Mode == "" {
		job.Mode = worker.ModeRun
	}
	if job.Timeout == 0 {
		job.Timeout = 20 * time.Second
	}
	return worker.Run(context.Background(), job)
}

func runCode(t *testing.T, code string, args string) worker.Result {
	t.Helper()
	return run(t, worker.Job{Code: code, InputType: "Input", Arguments: json.RawMessage(args)})
}

func wantOK(t *testing.T, r worker.Result) {
	t.Helper()
	if !r.OK || r.Error != nil {
		t.Fatalf("want ok, got %+v (stdout %q)", r.Error, r.Stdout)
	}
}

func wantError(t *testing.T, r worker.Result, typ proto.SandboxErrorType, msgPart string) *worker.Error {
	t.Helper()
	if r.OK || r.Error == nil {
		t.Fatalf("want %s, got ok with %s", typ, r.JSON)
	}
	if r.Error.Type != typ || !strings.Contains(r.Error.Message, msgPart) {
		t.Fatalf("want %s containing %q, got %s: %q", typ, msgPart, r.Error.Type, r.Error.Message)
	}
	return r.Error
}

func TestRunTrivialTool(t *testing.T) {
	t.Parallel()
	code := tool("", `// Main echoes.
func Main(ctx context.Context, in Input) (map[string]any, error) {
	return map[string]any{"days": in.Days * 2, "html": "<b>"}, nil
}
`)
	r := runCode(t, code, `{"days": 21}`)
	wantOK(t, r)
	if string(r.JSON) != `{"days":42,"html":"<b>"}` {
		t.Fatalf("result = %s", r.JSON)
	}
}

func TestRunNoInputTool(t *testing.T) {
	t.Parallel()
	code := "package tool\n\nimport \"context\"\n\nfunc Main(ctx context.Context) (string, error) {\n\t_, ok := ctx.Deadline()\n\tif !ok {\n\t\treturn \"\", nil\n\t}\n\treturn \"hi\", nil\n}\n"
	r := run(t, worker.Job{Code: code, Arguments: json.RawMessage(`{}`)})
	wantOK(t, r)
	if string(r.JSON) != `"hi"` {
		t.Fatalf("result = %s (Main's ctx must carry the deadline)", r.JSON)
	}
	r = run(t, worker.Job{Code: code, Arguments: json.RawMessage(`{"x":1}`)})
	wantError(t, r, proto.ErrTypeInvalidArguments, `unknown field "x"`)
}

// SB-63 (in-process): the worker's strict decode rejects unknown keys, also
// nested ones, whatever schema the caller sent; type errors name the path.
func TestSB63_StrictDecodeRejectsUnknownKeys(t *testing.T) {
	t.Parallel()
	code := tool("", `type Inner struct {
	A int `+"`json:\"a\"`"+`
}

type Nested struct {
	In Inner `+"`json:\"in\"`"+`
}

func Main(ctx context.Context, in Nested) (int, error) {
	return in.In.A, nil
}
`)
	job := worker.Job{Code: code, InputType: "Nested"}
	job.Arguments = json.RawMessage(`{"in":{"a":1},"extra":true}`)
	wantError(t, run(t, job), proto.ErrTypeInvalidArguments, `unknown field "extra"`)
	job.Arguments = json.RawMessage(`{"in":{"a":1,"b":2}}`)
	wantError(t, run(t, job), proto.ErrTypeInvalidArguments, `unknown field "b"`)
	job.Arguments = json.RawMessage(`{"in":{"a":"x"}}`)
	wantError(t, run(t, job), proto.ErrTypeInvalidArguments, "arguments.in.a: expected integer, got string")
	job.Arguments = json.RawMessage(`{"in":{"a":7}}`)
	r := run(t, job)
	wantOK(t, r)
	if string(r.JSON) != "7" {
		t.Fatalf("result = %s", r.JSON)
	}
}

// SB-24 (in-process): panic("boom") in Main → Panic with "boom", the line
// and a context with the >> marker.
func TestSB24_PanicInMain(t *testing.T) {
	t.Parallel()
	code := "package tool\n\nimport \"context\"\n\ntype Input struct{}\n\nfunc Main(ctx context.Context, in Input) (string, error) {\n\tpanic(\"boom\")\n}\n"
	e := wantError(t, runCode(t, code, `{}`), proto.ErrTypePanic, "boom")
	if e.Line != 8 {
		t.Fatalf("line = %d, want 8", e.Line)
	}
	if !strings.Contains(e.Context, ">>    8 | \tpanic(\"boom\")") {
		t.Fatalf("context = %q", e.Context)
	}
}

// SB-25 (in-process): runtime errors read as Go's, with the line, and never
// mention reflect.
func TestSB25_RuntimeErrorsGoStyle(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, body, want string
		line             int
	}{
		{"nil map", "\tvar m map[string]int\n\tm[\"a\"] = 1\n\treturn \"\", nil\n", "assignment to entry in nil map", 9},
		// yaegi reports only the function; the first statement of its body
		// is the line when no single statement can be singled out.
		{"nil pointer", "\tvar p *Input\n\treturn p.Name, nil\n", "invalid memory address or nil pointer dereference", 8},
		{"index", "\ts := []string{\"a\"}\n\ti := 5\n\treturn s[i], nil\n", "index out of range", 10},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			code := "package tool\n\nimport \"context\"\n\ntype Input struct{ Name string }\n\nfunc Main(ctx context.Context, in Input) (string, error) {\n" + c.body + "}\n"
			e := wantError(t, runCode(t, code, `{}`), proto.ErrTypePanic, c.want)
			if strings.Contains(e.Message, "reflect") {
				t.Fatalf("message mentions reflect: %q", e.Message)
			}
			if e.Line != c.line {
				t.Fatalf("line = %d, want %d (%q)", e.Line, c.line, e.Message)
			}
		})
	}
}

// SB-26 (in-process): a returned error is a ToolError with err.Error().
func TestSB26_ReturnedErrorIsToolError(t *testing.T) {
	t.Parallel()
	code := tool("errors", "func Main(ctx context.Context, in Input) (any, error) {\n\treturn nil, errors.New(\"bad input\")\n}\n")
	e := wantError(t, runCode(t, code, `{}`), proto.ErrTypeToolError, "bad input")
	if e.Message != "bad input" || e.HTTPID != 0 {
		t.Fatalf("error = %+v", e)
	}
}

// SB-27 (in-process): constructs that crash yaegi's compiler come back as
// UnsupportedFeature or CompileError, and the process keeps working.
func TestSB27_CompilerCrashers(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"range over func": "func Main(ctx context.Context, in Input) (int, error) {\n\tseq := func(yield func(int) bool) { yield(1) }\n\tn := 0\n\tfor x := range seq {\n\t\tn += x\n\t}\n\treturn n, nil\n}\n",
		"recursive type":  "type T struct{ Next *T; M map[string]T }\n\nfunc Main(ctx context.Context, in Input) (int, error) {\n\tvar t T\n\treturn len(t.M), nil\n}\n",
		"min builtin":     "func Main(ctx context.Context, in Input) (int, error) {\n\treturn min(in.Days, 3), nil\n}\n",
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := runCode(t, tool("", body), `{"days":1}`)
			if r.OK {
				// A construct yaegi has since learnt is fine; it must not crash.
				return
			}
			if r.Error.Type != proto.ErrTypeUnsupportedFeature && r.Error.Type != proto.ErrTypeCompileError {
				t.Fatalf("%s: %s %q", name, r.Error.Type, r.Error.Message)
			}
		})
	}
	wantOK(t, runCode(t, tool("", "func Main(ctx context.Context, in Input) (int, error) {\n\treturn 1, nil\n}\n"), `{}`))
}

// SB-31 (in-process, analysis bypassed): imports of never-tier packages sent
// straight to a worker fail to compile.
func TestSB31_ForbiddenImportsFailToCompile(t *testing.T) {
	t.Parallel()
	for _, imp := range []string{"os", "os/exec", "syscall", "unsafe", "runtime", "runtime/debug", "plugin", "C", "reflect", "net", "io/ioutil", "path/filepath"} {
		t.Run(imp, func(t *testing.T) {
			t.Parallel()
			code := "package tool\n\nimport (\n\t\"context\"\n\tx \"" + imp + "\"\n)\n\nvar _ = x.X\n\ntype Input struct{}\n\nfunc Main(ctx context.Context, in Input) (int, error) {\n\treturn 1, nil\n}\n"
			e := wantError(t, runCode(t, code, `{}`), proto.ErrTypeCompileError, "")
			if e.Line != 5 {
				t.Fatalf("line = %d (%q)", e.Line, e.Message)
			}
		})
	}
}

// SB-33 (in-process): the interpreter's own packages cannot be imported.
func TestSB33_YaegiPackagesUnavailable(t *testing.T) {
	t.Parallel()
	for _, imp := range []string{"github.com/traefik/yaegi/stdlib", "github.com/traefik/yaegi/interp"} {
		code := "package tool\n\nimport (\n\t\"context\"\n\tx \"" + imp + "\"\n)\n\nvar _ = x.Symbols\n\ntype Input struct{}\n\nfunc Main(ctx context.Context, in Input) (int, error) {\n\treturn 1, nil\n}\n"
		wantError(t, runCode(t, code, `{}`), proto.ErrTypeCompileError, "")
	}
}

// SB-34 (in-process): relative and absolute imports fail; the source file
// system is empty.
func TestSB34_PathImportsFail(t *testing.T) {
	t.Parallel()
	for _, imp := range []string{"../../tmp/x", "/etc", "./x", "tool"} {
		code := "package tool\n\nimport (\n\t\"context\"\n\tx \"" + imp + "\"\n)\n\nvar _ = x.X\n\ntype Input struct{}\n\nfunc Main(ctx context.Context, in Input) (int, error) {\n\treturn 1, nil\n}\n"
		wantError(t, runCode(t, code, `{}`), proto.ErrTypeCompileError, "")
	}
}

// SB-35 (in-process): net/http exposes no client, transport or server.
func TestSB35_NoHTTPClientSymbols(t *testing.T) {
	t.Parallel()
	for _, expr := range []string{"http.Get", "http.DefaultClient", "&http.Client{}", "http.DefaultTransport", "http.ListenAndServe", "http.FileServer", "http.ProxyFromEnvironment"} {
		code := tool("net/http", "var x = "+expr+"\n\nfunc Main(ctx context.Context, in Input) (int, error) {\n\treturn 1, nil\n}\n")
		wantError(t, runCode(t, code, `{}`), proto.ErrTypeCompileError, "")
	}
	code := tool("net/http/httptest", "var x = httptest.NewServer\n\nfunc Main(ctx context.Context, in Input) (int, error) {\n\treturn 1, nil\n}\n")
	wantError(t, runCode(t, code, `{}`), proto.ErrTypeCompileError, "")
	// The request types stay usable.
	code = tool("net/http", "func Main(ctx context.Context, in Input) (string, error) {\n\treq, err := http.NewRequestWithContext(ctx, http.MethodGet, \"https://example.com/\", nil)\n\tif err != nil {\n\t\treturn \"\", err\n\t}\n\treturn req.Method + \" \" + http.StatusText(http.StatusTeapot), nil\n}\n")
	r := runCode(t, code, `{}`)
	wantOK(t, r)
	if string(r.JSON) != `"GET I'm a teapot"` {
		t.Fatalf("result = %s", r.JSON)
	}
}

// SB-36 (in-process): no file access through allowed packages.
func TestSB36_NoFileAccessThroughAllowedPackages(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ imports, expr string }{
		{"path/filepath", "filepath.Glob"},
		{"io/ioutil", "ioutil.ReadFile"},
		{"text/template", "template.ParseFiles"},
		{"html/template", "template.ParseGlob"},
	} {
		code := tool(c.imports, "var x = "+c.expr+"\n\nfunc Main(ctx context.Context, in Input) (int, error) {\n\treturn 1, nil\n}\n")
		wantError(t, runCode(t, code, `{}`), proto.ErrTypeCompileError, "")
	}
	code := tool("time", "func Main(ctx context.Context, in Input) (string, error) {\n\t_, err := time.LoadLocation(\"../../../../etc/passwd\")\n\tif err == nil {\n\t\treturn \"loaded\", nil\n\t}\n\treturn \"refused\", nil\n}\n")
	r := runCode(t, code, `{}`)
	wantOK(t, r)
	if string(r.JSON) != `"refused"` {
		t.Fatalf("LoadLocation: %s", r.JSON)
	}
}

// SB-37 (in-process): package variables of host packages are read-only, and
// the harness keeps working afterwards.
func TestSB37_FrozenPackageVariables(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ imports, stmt string }{
		{"io", "io.EOF = nil"},
		{"encoding/base64", "base64.StdEncoding = base64.URLEncoding"},
		{"time", "time.Local = time.UTC"},
		{"encoding/base64", "*base64.StdEncoding = *base64.URLEncoding"},
		{"io", "p := &io.EOF\n\t_ = p"},
		{"mcpbox", "mcpbox.HTTP = nil"},
	} {
		code := tool(c.imports, "func Main(ctx context.Context, in Input) (int, error) {\n\t"+c.stmt+"\n\treturn 1, nil\n}\n")
		e := wantError(t, runCode(t, code, `{}`), proto.ErrTypeCompileError, "read-only")
		if e.Line != 16 || !strings.Contains(e.Context, ">>") {
			t.Fatalf("%s: line %d context %q", c.stmt, e.Line, e.Context)
		}
	}
	// A local variable shadowing a package name is not a package variable.
	code := tool("io", "func Main(ctx context.Context, in Input) (string, error) {\n\tvar err error = io.EOF\n\tio := struct{ EOF error }{}\n\tio.EOF = err\n\treturn io.EOF.Error(), nil\n}\n")
	r := runCode(t, code, `{}`)
	wantOK(t, r)
	if string(r.JSON) != `"EOF"` {
		t.Fatalf("result = %s", r.JSON)
	}
	if io.EOF == nil || io.EOF.Error() != "EOF" {
		t.Fatal("host io.EOF changed")
	}
}

// SB-38 (in-process): host values reveal no secret and cannot be altered.
func TestSB38_HostStateUnreachable(t *testing.T) {
	t.Parallel()
	secret := "s3cret-value-123"
	code := tool("fmt encoding/json mcpbox", `func Main(ctx context.Context, in Input) (string, error) {
	dump := fmt.Sprintf("%+v %+v %#v", *mcpbox.HTTP, mcpbox.HTTP, mcpbox.Header{})
	if err := json.Unmarshal([]byte(`+"`"+`{"s": null, "S": 1}`+"`"+`), mcpbox.HTTP); err != nil {
		dump += " decode: " + err.Error()
	}
	return dump + " after: " + mcpbox.Secret("TOKEN"), nil
}
`)
	r := run(t, worker.Job{Code: code, InputType: "Input", Arguments: json.RawMessage(`{}`), Secrets: map[string]*string{"TOKEN": &secret}})
	wantOK(t, r)
	var out string
	if err := json.Unmarshal(r.JSON, &out); err != nil {
		t.Fatal(err)
	}
	dump, after, _ := strings.Cut(out, " after: ")
	if strings.Contains(dump, secret) || strings.Contains(dump, "TOKEN") {
		t.Fatalf("dump reveals host state: %q", dump)
	}
	if after != secret {
		t.Fatalf("secret after decode = %q", after)
	}
	code = tool("mcpbox", "func Main(ctx context.Context, in Input) (int, error) {\n\t*mcpbox.HTTP = mcpbox.Client{}\n\treturn 1, nil\n}\n")
	wantError(t, runCode(t, code, `{}`), proto.ErrTypeCompileError, "read-only")
	code = tool("mcpbox", "func Main(ctx context.Context, in Input) (int, error) {\n\tvar c mcpbox.Client\n\t_, err := c.Get(ctx, \"https://example.com/\", nil)\n\treturn 0, err\n}\n")
	wantError(t, runCode(t, code, `{}`), proto.ErrTypeToolError, "use mcpbox.HTTP")
}

// SB-39 (in-process): no way to an unsafe.Pointer through sync/atomic.
func TestSB39_NoAtomicPointers(t *testing.T) {
	t.Parallel()
	for _, expr := range []string{"atomic.LoadPointer", "atomic.StorePointer", "atomic.SwapPointer", "atomic.CompareAndSwapPointer", "atomic.Pointer[int]{}"} {
		code := tool("sync/atomic", "var x = "+expr+"\n\nfunc Main(ctx context.Context, in Input) (int, error) {\n\treturn 1, nil\n}\n")
		r := run(t, worker.Job{Code: code, InputType: "Input", ExtraPackages: []string{"sync/atomic"}})
		wantError(t, r, proto.ErrTypeCompileError, "")
	}
	code := tool("sync/atomic", "func Main(ctx context.Context, in Input) (int64, error) {\n\tvar n atomic.Int64\n\tn.Add(2)\n\treturn n.Load(), nil\n}\n")
	r := run(t, worker.Job{Code: code, InputType: "Input", ExtraPackages: []string{"sync/atomic"}})
	wantOK(t, r)
	// Without extra_packages the opt-in map is not loaded at all.
	wantError(t, runCode(t, code, `{}`), proto.ErrTypeCompileError, "")
}

// SB-42 (in-process): nothing survives between executions.
func TestSB42_NoStateBetweenRuns(t *testing.T) {
	t.Parallel()
	code := tool("mcpbox strings", `func Main(ctx context.Context, in Input) (string, error) {
	names := mcpbox.SecretNames()
	names[0] = "CHANGED"
	return strings.Join(mcpbox.SecretNames(), ","), nil
}
`)
	v := "value-123456"
	job := worker.Job{Code: code, InputType: "Input", Secrets: map[string]*string{"A": &v, "B": nil}}
	for range 2 {
		r := run(t, job)
		wantOK(t, r)
		if string(r.JSON) != `"A,B"` {
			t.Fatalf("result = %s", r.JSON)
		}
	}
	counterCode := tool("", "var counter int\n\nfunc Main(ctx context.Context, in Input) (int, error) {\n\tcounter++\n\treturn counter, nil\n}\n")
	for range 2 {
		r := runCode(t, counterCode, `{}`)
		wantOK(t, r)
		if string(r.JSON) != "1" {
			t.Fatalf("counter = %s", r.JSON)
		}
	}
}

// SB-44 (in-process): missing, unset and withheld secrets; a changed value
// is used by the very next execution.
func TestSB44_Secrets(t *testing.T) {
	t.Parallel()
	code := tool("fmt mcpbox", `func Main(ctx context.Context, in Input) (string, error) {
	_, okNull := mcpbox.LookupSecret("NULL")
	w1 := mcpbox.Secret("HELD")
	_, okHeld := mcpbox.LookupSecret("HELD")
	return fmt.Sprintf("missing=%q null=%v held=%q/%v val=%s", mcpbox.Secret("MISSING"), okNull, w1, okHeld, mcpbox.Secret("VAL")), nil
}
`)
	for _, val := range []string{"first-value", "second-value"} {
		v := val
		r := run(t, worker.Job{Code: code, InputType: "Input", Secrets: map[string]*string{"NULL": nil, "VAL": &v}, WithheldSecrets: []string{"HELD"}})
		wantOK(t, r)
		want := `"missing=\"\" null=false held=\"\"/false val=` + val + `"`
		if string(r.JSON) != want {
			t.Fatalf("result = %s, want %s", r.JSON, want)
		}
		note := "[log] secret HELD is withheld: secret values are withheld from unapproved versions\n"
		if string(r.Stdout) != note {
			t.Fatalf("stdout = %q, want the note once", r.Stdout)
		}
	}
}

// SB-19 (in-process): a fmt.Println flood is kept to the cap plus 64 KiB
// and cut to exactly 1 MiB plus the marker.
func TestSB19_PrintlnFloodCapped(t *testing.T) {
	t.Parallel()
	code := tool("fmt strings", "func Main(ctx context.Context, in Input) (int, error) {\n\tline := strings.Repeat(\"x\", 1023)\n\tfor i := 0; i < 3000; i++ {\n\t\tfmt.Println(line)\n\t}\n\treturn 1, nil\n}\n")
	checkFlood(t, runCode(t, code, `{}`))
}

// SB-20 (in-process): print/println floods are captured and capped the same way.
func TestSB20_PrintBuiltinFloodCapped(t *testing.T) {
	t.Parallel()
	code := tool("strings", "func Main(ctx context.Context, in Input) (int, error) {\n\tline := strings.Repeat(\"y\", 1023)\n\tfor i := 0; i < 1500; i++ {\n\t\tprintln(line)\n\t\tprint(line + \"\\n\")\n\t}\n\treturn 1, nil\n}\n")
	checkFlood(t, runCode(t, code, `{}`))
}

func checkFlood(t *testing.T, r worker.Result) {
	t.Helper()
	wantOK(t, r)
	if len(r.Stdout) != worker.StdoutKeep || r.StdoutDropped != 3000*1024-worker.StdoutKeep {
		t.Fatalf("kept %d dropped %d", len(r.Stdout), r.StdoutDropped)
	}
	out, truncated := worker.CapStdout(r.Stdout, r.StdoutDropped)
	if !truncated || len(out) != worker.StdoutCap+len(worker.StdoutMarker) || !strings.HasSuffix(out, worker.StdoutMarker) {
		t.Fatalf("capped: %d bytes, truncated %v", len(out), truncated)
	}
}

// SB-21 (in-process, the worker's half): a 50 MiB string result is cut to
// 1 MiB with the marker; a 50 MiB map result is OutputLimitExceeded.
func TestSB21_ResultCaps(t *testing.T) {
	t.Parallel()
	code := tool("strings", "func Main(ctx context.Context, in Input) (string, error) {\n\treturn strings.Repeat(\"é\", 25<<20), nil\n}\n")
	r := runCode(t, code, `{}`)
	wantOK(t, r)
	if len(r.JSON) > worker.WorkerResultCap {
		t.Fatalf("worker sent %d bytes", len(r.JSON))
	}
	capped, truncated, ok := worker.CapResult(r.JSON)
	var s string
	if err := json.Unmarshal(capped, &s); err != nil || !ok || !truncated || len(capped) > worker.ResultCap || !strings.HasSuffix(s, worker.ResultMarker) {
		t.Fatalf("capped %d bytes, truncated %v ok %v err %v", len(capped), truncated, ok, err)
	}
	code = tool("strings", "func Main(ctx context.Context, in Input) (map[string]string, error) {\n\tm := map[string]string{}\n\tfor i := 0; i < 50; i++ {\n\t\tm[strings.Repeat(\"k\", i+1)] = strings.Repeat(\"v\", 1<<20)\n\t}\n\treturn m, nil\n}\n")
	wantError(t, runCode(t, code, `{}`), proto.ErrTypeOutputLimitExceeded, "paginate")
}

func TestInvalidResult(t *testing.T) {
	t.Parallel()
	code := tool("math", "func Main(ctx context.Context, in Input) (float64, error) {\n\treturn math.NaN(), nil\n}\n")
	wantError(t, runCode(t, code, `{}`), proto.ErrTypeInvalidResult, "NaN")
}

// Compile mode compiles tool and harness and runs initialisers, never Main;
// a type error is a CompileError with position (SB-78's worker half).
func TestCompileMode(t *testing.T) {
	t.Parallel()
	code := tool("fmt", "func init() { fmt.Print(\"init \") }\n\nfunc Main(ctx context.Context, in Input) (int, error) {\n\tfmt.Print(\"main\")\n\treturn 1, nil\n}\n")
	r := run(t, worker.Job{Mode: worker.ModeCompile, Code: code, InputType: "Input"})
	wantOK(t, r)
	if string(r.Stdout) != "init " || r.JSON != nil {
		t.Fatalf("stdout %q json %s", r.Stdout, r.JSON)
	}
	bad := tool("", "func Main(ctx context.Context, in Input) (int, error) {\n\tvar s string = in.Days\n\treturn 1, nil\n}\n")
	e := wantError(t, run(t, worker.Job{Mode: worker.ModeCompile, Code: bad, InputType: "Input"}), proto.ErrTypeCompileError, "")
	if e.Line != 15 || e.Column == 0 || !strings.Contains(e.Context, ">>   15 |") {
		t.Fatalf("position %d:%d context %q (%q)", e.Line, e.Column, e.Context, e.Message)
	}
	// A Main that does not fit the harness is reported, not crashed on.
	wrong := tool("", "func Main(ctx context.Context, in Input, extra int) (int, error) {\n\treturn 1, nil\n}\n")
	wantError(t, run(t, worker.Job{Mode: worker.ModeCompile, Code: wrong, InputType: "Input"}), proto.ErrTypeCompileError, "Main does not match")
}

// An endless interpreted loop ends at the job deadline (the process-level
// kill, SB-1, is the pool's).
func TestTimeoutStopsInterpretedLoop(t *testing.T) {
	t.Parallel()
	code := tool("", "func Main(ctx context.Context, in Input) (int, error) {\n\tn := 0\n\tfor {\n\t\tn++\n\t}\n}\n")
	r := run(t, worker.Job{Code: code, InputType: "Input", Timeout: 200 * time.Millisecond})
	wantError(t, r, proto.ErrTypeTimeout, "deadline")
}

func TestStdoutStreamsToSink(t *testing.T) {
	t.Parallel()
	var sink strings.Builder
	code := tool("fmt mcpbox", "func Main(ctx context.Context, in Input) (int, error) {\n\tfmt.Print(\"a\")\n\tmcpbox.Log(\"n=%d\", 3)\n\treturn 1, nil\n}\n")
	r := run(t, worker.Job{Code: code, InputType: "Input", Stdout: &sink})
	wantOK(t, r)
	if sink.String() != "a[log] n=3\n" || string(r.Stdout) != sink.String() {
		t.Fatalf("sink %q stdout %q", sink.String(), r.Stdout)
	}
}

// fakeDoer answers every request with a fixed status.
type fakeDoer struct{ status int }

func (f fakeDoer) Do(_ context.Context, req hostpkg.BrokerRequest) (hostpkg.BrokerResponse, error) {
	if strings.Contains(req.URL, "denied") {
		return hostpkg.BrokerResponse{}, &hostpkg.RefusedError{Kind: hostpkg.KindEgressDenied, Message: "host denied.example is not approved"}
	}
	return hostpkg.BrokerResponse{Status: f.status, Body: []byte(`{"tag_name":"v1"}`)}, nil
}

func TestHTTPErrorsCarryCallID(t *testing.T) {
	t.Parallel()
	code := tool("mcpbox", `func Main(ctx context.Context, in Input) (map[string]string, error) {
	var out map[string]string
	if in.Days == 1 {
		_, _ = mcpbox.HTTP.Get(ctx, "https://api.example.com/first", nil)
		err := mcpbox.HTTP.GetJSON(ctx, "https://api.example.com/x", &out, mcpbox.Header{"Authorization": "Bearer t"})
		return out, err
	}
	err := mcpbox.HTTP.GetJSON(ctx, "https://denied.example/", &out, nil)
	return out, err
}
`)
	r := run(t, worker.Job{Code: code, InputType: "Input", Arguments: json.RawMessage(`{"days":1}`), HTTP: fakeDoer{status: 200}})
	wantOK(t, r)
	if string(r.JSON) != `{"tag_name":"v1"}` {
		t.Fatalf("result %s", r.JSON)
	}
	r = run(t, worker.Job{Code: code, InputType: "Input", Arguments: json.RawMessage(`{"days":1}`), HTTP: fakeDoer{status: 404}})
	e := wantError(t, r, proto.ErrTypeToolError, "GET https://api.example.com/x returned 404 Not Found")
	if e.HTTPID != 2 {
		t.Fatalf("http id = %d, want 2", e.HTTPID)
	}
	r = run(t, worker.Job{Code: code, InputType: "Input", Arguments: json.RawMessage(`{"days":2}`), HTTP: fakeDoer{status: 200}})
	e = wantError(t, r, proto.ErrTypeToolError, "not approved")
	if e.HTTPID != 1 {
		t.Fatalf("http id = %d, want 1", e.HTTPID)
	}
}

// SB-66 (the worker's half, in-process): an interpreter takes one job only.
func TestPreparedRefusesSecondJob(t *testing.T) {
	t.Parallel()
	p, err := worker.Prepare()
	if err != nil {
		t.Fatal(err)
	}
	code := tool("", "func Main(ctx context.Context, in Input) (int, error) {\n\treturn 1, nil\n}\n")
	r, err := p.Run(context.Background(), worker.Job{Code: code, InputType: "Input"})
	if err != nil || !r.OK {
		t.Fatalf("first job: %v %+v", err, r.Error)
	}
	if _, err := p.Run(context.Background(), worker.Job{Code: code, InputType: "Input"}); !errors.Is(err, worker.ErrSecondJob) {
		t.Fatalf("second job: %v", err)
	}
}
