package transfer

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/mcpbox/mcpbox/proto/canon"
	"github.com/mcpbox/mcpbox/services/backend/internal/seal"
)

// Messages of the signature checks; they say what to do next.
const (
	msgSignatureMissing = "The document has no signature; only files exported by MCPbox (GET /api/v1/export) can be imported."
	msgSignatureInvalid = "The document's signature does not match its content under this installation's encryption keys: " +
		"the file was changed after it was exported, or it was exported by an installation with another " +
		"MCPBOX_ENCRYPTION_KEY (add that key to MCPBOX_ENCRYPTION_OLD_KEYS to import it)."
)

// sign sets d.Signature: HMAC-SHA256 under HKDF-SHA256(current key,
// "mcpbox export v2") of the canonical JSON of d without its signature.
func sign(keys *seal.Keyring, d *Document) error {
	d.Signature = ""
	msg, err := canon.Marshal(d)
	if err != nil {
		return fmt.Errorf("sign export: %w", err)
	}
	d.Signature = SignaturePrefix + hex.EncodeToString(keys.MAC(signatureInfo, msg))
	return nil
}

// verify checks the signature of a document decoded as its top-level
// members against the current and the old keys and returns the id of the
// key that made it. The signed message is the canonical JSON of every other
// member, so whitespace and member order do not matter but any change of a
// value does. Errors are *SignatureError.
func verify(keys *seal.Keyring, top map[string]json.RawMessage) (int, error) {
	raw, ok := top["signature"]
	if !ok || string(raw) == "null" {
		return 0, &SignatureError{Missing: true, Message: msgSignatureMissing}
	}
	var sig string
	if json.Unmarshal(raw, &sig) != nil {
		return 0, &SignatureError{Message: msgSignatureInvalid}
	}
	if sig == "" {
		return 0, &SignatureError{Missing: true, Message: msgSignatureMissing}
	}
	hexSum, ok := strings.CutPrefix(sig, SignaturePrefix)
	sum, err := hex.DecodeString(hexSum)
	if !ok || err != nil || hexSum != strings.ToLower(hexSum) {
		return 0, &SignatureError{Message: msgSignatureInvalid}
	}
	rest := make(map[string]json.RawMessage, len(top))
	for k, v := range top {
		if k != "signature" {
			rest[k] = v
		}
	}
	msg, err := canon.Marshal(rest)
	if err != nil {
		return 0, &SignatureError{Message: msgSignatureInvalid}
	}
	id, ok := keys.VerifyMAC(signatureInfo, msg, sum)
	if !ok {
		return 0, &SignatureError{Message: msgSignatureInvalid}
	}
	return id, nil
}
