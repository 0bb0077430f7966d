-- External MCP sources and the tools imported from them (backend.md §4.2,
-- §8.1, §8.2, §13.1, §13.2).

-- name: InsertExternalSource :one
-- InsertExternalSource adds a source: pending_review when an LLM adds it,
-- active (approved by the admin who adds it) otherwise (§13.1).
INSERT INTO external_mcp_sources (server_id, name, url, transport, auth_type, auth_secret_name, auth_header_name,
                                  status, approved_by, approved_at, created_by)
VALUES (sqlc.arg(server_id), sqlc.arg(name), sqlc.arg(url), sqlc.arg(transport), sqlc.arg(auth_type),
        sqlc.narg(auth_secret_name), sqlc.narg(auth_header_name), sqlc.arg(status), sqlc.narg(approved_by),
        sqlc.narg(approved_at), sqlc.arg(created_by))
RETURNING id;

-- name: GetExternalSourceDetail :one
-- GetExternalSourceDetail returns the Source resource (§8.1) of one source:
-- its columns without the OAuth ciphertexts and the discovered tools, its
-- server's name, whether it holds OAuth tokens, and how many tools it
-- discovered and has imported.
SELECT src.id, src.server_id, s.name AS server_name, src.name, src.url, src.transport, src.auth_type,
       src.auth_secret_name, src.auth_header_name, src.status, src.last_error,
       (src.oauth_tokens_enc IS NOT NULL)::boolean AS oauth_authenticated, src.oauth_issuer, src.oauth_client_id,
       src.discovered_at, coalesce(jsonb_array_length(src.discovered_tools), 0)::int AS discovered_tool_count,
       (SELECT count(*) FROM tools t WHERE t.external_source_id = src.id)::int AS imported_tool_count,
       src.approved_by, src.approved_at, src.created_by, src.created_at, src.updated_at
FROM external_mcp_sources src
JOIN servers s ON s.id = src.server_id
WHERE src.id = sqlc.arg(id);

-- name: ListServerExternalSources :many
-- ListServerExternalSources returns one page of a server's sources sorted
-- by (name, id) after the cursor position; the caller asks for one row
-- more than the page. Columns as GetExternalSourceDetail.
SELECT src.id, src.server_id, s.name AS server_name, src.name, src.url, src.transport, src.auth_type,
       src.auth_secret_name, src.auth_header_name, src.status, src.last_error,
       (src.oauth_tokens_enc IS NOT NULL)::boolean AS oauth_authenticated, src.oauth_issuer, src.oauth_client_id,
       src.discovered_at, coalesce(jsonb_array_length(src.discovered_tools), 0)::int AS discovered_tool_count,
       (SELECT count(*) FROM tools t WHERE t.external_source_id = src.id)::int AS imported_tool_count,
       src.approved_by, src.approved_at, src.created_by, src.created_at, src.updated_at
FROM external_mcp_sources src
JOIN servers s ON s.id = src.server_id
WHERE src.server_id = sqlc.arg(server_id)
  AND (sqlc.narg(after_name)::text IS NULL
       OR (src.name COLLATE "C", src.id) > (sqlc.narg(after_name)::text COLLATE "C", sqlc.narg(after_id)::uuid))
ORDER BY src.name COLLATE "C", src.id
LIMIT sqlc.arg(row_limit)::int;

-- name: ListAllExternalSources :many
-- ListAllExternalSources returns one page of the sources of every server,
-- newest first (created_at, id descending), after the cursor position;
-- status is an exact status, q a case-insensitive literal substring of the
-- name, the URL or the server's name. Columns as GetExternalSourceDetail.
SELECT src.id, src.server_id, s.name AS server_name, src.name, src.url, src.transport, src.auth_type,
       src.auth_secret_name, src.auth_header_name, src.status, src.last_error,
       (src.oauth_tokens_enc IS NOT NULL)::boolean AS oauth_authenticated, src.oauth_issuer, src.oauth_client_id,
       src.discovered_at, coalesce(jsonb_array_length(src.discovered_tools), 0)::int AS discovered_tool_count,
       (SELECT count(*) FROM tools t WHERE t.external_source_id = src.id)::int AS imported_tool_count,
       src.approved_by, src.approved_at, src.created_by, src.created_at, src.updated_at
FROM external_mcp_sources src
JOIN servers s ON s.id = src.server_id
WHERE (sqlc.narg(status)::text IS NULL OR src.status = sqlc.narg(status)::text)
  AND (sqlc.narg(q)::text IS NULL
       OR strpos(lower(src.name), lower(sqlc.narg(q)::text)) > 0
       OR strpos(lower(src.url), lower(sqlc.narg(q)::text)) > 0
       OR strpos(lower(s.name), lower(sqlc.narg(q)::text)) > 0)
  AND (sqlc.narg(after_created_at)::timestamptz IS NULL
       OR (src.created_at, src.id) < (sqlc.narg(after_created_at)::timestamptz, sqlc.narg(after_id)::uuid))
ORDER BY src.created_at DESC, src.id DESC
LIMIT sqlc.arg(row_limit)::int;

-- name: LockExternalSource :one
-- LockExternalSource locks a source's row for a state change (§4.1).
SELECT * FROM external_mcp_sources WHERE id = sqlc.arg(id) FOR UPDATE;

-- name: SetExternalSource :exec
-- SetExternalSource writes back every column of a locked source that the
-- lifecycle, discovery and PATCH change (not the OAuth columns).
UPDATE external_mcp_sources
SET name = sqlc.arg(name), url = sqlc.arg(url), transport = sqlc.arg(transport), auth_type = sqlc.arg(auth_type),
    auth_secret_name = sqlc.narg(auth_secret_name), auth_header_name = sqlc.narg(auth_header_name),
    status = sqlc.arg(status), last_error = sqlc.narg(last_error), approved_by = sqlc.narg(approved_by),
    approved_at = sqlc.narg(approved_at), discovered_tools = sqlc.narg(discovered_tools),
    discovered_at = sqlc.narg(discovered_at)
WHERE id = sqlc.arg(id);

-- name: ClearExternalSourceOAuth :exec
-- ClearExternalSourceOAuth forgets a source's OAuth client and tokens, when
-- its URL or auth type changes: they belong to the old server.
UPDATE external_mcp_sources
SET oauth_client_id = NULL, oauth_client_secret_enc = NULL, oauth_tokens_enc = NULL, oauth_issuer = NULL
WHERE id = sqlc.arg(id);

-- name: DeleteExternalSource :exec
-- DeleteExternalSource deletes a source; its imported tools and OAuth
-- flows cascade (§4.3).
DELETE FROM external_mcp_sources WHERE id = sqlc.arg(id);

-- name: ListExternalSourceToolsForUpdate :many
-- ListExternalSourceToolsForUpdate locks the tools imported from a source,
-- sorted by name.
SELECT * FROM tools
WHERE external_source_id = sqlc.arg(source_id)
ORDER BY name COLLATE "C", id
FOR UPDATE;

-- name: ExternalSourceSecretExists :one
-- ExternalSourceSecretExists reports whether a server has a secret of this
-- name (with or without a value), for a source's auth_secret_name.
SELECT EXISTS (
    SELECT 1 FROM server_secrets WHERE server_id = sqlc.arg(server_id) AND name = sqlc.arg(name)
)::boolean;

-- name: InsertExternalTool :one
-- InsertExternalTool inserts a tool imported from an external source, or
-- nothing when its server already has a tool of that name (no row: the
-- caller reports name_taken without aborting the transaction). Its version
-- 1 must be inserted in the same transaction.
INSERT INTO tools (server_id, name, kind, external_source_id, external_tool_name, created_by)
VALUES (sqlc.arg(server_id), sqlc.arg(name), 'external', sqlc.arg(source_id), sqlc.arg(external_tool_name),
        sqlc.arg(created_by))
ON CONFLICT ON CONSTRAINT tools_server_id_name_key DO NOTHING
RETURNING id;

-- name: ListServerToolOrigins :many
-- ListServerToolOrigins returns the name and, for an imported tool, the
-- source and upstream name of every tool of a server, so a discovery can
-- say which upstream tools are imported and which import names are taken.
SELECT name, external_source_id, external_tool_name FROM tools WHERE server_id = sqlc.arg(server_id);
