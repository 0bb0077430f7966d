-- Tools and their immutable versions (backend.md §4.2, §5, §8.2).

-- name: LockToolQuota :exec
-- LockToolQuota serialises tool creation for the installation-wide quota
-- (§9.3): held until the transaction ends.
SELECT pg_advisory_xact_lock(hashtext('mcpbox_tool_quota'));

-- name: CountTools :one
-- CountTools counts every tool of the installation.
SELECT count(*)::bigint FROM tools;

-- name: GetToolServer :one
-- GetToolServer returns a server's name and status (a tool insert's
-- foreign key then locks the row against delete until commit).
SELECT id, name, status FROM servers WHERE id = sqlc.arg(id);

-- name: InsertTool :one
-- InsertTool inserts a go tool; its version 1 must be inserted in the same
-- transaction (the deferred foreign key on latest_version).
INSERT INTO tools (server_id, name, created_by)
VALUES (sqlc.arg(server_id), sqlc.arg(name), sqlc.arg(created_by))
RETURNING id;

-- name: InsertToolVersion :exec
-- InsertToolVersion appends a version (append-only table).
INSERT INTO tool_versions (tool_id, version, code, external_definition, manifest, hash, description,
                           input_schema, output_schema, analyzer_version, based_on_version,
                           change_summary, change_source, created_by)
VALUES (sqlc.arg(tool_id), sqlc.arg(version), sqlc.narg(code), sqlc.narg(external_definition),
        sqlc.arg(manifest), sqlc.arg(hash), sqlc.arg(description), sqlc.arg(input_schema),
        sqlc.narg(output_schema), sqlc.narg(analyzer_version), sqlc.narg(based_on_version),
        sqlc.arg(change_summary), sqlc.arg(change_source), sqlc.arg(created_by));

-- name: GetToolDetail :one
-- GetToolDetail returns a tool with its server's name and status; live is
-- the catalog's rule (§9.3, §13.1): an approved version, enabled, the server
-- running and, for an external tool, a usable source.
SELECT t.id, t.server_id, s.name AS server_name, s.status AS server_status, t.name, t.kind,
       t.external_source_id, t.external_tool_name, t.enabled, t.disabled_by, t.latest_version,
       t.review_status, t.review_requested_at, t.publish_notes, t.reviewed_by, t.reviewed_at,
       t.rejection_reason, t.approved_version, t.approved_hash, t.approved_at, t.approved_by,
       t.created_by, t.created_at, t.updated_at,
       (t.approved_version IS NOT NULL AND t.enabled AND s.status = 'running'
        AND (t.kind = 'go' OR coalesce(src.status IN ('active', 'error'), false)))::boolean AS live
FROM tools t
JOIN servers s ON s.id = t.server_id
LEFT JOIN external_mcp_sources src ON src.id = t.external_source_id
WHERE t.id = sqlc.arg(id);

-- name: ListServerTools :many
-- ListServerTools returns one page of a server's tools sorted by (name, id)
-- after the cursor position, optionally filtered by review status and
-- enabled; the caller asks for one row more than the page. Columns as
-- GetToolDetail.
SELECT t.id, t.server_id, s.name AS server_name, s.status AS server_status, t.name, t.kind,
       t.external_source_id, t.external_tool_name, t.enabled, t.disabled_by, t.latest_version,
       t.review_status, t.review_requested_at, t.publish_notes, t.reviewed_by, t.reviewed_at,
       t.rejection_reason, t.approved_version, t.approved_hash, t.approved_at, t.approved_by,
       t.created_by, t.created_at, t.updated_at,
       (t.approved_version IS NOT NULL AND t.enabled AND s.status = 'running'
        AND (t.kind = 'go' OR coalesce(src.status IN ('active', 'error'), false)))::boolean AS live
FROM tools t
JOIN servers s ON s.id = t.server_id
LEFT JOIN external_mcp_sources src ON src.id = t.external_source_id
WHERE t.server_id = sqlc.arg(server_id)
  AND (sqlc.narg(review_status)::text IS NULL OR t.review_status = sqlc.narg(review_status)::text)
  AND (sqlc.narg(enabled)::boolean IS NULL OR t.enabled = sqlc.narg(enabled)::boolean)
  AND (sqlc.narg(after_name)::text IS NULL
       OR (t.name COLLATE "C", t.id) > (sqlc.narg(after_name)::text COLLATE "C", sqlc.narg(after_id)::uuid))
ORDER BY t.name COLLATE "C", t.id
LIMIT sqlc.arg(row_limit)::int;

-- name: GetToolForUpdate :one
-- GetToolForUpdate locks a tool's row for a change (§4.1, §5.1).
SELECT * FROM tools WHERE id = sqlc.arg(id) FOR UPDATE;

-- name: GetToolVersion :one
-- GetToolVersion returns one version of a tool.
SELECT * FROM tool_versions WHERE tool_id = sqlc.arg(tool_id) AND version = sqlc.arg(version);

-- name: GetLatestToolVersions :many
-- GetLatestToolVersions returns the latest version of each given tool.
SELECT v.* FROM tool_versions v
JOIN tools t ON t.id = v.tool_id AND t.latest_version = v.version
WHERE t.id = ANY(sqlc.arg(tool_ids)::uuid[]);

-- name: ListToolVersions :many
-- ListToolVersions returns one page of a tool's versions, newest first,
-- below the cursor's version when given; one row more than the page.
SELECT * FROM tool_versions
WHERE tool_id = sqlc.arg(tool_id)
  AND (sqlc.narg(before_version)::int IS NULL OR version < sqlc.narg(before_version)::int)
ORDER BY version DESC
LIMIT sqlc.arg(row_limit)::int;

-- name: SetToolName :exec
-- SetToolName renames a tool (no new version, §5.1).
UPDATE tools SET name = sqlc.arg(name) WHERE id = sqlc.arg(id);

-- name: SetToolEnabled :exec
-- SetToolEnabled enables a tool (disabled_by NULL) or disables it, naming
-- who did.
UPDATE tools SET enabled = sqlc.arg(enabled), disabled_by = sqlc.narg(disabled_by) WHERE id = sqlc.arg(id);

-- name: SetToolReview :exec
-- SetToolReview records a new latest version and the review state it
-- leads to (§6.1): every review and approval column is written as given.
UPDATE tools SET latest_version = sqlc.arg(latest_version), review_status = sqlc.arg(review_status),
                 review_requested_at = sqlc.narg(review_requested_at),
                 approved_version = sqlc.narg(approved_version), approved_hash = sqlc.narg(approved_hash),
                 approved_at = sqlc.narg(approved_at), approved_by = sqlc.narg(approved_by)
WHERE id = sqlc.arg(id);

-- name: DeleteToolRequests :one
-- DeleteToolRequests deletes a tool's pending and rejected network and
-- package requests before the tool goes (§4.3); approved ones stay and get
-- tool_id NULL from their foreign key. It returns how many went.
WITH n AS (
    DELETE FROM network_requests WHERE network_requests.tool_id = sqlc.arg(id)::uuid AND status IN ('pending', 'rejected')
    RETURNING id
), p AS (
    DELETE FROM package_requests WHERE package_requests.tool_id = sqlc.arg(id)::uuid AND status IN ('pending', 'rejected')
    RETURNING id
)
SELECT (SELECT count(*) FROM n)::bigint AS network, (SELECT count(*) FROM p)::bigint AS packages;

-- name: DeleteTool :exec
-- DeleteTool deletes a tool; its versions cascade.
DELETE FROM tools WHERE id = sqlc.arg(id);

-- name: ListToolCoverageHosts :many
-- ListToolCoverageHosts returns a server's approved network requests (port
-- NULL = any port), from which host coverage is computed (§6.3).
SELECT host, port FROM network_requests
WHERE server_id = sqlc.arg(server_id) AND status = 'approved';

-- name: ListApprovedPackagesOf :many
-- ListApprovedPackagesOf returns which of the given packages have an
-- approved package request (§6.3).
SELECT package FROM package_requests
WHERE status = 'approved' AND package = ANY(sqlc.arg(packages)::text[]);
