/*
 * transcripts.c — a meeting's transcript: read it (JSON or an export, the
 * current text or the machine original or any revision), and edit it: a
 * segment's text or speaker, speaker names, merging speakers, restoring a
 * revision. Every edit is a revision (store/revisions.h).
 *
 * Concurrency: the transcript's version is its ETag ("t<version>"). An edit
 * sent with If-Match is applied only to a version it names (412 with the
 * current ETag otherwise), so two people never overwrite each other
 * silently. An edit without If-Match (or with "*") applies to whatever is
 * current (retried a few times if another edit lands in between). An edit
 * that changes nothing makes no revision and keeps the version.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "auth/authz.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "core/transcript.h"
#include "core/utf8.h"
#include "export/export.h"
#include "jobs/insights.h"
#include "store/meetings.h"
#include "store/revisions.h"

#define SEGMENT_TEXT_MAX 10000 /* code points */
#define EDIT_TRIES	 3

/* ---- shared steps ---- */

/* The meeting named in the path, if the caller may read it (edit: change it). */
static bool load(struct api_ctx *cx, struct meeting *m, bool edit)
{
	return api_meeting_load(cx, m, edit ? ACCESS_EDIT : ACCESS_READ);
}

/*
 * Whether the caller may edit m's transcript: the meeting allows it (their
 * role, or a collection's editor grant) and so do their credentials (an API
 * key needs the write scope). The reply says so as can_edit, so that an app
 * offers only the changes that will be accepted.
 */
static bool may_edit(struct api_ctx *cx, const struct meeting *m)
{
	enum meeting_access a;
	char org[UUID_STR_LEN];
	return !authn_scope_denied(cx->principal, "PATCH", http_path(cx->req)) &&
	       authz_meeting_access(cx->conn, cx->principal, m->id, &a, org) == 0 &&
	       a == ACCESS_EDIT;
}

static void no_transcript(struct http_req *r, const struct meeting *m)
{
	http_problem(r, 409, "transcript_not_ready",
		     "There is no transcript yet: the meeting is %s.%s", m->status,
		     !strcmp(m->status, "failed") ? " Start transcription again." : "");
}

static void set_etag(struct http_req *r, int64_t version)
{
	char tag[40];
	snprintf(tag, sizeof tag, "\"t%" PRId64 "\"", version);
	http_add_header(r, "ETag", tag);
}

/* "*" alone (optional white space around it): If-Match for any current version. */
static bool if_match_any(const char *h)
{
	h += strspn(h, " \t");
	return *h == '*' && h[1 + strspn(h + 1, " \t")] == '\0';
}

/*
 * Whether If-Match h holds for version (RFC 9110 13.1.1): "*", or a
 * comma-separated list of entity tags one of which is the ETag we give for
 * it, "t<version>" (also weak: a proxy that compresses may weaken our
 * tags). Empty list elements are skipped; a list that does not parse, or
 * names nothing, never holds.
 */
static bool if_match_holds(const char *h, int64_t version)
{
	char ours[32];
	int n = snprintf(ours, sizeof ours, "t%" PRId64, version);
	bool hit = false, any = false;
	if (if_match_any(h))
		return true;
	for (const char *p = h;;) {
		p += strspn(p, " \t");
		if (*p == ',') {
			p++;
			continue;
		}
		if (!*p)
			return any && hit;
		if (!strncmp(p, "W/", 2))
			p += 2;
		const char *q = *p == '"' ? strchr(p + 1, '"') : NULL;
		if (!q)
			return false;
		any = true;
		if (q - p - 1 == n && !memcmp(p + 1, ours, (size_t)n))
			hit = true;
		p = q + 1;
		p += strspn(p, " \t");
		if (*p && *p != ',')
			return false;
	}
}

static void precondition_failed(struct http_req *r, int64_t current)
{
	set_etag(r, current);
	http_problem(r, 412, "version_mismatch",
		     "The transcript changed since you loaded it (it is now at version %" PRId64
		     "). Load it again, redo your change on the current text, and send it with "
		     "the new ETag in If-Match.",
		     current);
}

/* Parse a stored transcript body; false (and a 500 reply) when it is damaged. */
static bool parse_body(struct http_req *r, const char *text, struct transcript *t)
{
	json_t *j = json_loads(text, 0, NULL);
	int rc = j ? transcript_from_json(j, t) : -1;
	json_decref(j);
	if (rc < 0) {
		memset(t, 0, sizeof *t);
		http_problem_internal(r, "stored transcript is damaged");
		return false;
	}
	return true;
}

/* The transcript reply: the meeting's engine details, the version, then the transcript. */
static json_t *transcript_reply(const struct meeting *m, const struct meeting_transcript *row,
				const struct transcript *t, int64_t version)
{
	json_t *out = transcript_to_json(t);
	json_t *head = json_pack("{s:s,s:s,s:s,s:f,s:I,s:o}", "meeting_id", m->id, "provider",
				 row->provider, "model", row->model, "confidence", row->confidence,
				 "version", (json_int_t)version, "updated_at",
				 api_time(row->updated_at ? row->updated_at : row->created_at));
	if (!out || !head) {
		json_decref(out);
		json_decref(head);
		return NULL;
	}
	json_object_update(head, out);
	json_decref(out);
	return head;
}

/* An ASCII file name from a title: letters, digits, '-'. */
static void slug(const char *title, char *out, size_t outlen)
{
	size_t n = 0;
	bool dash = false;
	for (const unsigned char *p = (const unsigned char *)title; *p && n + 1 < outlen && n < 80;
	     p++) {
		if (isalnum(*p)) {
			out[n++] = (char)*p;
			dash = false;
		} else if (!dash && n) {
			out[n++] = '-';
			dash = true;
		}
	}
	while (n && out[n - 1] == '-')
		n--;
	out[n] = '\0';
	if (!n)
		snprintf(out, outlen, "transcript");
}

/* ---- reading ---- */

struct read_in {
	enum export_format format; /* 0: JSON */
	int64_t version;	   /* 0 current, -1 the machine original, else a revision */
};

/*
 * ?format= and ?version= (absent or "current", "original", or a revision
 * number), checked before the caller or the database are.
 */
static void read_check(struct api_ctx *cx, json_t **errors)
{
	struct read_in *in = API_IN(cx, struct read_in);
	const char *fmt = http_query(cx->req, "format"), *v = http_query(cx->req, "version");
	if (fmt && !(in->format = export_parse(fmt)))
		jv_error(errors, "format", "must be one of txt, srt, vtt, json, docx, pdf");
	if (!v || !strcmp(v, "current"))
		return;
	if (!strcmp(v, "original")) {
		in->version = -1;
		return;
	}
	char *end;
	long long n = strtoll(v, &end, 10);
	if (*v && !*end && n >= 1 && isdigit((unsigned char)*v))
		in->version = n;
	else
		jv_error(
		    errors, "version",
		    "must be \"current\", \"original\" or a revision number from the revisions "
		    "list");
}

static void get_transcript(struct api_ctx *cx)
{
	const struct read_in *in = API_IN(cx, struct read_in);
	struct http_req *r = cx->req;
	enum export_format f = in->format;
	int64_t want = in->version;
	struct meeting m;
	struct meeting_transcript row = {0};
	struct revision rev = {0};
	struct transcript tr = {0};
	if (!load(cx, &m, false))
		goto out;
	int rc = meeting_transcript_get(cx->conn, m.org_id, m.id, &row);
	if (rc == STORE_OK && want > 0)
		rc = revision_get(cx->conn, m.org_id, m.id, want, &rev);
	if (rc == STORE_OK && f)
		api_meeting_audit_read(cx, &m, "meeting.export");
	bool can_edit = rc == STORE_OK && !f && may_edit(cx, &m);
	api_conn_release(cx);
	if (rc == STORE_NOT_FOUND && want > 0 && row.body) {
		http_problem(r, 404, "not_found",
			     "This transcript has no revision %" PRId64 " (old revisions are not "
			     "kept forever). List them at .../transcript/revisions.",
			     want);
		goto out;
	}
	if (rc == STORE_NOT_FOUND) {
		no_transcript(r, &m);
		goto out;
	}
	if (rc) {
		api_db_fail(r, rc, "load transcript");
		goto out;
	}
	const char *body = want > 0 ? rev.body : want < 0 ? row.original : row.body;
	if (!parse_body(r, body, &tr))
		goto out;
	/* The ETag names the current version only: an older text is not something to edit. */
	if (!want)
		set_etag(r, row.version);
	if (!f) {
		json_t *out = transcript_reply(&m, &row, &tr, want > 0 ? want : row.version);
		if (out && want)
			json_object_set_new(out, "version_shown",
					    json_string(want > 0 ? "revision" : "original"));
		if (out)
			json_object_set_new(out, "can_edit", json_boolean(can_edit));
		if (!out)
			http_problem_internal(r, "render transcript");
		else
			http_reply_json(r, 200, out);
	} else {
		size_t len = 0;
		char *text = api_export_render(cx->app, m.org_id, &m, &tr, f, &len);
		if (!text) {
			http_problem_internal(r, "render transcript");
		} else {
			char name[96], disp[160];
			slug(m.title, name, sizeof name);
			char which[32] = "";
			if (want < 0)
				snprintf(which, sizeof which, "-original");
			else if (want > 0)
				snprintf(which, sizeof which, "-v%" PRId64, want);
			snprintf(disp, sizeof disp, "attachment; filename=\"%s%s.%s\"", name, which,
				 export_extension(f));
			http_add_header(r, "Content-Disposition", disp);
			http_reply_text(r, 200, export_mime(f), text, len);
		}
	}
out:
	transcript_free(&tr);
	revision_clear(&rev);
	meeting_transcript_clear(&row);
	meeting_clear(&m);
}

/* ---- editing ---- */

/*
 * An edit: checks its input against t (replying 400/404 itself and
 * returning -1), or changes t and returns 0, with a JSON summary of the
 * change for the revision list in *summary. in is the request body (or, for
 * a restore, the version to restore).
 */
typedef int (*edit_fn)(struct api_ctx *cx, struct transcript *t, json_t *in, json_t **summary);

/* Reply for a revision_save that did not land (rc is not STORE_OK). */
static void save_failed(struct api_ctx *cx, const struct meeting *m, enum store_rc rc)
{
	struct http_req *r = cx->req;
	if (rc == STORE_STALE) {
		struct meeting_transcript now;
		if (meeting_transcript_get(cx->conn, m->org_id, m->id, &now) == STORE_OK) {
			precondition_failed(r, now.version);
			meeting_transcript_clear(&now);
		} else {
			http_problem(
			    r, 409, "edit_conflict",
			    "The transcript kept changing while your edit was saved. Load it "
			    "again and retry.");
		}
	} else if (rc == STORE_MEETING_BUSY) {
		http_problem(r, 409, "meeting_busy",
			     "The meeting is being transcribed again, which will replace this "
			     "transcript. Wait until it is done, then edit the new one.");
	} else if (rc == STORE_NOT_FOUND) {
		no_transcript(r, m);
	} else {
		api_db_fail(r, rc, "save transcript");
	}
}

/*
 * Load the current transcript, check If-Match, apply fn, save it as a
 * revision (action) and reply with the new transcript and ETag. Without
 * If-Match an edit that loses a race is redone on the text that won.
 */
static void edit(struct api_ctx *cx, json_t *in, const char *action, edit_fn fn)
{
	struct http_req *r = cx->req;
	const struct principal *p = cx->principal;
	struct meeting m;
	struct meeting_transcript row = {0};
	struct transcript tr = {0};
	json_t *summary = NULL, *out = NULL;
	char *body = NULL, *text = NULL, *sum = NULL, *before = NULL;
	const char *im = http_header(r, "If-Match");
	/* Naming a version pins the edit to it; without one a lost race is redone. */
	bool pinned = im && !if_match_any(im);
	int64_t version = 0;
	if (!load(cx, &m, true))
		goto done;
	for (int attempt = 0;; attempt++) {
		meeting_transcript_clear(&row);
		transcript_free(&tr);
		json_decref(summary);
		summary = NULL;
		free(body);
		free(text);
		free(sum);
		free(before);
		body = text = sum = before = NULL;
		int rc = meeting_transcript_get(cx->conn, m.org_id, m.id, &row);
		if (rc == STORE_NOT_FOUND) {
			no_transcript(r, &m);
			goto done;
		}
		if (rc) {
			api_db_fail(r, rc, "load transcript");
			goto done;
		}
		if (im && !if_match_holds(im, row.version)) {
			precondition_failed(r, row.version);
			goto done;
		}
		if (!parse_body(r, row.body, &tr))
			goto done;
		json_t *j = transcript_to_json(&tr);
		before = j ? json_dumps(j, JSON_COMPACT) : NULL;
		json_decref(j);
		if (!before) {
			http_problem_internal(r, "edit transcript");
			goto done;
		}
		if (fn(cx, &tr, in, &summary) < 0)
			goto done; /* replied */
		j = transcript_to_json(&tr);
		body = j ? json_dumps(j, JSON_COMPACT) : NULL;
		json_decref(j);
		if (body && !strcmp(body, before)) {
			/* Nothing changed: no revision, and others' ETags stay good. */
			out = transcript_reply(&m, &row, &tr, row.version);
			if (!out) {
				http_problem_internal(r, "render transcript");
				goto done;
			}
			json_object_set_new(out, "can_edit", json_true());
			set_etag(r, row.version);
			http_reply_json(r, 200, out);
			goto done;
		}
		text = transcript_text(&tr);
		sum = summary ? json_dumps(summary, JSON_COMPACT) : strdup("{}");
		if (!body || !text || !sum) {
			http_problem_internal(r, "edit transcript");
			goto done;
		}
		rc = revision_save(cx->conn, m.org_id, m.id, row.version, body, text, p->user_id,
				   action, sum, &version);
		if (rc == STORE_OK)
			break;
		if (rc == STORE_STALE && !pinned && attempt + 1 < EDIT_TRIES)
			continue; /* someone else's edit landed first: redo ours on theirs */
		save_failed(cx, &m, rc);
		goto done;
	}
	/* The summary, action items and exports follow the edited text. */
	if (job_insights_enqueue(cx->conn, m.org_id, m.id, INSIGHTS_EDIT_DELAY_MS) != STORE_OK)
		log_warn("insights not queued after an edit",
			 json_pack("{s:s}", "meeting_id", m.id));
	row.updated_at = 0; /* now */
	out = transcript_reply(&m, &row, &tr, version);
	if (!out) {
		http_problem_internal(r, "render transcript");
		goto done;
	}
	json_object_set_new(out, "updated_at", api_time(time_now_ms()));
	json_object_set_new(out, "can_edit", json_true());
	set_etag(r, version);
	http_reply_json(r, 200, out);
done:
	json_decref(summary);
	free(before);
	free(body);
	free(text);
	free(sum);
	transcript_free(&tr);
	meeting_transcript_clear(&row);
	meeting_clear(&m);
}

/* The speaker named in the path ("S2"), or 0 with a 404 reply. */
static size_t path_speaker(struct http_req *r, const struct transcript *t)
{
	const char *id = http_param(r, "speaker");
	size_t k = transcript_speaker_find(t, id);
	if (!k)
		http_problem(r, 404, "not_found",
			     "This transcript has no speaker %.16s. Speakers are listed in the "
			     "transcript's \"speakers\".",
			     id);
	return k;
}

/* A speaker id from the body field key: its index, or 0 with a field error added. */
static size_t body_speaker(const struct transcript *t, json_t *in, const char *key, json_t **errors)
{
	const char *id = jv_str(in, key);
	size_t k = id ? transcript_speaker_find(t, id) : 0;
	if (!k)
		jv_error(
		    errors, key,
		    "is not a speaker of this transcript; use an id from \"speakers\" (such as "
		    "\"S1\")");
	return k;
}

/* The same words in the same order, whatever white space is between them. */
static bool same_words(const char *a, const char *b)
{
	static const char ws[] = " \t\r\n\f\v";
	for (;;) {
		a += strspn(a, ws);
		b += strspn(b, ws);
		size_t na = strcspn(a, ws), nb = strcspn(b, ws);
		if (na != nb || memcmp(a, b, na))
			return false;
		if (!na)
			return true;
		a += na;
		b += nb;
	}
}

static int edit_segment(struct api_ctx *cx, struct transcript *t, json_t *in, json_t **summary)
{
	struct http_req *r = cx->req;
	const char *idx = http_param(r, "index");
	char *end;
	long i = strtol(idx, &end, 10);
	json_t *errors = NULL;
	if (!*idx || *end || !isdigit((unsigned char)*idx) || i < 0 || (size_t)i >= t->nsegments) {
		http_problem(r, 404, "not_found",
			     "This transcript has no segment %.20s (it has %zu, numbered from 0).",
			     idx, t->nsegments);
		return -1;
	}
	struct transcript_segment *seg = &t->segments[i];
	char before_spk[8], after_spk[8];
	transcript_speaker_id(t, seg->speaker, before_spk);
	size_t speaker = seg->speaker;
	if (json_object_get(in, "speaker"))
		speaker = body_speaker(t, in, "speaker", &errors);
	if (errors) {
		http_problem_validation(r, errors);
		return -1;
	}
	*summary = json_pack("{s:i}", "segment", (int)i);
	const char *text = jv_str(in, "text");
	if (text && !same_words(text, seg->text ? seg->text : "")) {
		char *old = strdup(seg->text ? seg->text : "");
		if (!old || transcript_set_text(t, (size_t)i, text) < 0) {
			free(old);
			http_problem_internal(r, "edit segment");
			return -1;
		}
		json_object_set_new(*summary, "text_before", json_string(old));
		json_object_set_new(*summary, "text", json_string(t->segments[i].text));
		free(old);
	}
	if (speaker != t->segments[i].speaker) {
		t->segments[i].speaker = speaker;
		transcript_speaker_id(t, speaker, after_spk);
		json_object_set_new(*summary, "speaker_before",
				    before_spk[0] ? json_string(before_spk) : json_null());
		json_object_set_new(*summary, "speaker", json_string(after_spk));
	}
	return 0;
}

static const struct jv_field SEGMENT_FIELDS[] = {
    {.name = "text", .type = JV_STRING, .max_len = SEGMENT_TEXT_MAX},
    {.name = "speaker", .type = JV_STRING, .max_len = 8},
};
static const struct jv_spec SEGMENT_SPEC = {JV_FIELDS(SEGMENT_FIELDS)};

static void patch_segment_check(struct api_ctx *cx, json_t **errors)
{
	const char *text = jv_str(cx->body, "text"), *why;
	if (!json_object_get(cx->body, "text") && !json_object_get(cx->body, "speaker"))
		jv_error(errors, "text", "give the segment's new text, a speaker, or both");
	if (text) {
		if (!utf8_text_ok(text, &why))
			jv_error(errors, "text", "%s", why);
		else if (transcript_text_blank(text))
			jv_error(errors, "text",
				 "must not be empty (nor only spaces or invisible characters); to "
				 "remove words, leave at least one");
	}
}

static void patch_segment(struct api_ctx *cx)
{
	edit(cx, cx->body, "edit_segment", edit_segment);
}

static int rename_speaker(struct api_ctx *cx, struct transcript *t, json_t *in, json_t **summary)
{
	size_t k = path_speaker(cx->req, t);
	char id[8], before[TRANSCRIPT_NAME_MAX * 4 + 16];
	if (!k)
		return -1;
	const char *name = jv_str(in, "name");
	transcript_speaker_id(t, k, id);
	transcript_speaker_display(t, k, before, sizeof before);
	if (transcript_speaker_rename(t, k, name) < 0) {
		http_problem_internal(cx->req, "rename speaker");
		return -1;
	}
	char after[sizeof before];
	transcript_speaker_display(t, k, after, sizeof after);
	*summary = json_pack("{s:s,s:s,s:s}", "speaker", id, "name_before", before, "name", after);
	return 0;
}

static const struct jv_field SPEAKER_FIELDS[] = {
    /* Required, but null (clear the name) is a value: checked in put_speaker_check. */
    {.name = "name", .type = JV_STRING, .null = JV_NULL_OK, .max_len = TRANSCRIPT_NAME_MAX},
};
static const struct jv_spec SPEAKER_SPEC = {JV_FIELDS(SPEAKER_FIELDS)};

static void put_speaker_check(struct api_ctx *cx, json_t **errors)
{
	const char *name = jv_str(cx->body, "name"), *why;
	if (!json_object_get(cx->body, "name"))
		jv_error(errors, "name", "is required (a string, or null to clear the name)");
	else if (name && *name && !utf8_text_ok(name, &why))
		jv_error(errors, "name", "%s", why);
	else if (name && *name && transcript_text_blank(name))
		jv_error(errors, "name",
			 "must not be only spaces or invisible characters (an empty name or null "
			 "clears it)");
}

static void put_speaker(struct api_ctx *cx)
{
	edit(cx, cx->body, "rename_speaker", rename_speaker);
}

static int merge_speaker(struct api_ctx *cx, struct transcript *t, json_t *in, json_t **summary)
{
	size_t from = path_speaker(cx->req, t);
	json_t *errors = NULL;
	char a[8], b[8];
	if (!from)
		return -1;
	size_t into = body_speaker(t, in, "into", &errors);
	if (!errors && into == from)
		jv_error(&errors, "into", "is the same speaker: merge a speaker into another one");
	if (errors) {
		http_problem_validation(cx->req, errors);
		return -1;
	}
	transcript_speaker_id(t, from, a);
	transcript_speaker_id(t, into, b);
	if (transcript_speaker_merge(t, from, into) < 0) {
		http_problem_internal(cx->req, "merge speakers");
		return -1;
	}
	*summary = json_pack("{s:s,s:s}", "speaker", a, "into", b);
	return 0;
}

static const struct jv_field MERGE_FIELDS[] = {
    {.name = "into", .type = JV_STRING, .presence = JV_REQUIRED, .max_len = 8},
};
static const struct jv_spec MERGE_SPEC = {JV_FIELDS(MERGE_FIELDS)};

static void post_merge(struct api_ctx *cx)
{
	edit(cx, cx->body, "merge_speakers", merge_speaker);
}

/* ---- revisions ---- */

static json_t *revision_json(const struct revision *v)
{
	json_t *summary = json_loads(v->summary ? v->summary : "{}", 0, NULL);
	json_t *author = v->author_id[0]
			     ? json_pack("{s:s,s:s}", "id", v->author_id, "email", v->author_email)
			     : json_null();
	return json_pack("{s:I,s:s,s:o,s:o,s:o}", "version", (json_int_t)v->version, "action",
			 v->action, "author", author, "summary", summary ? summary : json_object(),
			 "created_at", api_time(v->created_at));
}

/* What the revision routes parsed before running. */
struct revision_in {
	int limit;
	int64_t before;	 /* list: the cursor's version (0: from the newest) */
	int64_t version; /* one revision: the path's number */
};

/* The revision number in the path: a 404 reply when it is not one. */
static void revision_path_check(struct api_ctx *cx, json_t **errors)
{
	const char *s = http_param(cx->req, "version");
	char *end;
	long long v = strtoll(s, &end, 10);
	if (!*s || *end || !isdigit((unsigned char)*s) || v < 1)
		http_problem(cx->req, 404, "not_found", "There is no revision %.20s.", s);
	else
		API_IN(cx, struct revision_in)->version = v;
}

/* ?limit= and ?cursor= ("r<version>", as next_cursor gives it). */
static void list_revisions_check(struct api_ctx *cx, json_t **errors)
{
	struct revision_in *in = API_IN(cx, struct revision_in);
	const char *cur = http_query(cx->req, "cursor");
	api_limit(cx->req, &in->limit, errors);
	if (cur && *cur) {
		char *end;
		long long v = cur[0] == 'r' ? strtoll(cur + 1, &end, 10) : 0;
		if (v < 1 || *end)
			jv_error(errors, "cursor",
				 "is not a cursor this API gave out; use next_cursor from the last "
				 "page");
		else
			in->before = v;
	}
}

static void list_revisions(struct api_ctx *cx)
{
	const struct revision_in *in = API_IN(cx, struct revision_in);
	struct http_req *r = cx->req;
	int limit = in->limit;
	struct meeting m;
	struct revision list[101];
	int n = 0;
	if (!load(cx, &m, false))
		goto out;
	enum store_rc rc = revision_list(cx->conn, m.org_id, m.id, in->before, list, limit + 1, &n);
	api_conn_release(cx);
	if (rc) {
		api_db_fail(r, rc, "list revisions");
		goto out;
	}
	json_t *data = json_array();
	for (int i = 0; i < n && i < limit; i++)
		json_array_append_new(data, revision_json(&list[i]));
	json_t *next = json_null();
	if (n > limit) {
		char cbuf[32];
		snprintf(cbuf, sizeof cbuf, "r%" PRId64, list[limit - 1].version);
		json_decref(next);
		next = json_string(cbuf);
	}
	for (int i = 0; i < n; i++)
		revision_clear(&list[i]);
	http_reply_json(r, 200, json_pack("{s:o,s:o}", "data", data, "next_cursor", next));
out:
	meeting_clear(&m);
}

static void revision_gone(struct http_req *r, int64_t v)
{
	http_problem(
	    r, 404, "not_found",
	    "This transcript has no revision %" PRId64 " (old revisions are not kept forever).", v);
}

static void get_revision(struct api_ctx *cx)
{
	struct http_req *r = cx->req;
	int64_t v = API_IN(cx, struct revision_in)->version;
	struct meeting m;
	struct revision rev = {0};
	struct transcript tr = {0};
	if (!load(cx, &m, false))
		goto out;
	int rc = revision_get(cx->conn, m.org_id, m.id, v, &rev);
	api_conn_release(cx);
	if (rc == STORE_NOT_FOUND) {
		revision_gone(r, v);
		goto out;
	}
	if (rc) {
		api_db_fail(r, rc, "load revision");
		goto out;
	}
	if (!parse_body(r, rev.body, &tr))
		goto out;
	json_t *out = revision_json(&rev);
	json_object_set_new(out, "transcript", transcript_to_json(&tr));
	http_reply_json(r, 200, out);
out:
	transcript_free(&tr);
	revision_clear(&rev);
	meeting_clear(&m);
}

static int restore(struct api_ctx *cx, struct transcript *t, json_t *in, json_t **summary)
{
	struct revision rev = {0};
	struct transcript old = {0};
	int64_t v = json_integer_value(json_object_get(in, "version"));
	const char *id = http_param(cx->req, "id");
	enum meeting_access a;
	char org[UUID_STR_LEN];
	/* The meeting's organization (a collection guest's active one is another). */
	int rc = authz_meeting_access(cx->conn, cx->principal, id, &a, org);
	if (!rc)
		rc = a == ACCESS_EDIT ? revision_get(cx->conn, org, id, v, &rev) : STORE_NOT_FOUND;
	if (rc == STORE_NOT_FOUND) {
		revision_gone(cx->req, v);
		return -1;
	}
	if (rc) {
		api_db_fail(cx->req, rc, "load revision");
		return -1;
	}
	bool ok = parse_body(cx->req, rev.body, &old);
	revision_clear(&rev);
	if (!ok)
		return -1;
	transcript_free(t);
	*t = old;
	*summary = json_pack("{s:I}", "restored_version", (json_int_t)v);
	return 0;
}

static void post_restore(struct api_ctx *cx)
{
	json_t *in =
	    json_pack("{s:I}", "version", (json_int_t)API_IN(cx, struct revision_in)->version);
	if (!in) {
		http_problem_internal(cx->req, "restore");
		return;
	}
	edit(cx, in, "restore", restore);
	json_decref(in);
}

#define TRANSCRIPT_ROUTE .auth = AUTH_BEARER, .db = DB_CONN_HELD

static const struct route ROUTES[] = {
    {.method = M_GET,
     .pattern = "/api/v1/meetings/{id}/transcript",
     .check = read_check,
     TRANSCRIPT_ROUTE,
     .perm = PERM_READ,
     .run = get_transcript},
    {.method = M_PATCH,
     .pattern = "/api/v1/meetings/{id}/transcript/segments/{index}",
     .body = BODY_JSON,
     .json = &SEGMENT_SPEC,
     .check = patch_segment_check,
     TRANSCRIPT_ROUTE,
     .perm = PERM_EDIT_TRANSCRIPT,
     .run = patch_segment},
    {.method = M_PUT,
     .pattern = "/api/v1/meetings/{id}/transcript/speakers/{speaker}",
     .body = BODY_JSON,
     .json = &SPEAKER_SPEC,
     .check = put_speaker_check,
     TRANSCRIPT_ROUTE,
     .perm = PERM_EDIT_TRANSCRIPT,
     .run = put_speaker},
    {.method = M_POST,
     .pattern = "/api/v1/meetings/{id}/transcript/speakers/{speaker}/merge",
     .body = BODY_JSON,
     .json = &MERGE_SPEC,
     TRANSCRIPT_ROUTE,
     .perm = PERM_EDIT_TRANSCRIPT,
     .run = post_merge},
    {.method = M_GET,
     .pattern = "/api/v1/meetings/{id}/transcript/revisions",
     .check = list_revisions_check,
     TRANSCRIPT_ROUTE,
     .perm = PERM_READ,
     .run = list_revisions},
    {.method = M_GET,
     .pattern = "/api/v1/meetings/{id}/transcript/revisions/{version}",
     .check = revision_path_check,
     TRANSCRIPT_ROUTE,
     .perm = PERM_READ,
     .run = get_revision},
    {.method = M_POST,
     .pattern = "/api/v1/meetings/{id}/transcript/revisions/{version}/restore",
     .check = revision_path_check,
     TRANSCRIPT_ROUTE,
     .perm = PERM_EDIT_TRANSCRIPT,
     .run = post_restore},
};

size_t api_transcripts_routes(const struct route **out)
{
	*out = ROUTES;
	return ARRAY_LEN(ROUTES);
}
