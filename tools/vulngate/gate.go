package main

import (
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
)

// MaxDBAge is how old the vulnerability database may get before vulngate
// warns; the pin is bumped monthly (operations.md §7).
const MaxDBAge = 90 * 24 * time.Hour

// Result is the gate's verdict over one or more scans.
type Result struct {
	// Problems fail the gate; each names the advisory or exception and the rule.
	Problems []string
	// Excepted lists the reachable findings an exception accepted.
	Excepted []string
	// Reachable counts the distinct reachable advisories (id and module).
	Reachable int
	// Informational counts the module- and package-level findings, which
	// never fail the gate.
	Informational int
}

// OK reports whether the gate passes.
func (r Result) OK() bool { return len(r.Problems) == 0 }

// Evaluate applies the exceptions to the findings at time now. It fails on a
// reachable finding no exception matches (same OSV id and module), on an
// exception without a reason or id or module or expiry, on one whose expiry
// day has passed, and on one that matches no reachable finding.
func Evaluate(findings []Finding, exceptions []Exception, now time.Time) Result {
	var r Result
	used := make([]bool, len(exceptions))
	reported := map[string]bool{}
	for _, f := range findings {
		if !f.Reachable() {
			r.Informational++
			continue
		}
		key := f.OSV + " " + f.Module()
		if reported[key] {
			continue // one advisory reached through several paths
		}
		reported[key] = true
		r.Reachable++
		matched := -1
		for i, e := range exceptions {
			if e.ID == f.OSV && e.Module == f.Module() {
				matched, used[i] = i, true
			}
		}
		where := fmt.Sprintf("%s in module %s %s (%s called from %s", f.OSV, f.Module(), f.Trace[0].Version, f.Symbol(), f.Entry())
		if f.FixedVersion != "" {
			where += "; fixed in " + f.FixedVersion
		}
		where += ")"
		if matched < 0 {
			r.Problems = append(r.Problems, "reachable finding "+where+" is not listed in "+ExceptionsFile)
			continue
		}
		r.Excepted = append(r.Excepted, where+" excepted until "+exceptions[matched].Expires.Format(time.DateOnly)+": "+exceptions[matched].Reason)
	}
	for i, e := range exceptions {
		name := fmt.Sprintf("%s:%d: exception %s (module %s)", ExceptionsFile, e.Line, e.ID, e.Module)
		switch {
		case e.ID == "" || e.Module == "":
			r.Problems = append(r.Problems, name+": id and module are required")
		case strings.TrimSpace(e.Reason) == "":
			r.Problems = append(r.Problems, name+": has no reason; say why the finding is acceptable")
		case e.Expires.IsZero():
			r.Problems = append(r.Problems, name+": has no expires date")
		case !now.Before(e.Expires.AddDate(0, 0, 1)):
			r.Problems = append(r.Problems, name+": expired on "+e.Expires.Format(time.DateOnly)+"; fix the finding or renew the exception with a new reason")
		case !used[i]:
			r.Problems = append(r.Problems, name+": matches no reachable finding; delete it")
		}
	}
	sort.Strings(r.Problems)
	return r
}

// pseudoVersion matches a Go pseudo-version (vX.0.0-yyyymmddhhmmss-hash,
// vX.Y.Z-pre.0.yyyymmddhhmmss-hash, vX.Y.Z-0.yyyymmddhhmmss-hash) and captures
// its UTC timestamp.
var pseudoVersion = regexp.MustCompile(`^v\d+\.\d+\.\d+-(?:[0-9A-Za-z.-]*\.)?(\d{14})-[0-9a-f]{12}(?:\+incompatible)?$`)

// Snapshot is the date of the vulnerability database: the later of the
// index's modified time and the timestamp of the pinned vulndb
// pseudo-version that names the database directory (.cache/vulndb/<version>).
// The OSV files of golang.org/x/vulndb carry no modified times, so the
// pseudo-version is usually the only date there is.
func Snapshot(dbDir, indexModified string) (time.Time, error) {
	var best time.Time
	if t, err := time.Parse(time.RFC3339, indexModified); err == nil && t.Year() > 1 {
		best = t
	}
	if m := pseudoVersion.FindStringSubmatch(filepath.Base(dbDir)); m != nil {
		t, err := time.Parse("20060102150405", m[1])
		if err != nil {
			return time.Time{}, fmt.Errorf("database %s: pseudo-version time: %w", dbDir, err)
		}
		if t.After(best) {
			best = t
		}
	}
	if best.IsZero() {
		return time.Time{}, fmt.Errorf("database %s: no snapshot date: its index has no modified time and its directory is not named for a vulndb pseudo-version", dbDir)
	}
	return best, nil
}

// AgeWarning returns a warning when the snapshot is older than MaxDBAge at
// now, else "".
func AgeWarning(snapshot, now time.Time) string {
	age := now.Sub(snapshot)
	if age <= MaxDBAge {
		return ""
	}
	return fmt.Sprintf("WARNING: the vulnerability database is %d days old (snapshot %s, limit %d days): bump golang.org/x/vulndb in tools/pins/vulndb",
		int(age.Hours()/24), snapshot.Format(time.DateOnly), int(MaxDBAge.Hours()/24))
}
