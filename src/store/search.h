/*
 * search.h — search across meetings: one interface over SQLite FTS5 (bm25,
 * Porter stemming) and PostgreSQL full-text search (tsvector + GIN,
 * websearch_to_tsquery, ts_rank, ts_headline). See sql/0009_search.*.sql.
 *
 * The index unit is a row of search_docs: a meeting's title, its
 * description, or one transcript segment (with its index, speaker and
 * times). The index functions below rewrite a meeting's rows from what is
 * stored; callers run them inside the transaction of the change they
 * mirror, so the index never disagrees with a committed meeting. A deleted
 * meeting's rows go with it (ON DELETE CASCADE), and every search joins the
 * live meetings table as well.
 *
 * Queries people type never reach MATCH or websearch_to_tsquery as they
 * are: search_parse() reduces them to words, "phrases" and -exclusions, and
 * the dialect's query text is rebuilt from those with every term quoted, so
 * FTS syntax (NEAR, *, ^, parentheses, column filters, OR) has no effect.
 * Every function that touches rows takes the caller's org_id.
 */
#ifndef IAM_SEARCH_H
#define IAM_SEARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/uuid.h"
#include "store/store.h"

/* Limits of a query (documented in README): bytes of q, and words in it. */
#define SEARCH_Q_MAX_BYTES 1024
#define SEARCH_MAX_TERMS   32
/* Deepest result a cursor may reach (offset paging over a ranked list). */
#define SEARCH_MAX_OFFSET 1000
/*
 * Most rows ranked for one query (the default of search_filter.rank_window,
 * IAM_SEARCH_RANK_WINDOW). A query whose words are among the most frequent
 * matches a large share of every row, and ranking them all took 0.3-1 s on
 * 5 million words (bench/search.sh; the cost of what remains is about
 * proportional to this number). Beyond this many matches only this many
 * are ranked: on SQLite the newest, the matching rows indexed last (the
 * highest search_docs ids), that is the meetings transcribed, edited or
 * renamed most recently; on PostgreSQL the first the GIN index yields, in
 * table order (mostly the oldest: ranking its newest took a p95 of up to
 * 209 ms on bench/search.sh). At least SEARCH_MAX_OFFSET plus a page, so
 * paging never runs past the ranked rows.
 */
#define SEARCH_RANK_WINDOW 1200
_Static_assert(SEARCH_RANK_WINDOW > SEARCH_MAX_OFFSET + 100, "paging must stay in the ranked rows");

/*
 * Across segment boundaries: each segment row also indexes the beginning of
 * the next segment of its meeting (next_text: its text up to the first space
 * after SEARCH_NEXT_CHARS characters, about 8 words). A segment is a hit
 * when the query matches its text followed by that beginning: words may be
 * said in either, a phrase may run on from the segment's last words into
 * the next segment's first ones (at most SEARCH_SPAN_PHRASE_WORDS of them).
 * What the next segment's beginning holds on its own is that segment's hit,
 * not this one's (unless this segment holds it too). -exclusions apply to
 * the segment's own text. The hit is the first segment; its snippet shows
 * the end of it and the beginning of the next. On SQLite such hits rank
 * after those whose own text holds the query (bm25 over the split phrases
 * cost three times as much); PostgreSQL ranks the text and the beginning
 * together. See sql/0019_search_across_segments.*.sql.
 */
#define SEARCH_NEXT_CHARS	 48
#define SEARCH_SPAN_PHRASE_WORDS 12

enum search_parse_rc {
	SEARCH_Q_OK = 0,
	SEARCH_Q_EMPTY,		/* no word at all (blank, or punctuation only) */
	SEARCH_Q_TOO_LONG,	/* more than SEARCH_Q_MAX_BYTES */
	SEARCH_Q_TOO_MANY,	/* more than SEARCH_MAX_TERMS words */
	SEARCH_Q_ONLY_EXCLUDED, /* every term is an -exclusion */
};

/* One term: a word or a phrase (words joined by single spaces), maybe excluded. */
struct search_term {
	bool exclude;
	char *words; /* malloc'd; only word characters and single spaces */
	int nwords;
};

struct search_parsed {
	struct search_term terms[SEARCH_MAX_TERMS];
	int nterms;
	int nwords; /* over all terms */
};

/*
 * Parse what a person typed: "an exact phrase", -word or -"a phrase" to
 * exclude, other words all required. A word is a run of ASCII letters and
 * digits and non-ASCII characters; everything else separates words (a
 * plain term that splits into several words, such as don't, becomes a
 * phrase). Fills *out (free with search_parsed_free, also after a failure).
 */
enum search_parse_rc search_parse(const char *q, struct search_parsed *out);
void search_parsed_free(struct search_parsed *p);

/*
 * The query as SQLite FTS5 MATCH text over search_fts's columns body,
 * next_text and last_word (the rule above; every term quoted, e.g.
 * ({body}: "a") NOT {body}: ("d")) and as PostgreSQL
 * websearch_to_tsquery text ("a" "b c" -"d"). Caller frees; NULL when out
 * of memory or when p has no included term.
 */
char *search_fts5_query(const struct search_parsed *p);
char *search_websearch_query(const struct search_parsed *p);

/*
 * A snippet as the database marked it (\x01 before and \x02 after a match)
 * as HTML: everything escaped, the matches in <mark>...</mark> (always
 * balanced). Caller frees; NULL when out of memory.
 */
char *search_snippet_html(const char *raw);

struct search_filter {
	/*
	 * The tenant: every hit is a meeting of this organization, or one
	 * shared with grantee through a collection (see MAY_READ in search.c).
	 */
	const char *org_id;
	/* A user whose collection grants add meetings; NULL or "" = none (API keys). */
	const char *grantee;
	const char *meeting_id; /* NULL or "" = every meeting */
	/*
	 * NULL or "" = any; else only meetings in this collection. The caller
	 * checks the collection may be read (authz_collection_role) first.
	 */
	const char *collection_id;
	int64_t from_ms;     /* meeting date (else created) >= from_ms; 0 = open */
	int64_t to_ms;	     /* meeting date (else created) < to_ms; 0 = open */
	const char *speaker; /* "S<n>" or a speaker's name (any case); NULL or "" = any */
	/* Most rows ranked (see SEARCH_RANK_WINDOW); 0 = SEARCH_RANK_WINDOW. */
	int rank_window;
};

struct search_hit {
	char meeting_id[UUID_STR_LEN];
	char *title; /* malloc'd */
	int64_t created_at;
	int64_t meeting_date; /* 0 = none */
	char kind[16];	      /* "segment", "title", "description" */
	int segment_index;    /* -1 unless a segment */
	char speaker_id[8];   /* "" = not known */
	char *speaker_name;   /* malloc'd; "" = not known */
	double start, end;    /* seconds; -1 unless a segment */
	char *snippet;	      /* malloc'd, marked with \x01 / \x02 (see search_snippet_html) */
	double rank;	      /* lower is better (bm25; minus ts_rank on PostgreSQL) */
};
void search_hits_free(struct search_hit *hits, size_t n);

/*
 * Hits for p under filter f, best first, skipping offset and returning at
 * most limit, among the rank window's matches. *out malloc'd (free
 * with search_hits_free), *n of them.
 */
enum store_rc search_run(struct db_conn *c, const struct search_parsed *p,
			 const struct search_filter *f, int offset, int limit,
			 struct search_hit **out, size_t *n);

/*
 * Rewrite a meeting's title and description rows / its segment rows from
 * what is stored now (no transcript: no segment rows). Run inside the
 * transaction of the change. Returns a db_rc (DB_OK) so store_tx bodies
 * can return it as it is.
 */
int search_index_details(struct db_conn *c, const char *org_id, const char *meeting_id);
int search_index_transcript(struct db_conn *c, const char *org_id, const char *meeting_id);

#endif
