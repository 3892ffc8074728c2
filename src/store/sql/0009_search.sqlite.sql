-- Search across meetings (issue 13), SQLite: FTS5 with bm25 ranking and
-- Porter stemming.
--
-- search_docs holds one row per thing a hit can point at: a meeting's title,
-- its description, or one segment of its transcript (with the segment's
-- index, speaker and times), always with the meeting's org_id. The rows are
-- rewritten by store/search.c in the same transaction as the change they
-- mirror; a deleted meeting takes its rows with it (ON DELETE CASCADE), and
-- the triggers below keep the full-text index in step with the rows.
CREATE TABLE search_docs (
    id           INTEGER PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    meeting_id   TEXT NOT NULL REFERENCES meetings(id) ON DELETE CASCADE,
    kind         TEXT NOT NULL CHECK (kind IN ('title', 'description', 'segment')),
    segment_index INTEGER NOT NULL DEFAULT -1,    -- -1 for title and description
    speaker_id   TEXT NOT NULL DEFAULT '',         -- "S<n>", '' = not known
    speaker_name TEXT NOT NULL DEFAULT '',         -- the name people see
    start_s      DOUBLE PRECISION,
    end_s        DOUBLE PRECISION,
    body         TEXT NOT NULL
);
CREATE INDEX search_docs_meeting ON search_docs(meeting_id, kind);
CREATE INDEX search_docs_org ON search_docs(org_id);

-- External-content FTS5 table: the text lives once, in search_docs.
CREATE VIRTUAL TABLE search_fts USING fts5(
    body, content = 'search_docs', content_rowid = 'id', tokenize = 'porter unicode61'
);
CREATE TRIGGER search_docs_ai AFTER INSERT ON search_docs BEGIN
    INSERT INTO search_fts(rowid, body) VALUES (new.id, new.body);
END;
CREATE TRIGGER search_docs_ad AFTER DELETE ON search_docs BEGIN
    INSERT INTO search_fts(search_fts, rowid, body) VALUES ('delete', old.id, old.body);
END;
CREATE TRIGGER search_docs_au AFTER UPDATE ON search_docs BEGIN
    INSERT INTO search_fts(search_fts, rowid, body) VALUES ('delete', old.id, old.body);
    INSERT INTO search_fts(rowid, body) VALUES (new.id, new.body);
END;

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
    SELECT t.org_id, t.meeting_id, 'segment', s.key,
           COALESCE(json_extract(s.value, '$.speaker'), ''),
           COALESCE((SELECT COALESCE(json_extract(sp.value, '$.name'),
                                     'Speaker ' || substr(json_extract(sp.value, '$.id'), 2))
                     FROM json_each(t.body, '$.speakers') sp
                     WHERE json_extract(sp.value, '$.id') = json_extract(s.value, '$.speaker')), ''),
           json_extract(s.value, '$.start'), json_extract(s.value, '$.end'),
           COALESCE(json_extract(s.value, '$.text'), '')
    FROM transcripts t, json_each(t.body, '$.segments') s
    WHERE json_valid(t.body);
