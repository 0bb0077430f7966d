package analyze

import (
	"cmp"
	"errors"
	"fmt"
	"go/scanner"
	"go/token"
	"slices"
	"strings"

	"github.com/mcpbox/mcpbox/proto"
)

// maxDiagnostics bounds the diagnostics of one analysis, so hostile code
// cannot make the response large.
const maxDiagnostics = 50

// maxSyntaxErrors bounds the syntax errors reported for one file: after the
// first few, the parser's findings are mostly noise.
const maxSyntaxErrors = 3

// report collects the diagnostics of one analysis.
type report struct {
	fset  *token.FileSet
	lines []string
	diags []proto.Diagnostic
	seen  map[string]bool
}

func newReport(fset *token.FileSet, code string) *report {
	return &report{fset: fset, lines: strings.Split(code, "\n"), seen: map[string]bool{}}
}

// add records a diagnostic at pos (token.NoPos for none); duplicates at the
// same position are dropped.
func (r *report) add(pos token.Pos, sev proto.Severity, typ proto.SandboxErrorType, msg string) {
	line, col := 0, 0
	if pos.IsValid() && r.fset != nil {
		p := r.fset.Position(pos)
		line, col = p.Line, p.Column
	}
	r.addAt(line, col, sev, typ, msg)
}

func (r *report) addAt(line, col int, sev proto.Severity, typ proto.SandboxErrorType, msg string) {
	key := fmt.Sprintf("%d:%d:%s:%s", line, col, typ, msg)
	if r.seen[key] || len(r.diags) >= maxDiagnostics {
		return
	}
	r.seen[key] = true
	line, col = r.clamp(line, col)
	r.diags = append(r.diags, proto.Diagnostic{
		Severity: sev, Type: typ, Message: msg, Line: line, Column: col,
		Context: sourceContext(r.lines, line),
	})
}

// clamp keeps a column on its line: the scanner may place EOF past the text.
func (r *report) clamp(line, col int) (int, int) {
	if line > 0 && line <= len(r.lines) {
		col = min(col, len(strings.TrimRight(r.lines[line-1], "\r"))+1)
	}
	return line, col
}

func (r *report) errorf(pos token.Pos, typ proto.SandboxErrorType, format string, args ...any) {
	r.add(pos, proto.SeverityError, typ, fmt.Sprintf(format, args...))
}

func (r *report) warnf(pos token.Pos, typ proto.SandboxErrorType, format string, args ...any) {
	r.add(pos, proto.SeverityWarning, typ, fmt.Sprintf(format, args...))
}

func hasErrors(diags []proto.Diagnostic) bool {
	return slices.ContainsFunc(diags, func(d proto.Diagnostic) bool { return d.Severity == proto.SeverityError })
}

// sortDiagnostics orders by position; diagnostics without a position (line
// 0) concern the whole file and come first.
func sortDiagnostics(diags []proto.Diagnostic) {
	slices.SortStableFunc(diags, func(a, b proto.Diagnostic) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
}

// SourceContext renders up to 5 source lines of code around line (1-based):
// two before, the line, two after, each as a width-4 line number, "| " and
// the text, the line itself prefixed ">>" (sandbox.md §4.2.4 error.context).
// It returns "" when line is outside the source.
func SourceContext(code string, line int) string {
	return sourceContext(strings.Split(code, "\n"), line)
}

func sourceContext(lines []string, line int) string {
	if line < 1 || line > len(lines) {
		return ""
	}
	var b strings.Builder
	for n := max(1, line-2); n <= min(len(lines), line+2); n++ {
		mark := "  "
		if n == line {
			mark = ">>"
		}
		text := strings.TrimRight(lines[n-1], "\r")
		if len(text) > 200 {
			text = text[:200] + "…"
		}
		fmt.Fprintf(&b, "%s%4d| %s\n", mark, n, text)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// syntaxErrors turns the parser's errors into SyntaxError diagnostics with
// friendlier wording.
func (r *report) syntaxErrors(err error) {
	var list scanner.ErrorList
	var one *scanner.Error
	switch {
	case errors.As(err, &list):
	case errors.As(err, &one):
		list = scanner.ErrorList{one}
	default:
		r.addAt(0, 0, proto.SeverityError, proto.ErrTypeSyntaxError, "the code could not be parsed: "+err.Error())
		return
	}
	list.Sort()
	list.RemoveMultiples()
	for i, e := range list {
		if i == maxSyntaxErrors {
			break
		}
		line, col := r.clamp(e.Pos.Line, e.Pos.Column)
		r.addAt(line, col, proto.SeverityError, proto.ErrTypeSyntaxError,
			fmt.Sprintf("line %d, column %d: %s", line, col, rephraseSyntax(e.Msg)))
	}
}

// rephraseSyntax rewords go/parser messages for the LLM and adds the usual
// fix.
func rephraseSyntax(msg string) string {
	msg = strings.NewReplacer("'IDENT' ", "", "'STRING' ", "", "'INT' ", "", "'FLOAT' ", "", "'EOF'", "the end of the file").Replace(msg)
	switch {
	case strings.HasPrefix(msg, "expected 'package'"):
		return msg + "; the file must start with `package tool`"
	case strings.HasPrefix(msg, "expected declaration"):
		return msg + "; only declarations (import, const, var, type, func) may appear at the top level of the file: put statements inside a function"
	case strings.Contains(msg, "newline"):
		return msg + "; a statement, argument list or composite literal is not closed: check for a missing comma, parenthesis or brace at the end of the line"
	case strings.HasPrefix(msg, "expected"):
		return msg + "; check for a missing or extra brace, parenthesis, comma or quote near this position"
	case strings.Contains(msg, "string literal not terminated"), strings.Contains(msg, "rune literal not terminated"):
		return msg + "; close the quote (use a raw `...` string for multi-line text)"
	}
	return msg
}
