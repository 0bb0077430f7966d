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
