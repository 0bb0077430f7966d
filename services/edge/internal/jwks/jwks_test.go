package jwks

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mcpbox/mcpbox/services/edge/internal/metrics"
	"github.com/mcpbox/mcpbox/services/edge/internal/testissuer"
	"github.com/mcpbox/mcpbox/services/edge/internal/tokencheck"
)

func TestEDGE38_UnusableKeysNeverUsed(t *testing.T) {
	t.Parallel()
	is := testissuer.New(t, testissuer.Options{})
	good := is.Signer()
	ec := testissuer.NewECKey(t)
	point, err := ec.PublicKey.Bytes() // 0x04 ‖ X ‖ Y
	if err != nil {
		t.Fatal(err)
	}
	is.Publish(
		map[string]any{"kty": "EC", "kid": "ec", "crv": "P-256", "x": testissuer.B64(point[1:33]), "y": testissuer.B64(point[33:])},
		jwkWith(testissuer.NewKey(t, "enc", 1), map[string]any{"use": "enc"}),
		jwkWith(testissuer.NewKey(t, "rs512", 2), map[string]any{"alg": "RS512"}),
		jwkWith(testissuer.NewKey(t, "ops", 3), map[string]any{"use": nil, "key_ops": []string{"encrypt"}}),
		testissuer.NewWeakKey(t, "weak").JWK(),
		jwkWith(testissuer.NewKey(t, "", 4), map[string]any{"kid": nil}),
		good.JWK(),
		jwkWith(testissuer.NewKey(t, "verify-only", 5), map[string]any{"use": nil, "key_ops": []string{"verify"}}),
	)
	h := startDirect(t, is, Options{})
	h.waitLoaded(t)

	for _, kid := range []string{"ec", "enc", "rs512", "ops", "weak", ""} {
		h.mustFail(t, kid, tokencheck.ErrUnknownKID)
	}
	h.mustKeys(t, good.KID, good)
	h.mustKeys(t, "verify-only", testissuer.NewKey(t, "verify-only", 5))
	if st := h.s.Status(); st.Keys != 2 {
		t.Fatalf("status keys = %d, want 2", st.Keys)
	}
	if got := testutil.ToFloat64(h.m.JWKSKeys); got != 2 {
		t.Fatalf("jwks_keys = %v, want 2", got)
	}
	want := map[string]int{metrics.SkipKty: 1, metrics.SkipUse: 2, metrics.SkipAlg: 1, metrics.SkipSize: 1, metrics.SkipNoKID: 1}
	for reason, n := range want {
		if got := h.skippedCount(reason); got != n {
			t.Errorf("keys_skipped{reason=%q} = %d, want %d", reason, got, n)
		}
	}
	if n := h.logs.count(`"msg":"jwks key skipped"`); n != 6 {
		t.Errorf("%d skip warnings, want 6", n)
	}
	if n := is.JWKSFetches(); n != 1 {
		t.Errorf("%d JWKS fetches, want 1 (lookups of skipped kids are within MIN_REFETCH)", n)
	}
}

func TestDuplicateKIDsInDocumentOrder(t *testing.T) {
	t.Parallel()
	is := testissuer.New(t, testissuer.Options{})
	a, b := testissuer.NewKey(t, "dup", 1), testissuer.NewKey(t, "dup", 2)
	is.Publish(a.JWK(), is.Signer().JWK(), b.JWK())
	h := startDirect(t, is, Options{})
	h.waitLoaded(t)
	h.mustKeys(t, "dup", a, b)
}

func TestAtMost64UsableKeys(t *testing.T) {
	t.Parallel()
	is := testissuer.New(t, testissuer.Options{})
	var entries []map[string]any
	for i := range 70 {
		entries = append(entries, testissuer.NewKey(t, fmt.Sprintf("k%02d", i), 0).JWK())
	}
	is.Publish(entries...)
	h := startDirect(t, is, Options{})
	h.waitLoaded(t)
	if st := h.s.Status(); st.Keys != 64 {
		t.Fatalf("status keys = %d, want 64", st.Keys)
	}
	h.mustKeys(t, "k63", testissuer.NewKey(t, "k63", 0))
	h.mustFail(t, "k64", tokencheck.ErrUnknownKID)
}

func TestEDGE39_DiscoveryOneFetchEach(t *testing.T) {
	t.Parallel()
	is := testissuer.New(t, testissuer.Options{TLS: true})
	h := start(t, Options{Issuer: is.URL, Client: is.Server.Client()}) // https, not insecure
	h.waitLoaded(t)
	if err := h.s.Ready(); err != nil {
		t.Fatalf("Ready: %v", err)
	}
	k := is.Signer()
	for range 1000 {
		h.mustKeys(t, k.KID, k)
	}
	if d, j := is.DiscoveryFetches(), is.JWKSFetches(); d != 1 || j != 1 {
		t.Fatalf("discovery fetches %d, JWKS fetches %d; want 1 and 1", d, j)
	}
	if n := h.fetches(metrics.TriggerStartup, metrics.ResultOK); n != 1 {
		t.Fatalf("fetches{startup,ok} = %d, want 1", n)
	}
	if got := testutil.ToFloat64(h.m.JWKSLastSuccess); got != float64(h.clock.Now().Unix()) {
		t.Fatalf("last success = %v, want %d", got, h.clock.Now().Unix())
	}
}

func TestEDGE40_DiscoveryRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		discovery map[string]any
		want      string
	}{
		{"issuer differs", map[string]any{"issuer": "https://other.example"}, `issuer "https://other.example" does not equal`},
		{"issuer missing", map[string]any{"issuer": nil}, `no "issuer"`},
		{"issuer not a string", map[string]any{"issuer": 7}, `no "issuer"`},
		{"jwks_uri relative", map[string]any{"jwks_uri": "/jwks.json"}, "jwks_uri refused: not an absolute URL"},
		{"jwks_uri missing", map[string]any{"jwks_uri": nil}, `no "jwks_uri"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			is := testissuer.New(t, testissuer.Options{})
			is.SetDiscovery(tt.discovery)
			h := start(t, Options{Issuer: is.URL, Insecure: true})
			h.waitFor(t, "a permanent failure", func() bool { return h.s.Status().LastError != "" })
			err := h.s.Ready()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Ready() = %v, want it to name %q", err, tt.want)
			}
			h.mustFail(t, "k1", tokencheck.ErrUnavailable)
			if d, j := is.DiscoveryFetches(), is.JWKSFetches(); d != 1 || j != 0 {
				t.Fatalf("discovery fetches %d, JWKS fetches %d; want 1 and 0", d, j)
			}
		})
	}
}

func TestEDGE41_ScheduledRefreshRemovesKey(t *testing.T) {
	t.Parallel()
	is := testissuer.New(t, testissuer.Options{})
	k1, k2 := is.Signer(), testissuer.NewKey(t, "k2", 1)
	is.Publish(k1.JWK(), k2.JWK())
	h := startDirect(t, is, Options{Refresh: 2 * time.Second})
	h.waitLoaded(t)
	h.mustKeys(t, "k2", k2)

	is.Publish(k1.JWK()) // the provider retires k2
	h.waitFor(t, "a scheduled fetch", func() bool { return h.fetches(metrics.TriggerSchedule, metrics.ResultOK) >= 1 })
	h.mustFail(t, "k2", tokencheck.ErrUnknownKID)
	h.mustKeys(t, "k1", k1)
	if n := is.JWKSFetches(); n < 2 {
		t.Fatalf("%d JWKS fetches, want start-up + scheduled", n)
	}
}

func TestScheduledFailureKeepsSet(t *testing.T) {
	t.Parallel()
	is := testissuer.New(t, testissuer.Options{})
	h := startDirect(t, is, Options{Refresh: time.Second})
	h.waitLoaded(t)
	is.SetFault(testissuer.FaultStatus500)
	h.waitFor(t, "a failed scheduled fetch", func() bool { return h.fetches(metrics.TriggerSchedule, metrics.ResultError) >= 1 })
	h.mustKeys(t, "k1", is.Signer())
	if st := h.s.Status(); st.LastError != "status 500" {
		t.Fatalf("last error %q, want %q", st.LastError, "status 500")
	}
}

func TestEDGE42_RotationRefetch(t *testing.T) {
	t.Parallel()
	is := testissuer.New(t, testissuer.Options{})
	h := startDirect(t, is, Options{MinRefetch: 10 * time.Second})
	h.waitLoaded(t)

	// The last fetch is older than MIN_REFETCH: the first lookup of the new
	// kid refetches once and succeeds in the same call.
	h.clock.Advance(10 * time.Second)
	k2 := testissuer.NewKey(t, "k2", 1)
	is.Rotate(k2)
	h.mustKeys(t, "k2", k2)
	if n := is.JWKSFetches(); n != 2 {
		t.Fatalf("%d JWKS fetches, want 2", n)
	}
	if n := h.fetches(metrics.TriggerUnknownKID, metrics.ResultOK); n != 1 {
		t.Fatalf("fetches{unknown_kid,ok} = %d, want 1", n)
	}

	// Within MIN_REFETCH of that fetch the next new kid fails at once.
	k3 := testissuer.NewKey(t, "k3", 2)
	is.Rotate(k3)
	h.mustFail(t, "k3", tokencheck.ErrUnknownKID)
	h.clock.Advance(10*time.Second - time.Nanosecond)
	h.mustFail(t, "k3", tokencheck.ErrUnknownKID)
	if n, s := is.JWKSFetches(), h.suppressed(); n != 2 || s != 2 {
		t.Fatalf("%d JWKS fetches and %d suppressed, want 2 and 2", n, s)
	}
	// Once the clock passes the window it is accepted.
	h.clock.Advance(time.Nanosecond)
	h.mustKeys(t, "k3", k3)
	h.mustKeys(t, "k2", k2)
	if n := is.JWKSFetches(); n != 3 {
		t.Fatalf("%d JWKS fetches, want 3", n)
	}
}

func TestEDGE43_RandomKIDFlood(t *testing.T) {
	t.Parallel()
	is := testissuer.New(t, testissuer.Options{})
	h := startDirect(t, is, Options{MinRefetch: 10 * time.Second})
	h.waitLoaded(t)
	h.clock.Advance(10 * time.Second)
	for i := range 1000 {
		h.mustFail(t, randomKID(t), tokencheck.ErrUnknownKID)
		if i == 499 {
			h.clock.Advance(9 * time.Second) // still within the window of the refetch
		}
	}
	if n, s := is.JWKSFetches(), h.suppressed(); n != 2 || s != 999 {
		t.Fatalf("%d JWKS fetches and %d suppressed, want 2 and 999", n, s)
	}
	// Across a window boundary: one more.
	h.clock.Advance(time.Second)
	for range 10 {
		h.mustFail(t, randomKID(t), tokencheck.ErrUnknownKID)
	}
	if n := is.JWKSFetches(); n != 3 {
		t.Fatalf("%d JWKS fetches, want 3", n)
	}
	h.mustKeys(t, "k1", is.Signer())
}

func randomKID(t *testing.T) string {
	t.Helper()
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func TestEDGE44_ConcurrentNewKIDSingleFlight(t *testing.T) {
	t.Parallel()
	is := testissuer.New(t, testissuer.Options{})
	h := startDirect(t, is, Options{})
	h.waitLoaded(t)
	k2 := testissuer.NewKey(t, "k2", 1)
	is.Rotate(k2)
	h.clock.Advance(time.Minute)

	var wg sync.WaitGroup
	errs := make(chan error, 50)
	startLine := make(chan struct{})
	for range 50 {
		wg.Go(func() {
			<-startLine
			keys, err := h.s.Keys(context.Background(), "k2")
			if err == nil && (len(keys) != 1 || !keys[0].Equal(&k2.Private.PublicKey)) {
				err = fmt.Errorf("wrong keys: %d", len(keys))
			}
			errs <- err
		})
	}
	close(startLine)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent lookup: %v", err)
		}
	}
	if n := is.JWKSFetches(); n != 2 {
		t.Fatalf("%d JWKS fetches, want 2 (start-up + one refetch)", n)
	}
	if n := h.fetches(metrics.TriggerUnknownKID, metrics.ResultOK); n != 1 {
		t.Fatalf("fetches{unknown_kid,ok} = %d, want 1", n)
	}
}

func TestEDGE45_FailedRefreshKeepsKeys(t *testing.T) {
	t.Parallel()
	is := testissuer.New(t, testissuer.Options{})
	h := startDirect(t, is, Options{MinRefetch: 10 * time.Second})
	h.waitLoaded(t)
	k1 := is.Signer()
	faults := []struct {
		fault testissuer.Fault
		err   string
	}{
		{testissuer.FaultStatus500, "status 500"},
		{testissuer.FaultGarbage, "response is not a JWK set"},
		{testissuer.FaultEmpty, "no usable key in the set"},
	}
	for i, f := range faults {
		is.SetFault(f.fault)
		h.clock.Advance(10 * time.Second)
		h.mustFail(t, "unknown", tokencheck.ErrUnknownKID)
		if n := is.JWKSFetches(); n != int64(i+2) {
			t.Fatalf("fault %d: %d JWKS fetches, want %d", f.fault, n, i+2)
		}
		if n := h.fetches(metrics.TriggerUnknownKID, metrics.ResultError); n != i+1 {
			t.Fatalf("fault %d: fetches{unknown_kid,error} = %d, want %d", f.fault, n, i+1)
		}
		h.mustKeys(t, "k1", k1)
		if err := h.s.Ready(); err != nil {
			t.Fatalf("fault %d: Ready: %v", f.fault, err)
		}
		st := h.s.Status()
		wantAge := float64(10 * (i + 1))
		if st.Keys != 1 || st.AgeS != wantAge || st.LastError != f.err {
			t.Fatalf("fault %d: status %+v, want 1 key, age %v, last error %q", f.fault, st, wantAge, f.err)
		}
		if got := testutil.ToFloat64(h.m.JWKSAge); got != wantAge {
			t.Fatalf("fault %d: jwks_age_seconds = %v, want %v", f.fault, got, wantAge)
		}
	}
	// Recovery: the next good fetch resets the age and clears the error.
	is.SetFault(testissuer.FaultNone)
	h.clock.Advance(10 * time.Second)
	h.mustFail(t, "unknown", tokencheck.ErrUnknownKID)
	if st := h.s.Status(); st.AgeS != 0 || st.LastError != "" {
		t.Fatalf("after recovery: status %+v", st)
	}
}

func TestEDGE46_StaleBeyondMaxStale(t *testing.T) {
	t.Parallel()
	is := testissuer.New(t, testissuer.Options{})
	h := startDirect(t, is, Options{MaxStale: time.Hour})
	h.waitLoaded(t)
	is.SetFault(testissuer.FaultStatus500)
	h.clock.Advance(30 * time.Minute)
	h.mustFail(t, "unknown", tokencheck.ErrUnknownKID) // a failed refetch
	if n := h.fetches(metrics.TriggerUnknownKID, metrics.ResultError); n != 1 {
		t.Fatalf("fetches{unknown_kid,error} = %d, want 1", n)
	}
	h.clock.Advance(30 * time.Minute) // exactly MAX_STALE: still in use
	h.mustKeys(t, "k1", is.Signer())
	if err := h.s.Ready(); err != nil {
		t.Fatalf("Ready at MAX_STALE: %v", err)
	}
	h.clock.Advance(time.Second)
	h.mustFail(t, "k1", tokencheck.ErrUnavailable)
	h.mustFail(t, "unknown", tokencheck.ErrUnavailable)
	err := h.s.Ready()
	if err == nil || !strings.Contains(err.Error(), "stale") || !strings.Contains(err.Error(), "status 500") {
		t.Fatalf("Ready() = %v, want a stale error naming the last failure", err)
	}
}

func TestStaleSetRecoversOnSchedule(t *testing.T) {
	t.Parallel()
	is := testissuer.New(t, testissuer.Options{})
	h := startDirect(t, is, Options{MaxStale: time.Hour, Refresh: time.Second})
	h.waitLoaded(t)
	h.clock.Advance(2 * time.Hour)
	h.mustFail(t, "k1", tokencheck.ErrUnavailable)
	h.waitFor(t, "a scheduled fetch", func() bool { return h.fetches(metrics.TriggerSchedule, metrics.ResultOK) >= 1 })
	if err := h.s.Ready(); err != nil {
		t.Fatalf("Ready after recovery: %v", err)
	}
	h.mustKeys(t, "k1", is.Signer())
}

// gate fronts an issuer and can drop every connection (provider down).
type gate struct {
	URL string
	up  atomic.Bool
}

func newGate(t *testing.T, is *testissuer.Issuer) *gate {
	t.Helper()
	target, err := url.Parse(is.URL)
	if err != nil {
		t.Fatal(err)
	}
	g := &gate{}
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !g.up.Load() {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				_ = conn.Close()
			}
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	g.URL = srv.URL
	is.SetDiscovery(map[string]any{"issuer": g.URL, "jwks_uri": g.URL + "/jwks.json"})
	return g
}

func TestEDGE47_ProviderDownAtStart(t *testing.T) {
	t.Parallel()
	t.Run("discovery", func(t *testing.T) {
		t.Parallel()
		is := testissuer.New(t, testissuer.Options{})
		g := newGate(t, is)
		h := start(t, Options{Issuer: g.URL, Insecure: true, StartBackoffMax: 200 * time.Millisecond})
		h.waitFor(t, "a failed discovery", func() bool { return h.s.Status().LastError != "" })
		if err := h.s.Ready(); err == nil || !strings.Contains(err.Error(), "discovery") {
			t.Fatalf("Ready() = %v, want a discovery error", err)
		}
		h.mustFail(t, "k1", tokencheck.ErrUnavailable)
		g.up.Store(true)
		h.waitLoaded(t)
		if err := h.s.Ready(); err != nil {
			t.Fatalf("Ready: %v", err)
		}
		h.mustKeys(t, "k1", is.Signer())
	})
	t.Run("jwks", func(t *testing.T) {
		t.Parallel()
		is := testissuer.New(t, testissuer.Options{})
		g := newGate(t, is)
		h := start(t, Options{Issuer: g.URL, JWKSURL: g.URL + "/jwks.json", Insecure: true, StartBackoffMax: 200 * time.Millisecond})
		h.waitFor(t, "two failed start-up fetches", func() bool { return h.fetches(metrics.TriggerStartup, metrics.ResultError) >= 2 })
		if err := h.s.Ready(); err == nil {
			t.Fatal("ready without keys")
		}
		h.mustFail(t, "k1", tokencheck.ErrUnavailable)
		g.up.Store(true)
		h.waitLoaded(t)
		if err := h.s.Ready(); err != nil {
			t.Fatalf("Ready: %v", err)
		}
		h.mustKeys(t, "k1", is.Signer())
		if n := h.fetches(metrics.TriggerStartup, metrics.ResultOK); n != 1 {
			t.Fatalf("fetches{startup,ok} = %d, want 1", n)
		}
	})
	t.Run("jwks 500", func(t *testing.T) {
		t.Parallel()
		is := testissuer.New(t, testissuer.Options{})
		is.SetFault(testissuer.FaultStatus500)
		h := startDirect(t, is, Options{StartBackoffMax: 200 * time.Millisecond})
		h.waitFor(t, "two failed start-up fetches", func() bool { return h.fetches(metrics.TriggerStartup, metrics.ResultError) >= 2 })
		if err := h.s.Ready(); err == nil || !strings.Contains(err.Error(), "status 500") {
			t.Fatalf("Ready() = %v, want it to name the status", err)
		}
		is.SetFault(testissuer.FaultNone)
		h.waitLoaded(t)
		h.mustKeys(t, "k1", is.Signer())
	})
}

// docServer serves a JWKS of key padded with spaces to size bytes, and
// redirect chains: /r/N redirects to /r/N-1, /r/0 serves the JWKS.
func docServer(t *testing.T, key *testissuer.Key) *httptest.Server {
	t.Helper()
	jwks := `{"keys":[` + mustJSON(t, key.JWK()) + `]}`
	pad := func(size int) string { return jwks[:len(jwks)-1] + strings.Repeat(" ", size-len(jwks)) + "}" }
	mux := http.NewServeMux()
	mux.HandleFunc("GET /exact", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(pad(maxBody)))
	})
	mux.HandleFunc("GET /over", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(pad(maxBody + 1)))
	})
	mux.HandleFunc("GET /over-declared", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(maxBody+1))
		_, _ = w.Write([]byte(pad(maxBody + 1)))
	})
	mux.HandleFunc("GET /r/{n}", func(w http.ResponseWriter, r *http.Request) {
		n, ok := new(big.Int).SetString(r.PathValue("n"), 10)
		if !ok {
			http.NotFound(w, r)
			return
		}
		if n.Sign() == 0 {
			_, _ = w.Write([]byte(jwks))
			return
		}
		http.Redirect(w, r, "/r/"+n.Sub(n, big.NewInt(1)).String(), http.StatusFound)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestEDGE48_FetchRules(t *testing.T) {
	t.Parallel()
	key := testissuer.NewKey(t, "k1", 0)
	docs := docServer(t, key)

	loads := func(t *testing.T, path string) {
		t.Helper()
		h := start(t, Options{JWKSURL: docs.URL + path, Insecure: true})
		h.waitLoaded(t)
		h.mustKeys(t, "k1", key)
	}
	failsAtStart := func(t *testing.T, u, wantErr string) {
		t.Helper()
		h := start(t, Options{JWKSURL: u, Insecure: true, StartBackoffMax: 200 * time.Millisecond})
		// Wait for the failure this rule causes (a loaded machine may time
		// out an attempt first; the start-up retries follow).
		h.waitFor(t, "a fetch failing with "+wantErr, func() bool { return strings.Contains(h.s.Status().LastError, wantErr) })
		if st := h.s.Status(); st.Keys != 0 {
			t.Fatalf("status %+v, want no keys", st)
		}
		if n := h.fetches(metrics.TriggerStartup, metrics.ResultError); n < 1 {
			t.Fatalf("fetches{startup,error} = %d", n)
		}
		h.mustFail(t, "k1", tokencheck.ErrUnavailable)
	}

	t.Run("body of exactly 1 MiB loads", func(t *testing.T) {
		t.Parallel()
		loads(t, "/exact")
	})
	t.Run("body over 1 MiB fails", func(t *testing.T) {
		t.Parallel()
		failsAtStart(t, docs.URL+"/over", "over 1 MiB")
	})
	t.Run("declared length over 1 MiB fails", func(t *testing.T) {
		t.Parallel()
		failsAtStart(t, docs.URL+"/over-declared", "over 1 MiB")
	})
	t.Run("oversized refresh keeps the set", func(t *testing.T) {
		t.Parallel()
		is := testissuer.New(t, testissuer.Options{})
		h := startDirect(t, is, Options{})
		h.waitLoaded(t)
		is.SetFault(testissuer.FaultOversized)
		h.clock.Advance(time.Minute)
		h.mustFail(t, "unknown", tokencheck.ErrUnknownKID)
		if n := h.fetches(metrics.TriggerUnknownKID, metrics.ResultError); n != 1 {
			t.Fatalf("fetches{unknown_kid,error} = %d, want 1", n)
		}
		h.mustKeys(t, "k1", is.Signer())
	})
	t.Run("three same-origin redirects load", func(t *testing.T) {
		t.Parallel()
		loads(t, "/r/3")
	})
	t.Run("four redirects fail", func(t *testing.T) {
		t.Parallel()
		failsAtStart(t, docs.URL+"/r/4", "more than 3 redirects")
	})
	t.Run("cross-origin redirect fails", func(t *testing.T) {
		t.Parallel()
		is := testissuer.New(t, testissuer.Options{})
		other := testissuer.New(t, testissuer.Options{})
		is.SetFault(testissuer.FaultRedirect)
		is.SetRedirect(other.JWKSURL)
		failsAtStart(t, is.JWKSURL, "another origin")
		if n := other.JWKSFetches(); n != 0 {
			t.Fatalf("the other origin got %d requests", n)
		}
	})
	t.Run("response slower than 5s fails", func(t *testing.T) {
		t.Parallel()
		is := testissuer.New(t, testissuer.Options{})
		h := startDirect(t, is, Options{})
		h.waitLoaded(t)
		is.SetSlow(fetchTimeout + 10*time.Second)
		is.SetFault(testissuer.FaultSlow)
		h.clock.Advance(time.Minute)
		h.mustFail(t, "unknown", tokencheck.ErrUnknownKID)
		h.waitFor(t, "the failed refetch", func() bool { return h.fetches(metrics.TriggerUnknownKID, metrics.ResultError) == 1 })
		if st := h.s.Status(); st.LastError != "timed out after 5s" {
			t.Fatalf("last error %q", st.LastError)
		}
		h.mustKeys(t, "k1", is.Signer())
	})
	t.Run("http JWKS URL refused outside dev mode", func(t *testing.T) {
		t.Parallel()
		is := testissuer.New(t, testissuer.Options{})
		h := start(t, Options{JWKSURL: is.JWKSURL})
		h.waitFor(t, "a refusal", func() bool { return h.s.Ready() != nil && h.s.Status().LastError != "" })
		if err := h.s.Ready(); !strings.Contains(err.Error(), "https required") {
			t.Fatalf("Ready() = %v", err)
		}
		if n := is.JWKSFetches(); n != 0 {
			t.Fatalf("%d JWKS fetches, want 0", n)
		}
	})
	t.Run("http issuer refused outside dev mode", func(t *testing.T) {
		t.Parallel()
		is := testissuer.New(t, testissuer.Options{})
		h := start(t, Options{Issuer: is.URL})
		h.waitFor(t, "a refusal", func() bool { return h.s.Status().LastError != "" })
		if err := h.s.Ready(); err == nil || !strings.Contains(err.Error(), "https required") {
			t.Fatalf("Ready() = %v", err)
		}
		if n := is.DiscoveryFetches(); n != 0 {
			t.Fatalf("%d discovery fetches, want 0", n)
		}
	})
	t.Run("http jwks_uri refused outside dev mode", func(t *testing.T) {
		t.Parallel()
		is := testissuer.New(t, testissuer.Options{TLS: true})
		is.SetDiscovery(map[string]any{"jwks_uri": "http://127.0.0.1:1/jwks.json"})
		h := start(t, Options{Issuer: is.URL, Client: is.Server.Client()})
		h.waitFor(t, "a refusal", func() bool { return h.s.Status().LastError != "" })
		if err := h.s.Ready(); err == nil || !strings.Contains(err.Error(), "jwks_uri refused") {
			t.Fatalf("Ready() = %v", err)
		}
	})
}

func TestSameOrigin(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b string
		want bool
	}{
		{"https://a.example/x", "https://A.example:443/y", true},
		{"http://a.example/x", "http://a.example:80/y", true},
		{"https://a.example/x", "http://a.example/x", false},
		{"https://a.example/x", "https://a.example:8443/x", false},
		{"https://a.example/x", "https://b.example/x", false},
	}
	for _, tt := range tests {
		a, _ := url.Parse(tt.a)
		b, _ := url.Parse(tt.b)
		if got := sameOrigin(a, b); got != tt.want {
			t.Errorf("sameOrigin(%s, %s) = %v", tt.a, tt.b, got)
		}
	}
}

func TestStopsWithContext(t *testing.T) {
	t.Parallel()
	is := testissuer.New(t, testissuer.Options{})
	is.SetFault(testissuer.FaultStatus500)
	ctx, cancel := context.WithCancel(t.Context())
	s := Start(ctx, Options{JWKSURL: is.JWKSURL, Insecure: true, StartBackoffMax: 50 * time.Millisecond}, metrics.New(prometheusRegistry()))
	cancel()
	if _, err := s.Keys(context.Background(), "k1"); err == nil {
		t.Fatal("keys after cancel without a loaded set")
	}
	if s.Ready() == nil {
		t.Fatal("ready without a set")
	}
}

func BenchmarkKeysHit(b *testing.B) {
	is := testissuer.New(b, testissuer.Options{})
	s := Start(b.Context(), Options{JWKSURL: is.JWKSURL, Insecure: true}, metrics.New(prometheusRegistry()))
	select {
	case <-s.loaded:
	case <-time.After(waitLimit):
		b.Fatal("no key set loaded")
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Keys(ctx, "k1"); err != nil {
			b.Fatal(err)
		}
	}
}
