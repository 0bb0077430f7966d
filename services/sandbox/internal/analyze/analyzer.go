package analyze

import (
	"cmp"
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/catalogue"
)

// CompileTimeout bounds the compile-only job of `compile: true` (§4.3).
const CompileTimeout = 5 * time.Second

// DefaultCacheEntries is the analysis-cache size when Options leaves it 0.
const DefaultCacheEntries = 1024

// Options configure an Analyzer.
type Options struct {
	// BuildVersion is the sandbox build version (buildinfo.Version); with
	// the catalogue version it forms analyzer_version.
	BuildVersion string
	// CatalogueVersion is part of the cache key; empty means
	// catalogue.Version().
	CatalogueVersion string
	// CacheEntries bounds the cache (least recently used entries go first);
	// 0 means DefaultCacheEntries, negative disables caching.
	CacheEntries int
}

// Analyzer runs the static analysis of /v1/analyze and of step 3 of
// /v1/execute, with a cache keyed by code SHA-256 and catalogue version
// (§4.2.3, SB-76). It is safe for concurrent use.
type Analyzer struct {
	catalogueVersion string
	buildVersion     string
	cache            *cache
	duration         prometheus.Histogram
	lookups          *prometheus.CounterVec
}

// New builds an Analyzer and registers its metrics on reg:
// mcpbox_sandbox_analyze_duration_seconds and
// mcpbox_sandbox_analysis_cache_total{result="hit"|"miss"}.
func New(reg prometheus.Registerer, opts Options) *Analyzer {
	cv := opts.CatalogueVersion
	if cv == "" {
		cv = catalogue.Version()
	}
	size := opts.CacheEntries
	if size == 0 {
		size = DefaultCacheEntries
	}
	a := &Analyzer{
		catalogueVersion: cv,
		buildVersion:     cmp.Or(opts.BuildVersion, "dev"),
		cache:            newCache(size),
		duration: promauto.With(reg).NewHistogram(prometheus.HistogramOpts{
			Namespace: "mcpbox", Subsystem: "sandbox", Name: "analyze_duration_seconds",
			Help:    "Static analysis latency of tool code, cache hits included.",
			Buckets: []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1},
		}),
		lookups: promauto.With(reg).NewCounterVec(prometheus.CounterOpts{
			Namespace: "mcpbox", Subsystem: "sandbox", Name: "analysis_cache_total",
			Help: "Analysis-cache lookups, by result (hit, miss).",
		}, []string{"result"}),
	}
	for _, r := range []string{"hit", "miss"} {
		a.lookups.WithLabelValues(r)
	}
	return a
}

// analyzerVersion is analyzer_version: the sandbox build version and the
// catalogue version (§4.3).
func (a *Analyzer) analyzerVersion() string {
	return "sandbox " + a.buildVersion + "; catalogue " + a.catalogueVersion
}

// WithCatalogueVersion returns an Analyzer that shares this one's cache and
// metrics but keys entries by another catalogue version, so analyses made
// against the old symbol tables are never reused.
func (a *Analyzer) WithCatalogueVersion(v string) *Analyzer {
	b := *a
	b.catalogueVersion = v
	return &b
}

// CatalogueVersion is the catalogue version this Analyzer keys its cache
// by.
func (a *Analyzer) CatalogueVersion() string { return a.catalogueVersion }

// Result is the outcome of one analysis.
type Result struct {
	// Response is the body of /v1/analyze. Worker is nil: static analysis
	// never starts a worker.
	Response proto.AnalyzeResponse
	// Compile is set when the request asked for compile: true and the static
	// analysis found no error: the caller runs it in a worker and merges the
	// outcome with [MergeCompile]. Nil otherwise.
	Compile *CompileJob
	// Refusal is why this code cannot run with the request's extra_packages
	// (§4.2.3 step 3): the first error diagnostic, else the first import of
	// an opt-in package outside extra_packages, as an ImportError with the
	// request hint. Nil when it can run.
	Refusal *proto.Diagnostic
}

// CompileJob describes the compile-only worker job of `compile: true`
// (§4.3, SB-78): compile tool plus harness without calling Main, with no
// secrets, allowed_hosts [] (no network) and a CompileTimeout deadline;
// package-level initialisers may run. Interpreter errors come back as
// CompileError or UnsupportedFeature diagnostics.
type CompileJob struct {
	Code string
	// ExtraPackages are the approved opt-in packages whose symbol maps the
	// worker loads (the allowed opt-in imports of the code).
	ExtraPackages []string
	// Main is the shape of Main the harness calls.
	Main proto.MainInfo
	// Timeout is CompileTimeout.
	Timeout time.Duration
}

// ExecutionError converts Refusal into the error of an /v1/execute
// response (type, message, position and context), or nil.
func (r Result) ExecutionError() *proto.ExecutionError {
	d := r.Refusal
	if d == nil {
		return nil
	}
	e := &proto.ExecutionError{Type: d.Type, Message: d.Message}
	if d.Line > 0 {
		line, col := d.Line, d.Column
		e.Line, e.Column = &line, &col
		if d.Context != "" {
			ctx := d.Context
			e.Context = &ctx
		}
	}
	return e
}

// Analyze analyses req.Code (§4.3, §5). It parses with go/parser only and
// never evaluates the code (I3). ctx is checked before starting; the work
// itself is bounded by the code size limit.
func (a *Analyzer) Analyze(ctx context.Context, req proto.AnalyzeRequest) Result {
	start := time.Now()
	defer func() { a.duration.Observe(time.Since(start).Seconds()) }()
	sum := sha256.Sum256([]byte(req.Code))
	codeSHA := "sha256:" + hex.EncodeToString(sum[:])
	if err := ctx.Err(); err != nil {
		// Nothing was analysed; the caller is gone and discards this.
		return Result{Response: proto.AnalyzeResponse{CodeSHA256: codeSHA, AnalyzerVersion: a.analyzerVersion()}}
	}
	key := codeSHA + "|" + a.catalogueVersion
	an, ok := a.cache.get(key)
	if ok {
		a.lookups.WithLabelValues("hit").Inc()
	} else {
		a.lookups.WithLabelValues("miss").Inc()
		an = analyzeCode(req.Code)
		a.cache.put(key, an)
	}
	return a.result(an, codeSHA, req)
}

// result builds the per-request response from a cached analysis, which it
// never modifies.
func (a *Analyzer) result(an *analysis, codeSHA string, req proto.AnalyzeRequest) Result {
	resp := proto.AnalyzeResponse{
		CodeSHA256:      codeSHA,
		Imports:         make([]proto.Import, 0, len(an.imports)),
		InputSchema:     nullIfEmpty(an.inputSchema),
		OutputSchema:    nullIfEmpty(an.outputSchema),
		Description:     an.description,
		Secrets:         slices.Clone(an.secrets),
		AnalyzerVersion: a.analyzerVersion(),
		Diagnostics:     slices.Clone(an.diags),
	}
	if resp.Secrets == nil {
		resp.Secrets = []string{}
	}
	if resp.Diagnostics == nil {
		resp.Diagnostics = []proto.Diagnostic{}
	}
	if an.main != nil {
		m := *an.main
		resp.Main = &m
	}
	var refusal *proto.Diagnostic
	var extra []string
	for _, im := range an.imports {
		allowed := im.decision.Allowed(req.ExtraPackages)
		resp.Imports = append(resp.Imports, proto.Import{Path: im.path, Tier: im.decision.Tier, Allowed: allowed})
		if im.decision.Kind == catalogue.KindOptIn && allowed {
			extra = append(extra, im.path)
		}
		if im.decision.Kind == catalogue.KindOptIn && !allowed && refusal == nil {
			refusal = &proto.Diagnostic{
				Severity: proto.SeverityError, Type: proto.ErrTypeImportError, Message: im.decision.Refusal(req.ExtraPackages),
				Line: im.line, Column: im.column, Context: im.context,
			}
		}
	}
	resp.OK = !hasErrors(resp.Diagnostics)
	for i := range resp.Diagnostics { // sorted: the first error is the earliest
		d := resp.Diagnostics[i]
		if d.Severity != proto.SeverityError {
			continue
		}
		if refusal == nil || d.Line < refusal.Line || (d.Line == refusal.Line && d.Column <= refusal.Column) {
			refusal = &d
		}
		break
	}
	r := Result{Response: resp, Refusal: refusal}
	if req.Compile && resp.OK && resp.Main != nil {
		r.Compile = &CompileJob{Code: req.Code, ExtraPackages: extra, Main: *resp.Main, Timeout: CompileTimeout}
	}
	return r
}

func nullIfEmpty(raw []byte) []byte {
	if len(raw) == 0 {
		return []byte("null")
	}
	return slices.Clone(raw)
}

// MergeCompile adds the outcome of a compile-only worker job to a response:
// its diagnostics (CompileError, UnsupportedFeature, positions already
// rewritten to the tool file) and the worker's stats; OK is recomputed.
func MergeCompile(resp *proto.AnalyzeResponse, diags []proto.Diagnostic, worker *proto.WorkerStats) {
	resp.Diagnostics = append(resp.Diagnostics, diags...)
	sortDiagnostics(resp.Diagnostics)
	resp.OK = !hasErrors(resp.Diagnostics)
	resp.Worker = worker
}

// cache is a small LRU of analyses keyed by code hash and catalogue
// version. Entries are immutable once stored.
type cache struct {
	mu    sync.Mutex
	max   int
	order *list.List // front = most recent; values are *cacheEntry
	byKey map[string]*list.Element
}

type cacheEntry struct {
	key string
	an  *analysis
}

func newCache(maxEntries int) *cache {
	return &cache{max: maxEntries, order: list.New(), byKey: map[string]*list.Element{}}
}

func (c *cache) get(key string) (*analysis, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[key]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(el)
	e, _ := el.Value.(*cacheEntry)
	return e.an, true
}

func (c *cache) put(key string, an *analysis) {
	if c.max <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[key]; ok {
		c.order.MoveToFront(el)
		return
	}
	c.byKey[key] = c.order.PushFront(&cacheEntry{key: key, an: an})
	for c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		e, _ := last.Value.(*cacheEntry)
		delete(c.byKey, e.key)
	}
}
