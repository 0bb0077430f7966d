-- The signed export and the import of an installation (backend.md §14.4).
-- Export reads run in one REPEATABLE READ READ ONLY snapshot; the import
-- writes every server in its own savepoint of one transaction.

-- name: ExportServers :many
-- ExportServers returns every server, or the one server_id names, sorted
-- by name (bytewise, as in Go).
SELECT id, name, description, status FROM servers
WHERE sqlc.narg(server_id)::uuid IS NULL OR id = sqlc.narg(server_id)::uuid
ORDER BY name COLLATE "C", id;

-- name: ExportSecrets :many
-- ExportSecrets returns the names and descriptions of the given servers'
-- secrets, never their values.
SELECT server_id, name, description FROM server_secrets
WHERE server_id = ANY(sqlc.arg(server_ids)::uuid[])
ORDER BY server_id, name COLLATE "C";

-- name: ExportNetworkRequests :many
-- ExportNetworkRequests returns the approved and pending network requests
-- of the given servers (rejected ones are history).
SELECT server_id, host, port, status, justification FROM network_requests
WHERE server_id = ANY(sqlc.arg(server_ids)::uuid[]) AND status IN ('approved', 'pending')
ORDER BY server_id, host COLLATE "C", coalesce(port, 0), status, created_at, id;

-- name: ExportSources :many
-- ExportSources returns the external sources of the given servers without
-- credentials, OAuth state or discovery results.
SELECT server_id, name, url, transport, auth_type, auth_secret_name, auth_header_name, status
FROM external_mcp_sources
WHERE server_id = ANY(sqlc.arg(server_ids)::uuid[])
ORDER BY server_id, name COLLATE "C";

-- name: ExportTools :many
-- ExportTools returns the tools of the given servers with their latest
-- version and, when they have one, their approved version; for an external
-- tool also its source's name.
SELECT t.server_id, t.name, t.kind, t.enabled, t.external_tool_name, src.name AS external_source,
       lv.code AS latest_code, lv.external_definition AS latest_definition,
       lv.manifest AS latest_manifest, lv.hash AS latest_hash,
       av.code AS approved_code, av.external_definition AS approved_definition,
       av.manifest AS approved_manifest, av.hash AS approved_hash
FROM tools t
JOIN tool_versions lv ON lv.tool_id = t.id AND lv.version = t.latest_version
LEFT JOIN tool_versions av ON av.tool_id = t.id AND av.version = t.approved_version
LEFT JOIN external_mcp_sources src ON src.id = t.external_source_id
WHERE t.server_id = ANY(sqlc.arg(server_ids)::uuid[])
ORDER BY t.server_id, t.name COLLATE "C";

-- name: ExportPackageRequests :many
-- ExportPackageRequests returns the approved and pending package requests
-- (global, §6.2).
SELECT package, status, justification FROM package_requests
WHERE status IN ('approved', 'pending')
ORDER BY package COLLATE "C", status, created_at, id;

-- name: ServerNamesTaken :many
-- ServerNamesTaken returns which of the given server names exist.
SELECT name FROM servers WHERE name = ANY(sqlc.arg(names)::text[]);

-- name: ServerNameTaken :one
-- ServerNameTaken reports whether a server has this name.
SELECT EXISTS (SELECT 1 FROM servers WHERE name = sqlc.arg(name))::boolean;

-- name: InsertImportedTool :one
-- InsertImportedTool inserts an imported tool of either kind with its
-- review state; its versions must be inserted in the same transaction (the
-- deferred foreign keys on latest_version and approved_version).
INSERT INTO tools (server_id, name, kind, external_source_id, external_tool_name, enabled, disabled_by,
                   latest_version, review_status, review_requested_at, approved_version, approved_hash,
                   approved_at, approved_by, created_by)
VALUES (sqlc.arg(server_id), sqlc.arg(name), sqlc.arg(kind), sqlc.narg(external_source_id),
        sqlc.narg(external_tool_name), sqlc.arg(enabled), sqlc.narg(disabled_by), sqlc.arg(latest_version),
        sqlc.arg(review_status), sqlc.narg(review_requested_at), sqlc.narg(approved_version),
        sqlc.narg(approved_hash), sqlc.narg(approved_at), sqlc.narg(approved_by), sqlc.arg(created_by))
RETURNING id;

-- name: SavepointImportItem :exec
-- SavepointImportItem opens the savepoint of one server (or the package
-- list) of an import.
SAVEPOINT mcpbox_import_item;

-- name: RollbackImportItem :exec
-- RollbackImportItem undoes a failed import item.
ROLLBACK TO SAVEPOINT mcpbox_import_item;

-- name: ReleaseImportItem :exec
-- ReleaseImportItem keeps an import item's changes.
RELEASE SAVEPOINT mcpbox_import_item;
