-- name: GetSchemaFloor :one
-- GetSchemaFloor reads the schema floor of operations.md §6.2, raised only by
-- contract migrations.
SELECT version FROM mcpbox_schema_floor WHERE id;
