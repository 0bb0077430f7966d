export GOTOOLCHAIN := go1.27.3

# ---------------------------------------------------------------------------
# Toolchain guard (operations.md §1.1)
#
# The line above wins over GOTOOLCHAIN in the caller's environment. Only a
# command-line override (make GOTOOLCHAIN=local ...) beats it, and then this
# guard stops make before any recipe runs. GNU make 4.3 does not pass exported
# variables to $(shell), hence the explicit GOTOOLCHAIN= below.
GO_PIN    := go1.27.3
GOVERSION := $(shell GOTOOLCHAIN=$(GOTOOLCHAIN) go env GOVERSION 2>/dev/null)
ifneq ($(GOVERSION),$(GO_PIN))
$(error this Makefile needs Go $(GO_PIN), but `go env GOVERSION` says "$(or $(GOVERSION),nothing)" with GOTOOLCHAIN=$(GOTOOLCHAIN): run make without overriding GOTOOLCHAIN, and let go fetch $(GO_PIN) from the module proxy once)
endif

# ---------------------------------------------------------------------------
# Variables

SHELL       := /bin/bash
.SHELLFLAGS := -o pipefail -c
.DEFAULT_GOAL := help

# Workspace modules (go.work). tools/ and deploy/ are modules outside go.work,
# built and tested with GOWORK=off (STYLE.md §11); tools/pins/* pin Go tools.
MODS      := $(shell go list -m -f '{{.Dir}}')
OUT_MODS  := $(CURDIR)/tools $(CURDIR)/deploy
PIN_MODS  := $(patsubst %/go.mod,%,$(wildcard $(CURDIR)/tools/pins/*/go.mod))
CODE_MODS := $(MODS) $(OUT_MODS)
ALL_MODS  := $(CODE_MODS) $(PIN_MODS)

BIN      := $(CURDIR)/bin
CACHEBIN := $(CURDIR)/.cache/bin
VERSION  := $(shell git describe --always --dirty 2>/dev/null || echo dev)
REVISION := $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
LDFLAGS  := -X github.com/mcpbox/mcpbox/proto/buildinfo.Version=$(VERSION) -X github.com/mcpbox/mcpbox/proto/buildinfo.Revision=$(REVISION)
# Static binaries (e2e checks there is no PT_INTERP), never -race: bin/ is built once and reused by every stage.
GOBUILD  := CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)"
SERVICES := backend gateway sandbox edge

# sqlc is a tool of tools/go.mod; -modfile needs GOWORK=off and a module directory (db/).
SQLC := GOWORK=off go tool -modfile=../tools/go.mod sqlc

# Pinned tools (tools/pins/<tool>/go.mod) build into .cache/bin/<tool>-<pin>-<goversion>;
# tools/testrun computes the same names. $(call pin-version,TOOL,MODULE)
pin-version   = $(shell awk '$$1 == "$(2)" { print $$2 }' $(CURDIR)/tools/pins/$(1)/go.mod)
GOLANGCI_LINT := $(CACHEBIN)/golangci-lint-$(call pin-version,golangci-lint,github.com/golangci/golangci-lint/v2)-$(GOVERSION)
BENCHSTAT     := $(CACHEBIN)/benchstat-$(call pin-version,benchstat,golang.org/x/perf)-$(GOVERSION)
GOVULNCHECK   := $(CACHEBIN)/govulncheck-$(call pin-version,govulncheck,golang.org/x/vuln)-$(GOVERSION)
# The vulndb pin provides both the indexer (cmd/indexdb) and the OSV files (data/osv of the module),
# indexed once into .cache/vulndb/<version> for an offline govulncheck (operations.md §7).
VULNDB_PIN    := $(call pin-version,vulndb,golang.org/x/vulndb)
VULNDB_INDEX  := $(CACHEBIN)/vulndb-$(VULNDB_PIN)-$(GOVERSION)
VULNDB        := $(CURDIR)/.cache/vulndb/$(VULNDB_PIN)
# The licence check is the licenses pin's own package, so its version is a hash of its sources
# (go.mod, go.sum, the non-test .go files by name), as tools/testrun's deps.SourceVersion computes it.
LICENSES      := $(CACHEBIN)/licenses-src-$(shell cd $(CURDIR)/tools/pins/licenses && cat go.mod go.sum $$(ls *.go | grep -v '_test\.go$$' | LC_ALL=C sort) | sha256sum | cut -c1-12)-$(GOVERSION)
# --allow-serial-runners waits for another golangci-lint (sharing its cache) instead of failing.
LINT          := $(GOLANGCI_LINT) run --allow-serial-runners --config $(CURDIR)/.golangci.yml

# $(call each-mod,DIRS,COMMAND): run COMMAND in every module in DIRS that has Go
# packages (GOWORK=off outside go.work), report each failure, fail at the end.
# A module whose packages cannot even be listed still runs COMMAND, which reports why.
define each-mod
	@fail=0; for m in $(1); do \
		case "$$m" in $(CURDIR)/tools*|$(CURDIR)/deploy*) gw=off ;; *) gw= ;; esac; \
		pkgs=$$(cd $$m && GOWORK=$$gw go list -e ./... 2>/dev/null) && [ -z "$$pkgs" ] && { echo "== $${m#$(CURDIR)/}: no packages"; continue; }; \
		echo "== $${m#$(CURDIR)/}: $(2)"; (cd $$m && GOWORK=$$gw $(2)) || fail=1; \
	done; exit $$fail
endef

# $(call each-gomod,DIRS,COMMAND): like each-mod, for every go.mod in DIRS, packages or not.
define each-gomod
	@fail=0; for m in $(1); do \
		echo "== $${m#$(CURDIR)/}: $(2)"; (cd $$m && GOWORK=off $(2)) || fail=1; \
	done; exit $$fail
endef

# ---------------------------------------------------------------------------
# Help

.PHONY: help
help: ## Show this help
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-20s %s\n", $$1, $$2}'

# ---------------------------------------------------------------------------
# Build and run

.PHONY: build run
build: ## Build bin/{backend,gateway,sandbox,sandbox-worker,edge,devidp,devstack}, bin/sandbox-e2e and bin/everything-server (an e2e upstream), once
	@mkdir -p $(BIN)
	$(GOBUILD) -o $(BIN)/ $(addprefix ./services/,$(SERVICES))
	$(GOBUILD) -tags e2e -o $(BIN)/sandbox-e2e ./services/sandbox
	GOEXPERIMENT=norandomizedheapbase64 $(GOBUILD) -o $(BIN)/sandbox-worker ./services/sandbox/cmd/sandbox-worker
	cd tools && GOWORK=off $(GOBUILD) -o $(BIN)/devidp ./devidp
	cd tools && GOWORK=off $(GOBUILD) -o $(BIN)/devstack ./devstack
	cd tools && GOWORK=off $(GOBUILD) -o $(BIN)/everything-server github.com/modelcontextprotocol/go-sdk/conformance/everything-server

# devstack is built and exec'd rather than `go run`: go run exits on SIGTERM
# without waiting for its child, so the stack would outlive make.
run: build ## Run the whole stack on loopback (tools/devstack -root <repo>; operations.md §1.3)
	exec $(BIN)/devstack -root $(CURDIR)

# ---------------------------------------------------------------------------
# Tests

.PHONY: test unit e2e test-ui bench load soak load-sandbox fuzz update-golden
# Built and exec'd rather than `go run` so that make (and .ci/run's timeout)
# waits for testrun's summary after a SIGTERM.
test: ## Every check and test (tools/testrun, operations.md §1.4); .ci/run calls this
	cd tools && GOWORK=off go build -o $(CACHEBIN)/testrun ./testrun
	exec $(CACHEBIN)/testrun -root $(CURDIR)

UNIT_FLAGS := -race -shuffle=on -count=1 -p 2 -bench . -benchtime=1x
unit: build ## Unit and integration tests with -race, benchmarks once (a stage of make test); uses MCPBOX_TEST_DATABASE_URL or 127.0.0.1:5432
	$(call each-mod,$(MODS),MCPBOX_SANDBOX_TEST_WORKER=$(BIN)/sandbox-worker MCPBOX_BIN_DIR=$(BIN) go test $(UNIT_FLAGS) ./...)
	cd tools && GOWORK=off go test -count=1 -p 2 $$(GOWORK=off go list -e ./... | grep -v '/tools/e2e')

e2e: build ## Cross-service, SDK, conformance and browser checks against bin/ (tools/e2e, browser-tagged tests)
	@if [ -d tools/e2e ]; then cd tools && MCPBOX_BIN_DIR=$(BIN) MCPBOX_UI_TESTS=1 GOWORK=off go test -count=1 -timeout 30m -tags browser ./e2e/...; \
	else echo "tools/e2e does not exist yet"; fi
	@fail=0; for d in $$(grep -rlE --include='*_test.go' '^//go:build.*\bbrowser\b' $(MODS) | xargs -rn1 dirname | sort -u); do \
		echo "== $${d#$(CURDIR)/}"; (cd $$d && MCPBOX_UI_TESTS=1 go test -count=1 -timeout 30m -tags browser .) || fail=1; \
	done; exit $$fail

test-ui: build ## The admin UI's browser checks alone, with every theme × width (admin-ui.md §15)
	cd services/backend/internal/ui/browsertest && MCPBOX_UI_TESTS=1 MCPBOX_UI_MATRIX=full go test -count=1 -timeout 30m -tags browser .

# The ratio gate (tools/benchgate) reads the same output: the median ns/op of BenchmarkGatewayCallStubSandbox over
# BenchmarkBareSDKCall must stay at most 1.5 (gateway.md §15 P3). make test runs each benchmark once, without the gate.
# bench: the Go benchmarks (6 runs each) with benchstat and the P3 ratio gate, then the stack part (tools/loadstack
# -bench, about 2.5 minutes): the e2e stack, each scenario closed loop (8 in flight, 3 s warm-up, 10 s) through the
# edge (trivial call, one brokered HTTP GET, tools/list with 500 tools, mcpbox_list_servers), the trivial call on the
# local listener and on a bare go-sdk server (loadgen bare); table, ratio, chart and reports in .cache/bench/stack-*.
# UPDATE_DOCS=1 also rewrites docs/perf/stack-latency.svg and the generated section of docs/PERFORMANCE.md.
# BENCH_FLAGS are loadstack's, e.g. BENCH_FLAGS='-bench-duration 30s'. Fails on any error in any part.
bench: build $(BENCHSTAT) ## Benchmarks (6 runs each, benchstat vs .cache/bench/baseline.txt, gateway ratio gate ≤ 1.5), then the full-stack closed-loop bench with its chart; UPDATE_DOCS=1 updates docs/PERFORMANCE.md
	@mkdir -p .cache/bench $(CACHEBIN); out=.cache/bench/$(VERSION).txt; : > $$out; fail=0; \
	for m in $(MODS); do (cd $$m && go test -run '^$$' -bench . -benchmem -count 6 ./...) | tee -a $$out || fail=1; done; \
	if [ -f .cache/bench/baseline.txt ]; then $(BENCHSTAT) .cache/bench/baseline.txt $$out; \
	else echo "no .cache/bench/baseline.txt: copy $$out there to compare later runs"; fi; \
	(cd tools && GOWORK=off go run ./benchgate) < $$out || fail=1; \
	(cd tools && GOWORK=off go build -o $(CACHEBIN)/loadstack ./loadstack && GOWORK=off go build -o $(CACHEBIN)/loadgen ./loadgen) || exit 1; \
	$(CACHEBIN)/loadstack -root $(CURDIR) -bin $(BIN) -loadgen $(CACHEBIN)/loadgen -bench $(if $(UPDATE_DOCS),-update-docs) $(BENCH_FLAGS) || fail=1; \
	exit $$fail

# The e2e stack (tools/devstack on the e2e ports, a fresh database on the test server, the gateway stateless),
# seeded through the backend API, then tools/loadgen for P1 and P2 (gateway.md §15); tools/loadstack does it all
# and stops the stack and drops the database at the end. About 2.5 minutes; opt-in, never part of make test.
# LOAD_FLAGS are loadstack's, e.g. LOAD_FLAGS='-p1-rates 100,150,250' (a 60 s run each).
load: build ## Gateway load run (gateway.md §15): e2e stack, seeded, loadgen P1 (250 calls/s, 60 s) and P2 (tools/list, 500 tools); reports in .cache/load/
	@mkdir -p $(CACHEBIN)
	cd tools && GOWORK=off go build -o $(CACHEBIN)/loadstack ./loadstack && GOWORK=off go build -o $(CACHEBIN)/loadgen ./loadgen
	exec $(CACHEBIN)/loadstack -root $(CURDIR) -bin $(BIN) -loadgen $(CACHEBIN)/loadgen $(LOAD_FLAGS)

# The soak (opt-in, never part of make test): the e2e stack, the capacity of the trivial call through the edge
# measured closed loop, then that call open loop at half the capacity for SOAK (10m), sampling every service's
# go_goroutines, go_memstats_heap_inuse_bytes and process_resident_memory_bytes every 30 s. Fails when a service
# ends above its bound (tools/loadstack/soak.go, docs/PERFORMANCE.md). SOAK_FLAGS are loadstack's, e.g.
# SOAK_FLAGS='-soak-rate 60'.
SOAK ?= 10m
soak: build ## Soak: trivial call through the edge at half the measured capacity for SOAK (10m); every service's goroutines and memory at start and end, bounded; report in .cache/bench/soak-*
	@mkdir -p $(CACHEBIN)
	cd tools && GOWORK=off go build -o $(CACHEBIN)/loadstack ./loadstack && GOWORK=off go build -o $(CACHEBIN)/loadgen ./loadgen
	exec $(CACHEBIN)/loadstack -root $(CURDIR) -bin $(BIN) -loadgen $(CACHEBIN)/loadgen -soak $(SOAK) $(SOAK_FLAGS)

load-sandbox: build ## Load test of bin/sandbox (tools/loadgen, sandbox.md §16): 60 s open loop at 300/s after 10 s warm-up, pinned to CPUs 0,1; JSON report in .cache/load/
	cd tools && GOWORK=off go run ./loadgen sandbox -bin $(BIN)/sandbox $(LOADGEN_FLAGS)

fuzz: ## go test -fuzz for every Fuzz target in the workspace modules, -fuzztime 60s each
	@fail=0; for f in $$(grep -rl --include='*_test.go' '^func Fuzz' $(MODS)); do d=$$(dirname $$f); \
		for t in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$f); do \
			echo "== $${d#$(CURDIR)/} $$t"; (cd $$d && go test -run '^$$' -fuzz "^$$t$$" -fuzztime 60s .) || fail=1; \
		done; \
	done; exit $$fail

update-golden: ## Rewrite testdata/*.golden in packages that define -update; review the diff like code
	@for d in $$(grep -rl --include='*_test.go' --exclude-dir=.cache --exclude-dir=.data --exclude-dir=node_modules 'flag.Bool("update"' $(CODE_MODS) | xargs -rn1 dirname | sort -u); do \
		case "$$d" in $(CURDIR)/tools/*|$(CURDIR)/deploy/*) gw=off ;; *) gw= ;; esac; \
		echo "== $${d#$(CURDIR)/}"; (cd $$d && GOWORK=$$gw go test . -count=1 -update) || exit 1; \
	done

# Opt-in, never part of make test (OPS-31). The first run builds kube-apiserver and kubectl into .cache/k8s/v1.37.2
# (about 4 min and 3 GB of RAM on 2 cores; Go module proxy only) and installs Debian's etcd-server when etcd is missing.
.PHONY: k8s-apiserver-check
k8s-apiserver-check: ## Server-side dry-run of both overlays on a locally built kube-apiserver v1.37.2 (opt-in; operations.md §4.7)
	tools/k8s/build-apiserver.sh
	cd deploy && GOWORK=off go test -count=1 -tags apiserver ./k8s/apiserver/

# ---------------------------------------------------------------------------
# Checks (operations.md §7)

.PHONY: lint golangci fmt vuln mod-verify tidy tidy-diff check-tidy standalone
# lint and vuln run every part and fail at the end, so one run shows every problem.
lint: ## golangci-lint v2 over every module, then go mod tidy -diff per module
	@st=0; $(MAKE) --no-print-directory golangci || st=1; $(MAKE) --no-print-directory tidy-diff || st=1; exit $$st

golangci: $(GOLANGCI_LINT) ## golangci-lint v2 (pinned in tools/pins) over every module with .golangci.yml
	$(call each-mod,$(CODE_MODS),$(LINT) ./...)

fmt: $(GOLANGCI_LINT) ## gofumpt + goimports over every module
	$(call each-mod,$(CODE_MODS),$(GOLANGCI_LINT) fmt --config $(CURDIR)/.golangci.yml ./...)

# go mod tidy -diff is part of lint and not repeated here. testrun's vuln stage runs the same checks, counted as tests.
vuln: $(GOVULNCHECK) $(VULNDB)/index/db.json $(LICENSES) ## Supply-chain gate: go mod verify in every module, offline govulncheck through tools/vulngate and its canary, licence check
	@st=0; $(MAKE) --no-print-directory mod-verify || st=1; \
	echo "== govulncheck (offline, $(VULNDB_PIN)) through tools/vulngate"; \
	(cd tools && GOWORK=off go run ./vulngate -root $(CURDIR) -govulncheck $(GOVULNCHECK) -db $(VULNDB)) || st=1; \
	echo "== vulngate canary (GO-2021-0113 must be reported)"; \
	(cd tools && GOWORK=off MCPBOX_GOVULNCHECK=$(GOVULNCHECK) MCPBOX_VULNDB=$(VULNDB) go test -count=1 -tags vulncanary -run '^TestOPS41_CanaryReported$$' ./vulngate) || st=1; \
	echo "== licences"; $(LICENSES) -root $(CURDIR) || st=1; \
	exit $$st

mod-verify: ## go mod verify in every module (tools, deploy and pins too)
	$(call each-gomod,$(ALL_MODS),go mod verify)

tidy-diff: ## Fail when a go.mod or go.sum is not tidy (go mod tidy -diff per module)
	$(call each-gomod,$(ALL_MODS),go mod tidy -diff)

tidy: ## go work sync, then go mod tidy in every module (tools, deploy and pins too)
	go work sync
	$(call each-gomod,$(ALL_MODS),go mod tidy)

check-tidy: tidy ## Fail when go.mod, go.sum or go.work.sum are not tidy
	git diff --exit-code -- '*go.mod' '*go.sum' go.work.sum

standalone: ## Build and vet each module alone (GOWORK=off), as the Docker builds do
	$(call each-mod,$(CODE_MODS),GOWORK=off go build -o /dev/null ./... && GOWORK=off go vet ./...)

# ---------------------------------------------------------------------------
# Generated code (operations.md §1.2; OPS-10)

.PHONY: generate check-generate vet-sql
# README tables come from `<service> config-doc` (tools/confdoc); bin/ is used when built, else go run.
CONFDOC = cd tools && GOWORK=off go run ./confdoc -root $(CURDIR) $(if $(wildcard $(BIN)/backend),-bin $(BIN))

generate: ## Regenerate db/dbq (sqlc v1.31.1) with db/dbq/INPUTS.sha256, the README configuration tables and the PrometheusRule; commit the result
	cd db && $(SQLC) generate && GOWORK=off go run ./cmd/inputshash write
	$(CONFDOC)
	cd deploy && GOWORK=off go run ./k8s/cmd/genrule

check-generate: ## Fail when generated files are stale or hand-edited, naming them (sqlc runs only when INPUTS.sha256 no longer matches)
	@test -d db/cmd/inputshash || { echo "check-generate: db/cmd/inputshash does not exist yet"; exit 1; }
	@cd db && if GOWORK=off go run ./cmd/inputshash check; then echo "db/dbq is current"; \
	else echo "db/dbq/INPUTS.sha256 does not match its inputs; sqlc diff names the stale files:"; $(SQLC) diff; \
		echo "run make generate and commit the result"; exit 1; fi
	@$(CONFDOC) -check && echo "README configuration tables are current"
	@cd deploy && GOWORK=off go run ./k8s/cmd/genrule -check && echo "the PrometheusRule is current"

vet-sql: ## Prepare every query against MCPBOX_SQLC_DATABASE_URL (a migrated database)
	cd db && $(SQLC) vet

# ---------------------------------------------------------------------------
# Pinned tools (tools/pins; operations.md §8)

.PHONY: tools
tools: $(GOLANGCI_LINT) $(BENCHSTAT) $(GOVULNCHECK) $(VULNDB_INDEX) $(LICENSES) $(VULNDB)/index/db.json ## Build the pinned Go tools into .cache/bin; index the vulndb into .cache/vulndb

$(GOLANGCI_LINT):
	@mkdir -p $(CACHEBIN)
	cd tools/pins/golangci-lint && GOWORK=off go build -trimpath -o $@.tmp github.com/golangci/golangci-lint/v2/cmd/golangci-lint && mv $@.tmp $@

$(BENCHSTAT):
	@mkdir -p $(CACHEBIN)
	cd tools/pins/benchstat && GOWORK=off go build -trimpath -o $@.tmp golang.org/x/perf/cmd/benchstat && mv $@.tmp $@

$(GOVULNCHECK):
	@mkdir -p $(CACHEBIN)
	cd tools/pins/govulncheck && GOWORK=off go build -trimpath -o $@.tmp golang.org/x/vuln/cmd/govulncheck && mv $@.tmp $@

$(VULNDB_INDEX):
	@mkdir -p $(CACHEBIN)
	cd tools/pins/vulndb && GOWORK=off go build -trimpath -o $@.tmp golang.org/x/vulndb/cmd/indexdb && mv $@.tmp $@

$(LICENSES):
	@mkdir -p $(CACHEBIN)
	cd tools/pins/licenses && GOWORK=off go build -trimpath -o $@.tmp . && mv $@.tmp $@

# Indexed once per vulndb pin (about 70 s cold); the indexer is order-only, so a toolchain bump does not re-index.
$(VULNDB)/index/db.json: | $(VULNDB_INDEX)
	cd tools/pins/vulndb && GOWORK=off go mod download golang.org/x/vulndb
	rm -rf $(VULNDB).tmp $(VULNDB)
	$(VULNDB_INDEX) -vulns "$$(cd tools/pins/vulndb && GOWORK=off go list -m -f '{{.Dir}}' golang.org/x/vulndb)/data/osv" -out $(VULNDB).tmp
	mv $(VULNDB).tmp $(VULNDB)

# ---------------------------------------------------------------------------
# Housekeeping

.PHONY: clean clean-data
clean: ## Delete bin/ and .cache/ (keeps .data/ and Go's caches)
	rm -rf bin .cache

PG_CTL = $(or $(shell command -v pg_ctl),$(lastword $(shell ls -d /usr/lib/postgresql/*/bin/pg_ctl 2>/dev/null | sort -V)))
PG_AS  = $(if $(filter 0,$(shell id -u)),runuser -u postgres --,)
clean-data: ## Stop the private dev cluster (.data/pg) and delete .data/
	@if [ -f .data/pg/data/postmaster.pid ]; then $(PG_AS) $(PG_CTL) -D $(CURDIR)/.data/pg/data -m fast stop || true; fi
	rm -rf .data
