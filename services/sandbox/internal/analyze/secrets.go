package analyze

import (
	"go/ast"
	"go/token"
	"slices"
	"strconv"
	"strings"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/catalogue"
)

// isSecretFunc reports the mcpbox functions that read a secret by name
// (§5.5).
func isSecretFunc(name string) bool { return name == "Secret" || name == "LookupSecret" }

// collectSecrets returns the sorted secret names read through mcpbox.Secret
// and mcpbox.LookupSecret. The name must be a string literal so that the
// backend can declare it in the manifest; anything else is a
// ValidationError, as is using the functions as values.
func collectSecrets(t *file) []string {
	hostNames := map[string]bool{}
	for name, path := range t.importName {
		if path == catalogue.HostPackage {
			hostNames[name] = true
		}
	}
	dot := slices.Contains(t.dotImports, catalogue.HostPackage)
	// secretRef reports the function name when e refers to a secret reader.
	secretRef := func(e ast.Expr) (string, bool) {
		switch x := e.(type) {
		case *ast.SelectorExpr:
			id, ok := x.X.(*ast.Ident)
			if ok && hostNames[id.Name] && isSecretFunc(x.Sel.Name) {
				return "mcpbox." + x.Sel.Name, true
			}
		case *ast.Ident:
			if dot && isSecretFunc(x.Name) && !t.declared[x.Name] {
				return x.Name, true
			}
		}
		return "", false
	}
	names := []string{}
	called := map[ast.Expr]bool{}
	ast.Inspect(t.ast, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			fn, ok := secretRef(n.Fun)
			if !ok {
				return true
			}
			called[n.Fun] = true
			if len(n.Args) != 1 {
				return true // the compiler reports the arity
			}
			lit, ok := n.Args[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				t.rep.errorf(n.Args[0].Pos(), proto.ErrTypeValidationError,
					"%s needs a string literal name, e.g. %s(\"GITHUB_TOKEN\"), so the secret can be declared in the tool's manifest; a variable or expression cannot be declared", fn, fn)
				return true
			}
			name, err := strconv.Unquote(lit.Value)
			if err != nil {
				return true
			}
			if err := proto.ValidateSecretName(name); err != nil {
				t.rep.errorf(lit.Pos(), proto.ErrTypeValidationError,
					"secret name %q is not valid: secret names match %s (at most %d characters), e.g. \"API_TOKEN\"", name, proto.SecretNamePattern, proto.MaxSecretNameLen)
				return true
			}
			if !slices.Contains(names, name) {
				names = append(names, name)
			}
		case *ast.SelectorExpr:
			if id, ok := n.X.(*ast.Ident); ok && hostNames[id.Name] && !slices.Contains(catalogue.HostSymbols(), n.Sel.Name) {
				t.rep.errorf(n.Sel.Pos(), proto.ErrTypeValidationError,
					"mcpbox has no %s: the host package provides %s", n.Sel.Name, strings.Join(catalogue.HostSymbols(), ", "))
			}
			if id, ok := n.X.(*ast.Ident); ok && hostNames[id.Name] && !slices.Contains(catalogue.HostSymbols(), n.Sel.Name) {
				t.rep.errorf(n.Sel.Pos(), proto.ErrTypeValidationError,
					"mcpbox has no %s: the host package provides %s", n.Sel.Name, strings.Join(catalogue.HostSymbols(), ", "))
			}
			// Through a dot import, a bare Secret used as a value is not
			// tracked: its identifier is too easily confused with fields.
			if fn, ok := secretRef(n); ok && !called[n] {
				t.rep.errorf(n.Pos(), proto.ErrTypeValidationError,
					"call %s directly with a string literal name, e.g. %s(\"API_TOKEN\"); it cannot be used as a value", fn, fn)
			}
		}
		return true
	})
	slices.Sort(names)
	return names
}
