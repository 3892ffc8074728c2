/*
 * api.h — the application's HTTP resources and the helpers they share.
 * Handlers validate, call store/ and auth/, and reply; they never write SQL.
 */
#ifndef IAM_API_H
#define IAM_API_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/authn.h"
#include "auth/jwt.h"
#include "core/config.h"
#include "http/http.h"
#include "http/jsonv.h"
#include "store/db.h"

#define ACCESS_TTL_S 900
#define DB_ACQUIRE_MS 5000

struct app {
	const struct config *cfg;
	struct db *db;
	struct jwt_key jwt;
	int64_t started_ms;
};

/* Route tables, one per resource file. Each returns its count. */
size_t api_health_routes(const struct route **out);
size_t api_auth_routes(const struct route **out);
size_t api_users_routes(const struct route **out);
size_t api_api_keys_routes(const struct route **out);

static inline struct app *api_app(struct http_req *r) { return http_app(r); }

/* Borrow a database connection, or reply 503 and return NULL. Release with db_release. */
struct db_conn *api_db(struct http_req *r);
/* Reply for a failed store call: 503 when the database is unreachable/busy, else 500. */
void api_db_fail(struct http_req *r, int rc, const char *what);

/* Authenticate the caller, or reply 401 (with WWW-Authenticate) and return false. */
bool api_auth(struct http_req *r, struct db_conn *c, struct principal *p);

/*
 * List paging: ?limit= (1..100, default 20) and ?cursor= (opaque). On bad
 * input replies 400 and returns false. cursor_id is "" for the first page.
 */
bool api_page(struct http_req *r, int *limit, char cursor_id[UUID_STR_LEN]);
/* The opaque cursor for a page that ends at id (json string). */
json_t *api_cursor(const char *id);

/* RFC 3339 string for Unix ms, or JSON null when ms is 0. */
json_t *api_time(int64_t ms);

/*
 * Normalise an email (trim, lower-case) into out and check its shape.
 * Returns false (and leaves a reason in *why) if it is not an address.
 */
bool api_email_normalize(const char *in, char *out, size_t outlen, const char **why);

/* Check a new password (length, not the email); adds errors under field. */
void api_password_rules(const char *pw, const char *email, const char *field, json_t **errors);

/* Failed-password throttling for one account (login, current_password). */
struct throttle_policy;
extern const struct throttle_policy API_ACCOUNT_POLICY;
/* 429 too_many_attempts with Retry-After for a wait in ms. */
void api_too_many(struct http_req *r, int64_t wait_ms);

/* Audit context for this request. */
struct audit_ctx;
void api_audit_ctx(struct http_req *r, struct audit_ctx *ctx);



/* Shared representations (users.c). */
struct user;
struct membership;
json_t *api_user_json(const struct user *u);
json_t *api_org_json(const struct membership *m);
#endif
