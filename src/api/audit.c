/*
 * audit.c — GET /api/v1/audit-events: the active organization's audit log,
 * for owners and admins (read_audit), newest first, filtered and paged;
 * and api_audit, the one-line way handlers record an event.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "auth/authz.h"
#include "core/timeutil.h"
#include "store/audit.h"

void api_audit(struct api_ctx *cx, const char *action, const char *target_type,
	       const char *target_id, json_t *details)
{
	const struct principal *p = cx->principal;
	struct db_conn *c = api_conn(cx);
	if (!c || !p) {
		json_decref(details);
		return;
	}
	struct audit_ctx ctx;
	api_audit_ctx(cx->req, &ctx);
	if (p->via_api_key) {
		if (!details)
			details = json_object();
		json_object_set_new(details, "api_key_id", json_string(p->api_key_id));
	}
	audit_record_target(c, p->org_id, p->user_id, action, target_type, target_id, &ctx,
			    details);
}

void api_audit_read(struct api_ctx *cx, const char *action, const char *target_type,
		    const char *target_id)
{
	const struct principal *p = cx->principal;
	struct db_conn *c = api_conn(cx);
	if (!c || !p)
		return;
	struct audit_ctx ctx;
	api_audit_ctx(cx->req, &ctx);
	audit_record_once(c, p->org_id, p->user_id, action, target_type, target_id,
			  API_AUDIT_READ_WINDOW_MS, &ctx,
			  p->via_api_key ? json_pack("{s:s}", "api_key_id", p->api_key_id) : NULL);
}

struct audit_in {
	struct api_page_in page;
	int64_t since, until;
	char action[64];
	char actor[UUID_STR_LEN];
};

static void time_param(struct api_ctx *cx, const char *name, int64_t *out, json_t **errors)
{
	const char *v = http_query(cx->req, name);
	if (!v || !*v)
		return;
	*out = time_parse_rfc3339(v);
	if (*out < 0)
		jv_error(errors, name, "must be an RFC 3339 time such as 2026-01-31T12:00:00Z");
}

static void audit_check(struct api_ctx *cx, json_t **errors)
{
	struct audit_in *in = API_IN(cx, struct audit_in);
	if (!api_page(cx->req, &in->page.limit, in->page.cursor))
		return; /* replied 400 */
	time_param(cx, "since", &in->since, errors);
	time_param(cx, "until", &in->until, errors);
	const char *a = http_query(cx->req, "action");
	if (a && *a) {
		size_t n = strlen(a);
		bool ok = n < sizeof in->action;
		for (size_t i = 0; ok && i < n; i++)
			ok = (a[i] >= 'a' && a[i] <= 'z') || a[i] == '_' || a[i] == '.';
		if (!ok)
			jv_error(errors, "action",
				 "must be an action such as auth.login.success, or a prefix ending "
				 "in a dot such as auth.");
		else
			snprintf(in->action, sizeof in->action, "%s", a);
	}
	const char *actor = http_query(cx->req, "actor");
	if (actor && *actor) {
		if (!uuid_valid(actor))
			jv_error(errors, "actor", "must be a user id");
		else
			snprintf(in->actor, sizeof in->actor, "%s", actor);
	}
}

static void list_events(struct api_ctx *cx)
{
	const struct audit_in *in = API_IN(cx, struct audit_in);
	struct audit_filter f = {.action = in->action,
				 .actor_id = in->actor,
				 .since = in->since,
				 .until = in->until,
				 .before = in->page.cursor,
				 .limit = in->page.limit + 1};
	struct audit_event *ev;
	int n;
	enum store_rc rc = audit_list(cx->conn, cx->principal->org_id, &f, &ev, &n);
	if (rc) {
		api_db_fail(cx->req, rc, "list audit events");
		return;
	}
	json_t *data = json_array();
	int shown = n > in->page.limit ? in->page.limit : n;
	for (int i = 0; i < shown; i++) {
		const struct audit_event *e = &ev[i];
		json_t *actor = e->actor_id[0] ? json_pack("{s:s,s:s}", "id", e->actor_id, "email",
							   e->actor_email)
					       : json_null();
		json_t *target = e->target_type[0] ? json_pack("{s:s,s:s}", "type", e->target_type,
							       "id", e->target_id)
						   : json_null();
		json_array_append_new(
		    data, json_pack("{s:s,s:s,s:o,s:o,s:s,s:s,s:s,s:O,s:o}", "id", e->id, "action",
				    e->action, "actor", actor, "target", target, "ip", e->ip,
				    "user_agent", e->user_agent, "request_id", e->request_id,
				    "details", e->details, "created_at", api_time(e->created_at)));
	}
	json_t *next = n > in->page.limit ? api_cursor(ev[shown - 1].id) : json_null();
	audit_events_free(ev, n);
	http_reply_json(cx->req, 200, json_pack("{s:o,s:o}", "data", data, "next_cursor", next));
}

static const struct route ROUTES[] = {
    {.method = M_GET,
     .pattern = "/api/v1/audit-events",
     .check = audit_check,
     .auth = AUTH_BEARER,
     .db = DB_CONN_HELD,
     .run = list_events,
     .perm = PERM_READ_AUDIT},
};

size_t api_audit_routes(const struct route **out)
{
	*out = ROUTES;
	return ARRAY_LEN(ROUTES);
}
