-- Execution records (backend.md §4.2, §8.2, §9.6, §12.3, §14.3). The table
-- is append-only with soft references: tool_id and server_id are stored as
-- sent and never joined for attribution (§16.6).

-- name: ListServerSecretNamesWithValue :many
-- ListServerSecretNamesWithValue returns the names of a server's secrets
-- that hold a value, for the redaction of its execution records (§12.3);
-- the values are opened by the secrets service.
SELECT name
FROM server_secrets
WHERE server_id = sqlc.arg(server_id) AND value_enc IS NOT NULL
ORDER BY name COLLATE "C";

-- name: InsertExecutionRecord :one
-- InsertExecutionRecord stores one redacted record; a record whose id is
-- already stored is left alone (idempotent ingestion, §9.6) and returns no
-- row.
INSERT INTO execution_records (
    id, tool_id, server_id, tool_version, tool_hash, exposed_name, via, is_test,
    caller_kind, caller_email, caller_sub, success, error_code, error,
    input_args, result, stdout, duration_ms, started_at, request_id)
VALUES (
    sqlc.arg(id), sqlc.narg(tool_id), sqlc.narg(server_id), sqlc.narg(tool_version), sqlc.narg(tool_hash),
    sqlc.arg(exposed_name), sqlc.arg(via), sqlc.arg(is_test),
    sqlc.arg(caller_kind), sqlc.narg(caller_email), sqlc.narg(caller_sub), sqlc.arg(success),
    sqlc.narg(error_code), sqlc.narg(error),
    sqlc.narg(input_args), sqlc.narg(result), sqlc.narg(stdout), sqlc.arg(duration_ms),
    sqlc.arg(started_at), sqlc.narg(request_id))
ON CONFLICT (id) DO NOTHING
RETURNING seq;

-- name: ListExecutions :many
-- ListExecutions is GET /executions: newest first by seq, every filter
-- optional. q is a case-insensitive literal substring of exposed_name or
-- error; caller_email matches case-insensitively; since is inclusive, until
-- exclusive (created_at); after_seq keeps only newer records (live tails);
-- before_seq is the cursor position. The caller asks for one row more than
-- the page to learn whether another follows.
SELECT id, seq, tool_id, server_id, tool_version, tool_hash, exposed_name, via, is_test,
       caller_kind, caller_email, caller_sub, success, error_code, error,
       input_args, result, stdout, duration_ms, started_at, request_id, created_at
FROM execution_records
WHERE (sqlc.narg(tool_id)::uuid IS NULL OR tool_id = sqlc.narg(tool_id)::uuid)
  AND (sqlc.narg(server_id)::uuid IS NULL OR server_id = sqlc.narg(server_id)::uuid)
  AND (sqlc.narg(success)::boolean IS NULL OR success = sqlc.narg(success)::boolean)
  AND (sqlc.narg(error_code)::text IS NULL OR error_code = sqlc.narg(error_code)::text)
  AND (sqlc.narg(via)::text IS NULL OR via = sqlc.narg(via)::text)
  AND (sqlc.narg(caller_kind)::text IS NULL OR caller_kind = sqlc.narg(caller_kind)::text)
  AND (sqlc.narg(caller_email)::text IS NULL OR lower(caller_email) = lower(sqlc.narg(caller_email)::text))
  AND (sqlc.narg(is_test)::boolean IS NULL OR is_test = sqlc.narg(is_test)::boolean)
  AND (sqlc.narg(version)::int IS NULL OR tool_version = sqlc.narg(version)::int)
  AND (sqlc.narg(since)::timestamptz IS NULL OR created_at >= sqlc.narg(since)::timestamptz)
  AND (sqlc.narg(until)::timestamptz IS NULL OR created_at < sqlc.narg(until)::timestamptz)
  AND (sqlc.narg(q)::text IS NULL
       OR strpos(lower(exposed_name), lower(sqlc.narg(q)::text)) > 0
       OR strpos(lower(coalesce(error, '')), lower(sqlc.narg(q)::text)) > 0)
  AND (sqlc.narg(after_seq)::bigint IS NULL OR seq > sqlc.narg(after_seq)::bigint)
  AND (sqlc.narg(before_seq)::bigint IS NULL OR seq < sqlc.narg(before_seq)::bigint)
ORDER BY seq DESC
LIMIT sqlc.arg(row_limit)::int;

-- name: GetExecution :one
-- GetExecution returns one record by id.
SELECT id, seq, tool_id, server_id, tool_version, tool_hash, exposed_name, via, is_test,
       caller_kind, caller_email, caller_sub, success, error_code, error,
       input_args, result, stdout, duration_ms, started_at, request_id, created_at
FROM execution_records
WHERE id = sqlc.arg(id);

-- name: ExecutionStats :one
-- ExecutionStats aggregates the records created in the last period_seconds
-- (§14.3): test runs are counted only in test_runs. Callers are local, or a
-- remote caller by email, else subject.
SELECT
    (count(*) FILTER (WHERE NOT is_test))::bigint AS executions,
    (count(*) FILTER (WHERE NOT is_test AND NOT success))::bigint AS executions_failed,
    coalesce(round(avg(duration_ms) FILTER (WHERE NOT is_test)), 0)::bigint AS avg_duration_ms,
    coalesce(percentile_disc(0.95) WITHIN GROUP (ORDER BY duration_ms) FILTER (WHERE NOT is_test), 0)::bigint
        AS p95_duration_ms,
    (count(*) FILTER (WHERE NOT is_test AND caller_kind = 'local'))::bigint AS executions_local,
    (count(*) FILTER (WHERE NOT is_test AND caller_kind = 'remote'))::bigint AS executions_remote,
    (count(*) FILTER (WHERE is_test))::bigint AS test_runs,
    (count(DISTINCT tool_id) FILTER (WHERE NOT is_test))::bigint AS unique_tools,
    (count(DISTINCT caller_kind || ':' || coalesce(lower(caller_email), caller_sub, ''))
        FILTER (WHERE NOT is_test))::bigint AS unique_callers
FROM execution_records
WHERE created_at >= now() - sqlc.arg(period_seconds)::int * interval '1 second';

-- name: ExecutionBuckets :many
-- ExecutionBuckets counts the records (test runs excluded) of the last
-- period_seconds in buckets of bin_seconds aligned with date_bin on the Unix
-- epoch, from the bucket of now - period to the bucket of now inclusive,
-- every bucket present (zero-filled, §14.3).
WITH bounds AS (
    SELECT now() - sqlc.arg(period_seconds)::int * interval '1 second' AS since,
           sqlc.arg(bin_seconds)::int * interval '1 second' AS width
)
SELECT g.t::timestamptz AS t,
       count(e.id)::bigint AS total,
       (count(e.id) FILTER (WHERE NOT e.success))::bigint AS failed
FROM bounds b
CROSS JOIN LATERAL generate_series(
    date_bin(b.width, b.since, TIMESTAMPTZ 'epoch'),
    date_bin(b.width, now(), TIMESTAMPTZ 'epoch'),
    b.width) AS g(t)
LEFT JOIN execution_records e
    ON NOT e.is_test AND e.created_at >= b.since
   AND date_bin(b.width, e.created_at, TIMESTAMPTZ 'epoch') = g.t
GROUP BY g.t
ORDER BY g.t;

-- name: MaxExecutionSeq :one
-- MaxExecutionSeq is where a new live stream starts its execution events.
SELECT coalesce(max(seq), 0)::bigint FROM execution_records;

-- name: ExecutionsAfter :many
-- ExecutionsAfter is the execution events of the activity stream: records
-- with a larger seq, oldest first, optionally of one server.
SELECT id, seq, exposed_name, success, duration_ms, caller_email, created_at
FROM execution_records
WHERE seq > sqlc.arg(after)::bigint
  AND (sqlc.narg(server_id)::uuid IS NULL OR server_id = sqlc.narg(server_id)::uuid)
ORDER BY seq
LIMIT sqlc.arg(max_rows);
