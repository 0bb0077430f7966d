-- Retention (backend.md §14.5): each statement deletes at most one batch.

-- name: DeleteOldActivity :execrows
DELETE FROM activity_log WHERE id IN (
    SELECT id FROM activity_log WHERE created_at < sqlc.arg(cutoff)::timestamptz LIMIT sqlc.arg(batch));

-- name: DeleteOldExecutions :execrows
DELETE FROM execution_records WHERE id IN (
    SELECT id FROM execution_records WHERE created_at < sqlc.arg(cutoff)::timestamptz LIMIT sqlc.arg(batch));

-- name: DeleteEndedSessions :execrows
-- DeleteEndedSessions removes sessions expired or revoked more than a day
-- ago; their refresh tokens cascade.
DELETE FROM admin_sessions WHERE id IN (
    SELECT id FROM admin_sessions
    WHERE expires_at < now() - interval '1 day' OR revoked_at < now() - interval '1 day' LIMIT sqlc.arg(batch));

-- name: DeleteOldLoginAttempts :execrows
DELETE FROM login_attempts WHERE id IN (
    SELECT id FROM login_attempts WHERE created_at < now() - interval '24 hours' LIMIT sqlc.arg(batch));

-- name: DeleteExpiredOAuthFlows :execrows
DELETE FROM oauth_flows WHERE state_hash IN (
    SELECT state_hash FROM oauth_flows WHERE expires_at < now() LIMIT sqlc.arg(batch));
