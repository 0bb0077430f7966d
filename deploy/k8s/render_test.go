// Package k8s_test validates the kustomizations under deploy/k8s (operations.md §4.6, OPS-25 … OPS-30, OPS-43):
// each rendering is built in-process, decoded strictly into typed objects, and checked by the policies and the
// reachability evaluator of package check. Negative fixtures live in testdata/bad/<case>.
package k8s_test

import (
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/mcpbox/mcpbox/deploy/k8s/check"
)

// rendering is one kustomization the manifests ship, with the rules that apply to it.
type rendering struct {
	dir     string
	profile check.Profile
	// db is where backend and migrate reach PostgreSQL in §4.4's matrix ("" when nothing is deployed for it).
	db string
}

// renderings lists base, overlays/dev and overlays/prod.
func renderings() []rendering {
	return []rendering{
		{dir: "base"},
		{dir: "overlays/dev", profile: check.Profile{Overlay: true, Dev: true, Namespace: "mcpbox-dev"}, db: "postgres"},
		{dir: "overlays/prod", profile: check.Profile{Overlay: true, Prod: true, Namespace: "mcpbox"}, db: check.ManagedDB},
	}
}

// loaded caches one rendering per directory: tests only read the objects, and rendering dominates the run time.
var loaded sync.Map // dir -> func() (*check.Objects, error)

// load renders and strictly decodes dir once per test binary.
func load(t *testing.T, dir string) *check.Objects {
	t.Helper()
	f, _ := loaded.LoadOrStore(dir, sync.OnceValues(func() (*check.Objects, error) { return check.Load(dir) }))
	o, err := f.(func() (*check.Objects, error))()
	if err != nil {
		t.Fatalf("%s: %v", dir, err)
	}
	return o
}

// TestOPS25_RenderAndDecodeStrictly proves base, dev and prod render in-process and every document decodes strictly
// into a typed object, the Prometheus Operator kinds included (prod has four ServiceMonitors and the PrometheusRule).
func TestOPS25_RenderAndDecodeStrictly(t *testing.T) {
	t.Parallel()
	for _, r := range renderings() {
		t.Run(r.dir, func(t *testing.T) {
			t.Parallel()
			docs, err := check.Render(r.dir)
			if err != nil {
				t.Fatal(err)
			}
			o, err := check.Decode(docs)
			if err != nil {
				t.Fatal(err)
			}
			if len(o.All) != len(docs) || len(o.Deployments) != 4 || len(o.Jobs) != 1 {
				t.Errorf("decoded %d of %d documents, %d Deployments, %d Jobs; want all, 4 and 1",
					len(o.All), len(docs), len(o.Deployments), len(o.Jobs))
			}
			wantMonitors := 0
			if r.profile.Prod {
				wantMonitors = 4
			}
			if len(o.ServiceMonitors) != wantMonitors || len(o.PrometheusRules) != min(wantMonitors, 1) {
				t.Errorf("%d ServiceMonitors and %d PrometheusRules, want %d and %d",
					len(o.ServiceMonitors), len(o.PrometheusRules), wantMonitors, min(wantMonitors, 1))
			}
		})
	}
}

// TestOPS25_StrictDecodingRejects proves a misspelled field and a wrongly typed field each fail decoding, naming the
// object and the field.
func TestOPS25_StrictDecodingRejects(t *testing.T) {
	t.Parallel()
	tests := []struct{ fixture, want string }{
		{"misspelled-field", `Deployment/misspelled: strict decode: strict decoding error: unknown field "spec.replica"`},
		{"wrong-type", `Deployment/wrong-type: strict decode`},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			t.Parallel()
			_, err := check.Load(filepath.Join("testdata", "bad", tt.fixture))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Load: got %v, want an error containing %q", err, tt.want)
			}
			if tt.fixture == "wrong-type" && !strings.Contains(err.Error(), "replicas") {
				t.Errorf("error %v does not name the field replicas", err)
			}
		})
	}
}
