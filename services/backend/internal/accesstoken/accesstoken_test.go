package accesstoken_test

import (
	"crypto/ed25519"
	"errors"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/mcpbox/mcpbox/db/dbtest"
	"github.com/mcpbox/mcpbox/services/backend/internal/accesstoken"
)

func TestBE17_SignedTokenVerifies(t *testing.T) {
	t.Parallel()
	store := dbtest.New(t)
	clock := newClock()
	iss := newIssuer(t, store, clock)
	kid, _ := activeKey(t, store)

	user, session := uuid.New(), uuid.New()
	token, signed, err := iss.Sign(t.Context(), user, session, 7)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	hdr := decodeSegment(t, token, 0)
	if hdr["alg"] != "EdDSA" || hdr["kid"] != kid {
		t.Errorf("header = %v, want alg EdDSA and kid %s", hdr, kid)
	}
	body := decodeSegment(t, token, 1)
	wantBody := map[string]any{
		"iss": "mcpbox", "aud": "mcpbox-admin", "sub": user.String(), "sid": session.String(),
		"pv": float64(7), "jti": signed.JTI,
		"iat": float64(signed.IssuedAt.Unix()), "exp": float64(signed.IssuedAt.Add(15 * time.Minute).Unix()),
	}
	if !maps.Equal(body, wantBody) {
		t.Errorf("payload = %v, want %v", body, wantBody)
	}
	if len(signed.JTI) != 32 {
		t.Errorf("jti %q: want 128 bits as 32 hex digits", signed.JTI)
	}
	if d := clock.Now().Sub(signed.IssuedAt); d < 0 || d >= time.Second {
		t.Errorf("iat %v is not the clock's %v in whole seconds", signed.IssuedAt, clock.Now())
	}

	got, err := iss.Verify(t.Context(), token)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	want := accesstoken.Claims{
		UserID: user, SessionID: session, PasswordVersion: 7,
		JTI: signed.JTI, IssuedAt: signed.IssuedAt, ExpiresAt: signed.ExpiresAt,
	}
	if !sameClaims(want, got) || !sameClaims(signed, got) {
		t.Errorf("Verify = %+v, want %+v", got, want)
	}

	_, again, err := iss.Sign(t.Context(), user, session, 7)
	if err != nil {
		t.Fatal(err)
	}
	if again.JTI == signed.JTI {
		t.Error("two tokens share a jti")
	}
}

// TestBE17_RejectedTokens signs tokens that each break one rule, with the
// real key where the rule is not about the key.
func TestBE17_RejectedTokens(t *testing.T) {
	t.Parallel()
	store := dbtest.New(t)
	clock := newClock()
	iss := newIssuer(t, store, clock)
	kid, priv := activeKey(t, store)
	now := clock.Now()
	_, otherPriv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	genuine, _ := mustSign(t, iss)
	parts := strings.Split(genuine, ".")

	edHeader := map[string]any{"alg": "EdDSA", "kid": kid, "typ": "JWT"}
	with := func(change func(m map[string]any)) map[string]any {
		m := goodClaims(now)
		change(m)
		return m
	}
	without := func(name string) map[string]any { return with(func(m map[string]any) { delete(m, name) }) }
	set := func(name string, v any) map[string]any { return with(func(m map[string]any) { m[name] = v }) }

	jwxHS256 := func() string { // HS256 through jwx, keyed with the Ed25519 public key (algorithm confusion)
		tok, err := jwt.NewBuilder().Issuer(accesstoken.ClaimIssuer).Audience([]string{accesstoken.ClaimAudience}).
			Subject(uuid.NewString()).Claim("sid", uuid.NewString()).Claim("pv", 1).JwtID(strings.Repeat("ab", 16)).
			IssuedAt(now).Expiration(now.Add(time.Minute)).Build()
		if err != nil {
			t.Fatal(err)
		}
		h := jws.NewHeaders()
		if err := h.Set(jws.KeyIDKey, kid); err != nil {
			t.Fatal(err)
		}
		signed, err := jwt.Sign(tok, jwt.WithKey(jwa.HS256(), []byte(priv.Public().(ed25519.PublicKey)),
			jws.WithProtectedHeaders(h)))
		if err != nil {
			t.Fatal(err)
		}
		return string(signed)
	}()
	jwxNone := func() string {
		tok, err := jwt.NewBuilder().Issuer(accesstoken.ClaimIssuer).Build()
		if err != nil {
			t.Fatal(err)
		}
		signed, err := jwt.Sign(tok, jwt.WithInsecureNoSignature())
		if err != nil {
			t.Fatal(err)
		}
		return string(signed)
	}()
	otherPayload := b64(mustJSON(t, goodClaims(now)))

	tests := []struct {
		name   string
		token  string
		reason string // the rule that rejects it, as Verify words it for the log
	}{
		{"HS256 with the public key as secret", jwxHS256, "algorithm is not EdDSA"},
		{"HS256 hand-built", rawToken(t, map[string]any{"alg": "HS256", "kid": kid, "typ": "JWT"}, goodClaims(now),
			hmacSigner([]byte("any secret at all"))), "algorithm is not EdDSA"},
		{"alg none via jwx", jwxNone, "no signature"},
		{"alg none with kid", rawToken(t, map[string]any{"alg": "none", "kid": kid}, goodClaims(now),
			func([]byte) []byte { return nil }), "no signature"},
		{"alg none with kid and a real signature", rawToken(t, map[string]any{"alg": "none", "kid": kid},
			goodClaims(now), edSigner(priv)), "algorithm is not EdDSA"},
		{"alg Ed25519 (fully specified)", rawToken(t, map[string]any{"alg": "Ed25519", "kid": kid},
			goodClaims(now), edSigner(priv)), "algorithm is not EdDSA"},
		{"no alg", rawToken(t, map[string]any{"kid": kid}, goodClaims(now), edSigner(priv)), "algorithm is not EdDSA"},
		{"no kid", rawToken(t, map[string]any{"alg": "EdDSA"}, goodClaims(now), edSigner(priv)), "no kid"},
		{"unknown kid", rawToken(t, map[string]any{"alg": "EdDSA", "kid": "00000000deadbeef"}, goodClaims(now),
			edSigner(otherPriv)), "unknown signing key"},
		{"known kid, other key", rawToken(t, edHeader, goodClaims(now), edSigner(otherPriv)), "bad signature"},
		{"tampered payload", parts[0] + "." + otherPayload + "." + parts[2], "bad signature"},
		{"tampered signature", parts[0] + "." + parts[1] + "." + b64(make([]byte, 64)), "bad signature"},
		{"signature cut", parts[0] + "." + parts[1] + ".", "no signature"},
		{"no exp", rawToken(t, edHeader, without("exp"), edSigner(priv)), "missing claim"},
		{"no sid", rawToken(t, edHeader, without("sid"), edSigner(priv)), "missing claim"},
		{"no pv", rawToken(t, edHeader, without("pv"), edSigner(priv)), "missing claim"},
		{"no sub", rawToken(t, edHeader, without("sub"), edSigner(priv)), "missing claim"},
		{"no jti", rawToken(t, edHeader, without("jti"), edSigner(priv)), "missing claim"},
		{"no iat", rawToken(t, edHeader, without("iat"), edSigner(priv)), "missing claim"},
		{"no iss", rawToken(t, edHeader, without("iss"), edSigner(priv)), "wrong iss"},
		{"no aud", rawToken(t, edHeader, without("aud"), edSigner(priv)), "wrong aud"},
		{"wrong aud", rawToken(t, edHeader, set("aud", "mcpbox-gateway"), edSigner(priv)), "wrong aud"},
		{"aud with a second value", rawToken(t, edHeader, set("aud", []string{"mcpbox-admin", "other"}),
			edSigner(priv)), "aud is not exactly one value"},
		{"wrong iss", rawToken(t, edHeader, set("iss", "mcpbox2"), edSigner(priv)), "wrong iss"},
		{"null iss", rawToken(t, edHeader, set("iss", nil), edSigner(priv)), "malformed token"},
		{"sub not a UUID", rawToken(t, edHeader, set("sub", "admin"), edSigner(priv)), "sub is not a UUID"},
		{
			"sub not canonical", rawToken(t, edHeader, set("sub", "{"+uuid.NewString()+"}"), edSigner(priv)),
			"sub is not a UUID",
		},
		{"sid not a UUID", rawToken(t, edHeader, set("sid", "x"), edSigner(priv)), "sid is not a UUID"},
		{"sid a number", rawToken(t, edHeader, set("sid", 5), edSigner(priv)), "malformed token"},
		{"pv a string", rawToken(t, edHeader, set("pv", "3"), edSigner(priv)), "malformed token"},
		{"pv a fraction", rawToken(t, edHeader, set("pv", 1.5), edSigner(priv)), "malformed token"},
		{"pv beyond 32 bits", rawToken(t, edHeader, set("pv", int64(1)<<40), edSigner(priv)), "malformed token"},
		{
			"jti not hex", rawToken(t, edHeader, set("jti", "not-random"), edSigner(priv)),
			"jti is not 32 lowercase hex digits",
		},
		{"iat in the future beyond skew", rawToken(t, edHeader, with(func(m map[string]any) {
			m["iat"] = now.Add(2 * time.Minute).Unix()
			m["exp"] = now.Add(17 * time.Minute).Unix()
		}), edSigner(priv)), "iat in the future"},
		{
			"exp a day after iat", rawToken(t, edHeader, set("exp", now.Add(24*time.Hour).Unix()), edSigner(priv)),
			"exp is not within 15 minutes after iat",
		},
		{
			"nbf in the future", rawToken(t, edHeader, set("nbf", now.Add(5*time.Minute).Unix()), edSigner(priv)),
			"not yet valid",
		},
		{"JSON serialization", `{"payload":"` + parts[1] + `","protected":"` + parts[0] + `","signature":"` +
			parts[2] + `"}`, "not a compact JWS"},
		{"padding", parts[0] + "." + parts[1] + "." + parts[2] + "==", "segment is not base64url"},
		{"empty", "", "not a compact JWS"},
		{"garbage", "a.b.c", "segment is not base64url"},
		{"too long", parts[0] + "." + strings.Repeat("A", 5000) + "." + parts[2], "longer than 4096 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := iss.Verify(t.Context(), tt.token)
			if !errors.Is(err, accesstoken.ErrInvalid) || errors.Is(err, accesstoken.ErrExpired) {
				t.Fatalf("Verify = %+v, %v; want ErrInvalid", c, err)
			}
			if !strings.Contains(err.Error(), "("+tt.reason+")") {
				t.Errorf("Verify error %q, want the reason %q", err, tt.reason)
			}
			if len(tt.token) > 8 && strings.Contains(err.Error(), tt.token) {
				t.Errorf("error %q echoes the token", err)
			}
			for _, p := range strings.Split(tt.token, ".") {
				if len(p) > 8 && strings.Contains(err.Error(), p) {
					t.Errorf("error %q echoes part of the token", err)
				}
			}
		})
	}
}

// TestBE17_Expiry: exp passed by more than the 60 s skew is ErrExpired;
// within the skew the token still verifies.
func TestBE17_Expiry(t *testing.T) {
	t.Parallel()
	store := dbtest.New(t)
	signer := newIssuer(t, store, newClock())
	token, claims := mustSign(t, signer)

	tests := []struct {
		name    string
		after   time.Duration // from iat
		wantErr error
	}{
		{"fresh", 0, nil},
		{"one second before exp", 14*time.Minute + 59*time.Second, nil},
		{"expired by 30 s, within skew", 15*time.Minute + 30*time.Second, nil},
		{"expired by 61 s", 15*time.Minute + 61*time.Second, accesstoken.ErrExpired},
		{"expired by a day", 24 * time.Hour, accesstoken.ErrExpired},
		{"iat 30 s ahead of the verifier, within skew", -30 * time.Second, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// The verifier is another replica whose clock reads iat + after.
			clock := &testClock{t: claims.IssuedAt.Add(tt.after)}
			verifier := newIssuer(t, store, clock)
			got, err := verifier.Verify(t.Context(), token)
			if !errors.Is(err, tt.wantErr) || (err != nil && tt.wantErr == nil) {
				t.Fatalf("Verify after %v: %v, want %v", tt.after, err, tt.wantErr)
			}
			if tt.wantErr == nil && !sameClaims(claims, got) {
				t.Errorf("Verify = %+v, want %+v", got, claims)
			}
			if errors.Is(err, accesstoken.ErrExpired) && errors.Is(err, accesstoken.ErrInvalid) {
				t.Errorf("expired token is also ErrInvalid: %v", err)
			}
		})
	}
}

// TestBE17_ExpiredForgeryIsInvalid: an expired token with a bad signature
// is ErrInvalid, not ErrExpired; expiry is only reported for genuine tokens.
func TestBE17_ExpiredForgeryIsInvalid(t *testing.T) {
	t.Parallel()
	store := dbtest.New(t)
	clock := newClock()
	iss := newIssuer(t, store, clock)
	kid, _ := activeKey(t, store)
	_, other, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	old := goodClaims(clock.Now().Add(-time.Hour))
	token := rawToken(t, map[string]any{"alg": "EdDSA", "kid": kid}, old, edSigner(other))
	if _, err := iss.Verify(t.Context(), token); !errors.Is(err, accesstoken.ErrInvalid) {
		t.Fatalf("Verify = %v, want ErrInvalid", err)
	}
}

// TestVerifyAcceptsHandBuiltToken checks the test helpers themselves: a
// token they build with the real key and good claims verifies, so each
// rejection above is caused by the one rule it breaks.
func TestVerifyAcceptsHandBuiltToken(t *testing.T) {
	t.Parallel()
	store := dbtest.New(t)
	clock := newClock()
	iss := newIssuer(t, store, clock)
	kid, priv := activeKey(t, store)
	claims := goodClaims(clock.Now())
	for _, aud := range []any{accesstoken.ClaimAudience, []string{accesstoken.ClaimAudience}} {
		claims["aud"] = aud
		token := rawToken(t, map[string]any{"alg": "EdDSA", "kid": kid}, claims, edSigner(priv))
		got, err := iss.Verify(t.Context(), token)
		if err != nil {
			t.Fatalf("aud %v: Verify: %v", aud, err)
		}
		if got.UserID.String() != claims["sub"] || got.SessionID.String() != claims["sid"] || got.PasswordVersion != 3 {
			t.Errorf("aud %v: Verify = %+v, want the claims %v", aud, got, claims)
		}
	}
}
