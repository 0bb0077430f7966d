-- Tool approvals and network and package requests (backend.md §6.1–§6.3,
-- §8.2).

-- name: SetToolReviewState :exec
-- SetToolReviewState writes every review and approval column of a tool as
-- given (§6.1): submit, approve, reject, revoke. latest_version is not
-- touched; the caller holds the row lock (GetToolForUpdate).
UPDATE tools SET review_status = sqlc.arg(review_status),
                 review_requested_at = sqlc.narg(review_requested_at),
                 publish_notes = sqlc.narg(publish_notes),
                 reviewed_by = sqlc.narg(reviewed_by), reviewed_at = sqlc.narg(reviewed_at),
                 rejection_reason = sqlc.narg(rejection_reason),
                 approved_version = sqlc.narg(approved_version), approved_hash = sqlc.narg(approved_hash),
                 approved_at = sqlc.narg(approved_at), approved_by = sqlc.narg(approved_by)
WHERE id = sqlc.arg(id);

-- name: ListApprovedToolsForUpdate :many
-- ListApprovedToolsForUpdate locks the tools with an approved version and
-- returns their approved manifests, for the coverage re-evaluation of a
-- revoked or deleted request (§6.3): the tools of one server (server_id),
-- and/or those whose approved manifest names a package (package).
SELECT t.id, t.server_id, s.name AS server_name, t.name, t.review_status, t.review_requested_at,
       t.approved_version, v.manifest
FROM tools t
JOIN servers s ON s.id = t.server_id
JOIN tool_versions v ON v.tool_id = t.id AND v.version = t.approved_version
WHERE t.approved_version IS NOT NULL
  AND (sqlc.narg(server_id)::uuid IS NULL OR t.server_id = sqlc.narg(server_id)::uuid)
  AND (sqlc.narg(package)::text IS NULL OR v.manifest -> 'packages' @> jsonb_build_array(sqlc.narg(package)::text))
ORDER BY t.id
FOR UPDATE OF t;

-- name: InsertNetworkRequest :one
-- InsertNetworkRequest inserts a network request in the given state.
INSERT INTO network_requests (server_id, tool_id, host, port, justification, status, requested_by,
                              reviewed_by, reviewed_at)
VALUES (sqlc.arg(server_id), sqlc.narg(tool_id), sqlc.arg(host), sqlc.narg(port), sqlc.arg(justification),
        sqlc.arg(status), sqlc.arg(requested_by), sqlc.narg(reviewed_by), sqlc.narg(reviewed_at))
RETURNING id;

-- name: GetNetworkRequest :one
-- GetNetworkRequest returns a network request with its server's and tool's
-- names (the NetworkRequest resource, §8.1).
SELECT r.id, r.server_id, s.name AS server_name, r.tool_id, t.name AS tool_name, r.host, r.port,
       r.justification, r.status, r.requested_by, r.reviewed_by, r.reviewed_at, r.rejection_reason,
       r.created_at
FROM network_requests r
JOIN servers s ON s.id = r.server_id
LEFT JOIN tools t ON t.id = r.tool_id
WHERE r.id = sqlc.arg(id);

-- name: GetNetworkRequestForUpdate :one
-- GetNetworkRequestForUpdate locks a network request for a state change.
SELECT * FROM network_requests WHERE id = sqlc.arg(id) FOR UPDATE;

-- name: FindNetworkRequest :one
-- FindNetworkRequest returns the newest request of a server for (host,
-- port) in a state, made by a tool (tool_id) or by an admin (tool_id NULL).
SELECT * FROM network_requests
WHERE server_id = sqlc.arg(server_id) AND host = sqlc.arg(host)
  AND coalesce(port, 0) = coalesce(sqlc.narg(port)::int, 0)
  AND status = sqlc.arg(status) AND tool_id IS NOT DISTINCT FROM sqlc.narg(tool_id)::uuid
ORDER BY created_at DESC, id DESC
LIMIT 1;

-- name: FindApprovedNetworkRequest :one
-- FindApprovedNetworkRequest returns the approved request of a server for
-- exactly (host, port), whoever made it.
SELECT * FROM network_requests
WHERE server_id = sqlc.arg(server_id) AND host = sqlc.arg(host)
  AND coalesce(port, 0) = coalesce(sqlc.narg(port)::int, 0) AND status = 'approved';

-- name: SetNetworkRequestStatus :exec
-- SetNetworkRequestStatus moves a network request to a state with its
-- review columns.
UPDATE network_requests SET status = sqlc.arg(status), reviewed_by = sqlc.narg(reviewed_by),
                            reviewed_at = sqlc.narg(reviewed_at), rejection_reason = sqlc.narg(rejection_reason)
WHERE id = sqlc.arg(id);

-- name: SetNetworkRequestJustification :exec
-- SetNetworkRequestJustification updates the justification of a pending
-- request asked for again (§6.2).
UPDATE network_requests SET justification = sqlc.arg(justification) WHERE id = sqlc.arg(id);

-- name: DeleteNetworkRequest :exec
-- DeleteNetworkRequest deletes a network request.
DELETE FROM network_requests WHERE id = sqlc.arg(id);

-- name: ListNetworkRequests :many
-- ListNetworkRequests is one page of GET /network-requests, newest first
-- (created_at, id), below the cursor position when given; every filter is
-- optional; q is a case-insensitive literal substring of the host, the
-- tool's name or the server's name. One row more than the page.
SELECT r.id, r.server_id, s.name AS server_name, r.tool_id, t.name AS tool_name, r.host, r.port,
       r.justification, r.status, r.requested_by, r.reviewed_by, r.reviewed_at, r.rejection_reason,
       r.created_at
FROM network_requests r
JOIN servers s ON s.id = r.server_id
LEFT JOIN tools t ON t.id = r.tool_id
WHERE (sqlc.narg(status)::text IS NULL OR r.status = sqlc.narg(status)::text)
  AND (sqlc.narg(server_id)::uuid IS NULL OR r.server_id = sqlc.narg(server_id)::uuid)
  AND (sqlc.narg(tool_id)::uuid IS NULL OR r.tool_id = sqlc.narg(tool_id)::uuid)
  AND (sqlc.narg(q)::text IS NULL
       OR strpos(r.host, lower(sqlc.narg(q)::text)) > 0
       OR strpos(lower(coalesce(t.name, '')), lower(sqlc.narg(q)::text)) > 0
       OR strpos(lower(s.name), lower(sqlc.narg(q)::text)) > 0)
  AND (sqlc.narg(before_created_at)::timestamptz IS NULL
       OR (r.created_at, r.id) < (sqlc.narg(before_created_at)::timestamptz, sqlc.narg(before_id)::uuid))
ORDER BY r.created_at DESC, r.id DESC
LIMIT sqlc.arg(row_limit)::int;

-- name: InsertPackageRequest :one
-- InsertPackageRequest inserts a package request in the given state.
INSERT INTO package_requests (server_id, tool_id, package, justification, status, requested_by,
                              reviewed_by, reviewed_at)
VALUES (sqlc.narg(server_id), sqlc.narg(tool_id), sqlc.arg(package), sqlc.arg(justification),
        sqlc.arg(status), sqlc.arg(requested_by), sqlc.narg(reviewed_by), sqlc.narg(reviewed_at))
RETURNING id;

-- name: GetPackageRequest :one
-- GetPackageRequest returns a package request with its server's and tool's
-- names (the PackageRequest resource, §8.1).
SELECT r.id, r.server_id, s.name AS server_name, r.tool_id, t.name AS tool_name, r.package,
       r.justification, r.status, r.requested_by, r.reviewed_by, r.reviewed_at, r.rejection_reason,
       r.created_at
FROM package_requests r
LEFT JOIN servers s ON s.id = r.server_id
LEFT JOIN tools t ON t.id = r.tool_id
WHERE r.id = sqlc.arg(id);

-- name: GetPackageRequestForUpdate :one
-- GetPackageRequestForUpdate locks a package request for a state change.
SELECT * FROM package_requests WHERE id = sqlc.arg(id) FOR UPDATE;

-- name: FindPackageRequest :one
-- FindPackageRequest returns the newest request for a package in a state,
-- made by a tool (tool_id) or by an admin (tool_id NULL).
SELECT * FROM package_requests
WHERE package = sqlc.arg(package) AND status = sqlc.arg(status)
  AND tool_id IS NOT DISTINCT FROM sqlc.narg(tool_id)::uuid
ORDER BY created_at DESC, id DESC
LIMIT 1;

-- name: FindApprovedPackageRequest :one
-- FindApprovedPackageRequest returns the approved request for a package.
SELECT * FROM package_requests WHERE package = sqlc.arg(package) AND status = 'approved';

-- name: SetPackageRequestStatus :exec
-- SetPackageRequestStatus moves a package request to a state with its
-- review columns.
UPDATE package_requests SET status = sqlc.arg(status), reviewed_by = sqlc.narg(reviewed_by),
                            reviewed_at = sqlc.narg(reviewed_at), rejection_reason = sqlc.narg(rejection_reason)
WHERE id = sqlc.arg(id);

-- name: SetPackageRequestJustification :exec
-- SetPackageRequestJustification updates the justification of a pending
-- request asked for again (§6.2).
UPDATE package_requests SET justification = sqlc.arg(justification) WHERE id = sqlc.arg(id);

-- name: DeletePackageRequest :exec
-- DeletePackageRequest deletes a package request.
DELETE FROM package_requests WHERE id = sqlc.arg(id);

-- name: ListPackageRequests :many
-- ListPackageRequests is one page of GET /package-requests, newest first
-- (created_at, id), as ListNetworkRequests; q matches the package, the
-- tool's name or the server's name.
SELECT r.id, r.server_id, s.name AS server_name, r.tool_id, t.name AS tool_name, r.package,
       r.justification, r.status, r.requested_by, r.reviewed_by, r.reviewed_at, r.rejection_reason,
       r.created_at
FROM package_requests r
LEFT JOIN servers s ON s.id = r.server_id
LEFT JOIN tools t ON t.id = r.tool_id
WHERE (sqlc.narg(status)::text IS NULL OR r.status = sqlc.narg(status)::text)
  AND (sqlc.narg(server_id)::uuid IS NULL OR r.server_id = sqlc.narg(server_id)::uuid)
  AND (sqlc.narg(tool_id)::uuid IS NULL OR r.tool_id = sqlc.narg(tool_id)::uuid)
  AND (sqlc.narg(q)::text IS NULL
       OR strpos(r.package, lower(sqlc.narg(q)::text)) > 0
       OR strpos(lower(coalesce(t.name, '')), lower(sqlc.narg(q)::text)) > 0
       OR strpos(lower(coalesce(s.name, '')), lower(sqlc.narg(q)::text)) > 0)
  AND (sqlc.narg(before_created_at)::timestamptz IS NULL
       OR (r.created_at, r.id) < (sqlc.narg(before_created_at)::timestamptz, sqlc.narg(before_id)::uuid))
ORDER BY r.created_at DESC, r.id DESC
LIMIT sqlc.arg(row_limit)::int;

-- name: ListApprovalTools :many
-- ListApprovalTools is one page of the tool approval queue (GET
-- /approvals/tools): tools in a review status (any when NULL) whose exposed
-- name or server name contains q (case-insensitive), sorted by exposed name
-- (server name, tool name, id) after the cursor. One row more than the page.
SELECT t.id, s.name AS server_name, t.name
FROM tools t
JOIN servers s ON s.id = t.server_id
WHERE (sqlc.narg(review_status)::text IS NULL OR t.review_status = sqlc.narg(review_status)::text)
  AND (sqlc.narg(q)::text IS NULL
       OR strpos(lower(s.name || '__' || t.name), lower(sqlc.narg(q)::text)) > 0)
  AND (sqlc.narg(after_server)::text IS NULL
       OR (s.name COLLATE "C", t.name COLLATE "C", t.id)
          > (sqlc.narg(after_server)::text COLLATE "C", sqlc.narg(after_name)::text COLLATE "C", sqlc.narg(after_id)::uuid))
ORDER BY s.name COLLATE "C", t.name COLLATE "C", t.id
LIMIT sqlc.arg(row_limit)::int;

-- name: ApprovalSummary :one
-- ApprovalSummary counts what waits for review and what was decided in the
-- last 7 days (GET /approvals/summary): approvals are tool approvals,
-- approved requests and approved sources; rejections rejected tools and
-- requests.
SELECT (SELECT count(*) FROM tools WHERE review_status = 'pending_review')::bigint AS pending_tools,
       (SELECT count(*) FROM network_requests WHERE status = 'pending')::bigint AS pending_network,
       (SELECT count(*) FROM package_requests WHERE status = 'pending')::bigint AS pending_packages,
       (SELECT count(*) FROM external_mcp_sources WHERE status = 'pending_review')::bigint AS pending_sources,
       ((SELECT count(*) FROM tools WHERE approved_at >= now() - interval '7 days')
        + (SELECT count(*) FROM network_requests WHERE status = 'approved' AND reviewed_at >= now() - interval '7 days')
        + (SELECT count(*) FROM package_requests WHERE status = 'approved' AND reviewed_at >= now() - interval '7 days')
        + (SELECT count(*) FROM external_mcp_sources WHERE approved_at >= now() - interval '7 days'))::bigint
           AS approved_last_7d,
       ((SELECT count(*) FROM tools WHERE review_status = 'rejected' AND reviewed_at >= now() - interval '7 days')
        + (SELECT count(*) FROM network_requests WHERE status = 'rejected' AND reviewed_at >= now() - interval '7 days')
        + (SELECT count(*) FROM package_requests WHERE status = 'rejected' AND reviewed_at >= now() - interval '7 days'))::bigint
           AS rejected_last_7d;

-- name: SavepointBulkItem :exec
-- SavepointBulkItem opens the savepoint of one item of POST /approvals/bulk.
SAVEPOINT mcpbox_bulk_item;

-- name: RollbackBulkItem :exec
-- RollbackBulkItem undoes a failed bulk item.
ROLLBACK TO SAVEPOINT mcpbox_bulk_item;

-- name: ReleaseBulkItem :exec
-- ReleaseBulkItem keeps a bulk item's changes.
RELEASE SAVEPOINT mcpbox_bulk_item;
