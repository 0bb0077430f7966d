// Package tokencheck verifies the bearer token of a /mcp request (edge.md §6):
// extraction, protected-header checks, RS256 signature against a key chosen
// by kid, claims with an injected clock, and the identity handed to the
// gateway. Every refusal carries one reason label of §15.
//
// # Order of the checks
//
// Check runs the steps of §6 in order and stops at the first failure:
//
//  1. Extraction (§6.1, extract.go): the single Authorization header, scheme
//     Bearer in any case, one space, then the token. A token over 8 KiB is
//     too_large before anything else looks at it; then only the base64url
//     alphabet and '.' are allowed.
//  2. Protected header (§6.2, header.go): exactly three segments; the header
//     decoded strictly by this package (exact member names, one JSON object,
//     nothing after it) and checked for alg, kid, typ, then crit/b64; then the
//     whole compact JWS parsed by jwx's jws.Parse, which must agree on alg and
//     kid, and whose payload must be a JSON object.
//  3. Signature (§6.3): the keys named kid from the KeySource, each tried in
//     order with jws.Verify(jws.WithKey(jwa.RS256(), key)) — the algorithm
//     and the *rsa.PublicKey always given explicitly; no key set, no jku, no
//     algorithm inference.
//  4. Claims (§6.4, claims.go): the verified payload decoded with
//     encoding/json (UseNumber) and checked in this order: iss, aud, exp,
//     nbf, iat, sub, azp/client_id, scope/scp, against Config.Now.
//  5. Identity (§6.5): sub, and the email only when forwardable.
//
// Cost: the RSA verification dominates. jwx parses the compact form twice
// (jws.Parse before the key lookup, so a shape failure never reaches the
// KeySource, and again inside jws.Verify); the header and the claims are
// decoded once more here. No regexp is compiled per call (proto.ValidEmail's
// patterns are compiled once).
//
// # Decisions where the spec is silent
//
//   - "Bearer" with no token (Go's server trims "Bearer " to it), or Bearer
//     followed by a tab, is an invalid token (malformed), not "no token".
//     Any other first word ("Basic", "Bearerx", "Token") is no token.
//   - The header is decoded by this package before jws.Parse so that each
//     failure gets its own reason (jwx refuses a numeric kid or an unknown
//     alg name while parsing): a numeric kid is kid_missing, "rs256" is
//     alg_not_allowed, a numeric typ is typ_not_allowed, a crit or b64 member
//     of any value (null included) is malformed. If jws.Parse then fails
//     (payload or signature not base64url, payload not an object, empty
//     signature, unparsable jwk/x5c member) the token is malformed.
//   - A KeySource error other than ErrUnknownKID (context cancelled, any
//     unexpected error) is treated as ErrUnavailable: 503, fail closed. An
//     empty key list without an error is kid_unknown.
//   - Numeric dates may be fractional; a value out of float64 range counts as
//     ±infinity (so nbf 1e999 is not yet valid). nbf and iat of the wrong
//     JSON type count as missing, hence are not checked (§6.4 "a claim of the
//     wrong JSON type counts as missing").
//   - aud as an array must hold strings only; an array with another element
//     type is aud_mismatch. scope must be a string; scp a string or an array
//     (non-string elements ignored). Scope strings are split on spaces only.
//   - azp of the wrong type counts as missing, so client_id is consulted.
//   - Email: a missing or null claim is "absent"; any other non-string or a
//     string failing proto.ValidEmail is "invalid"; then email_verified
//     false (boolean) or "false" (string, any case) is "unverified"; with
//     RequireEmailVerified anything but boolean true is "unverified".
//   - Description is set for invalid_token only; the 400, 403 and 503
//     rejections carry none (their error code says it all).
package tokencheck

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jws"

	"github.com/mcpbox/mcpbox/services/edge/internal/metrics"
)

// Reason is a rejection reason label (edge.md §15).
type Reason string

// Reasons of §6 / §15.
const (
	NoToken           Reason = "no_token"
	Malformed         Reason = "malformed"
	TooLarge          Reason = "too_large"
	AlgNotAllowed     Reason = "alg_not_allowed"
	KIDMissing        Reason = "kid_missing"
	KIDUnknown        Reason = "kid_unknown"
	TypNotAllowed     Reason = "typ_not_allowed"
	SignatureInvalid  Reason = "signature_invalid"
	IssMismatch       Reason = "iss_mismatch"
	AudMismatch       Reason = "aud_mismatch"
	ExpMissing        Reason = "exp_missing"
	Expired           Reason = "expired"
	NotYetValid       Reason = "not_yet_valid"
	SubInvalid        Reason = "sub_invalid"
	ClientNotAllowed  Reason = "client_not_allowed"
	InsufficientScope Reason = "insufficient_scope"
	KeysUnavailable   Reason = "keys_unavailable"
	// DuplicateHeader is more than one Authorization header (400
	// invalid_request). It is counted as malformed.
	DuplicateHeader Reason = "duplicate_header"
)

// Reasons returns every reason label of mcpbox_edge_jwt_rejections_total,
// so its series can start at zero (operations.md §3.3); DuplicateHeader is
// counted as Malformed and has no series of its own.
func Reasons() []Reason {
	return []Reason{
		NoToken, Malformed, TooLarge, AlgNotAllowed, KIDMissing, KIDUnknown, TypNotAllowed, SignatureInvalid, IssMismatch,
		AudMismatch, ExpMissing, Expired, NotYetValid, SubInvalid, ClientNotAllowed, InsufficientScope, KeysUnavailable,
	}
}

// Errors a KeySource returns.
var (
	// ErrUnknownKID: no usable key has that kid, even after the
	// rate-limited refetch.
	ErrUnknownKID = errors.New("tokencheck: unknown kid")
	// ErrUnavailable: no usable key set (never loaded, or too stale).
	ErrUnavailable = errors.New("tokencheck: keys unavailable")
)

// KeySource gives the usable RSA keys named kid, in document order
// (jwks.Source implements it; §7.3's refetch happens inside).
type KeySource interface {
	Keys(ctx context.Context, kid string) ([]*rsa.PublicKey, error)
}

// Config is the verification policy (from the edge configuration).
type Config struct {
	Issuer               string
	Audiences            []string
	Skew                 time.Duration
	RequiredScopes       []string // every one must be granted
	AllowedClients       []string // empty: any
	EmailClaim           string   // default "email"
	RequireEmailVerified bool
	Now                  func() time.Time // default time.Now
}

// Identity is what a verified token hands to the gateway (§6.5).
type Identity struct {
	Issuer  string
	Subject string
	// Email is set only when forwardable; otherwise EmailWithheld says why
	// (metrics.EmailAbsent, EmailInvalid, EmailUnverified).
	Email         string
	EmailWithheld string
}

// Rejection is a refused token (§6.6).
type Rejection struct {
	Reason Reason
	Status int // 400, 401, 403 or 503
	// Error is the OAuth error code for WWW-Authenticate and the body:
	// "" for no token (body says "unauthorized"), invalid_request,
	// invalid_token, insufficient_scope, access_denied, unavailable.
	Error string
	// Description is the fixed phrase of §6.6 (invalid_token only).
	Description string
}

// The fixed error_description phrases of §6.6.
const (
	descExpired     = "token expired"
	descNotYetValid = "token not yet valid"
	descAudience    = "token audience does not match this resource"
	descIssuer      = "token issuer not accepted"
	descFailed      = "token verification failed"
)

// reject builds the Rejection of reason r (§6.6).
func reject(r Reason) *Rejection {
	switch r {
	case NoToken:
		return &Rejection{Reason: r, Status: http.StatusUnauthorized}
	case DuplicateHeader:
		return &Rejection{Reason: r, Status: http.StatusBadRequest, Error: "invalid_request"}
	case InsufficientScope:
		return &Rejection{Reason: r, Status: http.StatusForbidden, Error: "insufficient_scope"}
	case ClientNotAllowed:
		return &Rejection{Reason: r, Status: http.StatusForbidden, Error: "access_denied"}
	case KeysUnavailable:
		return &Rejection{Reason: r, Status: http.StatusServiceUnavailable, Error: "unavailable"}
	}
	d := descFailed
	switch r {
	case Expired:
		d = descExpired
	case NotYetValid:
		d = descNotYetValid
	case AudMismatch:
		d = descAudience
	case IssMismatch:
		d = descIssuer
	}
	return &Rejection{Reason: r, Status: http.StatusUnauthorized, Error: "invalid_token", Description: d}
}

// Verifier checks tokens. Safe for concurrent use.
type Verifier struct {
	cfg  Config
	keys KeySource
	m    *metrics.Edge
}

// New returns a Verifier; m counts email_withheld (rejections are counted
// by the caller, which also counts the outcome). Empty entries of the
// Config lists are dropped; the lists are copied.
func New(cfg Config, keys KeySource, m *metrics.Edge) *Verifier {
	if cfg.EmailClaim == "" {
		cfg.EmailClaim = "email"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Skew < 0 {
		cfg.Skew = 0
	}
	cfg.Audiences = nonEmpty(cfg.Audiences)
	cfg.RequiredScopes = nonEmpty(cfg.RequiredScopes)
	cfg.AllowedClients = nonEmpty(cfg.AllowedClients)
	return &Verifier{cfg: cfg, keys: keys, m: m}
}

func nonEmpty(in []string) []string {
	out := make([]string, 0, len(in))
	for _, s := range in {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Check verifies the request's bearer token. Exactly one of the results is
// meaningful: a nil *Rejection means id is verified.
func (v *Verifier) Check(ctx context.Context, h http.Header) (Identity, *Rejection) {
	tok, r := extract(h)
	if r != "" {
		return Identity{}, reject(r)
	}
	raw := []byte(tok)
	kid, r := checkHeader(raw)
	if r != "" {
		return Identity{}, reject(r)
	}
	if r := checkParsed(raw, kid); r != "" {
		return Identity{}, reject(r)
	}
	payload, r := v.verify(ctx, raw, kid)
	if r != "" {
		return Identity{}, reject(r)
	}
	c, ok := decodeClaims(payload)
	if !ok {
		return Identity{}, reject(Malformed)
	}
	id, r := v.checkClaims(c)
	if r != "" {
		return Identity{}, reject(r)
	}
	id.Email, id.EmailWithheld = v.email(c)
	if id.EmailWithheld != "" && v.m != nil {
		v.m.EmailWithheld.WithLabelValues(id.EmailWithheld).Inc()
	}
	return id, nil
}

// verify looks the kid up and returns the payload of the first key, in
// order, under which the RS256 signature verifies (§6.3).
func (v *Verifier) verify(ctx context.Context, raw []byte, kid string) ([]byte, Reason) {
	keys, err := v.keys.Keys(ctx, kid)
	switch {
	case errors.Is(err, ErrUnknownKID):
		return nil, KIDUnknown
	case err != nil:
		return nil, KeysUnavailable
	case len(keys) == 0:
		return nil, KIDUnknown
	}
	for _, k := range keys {
		if k == nil {
			continue
		}
		payload, err := jws.Verify(raw,
			jws.WithKey(jwa.RS256(), k), // algorithm and key both fixed here, never by the token
			jws.WithCompact(),
			jws.WithAlgorithmMatch(true),
		)
		if err == nil {
			return payload, ""
		}
	}
	return nil, SignatureInvalid
}

// decodeClaims decodes a verified payload: one JSON object, numbers kept as
// json.Number, nothing after it.
func decodeClaims(payload []byte) (map[string]any, bool) {
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var c map[string]any
	if err := dec.Decode(&c); err != nil || c == nil {
		return nil, false
	}
	if len(bytes.TrimLeft(payload[dec.InputOffset():], " \t\r\n")) != 0 {
		return nil, false // something after the object
	}
	return c, true
}
