-- Search across segment boundaries (issue 13), SQLite. Words or a phrase
-- said across two adjacent segments ("... the budget" | "review of ...")
-- find the first segment. See store/search.h for the rule; what the index
-- needs is this:
--
-- next_text: the beginning of the next segment of the same meeting (its
-- text up to the first space after 48 characters, about 8 words); '' for
-- the last segment, titles and descriptions. store/search.c writes it with
-- the segment rows (search_index_transcript).
--
-- last_word: the last space-separated word of body (generated), so that a
-- phrase split by the segment break can be tied to the end of the segment
-- (FTS5 has no "at the end of the column", only ^ for its start).
--
-- seam: the last word and the next segment's first word (generated), in a
-- full-text index of its own (search_seam_fts): a two-word phrase split by
-- the break is looked up there, where the doclists are a ninth of
-- search_fts's, instead of walking both words' doclists a second time.
--
-- search_fts indexes body, next_text and last_word; body is still the
-- hit's own text.
ALTER TABLE search_docs ADD COLUMN next_text TEXT NOT NULL DEFAULT '';
ALTER TABLE search_docs ADD COLUMN last_word TEXT GENERATED ALWAYS AS (
    substr(rtrim(replace(replace(replace(body, char(10), ' '), char(13), ' '), char(9), ' ')),
           length(rtrim(rtrim(replace(replace(replace(body, char(10), ' '), char(13), ' '), char(9), ' ')),
                        replace(rtrim(replace(replace(replace(body, char(10), ' '), char(13), ' '), char(9), ' ')), ' ', ''))) + 1)
) VIRTUAL;

CREATE TEMP TABLE search_next AS
    SELECT id, lead(body) OVER (PARTITION BY meeting_id ORDER BY segment_index) AS t
    FROM search_docs WHERE kind = 'segment';
CREATE UNIQUE INDEX temp.search_next_id ON search_next(id);
UPDATE search_docs SET next_text = (
    SELECT substr(n.t, 1, CASE instr(substr(n.t, 49), ' ') WHEN 0 THEN length(n.t)
                          ELSE 47 + instr(substr(n.t, 49), ' ') END)
    FROM search_next n WHERE n.id = search_docs.id)
WHERE id IN (SELECT id FROM search_next WHERE t IS NOT NULL);
DROP TABLE temp.search_next;
ALTER TABLE search_docs ADD COLUMN seam TEXT GENERATED ALWAYS AS (
    CASE WHEN next_text = '' THEN ''
         ELSE last_word || ' ' || substr(ltrim(next_text), 1, instr(ltrim(next_text) || ' ', ' ') - 1)
    END
) VIRTUAL;

DROP TRIGGER search_docs_ai;
DROP TRIGGER search_docs_ad;
DROP TRIGGER search_docs_au;
DROP TABLE search_fts;
CREATE VIRTUAL TABLE search_fts USING fts5(
    body, next_text, last_word,
    content = 'search_docs', content_rowid = 'id', tokenize = 'porter unicode61'
);
INSERT INTO search_fts(search_fts) VALUES ('rebuild');
CREATE VIRTUAL TABLE search_seam_fts USING fts5(
    seam, content = 'search_docs', content_rowid = 'id', tokenize = 'porter unicode61'
);
INSERT INTO search_seam_fts(search_seam_fts) VALUES ('rebuild');
CREATE TRIGGER search_docs_ai AFTER INSERT ON search_docs BEGIN
    INSERT INTO search_fts(rowid, body, next_text, last_word)
        VALUES (new.id, new.body, new.next_text, new.last_word);
    INSERT INTO search_seam_fts(rowid, seam) VALUES (new.id, new.seam);
END;
CREATE TRIGGER search_docs_ad AFTER DELETE ON search_docs BEGIN
    INSERT INTO search_fts(search_fts, rowid, body, next_text, last_word)
        VALUES ('delete', old.id, old.body, old.next_text, old.last_word);
    INSERT INTO search_seam_fts(search_seam_fts, rowid, seam) VALUES ('delete', old.id, old.seam);
END;
CREATE TRIGGER search_docs_au AFTER UPDATE ON search_docs BEGIN
    INSERT INTO search_fts(search_fts, rowid, body, next_text, last_word)
        VALUES ('delete', old.id, old.body, old.next_text, old.last_word);
    INSERT INTO search_seam_fts(search_seam_fts, rowid, seam) VALUES ('delete', old.id, old.seam);
    INSERT INTO search_fts(rowid, body, next_text, last_word)
        VALUES (new.id, new.body, new.next_text, new.last_word);
    INSERT INTO search_seam_fts(rowid, seam) VALUES (new.id, new.seam);
END;
