-- name: GetSetting :one
-- GetSetting reads one setting; ErrNotFound means the default applies.
SELECT key, value, updated_by, updated_at FROM settings WHERE key = $1;

-- name: GetSettingForUpdate :one
-- GetSettingForUpdate locks a setting's row, to record its old value in the audit log.
SELECT key, value, updated_by, updated_at FROM settings WHERE key = $1 FOR UPDATE;

-- name: ListSettings :many
-- ListSettings returns every stored setting by key; absent keys have their default.
SELECT key, value, updated_by, updated_at FROM settings ORDER BY key;

-- name: UpsertSetting :one
-- UpsertSetting stores a setting's value and who set it (an actor string).
INSERT INTO settings (key, value, updated_by)
VALUES (sqlc.arg(key), sqlc.arg(value), sqlc.arg(updated_by))
ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_by = excluded.updated_by
RETURNING key, value, updated_by, updated_at;

-- name: DeleteSetting :execrows
-- DeleteSetting removes a setting, restoring its default.
DELETE FROM settings WHERE key = $1;
