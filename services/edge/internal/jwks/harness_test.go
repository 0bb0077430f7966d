package jwks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mcpbox/mcpbox/proto/testclock"
	"github.com/mcpbox/mcpbox/services/edge/internal/metrics"
	"github.com/mcpbox/mcpbox/services/edge/internal/testissuer"
	"github.com/mcpbox/mcpbox/services/edge/internal/tokencheck"
)

// waitLimit bounds every wait on background work; reaching it fails the
// test (it is never the expected outcome).
const waitLimit = 20 * time.Second

type harness struct {
	s     *Source
	m     *metrics.Edge
	clock *testclock.Clock
	logs  *logBuffer
}

// start runs a Source with a test clock, a fresh registry, a one-hour
// refresh (no scheduled fetch during the test unless o says otherwise) and
// MinRefetch 10 s.
func start(t *testing.T, o Options) harness {
	t.Helper()
	h := harness{m: metrics.New(prometheus.NewRegistry()), clock: testclock.New(), logs: &logBuffer{}}
	if o.Now == nil {
		o.Now = h.clock.Now
	}
	if o.Refresh == 0 {
		o.Refresh = time.Hour
	}
	if o.MinRefetch == 0 {
		o.MinRefetch = 10 * time.Second
	}
	o.Log = slog.New(slog.NewJSONHandler(h.logs, nil))
	h.s = Start(t.Context(), o, h.m)
	return h
}

// startDirect starts against is's JWKS URL (plain http: insecure dev mode).
func startDirect(t *testing.T, is *testissuer.Issuer, o Options) harness {
	t.Helper()
	o.JWKSURL = is.JWKSURL
	o.Issuer = is.URL
	o.Insecure = true
	return start(t, o)
}

func (h harness) waitLoaded(t *testing.T) {
	t.Helper()
	select {
	case <-h.s.loaded:
	case <-time.After(waitLimit):
		t.Fatalf("no key set loaded; status %+v", h.s.Status())
	}
}

// waitFor blocks until cond holds, re-checking on every state change of the
// Source (attempt ends, set installed, failure recorded).
func (h harness) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(waitLimit)
	for {
		h.s.mu.Lock()
		ch := h.s.changed
		h.s.mu.Unlock()
		if cond() {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("timed out waiting for %s; status %+v", what, h.s.Status())
		}
	}
}

func (h harness) fetches(trigger, result string) int {
	return int(testutil.ToFloat64(h.m.JWKSFetches.WithLabelValues(trigger, result)))
}

func (h harness) skippedCount(reason string) int {
	return int(testutil.ToFloat64(h.m.JWKSKeysSkipped.WithLabelValues(reason)))
}

func (h harness) suppressed() int { return int(testutil.ToFloat64(h.m.RefetchSuppress)) }

// mustKeys asserts kid resolves to exactly the public keys of want, in order.
func (h harness) mustKeys(t *testing.T, kid string, want ...*testissuer.Key) {
	t.Helper()
	got, err := h.s.Keys(context.Background(), kid)
	if err != nil {
		t.Fatalf("Keys(%q): %v", kid, err)
	}
	if len(got) != len(want) {
		t.Fatalf("Keys(%q) = %d keys, want %d", kid, len(got), len(want))
	}
	for i, k := range want {
		if !got[i].Equal(&k.Private.PublicKey) {
			t.Fatalf("Keys(%q)[%d] is not the key of %s", kid, i, k.KID)
		}
	}
}

func (h harness) mustFail(t *testing.T, kid string, want error) {
	t.Helper()
	got, err := h.s.Keys(context.Background(), kid)
	if !errors.Is(err, want) {
		t.Fatalf("Keys(%q) = %d keys, %v; want %v", kid, len(got), err, want)
	}
}

// jwkWith returns k's JWK with fields replaced (nil removes a field).
func jwkWith(k *testissuer.Key, fields map[string]any) map[string]any {
	j := k.JWK()
	for name, v := range fields {
		if v == nil {
			delete(j, name)
		} else {
			j[name] = v
		}
	}
	return j
}

type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) count(s string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Count(b.buf.String(), s)
}

var _ tokencheck.KeySource = (*Source)(nil)

func prometheusRegistry() *prometheus.Registry { return prometheus.NewRegistry() }

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
