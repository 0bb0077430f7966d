// Package check renders the kustomizations under deploy/k8s in-process, decodes every document strictly into typed
// Kubernetes and Prometheus Operator objects, and runs the policy and reachability checks of operations.md §4.6.
// Every check returns problems as "Kind/name: rule" strings, so a failing fixture names the object and the rule.
package check

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"sort"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/json"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// Document is one rendered object as YAML, with the id kustomize gives it.
type Document struct {
	ID   string
	YAML []byte
}

// Render runs kustomize on the kustomization in dir, as `kustomize build dir` would, and returns one YAML document
// per resource.
func Render(dir string) ([]Document, error) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	docs := make([]Document, 0, m.Size())
	for _, r := range m.Resources() {
		y, err := r.AsYAML()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.CurId(), err)
		}
		docs = append(docs, Document{ID: r.GetKind() + "/" + r.GetName(), YAML: y})
	}
	return docs, nil
}

// Scheme knows every kind the manifests may contain: core, apps, batch, policy, autoscaling/v2, networking and the
// Prometheus Operator's monitoring.coreos.com/v1.
func Scheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, batchv1.AddToScheme, policyv1.AddToScheme,
		autoscalingv2.AddToScheme, networkingv1.AddToScheme, monitoringv1.AddToScheme,
	} {
		if err := add(s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Decode decodes every document strictly: an unknown field, a duplicate field, a wrong type or an unknown kind is an
// error naming the document. All errors are reported at once.
func Decode(docs []Document) (*Objects, error) {
	s, err := Scheme()
	if err != nil {
		return nil, err
	}
	ser := json.NewSerializerWithOptions(json.DefaultMetaFactory, s, s, json.SerializerOptions{Yaml: true, Strict: true})
	objs := &Objects{}
	var errs []error
	for _, d := range docs {
		obj, _, err := ser.Decode(d.YAML, nil, nil)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: strict decode: %w", d.ID, err))
			continue
		}
		if err := objs.add(obj); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", d.ID, err))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return objs, nil
}

// Load renders dir and decodes the result strictly.
func Load(dir string) (*Objects, error) {
	docs, err := Render(dir)
	if err != nil {
		return nil, err
	}
	return Decode(docs)
}

// Objects holds the typed objects of one rendering, by kind, in rendering order.
type Objects struct {
	Namespaces      []*corev1.Namespace
	ServiceAccounts []*corev1.ServiceAccount
	Services        []*corev1.Service
	ConfigMaps      []*corev1.ConfigMap
	Secrets         []*corev1.Secret
	Deployments     []*appsv1.Deployment
	StatefulSets    []*appsv1.StatefulSet
	Jobs            []*batchv1.Job
	PDBs            []*policyv1.PodDisruptionBudget
	HPAs            []*autoscalingv2.HorizontalPodAutoscaler
	NetworkPolicies []*networkingv1.NetworkPolicy
	Ingresses       []*networkingv1.Ingress
	ServiceMonitors []*monitoringv1.ServiceMonitor
	PrometheusRules []*monitoringv1.PrometheusRule
	// All lists every object, with its kind, for checks that apply to everything (labels).
	All []Meta
}

// Meta is the kind and metadata of any object.
type Meta struct {
	Kind   string
	Name   string
	Ns     string
	Labels map[string]string
}

// Ref names an object the way every problem does: "Kind/name".
func (m Meta) Ref() string { return m.Kind + "/" + m.Name }

func (o *Objects) add(obj runtime.Object) error {
	switch v := obj.(type) {
	case *corev1.Namespace:
		o.Namespaces = append(o.Namespaces, v)
		o.meta("Namespace", v.Name, v.Namespace, v.Labels)
	case *corev1.ServiceAccount:
		o.ServiceAccounts = append(o.ServiceAccounts, v)
		o.meta("ServiceAccount", v.Name, v.Namespace, v.Labels)
	case *corev1.Service:
		o.Services = append(o.Services, v)
		o.meta("Service", v.Name, v.Namespace, v.Labels)
	case *corev1.ConfigMap:
		o.ConfigMaps = append(o.ConfigMaps, v)
		o.meta("ConfigMap", v.Name, v.Namespace, v.Labels)
	case *corev1.Secret:
		o.Secrets = append(o.Secrets, v)
		o.meta("Secret", v.Name, v.Namespace, v.Labels)
	case *appsv1.Deployment:
		o.Deployments = append(o.Deployments, v)
		o.meta("Deployment", v.Name, v.Namespace, v.Labels)
	case *appsv1.StatefulSet:
		o.StatefulSets = append(o.StatefulSets, v)
		o.meta("StatefulSet", v.Name, v.Namespace, v.Labels)
	case *batchv1.Job:
		o.Jobs = append(o.Jobs, v)
		o.meta("Job", v.Name, v.Namespace, v.Labels)
	case *policyv1.PodDisruptionBudget:
		o.PDBs = append(o.PDBs, v)
		o.meta("PodDisruptionBudget", v.Name, v.Namespace, v.Labels)
	case *autoscalingv2.HorizontalPodAutoscaler:
		o.HPAs = append(o.HPAs, v)
		o.meta("HorizontalPodAutoscaler", v.Name, v.Namespace, v.Labels)
	case *networkingv1.NetworkPolicy:
		o.NetworkPolicies = append(o.NetworkPolicies, v)
		o.meta("NetworkPolicy", v.Name, v.Namespace, v.Labels)
	case *networkingv1.Ingress:
		o.Ingresses = append(o.Ingresses, v)
		o.meta("Ingress", v.Name, v.Namespace, v.Labels)
	case *monitoringv1.ServiceMonitor:
		o.ServiceMonitors = append(o.ServiceMonitors, v)
		o.meta("ServiceMonitor", v.Name, v.Namespace, v.Labels)
	case *monitoringv1.PrometheusRule:
		o.PrometheusRules = append(o.PrometheusRules, v)
		o.meta("PrometheusRule", v.Name, v.Namespace, v.Labels)
	default:
		return fmt.Errorf("kind %T: not allowed in MCPbox manifests", obj)
	}
	return nil
}

func (o *Objects) meta(kind, name, ns string, labels map[string]string) {
	o.All = append(o.All, Meta{Kind: kind, Name: name, Ns: ns, Labels: labels})
}

// Workload is a pod-creating object: a Deployment, a StatefulSet or a Job.
type Workload struct {
	Meta
	// Component is the pod template's app.kubernetes.io/component label.
	Component string
	Pod       *corev1.PodTemplateSpec
}

// Workloads lists Deployments, StatefulSets and Jobs, in that order.
func (o *Objects) Workloads() []Workload {
	var ws []Workload
	add := func(kind, name, ns string, labels map[string]string, pod *corev1.PodTemplateSpec) {
		ws = append(ws, Workload{
			Meta:      Meta{Kind: kind, Name: name, Ns: ns, Labels: labels},
			Component: pod.Labels[LabelComponent],
			Pod:       pod,
		})
	}
	for _, d := range o.Deployments {
		add("Deployment", d.Name, d.Namespace, d.Labels, &d.Spec.Template)
	}
	for _, s := range o.StatefulSets {
		add("StatefulSet", s.Name, s.Namespace, s.Labels, &s.Spec.Template)
	}
	for _, j := range o.Jobs {
		add("Job", j.Name, j.Namespace, j.Labels, &j.Spec.Template)
	}
	return ws
}

// Label keys of operations.md §4.1.
const (
	LabelName      = "app.kubernetes.io/name"
	LabelPartOf    = "app.kubernetes.io/part-of"
	LabelComponent = "app.kubernetes.io/component"
	LabelVersion   = "app.kubernetes.io/version"
	LabelScrapeJob = "mcpbox.io/scrape-job"
)

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// RenderFiles reads plain multi-document YAML files (fixtures that are not kustomizations) into documents.
func RenderFiles(paths ...string) ([]Document, error) {
	var docs []Document
	for _, p := range paths {
		b, err := os.ReadFile(p) //nolint:gosec // fixture paths chosen by tests
		if err != nil {
			return nil, err
		}
		for i, part := range bytes.Split(b, []byte("\n---\n")) {
			if len(bytes.TrimSpace(part)) > 0 {
				docs = append(docs, Document{ID: fmt.Sprintf("%s#%d", p, i+1), YAML: part})
			}
		}
	}
	return docs, nil
}
