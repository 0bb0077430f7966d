-- Servers (backend.md §4.2, §8.1, §8.2).

-- name: ListServers :many
-- ListServers returns one page of servers sorted by (name, id), after the
-- cursor position (after_name, after_id) when given; q is a case-insensitive
-- literal substring of name or description, status an exact status. The
-- caller asks for one row more than the page to learn whether another follows.
-- Names sort bytewise (COLLATE "C"): the same order in every installation
-- and in Go. tool_count counts the server's tools, live_tool_count those the
-- catalog serves (§9.3): an approved version, enabled, the server running
-- and, for an external tool, a usable source (active or error, §13.1).
SELECT s.id, s.name, s.description, s.status, s.created_by, s.created_at, s.updated_at,
       c.tool_count, c.live_tool_count
FROM servers s
CROSS JOIN LATERAL (
    SELECT count(t.id)::bigint AS tool_count,
           (count(t.id) FILTER (
               WHERE t.approved_version IS NOT NULL AND t.enabled AND s.status = 'running'
                 AND (t.kind = 'go' OR src.status IN ('active', 'error'))))::bigint AS live_tool_count
    FROM tools t
    LEFT JOIN external_mcp_sources src ON src.id = t.external_source_id
    WHERE t.server_id = s.id
) c
WHERE (sqlc.narg(q)::text IS NULL
       OR strpos(lower(s.name), lower(sqlc.narg(q)::text)) > 0
       OR strpos(lower(s.description), lower(sqlc.narg(q)::text)) > 0)
  AND (sqlc.narg(status)::text IS NULL OR s.status = sqlc.narg(status)::text)
  AND (sqlc.narg(after_name)::text IS NULL
       OR (s.name COLLATE "C", s.id) > (sqlc.narg(after_name)::text COLLATE "C", sqlc.narg(after_id)::uuid))
ORDER BY s.name COLLATE "C", s.id
LIMIT sqlc.arg(row_limit)::int;

-- name: GetServer :one
-- GetServer returns one server with its tool counts (as ListServers).
SELECT s.id, s.name, s.description, s.status, s.created_by, s.created_at, s.updated_at,
       c.tool_count, c.live_tool_count
FROM servers s
CROSS JOIN LATERAL (
    SELECT count(t.id)::bigint AS tool_count,
           (count(t.id) FILTER (
               WHERE t.approved_version IS NOT NULL AND t.enabled AND s.status = 'running'
                 AND (t.kind = 'go' OR src.status IN ('active', 'error'))))::bigint AS live_tool_count
    FROM tools t
    LEFT JOIN external_mcp_sources src ON src.id = t.external_source_id
    WHERE t.server_id = s.id
) c
WHERE s.id = sqlc.arg(id);

-- name: ListServerApprovedHosts :many
-- ListServerApprovedHosts returns the approved network requests (host, port;
-- port NULL = any port) of the given servers, from which a server's
-- approved_hosts are derived (§6.5).
SELECT server_id, host, port
FROM network_requests
WHERE server_id = ANY(sqlc.arg(server_ids)::uuid[]) AND status = 'approved'
ORDER BY server_id, host, port NULLS FIRST;

-- name: GetServerForUpdate :one
-- GetServerForUpdate locks a server's row for a state change (§4.1).
SELECT id, name, description, status, created_by, created_at, updated_at
FROM servers WHERE id = sqlc.arg(id) FOR UPDATE;

-- name: CreateServer :one
-- CreateServer inserts a stopped server.
INSERT INTO servers (name, description, created_by)
VALUES (sqlc.arg(name), sqlc.arg(description), sqlc.arg(created_by))
RETURNING id, name, description, status, created_by, created_at, updated_at;

-- name: UpdateServer :one
-- UpdateServer sets the name and the description of a server.
UPDATE servers SET name = sqlc.arg(name), description = sqlc.arg(description)
WHERE id = sqlc.arg(id)
RETURNING id, name, description, status, created_by, created_at, updated_at;

-- name: SetServerStatus :one
-- SetServerStatus sets a server's status (stopped or running).
UPDATE servers SET status = sqlc.arg(status)
WHERE id = sqlc.arg(id)
RETURNING id, name, description, status, created_by, created_at, updated_at;

-- name: DeleteServer :one
-- DeleteServer deletes a server; its tools (and their versions), secrets,
-- external sources and network requests cascade (§4.3). It returns the row
-- as it was.
DELETE FROM servers WHERE id = sqlc.arg(id)
RETURNING id, name, description, status, created_by, created_at, updated_at;
