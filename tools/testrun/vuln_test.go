package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mcpbox/mcpbox/tools/testrun/internal/deps"
)

// TestOPS41_VulnStageNeedsThePins: the vuln stage finds the pinned
// govulncheck and the indexed database where stage deps puts them, and
// without them fails with a message naming the missing file and deps.log
// rather than skipping the scan and the canary.
func TestOPS41_VulnStageNeedsThePins(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	pins := []deps.Pin{
		{Name: "govulncheck", Tool: "golang.org/x/vuln/cmd/govulncheck", Module: "golang.org/x/vuln", Version: "v1.9.0"},
		{Name: deps.VulnDBPin, Tool: "golang.org/x/vulndb/cmd/indexdb", Module: "golang.org/x/vulndb", Version: "v0.0.0-20261105234957-e22db6528018"},
	}
	s := &state{cfg: config{root: root}, pins: pins, goVersion: "go1.27.3"}
	if _, _, err := s.vulnTools(); err == nil || !strings.Contains(err.Error(), "govulncheck-v1.9.0-go1.27.3") || !strings.Contains(err.Error(), "deps.log") {
		t.Errorf("without the binary: err = %v, want the missing govulncheck named and deps.log", err)
	}
	bin := filepath.Join(root, pins[0].Binary("go1.27.3"))
	if err := os.MkdirAll(filepath.Dir(bin), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.vulnTools(); err == nil || !strings.Contains(err.Error(), filepath.Join(".cache", "vulndb", pins[1].Version, "index", "db.json")) {
		t.Errorf("without the index: err = %v, want the missing db.json named", err)
	}
	index := filepath.Join(root, deps.VulnDBIndex(pins[1]))
	if err := os.MkdirAll(filepath.Dir(index), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(index, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	gotBin, gotDB, err := s.vulnTools()
	if err != nil || gotBin != bin || gotDB != filepath.Join(root, ".cache", "vulndb", pins[1].Version) {
		t.Errorf("vulnTools = %q, %q, %v", gotBin, gotDB, err)
	}
	if _, _, err := (&state{cfg: config{root: root}}).vulnTools(); err == nil || !strings.Contains(err.Error(), "tools/pins/govulncheck") {
		t.Errorf("without pins: err = %v", err)
	}
}
