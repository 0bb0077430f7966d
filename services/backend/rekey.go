package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/db/dbq"
	"github.com/mcpbox/mcpbox/proto/obs"
	"github.com/mcpbox/mcpbox/services/backend/internal/seal"
)

// Log keys of the rekey summary.
const (
	keyTable          = "table"
	keyRekeyed        = "rekeyed"
	keyAlreadyCurrent = "already_current"
)

// rekey implements `backend rekey` (backend.md §3, §12.1): it re-encrypts
// every ciphertext that is not under the current key id, one row per
// transaction, and logs per table how many rows it re-encrypted and how many
// were already current. It refuses to start while a ciphertext's key id is
// not configured, and it is idempotent: a second run re-encrypts nothing.
// Afterwards the old keys can be removed from MCPBOX_ENCRYPTION_OLD_KEYS.
func rekey(ctx context.Context, args, environ []string, stdout io.Writer) error {
	if len(args) > 0 {
		return fmt.Errorf("rekey takes no arguments (got %q)", args)
	}
	m, err := openMaintenance(ctx, environ, stdout)
	if err != nil {
		return err
	}
	defer m.Close()
	counts, err := ciphertextKeyIDs(ctx, m.store)
	if err != nil {
		return err
	}
	if err := unconfiguredKeyIDs(counts, m.keys); err != nil {
		return fmt.Errorf("rekey: %w", err)
	}
	// The configured keys must be the ones this database was created with
	// before anything is sealed under the current one.
	if err := checkKey(ctx, m.log, m.store, m.keys); err != nil {
		return err
	}
	for _, t := range rekeyTables() {
		rows, err := t.rows(ctx, m.store)
		if err != nil {
			return fmt.Errorf("rekey %s: list rows: %w", t.name, err)
		}
		var rekeyed, current int
		for _, row := range rows {
			var changed bool
			err := m.store.InTx(ctx, db.ReadCommitted, func(q *dbq.Queries) error {
				var err error
				changed, err = row.reseal(ctx, q, m.keys)
				return err
			})
			switch {
			case errors.Is(err, db.ErrNotFound):
				continue // deleted since it was listed: nothing left to re-encrypt
			case err != nil:
				return fmt.Errorf("rekey %s %s (%d rows re-encrypted so far; fix the cause and run rekey again): %w",
					t.name, row.name, rekeyed, err)
			case changed:
				rekeyed++
			default:
				current++
			}
		}
		m.log.InfoContext(ctx, "rekey table done", keyTable, t.name, keyRekeyed, rekeyed, keyAlreadyCurrent, current)
	}
	m.log.InfoContext(ctx, "rekey complete: every ciphertext is under the current key; old keys can be removed from MCPBOX_ENCRYPTION_OLD_KEYS",
		obs.KeyKeyID, m.keys.CurrentID())
	return nil
}

// ciphertextKeyIDs counts the rows holding ciphertexts by key id and table
// (shared by rekey and `migrate check`).
func ciphertextKeyIDs(ctx context.Context, store *db.Store) ([]dbq.CiphertextKeyIDsRow, error) {
	rows, err := store.CiphertextKeyIDs(ctx)
	if err != nil {
		return nil, fmt.Errorf("count ciphertexts by key id: %w", err)
	}
	return rows, nil
}

// unconfiguredKeyIDs returns an error naming every key id of counts that
// keys lacks, with its row count per table, or nil when every id is
// configured.
func unconfiguredKeyIDs(counts []dbq.CiphertextKeyIDsRow, keys *seal.Keyring) error {
	type missing struct {
		id     int32
		rows   int64
		tables []string
	}
	var list []*missing
	for _, c := range counts { // ordered by key id
		if keys.Has(int(c.KeyID)) {
			continue
		}
		if len(list) == 0 || list[len(list)-1].id != c.KeyID {
			list = append(list, &missing{id: c.KeyID})
		}
		m := list[len(list)-1]
		m.rows += c.RowCount
		m.tables = append(m.tables, fmt.Sprintf("%s %d", c.TableName, c.RowCount))
	}
	if len(list) == 0 {
		return nil
	}
	parts := make([]string, 0, len(list))
	for _, m := range list {
		what := fmt.Sprintf("key id %d", m.id)
		if m.id == 0 {
			what = "no key id (malformed header)"
		}
		parts = append(parts, fmt.Sprintf("%s in %d rows (%s)", what, m.rows, strings.Join(m.tables, ", ")))
	}
	return fmt.Errorf("ciphertexts are sealed with key ids that are not configured: %s; "+
		"add each such key to MCPBOX_ENCRYPTION_OLD_KEYS as <id>:<64 hex characters> (or make it MCPBOX_ENCRYPTION_KEY_ID), "+
		"then run `backend rekey`", strings.Join(parts, "; "))
}

// rekeyTable is one table with ciphertext columns.
type rekeyTable struct {
	name string
	// rows lists the table's rows that hold a ciphertext.
	rows func(ctx context.Context, store *db.Store) ([]rekeyRow, error)
}

// rekeyRow re-encrypts one row in the caller's transaction.
type rekeyRow struct {
	name string // how errors name the row
	// reseal locks the row, re-encrypts its ciphertexts under the current
	// key id and stores them; changed is false when all were current.
	reseal func(ctx context.Context, q *dbq.Queries, keys *seal.Keyring) (changed bool, err error)
}

// rekeyTables lists every ciphertext column of backend.md §12.1, the key
// check first.
func rekeyTables() []rekeyTable {
	return []rekeyTable{
		{name: "settings", rows: func(context.Context, *db.Store) ([]rekeyRow, error) {
			return []rekeyRow{{name: keyCheckSetting, reseal: resealKeyCheck}}, nil
		}},
		{name: "signing_keys", rows: func(ctx context.Context, store *db.Store) ([]rekeyRow, error) {
			kids, err := store.RekeySigningKeyIDs(ctx)
			return each(kids, func(kid string) rekeyRow {
				return rekeyRow{name: "kid " + kid, reseal: func(ctx context.Context, q *dbq.Queries, keys *seal.Keyring) (bool, error) {
					ct, err := q.RekeyLockSigningKey(ctx, kid)
					if err != nil {
						return false, err
					}
					var r resealer
					ct = r.reseal(keys, seal.PurposeJWTSigningKey(kid), ct)
					if !r.changed || r.err != nil {
						return false, r.err
					}
					return true, q.RekeySetSigningKey(ctx, dbq.RekeySetSigningKeyParams{Kid: kid, PrivateKeyEnc: ct})
				}}
			}), err
		}},
		{name: "server_secrets", rows: func(ctx context.Context, store *db.Store) ([]rekeyRow, error) {
			ids, err := store.RekeyServerSecretIDs(ctx)
			return each(ids, func(id uuid.UUID) rekeyRow {
				return rekeyRow{name: "id " + id.String(), reseal: func(ctx context.Context, q *dbq.Queries, keys *seal.Keyring) (bool, error) {
					row, err := q.RekeyLockServerSecret(ctx, id)
					if err != nil {
						return false, err
					}
					var r resealer
					ct := r.reseal(keys, seal.PurposeServerSecret(row.ServerID.String(), row.Name), row.ValueEnc)
					if !r.changed || r.err != nil {
						return false, r.err
					}
					return true, q.RekeySetServerSecret(ctx, dbq.RekeySetServerSecretParams{ID: id, ValueEnc: ct})
				}}
			}), err
		}},
		{name: "external_mcp_sources", rows: func(ctx context.Context, store *db.Store) ([]rekeyRow, error) {
			ids, err := store.RekeyExternalSourceIDs(ctx)
			return each(ids, func(id uuid.UUID) rekeyRow {
				return rekeyRow{name: "id " + id.String(), reseal: func(ctx context.Context, q *dbq.Queries, keys *seal.Keyring) (bool, error) {
					row, err := q.RekeyLockExternalSource(ctx, id)
					if err != nil {
						return false, err
					}
					var r resealer
					tokens := r.reseal(keys, seal.PurposeOAuthTokens(id.String()), row.OauthTokensEnc)
					secret := r.reseal(keys, seal.PurposeOAuthClientSecret(id.String()), row.OauthClientSecretEnc)
					if !r.changed || r.err != nil {
						return false, r.err
					}
					return true, q.RekeySetExternalSource(ctx, dbq.RekeySetExternalSourceParams{
						ID: id, OauthTokensEnc: tokens, OauthClientSecretEnc: secret,
					})
				}}
			}), err
		}},
		{name: "oauth_flows", rows: func(ctx context.Context, store *db.Store) ([]rekeyRow, error) {
			hashes, err := store.RekeyOAuthFlowIDs(ctx)
			return each(hashes, func(stateHash []byte) rekeyRow {
				hexHash := hex.EncodeToString(stateHash)
				return rekeyRow{name: "state_hash " + hexHash, reseal: func(ctx context.Context, q *dbq.Queries, keys *seal.Keyring) (bool, error) {
					row, err := q.RekeyLockOAuthFlow(ctx, stateHash)
					if err != nil {
						return false, err
					}
					var r resealer
					verifier := r.reseal(keys, seal.PurposeOAuthFlowVerifier(hexHash), row.VerifierEnc)
					secret := r.reseal(keys, seal.PurposeOAuthFlowClientSecret(hexHash), row.ClientSecretEnc)
					if !r.changed || r.err != nil {
						return false, r.err
					}
					return true, q.RekeySetOAuthFlow(ctx, dbq.RekeySetOAuthFlowParams{
						StateHash: stateHash, VerifierEnc: verifier, ClientSecretEnc: secret,
					})
				}}
			}), err
		}},
	}
}

// resealKeyCheck re-encrypts the encryption key check, a settings row whose
// value is the ciphertext as a base64 JSON string (see checkKey).
func resealKeyCheck(ctx context.Context, q *dbq.Queries, keys *seal.Keyring) (bool, error) {
	row, err := q.GetSettingForUpdate(ctx, keyCheckSetting)
	if err != nil {
		return false, err
	}
	var ct []byte
	if err := json.Unmarshal(row.Value, &ct); err != nil {
		return false, fmt.Errorf("the stored encryption key check is corrupt: %w", err)
	}
	var r resealer
	ct = r.reseal(keys, seal.PurposeKeyCheck, ct)
	if !r.changed || r.err != nil {
		return false, r.err
	}
	value, err := json.Marshal(ct)
	if err != nil {
		return false, err
	}
	_, err = q.UpsertSetting(ctx, dbq.UpsertSettingParams{Key: keyCheckSetting, Value: value, UpdatedBy: "system"})
	return true, err
}

// resealer re-encrypts the ciphertexts of one row, remembering whether any
// changed and the first error.
type resealer struct {
	changed bool
	err     error
}

// reseal returns ct under the current key id; a nil ct (no value) stays nil.
func (r *resealer) reseal(keys *seal.Keyring, purpose string, ct []byte) []byte {
	if ct == nil || r.err != nil {
		return ct
	}
	out, changed, err := keys.Reseal(purpose, ct)
	if err != nil {
		r.err = err
		return ct
	}
	r.changed = r.changed || changed
	return out
}

// each maps keys to rows.
func each[K any](keys []K, row func(K) rekeyRow) []rekeyRow {
	out := make([]rekeyRow, 0, len(keys))
	for _, k := range keys {
		out = append(out, row(k))
	}
	return out
}
