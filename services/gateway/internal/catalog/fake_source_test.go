package catalog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/proto/testclock"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/mcpbox/mcpbox/proto"
)

// errBackendDown is what the fake answers while down.
var errBackendDown = errors.New("dial tcp 127.0.0.1:8004: connection refused")

// fakeSource is an in-memory backend: a catalog and a policy the test sets,
// and an event stream it feeds.
type fakeSource struct {
	mu      sync.Mutex
	cat     proto.Catalog
	pol     proto.Policy
	down    bool
	polDown bool          // only Policy fails
	block   bool          // Events holds the stream open without events
	failN   int           // the next failN Events calls fail
	gate    chan struct{} // when set, Catalog blocks on it after reading the catalog
	entered chan struct{} // a Catalog call is blocked on gate
	stream  chan fakeEvent
	etags   []string

	catalogCalls, policyCalls, eventsCalls int
	inFlight, maxInFlight                  int
}

// fakeEvent is an event and the channel closed once onEvent returned.
type fakeEvent struct {
	e    proto.Event
	done chan struct{}
}

func newFakeSource(rev int64, tools ...proto.CatalogTool) *fakeSource {
	p := proto.DefaultPolicy()
	p.Revision = 1
	return &fakeSource{
		cat:     proto.Catalog{Revision: rev, Tools: tools, Withheld: []proto.WithheldTool{}},
		pol:     p,
		entered: make(chan struct{}, 16),
	}
}

func etagOf(rev int64) string { return strconv.Quote(strconv.FormatInt(rev, 10)) }

func (f *fakeSource) Catalog(ctx context.Context, etag string) (proto.Catalog, string, bool, error) {
	f.mu.Lock()
	f.catalogCalls++
	f.inFlight++
	f.maxInFlight = max(f.maxInFlight, f.inFlight)
	f.etags = append(f.etags, etag)
	down, cat, gate := f.down, f.cat, f.gate
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.inFlight--
		f.mu.Unlock()
	}()
	if gate != nil {
		f.entered <- struct{}{}
		select {
		case <-gate:
		case <-ctx.Done():
			return proto.Catalog{}, "", false, ctx.Err()
		}
	}
	if down {
		return proto.Catalog{}, "", false, errBackendDown
	}
	if etag != "" && etag == etagOf(cat.Revision) {
		return proto.Catalog{}, etag, true, nil
	}
	return cat, etagOf(cat.Revision), false, nil
}

func (f *fakeSource) Policy(context.Context) (proto.Policy, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.policyCalls++
	if f.down || f.polDown {
		return proto.Policy{}, errBackendDown
	}
	return f.pol, nil
}

func (f *fakeSource) Events(ctx context.Context, onEvent func(proto.Event)) error {
	f.mu.Lock()
	f.eventsCalls++
	if f.down || f.failN > 0 {
		f.failN = max(f.failN-1, 0)
		f.mu.Unlock()
		return errBackendDown
	}
	if f.block {
		f.mu.Unlock()
		<-ctx.Done()
		return ctx.Err()
	}
	ch := make(chan fakeEvent)
	f.stream = ch
	hello := proto.Event{Type: proto.EventHello, CatalogRevision: f.cat.Revision, PolicyRevision: f.pol.Revision}
	f.mu.Unlock()
	onEvent(hello)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ev, ok := <-ch:
			if !ok {
				return errors.New("stream closed by the backend")
			}
			onEvent(ev.e)
			close(ev.done)
		}
	}
}

// emit delivers e on the open stream and returns once the cache handled it.
func (f *fakeSource) emit(t *testing.T, e proto.Event) {
	t.Helper()
	var ch chan fakeEvent
	eventually(t, "an open event stream", func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		ch = f.stream
		return ch != nil
	})
	ev := fakeEvent{e: e, done: make(chan struct{})}
	select {
	case ch <- ev:
	case <-time.After(5 * time.Second):
		t.Fatalf("event %s not taken by the stream", e.Type)
	}
	<-ev.done
}

// drop closes the open stream, as a backend restart does.
func (f *fakeSource) drop() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stream != nil {
		close(f.stream)
		f.stream = nil
	}
}

func (f *fakeSource) setCatalog(rev int64, tools ...proto.CatalogTool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cat = proto.Catalog{Revision: rev, Tools: tools, Withheld: f.cat.Withheld}
}

func (f *fakeSource) setPolicy(p proto.Policy) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pol = p
}

func (f *fakeSource) setDown(down bool) {
	f.mu.Lock()
	f.down = down
	f.mu.Unlock()
	if down {
		f.drop()
	}
}

func (f *fakeSource) calls() (catalog, policy, events int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.catalogCalls, f.policyCalls, f.eventsCalls
}

// tool returns a valid catalog entry for name.
func tool(name string) proto.CatalogTool {
	server, _, _ := strings.Cut(name, "__")
	return proto.CatalogTool{
		ToolID: "00000000-0000-4000-8000-000000000001", ServerID: "00000000-0000-4000-8000-000000000002",
		ServerName: server, Name: name, Kind: proto.ToolKindGo, Version: 1,
		Hash: "sha256:" + strings.Repeat("0", 64), Description: "Does " + name + ".",
		InputSchema:  json.RawMessage(`{"type":"object","properties":{"a":{"type":"integer"}}}`),
		OutputSchema: json.RawMessage(`null`), Annotations: json.RawMessage(`null`), TimeoutMS: 30000,
	}
}

// fakeClock is the injected clock of ages and staleness.
type fakeClock = testclock.Clock

func newFakeClock() *fakeClock { return testclock.New() }

// testOptions are options for fast tests: no poll unless set, short
// reconnects.
func testOptions() Options {
	return Options{Poll: time.Hour, ReconnectMin: time.Millisecond, ReconnectMax: 4 * time.Millisecond}
}

// harness is a running cache with its registry and log.
type harness struct {
	c   *Cache
	reg *prometheus.Registry
	log *syncBuffer
}

// start runs a cache on src until the test ends. setup registers
// subscribers before Run.
func start(t *testing.T, src Source, opts Options, setup func(*Cache)) *harness {
	t.Helper()
	h := &harness{reg: prometheus.NewRegistry(), log: &syncBuffer{}}
	h.c = New(src, opts, h.reg, slog.New(slog.NewJSONHandler(h.log, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if setup != nil {
		setup(h.c)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		h.c.Run(ctx)
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return h
}

// value returns the value of the metric name with the given label pairs.
func (h *harness) value(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := h.reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if hasLabels(m, labels) {
				if m.GetCounter() != nil {
					return m.GetCounter().GetValue()
				}
				return m.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("metric %s%v not found", name, labels)
	return 0
}

func hasLabels(m *dto.Metric, pairs []string) bool {
	for i := 0; i+1 < len(pairs); i += 2 {
		found := false
		for _, lp := range m.GetLabel() {
			if lp.GetName() == pairs[i] && lp.GetValue() == pairs[i+1] {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// refreshes returns catalog_refreshes_total{trigger, result}.
func (h *harness) refreshes(t *testing.T, trigger Trigger, result string) float64 {
	t.Helper()
	return h.value(t, "mcpbox_gateway_catalog_refreshes_total", "trigger", string(trigger), "result", result)
}

// logLines counts the log lines whose msg is msg.
func (h *harness) logLines(msg string) int {
	return strings.Count(h.log.String(), `"msg":"`+msg+`"`)
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

var _ io.Writer = (*syncBuffer)(nil)

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// eventually polls cond until it holds; the 10 s bound only stops a hang.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// revisionIs reports whether the cache serves revision rev.
func revisionIs(c *Cache, rev int64) func() bool {
	return func() bool {
		s := c.Current()
		return s != nil && s.Revision() == rev
	}
}
