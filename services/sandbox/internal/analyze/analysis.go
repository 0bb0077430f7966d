package analyze

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/catalogue"
)

// toolFile is the file name positions refer to.
const toolFile = "tool.go"

// maxDescription is the longest tool description, in characters (§5.2).
const maxDescription = 1024

// isVersionSuffix reports whether a path element is a major version ("v2").
func isVersionSuffix(elem string) bool {
	digits := strings.TrimPrefix(elem, "v")
	return len(digits) > 0 && len(digits) < len(elem) && strings.Trim(digits, "0123456789") == ""
}

// analysis is the cached, request-independent result for one code: it never
// depends on extra_packages, which only change Import.Allowed.
type analysis struct {
	imports      []importInfo
	main         *proto.MainInfo
	inputSchema  json.RawMessage
	outputSchema json.RawMessage
	description  string
	secrets      []string
	diags        []proto.Diagnostic
}

type importInfo struct {
	path         string
	line, column int
	context      string
	decision     catalogue.Decision
}

// file is what the checks share about one parsed tool.
type file struct {
	fset *token.FileSet
	ast  *ast.File
	rep  *report
	// importName maps a local package name to its import path; "." holds the
	// paths imported with a dot.
	importName map[string]string
	dotImports []string
	// types and funcs are the package-level type and function declarations.
	types map[string]*ast.TypeSpec
	funcs map[string]*ast.FuncDecl
	// declared holds every identifier the file declares anywhere, so that a
	// builtin such as min counts as shadowed when any declaration uses it.
	declared map[string]bool
}

// analyzeCode runs every static check on one tool source (§5). It never
// type-checks against host packages and never evaluates the code (I3).
func analyzeCode(code string) *analysis {
	out := &analysis{}
	fset := token.NewFileSet()
	rep := newReport(fset, code)
	defer func() {
		sortDiagnostics(rep.diags)
		out.diags = rep.diags
	}()
	if !preflight(code, rep) {
		return out
	}
	f, err := parser.ParseFile(fset, toolFile, code, parser.ParseComments|parser.SkipObjectResolution)
	if err != nil {
		rep.syntaxErrors(err)
		return out
	}
	t := &file{
		fset: fset, ast: f, rep: rep,
		importName: map[string]string{},
		types:      map[string]*ast.TypeSpec{},
		funcs:      map[string]*ast.FuncDecl{},
		declared:   map[string]bool{},
	}
	if f.Name.Name != "tool" {
		rep.errorf(f.Name.Pos(), proto.ErrTypeValidationError,
			"the package must be `package tool`, not `package %s`: a tool is one file in package tool", f.Name.Name)
	}
	checkDirectives(t)
	out.imports = checkImports(t, code)
	collectDecls(t)
	checkReserved(t)
	sig := checkMain(t)
	if sig != nil {
		out.main = sig.info
		out.description = description(sig.decl)
		if out.description == "" {
			rep.warnf(sig.decl.Name.Pos(), proto.ErrTypeValidationError,
				"Main has no doc comment: add one above it, e.g. `// Main lists the latest releases of a repository.`; it becomes the tool description, which MCPbox requires before the tool can be published")
		}
		out.inputSchema = inputSchema(t, sig)
		out.outputSchema = outputSchema(t, sig)
	}
	out.secrets = collectSecrets(t)
	checkLanguage(t)
	return out
}

// preflight checks the raw bytes: size, NUL, UTF-8 (§4.2.1, §5.1). It
// reports false when the code cannot be parsed meaningfully.
func preflight(code string, rep *report) bool {
	if len(code) > proto.MaxCodeBytes {
		rep.addAt(0, 0, proto.SeverityError, proto.ErrTypeValidationError,
			fmt.Sprintf("the code is %d bytes; a tool is at most %d bytes (100 KiB): shorten it or drop unused helpers", len(code), proto.MaxCodeBytes))
		return false
	}
	if strings.TrimSpace(code) == "" {
		rep.addAt(0, 0, proto.SeverityError, proto.ErrTypeValidationError,
			"the code is empty: send one Go file starting with `package tool` that declares `func Main(ctx context.Context, in Input) (Output, error)`")
		return false
	}
	if i := strings.IndexByte(code, 0); i >= 0 {
		line, col := lineCol(code, i)
		rep.addAt(line, col, proto.SeverityError, proto.ErrTypeValidationError,
			"the code contains a NUL byte: remove it (use \"\\x00\" in a string literal if you need one)")
		return false
	}
	if !utf8.ValidString(code) {
		i := 0
		for i < len(code) {
			r, size := utf8.DecodeRuneInString(code[i:])
			if r == utf8.RuneError && size <= 1 {
				break
			}
			i += size
		}
		line, col := lineCol(code, i)
		rep.addAt(line, col, proto.SeverityError, proto.ErrTypeValidationError,
			"the code is not valid UTF-8: re-encode the file as UTF-8")
		return false
	}
	return true
}

// lineCol converts a byte offset to a 1-based line and byte column.
func lineCol(code string, off int) (int, int) {
	line := 1 + strings.Count(code[:off], "\n")
	col := off - strings.LastIndexByte(code[:off], '\n')
	return line, col
}

// checkDirectives refuses //go: directives of any kind (§5.1).
func checkDirectives(t *file) {
	for _, g := range t.ast.Comments {
		for _, c := range g.List {
			if strings.HasPrefix(c.Text, "//go:") {
				name, _, _ := strings.Cut(strings.TrimPrefix(c.Text, "//"), " ")
				t.rep.errorf(c.Pos(), proto.ErrTypeUnsupportedFeature,
					"the //%s directive is not supported: tools cannot use //go: directives (embed, linkname, build constraints, generate); remove the line", name)
			}
		}
	}
}

// checkImports decides every import against the catalogue and reports the
// ones that can never be allowed (never tier, unknown, invalid). An opt-in
// path outside extra_packages is only Allowed=false (§4.3).
func checkImports(t *file, code string) []importInfo {
	lines := strings.Split(code, "\n")
	var out []importInfo
	seen := map[string]bool{}
	for _, spec := range t.ast.Imports {
		path, err := strconv.Unquote(spec.Path.Value)
		if err != nil {
			t.rep.errorf(spec.Path.Pos(), proto.ErrTypeImportError, "the import path %s is not a valid string", spec.Path.Value)
			continue
		}
		d := catalogue.Lookup(path)
		if d.Kind == catalogue.KindNever || d.Kind == catalogue.KindUnknown || d.Kind == catalogue.KindInvalid {
			t.rep.add(spec.Path.Pos(), proto.SeverityError, proto.ErrTypeImportError, d.Refusal(nil))
		}
		name := defaultName(path)
		if spec.Name != nil {
			name = spec.Name.Name
		}
		switch {
		case name == ".":
			t.dotImports = append(t.dotImports, path)
		case name != "_":
			t.importName[name] = path
			if path != catalogue.HostPackage && isReserved(name) {
				t.rep.errorf(spec.Pos(), proto.ErrTypeValidationError,
					"the import name %q is reserved: names starting with \"mcpbox\" (any case) belong to the host package; import %q under another name", name, path)
			}
		}
		if seen[path] {
			continue
		}
		seen[path] = true
		p := t.fset.Position(spec.Path.Pos())
		out = append(out, importInfo{path: path, line: p.Line, column: p.Column, context: sourceContext(lines, p.Line), decision: d})
	}
	slices.SortFunc(out, func(a, b importInfo) int { return strings.Compare(a.path, b.path) })
	return out
}

// defaultName is the package name an import gets without an explicit name:
// the last path element, or the one before a major-version suffix.
func defaultName(path string) string {
	elems := strings.Split(path, "/")
	last := elems[len(elems)-1]
	if len(elems) > 1 && isVersionSuffix(last) {
		return elems[len(elems)-2]
	}
	return last
}

// collectDecls indexes the package-level declarations and every declared
// identifier.
func collectDecls(t *file) {
	for _, d := range t.ast.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if d.Recv == nil && d.Name.Name != "init" && d.Name.Name != "_" {
				if _, dup := t.funcs[d.Name.Name]; !dup {
					t.funcs[d.Name.Name] = d
				}
			}
		case *ast.GenDecl:
			for _, s := range d.Specs {
				if ts, ok := s.(*ast.TypeSpec); ok {
					if _, dup := t.types[ts.Name.Name]; !dup {
						t.types[ts.Name.Name] = ts
					}
				}
			}
		}
	}
	ast.Inspect(t.ast, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncDecl:
			if n.Recv == nil {
				t.declared[n.Name.Name] = true
			}
		case *ast.TypeSpec:
			t.declared[n.Name.Name] = true
		case *ast.ValueSpec:
			for _, id := range n.Names {
				t.declared[id.Name] = true
			}
		case *ast.Field:
			for _, id := range n.Names {
				t.declared[id.Name] = true
			}
		case *ast.AssignStmt:
			if n.Tok == token.DEFINE {
				for _, e := range n.Lhs {
					if id, ok := e.(*ast.Ident); ok {
						t.declared[id.Name] = true
					}
				}
			}
		case *ast.RangeStmt:
			if n.Tok == token.DEFINE {
				for _, e := range []ast.Expr{n.Key, n.Value} {
					if id, ok := e.(*ast.Ident); ok {
						t.declared[id.Name] = true
					}
				}
			}
		}
		return true
	})
}

// isReserved reports whether a package-level name would shadow the host
// package (§5.1).
func isReserved(name string) bool { return strings.HasPrefix(strings.ToLower(name), "mcpbox") }

// checkReserved refuses package-level identifiers starting with "mcpbox" in
// any case.
func checkReserved(t *file) {
	report := func(id *ast.Ident) {
		if isReserved(id.Name) {
			t.rep.errorf(id.Pos(), proto.ErrTypeValidationError,
				"the name %s is reserved: package-level names starting with \"mcpbox\" (any case) would shadow the host package mcpbox; rename it, e.g. to %s",
				id.Name, suggestRename(id.Name))
		}
	}
	for _, d := range t.ast.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if d.Recv == nil {
				report(d.Name)
			}
		case *ast.GenDecl:
			for _, s := range d.Specs {
				switch s := s.(type) {
				case *ast.TypeSpec:
					report(s.Name)
				case *ast.ValueSpec:
					for _, id := range s.Names {
						report(id)
					}
				}
			}
		}
	}
}

func suggestRename(name string) string {
	rest := name[len("mcpbox"):]
	if rest == "" || rest == "_" {
		return "box"
	}
	r, size := utf8.DecodeRuneInString(strings.TrimLeft(rest, "_"))
	if r == utf8.RuneError {
		return "box"
	}
	rest = strings.TrimLeft(rest, "_")
	if unicode.IsUpper([]rune(name)[0]) {
		return "Tool" + string(unicode.ToUpper(r)) + rest[size:]
	}
	return "tool" + string(unicode.ToUpper(r)) + rest[size:]
}

// description is Main's doc comment normalised (§5.2): comment markers
// removed, whitespace collapsed, a leading "Main verbs…" turned into
// "Verbs…", at most 1024 characters.
func description(decl *ast.FuncDecl) string {
	if decl.Doc == nil {
		return ""
	}
	text := strings.Join(strings.Fields(decl.Doc.Text()), " ")
	if rest, ok := strings.CutPrefix(text, "Main "); ok && rest != "" {
		r, size := utf8.DecodeRuneInString(rest)
		if unicode.IsLetter(r) {
			text = string(unicode.ToUpper(r)) + rest[size:]
		}
	}
	if utf8.RuneCountInString(text) > maxDescription {
		runes := []rune(text)[:maxDescription-1]
		text = strings.TrimRightFunc(string(runes), unicode.IsSpace) + "…"
	}
	return text
}

// marshalSchema encodes a derived schema deterministically (properties in
// field order). jsonschema-go writes the empty schema as true; the spec
// writes any JSON as {} (§5.3), so object members that are true become {}.
// The derived schemas set no boolean-valued keyword to true, so every true
// object member is a schema position; enum values sit in arrays and stay.
func marshalSchema(v any) json.RawMessage {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var out bytes.Buffer
	type level struct {
		object bool
		n      int // tokens written at this level
	}
	stack := []level{}
	for {
		tok, err := dec.Token()
		if err != nil {
			break // io.EOF after the single value; raw is valid JSON
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			out.WriteString(d.String())
			continue
		}
		inObject := len(stack) > 0 && stack[len(stack)-1].object
		if len(stack) > 0 {
			top := &stack[len(stack)-1]
			switch {
			case inObject && top.n%2 == 1:
				out.WriteByte(':')
			case top.n > 0:
				out.WriteByte(',')
			}
			top.n++
		}
		isValue := inObject && stack[len(stack)-1].n%2 == 0
		switch t := tok.(type) {
		case json.Delim:
			out.WriteString(t.String())
			stack = append(stack, level{object: t == '{'})
		case bool:
			switch {
			case t && isValue:
				out.WriteString("{}")
			case t:
				out.WriteString("true")
			default:
				out.WriteString("false")
			}
		default:
			b, err := marshalNoEscape(t)
			if err != nil {
				return nil
			}
			out.Write(b)
		}
	}
	return json.RawMessage(out.Bytes())
}

func marshalNoEscape(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode schema token: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
