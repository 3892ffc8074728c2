/* audit.h — append-only audit events (who did what, from where). */
#ifndef IAM_AUDIT_H
#define IAM_AUDIT_H

#include <jansson.h>

#include "store/store.h"

struct audit_ctx {
	const char *ip;
	const char *user_agent;
	const char *request_id;
};

/*
 * Record action (e.g. "auth.login.failure") for org/user (either may be
 * NULL). details is a JSON object or NULL; its reference is stolen.
 * Never put secrets in details.
 */
enum store_rc audit_record(struct db_conn *c, const char *org_id, const char *user_id,
			   const char *action, const struct audit_ctx *ctx, json_t *details);

#endif
