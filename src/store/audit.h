/*
 * audit.h — append-only audit events: who (actor) did what (action) to
 * what (target) in which organization, from where (IP, user agent) and in
 * which request. Read by owners and admins through /api/v1/audit-events;
 * kept IAM_AUDIT_RETENTION_DAYS (the janitor purges older ones).
 */
#ifndef IAM_AUDIT_H
#define IAM_AUDIT_H

#include <jansson.h>
#include <stdint.h>

#include "core/uuid.h"
#include "store/store.h"

struct audit_ctx {
	const char *ip;
	const char *user_agent;
	const char *request_id;
	char ip_buf[64]; /* where ip may point (the client behind trusted proxies) */
};

/*
 * Record action (e.g. "auth.login.failure") for org/user (either may be
 * NULL). details is a JSON object or NULL; its reference is stolen.
 * Never put secrets in details.
 */
enum store_rc audit_record(struct db_conn *c, const char *org_id, const char *user_id,
			   const char *action, const struct audit_ctx *ctx, json_t *details);
/* The same with a target: its kind ("meeting", "member", ...) and id (either may be NULL). */
enum store_rc audit_record_target(struct db_conn *c, const char *org_id, const char *user_id,
				  const char *action, const char *target_type,
				  const char *target_id, const struct audit_ctx *ctx,
				  json_t *details);

/*
 * Like audit_record_target, unless the same actor already has the same
 * action on the same target in org_id recorded within window_ms: repeated
 * reads (a page polling a meeting, a player seeking) make one event.
 */
enum store_rc audit_record_once(struct db_conn *c, const char *org_id, const char *user_id,
				const char *action, const char *target_type, const char *target_id,
				int64_t window_ms, const struct audit_ctx *ctx, json_t *details);

struct audit_filter {
	const char *action;   /* exact, or a prefix ending in '.' ("auth."); NULL = any */
	const char *actor_id; /* NULL = any */
	int64_t since, until; /* Unix ms, 0 = open */
	const char *before;   /* cursor: events with a smaller id; NULL or "" = from the newest */
	int limit;
};

struct audit_event {
	char id[UUID_STR_LEN];
	char actor_id[UUID_STR_LEN];
	char actor_email[256];
	char action[64];
	char target_type[32];
	char target_id[64];
	char ip[64];
	char user_agent[256];
	char request_id[64];
	json_t *details; /* owned */
	int64_t created_at;
};

/*
 * Events of org_id, newest first, matching f. *out malloc'd (*n entries);
 * free with audit_events_free.
 */
enum store_rc audit_list(struct db_conn *c, const char *org_id, const struct audit_filter *f,
			 struct audit_event **out, int *n);
void audit_events_free(struct audit_event *ev, int n);
/* Delete events older than before_ms (at most limit); *deleted gets how many. */
enum store_rc audit_purge(struct db_conn *c, int64_t before_ms, int limit, int64_t *deleted);

#endif
