-- Servers, external MCP sources with their OAuth flows, tools and their immutable versions (backend.md §4.2, §5).
-- +goose Up
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

CREATE TABLE servers (
    id          uuid        NOT NULL DEFAULT gen_random_uuid(),
    name        text        NOT NULL,
    description text        NOT NULL DEFAULT '',
    status      text        NOT NULL DEFAULT 'stopped',
    created_by  text        NOT NULL DEFAULT 'system',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT servers_pkey PRIMARY KEY (id),
    CONSTRAINT servers_name_key UNIQUE (name),
    CONSTRAINT servers_name_check CHECK (
        char_length(name) BETWEEN 1 AND 24
        AND name ~ '^[a-z][a-z0-9]*(_[a-z0-9]+)*$'
        AND name !~ '^mcpbox'),
    CONSTRAINT servers_description_check CHECK (char_length(description) <= 2000),
    CONSTRAINT servers_status_check CHECK (status IN ('stopped', 'running'))
);
CREATE TRIGGER servers_touch_updated_at BEFORE UPDATE ON servers
    FOR EACH ROW EXECUTE FUNCTION mcpbox_touch_updated_at();

CREATE TABLE external_mcp_sources (
    id                      uuid        NOT NULL DEFAULT gen_random_uuid(),
    server_id               uuid        NOT NULL,
    name                    text        NOT NULL,
    url                     text        NOT NULL,
    transport               text        NOT NULL DEFAULT 'streamable_http',
    auth_type               text        NOT NULL DEFAULT 'none',
    auth_secret_name        text,
    auth_header_name        text,
    status                  text        NOT NULL DEFAULT 'pending_review',
    last_error              text,
    approved_by             text,
    approved_at             timestamptz,
    oauth_client_id         text,
    oauth_client_secret_enc bytea,
    oauth_tokens_enc        bytea,
    oauth_issuer            text,
    discovered_tools        jsonb,
    discovered_at           timestamptz,
    created_by              text        NOT NULL DEFAULT 'system',
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT external_mcp_sources_pkey PRIMARY KEY (id),
    CONSTRAINT external_mcp_sources_server_id_fkey
        FOREIGN KEY (server_id) REFERENCES servers (id) ON DELETE CASCADE,
    CONSTRAINT external_mcp_sources_server_id_name_key UNIQUE (server_id, name),
    CONSTRAINT external_mcp_sources_name_check
        CHECK (char_length(name) BETWEEN 1 AND 64 AND name !~ '[\x01-\x1f\x7f]'),
    CONSTRAINT external_mcp_sources_url_check
        CHECK (char_length(url) <= 2000 AND url ~ '^https?://[^/?#@[:space:]]+([/?][^#]*)?$'),
    CONSTRAINT external_mcp_sources_transport_check CHECK (transport IN ('streamable_http')),
    CONSTRAINT external_mcp_sources_auth_type_check CHECK (auth_type IN ('none', 'bearer', 'header', 'oauth')),
    CONSTRAINT external_mcp_sources_auth_secret_name_check CHECK (
        (auth_secret_name IS NOT NULL OR auth_type NOT IN ('bearer', 'header'))
        AND (auth_secret_name IS NULL
             OR (char_length(auth_secret_name) BETWEEN 1 AND 64 AND auth_secret_name ~ '^[A-Z][A-Z0-9_]*$'))),
    CONSTRAINT external_mcp_sources_auth_header_name_check
        CHECK (auth_header_name IS NOT NULL OR auth_type <> 'header'),
    CONSTRAINT external_mcp_sources_status_check
        CHECK (status IN ('pending_review', 'active', 'error', 'disabled')),
    CONSTRAINT external_mcp_sources_last_error_check CHECK (char_length(last_error) <= 2000),
    CONSTRAINT external_mcp_sources_discovered_tools_check CHECK (jsonb_typeof(discovered_tools) = 'array')
);
CREATE TRIGGER external_mcp_sources_touch_updated_at BEFORE UPDATE ON external_mcp_sources
    FOR EACH ROW EXECUTE FUNCTION mcpbox_touch_updated_at();

CREATE TABLE oauth_flows (
    state_hash        bytea       NOT NULL,
    source_id         uuid        NOT NULL,
    verifier_enc      bytea       NOT NULL,
    redirect_uri      text        NOT NULL,
    token_endpoint    text        NOT NULL,
    client_id         text        NOT NULL,
    client_secret_enc bytea,
    resource          text,
    expires_at        timestamptz NOT NULL DEFAULT now() + interval '10 minutes',
    created_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT oauth_flows_pkey PRIMARY KEY (state_hash),
    CONSTRAINT oauth_flows_source_id_fkey
        FOREIGN KEY (source_id) REFERENCES external_mcp_sources (id) ON DELETE CASCADE
);

-- tools and tool_versions reference each other: tools is created first, tool_versions
-- references it, and the (deferred) foreign keys from tools to tool_versions come last.
CREATE TABLE tools (
    id                  uuid        NOT NULL DEFAULT gen_random_uuid(),
    server_id           uuid        NOT NULL,
    name                text        NOT NULL,
    kind                text        NOT NULL DEFAULT 'go',
    external_source_id  uuid,
    external_tool_name  text,
    enabled             boolean     NOT NULL DEFAULT true,
    disabled_by         text,
    latest_version      integer     NOT NULL DEFAULT 1,
    review_status       text        NOT NULL DEFAULT 'draft',
    review_requested_at timestamptz,
    publish_notes       text,
    reviewed_by         text,
    reviewed_at         timestamptz,
    rejection_reason    text,
    approved_version    integer,
    approved_hash       text,
    approved_at         timestamptz,
    approved_by         text,
    created_by          text        NOT NULL DEFAULT 'system',
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tools_pkey PRIMARY KEY (id),
    CONSTRAINT tools_server_id_fkey FOREIGN KEY (server_id) REFERENCES servers (id) ON DELETE CASCADE,
    CONSTRAINT tools_external_source_id_fkey
        FOREIGN KEY (external_source_id) REFERENCES external_mcp_sources (id) ON DELETE CASCADE,
    CONSTRAINT tools_server_id_name_key UNIQUE (server_id, name),
    CONSTRAINT tools_name_check
        CHECK (char_length(name) BETWEEN 1 AND 38 AND name ~ '^[a-z][a-z0-9]*(_[a-z0-9]+)*$'),
    CONSTRAINT tools_kind_check CHECK (kind IN ('go', 'external')),
    CONSTRAINT tools_kind_external_check CHECK (
        (kind = 'go' AND external_source_id IS NULL AND external_tool_name IS NULL)
        OR (kind = 'external' AND external_source_id IS NOT NULL AND external_tool_name IS NOT NULL)),
    CONSTRAINT tools_disabled_by_check CHECK (disabled_by IN ('admin', 'llm')),
    CONSTRAINT tools_disabled_by_enabled_check CHECK ((disabled_by IS NULL) = enabled),
    CONSTRAINT tools_latest_version_check CHECK (latest_version >= 1),
    CONSTRAINT tools_review_status_check
        CHECK (review_status IN ('draft', 'pending_review', 'approved', 'rejected')),
    CONSTRAINT tools_publish_notes_check CHECK (char_length(publish_notes) <= 2000),
    CONSTRAINT tools_rejection_reason_check CHECK (char_length(rejection_reason) <= 2000),
    CONSTRAINT tools_approved_check
        CHECK (num_nulls(approved_version, approved_hash, approved_at, approved_by) IN (0, 4)),
    CONSTRAINT tools_approved_hash_check CHECK (approved_hash ~ '^sha256:[0-9a-f]{64}$'),
    CONSTRAINT tools_review_approved_check
        CHECK (review_status <> 'approved' OR approved_version IS NOT DISTINCT FROM latest_version)
);
CREATE INDEX tools_review_pending_idx ON tools (review_status) WHERE review_status = 'pending_review';
CREATE INDEX tools_external_source_id_idx ON tools (external_source_id);
CREATE TRIGGER tools_touch_updated_at BEFORE UPDATE ON tools
    FOR EACH ROW EXECUTE FUNCTION mcpbox_touch_updated_at();

CREATE TABLE tool_versions (
    id                  uuid        NOT NULL DEFAULT gen_random_uuid(),
    tool_id             uuid        NOT NULL,
    version             integer     NOT NULL,
    code                text,
    external_definition jsonb,
    manifest            jsonb       NOT NULL,
    hash                text        NOT NULL,
    description         text        NOT NULL DEFAULT '',
    input_schema        jsonb       NOT NULL DEFAULT '{"type":"object"}',
    output_schema       jsonb,
    analyzer_version    text,
    based_on_version    integer,
    change_summary      text        NOT NULL DEFAULT '',
    change_source       text        NOT NULL DEFAULT 'admin',
    created_by          text        NOT NULL DEFAULT 'system',
    created_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tool_versions_pkey PRIMARY KEY (id),
    CONSTRAINT tool_versions_tool_id_fkey FOREIGN KEY (tool_id) REFERENCES tools (id) ON DELETE CASCADE,
    CONSTRAINT tool_versions_tool_id_version_key UNIQUE (tool_id, version),
    CONSTRAINT tool_versions_version_check CHECK (version >= 1),
    CONSTRAINT tool_versions_content_check CHECK ((code IS NULL) <> (external_definition IS NULL)),
    CONSTRAINT tool_versions_code_check CHECK (octet_length(code) <= 102400 AND strpos(code, E'\r') = 0),
    CONSTRAINT tool_versions_manifest_check CHECK (jsonb_typeof(manifest) = 'object'),
    CONSTRAINT tool_versions_hash_check CHECK (hash ~ '^sha256:[0-9a-f]{64}$'),
    CONSTRAINT tool_versions_based_on_version_check CHECK (based_on_version >= 1),
    CONSTRAINT tool_versions_change_source_check
        CHECK (change_source IN ('admin', 'llm', 'rollback', 'import', 'discovery'))
);
CREATE TRIGGER tool_versions_forbid_update BEFORE UPDATE ON tool_versions
    FOR EACH ROW EXECUTE FUNCTION mcpbox_forbid_update();

ALTER TABLE tools
    ADD CONSTRAINT tools_latest_version_fkey FOREIGN KEY (id, latest_version)
        REFERENCES tool_versions (tool_id, version) DEFERRABLE INITIALLY DEFERRED,
    ADD CONSTRAINT tools_approved_version_fkey FOREIGN KEY (id, approved_version)
        REFERENCES tool_versions (tool_id, version) DEFERRABLE INITIALLY DEFERRED;

-- +goose Down
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';
ALTER TABLE tools DROP CONSTRAINT tools_approved_version_fkey, DROP CONSTRAINT tools_latest_version_fkey;
DROP TABLE tool_versions;
DROP TABLE tools;
DROP TABLE oauth_flows;
DROP TABLE external_mcp_sources;
DROP TABLE servers;
