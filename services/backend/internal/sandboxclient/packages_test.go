package sandboxclient

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/proto"
)

// A manual clock for the cache's age.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// The catalogue is cached: a second call makes no request; an analyze answer
// with another catalogue_version or an entry older than a minute makes the
// next call refetch; a failed fetch is not cached.
func TestPackagesCache(t *testing.T) {
	t.Parallel()
	cat := proto.PackageCatalogue{
		CatalogueVersion: "cat-1", GoVersion: "go1.27.3", LanguageLevel: "go1.22",
		Packages: []proto.Package{{Path: "fmt", Tier: proto.TierDefault}, {Path: "crypto/ed25519", Tier: proto.TierOptIn}},
	}
	var (
		mu      sync.Mutex
		version = "cat-1"
		fail    bool
	)
	analyze := func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		writeJSON(w, http.StatusOK, proto.AnalyzeResponse{
			OK: true, CodeSHA256: "sha256:00", AnalyzerVersion: "sandbox v1.2.3; catalogue " + version,
		})
	}
	packages := func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if fail {
			writeJSON(w, http.StatusServiceUnavailable, proto.ErrorBody{Error: proto.Error{Code: proto.CodeNotReady, Message: "starting"}})
			return
		}
		c := cat
		c.CatalogueVersion = version
		writeJSON(w, http.StatusOK, c)
	}
	f := newFake(t, map[string]http.HandlerFunc{proto.PathSandboxPackages: packages, proto.PathSandboxAnalyze: analyze})
	clk := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	c, reg := newTestClient(t, f.srv.URL, withClock(clk.now))
	get := func(wantVersion string, wantHits int) {
		t.Helper()
		got, err := c.Packages(t.Context())
		if err != nil {
			t.Fatalf("Packages: %v", err)
		}
		if got.CatalogueVersion != wantVersion || len(got.Packages) != 2 {
			t.Fatalf("catalogue %q with %d packages, want %q with 2", got.CatalogueVersion, len(got.Packages), wantVersion)
		}
		if n := f.hitsOf(proto.PathSandboxPackages); n != wantHits {
			t.Fatalf("%d requests to /v1/packages, want %d", n, wantHits)
		}
		got.Packages[0].Path = "changed by the caller" // must not reach the cache
	}
	analyzeOnce := func() {
		t.Helper()
		if _, err := c.Analyze(t.Context(), proto.AnalyzeRequest{Code: testCode, Compile: true}); err != nil {
			t.Fatalf("Analyze: %v", err)
		}
	}

	get("cat-1", 1)
	get("cat-1", 1) // cached
	if v := counterValue(t, reg, OpPackages, resultOK); v != 1 {
		t.Fatalf("requests_total{op=packages,result=ok} = %v, want 1 (a cached answer is no request)", v)
	}
	if got, _ := c.Packages(t.Context()); got.Packages[0].Path != "fmt" {
		t.Fatalf("a caller's change reached the cache: %q", got.Packages[0].Path)
	}

	analyzeOnce() // same catalogue version: the cache stays
	get("cat-1", 1)

	mu.Lock()
	version = "cat-2"
	mu.Unlock()
	analyzeOnce() // another catalogue version: the cache is dropped
	get("cat-2", 2)
	get("cat-2", 2)

	clk.advance(packagesMaxAge - time.Second)
	get("cat-2", 2)
	clk.advance(time.Second) // a minute old: refetch
	get("cat-2", 3)

	clk.advance(packagesMaxAge)
	mu.Lock()
	fail = true
	mu.Unlock()
	if _, err := c.Packages(t.Context()); err == nil {
		t.Fatal("a stale cache hid the sandbox's 503")
	}
	mu.Lock()
	fail = false
	mu.Unlock()
	get("cat-2", 5) // the failure was not cached
}
