-- The gateway's catalog snapshot and call plans (backend.md §9.3, §9.4).

-- name: ListCatalogEntries :many
-- ListCatalogEntries returns every tool of the installation with what the
-- catalog needs to decide whether it is live (server status, enabled,
-- approved version, source status; §9.3, §13.1) and, when it has an
-- approved version, that version's content. Read it inside one snapshot
-- with GetRevisions. The caller sorts by exposed name.
SELECT t.id, t.server_id, s.name AS server_name, s.status AS server_status, t.name, t.kind,
       t.enabled, t.latest_version, t.review_status, t.approved_version, t.approved_hash,
       src.status AS source_status,
       v.description AS approved_description, v.input_schema AS approved_input_schema,
       v.output_schema AS approved_output_schema, v.manifest AS approved_manifest,
       v.external_definition AS approved_external_definition
FROM tools t
JOIN servers s ON s.id = t.server_id
LEFT JOIN external_mcp_sources src ON src.id = t.external_source_id
LEFT JOIN tool_versions v ON v.tool_id = t.id AND v.version = t.approved_version;

-- name: GetPlanTool :one
-- GetPlanTool returns a tool with its server and, for an external tool, its
-- source: everything a plan checks before reading the version (§9.4).
SELECT t.id, t.server_id, s.name AS server_name, s.status AS server_status, t.name, t.kind,
       t.enabled, t.latest_version, t.review_status, t.approved_version, t.approved_hash,
       src.id AS source_id, src.name AS source_name, src.url AS source_url,
       src.transport AS source_transport, src.auth_type AS source_auth_type,
       src.auth_secret_name AS source_auth_secret_name, src.auth_header_name AS source_auth_header_name,
       src.status AS source_status
FROM tools t
JOIN servers s ON s.id = t.server_id
LEFT JOIN external_mcp_sources src ON src.id = t.external_source_id
WHERE t.id = sqlc.arg(id);
