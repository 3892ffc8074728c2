-- Phrase search on PostgreSQL (issue 13, search latency): a GIN index of
-- the adjacent lexeme pairs of every search_docs row.
--
-- A phrase query ('budget' <-> 'review') can only be decided on the row
-- itself (the GIN index of search_docs.tsv has no positions), so a phrase
-- of two frequent words read every row holding both words from the heap
-- (tens of thousands; 0.1-0.6 s on 5 million words). The pair index answers
-- "holds 'budget review' somewhere" from the index alone; store/search.c adds
-- that condition beside the phrase itself, which still decides.
--
-- search_bigrams: the pairs of lexemes at positions p and p + 1 of a
-- tsvector (stop words keep their positions in to_tsvector, so a pair is
-- exactly what <-> matches), as a tsvector of "a b" lexemes.
CREATE FUNCTION search_bigrams(tsv tsvector) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT COALESCE(array_to_tsvector(array_agg(DISTINCT a.lexeme || ' ' || b.lexeme)),
                    ''::tsvector)
    FROM (SELECT u.lexeme, p FROM unnest(tsv) u, unnest(u.positions) p) a
    JOIN (SELECT u.lexeme, p FROM unnest(tsv) u, unnest(u.positions) p) b ON b.p = a.p + 1
$$;

-- The query side: the pairs of the phrases (one per line) as tsquery text
-- ('a b' & 'c d'), NULL when no phrase has two adjacent lexemes. Lexemes
-- with a quote or a backslash are left out (a pair is only ever an extra,
-- necessary condition, so leaving one out never loses a hit).
CREATE FUNCTION search_bigram_query(phrases text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT string_agg(DISTINCT quote_literal(a.lexeme || ' ' || b.lexeme), ' & ')
    FROM (SELECT ph.n, u.lexeme, p
          FROM regexp_split_to_table(phrases, E'\n') WITH ORDINALITY AS ph(t, n),
               unnest(to_tsvector('english', ph.t)) u, unnest(u.positions) p) a
    JOIN (SELECT ph.n, u.lexeme, p
          FROM regexp_split_to_table(phrases, E'\n') WITH ORDINALITY AS ph(t, n),
               unnest(to_tsvector('english', ph.t)) u, unnest(u.positions) p) b
      ON b.n = a.n AND b.p = a.p + 1
    WHERE a.lexeme !~ '[''\\]' AND b.lexeme !~ '[''\\]'
$$;

-- Stored, not an expression index: a phrase makes PostgreSQL recheck every
-- row the bitmap yields against all its conditions, and recomputing the
-- pairs from the text there cost 0.1 ms a row.
ALTER TABLE search_docs ADD COLUMN bigrams tsvector
    GENERATED ALWAYS AS (search_bigrams(to_tsvector('english', body))) STORED;
CREATE INDEX search_docs_bigrams ON search_docs USING GIN (bigrams);
