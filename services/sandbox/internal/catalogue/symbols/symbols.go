package symbols

import (
	"fmt"
	"reflect"
	"slices"
)

// entry is one generated symbol map: the import path tools write, the key
// yaegi's Use expects ("path/name") and a loader building a fresh map.
type entry struct {
	path string
	key  string
	load func() map[string]reflect.Value
	deps []string // generated paths with interface wrappers path imports, directly or not
}

// Exports returns fresh symbol maps for the given import paths, keyed as
// interp.Use expects (interp.Exports has this underlying type). An unknown
// path, or one without a map in this build, is an error: nothing outside the
// generated allowlist can be loaded.
func Exports(paths ...string) (map[string]map[string]reflect.Value, error) {
	all := table()
	out := make(map[string]map[string]reflect.Value, len(paths))
	for _, p := range paths {
		i := slices.IndexFunc(all, func(e entry) bool { return e.path == p })
		if i < 0 {
			return nil, fmt.Errorf("no symbol map for package %q", p)
		}
		out[all[i].key] = all[i].load()
	}
	return out, nil
}

// Paths returns the import paths that have a symbol map, sorted.
func Paths() []string {
	all := table()
	paths := make([]string, len(all))
	for i, e := range all {
		paths[i] = e.path
	}
	return paths
}

// frozen returns a non-addressable reflect.Value of static type T holding v:
// the interpreter can read the package variable but never assign to it.
func frozen[T any](v T) reflect.Value {
	return reflect.ValueOf([1]T{v}).Index(0)
}

// Deps returns the generated paths with interface wrappers (_Xxx keys) that
// path imports, directly or not (nil for an unknown path): the maps the
// interpreter needs besides path's own to pass values to its functions.
func Deps(path string) []string {
	all := table()
	if i := slices.IndexFunc(all, func(e entry) bool { return e.path == path }); i >= 0 {
		return slices.Clone(all[i].deps)
	}
	return nil
}
