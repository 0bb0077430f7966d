package accesstoken

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/lestrrat-go/jwx/v3/jwt"
)

// Names of the private claims.
const (
	claimSessionID       = "sid"
	claimPasswordVersion = "pv"
)

// maxTokenLen bounds the input Verify parses; real tokens are under 400
// bytes.
const maxTokenLen = 4096

// requiredClaims are the claims a token must carry (backend.md §7.3).
func requiredClaims() []string {
	return []string{
		jwt.IssuerKey, jwt.AudienceKey, jwt.SubjectKey, claimSessionID, claimPasswordVersion,
		jwt.JwtIDKey, jwt.IssuedAtKey, jwt.ExpirationKey,
	}
}

// Sign issues an access token for a session: header alg EdDSA with the
// active key's kid; claims iss, aud, sub (userID), sid (sessionID), pv
// (passwordVersion), a random jti, iat (now, whole seconds) and
// exp = iat + Lifetime. It returns the compact token and its claims.
func (i *Issuer) Sign(ctx context.Context, userID, sessionID uuid.UUID, passwordVersion int32) (string, Claims, error) {
	key, err := i.signingKey(ctx)
	if err != nil {
		return "", Claims{}, err
	}
	var jti [16]byte
	_, _ = rand.Read(jti[:]) // never fails (crypto/rand)
	iat := i.now().UTC().Truncate(time.Second)
	c := Claims{
		UserID:          userID,
		SessionID:       sessionID,
		PasswordVersion: passwordVersion,
		JTI:             hex.EncodeToString(jti[:]),
		IssuedAt:        iat,
		ExpiresAt:       iat.Add(Lifetime),
	}
	tok, err := jwt.NewBuilder().
		Issuer(ClaimIssuer).
		Audience([]string{ClaimAudience}).
		Subject(c.UserID.String()).
		Claim(claimSessionID, c.SessionID.String()).
		Claim(claimPasswordVersion, c.PasswordVersion).
		JwtID(c.JTI).
		IssuedAt(c.IssuedAt).
		Expiration(c.ExpiresAt).
		Build()
	if err != nil {
		return "", Claims{}, fmt.Errorf("accesstoken: build token: %w", err)
	}
	tok.Options().Enable(jwt.FlattenAudience) // "aud":"mcpbox-admin", not a one-element array
	hdr := jws.NewHeaders()
	if err := hdr.Set(jws.KeyIDKey, key.kid); err != nil {
		return "", Claims{}, fmt.Errorf("accesstoken: set kid: %w", err)
	}
	signed, err := jwt.Sign(tok, jwt.WithKey(jwa.EdDSA(), key.priv, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		return "", Claims{}, fmt.Errorf("accesstoken: sign token: %w", err)
	}
	return string(signed), c, nil
}

// Verify checks an access token and returns its claims. The token must be
// compact, signed with EdDSA by a known key (the active one or one retired
// less than 8 days ago; an unknown kid reloads the keys at most once a
// second, to see another replica's rotation), carry every claim with iss
// and aud exactly ClaimIssuer and ClaimAudience, and be valid now within
// Skew. It returns ErrExpired for a genuine token past exp + Skew,
// ErrInvalid (wrapped with the reason) for any other rejected token, and
// another error only when reloading the keys failed.
func (i *Issuer) Verify(ctx context.Context, token string) (Claims, error) {
	kid, err := header(token)
	if err != nil {
		return Claims{}, err
	}
	pub, ok, err := i.publicKey(ctx, kid)
	if err != nil {
		return Claims{}, err
	}
	if !ok {
		return Claims{}, invalid("unknown signing key")
	}
	opts := []jwt.ParseOption{
		jwt.WithKey(jwa.EdDSA(), pub),
		jwt.WithStrictStringClaims(true),
		jwt.WithTypedClaim(claimSessionID, ""),
		jwt.WithTypedClaim(claimPasswordVersion, int32(0)),
		jwt.WithClock(jwt.ClockFunc(i.now)),
		jwt.WithAcceptableSkew(Skew),
		jwt.WithIssuer(ClaimIssuer),
		jwt.WithAudience(ClaimAudience),
	}
	for _, name := range requiredClaims() {
		opts = append(opts, jwt.WithRequiredClaim(name))
	}
	tok, err := jwt.ParseString(token, opts...)
	if err != nil {
		return Claims{}, classify(err)
	}
	return claims(tok)
}

// header checks the token's shape and protected header and returns its kid:
// three base64url segments (canonical, no padding), alg exactly "EdDSA",
// a kid, no other serialization.
func header(token string) (string, error) {
	if len(token) > maxTokenLen {
		return "", invalid("longer than 4096 bytes")
	}
	segments := strings.Split(token, ".")
	if len(segments) != 3 {
		return "", invalid("not a compact JWS")
	}
	if segments[2] == "" {
		return "", invalid("no signature")
	}
	for _, s := range segments {
		// Strict: a signature with other trailing bits would decode to the
		// same bytes, making a second spelling of one token.
		if _, err := base64.RawURLEncoding.Strict().DecodeString(s); err != nil || s == "" {
			return "", invalid("segment is not base64url")
		}
	}
	msg, err := jws.ParseString(token, jws.WithCompact())
	if err != nil {
		return "", invalid("malformed JWS")
	}
	sigs := msg.Signatures()
	if len(sigs) != 1 {
		return "", invalid("not exactly one signature")
	}
	h := sigs[0].ProtectedHeaders()
	if alg, ok := h.Algorithm(); !ok || alg.String() != jwa.EdDSA().String() {
		return "", invalid("algorithm is not EdDSA")
	}
	kid, ok := h.KeyID()
	if !ok || kid == "" {
		return "", invalid("no kid")
	}
	return kid, nil
}

// classify maps a jwx parse or validation error to ErrExpired or ErrInvalid
// with a reason of its own: jwx's messages are not shown, as they could
// quote the token.
func classify(err error) error {
	switch {
	case errors.Is(err, jwt.TokenExpiredError()):
		return ErrExpired
	case errors.Is(err, jws.VerificationError()), errors.Is(err, jws.VerifyError()):
		return invalid("bad signature")
	case errors.Is(err, jwt.MissingRequiredClaimError()):
		return invalid("missing claim")
	case errors.Is(err, jwt.InvalidIssuerError()):
		return invalid("wrong iss")
	case errors.Is(err, jwt.InvalidAudienceError()):
		return invalid("wrong aud")
	case errors.Is(err, jwt.InvalidIssuedAtError()):
		return invalid("iat in the future")
	case errors.Is(err, jwt.TokenNotYetValidError()):
		return invalid("not yet valid")
	case errors.Is(err, jwt.ValidateError()):
		return invalid("claims rejected")
	default:
		return invalid("malformed token")
	}
}

// claims reads a verified token's claims and checks what jwx does not:
// exactly one audience, canonical UUIDs, a jti of 32 hex digits and
// 0 < exp - iat <= Lifetime.
func claims(tok jwt.Token) (Claims, error) {
	var c Claims
	if aud, _ := tok.Audience(); len(aud) != 1 {
		return Claims{}, invalid("aud is not exactly one value")
	}
	sub, _ := tok.Subject()
	var err error
	if c.UserID, err = parseUUID(sub); err != nil {
		return Claims{}, invalid("sub is not a UUID")
	}
	var sid string
	if err := tok.Get(claimSessionID, &sid); err != nil {
		return Claims{}, invalid("sid is not a string")
	}
	if c.SessionID, err = parseUUID(sid); err != nil {
		return Claims{}, invalid("sid is not a UUID")
	}
	if err := tok.Get(claimPasswordVersion, &c.PasswordVersion); err != nil {
		return Claims{}, invalid("pv is not a 32-bit integer")
	}
	c.JTI, _ = tok.JwtID()
	if b, err := hex.DecodeString(c.JTI); err != nil || len(b) != 16 || strings.ToLower(c.JTI) != c.JTI {
		return Claims{}, invalid("jti is not 32 lowercase hex digits")
	}
	iat, _ := tok.IssuedAt()
	exp, _ := tok.Expiration()
	c.IssuedAt, c.ExpiresAt = iat.UTC(), exp.UTC()
	if d := c.ExpiresAt.Sub(c.IssuedAt); d <= 0 || d > Lifetime {
		return Claims{}, invalid("exp is not within 15 minutes after iat")
	}
	return c, nil
}

// parseUUID accepts only the canonical lowercase form that Sign writes.
func parseUUID(s string) (uuid.UUID, error) {
	id, err := uuid.Parse(s)
	if err != nil {
		return uuid.UUID{}, err
	}
	if id.String() != s {
		return uuid.UUID{}, errors.New("not canonical")
	}
	return id, nil
}

// invalid wraps ErrInvalid with a reason for the log; reasons never quote
// the token.
func invalid(reason string) error {
	return fmt.Errorf("%w (%s)", ErrInvalid, reason)
}
