/*
 * search.c — GET /api/v1/search: find words across the caller's meetings
 * (titles, descriptions, transcript text as last edited), best first, with
 * a highlighted snippet, the meeting, the speaker and the time of each hit.
 *
 * ?q=      words (all required), "an exact phrase", -excluded, -"excluded
 *          phrase"; at most SEARCH_Q_MAX_BYTES bytes and SEARCH_MAX_TERMS
 *          words. Everything else in it is only a word separator.
 * ?meeting_id=, ?collection_id= (only meetings in that collection; one the
 * caller cannot see is 404 collection_not_found), ?from=, ?to= (RFC 3339 or
 * YYYY-MM-DD; to is inclusive for a date), ?speaker= ("S<n>" or the name
 * shown), ?limit=, ?cursor=.
 *
 * When more than IAM_SEARCH_RANK_WINDOW rows match, only that many are
 * ranked (store/search.h), and cursors stay within them. Words and
 * phrases may run on into the next segment's beginning (store/search.h).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "auth/authz.h"
#include "core/crypto.h"
#include "core/timeutil.h"
#include "core/utf8.h"
#include "store/search.h"

#define SPEAKER_MAX_BYTES 321 /* TRANSCRIPT_NAME_MAX code points of up to 4 bytes, and NUL */
#define DAY_MS		  86400000LL

struct search_in {
	int limit;
	int offset;
	int64_t from_ms, to_ms;
};

/* "YYYY-MM-DD" as Unix ms at 00:00 UTC, or -1. */
static int64_t parse_date(const char *s)
{
	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return -1;
	char buf[32];
	snprintf(buf, sizeof buf, "%sT00:00:00Z", s);
	return time_parse_rfc3339(buf);
}

/* A from/to bound: RFC 3339, or a date (to: the end of that day). 0 when absent. */
static int64_t parse_bound(struct http_req *r, const char *name, bool end_of_day, json_t **errors)
{
	const char *v = http_query(r, name);
	if (!v || !*v)
		return 0;
	int64_t t = parse_date(v);
	if (t >= 0)
		return end_of_day ? t + DAY_MS : t;
	t = strlen(v) < 64 ? time_parse_rfc3339(v) : -1;
	if (t < 0) {
		jv_error(errors, name,
			 "must be a date such as 2026-11-22 or an RFC 3339 date-time");
		return 0;
	}
	return t;
}

static const char CURSOR_PREFIX[] = "s1:";

static json_t *cursor_json(int offset)
{
	char raw[32], out[64];
	snprintf(raw, sizeof raw, "%s%d", CURSOR_PREFIX, offset);
	if (crypto_b64url_encode(raw, strlen(raw), out, sizeof out) < 0)
		return json_null();
	return json_string(out);
}

/* The offset a cursor stands for, or -1. */
static int cursor_offset(const char *cur)
{
	char raw[32];
	size_t len = strlen(cur);
	long n = len < 40 ? crypto_b64url_decode(cur, len, raw, sizeof raw - 1) : -1;
	if (n <= (long)strlen(CURSOR_PREFIX))
		return -1;
	raw[n] = '\0';
	if (memcmp(raw, CURSOR_PREFIX, strlen(CURSOR_PREFIX)) != 0)
		return -1;
	const char *d = raw + strlen(CURSOR_PREFIX);
	char *end;
	long v = strtol(d, &end, 10);
	if (!isdigit((unsigned char)*d) || *end || v < 1 || v > SEARCH_MAX_OFFSET)
		return -1;
	return (int)v;
}

static const char *parse_problem(enum search_parse_rc rc)
{
	switch (rc) {
	case SEARCH_Q_OK:
		return NULL;
	case SEARCH_Q_EMPTY:
		return "must contain at least one word to look for";
	case SEARCH_Q_TOO_LONG:
		return "must be at most 1024 bytes";
	case SEARCH_Q_TOO_MANY:
		return "must have at most 32 words";
	case SEARCH_Q_ONLY_EXCLUDED:
		return "must contain at least one word that is not excluded with -";
	}
	return "is not a search query";
}

static void search_check(struct api_ctx *cx, json_t **errors)
{
	struct http_req *r = cx->req;
	struct search_in *in = API_IN(cx, struct search_in);
	const char *q = http_query(r, "q");
	if (!q || !*q) {
		jv_error(errors, "q", "is required: the words to look for");
	} else if (strlen(q) > SEARCH_Q_MAX_BYTES) {
		jv_error(errors, "q", "%s", parse_problem(SEARCH_Q_TOO_LONG));
	} else if (utf8_len(q) == (size_t)-1) {
		jv_error(errors, "q", "must be valid UTF-8");
	} else {
		struct search_parsed p;
		const char *why = parse_problem(search_parse(q, &p));
		search_parsed_free(&p);
		if (why)
			jv_error(errors, "q", "%s", why);
	}
	in->limit = 20;
	const char *l = http_query(r, "limit");
	if (l) {
		char *end;
		long v = strtol(l, &end, 10);
		if (!*l || *end || v < 1 || v > 100)
			jv_error(errors, "limit", "must be a whole number from 1 to 100");
		else
			in->limit = (int)v;
	}
	const char *cur = http_query(r, "cursor");
	if (cur && *cur) {
		in->offset = cursor_offset(cur);
		if (in->offset < 0)
			jv_error(errors, "cursor",
				 "is not a cursor this API gave out; use next_cursor from the last "
				 "page");
	}
	const char *mid = http_query(r, "meeting_id");
	if (mid && *mid && !uuid_valid(mid))
		jv_error(errors, "meeting_id", "must be a meeting id");
	const char *cid = http_query(r, "collection_id");
	if (cid && *cid && !uuid_valid(cid))
		jv_error(errors, "collection_id", "must be a collection id");
	in->from_ms = parse_bound(r, "from", false, errors);
	in->to_ms = parse_bound(r, "to", true, errors);
	if (in->from_ms && in->to_ms && in->to_ms <= in->from_ms)
		jv_error(errors, "to", "must be after from");
	const char *sp = http_query(r, "speaker");
	if (sp && (strlen(sp) >= SPEAKER_MAX_BYTES || utf8_len(sp) == (size_t)-1))
		jv_error(errors, "speaker", "must be a speaker id such as S1 or a speaker's name");
}

static json_t *hit_json(const struct search_hit *h)
{
	char *snippet = search_snippet_html(h->snippet);
	json_t *meeting =
	    json_pack("{s:s,s:s,s:o,s:o}", "id", h->meeting_id, "title", h->title, "created_at",
		      api_time(h->created_at), "meeting_date", api_time(h->meeting_date));
	bool seg = strcmp(h->kind, "segment") == 0;
	json_t *speaker = h->speaker_id[0]
			      ? json_pack("{s:s,s:s}", "id", h->speaker_id, "name", h->speaker_name)
			      : json_null();
	json_t *j = json_pack("{s:o,s:s,s:o,s:o,s:o,s:o,s:s}", "meeting", meeting, "kind", h->kind,
			      "segment_index", seg ? json_integer(h->segment_index) : json_null(),
			      "speaker", speaker, "start",
			      seg && h->start >= 0 ? json_real(h->start) : json_null(), "end",
			      seg && h->end >= 0 ? json_real(h->end) : json_null(), "snippet",
			      snippet ? snippet : "");
	free(snippet);
	return j;
}

static void search(struct api_ctx *cx)
{
	struct http_req *r = cx->req;
	const struct search_in *in = API_IN(cx, struct search_in);
	struct search_parsed p;
	struct search_hit *hits = NULL;
	size_t n = 0;
	if (search_parse(http_query(r, "q"), &p) != SEARCH_Q_OK) { /* search_check saw it pass */
		http_problem_internal(r, "search parse");
		goto out;
	}
	const char *cid = http_query(r, "collection_id");
	if (cid && *cid) {
		/* Only a collection the caller may see narrows a search; any other is 404. */
		enum coll_role role;
		int crc = authz_collection_role(cx->conn, cx->principal, cid, &role);
		if (crc) {
			api_db_fail(r, crc, "search collection");
			goto out;
		}
		if (role == COLL_NONE) {
			http_problem(r, 404, "collection_not_found",
				     "There is no collection %.36s that you can see.", cid);
			goto out;
		}
	}
	int window = api_app(r)->cfg->search_rank_window;
	struct search_filter f = {.org_id = cx->principal->org_id,
				  .grantee =
				      cx->principal->via_api_key ? NULL : cx->principal->user_id,
				  .meeting_id = http_query(r, "meeting_id"),
				  .collection_id = cid,
				  .from_ms = in->from_ms,
				  .to_ms = in->to_ms,
				  .speaker = http_query(r, "speaker"),
				  .rank_window = window};
	int rc = search_run(cx->conn, &p, &f, in->offset, in->limit + 1, &hits, &n);
	if (rc) {
		api_db_fail(r, rc, "search");
		goto out;
	}
	json_t *data = json_array();
	size_t shown = n > (size_t)in->limit ? (size_t)in->limit : n;
	for (size_t i = 0; i < shown; i++)
		json_array_append_new(data, hit_json(&hits[i]));
	int next = in->offset + in->limit;
	json_t *cursor = n > shown && next <= SEARCH_MAX_OFFSET && next < window ? cursor_json(next)
										 : json_null();
	http_reply_json(r, 200, json_pack("{s:o,s:o}", "data", data, "next_cursor", cursor));
out:
	search_hits_free(hits, n);
	search_parsed_free(&p);
}

static const struct route ROUTES[] = {
    {.method = M_GET,
     .pattern = "/api/v1/search",
     .check = search_check,
     .auth = AUTH_BEARER,
     .db = DB_CONN_HELD,
     .run = search},
};

size_t api_search_routes(const struct route **out)
{
	*out = ROUTES;
	return ARRAY_LEN(ROUTES);
}
