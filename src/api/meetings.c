/*
 * meetings.c — /api/v1/meetings: the meeting (IAM's unit of audio), its
 * audio, transcription, transcript and exports, and its live events.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "auth/authn.h"
#include "auth/authz.h"
#include "billing/meter.h"
#include "service/quota.h"
#include "asr/asr.h"
#include "asr/diarize.h"
#include "blob/blob.h"
#include "bus/bus.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "core/transcript.h"
#include "core/utf8.h"
#include "export/export.h"
#include "store/audit.h"
#include "store/meetings.h"
#include "store/orgs.h"
#include "store/uploads.h"

static const char *const STATUSES[] = {"pending",    "uploaded",  "queued",
				       "processing", "completed", "failed"};

static json_t *str_or_null(const char *s)
{
	return s && *s ? json_string(s) : json_null();
}

json_t *api_meeting_json(const struct meeting *m)
{
	json_t *steps = json_loads(m->processing_steps ? m->processing_steps : "[]", 0, NULL);
	if (!json_is_array(steps)) {
		json_decref(steps);
		steps = json_array();
	}
	json_t *j = json_pack("{s:s,s:s,s:s,s:o,s:s,s:i,s:s}", "id", m->id, "title", m->title,
			      "description", m->description ? m->description : "", "meeting_date",
			      api_time(m->meeting_date), "status", m->status, "progress",
			      m->progress, "language", m->language);
	json_object_set_new(j, "audio_format", str_or_null(m->audio_format));
	json_object_set_new(j, "audio_codec", str_or_null(m->audio_codec));
	json_object_set_new(j, "original_filename", str_or_null(m->original_filename));
	json_object_set_new(j, "file_size",
			    m->file_size >= 0 ? json_integer(m->file_size) : json_null());
	json_object_set_new(j, "duration_seconds",
			    m->duration >= 0 ? json_real(m->duration) : json_null());
	json_object_set_new(j, "provider_used", str_or_null(m->provider_used));
	json_object_set_new(j, "model_used", str_or_null(m->model_used));
	json_object_set_new(j, "transcription_confidence",
			    m->confidence >= 0 ? json_real(m->confidence) : json_null());
	json_object_set_new(j, "processing_started_at", api_time(m->processing_started_at));
	json_object_set_new(j, "processing_completed_at", api_time(m->processing_completed_at));
	json_object_set_new(j, "processing_error", str_or_null(m->processing_error));
	json_object_set_new(j, "processing_steps", steps);
	json_object_set_new(j, "created_at", api_time(m->created_at));
	json_object_set_new(j, "updated_at", api_time(m->updated_at));
	return j;
}

static json_t *meeting_permissions(struct api_ctx *cx, const struct meeting *m);

json_t *api_meeting_json_for(struct api_ctx *cx, const struct meeting *m)
{
	json_t *out = api_meeting_json(m);
	if (out)
		json_object_set_new(out, "permissions", meeting_permissions(cx, m));
	return out;
}

/* Read the meeting back (after a change) and reply status with it; m is cleared. */
static void reply_reloaded(struct api_ctx *cx, struct db_conn *c, struct meeting *m, int status)
{
	struct http_req *r = cx->req;
	char id[UUID_STR_LEN], org[UUID_STR_LEN];
	snprintf(id, sizeof id, "%s", m->id);
	snprintf(org, sizeof org, "%s", m->org_id);
	meeting_clear(m);
	if (meeting_get(c, org, id, m) == STORE_OK)
		http_reply_json(r, status, api_meeting_json_for(cx, m));
	else
		http_problem_internal(r, "reload meeting");
}

static bool language_ok(const char *s)
{
	size_t n = strlen(s);
	if (n < 2 || n > 15)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalpha((unsigned char)s[i]) && !(s[i] == '-' && i >= 2 && i + 1 < n))
			return false;
	return true;
}

/* Apply title/description/meeting_date/language from in to m; errors collected. */
static void apply_details(json_t *in, struct meeting *m, json_t **errors)
{
	const char *title = jv_str(in, "title");
	if (title) {
		const char *p = title;
		while (isspace((unsigned char)*p))
			p++;
		const char *why;
		if (!*p)
			jv_error(errors, "title", "must not be blank");
		else if (!utf8_text_ok(title, &why))
			jv_error(errors, "title", "%s", why);
		snprintf(m->title, sizeof m->title, "%s", title);
	}
	json_t *v = json_object_get(in, "description");
	if (v) {
		free(m->description);
		m->description = strdup(json_is_string(v) ? json_string_value(v) : "");
	}
	v = json_object_get(in, "meeting_date");
	if (v) {
		if (json_is_null(v)) {
			m->meeting_date = 0;
		} else {
			int64_t t = time_parse_rfc3339(json_string_value(v));
			if (t < 0)
				jv_error(
				    errors, "meeting_date",
				    "must be an RFC 3339 date-time such as 2026-11-22T10:00:00Z");
			else
				m->meeting_date = t;
		}
	}
	const char *lang = jv_str(in, "language");
	if (lang) {
		if (!language_ok(lang))
			jv_error(errors, "language", "must be a language code such as en or en-US");
		else
			snprintf(m->language, sizeof m->language, "%s", lang);
	}
}

/* Destinations are not used: apply_details tells absent from null itself. */
static const struct jv_field DETAIL_FIELDS[] = {
    {.name = "title", .type = JV_STRING, .min_len = 1, .max_len = MEETING_TITLE_MAX},
    {.name = "description",
     .type = JV_STRING,
     .null = JV_NULL_OK,
     .max_len = MEETING_DESCRIPTION_MAX},
    {.name = "meeting_date", .type = JV_STRING, .null = JV_NULL_OK, .max_len = 64},
    {.name = "language", .type = JV_STRING, .max_len = 15},
};
static const struct jv_spec DETAIL_SPEC = {JV_FIELDS(DETAIL_FIELDS)};

/* Every problem of the details at once, not only the first field's. */
static void details_check(struct api_ctx *cx, json_t **errors)
{
	struct meeting m;
	meeting_init(&m);
	apply_details(cx->body, &m, errors);
	meeting_clear(&m);
}

static void create_meeting_check(struct api_ctx *cx, json_t **errors)
{
	json_t *title = json_object_get(cx->body, "title");
	if (!title || json_is_null(title))
		jv_error(errors, "title", "is required");
	details_check(cx, errors);
}

static void create_meeting(struct api_ctx *cx)
{
	struct http_req *r = cx->req;
	struct db_conn *c = cx->conn;
	const struct principal p = *cx->principal;
	json_t *errors = NULL;
	struct meeting m;
	meeting_init(&m);
	/* The organization's default language, unless the request names one. */
	struct org o;
	if (org_get(c, p.org_id, p.user_id, &o) == STORE_OK && o.default_language[0])
		snprintf(m.language, sizeof m.language, "%s", o.default_language);
	apply_details(cx->body, &m, &errors); /* checked by create_meeting_check */
	json_decref(errors);
	struct api_idem idem = {0};
	size_t blen;
	const char *raw = http_body(r, &blen);
	if (!api_idem_begin(r, c, &p, raw, blen, &idem))
		goto out;
	snprintf(m.org_id, sizeof m.org_id, "%s", p.org_id);
	snprintf(m.created_by, sizeof m.created_by, "%s", p.user_id);
	int rc = meeting_create(c, &m);
	if (rc) {
		api_idem_abandon(c, &idem);
		api_db_fail(r, rc, "create meeting");
		goto out;
	}
	char loc[80];
	snprintf(loc, sizeof loc, "/api/v1/meetings/%s", m.id);
	http_add_header(r, "Location", loc);
	json_t *body = api_meeting_json_for(cx, &m);
	json_t *hdrs = json_pack("{s:s}", "Location", loc);
	api_idem_store(c, &idem, 201, body, hdrs); /* a retry with the key gets this same reply */
	json_decref(hdrs);
	http_reply_json(r, 201, body);
out:
	meeting_clear(&m);
}

struct list_in {
	struct api_page_in page; /* first: api_page_check fills it */
	const char *status;
};

static void list_meetings_check(struct api_ctx *cx, json_t **errors)
{
	api_page_check(cx, errors);
	if (http_replied(cx->req))
		return;
	struct list_in *in = API_IN(cx, struct list_in);
	const char *status = http_query(cx->req, "status");
	if (status) {
		bool ok = false;
		for (size_t i = 0; i < ARRAY_LEN(STATUSES) && !ok; i++)
			ok = strcmp(status, STATUSES[i]) == 0;
		if (!ok)
			jv_error(errors, "status",
				 "must be one of pending, uploaded, queued, processing, completed, "
				 "failed");
	}
	in->status = status;
}

static void list_meetings(struct api_ctx *cx)
{
	const struct list_in *in = API_IN(cx, struct list_in);
	struct http_req *r = cx->req;
	struct db_conn *c = cx->conn;
	const struct principal p = *cx->principal;
	int limit = in->page.limit;
	const char *cursor = in->page.cursor, *status = in->status;
	struct meeting *list = NULL;
	size_t n = 0;
	int rc = meeting_list(c, p.org_id, status, cursor[0] ? cursor : NULL, limit + 1, &list, &n);
	if (rc) {
		api_db_fail(r, rc, "list meetings");
		return;
	}
	json_t *data = json_array();
	size_t shown = n > (size_t)limit ? (size_t)limit : n;
	for (size_t i = 0; i < shown; i++)
		json_array_append_new(data, api_meeting_json(&list[i]));
	json_t *next = n > (size_t)limit ? api_cursor(list[shown - 1].id) : json_null();
	for (size_t i = 0; i < n; i++)
		meeting_clear(&list[i]);
	free(list);
	http_reply_json(r, 200, json_pack("{s:o,s:o}", "data", data, "next_cursor", next));
}

/* Load the meeting in the path for the caller. Replies 404 (or 503/500) on failure. */
static bool load(struct api_ctx *cx, struct meeting *m)
{
	meeting_init(m);
	const char *id = http_param(cx->req, "id");
	int rc = meeting_get(cx->conn, cx->principal->org_id, id, m);
	if (rc == STORE_NOT_FOUND) {
		http_problem(cx->req, 404, "not_found",
			     "There is no meeting %s in your organization.", id);
		return false;
	}
	if (rc) {
		api_db_fail(cx->req, rc, "load meeting");
		return false;
	}
	return true;
}

bool api_meeting_load(struct api_ctx *cx, struct meeting *m, enum meeting_access need)
{
	meeting_init(m);
	const char *id = http_param(cx->req, "id");
	enum meeting_access a;
	char org[UUID_STR_LEN];
	int rc = authz_meeting_access(cx->conn, cx->principal, id, &a, org);
	if (!rc)
		rc = a == ACCESS_NONE ? STORE_NOT_FOUND : meeting_get(cx->conn, org, id, m);
	if (rc == STORE_NOT_FOUND) {
		http_problem(cx->req, 404, "not_found", "There is no meeting %s that you can see.",
			     id);
		return false;
	}
	if (rc) {
		api_db_fail(cx->req, rc, "load meeting");
		return false;
	}
	if (a < need) {
		http_problem(cx->req, 403, "forbidden",
			     "You may read this meeting but not change it. Ask an owner of the "
			     "collection it is shared in for the editor role.");
		meeting_clear(m);
		return false;
	}
	return true;
}

void api_meeting_audit_read(struct api_ctx *cx, const struct meeting *m, const char *action)
{
	const struct principal *p = cx->principal;
	if (!p || strcmp(m->org_id, p->org_id) == 0) {
		api_audit_read(cx, action, "meeting", m->id);
		return;
	}
	/* A collection guest: the read belongs in the meeting's organization's log. */
	struct db_conn *c = api_conn(cx);
	if (!c)
		return;
	struct audit_ctx ctx;
	api_audit_ctx(cx->req, &ctx);
	audit_record_once(c, m->org_id, p->user_id, action, "meeting", m->id,
			  API_AUDIT_READ_WINDOW_MS, &ctx, json_pack("{s:s}", "via", "collection"));
}

/*
 * What the caller may do with m, so that an app offers only what will be
 * accepted: in their active organization by their role, else through a
 * collection (an editor's grant edits the transcript, nothing more); and in
 * either case what their credentials' scope allows (an API key's).
 */
static json_t *meeting_permissions(struct api_ctx *cx, const struct meeting *m)
{
	const struct principal *p = cx->principal;
	if (!p)
		return json_object();
	bool member = strcmp(m->org_id, p->org_id) == 0;
	enum meeting_access a = ACCESS_NONE;
	char org[UUID_STR_LEN], path[128], sub[160];
	struct db_conn *c = api_conn(cx);
	if (!c || authz_meeting_access(c, p, m->id, &a, org) != 0)
		a = ACCESS_NONE;
	snprintf(path, sizeof path, "/api/v1/meetings/%s", m->id);
#define MAY(perm, method, tail)                                                                    \
	(snprintf(sub, sizeof sub, "%s%s", path, tail),                                            \
	 member && authz_may(p->role, perm) && !authn_scope_denied(p, method, sub))
	json_t *out = json_pack(
	    "{s:b, s:b, s:b, s:b, s:b, s:b}", "edit_transcript",
	    a == ACCESS_EDIT && (snprintf(sub, sizeof sub, "%s/transcript", path),
				 !authn_scope_denied(p, "PATCH", sub)),
	    "rename", MAY(PERM_CREATE_MEETING, "PUT", ""), "upload",
	    MAY(PERM_UPLOAD, "POST", "/upload"), "transcribe",
	    MAY(PERM_TRANSCRIBE, "POST", "/transcribe"), "share",
	    MAY(PERM_SHARE, "POST", "/shares"), "delete", MAY(PERM_DELETE_MEETING, "DELETE", ""));
#undef MAY
	return out;
}

static void get_meeting(struct api_ctx *cx)
{
	struct meeting m;
	if (!api_meeting_load(cx, &m, ACCESS_READ))
		return;
	api_meeting_audit_read(cx, &m, "meeting.read");
	http_reply_json(cx->req, 200, api_meeting_json_for(cx, &m));
	meeting_clear(&m);
}

static void put_meeting(struct api_ctx *cx)
{
	struct http_req *r = cx->req;
	struct db_conn *c = cx->conn;
	json_t *errors = NULL;
	struct meeting m;
	if (!load(cx, &m))
		return;
	apply_details(cx->body, &m, &errors);
	if (errors) {
		http_problem_validation(r, errors);
		goto out;
	}
	int rc = meeting_update_details(c, &m);
	if (rc) {
		api_db_fail(r, rc, "update meeting");
		goto out;
	}
	reply_reloaded(cx, c, &m, 200);
out:
	meeting_clear(&m);
}

static void delete_meeting(struct api_ctx *cx)
{
	struct http_req *r = cx->req;
	struct db_conn *c = cx->conn;
	const struct principal p = *cx->principal;
	struct meeting m;
	if (!load(cx, &m))
		return;
	char uploads[16][UUID_STR_LEN];
	int nup = 0;
	if (upload_active_for_meeting(c, p.org_id, m.id, uploads, 16, &nup) != STORE_OK)
		nup = 0;
	char key[96];
	int rc = meeting_delete(c, p.org_id, m.id, key);
	if (rc) {
		api_db_fail(r, rc, "delete meeting");
		goto out;
	}
	struct app *app = api_app(r);
	if (key[0] && blob_delete(app->blob, key) < 0)
		log_warn("could not delete audio", json_pack("{s:s}", "key", key));
	for (int i = 0; i < nup; i++) {
		char path[1100];
		snprintf(path, sizeof path, "%.1000s/tus-%.36s", blob_spool_dir(app->blob),
			 uploads[i]);
		unlink(path);
	}
	http_reply_empty(r, 204);
out:
	meeting_clear(&m);
}

/* Is name an engine this deployment runs (IAM_ASR)? */
static bool provider_known(struct app *app, const char *name)
{
	const char *list = app->cfg->asr;
	size_t n = strlen(name);
	for (const char *p = list; p && *p;) {
		while (*p == ' ' || *p == ',')
			p++;
		size_t len = strcspn(p, ", ");
		if (len == n && strncmp(p, name, n) == 0)
			return true;
		p += len;
	}
	return false;
}

struct transcribe_in {
	const char *language, *provider;
	json_int_t speakers_expected, min_speakers, max_speakers;
};

static const struct jv_field TRANSCRIBE_FIELDS[] = {
    {.name = "language",
     .type = JV_STRING,
     .null = JV_NULL_OK,
     .max_len = 15,
     .dest = JV_DEST(struct transcribe_in, language)},
    {.name = "provider",
     .type = JV_STRING,
     .null = JV_NULL_OK,
     .max_len = 15,
     .dest = JV_DEST(struct transcribe_in, provider)},
    {.name = "speakers_expected",
     .type = JV_INT,
     .null = JV_NULL_OK,
     .dest = JV_DEST(struct transcribe_in, speakers_expected)},
    {.name = "min_speakers",
     .type = JV_INT,
     .null = JV_NULL_OK,
     .dest = JV_DEST(struct transcribe_in, min_speakers)},
    {.name = "max_speakers",
     .type = JV_INT,
     .null = JV_NULL_OK,
     .dest = JV_DEST(struct transcribe_in, max_speakers)},
};
static const struct jv_spec TRANSCRIBE_SPEC = {JV_FIELDS(TRANSCRIBE_FIELDS), .empty = JV_EMPTY_OK};

static void transcribe_check(struct api_ctx *cx, json_t **errors)
{
	const struct transcribe_in *in = API_IN(cx, struct transcribe_in);
	if (in->language && !language_ok(in->language))
		jv_error(errors, "language", "must be a language code such as en or en-US");
	if (in->provider && !provider_known(cx->app, in->provider))
		jv_error(errors, "provider", "is not an engine this server runs (IAM_ASR=%s)",
			 cx->app->cfg->asr);
	/* Speaker bounds for diarization: 1..20 when given (a given 0 is refused too). */
	static const char *const keys[] = {"speakers_expected", "min_speakers", "max_speakers"};
	const json_int_t vals[] = {in->speakers_expected, in->min_speakers, in->max_speakers};
	int b[3];
	for (size_t i = 0; i < ARRAY_LEN(keys); i++) {
		bool given = cx->body && json_is_integer(json_object_get(cx->body, keys[i]));
		b[i] = !given ? 0 : vals[i] < 1 || vals[i] > DIAR_MAX_SPEAKERS ? -1 : (int)vals[i];
	}
	struct ingest_speakers spk = {.expected = b[0], .min = b[1], .max = b[2]};
	const char *field, *why = ingest_speakers_problem(&spk, &field);
	if (why)
		jv_error(errors, field, "%s", why);
}

static void transcribe(struct api_ctx *cx)
{
	const struct transcribe_in *in = API_IN(cx, struct transcribe_in);
	struct http_req *r = cx->req;
	struct db_conn *c = cx->conn;
	const char *lang = in->language, *provider = in->provider;
	struct meeting m;
	if (!load(cx, &m))
		return;
	if (!m.audio_key[0]) {
		http_problem(r, 409, "no_audio",
			     "This meeting has no audio yet. Upload audio first.");
		goto out;
	}
	if (!strcmp(m.status, "queued") || !strcmp(m.status, "processing")) {
		http_problem(r, 409, "already_processing",
			     "This meeting is already being transcribed.");
		goto out;
	}
	if (lang) {
		snprintf(m.language, sizeof m.language, "%s", lang);
		meeting_update_details(c, &m);
	}
	/* The whole file must fit the minutes left; unknown length: some minutes must be left. */
	if (!api_quota_allow(r, c, m.org_id, QUOTA_MINUTES,
			     m.duration > 0 ? meter_seconds(m.duration) : 1))
		goto out;
	struct ingest_speakers spk = {.expected = (int)in->speakers_expected,
				      .min = (int)in->min_speakers,
				      .max = (int)in->max_speakers};
	struct quota_usage q;
	bool over = false;
	enum store_rc rc = ingest_queue_within_quota(c, &m, lang, provider, &spk, &q, &over);
	if (over) {
		api_quota_problem(r, &q);
		goto out;
	}
	if (rc == STORE_CONFLICT) {
		http_problem(r, 409, "already_processing",
			     "This meeting is already being transcribed.");
		goto out;
	}
	if (rc) {
		api_db_fail(r, rc, "queue transcription");
		goto out;
	}
	reply_reloaded(cx, c, &m, 202);
	api_jobs_wake(api_app(r));
out:
	meeting_clear(&m);
}

static void get_audio(struct api_ctx *cx)
{
	struct http_req *r = cx->req;
	struct meeting m;
	if (!api_meeting_load(cx, &m, ACCESS_READ))
		return;
	if (m.audio_key[0]) /* once per playback, not for every seek */
		api_meeting_audit_read(cx, &m, "meeting.audio.download");
	api_conn_release(cx); /* not needed while the file is sent */
	if (!m.audio_key[0]) {
		http_problem(r, 404, "no_audio", "This meeting has no audio yet.");
		goto out;
	}
	int fd;
	int64_t size;
	int rc = blob_open_read(api_app(r)->blob, m.audio_key, &fd, &size);
	if (rc) {
		if (rc == BLOB_NOT_FOUND)
			http_problem(r, 404, "no_audio", "The audio of this meeting is missing.");
		else
			http_problem_internal(r, "open audio");
		goto out;
	}
	http_add_header(r, "Cache-Control", "private, no-store");
	http_reply_file(r, fd, size, m.audio_mime[0] ? m.audio_mime : "application/octet-stream",
			"inline");
out:
	meeting_clear(&m);
}

static void issue_ticket(struct api_ctx *cx)
{
	struct http_req *r = cx->req;
	struct principal p = *cx->principal;
	struct meeting m;
	if (!api_meeting_load(cx, &m, ACCESS_READ))
		return;
	if (p.via_api_key)
		snprintf(p.session_id, sizeof p.session_id, "-");
	int64_t exp;
	char *t = ticket_issue(cx->app->ticket_key, &p, m.id, &exp);
	if (!t)
		http_problem_internal(r, "issue ticket");
	else
		http_reply_json(r, 201,
				json_pack("{s:s,s:o}", "ticket", t, "expires_at", api_time(exp)));
	free(t);
	meeting_clear(&m);
}

/* ---- live events ---- */

/*
 * A stream reads the meeting from the database when the bus says it changed
 * ("meeting.status" for its organization, from this process or, through
 * Redis, another) and, as a fallback for changes nobody announced (and a
 * bus without Redis across processes), every WATCH_FALLBACK_MS anyway.
 */
#define WATCH_FALLBACK_MS 5000

struct watch {
	struct watch *next; /* watches, under watch_lock */
	struct app *app;
	char org_id[UUID_STR_LEN];
	char id[UUID_STR_LEN];
	char status[16];
	int progress;
	bool sent;
	_Atomic bool dirty;
	int64_t checked_ms;
};

static pthread_mutex_t watch_lock = PTHREAD_MUTEX_INITIALIZER;
static struct watch *watches;
static struct bus *watch_bus; /* the bus we subscribed to (once) */

static void watch_on_bus(void *ctx, const struct bus_event *ev)
{
	if (ev->scope != BUS_ORG || strcmp(ev->type, "meeting.status") != 0)
		return;
	json_t *d = json_loads(ev->data, 0, NULL);
	const char *id = json_string_value(json_object_get(d, "id"));
	pthread_mutex_lock(&watch_lock);
	for (struct watch *w = watches; id && w; w = w->next)
		if (strcmp(w->id, id) == 0 && strcmp(w->org_id, ev->id) == 0)
			atomic_store(&w->dirty, true);
	pthread_mutex_unlock(&watch_lock);
	json_decref(d);
}

static void watch_free(void *p)
{
	struct watch *w = p;
	pthread_mutex_lock(&watch_lock);
	for (struct watch **pp = &watches; *pp; pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	pthread_mutex_unlock(&watch_lock);
	free(w);
}

static bool watch_tick(void *ctx, struct buf *out)
{
	struct watch *w = ctx;
	int64_t now = time_now_ms();
	if (w->sent && !atomic_exchange(&w->dirty, false) &&
	    now - w->checked_ms < WATCH_FALLBACK_MS)
		return true; /* nothing announced: the database is not asked */
	struct db_conn *c =
	    db_acquire_org(w->app->db, 0, w->org_id); /* never wait on the timer thread */
	if (!c) {
		atomic_store(&w->dirty, true);
		return true; /* busy: try again next tick */
	}
	w->checked_ms = now;
	struct meeting m;
	int rc = meeting_get(c, w->org_id, w->id, &m);
	db_release(c);
	if (rc == STORE_NOT_FOUND) {
		buf_printf(out, "event: deleted\ndata: {\"id\":\"%s\"}\n\n", w->id);
		return false;
	}
	if (rc) {
		atomic_store(&w->dirty, true);
		return true;
	}
	bool terminal = !strcmp(m.status, "completed") || !strcmp(m.status, "failed");
	if (!w->sent || strcmp(m.status, w->status) != 0 || m.progress != w->progress) {
		json_t *ev =
		    json_pack("{s:s,s:s,s:i,s:o,s:o}", "id", m.id, "status", m.status, "progress",
			      m.progress, "processing_error", str_or_null(m.processing_error),
			      "updated_at", api_time(m.updated_at));
		char *text = json_dumps(ev, JSON_COMPACT);
		json_decref(ev);
		if (text)
			buf_printf(out, "event: status\ndata: %s\n\n", text);
		free(text);
		snprintf(w->status, sizeof w->status, "%s", m.status);
		w->progress = m.progress;
		w->sent = true;
	}
	meeting_clear(&m);
	return !terminal;
}

static void events(struct api_ctx *cx)
{
	struct http_req *r = cx->req;
	const struct principal p = *cx->principal;
	struct meeting m;
	if (!api_meeting_load(cx, &m, ACCESS_READ))
		return;
	api_conn_release(cx);
	http_set_principal(r, p.user_id, p.session_id); /* stream caps and logout (tickets too) */
	struct watch *w = calloc(1, sizeof *w);
	if (!w) {
		meeting_clear(&m);
		http_problem_internal(r, "events");
		return;
	}
	w->app = api_app(r);
	snprintf(w->org_id, sizeof w->org_id, "%s", m.org_id);
	snprintf(w->id, sizeof w->id, "%s", m.id);
	meeting_clear(&m);
	pthread_mutex_lock(&watch_lock);
	/* Without the bus (or a free subscriber slot) streams still work on the fallback. */
	if (!watch_bus && w->app->bus && bus_subscribe(w->app->bus, watch_on_bus, NULL) >= 0)
		watch_bus = w->app->bus;
	w->next = watches;
	watches = w;
	pthread_mutex_unlock(&watch_lock);
	http_reply_sse(r, 500, watch_tick, w, watch_free);
}

#define MEETING_ROUTE .auth = AUTH_BEARER, .db = DB_CONN_HELD

static const struct route ROUTES[] = {
    {.method = M_POST,
     .pattern = "/api/v1/meetings",
     .body = BODY_JSON,
     .json = &DETAIL_SPEC,
     .check = create_meeting_check,
     MEETING_ROUTE,
     .run = create_meeting,
     .perm = PERM_CREATE_MEETING},
    {.method = M_GET,
     .pattern = "/api/v1/meetings",
     .check = list_meetings_check,
     MEETING_ROUTE,
     .run = list_meetings,
     .perm = PERM_READ},
    {.method = M_GET,
     .pattern = "/api/v1/meetings/{id}",
     MEETING_ROUTE,
     .run = get_meeting,
     .perm = PERM_READ},
    {.method = M_PUT,
     .pattern = "/api/v1/meetings/{id}",
     .body = BODY_JSON,
     .json = &DETAIL_SPEC,
     MEETING_ROUTE,
     .run = put_meeting,
     .perm = PERM_CREATE_MEETING},
    {.method = M_DELETE,
     .pattern = "/api/v1/meetings/{id}",
     MEETING_ROUTE,
     .run = delete_meeting,
     .perm = PERM_DELETE_MEETING},
    {.method = M_POST,
     .pattern = "/api/v1/meetings/{id}/transcribe",
     .body = BODY_JSON,
     .json = &TRANSCRIBE_SPEC,
     .check = transcribe_check,
     MEETING_ROUTE,
     .run = transcribe,
     .perm = PERM_TRANSCRIBE},
    {.method = M_GET,
     .pattern = "/api/v1/meetings/{id}/audio",
     .auth = AUTH_TICKET,
     .db = DB_CONN_HELD,
     .run = get_audio,
     .perm = PERM_READ},
    {.method = M_POST,
     .pattern = "/api/v1/meetings/{id}/ticket",
     MEETING_ROUTE,
     .run = issue_ticket,
     .perm = PERM_READ},
    {.method = M_GET,
     .pattern = "/api/v1/meetings/{id}/events",
     .auth = AUTH_TICKET,
     .db = DB_CONN_HELD,
     .run = events,
     .perm = PERM_READ},
};

size_t api_meetings_routes(const struct route **out)
{
	*out = ROUTES;
	return ARRAY_LEN(ROUTES);
}
