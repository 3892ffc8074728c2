/*
 * notifications.c — what the system told the caller (store/notifications.h):
 *
 *   GET  /api/v1/notifications               newest first; unread=true; limit, cursor
 *   GET  /api/v1/notifications/unread-count  {count}
 *   POST /api/v1/notifications/{id}/read     -> the notification
 *   POST /api/v1/notifications/read-all      {updated}
 *   GET  /api/v1/notifications/preferences   {preferences: {type: {in_app, email}}}
 *   PUT  /api/v1/notifications/preferences   {preferences: {type: {in_app?, email?}}}
 *
 * Notifications belong to a person, not an organization: another person's
 * is 404.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "bus/bus.h"
#include "store/notifications.h"

struct nlist_in {
	struct api_page_in page; /* first: api_page's layout */
	bool unread;
};

static void nlist_check(struct api_ctx *cx, json_t **errors)
{
	struct nlist_in *in = API_IN(cx, struct nlist_in);
	if (!api_page(cx->req, &in->page.limit, in->page.cursor))
		return;
	const char *unread = http_query(cx->req, "unread");
	if (unread && strcmp(unread, "true") && strcmp(unread, "false"))
		jv_error(errors, "unread", "must be true or false");
	in->unread = unread && !strcmp(unread, "true");
}

static void list_notifications(struct api_ctx *cx)
{
	const struct nlist_in *in = API_IN(cx, struct nlist_in);
	int limit = in->page.limit;
	struct notification *ns = NULL;
	size_t n = 0;
	enum store_rc rc =
	    notif_list(cx->conn, cx->principal->user_id, in->unread,
		       in->page.cursor[0] ? in->page.cursor : NULL, limit + 1, &ns, &n);
	if (rc) {
		api_db_fail(cx->req, rc, "list notifications");
		return;
	}
	json_t *data = json_array();
	size_t shown = n > (size_t)limit ? (size_t)limit : n;
	for (size_t i = 0; i < shown; i++)
		json_array_append_new(data, notif_json(&ns[i]));
	json_t *next = n > (size_t)limit ? api_cursor(ns[shown - 1].id) : json_null();
	free(ns);
	http_reply_json(cx->req, 200, json_pack("{s:o,s:o}", "data", data, "next_cursor", next));
}

static void unread_count(struct api_ctx *cx)
{
	int64_t count = 0;
	enum store_rc rc = notif_unread_count(cx->conn, cx->principal->user_id, &count);
	if (rc) {
		api_db_fail(cx->req, rc, "count notifications");
		return;
	}
	http_reply_json(cx->req, 200, json_pack("{s:I}", "count", (json_int_t)count));
}

static void mark_read(struct api_ctx *cx)
{
	struct http_req *r = cx->req;
	const char *id = http_param(r, "id");
	const char *me = cx->principal->user_id;
	enum store_rc rc = notif_mark_read(cx->conn, me, id);
	struct notification n;
	if (rc == STORE_OK)
		rc = notif_get(cx->conn, me, id, &n);
	if (rc == STORE_NOT_FOUND) {
		http_problem(r, 404, "not_found", "You have no notification %s.", id);
		return;
	}
	if (rc) {
		api_db_fail(r, rc, "mark notification read");
		return;
	}
	http_reply_json(r, 200, notif_json(&n));
}

static void read_all(struct api_ctx *cx)
{
	int64_t changed = 0;
	enum store_rc rc = notif_mark_all_read(cx->conn, cx->principal->user_id, &changed);
	if (rc) {
		api_db_fail(cx->req, rc, "mark notifications read");
		return;
	}
	http_reply_json(cx->req, 200, json_pack("{s:I}", "updated", (json_int_t)changed));
}

static json_t *prefs_json(const struct notif_pref *prefs)
{
	json_t *o = json_object();
	for (size_t i = 0; i < NOTIF_TYPE_COUNT; i++)
		json_object_set_new(
		    o, NOTIF_TYPES[i],
		    json_pack("{s:b,s:b}", "in_app", prefs[i].in_app, "email", prefs[i].email));
	return json_pack("{s:o}", "preferences", o);
}

static void get_prefs(struct api_ctx *cx)
{
	struct notif_pref prefs[NOTIF_TYPE_COUNT];
	enum store_rc rc = notif_prefs_all(cx->conn, cx->principal->user_id, prefs);
	if (rc) {
		api_db_fail(cx->req, rc, "read notification preferences");
		return;
	}
	http_reply_json(cx->req, 200, prefs_json(prefs));
}

struct prefs_in {
	json_t *prefs;
};

static const struct jv_field PREFS_FIELDS[] = {
    {.name = "preferences",
     .type = JV_OBJECT,
     .presence = JV_REQUIRED,
     .dest = JV_DEST(struct prefs_in, prefs)},
};
static const struct jv_spec PREFS_SPEC = {JV_FIELDS(PREFS_FIELDS)};

static void prefs_check(struct api_ctx *cx, json_t **errors)
{
	struct prefs_in *in = API_IN(cx, struct prefs_in);
	const char *type;
	json_t *v;
	if (!in->prefs)
		return;
	json_object_foreach(in->prefs, type, v)
	{
		char field[64];
		snprintf(field, sizeof field, "preferences.%.40s", type);
		if (!notif_type_known(type)) {
			jv_error(errors, field,
				 "is not a notification type (new_message, "
				 "transcription_completed, transcription_failed, invitation, "
				 "mention, quota_warning)");
			continue;
		}
		if (!json_is_object(v) || json_object_size(v) == 0) {
			jv_error(errors, field, "must be an object with in_app and/or email");
			continue;
		}
		const char *k;
		json_t *b;
		json_object_foreach(v, k, b)
		{
			if ((strcmp(k, "in_app") && strcmp(k, "email")) || !json_is_boolean(b)) {
				jv_error(errors, field,
					 "may only hold in_app and email, each true or false");
				break;
			}
		}
	}
}

static void put_prefs(struct api_ctx *cx)
{
	const struct prefs_in *in = API_IN(cx, struct prefs_in);
	const char *me = cx->principal->user_id;
	struct notif_pref prefs[NOTIF_TYPE_COUNT];
	enum store_rc rc = notif_prefs_all(cx->conn, me, prefs);
	for (size_t i = 0; rc == STORE_OK && i < NOTIF_TYPE_COUNT; i++) {
		json_t *v = json_object_get(in->prefs, NOTIF_TYPES[i]);
		if (!v)
			continue;
		json_t *a = json_object_get(v, "in_app"), *e = json_object_get(v, "email");
		if (a)
			prefs[i].in_app = json_is_true(a);
		if (e)
			prefs[i].email = json_is_true(e);
		rc = notif_pref_set(cx->conn, me, NOTIF_TYPES[i], &prefs[i]);
	}
	if (rc) {
		api_db_fail(cx->req, rc, "store notification preferences");
		return;
	}
	http_reply_json(cx->req, 200, prefs_json(prefs));
}

static const struct route ROUTES[] = {
    {.method = M_GET,
     .pattern = "/api/v1/notifications",
     .check = nlist_check,
     .auth = AUTH_BEARER,
     .db = DB_CONN_HELD,
     .run = list_notifications},
    {.method = M_GET,
     .pattern = "/api/v1/notifications/unread-count",
     .auth = AUTH_BEARER,
     .db = DB_CONN_HELD,
     .run = unread_count},
    {.method = M_POST,
     .pattern = "/api/v1/notifications/read-all",
     .auth = AUTH_BEARER,
     .db = DB_CONN_HELD,
     .run = read_all},
    {.method = M_POST,
     .pattern = "/api/v1/notifications/{id}/read",
     .auth = AUTH_BEARER,
     .db = DB_CONN_HELD,
     .run = mark_read},
    {.method = M_GET,
     .pattern = "/api/v1/notifications/preferences",
     .auth = AUTH_BEARER,
     .db = DB_CONN_HELD,
     .run = get_prefs},
    {.method = M_PUT,
     .pattern = "/api/v1/notifications/preferences",
     .body = BODY_JSON,
     .json = &PREFS_SPEC,
     .check = prefs_check,
     .auth = AUTH_BEARER,
     .db = DB_CONN_HELD,
     .run = put_prefs},
};

size_t api_notifications_routes(const struct route **out)
{
	*out = ROUTES;
	return ARRAY_LEN(ROUTES);
}
