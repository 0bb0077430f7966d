// Command gen regenerates the yaegi symbol maps of package symbols from the
// catalogue (catalogue.Packages): it runs the pinned `yaegi extract` once per
// default-tier and opt-in path, then keeps only the allowlisted keys, freezes
// package variables and rewrites yaegi's init-time registration into plain
// functions. See ../doc.go for how to run it.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/printer"
	"go/token"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/catalogue"
)

func main() {
	if err := run(context.Background(), os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fl := flag.NewFlagSet("gen", flag.ContinueOnError)
	yaegi := fl.String("yaegi", "", "path of the pinned yaegi binary (make tools builds it into .cache/bin)")
	out := fl.String("out", ".", "directory of package symbols")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if *yaegi == "" {
		return errors.New("-yaegi is required")
	}
	goroot, err := exec.CommandContext(ctx, "go", "env", "GOROOT").Output()
	if err != nil {
		return fmt.Errorf("go env GOROOT: %w", err)
	}
	tmp, err := os.MkdirTemp("", "mcpbox-symbols-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(tmp) }()

	old, err := filepath.Glob(filepath.Join(*out, "zz_*.go"))
	if err != nil {
		return err
	}
	for _, f := range old {
		if err := os.Remove(f); err != nil {
			return err
		}
	}
	var entries []indexEntry
	for _, p := range Input() {
		e, err := generate(ctx, *yaegi, strings.TrimSpace(string(goroot)), tmp, *out, p)
		if err != nil {
			return fmt.Errorf("%s: %w", p.Path, err)
		}
		entries = append(entries, e)
	}
	if err := addDeps(ctx, entries); err != nil {
		return err
	}
	return writeIndex(*out, entries)
}

// addDeps sets each entry's deps: the generated paths with interface
// wrappers that its package imports, directly or not (go list -deps). The
// interpreter looks a wrapper up in the map of the interface's package when
// tool code passes a value (nil included) where a native function takes that
// interface, so a job loads those maps with the package; maps without
// wrappers (math, strconv) are not needed for that and stay out.
func addDeps(ctx context.Context, entries []indexEntry) error {
	withWrappers := map[string]bool{}
	for _, e := range entries {
		withWrappers[e.path] = e.wrappers
	}
	for i, e := range entries {
		list, err := exec.CommandContext(ctx, "go", "list", "-deps", e.path).Output() // #nosec G204 -- developer tool, catalogue paths
		if err != nil {
			return fmt.Errorf("go list -deps %s: %w", e.path, err)
		}
		for _, dep := range strings.Fields(string(list)) {
			if dep != e.path && withWrappers[dep] {
				entries[i].deps = append(entries[i].deps, dep)
			}
		}
		sort.Strings(entries[i].deps)
	}
	return nil
}

// Input is the generator's input: the catalogue's default-tier and opt-in
// packages that get a symbol map. The mcpbox host package is native code of
// package hostpkg, and packages whose symbols need hand-written overrides
// are listed in skipped until they have them.
func Input() []catalogue.Package {
	var pkgs []catalogue.Package
	for _, p := range catalogue.Packages() {
		if p.Tier == proto.TierNever || p.Path == catalogue.HostPackage || skipped(p.Path) {
			continue
		}
		p.Exclude = append(p.Exclude, forbidden(p.Path)...)
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// skipped lists catalogue paths without a symbol map in this build: log
// needs its Fatal*/New/Logger replaced by versions writing to the captured
// stdout (yaegi's extract refers to unexported replacements).
func skipped(p string) bool { return p == "log" }

// forbidden lists exported symbols that are removed whatever the catalogue
// says, because their fields or methods hand out reflect, unsafe, os or net
// values (sandbox.md §6; the golden test checks the whole reachable set).
func forbidden(p string) []string {
	switch p {
	case "encoding/json":
		// Each carries a reflect.Type or reflect.Value field.
		return []string{
			"UnmarshalTypeError", "InvalidUnmarshalError", "UnsupportedTypeError", "UnsupportedValueError",
			"MarshalerError", "UnmarshalFieldError",
		}
	case "encoding/xml":
		return []string{"UnsupportedTypeError", "TagPathError"} // Type and Struct reflect.Type
	}
	return nil
}

type indexEntry struct {
	path, key, fn string
	wrappers      bool // the map holds _Xxx interface wrappers
	deps          []string
}

func generate(ctx context.Context, yaegi, goroot, tmp, out string, p catalogue.Package) (indexEntry, error) {
	dir, err := os.MkdirTemp(tmp, "x")
	if err != nil {
		return indexEntry{}, err
	}
	cmd := exec.CommandContext(ctx, yaegi, "extract", "-name", "symbols", p.Path) // #nosec G204 -- developer tool, pinned binary
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOROOT="+goroot)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return indexEntry{}, fmt.Errorf("yaegi extract: %w: %s", err, stderr.String())
	}
	name := strings.NewReplacer("/", "-", ".", "_", "~", "_").Replace(p.Path) + ".go"
	src, err := os.ReadFile(filepath.Join(dir, name)) // #nosec G304 -- the file yaegi extract just wrote
	if err != nil {
		return indexEntry{}, fmt.Errorf("yaegi extract wrote no %s (%s): %w", name, stderr.String(), err)
	}
	return rewrite(out, p, src)
}

// keep reports whether the catalogue entry exposes symbol name.
func keep(p catalogue.Package, name string) bool {
	match := func(patterns []string) bool {
		for _, pat := range patterns {
			if ok, _ := path.Match(pat, name); ok {
				return true
			}
		}
		return false
	}
	if len(p.Include) > 0 && !match(p.Include) {
		return false
	}
	return !match(p.Exclude)
}

func funcName(importPath string) string {
	var b strings.Builder
	b.WriteString("sym")
	for _, part := range strings.FieldsFunc(importPath, func(r rune) bool { return r == '/' || r == '.' || r == '-' }) {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

func rewrite(out string, p catalogue.Package, src []byte) (indexEntry, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "x.go", src, parser.ParseComments)
	if err != nil {
		return indexEntry{}, err
	}
	var key string
	var lit *ast.CompositeLit
	kept := map[string]bool{} // wrapper type names kept
	var wrappers []ast.Decl
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if ok && fd.Name.Name == "init" && fd.Recv == nil {
			as, ok := fd.Body.List[0].(*ast.AssignStmt)
			if !ok {
				return indexEntry{}, errors.New("unexpected init body")
			}
			idx := as.Lhs[0].(*ast.IndexExpr)
			key, _ = strconv.Unquote(idx.Index.(*ast.BasicLit).Value)
			lit = as.Rhs[0].(*ast.CompositeLit)
			continue
		}
		if _, ok := d.(*ast.GenDecl); ok && d.(*ast.GenDecl).Tok == token.IMPORT {
			continue
		}
		wrappers = append(wrappers, d)
	}
	if lit == nil {
		return indexEntry{}, errors.New("no symbol map in yaegi output")
	}
	bad, err := internalWrappers(fset, f, wrappers)
	if err != nil {
		return indexEntry{}, err
	}
	prefix := "_" + strings.NewReplacer("/", "_", "-", "_", ".", "_", "~", "_").Replace(p.Path) + "_"
	var elts []ast.Expr
	for _, e := range lit.Elts {
		kv := e.(*ast.KeyValueExpr)
		name, _ := strconv.Unquote(kv.Key.(*ast.BasicLit).Value)
		sym := strings.TrimPrefix(name, "_")
		if !keep(p, sym) {
			continue
		}
		if strings.HasPrefix(name, "_") {
			// _Xxx interface wrapper: reflect.ValueOf((*_path_Xxx)(nil))
			if bad[prefix+sym] {
				continue
			}
			kept[prefix+sym] = true
		}
		kv.Value = freeze(kv.Value)
		elts = append(elts, kv)
	}
	fn := funcName(p.Path)
	var body bytes.Buffer
	fmt.Fprintf(&body, "// %s returns the exposed symbols of %q.\nfunc %s() map[string]reflect.Value {\n\treturn map[string]reflect.Value{\n", fn, p.Path, fn)
	for _, e := range elts {
		kv := e.(*ast.KeyValueExpr)
		body.WriteString("\t\t")
		if err := printer.Fprint(&body, fset, kv.Key); err != nil {
			return indexEntry{}, err
		}
		body.WriteString(": ")
		if err := printer.Fprint(&body, fset, kv.Value); err != nil {
			return indexEntry{}, err
		}
		body.WriteString(",\n")
	}
	body.WriteString("\t}\n}\n")
	for _, d := range wrappers {
		if !kept[wrapperOf(d)] {
			continue
		}
		body.WriteString("\n")
		if err := printer.Fprint(&body, fset, d); err != nil {
			return indexEntry{}, err
		}
		body.WriteString("\n")
	}

	var file bytes.Buffer
	fmt.Fprintf(&file, "// Code generated by gen from 'yaegi extract %s'. DO NOT EDIT.\n\npackage symbols\n\nimport (\n", p.Path)
	text := body.String()
	for _, imp := range f.Imports {
		ip, _ := strconv.Unquote(imp.Path.Value)
		if ip == "reflect" || strings.Contains(text, importName(ip)+".") {
			fmt.Fprintf(&file, "\t%q\n", ip)
		}
	}
	file.WriteString(")\n\n")
	file.WriteString(text)
	formatted, err := format.Source(file.Bytes())
	if err != nil {
		return indexEntry{}, fmt.Errorf("format: %w\n%s", err, file.String())
	}
	outName := "zz_" + strings.NewReplacer("/", "_", ".", "_").Replace(p.Path) + ".go"
	if err := os.WriteFile(filepath.Join(out, outName), formatted, 0o600); err != nil {
		return indexEntry{}, err
	}
	return indexEntry{path: p.Path, key: key, fn: fn, wrappers: len(kept) > 0}, nil
}

// internalWrappers returns the interface wrappers whose methods mention an
// internal package of the standard library: they cannot be compiled outside
// it (e.g. json.Options), so they are left out.
func internalWrappers(fset *token.FileSet, f *ast.File, decls []ast.Decl) (map[string]bool, error) {
	var names []string
	for _, imp := range f.Imports {
		ip, _ := strconv.Unquote(imp.Path.Value)
		if strings.Contains(ip, "internal") {
			names = append(names, importName(ip)+".")
		}
	}
	bad := map[string]bool{}
	for _, d := range decls {
		var b bytes.Buffer
		if err := printer.Fprint(&b, fset, d); err != nil {
			return nil, err
		}
		for _, n := range names {
			if strings.Contains(b.String(), n) {
				bad[wrapperOf(d)] = true
			}
		}
	}
	return bad, nil
}

// importName is the package name a generated file uses for import path ip.
func importName(ip string) string {
	base := path.Base(ip)
	if len(base) > 1 && base[0] == 'v' && strings.Trim(base[1:], "0123456789") == "" {
		return path.Base(path.Dir(ip))
	}
	return base
}

// wrapperOf returns the wrapper type a declaration belongs to ("" if none).
func wrapperOf(d ast.Decl) string {
	switch d := d.(type) {
	case *ast.GenDecl:
		for _, s := range d.Specs {
			if ts, ok := s.(*ast.TypeSpec); ok {
				return ts.Name.Name
			}
		}
	case *ast.FuncDecl:
		if d.Recv != nil && len(d.Recv.List) == 1 {
			if id, ok := d.Recv.List[0].Type.(*ast.Ident); ok {
				return id.Name
			}
		}
	}
	return ""
}

// freeze turns yaegi's addressable variable form reflect.ValueOf(&pkg.V).Elem()
// into frozen(pkg.V): a non-addressable copy of the same static type, so tool
// code cannot assign to a host package variable (sandbox.md §6, SB-37).
func freeze(e ast.Expr) ast.Expr {
	call, ok := e.(*ast.CallExpr)
	if !ok {
		return e
	}
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != "Elem" {
		return e
	}
	inner, ok := sel.X.(*ast.CallExpr)
	if !ok || len(inner.Args) != 1 {
		return e
	}
	addr, ok := inner.Args[0].(*ast.UnaryExpr)
	if !ok || addr.Op != token.AND {
		return e
	}
	return &ast.CallExpr{Fun: ast.NewIdent("frozen"), Args: []ast.Expr{addr.X}}
}

func writeIndex(out string, entries []indexEntry) error {
	sort.Slice(entries, func(i, j int) bool { return entries[i].path < entries[j].path })
	var b bytes.Buffer
	b.WriteString("// Code generated by gen. DO NOT EDIT.\n\npackage symbols\n\n")
	b.WriteString("// table lists every generated symbol map: import path, yaegi key, loader and\n" +
		"// the generated paths with interface wrappers the package imports.\nfunc table() []entry {\n\treturn []entry{\n")
	for _, e := range entries {
		deps := "nil"
		if len(e.deps) > 0 {
			deps = fmt.Sprintf("%#v", e.deps)
		}
		fmt.Fprintf(&b, "\t\t{path: %q, key: %q, load: %s, deps: %s},\n", e.path, e.key, e.fn, deps)
	}
	b.WriteString("\t}\n}\n")
	formatted, err := format.Source(b.Bytes())
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(out, "zz_index.go"), formatted, 0o600)
}
