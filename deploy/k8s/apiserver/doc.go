// Package apiserver holds the opt-in OPS-31 check (operations.md §4.7): both kustomize overlays are created on a real
// kube-apiserver v1.37.2 with a server-side dry run and strict field validation.
//
// The test is behind the `apiserver` build tag, because it needs binaries that `make test` does not build: run it
// with `make k8s-apiserver-check`, which first runs tools/k8s/build-apiserver.sh to put kube-apiserver, kubectl and
// a link to Debian's etcd into .cache/k8s/v1.37.2.
package apiserver
