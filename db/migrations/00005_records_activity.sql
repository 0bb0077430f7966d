-- Append-only history: execution records and the activity log (backend.md §4.2, §12.3, §14).
-- Both hold soft references (plain uuid columns, no foreign key) so history outlives what it mentions.
-- +goose Up
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

CREATE TABLE execution_records (
    id           uuid        NOT NULL DEFAULT gen_random_uuid(),
    seq          bigint      NOT NULL GENERATED ALWAYS AS IDENTITY,
    tool_id      uuid,
    server_id    uuid,
    tool_version integer,
    tool_hash    text,
    exposed_name text        NOT NULL,
    via          text        NOT NULL DEFAULT 'direct',
    is_test      boolean     NOT NULL DEFAULT false,
    caller_kind  text        NOT NULL DEFAULT 'local',
    caller_email text,
    caller_sub   text,
    success      boolean     NOT NULL DEFAULT false,
    error_code   text,
    error        text,
    input_args   jsonb,
    result       jsonb,
    stdout       text,
    duration_ms  integer     NOT NULL DEFAULT 0,
    started_at   timestamptz NOT NULL DEFAULT now(),
    request_id   text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT execution_records_pkey PRIMARY KEY (id),
    CONSTRAINT execution_records_seq_key UNIQUE (seq),
    CONSTRAINT execution_records_via_check CHECK (via IN ('direct', 'run_tool', 'test')),
    CONSTRAINT execution_records_is_test_check CHECK (is_test = (via = 'test')),
    CONSTRAINT execution_records_caller_kind_check CHECK (caller_kind IN ('local', 'remote', 'admin')),
    CONSTRAINT execution_records_error_code_check CHECK (error_code ~ '^[a-z_]{1,40}$'),
    CONSTRAINT execution_records_error_check CHECK (char_length(error) <= 5000),
    CONSTRAINT execution_records_stdout_check CHECK (char_length(stdout) <= 10000),
    CONSTRAINT execution_records_duration_ms_check CHECK (duration_ms >= 0)
);
CREATE INDEX execution_records_tool_id_seq_idx ON execution_records (tool_id, seq);
CREATE INDEX execution_records_server_id_seq_idx ON execution_records (server_id, seq);
CREATE INDEX execution_records_created_at_idx ON execution_records (created_at);
CREATE INDEX execution_records_failed_seq_idx ON execution_records (seq) WHERE NOT success;
CREATE TRIGGER execution_records_forbid_update BEFORE UPDATE ON execution_records
    FOR EACH ROW EXECUTE FUNCTION mcpbox_forbid_update();

CREATE TABLE activity_log (
    id         uuid        NOT NULL DEFAULT gen_random_uuid(),
    seq        bigint      NOT NULL GENERATED ALWAYS AS IDENTITY,
    category   text        NOT NULL DEFAULT 'system',
    action     text        NOT NULL,
    level      text        NOT NULL DEFAULT 'info',
    actor      text        NOT NULL DEFAULT 'system',
    message    text        NOT NULL DEFAULT '',
    server_id  uuid,
    tool_id    uuid,
    request_id text,
    details    jsonb       NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT activity_log_pkey PRIMARY KEY (id),
    CONSTRAINT activity_log_seq_key UNIQUE (seq),
    CONSTRAINT activity_log_category_check CHECK (category IN ('audit', 'security', 'system', 'error')),
    CONSTRAINT activity_log_action_check CHECK (action ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$'),
    CONSTRAINT activity_log_level_check CHECK (level IN ('debug', 'info', 'warning', 'error')),
    CONSTRAINT activity_log_message_check CHECK (char_length(message) <= 1000),
    CONSTRAINT activity_log_details_check CHECK (jsonb_typeof(details) = 'object')
);
CREATE INDEX activity_log_created_at_idx ON activity_log (created_at);
CREATE INDEX activity_log_category_seq_idx ON activity_log (category, seq);
CREATE INDEX activity_log_server_id_seq_idx ON activity_log (server_id, seq);
CREATE INDEX activity_log_request_id_idx ON activity_log (request_id);
CREATE TRIGGER activity_log_forbid_update BEFORE UPDATE ON activity_log
    FOR EACH ROW EXECUTE FUNCTION mcpbox_forbid_update();

-- +goose Down
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';
DROP TABLE activity_log;
DROP TABLE execution_records;
