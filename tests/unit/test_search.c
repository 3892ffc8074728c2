/*
 * Unit tests for store/search: what people type becomes safe FTS text
 * (every term quoted, operators and FTS syntax reduced to word
 * separators, limits enforced), snippets become safe HTML, and, on SQLite
 * and PostgreSQL (IAM_TEST_PG_URL), ranking, filters, tenant isolation,
 * the index following transcripts, edits and deletion, and hostile queries
 * running without a database error.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/macros.h"
#include "store/meetings.h"
#include "store/revisions.h"
#include "store/search.h"

#include "db_fixture.h"

/* Queries people might type that are FTS syntax in one dialect or the other. */
static const char *const HOSTILE[] = {
    "NEAR(budget review)",
    "budget*",
    "\"budget",
    "budget\"",
    "(budget",
    "budget)",
    "((((",
    "body:budget",
    "budget OR review",
    "budget AND",
    "AND",
    "NOT budget",
    "^budget",
    "budget^2",
    "'; DROP TABLE meetings; --",
    "budget -",
    "- -",
    "\"\"\"",
    "budget <-> review",
    "budget & review | x",
    "budget:*",
    "!budget",
    "\\",
    "{body}: budget",
    "budget + review",
    "NEAR",
    "\"NEAR\" \"OR\" \"AND\" \"NOT\"",
    "ça marche",
    "\xe4\xbc\x9a\xe8\xae\xae budget",
    "\xf0\x9f\xa6\x92",
    "a'b",
    "budget\treview\nteam",
};

/*
 * True when s is made only of quoted terms (no quote inside) joined by the
 * given operator words, parentheses and spaces: nothing the user wrote can
 * act as syntax.
 */
static bool only_quoted_terms(const char *s, bool fts5)
{
	while (*s) {
		if (*s == '"') {
			s++;
			while (*s && *s != '"') {
				unsigned char ch = (unsigned char)*s;
				if (!(ch == ' ' || ch >= 0x80 || (ch >= '0' && ch <= '9') ||
				      (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')))
					return false;
				s++;
			}
			if (*s != '"')
				return false;
			s++;
		} else if (*s == ' ' || (fts5 && (*s == '(' || *s == ')')) ||
			   (!fts5 && *s == '-')) {
			s++;
		} else if (fts5 && strncmp(s, "AND ", 4) == 0) {
			s += 4;
		} else if (fts5 && strncmp(s, "NOT ", 4) == 0) {
			s += 4;
		} else if (fts5 && strncmp(s, "OR ", 3) == 0) {
			s += 3;
		} else if (fts5 && strncmp(s, "^ ", 2) == 0) {
			s += 2;
		} else if (fts5 && *s == '{') {
			/* Only the columns the builder names. */
			static const char *const COLS[] = {
			    "{body}: ", "{next_text}: ", "{last_word}: ", "{body next_text}: "};
			size_t i = 0;
			while (i < ARRAY_LEN(COLS) && strncmp(s, COLS[i], strlen(COLS[i])) != 0)
				i++;
			if (i == ARRAY_LEN(COLS))
				return false;
			s += strlen(COLS[i]);
		} else {
			return false;
		}
	}
	return true;
}

static void expect_query(const char *q, const char *fts5, const char *web)
{
	struct search_parsed p;
	assert_int_equal(search_parse(q, &p), SEARCH_Q_OK);
	char *a = search_fts5_query(&p), *b = search_websearch_query(&p);
	assert_string_equal(a, fts5);
	assert_string_equal(b, web);
	free(a);
	free(b);
	search_parsed_free(&p);
}

static void expect_rc(const char *q, enum search_parse_rc rc)
{
	struct search_parsed p;
	assert_int_equal(search_parse(q, &p), rc);
	search_parsed_free(&p);
}

/* The FTS5 text of several included terms (see search.h): I is their AND. */
#define SEVERAL(alts, I) "((" alts ") NOT ({next_text}: (" I ") NOT {body}: (" I ")))"

/* Edit segment idx of meeting id's transcript to text, as a revision (the edit path). */
static void edit_segment(struct fx *fx, const char *id, size_t idx, const char *text)
{
	struct meeting_transcript t;
	assert_int_equal(meeting_transcript_get(fx->c, fx->org, id, &t), STORE_OK);
	json_t *body = json_loads(t.body, 0, NULL);
	json_object_set_new(json_array_get(json_object_get(body, "segments"), idx), "text",
			    json_string(text));
	char *dump = json_dumps(body, JSON_COMPACT);
	assert_int_equal(
	    revision_save(fx->c, fx->org, id, t.version, dump, "", fx->user, "edit", NULL, NULL),
	    STORE_OK);
	free(dump);
	json_decref(body);
	meeting_transcript_clear(&t);
}

static void test_parse_syntax(void **state)
{
	(void)state;
	/* One word: the segment's own text only. */
	expect_query("budget", "({body}: \"budget\")", "\"budget\"");
	/* Several words: in the segment or the next one's beginning, not all in the latter. */
	expect_query("  budget   review ",
		     SEVERAL("\"budget\" AND \"review\"", "\"budget\" AND \"review\""),
		     "\"budget\" \"review\"");
	/* A phrase may run on into the next segment at any of its word breaks. */
	expect_query("\"budget review\" team",
		     SEVERAL("(\"budget review\" OR ({last_word}: \"budget\" AND {next_text}: ^ "
			     "\"review\")) AND \"team\"",
			     "\"budget review\" AND \"team\""),
		     "\"budget review\" \"team\"");
	expect_query("\"the budget review\"",
		     "({body}: \"the budget review\""
		     " OR ({last_word}: \"the\" AND {next_text}: ^ \"budget review\")"
		     " OR ({body}: \"the budget\" AND {last_word}: \"budget\" AND {next_text}: ^ "
		     "\"review\"))",
		     "\"the budget review\"");
	expect_query("budget -travel -\"last year\"",
		     "({body}: \"budget\") NOT {body}: (\"travel\" OR \"last year\")",
		     "\"budget\" -\"travel\" -\"last year\"");
	/* Operators are words; a plain term with inner punctuation is a phrase. */
	expect_query(
	    "budget OR review",
	    SEVERAL("\"budget\" AND \"OR\" AND \"review\"", "\"budget\" AND \"OR\" AND \"review\""),
	    "\"budget\" \"OR\" \"review\"");
	expect_query("don't",
		     "({body}: \"don t\" OR ({last_word}: \"don\" AND {next_text}: ^ \"t\"))",
		     "\"don t\"");
	expect_query("NEAR(a b)",
		     SEVERAL("(\"NEAR a\" OR ({last_word}: \"NEAR\" AND {next_text}: ^ \"a\")) AND "
			     "\"b\"",
			     "\"NEAR a\" AND \"b\""),
		     "\"NEAR a\" \"b\"");
	/* An unbalanced quote runs to the end. */
	expect_query("team \"budget review",
		     SEVERAL("\"team\" AND (\"budget review\" OR ({last_word}: \"budget\" AND "
			     "{next_text}: ^ \"review\"))",
			     "\"team\" AND \"budget review\""),
		     "\"team\" \"budget review\"");
	expect_query("caf\xc3\xa9", "({body}: \"caf\xc3\xa9\")", "\"caf\xc3\xa9\"");
}

static void test_parse_refuses(void **state)
{
	(void)state;
	expect_rc(NULL, SEARCH_Q_EMPTY);
	expect_rc("", SEARCH_Q_EMPTY);
	expect_rc("   \t", SEARCH_Q_EMPTY);
	expect_rc("*** () \"\" -", SEARCH_Q_EMPTY);
	expect_rc("-budget", SEARCH_Q_ONLY_EXCLUDED);
	expect_rc("-budget -\"a b\"", SEARCH_Q_ONLY_EXCLUDED);
	char q[2048];
	memset(q, 'a', SEARCH_Q_MAX_BYTES);
	q[SEARCH_Q_MAX_BYTES] = '\0';
	expect_rc(q, SEARCH_Q_OK);
	q[SEARCH_Q_MAX_BYTES] = 'a';
	q[SEARCH_Q_MAX_BYTES + 1] = '\0';
	expect_rc(q, SEARCH_Q_TOO_LONG);
	/* 32 words fit, 33 do not, however they are grouped. */
	q[0] = '\0';
	for (int i = 0; i < 32; i++)
		snprintf(q + strlen(q), sizeof q - strlen(q), "w%d ", i);
	expect_rc(q, SEARCH_Q_OK);
	snprintf(q + strlen(q), sizeof q - strlen(q), "extra");
	expect_rc(q, SEARCH_Q_TOO_MANY);
	snprintf(q, sizeof q, "\"");
	for (int i = 0; i < 33; i++)
		snprintf(q + strlen(q), sizeof q - strlen(q), "w%d ", i);
	expect_rc(q, SEARCH_Q_TOO_MANY);
}

static void test_hostile_queries_are_quoted(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(HOSTILE); i++) {
		struct search_parsed p;
		enum search_parse_rc rc = search_parse(HOSTILE[i], &p);
		if (rc == SEARCH_Q_OK) {
			char *a = search_fts5_query(&p), *b = search_websearch_query(&p);
			assert_non_null(a);
			assert_non_null(b);
			if (!only_quoted_terms(a, true) || !only_quoted_terms(b, false))
				fail_msg("%s -> %s / %s", HOSTILE[i], a, b);
			free(a);
			free(b);
		} else {
			assert_true(rc == SEARCH_Q_EMPTY || rc == SEARCH_Q_ONLY_EXCLUDED);
		}
		search_parsed_free(&p);
	}
}

static void expect_html(const char *raw, const char *html)
{
	char *s = search_snippet_html(raw);
	assert_string_equal(s, html);
	free(s);
}

static void test_snippet_html(void **state)
{
	(void)state;
	expect_html("the \x01"
		    "budget\x02 review",
		    "the <mark>budget</mark> review");
	expect_html("<img src=x onerror=\"a('1')\"> & \x01<b>\x02",
		    "&lt;img src=x onerror=&quot;a(&#39;1&#39;)&quot;&gt; &amp; "
		    "<mark>&lt;b&gt;</mark>");
	/* Markers are balanced whatever the text held. */
	expect_html("\x02"
		    "a\x01\x01"
		    "b",
		    "a<mark>b</mark>");
	expect_html("", "");
	expect_html(NULL, "");
}

/* ---- with a database ---- */

/* A meeting of org with a transcript of the given segments (speaker S1 Ann, S2 unnamed). */
static void make_meeting(struct fx *fx, const char *org, const char *user, const char *title,
			 const char *const *segments, size_t n, char id[UUID_STR_LEN])
{
	struct meeting m;
	meeting_init(&m);
	snprintf(m.org_id, sizeof m.org_id, "%s", org);
	snprintf(m.created_by, sizeof m.created_by, "%s", user);
	snprintf(m.title, sizeof m.title, "%s", title);
	assert_int_equal(meeting_create(fx->c, &m), STORE_OK);
	snprintf(id, UUID_STR_LEN, "%s", m.id);
	meeting_clear(&m);
	json_t *segs = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(segs,
				      json_pack("{s:f,s:f,s:s,s:f,s:s}", "start", 10.0 * i, "end",
						10.0 * i + 5, "text", segments[i], "confidence",
						0.9, "speaker", i % 2 ? "S2" : "S1"));
	json_t *body = json_pack("{s:s,s:f,s:[{s:s,s:s},{s:s,s:n}],s:o}", "language", "en",
				 "duration", 10.0 * n, "speakers", "id", "S1", "name", "Ann", "id",
				 "S2", "name", "segments", segs);
	char *text = json_dumps(body, JSON_COMPACT);
	assert_int_equal(
	    meeting_complete(fx->c, org, id, "en", "", text, "test", "test", 0.9, 10.0 * n, "[]"),
	    STORE_OK);
	free(text);
	json_decref(body);
}

static size_t run(struct fx *fx, const char *org, const char *q, const char *speaker,
		  struct search_hit **hits)
{
	struct search_parsed p;
	assert_int_equal(search_parse(q, &p), SEARCH_Q_OK);
	struct search_filter f = {.org_id = org, .speaker = speaker};
	size_t n = 0;
	assert_int_equal(search_run(fx->c, &p, &f, 0, 50, hits, &n), STORE_OK);
	search_parsed_free(&p);
	return n;
}

static void test_ranking_and_hits(void **state)
{
	FX(state);
	static const char *const segs[] = {
	    "we talked about the weather and lunch",
	    "the budget, the budget and again the budget review",
	    "one mention of budget among many other words about travel plans and hotels",
	};
	char id[UUID_STR_LEN];
	make_meeting(fx, fx->org, fx->user, "Quarterly", segs, 3, id);
	struct search_hit *h = NULL;
	size_t n = run(fx, fx->org, "budgets", NULL, &h); /* stemmed */
	assert_int_equal(n, 2);
	/* More occurrences in a shorter text rank first. */
	assert_int_equal(h[0].segment_index, 1);
	assert_int_equal(h[1].segment_index, 2);
	assert_true(h[0].rank <= h[1].rank);
	assert_string_equal(h[0].meeting_id, id);
	assert_string_equal(h[0].title, "Quarterly");
	assert_string_equal(h[0].kind, "segment");
	assert_string_equal(h[0].speaker_id, "S2");
	assert_string_equal(h[0].speaker_name, "Speaker 2");
	assert_true(h[0].start == 10.0 && h[0].end == 15.0);
	assert_non_null(strstr(h[0].snippet, "\x01"));
	assert_string_equal(h[1].speaker_name, "Ann");
	search_hits_free(h, n);
	/* Speaker filter by id and by name (any case). */
	n = run(fx, fx->org, "budget", "ann", &h);
	assert_int_equal(n, 1);
	assert_int_equal(h[0].segment_index, 2);
	search_hits_free(h, n);
	n = run(fx, fx->org, "budget", "S2", &h);
	assert_int_equal(n, 1);
	assert_int_equal(h[0].segment_index, 1);
	search_hits_free(h, n);
	/* Title rows. */
	n = run(fx, fx->org, "quarterly", NULL, &h);
	assert_int_equal(n, 1);
	assert_string_equal(h[0].kind, "title");
	assert_int_equal(h[0].segment_index, -1);
	assert_true(h[0].start < 0);
	search_hits_free(h, n);
}

static void test_tenants_edits_delete(void **state)
{
	FX(state);
	static const char *const segs[] = {"the giraffe budget", "the giraffe enclosure"};
	char a[UUID_STR_LEN], b[UUID_STR_LEN];
	make_meeting(fx, fx->org, fx->user, "Zoo", segs, 2, a);
	make_meeting(fx, fx->org2, fx->user2, "Zoo", segs, 2, b);
	struct search_hit *h = NULL;
	size_t n = run(fx, fx->org, "giraffe", NULL, &h);
	assert_int_equal(n, 2);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(h[i].meeting_id, a);
	search_hits_free(h, n);
	n = run(fx, fx->org2, "giraffe", NULL, &h);
	assert_int_equal(n, 2);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(h[i].meeting_id, b);
	search_hits_free(h, n);
	/* An edit replaces the searched text in the same transaction. */
	edit_segment(fx, a, 0, "the okapi budget");
	n = run(fx, fx->org, "giraffe", NULL, &h);
	assert_int_equal(n, 1);
	assert_int_equal(h[0].segment_index, 1);
	search_hits_free(h, n);
	n = run(fx, fx->org, "okapi", NULL, &h);
	assert_int_equal(n, 1);
	search_hits_free(h, n);
	/* Deleting the meeting removes its rows and (SQLite) its full-text entries. */
	char key[96];
	assert_int_equal(meeting_delete(fx->c, fx->org, a, key), STORE_OK);
	n = run(fx, fx->org, "okapi", NULL, &h);
	assert_int_equal(n, 0);
	search_hits_free(h, n);
	int rc;
	struct db_res *r = db_query(fx->c, "SELECT count(*) FROM search_docs WHERE meeting_id = $1",
				    DB_PARAMS(DB_TEXT(a)), &rc);
	assert_non_null(r);
	assert_int_equal(db_next(r), 1);
	assert_int_equal(db_int(r, 0), 0);
	db_res_free(r);
	if (fx->kind == DB_SQLITE) {
		r = db_query(fx->c,
			     "SELECT count(*) FROM search_fts WHERE search_fts MATCH 'okapi'", NULL,
			     0, &rc);
		assert_non_null(r);
		assert_int_equal(db_next(r), 1);
		assert_int_equal(db_int(r, 0), 0);
		db_res_free(r);
	}
	/* The other tenant's meeting is untouched. */
	n = run(fx, fx->org2, "giraffe", NULL, &h);
	assert_int_equal(n, 2);
	search_hits_free(h, n);
}

/*
 * More matches than SEARCH_RANK_WINDOW: another tenant's many rows never
 * crowd out a small tenant's few, every page up to the deepest cursor is
 * full, and the best row among the ranked ones comes first. SQLite ranks
 * the newest matches (the highest ids), PostgreSQL the first in table
 * order (see SEARCH_PG_FMT).
 */
static void test_rank_window(void **state)
{
	FX(state);
	static const char *const small[] = {"the budget of the small tenant"};
	static const char *const big[] = {"nothing to see"};
	char a[UUID_STR_LEN], b[UUID_STR_LEN];
	make_meeting(fx, fx->org2, fx->user2, "Small", small, 1, b);
	make_meeting(fx, fx->org, fx->user, "Big", big, 1, a);
	int rows = SEARCH_RANK_WINDOW + 300;
	/*
	 * The best row twice: once older than all the others (segment 99999),
	 * once newer (segment 0). SQLite ranks the newest matches: the new one
	 * comes first and the old one not at all. PostgreSQL ranks the first
	 * matches in table order: the old one comes first.
	 */
	static const char BEST[] =
	    "INSERT INTO search_docs (id, org_id, meeting_id, kind, segment_index, body)"
	    " VALUES ($3, $1, $2, 'segment', $4, 'budget budget budget')";
	/* Ids above any earlier run's (PostgreSQL keeps them) and far above the sequence. */
	int rc;
	struct db_res *r =
	    db_query(fx->c, "SELECT COALESCE(max(id), 0) FROM search_docs", NULL, 0, &rc);
	assert_non_null(r);
	assert_int_equal(db_next(r), 1);
	int64_t base = db_int(r, 0) + 1000000;
	db_res_free(r);
	assert_int_equal(
	    db_exec(fx->c, BEST,
		    DB_PARAMS(DB_TEXT(fx->org), DB_TEXT(a), DB_INT(base), DB_INT(99999)), NULL),
	    DB_OK);
	assert_int_equal(
	    db_exec(fx->c,
		    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $3)"
		    " INSERT INTO search_docs (id, org_id, meeting_id, kind, segment_index, body)"
		    " SELECT $4 + 8 * i, $1, $2, 'segment', i,"
		    " 'a budget line and many other words number ' || CAST(i AS TEXT) FROM n",
		    DB_PARAMS(DB_TEXT(fx->org), DB_TEXT(a), DB_INT(rows), DB_INT(base + 1000)),
		    NULL),
	    DB_OK);
	assert_int_equal(db_exec(fx->c, BEST,
				 DB_PARAMS(DB_TEXT(fx->org), DB_TEXT(a),
					   DB_INT(base + 1000 + 8 * (rows + 1)), DB_INT(0)),
				 NULL),
			 DB_OK);
	struct search_hit *h = NULL;
	size_t n = run(fx, fx->org2, "budget", NULL, &h);
	assert_int_equal(n, 1);
	assert_string_equal(h[0].meeting_id, b);
	search_hits_free(h, n);
	n = run(fx, fx->org, "budget", NULL, &h);
	assert_int_equal(n, 50);
	assert_int_equal(h[0].segment_index, fx->kind == DB_SQLITE ? 0 : 99999);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(h[i].meeting_id, a);
		assert_int_not_equal(h[i].segment_index, fx->kind == DB_SQLITE ? 99999 : 0);
	}
	search_hits_free(h, n);
	/* The deepest page a cursor reaches is full (the window holds it). */
	struct search_parsed p;
	assert_int_equal(search_parse("budget", &p), SEARCH_Q_OK);
	struct search_filter f = {.org_id = fx->org};
	assert_int_equal(search_run(fx->c, &p, &f, SEARCH_MAX_OFFSET, 101, &h, &n), STORE_OK);
	assert_int_equal(n, 101);
	search_hits_free(h, n);
	/*
	 * A smaller window: exactly that many rows, ranked; on SQLite the
	 * newest. The rows of "number" are ranked alike (same length, one
	 * occurrence), so ties come in id order: segments rows - 9 .. rows.
	 */
	f.rank_window = 10;
	search_parsed_free(&p);
	assert_int_equal(search_parse("number", &p), SEARCH_Q_OK);
	assert_int_equal(search_run(fx->c, &p, &f, 0, 50, &h, &n), STORE_OK);
	assert_int_equal(n, 10);
	for (size_t i = 0; i < n; i++)
		if (fx->kind == DB_SQLITE)
			assert_int_equal(h[i].segment_index, rows - 9 + (int)i);
		else if (i)
			assert_true(h[i].segment_index != h[i - 1].segment_index);
	search_hits_free(h, n);
	assert_int_equal(search_run(fx->c, &p, &f, 10, 50, &h, &n), STORE_OK);
	assert_int_equal(n, 0);
	search_hits_free(h, n);
	search_parsed_free(&p);
	/* A phrase and a word of it, among as many rows. */
	n = run(fx, fx->org, "\"budget line\" number", NULL, &h);
	assert_int_equal(n, 50);
	search_hits_free(h, n);
}

/* The segments of the across-segments test, and what each query finds. */
static const char *const SPAN_SEGS[] = {
    "we looked at the giraffe budget",
    "review of the enclosure comes next week, with a very long list of things and then a zebra",
    "approved by the board",
    "the last segment says giraffe",
};

/* The segment indexes q finds in meeting id (in index order), as "0,1". */
static void expect_segments(struct fx *fx, const char *q, const char *want)
{
	struct search_hit *h = NULL;
	size_t n = run(fx, fx->org, q, NULL, &h);
	char got[64] = "";
	int idx[50];
	for (size_t i = 0; i < n; i++)
		idx[i] = h[i].kind[0] == 's' ? h[i].segment_index : -1;
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			if (idx[j] < idx[i]) {
				int t = idx[i];
				idx[i] = idx[j];
				idx[j] = t;
			}
	for (size_t i = 0; i < n; i++)
		snprintf(got + strlen(got), sizeof got - strlen(got), "%s%d", i ? "," : "", idx[i]);
	search_hits_free(h, n);
	if (strcmp(got, want) != 0)
		fail_msg("%s: found segments [%s], expected [%s]", q, got, want);
}

/*
 * Words and phrases said across two adjacent segments find the first one,
 * with a snippet showing both; what the next segment's beginning holds on
 * its own stays that segment's hit only; an edit re-indexes the boundary.
 */
static void test_across_segments(void **state)
{
	FX(state);
	char id[UUID_STR_LEN];
	make_meeting(fx, fx->org, fx->user, "Zoo", SPAN_SEGS, ARRAY_LEN(SPAN_SEGS), id);
	/* A phrase across the break, and two words either side of it. */
	expect_segments(fx, "\"giraffe budget review\"", "0");
	expect_segments(fx, "\"budget review\"", "0");
	expect_segments(fx, "giraffe enclosure", "0");
	expect_segments(fx, "\"week with a very long list\" approved", "1");
	expect_segments(fx, "zebra approved", "1");
	/* Not: the wrong order, words between, past the next segment's beginning. */
	expect_segments(fx, "\"review budget\"", "");
	expect_segments(fx, "\"budget enclosure\"", "");
	expect_segments(fx, "\"giraffe review\"", "");
	expect_segments(fx, "giraffe zebra", "");
	/* Not across the title, nor from the last segment anywhere. */
	expect_segments(fx, "zoo looked", "");
	expect_segments(fx, "\"zoo looked\"", "");
	/* What the next segment's beginning holds alone is only its own hit. */
	expect_segments(fx, "review", "1");
	expect_segments(fx, "review enclosure", "1");
	expect_segments(fx, "\"review of the enclosure\"", "1");
	/* ... unless this segment holds it too. */
	expect_segments(fx, "giraffe", "0,3");
	/* -exclusions apply to the segment's own text. */
	expect_segments(fx, "giraffe -enclosure", "0,3");
	expect_segments(fx, "giraffe -budget", "3");
	expect_segments(fx, "giraffe enclosure -budget", "");
	expect_segments(fx, "giraffe enclosure -review", "0");

	/* The snippet shows the end of the segment and the next one's beginning. */
	struct search_hit *h = NULL;
	size_t n = run(fx, fx->org, "\"budget review\"", NULL, &h);
	assert_int_equal(n, 1);
	char *html = search_snippet_html(h[0].snippet);
	if (!strstr(html, "giraffe <mark>budget</mark>") || !strstr(html, "<mark>review</mark> of"))
		fail_msg("snippet: %s", html);
	free(html);
	search_hits_free(h, n);
	n = run(fx, fx->org, "giraffe enclosure", NULL, &h);
	assert_int_equal(n, 1);
	html = search_snippet_html(h[0].snippet);
	if (!strstr(html, "<mark>giraffe</mark>") || !strstr(html, "<mark>enclosure</mark>"))
		fail_msg("snippet: %s", html);
	free(html);
	search_hits_free(h, n);

	/* An edit of the next segment moves the boundary's words with it. */
	edit_segment(fx, id, 1, "approval of the okapi enclosure");
	expect_segments(fx, "\"budget review\"", "");
	expect_segments(fx, "\"budget approval\"", "0");
	expect_segments(fx, "giraffe okapi", "0");
	expect_segments(fx, "okapi approved", "1");
}

static void test_hostile_queries_run(void **state)
{
	FX(state);
	static const char *const segs[] = {"budget review with the team", "NEAR the OR gate"};
	char id[UUID_STR_LEN];
	make_meeting(fx, fx->org, fx->user, "Budget", segs, 2, id);
	for (size_t i = 0; i < ARRAY_LEN(HOSTILE); i++) {
		struct search_parsed p;
		if (search_parse(HOSTILE[i], &p) == SEARCH_Q_OK) {
			struct search_filter f = {.org_id = fx->org};
			struct search_hit *h = NULL;
			size_t n = 0;
			int rc = search_run(fx->c, &p, &f, 0, 20, &h, &n);
			if (rc != STORE_OK)
				fail_msg("%s: %s", HOSTILE[i], db_conn_error(fx->c));
			search_hits_free(h, n);
		}
		search_parsed_free(&p);
	}
	/* Operator words are searched as words. */
	struct search_hit *h = NULL;
	size_t n = run(fx, fx->org, "NEAR OR", NULL, &h);
	assert_int_equal(n, 1); /* ("or" is a stop word on PostgreSQL, "near" is not) */
	search_hits_free(h, n);
	n = run(fx, fx->org, "gate OR", NULL, &h);
	assert_int_equal(n, 1);
	search_hits_free(h, n);
}

int main(void)
{
	if (!getenv("IAM_TEST_LOG"))
		log_set_level(LOG_ERROR + 1);
	// clang-format off
	const struct CMUnitTest pure_tests[] = {
		cmocka_unit_test(test_parse_syntax),
		cmocka_unit_test(test_parse_refuses),
		cmocka_unit_test(test_hostile_queries_are_quoted),
		cmocka_unit_test(test_snippet_html),
	};
	const struct CMUnitTest sqlite_tests[] = {
		ST(test_ranking_and_hits, KIND_SQLITE),
		ST(test_tenants_edits_delete, KIND_SQLITE),
		ST(test_hostile_queries_run, KIND_SQLITE),
		ST(test_rank_window, KIND_SQLITE),
		ST(test_across_segments, KIND_SQLITE),
	};
	const struct CMUnitTest pg_tests[] = {
		ST(test_ranking_and_hits, KIND_PG),
		ST(test_tenants_edits_delete, KIND_PG),
		ST(test_hostile_queries_run, KIND_PG),
		ST(test_rank_window, KIND_PG),
		ST(test_across_segments, KIND_PG),
	};
	// clang-format on
	int failed = cmocka_run_group_tests_name("search", pure_tests, NULL, NULL);
	failed += cmocka_run_group_tests_name("search_sqlite", sqlite_tests, NULL, NULL);
	failed += cmocka_run_group_tests_name("search_postgres", pg_tests, NULL, NULL);
	return failed ? 1 : 0;
}
