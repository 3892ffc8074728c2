/*
 * auth.c — /api/v1/auth: register, login, refresh, logout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "auth/password.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "store/audit.h"
#include "store/sessions.h"
#include "store/throttle.h"
#include "store/users.h"

/* Per address: generous, to stop spraying across many accounts. */
static const struct throttle_policy ADDRESS_POLICY = {50, 15 * 60000, 60000, 60 * 60000};

/* Issue the token pair body for a session. Returns NULL on failure. */
static json_t *token_body(struct app *app, const struct user *u, const struct session *s,
			  const char *refresh)
{
	int64_t now = time_now_ms() / 1000;
	char *access =
	    jwt_issue_access(&app->jwt, u->id, u->email, s->org_id, s->id, now, ACCESS_TTL_S);
	if (!access)
		return NULL;
	json_t *body = json_pack("{s:s,s:s,s:s,s:i}", "access_token", access, "refresh_token",
				 refresh, "token_type", "Bearer", "expires_in", ACCESS_TTL_S);
	free(access);
	return body;
}

/* Reply status with the token pair, the user and the organization. */
static void reply_tokens(struct http_req *r, int status, const struct user *u,
			 const struct membership *m, const struct session *s, const char *refresh)
{
	json_t *body = token_body(api_app(r), u, s, refresh);
	if (!body) {
		http_problem_internal(r, "issue token");
		return;
	}
	json_object_set_new(body, "user", api_user_json(u));
	json_object_set_new(body, "organization", api_org_json(m));
	http_reply_json(r, status, body);
}

static void org_name_for(const struct user *u, char *out, size_t outlen)
{
	if (u->company_name[0])
		snprintf(out, outlen, "%s", u->company_name);
	else if (u->first_name[0])
		snprintf(out, outlen, "%.380s's workspace", u->first_name);
	else
		snprintf(out, outlen, "%.*s's workspace", (int)strcspn(u->email, "@"), u->email);
}

static void do_register(struct http_req *r)
{
	static const struct jv_field FIELDS[] = {
	    {"email", JV_STRING, true, false, 1, 0},
	    {"password", JV_STRING, true, false, 0, 0},
	    {"first_name", JV_STRING, false, true, 0, NAME_MAX_CHARS},
	    {"last_name", JV_STRING, false, true, 0, NAME_MAX_CHARS},
	    {"company_name", JV_STRING, false, true, 0, NAME_MAX_CHARS},
	};
	json_t *in = http_json_object(r, false);
	if (!in)
		return;
	json_t *errors = NULL;
	jv_check(in, FIELDS, sizeof FIELDS / sizeof *FIELDS, &errors);
	struct user u;
	memset(&u, 0, sizeof u);
	const char *email = jv_str(in, "email"), *pw = jv_str(in, "password"), *why;
	if (email && !api_email_normalize(email, u.email, sizeof u.email, &why))
		jv_error(&errors, "email", "%s", why);
	if (pw)
		api_password_rules(pw, u.email[0] ? u.email : email, "password", &errors);
	api_name_rules(in, &errors);
	if (errors) {
		http_problem_validation(r, errors);
		return;
	}
	snprintf(u.first_name, sizeof u.first_name, "%s",
		 jv_str(in, "first_name") ? jv_str(in, "first_name") : "");
	snprintf(u.last_name, sizeof u.last_name, "%s",
		 jv_str(in, "last_name") ? jv_str(in, "last_name") : "");
	snprintf(u.company_name, sizeof u.company_name, "%s",
		 jv_str(in, "company_name") ? jv_str(in, "company_name") : "");
	/* Hash before borrowing a connection: the pool is not held during the slow part. */
	if (password_hash(pw, u.password_hash) < 0) {
		http_problem_internal(r, "password hash");
		return;
	}
	struct db_conn *c = api_db(r);
	if (!c)
		return;
	char org_name[NAME_BUF];
	org_name_for(&u, org_name, sizeof org_name);
	struct membership m;
	struct session s;
	char refresh[REFRESH_TOKEN_BUF];
	int rc = user_create(c, &u, org_name, &m);
	if (rc == DB_UNIQUE) {
		http_problem_fields(
		    r, 409, "email_taken",
		    json_pack("[{s:s,s:s}]", "field", "email", "message", "is already registered"),
		    "An account with this email already exists. Log in, or reset the password.");
		goto out;
	}
	if (rc) {
		api_db_fail(r, rc, "create user");
		goto out;
	}
	rc = session_start(c, u.id, m.org_id, http_client_ip(r), http_header(r, "User-Agent"), &s,
			   refresh);
	if (rc) {
		api_db_fail(r, rc, "start session");
		goto out;
	}
	struct audit_ctx ctx;
	api_audit_ctx(r, &ctx);
	audit_record(c, m.org_id, u.id, "auth.register", &ctx, NULL);
	reply_tokens(r, 201, &u, &m, &s, refresh);
out:
	db_release(c);
}

static void do_login(struct http_req *r)
{
	static const struct jv_field FIELDS[] = {
	    {"email", JV_STRING, true, false, 1, 0},
	    {"password", JV_STRING, true, false, 1, 0},
	};
	json_t *in = http_json_object(r, false);
	if (!in)
		return;
	json_t *errors = NULL;
	if (!jv_check(in, FIELDS, 2, &errors)) {
		http_problem_validation(r, errors);
		return;
	}
	const char *pw = jv_str(in, "password"), *why;
	char email[EMAIL_BUF];
	bool shaped = api_email_normalize(jv_str(in, "email"), email, sizeof email, &why);
	if (!shaped)
		snprintf(email, sizeof email, "%.200s", jv_str(in, "email"));
	char account_key[EMAIL_BUF + 8], address_key[80];
	snprintf(account_key, sizeof account_key, "email:%s", email);
	snprintf(address_key, sizeof address_key, "ip:%s", http_client_ip(r));

	struct db_conn *c = api_db(r);
	if (!c)
		return;
	struct audit_ctx ctx;
	api_audit_ctx(r, &ctx);
	int64_t wait = throttle_wait_ms(c, account_key);
	int64_t wait_ip = throttle_wait_ms(c, address_key);
	if (wait < 0 || wait_ip < 0) {
		api_db_fail(r, (int)(wait < 0 ? wait : wait_ip), "throttle check");
		goto out;
	}
	if (wait > 0 || wait_ip > 0) {
		api_too_many(r, wait > wait_ip ? wait : wait_ip);
		goto out;
	}
	struct user u;
	int rc = shaped && strlen(pw) <= PASSWORD_MAX_LEN ? user_find_by_email(c, email, &u)
							  : STORE_NOT_FOUND;
	if (rc < 0) {
		api_db_fail(r, rc, "find user");
		goto out;
	}
	bool ok;
	if (rc == STORE_NOT_FOUND) {
		password_burn(pw); /* same time as a real check: no account enumeration */
		ok = false;
	} else {
		ok = password_verify(pw, u.password_hash);
	}
	if (!ok) {
		throttle_fail(c, account_key, &API_ACCOUNT_POLICY);
		throttle_fail(c, address_key, &ADDRESS_POLICY);
		audit_record(c, NULL, rc == DB_OK ? u.id : NULL, "auth.login.failure", &ctx,
			     json_pack("{s:s,s:s}", "email", email, "reason",
				       rc == DB_OK ? "wrong_password" : "unknown_email"));
		http_problem(r, 401, "invalid_credentials",
			     "The email or password is wrong. Check both and try again.");
		goto out;
	}
	throttle_clear(c, account_key);
	if (password_needs_rehash(u.password_hash) && password_hash(pw, u.password_hash) == 0)
		user_update(c, &u); /* upgrade old hashes transparently */
	struct membership m;
	rc = user_personal_org(c, u.id, &m);
	if (rc) {
		api_db_fail(r, rc == STORE_NOT_FOUND ? DB_ERR : rc, "personal org");
		goto out;
	}
	struct session s;
	char refresh[REFRESH_TOKEN_BUF];
	rc = session_start(c, u.id, m.org_id, http_client_ip(r), http_header(r, "User-Agent"), &s,
			   refresh);
	if (rc) {
		api_db_fail(r, rc, "start session");
		goto out;
	}
	audit_record(c, m.org_id, u.id, "auth.login.success", &ctx, NULL);
	reply_tokens(r, 200, &u, &m, &s, refresh);
out:
	db_release(c);
}

static void do_refresh(struct http_req *r)
{
	static const struct jv_field FIELDS[] = {{"refresh_token", JV_STRING, true, false, 1, 0}};
	json_t *in = http_json_object(r, false);
	if (!in)
		return;
	json_t *errors = NULL;
	if (!jv_check(in, FIELDS, 1, &errors)) {
		http_problem_validation(r, errors);
		return;
	}
	struct db_conn *c = api_db(r);
	if (!c)
		return;
	struct session s;
	char next[REFRESH_TOKEN_BUF];
	/* Any string is a token to check; one longer than we ever issue is simply not valid. */
	const char *token = jv_str(in, "refresh_token");
	int rc = strlen(token) < REFRESH_TOKEN_BUF
		     ? session_rotate(c, token, (int64_t)api_app(r)->cfg->refresh_grace_s * 1000,
				      &s, next)
		     : SESSION_INVALID;
	if (rc < 0) {
		api_db_fail(r, rc, "rotate refresh token");
		goto out;
	}
	if (rc == SESSION_REUSED) {
		struct audit_ctx ctx;
		api_audit_ctx(r, &ctx);
		audit_record(c, s.org_id, s.user_id, "auth.refresh.reuse", &ctx,
			     json_pack("{s:s}", "session_id", s.id));
		http_problem(
		    r, 401, "invalid_refresh_token",
		    "This refresh token was already used, so the session has been ended for "
		    "safety. Log in again.");
		goto out;
	}
	if (rc == SESSION_INVALID) {
		http_problem(r, 401, "invalid_refresh_token",
			     "The refresh token is not valid or has expired. Log in again.");
		goto out;
	}
	struct user u;
	struct membership m;
	rc = user_find(c, s.user_id, &u);
	if (rc == DB_OK)
		rc = user_membership(c, u.id, s.org_id, &m);
	if (rc) {
		api_db_fail(r, rc == STORE_NOT_FOUND ? DB_ERR : rc, "load user");
		goto out;
	}
	reply_tokens(r, 200, &u, &m, &s, next);
out:
	db_release(c);
}

/*
 * Logout: with {"refresh_token": ...} the session that token belongs to ends
 * (no access token needed: it may have expired); otherwise the session of the
 * calling access token ends.
 */
static void do_logout(struct http_req *r)
{
	static const struct jv_field FIELDS[] = {{"refresh_token", JV_STRING, false, false, 1, 0}};
	json_t *in = http_json_object(r, true);
	if (!in)
		return;
	json_t *errors = NULL;
	if (!jv_check(in, FIELDS, sizeof FIELDS / sizeof *FIELDS, &errors)) {
		http_problem_validation(r, errors);
		return;
	}
	const char *refresh = jv_str(in, "refresh_token");
	struct db_conn *c = api_db(r);
	if (!c)
		return;
	struct principal p;
	struct audit_ctx ctx;
	api_audit_ctx(r, &ctx);
	if (refresh) {
		struct session s;
		int rc = strlen(refresh) < REFRESH_TOKEN_BUF
			     ? session_revoke_by_refresh(c, refresh, "logout", &s)
			     : STORE_NOT_FOUND;
		if (rc == STORE_NOT_FOUND) {
			http_problem(
			    r, 401, "invalid_refresh_token",
			    "The refresh token is not valid, has expired, or its session has "
			    "already ended.");
			goto out;
		}
		if (rc) {
			api_db_fail(r, rc, "revoke session");
			goto out;
		}
		audit_record(c, s.org_id, s.user_id, "auth.logout", &ctx,
			     json_pack("{s:s}", "via", "refresh_token"));
		http_reply_empty(r, 204);
		goto out;
	}
	if (!api_auth(r, c, &p))
		goto out;
	if (p.via_api_key) {
		http_problem(r, 400, "not_a_session",
			     "An API key is not a login session. Delete the key to revoke it.");
		goto out;
	}
	int rc = session_revoke(c, p.session_id, "logout");
	if (rc) {
		api_db_fail(r, rc, "revoke session");
		goto out;
	}
	audit_record(c, p.org_id, p.user_id, "auth.logout", &ctx, NULL);
	http_reply_empty(r, 204);
out:
	db_release(c);
}

static const struct route ROUTES[] = {
    {M_POST, "/api/v1/auth/register", do_register, BODY_JSON},
    {M_POST, "/api/v1/auth/login", do_login, BODY_JSON},
    {M_POST, "/api/v1/auth/refresh", do_refresh, BODY_JSON},
    {M_POST, "/api/v1/auth/logout", do_logout, BODY_JSON},
};

size_t api_auth_routes(const struct route **out)
{
	*out = ROUTES;
	return sizeof ROUTES / sizeof *ROUTES;
}
