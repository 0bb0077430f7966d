-- Queries of `backend rekey` and `backend migrate check` (backend.md §3, §12.1): every
-- ciphertext column, counted by the key id in its header and re-encrypted one row at a time.

-- name: CiphertextKeyIDs :many
-- CiphertextKeyIDs counts, per key id and table, the rows holding at least one ciphertext sealed
-- with that key id (the second header byte, backend.md §12.1; 0 for a value too short to carry a
-- header). The encryption key check is a settings row whose value is a base64 JSON string.
SELECT c.key_id::integer AS key_id, c.table_name::text AS table_name, count(DISTINCT c.row_key)::bigint AS row_count
FROM (
    SELECT s.table_name, s.row_key,
           CASE WHEN octet_length(s.ct) >= 2 THEN get_byte(s.ct, 1) ELSE 0 END AS key_id
    FROM (
        SELECT 'server_secrets'::text AS table_name, id::text AS row_key, value_enc AS ct
        FROM server_secrets WHERE value_enc IS NOT NULL
        UNION ALL
        SELECT 'external_mcp_sources'::text, id::text, oauth_tokens_enc
        FROM external_mcp_sources WHERE oauth_tokens_enc IS NOT NULL
        UNION ALL
        SELECT 'external_mcp_sources'::text, id::text, oauth_client_secret_enc
        FROM external_mcp_sources WHERE oauth_client_secret_enc IS NOT NULL
        UNION ALL
        SELECT 'oauth_flows'::text, encode(state_hash, 'hex'), verifier_enc FROM oauth_flows
        UNION ALL
        SELECT 'oauth_flows'::text, encode(state_hash, 'hex'), client_secret_enc
        FROM oauth_flows WHERE client_secret_enc IS NOT NULL
        UNION ALL
        SELECT 'signing_keys'::text, kid, private_key_enc FROM signing_keys
        UNION ALL
        SELECT 'settings'::text, key, decode(value #>> '{}', 'base64')
        FROM settings WHERE key = 'encryption_key_check' AND jsonb_typeof(value) = 'string'
    ) s
) c
GROUP BY c.key_id, c.table_name
ORDER BY c.key_id, c.table_name;

-- name: RekeyServerSecretIDs :many
-- RekeyServerSecretIDs lists the secrets that hold a value.
SELECT id FROM server_secrets WHERE value_enc IS NOT NULL ORDER BY id;

-- name: RekeyLockServerSecret :one
-- RekeyLockServerSecret locks a secret's row and returns what its purpose is made of.
SELECT server_id, name, value_enc FROM server_secrets WHERE id = $1 FOR UPDATE;

-- name: RekeySetServerSecret :exec
UPDATE server_secrets SET value_enc = sqlc.arg(value_enc) WHERE id = sqlc.arg(id);

-- name: RekeyExternalSourceIDs :many
-- RekeyExternalSourceIDs lists the external MCP sources that hold OAuth ciphertexts.
SELECT id FROM external_mcp_sources
WHERE oauth_tokens_enc IS NOT NULL OR oauth_client_secret_enc IS NOT NULL
ORDER BY id;

-- name: RekeyLockExternalSource :one
SELECT oauth_tokens_enc, oauth_client_secret_enc FROM external_mcp_sources WHERE id = $1 FOR UPDATE;

-- name: RekeySetExternalSource :exec
UPDATE external_mcp_sources
SET oauth_tokens_enc = sqlc.narg(oauth_tokens_enc), oauth_client_secret_enc = sqlc.narg(oauth_client_secret_enc)
WHERE id = sqlc.arg(id);

-- name: RekeyOAuthFlowIDs :many
-- RekeyOAuthFlowIDs lists the pending OAuth flows by state hash.
SELECT state_hash FROM oauth_flows ORDER BY state_hash;

-- name: RekeyLockOAuthFlow :one
SELECT verifier_enc, client_secret_enc FROM oauth_flows WHERE state_hash = $1 FOR UPDATE;

-- name: RekeySetOAuthFlow :exec
UPDATE oauth_flows SET verifier_enc = sqlc.arg(verifier_enc), client_secret_enc = sqlc.narg(client_secret_enc)
WHERE state_hash = sqlc.arg(state_hash);

-- name: RekeySigningKeyIDs :many
-- RekeySigningKeyIDs lists every JWT signing key, retired ones included.
SELECT kid FROM signing_keys ORDER BY kid;

-- name: RekeyLockSigningKey :one
SELECT private_key_enc FROM signing_keys WHERE kid = $1 FOR UPDATE;

-- name: RekeySetSigningKey :exec
UPDATE signing_keys SET private_key_enc = sqlc.arg(private_key_enc) WHERE kid = sqlc.arg(kid);
