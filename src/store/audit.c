#include "store/audit.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/log.h"
#include "core/timeutil.h"
#include "core/uuid.h"

enum store_rc audit_record(struct db_conn *c, const char *org_id, const char *user_id,
			   const char *action, const struct audit_ctx *ctx, json_t *details)
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
	    " details, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
	    DB_PARAMS(DB_TEXT(id), DB_TEXT(org_id), DB_TEXT(user_id), DB_TEXT(action),
		      DB_TEXT(ctx && ctx->ip ? ctx->ip : ""), DB_TEXT(ua),
		      DB_TEXT(ctx && ctx->request_id ? ctx->request_id : ""),
		      DB_TEXT(text ? text : "{}"), DB_INT(time_now_ms())),
	    NULL);
	free(text);
	if (rc)
		log_error("audit event not recorded",
			  json_pack("{s:s,s:s}", "action", action, "error", db_conn_error(c)));
	return store_rc_of(rc);
}
