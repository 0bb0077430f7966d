package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/google/licensecheck"
	"gopkg.in/yaml.v3"
)

// ListFile is the reviewed list of modules whose licence the scanner does
// not accept on its own, relative to the repository root.
const ListFile = "deploy/security/licenses.yaml"

// MinCoverage is the share of a licence file, in percent, that must match
// accepted licences.
const MinCoverage = 80

// allowed returns the licences a module compiled into a service may carry
// without review (operations.md §7), by licensecheck id.
func allowed() []string {
	return []string{"Apache-2.0", "MIT", "BSD-2-Clause", "BSD-3-Clause", "ISC", "MPL-2.0", "Zlib", "Unlicense", "CC0-1.0", "0BSD"}
}

// forbidden reports whether a licensecheck id is one that may appear nowhere
// in a build list: AGPL, GPL, LGPL, SSPL, BUSL or the Commons Clause. A
// review entry cannot accept them.
func forbidden(id string) bool {
	for _, p := range []string{"AGPL", "GPL", "LGPL", "SSPL", "BUSL"} {
		if id == p || strings.HasPrefix(id, p+"-") {
			return true
		}
	}
	return id == "CommonsClause"
}

// Module is one module@version of a build list.
type Module struct {
	Path, Version string
	// Dir holds its source; "" when it is not in the module cache.
	Dir string
	// Compiled: a service binary links one of its packages.
	Compiled bool
}

func (m Module) String() string { return m.Path + "@" + m.Version }

// Entry is one reviewed module of licenses.yaml.
type Entry struct {
	Module  string `yaml:"module"`
	Version string `yaml:"version"`
	SPDX    string `yaml:"spdx"`
	Note    string `yaml:"note"`
}

type listFile struct {
	Licenses []Entry `yaml:"licenses"`
}

// ParseList reads licenses.yaml strictly: an unknown field fails, and each
// entry needs module, version, spdx and a review note.
func ParseList(name string, r io.Reader) ([]Entry, error) {
	dec := yaml.NewDecoder(r)
	dec.KnownFields(true)
	var f listFile
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	for i, e := range f.Licenses {
		for _, kv := range [][2]string{{"module", e.Module}, {"version", e.Version}, {"spdx", e.SPDX}, {"note", e.Note}} {
			if strings.TrimSpace(kv[1]) == "" {
				return nil, fmt.Errorf("%s: licenses[%d] (%s@%s): field %s is required", name, i, e.Module, e.Version, kv[0])
			}
		}
		if forbidden(e.SPDX) {
			return nil, fmt.Errorf("%s: licenses[%d] (%s@%s): %s is forbidden in any build list and cannot be accepted by review", name, i, e.Module, e.Version, e.SPDX)
		}
	}
	return f.Licenses, nil
}

// Scanned is what licensecheck found in one licence file.
type Scanned struct {
	File     string
	Coverage licensecheck.Coverage
}

// ScanDir scans the licence files at the top of a module directory: every
// file whose name starts with LICENSE, LICENCE, COPYING or NOTICE (any case,
// any extension).
func ScanDir(dir string) ([]Scanned, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []Scanned
	for _, e := range entries {
		if e.IsDir() || !isLicenceFile(e.Name()) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, Scanned{File: e.Name(), Coverage: licensecheck.Scan(b)})
	}
	return out, nil
}

func isLicenceFile(name string) bool {
	up := strings.ToUpper(name)
	for _, p := range []string{"LICENSE", "LICENCE", "COPYING", "NOTICE"} {
		if strings.HasPrefix(up, p) {
			return true
		}
	}
	return false
}

// Report is the verdict over a build list.
type Report struct {
	// Problems fail the check; each names the module and the rule.
	Problems []string
	// Accepted counts compiled modules with an allowed licence, Reviewed
	// those accepted by licenses.yaml, Checked the other build-list modules
	// scanned for forbidden licences.
	Accepted, Reviewed, Checked int
	// Absent lists build-list modules that are not in the module cache, so
	// their licence could not be read.
	Absent []string
}

// Check applies the rules of operations.md §7 to mods. A compiled module
// needs a licence file recognised (coverage ≥ 80 %, every match allowed) or
// an entry in licenses.yaml for its exact version; any module whose licence
// files match a forbidden licence fails, compiled or not, listed or not; an
// entry that accepts no compiled module fails as stale. scan reads a module
// directory (ScanDir in production).
func Check(mods []Module, list []Entry, scan func(dir string) ([]Scanned, error)) Report {
	var r Report
	used := make([]bool, len(list))
	for _, m := range mods {
		if m.Dir == "" {
			r.Absent = append(r.Absent, m.String())
			continue
		}
		files, err := scan(m.Dir)
		if err != nil {
			r.Problems = append(r.Problems, fmt.Sprintf("%s: read licence files: %v", m, err))
			continue
		}
		if bad := forbiddenIDs(files); len(bad) > 0 {
			r.Problems = append(r.Problems, fmt.Sprintf("%s: licence %s is forbidden anywhere in a workspace build list (AGPL, GPL, LGPL, SSPL, BUSL, Commons Clause)", m, strings.Join(bad, ", ")))
			continue
		}
		if !m.Compiled {
			r.Checked++
			continue
		}
		if recognised(files) {
			r.Accepted++
			continue
		}
		i := slices.IndexFunc(list, func(e Entry) bool { return e.Module == m.Path && e.Version == m.Version })
		if i >= 0 {
			used[i] = true
			r.Reviewed++
			continue
		}
		r.Problems = append(r.Problems, fmt.Sprintf("%s is compiled into a service, but no LICENSE, COPYING or NOTICE file is recognised (coverage ≥ %d %%) as one of %s (found: %s); review it and list it in %s with its SPDX id and a note",
			m, MinCoverage, strings.Join(allowed(), ", "), describe(files), ListFile))
	}
	for i, e := range list {
		if !used[i] {
			r.Problems = append(r.Problems, fmt.Sprintf("%s: entry %s@%s (%s) accepts no compiled module that needs it; delete it or fix its version", ListFile, e.Module, e.Version, e.SPDX))
		}
	}
	sort.Strings(r.Problems)
	return r
}

// recognised: some licence file is covered at least MinCoverage percent by
// allowed licences only.
func recognised(files []Scanned) bool {
	for _, f := range files {
		if f.Coverage.Percent < MinCoverage || len(f.Coverage.Match) == 0 {
			continue
		}
		ok := true
		for _, m := range f.Coverage.Match {
			ok = ok && slices.Contains(allowed(), m.ID)
		}
		if ok {
			return true
		}
	}
	return false
}

func forbiddenIDs(files []Scanned) []string {
	var bad []string
	for _, f := range files {
		for _, m := range f.Coverage.Match {
			if s := m.ID + " in " + f.File; forbidden(m.ID) && !slices.Contains(bad, s) {
				bad = append(bad, s)
			}
		}
	}
	return bad
}

func describe(files []Scanned) string {
	if len(files) == 0 {
		return "no licence file"
	}
	var b bytes.Buffer
	for i, f := range files {
		if i > 0 {
			b.WriteString("; ")
		}
		ids := make([]string, 0, len(f.Coverage.Match))
		for _, m := range f.Coverage.Match {
			ids = append(ids, m.ID)
		}
		if len(ids) == 0 {
			ids = append(ids, "nothing known")
		}
		fmt.Fprintf(&b, "%s: %s, %.0f %%", f.File, strings.Join(ids, "+"), f.Coverage.Percent)
	}
	return b.String()
}
