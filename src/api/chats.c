/*
 * chats.c — chat with a meeting, a collection, or every meeting the caller
 * may read (their organization's and those shared with them).
 *
 * POST /api/v1/chats {meeting_id? | collection_id?, title?}  201 the chat
 *      (404 for a meeting or collection the caller cannot read; both is 400)
 * GET  /api/v1/chats                        the caller's chats, newest first, paged
 * GET  /api/v1/chats/{id}                   the chat with its messages
 * POST /api/v1/chats/{id}/messages {content}
 *      The answer as Server-Sent Events: "event: token" {"text"} pieces, then
 *      "event: done" {message_id, question_id, status, source, content,
 *      citations:[{n, meeting_id, meeting_title, segment_index, speaker,
 *      start, end, text}]}, or "event: error" with a problem object.
 *      Refusals come before the stream as ordinary problems: 400 (empty or
 *      longer than CHAT_MESSAGE_MAX characters), 404, 402 (chat quota).
 *
 * Grounding: the question's words are looked up one by one in the search
 * index (store/search.h, bm25 / ts_rank) over the chat's meeting, its
 * collection, or every meeting the caller may read (the search's own
 * tenant rule, collection grants included); segments matching more of the words, and
 * matching them better, come first. The best passages are numbered and
 * given to the model, which is asked to cite them as [n].
 *
 * Without a language model (IAM_LLM_BASE_URL unset), or when it cannot be
 * reached before it said anything, the answer is the best passages
 * themselves and says that it is an excerpt answer; it streams the same
 * way. A model that sends garbage, goes silent or stops mid-answer ends the
 * stream with an error event, and nothing is stored: the question and its
 * answer are stored together, only once the answer is complete, and only
 * then counted against the chat quota.
 *
 * Streams are driven by the HTTP server's timer (http_reply_sse): tick()
 * only moves bytes that are ready. The model is read on a thread of its
 * own, which queues events under the stream's lock.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api.h"
#include "auth/authz.h"
#include "billing/meter.h"
#include "core/log.h"
#include "core/transcript.h"
#include "core/utf8.h"
#include "intel/llm.h"
#include "service/quota.h"
#include "store/chats.h"
#include "store/collections.h"
#include "store/meetings.h"
#include "store/search.h"

#define PASSAGES_MAX	  6
#define RERANK_POOL	  16 /* passages re-ranked by meaning when embeddings are on */
#define KEYWORDS_MAX	  8
#define HITS_PER_WORD	  25
#define CANDIDATES_MAX	  64
#define HISTORY_MAX	  6
#define STREAM_TICK_MS	  20
#define OFFLINE_WORDS	  16 /* words per token event when an excerpt answer streams */
#define ANSWER_MAX_BYTES  (64 * 1024)
#define PASSAGE_MAX_BYTES 1200

/* ---- representations ---- */

static json_t *chat_json(const struct chat *ch)
{
	return json_pack(
	    "{s:s,s:o,s:o,s:s,s:o,s:o}", "id", ch->id, "meeting_id",
	    ch->meeting_id[0] ? json_string(ch->meeting_id) : json_null(), "collection_id",
	    ch->collection_id[0] ? json_string(ch->collection_id) : json_null(), "title", ch->title,
	    "created_at", api_time(ch->created_at), "updated_at", api_time(ch->updated_at));
}

static json_t *message_json(const struct chat_message *m)
{
	json_t *cit = json_loads(m->citations ? m->citations : "[]", 0, NULL);
	if (!json_is_array(cit)) {
		json_decref(cit);
		cit = json_array();
	}
	return json_pack("{s:s,s:s,s:s,s:o,s:s,s:o,s:o}", "id", m->id, "role", m->role, "content",
			 m->content, "citations", cit, "status", m->status, "source",
			 m->source[0] ? json_string(m->source) : json_null(), "created_at",
			 api_time(m->created_at));
}

static void not_found(struct http_req *r, const char *id)
{
	http_problem(r, 404, "chat_not_found",
		     "There is no chat %.64s of yours in this organization. List yours with GET "
		     "/api/v1/chats.",
		     id);
}

/* ---- POST /api/v1/chats ---- */

struct create_in {
	const char *meeting_id;
	const char *collection_id;
	const char *title;
};

static const struct jv_field CREATE_FIELDS[] = {
    {.name = "meeting_id",
     .type = JV_STRING,
     .null = JV_NULL_OK,
     .max_len = 64,
     .dest = JV_DEST(struct create_in, meeting_id)},
    {.name = "collection_id",
     .type = JV_STRING,
     .null = JV_NULL_OK,
     .max_len = 64,
     .dest = JV_DEST(struct create_in, collection_id)},
    {.name = "title",
     .type = JV_STRING,
     .min_len = 1,
     .max_len = CHAT_TITLE_MAX,
     .dest = JV_DEST(struct create_in, title)},
};
static const struct jv_spec CREATE_SPEC = {JV_FIELDS(CREATE_FIELDS), .empty = JV_EMPTY_OK};

static void create_check(struct api_ctx *cx, json_t **errors)
{
	const struct create_in *in = API_IN(cx, struct create_in);
	if (in->meeting_id && !uuid_valid(in->meeting_id))
		jv_error(errors, "meeting_id",
			 "must be a meeting id, or null for all your meetings");
	if (in->collection_id && !uuid_valid(in->collection_id))
		jv_error(errors, "collection_id",
			 "must be a collection id, or null for all your meetings");
	if (in->meeting_id && in->collection_id)
		jv_error(errors, "collection_id",
			 "give a meeting or a collection to chat about, not both");
}

/*
 * May the caller still read what chat ch is about? Replies 404 (or 503)
 * when not and returns false. A meeting shared through a collection is
 * readable from another organization; a collection at any role.
 */
static bool chat_subject_ok(struct api_ctx *cx, const char *meeting_id, const char *collection_id)
{
	struct http_req *r = cx->req;
	if (meeting_id && *meeting_id) {
		enum meeting_access a;
		char org[UUID_STR_LEN];
		int rc = authz_meeting_access(cx->conn, cx->principal, meeting_id, &a, org);
		if (rc) {
			api_db_fail(r, rc, "load meeting");
			return false;
		}
		if (a == ACCESS_NONE) {
			http_problem(r, 404, "not_found",
				     "There is no meeting %s that you can see.", meeting_id);
			return false;
		}
	}
	if (collection_id && *collection_id) {
		enum coll_role role = COLL_NONE;
		int rc = authz_collection_role(cx->conn, cx->principal, collection_id, &role);
		if (rc) {
			api_db_fail(r, rc, "load collection");
			return false;
		}
		if (role == COLL_NONE) {
			http_problem(r, 404, "collection_not_found",
				     "There is no collection %s that you can see.", collection_id);
			return false;
		}
	}
	return true;
}

static void create_chat(struct api_ctx *cx)
{
	struct http_req *r = cx->req;
	const struct create_in *in = API_IN(cx, struct create_in);
	const struct principal *p = cx->principal;
	struct chat ch = {0};
	snprintf(ch.org_id, sizeof ch.org_id, "%s", p->org_id);
	snprintf(ch.user_id, sizeof ch.user_id, "%s", p->user_id);
	if (!chat_subject_ok(cx, in->meeting_id, in->collection_id))
		return;
	if (in->meeting_id) {
		/* Readable (above): from its own organization, which may be another one. */
		struct meeting m;
		meeting_init(&m);
		enum meeting_access a;
		char org[UUID_STR_LEN];
		int rc = authz_meeting_access(cx->conn, p, in->meeting_id, &a, org);
		if (!rc)
			rc = meeting_get(cx->conn, org, in->meeting_id, &m);
		if (rc) {
			api_db_fail(r, rc == STORE_NOT_FOUND ? STORE_ERROR : rc, "load meeting");
			return;
		}
		snprintf(ch.meeting_id, sizeof ch.meeting_id, "%s", m.id);
		snprintf(ch.title, sizeof ch.title, "%s", in->title ? in->title : m.title);
		meeting_clear(&m);
	} else if (in->collection_id) {
		struct collection k;
		int rc = collection_get(cx->conn, in->collection_id, &k);
		if (rc) {
			api_db_fail(r, rc == STORE_NOT_FOUND ? STORE_ERROR : rc, "load collection");
			return;
		}
		snprintf(ch.collection_id, sizeof ch.collection_id, "%s", k.id);
		snprintf(ch.title, sizeof ch.title, "%s", in->title ? in->title : k.name);
	} else {
		snprintf(ch.title, sizeof ch.title, "%s",
			 in->title ? in->title : "All my meetings");
	}
	int rc = chat_create(cx->conn, &ch);
	if (rc) {
		api_db_fail(r, rc, "create chat");
		return;
	}
	char loc[96];
	snprintf(loc, sizeof loc, "/api/v1/chats/%s", ch.id);
	http_add_header(r, "Location", loc);
	http_reply_json(r, 201, chat_json(&ch));
}

/* ---- GET /api/v1/chats, /api/v1/chats/{id} ---- */

static void list_chats(struct api_ctx *cx)
{
	const struct api_page_in *in = API_IN(cx, struct api_page_in);
	struct chat *list = NULL;
	size_t n = 0;
	int rc = chat_list(cx->conn, cx->principal->org_id, cx->principal->user_id,
			   in->cursor[0] ? in->cursor : NULL, in->limit + 1, &list, &n);
	if (rc) {
		api_db_fail(cx->req, rc, "list chats");
		return;
	}
	json_t *data = json_array();
	size_t shown = n > (size_t)in->limit ? (size_t)in->limit : n;
	for (size_t i = 0; i < shown; i++)
		json_array_append_new(data, chat_json(&list[i]));
	json_t *next = n > shown ? api_cursor(list[shown - 1].id) : json_null();
	free(list);
	http_reply_json(cx->req, 200, json_pack("{s:o,s:o}", "data", data, "next_cursor", next));
}

/* The chat in the path, the caller's own; replies 404 (or 503) and returns false. */
static bool load_chat(struct api_ctx *cx, struct chat *ch)
{
	const char *id = http_param(cx->req, "id");
	if (!uuid_valid(id)) {
		not_found(cx->req, id);
		return false;
	}
	int rc = chat_get(cx->conn, cx->principal->org_id, cx->principal->user_id, id, ch);
	if (rc == STORE_NOT_FOUND)
		not_found(cx->req, id);
	else if (rc)
		api_db_fail(cx->req, rc, "load chat");
	return rc == STORE_OK;
}

static void get_chat(struct api_ctx *cx)
{
	struct chat ch;
	if (!load_chat(cx, &ch))
		return;
	struct chat_message *msgs = NULL;
	size_t n = 0;
	int rc = chat_messages(cx->conn, ch.org_id, ch.id, CHAT_MESSAGES_MAX, &msgs, &n);
	if (rc) {
		api_db_fail(cx->req, rc, "load chat messages");
		return;
	}
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, message_json(&msgs[i]));
	chat_messages_free(msgs, n);
	json_t *j = chat_json(&ch);
	json_object_set_new(j, "messages", arr);
	http_reply_json(cx->req, 200, j);
}

/* ---- retrieval ---- */

struct passage {
	char meeting_id[UUID_STR_LEN];
	char *meeting_title;
	int segment_index;
	char speaker[128];
	double start, end;
	char *text;
	double score;
};

static void passages_free(struct passage *p, size_t n)
{
	for (size_t i = 0; p && i < n; i++) {
		free(p[i].meeting_title);
		free(p[i].text);
	}
	free(p);
}

static const char *const STOP_WORDS[] = {
    "a",	 "about",  "all",   "also",	"an",	     "and",	  "any",     "are",
    "as",	 "at",	   "be",    "been",	"but",	     "by",	  "can",     "could",
    "did",	 "do",	   "does",  "for",	"from",	     "had",	  "has",     "have",
    "he",	 "her",	   "him",   "his",	"how",	     "i",	  "if",	     "in",
    "into",	 "is",	   "it",    "its",	"me",	     "meeting",	  "my",	     "of",
    "on",	 "or",	   "our",   "she",	"so",	     "some",	  "tell",    "than",
    "that",	 "the",	   "their", "them",	"then",	     "there",	  "these",   "they",
    "this",	 "those",  "to",    "us",	"was",	     "we",	  "were",    "what",
    "when",	 "where",  "which", "who",	"whom",	     "why",	  "will",    "with",
    "would",	 "you",	   "your",  "said",	"say",	     "talk",	  "talked",  "discuss",
    "discussed", "please", "there", "anything", "something", "mentioned", "mention",
};

static bool stop_word(const char *w)
{
	for (size_t i = 0; i < ARRAY_LEN(STOP_WORDS); i++)
		if (strcmp(w, STOP_WORDS[i]) == 0)
			return true;
	return false;
}

/* The question's content words (lower-case ASCII, other bytes kept), at most KEYWORDS_MAX. */
static size_t keywords(const char *q, char words[KEYWORDS_MAX][64])
{
	size_t n = 0;
	const unsigned char *p = (const unsigned char *)q;
	while (*p && n < KEYWORDS_MAX) {
		while (*p && !(isalnum(*p) || *p >= 0x80))
			p++;
		char w[64];
		size_t len = 0;
		while (*p && (isalnum(*p) || *p >= 0x80)) {
			if (len < sizeof w - 1)
				w[len++] = (char)tolower(*p);
			p++;
		}
		w[len] = '\0';
		if (len < 2 || len >= sizeof w - 1 || stop_word(w))
			continue;
		bool seen = false;
		for (size_t i = 0; i < n && !seen; i++)
			seen = strcmp(words[i], w) == 0;
		if (!seen)
			snprintf(words[n++], 64, "%s", w);
	}
	return n;
}

static int by_score(const void *a, const void *b)
{
	const struct passage *x = a, *y = b;
	if (x->score != y->score)
		return x->score < y->score ? 1 : -1;
	int c = strcmp(x->meeting_id, y->meeting_id);
	return c ? c : x->segment_index - y->segment_index;
}

/* A meeting's transcript, kept while passages are filled. */
struct tcache {
	char meeting_id[UUID_STR_LEN];
	struct transcript t;
	bool ok;
};

/*
 * Meeting mid's transcript for p: from the meeting's own organization (a
 * meeting shared through a collection lives in another one), NULL when p
 * may not read it.
 */
static struct transcript *transcript_for(struct db_conn *c, const struct principal *p,
					 const char *mid, struct tcache *cache, size_t *ncache,
					 size_t max)
{
	for (size_t i = 0; i < *ncache; i++)
		if (strcmp(cache[i].meeting_id, mid) == 0)
			return cache[i].ok ? &cache[i].t : NULL;
	if (*ncache >= max)
		return NULL;
	struct tcache *e = &cache[(*ncache)++];
	memset(e, 0, sizeof *e);
	snprintf(e->meeting_id, sizeof e->meeting_id, "%s", mid);
	struct meeting_transcript mt = {0};
	enum meeting_access a = ACCESS_NONE;
	char org[UUID_STR_LEN];
	if (authz_meeting_access(c, p, mid, &a, org) == 0 && a != ACCESS_NONE &&
	    meeting_transcript_get(c, org, mid, &mt) == STORE_OK && mt.body) {
		json_t *j = json_loads(mt.body, 0, NULL);
		e->ok = j && transcript_from_json(j, &e->t) == 0;
		json_decref(j);
	}
	meeting_transcript_clear(&mt);
	return e->ok ? &e->t : NULL;
}

/* Fill a passage's text, speaker and times from its meeting's transcript. False to drop it. */
static bool passage_fill(struct db_conn *c, const struct principal *who, struct passage *p,
			 struct tcache *cache, size_t *ncache, size_t max)
{
	struct transcript *t = transcript_for(c, who, p->meeting_id, cache, ncache, max);
	if (!t || p->segment_index < 0 || (size_t)p->segment_index >= t->nsegments)
		return false;
	const struct transcript_segment *s = &t->segments[p->segment_index];
	p->start = s->start;
	p->end = s->end;
	transcript_speaker_display(t, s->speaker, p->speaker, sizeof p->speaker);
	size_t len = strlen(s->text);
	if (len > PASSAGE_MAX_BYTES) {
		len = PASSAGE_MAX_BYTES;
		while (len && ((unsigned char)s->text[len] & 0xC0) == 0x80)
			len--;
	}
	p->text = strndup(s->text, len);
	return p->text != NULL;
}

/*
 * The best passages for question q in what chat ch is about (its meeting,
 * its collection, or every meeting p may read): *out malloc'd
 * (passages_free), *n. A chat about one meeting whose words match nothing
 * gets the meeting's opening segments, so "what was this about?" still has
 * something to stand on.
 */
static enum store_rc retrieve(struct db_conn *c, const struct principal *p, const struct chat *ch,
			      const char *q, size_t want, struct passage **out, size_t *n)
{
	const char *meeting_id = ch->meeting_id;
	*out = NULL;
	*n = 0;
	char words[KEYWORDS_MAX][64];
	size_t nw = keywords(q, words);
	struct passage *cand = calloc(CANDIDATES_MAX, sizeof *cand);
	if (!cand)
		return STORE_ERROR;
	size_t nc = 0;
	enum store_rc rc = STORE_OK;
	/* The search's tenant rule: the organization, plus what is shared with the person. */
	struct search_filter f = {.org_id = ch->org_id,
				  .grantee = p->via_api_key ? NULL : p->user_id,
				  .meeting_id = meeting_id,
				  .collection_id = ch->collection_id};
	for (size_t w = 0; w < nw; w++) {
		struct search_parsed sp;
		if (search_parse(words[w], &sp) != SEARCH_Q_OK) {
			search_parsed_free(&sp);
			continue;
		}
		struct search_hit *hits = NULL;
		size_t nh = 0;
		rc = search_run(c, &sp, &f, 0, HITS_PER_WORD, &hits, &nh);
		search_parsed_free(&sp);
		if (rc)
			goto fail;
		for (size_t i = 0; i < nh; i++) {
			const struct search_hit *h = &hits[i];
			if (strcmp(h->kind, "segment") != 0)
				continue;
			/* Each word counts once per segment; a better rank adds a little. */
			double add = 1.0 + 0.5 / (double)(i + 1);
			size_t k = 0;
			while (k < nc && (cand[k].segment_index != h->segment_index ||
					  strcmp(cand[k].meeting_id, h->meeting_id) != 0))
				k++;
			if (k == nc) {
				if (nc == CANDIDATES_MAX)
					continue;
				snprintf(cand[k].meeting_id, sizeof cand[k].meeting_id, "%s",
					 h->meeting_id);
				cand[k].segment_index = h->segment_index;
				cand[k].meeting_title = strdup(h->title ? h->title : "");
				nc++;
			}
			cand[k].score += add;
		}
		search_hits_free(hits, nh);
	}
	if (nc == 0 && meeting_id && *meeting_id) {
		for (int i = 0; i < 4; i++) {
			snprintf(cand[i].meeting_id, sizeof cand[i].meeting_id, "%s", meeting_id);
			cand[i].segment_index = i;
			cand[i].score = 0.1 * (4 - i);
		}
		nc = 4;
	}
	qsort(cand, nc, sizeof *cand, by_score);
	struct tcache cache[RERANK_POOL];
	size_t ncache = 0;
	if (want > RERANK_POOL)
		want = RERANK_POOL;
	struct passage *best = calloc(want, sizeof *best);
	if (!best) {
		rc = STORE_ERROR;
		goto fail;
	}
	size_t nb = 0;
	for (size_t i = 0; i < nc && nb < want; i++) {
		if (!passage_fill(c, p, &cand[i], cache, &ncache, want))
			continue;
		best[nb++] = cand[i];
		memset(&cand[i], 0, sizeof cand[i]); /* moved */
	}
	for (size_t i = 0; i < ncache; i++)
		transcript_free(&cache[i].t);
	passages_free(cand, CANDIDATES_MAX);
	*out = best;
	*n = nb;
	return STORE_OK;
fail:
	passages_free(cand, CANDIDATES_MAX);
	return rc;
}

static void clock_text(double s, char *out, size_t len)
{
	long t = s > 0 ? (long)s : 0;
	if (t >= 3600)
		snprintf(out, len, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
	else
		snprintf(out, len, "%ld:%02ld", t / 60, t % 60);
}

static json_t *citation_json(const struct passage *p, size_t number)
{
	return json_pack("{s:I,s:s,s:s,s:i,s:s,s:f,s:f,s:s}", "n", (json_int_t)number, "meeting_id",
			 p->meeting_id, "meeting_title", p->meeting_title ? p->meeting_title : "",
			 "segment_index", p->segment_index, "speaker", p->speaker, "start",
			 p->start, "end", p->end, "text", p->text ? p->text : "");
}

/* The excerpt answer: what it is (and why), then the passages with who and when. */
/* many: what a chat about several meetings is about ("your meetings"); NULL for one meeting. */
static char *excerpt_answer(const struct passage *ps, size_t n, const char *why, const char *many)
{
	bool all = many != NULL;
	struct buf b = {0};
	buf_printf(&b, "This is an excerpt answer (%s): ", why);
	if (!n)
		buf_printf(&b,
			   "nothing in %s matches your question. Try other words, such as "
			   "a name or a topic that was said.",
			   all ? many : "this meeting");
	else
		buf_printf(&b, "the %s of %s that best match%s your question.",
			   n == 1 ? "passage" : "passages", all ? many : "the meeting",
			   n == 1 ? "es" : "");
	for (size_t i = 0; i < n; i++) {
		char at[32];
		clock_text(ps[i].start, at, sizeof at);
		buf_printf(&b, "\n\n[%zu] %s at %s", i + 1, ps[i].speaker, at);
		if (all && ps[i].meeting_title && *ps[i].meeting_title)
			buf_printf(&b, " in \"%s\"", ps[i].meeting_title);
		buf_printf(&b, ": \"%s\"", ps[i].text);
	}
	if (buf_append(&b, "", 1) < 0) {
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b);
}

/* ---- the stream ---- */

struct stream {
	pthread_mutex_t lock;
	int refs;	    /* the HTTP stream and, while it runs, the model's thread */
	atomic_bool gone;   /* the client went away (the stream was freed) */
	struct buf pending; /* events ready to send */
	bool finished;	    /* no more events will be queued */
	/* An answer streamed from memory (excerpt): the text and how far it went. */
	char *paced;
	size_t paced_pos;
	char *paced_done; /* the done event to send after it */
	/* For the model's thread: */
	struct app *app;
	char org_id[UUID_STR_LEN], user_id[UUID_STR_LEN], chat_id[UUID_STR_LEN];
	char request_id[72];
	bool all;	  /* a chat about several meetings (a collection, or every one) */
	const char *many; /* what those are, for people ("your meetings") */
	char *question;
	struct passage *passages;
	size_t npassages;
	struct chat_message *history;
	size_t nhistory;
	struct buf answer;
};

static void stream_unref(struct stream *s)
{
	pthread_mutex_lock(&s->lock);
	bool last = --s->refs == 0;
	pthread_mutex_unlock(&s->lock);
	if (!last)
		return;
	pthread_mutex_destroy(&s->lock);
	buf_free(&s->pending);
	buf_free(&s->answer);
	free(s->paced);
	free(s->paced_done);
	free(s->question);
	passages_free(s->passages, s->npassages);
	chat_messages_free(s->history, s->nhistory);
	free(s);
}

static void stream_gone(void *ctx)
{
	struct stream *s = ctx;
	atomic_store(&s->gone, true);
	stream_unref(s);
}

/* Queue an event (lock held by the caller or not needed). */
static void event_json(struct buf *out, const char *name, json_t *data)
{
	char *text = json_dumps(data, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(data);
	if (text)
		buf_printf(out, "event: %s\ndata: %s\n\n", name, text);
	free(text);
}

static void queue_event(struct stream *s, const char *name, json_t *data, bool last)
{
	pthread_mutex_lock(&s->lock);
	event_json(&s->pending, name, data);
	if (last)
		s->finished = true;
	pthread_mutex_unlock(&s->lock);
}

static json_t *error_problem(const struct stream *s, int status, const char *code,
			     const char *title, const char *detail)
{
	char type[96];
	snprintf(type, sizeof type, "/problems/%s", code);
	return json_pack("{s:s,s:s,s:i,s:s,s:s,s:s}", "type", type, "title", title, "status",
			 status, "detail", detail, "code", code, "request_id", s->request_id);
}

static bool tick(void *ctx, struct buf *out)
{
	struct stream *s = ctx;
	pthread_mutex_lock(&s->lock);
	if (s->paced) {
		/* A few words per tick, so an excerpt answer streams like a model's. */
		const char *p = s->paced + s->paced_pos;
		size_t len = 0;
		for (int w = 0; w < OFFLINE_WORDS && p[len]; w++) {
			while (p[len] && p[len] != ' ' && p[len] != '\n')
				len++;
			while (p[len] == ' ' || p[len] == '\n')
				len++;
		}
		if (len) {
			json_t *t = json_pack("{s:s%}", "text", p, len);
			if (t)
				event_json(out, "token", t);
			s->paced_pos += len;
		}
		if (!s->paced[s->paced_pos]) {
			buf_puts(out, s->paced_done);
			free(s->paced);
			s->paced = NULL;
			s->finished = true;
		}
	} else if (s->pending.len) {
		buf_append(out, s->pending.data, s->pending.len);
		buf_clear(&s->pending);
	}
	bool more = !(s->finished && !s->paced && !s->pending.len);
	pthread_mutex_unlock(&s->lock);
	return more;
}

/* The done event for a stored answer. */
static json_t *done_json(const struct chat_message *a, const char *question_id)
{
	json_t *cit = json_loads(a->citations, 0, NULL);
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:o}", "message_id", a->id, "question_id",
			 question_id, "status", a->status, "source", a->source, "content",
			 a->content, "citations", cit ? cit : json_array());
}

/*
 * Store the question with its complete answer and count it against the
 * chat quota. On failure *why is set and nothing is stored.
 */
static bool store_answer(struct db_conn *c, struct app *app, const char *org_id,
			 const char *chat_id, const char *question, struct chat_message *a,
			 char question_id[UUID_STR_LEN], enum store_rc *why)
{
	*why = chat_add_exchange(c, org_id, chat_id, question, a, question_id);
	if (*why)
		return false;
	enum store_rc mrc = meter_chat_message(c, app->bus, org_id, a->id);
	if (mrc)
		log_write(LOG_WARN, "chat message not metered",
			  json_pack("{s:s,s:s}", "message_id", a->id, "rc", store_rc_name(mrc)));
	return true;
}

/* Citations JSON text for passages (those whose [n] the answer cites, or all). */
static char *citations_text(const struct passage *ps, size_t n, const char *answer)
{
	json_t *arr = json_array();
	bool any = false;
	for (size_t i = 0; i < n && answer; i++) {
		char mark[24];
		snprintf(mark, sizeof mark, "[%zu]", i + 1);
		any |= strstr(answer, mark) != NULL;
	}
	for (size_t i = 0; i < n; i++) {
		char mark[24];
		snprintf(mark, sizeof mark, "[%zu]", i + 1);
		if (!any || strstr(answer, mark))
			json_array_append_new(arr, citation_json(&ps[i], i + 1));
	}
	char *t = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	return t;
}

/* ---- the model's thread ---- */

/* Model threads running, so that shutdown can wait for them (api_chats_drain). */
static pthread_mutex_t g_threads_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_threads_cond = PTHREAD_COND_INITIALIZER;
static int g_threads;

static void threads_add(int d)
{
	pthread_mutex_lock(&g_threads_lock);
	g_threads += d;
	pthread_cond_broadcast(&g_threads_cond);
	pthread_mutex_unlock(&g_threads_lock);
}

int api_chats_drain(int timeout_ms)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&g_threads_lock);
	while (g_threads > 0 &&
	       pthread_cond_timedwait(&g_threads_cond, &g_threads_lock, &until) == 0)
		;
	int left = g_threads;
	pthread_mutex_unlock(&g_threads_lock);
	return left;
}

static bool is_gone(void *ctx)
{
	struct stream *s = ctx;
	return atomic_load(&s->gone);
}

static int on_model_token(void *ctx, const char *text, size_t len)
{
	struct stream *s = ctx;
	if (atomic_load(&s->gone))
		return 1;
	if (buf_append(&s->answer, text, len) < 0)
		return 1; /* too long: stop (reported as cancelled, nothing kept) */
	json_t *t = json_pack("{s:s%}", "text", text, len);
	if (!t)
		return 0; /* not UTF-8 on its own: the done event carries the whole answer */
	queue_event(s, "token", t, false);
	return 0;
}

static char *grounded_prompt(const struct stream *s, size_t budget)
{
	struct buf b = {0};
	buf_puts(&b, "Passages from the transcript");
	buf_puts(&b, s->all ? "s of several meetings:\n" : " of the meeting:\n");
	for (size_t i = 0; i < s->npassages; i++) {
		const struct passage *p = &s->passages[i];
		char at[32];
		clock_text(p->start, at, sizeof at);
		size_t before = b.len;
		if (s->all)
			buf_printf(&b, "[%zu] (meeting \"%s\", %s at %s) %s\n", i + 1,
				   p->meeting_title ? p->meeting_title : "", p->speaker, at,
				   p->text);
		else
			buf_printf(&b, "[%zu] (%s at %s) %s\n", i + 1, p->speaker, at, p->text);
		if (b.len > budget && i > 0) { /* keep to the context budget */
			b.len = before;
			break;
		}
	}
	if (!s->npassages)
		buf_puts(&b, "(none matched the question)\n");
	buf_printf(&b, "\nQuestion: %s", s->question);
	if (buf_append(&b, "", 1) < 0) {
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b);
}

static const char SYSTEM_PROMPT[] =
    "You answer questions about meetings using only the numbered transcript passages you are "
    "given. Cite every passage you use with its number in square brackets, such as [1] or [2]. "
    "If the passages do not contain the answer, say so plainly; never invent facts, names or "
    "numbers. Be brief, and answer in the language of the question.";

/*
 * With an embeddings model: re-rank the passages found by words by how
 * close their meaning is to the question (0.3 words, 0.7 meaning), and keep
 * the best PASSAGES_MAX. Without one, or when it fails, the order by words
 * stays. Either way at most PASSAGES_MAX remain.
 */
static void rerank(struct stream *s, const struct llm_opts *base)
{
	const struct config *cfg = s->app->cfg;
	size_t n = s->npassages;
	if (cfg->llm_embedding_model && *cfg->llm_embedding_model && n > 1) {
		const char *texts[RERANK_POOL + 1];
		texts[0] = s->question;
		for (size_t i = 0; i < n; i++)
			texts[i + 1] = s->passages[i].text;
		float *v = NULL;
		size_t dim = 0;
		struct llm_result res;
		if (llm_embed(base, cfg->llm_embedding_model, texts, n + 1, &v, &dim, &res) ==
		    LLM_OK) {
			double top = s->passages[0].score > 0 ? s->passages[0].score : 1;
			for (size_t i = 0; i < n; i++)
				s->passages[i].score = 0.3 * s->passages[i].score / top +
						       0.7 * llm_cosine(v, v + (i + 1) * dim, dim);
			qsort(s->passages, n, sizeof *s->passages, by_score);
		} else {
			log_write(
			    LOG_WARN, "chat: embeddings unavailable, passages ranked by words",
			    json_pack("{s:s,s:s}", "detail", res.detail, "provider", res.provider));
		}
		free(v);
	}
	for (size_t i = PASSAGES_MAX; i < n; i++) {
		free(s->passages[i].meeting_title);
		free(s->passages[i].text);
	}
	if (n > PASSAGES_MAX)
		s->npassages = PASSAGES_MAX;
}

static void *model_thread(void *arg)
{
	struct stream *s = arg;
	const struct config *cfg = s->app->cfg;
	struct llm_opts eo = {.base_url = cfg->llm_base_url,
			      .api_key = cfg->llm_api_key,
			      .timeout_s = cfg->llm_timeout_s,
			      .cancelled = is_gone,
			      .cancel_ctx = s};
	rerank(s, &eo);
	size_t budget = (size_t)cfg->llm_context_tokens * 4 / 2; /* half the window for passages */
	char *prompt = grounded_prompt(s, budget);
	struct llm_msg msgs[2 + HISTORY_MAX];
	size_t nm = 0;
	msgs[nm++] = (struct llm_msg){"system", SYSTEM_PROMPT};
	for (size_t i = 0; i < s->nhistory && nm < 1 + HISTORY_MAX; i++)
		msgs[nm++] = (struct llm_msg){s->history[i].role, s->history[i].content};
	msgs[nm++] = (struct llm_msg){"user", prompt ? prompt : s->question};
	struct llm_opts o = {.base_url = cfg->llm_base_url,
			     .api_key = cfg->llm_api_key,
			     .model = cfg->llm_model,
			     .timeout_s = cfg->llm_timeout_s,
			     .max_tokens = 800,
			     .temperature = 0.2,
			     .cancelled = is_gone,
			     .cancel_ctx = s};
	struct llm_result res;
	enum llm_rc rc = llm_chat_stream(&o, msgs, nm, on_model_token, s, &res);
	free(prompt);
	struct chat_message a = {0};
	char qid[UUID_STR_LEN] = "";
	bool stored = false;
	if (rc == LLM_OK || (rc == LLM_UNAVAILABLE && res.tokens == 0)) {
		if (rc == LLM_OK) {
			buf_append(&s->answer, "", 1);
			a.content = buf_steal(&s->answer);
			snprintf(a.status, sizeof a.status, "answer");
			snprintf(a.source, sizeof a.source, "%s", cfg->llm_model);
		} else {
			char why[400];
			snprintf(
			    why, sizeof why,
			    "the language model could not answer: %s; so these are the passages "
			    "themselves",
			    res.detail);
			a.content = excerpt_answer(s->passages, s->npassages, why, s->many);
			snprintf(a.status, sizeof a.status, "excerpt");
			snprintf(a.source, sizeof a.source, "offline");
			log_write(LOG_WARN, "chat: language model unavailable, excerpt answer",
				  json_pack("{s:s,s:s,s:i,s:I}", "detail", res.detail, "provider",
					    res.provider, "attempts", res.attempts, "status",
					    (json_int_t)res.status));
		}
		a.citations = a.content ? citations_text(s->passages, s->npassages,
							 rc == LLM_OK ? a.content : NULL)
					: NULL;
		struct db_conn *c =
		    a.citations ? db_acquire_org(s->app->db, DB_ACQUIRE_MS, s->org_id) : NULL;
		enum store_rc why = STORE_UNAVAILABLE;
		stored = c && !atomic_load(&s->gone) &&
			 store_answer(c, s->app, s->org_id, s->chat_id, s->question, &a, qid, &why);
		db_release(c);
		if (stored) {
			if (rc != LLM_OK) { /* the excerpt streams as tokens first */
				json_t *t = json_pack("{s:s}", "text", a.content);
				if (t)
					queue_event(s, "token", t, false);
			}
			queue_event(s, "done", done_json(&a, qid), true);
		} else {
			queue_event(s, "error",
				    error_problem(s, 503, "chat_not_saved", "Answer not saved",
						  "The answer could not be saved, so it was "
						  "dropped. Ask again in a moment."),
				    true);
		}
	} else {
		const char *code = rc == LLM_TIMEOUT	      ? "llm_timeout"
				   : rc == LLM_CUT_OFF	      ? "llm_cut_off"
				   : rc == LLM_GARBAGE	      ? "llm_bad_reply"
				   : rc == LLM_PROVIDER_ERROR ? "llm_error"
							      : "llm_failed";
		char detail[400];
		snprintf(detail, sizeof detail,
			 "%s. Nothing was saved; ask again, and if it keeps happening tell your "
			 "administrator.",
			 res.detail);
		detail[0] = (char)toupper((unsigned char)detail[0]);
		log_write(LOG_WARN, "chat: language model failed",
			  json_pack("{s:s,s:s,s:s,s:I}", "rc", llm_rc_name(rc), "detail",
				    res.detail, "provider", res.provider, "tokens",
				    (json_int_t)res.tokens));
		queue_event(s, "error",
			    error_problem(s, 502, code, "The language model failed", detail), true);
	}
	if (!stored) { /* nothing counted: the place reserved in the quota goes back */
		struct db_conn *c = db_acquire_org(s->app->db, DB_ACQUIRE_MS, s->org_id);
		quota_unreserve(c, s->org_id, QUOTA_CHAT);
		db_release(c);
	}
	free(a.content);
	free(a.citations);
	stream_unref(s);
	threads_add(-1);
	return NULL;
}

/* ---- POST /api/v1/chats/{id}/messages ---- */

struct message_in {
	const char *content;
};

static const struct jv_field MESSAGE_FIELDS[] = {
    {.name = "content",
     .type = JV_STRING,
     .presence = JV_REQUIRED,
     .min_len = 1,
     .max_len = CHAT_MESSAGE_MAX,
     .dest = JV_DEST(struct message_in, content)},
};
static const struct jv_spec MESSAGE_SPEC = {JV_FIELDS(MESSAGE_FIELDS)};

static void message_check(struct api_ctx *cx, json_t **errors)
{
	const struct message_in *in = API_IN(cx, struct message_in);
	if (!in->content)
		return; /* the spec reported it */
	bool blank = true;
	for (const unsigned char *p = (const unsigned char *)in->content; *p && blank; p++)
		blank = isspace(*p);
	if (blank)
		jv_error(errors, "content", "must contain a question, not only spaces");
}

static void post_message(struct api_ctx *cx)
{
	struct http_req *r = cx->req;
	const struct message_in *in = API_IN(cx, struct message_in);
	struct app *app = cx->app;
	struct chat ch;
	if (!load_chat(cx, &ch))
		return;
	bool all = !ch.meeting_id[0];
	/* Still readable? (A collection can be unshared, a meeting deleted.) */
	if (!chat_subject_ok(cx, ch.meeting_id, ch.collection_id))
		return;
	/* Check and reserve the message's place in the quota as one step (issue 13). */
	struct quota_usage qu;
	enum quota_rc qrc = quota_reserve(cx->conn, ch.org_id, QUOTA_CHAT, 1, &qu);
	if (qrc != QUOTA_OK) {
		if (qrc == QUOTA_EXCEEDED)
			api_quota_problem(r, &qu);
		else
			api_db_fail(r, STORE_ERROR, "quota check");
		return;
	}
	struct stream *s = calloc(1, sizeof *s);
	if (!s) {
		quota_unreserve(cx->conn, ch.org_id, QUOTA_CHAT);
		http_problem_internal(r, "chat");
		return;
	}
	pthread_mutex_init(&s->lock, NULL);
	s->refs = 1;
	s->app = app;
	s->all = all;
	s->many = !all			? NULL
		  : ch.collection_id[0] ? "this collection's meetings"
					: "your meetings";
	s->answer.limit = ANSWER_MAX_BYTES;
	snprintf(s->org_id, sizeof s->org_id, "%s", ch.org_id);
	snprintf(s->user_id, sizeof s->user_id, "%s", ch.user_id);
	snprintf(s->chat_id, sizeof s->chat_id, "%s", ch.id);
	snprintf(s->request_id, sizeof s->request_id, "%s", http_request_id(r));
	s->question = strdup(in->content);
	/* With an embeddings model more passages are fetched: the model's thread re-ranks them. */
	const struct config *cfg = app->cfg;
	size_t want = cfg->llm_base_url && cfg->llm_embedding_model ? RERANK_POOL : PASSAGES_MAX;
	int rc = s->question ? retrieve(cx->conn, cx->principal, &ch, in->content, want,
					&s->passages, &s->npassages)
			     : STORE_ERROR;
	if (!rc && app->cfg->llm_base_url)
		rc = chat_messages(cx->conn, ch.org_id, ch.id, HISTORY_MAX, &s->history,
				   &s->nhistory);
	if (rc) {
		quota_unreserve(cx->conn, ch.org_id, QUOTA_CHAT);
		api_db_fail(r, rc, "find passages");
		stream_unref(s);
		return;
	}
	if (!app->cfg->llm_base_url) {
		/* Offline: the answer is complete now; store it, then stream it. */
		struct chat_message a = {0};
		char qid[UUID_STR_LEN];
		a.content = excerpt_answer(s->passages, s->npassages,
					   "no language model is configured, so these are the "
					   "passages themselves",
					   s->many);
		a.citations = citations_text(s->passages, s->npassages, NULL);
		snprintf(a.status, sizeof a.status, "excerpt");
		snprintf(a.source, sizeof a.source, "offline");
		enum store_rc why = STORE_ERROR;
		if (!a.content || !a.citations ||
		    !store_answer(cx->conn, app, ch.org_id, ch.id, in->content, &a, qid, &why)) {
			free(a.content);
			free(a.citations);
			stream_unref(s);
			quota_unreserve(cx->conn, ch.org_id, QUOTA_CHAT);
			if (why == STORE_NOT_FOUND)
				not_found(r, ch.id);
			else
				api_db_fail(r, why, "save chat message");
			return;
		}
		struct buf done = {0};
		event_json(&done, "done", done_json(&a, qid));
		s->paced_done = buf_append(&done, "", 1) < 0 ? NULL : buf_steal(&done);
		buf_free(&done);
		s->paced = a.content;
		free(a.citations);
		if (!s->paced_done) {
			stream_unref(s);
			http_problem_internal(r, "chat");
			return;
		}
	} else {
		s->refs = 2;
		threads_add(1);
		pthread_attr_t attr;
		pthread_t th;
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		int err = pthread_create(&th, &attr, model_thread, s);
		pthread_attr_destroy(&attr);
		if (err) {
			threads_add(-1);
			s->refs = 1;
			stream_unref(s);
			quota_unreserve(cx->conn, ch.org_id, QUOTA_CHAT);
			http_add_header(r, "Retry-After", "5");
			http_problem(r, 503, "server_busy",
				     "The server cannot start another answer right now. Retry in "
				     "a few seconds.");
			return;
		}
	}
	api_conn_release(cx);
	http_reply_sse(r, STREAM_TICK_MS, tick, s, stream_gone);
}

#define CHAT_ROUTE .auth = AUTH_BEARER, .db = DB_CONN_HELD, .perm = PERM_READ

static const struct route ROUTES[] = {
    {.method = M_POST,
     .pattern = "/api/v1/chats",
     .body = BODY_JSON,
     .json = &CREATE_SPEC,
     .check = create_check,
     CHAT_ROUTE,
     .run = create_chat},
    {.method = M_GET,
     .pattern = "/api/v1/chats",
     .check = api_page_check,
     CHAT_ROUTE,
     .run = list_chats},
    {.method = M_GET, .pattern = "/api/v1/chats/{id}", CHAT_ROUTE, .run = get_chat},
    {.method = M_POST,
     .pattern = "/api/v1/chats/{id}/messages",
     .body = BODY_JSON,
     .json = &MESSAGE_SPEC,
     .check = message_check,
     CHAT_ROUTE,
     .run = post_message},
};

size_t api_chats_routes(const struct route **out)
{
	*out = ROUTES;
	return ARRAY_LEN(ROUTES);
}
