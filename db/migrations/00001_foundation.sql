-- Foundation: trigger functions, the schema floor, the revisions singleton and settings.
-- +goose Up
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

-- +goose StatementBegin
CREATE FUNCTION mcpbox_touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION mcpbox_forbid_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'table % is append-only: UPDATE is not allowed', TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END;
$$;
-- +goose StatementEnd

-- One row: the oldest migration a binary must know to run on this database.
-- A contract migration (-- mcpbox:contract) raises it (operations.md §6.2).
CREATE TABLE mcpbox_schema_floor (
    id         boolean     NOT NULL DEFAULT true,
    version    bigint      NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT mcpbox_schema_floor_pkey PRIMARY KEY (id),
    CONSTRAINT mcpbox_schema_floor_id_check CHECK (id),
    CONSTRAINT mcpbox_schema_floor_version_check CHECK (version >= 0)
);
CREATE TRIGGER mcpbox_schema_floor_touch_updated_at BEFORE UPDATE ON mcpbox_schema_floor
    FOR EACH ROW EXECUTE FUNCTION mcpbox_touch_updated_at();
INSERT INTO mcpbox_schema_floor DEFAULT VALUES;

CREATE TABLE revisions (
    id      boolean NOT NULL DEFAULT true,
    catalog bigint  NOT NULL DEFAULT 0,
    policy  bigint  NOT NULL DEFAULT 0,
    CONSTRAINT revisions_pkey PRIMARY KEY (id),
    CONSTRAINT revisions_id_check CHECK (id),
    CONSTRAINT revisions_catalog_check CHECK (catalog >= 0),
    CONSTRAINT revisions_policy_check CHECK (policy >= 0)
);
INSERT INTO revisions DEFAULT VALUES;

CREATE TABLE settings (
    key        text        NOT NULL,
    value      jsonb       NOT NULL,
    updated_by text        NOT NULL DEFAULT 'system',
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT settings_pkey PRIMARY KEY (key),
    CONSTRAINT settings_key_check CHECK (key IN (
        'remote_tool_editing', 'tool_approval_mode', 'network_access_policy', 'package_approval_mode',
        'redact_secrets_in_output', 'log_retention_days', 'mcp_rate_limit_rpm', 'remote_email_allowlist',
        'onboarding_completed', 'encryption_key_check',
        'remote_public_url', 'remote_expected_issuer', 'remote_expected_audience', 'remote_selfcheck_result'))
);
CREATE TRIGGER settings_touch_updated_at BEFORE UPDATE ON settings
    FOR EACH ROW EXECUTE FUNCTION mcpbox_touch_updated_at();

-- +goose Down
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';
DROP TABLE settings;
DROP TABLE revisions;
DROP TABLE mcpbox_schema_floor;
DROP FUNCTION mcpbox_forbid_update();
DROP FUNCTION mcpbox_touch_updated_at();
