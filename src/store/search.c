#include "store/search.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/buf.h"
#include "store/collections.h"

/* ---- query parsing (no database) ---- */

static bool is_word_byte(unsigned char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       ch >= 0x80;
}

static bool is_space(unsigned char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v';
}

void search_parsed_free(struct search_parsed *p)
{
	if (!p)
		return;
	for (int i = 0; i < p->nterms; i++)
		free(p->terms[i].words);
	memset(p, 0, sizeof *p);
}

/*
 * The words of text[0..len) joined by single spaces into a new string
 * (caller frees), *nwords of them; NULL with *nwords 0 when there is none
 * (or no memory: *nwords -1).
 */
static char *words_of(const char *text, size_t len, int *nwords)
{
	*nwords = 0;
	char *out = malloc(len + 1);
	if (!out) {
		*nwords = -1;
		return NULL;
	}
	size_t k = 0;
	size_t i = 0;
	while (i < len) {
		while (i < len && !is_word_byte((unsigned char)text[i]))
			i++;
		if (i >= len)
			break;
		if (k)
			out[k++] = ' ';
		while (i < len && is_word_byte((unsigned char)text[i]))
			out[k++] = text[i++];
		(*nwords)++;
	}
	out[k] = '\0';
	if (!*nwords) {
		free(out);
		return NULL;
	}
	return out;
}

enum search_parse_rc search_parse(const char *q, struct search_parsed *out)
{
	memset(out, 0, sizeof *out);
	if (!q)
		return SEARCH_Q_EMPTY;
	if (strlen(q) > SEARCH_Q_MAX_BYTES)
		return SEARCH_Q_TOO_LONG;
	const char *p = q;
	int included = 0;
	while (*p) {
		while (is_space((unsigned char)*p))
			p++;
		if (!*p)
			break;
		bool exclude = false;
		if (*p == '-') {
			exclude = true;
			p++;
		}
		const char *start, *end;
		if (*p == '"') {
			start = ++p;
			while (*p && *p != '"')
				p++;
			end = p;
			if (*p == '"')
				p++;
		} else {
			start = p;
			while (*p && !is_space((unsigned char)*p) && *p != '"')
				p++;
			end = p;
		}
		int n;
		char *words = words_of(start, (size_t)(end - start), &n);
		if (n < 0)
			return SEARCH_Q_EMPTY; /* out of memory: nothing usable */
		if (!n)
			continue; /* punctuation only: nothing to look for */
		if (out->nterms == SEARCH_MAX_TERMS || out->nwords + n > SEARCH_MAX_TERMS) {
			free(words);
			return SEARCH_Q_TOO_MANY;
		}
		out->terms[out->nterms++] =
		    (struct search_term){.exclude = exclude, .words = words, .nwords = n};
		out->nwords += n;
		included += !exclude;
	}
	if (!out->nterms)
		return SEARCH_Q_EMPTY;
	if (!included)
		return SEARCH_Q_ONLY_EXCLUDED;
	return SEARCH_Q_OK;
}

/*
 * Terms of p as PostgreSQL websearch text, each quoted: the included ones
 * and then the excluded ones with "-" (what); only the included ones
 * (INCLUDED); or only the excluded ones, as alternatives ("x" or "y z";
 * NULL when there is none) (EXCLUDED).
 */
enum ws_terms { WS_ALL, WS_INCLUDED, WS_EXCLUDED };
static char *build_websearch(const struct search_parsed *p, enum ws_terms what)
{
	struct buf b = {0};
	int included = 0, excluded = 0, err = 0;
	for (int i = 0; i < p->nterms && what != WS_EXCLUDED; i++) {
		if (p->terms[i].exclude)
			continue;
		if (included++)
			err |= buf_puts(&b, " ");
		err |= buf_printf(&b, "\"%s\"", p->terms[i].words);
	}
	for (int i = 0; i < p->nterms && what != WS_INCLUDED; i++) {
		if (!p->terms[i].exclude)
			continue;
		if (what == WS_ALL)
			err |= buf_printf(&b, " -\"%s\"", p->terms[i].words);
		else
			err |=
			    buf_printf(&b, "%s\"%s\"", excluded ? " or " : "", p->terms[i].words);
		excluded++;
	}
	if ((what == WS_EXCLUDED ? !excluded : !included) || err) {
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b);
}

/* Words [from, to) of a term's words (single spaces between them). */
static int put_words(struct buf *b, const char *words, int from, int to)
{
	int err = 0, w = 0;
	const char *s = words;
	while (*s && w < to) {
		const char *e = strchr(s, ' ');
		size_t len = e ? (size_t)(e - s) : strlen(s);
		if (w >= from) {
			if (w > from)
				err |= buf_puts(b, " ");
			err |= buf_append(b, s, len);
		}
		w++;
		s = e ? e + 1 : s + len;
	}
	return err;
}

/* The included terms ANDed: ("a" AND "b c"), under column filter col ("" = any column). */
static int put_included(struct buf *b, const struct search_parsed *p, const char *col)
{
	int err = buf_printf(b, "%s(", col), n = 0;
	for (int i = 0; i < p->nterms; i++)
		if (!p->terms[i].exclude)
			err |= buf_printf(b, "%s\"%s\"", n++ ? " AND " : "", p->terms[i].words);
	return err | buf_puts(b, ")");
}

/*
 * A phrase split by a segment break: its first k words end the segment
 * (the last of them is the segment's last word; the others are in the
 * segment), the rest open the next one (^: from next_text's first token).
 */
static int put_splits(struct buf *b, const struct search_term *t)
{
	int err = 0;
	for (int k = 1; k < t->nwords; k++) {
		if (t->nwords - k > SEARCH_SPAN_PHRASE_WORDS)
			continue;
		err |= buf_puts(b, " OR (");
		if (k > 1) {
			err |= buf_puts(b, "{body}: \"");
			err |= put_words(b, t->words, 0, k);
			err |= buf_puts(b, "\" AND ");
		}
		err |= buf_puts(b, "{last_word}: \"");
		err |= put_words(b, t->words, k - 1, k);
		err |= buf_puts(b, "\" AND {next_text}: ^ \"");
		err |= put_words(b, t->words, k, t->nwords);
		err |= buf_puts(b, "\")");
	}
	return err;
}

/*
 * SQLite FTS5 MATCH text over search_fts (body, next_text, last_word; see
 * sql/0019_search_across_segments.sqlite.sql), for the rule in search.h:
 *
 *   one word:        {body}: "w"
 *   one phrase:      ({body}: "p" OR <splits of p>)
 *   several terms:   ((<T1> AND <T2> ...) NOT ({next_text}: (I) NOT {body}: (I)))
 *                    where <T> is "w" or ("p" OR <splits of p>) in any column
 *                    and I the included terms ANDed: what the next segment's
 *                    opening alone holds is that segment's hit, unless this
 *                    segment holds it all too;
 *   exclusions:      (<the above>) NOT {body}: ("x" OR "y c")
 */
static char *build_fts5(const struct search_parsed *p)
{
	struct buf b = {0};
	int err = 0, included = 0, excluded = 0;
	const struct search_term *only = NULL;
	for (int i = 0; i < p->nterms; i++) {
		if (p->terms[i].exclude) {
			excluded++;
		} else {
			included++;
			only = &p->terms[i];
		}
	}
	if (!included)
		return NULL;
	err |= buf_puts(&b, "(");
	if (included == 1 && only->nwords == 1) {
		err |= buf_printf(&b, "{body}: \"%s\"", only->words);
	} else if (included == 1) {
		err |= buf_printf(&b, "{body}: \"%s\"", only->words);
		err |= put_splits(&b, only);
	} else {
		int n = 0;
		err |= buf_puts(&b, "(");
		for (int i = 0; i < p->nterms; i++) {
			const struct search_term *t = &p->terms[i];
			if (t->exclude)
				continue;
			err |= buf_puts(&b, n++ ? " AND " : "");
			if (t->nwords == 1) {
				err |= buf_printf(&b, "\"%s\"", t->words);
			} else {
				err |= buf_printf(&b, "(\"%s\"", t->words);
				err |= put_splits(&b, t);
				err |= buf_puts(&b, ")");
			}
		}
		err |= buf_puts(&b, ") NOT (");
		err |= put_included(&b, p, "{next_text}: ");
		err |= buf_puts(&b, " NOT ");
		err |= put_included(&b, p, "{body}: ");
		err |= buf_puts(&b, ")");
	}
	err |= buf_puts(&b, ")");
	if (excluded) {
		int n = 0;
		err |= buf_puts(&b, " NOT {body}: (");
		for (int i = 0; i < p->nterms; i++)
			if (p->terms[i].exclude)
				err |= buf_printf(&b, "%s\"%s\"", n++ ? " OR " : "",
						  p->terms[i].words);
		err |= buf_puts(&b, ")");
	}
	if (err) {
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b);
}

char *search_fts5_query(const struct search_parsed *p)
{
	return build_fts5(p);
}

char *search_websearch_query(const struct search_parsed *p)
{
	return build_websearch(p, WS_ALL);
}

char *search_snippet_html(const char *raw)
{
	struct buf b = {0};
	bool open = false;
	int err = 0;
	for (const char *s = raw ? raw : ""; *s; s++) {
		switch (*s) {
		case '\x01':
			if (!open)
				err |= buf_puts(&b, "<mark>");
			open = true;
			break;
		case '\x02':
			if (open)
				err |= buf_puts(&b, "</mark>");
			open = false;
			break;
		case '&':
			err |= buf_puts(&b, "&amp;");
			break;
		case '<':
			err |= buf_puts(&b, "&lt;");
			break;
		case '>':
			err |= buf_puts(&b, "&gt;");
			break;
		case '"':
			err |= buf_puts(&b, "&quot;");
			break;
		case '\'':
			err |= buf_puts(&b, "&#39;");
			break;
		default:
			err |= buf_append(&b, s, 1);
		}
	}
	if (open)
		err |= buf_puts(&b, "</mark>");
	if (err) {
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b);
}

/* ---- the index ---- */

int search_index_details(struct db_conn *c, const char *org_id, const char *meeting_id)
{
	int rc = db_exec(c,
			 "DELETE FROM search_docs WHERE meeting_id = $1 AND org_id = $2"
			 " AND kind IN ('title', 'description')",
			 DB_PARAMS(DB_TEXT(meeting_id), DB_TEXT(org_id)), NULL);
	if (rc)
		return rc;
	rc = db_exec(
	    c,
	    "INSERT INTO search_docs (org_id, meeting_id, kind, body)"
	    " SELECT org_id, id, 'title', title FROM meetings WHERE id = $1 AND org_id = $2",
	    DB_PARAMS(DB_TEXT(meeting_id), DB_TEXT(org_id)), NULL);
	if (rc)
		return rc;
	return db_exec(c,
		       "INSERT INTO search_docs (org_id, meeting_id, kind, body)"
		       " SELECT org_id, id, 'description', description FROM meetings"
		       " WHERE id = $1 AND org_id = $2 AND description <> ''",
		       DB_PARAMS(DB_TEXT(meeting_id), DB_TEXT(org_id)), NULL);
}

/*
 * One row per segment of the stored transcript (JSON of core/transcript.h),
 * read by the database itself: the same statement as the migrations'
 * backfill. The speaker's name is the one people see: the given name,
 * else "Speaker <n>". next_text is the beginning of the next segment (see
 * SEARCH_NEXT_CHARS), the same cut as sql/0019_search_across_segments.
 */
#define NEXT_CUT(fn)                                                                               \
	" substr(nx, 1, CASE " fn "(substr(nx, 49), ' ') WHEN 0 THEN length(nx)"                   \
	" ELSE 47 + " fn "(substr(nx, 49), ' ') END)"
_Static_assert(SEARCH_NEXT_CHARS == 48, "NEXT_CUT and sql/0019 cut after 48 characters");

#define SEGMENT_COLS                                                                               \
	"INSERT INTO search_docs (org_id, meeting_id, kind, segment_index, speaker_id, "           \
	"speaker_name,"                                                                            \
	" start_s, end_s, body, next_text)"                                                        \
	" SELECT org_id, meeting_id, 'segment', ix, spk, spk_name, st, en, body,"

static const char SEGMENTS_SQLITE[] = SEGMENT_COLS " COALESCE(" NEXT_CUT(
    "instr") ", '') FROM ("
	     "SELECT t.org_id, t.meeting_id, s.key AS ix,"
	     " COALESCE(json_extract(s.value, '$.speaker'), '') AS spk,"
	     " COALESCE((SELECT COALESCE(json_extract(sp.value, '$.name'),"
	     " 'Speaker ' || substr(json_extract(sp.value, '$.id'), 2))"
	     " FROM json_each(t.body, '$.speakers') sp"
	     " WHERE json_extract(sp.value, '$.id') = json_extract(s.value, '$.speaker')), '')"
	     " AS spk_name,"
	     " json_extract(s.value, '$.start') AS st, json_extract(s.value, '$.end') AS en,"
	     " COALESCE(json_extract(s.value, '$.text'), '') AS body,"
	     " lead(COALESCE(json_extract(s.value, '$.text'), '')) OVER (ORDER BY s.key) AS nx"
	     " FROM transcripts t, json_each(t.body, '$.segments') s"
	     " WHERE t.meeting_id = $1 AND t.org_id = $2 AND json_valid(t.body))";

static const char SEGMENTS_PG[] = SEGMENT_COLS " COALESCE(" NEXT_CUT(
    "strpos") ", '') FROM ("
	      "SELECT t.org_id, t.meeting_id, (s.ord - 1)::int AS ix,"
	      " COALESCE(s.seg->>'speaker', '') AS spk,"
	      " COALESCE((SELECT COALESCE(sp->>'name', 'Speaker ' || substr(sp->>'id', 2))"
	      " FROM jsonb_array_elements(COALESCE(t.body::jsonb->'speakers', '[]'::jsonb)) sp"
	      " WHERE sp->>'id' = s.seg->>'speaker' LIMIT 1), '') AS spk_name,"
	      " (s.seg->>'start')::float8 AS st, (s.seg->>'end')::float8 AS en,"
	      " COALESCE(s.seg->>'text', '') AS body,"
	      " lead(COALESCE(s.seg->>'text', '')) OVER (ORDER BY s.ord) AS nx"
	      " FROM transcripts t"
	      " CROSS JOIN LATERAL"
	      " jsonb_array_elements(COALESCE(t.body::jsonb->'segments', '[]'::jsonb))"
	      " WITH ORDINALITY AS s(seg, ord)"
	      " WHERE t.meeting_id = $1 AND t.org_id = $2) x";

int search_index_transcript(struct db_conn *c, const char *org_id, const char *meeting_id)
{
	int rc = db_exec(
	    c, "DELETE FROM search_docs WHERE meeting_id = $1 AND org_id = $2 AND kind = 'segment'",
	    DB_PARAMS(DB_TEXT(meeting_id), DB_TEXT(org_id)), NULL);
	if (rc)
		return rc;
	return db_exec(c, db_conn_dialect(c) == DB_PG ? SEGMENTS_PG : SEGMENTS_SQLITE,
		       DB_PARAMS(DB_TEXT(meeting_id), DB_TEXT(org_id)), NULL);
}

/* ---- searching ---- */

/*
 * MAY_READ: where a "may this caller read this meeting" condition goes. It
 * sees the meeting as m. It stays empty: a hit is a meeting of the caller's
 * active organization, where every role reads every meeting, or one that
 * a live collection grant shares with them (search_filter.grantee): the
 * two ways auth/authz.h authz_meeting_access gives read access. Nothing
 * else of another organization is ever a hit.
 */
#define MAY_READ ""

/*
 * Statements are assembled from the filters actually given, so that the
 * planner never sees "($3 = '' OR ...)" (PostgreSQL estimated such date
 * conditions so low that it walked every meeting instead of the GIN index:
 * 0.8 s instead of 20 ms). Placeholders are numbered in order of use: $1
 * the query, $2 the organization, on SQLite $3 the included terms in the
 * segment's own text, then the filters, then what the statement itself
 * needs.
 */
#define HIT_COLS                                                                                   \
	"d.meeting_id, m.title, m.created_at, COALESCE(m.meeting_date, 0), d.kind,"                \
	" d.segment_index, d.speaker_id, d.speaker_name, d.start_s, d.end_s"

/*
 * Ranking is the cost of a search: bm25 / ts_rank read every ranked row's
 * positions (and, on PostgreSQL, the row itself from the heap), and the
 * corpus's most frequent words match a large part of all rows. So at most
 * the rank window's rows are ranked (see search.h): the newest matches,
 * that is those with the highest ids. Snippets and headlines are made for
 * the page's rows only.
 *
 * SQLite: FTS5 walks its doclists by rowid, newest first, without ranking:
 * win is the window's newest matches of $1. bm25 also counts, once per
 * statement, the rows of the whole table that hold each phrase of its
 * MATCH text, which for the splits of a phrase and the next segment's
 * terms ($1) costs two to three times what it does for the terms alone; so
 * ranked ranks the window's rows by $3, the included terms (and the
 * exclusions) in the segment's own text, and the rows only found with the
 * next segment's beginning come after those (ranked.rank NULL; their last
 * column is the highlighted body, last word and next_text, \x03 between
 * them, that span_snippet() turns into their snippet). Snippets come from
 * one walk over the page's rowid range (an FTS5 query per row costs about
 * half a millisecond with frequent words).
 */
#define MEETINGS_JOIN " JOIN meetings m ON m.id = d.meeting_id AND m.org_id = d.org_id"
/*
 * The window's newest matches of the MATCH text $%d in FTS table %s (the
 * table named four times): %s the meetings join for meeting conditions
 * (MEETINGS_JOIN or ""; a deleted meeting's rows are gone with it), %s
 * shared meetings (" OR d.meeting_id IN (...)", or ""), %s doc conditions,
 * %s meeting conditions, then the window.
 */
#define SQLITE_NEWEST                                                                              \
	"SELECT d.id AS id FROM %s JOIN search_docs d ON d.id = %s.rowid%s"                        \
	" WHERE %s MATCH $%d AND (d.org_id = $2%s)%s%s" MAY_READ                                   \
	" ORDER BY %s.rowid DESC LIMIT %d"
/*
 * win: a two-word phrase and nothing else ("a b") is looked up as
 * {body}: "a b" ($3) in search_fts and as ^"a b" ($4) in search_seam_fts
 * (the last word and the next segment's first word: see
 * sql/0019_search_across_segments.sqlite.sql), the union's newest kept;
 * anything else as $1 in search_fts. Then the limit and offset
 * placeholders.
 */
#define SEARCH_SQLITE_FMT                                                                          \
	"WITH win AS MATERIALIZED (%s),"                                                           \
	" ranked AS MATERIALIZED (SELECT search_fts.rowid AS id, bm25(search_fts) AS rank"         \
	" FROM search_fts WHERE search_fts MATCH $3"                                               \
	" AND search_fts.rowid >= (SELECT min(id) FROM win)),"                                     \
	" page AS MATERIALIZED (SELECT id, rank FROM ("                                            \
	"SELECT id, rank FROM ranked WHERE id IN (SELECT id FROM win) UNION ALL"                   \
	" SELECT id, NULL FROM win WHERE id NOT IN (SELECT id FROM ranked))"                       \
	" ORDER BY rank IS NULL, rank, id LIMIT $%d OFFSET $%d),"                                  \
	" snip AS MATERIALIZED (SELECT search_fts.rowid AS id,"                                    \
	" snippet(search_fts, 0, char(1), char(2), '…', 24) AS s, NULL AS span"                  \
	" FROM search_fts WHERE search_fts MATCH $3"                                               \
	" AND search_fts.rowid BETWEEN (SELECT min(id) FROM page) AND (SELECT max(id) FROM page)"  \
	" AND search_fts.rowid + 0 IN (SELECT id FROM page WHERE rank IS NOT NULL)"                \
	" UNION ALL SELECT page.id, NULL, (SELECT highlight(search_fts, 0, char(1), char(2)) ||"   \
	" char(3) || highlight(search_fts, 2, char(1), char(2)) || char(3) ||"                     \
	" highlight(search_fts, 1, char(1), char(2)) FROM search_fts"                              \
	" WHERE search_fts MATCH $1 AND search_fts.rowid = page.id)"                               \
	" FROM page WHERE page.rank IS NULL)"                                                      \
	" SELECT " HIT_COLS ", COALESCE(snip.s, ''), COALESCE(page.rank, 0), snip.span"            \
	" FROM page JOIN snip ON snip.id = page.id"                                                \
	" JOIN search_docs d ON d.id = page.id JOIN meetings m ON m.id = d.meeting_id"             \
	" ORDER BY page.rank IS NULL, page.rank, page.id"

/*
 * PostgreSQL: $1 is the included terms only. tsv_span holds a row's text
 * followed by next_text (tsv: its text alone); a row whose match only the
 * next segment's beginning holds (tsv_next) is dropped, unless its own text
 * holds it too.
 * %s shared, %s doc conditions (the exclusions among them), %s meeting
 * conditions.
 *
 * The GIN index yields matches in table order, not newest first. So a
 * search first ranks up to one more than the window's rows as they come
 * (most queries match fewer: done); when there are more, it ranks the
 * newest among the newest ids, in ranges that widen until they hold the
 * window (see search_run).
 */
#define PG_MATCHES                                                                                 \
	" FROM search_docs d%s, websearch_to_tsquery('english', $1) q"                             \
	" WHERE d.tsv_span @@ q"                                                                   \
	" AND NOT (d.tsv_next @@ q AND NOT d.tsv @@ q)"                                            \
	" AND (d.org_id = $2%s)%s%s" MAY_READ
/*
 * ... (with MEETINGS_JOIN), the most rows ranked, the limit and offset
 * placeholders. The matches come from the GIN index first (a materialized
 * CTE, whatever the planner thinks of the other conditions; without ORDER
 * BY the bitmap heap scan stops after that many rows, in table order: the
 * oldest rows when more match), are ranked, the page is cut, and only the
 * page's rows get a headline (ts_headline parses the text again), from the
 * text and the next segment's beginning when the text alone does not hold
 * the match. (Ranking the newest rows instead cost a p95 of 65-208 ms for
 * frequent words and phrases on the bench: see bench/search.sh.)
 */
#define SEARCH_PG_FMT                                                                              \
	"WITH hits AS MATERIALIZED (SELECT d.id, d.tsv_span" PG_MATCHES " LIMIT %d),"              \
	" page AS (SELECT h.id, ts_rank(h.tsv_span, q) AS rank FROM hits h,"                       \
	" websearch_to_tsquery('english', $1) q"                                                   \
	" ORDER BY rank DESC, h.id LIMIT $%d OFFSET $%d)"                                          \
	" SELECT " HIT_COLS ", ts_headline('english',"                                             \
	" CASE WHEN d.next_text = '' OR d.tsv @@ q THEN d.body"                                    \
	" ELSE d.body || ' ' || d.next_text END, q, 'StartSel=' || chr(1) ||"                      \
	" ', StopSel=' || chr(2) || ', MaxWords=24, MinWords=12'), -page.rank, NULL"               \
	" FROM page JOIN search_docs d ON d.id = page.id"                                          \
	" JOIN meetings m ON m.id = d.meeting_id, websearch_to_tsquery('english', $1) q"           \
	" ORDER BY page.rank DESC, page.id"

/* Append " AND ..." to conds (a char array) with its parameter v as the next placeholder. */
#define ADD_COND(conds, v, ...)                                                                    \
	do {                                                                                       \
		size_t used_ = strlen(conds);                                                      \
		params[np++] = (v);                                                                \
		snprintf((conds) + used_, sizeof(conds) - used_, __VA_ARGS__);                     \
	} while (0)

void search_hits_free(struct search_hit *hits, size_t n)
{
	if (!hits)
		return;
	for (size_t i = 0; i < n; i++) {
		free(hits[i].title);
		free(hits[i].speaker_name);
		free(hits[i].snippet);
	}
	free(hits);
}

/*
 * PostgreSQL: the adjacent lexeme pairs of p's included phrases as tsquery
 * text (sql/0017_search_bigrams.pg.sql), for the pair index. *out NULL when
 * there is none (no phrase, or none with two adjacent lexemes); else the
 * caller frees it.
 */
static enum store_rc bigram_query(struct db_conn *c, const struct search_parsed *p, char **out)
{
	*out = NULL;
	struct buf b = {0};
	int err = 0;
	for (int i = 0; i < p->nterms; i++)
		if (!p->terms[i].exclude && p->terms[i].nwords > 1)
			err |= buf_printf(&b, "%s%s", b.len ? "\n" : "", p->terms[i].words);
	if (err) {
		buf_free(&b);
		return STORE_ERROR;
	}
	if (!b.len)
		return STORE_OK;
	char *phrases = buf_steal(&b);
	int rc;
	struct db_res *r =
	    db_query(c, "SELECT search_bigram_query($1)", DB_PARAMS(DB_TEXT(phrases)), &rc);
	free(phrases);
	if (!r)
		return store_rc_of(rc);
	rc = db_next(r);
	if (rc == 1 && !db_is_null(r, 0) && !(*out = strdup(db_text(r, 0))))
		rc = DB_ERR;
	db_res_free(r);
	return rc < 0 ? store_rc_of(rc) : STORE_OK;
}

/*
 * The snippet of a hit that needs the next segment, from "body \x03 last
 * word \x03 next_text", each highlighted: the last SPAN_TAIL_WORDS words of
 * the body (its last word with the marks the split phrase gave it) and the
 * next segment's beginning. Caller frees; NULL when out of memory.
 */
#define SPAN_TAIL_WORDS 14
static char *span_snippet(const char *raw)
{
	const char *s1 = strchr(raw, '\x03');
	const char *s2 = s1 ? strchr(s1 + 1, '\x03') : NULL;
	if (!s2)
		return strdup(raw);
	size_t blen = (size_t)(s1 - raw);
	while (blen && is_space((unsigned char)raw[blen - 1]))
		blen--;
	size_t lstart = blen;
	while (lstart && !is_space((unsigned char)raw[lstart - 1]))
		lstart--;
	const char *last = s1 + 1, *next = s2 + 1;
	size_t llen = (size_t)(s2 - last);
	bool use_last = memchr(last, '\x01', llen) && !memchr(raw + lstart, '\x01', blen - lstart);
	size_t from = lstart;
	for (int words = 1; from > 0 && words < SPAN_TAIL_WORDS; words++) {
		size_t j = from;
		while (j > 0 && is_space((unsigned char)raw[j - 1]))
			j--;
		while (j > 0 && !is_space((unsigned char)raw[j - 1]))
			j--;
		from = j;
	}
	size_t shown = 0;
	for (const char *t = next; *t; t++)
		shown += *t != '\x01' && *t != '\x02';
	struct buf b = {0};
	int err = 0;
	if (from > 0)
		err |= buf_puts(&b, "…");
	err |= buf_append(&b, raw + from, lstart - from);
	if (use_last)
		err |= buf_append(&b, last, llen);
	else
		err |= buf_append(&b, raw + lstart, blen - lstart);
	err |= buf_printf(&b, " %s%s", next, shown >= SEARCH_NEXT_CHARS ? "…" : "");
	if (err) {
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b);
}

/* SQLite's second query: the included terms, and not the excluded ones, in the segment's own text.
 */
static char *fts5_body_query(const struct search_parsed *p)
{
	struct buf b = {0};
	int err = put_included(&b, p, "{body}: "), n = 0;
	for (int i = 0; i < p->nterms; i++)
		if (p->terms[i].exclude)
			err |= buf_printf(&b, "%s\"%s\"", n++ ? " OR " : " NOT {body}: (",
					  p->terms[i].words);
	if (n)
		err |= buf_puts(&b, ")");
	if (err) {
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b);
}

enum store_rc search_run(struct db_conn *c, const struct search_parsed *p,
			 const struct search_filter *f, int offset, int limit,
			 struct search_hit **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	bool pg = db_conn_dialect(c) == DB_PG;
	int window = f->rank_window > 0 ? f->rank_window : SEARCH_RANK_WINDOW;
	/* PostgreSQL: the included terms; the excluded ones are a condition of their own. */
	char *match = pg ? build_websearch(p, WS_INCLUDED) : search_fts5_query(p);
	char *second = pg ? build_websearch(p, WS_EXCLUDED) : fts5_body_query(p);
	if (!match || (!pg && !second)) {
		free(match);
		free(second);
		return STORE_ERROR;
	}
	if (limit < 1)
		limit = 1;
	struct db_param params[14];
	size_t np = 0;
	params[np++] = DB_TEXT(match);
	params[np++] = DB_TEXT(f->org_id);
	if (!pg)
		params[np++] = DB_TEXT(second);
	/* SQLite: a two-word phrase alone is looked up in search_seam_fts too (win). */
	char seam_q[SEARCH_Q_MAX_BYTES + 8] = "";
	bool seam = !pg && p->nterms == 1 && p->terms[0].nwords == 2;
	if (seam) {
		snprintf(seam_q, sizeof seam_q, "^ \"%s\"", p->terms[0].words);
		params[np++] = DB_TEXT(seam_q);
	}
	char shared[512] = "", doc[640] = "", mtg[256] = "";
	char *pairs = NULL;
	enum store_rc ret = STORE_ERROR;
	struct search_hit *hits = NULL;
	size_t k = 0;
	if (pg && (ret = bigram_query(c, p, &pairs)) != STORE_OK)
		goto out;
	ret = STORE_ERROR;
	/*
	 * The pairs of the phrases' adjacent words must all be in the row: the
	 * pair index finds the few rows where they are, instead of the phrase
	 * being checked on every row that holds its words.
	 */
	if (pairs)
		ADD_COND(doc, DB_TEXT(pairs), " AND d.bigrams @@ $%zu::tsquery", np);
	/* -exclusions apply to the segment's own text (SQLite: in the MATCH text). */
	if (pg && second)
		ADD_COND(doc, DB_TEXT(second),
			 " AND NOT d.tsv @@ websearch_to_tsquery('english', $%zu)", np);
	/* Meetings of other organizations shared with the caller (collections). */
	if (f->grantee && *f->grantee)
		ADD_COND(shared, DB_TEXT(f->grantee),
			 " OR d.meeting_id IN (" COLLECTION_GRANTED_MEETINGS("$%zu") ")", np);
	if (f->meeting_id && *f->meeting_id)
		ADD_COND(doc, DB_TEXT(f->meeting_id), " AND d.meeting_id = $%zu", np);
	if (f->collection_id && *f->collection_id)
		ADD_COND(doc, DB_TEXT(f->collection_id),
			 " AND d.meeting_id IN (SELECT cm.meeting_id FROM collection_meetings cm"
			 " WHERE cm.collection_id = $%zu)",
			 np);
	if (f->speaker && *f->speaker)
		ADD_COND(doc, DB_TEXT(f->speaker),
			 " AND (d.speaker_id = $%zu OR lower(d.speaker_name) = lower($%zu))", np,
			 np);
	if (f->from_ms > 0)
		ADD_COND(mtg, DB_INT(f->from_ms),
			 " AND COALESCE(m.meeting_date, m.created_at) >= $%zu", np);
	if (f->to_ms > 0)
		ADD_COND(mtg, DB_INT(f->to_ms),
			 " AND COALESCE(m.meeting_date, m.created_at) < $%zu", np);
	hits = calloc((size_t)limit, sizeof *hits);
	if (!hits)
		goto out;
	{
		char sql[8192];
		size_t nq = np;
		int len;
		if (pg) {
			params[nq++] = DB_INT(limit);
			params[nq++] = DB_INT(offset);
			len = snprintf(sql, sizeof sql, SEARCH_PG_FMT, MEETINGS_JOIN, shared, doc,
				       mtg, window, (int)nq - 1, (int)nq);
		} else {
			char win[4096];
			const char *mj = *mtg ? MEETINGS_JOIN : "";
			if (seam) {
				char body[1800], edge[1800];
				snprintf(body, sizeof body, SQLITE_NEWEST, "search_fts",
					 "search_fts", mj, "search_fts", 3, shared, doc, mtg,
					 "search_fts", window);
				snprintf(edge, sizeof edge, SQLITE_NEWEST, "search_seam_fts",
					 "search_seam_fts", mj, "search_seam_fts", 4, shared, doc,
					 mtg, "search_seam_fts", window);
				len = snprintf(win, sizeof win,
					       "SELECT id FROM (%s) UNION SELECT id FROM (%s)"
					       " ORDER BY id DESC LIMIT %d",
					       body, edge, window);
			} else {
				len = snprintf(win, sizeof win, SQLITE_NEWEST, "search_fts",
					       "search_fts", mj, "search_fts", 1, shared, doc, mtg,
					       "search_fts", window);
			}
			params[nq++] = DB_INT(limit);
			params[nq++] = DB_INT(offset);
			if (len > 0 && (size_t)len < sizeof win)
				len = snprintf(sql, sizeof sql, SEARCH_SQLITE_FMT, win, (int)nq - 1,
					       (int)nq);
			else
				len = -1;
		}
		if (len < 0 || (size_t)len >= sizeof sql)
			goto out;
		int rc;
		struct db_res *r = db_query(c, sql, params, nq, &rc);
		if (!r) {
			ret = store_rc_of(rc);
			goto out;
		}
		while (k < (size_t)limit && (rc = db_next(r)) == 1) {
			struct search_hit *h = &hits[k++];
			store_copy(h->meeting_id, sizeof h->meeting_id, r, 0);
			h->title = strdup(db_text(r, 1));
			h->created_at = db_int(r, 2);
			h->meeting_date = db_int(r, 3);
			store_copy(h->kind, sizeof h->kind, r, 4);
			h->segment_index = (int)db_int(r, 5);
			store_copy(h->speaker_id, sizeof h->speaker_id, r, 6);
			h->speaker_name = strdup(db_text(r, 7));
			h->start = db_is_null(r, 8) ? -1 : db_double(r, 8);
			h->end = db_is_null(r, 9) ? -1 : db_double(r, 9);
			h->snippet = db_is_null(r, 12) ? strdup(db_text(r, 10))
						       : span_snippet(db_text(r, 12));
			h->rank = db_double(r, 11);
			if (!h->title || !h->speaker_name || !h->snippet) {
				rc = DB_ERR;
				break;
			}
		}
		db_res_free(r);
		if (rc < 0) {
			ret = store_rc_of(rc);
			goto out;
		}
	}
	ret = STORE_OK;
out:
	free(match);
	free(second);
	free(pairs);
	if (ret != STORE_OK) {
		search_hits_free(hits, k);
		return ret;
	}
	*out = hits;
	*n = k;
	return STORE_OK;
}
