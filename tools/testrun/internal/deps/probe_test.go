package deps

import (
	"os"
	"path/filepath"
	"testing"
)

func writeFile(t *testing.T, root, rel, content string) {
	t.Helper()
	p := filepath.Join(root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestProbeReadsTheTree probes a fake tree: pins, consumers and cached files
// come from the tree, not from the repository.
func TestProbeReadsTheTree(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	writeFile(t, root, "tools/pins/lint/go.mod", "module m\n\ngo 1.26.0\n\ntool example.com/lint/cmd/lint\n\nrequire example.com/lint v1.2.3\n")
	writeFile(t, root, "tools/pins/node/VERSION", "22.1.0\n")
	writeFile(t, root, "services/backend/internal/ui/browsertest/ui_test.go", "//go:build browser\n\npackage browsertest\n")
	writeFile(t, root, "services/backend/internal/ui/plain_test.go", "package ui\n")
	writeFile(t, root, "tools/e2e/ts/package.json", "{}\n")

	f, err := Probe(t.Context(), root)
	if err != nil {
		t.Fatal(err)
	}
	if f.GoVersion == "" {
		t.Error("GoVersion is empty")
	}
	if len(f.Pins) != 1 || f.Pins[0].Version != "v1.2.3" || f.NodePin != "22.1.0" {
		t.Errorf("pins = %+v, node pin %q", f.Pins, f.NodePin)
	}
	want := Consumers{BrowserTests: true, PromRules: false, NodeTests: true}
	if f.Consumers != want {
		t.Errorf("Consumers = %+v, want %+v", f.Consumers, want)
	}
	if f.NodeModulesCurrent {
		t.Error("NodeModulesCurrent with no node_modules")
	}
	bin := f.Pins[0].Binary(f.GoVersion)
	if f.Files[bin] {
		t.Errorf("%s reported present in an empty .cache", bin)
	}
	writeFile(t, root, bin, "")
	f, err = Probe(t.Context(), root)
	if err != nil {
		t.Fatal(err)
	}
	if !f.Files[bin] {
		t.Errorf("%s not reported present", bin)
	}
	dirs := BrowserTestDirs(root)
	if len(dirs) != 1 || filepath.Base(dirs[0]) != "browsertest" {
		t.Errorf("BrowserTestDirs = %q, want the browsertest directory", dirs)
	}
}
