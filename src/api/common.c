#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "core/crypto.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "auth/email.h"
#include "auth/password.h"
#include "store/audit.h"
#include "store/sessions.h"
#include "store/throttle.h"

struct db_conn *api_db(struct http_req *r)
{
	/* System scope: api_conn narrows it once the principal is known (frame.c). */
	struct db_conn *c = db_acquire_system(api_app(r)->db, DB_ACQUIRE_MS);
	if (!c) {
		http_add_header(r, "Retry-After", "5");
		http_problem(r, 503, "database_unavailable",
			     "The database is busy or unreachable. Try again in a few seconds.");
	}
	return c;
}

int api_session_live(void *app_, const char *user_id, const char *sid)
{
	struct app *app = app_;
	struct db_conn *c = db_acquire_system(app->db, 0);
	if (!c)
		return -1;
	int rc = session_check(c, sid, user_id);
	db_release(c);
	return rc == STORE_OK ? 1 : rc == STORE_NOT_FOUND ? 0 : -1;
}

bool api_db_retryable(enum store_rc rc)
{
	/*
	 * Store functions may report STORE_ERROR (or their own code) for a
	 * failure that was really the database going away: the db layer
	 * remembers the last error of this thread, so an outage is still told
	 * apart.
	 */
	if (store_rc_retryable(rc))
		return true;
	int last = db_thread_last_error();
	return rc != STORE_OK && (last == DB_UNAVAILABLE || last == DB_BUSY);
}

void api_db_fail(struct http_req *r, enum store_rc rc, const char *what)
{
	if (api_db_retryable(rc)) {
		http_add_header(r, "Retry-After", "2");
		http_problem(r, 503, "database_unavailable",
			     "The database is busy or unreachable. Try again in a few seconds.");
		return;
	}
	http_problem_internal(r, what);
}

bool api_auth(struct http_req *r, struct db_conn *c, struct principal *p)
{
	const char *reason = NULL;
	int rc = authn_bearer(c, &api_app(r)->jwt, http_header(r, "Authorization"), p, &reason);
	if (rc == AUTHN_OK) {
		/* API keys carry scopes: a read-only key cannot change anything. */
		const char *denied = authn_scope_denied(p, http_method(r), http_path(r));
		if (!denied) {
			http_set_principal(r, p->user_id, p->via_api_key ? "" : p->session_id);
			return true;
		}
		http_problem(r, 403, "insufficient_scope", "%s", denied);
		return false;
	}
	if (rc == AUTHN_ERROR) {
		api_db_fail(r, STORE_ERROR, "authenticate");
		return false;
	}
	if (rc == AUTHN_MISSING) {
		http_add_header(r, "WWW-Authenticate", "Bearer realm=\"iam\"");
		http_problem(r, 401, "unauthorized",
			     "Send an access token or API key as 'Authorization: Bearer <token>'.");
		return false;
	}
	http_add_header(r, "WWW-Authenticate", "Bearer realm=\"iam\", error=\"invalid_token\"");
	http_problem(r, 401, "invalid_token", "%s", reason ? reason : "The token is not valid.");
	return false;
}

void api_limit(struct http_req *r, int *limit, json_t **errors)
{
	const char *l = http_query(r, "limit");
	*limit = 20;
	if (l) {
		char *end;
		long v = strtol(l, &end, 10);
		if (!*l || *end || v < 1 || v > 100)
			jv_error(errors, "limit", "must be a whole number from 1 to 100");
		else
			*limit = (int)v;
	}
}

bool api_page(struct http_req *r, int *limit, char cursor_id[UUID_STR_LEN])
{
	json_t *errors = NULL;
	api_limit(r, limit, &errors);
	cursor_id[0] = '\0';
	const char *cur = http_query(r, "cursor");
	if (cur && *cur) {
		char raw[64];
		long n = strlen(cur) < 80
			     ? crypto_b64url_decode(cur, strlen(cur), raw, sizeof raw - 1)
			     : -1;
		if (n > 0)
			raw[n] = '\0';
		if (n != 36 + 3 || memcmp(raw, "c1:", 3) != 0 || !uuid_valid(raw + 3))
			jv_error(&errors, "cursor",
				 "is not a cursor this API gave out; use next_cursor from the last "
				 "page");
		else
			memcpy(cursor_id, raw + 3, UUID_STR_LEN);
	}
	if (errors) {
		http_problem_validation(r, errors);
		return false;
	}
	return true;
}

void api_page_check(struct api_ctx *cx, json_t **errors)
{
	struct api_page_in *in = API_IN(cx, struct api_page_in);
	api_page(cx->req, &in->limit, in->cursor);
}

json_t *api_cursor(const char *id)
{
	char raw[48], out[80];
	snprintf(raw, sizeof raw, "c1:%s", id);
	if (crypto_b64url_encode(raw, strlen(raw), out, sizeof out) < 0)
		return json_null();
	return json_string(out);
}

json_t *api_time(int64_t ms)
{
	if (!ms)
		return json_null();
	char buf[40];
	return json_string(time_rfc3339(ms, buf, sizeof buf));
}

bool api_email_normalize(const char *in, char *out, size_t outlen, const char **why)
{
	return email_normalize(in, out, outlen, why);
}

void api_audit_ctx(struct http_req *r, struct audit_ctx *ctx)
{
	/* The client, not the reverse proxy in front of us (IAM_TRUSTED_PROXIES). */
	api_client_addr(r, ctx->ip_buf);
	ctx->ip = ctx->ip_buf;
	ctx->user_agent = http_header(r, "User-Agent");
	ctx->request_id = http_request_id(r);
}

/* 5 failures in 15 min lock the account for 30 s, doubling up to 15 min. */
const struct throttle_policy API_ACCOUNT_POLICY = {5, 15 * 60000, 30000, 15 * 60000};

void api_too_many(struct http_req *r, int64_t wait_ms)
{
	char secs[24];
	snprintf(secs, sizeof secs, "%lld", (long long)((wait_ms + 999) / 1000));
	http_add_header(r, "Retry-After", secs);
	http_problem(
	    r, 429, "too_many_attempts",
	    "Too many wrong passwords for this account. Wait %s seconds before trying again.",
	    secs);
}

void api_password_rules(const char *pw, const char *email, const char *field, json_t **errors)
{
	size_t chars = utf8_len(pw);
	if (strlen(pw) > PASSWORD_MAX_LEN)
		jv_error(errors, field, "must be at most %d bytes", PASSWORD_MAX_LEN);
	else if (chars == (size_t)-1 || chars < PASSWORD_MIN_LEN)
		jv_error(errors, field, "must be at least %d characters", PASSWORD_MIN_LEN);
	else if (email && strcasecmp(pw, email) == 0)
		jv_error(errors, field, "must not be the same as the email address");
}
