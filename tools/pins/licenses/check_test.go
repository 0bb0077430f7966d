package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fixture is a module whose source is testdata/modules/<name>.
func fixture(name string, compiled bool) Module {
	return Module{Path: "example.com/fixture/" + name, Version: "v1.0.0", Dir: filepath.Join("testdata", "modules", name), Compiled: compiled}
}

func problemWith(r Report, parts ...string) bool {
	for _, p := range r.Problems {
		all := true
		for _, s := range parts {
			all = all && strings.Contains(p, s)
		}
		if all {
			return true
		}
	}
	return false
}

// TestOPS42_AGPLFixtureFails: a module under the AGPL fails wherever it is in
// the build list, compiled or not, and even with a review entry; an MIT
// module next to it passes.
func TestOPS42_AGPLFixtureFails(t *testing.T) {
	t.Parallel()
	review := []Entry{{Module: "example.com/fixture/agpl", Version: "v1.0.0", SPDX: "MIT", Note: "wrongly claims MIT"}}
	for _, compiled := range []bool{false, true} {
		r := Check([]Module{fixture("agpl", compiled), fixture("mit", true)}, review, ScanDir)
		if !problemWith(r, "example.com/fixture/agpl@v1.0.0", "AGPL-3.0", "forbidden anywhere") {
			t.Errorf("compiled=%v: problems = %q, want the AGPL module named as forbidden", compiled, r.Problems)
		}
		if problemWith(r, "fixture/mit") || r.Accepted != 1 {
			t.Errorf("compiled=%v: the MIT module was not accepted: %q, accepted %d", compiled, r.Problems, r.Accepted)
		}
	}
}

// TestOPS42_UnlistedUnknownLicenceFails: a compiled module whose licence is
// not recognised as an allowed one, or which has no licence file, fails
// naming the module and the rule; the same module outside any binary only
// has to be free of forbidden licences.
func TestOPS42_UnlistedUnknownLicenceFails(t *testing.T) {
	t.Parallel()
	r := Check([]Module{fixture("unknown", true), fixture("none", true), fixture("mit", false)}, nil, ScanDir)
	for _, name := range []string{"unknown", "none"} {
		if !problemWith(r, "example.com/fixture/"+name+"@v1.0.0 is compiled into a service", "no LICENSE, COPYING or NOTICE file is recognised", ListFile) {
			t.Errorf("problems = %q, want fixture/%s named", r.Problems, name)
		}
	}
	if !problemWith(r, "fixture/none", "found: no licence file") {
		t.Errorf("problems = %q, want fixture/none reported without a licence file", r.Problems)
	}
	if r := Check([]Module{fixture("unknown", false)}, nil, ScanDir); len(r.Problems) != 0 || r.Checked != 1 {
		t.Errorf("an uncompiled unknown licence: %q, checked %d", r.Problems, r.Checked)
	}
}

// TestOPS42_ListedLicencePasses: a reviewed entry for the exact module
// version accepts an unknown licence; an entry for another version does not,
// and is itself reported as stale.
func TestOPS42_ListedLicencePasses(t *testing.T) {
	t.Parallel()
	entry := Entry{Module: "example.com/fixture/unknown", Version: "v1.0.0", SPDX: "LicenseRef-Fixture", Note: "read by a human"}
	r := Check([]Module{fixture("unknown", true)}, []Entry{entry}, ScanDir)
	if len(r.Problems) != 0 || r.Reviewed != 1 {
		t.Errorf("listed: problems %q, reviewed %d", r.Problems, r.Reviewed)
	}
	entry.Version = "v0.9.0"
	r = Check([]Module{fixture("unknown", true)}, []Entry{entry}, ScanDir)
	if !problemWith(r, "fixture/unknown@v1.0.0 is compiled") || !problemWith(r, "entry example.com/fixture/unknown@v0.9.0", "accepts no compiled module") {
		t.Errorf("other version: problems %q", r.Problems)
	}
}

// TestOPS42_ListFileRules: licenses.yaml is decoded strictly; an entry needs
// module, version, spdx and note, and can never accept a forbidden licence.
func TestOPS42_ListFileRules(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ text, want string }{
		{"licenses:\n  - module: m\n    version: v1\n    spdx: MIT\n", "field note is required"},
		{"licenses:\n  - module: m\n    version: v1\n    spdx: MIT\n    note: n\n    owner: x\n", "field owner not found"},
		{"licenses:\n  - module: m\n    version: v1\n    spdx: AGPL-3.0\n    note: n\n", "AGPL-3.0 is forbidden"},
		{"licences: []\n", "field licences not found"},
	} {
		_, err := ParseList("l.yaml", strings.NewReader(tt.text))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: err = %v, want %q", tt.text, err, tt.want)
		}
	}
	got, err := ParseList("l.yaml", strings.NewReader("licenses:\n  - module: m\n    version: v1\n    spdx: MIT-0\n    note: n\n"))
	if err != nil || len(got) != 1 || got[0].SPDX != "MIT-0" {
		t.Errorf("valid list: %+v, %v", got, err)
	}
}

// TestOPS42_RealCheckPasses runs the check over this repository's
// workspace: every module compiled into a service has an accepted or
// reviewed licence, nothing in any build list is forbidden, and every
// licenses.yaml entry is used.
func TestOPS42_RealCheckPasses(t *testing.T) {
	t.Parallel()
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.work")); err != nil {
		t.Fatalf("no go.work three levels above tools/pins/licenses: %v", err)
	}
	var out bytes.Buffer
	if code := run(t.Context(), []string{"-root", root}, os.Environ(), &out); code != 0 {
		t.Fatalf("licenses exited %d:\n%s", code, out.String())
	}
	if !strings.Contains(out.String(), "compiled modules recognised") || strings.Contains(out.String(), " 0 compiled modules recognised") {
		t.Errorf("the check recognised no compiled module:\n%s", out.String())
	}
	t.Log(out.String())
}
