-- Meeting intelligence (issue 13): one row per meeting with its insights
-- (summary, action items, decisions, topics, sentiment) as the JSON the API
-- returns, how far the job got, and the transcript version it was computed
-- from (so a reader can tell it is stale after an edit).
--
-- status: queued | running | done | failed. body is NULL until the first
-- success and is kept while a new computation runs.
CREATE TABLE meeting_insights (
    meeting_id         TEXT PRIMARY KEY REFERENCES meetings(id) ON DELETE CASCADE,
    org_id             TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    status             TEXT NOT NULL,
    progress           INTEGER NOT NULL DEFAULT 0,
    transcript_version BIGINT NOT NULL DEFAULT 0,
    body               TEXT,
    error              TEXT,
    seconds            DOUBLE PRECISION NOT NULL DEFAULT 0,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    computed_at        BIGINT
);
CREATE INDEX meeting_insights_org ON meeting_insights(org_id, meeting_id);
