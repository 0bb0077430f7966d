//go:build apiserver

package apiserver_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// kubeVersion is the kube-apiserver release the overlays are checked against (operations.md §4.7).
const kubeVersion = "v1.37.2"

// monitoringGroup holds the Prometheus Operator kinds, whose CRDs the bare API server does not have.
const monitoringGroup = "monitoring.coreos.com"

// TestOPS31_ServerSideDryRun proves OPS-31: on a locally built kube-apiserver v1.37.2 (with etcd, through envtest),
// every object rendered from overlays/dev and overlays/prod passes a server-side create with dryRun=All and
// fieldValidation=Strict, after the overlays' own Namespaces are created. The server therefore runs its defaulting,
// its validation and its admission chain on each object, and rejects unknown or misspelt fields. The
// monitoring.coreos.com objects (prod's monitoring component) are skipped, because their CRDs are absent. A control
// fixture shows the check has teeth: a Deployment whose selector does not match its template labels is rejected for
// that rule, and the same Deployment with matching labels is accepted.
func TestOPS31_ServerSideDryRun(t *testing.T) {
	t.Parallel()
	c := startAPIServer(t)

	for _, overlay := range []string{"dev", "prod"} {
		t.Run(overlay, func(t *testing.T) {
			t.Parallel()
			dryRunOverlay(t, c, filepath.Join("..", "overlays", overlay))
		})
	}

	t.Run("selector mismatch is rejected", func(t *testing.T) {
		t.Parallel()
		bad := readFixture(t, filepath.Join("testdata", "selector-mismatch.yaml"))

		err := dryRunCreate(t, c, bad.DeepCopy())
		if err == nil {
			t.Fatalf("%s: the API server accepted a Deployment whose spec.selector does not match "+
				"spec.template.metadata.labels; it must reject it", describe(bad))
		}
		if !rejectsField(err, "spec.template.metadata.labels") {
			t.Fatalf("%s: want an Invalid error on spec.template.metadata.labels (selector does not match template "+
				"labels), got: %v", describe(bad), err)
		}

		// Control: with matching labels the same Deployment is valid, so the rejection above is the selector rule.
		good := bad.DeepCopy()
		selector, _, err := unstructured.NestedStringMap(good.Object, "spec", "selector", "matchLabels")
		if err != nil {
			t.Fatalf("%s: spec.selector.matchLabels: %v", describe(bad), err)
		}
		if err := unstructured.SetNestedStringMap(good.Object, selector, "spec", "template", "metadata", "labels"); err != nil {
			t.Fatalf("%s: set spec.template.metadata.labels: %v", describe(bad), err)
		}
		if err := dryRunCreate(t, c, good); err != nil {
			t.Fatalf("%s with template labels equal to the selector: the control must be accepted, got: %v",
				describe(good), err)
		}
	})
}

// startAPIServer starts etcd and kube-apiserver from .cache/k8s/v1.37.2 with envtest, checks the server's version,
// and returns an admin client. envtest.Environment.Stop, registered as cleanup, stops kube-apiserver before etcd.
func startAPIServer(t *testing.T) client.Client {
	t.Helper()
	assets := assetsDir(t)
	// The paths are set explicitly (to the directory KUBEBUILDER_ASSETS would name), so neither a KUBEBUILDER_ASSETS
	// nor a TEST_ASSET_* variable in the caller's environment can swap in other binaries.
	env := &envtest.Environment{
		ControlPlane: envtest.ControlPlane{
			APIServer:   &envtest.APIServer{Path: filepath.Join(assets, "kube-apiserver")},
			Etcd:        &envtest.Etcd{Path: filepath.Join(assets, "etcd")},
			KubectlPath: filepath.Join(assets, "kubectl"),
		},
		// Generous bounds: the machine may be busy; these are limits, not assertions.
		ControlPlaneStartTimeout: 3 * time.Minute,
		ControlPlaneStopTimeout:  time.Minute,
	}
	cfg, err := env.Start()
	if err != nil {
		// Start may have launched etcd before kube-apiserver failed.
		if stopErr := env.Stop(); stopErr != nil {
			t.Logf("stop envtest after a failed start: %v", stopErr)
		}
		t.Fatalf("start envtest (etcd and kube-apiserver from %s): %v", assets, err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Errorf("stop envtest: %v", err)
		}
	})

	checkServerVersion(t, cfg)
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		t.Fatalf("create a client for the envtest API server: %v", err)
	}
	return c
}

// assetsDir returns <repo>/.cache/k8s/v1.37.2 and fails, saying how to build them, when a binary is missing.
func assetsDir(t *testing.T) string {
	t.Helper()
	// The test runs in deploy/k8s/apiserver.
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatalf("repository root: %v", err)
	}
	assets := filepath.Join(root, ".cache", "k8s", kubeVersion)
	for _, bin := range []string{"kube-apiserver", "etcd", "kubectl"} {
		if _, err := os.Stat(filepath.Join(assets, bin)); err != nil {
			t.Fatalf("envtest asset %s is missing (%v): run make k8s-apiserver-check, which builds kube-apiserver "+
				"and kubectl %s and links etcd into %s", bin, err, kubeVersion, assets)
		}
	}
	return assets
}

// checkServerVersion fails unless the running API server reports kubeVersion.
func checkServerVersion(t *testing.T, cfg *rest.Config) {
	t.Helper()
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatalf("create a discovery client: %v", err)
	}
	info, err := dc.ServerVersion()
	if err != nil {
		t.Fatalf("read the API server's version: %v", err)
	}
	if info.GitVersion != kubeVersion {
		t.Fatalf("kube-apiserver reports version %q, want %q: delete .cache/k8s/%s and run make k8s-apiserver-check",
			info.GitVersion, kubeVersion, kubeVersion)
	}
}

// dryRunOverlay renders the overlay in dir, creates its Namespaces, then dry-runs every other object in a subtest
// named after it.
func dryRunOverlay(t *testing.T, c client.Client, dir string) {
	t.Helper()
	objs := render(t, dir)

	var namespaces, others []*unstructured.Unstructured
	skipped := 0
	for _, obj := range objs {
		switch {
		case obj.GroupVersionKind().Group == monitoringGroup:
			skipped++
		case obj.GroupVersionKind().Group == "" && obj.GetKind() == "Namespace":
			namespaces = append(namespaces, obj)
		default:
			others = append(others, obj)
		}
	}
	if len(namespaces) == 0 {
		t.Fatalf("%s: renders no Namespace; an overlay must create its namespace (operations.md §4.1)", dir)
	}
	if len(others) == 0 {
		t.Fatalf("%s: renders no object besides Namespaces and %s kinds, so there is nothing to dry-run",
			dir, monitoringGroup)
	}
	t.Logf("%s: %d Namespace(s) created, %d object(s) to dry-run, %d %s object(s) skipped (CRDs absent)",
		dir, len(namespaces), len(others), skipped, monitoringGroup)

	// The namespaces are created for real (strictly validated too): namespaced dry-runs need them to exist.
	for _, ns := range namespaces {
		if err := c.Create(t.Context(), ns.DeepCopy(), client.FieldValidation(metav1.FieldValidationStrict)); err != nil {
			t.Fatalf("%s: create %s with strict field validation: %v", dir, describe(ns), err)
		}
	}

	for _, obj := range others {
		t.Run(describe(obj), func(t *testing.T) {
			t.Parallel()
			if err := dryRunCreate(t, c, obj.DeepCopy()); err != nil {
				t.Errorf("%s (%s): strict server-side dry-run create rejected it: %v", describe(obj), dir, err)
			}
		})
	}
}

// dryRunCreate creates obj on the server with dryRun=All and fieldValidation=Strict: nothing is persisted, but the
// whole validation and admission chain runs, and unknown or duplicate fields are errors.
func dryRunCreate(t *testing.T, c client.Client, obj *unstructured.Unstructured) error {
	t.Helper()
	return c.Create(t.Context(), obj, client.DryRunAll, client.FieldValidation(metav1.FieldValidationStrict))
}

// render builds the kustomization in dir in-process (kustomize/api, as kustomize build would) and returns its
// objects.
func render(t *testing.T, dir string) []*unstructured.Unstructured {
	t.Helper()
	resources, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	objs := make([]*unstructured.Unstructured, 0, resources.Size())
	for _, res := range resources.Resources() {
		js, err := res.MarshalJSON()
		if err != nil {
			t.Fatalf("%s: encode %s as JSON: %v", dir, res.CurId(), err)
		}
		obj := &unstructured.Unstructured{}
		if err := obj.UnmarshalJSON(js); err != nil {
			t.Fatalf("%s: decode %s: %v", dir, res.CurId(), err)
		}
		objs = append(objs, obj)
	}
	return objs
}

// readFixture decodes the single object in the YAML file at path.
func readFixture(t *testing.T, path string) *unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read fixture: %v", err)
	}
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		t.Fatalf("%s: not YAML: %v", path, err)
	}
	obj := &unstructured.Unstructured{}
	if err := obj.UnmarshalJSON(js); err != nil {
		t.Fatalf("%s: not a Kubernetes object: %v", path, err)
	}
	return obj
}

// rejectsField reports whether err is an Invalid status error with a cause on field.
func rejectsField(err error, field string) bool {
	var status *apierrors.StatusError
	if !errors.As(err, &status) || !apierrors.IsInvalid(err) || status.ErrStatus.Details == nil {
		return false
	}
	for _, cause := range status.ErrStatus.Details.Causes {
		if cause.Field == field {
			return true
		}
	}
	return false
}

// describe names an object as Kind/namespace/name (Kind/name when cluster-scoped).
func describe(obj *unstructured.Unstructured) string {
	parts := []string{obj.GetKind()}
	if ns := obj.GetNamespace(); ns != "" {
		parts = append(parts, ns)
	}
	return fmt.Sprintf("%s/%s", strings.Join(parts, "/"), obj.GetName())
}
