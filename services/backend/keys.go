package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/db/dbq"
	"github.com/mcpbox/mcpbox/proto/obs"
	"github.com/mcpbox/mcpbox/services/backend/internal/config"
	"github.com/mcpbox/mcpbox/services/backend/internal/seal"
)

// keyCheckSetting is the settings key of the encryption-key check value.
const keyCheckSetting = "encryption_key_check"

// openKeyring parses the encryption keys (backend.md §3).
func openKeyring(cfg config.Store) (*seal.Keyring, error) {
	return seal.New(cfg.KeyID, string(cfg.EncryptionKey), string(cfg.OldKeys))
}

// checkKey is startup step 4 (backend.md §3): every key id a ciphertext
// uses must be configured, and the stored key-check value must open with the
// configured keys; on first start it is created.
func checkKey(ctx context.Context, log *slog.Logger, store *db.Store, keys *seal.Keyring) error {
	counts, err := ciphertextKeyIDs(ctx, store)
	if err != nil {
		return err
	}
	if err := unconfiguredKeyIDs(counts, keys); err != nil {
		return err
	}
	row, err := store.GetSetting(ctx, keyCheckSetting)
	if errors.Is(err, db.ErrNotFound) {
		ct, err := keys.NewKeyCheck()
		if err != nil {
			return err
		}
		value, err := json.Marshal(ct) // []byte → a base64 JSON string
		if err != nil {
			return err
		}
		if _, err := store.UpsertSetting(ctx, dbq.UpsertSettingParams{Key: keyCheckSetting, Value: value, UpdatedBy: "system"}); err != nil {
			return fmt.Errorf("store the encryption key check: %w", err)
		}
		log.InfoContext(ctx, "encryption key check created", obs.KeyKeyID, keys.CurrentID())
		return nil
	}
	if err != nil {
		return fmt.Errorf("read the encryption key check: %w", err)
	}
	var ct []byte
	if err := json.Unmarshal(row.Value, &ct); err != nil {
		return fmt.Errorf("the stored encryption key check is corrupt: %w", err)
	}
	return keys.CheckKey(ct)
}
