package seal

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
)

// macKeyLen is the length of a key derived for MAC, the size of SHA-256.
const macKeyLen = sha256.Size

// extractPRK is HKDF-Extract(SHA-256, key, no salt): the pseudorandom key
// from which every MAC key of a configured key is expanded. It stands in
// for the raw key, which the Keyring does not keep. The error cases of
// crypto/hkdf (FIPS 140-only mode with a key under 112 bits) cannot occur
// for a 32-byte key, so a failure is a broken invariant.
func extractPRK(key []byte) []byte {
	prk, err := hkdf.Extract(sha256.New, key, nil)
	if err != nil {
		panic("seal: hkdf.Extract of a 32-byte key: " + err.Error())
	}
	return prk
}

// macKey is HKDF-SHA256(key, info) = HKDF-Expand(extractPRK(key), info, 32)
// for the key whose pseudorandom key is prk.
func macKey(prk []byte, info string) []byte {
	k, err := hkdf.Expand(sha256.New, prk, info, macKeyLen)
	if err != nil {
		panic("seal: hkdf.Expand of 32 bytes: " + err.Error())
	}
	return k
}

// mac is HMAC-SHA256(HKDF-SHA256(key, info), msg).
func mac(prk []byte, info string, msg []byte) []byte {
	key := macKey(prk, info)
	defer clear(key)
	h := hmac.New(sha256.New, key)
	h.Write(msg)
	return h.Sum(nil)
}

// MAC returns HMAC-SHA256(K, msg) with K = HKDF-SHA256(current encryption
// key, info) (no salt, 32 bytes): for example the signature of an export,
// info "mcpbox export v2" (backend.md §14.4). The key itself never leaves
// the Keyring; info separates the uses of one key.
func (k *Keyring) MAC(info string, msg []byte) []byte {
	return mac(k.prks[k.currentID], info, msg)
}

// VerifyMAC reports whether sum is the MAC of msg for info under the
// current key or any old key (MCPBOX_ENCRYPTION_OLD_KEYS), so a value
// made before a key rotation still verifies; keyID is the id of the key
// that made it (0 when none did). Comparisons take constant time.
func (k *Keyring) VerifyMAC(info string, msg, sum []byte) (keyID int, ok bool) {
	if len(sum) != sha256.Size {
		return 0, false
	}
	if hmac.Equal(mac(k.prks[k.currentID], info, msg), sum) {
		return int(k.currentID), true
	}
	for id, prk := range k.prks {
		if prk != nil && id != int(k.currentID) && hmac.Equal(mac(prk, info, msg), sum) {
			return id, true
		}
	}
	return 0, false
}
