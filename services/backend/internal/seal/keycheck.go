package seal

import (
	"errors"
	"fmt"
)

// keyCheckError carries the exact startup message of backend.md §3 step 4
// while still matching ErrDecrypt or ErrUnknownKeyID with errors.Is/As.
type keyCheckError struct {
	msg string
	err error
}

func (e *keyCheckError) Error() string { return e.msg }
func (e *keyCheckError) Unwrap() error { return e.err }

// NewKeyCheck seals KeyCheckPlaintext for settings.encryption_key_check,
// written on a database's first start (backend.md §3 step 4).
func (k *Keyring) NewKeyCheck() ([]byte, error) {
	return k.Seal(PurposeKeyCheck, []byte(KeyCheckPlaintext))
}

// CheckKey opens the stored key-check value (startup step 4). When the
// configured key for the value's id is not the one that sealed it, the
// error text is exactly "MCPBOX_ENCRYPTION_KEY does not match the key this
// database was created with (key id N)" and it matches ErrDecrypt; when the
// id is not configured at all, the error names the id and
// MCPBOX_ENCRYPTION_OLD_KEYS and matches ErrUnknownKeyID.
func (k *Keyring) CheckKey(stored []byte) error {
	id, err := KeyID(stored)
	if err != nil {
		return fmt.Errorf("settings.encryption_key_check: %w", err)
	}
	if !k.Has(id) {
		return &keyCheckError{
			msg: fmt.Sprintf("key id %d, which sealed this database's key check, is not configured: "+
				"make it the current key (MCPBOX_ENCRYPTION_KEY_ID=%d) or add it to MCPBOX_ENCRYPTION_OLD_KEYS as %d:<64 hex characters>",
				id, id, id),
			err: &UnknownKeyIDError{ID: id},
		}
	}
	plaintext, err := k.Open(PurposeKeyCheck, stored)
	if err == nil && string(plaintext) != KeyCheckPlaintext {
		err = ErrDecrypt // sealed with our key and purpose, but not by NewKeyCheck
	}
	if err != nil {
		if !errors.Is(err, ErrDecrypt) {
			return fmt.Errorf("settings.encryption_key_check: %w", err)
		}
		return &keyCheckError{
			msg: fmt.Sprintf("MCPBOX_ENCRYPTION_KEY does not match the key this database was created with (key id %d)", id),
			err: err,
		}
	}
	return nil
}
