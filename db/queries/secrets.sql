-- Server secrets (backend.md §4.2, §8.2, §12). value_enc is sealed by the
-- backend (§12.1); no query here ever sees a plaintext value.

-- name: LockServerForSecrets :one
-- LockServerForSecrets returns a server's name and takes a KEY SHARE lock on
-- its row, so the server cannot be deleted before the secret change commits.
SELECT name FROM servers WHERE id = sqlc.arg(id) FOR KEY SHARE;

-- name: ServerNameForSecrets :one
-- ServerNameForSecrets returns a server's name (no lock), for reads.
SELECT name FROM servers WHERE id = sqlc.arg(id);

-- name: ListServerSecrets :many
-- ListServerSecrets returns one page of a server's secrets sorted by (name,
-- id), after the cursor position (after_name, after_id) when given. Names
-- sort bytewise (COLLATE "C"), as in Go. The caller asks for one row more
-- than the page to learn whether another follows.
SELECT id, server_id, name, description, value_set_at,
       created_by, created_at, updated_at
FROM server_secrets
WHERE server_id = sqlc.arg(server_id)
  AND (sqlc.narg(after_name)::text IS NULL
       OR (name COLLATE "C", id) > (sqlc.narg(after_name)::text COLLATE "C", sqlc.narg(after_id)::uuid))
ORDER BY name COLLATE "C", id
LIMIT sqlc.arg(row_limit)::int;

-- name: GetServerSecretForUpdate :one
-- GetServerSecretForUpdate locks one secret of a server by name (§4.1) and
-- returns it with its server's name; the KEY SHARE lock on the server keeps
-- it from being deleted before the change commits.
SELECT ss.id, ss.server_id, ss.name, ss.description, ss.value_set_at,
       ss.created_by, ss.created_at, ss.updated_at, s.name AS server_name
FROM server_secrets ss
JOIN servers s ON s.id = ss.server_id
WHERE ss.server_id = sqlc.arg(server_id) AND ss.name = sqlc.arg(name)
FOR UPDATE OF ss FOR KEY SHARE OF s;

-- name: CreateServerSecret :one
-- CreateServerSecret inserts a secret, with a sealed value or without one
-- (value_enc NULL; value_set_at follows value_enc).
INSERT INTO server_secrets (server_id, name, description, value_enc, value_set_at, created_by)
VALUES (sqlc.arg(server_id), sqlc.arg(name), sqlc.arg(description), sqlc.narg(value_enc),
        CASE WHEN sqlc.narg(value_enc)::bytea IS NULL THEN NULL ELSE now() END, sqlc.arg(created_by))
RETURNING id, server_id, name, description, value_set_at,
          created_by, created_at, updated_at;

-- name: SetServerSecretValue :one
-- SetServerSecretValue sets (value_enc non-NULL) or clears (NULL) a secret's
-- sealed value; value_set_at follows.
UPDATE server_secrets
SET value_enc = sqlc.narg(value_enc),
    value_set_at = CASE WHEN sqlc.narg(value_enc)::bytea IS NULL THEN NULL ELSE now() END
WHERE id = sqlc.arg(id)
RETURNING id, server_id, name, description, value_set_at,
          created_by, created_at, updated_at;

-- name: SetServerSecretDescription :one
-- SetServerSecretDescription changes a secret's description.
UPDATE server_secrets SET description = sqlc.arg(description)
WHERE id = sqlc.arg(id)
RETURNING id, server_id, name, description, value_set_at,
          created_by, created_at, updated_at;

-- name: DeleteServerSecret :execrows
-- DeleteServerSecret removes one secret.
DELETE FROM server_secrets WHERE id = sqlc.arg(id);

-- name: GetServerSecretValues :many
-- GetServerSecretValues returns the sealed values of the named secrets of a
-- server that have one, for plans and test runs (§12.2).
SELECT name, value_enc
FROM server_secrets
WHERE server_id = sqlc.arg(server_id) AND name = ANY(sqlc.arg(names)::text[]) AND value_enc IS NOT NULL
ORDER BY name COLLATE "C";
