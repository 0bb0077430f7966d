// Package testissuer is the edge tests' identity provider (edge.md §2, §19
// harness): RSA keys, an OIDC discovery document and a JWKS on an httptest
// server that counts fetches and injects faults, and a token forger that
// writes any header and claims, signed by any algorithm, so the attacks of
// §19 can be built byte by byte. Only tests import it.
package testissuer

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Key is an RSA signing key with its kid.
type Key struct {
	KID     string
	Private *rsa.PrivateKey
}

// keyPool caches generated RSA keys per size: generation is slow, and
// tests only need distinct keys, not fresh ones.
var keyPool = struct { //nolint:gochecknoglobals // test-only cache: RSA generation is slow
	sync.Mutex
	keys map[int][]*rsa.PrivateKey
}{keys: map[int][]*rsa.PrivateKey{}}

// rsaKey returns a fresh-to-the-caller RSA key of bits; keys are generated
// once per process and handed out round-robin by index, so tests stay fast.
func rsaKey(t testing.TB, bits, index int) *rsa.PrivateKey {
	t.Helper()
	keyPool.Lock()
	defer keyPool.Unlock()
	for len(keyPool.keys[bits]) <= index {
		k, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			t.Fatal(err)
		}
		keyPool.keys[bits] = append(keyPool.keys[bits], k)
	}
	return keyPool.keys[bits][index]
}

// NewKey returns the index-th 2048-bit test key (the same key for the same
// index within a process) named kid.
func NewKey(t testing.TB, kid string, index int) *Key {
	t.Helper()
	return &Key{KID: kid, Private: rsaKey(t, 2048, index)}
}

// NewWeakKey returns a 1024-bit key named kid (never usable, EDGE-38).
func NewWeakKey(t testing.TB, kid string) *Key {
	t.Helper()
	return &Key{KID: kid, Private: rsaKey(t, 1024, 0)}
}

// JWK is the public JWK of k: kty RSA, kid, use sig, alg RS256, n, e.
func (k *Key) JWK() map[string]any {
	return map[string]any{
		"kty": "RSA", "kid": k.KID, "use": "sig", "alg": "RS256",
		"n": b64(k.Private.N.Bytes()), "e": b64(big.NewInt(int64(k.Private.E)).Bytes()),
	}
}

// Fault makes the JWKS endpoint misbehave.
type Fault int

// Faults of the JWKS endpoint (§19 harness).
const (
	FaultNone      Fault = iota
	FaultStatus500       // 500 with a JSON body
	FaultGarbage         // 200 with a body that is not JSON
	FaultEmpty           // 200 {"keys":[]}
	FaultSlow            // waits SlowFor before answering (default 6 s)
	FaultOversized       // 200 with a body over 1 MiB
	FaultRedirect        // 302 to RedirectTo
)

// Issuer is a running test identity provider.
type Issuer struct {
	// URL is the issuer (the server's base URL); JWKSURL is URL + "/jwks.json".
	URL, JWKSURL string
	// Server is the underlying httptest server.
	Server *httptest.Server

	mu         sync.Mutex
	keys       []map[string]any // published JWKS entries, in order
	signer     *Key
	fault      Fault
	redirectTo string
	slowFor    time.Duration
	discovery  map[string]any // overrides of the discovery document

	jwksFetches      atomic.Int64
	discoveryFetches atomic.Int64
	now              func() time.Time
}

// Options configure New.
type Options struct {
	// Now is the clock of minted tokens (default time.Now).
	Now func() time.Time
	// TLS serves https (httptest's TLS server); Client() then trusts it.
	TLS bool
}

// New starts an issuer with one published signing key, kid "k1".
func New(t testing.TB, o Options) *Issuer {
	t.Helper()
	is := &Issuer{now: o.Now, slowFor: 6 * time.Second}
	if is.now == nil {
		is.now = time.Now
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", is.serveDiscovery)
	mux.HandleFunc("GET /jwks.json", is.serveJWKS)
	if o.TLS {
		is.Server = httptest.NewTLSServer(mux)
	} else {
		is.Server = httptest.NewServer(mux)
	}
	t.Cleanup(is.Server.Close)
	is.URL = is.Server.URL
	is.JWKSURL = is.URL + "/jwks.json"
	k := NewKey(t, "k1", 0)
	is.signer = k
	is.keys = []map[string]any{k.JWK()}
	return is
}

// Signer returns the key tokens are signed with.
func (is *Issuer) Signer() *Key {
	is.mu.Lock()
	defer is.mu.Unlock()
	return is.signer
}

// SetSigner makes k the signing key (it is not published by this call).
func (is *Issuer) SetSigner(k *Key) {
	is.mu.Lock()
	is.signer = k
	is.mu.Unlock()
}

// Publish replaces the JWKS entries (raw JWK objects, in order).
func (is *Issuer) Publish(entries ...map[string]any) {
	is.mu.Lock()
	is.keys = entries
	is.mu.Unlock()
}

// Rotate publishes k next to the current keys and signs with it.
func (is *Issuer) Rotate(k *Key) {
	is.mu.Lock()
	is.keys = append(is.keys, k.JWK())
	is.signer = k
	is.mu.Unlock()
}

// SetFault makes the JWKS endpoint misbehave from now on.
func (is *Issuer) SetFault(f Fault) {
	is.mu.Lock()
	is.fault = f
	is.mu.Unlock()
}

// SetRedirect sets the target of FaultRedirect.
func (is *Issuer) SetRedirect(url string) {
	is.mu.Lock()
	is.redirectTo = url
	is.mu.Unlock()
}

// SetSlow sets how long FaultSlow waits.
func (is *Issuer) SetSlow(d time.Duration) {
	is.mu.Lock()
	is.slowFor = d
	is.mu.Unlock()
}

// SetDiscovery overrides fields of the discovery document (a nil value
// removes the field).
func (is *Issuer) SetDiscovery(fields map[string]any) {
	is.mu.Lock()
	is.discovery = fields
	is.mu.Unlock()
}

// JWKSFetches and DiscoveryFetches count requests served so far.
func (is *Issuer) JWKSFetches() int64 { return is.jwksFetches.Load() }

// DiscoveryFetches counts discovery requests served so far.
func (is *Issuer) DiscoveryFetches() int64 { return is.discoveryFetches.Load() }

func (is *Issuer) serveDiscovery(w http.ResponseWriter, _ *http.Request) {
	is.discoveryFetches.Add(1)
	doc := map[string]any{
		"issuer": is.URL, "jwks_uri": is.JWKSURL,
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
	}
	is.mu.Lock()
	for k, v := range is.discovery {
		if v == nil {
			delete(doc, k)
		} else {
			doc[k] = v
		}
	}
	is.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(doc)
}

func (is *Issuer) serveJWKS(w http.ResponseWriter, r *http.Request) {
	is.jwksFetches.Add(1)
	is.mu.Lock()
	fault, redirect, slow := is.fault, is.redirectTo, is.slowFor
	doc, _ := json.Marshal(map[string]any{"keys": is.keys})
	is.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch fault {
	case FaultStatus500:
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"error":"boom"}`))
	case FaultGarbage:
		_, _ = w.Write([]byte("<html>not a key set"))
	case FaultEmpty:
		_, _ = w.Write([]byte(`{"keys":[]}`))
	case FaultSlow:
		select {
		case <-time.After(slow):
		case <-r.Context().Done():
			return
		}
		_, _ = w.Write(doc)
	case FaultOversized:
		pad := strings.Repeat(" ", 1<<20+1)
		_, _ = w.Write([]byte(`{"keys":[]` + pad + `}`))
	case FaultRedirect:
		http.Redirect(w, r, redirect, http.StatusFound)
	default:
		_, _ = w.Write(doc)
	}
}

// Claims returns valid claims for sub and aud, issued now by this issuer:
// iss, sub, aud, iat, exp (+1 h). Tests edit the map before signing.
func (is *Issuer) Claims(sub, aud string) map[string]any {
	now := is.now()
	return map[string]any{
		"iss": is.URL, "sub": sub, "aud": aud,
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	}
}

// Token signs claims with the current signer (RS256, kid of the signer,
// typ JWT).
func (is *Issuer) Token(claims map[string]any) string {
	k := is.Signer()
	return Sign(map[string]any{"alg": "RS256", "kid": k.KID, "typ": "JWT"}, claims, k.Private)
}

// Sign builds a compact JWS of header and claims, signed according to
// header["alg"] with key: *rsa.PrivateKey for RS*/PS*, []byte for HS*,
// *ecdsa.PrivateKey for ES256; "none" or an unknown alg gives an empty
// signature. It never validates anything: forging is the point.
func Sign(header, claims map[string]any, key any) string {
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	return SignRaw(h, c, header["alg"], key)
}

// SignRaw signs the exact header and payload bytes given.
func SignRaw(header, payload []byte, alg, key any) string {
	input := b64(header) + "." + b64(payload)
	name, _ := alg.(string)
	return input + "." + b64(signature(name, []byte(input), key))
}

func signature(alg string, input []byte, key any) []byte {
	digest := func(h crypto.Hash) []byte {
		d := h.New()
		d.Write(input)
		return d.Sum(nil)
	}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		var h crypto.Hash
		switch alg {
		case "RS256", "PS256", "rs256":
			h = crypto.SHA256
		case "RS384":
			h = crypto.SHA384
		case "RS512":
			h = crypto.SHA512
		default:
			h = crypto.SHA256
		}
		if strings.HasPrefix(alg, "PS") {
			s, _ := rsa.SignPSS(rand.Reader, k, h, digest(h), nil)
			return s
		}
		s, _ := rsa.SignPKCS1v15(rand.Reader, k, h, digest(h))
		return s
	case []byte:
		m := hmac.New(sha256.New, k)
		switch alg {
		case "HS384":
			m = hmac.New(sha512.New384, k)
		case "HS512":
			m = hmac.New(sha512.New, k)
		}
		m.Write(input)
		return m.Sum(nil)
	case *ecdsa.PrivateKey:
		d := digest(crypto.SHA256)
		r, s, _ := ecdsa.Sign(rand.Reader, k, d)
		out := make([]byte, 64)
		r.FillBytes(out[:32])
		s.FillBytes(out[32:])
		return out
	}
	return nil
}

// NewECKey returns a P-256 key (ES256 attacks).
func NewECKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// B64 is unpadded base64url, exported for tests that build segments.
func B64(b []byte) string { return b64(b) }

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
