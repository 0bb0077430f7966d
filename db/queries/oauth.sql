-- OAuth sign-in of external MCP sources (backend.md §4.2 oauth_flows,
-- §13.3). Every *_enc column is sealed by the backend (§12.1); no query here
-- sees a token, verifier or client secret in the clear.

-- name: GetOAuthSource :one
-- GetOAuthSource returns what an OAuth flow or a token refresh needs of a
-- source (no lock).
SELECT id, server_id, name, url, auth_type, status,
       oauth_client_id, oauth_client_secret_enc, oauth_tokens_enc, oauth_issuer
FROM external_mcp_sources
WHERE id = sqlc.arg(id);

-- name: LockOAuthSource :one
-- LockOAuthSource is GetOAuthSource with the source's row locked, so one
-- replica at a time changes its client or tokens (a refresh included).
SELECT id, server_id, name, url, auth_type, status,
       oauth_client_id, oauth_client_secret_enc, oauth_tokens_enc, oauth_issuer
FROM external_mcp_sources
WHERE id = sqlc.arg(id)
FOR UPDATE;

-- name: SetOAuthClient :exec
-- SetOAuthClient records the client a source signs in with (a dynamically
-- registered one included) and, when given, the issuer it belongs to.
UPDATE external_mcp_sources
SET oauth_client_id = sqlc.arg(client_id)::text,
    oauth_client_secret_enc = sqlc.narg(client_secret_enc),
    oauth_issuer = COALESCE(sqlc.narg(issuer)::text, oauth_issuer)
WHERE id = sqlc.arg(id);

-- name: SetOAuthIssuer :exec
-- SetOAuthIssuer records the authorization server a source's sign-in
-- discovered.
UPDATE external_mcp_sources SET oauth_issuer = sqlc.arg(issuer)::text WHERE id = sqlc.arg(id);

-- name: SetOAuthTokens :exec
-- SetOAuthTokens stores a source's sealed token set.
UPDATE external_mcp_sources SET oauth_tokens_enc = sqlc.arg(tokens_enc)::bytea WHERE id = sqlc.arg(id);

-- name: InsertOAuthFlow :exec
-- InsertOAuthFlow stores a pending authorization, keyed by the hash of its
-- state; it expires after the column default (10 minutes).
INSERT INTO oauth_flows (state_hash, source_id, verifier_enc, redirect_uri, token_endpoint,
                         client_id, client_secret_enc, resource)
VALUES (sqlc.arg(state_hash), sqlc.arg(source_id), sqlc.arg(verifier_enc), sqlc.arg(redirect_uri),
        sqlc.arg(token_endpoint), sqlc.arg(client_id), sqlc.narg(client_secret_enc), sqlc.narg(resource));

-- name: TakeOAuthFlow :one
-- TakeOAuthFlow deletes a pending authorization and returns it, so a state
-- is used at most once whichever replica receives it; live is false when it
-- had expired.
DELETE FROM oauth_flows
WHERE state_hash = sqlc.arg(state_hash)
RETURNING source_id, verifier_enc, redirect_uri, token_endpoint, client_id, client_secret_enc, resource,
          (expires_at > now())::boolean AS live;
