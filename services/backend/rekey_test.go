package main

import (
	"crypto/rand"
	"encoding/hex"
	"maps"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/db/dbtest"
	"github.com/mcpbox/mcpbox/proto/lifecycle/lifecycletest"
	"github.com/mcpbox/mcpbox/services/backend/internal/seal"
)

// newKeyHex is the key that becomes current (id 2) in the rekey tests.
const newKeyHex = "3e8a1f7c2b9d4e6f0a5c8b1d7e2f9a4c6b0d3e8f1a7c5b2d9e4f6a0c3b8d1e7f"

// startOnce starts the backend on env until it listens, then stops it: the
// first start creates the encryption key check and a JWT signing key.
func startOnce(t *testing.T, env map[string]string) {
	t.Helper()
	svc := lifecycletest.Start(t, run, nil, env)
	svc.Logs.WaitListening(t, "main")
	if err := svc.Stop(); err != nil {
		t.Fatalf("backend stop: %v\n%s", err, svc.Logs.String())
	}
}

// sealed is one ciphertext the test stored, with what it must open to.
type sealed struct {
	query, purpose, plaintext string
	args                      []any
}

// storeCiphertexts seals a value for every ciphertext column besides the
// key check and the signing keys (which the backend made) with keys and
// inserts the rows.
func storeCiphertexts(t *testing.T, url string, keys *seal.Keyring) []sealed {
	t.Helper()
	sealValue := func(purpose, plaintext string) []byte {
		ct, err := keys.Seal(purpose, []byte(plaintext))
		if err != nil {
			t.Fatal(err)
		}
		return ct
	}
	serverID, sourceID := uuid.New(), uuid.New()
	stateHash := make([]byte, 32)
	_, _ = rand.Read(stateHash)
	stateHex := hex.EncodeToString(stateHash)
	out := []sealed{
		{"SELECT value_enc FROM server_secrets WHERE server_id = $1 AND name = 'API_TOKEN'", seal.PurposeServerSecret(serverID.String(), "API_TOKEN"), "sk-live-0123456789", []any{serverID}},
		{"SELECT oauth_tokens_enc FROM external_mcp_sources WHERE id = $1", seal.PurposeOAuthTokens(sourceID.String()), `{"access_token":"at-1"}`, []any{sourceID}},
		{"SELECT oauth_client_secret_enc FROM external_mcp_sources WHERE id = $1", seal.PurposeOAuthClientSecret(sourceID.String()), "client-secret-1", []any{sourceID}},
		{"SELECT verifier_enc FROM oauth_flows WHERE state_hash = $1", seal.PurposeOAuthFlowVerifier(stateHex), "verifier-0123456789", []any{stateHash}},
		{"SELECT client_secret_enc FROM oauth_flows WHERE state_hash = $1", seal.PurposeOAuthFlowClientSecret(stateHex), "client-secret-1", []any{stateHash}},
	}
	dbtest.Exec(t, url, "INSERT INTO servers (id, name) VALUES ($1, 'weather')", serverID)
	dbtest.Exec(t, url, "INSERT INTO server_secrets (server_id, name, value_enc, value_set_at) VALUES ($1, 'API_TOKEN', $2, now())",
		serverID, sealValue(out[0].purpose, out[0].plaintext))
	dbtest.Exec(t, url, `INSERT INTO external_mcp_sources (id, server_id, name, url, auth_type, oauth_client_id, oauth_tokens_enc, oauth_client_secret_enc)
		VALUES ($1, $2, 'github', 'https://mcp.example.com/mcp', 'oauth', 'client-1', $3, $4)`,
		sourceID, serverID, sealValue(out[1].purpose, out[1].plaintext), sealValue(out[2].purpose, out[2].plaintext))
	dbtest.Exec(t, url, `INSERT INTO oauth_flows (state_hash, source_id, verifier_enc, redirect_uri, token_endpoint, client_id, client_secret_enc)
		VALUES ($1, $2, $3, 'https://mcpbox.example.com/oauth/callback', 'https://auth.example.com/token', 'client-1', $4)`,
		stateHash, sourceID, sealValue(out[3].purpose, out[3].plaintext), sealValue(out[4].purpose, out[4].plaintext))
	return out
}

// keyIDsNot counts the ciphertexts of every column whose key id is not id.
func keyIDsNot(t *testing.T, url string, id int) (stale, total int) {
	t.Helper()
	dbtest.QueryRow(t, url, `SELECT count(*) FILTER (WHERE get_byte(ct, 1) <> $1), count(*) FROM (
		SELECT value_enc AS ct FROM server_secrets WHERE value_enc IS NOT NULL
		UNION ALL SELECT oauth_tokens_enc FROM external_mcp_sources WHERE oauth_tokens_enc IS NOT NULL
		UNION ALL SELECT oauth_client_secret_enc FROM external_mcp_sources WHERE oauth_client_secret_enc IS NOT NULL
		UNION ALL SELECT verifier_enc FROM oauth_flows
		UNION ALL SELECT client_secret_enc FROM oauth_flows WHERE client_secret_enc IS NOT NULL
		UNION ALL SELECT private_key_enc FROM signing_keys
		UNION ALL SELECT decode(value #>> '{}', 'base64') FROM settings WHERE key = 'encryption_key_check') c`,
		[]any{&stale, &total}, id)
	return stale, total
}

// rekeySummary returns the rekeyed and already-current counts that rekey
// logged per table.
func rekeySummary(t *testing.T, logs *lifecycletest.Logs) map[string][2]int {
	t.Helper()
	out := map[string][2]int{}
	for _, l := range logs.Lines(t) {
		if l["msg"] == "rekey table done" {
			name, _ := l[keyTable].(string)
			rekeyed, _ := l[keyRekeyed].(float64)
			current, _ := l[keyAlreadyCurrent].(float64)
			out[name] = [2]int{int(rekeyed), int(current)}
		}
	}
	return out
}

// rotation is a database with a ciphertext in every column under key id 1,
// and the environments of its rotation to key id 2 (operations.md §6.4).
type rotation struct {
	url    string
	stored []sealed
	// rotating has the new key current (id 2) and key 1 decrypt-only;
	// rotated is rotating with key 1 removed.
	rotating, rotated map[string]string
}

// newRotation starts the backend once on a fresh database (key check and
// signing key under key id 1), stores a ciphertext for every other column
// under key id 1, and returns the rotation's environments.
func newRotation(t *testing.T) rotation {
	t.Helper()
	url := dbtest.URL(t)
	oldEnv := testEnv(url)
	oldKeyHex := oldEnv["MCPBOX_ENCRYPTION_KEY"]
	startOnce(t, oldEnv)
	stored := storeCiphertexts(t, url, newKeyring(t, 1, oldKeyHex))
	if stale, total := keyIDsNot(t, url, 1); stale != 0 || total != 7 {
		t.Fatalf("before rekey: %d of %d ciphertexts not under key id 1", stale, total)
	}
	rotating := maps.Clone(oldEnv)
	rotating["MCPBOX_ENCRYPTION_KEY_ID"] = "2"
	rotating["MCPBOX_ENCRYPTION_KEY"] = newKeyHex
	rotating["MCPBOX_ENCRYPTION_OLD_KEYS"] = "1:" + oldKeyHex
	rotated := maps.Clone(rotating)
	delete(rotated, "MCPBOX_ENCRYPTION_OLD_KEYS")
	return rotation{url: url, stored: stored, rotating: rotating, rotated: rotated}
}

// newKeyring returns a keyring holding only keyHex as key id id.
func newKeyring(t *testing.T, id int, keyHex string) *seal.Keyring {
	t.Helper()
	keys, err := seal.New(id, keyHex, "")
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// checkStored checks that every stored ciphertext in the database at url
// opens with keys to its plaintext.
func checkStored(t *testing.T, url string, stored []sealed, keys *seal.Keyring) {
	t.Helper()
	for _, s := range stored {
		var ct []byte
		dbtest.QueryRow(t, url, s.query, []any{&ct}, s.args...)
		if got, err := keys.Open(s.purpose, ct); err != nil || string(got) != s.plaintext {
			t.Errorf("%s: opens to %q, %v; want %q", s.purpose, got, err, s.plaintext)
		}
	}
}

// BE-59: after `backend rekey` with a new key id every ciphertext carries the
// new id, and the backend starts with the old key removed. `migrate check`
// fails, naming the id and its row count, while a used key id is missing,
// and rekey refuses to start then; rekey is idempotent.
func TestBE59_RekeyToANewKeyID(t *testing.T) {
	t.Parallel()
	r := newRotation(t)
	url, stored, rotating, rotated := r.url, r.stored, r.rotating, r.rotated

	// Without key 1: migrate check and rekey name the id and its rows
	// (settings, signing_keys, server_secrets, external_mcp_sources, oauth_flows).
	for _, args := range [][]string{{"migrate", "check"}, {"rekey"}} {
		_, err := lifecycletest.Run(t, run, args, rotated)
		if err == nil || !strings.Contains(err.Error(), "key id 1 in 5 rows") ||
			!strings.Contains(err.Error(), "signing_keys 1") || !strings.Contains(err.Error(), "MCPBOX_ENCRYPTION_OLD_KEYS") {
			t.Fatalf("%v without key 1: %v", args, err)
		}
	}
	if stale, _ := keyIDsNot(t, url, 1); stale != 0 {
		t.Fatal("a refused rekey changed ciphertexts")
	}
	if _, err := lifecycletest.Run(t, run, []string{"migrate", "check"}, rotating); err != nil {
		t.Fatalf("migrate check with key 1 among the old keys: %v", err)
	}

	logs, err := lifecycletest.Run(t, run, []string{"rekey"}, rotating)
	if err != nil {
		t.Fatalf("rekey: %v\n%s", err, logs.String())
	}
	want := map[string][2]int{
		"settings": {1, 0}, "signing_keys": {1, 0}, "server_secrets": {1, 0}, "external_mcp_sources": {1, 0}, "oauth_flows": {1, 0},
	}
	if got := rekeySummary(t, logs); !maps.Equal(got, want) {
		t.Errorf("rekey summary %v, want %v", got, want)
	}
	if stale, total := keyIDsNot(t, url, 2); stale != 0 || total != 7 {
		t.Fatalf("after rekey: %d of %d ciphertexts not under key id 2", stale, total)
	}
	checkStored(t, url, stored, newKeyring(t, 2, newKeyHex))

	// Idempotent: a second run finds everything current.
	logs, err = lifecycletest.Run(t, run, []string{"rekey"}, rotating)
	if err != nil {
		t.Fatalf("second rekey: %v", err)
	}
	for table := range want {
		want[table] = [2]int{0, 1}
	}
	if got := rekeySummary(t, logs); !maps.Equal(got, want) {
		t.Errorf("second rekey summary %v, want %v", got, want)
	}

	// The old key is no longer needed.
	if _, err := lifecycletest.Run(t, run, []string{"migrate", "check"}, rotated); err != nil {
		t.Fatalf("migrate check after rekey without key 1: %v", err)
	}
	startOnce(t, rotated)
}

// rekey refuses to seal anything under a current key that is not the one
// this database's key check was made with.
func TestRekeyRefusesAWrongKey(t *testing.T) {
	t.Parallel()
	url := dbtest.URL(t)
	env := testEnv(url)
	startOnce(t, env)
	wrong := maps.Clone(env)
	wrong["MCPBOX_ENCRYPTION_KEY"] = newKeyHex // same id 1, another key
	_, err := lifecycletest.Run(t, run, []string{"rekey"}, wrong)
	if err == nil || !strings.Contains(err.Error(), "MCPBOX_ENCRYPTION_KEY does not match") {
		t.Fatalf("rekey with a wrong key: %v", err)
	}
	if _, err := lifecycletest.Run(t, run, []string{"rekey", "now"}, env); err == nil || !strings.Contains(err.Error(), "no arguments") {
		t.Errorf("rekey with an argument: %v", err)
	}
}

// The maintenance commands refuse a database whose migrations are pending.
func TestMaintenanceCommandsNeedAMigratedSchema(t *testing.T) {
	t.Parallel()
	env := testEnv(dbtest.EmptyURL(t))
	for _, args := range [][]string{{"rekey"}, {"rotate-jwt-key"}, {"reset-password", "admin"}} {
		_, err := lifecycletest.Run(t, run, args, env)
		if err == nil || !strings.Contains(err.Error(), "run `backend migrate` first") {
			t.Errorf("%v on an empty database: %v", args, err)
		}
	}
}
