-- Activity and audit log (backend.md §14.1).

-- name: InsertActivity :one
-- InsertActivity appends one row; the caller NOTIFYs mcpbox_activity with
-- its seq in the same transaction (NotifyActivity).
INSERT INTO activity_log (category, action, level, actor, message, server_id, tool_id, request_id, details)
VALUES (sqlc.arg(category), sqlc.arg(action), sqlc.arg(level), sqlc.arg(actor), sqlc.arg(message),
        sqlc.narg(server_id), sqlc.narg(tool_id), sqlc.narg(request_id), sqlc.arg(details))
RETURNING id, seq, created_at;

-- name: NotifyActivity :exec
-- NotifyActivity tells every replica's activity streams about a new row; the
-- notification is delivered at commit.
SELECT pg_notify('mcpbox_activity', json_build_object('seq', sqlc.arg(seq)::bigint)::text);

-- name: ListActivity :many
-- ListActivity is GET /activity: newest first by seq, every filter optional
-- (actor_kind: admin, llm_local, llm_remote, system; q is a LIKE pattern the
-- caller escaped, matched literally with ESCAPE '\'), before_seq for the
-- next page.
SELECT id, seq, category, action, level, actor, message, server_id, tool_id, request_id, details, created_at
FROM activity_log
WHERE (sqlc.narg(category)::text IS NULL OR category = sqlc.narg(category)::text)
  AND (sqlc.narg(level)::text IS NULL OR level = sqlc.narg(level)::text)
  AND (sqlc.narg(action)::text IS NULL OR action = sqlc.narg(action)::text)
  AND (sqlc.narg(actor_kind)::text IS NULL OR CASE sqlc.narg(actor_kind)::text
        WHEN 'admin' THEN actor LIKE 'admin:%'
        WHEN 'llm_local' THEN actor = 'llm:local'
        WHEN 'llm_remote' THEN actor LIKE 'llm:%' AND actor <> 'llm:local'
        ELSE actor NOT LIKE 'admin:%' AND actor NOT LIKE 'llm:%' END)
  AND (sqlc.narg(server_id)::uuid IS NULL OR server_id = sqlc.narg(server_id)::uuid)
  AND (sqlc.narg(tool_id)::uuid IS NULL OR tool_id = sqlc.narg(tool_id)::uuid)
  AND (sqlc.narg(request_id)::text IS NULL OR request_id = sqlc.narg(request_id)::text)
  AND (sqlc.narg(since)::timestamptz IS NULL OR created_at >= sqlc.narg(since)::timestamptz)
  AND (sqlc.narg(until)::timestamptz IS NULL OR created_at < sqlc.narg(until)::timestamptz)
  AND (sqlc.narg(q)::text IS NULL OR message LIKE '%' || sqlc.narg(q)::text || '%' ESCAPE '\')
  AND (sqlc.narg(before_seq)::bigint IS NULL OR seq < sqlc.narg(before_seq)::bigint)
ORDER BY seq DESC
LIMIT sqlc.arg(max_rows);

-- name: GetActivity :one
SELECT id, seq, category, action, level, actor, message, server_id, tool_id, request_id, details, created_at
FROM activity_log WHERE id = $1;

-- name: ListActivityAfter :many
-- ListActivityAfter feeds the live stream (backend.md §14.2): rows after a
-- seq, oldest first, at most max_rows, with the stream's filters.
SELECT id, seq, category, action, level, actor, message, server_id, tool_id, request_id, details, created_at
FROM activity_log
WHERE seq > sqlc.arg(after_seq)::bigint
  AND (sqlc.narg(category)::text IS NULL OR category = sqlc.narg(category)::text)
  AND (sqlc.narg(level)::text IS NULL OR level = sqlc.narg(level)::text)
  AND (sqlc.narg(server_id)::uuid IS NULL OR server_id = sqlc.narg(server_id)::uuid)
ORDER BY seq
LIMIT sqlc.arg(max_rows);

-- name: MaxActivitySeq :one
SELECT coalesce(max(seq), 0)::bigint FROM activity_log;

-- name: NotifyProgress :exec
-- NotifyProgress sends a progress event of a long operation to every
-- replica's activity streams (backend.md §14.2); nothing is stored.
SELECT pg_notify('mcpbox_activity', sqlc.arg(payload)::text);
