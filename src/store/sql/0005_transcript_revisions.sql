-- Transcript editing (issue 9): every change to a transcript is a revision.
--
-- transcripts.version counts the changes of a meeting's transcript (the ETag
-- of the API); it only grows, also across new transcriptions, so an ETag is
-- never reused for other content. original_body is the machine transcript
-- as the engine produced it (and diarization attributed it).
--
-- transcript_revisions keeps the transcript after each change: who made it
-- (NULL for the machine), what kind of change, a JSON summary for people,
-- and the whole body (so any revision can be restored).
ALTER TABLE transcripts ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE transcripts ADD COLUMN original_body TEXT;

CREATE TABLE transcript_revisions (
    id          TEXT PRIMARY KEY,
    meeting_id  TEXT NOT NULL REFERENCES meetings(id) ON DELETE CASCADE,
    org_id      TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    version     BIGINT NOT NULL,
    author_id   TEXT REFERENCES users(id) ON DELETE SET NULL,
    action      TEXT NOT NULL,
    summary     TEXT NOT NULL DEFAULT '{}',
    body        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    UNIQUE (meeting_id, version)
);
CREATE INDEX transcript_revisions_org ON transcript_revisions(org_id, meeting_id, version);
