-- Search across segment boundaries (issue 13), PostgreSQL. Words or a
-- phrase said across two adjacent segments ("... the budget" | "review of
-- ...") find the first segment. See store/search.h for the rule; what the
-- index needs is this:
--
-- next_text: the beginning of the next segment of the same meeting (its
-- text up to the first space after 48 characters, about 8 words); '' for
-- the last segment, titles and descriptions. store/search.c writes it with
-- the segment rows (search_index_transcript).
--
-- tsv_span (GIN): body followed by next_text, so that a phrase may run on
-- into the next segment; it replaces tsv in the GIN index. tsv (body alone,
-- as before) and tsv_next (next_text alone) tell a match that only the
-- next segment holds, which is that segment's hit, not this one's. bigrams
-- (the phrase pair index of 0017) now come from the same text as tsv_span.
DROP INDEX search_docs_tsv;
ALTER TABLE search_docs DROP COLUMN bigrams;
ALTER TABLE search_docs ADD COLUMN next_text TEXT NOT NULL DEFAULT '';
UPDATE search_docs d SET next_text =
    substr(n.body, 1, CASE strpos(substr(n.body, 49), ' ') WHEN 0 THEN length(n.body)
                      ELSE 47 + strpos(substr(n.body, 49), ' ') END)
FROM search_docs n
WHERE d.kind = 'segment' AND n.kind = 'segment' AND n.meeting_id = d.meeting_id
  AND n.segment_index = d.segment_index + 1;
ALTER TABLE search_docs
    ADD COLUMN tsv_span tsvector
        GENERATED ALWAYS AS (to_tsvector('english', body || ' ' || next_text)) STORED,
    ADD COLUMN tsv_next tsvector
        GENERATED ALWAYS AS (to_tsvector('english', next_text)) STORED,
    ADD COLUMN bigrams tsvector
        GENERATED ALWAYS AS (search_bigrams(to_tsvector('english', body || ' ' || next_text))) STORED;
CREATE INDEX search_docs_tsv_span ON search_docs USING GIN (tsv_span);
CREATE INDEX search_docs_bigrams ON search_docs USING GIN (bigrams);
