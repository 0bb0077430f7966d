-- Server secrets and the network and package approval requests (backend.md §4.2, §6.2, §12).
-- +goose Up
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

CREATE TABLE server_secrets (
    id           uuid        NOT NULL DEFAULT gen_random_uuid(),
    server_id    uuid        NOT NULL,
    name         text        NOT NULL,
    description  text        NOT NULL DEFAULT '',
    value_enc    bytea,
    value_set_at timestamptz,
    created_by   text        NOT NULL DEFAULT 'system',
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT server_secrets_pkey PRIMARY KEY (id),
    CONSTRAINT server_secrets_server_id_fkey FOREIGN KEY (server_id) REFERENCES servers (id) ON DELETE CASCADE,
    CONSTRAINT server_secrets_server_id_name_key UNIQUE (server_id, name),
    CONSTRAINT server_secrets_name_check CHECK (char_length(name) BETWEEN 1 AND 64 AND name ~ '^[A-Z][A-Z0-9_]*$'),
    CONSTRAINT server_secrets_description_check CHECK (char_length(description) <= 2000),
    CONSTRAINT server_secrets_value_check CHECK ((value_enc IS NULL) = (value_set_at IS NULL))
);
CREATE TRIGGER server_secrets_touch_updated_at BEFORE UPDATE ON server_secrets
    FOR EACH ROW EXECUTE FUNCTION mcpbox_touch_updated_at();

CREATE TABLE network_requests (
    id               uuid        NOT NULL DEFAULT gen_random_uuid(),
    server_id        uuid        NOT NULL,
    tool_id          uuid,
    host             text        NOT NULL,
    port             integer,
    justification    text        NOT NULL DEFAULT '',
    status           text        NOT NULL DEFAULT 'pending',
    requested_by     text        NOT NULL DEFAULT 'system',
    reviewed_by      text,
    reviewed_at      timestamptz,
    rejection_reason text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT network_requests_pkey PRIMARY KEY (id),
    CONSTRAINT network_requests_server_id_fkey FOREIGN KEY (server_id) REFERENCES servers (id) ON DELETE CASCADE,
    CONSTRAINT network_requests_tool_id_fkey FOREIGN KEY (tool_id) REFERENCES tools (id) ON DELETE SET NULL,
    CONSTRAINT network_requests_host_check CHECK (char_length(host) BETWEEN 1 AND 253 AND host = lower(host)),
    CONSTRAINT network_requests_port_check CHECK (port BETWEEN 1 AND 65535),
    CONSTRAINT network_requests_justification_check CHECK (char_length(justification) <= 2000),
    CONSTRAINT network_requests_status_check CHECK (status IN ('pending', 'approved', 'rejected')),
    CONSTRAINT network_requests_rejection_reason_check CHECK (char_length(rejection_reason) <= 2000)
);
CREATE UNIQUE INDEX network_requests_approved_key
    ON network_requests (server_id, host, coalesce(port, 0)) WHERE status = 'approved';
CREATE UNIQUE INDEX network_requests_pending_tool_key
    ON network_requests (tool_id, host, coalesce(port, 0)) WHERE status = 'pending' AND tool_id IS NOT NULL;
CREATE UNIQUE INDEX network_requests_pending_admin_key
    ON network_requests (server_id, host, coalesce(port, 0)) WHERE status = 'pending' AND tool_id IS NULL;
CREATE INDEX network_requests_status_created_at_idx ON network_requests (status, created_at);
CREATE TRIGGER network_requests_touch_updated_at BEFORE UPDATE ON network_requests
    FOR EACH ROW EXECUTE FUNCTION mcpbox_touch_updated_at();

CREATE TABLE package_requests (
    id               uuid        NOT NULL DEFAULT gen_random_uuid(),
    server_id        uuid,
    tool_id          uuid,
    package          text        NOT NULL,
    justification    text        NOT NULL DEFAULT '',
    status           text        NOT NULL DEFAULT 'pending',
    requested_by     text        NOT NULL DEFAULT 'system',
    reviewed_by      text,
    reviewed_at      timestamptz,
    rejection_reason text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT package_requests_pkey PRIMARY KEY (id),
    CONSTRAINT package_requests_server_id_fkey FOREIGN KEY (server_id) REFERENCES servers (id) ON DELETE SET NULL,
    CONSTRAINT package_requests_tool_id_fkey FOREIGN KEY (tool_id) REFERENCES tools (id) ON DELETE SET NULL,
    CONSTRAINT package_requests_package_check
        CHECK (char_length(package) <= 128 AND package ~ '^[a-z0-9]+(/[a-z0-9]+)*$'),
    CONSTRAINT package_requests_justification_check CHECK (char_length(justification) <= 2000),
    CONSTRAINT package_requests_status_check CHECK (status IN ('pending', 'approved', 'rejected')),
    CONSTRAINT package_requests_rejection_reason_check CHECK (char_length(rejection_reason) <= 2000)
);
CREATE UNIQUE INDEX package_requests_approved_key ON package_requests (package) WHERE status = 'approved';
CREATE UNIQUE INDEX package_requests_pending_tool_key
    ON package_requests (tool_id, package) WHERE status = 'pending' AND tool_id IS NOT NULL;
CREATE UNIQUE INDEX package_requests_pending_admin_key
    ON package_requests (package) WHERE status = 'pending' AND tool_id IS NULL;
CREATE INDEX package_requests_status_created_at_idx ON package_requests (status, created_at);
CREATE TRIGGER package_requests_touch_updated_at BEFORE UPDATE ON package_requests
    FOR EACH ROW EXECUTE FUNCTION mcpbox_touch_updated_at();

-- +goose Down
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';
DROP TABLE package_requests;
DROP TABLE network_requests;
DROP TABLE server_secrets;
