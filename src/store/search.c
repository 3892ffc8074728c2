#include "store/search.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Terms of p as text: each term quoted; included ones joined by and_sep, excluded after. */
static char *build_query(const struct search_parsed *p, bool fts5)
{
	struct buf b = {0};
	int included = 0, err = 0;
	if (fts5)
		err |= buf_puts(&b, "(");
	for (int i = 0; i < p->nterms; i++) {
		if (p->terms[i].exclude)
			continue;
		if (included++)
			err |= buf_puts(&b, fts5 ? " AND " : " ");
		err |= buf_printf(&b, "\"%s\"", p->terms[i].words);
	}
	if (fts5)
		err |= buf_puts(&b, ")");
	for (int i = 0; i < p->nterms; i++)
		if (p->terms[i].exclude)
			err |= buf_printf(&b, fts5 ? " NOT \"%s\"" : " -\"%s\"", p->terms[i].words);
	if (!included || err) {
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b);
}

char *search_fts5_query(const struct search_parsed *p)
{
	return build_query(p, true);
}

char *search_websearch_query(const struct search_parsed *p)
{
	return build_query(p, false);
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
 * read by the database itself: the same statement as the migration's
 * backfill. The speaker's name is the one people see: the given name,
 * else "Speaker <n>".
 */
static const char SEGMENTS_SQLITE[] =
    "INSERT INTO search_docs (org_id, meeting_id, kind, segment_index, speaker_id, speaker_name,"
    " start_s, end_s, body)"
    " SELECT t.org_id, t.meeting_id, 'segment', s.key,"
    " COALESCE(json_extract(s.value, '$.speaker'), ''),"
    " COALESCE((SELECT COALESCE(json_extract(sp.value, '$.name'),"
    " 'Speaker ' || substr(json_extract(sp.value, '$.id'), 2))"
    " FROM json_each(t.body, '$.speakers') sp"
    " WHERE json_extract(sp.value, '$.id') = json_extract(s.value, '$.speaker')), ''),"
    " json_extract(s.value, '$.start'), json_extract(s.value, '$.end'),"
    " COALESCE(json_extract(s.value, '$.text'), '')"
    " FROM transcripts t, json_each(t.body, '$.segments') s"
    " WHERE t.meeting_id = $1 AND t.org_id = $2 AND json_valid(t.body)";

static const char SEGMENTS_PG[] =
    "INSERT INTO search_docs (org_id, meeting_id, kind, segment_index, speaker_id, speaker_name,"
    " start_s, end_s, body)"
    " SELECT t.org_id, t.meeting_id, 'segment', (s.ord - 1)::int,"
    " COALESCE(s.seg->>'speaker', ''),"
    " COALESCE((SELECT COALESCE(sp->>'name', 'Speaker ' || substr(sp->>'id', 2))"
    " FROM jsonb_array_elements(COALESCE(t.body::jsonb->'speakers', '[]'::jsonb)) sp"
    " WHERE sp->>'id' = s.seg->>'speaker' LIMIT 1), ''),"
    " (s.seg->>'start')::float8, (s.seg->>'end')::float8, COALESCE(s.seg->>'text', '')"
    " FROM transcripts t"
    " CROSS JOIN LATERAL jsonb_array_elements(COALESCE(t.body::jsonb->'segments', '[]'::jsonb))"
    " WITH ORDINALITY AS s(seg, ord)"
    " WHERE t.meeting_id = $1 AND t.org_id = $2";

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
 * 0.8 s instead of 20 ms). Placeholders are numbered in order of use.
 */
#define HIT_COLS                                                                                   \
	"d.meeting_id, m.title, m.created_at, COALESCE(m.meeting_date, 0), d.kind,"                \
	" d.segment_index, d.speaker_id, d.speaker_name, d.start_s, d.end_s"

/*
 * Ranking is the cost of a search: bm25 / ts_rank read every ranked row's
 * positions (and, on PostgreSQL, the row itself from the heap), and the
 * corpus's most frequent words match a large part of all rows. So at most
 * SEARCH_RANK_WINDOW rows are ranked (see search.h): on SQLite the caller's
 * newest matches (FTS5 walks its doclists by rowid, newest first, without
 * ranking), on PostgreSQL the first ones the GIN bitmap yields. Snippets
 * and headlines are made for the page's rows only.
 *
 * SQLite: twice (the window's bound, then the ranked rows) %s the meetings
 * join (MEETINGS_JOIN; the bound needs it only for meeting conditions: a
 * deleted meeting's rows are gone with it), %s shared meetings (" OR
 * d.meeting_id IN (...)", or ""), %s doc conditions, %s meeting conditions;
 * then the window's offset, the limit and offset placeholders. CROSS JOIN keeps
 * the page as the outer loop: with the limit a bound parameter SQLite
 * otherwise walked every match to join the page (0.13 s instead of 20 ms).
 */
#define SQLITE_MATCHES                                                                             \
	" FROM search_fts JOIN search_docs d ON d.id = search_fts.rowid%s"                         \
	" WHERE search_fts MATCH $1 AND (d.org_id = $2%s)%s%s" MAY_READ
#define MEETINGS_JOIN " JOIN meetings m ON m.id = d.meeting_id AND m.org_id = d.org_id"
#define SEARCH_SQLITE_FMT                                                                          \
	"WITH page AS MATERIALIZED (SELECT d.id, bm25(search_fts) AS rank" SQLITE_MATCHES          \
	" AND search_fts.rowid >= COALESCE((SELECT d.id" SQLITE_MATCHES                            \
	" ORDER BY search_fts.rowid DESC LIMIT 1 OFFSET %d), 0)"                                   \
	" ORDER BY rank, d.id LIMIT $%d OFFSET $%d)"                                               \
	" SELECT " HIT_COLS ", snippet(search_fts, 0, char(1), char(2), '…', 24), page.rank"     \
	" FROM page CROSS JOIN search_fts ON search_fts.rowid = page.id"                           \
	" JOIN search_docs d ON d.id = page.id JOIN meetings m ON m.id = d.meeting_id"             \
	" WHERE search_fts MATCH $1 ORDER BY page.rank, page.id"

/*
 * PostgreSQL: the matches come from the GIN index first (a materialized CTE,
 * whatever the planner thinks of the other conditions; no ORDER BY, so the
 * bitmap heap scan stops after the window's rows), are ranked, the page is
 * cut, and only the page's rows get a headline (ts_headline parses the text
 * again). %s shared, %s doc conditions, %s meeting conditions, the window,
 * the limit and offset placeholders.
 */
#define SEARCH_PG_FMT                                                                              \
	"WITH hits AS MATERIALIZED (SELECT d.id, ts_rank(d.tsv, q) AS rank"                        \
	" FROM search_docs d JOIN meetings m ON m.id = d.meeting_id AND m.org_id = d.org_id,"      \
	" websearch_to_tsquery('english', $1) q"                                                   \
	" WHERE d.tsv @@ q AND (d.org_id = $2%s)%s%s" MAY_READ " LIMIT %d),"                       \
	" page AS (SELECT h.id, h.rank FROM hits h"                                                \
	" ORDER BY h.rank DESC, h.id LIMIT $%d OFFSET $%d)"                                        \
	" SELECT " HIT_COLS ", ts_headline('english', d.body, q, 'StartSel=' || chr(1) ||"         \
	" ', StopSel=' || chr(2) || ', MaxWords=24, MinWords=12'), -page.rank"                     \
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

enum store_rc search_run(struct db_conn *c, const struct search_parsed *p,
			 const struct search_filter *f, int offset, int limit,
			 struct search_hit **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	bool pg = db_conn_dialect(c) == DB_PG;
	char *match = pg ? search_websearch_query(p) : search_fts5_query(p);
	if (!match)
		return STORE_ERROR;
	if (limit < 1)
		limit = 1;
	struct db_param params[12];
	size_t np = 0;
	params[np++] = DB_TEXT(match);
	params[np++] = DB_TEXT(f->org_id);
	char shared[512] = "", doc[640] = "", mtg[256] = "";
	char *pairs = NULL;
	if (pg) {
		enum store_rc brc = bigram_query(c, p, &pairs);
		if (brc) {
			free(match);
			return brc;
		}
	}
	/*
	 * The pairs of the phrases' adjacent words must all be in the row: the
	 * pair index finds the few rows where they are, instead of the phrase
	 * being checked on every row that holds its words.
	 */
	if (pairs)
		ADD_COND(doc, DB_TEXT(pairs), " AND d.bigrams @@ $%zu::tsquery", np);
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
	params[np++] = DB_INT(limit);
	params[np++] = DB_INT(offset);
	char sql[8192];
	int len;
	if (pg)
		len = snprintf(sql, sizeof sql, SEARCH_PG_FMT, shared, doc, mtg, SEARCH_RANK_WINDOW,
			       (int)np - 1, (int)np);
	else
		len = snprintf(sql, sizeof sql, SEARCH_SQLITE_FMT, MEETINGS_JOIN, shared, doc, mtg,
			       *mtg ? MEETINGS_JOIN : "", shared, doc, mtg, SEARCH_RANK_WINDOW - 1,
			       (int)np - 1, (int)np);
	struct search_hit *hits =
	    len > 0 && (size_t)len < sizeof sql ? calloc((size_t)limit, sizeof *hits) : NULL;
	if (!hits) {
		free(match);
		free(pairs);
		return STORE_ERROR;
	}
	int rc;
	struct db_res *r = db_query(c, sql, params, np, &rc);
	free(match);
	free(pairs);
	if (!r) {
		free(hits);
		return store_rc_of(rc);
	}
	size_t k = 0;
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
		h->snippet = strdup(db_text(r, 10));
		h->rank = db_double(r, 11);
		if (!h->title || !h->speaker_name || !h->snippet) {
			rc = DB_ERR;
			break;
		}
	}
	db_res_free(r);
	if (rc < 0) {
		search_hits_free(hits, k);
		return store_rc_of(rc);
	}
	*out = hits;
	*n = k;
	return STORE_OK;
}
