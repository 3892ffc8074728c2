-- Phrase search (issue 13): PostgreSQL indexes adjacent lexeme pairs (see
-- 0017_search_bigrams.pg.sql). SQLite's FTS5 index holds positions and
-- needs nothing: this version only keeps the two dialects in step.
SELECT 1;
