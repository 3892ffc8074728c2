-- Authentication hardening (issue 8): API key scopes and expiry, and the
-- encrypted successor of a rotated refresh token (for the grace window in
-- which a concurrent refresh of the same token gets the same successor).

-- Scopes are a comma-separated subset of read, write, transcribe, admin.
-- Keys made before scopes existed keep what they could do except key
-- management (admin), which now needs a login session or an admin key.
ALTER TABLE api_keys ADD COLUMN scopes TEXT NOT NULL DEFAULT 'read,write,transcribe';
ALTER TABLE api_keys ADD COLUMN expires_at BIGINT;           -- NULL = never
CREATE INDEX api_keys_user ON api_keys(user_id);

-- The successor token, sealed with a key derived from the rotated token
-- itself (which the database never holds), so reading the table does not
-- reveal it. Only set on the token that was rotated.
ALTER TABLE refresh_tokens ADD COLUMN successor TEXT;
