package analyze

import (
	"go/ast"
	"go/token"
	"slices"

	"github.com/mcpbox/mcpbox/proto"
)

// iteratorHelpers are the standard functions that return or consume
// iterators (range-over-func), by import path, with the rewrite to use
// (§5.6).
func iteratorHelpers() map[string]struct {
	names []string
	hint  string
} {
	seq := []string{"Lines", "SplitSeq", "SplitAfterSeq", "FieldsSeq", "FieldsFuncSeq"}
	return map[string]struct {
		names []string
		hint  string
	}{
		"maps":    {[]string{"Keys", "Values", "All", "Insert", "Collect"}, "loop over the map with `for k, v := range m` (collect keys into a slice and sort.Strings them when order matters)"},
		"slices":  {[]string{"All", "Values", "Backward", "Collect", "AppendSeq", "Sorted", "SortedFunc", "SortedStableFunc", "Chunk"}, "loop over the slice with `for i, v := range s` and sort with package sort"},
		"strings": {seq, "use strings.Split, strings.SplitAfter or strings.Fields, which return slices"},
		"bytes":   {seq, "use bytes.Split, bytes.SplitAfter or bytes.Fields, which return slices"},
	}
}

const (
	rangeFuncMsg = "range over a function (an iterator) is not supported by the MCPbox interpreter (Go 1.22 language level): build a slice and range over it, or call the function with a callback"
	rangeIntMsg  = "range over an integer works today but is not guaranteed by the MCPbox interpreter: use a three-clause loop, `for i := 0; i < n; i++`"
)

// checkLanguage reports the Go features the interpreter lacks or handles
// differently (§5.6).
func checkLanguage(t *file) {
	helpers := iteratorHelpers()
	funcLitVars := map[string]bool{}
	ast.Inspect(t.ast, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignStmt:
			if n.Tok == token.DEFINE && len(n.Lhs) == len(n.Rhs) {
				for i, r := range n.Rhs {
					if _, ok := r.(*ast.FuncLit); ok {
						if id, ok := n.Lhs[i].(*ast.Ident); ok {
							funcLitVars[id.Name] = true
						}
					}
				}
			}
		case *ast.ValueSpec:
			for i, v := range n.Values {
				if _, ok := v.(*ast.FuncLit); ok && i < len(n.Names) {
					funcLitVars[n.Names[i].Name] = true
				}
			}
		}
		return true
	})
	for _, decl := range t.ast.Decls {
		fd, ok := decl.(*ast.FuncDecl)
		if ok {
			checkTypeParams(t, fd.Type.TypeParams)
		}
		if gd, ok := decl.(*ast.GenDecl); ok {
			for _, s := range gd.Specs {
				if ts, ok := s.(*ast.TypeSpec); ok {
					checkTypeParams(t, ts.TypeParams)
				}
			}
		}
		ints := intVars(t, decl)
		ast.Inspect(decl, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				checkCall(t, n, helpers)
			case *ast.RangeStmt:
				switch {
				case isHelperCall(t, n.X, helpers):
					// reported at the call
				case rangesOverFunc(t, n.X, funcLitVars):
					t.rep.errorf(n.X.Pos(), proto.ErrTypeUnsupportedFeature, "%s", rangeFuncMsg)
				case isIntExpr(t, n.X, ints):
					t.rep.warnf(n.X.Pos(), proto.ErrTypeUnsupportedFeature, "%s", rangeIntMsg)
				}
				checkCapture(t, loopVars(n.Tok, n.Key, n.Value), n.Body)
			case *ast.ForStmt:
				if init, ok := n.Init.(*ast.AssignStmt); ok && init.Tok == token.DEFINE {
					checkCapture(t, loopVars(token.DEFINE, init.Lhs...), n.Body)
				}
			}
			return true
		})
	}
}

func checkCall(t *file, call *ast.CallExpr, helpers map[string]struct {
	names []string
	hint  string
},
) {
	if id, ok := call.Fun.(*ast.Ident); ok && !t.declared[id.Name] {
		switch id.Name {
		case "min", "max":
			t.rep.errorf(id.Pos(), proto.ErrTypeUnsupportedFeature,
				"the builtin %s is not available in the MCPbox interpreter (Go 1.22 language level): use an if statement, or math.Min/math.Max for floats", id.Name)
		case "clear":
			t.rep.errorf(id.Pos(), proto.ErrTypeUnsupportedFeature,
				"the builtin clear is not available in the MCPbox interpreter (Go 1.22 language level): delete map entries in a loop (`for k := range m { delete(m, k) }`) or assign a new map or slice")
		}
	}
	if sel, ok := call.Fun.(*ast.SelectorExpr); ok && isHelperCall(t, call, helpers) {
		pkg := t.importName[sel.X.(*ast.Ident).Name]
		t.rep.errorf(call.Pos(), proto.ErrTypeUnsupportedFeature,
			"%s.%s works with iterators (range over a function), which the MCPbox interpreter cannot run (Go 1.22 language level): %s",
			defaultName(pkg), sel.Sel.Name, helpers[pkg].hint)
	}
	// Generic inference with function literals is unreliable (§5.6).
	if id, ok := call.Fun.(*ast.Ident); ok {
		if fd := t.funcs[id.Name]; fd != nil && fd.Type.TypeParams != nil && slices.ContainsFunc(call.Args, func(a ast.Expr) bool {
			_, lit := a.(*ast.FuncLit)
			return lit
		}) {
			t.rep.warnf(id.Pos(), proto.ErrTypeUnsupportedFeature,
				"type inference with function-literal arguments is unreliable in the MCPbox interpreter: add explicit type arguments, e.g. %s[int, string](...), or write a non-generic function", id.Name)
		}
	}
}

// isHelperCall reports whether e calls a known iterator helper.
func isHelperCall(t *file, e ast.Expr, helpers map[string]struct {
	names []string
	hint  string
},
) bool {
	call, ok := e.(*ast.CallExpr)
	if !ok {
		return false
	}
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	id, ok := sel.X.(*ast.Ident)
	if !ok {
		return false
	}
	h, ok := helpers[t.importName[id.Name]]
	return ok && slices.Contains(h.names, sel.Sel.Name)
}

// rangesOverFunc reports range expressions that are detectably functions:
// function literals, functions declared in the file, variables holding a
// function literal, and calls of file functions that return a function.
func rangesOverFunc(t *file, e ast.Expr, funcLitVars map[string]bool) bool {
	switch x := e.(type) {
	case *ast.ParenExpr:
		return rangesOverFunc(t, x.X, funcLitVars)
	case *ast.FuncLit:
		return true
	case *ast.Ident:
		return t.funcs[x.Name] != nil || funcLitVars[x.Name]
	case *ast.CallExpr:
		id, ok := x.Fun.(*ast.Ident)
		if !ok || t.funcs[id.Name] == nil {
			return false
		}
		res := flatten(t.funcs[id.Name].Type.Results)
		if len(res) != 1 {
			return false
		}
		if _, ok := t.underlying(res[0]).(*ast.FuncType); ok {
			return true
		}
		return t.isSelector(res[0], "iter", "Seq") || t.isSelector(res[0], "iter", "Seq2")
	}
	return false
}

// intTypes are the predeclared integer types.
func isIntTypeName(t *file, e ast.Expr) bool {
	id, ok := t.underlying(e).(*ast.Ident)
	if !ok || t.types[id.Name] != nil {
		return false
	}
	switch id.Name {
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "uintptr", "byte", "rune":
		return true
	}
	return false
}

// varInfo is what intVars knows about a name inside one declaration.
type varInfo struct {
	typ ast.Expr // the declared type, when written
	isInt,
	ambiguous bool
}

// intVars collects, scope-insensitively, the names declared in decl (and at
// package level) with an integer type or an integer initial value. A name
// declared twice with different kinds is ambiguous and never counts.
func intVars(t *file, decl ast.Decl) map[string]*varInfo {
	vars := map[string]*varInfo{}
	note := func(name string, typ ast.Expr, isInt bool) {
		if v, ok := vars[name]; ok {
			if v.isInt != isInt {
				v.ambiguous = true
			}
			return
		}
		vars[name] = &varInfo{typ: typ, isInt: isInt}
	}
	collect := func(root ast.Node) {
		ast.Inspect(root, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.Field:
				for _, id := range n.Names {
					note(id.Name, n.Type, isIntTypeName(t, n.Type))
				}
			case *ast.ValueSpec:
				for i, id := range n.Names {
					isInt := n.Type != nil && isIntTypeName(t, n.Type)
					if n.Type == nil && i < len(n.Values) {
						isInt = isIntExpr(t, n.Values[i], nil)
					}
					note(id.Name, n.Type, isInt)
				}
			case *ast.AssignStmt:
				if n.Tok == token.DEFINE {
					for i, l := range n.Lhs {
						if id, ok := l.(*ast.Ident); ok {
							note(id.Name, nil, len(n.Lhs) == len(n.Rhs) && isIntExpr(t, n.Rhs[i], nil))
						}
					}
				}
			case *ast.StructType:
				return false // field names are not variables
			}
			return true
		})
	}
	collect(decl)
	return vars
}

// isIntExpr reports expressions that are integers without type checking:
// integer literals, len/cap, integer conversions, arithmetic on those, and
// names or input fields declared with an integer type.
func isIntExpr(t *file, e ast.Expr, vars map[string]*varInfo) bool {
	switch x := e.(type) {
	case *ast.ParenExpr:
		return isIntExpr(t, x.X, vars)
	case *ast.BasicLit:
		return x.Kind == token.INT
	case *ast.CallExpr:
		id, ok := x.Fun.(*ast.Ident)
		if !ok || t.declared[id.Name] {
			return false
		}
		return id.Name == "len" || id.Name == "cap" || (len(x.Args) == 1 && isIntTypeName(t, id))
	case *ast.BinaryExpr:
		switch x.Op {
		case token.ADD, token.SUB, token.MUL, token.QUO, token.REM, token.SHL, token.SHR, token.AND, token.OR, token.XOR:
			return isIntExpr(t, x.X, vars) || isIntExpr(t, x.Y, vars)
		}
	case *ast.Ident:
		v := vars[x.Name]
		return v != nil && v.isInt && !v.ambiguous
	case *ast.SelectorExpr:
		id, ok := x.X.(*ast.Ident)
		if !ok || vars[id.Name] == nil || vars[id.Name].typ == nil || vars[id.Name].ambiguous {
			return false
		}
		st, ok := t.underlying(vars[id.Name].typ).(*ast.StructType)
		if !ok || st.Fields == nil {
			return false
		}
		for _, f := range st.Fields.List {
			for _, n := range f.Names {
				if n.Name == x.Sel.Name {
					return isIntTypeName(t, f.Type)
				}
			}
		}
	}
	return false
}

func loopVars(tok token.Token, exprs ...ast.Expr) []string {
	if tok != token.DEFINE {
		return nil
	}
	var names []string
	for _, e := range exprs {
		if id, ok := e.(*ast.Ident); ok && id.Name != "_" {
			names = append(names, id.Name)
		}
	}
	return names
}

// checkCapture warns when a goroutine or deferred function literal in a
// loop body uses a loop variable: the interpreter shares loop variables
// across iterations (pre-Go 1.22 semantics).
func checkCapture(t *file, vars []string, body *ast.BlockStmt) {
	if len(vars) == 0 || body == nil {
		return
	}
	// `v := v` anywhere in the body makes a per-iteration copy.
	for _, s := range body.List {
		if a, ok := s.(*ast.AssignStmt); ok && a.Tok == token.DEFINE && len(a.Lhs) == len(a.Rhs) {
			for i, l := range a.Lhs {
				lid, ok1 := l.(*ast.Ident)
				rid, ok2 := a.Rhs[i].(*ast.Ident)
				if ok1 && ok2 && lid.Name == rid.Name {
					vars = slices.DeleteFunc(vars, func(v string) bool { return v == lid.Name })
				}
			}
		}
	}
	ast.Inspect(body, func(n ast.Node) bool {
		var call *ast.CallExpr
		switch n := n.(type) {
		case *ast.GoStmt:
			call = n.Call
		case *ast.DeferStmt:
			call = n.Call
		default:
			return true
		}
		lit, ok := call.Fun.(*ast.FuncLit)
		if !ok {
			return true
		}
		shadowed := map[string]bool{}
		for _, p := range lit.Type.Params.List {
			for _, id := range p.Names {
				shadowed[id.Name] = true
			}
		}
		ast.Inspect(lit.Body, func(m ast.Node) bool {
			switch m := m.(type) {
			case *ast.SelectorExpr:
				ast.Inspect(m.X, func(k ast.Node) bool {
					if id, ok := k.(*ast.Ident); ok {
						warnCapture(t, id, vars, shadowed)
					}
					return true
				})
				return false
			case *ast.Ident:
				warnCapture(t, m, vars, shadowed)
			}
			return true
		})
		return true
	})
}

func warnCapture(t *file, id *ast.Ident, vars []string, shadowed map[string]bool) {
	if !slices.Contains(vars, id.Name) || shadowed[id.Name] {
		return
	}
	t.rep.warnf(id.Pos(), proto.ErrTypeUnsupportedFeature,
		"the loop variable %s is used by a goroutine or deferred function; the MCPbox interpreter shares loop variables across iterations (unlike Go 1.22): copy it first (`%s := %s`) or pass it as an argument",
		id.Name, id.Name, id.Name)
}

// checkTypeParams warns about constraints beyond simple unions (§5.6).
func checkTypeParams(t *file, tp *ast.FieldList) {
	if tp == nil {
		return
	}
	for _, f := range tp.List {
		c := f.Type
		if id, ok := c.(*ast.Ident); ok && t.types[id.Name] != nil {
			c = t.types[id.Name].Type
		}
		it, ok := c.(*ast.InterfaceType)
		if !ok || it.Methods == nil {
			continue
		}
		for _, m := range it.Methods.List {
			if len(m.Names) > 0 {
				t.rep.warnf(f.Type.Pos(), proto.ErrTypeUnsupportedFeature,
					"generic constraints with methods are unreliable in the MCPbox interpreter: use a simple union such as `int | float64`, or write a non-generic function")
				break
			}
		}
	}
}
