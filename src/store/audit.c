#include "store/audit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/timeutil.h"

enum store_rc audit_record_target(struct db_conn *c, const char *org_id, const char *user_id,
				  const char *action, const char *target_type,
				  const char *target_id, const struct audit_ctx *ctx,
				  json_t *details)
{
	char id[UUID_STR_LEN];
	uuid_v7(id);
	char *text = details ? json_dumps(details, JSON_COMPACT) : NULL;
	json_decref(details);
	char ua[256];
	snprintf(ua, sizeof ua, "%s", ctx && ctx->user_agent ? ctx->user_agent : "");
	int rc = db_exec(
	    c,
	    "INSERT INTO audit_events (id, org_id, user_id, action, ip, user_agent, request_id,"
	    " details, created_at, target_type, target_id)"
	    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
	    DB_PARAMS(DB_TEXT(id), DB_TEXT(org_id), DB_TEXT(user_id), DB_TEXT(action),
		      DB_TEXT(ctx && ctx->ip ? ctx->ip : ""), DB_TEXT(ua),
		      DB_TEXT(ctx && ctx->request_id ? ctx->request_id : ""),
		      DB_TEXT(text ? text : "{}"), DB_INT(time_now_ms()),
		      DB_TEXT(target_type ? target_type : ""), DB_TEXT(target_id ? target_id : "")),
	    NULL);
	free(text);
	if (rc)
		log_error("audit event not recorded",
			  json_pack("{s:s,s:s}", "action", action, "error", db_conn_error(c)));
	return store_rc_of(rc);
}

enum store_rc audit_record(struct db_conn *c, const char *org_id, const char *user_id,
			   const char *action, const struct audit_ctx *ctx, json_t *details)
{
	return audit_record_target(c, org_id, user_id, action, NULL, NULL, ctx, details);
}

enum store_rc audit_record_once(struct db_conn *c, const char *org_id, const char *user_id,
				const char *action, const char *target_type, const char *target_id,
				int64_t window_ms, const struct audit_ctx *ctx, json_t *details)
{
	int rc;
	struct db_res *r =
	    db_query(c,
		     "SELECT 1 FROM audit_events WHERE org_id = $1 AND created_at > $2"
		     " AND user_id = $3 AND action = $4 AND target_id = $5 LIMIT 1",
		     DB_PARAMS(DB_TEXT(org_id), DB_INT(time_now_ms() - window_ms), DB_TEXT(user_id),
			       DB_TEXT(action), DB_TEXT(target_id ? target_id : "")),
		     &rc);
	if (!r) {
		json_decref(details);
		return store_rc_of(rc);
	}
	rc = db_next(r);
	db_res_free(r);
	if (rc != 0) {
		json_decref(details);
		return rc == 1 ? STORE_OK : store_rc_of(rc);
	}
	return audit_record_target(c, org_id, user_id, action, target_type, target_id, ctx,
				   details);
}

void audit_events_free(struct audit_event *ev, int n)
{
	if (!ev)
		return;
	for (int i = 0; i < n; i++)
		json_decref(ev[i].details);
	free(ev);
}

enum store_rc audit_list(struct db_conn *c, const char *org_id, const struct audit_filter *f,
			 struct audit_event **out, int *n)
{
	*out = NULL;
	*n = 0;
	int limit = f->limit > 0 && f->limit <= 1000 ? f->limit : 20;
	/* A prefix filter ("auth.") matches by range: no LIKE escaping needed. */
	const char *action = f->action && f->action[0] ? f->action : NULL;
	size_t alen = action ? strlen(action) : 0;
	bool prefix = alen && action[alen - 1] == '.';
	char upper[80] = "";
	if (prefix && alen < sizeof upper) {
		memcpy(upper, action, alen);
		upper[alen - 1] = '.' + 1; /* '/' sorts right after '.' */
		upper[alen] = '\0';
	}
	int rc;
	struct db_res *r = db_query(
	    c,
	    "SELECT a.id, a.user_id, u.email, a.action, a.target_type, a.target_id, a.ip,"
	    " a.user_agent, a.request_id, a.details, a.created_at"
	    " FROM audit_events a LEFT JOIN users u ON u.id = a.user_id"
	    " WHERE a.org_id = $1"
	    " AND ($2 = '' OR (CAST($3 AS INTEGER) = 0 AND a.action = $2) OR (CAST($3 AS INTEGER) "
	    "= 1 AND a.action >= $2"
	    "      AND a.action < $4))"
	    " AND ($5 = '' OR a.user_id = $5)"
	    " AND (CAST($6 AS BIGINT) = 0 OR a.created_at >= $6)"
	    " AND (CAST($7 AS BIGINT) = 0 OR a.created_at < $7)"
	    " AND ($8 = '' OR a.id < $8)"
	    " ORDER BY a.id DESC LIMIT $9",
	    DB_PARAMS(DB_TEXT(org_id), DB_TEXT(action ? action : ""), DB_INT(prefix ? 1 : 0),
		      DB_TEXT(upper), DB_TEXT(f->actor_id ? f->actor_id : ""), DB_INT(f->since),
		      DB_INT(f->until), DB_TEXT(f->before ? f->before : ""), DB_INT(limit)),
	    &rc);
	if (!r)
		return store_rc_of(rc);
	struct audit_event *ev = calloc((size_t)limit, sizeof *ev);
	if (!ev) {
		db_res_free(r);
		return STORE_ERROR;
	}
	int k = 0;
	while (k < limit && (rc = db_next(r)) == 1) {
		struct audit_event *e = &ev[k++];
		store_copy(e->id, sizeof e->id, r, 0);
		store_copy(e->actor_id, sizeof e->actor_id, r, 1);
		store_copy(e->actor_email, sizeof e->actor_email, r, 2);
		store_copy(e->action, sizeof e->action, r, 3);
		store_copy(e->target_type, sizeof e->target_type, r, 4);
		store_copy(e->target_id, sizeof e->target_id, r, 5);
		store_copy(e->ip, sizeof e->ip, r, 6);
		store_copy(e->user_agent, sizeof e->user_agent, r, 7);
		store_copy(e->request_id, sizeof e->request_id, r, 8);
		e->details = json_loads(db_text(r, 9), 0, NULL);
		if (!e->details)
			e->details = json_object();
		e->created_at = db_int(r, 10);
	}
	db_res_free(r);
	if (rc < 0) {
		audit_events_free(ev, k);
		return store_rc_of(rc);
	}
	*out = ev;
	*n = k;
	return STORE_OK;
}

enum store_rc audit_purge(struct db_conn *c, int64_t before_ms, int limit, int64_t *deleted)
{
	*deleted = 0;
	return store_rc_of(
	    db_exec(c,
		    "DELETE FROM audit_events WHERE id IN (SELECT id FROM audit_events"
		    " WHERE created_at < $1 ORDER BY created_at LIMIT $2)",
		    DB_PARAMS(DB_INT(before_ms), DB_INT(limit)), deleted));
}
