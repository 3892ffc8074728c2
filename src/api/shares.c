/*
 * shares.c — public read-only links to one meeting.
 *
 * People with the `share` permission in the meeting's organization create,
 * list and revoke links (/api/v1/meetings/{id}/shares). Anyone holding a
 * live link reads GET /api/v1/shares/{token} without logging in: the
 * meeting's title, date, transcript with speaker names, and an audio URL
 * for that meeting only that works for SHARE_AUDIO_TTL_MS (signed with the
 * server's ticket key, and only while the link itself is live). Nothing
 * else of the organization is reachable from a link. Unknown, revoked and
 * expired tokens are all the same 404; replies carry X-Robots-Tag: noindex.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "auth/authz.h"
#include "blob/blob.h"
#include "core/crypto.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "store/audit.h"
#include "store/meetings.h"
#include "store/shares.h"

#define SHARES_MAX	   100
#define SHARE_AUDIO_TTL_MS (60LL * 60 * 1000)
#define SHARE_MAX_DAYS	   366

static json_t *share_json(const struct share_link *s, const char *token)
{
	json_t *o = json_pack(
	    "{s:s,s:s,s:o,s:o,s:o}", "id", s->id, "meeting_id", s->meeting_id, "created_by",
	    s->creator_email[0] ? json_string(s->creator_email) : json_null(), "created_at",
	    api_time(s->created_at), "expires_at", api_time(s->expires_at));
	if (token) {
		char url[SHARE_TOKEN_BUF + 8];
		snprintf(url, sizeof url, "/s/%s", token);
		json_object_set_new(o, "token", json_string(token));
		json_object_set_new(o, "url", json_string(url));
	}
	return o;
}

/* The meeting in the path, in the caller's active organization (404 otherwise). */
static bool load_meeting(struct api_ctx *cx, struct meeting *m)
{
	meeting_init(m);
	const char *id = http_param(cx->req, "id");
	enum store_rc rc = meeting_get(cx->conn, cx->principal->org_id, id, m);
	if (rc == STORE_NOT_FOUND) {
		http_problem(cx->req, 404, "not_found",
			     "There is no meeting %.36s in your organization.", id);
		return false;
	}
	if (rc) {
		api_db_fail(cx->req, rc, "load meeting");
		return false;
	}
	return true;
}

struct create_in {
	const char *expires_at;
	int64_t expires_ms;
};
static const struct jv_field CREATE_FIELDS[] = {
    {.name = "expires_at",
     .type = JV_STRING,
     .null = JV_NULL_OK,
     .max_len = 64,
     .dest = JV_DEST(struct create_in, expires_at)},
};
static const struct jv_spec CREATE_SPEC = {JV_FIELDS(CREATE_FIELDS), .empty = JV_EMPTY_OK};

static void create_check(struct api_ctx *cx, json_t **errors)
{
	struct create_in *in = API_IN(cx, struct create_in);
	if (!in->expires_at)
		return;
	int64_t t = time_parse_rfc3339(in->expires_at), now = time_now_ms();
	if (t < 0)
		jv_error(errors, "expires_at",
			 "must be an RFC 3339 date-time such as 2026-12-31T18:00:00Z");
	else if (t <= now)
		jv_error(errors, "expires_at", "must be in the future");
	else if (t > now + SHARE_MAX_DAYS * 24LL * 3600 * 1000)
		jv_error(errors, "expires_at", "must be within %d days", SHARE_MAX_DAYS);
	else
		in->expires_ms = t;
}

static void create_share(struct api_ctx *cx)
{
	const struct create_in *in = API_IN(cx, struct create_in);
	struct meeting m;
	if (!load_meeting(cx, &m))
		return;
	struct share_link s;
	char token[SHARE_TOKEN_BUF];
	enum store_rc rc = share_create(cx->conn, m.org_id, m.id, cx->principal->user_id,
					in->expires_ms, &s, token);
	meeting_clear(&m);
	if (rc) {
		api_db_fail(cx->req, rc, "create share link");
		return;
	}
	api_audit(cx, "share.create", "meeting", s.meeting_id,
		  json_pack("{s:s,s:o}", "share_id", s.id, "expires_at", api_time(s.expires_at)));
	http_reply_json(cx->req, 201, share_json(&s, token));
}

static void list_shares(struct api_ctx *cx)
{
	struct meeting m;
	if (!load_meeting(cx, &m))
		return;
	struct share_link *list = NULL;
	size_t n = 0;
	enum store_rc rc = share_list(cx->conn, m.org_id, m.id, SHARES_MAX, &list, &n);
	meeting_clear(&m);
	if (rc) {
		api_db_fail(cx->req, rc, "list share links");
		return;
	}
	json_t *data = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(data, share_json(&list[i], NULL));
	free(list);
	http_reply_json(cx->req, 200, json_pack("{s:o,s:n}", "data", data, "next_cursor"));
}

static void revoke_share(struct api_ctx *cx)
{
	struct meeting m;
	if (!load_meeting(cx, &m))
		return;
	const char *sid = http_param(cx->req, "share_id");
	enum store_rc rc = share_revoke(cx->conn, m.org_id, m.id, sid);
	if (rc == STORE_NOT_FOUND) {
		http_problem(cx->req, 404, "share_not_found",
			     "There is no live share link %.36s for this meeting.", sid);
	} else if (rc) {
		api_db_fail(cx->req, rc, "revoke share link");
	} else {
		api_audit(cx, "share.revoke", "meeting", m.id, json_pack("{s:s}", "share_id", sid));
		http_reply_empty(cx->req, 204);
	}
	meeting_clear(&m);
}

/* ---- the public side ---- */

static void noindex(struct http_req *r)
{
	http_add_header(r, "X-Robots-Tag", "noindex, nofollow");
	http_add_header(r, "Referrer-Policy", "no-referrer");
	http_add_header(r, "Cache-Control", "private, no-store");
}

/* The live link the path's token names; else 404 (unknown, revoked and expired alike). */
static bool load_link(struct api_ctx *cx, struct share_link *s)
{
	const char *token = http_param(cx->req, "token");
	noindex(cx->req);
	enum store_rc rc = strlen(token) < SHARE_TOKEN_BUF
			       ? share_find_live(cx->conn, token, time_now_ms(), s)
			       : STORE_NOT_FOUND;
	if (rc == STORE_NOT_FOUND) {
		http_problem(cx->req, 404, "share_not_found",
			     "This link does not work: it may have been revoked or have expired. "
			     "Ask the person who shared it for a new one.");
		return false;
	}
	if (rc) {
		api_db_fail(cx->req, rc, "load share link");
		return false;
	}
	return true;
}

/* The audio signature: HMAC(ticket key, "share-audio|hash|exp") in hex. */
static void audio_sig(struct app *app, const struct share_link *s, int64_t exp, char out[65])
{
	char msg[128];
	int n = snprintf(msg, sizeof msg, "share-audio|%s|%" PRId64, s->token_hash, exp);
	unsigned char mac[32];
	crypto_hmac_sha256(app->ticket_key, sizeof app->ticket_key, msg, (size_t)n, mac);
	crypto_hex(mac, sizeof mac, out);
}

/* The transcript for the public: speakers with names, segments without words. */
static json_t *public_transcript(struct db_conn *c, const struct meeting *m)
{
	struct meeting_transcript t;
	memset(&t, 0, sizeof t);
	if (strcmp(m->status, "completed") != 0 ||
	    meeting_transcript_get(c, m->org_id, m->id, &t) != STORE_OK)
		return json_null();
	json_t *body = json_loads(t.body ? t.body : "", 0, NULL);
	meeting_transcript_clear(&t);
	if (!json_is_object(body)) {
		json_decref(body);
		return json_null();
	}
	json_t *speakers = json_array(), *segments = json_array();
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(body, "speakers"), i, v)
	{
		json_t *name = json_object_get(v, "name");
		json_array_append_new(speakers,
				      json_pack("{s:O?,s:O?,s:O?}", "id", json_object_get(v, "id"),
						"label", json_object_get(v, "label"), "name",
						json_is_string(name) ? name : NULL));
	}
	json_array_foreach(json_object_get(body, "segments"), i, v)
	{
		json_t *spk = json_object_get(v, "speaker");
		json_array_append_new(segments, json_pack("{s:O?,s:O?,s:O?,s:O?}", "start",
							  json_object_get(v, "start"), "end",
							  json_object_get(v, "end"), "text",
							  json_object_get(v, "text"), "speaker",
							  json_is_string(spk) ? spk : NULL));
	}
	json_decref(body);
	return json_pack("{s:o,s:o}", "speakers", speakers, "segments", segments);
}

static void get_public(struct api_ctx *cx)
{
	struct share_link s;
	if (!load_link(cx, &s))
		return;
	struct meeting m;
	meeting_init(&m);
	enum store_rc rc = meeting_get(cx->conn, s.org_id, s.meeting_id, &m);
	if (rc) {
		if (rc == STORE_NOT_FOUND)
			http_problem(cx->req, 404, "share_not_found",
				     "This link does not work any more.");
		else
			api_db_fail(cx->req, rc, "load meeting");
		meeting_clear(&m);
		return;
	}
	json_t *audio = json_null();
	if (m.audio_key[0]) {
		int64_t exp = time_now_ms() + SHARE_AUDIO_TTL_MS;
		char sig[65], url[256];
		audio_sig(cx->app, &s, exp, sig);
		snprintf(url, sizeof url, "/api/v1/shares/%s/audio?exp=%" PRId64 "&sig=%s",
			 http_param(cx->req, "token"), exp, sig);
		audio = json_pack("{s:s,s:o}", "url", url, "expires_at", api_time(exp));
	}
	json_t *out =
	    json_pack("{s:s,s:o,s:o,s:s,s:o,s:o,s:o,s:o}", "title", m.title, "meeting_date",
		      api_time(m.meeting_date ? m.meeting_date : m.created_at), "description",
		      json_string(m.description ? m.description : ""), "language", m.language,
		      "duration_seconds", m.duration >= 0 ? json_real(m.duration) : json_null(),
		      "transcript", public_transcript(cx->conn, &m), "audio", audio,
		      "link_expires_at", api_time(s.expires_at));
	struct audit_ctx ctx;
	api_audit_ctx(cx->req, &ctx);
	audit_record_target(cx->conn, s.org_id, NULL, "share.view", "meeting", m.id, &ctx,
			    json_pack("{s:s}", "share_id", s.id));
	meeting_clear(&m);
	http_reply_json(cx->req, 200, out);
}

static void get_public_audio(struct api_ctx *cx)
{
	struct http_req *r = cx->req;
	struct share_link s;
	if (!load_link(cx, &s))
		return;
	const char *exp_s = http_query(r, "exp"), *sig = http_query(r, "sig");
	char *end = NULL;
	long long exp = exp_s ? strtoll(exp_s, &end, 10) : 0;
	char want[65];
	if (exp_s && end && !*end)
		audio_sig(cx->app, &s, exp, want);
	if (!exp_s || !end || *end || !sig || strlen(sig) != 64 || !crypto_equal(want, sig, 64) ||
	    exp < time_now_ms()) {
		http_problem(r, 403, "audio_url_expired",
			     "This audio address has expired or is not valid. Reload the shared "
			     "page to get a new one.");
		return;
	}
	struct meeting m;
	meeting_init(&m);
	if (meeting_get(cx->conn, s.org_id, s.meeting_id, &m) != STORE_OK || !m.audio_key[0]) {
		http_problem(r, 404, "no_audio", "This meeting has no audio.");
		meeting_clear(&m);
		return;
	}
	api_conn_release(cx);
	int fd;
	int64_t size;
	int rc = blob_open_read(cx->app->blob, m.audio_key, &fd, &size);
	if (rc) {
		if (rc == BLOB_NOT_FOUND)
			http_problem(r, 404, "no_audio", "The audio of this meeting is missing.");
		else
			http_problem_internal(r, "open audio");
	} else {
		http_reply_file(r, fd, size,
				m.audio_mime[0] ? m.audio_mime : "application/octet-stream",
				"inline");
	}
	meeting_clear(&m);
}

#define SHARE_ROUTE .auth = AUTH_BEARER, .db = DB_CONN_HELD, .perm = PERM_SHARE

static const struct route ROUTES[] = {
    {.method = M_POST,
     .pattern = "/api/v1/meetings/{id}/shares",
     .body = BODY_JSON,
     .json = &CREATE_SPEC,
     .check = create_check,
     SHARE_ROUTE,
     .run = create_share},
    {.method = M_GET, .pattern = "/api/v1/meetings/{id}/shares", SHARE_ROUTE, .run = list_shares},
    {.method = M_DELETE,
     .pattern = "/api/v1/meetings/{id}/shares/{share_id}",
     SHARE_ROUTE,
     .run = revoke_share},
    {.method = M_GET, .pattern = "/api/v1/shares/{token}", .db = DB_CONN_HELD, .run = get_public},
    {.method = M_GET,
     .pattern = "/api/v1/shares/{token}/audio",
     .db = DB_CONN_HELD,
     .run = get_public_audio},
};

size_t api_shares_routes(const struct route **out)
{
	*out = ROUTES;
	return ARRAY_LEN(ROUTES);
}
