-- Uploads hardening (issue 8): Idempotency-Key records for create endpoints,
-- and finding audio whose SHA-256 is still to be computed.
--
-- One row per (organization, user, key). A request that carries a key first
-- inserts a 'pending' row (so a concurrent duplicate sees it and gets 409),
-- then stores its reply ('done') so a retry with the same key and the same
-- request gets the same reply again for 24 hours. request_hash is SHA-256
-- (hex) of the method, path and body: the same key with another body is
-- refused. A pending row whose locked_until passed was abandoned (its
-- process died) and may be taken over.
CREATE TABLE idempotency_keys (
    org_id       TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    idem_key     TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    state        TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done')),
    status       INTEGER,
    content_type TEXT,
    headers      TEXT,                            -- JSON object: reply headers to replay
    body         TEXT,
    locked_until BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    PRIMARY KEY (org_id, user_id, idem_key)
);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys(expires_at);

-- Large uploads are stored without their SHA-256 (computing it would take as
-- long as receiving them); the janitor fills it in. This finds them.
CREATE INDEX meetings_audio_unhashed ON meetings(id) WHERE audio_sha256 = '' AND audio_key IS NOT NULL;
