-- The dashboard's counts, top tools and recent failures (backend.md §14.3).
-- The execution figures and buckets are the executions queries'
-- (ExecutionStats, ExecutionBuckets).

-- name: DashboardCounts :one
-- DashboardCounts counts the servers, the tools, the live tools (approved,
-- enabled, server running and, for an external tool, a usable source:
-- active or error, §13.1) and what waits for review.
SELECT (SELECT count(*) FROM servers)::bigint AS servers,
       (SELECT count(*) FROM servers WHERE status = 'running')::bigint AS servers_running,
       (SELECT count(*) FROM tools)::bigint AS tools,
       (SELECT count(*)
        FROM tools t
        JOIN servers s ON s.id = t.server_id
        LEFT JOIN external_mcp_sources src ON src.id = t.external_source_id
        WHERE t.approved_version IS NOT NULL AND t.enabled AND s.status = 'running'
          AND (t.kind <> 'external' OR src.status IN ('active', 'error')))::bigint AS tools_live,
       (SELECT count(*) FROM tools WHERE review_status = 'pending_review')::bigint AS pending_tools,
       (SELECT count(*) FROM network_requests WHERE status = 'pending')::bigint AS pending_network,
       (SELECT count(*) FROM package_requests WHERE status = 'pending')::bigint AS pending_packages,
       (SELECT count(*) FROM external_mcp_sources WHERE status = 'pending_review')::bigint AS pending_sources;

-- name: DashboardTopTools :many
-- DashboardTopTools returns the row_limit tools with the most executions
-- (test runs excluded) created in the last period_seconds, most first. A
-- tool is its tool_id, named by its newest record; records whose tool is
-- gone (no tool_id) are grouped by exposed name.
SELECT tool_id, exposed_name, executions, failed, avg_duration_ms
FROM (
    SELECT tool_id,
           (array_agg(exposed_name ORDER BY seq DESC))[1]::text AS exposed_name,
           count(*)::bigint AS executions,
           (count(*) FILTER (WHERE NOT success))::bigint AS failed,
           round(avg(duration_ms))::bigint AS avg_duration_ms
    FROM execution_records
    WHERE NOT is_test AND created_at >= now() - sqlc.arg(period_seconds)::int * interval '1 second'
    GROUP BY tool_id, CASE WHEN tool_id IS NULL THEN exposed_name END
) AS per_tool
ORDER BY executions DESC, exposed_name COLLATE "C", tool_id
LIMIT sqlc.arg(row_limit)::int;

-- name: DashboardRecentFailures :many
-- DashboardRecentFailures returns the row_limit newest failed executions
-- (test runs excluded) created in the last period_seconds, with the first
-- 200 characters of their error.
SELECT id, exposed_name, left(coalesce(error, ''), 200)::text AS error, created_at
FROM execution_records
WHERE NOT is_test AND NOT success
  AND created_at >= now() - sqlc.arg(period_seconds)::int * interval '1 second'
ORDER BY seq DESC
LIMIT sqlc.arg(row_limit)::int;

-- name: ListApprovedPackages :many
-- ListApprovedPackages returns the approved packages (GET /packages),
-- sorted.
SELECT package FROM package_requests WHERE status = 'approved' ORDER BY package COLLATE "C";
