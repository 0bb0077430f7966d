package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/traefik/yaegi/interp"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/catalogue"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/catalogue/symbols"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/hostpkg"
)

// harnessSource is the interpreted half of the harness: package main of
// the interpreter, importing the tool. The native half (package
// mcpboxharness, harnessExports) decodes the arguments strictly into Main's
// input, hands out the job's context (its deadline included) and encodes the
// result without HTML escaping; a panic is not recovered here but reaches
// EvalWithContext, which reports it with the positions yaegi printed. Host
// imports are aliased with the reserved mcpbox prefix so they cannot clash
// with tool identifiers, and the //line directive keeps its positions apart
// from the tool's. The @…@ placeholders are filled by harness.
//
// Everything that can be native is: yaegi compiles this file for every job,
// and the earlier harness doing the decoding, deadline, recover and encoding
// in interpreted code took 1 ms to compile, two thirds of a trivial job.
const harnessSource = `//line ` + harnessFile + `:1:1
package main

import (
	mcpboxRT "` + harnessPackage + `"
	mcpboxTool "tool"
)

func mcpboxRun() []any {
	@DECODE@
	out, err := mcpboxTool.Main(mcpboxRT.Context()@ARG@)
	if err != nil {
		return []any{"error", err.Error(), err}
	}
	text, err := mcpboxRT.Encode(out)
	if err != nil {
		return []any{"result", err.Error()}
	}
	return []any{"ok", text}
}
`

const harnessDecode = `var in mcpboxTool.@INPUT@
	if err := mcpboxRT.Decode(&in); err != nil {
		return []any{"args", err.Error()}
	}`

// harnessPackage is the import path of the harness's native half. It is not
// in the catalogue, so the analyzer refuses it in tool code; a tool that
// reached it anyway could only read its own arguments and context.
const harnessPackage = "mcpboxharness"

// harness returns the harness for Main's input type ("" for no input).
func harness(input string) string {
	if input == "" {
		return strings.NewReplacer("@DECODE@", "", "@ARG@", "").Replace(harnessSource)
	}
	return strings.NewReplacer(
		"@DECODE@", strings.ReplaceAll(harnessDecode, "@INPUT@", input), "@ARG@", ", in",
	).Replace(harnessSource)
}

// harnessExports is the native half of the harness for one job: Decode
// fills Main's input from the arguments (unknown fields refused), Context
// is the job's context and Encode writes the result as JSON without HTML
// escaping.
func harnessExports(ctx context.Context, args []byte) map[string]map[string]reflect.Value {
	return map[string]map[string]reflect.Value{harnessPackage + "/" + harnessPackage: {
		"Decode": reflect.ValueOf(func(v any) error {
			dec := json.NewDecoder(bytes.NewReader(args))
			dec.DisallowUnknownFields()
			return dec.Decode(v)
		}),
		"Context": reflect.ValueOf(func() context.Context { return ctx }),
		"Encode": reflect.ValueOf(func(v any) (string, error) {
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			err := enc.Encode(v)
			return buf.String(), err
		}),
	}}
}

// noFS is the interpreter's source file system: empty, so no import can
// load source from anywhere (SB-34); the tool is evaluated from memory.
type noFS struct{}

func (noFS) Open(name string) (fs.File, error) {
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}

// Prepared is a fresh interpreter waiting for its one job: a worker builds
// it before it reports ready (sandbox.md §8.2), so that cost stays off the
// request path.
type Prepared struct {
	i      *interp.Interpreter
	out    *capture
	stderr *limited
	used   bool
}

// ErrSecondJob is returned by Prepared.Run for any job after the first: an
// interpreter runs one job (invariant I2).
var ErrSecondJob = errors.New("worker: this interpreter already received a job")

// Prepare builds a fresh interpreter: stdin empty, stdout captured, stderr
// bounded, no environment, an empty source file system and never yaegi's
// unrestricted mode.
//
// Symbol maps are loaded per job, for the packages the tool and the
// harness import (see load), not the whole default tier here as
// sandbox.md §8.2 step 3 describes: building and installing all of them cost
// ≈ 10 % of a worker's CPU, and a trivial tool imports five. What a tool may
// import is unchanged: the default tier plus its approved packages.
func Prepare() (*Prepared, error) {
	p := &Prepared{out: newCapture(StdoutKeep, nil), stderr: &limited{max: stderrCap}}
	p.i = interp.New(interp.Options{
		GoPath:               "/",
		Stdin:                bytes.NewReader(nil),
		Stdout:               p.out,
		Stderr:               p.stderr,
		Args:                 []string{"tool"},
		Env:                  []string{},
		SourcecodeFilesystem: noFS{},
	})
	return p, nil
}

// Run runs the job: it loads the job's opt-in maps and its mcpbox package,
// compiles the tool, runs its initialisers and, in run mode, Main. A second
// call fails with ErrSecondJob.
func (p *Prepared) Run(ctx context.Context, job Job) (Result, error) {
	if p.used {
		return Result{}, ErrSecondJob
	}
	p.used = true
	if job.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, job.Timeout)
		defer cancel()
	}
	p.out.setSink(job.Stdout)
	res := p.run(ctx, job)
	res.Stdout, res.StdoutDropped = p.out.result()
	return res, nil
}

// Run prepares a fresh interpreter and runs one job in it, inside the
// current process. It never panics on behalf of tool code; a panic in a
// goroutine started by the tool still ends the process, which is why a
// worker runs exactly one job (the parent classifies that crash).
func Run(ctx context.Context, job Job) Result {
	p, err := Prepare()
	if err != nil {
		return fail(proto.ErrTypeCompileError, "%v", err)
	}
	res, err := p.Run(ctx, job)
	if err != nil {
		return fail(proto.ErrTypeCompileError, "%v", err)
	}
	return res
}

func fail(t proto.SandboxErrorType, format string, args ...any) Result {
	return Result{Error: &Error{Type: t, Message: fmt.Sprintf(format, args...)}}
}

// Paths returns the import paths whose symbols a job loads: the default
// tier, plus the opt-in paths of extra (default-tier entries in extra have
// no effect). A path that is neither is an error.
func Paths(extra []string) ([]string, error) {
	var paths []string
	for _, p := range catalogue.Packages() {
		if p.Tier == proto.TierDefault && p.Path != catalogue.HostPackage {
			paths = append(paths, p.Path)
		}
	}
	for _, p := range extra {
		switch catalogue.Lookup(p).Kind {
		case catalogue.KindDefault:
		case catalogue.KindOptIn:
			paths = append(paths, p)
		default:
			return nil, fmt.Errorf("package %q cannot be approved for tools", p)
		}
	}
	return paths, nil
}

// load installs the symbol maps of the packages the tool (imports) and the
// harness import and of the packages those import (symbols.Deps: the interpreter
// needs the maps of the types an API mentions), all limited to the default
// tier and the job's approved packages, and the job's mcpbox package. An
// import outside both gets no map, so the interpreter refuses it ("unable to
// find source"); the analyzer refused it before the job was sent.
func (p *Prepared) load(job Job, imports []string) error {
	var extra []string
	for _, path := range job.ExtraPackages {
		if catalogue.Lookup(path).Kind != catalogue.KindDefault {
			extra = append(extra, path)
		}
	}
	allowed, err := Paths(extra)
	if err != nil {
		return err
	}
	var paths []string
	// The harness's signatures mention context.Context.
	for _, path := range append(imports, "context") {
		if path == logPath && slices.Contains(extra, logPath) {
			if err := p.i.Use(logExports(p.out)); err != nil {
				return fmt.Errorf("load log: %w", err)
			}
			continue
		}
		if !slices.Contains(allowed, path) {
			continue
		}
		for _, p := range append(symbols.Deps(path), path) {
			if slices.Contains(allowed, p) && !slices.Contains(paths, p) {
				paths = append(paths, p)
			}
		}
	}
	exports, err := symbols.Exports(paths...)
	if err != nil {
		return err
	}
	routeFmt(exports, p.out)
	if err := p.i.Use(exports); err != nil {
		return fmt.Errorf("load symbols: %w", err)
	}
	host := hostpkg.Exports(hostpkg.Config{
		HTTP: job.HTTP, Stdout: p.out, Secrets: job.Secrets,
		Withheld: job.WithheldSecrets, MaxRequests: job.MaxHTTPRequests,
	})
	if err := p.i.Use(host); err != nil {
		return fmt.Errorf("load mcpbox: %w", err)
	}
	return nil
}

// importPaths returns the import paths of a parsed tool (none for nil).
func importPaths(f *ast.File) []string {
	if f == nil {
		return nil
	}
	paths := make([]string, 0, len(f.Imports))
	for _, imp := range f.Imports {
		if path, err := strconv.Unquote(imp.Path.Value); err == nil {
			paths = append(paths, path)
		}
	}
	return paths
}

// routeFmt points fmt's Print*, Printf and Println at the captured stdout and
// its Scan* at an empty input, and files fmt under the key "fmt//fmt"
// (import path "fmt" all the same). Under the key "fmt/fmt", Use would do the
// same redirection itself but also compile yaegi's generic sources of cmp,
// maps and slices in every interpreter, about 9 ms of CPU per worker (see
// BenchmarkRunTrivialTool); generic std helpers are unsupported anyway
// (sandbox.md §5.6).
func routeFmt(exports map[string]map[string]reflect.Value, out io.Writer) {
	m, ok := exports["fmt/fmt"]
	if !ok {
		return
	}
	delete(exports, "fmt/fmt")
	m["Print"] = reflect.ValueOf(func(a ...any) (int, error) { return fmt.Fprint(out, a...) })
	m["Printf"] = reflect.ValueOf(func(format string, a ...any) (int, error) { return fmt.Fprintf(out, format, a...) })
	m["Println"] = reflect.ValueOf(func(a ...any) (int, error) { return fmt.Fprintln(out, a...) })
	noInput := func() io.Reader { return bytes.NewReader(nil) }
	m["Scan"] = reflect.ValueOf(func(a ...any) (int, error) { return fmt.Fscan(noInput(), a...) })
	m["Scanf"] = reflect.ValueOf(func(format string, a ...any) (int, error) { return fmt.Fscanf(noInput(), format, a...) })
	m["Scanln"] = reflect.ValueOf(func(a ...any) (int, error) { return fmt.Fscanln(noInput(), a...) })
	exports["fmt//fmt"] = m
}

func (p *Prepared) run(ctx context.Context, job Job) Result {
	if job.InputType != "" && !token.IsIdentifier(job.InputType) {
		return fail(proto.ErrTypeCompileError, "input type %q is not a Go identifier", job.InputType)
	}
	args, errRes := arguments(job)
	if errRes != nil {
		return *errRes
	}
	// One parse serves the read-only check and the import list; code that
	// does not parse is left to the interpreter, which reports the error.
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, toolFile, job.Code, 0)
	if err == nil {
		if v := readOnlyViolation(fset, f); v != nil {
			v.Context = SourceContext(job.Code, v.Line)
			return Result{Error: v}
		}
	}
	if err := p.load(job, importPaths(f)); err != nil {
		return fail(proto.ErrTypeCompileError, "%v", err)
	}
	if err := p.i.Use(harnessExports(ctx, args)); err != nil {
		return fail(proto.ErrTypeCompileError, "load harness: %v", err)
	}
	i, stderr := p.i, p.stderr

	// Compile the tool and run its package initialisers.
	if _, err := i.EvalWithContext(ctx, "//line "+toolFile+":1:1\n"+job.Code); err != nil {
		return evalError(ctx, job.Code, err, stderr.String(), true)
	}
	if _, err := i.EvalWithContext(ctx, harness(job.InputType)); err != nil {
		r := evalError(ctx, job.Code, err, stderr.String(), false)
		if r.Error.Type == proto.ErrTypeCompileError {
			r.Error.Message = "Main does not match the tool contract (func Main(ctx context.Context, in " +
				cmpOr(job.InputType, "<no input>") + ") (T, error)): " + r.Error.Message
		}
		return r
	}
	if job.Mode == ModeCompile {
		return Result{OK: true}
	}
	v, err := i.EvalWithContext(ctx, "main.mcpboxRun()")
	if err != nil {
		return evalError(ctx, job.Code, err, stderr.String(), false)
	}
	return outcome(v)
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// arguments checks the raw arguments: a JSON object ({} when absent), and no
// keys at all for a tool without input.
func arguments(job Job) ([]byte, *Result) {
	raw := bytes.TrimSpace(job.Arguments)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		raw = []byte("{}")
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		r := fail(proto.ErrTypeInvalidArguments, "arguments: must be a JSON object: %v", err)
		return nil, &r
	}
	if job.InputType == "" && len(obj) > 0 {
		for k := range obj {
			r := fail(proto.ErrTypeInvalidArguments, "arguments: unknown field %q; this tool takes no arguments, send {}", k)
			return nil, &r
		}
	}
	return raw, nil
}

// evalError maps an error of EvalWithContext. compiling is true while the
// tool itself is evaluated, where an interpreter panic that did not come from
// running tool code is a compiler crash.
func evalError(ctx context.Context, code string, err error, stderr string, compiling bool) Result {
	if ctxErr := ctx.Err(); ctxErr != nil && errors.Is(err, ctxErr) {
		return fail(proto.ErrTypeTimeout, "execution stopped: %v", ctxErr)
	}
	var p interp.Panic
	if errors.As(err, &p) {
		line, col := panicPosition(stderr)
		if compiling && line == 0 && !strings.Contains(stderr, ": panic: ") {
			return fail(proto.ErrTypeUnsupportedFeature,
				"the interpreter cannot compile this code (%v); a likely cause is range over a function or iterator (maps.Keys, slices.Values, strings.SplitSeq): use a plain for loop over a slice or map", p.Value)
		}
		return panicResult(code, fmt.Sprint(p.Value), line, col)
	}
	line, col, msg := position(err.Error())
	e := &Error{Type: proto.ErrTypeCompileError, Message: msg, Line: line, Column: col}
	switch {
	case strings.HasPrefix(msg, "undefined: min"), strings.HasPrefix(msg, "undefined: max"), strings.HasPrefix(msg, "undefined: clear"):
		e.Type = proto.ErrTypeUnsupportedFeature
		e.Message = msg + ": the builtins min, max and clear are not available; use an if statement, math.Min/math.Max for floats, or delete in a loop"
	case strings.Contains(msg, "has no symbol") || strings.Contains(msg, "undefined selector"):
		e.Message = msg + " (generic std helpers such as slices.Sort are unavailable: use package sort; other packages must be in the catalogue)"
	case strings.Contains(msg, "unable to find source related to") || strings.Contains(msg, "file does not exist"):
		e.Message = msg + " (only catalogue packages can be imported)"
	}
	e.Context = SourceContext(code, e.Line)
	return Result{Error: e}
}

func panicResult(code, value string, line, col int) Result {
	msg := "panic: " + runtimeMessage(value)
	if line > 0 {
		exact := false
		if line, exact = refineLine(code, line, classifyPanic(value)); exact {
			col = 0
			msg += fmt.Sprintf(" (line %d)", line)
		} else {
			msg += fmt.Sprintf(" (in the function whose body starts at line %d; the interpreter does not report the exact statement)", line)
		}
	}
	return Result{Error: &Error{
		Type: proto.ErrTypePanic, Message: msg, Line: line, Column: col,
		Context: SourceContext(code, line),
	}}
}

// outcome maps the harness's report ([]any{kind, ...}) to a Result.
func outcome(v reflect.Value) Result {
	report, ok := reflectInterface(v).([]any)
	if !ok || len(report) < 2 {
		return fail(proto.ErrTypeCompileError, "internal: the harness returned %v", v)
	}
	kind, _ := report[0].(string)
	text, _ := report[1].(string)
	switch kind {
	case "args":
		return fail(proto.ErrTypeInvalidArguments, "%s", argumentsMessage(text))
	case "error":
		e := &Error{Type: proto.ErrTypeToolError, Message: text}
		if len(report) > 2 {
			if err, ok := report[2].(error); ok {
				e.HTTPID, _ = hostpkg.CallID(err)
			}
		}
		return Result{Error: e}
	case "result":
		return fail(proto.ErrTypeInvalidResult,
			"the value returned by Main cannot be encoded as JSON (%s); return plain data: no NaN or infinity, channels, functions or cycles", text)
	case "ok":
		return acceptResult([]byte(strings.TrimSuffix(text, "\n")))
	}
	return fail(proto.ErrTypeCompileError, "internal: unknown harness report %q", kind)
}

func reflectInterface(v reflect.Value) any {
	if !v.IsValid() || !v.CanInterface() {
		return nil
	}
	return v.Interface()
}

// acceptResult applies the worker's result rule: at most WorkerResultCap
// bytes of JSON; a longer string is pre-cut (the parent cuts it to 1 MiB and
// adds the marker after redaction), any other longer value is refused.
func acceptResult(result []byte) Result {
	if len(result) <= WorkerResultCap {
		return Result{OK: true, JSON: result}
	}
	var s string
	if result[0] == '"' && json.Unmarshal(result, &s) == nil {
		budget := WorkerResultCap - 2
		for {
			enc, err := encodeJSON(string(cutUTF8([]byte(s), budget)))
			if err != nil {
				break
			}
			if len(enc) <= WorkerResultCap {
				return Result{OK: true, JSON: enc}
			}
			budget -= len(enc) - WorkerResultCap
		}
	}
	return fail(proto.ErrTypeOutputLimitExceeded,
		"the result is %d bytes of JSON, over the 1 MiB limit: return less data, e.g. paginate or filter", len(result))
}
