-- Search across meetings (issue 13), PostgreSQL: full-text search with a
-- stored tsvector ('english': stemming and stop words) and a GIN index.
--
-- search_docs holds one row per thing a hit can point at: a meeting's title,
-- its description, or one segment of its transcript (with the segment's
-- index, speaker and times), always with the meeting's org_id. The rows are
-- rewritten by store/search.c in the same transaction as the change they
-- mirror; a deleted meeting takes its rows with it (ON DELETE CASCADE).
CREATE TABLE search_docs (
    id           BIGSERIAL PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    meeting_id   TEXT NOT NULL REFERENCES meetings(id) ON DELETE CASCADE,
    kind         TEXT NOT NULL CHECK (kind IN ('title', 'description', 'segment')),
    segment_index INTEGER NOT NULL DEFAULT -1,    -- -1 for title and description
    speaker_id   TEXT NOT NULL DEFAULT '',         -- "S<n>", '' = not known
    speaker_name TEXT NOT NULL DEFAULT '',         -- the name people see
    start_s      DOUBLE PRECISION,
    end_s        DOUBLE PRECISION,
    body         TEXT NOT NULL,
    tsv          tsvector GENERATED ALWAYS AS (to_tsvector('english', body)) STORED
);
CREATE INDEX search_docs_meeting ON search_docs(meeting_id, kind);
CREATE INDEX search_docs_org ON search_docs(org_id);
CREATE INDEX search_docs_tsv ON search_docs USING GIN (tsv);

-- Meetings that exist already: their titles and descriptions now; transcripts
-- are indexed when they are next saved (store/search.c parses their JSON).
INSERT INTO search_docs (org_id, meeting_id, kind, body)
    SELECT org_id, id, 'title', title FROM meetings;
INSERT INTO search_docs (org_id, meeting_id, kind, body)
    SELECT org_id, id, 'description', description FROM meetings WHERE description <> '';
-- Transcripts that exist already: one row per segment (the same statement
-- store/search.c runs for one meeting).
INSERT INTO search_docs (org_id, meeting_id, kind, segment_index, speaker_id, speaker_name,
                         start_s, end_s, body)
    SELECT t.org_id, t.meeting_id, 'segment', (s.ord - 1)::int,
           COALESCE(s.seg->>'speaker', ''),
           COALESCE((SELECT COALESCE(sp->>'name', 'Speaker ' || substr(sp->>'id', 2))
                     FROM jsonb_array_elements(COALESCE(t.body::jsonb->'speakers', '[]'::jsonb)) sp
                     WHERE sp->>'id' = s.seg->>'speaker' LIMIT 1), ''),
           (s.seg->>'start')::float8, (s.seg->>'end')::float8, COALESCE(s.seg->>'text', '')
    FROM transcripts t
    CROSS JOIN LATERAL jsonb_array_elements(COALESCE(t.body::jsonb->'segments', '[]'::jsonb))
         WITH ORDINALITY AS s(seg, ord);
