//go:build vulncanary

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Environment of the canary test, set by `make vuln` and by testrun's vuln
// stage (which also build the binary and index the database).
const (
	envGovulncheck = "MCPBOX_GOVULNCHECK"
	envVulnDB      = "MCPBOX_VULNDB"
)

// TestOPS41_CanaryReported runs the pinned govulncheck, offline against the
// indexed pinned database, over testdata/canary, which calls language.Parse
// from golang.org/x/text v0.3.5: GO-2021-0113 must be reported at symbol
// level, and the gate must reject it when no exception lists it. This proves
// the binary, the database and the gate catch a known reachable advisory.
//
// The test runs only with the vulncanary build tag (make vuln and the vuln
// stage of make test), never in a plain `go test`, because it needs the
// pinned binary and database; there a missing one fails the test.
func TestOPS41_CanaryReported(t *testing.T) {
	t.Parallel()
	bin, db := os.Getenv(envGovulncheck), os.Getenv(envVulnDB)
	if bin == "" || db == "" {
		t.Fatalf("%s and %s must name the pinned govulncheck and the indexed vulndb; run make vuln", envGovulncheck, envVulnDB)
	}
	for _, p := range []string{bin, filepath.Join(db, "index", "db.json")} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%v; run make tools and make vuln, which build and index the pins", err)
		}
	}
	env := append(os.Environ(), "GOWORK=off")
	out, err := Scan(t.Context(), bin, db, filepath.Join("testdata", "canary"), env, []string{"./..."})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range out.Findings {
		if f.OSV == "GO-2021-0113" && f.Module() == "golang.org/x/text" && f.Symbol() == "golang.org/x/text/language.Parse" &&
			strings.HasPrefix(f.Entry(), "example.com/vulngate/canary.") {
			found = true
		}
	}
	if !found {
		t.Fatalf("govulncheck did not report GO-2021-0113 (golang.org/x/text/language.Parse) reached from the canary; findings: %+v", out.Findings)
	}
	r := Evaluate(out.Findings, nil, testNow())
	if !hasProblem(r, "reachable finding GO-2021-0113 in module golang.org/x/text") {
		t.Errorf("the gate passed the canary: %q", r.Problems)
	}
}
