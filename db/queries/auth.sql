-- Admin users, sessions, refresh tokens, login attempts and signing keys (backend.md §7).

-- name: CountAdminUsers :one
-- CountAdminUsers is 0 until first-run setup (GET /auth/status).
SELECT count(*) FROM admin_users;

-- name: LockSetup :exec
-- LockSetup serialises first-run setup across replicas for the transaction.
SELECT pg_advisory_xact_lock(hashtext('mcpbox_admin_setup'));

-- name: InsertAdminUser :one
-- InsertAdminUser creates an admin (setup, import).
INSERT INTO admin_users (username, password_hash)
VALUES (sqlc.arg(username), sqlc.arg(password_hash))
RETURNING id, username, password_hash, password_version, is_active, last_login_at, created_at, updated_at;

-- name: GetAdminUserByUsername :one
-- GetAdminUserByUsername finds a user case-insensitively (login).
SELECT id, username, password_hash, password_version, is_active, last_login_at, created_at, updated_at
FROM admin_users WHERE lower(username) = lower(sqlc.arg(username));

-- name: GetAdminUser :one
SELECT id, username, password_hash, password_version, is_active, last_login_at, created_at, updated_at
FROM admin_users WHERE id = $1;

-- name: RecordLogin :exec
-- RecordLogin stamps a successful login and, when given, the rehashed password.
UPDATE admin_users
SET last_login_at = now(), password_hash = coalesce(sqlc.narg(password_hash), password_hash)
WHERE id = sqlc.arg(id);

-- name: SetAdminPassword :one
-- SetAdminPassword stores a new hash and bumps password_version, which
-- invalidates every access token of the user.
UPDATE admin_users SET password_hash = sqlc.arg(password_hash), password_version = password_version + 1
WHERE id = sqlc.arg(id)
RETURNING password_version;

-- name: InsertLoginAttempt :exec
INSERT INTO login_attempts (ip, username, success) VALUES (sqlc.arg(ip), lower(sqlc.arg(username)), sqlc.arg(success));

-- name: LoginFailuresByIP :many
-- LoginFailuresByIP returns the failure times from one IP since a moment, oldest first.
SELECT created_at FROM login_attempts
WHERE ip = sqlc.arg(ip) AND NOT success AND created_at > sqlc.arg(since)::timestamptz
ORDER BY created_at;

-- name: LoginFailuresByUsername :many
-- LoginFailuresByUsername returns the failure times for one username since a moment, oldest first.
SELECT created_at FROM login_attempts
WHERE username = lower(sqlc.arg(username)) AND NOT success AND created_at > sqlc.arg(since)::timestamptz
ORDER BY created_at;

-- name: InsertSession :one
-- InsertSession opens a session; token_hash is set for cookie sessions only.
INSERT INTO admin_sessions (user_id, client, token_hash, csrf_hash, expires_at, user_agent, ip)
VALUES (sqlc.arg(user_id), sqlc.arg(client), sqlc.narg(token_hash), sqlc.arg(csrf_hash), sqlc.arg(expires_at),
        sqlc.arg(user_agent), sqlc.narg(ip))
RETURNING id, user_id, client, csrf_hash, expires_at, last_used_at, created_at;

-- name: AuthenticateSession :one
-- AuthenticateSession is the one indexed check of every authenticated request
-- (backend.md §7.3): the session is open and unexpired, its user active.
SELECT s.id AS session_id, s.user_id, s.client, s.csrf_hash, s.expires_at, s.last_used_at,
       u.username, u.password_version
FROM admin_sessions s JOIN admin_users u ON u.id = s.user_id
WHERE s.id = $1 AND s.revoked_at IS NULL AND s.expires_at > now() AND u.is_active;

-- name: AuthenticateCookie :one
-- AuthenticateCookie finds an open cookie session by the sha256 of its id.
SELECT s.id AS session_id, s.user_id, s.client, s.csrf_hash, s.expires_at, s.last_used_at,
       u.username, u.password_version
FROM admin_sessions s JOIN admin_users u ON u.id = s.user_id
WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > now() AND u.is_active;

-- name: TouchSession :exec
UPDATE admin_sessions SET last_used_at = now() WHERE id = $1;

-- name: RevokeSession :execrows
UPDATE admin_sessions SET revoked_at = now(), revoked_reason = sqlc.arg(reason)::text
WHERE id = sqlc.arg(id) AND revoked_at IS NULL;

-- name: RevokeUserSession :execrows
-- RevokeUserSession ends one session of a user (DELETE /auth/sessions/{id}).
UPDATE admin_sessions SET revoked_at = now(), revoked_reason = sqlc.arg(reason)::text
WHERE id = sqlc.arg(id) AND user_id = sqlc.arg(user_id) AND revoked_at IS NULL;

-- name: RevokeUserSessions :execrows
UPDATE admin_sessions SET revoked_at = now(), revoked_reason = sqlc.arg(reason)::text
WHERE user_id = sqlc.arg(user_id) AND revoked_at IS NULL;

-- name: ListUserSessions :many
-- ListUserSessions returns the open sessions of a user, newest first.
SELECT id, client, created_at, last_used_at, expires_at, ip, user_agent
FROM admin_sessions
WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now()
ORDER BY created_at DESC, id DESC;

-- name: InsertRefreshToken :exec
INSERT INTO refresh_tokens (session_id, token_hash, expires_at)
VALUES (sqlc.arg(session_id), sqlc.arg(token_hash), sqlc.arg(expires_at));

-- name: LockRefreshToken :one
-- LockRefreshToken reads a refresh token by its sha256 and locks it for the
-- rotation's transaction (a concurrent reuse waits, then sees used_at).
SELECT id, session_id, expires_at, used_at FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE;

-- name: MarkRefreshTokenUsed :exec
UPDATE refresh_tokens SET used_at = now() WHERE id = $1;

-- name: ActiveSigningKey :one
SELECT kid, private_key_enc, public_key, created_at FROM signing_keys WHERE retired_at IS NULL;

-- name: SigningKeys :many
-- SigningKeys returns every key that still verifies: the active one and
-- those retired less than 8 days ago.
SELECT kid, public_key, retired_at FROM signing_keys
WHERE retired_at IS NULL OR retired_at > now() - interval '8 days'
ORDER BY created_at;

-- name: InsertSigningKey :exec
-- InsertSigningKey adds the active key; the partial unique index allows one.
INSERT INTO signing_keys (kid, private_key_enc, public_key)
VALUES (sqlc.arg(kid), sqlc.arg(private_key_enc), sqlc.arg(public_key))
ON CONFLICT DO NOTHING;

-- name: RetireSigningKeys :exec
UPDATE signing_keys SET retired_at = now() WHERE retired_at IS NULL;

-- name: DeleteRetiredSigningKeys :execrows
DELETE FROM signing_keys WHERE retired_at < now() - interval '8 days';
