package seal_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/mcpbox/mcpbox/services/backend/internal/seal"
)

const exportInfo = "mcpbox export v2"

// hmacSHA256 is HMAC-SHA256(key, msg).
func hmacSHA256(key, msg []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write(msg)
	return h.Sum(nil)
}

// wantMAC computes HMAC-SHA256(HKDF-SHA256(key, info), msg) step by step
// from RFC 5869 (no salt = 32 zero bytes; one expansion block, T(1) =
// HMAC(PRK, info ‖ 0x01)), independently of package seal and crypto/hkdf.
func wantMAC(t *testing.T, keyHex, info string, msg []byte) []byte {
	t.Helper()
	key, err := hex.DecodeString(keyHex)
	if err != nil {
		t.Fatal(err)
	}
	prk := hmacSHA256(make([]byte, sha256.Size), key)
	k := hmacSHA256(prk, append([]byte(info), 0x01))
	return hmacSHA256(k, msg)
}

func TestMACIsHMACUnderHKDFKey(t *testing.T) {
	t.Parallel()
	k, err := seal.New(1, key1, "")
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte(`{"format":"mcpbox-export","format_version":2}`)
	got := k.MAC(exportInfo, msg)
	if want := wantMAC(t, key1, exportInfo, msg); !bytes.Equal(got, want) {
		t.Fatalf("MAC = %x, want %x", got, want)
	}
	if id, ok := k.VerifyMAC(exportInfo, msg, got); !ok || id != 1 {
		t.Fatalf("VerifyMAC of its own MAC = %d, %v", id, ok)
	}
	if bytes.Equal(k.MAC("another use", msg), got) {
		t.Fatal("a different info gives the same MAC; info must separate the uses of a key")
	}
	if _, ok := k.VerifyMAC("another use", msg, got); ok {
		t.Fatal("a MAC verified under another info")
	}
	tampered := bytes.Clone(msg)
	tampered[3]++
	if _, ok := k.VerifyMAC(exportInfo, tampered, got); ok {
		t.Fatal("a changed message verified")
	}
	for _, bad := range [][]byte{nil, got[:31], append(bytes.Clone(got), 0)} {
		if _, ok := k.VerifyMAC(exportInfo, msg, bad); ok {
			t.Fatalf("a MAC of %d bytes verified", len(bad))
		}
	}
}

// A MAC made before a key rotation verifies while the old key is
// configured, names the old key's id, and stops verifying once it is
// removed; MACs are made with the current key only.
func TestVerifyMACAcceptsOldKeys(t *testing.T) {
	t.Parallel()
	before, err := seal.New(1, key1, "")
	if err != nil {
		t.Fatal(err)
	}
	rotated, err := seal.New(2, key2, "1:"+key1+",3:"+key3)
	if err != nil {
		t.Fatal(err)
	}
	removed, err := seal.New(2, key2, "3:"+key3)
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("signed before the rotation")
	sum := before.MAC(exportInfo, msg)
	if id, ok := rotated.VerifyMAC(exportInfo, msg, sum); !ok || id != 1 {
		t.Fatalf("after rotation: VerifyMAC = %d, %v; want key id 1", id, ok)
	}
	if _, ok := removed.VerifyMAC(exportInfo, msg, sum); ok {
		t.Fatal("a MAC of a removed key verified")
	}
	now := rotated.MAC(exportInfo, msg)
	if want := wantMAC(t, key2, exportInfo, msg); !bytes.Equal(now, want) {
		t.Fatalf("MAC after rotation = %x, want the current key's %x", now, want)
	}
	if id, ok := removed.VerifyMAC(exportInfo, msg, now); !ok || id != 2 {
		t.Fatalf("current key: VerifyMAC = %d, %v", id, ok)
	}
}
