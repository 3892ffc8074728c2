-- Meetings, their transcripts, resumable uploads and the durable job queue.

CREATE TABLE meetings (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    created_by    TEXT REFERENCES users(id) ON DELETE SET NULL,
    title         TEXT NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    meeting_date  BIGINT,                        -- Unix ms, optional
    status        TEXT NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'uploaded', 'queued', 'processing', 'completed', 'failed')),
    progress      INTEGER NOT NULL DEFAULT 0,     -- percent while processing
    language      TEXT NOT NULL DEFAULT 'en',
    audio_key     TEXT,                           -- blob key, never derived from the filename
    audio_format  TEXT,
    audio_codec   TEXT,
    audio_mime    TEXT,
    audio_sha256  TEXT,
    original_filename TEXT,
    file_size     BIGINT,
    duration_seconds DOUBLE PRECISION,
    provider_used TEXT,
    model_used    TEXT,
    transcription_confidence DOUBLE PRECISION,
    processing_started_at   BIGINT,
    processing_completed_at BIGINT,
    processing_error TEXT,
    processing_steps TEXT NOT NULL DEFAULT '[]', -- JSON: what each step took
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX meetings_org ON meetings(org_id, id);
CREATE INDEX meetings_org_status ON meetings(org_id, status, id);

CREATE TABLE transcripts (
    meeting_id  TEXT PRIMARY KEY REFERENCES meetings(id) ON DELETE CASCADE,
    org_id      TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    language    TEXT NOT NULL,
    text        TEXT NOT NULL,
    body        TEXT NOT NULL,                   -- JSON: segments and words
    provider    TEXT NOT NULL,
    model       TEXT NOT NULL,
    confidence  DOUBLE PRECISION,
    duration    DOUBLE PRECISION,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

-- tus 1.0 resumable uploads. Bytes live in the blob store's spool until
-- the upload is complete, then become the meeting's audio.
CREATE TABLE uploads (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    user_id      TEXT REFERENCES users(id) ON DELETE SET NULL,
    meeting_id   TEXT NOT NULL REFERENCES meetings(id) ON DELETE CASCADE,
    length       BIGINT NOT NULL,
    offset_bytes BIGINT NOT NULL DEFAULT 0,
    filename     TEXT NOT NULL DEFAULT '',
    metadata     TEXT NOT NULL DEFAULT '',        -- the Upload-Metadata header as sent
    state        TEXT NOT NULL DEFAULT 'active'
                 CHECK (state IN ('active', 'completed', 'terminated')),
    lock_owner   TEXT,                            -- a PATCH in progress (one writer at a time)
    lock_expires_at BIGINT,
    expires_at   BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX uploads_expiry ON uploads(state, expires_at);

-- The durable job queue. A job is claimed with a lease; a worker renews
-- the lease while it works; a job whose lease ran out (its worker died) is
-- claimed again. Failures retry with backoff until max_attempts, then the
-- job is dead.
CREATE TABLE jobs (
    id               TEXT PRIMARY KEY,
    org_id           TEXT,
    kind             TEXT NOT NULL,
    payload          TEXT NOT NULL DEFAULT '{}',
    dedupe_key       TEXT,                        -- e.g. the meeting id
    state            TEXT NOT NULL DEFAULT 'queued'
                     CHECK (state IN ('queued', 'running', 'done', 'failed', 'dead')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    max_attempts     INTEGER NOT NULL DEFAULT 5,
    run_at           BIGINT NOT NULL,
    lease_owner      TEXT,
    lease_expires_at BIGINT,
    last_error       TEXT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    finished_at      BIGINT
);
CREATE INDEX jobs_ready ON jobs(state, run_at);
-- At most one live job per (kind, dedupe_key): one meeting is never
-- transcribed twice at once.
CREATE UNIQUE INDEX jobs_live ON jobs(kind, dedupe_key)
    WHERE dedupe_key IS NOT NULL AND state IN ('queued', 'running', 'failed');
