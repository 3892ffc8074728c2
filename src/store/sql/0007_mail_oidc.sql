-- E-mail and OpenID Connect (issue 10, items 4 and 5): verified addresses,
-- single-use tokens (address verification, password reset, OIDC state and
-- the one-time code handed to the web app), and linked OIDC identities.
-- Portable SQL.

-- NULL until the address is verified (a link in a mail, or an OIDC
-- provider that vouches for it).
ALTER TABLE users ADD COLUMN email_verified_at BIGINT;

-- Single-use tokens: only SHA-256 of the token is kept. kind is 'verify',
-- 'reset', 'oidc_state' or 'oidc_code'. data is kind-specific (JSON text,
-- secrets in it sealed with a key derived from the token itself).
CREATE TABLE user_tokens (
    token_hash  TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    user_id     TEXT REFERENCES users(id) ON DELETE CASCADE,
    data        TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT
);
CREATE INDEX user_tokens_user ON user_tokens(user_id, kind);
CREATE INDEX user_tokens_expiry ON user_tokens(expires_at);

-- An account at an OIDC provider (issuer's subject) linked to a user.
CREATE TABLE oidc_identities (
    provider    TEXT NOT NULL,
    subject     TEXT NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    email       TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (provider, subject)
);
CREATE INDEX oidc_identities_user ON oidc_identities(user_id);
