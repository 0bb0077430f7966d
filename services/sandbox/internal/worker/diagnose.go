package worker

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/mcpbox/mcpbox/proto"
)

// Names the worker gives the two sources it evaluates; positions in the
// harness are never shown to the tool author.
const (
	toolFile    = "tool.go"
	harnessFile = "mcpbox_harness.go"
)

// The patterns are compiled on first use: every worker process pays the
// package initialisation, and most jobs never need them.
//
//nolint:gochecknoglobals // read-only patterns, compiled on first use
var (
	// posRE matches an interpreter position prefix: "tool.go:12:5: msg",
	// "tool.go:12: msg" or "12:5: msg".
	posRE = lazyRegexp(`^(?:([\w.]+\.go):)?(\d+)(?::(\d+))?: (.*)$`)
	// panicLineRE matches the position lines yaegi writes to stderr while a
	// panic unwinds interpreted frames.
	panicLineRE = lazyRegexp(`(?m)^([\w.]+\.go):(\d+)(?::(\d+))?: panic: (\S+)\(\.\.\.\)$`)
	// jsonTypeRE matches encoding/json's type errors.
	jsonTypeRE = lazyRegexp(`^json: cannot unmarshal (.+?) into Go (?:struct field (\S*)|value) of type (\S+)`)
	// jsonUnknownRE matches encoding/json's unknown-field errors.
	jsonUnknownRE = lazyRegexp(`^json: unknown field "(.*)"`)
)

// lazyRegexp compiles pattern on first use.
func lazyRegexp(pattern string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(pattern) })
}

// position splits an interpreter message into a tool-file position and the
// message; a position in another file (the harness) is dropped.
func position(msg string) (line, col int, text string) {
	first, rest, _ := strings.Cut(msg, "\n")
	m := posRE().FindStringSubmatch(first)
	if m == nil {
		return 0, 0, msg
	}
	text = m[4]
	if rest != "" {
		text += "\n" + rest
	}
	if m[1] != "" && m[1] != toolFile {
		return 0, 0, text
	}
	line, _ = strconv.Atoi(m[2])
	col, _ = strconv.Atoi(m[3])
	return line, col, text
}

// panicPosition finds the position of the panic that ended Main in the
// interpreter's stderr: yaegi prints one line per unwound frame, innermost
// first, so it is the first tool-file line after the last line that belongs
// to an earlier, recovered panic (one ending in tool.Main or the harness).
func panicPosition(stderr string) (line, col int) {
	ms := panicLineRE().FindAllStringSubmatch(stderr, -1)
	start := 0
	for i := len(ms) - 2; i >= 0; i-- {
		if ms[i][1] == harnessFile || ms[i][4] == "tool.Main" {
			if ms[i+1][1] == toolFile {
				start = i + 1
				break
			}
		}
	}
	for _, m := range ms[start:] {
		if m[1] == toolFile {
			line, _ = strconv.Atoi(m[2])
			col, _ = strconv.Atoi(m[3])
			return line, col
		}
	}
	return 0, 0
}

// runtimeMessage rewrites the interpreter's reflection wording of runtime
// errors to Go's usual wording (sandbox.md §5.7).
func runtimeMessage(msg string) string {
	switch {
	case strings.Contains(msg, "index out of range"):
		if strings.HasPrefix(msg, "runtime error:") {
			return msg
		}
		return "runtime error: index out of range"
	case strings.Contains(msg, "on zero Value"),
		strings.Contains(msg, "nil pointer dereference"),
		strings.Contains(msg, "call of reflect.Value.Elem on"),
		strings.Contains(msg, "reflect: indirection through nil pointer"):
		return "runtime error: invalid memory address or nil pointer dereference"
	case strings.Contains(msg, "nil map"):
		return "assignment to entry in nil map"
	case strings.Contains(msg, "concurrent map"):
		return "concurrent map writes: protect shared maps with sync.Mutex"
	case strings.HasPrefix(msg, "reflect: "):
		return "runtime error: " + strings.TrimPrefix(msg, "reflect: ")
	}
	return strings.ReplaceAll(msg, "reflect.Value.", "")
}

// SourceContext returns up to 5 lines of code around line (2 before, 2
// after), each as "   NNNN | text" with the error line marked ">> NNNN | text",
// or "" when line is outside the code.
func SourceContext(code string, line int) string {
	lines := strings.Split(code, "\n")
	if line < 1 || line > len(lines) {
		return ""
	}
	var b strings.Builder
	for n := max(1, line-2); n <= min(len(lines), line+2); n++ {
		mark := "   "
		if n == line {
			mark = ">> "
		}
		fmt.Fprintf(&b, "%s%4d | %s\n", mark, n, strings.TrimRight(lines[n-1], "\r"))
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// argumentsMessage turns a strict-decoding error into the InvalidArguments
// wording: "arguments.days: expected integer, got string".
func argumentsMessage(msg string) string {
	if m := jsonUnknownRE().FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("arguments: unknown field %q; send only the fields of the input schema", m[1])
	}
	if m := jsonTypeRE().FindStringSubmatch(msg); m != nil {
		field := m[2]
		if i := strings.IndexByte(field, '.'); i >= 0 {
			field = field[i:] // drop the struct name ("Input.days" → ".days")
		} else if field != "" {
			field = "." + field
		}
		return fmt.Sprintf("arguments%s: expected %s, got %s", field, jsonKind(m[3]), strings.TrimPrefix(m[1], "JSON "))
	}
	return "arguments: " + strings.TrimPrefix(msg, "json: ")
}

// jsonKind names the JSON kind a Go type expects.
func jsonKind(goType string) string {
	switch {
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "uint"):
		return "integer"
	case strings.HasPrefix(goType, "float"):
		return "number"
	case goType == "string":
		return "string"
	case goType == "bool":
		return "boolean"
	case strings.HasPrefix(goType, "[]"), strings.HasPrefix(goType, "["):
		return "array"
	case strings.HasPrefix(goType, "map["), strings.HasPrefix(goType, "struct"):
		return "object"
	}
	return goType
}

// readOnlyViolation reports the first statement of the parsed tool f that
// assigns to, increments or takes the address of a host package variable
// (io.EOF = nil, *base64.StdEncoding = …, &time.Local). The symbol maps
// already hold frozen copies, so this is not what protects host state: it
// turns the attempt into the compile error tool authors expect (SB-37). f
// must be parsed with object resolution (hostVar relies on it).
func readOnlyViolation(fset *token.FileSet, f *ast.File) *Error {
	imports := map[string]bool{}
	for _, spec := range f.Imports {
		p, err := strconv.Unquote(spec.Path.Value)
		if err != nil {
			continue
		}
		name := path.Base(p)
		if len(name) > 1 && name[0] == 'v' && strings.Trim(name[1:], "0123456789") == "" {
			name = path.Base(path.Dir(p))
		}
		if spec.Name != nil {
			name = spec.Name.Name
		}
		if name != "_" && name != "." {
			imports[name] = true
		}
	}
	var found *Error
	report := func(e ast.Expr) {
		sel := hostVar(e, imports)
		if sel == nil || found != nil {
			return
		}
		pos := fset.Position(sel.Pos())
		name := sel.X.(*ast.Ident).Name + "." + sel.Sel.Name
		found = &Error{
			Type:    proto.ErrTypeCompileError,
			Message: fmt.Sprintf("cannot assign to %s: package variables of host packages are read-only; use a local variable instead", name),
			Line:    pos.Line, Column: pos.Column,
		}
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignStmt:
			if n.Tok != token.DEFINE {
				for _, l := range n.Lhs {
					report(l)
				}
			}
		case *ast.IncDecStmt:
			report(n.X)
		case *ast.RangeStmt:
			if n.Tok == token.ASSIGN {
				report(n.Key)
				report(n.Value)
			}
		case *ast.UnaryExpr:
			if n.Op == token.AND {
				report(n.X)
			}
		}
		return found == nil
	})
	return found
}

// hostVar returns the package selector (pkg.Name) at the root of an
// assignable expression, or nil. An identifier resolved to a declaration in
// the file (a local variable shadowing an import) is not a package.
func hostVar(e ast.Expr, imports map[string]bool) *ast.SelectorExpr {
	for e != nil {
		switch x := e.(type) {
		case *ast.ParenExpr:
			e = x.X
		case *ast.IndexExpr:
			e = x.X
		case *ast.StarExpr:
			e = x.X
		case *ast.SelectorExpr:
			if id, ok := x.X.(*ast.Ident); ok {
				if imports[id.Name] && id.Obj == nil {
					return x
				}
				return nil
			}
			e = x.X
		default:
			return nil
		}
	}
	return nil
}

// panicKind is what a statement must contain to be the panic's source.
type panicKind int

const (
	kindUnknown panicKind = iota
	kindPanicCall
	kindIndex
	kindNilMap
)

func classifyPanic(value string) panicKind {
	switch msg := runtimeMessage(value); {
	case strings.Contains(msg, "index out of range"):
		return kindIndex
	case strings.Contains(msg, "nil map"):
		return kindNilMap
	case strings.HasPrefix(msg, "runtime error:"):
		return kindUnknown
	}
	return kindPanicCall
}

// refineLine narrows yaegi's panic position to a statement. yaegi v0.16.1
// reports the first statement of the innermost interpreted function, not the
// failing one; when that function (nested function literals excluded) holds
// exactly one line that can raise this kind of panic, that line is it.
func refineLine(code string, line int, kind panicKind) (int, bool) {
	if kind == kindUnknown || line <= 0 {
		return line, false
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, toolFile, code, parser.SkipObjectResolution)
	if err != nil {
		return line, false
	}
	var body *ast.BlockStmt
	ast.Inspect(f, func(n ast.Node) bool {
		var b *ast.BlockStmt
		switch n := n.(type) {
		case *ast.FuncDecl:
			b = n.Body
		case *ast.FuncLit:
			b = n.Body
		}
		if b != nil && fset.Position(b.Lbrace).Line <= line && line <= fset.Position(b.Rbrace).Line {
			body = b // innermost wins: Inspect visits outer functions first
		}
		return true
	})
	if body == nil {
		return line, false
	}
	lines := map[int]bool{}
	ast.Inspect(body, func(n ast.Node) bool {
		if _, ok := n.(*ast.FuncLit); ok {
			return false
		}
		if matchesKind(n, kind) {
			lines[fset.Position(n.Pos()).Line] = true
		}
		return true
	})
	if len(lines) != 1 {
		return line, false
	}
	for l := range lines {
		return l, true
	}
	return line, false
}

func matchesKind(n ast.Node, kind panicKind) bool {
	switch kind {
	case kindPanicCall:
		if c, ok := n.(*ast.CallExpr); ok {
			id, ok := c.Fun.(*ast.Ident)
			return ok && id.Name == "panic"
		}
	case kindIndex:
		switch n.(type) {
		case *ast.IndexExpr, *ast.SliceExpr:
			return true
		}
	case kindNilMap:
		if a, ok := n.(*ast.AssignStmt); ok {
			for _, l := range a.Lhs {
				if _, ok := l.(*ast.IndexExpr); ok {
					return true
				}
			}
		}
		if s, ok := n.(*ast.IncDecStmt); ok {
			_, ok := s.X.(*ast.IndexExpr)
			return ok
		}
	case kindUnknown:
	}
	return false
}
