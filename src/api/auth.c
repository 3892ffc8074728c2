/*
 * auth.c — /api/v1/auth: register, login, refresh, logout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "auth/clientaddr.h"
#include "auth/password.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "store/audit.h"
#include "store/orgs.h"
#include "store/sessions.h"
#include "store/throttle.h"
#include "store/users.h"

/*
 * Login throttling (README, "Login throttling"). Failures are counted three
 * ways, keyed on the client address behind trusted proxies:
 *   - per account and client (API_ACCOUNT_POLICY: 5 in 15 min lock that pair),
 *     so a stranger's guesses do not lock the holder out from their own client;
 *   - per account from everywhere, with a much higher ceiling, so guessing
 *     spread over many addresses is still bounded;
 *   - per client address, generous, to stop spraying across many accounts.
 */
static const struct throttle_policy ACCOUNT_CEILING_POLICY = {100, 60 * 60000, 60000, 15 * 60000};
static const struct throttle_policy ADDRESS_POLICY = {50, 15 * 60000, 60000, 60 * 60000};

void api_client_addr(struct http_req *r, char out[CLIENTADDR_BUF])
{
	clientaddr_resolve(clientaddr_global(), http_client_ip(r),
			   http_header(r, "X-Forwarded-For"), http_header(r, "Forwarded"), out);
}

void api_account_key(const char *email, const char *client, char *out, size_t outlen)
{
	snprintf(out, outlen, "acct:%s|%s", email, client);
}

void api_hash_busy(struct http_req *r)
{
	http_add_header(r, "Retry-After", "2");
	http_problem(r, 503, "server_busy",
		     "The server is busy checking passwords. Try again in a few seconds.");
}

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

bool api_start_session(struct http_req *r, struct db_conn *c, const struct user *u,
		       const struct membership *m, int status)
{
	char client[CLIENTADDR_BUF];
	api_client_addr(r, client);
	struct session s;
	char refresh[REFRESH_TOKEN_BUF];
	enum store_rc rc =
	    session_start(c, u->id, m->org_id, client, http_header(r, "User-Agent"), &s, refresh);
	if (rc) {
		api_db_fail(r, rc, "start session");
		return false;
	}
	reply_tokens(r, status, u, m, &s, refresh);
	return true;
}

void api_org_name_for(const struct user *u, char *out, size_t outlen)
{
	if (u->company_name[0])
		snprintf(out, outlen, "%s", u->company_name);
	else if (u->first_name[0])
		snprintf(out, outlen, "%.380s's workspace", u->first_name);
	else
		snprintf(out, outlen, "%.*s's workspace", (int)strcspn(u->email, "@"), u->email);
}

void api_reply_tokens(struct http_req *r, int status, const struct user *u,
		      const struct membership *m, const struct session *s, const char *refresh)
{
	reply_tokens(r, status, u, m, s, refresh);
}

struct register_in {
	const char *email, *password, *first_name, *last_name, *company_name;
};

static const struct jv_field REGISTER_FIELDS[] = {
    {.name = "email",
     .type = JV_STRING,
     .presence = JV_REQUIRED,
     .min_len = 1,
     .dest = JV_DEST(struct register_in, email)},
    {.name = "password",
     .type = JV_STRING,
     .presence = JV_REQUIRED,
     .dest = JV_DEST(struct register_in, password)},
    {.name = "first_name",
     .type = JV_STRING,
     .null = JV_NULL_OK,
     .max_len = NAME_MAX_CHARS,
     .dest = JV_DEST(struct register_in, first_name)},
    {.name = "last_name",
     .type = JV_STRING,
     .null = JV_NULL_OK,
     .max_len = NAME_MAX_CHARS,
     .dest = JV_DEST(struct register_in, last_name)},
    {.name = "company_name",
     .type = JV_STRING,
     .null = JV_NULL_OK,
     .max_len = NAME_MAX_CHARS,
     .dest = JV_DEST(struct register_in, company_name)},
};
static const struct jv_spec REGISTER_SPEC = {JV_FIELDS(REGISTER_FIELDS)};

static void register_check(struct api_ctx *cx, json_t **errors)
{
	const struct register_in *in = API_IN(cx, struct register_in);
	char email[EMAIL_BUF] = "";
	const char *why;
	if (in->email && !api_email_normalize(in->email, email, sizeof email, &why))
		jv_error(errors, "email", "%s", why);
	if (in->password)
		api_password_rules(in->password, email[0] ? email : in->email, "password", errors);
	api_name_rules(cx->body, errors);
}

/* No connection is held up front: hashing (the slow part) runs without one. */
static void do_register(struct api_ctx *cx)
{
	const struct register_in *in = API_IN(cx, struct register_in);
	struct http_req *r = cx->req;
	struct user u;
	memset(&u, 0, sizeof u);
	const char *pw = in->password, *why;
	if (!api_email_normalize(in->email, u.email, sizeof u.email, &why))
		return; /* refused by register_check */
	snprintf(u.first_name, sizeof u.first_name, "%s", in->first_name ? in->first_name : "");
	snprintf(u.last_name, sizeof u.last_name, "%s", in->last_name ? in->last_name : "");
	snprintf(u.company_name, sizeof u.company_name, "%s",
		 in->company_name ? in->company_name : "");
	char client[CLIENTADDR_BUF];
	api_client_addr(r, client);
	int per_hour = api_app(r)->cfg->register_per_hour;
	struct db_conn *c;
	if (per_hour > 0) {
		char key[CLIENTADDR_BUF + 16];
		snprintf(key, sizeof key, "register:%s", client);
		if (!(c = api_conn(cx)))
			return;
		int64_t wait;
		enum store_rc rc = throttle_hit(c, key, per_hour, 3600 * 1000, &wait);
		api_conn_release(cx);
		if (rc) {
			api_db_fail(r, rc, "registration limit");
			return;
		}
		if (wait > 0) {
			char secs[24];
			snprintf(secs, sizeof secs, "%lld", (long long)((wait + 999) / 1000));
			http_add_header(r, "Retry-After", secs);
			http_problem(
			    r, 429, "too_many_registrations",
			    "Too many accounts were registered from your address in the last "
			    "hour (at most %d). Try again in %s seconds.",
			    per_hour, secs);
			return;
		}
	}
	/* Hash before borrowing a connection: the pool is not held during the slow part. */
	if (password_gate_enter() < 0) {
		api_hash_busy(r);
		return;
	}
	int hrc = password_hash(pw, u.password_hash);
	password_gate_leave();
	if (hrc < 0) {
		http_problem_internal(r, "password hash");
		return;
	}
	c = api_conn(cx);
	if (!c)
		return;
	char org_name[NAME_BUF];
	api_org_name_for(&u, org_name, sizeof org_name);
	struct membership m;
	struct session s;
	char refresh[REFRESH_TOKEN_BUF];
	int rc = user_create(c, &u, org_name, &m);
	if (rc == STORE_CONFLICT) {
		http_problem_fields(
		    r, 409, "email_taken",
		    json_pack("[{s:s,s:s}]", "field", "email", "message", "is already registered"),
		    "An account with this email already exists. Log in, or reset the password.");
		return;
	}
	if (rc) {
		api_db_fail(r, rc, "create user");
		return;
	}
	rc = session_start(c, u.id, m.org_id, client, http_header(r, "User-Agent"), &s, refresh);
	if (rc) {
		api_db_fail(r, rc, "start session");
		return;
	}
	struct audit_ctx ctx;
	api_audit_ctx(r, &ctx);
	audit_record(c, m.org_id, u.id, "auth.register", &ctx, NULL);
	/* The account works at once; a mail that cannot be queued now can be asked for again. */
	if (api_send_verification(api_app(r), c, &u) != STORE_OK)
		log_warn("the verification mail could not be queued",
			 json_pack("{s:s}", "user_id", u.id));
	reply_tokens(r, 201, &u, &m, &s, refresh);
}

struct login_in {
	const char *email, *password;
};

static const struct jv_field LOGIN_FIELDS[] = {
    {.name = "email",
     .type = JV_STRING,
     .presence = JV_REQUIRED,
     .min_len = 1,
     .dest = JV_DEST(struct login_in, email)},
    {.name = "password",
     .type = JV_STRING,
     .presence = JV_REQUIRED,
     .min_len = 1,
     .dest = JV_DEST(struct login_in, password)},
};
static const struct jv_spec LOGIN_SPEC = {JV_FIELDS(LOGIN_FIELDS)};

static void do_login(struct api_ctx *cx)
{
	const struct login_in *in = API_IN(cx, struct login_in);
	struct http_req *r = cx->req;
	const char *pw = in->password, *why;
	char email[EMAIL_BUF];
	bool shaped = api_email_normalize(in->email, email, sizeof email, &why);
	if (!shaped)
		snprintf(email, sizeof email, "%.200s", in->email);
	char client[CLIENTADDR_BUF];
	api_client_addr(r, client);
	char account_key[EMAIL_BUF + CLIENTADDR_BUF + 8], ceiling_key[EMAIL_BUF + 8],
	    address_key[80];
	api_account_key(email, client, account_key, sizeof account_key);
	snprintf(ceiling_key, sizeof ceiling_key, "email:%s", email);
	snprintf(address_key, sizeof address_key, "ip:%s", client);

	struct db_conn *c = cx->conn;
	struct audit_ctx ctx;
	api_audit_ctx(r, &ctx);
	const char *const keys[] = {account_key, ceiling_key, address_key};
	int64_t wait = 0;
	for (size_t i = 0; i < ARRAY_LEN(keys); i++) {
		int64_t w;
		enum store_rc trc = throttle_wait_ms(c, keys[i], &w);
		if (trc) {
			api_db_fail(r, trc, "throttle check");
			return;
		}
		if (w > wait)
			wait = w;
	}
	if (wait > 0) {
		api_too_many(r, wait);
		return;
	}
	struct user u;
	enum store_rc rc = shaped && strlen(pw) <= PASSWORD_MAX_LEN
			       ? user_find_by_email(c, email, &u)
			       : STORE_NOT_FOUND;
	if (rc != STORE_OK && rc != STORE_NOT_FOUND) {
		api_db_fail(r, rc, "find user");
		return;
	}
	if (password_gate_enter() < 0) {
		api_hash_busy(r); /* not counted as a failure: nothing was checked */
		return;
	}
	bool ok;
	if (rc == STORE_NOT_FOUND) {
		password_burn(pw); /* same time as a real check: no account enumeration */
		ok = false;
	} else {
		ok = password_verify(pw, u.password_hash);
	}
	/* upgrade old hashes transparently, while the slot is still held */
	bool rehashed =
	    ok && password_needs_rehash(u.password_hash) && password_hash(pw, u.password_hash) == 0;
	password_gate_leave();
	if (!ok) {
		throttle_fail(c, account_key, &API_ACCOUNT_POLICY, NULL);
		throttle_fail(c, ceiling_key, &ACCOUNT_CEILING_POLICY, NULL);
		throttle_fail(c, address_key, &ADDRESS_POLICY, NULL);
		audit_record(c, NULL, rc == STORE_OK ? u.id : NULL, "auth.login.failure", &ctx,
			     json_pack("{s:s,s:s,s:s}", "email", email, "reason",
				       rc == STORE_OK ? "wrong_password" : "unknown_email",
				       "client", client));
		http_problem(r, 401, "invalid_credentials",
			     "The email or password is wrong. Check both and try again.");
		return;
	}
	throttle_clear(c, account_key);
	throttle_clear(c, ceiling_key);
	if (rehashed)
		user_update(c, &u);
	struct membership m;
	rc = user_personal_org(c, u.id, &m);
	if (rc == STORE_NOT_FOUND) /* left or lost it: the oldest organization they belong to */
		rc = org_first_for_user(c, u.id, &m);
	if (rc == STORE_NOT_FOUND) {
		http_problem(r, 403, "no_organization",
			     "Your account belongs to no organization any more. Accept an "
			     "invitation to join one.");
		return;
	}
	if (rc) {
		api_db_fail(r, rc, "personal org");
		return;
	}
	struct session s;
	char refresh[REFRESH_TOKEN_BUF];
	rc = session_start(c, u.id, m.org_id, client, http_header(r, "User-Agent"), &s, refresh);
	if (rc) {
		api_db_fail(r, rc, "start session");
		return;
	}
	audit_record(c, m.org_id, u.id, "auth.login.success", &ctx, NULL);
	reply_tokens(r, 200, &u, &m, &s, refresh);
}

struct refresh_in {
	const char *refresh_token;
};

static const struct jv_field REFRESH_FIELDS[] = {
    {.name = "refresh_token",
     .type = JV_STRING,
     .presence = JV_REQUIRED,
     .min_len = 1,
     .dest = JV_DEST(struct refresh_in, refresh_token)},
};
static const struct jv_spec REFRESH_SPEC = {JV_FIELDS(REFRESH_FIELDS)};

static void do_refresh(struct api_ctx *cx)
{
	const struct refresh_in *in = API_IN(cx, struct refresh_in);
	struct http_req *r = cx->req;
	struct db_conn *c = cx->conn;
	struct session s;
	char next[REFRESH_TOKEN_BUF];
	/* Any string is a token to check; one longer than we ever issue is simply not valid. */
	const char *token = in->refresh_token;
	int rc = strlen(token) < REFRESH_TOKEN_BUF
		     ? session_rotate(c, token, (int64_t)api_app(r)->cfg->refresh_grace_s * 1000,
				      &s, next)
		     : STORE_NOT_FOUND;
	if (rc != STORE_OK && rc != STORE_NOT_FOUND && rc != STORE_TOKEN_REUSED) {
		api_db_fail(r, rc, "rotate refresh token");
		return;
	}
	if (rc == STORE_TOKEN_REUSED) {
		struct audit_ctx ctx;
		api_audit_ctx(r, &ctx);
		audit_record(c, s.org_id, s.user_id, "auth.refresh.reuse", &ctx,
			     json_pack("{s:s}", "session_id", s.id));
		http_problem(
		    r, 401, "invalid_refresh_token",
		    "This refresh token was already used, so the session has been ended for "
		    "safety. Log in again.");
		return;
	}
	if (rc == STORE_NOT_FOUND) {
		http_problem(r, 401, "invalid_refresh_token",
			     "The refresh token is not valid or has expired. Log in again.");
		return;
	}
	struct user u;
	struct membership m;
	rc = user_find(c, s.user_id, &u);
	if (rc == STORE_OK)
		rc = user_membership(c, u.id, s.org_id, &m);
	if (rc) {
		api_db_fail(r, rc == STORE_NOT_FOUND ? STORE_ERROR : rc, "load user");
		return;
	}
	reply_tokens(r, 200, &u, &m, &s, next);
}

/*
 * Logout: with {"refresh_token": ...} the session that token belongs to ends
 * (no access token needed: it may have expired); otherwise the session of the
 * calling access token ends.
 */
struct logout_in {
	const char *refresh_token;
};

static const struct jv_field LOGOUT_FIELDS[] = {
    {.name = "refresh_token",
     .type = JV_STRING,
     .min_len = 1,
     .dest = JV_DEST(struct logout_in, refresh_token)},
};
static const struct jv_spec LOGOUT_SPEC = {JV_FIELDS(LOGOUT_FIELDS), .empty = JV_EMPTY_OK};

/* AUTH_NONE: a refresh token alone may end its session; else the access token is checked here. */
static void do_logout(struct api_ctx *cx)
{
	const struct logout_in *in = API_IN(cx, struct logout_in);
	struct http_req *r = cx->req;
	struct db_conn *c = cx->conn;
	const char *refresh = in->refresh_token;
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
			return;
		}
		if (rc) {
			api_db_fail(r, rc, "revoke session");
			return;
		}
		audit_record(c, s.org_id, s.user_id, "auth.logout", &ctx,
			     json_pack("{s:s}", "via", "refresh_token"));
		http_reply_empty(r, 204);
		return;
	}
	if (!api_auth(r, c, &p))
		return;
	if (p.via_api_key) {
		http_problem(r, 400, "not_a_session",
			     "An API key is not a login session. Delete the key to revoke it.");
		return;
	}
	int rc = session_revoke(c, p.session_id, "logout");
	if (rc) {
		api_db_fail(r, rc, "revoke session");
		return;
	}
	audit_record(c, p.org_id, p.user_id, "auth.logout", &ctx, NULL);
	http_reply_empty(r, 204);
}

struct switch_in {
	const char *organization_id;
};

static const struct jv_field SWITCH_FIELDS[] = {
    {.name = "organization_id",
     .type = JV_STRING,
     .presence = JV_REQUIRED,
     .min_len = 1,
     .dest = JV_DEST(struct switch_in, organization_id)},
};
static const struct jv_spec SWITCH_SPEC = {JV_FIELDS(SWITCH_FIELDS)};

/*
 * A new token pair for another organization the caller belongs to: a new
 * session in it; the calling session ends (its tokens name the old
 * organization), so one login keeps one live session.
 */
static void do_switch_org(struct api_ctx *cx)
{
	const struct switch_in *in = API_IN(cx, struct switch_in);
	struct http_req *r = cx->req;
	struct db_conn *c = cx->conn;
	const struct principal *p = cx->principal;
	if (p->via_api_key) {
		http_problem(r, 400, "not_a_session",
			     "An API key belongs to one organization; create a key in the other "
			     "organization instead.");
		return;
	}
	struct user u;
	struct membership m;
	enum store_rc rc =
	    uuid_valid(in->organization_id) ? user_find(c, p->user_id, &u) : STORE_NOT_FOUND;
	if (rc == STORE_OK)
		rc = user_membership(c, p->user_id, in->organization_id, &m);
	if (rc == STORE_NOT_FOUND) {
		http_problem_fields(r, 404, "organization_not_found",
				    json_pack("[{s:s,s:s}]", "field", "organization_id", "message",
					      "is not an organization you belong to"),
				    "You are not a member of organization '%.36s'. List yours with "
				    "GET /api/v1/organizations.",
				    in->organization_id);
		return;
	}
	if (rc) {
		api_db_fail(r, rc, "load membership");
		return;
	}
	if ((rc = session_revoke(c, p->session_id, "switch_org"))) {
		api_db_fail(r, rc, "end session");
		return;
	}
	struct audit_ctx ctx;
	api_audit_ctx(r, &ctx);
	audit_record_target(c, m.org_id, u.id, "auth.switch_org", "organization", m.org_id, &ctx,
			    json_pack("{s:s}", "from", p->org_id));
	api_start_session(r, c, &u, &m, 200);
}

static const struct route ROUTES[] = {
    {.method = M_POST,
     .pattern = "/api/v1/auth/register",
     .body = BODY_JSON,
     .json = &REGISTER_SPEC,
     .check = register_check,
     .run = do_register},
    {.method = M_POST,
     .pattern = "/api/v1/auth/login",
     .body = BODY_JSON,
     .json = &LOGIN_SPEC,
     .db = DB_CONN_HELD,
     .run = do_login},
    {.method = M_POST,
     .pattern = "/api/v1/auth/refresh",
     .body = BODY_JSON,
     .json = &REFRESH_SPEC,
     .db = DB_CONN_HELD,
     .run = do_refresh},
    {.method = M_POST,
     .pattern = "/api/v1/auth/logout",
     .body = BODY_JSON,
     .json = &LOGOUT_SPEC,
     .db = DB_CONN_HELD,
     .run = do_logout},
    {.method = M_POST,
     .pattern = "/api/v1/auth/switch-org",
     .body = BODY_JSON,
     .json = &SWITCH_SPEC,
     .auth = AUTH_BEARER,
     .db = DB_CONN_HELD,
     .run = do_switch_org},
};

size_t api_auth_routes(const struct route **out)
{
	*out = ROUTES;
	return ARRAY_LEN(ROUTES);
}
