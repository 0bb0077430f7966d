package tokencheck

import (
	"context"
	"crypto/rsa"
	"maps"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mcpbox/mcpbox/proto/testclock"
	"github.com/mcpbox/mcpbox/services/edge/internal/metrics"
	"github.com/mcpbox/mcpbox/services/edge/internal/testissuer"
)

const (
	testIssuer   = "https://id.example.test/realms/mcpbox"
	testResource = "https://mcp.example.test/mcp"
)

// fakeKeys is an in-memory KeySource that counts lookups.
type fakeKeys struct {
	calls atomic.Int64
	mu    sync.Mutex
	byKID map[string][]*rsa.PublicKey
	err   error // returned by every lookup when set
}

func (f *fakeKeys) Keys(_ context.Context, kid string) ([]*rsa.PublicKey, error) {
	f.calls.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	ks, ok := f.byKID[kid]
	if !ok {
		return nil, ErrUnknownKID
	}
	return ks, nil
}

func (f *fakeKeys) set(kid string, keys ...*rsa.PublicKey) {
	f.mu.Lock()
	f.byKID[kid] = keys
	f.mu.Unlock()
}

// env is one verifier over a fake key set holding the test issuer's keys.
type env struct {
	clock *testclock.Clock
	k1    *testissuer.Key // published as "k1"
	k2    *testissuer.Key // published as "k2"
	other *testissuer.Key // named "k1" but never published (an attacker's key)
	keys  *fakeKeys
	m     *metrics.Edge
	v     *Verifier
}

// newEnv builds an env with skew 60 s, issuer testIssuer and audience
// testResource; mod may change the Config before New.
func newEnv(t testing.TB, mod func(*Config)) *env {
	t.Helper()
	e := &env{
		clock: testclock.New(),
		k1:    testissuer.NewKey(t, "k1", 0),
		k2:    testissuer.NewKey(t, "k2", 1),
		other: testissuer.NewKey(t, "k1", 2),
		keys:  &fakeKeys{byKID: map[string][]*rsa.PublicKey{}},
		m:     metrics.New(prometheus.NewRegistry()),
	}
	e.keys.set("k1", &e.k1.Private.PublicKey)
	e.keys.set("k2", &e.k2.Private.PublicKey)
	cfg := Config{
		Issuer:    testIssuer,
		Audiences: []string{testResource},
		Skew:      60 * time.Second,
		Now:       e.clock.Now,
	}
	if mod != nil {
		mod(&cfg)
	}
	e.v = New(cfg, e.keys, e.m)
	return e
}

// claims are valid claims issued now for sub "user-1" with a verified email.
func (e *env) claims(edit map[string]any) map[string]any {
	now := e.clock.Now().Unix()
	c := map[string]any{
		"iss": testIssuer, "sub": "user-1", "aud": testResource,
		"iat": now, "exp": now + 3600,
		"email": "alice@example.com", "email_verified": true,
	}
	return merge(c, edit)
}

// header is a valid protected header for k1, edited by edit.
func header(edit map[string]any) map[string]any {
	return merge(map[string]any{"alg": "RS256", "kid": "k1", "typ": "JWT"}, edit)
}

// merge copies base and applies edit; a nil value in edit deletes the member.
func merge(base, edit map[string]any) map[string]any {
	out := maps.Clone(base)
	for k, v := range edit {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

// token is a valid RS256 token of k1 with the claims edited by edit.
func (e *env) token(edit map[string]any) string {
	return testissuer.Sign(header(nil), e.claims(edit), e.k1.Private)
}

func bearer(tok string) http.Header {
	return http.Header{"Authorization": {"Bearer " + tok}}
}

func (e *env) check(t testing.TB, h http.Header) (Identity, *Rejection) {
	t.Helper()
	return e.v.Check(context.Background(), h)
}

// mustAccept checks the token in h and fails unless it is verified.
func (e *env) mustAccept(t testing.TB, h http.Header) Identity {
	t.Helper()
	id, rej := e.check(t, h)
	if rej != nil {
		t.Fatalf("rejected %+v, want verified", *rej)
	}
	if id.Subject == "" || id.Issuer != testIssuer {
		t.Fatalf("identity %+v", id)
	}
	return id
}

// mustReject checks the token in h and fails unless it is refused for want,
// with the status, error code and description of §6.6.
func (e *env) mustReject(t testing.TB, h http.Header, want Reason) {
	t.Helper()
	id, rej := e.check(t, h)
	if rej == nil {
		t.Fatalf("verified %+v, want rejection %s", id, want)
	}
	if id != (Identity{}) {
		t.Errorf("rejection came with identity %+v", id)
	}
	wantRejection(t, rej, want)
}

// wantRejection compares rej with the §6.6 outcome of reason want, written
// out independently of the package's own table.
func wantRejection(t testing.TB, rej *Rejection, want Reason) {
	t.Helper()
	w := Rejection{Reason: want, Status: 401, Error: "invalid_token", Description: "token verification failed"}
	switch want {
	case NoToken:
		w.Error, w.Description = "", ""
	case DuplicateHeader:
		w.Status, w.Error, w.Description = 400, "invalid_request", ""
	case InsufficientScope:
		w.Status, w.Error, w.Description = 403, "insufficient_scope", ""
	case ClientNotAllowed:
		w.Status, w.Error, w.Description = 403, "access_denied", ""
	case KeysUnavailable:
		w.Status, w.Error, w.Description = 503, "unavailable", ""
	case Expired:
		w.Description = "token expired"
	case NotYetValid:
		w.Description = "token not yet valid"
	case AudMismatch:
		w.Description = "token audience does not match this resource"
	case IssMismatch:
		w.Description = "token issuer not accepted"
	}
	if *rej != w {
		t.Fatalf("rejection %+v, want %+v", *rej, w)
	}
}

func withheld(m *metrics.Edge, reason string) float64 {
	return testutil.ToFloat64(m.EmailWithheld.WithLabelValues(reason))
}
