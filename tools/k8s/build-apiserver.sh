#!/usr/bin/env bash
# build-apiserver.sh: the envtest assets for `make k8s-apiserver-check` (operations.md §4.7).
#
# Builds kube-apiserver and kubectl from k8s.io/kubernetes $KUBE_VERSION into
# .cache/k8s/$KUBE_VERSION/ and links Debian's etcd (package etcd-server) next
# to them, so the directory can serve as KUBEBUILDER_ASSETS.
#
# k8s.io/kubernetes is not meant to be required as a module: its go.mod
# replaces every staging module (k8s.io/api, k8s.io/client-go, ...) with a
# directory inside its own tree, and replaces in a dependency are ignored. So
# the build goes through a throwaway wrapper module (.cache/k8s/src-$KUBE_VERSION)
# that requires k8s.io/kubernetes and replaces each of those staging modules with
# its published v0.X.Y release. The set of staging modules is read from the
# kubernetes go.mod in the module cache, never hard-coded. Only the Go module
# proxy is needed.
#
# The build mirrors hack/lib/golang.sh for release binaries: CGO_ENABLED=0,
# -trimpath, tags selinux,notest,grpcnotrace, -s -w, and the version stamped
# with -X into k8s.io/component-base/version and k8s.io/client-go/pkg/version
# (buildDate is the release's module time, so rebuilds are reproducible).
#
# A cold build takes about 4 minutes and 3 GB of RAM on 2 cores. It is skipped
# when both binaries are present and report $KUBE_VERSION.
set -euo pipefail

export GOTOOLCHAIN=go1.27.3
# The wrapper module lives under the repository, whose go.work must not apply.
export GOWORK=off

KUBE_VERSION=v1.37.2

log() { printf 'build-apiserver: %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out="$root/.cache/k8s/$KUBE_VERSION"
src="$root/.cache/k8s/src-$KUBE_VERSION"

# v1.37.2 -> staging modules v0.37.2, major 1, minor 37.
[[ $KUBE_VERSION =~ ^v([0-9]+)\.([0-9]+)\.([0-9]+)$ ]] || die "KUBE_VERSION $KUBE_VERSION is not vMAJOR.MINOR.PATCH"
kube_major=${BASH_REMATCH[1]}
kube_minor=${BASH_REMATCH[2]}
staging_version="v0.${BASH_REMATCH[2]}.${BASH_REMATCH[3]}"

command -v go >/dev/null || die "go is not on PATH"

# ensure_etcd links etcd into $out, installing Debian's etcd-server when it is missing.
ensure_etcd() {
	if ! command -v etcd >/dev/null; then
		[[ $(id -u) -eq 0 ]] || die "etcd is not installed and this is not root: run 'apt-get install -y --no-install-recommends etcd-server' as root"
		command -v apt-get >/dev/null || die "etcd is not installed and apt-get is absent: install etcd (Debian package etcd-server) so that 'etcd' is on PATH"
		log "installing etcd-server with apt-get"
		if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends etcd-server; then
			log "apt-get install failed; running apt-get update and retrying"
			apt-get update
			DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends etcd-server
		fi
		command -v etcd >/dev/null || die "etcd-server is installed but 'etcd' is not on PATH"
	fi
	local etcd
	etcd=$(command -v etcd)
	ln -sfn "$etcd" "$out/etcd"
	log "etcd: $("$out/etcd" --version 2>&1 | head -n 1) ($etcd)"
}

# built reports whether both binaries exist and carry $KUBE_VERSION.
built() {
	[[ -x $out/kube-apiserver && -x $out/kubectl ]] || return 1
	# Captured first: grep -q closing the pipe early would fail the pipeline under pipefail.
	local apiserver kubectl
	apiserver=$("$out/kube-apiserver" --version 2>/dev/null) || return 1
	kubectl=$("$out/kubectl" version --client 2>/dev/null) || return 1
	grep -qx "Kubernetes $KUBE_VERSION" <<<"$apiserver" && grep -qx "Client Version: $KUBE_VERSION" <<<"$kubectl"
}

# json_field FIELD: the string value of "FIELD" in the JSON on stdin (flat objects only).
json_field() { sed -n "s/.*\"$1\": *\"\\([^\"]*\\)\".*/\\1/p" | head -n 1; }

build() {
	local start=$SECONDS
	rm -rf "$src"
	mkdir -p "$src"
	cd "$src"

	log "downloading k8s.io/kubernetes@$KUBE_VERSION"
	local dl kdir ktime
	dl=$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION") || die "go mod download k8s.io/kubernetes@$KUBE_VERSION failed"
	kdir=$(json_field Dir <<<"$dl")
	[[ -f $kdir/go.mod ]] || die "k8s.io/kubernetes@$KUBE_VERSION has no go.mod in the module cache (Dir=$kdir)"
	ktime=$(json_field Time <"$(json_field Info <<<"$dl")")
	[[ -n $ktime ]] || die "no release time in the .info file of k8s.io/kubernetes@$KUBE_VERSION"

	# The staging modules are exactly the replaces that point into ./staging/src/.
	local staging
	staging=$(go mod edit -print "$kdir/go.mod" | awk '
		{ sub(/^[ \t]*replace[ \t]+/, "") }
		$2 == "=>" && $3 ~ /^\.\/staging\/src\// { print $1 }')
	[[ -n $staging ]] || die "found no './staging/src/' replaces in $kdir/go.mod"
	local kgo
	kgo=$(go mod edit -print "$kdir/go.mod" | awk '$1 == "go" { print $2 }')

	local -a edits=(-go="$kgo" -require="k8s.io/kubernetes@$KUBE_VERSION")
	local m n=0
	for m in $staging; do
		edits+=(-replace="$m=$m@$staging_version")
		n=$((n + 1))
	done
	# Keep the kubernetes module's godebug defaults: they apply to the main module only.
	local g
	for g in $(go mod edit -print "$kdir/go.mod" | awk '$1 == "godebug" && $2 != "(" { print $2 }'); do
		edits+=(-godebug="$g")
	done
	edits+=(-tool=k8s.io/kubernetes/cmd/kube-apiserver -tool=k8s.io/kubernetes/cmd/kubectl)

	go mod init mcpbox.local/k8s-apiserver-build
	go mod edit "${edits[@]}"
	log "wrapper module: k8s.io/kubernetes $KUBE_VERSION, $n staging modules replaced by their $staging_version releases"
	log "resolving dependencies (go mod tidy in $src)"
	go mod tidy || die "go mod tidy failed in the wrapper module $src: is every staging module published at $staging_version?"

	local -a ldflags=(-s -w)
	local p
	for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
		ldflags+=(
			"-X $p.gitVersion=$KUBE_VERSION"
			"-X $p.gitMajor=$kube_major"
			"-X $p.gitMinor=$kube_minor"
			"-X $p.gitTreeState=clean"
			"-X $p.buildDate=$ktime"
		)
	done

	local tmp="$out.tmp"
	rm -rf "$tmp"
	mkdir -p "$tmp"
	log "building kube-apiserver and kubectl (a cold build takes about 4 min and 3 GB of RAM on 2 cores)"
	CGO_ENABLED=0 go build -trimpath -buildvcs=false \
		-tags selinux,notest,grpcnotrace \
		-ldflags "${ldflags[*]}" \
		-o "$tmp/" \
		k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl ||
		die "go build of kube-apiserver and kubectl failed"
	mkdir -p "$out"
	mv -f "$tmp/kube-apiserver" "$tmp/kubectl" "$out/"
	rmdir "$tmp"
	log "built in $((SECONDS - start)) s"
}

mkdir -p "$out"
if built; then
	log "kube-apiserver and kubectl $KUBE_VERSION already in ${out#"$root"/}, skipping the build"
else
	build
	built || die "the built binaries do not report $KUBE_VERSION: $("$out/kube-apiserver" --version 2>&1 || true)"
fi
ensure_etcd
log "$("$out/kube-apiserver" --version) and kubectl $KUBE_VERSION ready in ${out#"$root"/} (KUBEBUILDER_ASSETS)"
