-- Accounts: users, organizations, memberships, refresh sessions, API keys,
-- audit events, login throttling. Portable SQL (SQLite 3.40 / PostgreSQL 15).
-- Times are Unix milliseconds (BIGINT); ids are UUIDv7 text.

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,          -- normalised: trimmed, lower case
    password_hash TEXT NOT NULL,
    first_name    TEXT NOT NULL DEFAULT '',
    last_name     TEXT NOT NULL DEFAULT '',
    company_name  TEXT NOT NULL DEFAULT '',
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    password_changed_at BIGINT NOT NULL
);

CREATE TABLE organizations (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    personal    INTEGER NOT NULL DEFAULT 0 CHECK (personal IN (0, 1)),
    owner_id    TEXT REFERENCES users(id) ON DELETE SET NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE memberships (
    org_id      TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role        TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (org_id, user_id)
);
CREATE INDEX memberships_user ON memberships(user_id);

-- A login session: what an access token's "sid" claim names. Revoking it
-- (logout, password change, refresh-token reuse) cuts its access tokens at
-- once and all its refresh tokens.
CREATE TABLE sessions (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    org_id      TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,                 -- absolute end of the session
    revoked_at  BIGINT,
    revoke_reason TEXT,
    ip          TEXT NOT NULL DEFAULT '',
    user_agent  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions(user_id);

-- Refresh tokens are opaque "<id>.<secret>"; only sha256 of the whole token
-- is kept. Each refresh uses one up and issues the next in the same session;
-- presenting a used one revokes the session (theft detection).
CREATE TABLE refresh_tokens (
    id          TEXT PRIMARY KEY,
    session_id  TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    token_hash  TEXT NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT
);
CREATE INDEX refresh_tokens_session ON refresh_tokens(session_id);

CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    prefix       TEXT NOT NULL,                  -- first characters, for display
    key_hash     TEXT NOT NULL UNIQUE,           -- sha256 hex of the whole key
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT
);
CREATE INDEX api_keys_org ON api_keys(org_id, created_at);

CREATE TABLE audit_events (
    id          TEXT PRIMARY KEY,
    org_id      TEXT,
    user_id     TEXT,
    action      TEXT NOT NULL,                   -- e.g. 'auth.login.failure'
    ip          TEXT NOT NULL DEFAULT '',
    user_agent  TEXT NOT NULL DEFAULT '',
    request_id  TEXT NOT NULL DEFAULT '',
    details     TEXT NOT NULL DEFAULT '{}',      -- JSON object
    created_at  BIGINT NOT NULL
);
CREATE INDEX audit_events_org ON audit_events(org_id, created_at);
CREATE INDEX audit_events_user ON audit_events(user_id, created_at);

-- Failed-login throttling, shared by every process through the database.
-- key is 'email:<normalised email>' or 'ip:<address>'.
CREATE TABLE login_throttle (
    key          TEXT PRIMARY KEY,
    failures     INTEGER NOT NULL,
    window_start BIGINT NOT NULL,
    locked_until BIGINT NOT NULL DEFAULT 0
);
