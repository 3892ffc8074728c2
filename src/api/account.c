/*
 * account.c — the account's address and password by mail:
 *   POST /api/v1/auth/verify-email          {token}: the address is verified
 *   GET  /api/v1/auth/verify-email?token=   is the link still good? (uses nothing up)
 *   POST /api/v1/auth/verify-email/resend   (logged in) another verification mail
 *   POST /api/v1/auth/forgot-password       {email}: always 202, whatever the address
 *   POST /api/v1/auth/reset-password        {token, password}: new password, every
 *                                           session of the user ends
 * Tokens are single-use and stored hashed (store/tokens.h). A GET never
 * uses a token up: mail scanners that fetch links must not spend them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "auth/password.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "mail/mail.h"
#include "store/audit.h"
#include "store/sessions.h"
#include "store/throttle.h"
#include "store/tokens.h"
#include "store/users.h"

#define VERIFY_TTL_MS	   (48LL * 3600 * 1000)
#define RESET_TTL_MS	   (3600LL * 1000)
#define FORGOT_PER_HOUR	   5  /* reset mails to one address per hour */
#define FORGOT_IP_PER_HOUR 30 /* reset requests from one client per hour */

/* "Hello Ada," or "Hello," */
static void greeting(const struct user *u, char *out, size_t outlen)
{
	if (u->first_name[0])
		snprintf(out, outlen, "Hello %.200s,", u->first_name);
	else
		snprintf(out, outlen, "Hello,");
}

/* A mail with one call to action, to u (mail_queue_action). */
static enum store_rc queue_action_mail(struct db_conn *c, const struct user *u, const char *subject,
				       const char *intro, const char *action, const char *link,
				       const char *outro)
{
	char hello[256];
	greeting(u, hello, sizeof hello);
	return mail_queue_action(c, NULL, u->email, subject, hello, intro, action, link, outro,
				 NULL);
}

enum store_rc api_send_verification(struct app *app, struct db_conn *c, const struct user *u)
{
	if (!mail_enabled() || u->email_verified_at)
		return STORE_OK;
	char token[TOKEN_BUF], link[TOKEN_BUF + 512];
	enum store_rc rc = token_issue(c, TOKEN_VERIFY, "ve_", u->id, NULL, VERIFY_TTL_MS, token);
	if (rc)
		return rc;
	snprintf(link, sizeof link, "%s/verify-email?token=%s", mail_public_url(), token);
	explicit_bzero(token, sizeof token);
	rc = queue_action_mail(c, u, "Confirm your e-mail address for IAM",
			       "Please confirm that this is your e-mail address.",
			       "Confirm my address", link,
			       "The link works once, for 48 hours. If you did not sign up for IAM, "
			       "ignore this mail.");
	explicit_bzero(link, sizeof link);
	if (rc == STORE_OK)
		api_jobs_wake(app);
	return rc;
}

/* ---- verify ---- */

struct token_in {
	const char *token;
};

static const struct jv_field TOKEN_FIELDS[] = {
    {.name = "token",
     .type = JV_STRING,
     .presence = JV_REQUIRED,
     .min_len = 1,
     .max_len = TOKEN_BUF,
     .dest = JV_DEST(struct token_in, token)},
};
static const struct jv_spec TOKEN_SPEC = {JV_FIELDS(TOKEN_FIELDS)};

static void token_problem(struct http_req *r, enum store_rc rc, const char *what)
{
	if (rc == STORE_CONFLICT)
		http_problem(r, 410, "token_expired",
			     "This %s link was already used or has expired. Ask for a new one.",
			     what);
	else
		http_problem(r, 404, "token_invalid",
			     "This %s link is not valid. Copy the whole link from the mail, or ask "
			     "for a new one.",
			     what);
}

static void verify_check_get(struct api_ctx *cx)
{
	struct http_req *r = cx->req;
	const char *token = http_query(r, "token");
	if (!token || !*token) {
		http_problem_fields(
		    r, 400, "validation_failed",
		    json_pack("[{s:s,s:s}]", "field", "token", "message", "is required"),
		    "Add the token from the verification link (?token=...).");
		return;
	}
	struct user_token t;
	enum store_rc rc = token_peek(cx->conn, TOKEN_VERIFY, token, &t);
	if (rc == STORE_OK) {
		http_reply_json(r, 200, json_pack("{s:b}", "valid", 1));
		return;
	}
	if (rc == STORE_NOT_FOUND || rc == STORE_CONFLICT) {
		token_problem(r, rc, "verification");
		return;
	}
	api_db_fail(r, rc, "check token");
}

static void do_verify(struct api_ctx *cx)
{
	struct http_req *r = cx->req;
	struct db_conn *c = cx->conn;
	struct user_token t;
	enum store_rc rc = token_consume(c, TOKEN_VERIFY, API_IN(cx, struct token_in)->token, &t);
	if (rc == STORE_NOT_FOUND || rc == STORE_CONFLICT) {
		token_problem(r, rc, "verification");
		return;
	}
	struct user u;
	if (rc == STORE_OK)
		rc = user_mark_verified(c, t.user_id);
	if (rc == STORE_OK)
		rc = user_find(c, t.user_id, &u);
	if (rc) {
		api_db_fail(r, rc, "verify address");
		return;
	}
	struct audit_ctx ctx;
	api_audit_ctx(r, &ctx);
	audit_record(c, NULL, u.id, "user.email.verified", &ctx, NULL);
	http_reply_json(r, 200, json_pack("{s:o}", "user", api_user_json(&u)));
}

static void do_resend(struct api_ctx *cx)
{
	struct http_req *r = cx->req;
	struct db_conn *c = cx->conn;
	struct user u;
	enum store_rc rc = user_find(c, cx->principal->user_id, &u);
	if (rc) {
		api_db_fail(r, rc == STORE_NOT_FOUND ? STORE_ERROR : rc, "load user");
		return;
	}
	if (u.email_verified_at) {
		http_problem(r, 409, "already_verified", "Your address %s is already verified.",
			     u.email);
		return;
	}
	if (!mail_enabled()) {
		http_problem(r, 503, "mail_not_configured",
			     "This server sends no mail (no SMTP server is configured). Ask its "
			     "administrator to set IAM_SMTP_URL.");
		return;
	}
	char key[EMAIL_BUF + 16];
	snprintf(key, sizeof key, "verify:%s", u.id);
	int64_t wait;
	rc = throttle_hit(c, key, FORGOT_PER_HOUR, 3600 * 1000, &wait);
	if (rc) {
		api_db_fail(r, rc, "resend limit");
		return;
	}
	if (wait > 0) {
		api_too_many(r, wait);
		return;
	}
	rc = api_send_verification(api_app(r), c, &u);
	if (rc) {
		api_db_fail(r, rc, "queue mail");
		return;
	}
	http_reply_json(r, 202, json_pack("{s:s}", "status", "queued"));
}

/* ---- forgot / reset ---- */

struct forgot_in {
	const char *email;
};

static const struct jv_field FORGOT_FIELDS[] = {
    {.name = "email",
     .type = JV_STRING,
     .presence = JV_REQUIRED,
     .min_len = 1,
     .max_len = EMAIL_BUF,
     .dest = JV_DEST(struct forgot_in, email)},
};
static const struct jv_spec FORGOT_SPEC = {JV_FIELDS(FORGOT_FIELDS)};

static void forgot_check(struct api_ctx *cx, json_t **errors)
{
	char email[EMAIL_BUF];
	const char *why;
	if (!api_email_normalize(API_IN(cx, struct forgot_in)->email, email, sizeof email, &why))
		jv_error(errors, "email", "%s", why);
}

/*
 * The same 202 whatever happens to the address (unknown, throttled, no
 * mail configured), so the reply says nothing about who has an account.
 * The work for a known address (a token and a job row) is a few inserts:
 * the unknown path does the equivalent reads and writes (the throttle rows)
 * so the timings stay close.
 */
static void do_forgot(struct api_ctx *cx)
{
	struct http_req *r = cx->req;
	struct db_conn *c = cx->conn;
	char email[EMAIL_BUF], client[64], key[EMAIL_BUF + 80];
	const char *why;
	if (!api_email_normalize(API_IN(cx, struct forgot_in)->email, email, sizeof email, &why))
		return; /* refused by forgot_check */
	api_client_addr(r, client);
	int64_t wait_ip = 0, wait_addr = 0;
	snprintf(key, sizeof key, "forgot-ip:%s", client);
	enum store_rc rc = throttle_hit(c, key, FORGOT_IP_PER_HOUR, 3600 * 1000, &wait_ip);
	if (rc == STORE_OK && wait_ip > 0) {
		/* A client asking for many resets is told so: it learns nothing about an address.
		 */
		api_too_many(r, wait_ip);
		return;
	}
	snprintf(key, sizeof key, "forgot:%s", email);
	if (rc == STORE_OK)
		rc = throttle_hit(c, key, FORGOT_PER_HOUR, 3600 * 1000, &wait_addr);
	struct user u;
	if (rc == STORE_OK)
		rc = user_find_by_email(c, email, &u);
	struct audit_ctx ctx;
	api_audit_ctx(r, &ctx);
	if (rc == STORE_OK && wait_addr == 0 && mail_enabled()) {
		char token[TOKEN_BUF], link[TOKEN_BUF + 512];
		/* Only the newest link works. */
		rc = token_revoke_user(c, TOKEN_RESET, u.id);
		if (rc == STORE_OK)
			rc = token_issue(c, TOKEN_RESET, "pr_", u.id, NULL, RESET_TTL_MS, token);
		if (rc == STORE_OK) {
			snprintf(link, sizeof link, "%s/reset-password?token=%s", mail_public_url(),
				 token);
			rc = queue_action_mail(
			    c, &u, "Reset your IAM password",
			    "Someone (we hope you) asked to reset the password of your IAM "
			    "account.",
			    "Choose a new password", link,
			    "The link works once, for one hour. If you did not ask for it, ignore "
			    "this mail: your password stays as it is.");
			explicit_bzero(link, sizeof link);
			explicit_bzero(token, sizeof token);
		}
		if (rc == STORE_OK) {
			audit_record(c, NULL, u.id, "auth.password.reset_requested", &ctx, NULL);
			api_jobs_wake(api_app(r));
		}
	} else if (rc == STORE_NOT_FOUND) {
		rc = STORE_OK;
	}
	if (rc) {
		api_db_fail(r, rc, "password reset");
		return;
	}
	http_reply_json(
	    r, 202,
	    json_pack(
		"{s:s,s:s}", "status", "accepted", "detail",
		"If an account uses this address, a link to reset its password is on its way. "
		"It works for one hour."));
}

struct reset_in {
	const char *token, *password;
};

static const struct jv_field RESET_FIELDS[] = {
    {.name = "token",
     .type = JV_STRING,
     .presence = JV_REQUIRED,
     .min_len = 1,
     .max_len = TOKEN_BUF,
     .dest = JV_DEST(struct reset_in, token)},
    {.name = "password",
     .type = JV_STRING,
     .presence = JV_REQUIRED,
     .dest = JV_DEST(struct reset_in, password)},
};
static const struct jv_spec RESET_SPEC = {JV_FIELDS(RESET_FIELDS)};

static void reset_check(struct api_ctx *cx, json_t **errors)
{
	api_password_rules(API_IN(cx, struct reset_in)->password, NULL, "password", errors);
}

/* No connection is held while the password is hashed. */
static void do_reset(struct api_ctx *cx)
{
	const struct reset_in *in = API_IN(cx, struct reset_in);
	struct http_req *r = cx->req;
	struct user_token t;
	struct user u;
	struct db_conn *c = api_conn(cx);
	if (!c)
		return;
	/* Check the link before the slow hash, without using it up. */
	enum store_rc rc = token_peek(c, TOKEN_RESET, in->token, &t);
	if (rc == STORE_NOT_FOUND || rc == STORE_CONFLICT) {
		token_problem(r, rc, "password reset");
		return;
	}
	if (rc == STORE_OK)
		rc = user_find(c, t.user_id, &u);
	if (rc) {
		api_db_fail(r, rc == STORE_NOT_FOUND ? STORE_ERROR : rc, "reset password");
		return;
	}
	json_t *errors = NULL;
	api_password_rules(in->password, u.email, "password", &errors);
	if (errors) {
		http_problem_validation(r, errors);
		return;
	}
	api_conn_release(cx);
	if (password_gate_enter() < 0) {
		api_hash_busy(r);
		return;
	}
	char hash[PASSWORD_HASH_MAX];
	int hrc = password_hash(in->password, hash);
	password_gate_leave();
	if (hrc < 0) {
		http_problem_internal(r, "password hash");
		return;
	}
	if (!(c = api_conn(cx)))
		return;
	/* Now use the link up: of two requests racing with it, one gets here. */
	rc = token_consume(c, TOKEN_RESET, in->token, &t);
	if (rc == STORE_NOT_FOUND || rc == STORE_CONFLICT) {
		token_problem(r, rc, "password reset");
		return;
	}
	if (rc == STORE_OK)
		rc = user_find(c, t.user_id, &u);
	if (rc == STORE_OK) {
		int64_t now = time_now_ms();
		snprintf(u.password_hash, sizeof u.password_hash, "%s", hash);
		u.updated_at = u.password_changed_at = now;
		rc = user_update(c, &u);
	}
	/* Whoever knew the old password is out: every session ends, every other link too. */
	if (rc == STORE_OK)
		rc = session_revoke_others(c, u.id, NULL, "password_reset");
	if (rc == STORE_OK)
		rc = token_revoke_user(c, TOKEN_RESET, u.id);
	/* Receiving the mail proved the address. */
	if (rc == STORE_OK)
		rc = user_mark_verified(c, u.id);
	explicit_bzero(hash, sizeof hash);
	if (rc) {
		api_db_fail(r, rc == STORE_NOT_FOUND ? STORE_ERROR : rc, "reset password");
		return;
	}
	struct audit_ctx ctx;
	api_audit_ctx(r, &ctx);
	audit_record(c, NULL, u.id, "auth.password.reset", &ctx, NULL);
	http_reply_json(
	    r, 200,
	    json_pack("{s:s,s:s}", "status", "password_changed", "detail",
		      "Your password was changed and every session was ended. Log in with the new "
		      "password."));
}

static const struct route ROUTES[] = {
    {.method = M_GET,
     .pattern = "/api/v1/auth/verify-email",
     .db = DB_CONN_HELD,
     .run = verify_check_get},
    {.method = M_POST,
     .pattern = "/api/v1/auth/verify-email",
     .body = BODY_JSON,
     .json = &TOKEN_SPEC,
     .db = DB_CONN_HELD,
     .run = do_verify},
    {.method = M_POST,
     .pattern = "/api/v1/auth/verify-email/resend",
     .auth = AUTH_BEARER,
     .db = DB_CONN_HELD,
     .run = do_resend},
    {.method = M_POST,
     .pattern = "/api/v1/auth/forgot-password",
     .body = BODY_JSON,
     .json = &FORGOT_SPEC,
     .check = forgot_check,
     .db = DB_CONN_HELD,
     .run = do_forgot},
    {.method = M_POST,
     .pattern = "/api/v1/auth/reset-password",
     .body = BODY_JSON,
     .json = &RESET_SPEC,
     .check = reset_check,
     .run = do_reset},
};

size_t api_account_routes(const struct route **out)
{
	*out = ROUTES;
	return ARRAY_LEN(ROUTES);
}
