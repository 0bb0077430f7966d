package jwks

import (
	"crypto/rsa"
	"encoding/json"
	"slices"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"

	"github.com/mcpbox/mcpbox/services/edge/internal/metrics"
)

// Limits of the usable-key filter (edge.md §3, §7.2).
const (
	maxUsableKeys  = 64
	minModulusBits = 2048
	// maxModulusBits bounds verification cost; larger moduli are refused
	// like small ones (reason "size").
	maxModulusBits = 16384
	// maxExponent keeps e a normal public exponent (Go's crypto/rsa refuses
	// larger ones at verification anyway).
	maxExponent = 1<<31 - 1
)

// skipped is one set entry the filter refused.
type skipped struct {
	index  int
	kid    string
	reason string // metrics.Skip*
}

// usable is the result of filtering one set: the keys by kid, each list in
// document order, and the number of keys kept.
type usable struct {
	byKID   map[string][]*rsa.PublicKey
	n       int
	skipped []skipped
	dropped int // usable keys beyond maxUsableKeys
}

// filterSet applies §7.2 to every entry of set, in document order.
func filterSet(set jwk.Set) usable {
	u := usable{byKID: make(map[string][]*rsa.PublicKey)}
	for i := range set.Len() {
		key, ok := set.Key(i)
		if !ok {
			continue
		}
		pub, kid, reason := check(key)
		if reason != "" {
			u.skipped = append(u.skipped, skipped{index: i, kid: kid, reason: reason})
			continue
		}
		if u.n == maxUsableKeys {
			u.dropped++
			continue
		}
		l := u.byKID[kid]
		u.byKID[kid] = append(l[:len(l):len(l)], pub)
		u.n++
	}
	// Callers get these slices; cap == len keeps an append on their side
	// from writing into our array.
	for kid, l := range u.byKID {
		u.byKID[kid] = slices.Clip(l)
	}
	return u
}

// check returns the RSA public key of a usable entry, or the reason it is
// skipped. The kid is returned in both cases (for the warning).
func check(key jwk.Key) (*rsa.PublicKey, string, string) {
	if uk, ok := key.(jwk.UnsupportedKey); ok {
		kid, reason := checkUnparsed(uk)
		return nil, kid, reason
	}
	kid, _ := key.KeyID()
	if key.KeyType() != jwa.RSA() {
		return nil, kid, metrics.SkipKty
	}
	if use, ok := key.KeyUsage(); ok && use != "sig" {
		return nil, kid, metrics.SkipUse
	}
	if ops, ok := key.KeyOps(); ok && !slices.Contains(ops, jwk.KeyOpVerify) {
		return nil, kid, metrics.SkipUse
	}
	if alg, ok := key.Algorithm(); ok && alg.String() != jwa.RS256().String() {
		return nil, kid, metrics.SkipAlg
	}
	if kid == "" {
		return nil, kid, metrics.SkipNoKID
	}
	pub, err := jwk.PublicKeyOf(key)
	if err != nil {
		return nil, kid, metrics.SkipSize
	}
	var raw rsa.PublicKey
	if err := jwk.Export(pub, &raw); err != nil || !saneRSA(&raw) {
		return nil, kid, metrics.SkipSize
	}
	return &raw, kid, ""
}

func saneRSA(k *rsa.PublicKey) bool {
	if k.N == nil {
		return false
	}
	bits := k.N.BitLen()
	return bits >= minModulusBits && bits <= maxModulusBits && k.N.Bit(0) == 1 &&
		k.E >= 3 && k.E <= maxExponent && k.E%2 == 1
}

// checkUnparsed classifies an entry jwx could not parse (kept as a
// placeholder because the set is parsed leniently): the same checks on its
// raw members, and "size" when only the key material itself is refused
// (modulus too small, bad exponent, missing n or e).
func checkUnparsed(uk jwk.UnsupportedKey) (string, string) {
	raw, err := json.Marshal(uk)
	if err != nil {
		return "", metrics.SkipKty
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return "", metrics.SkipKty
	}
	str := func(name string) (string, bool, bool) { // value, present, is a string
		v, ok := m[name]
		if !ok {
			return "", false, false
		}
		var s string
		return s, true, json.Unmarshal(v, &s) == nil
	}
	kid, _, kidOK := str("kid")
	if !kidOK {
		kid = ""
	}
	if kty, _, _ := str("kty"); kty != "RSA" {
		return kid, metrics.SkipKty
	}
	if use, present, _ := str("use"); present && use != "sig" {
		return kid, metrics.SkipUse
	}
	if v, ok := m["key_ops"]; ok {
		var ops []string
		if json.Unmarshal(v, &ops) != nil || !slices.Contains(ops, "verify") {
			return kid, metrics.SkipUse
		}
	}
	if alg, present, _ := str("alg"); present && alg != "RS256" {
		return kid, metrics.SkipAlg
	}
	if kid == "" {
		return kid, metrics.SkipNoKID
	}
	return kid, metrics.SkipSize
}
