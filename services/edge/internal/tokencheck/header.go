package tokencheck

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/lestrrat-go/jwx/v3/jws"
)

// maxKIDBytes bounds the kid header (§6.2).
const maxKIDBytes = 256

// checkHeader applies §6.2 to the compact token raw (already restricted to
// the base64url alphabet and '.'): three segments, a protected header that
// is one JSON object, then alg, kid, typ and crit/b64 in that order. It
// returns the kid.
//
// The header is decoded here rather than read from jws.Parse's result so that
// each refusal gets its own reason: jwx refuses a numeric kid or an unknown
// alg name while parsing, which would make them all "malformed". Members are
// matched by exact name (a map, not a struct: encoding/json would fold case).
func checkHeader(raw []byte) (string, Reason) {
	if bytes.Count(raw, []byte{'.'}) != 2 {
		return "", Malformed // two segments, JWE's five, ...
	}
	seg := raw[:bytes.IndexByte(raw, '.')]
	dec := make([]byte, base64.RawURLEncoding.DecodedLen(len(seg)))
	n, err := base64.RawURLEncoding.Strict().Decode(dec, seg)
	if err != nil {
		return "", Malformed
	}
	var hdr map[string]json.RawMessage
	if err := json.Unmarshal(dec[:n], &hdr); err != nil || hdr == nil {
		return "", Malformed // not JSON, an array, null, trailing bytes...
	}
	if a := hdr["alg"]; string(a) != `"RS256"` { // the common spelling, compared without a copy
		if alg, ok := jsonString(a); !ok || alg != "RS256" {
			return "", AlgNotAllowed
		}
	}
	kid, ok := jsonString(hdr["kid"])
	if !ok || kid == "" || len(kid) > maxKIDBytes {
		return "", KIDMissing
	}
	if t, present := hdr["typ"]; present {
		typ, ok := jsonString(t)
		if !ok || !typAllowed(typ) {
			return "", TypNotAllowed
		}
	}
	if _, present := hdr["crit"]; present {
		return "", Malformed
	}
	if _, present := hdr["b64"]; present {
		return "", Malformed
	}
	// jku, x5u, jwk, x5c, x5t: ignored, never fetched nor used.
	return kid, ""
}

// typAllowed: absent (not called), JWT, at+jwt or application/at+jwt, in
// any case.
func typAllowed(typ string) bool {
	return strings.EqualFold(typ, "JWT") || strings.EqualFold(typ, "at+jwt") ||
		strings.EqualFold(typ, "application/at+jwt")
}

// jsonString decodes a JSON string member; anything else (absent, null,
// number, ...) is not ok.
func jsonString(m json.RawMessage) (string, bool) {
	if len(m) < 2 || m[0] != '"' {
		return "", false
	}
	if plain := m[1 : len(m)-1]; bytes.IndexByte(plain, '\\') < 0 && bytes.IndexByte(plain, '"') < 0 {
		// No escapes: the common case, without a second decode. (m is a
		// member value json.Unmarshal already validated, so a string
		// without backslashes holds no control bytes.)
		return string(plain), true
	}
	var s string
	if err := json.Unmarshal(m, &s); err != nil {
		return "", false
	}
	return s, true
}

// checkParsed has jwx parse the whole compact JWS without verifying it
// (§6.2): every segment must decode, the payload must be a JSON object, and
// jwx must read the same alg and kid as checkHeader did, so the two parsers
// cannot disagree about what is being verified.
func checkParsed(raw []byte, kid string) Reason {
	msg, err := jws.Parse(raw, jws.WithCompact())
	if err != nil {
		return Malformed
	}
	sigs := msg.Signatures()
	if len(sigs) != 1 {
		return Malformed
	}
	ph := sigs[0].ProtectedHeaders()
	if ph == nil {
		return Malformed
	}
	if alg, ok := ph.Algorithm(); !ok || alg.String() != "RS256" {
		return Malformed
	}
	if k, ok := ph.KeyID(); !ok || k != kid {
		return Malformed
	}
	if ph.Has("crit") || ph.Has("b64") {
		return Malformed
	}
	p := bytes.TrimLeft(msg.Payload(), " \t\r\n")
	if len(p) == 0 || p[0] != '{' {
		return Malformed
	}
	return ""
}
