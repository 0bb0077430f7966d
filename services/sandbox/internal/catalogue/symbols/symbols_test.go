package symbols_test

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/catalogue"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/catalogue/symbols"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/hostpkg"
)

var update = flag.Bool("update", false, "rewrite testdata/symbols.golden")

const golden = "testdata/symbols.golden"

// all returns every generated map plus the mcpbox host package.
func all(t *testing.T) map[string]map[string]reflect.Value {
	t.Helper()
	ex, err := symbols.Exports(symbols.Paths()...)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hostpkg.Exports(hostpkg.Config{}) {
		ex[k] = v
	}
	return ex
}

// exposed lists every symbol with its type, and for each exposed type its
// exported fields and the method sets of T and *T: everything tool code can
// name or call directly.
func exposed(ex map[string]map[string]reflect.Value) []string {
	var lines []string
	for key, m := range ex {
		pkg := key[:strings.LastIndex(key, "/")]
		for name, v := range m {
			if v.Kind() == reflect.Pointer && v.IsNil() && v.Type().Elem().Kind() != reflect.Func {
				t := v.Type().Elem()
				lines = append(lines, fmt.Sprintf("%s.%s type %s", pkg, name, t.Kind()))
				lines = append(lines, members(pkg+"."+name, t)...)
				continue
			}
			ro := ""
			if !v.CanSet() && v.Kind() != reflect.Func {
				ro = " (read-only)"
			}
			lines = append(lines, fmt.Sprintf("%s.%s %s%s", pkg, name, v.Type(), ro))
		}
	}
	sort.Strings(lines)
	return lines
}

func members(prefix string, t reflect.Type) []string {
	var lines []string
	if t.Kind() == reflect.Struct {
		for i := range t.NumField() {
			if f := t.Field(i); f.IsExported() {
				lines = append(lines, fmt.Sprintf("%s field %s %s", prefix, f.Name, f.Type))
			}
		}
	}
	pt := reflect.PointerTo(t)
	if t.Kind() == reflect.Interface {
		pt = t
	}
	for i := range pt.NumMethod() {
		m := pt.Method(i)
		lines = append(lines, fmt.Sprintf("%s method %s %s", prefix, m.Name, m.Type))
	}
	return lines
}

// forbiddenType reports types that must never be reachable from tool code.
func forbiddenType(t reflect.Type) bool {
	switch {
	case t.Kind() == reflect.UnsafePointer:
		return true
	case t.PkgPath() == "reflect" && (t.Name() == "Value" || t.Name() == "Type"):
		return true
	case t.PkgPath() == "os" && t.Name() == "File":
		return true
	case t.PkgPath() == "net" && t.Name() == "Conn":
		return true
	}
	return false
}

// reach walks every type reachable from t through exported fields, method
// signatures and element types, and reports the paths to forbidden types.
func reach(t reflect.Type, path string, seen map[reflect.Type]bool, bad *[]string) {
	if seen[t] {
		return
	}
	seen[t] = true
	if forbiddenType(t) {
		*bad = append(*bad, path+" → "+t.String())
		return
	}
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Chan:
		reach(t.Elem(), path, seen, bad)
	case reflect.Map:
		reach(t.Key(), path, seen, bad)
		reach(t.Elem(), path, seen, bad)
	case reflect.Func:
		for i := range t.NumIn() {
			reach(t.In(i), path, seen, bad)
		}
		for i := range t.NumOut() {
			reach(t.Out(i), path, seen, bad)
		}
	case reflect.Struct:
		for i := range t.NumField() {
			if f := t.Field(i); f.IsExported() {
				reach(f.Type, path+"."+f.Name, seen, bad)
			}
		}
	default:
	}
	for _, mt := range []reflect.Type{t, reflect.PointerTo(t)} {
		if t.Kind() == reflect.Interface && mt != t {
			continue
		}
		for i := range mt.NumMethod() {
			m := mt.Method(i)
			reach(m.Type, path+"."+m.Name+"()", seen, bad)
		}
	}
}

// SB-77: the exposed symbols and method signatures match the reviewed list,
// and nothing reachable mentions unsafe.Pointer, reflect.Value/Type, os.File
// or net.Conn.
func TestSB77_SymbolGolden(t *testing.T) {
	t.Parallel()
	got := strings.Join(exposed(all(t)), "\n") + "\n"
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update and review the file)", err)
	}
	if got != string(want) {
		g, w := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		var diff []string
		for _, l := range g {
			if !slices.Contains(w, l) {
				diff = append(diff, "+ "+l)
			}
		}
		for _, l := range w {
			if !slices.Contains(g, l) {
				diff = append(diff, "- "+l)
			}
		}
		t.Fatalf("exposed symbols differ from %s (review, then go test -update):\n%s", golden, strings.Join(diff[:min(len(diff), 50)], "\n"))
	}
}

// SB-77: no reachable signature hands out forbidden types.
func TestSB77_NoForbiddenTypesReachable(t *testing.T) {
	t.Parallel()
	seen := map[reflect.Type]bool{}
	var bad []string
	for key, m := range all(t) {
		for name, v := range m {
			typ := v.Type()
			if v.Kind() == reflect.Pointer && v.IsNil() {
				typ = typ.Elem()
			}
			reach(typ, key+"."+name, seen, &bad)
		}
	}
	if len(bad) > 0 {
		t.Fatalf("forbidden types reachable:\n%s", strings.Join(bad, "\n"))
	}
}

// SB-33: no symbol map is keyed under github.com/traefik/yaegi, and the
// never tier has no map at all.
func TestSB33_NoYaegiOrNeverTierMaps(t *testing.T) {
	t.Parallel()
	for key := range all(t) {
		path := key[:strings.LastIndex(key, "/")]
		if strings.Contains(key, "traefik/yaegi") {
			t.Errorf("symbol map %q exposes the interpreter", key)
		}
		if d := catalogue.Lookup(path); d.Kind != catalogue.KindDefault && d.Kind != catalogue.KindOptIn {
			t.Errorf("symbol map %q is for a path of kind %v", key, d.Kind)
		}
	}
	if _, err := symbols.Exports("os"); err == nil {
		t.Error("Exports(os) succeeded")
	}
}

// The committed maps cover exactly the catalogue's default and opt-in paths
// (minus the host package and the documented gaps): editing tiers.go without
// regenerating fails here.
func TestGeneratedMatchesCatalogue(t *testing.T) {
	t.Parallel()
	var want []string
	for _, p := range catalogue.Packages() {
		if p.Tier != proto.TierNever && p.Path != catalogue.HostPackage && p.Path != "log" {
			want = append(want, p.Path)
		}
	}
	sort.Strings(want)
	if got := symbols.Paths(); !slices.Equal(got, want) {
		t.Fatalf("generated paths %v\ncatalogue paths %v\nregenerate (see doc.go)", got, want)
	}
	ex, err := symbols.Exports("net/http")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"Get", "Post", "Client", "DefaultClient", "Transport", "DefaultTransport", "ListenAndServe", "FileServer", "ProxyFromEnvironment"} {
		if _, ok := ex["net/http/http"][name]; ok {
			t.Errorf("net/http exposes %s", name)
		}
	}
	atomic, err := symbols.Exports("sync/atomic")
	if err != nil {
		t.Fatal(err)
	}
	for name := range atomic["sync/atomic/atomic"] {
		if strings.Contains(name, "Pointer") {
			t.Errorf("sync/atomic exposes %s", name) // SB-39
		}
	}
}

// The committed deps are the generated paths with interface wrappers that
// each package imports, directly or not, as go list -deps reports them for
// this toolchain: a stale table would leave a job without a map its imports
// need.
func TestDepsMatchGoList(t *testing.T) {
	t.Parallel()
	paths := symbols.Paths()
	withWrappers := map[string]bool{}
	for _, p := range paths {
		ex, err := symbols.Exports(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ex {
			for name := range m {
				withWrappers[p] = withWrappers[p] || strings.HasPrefix(name, "_")
			}
		}
	}
	out, err := exec.CommandContext(t.Context(), "go", append([]string{"list", "-f", "{{.ImportPath}} {{join .Deps \" \"}}"}, paths...)...).Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for line := range strings.Lines(string(out)) {
		fields := strings.Fields(line)
		var want []string
		for _, dep := range fields[1:] {
			if withWrappers[dep] {
				want = append(want, dep)
			}
		}
		if got := symbols.Deps(fields[0]); !slices.Equal(got, want) {
			t.Errorf("deps of %s = %v, go list says %v; regenerate (see doc.go)", fields[0], got, want)
		}
	}
	if symbols.Deps("no/such/package") != nil {
		t.Error("an unknown path has deps")
	}
}

// SB-37: every package variable is a frozen, non-addressable copy.
func TestSB37_VariablesFrozen(t *testing.T) {
	t.Parallel()
	n := 0
	for key, m := range all(t) {
		for name, v := range m {
			if v.CanSet() || v.CanAddr() {
				t.Errorf("%s.%s is assignable", key, name)
			}
			n++
		}
	}
	ex, _ := symbols.Exports("io")
	if eof := ex["io/io"]["EOF"]; eof.Type().String() != "error" || eof.CanSet() {
		t.Fatalf("io.EOF: type %s, settable %v", eof.Type(), eof.CanSet())
	}
	if n < 1000 {
		t.Fatalf("only %d symbols", n)
	}
}
