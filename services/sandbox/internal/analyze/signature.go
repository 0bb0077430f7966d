package analyze

import (
	"go/ast"
	"go/types"

	"github.com/mcpbox/mcpbox/proto"
)

// expectedMain is appended to every Main signature error (§5.2, SB-29).
const expectedMain = "expected `func Main(ctx context.Context, in Input) (Output, error)` with `type Input struct { ... }` declared in the file, " +
	"or `func Main(ctx context.Context) (Output, error)` for a tool without arguments"

// mainSig is a Main with a valid signature.
type mainSig struct {
	decl *ast.FuncDecl
	info *proto.MainInfo
	// input is the Input type expression (nil without input).
	input ast.Expr
	// result is the first result's type expression.
	result ast.Expr
}

// checkMain finds Main and checks its signature; it returns nil (after
// reporting a ValidationError) when there is no usable Main.
func checkMain(t *file) *mainSig {
	var mains []*ast.FuncDecl
	var method *ast.FuncDecl
	for _, d := range t.ast.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Name.Name != "Main" {
			continue
		}
		if fd.Recv != nil {
			method = fd
			continue
		}
		mains = append(mains, fd)
	}
	switch {
	case len(mains) == 0 && method != nil:
		t.rep.errorf(method.Name.Pos(), proto.ErrTypeValidationError,
			"Main must be a plain function, not a method: remove the receiver; %s", expectedMain)
		return nil
	case len(mains) == 0:
		t.rep.errorf(t.ast.Name.Pos(), proto.ErrTypeValidationError, "the tool has no function Main: %s", expectedMain)
		return nil
	case len(mains) > 1:
		t.rep.errorf(mains[1].Name.Pos(), proto.ErrTypeValidationError,
			"Main is declared more than once: keep exactly one function Main; %s", expectedMain)
		return nil
	}
	fd := mains[0]
	bad := func(node ast.Node, what string) *mainSig {
		t.rep.errorf(node.Pos(), proto.ErrTypeValidationError, "Main has the wrong signature: %s; %s", what, expectedMain)
		return nil
	}
	ft := fd.Type
	if ft.TypeParams != nil && len(ft.TypeParams.List) > 0 {
		return bad(ft.TypeParams, "Main cannot have type parameters")
	}
	params := flatten(ft.Params)
	if len(params) == 0 || len(params) > 2 {
		return bad(ft, "it must take `ctx context.Context` and optionally `in Input`")
	}
	if !t.isSelector(params[0], "context", "Context") {
		return bad(params[0], "the first parameter must be `ctx context.Context`")
	}
	sig := &mainSig{decl: fd, info: &proto.MainInfo{}}
	if len(params) == 2 {
		in := params[1]
		if !t.checkInputType(in) {
			return nil
		}
		sig.input = in
		sig.info.HasInput = true
		sig.info.InputType = types.ExprString(in)
	}
	results := flatten(ft.Results)
	if len(results) != 2 {
		return bad(ft, "it must return two results, a value and an error")
	}
	if id, ok := results[1].(*ast.Ident); !ok || id.Name != "error" || t.types["error"] != nil {
		return bad(results[1], "the second result must be `error`")
	}
	if reason := unencodable(t, results[0]); reason != "" {
		return bad(results[0], "the first result "+reason+"; return a JSON-encodable type such as a struct, map, slice, string or any")
	}
	sig.result = results[0]
	sig.info.OutputType = types.ExprString(results[0])
	return sig
}

// flatten lists one type expression per parameter or result ("a, b int" is
// two).
func flatten(fl *ast.FieldList) []ast.Expr {
	if fl == nil {
		return nil
	}
	var out []ast.Expr
	for _, f := range fl.List {
		n := max(1, len(f.Names))
		for range n {
			out = append(out, f.Type)
		}
	}
	return out
}

// isSelector reports whether e is pkg.Name for the import of path pkgPath.
func (t *file) isSelector(e ast.Expr, pkgPath, name string) bool {
	sel, ok := e.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != name {
		return false
	}
	id, ok := sel.X.(*ast.Ident)
	return ok && t.importName[id.Name] == pkgPath
}

// checkInputType checks Main's input parameter: a struct type declared in the
// file, passed by value.
func (t *file) checkInputType(in ast.Expr) bool {
	bad := func(node ast.Node, what string) bool {
		t.rep.errorf(node.Pos(), proto.ErrTypeValidationError, "Main has the wrong signature: %s; %s", what, expectedMain)
		return false
	}
	switch e := in.(type) {
	case *ast.StarExpr:
		return bad(e, "the input must be passed by value, not as a pointer: write `in "+types.ExprString(e.X)+"`")
	case *ast.Ellipsis:
		return bad(e, "Main cannot be variadic")
	case *ast.StructType:
		return bad(e, "declare the input as a named struct type (`type Input struct { ... }`) and take `in Input`")
	case *ast.Ident:
		spec := t.types[e.Name]
		if spec == nil {
			return bad(e, "the input type "+e.Name+" must be a struct type declared in the file")
		}
		if spec.TypeParams != nil {
			return bad(e, "the input type "+e.Name+" cannot be generic")
		}
		if _, ok := t.underlying(spec.Type).(*ast.StructType); !ok {
			return bad(e, "the input type "+e.Name+" is not a struct: declare `type "+e.Name+" struct { ... }` with one field per argument")
		}
		return true
	default:
		return bad(in, "the input type "+types.ExprString(in)+" must be a struct type declared in the file")
	}
}

// underlying follows file-declared named types and aliases (bounded, so a
// cycle ends) to a type literal or a foreign/builtin name.
func (t *file) underlying(e ast.Expr) ast.Expr {
	for range 64 {
		switch x := e.(type) {
		case *ast.ParenExpr:
			e = x.X
		case *ast.Ident:
			spec := t.types[x.Name]
			if spec == nil || spec.TypeParams != nil {
				return e
			}
			e = spec.Type
		default:
			return e
		}
	}
	return e
}

// unencodable says why a result type can never be JSON-encoded, or "".
func unencodable(t *file, e ast.Expr) string {
	switch u := t.underlying(e).(type) {
	case *ast.ChanType:
		return "is a channel, which cannot be encoded as JSON"
	case *ast.FuncType:
		return "is a function, which cannot be encoded as JSON"
	case *ast.Ident:
		if (u.Name == "complex64" || u.Name == "complex128") && t.types[u.Name] == nil {
			return "is a complex number, which cannot be encoded as JSON"
		}
	}
	return ""
}
