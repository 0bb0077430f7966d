-- Admin users, sessions, refresh tokens, login attempts and JWT signing keys (backend.md §4.2, §7).
-- +goose Up
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

CREATE TABLE admin_users (
    id               uuid        NOT NULL DEFAULT gen_random_uuid(),
    username         text        NOT NULL,
    password_hash    text        NOT NULL,
    password_version integer     NOT NULL DEFAULT 1,
    is_active        boolean     NOT NULL DEFAULT true,
    last_login_at    timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT admin_users_pkey PRIMARY KEY (id),
    CONSTRAINT admin_users_username_check
        CHECK (char_length(username) BETWEEN 3 AND 50 AND username ~ '^[a-zA-Z][a-zA-Z0-9_]*$'),
    CONSTRAINT admin_users_password_version_check CHECK (password_version >= 1)
);
CREATE UNIQUE INDEX admin_users_username_key ON admin_users (lower(username));
CREATE TRIGGER admin_users_touch_updated_at BEFORE UPDATE ON admin_users
    FOR EACH ROW EXECUTE FUNCTION mcpbox_touch_updated_at();

CREATE TABLE admin_sessions (
    id             uuid        NOT NULL DEFAULT gen_random_uuid(),
    user_id        uuid        NOT NULL,
    client         text        NOT NULL DEFAULT 'cookie',
    token_hash     bytea,
    csrf_hash      bytea       NOT NULL,
    expires_at     timestamptz NOT NULL DEFAULT now() + interval '7 days',
    last_used_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at     timestamptz,
    revoked_reason text,
    user_agent     text        NOT NULL DEFAULT '',
    ip             inet,
    created_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT admin_sessions_pkey PRIMARY KEY (id),
    CONSTRAINT admin_sessions_user_id_fkey FOREIGN KEY (user_id) REFERENCES admin_users (id) ON DELETE CASCADE,
    CONSTRAINT admin_sessions_token_hash_key UNIQUE (token_hash),
    CONSTRAINT admin_sessions_client_check CHECK (client IN ('cookie', 'token')),
    CONSTRAINT admin_sessions_token_hash_check
        CHECK ((client = 'cookie') = (token_hash IS NOT NULL) AND (token_hash IS NULL OR octet_length(token_hash) = 32)),
    CONSTRAINT admin_sessions_csrf_hash_check CHECK (octet_length(csrf_hash) = 32),
    CONSTRAINT admin_sessions_revoked_reason_check
        CHECK (revoked_reason IN ('logout', 'password_change', 'refresh_reuse', 'admin_reset', 'ended')),
    CONSTRAINT admin_sessions_user_agent_check CHECK (char_length(user_agent) <= 256)
);
CREATE INDEX admin_sessions_user_id_idx ON admin_sessions (user_id);

CREATE TABLE refresh_tokens (
    id         uuid        NOT NULL DEFAULT gen_random_uuid(),
    session_id uuid        NOT NULL,
    token_hash bytea       NOT NULL,
    expires_at timestamptz NOT NULL DEFAULT now() + interval '7 days',
    used_at    timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT refresh_tokens_pkey PRIMARY KEY (id),
    CONSTRAINT refresh_tokens_session_id_fkey
        FOREIGN KEY (session_id) REFERENCES admin_sessions (id) ON DELETE CASCADE,
    CONSTRAINT refresh_tokens_token_hash_key UNIQUE (token_hash),
    CONSTRAINT refresh_tokens_token_hash_check CHECK (octet_length(token_hash) = 32)
);
CREATE INDEX refresh_tokens_session_id_idx ON refresh_tokens (session_id);

CREATE TABLE login_attempts (
    id         uuid        NOT NULL DEFAULT gen_random_uuid(),
    ip         inet        NOT NULL,
    username   text        NOT NULL DEFAULT '',
    success    boolean     NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT login_attempts_pkey PRIMARY KEY (id),
    CONSTRAINT login_attempts_username_check CHECK (username = lower(username))
);
CREATE INDEX login_attempts_ip_created_at_idx ON login_attempts (ip, created_at);
CREATE INDEX login_attempts_username_created_at_idx ON login_attempts (username, created_at);

CREATE TABLE signing_keys (
    kid             text        NOT NULL,
    alg             text        NOT NULL DEFAULT 'EdDSA',
    private_key_enc bytea       NOT NULL,
    public_key      bytea       NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    retired_at      timestamptz,
    CONSTRAINT signing_keys_pkey PRIMARY KEY (kid),
    CONSTRAINT signing_keys_kid_check CHECK (kid ~ '^[0-9a-f]{16}$'),
    CONSTRAINT signing_keys_alg_check CHECK (alg = 'EdDSA'),
    CONSTRAINT signing_keys_public_key_check CHECK (octet_length(public_key) = 32)
);
-- At most one active (not retired) key.
CREATE UNIQUE INDEX signing_keys_active_key ON signing_keys ((true)) WHERE retired_at IS NULL;

-- +goose Down
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';
DROP TABLE signing_keys;
DROP TABLE login_attempts;
DROP TABLE refresh_tokens;
DROP TABLE admin_sessions;
DROP TABLE admin_users;
