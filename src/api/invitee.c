/*
 * invitee.c — see invitee.h.
 */
#include "api/invitee.h"

#include <stdio.h>
#include <string.h>

#include "auth/password.h"
#include "core/log.h"
#include "mail/mail.h"
#include "store/audit.h"
#include "store/notifications.h"

/* No length limit of their own (the body's bounds it): a token that is too long is unknown (404).
 */
static const struct jv_field TOKEN_FIELDS[] = {
    {.name = "token",
     .type = JV_STRING,
     .presence = JV_REQUIRED,
     .min_len = 1,
     .dest = JV_DEST(struct invitee_in, token)},
};
const struct jv_spec INVITEE_TOKEN_SPEC = {JV_FIELDS(TOKEN_FIELDS)};

static const struct jv_field SIGNUP_FIELDS[] = {
    {.name = "token",
     .type = JV_STRING,
     .presence = JV_REQUIRED,
     .min_len = 1,
     .dest = JV_DEST(struct invitee_in, token)},
    {.name = "password",
     .type = JV_STRING,
     .presence = JV_REQUIRED,
     .dest = JV_DEST(struct invitee_in, password)},
    {.name = "first_name",
     .type = JV_STRING,
     .null = JV_NULL_OK,
     .max_len = NAME_MAX_CHARS,
     .dest = JV_DEST(struct invitee_in, first_name)},
    {.name = "last_name",
     .type = JV_STRING,
     .null = JV_NULL_OK,
     .max_len = NAME_MAX_CHARS,
     .dest = JV_DEST(struct invitee_in, last_name)},
};
const struct jv_spec INVITEE_SIGNUP_SPEC = {JV_FIELDS(SIGNUP_FIELDS)};

void invitee_signup_check(struct api_ctx *cx, json_t **errors)
{
	const struct invitee_in *in = API_IN(cx, struct invitee_in);
	if (in->password)
		api_password_rules(in->password, NULL, "password", errors);
	api_name_rules(cx->body, errors);
}

bool invitee_pending(struct http_req *r, enum store_rc rc, enum invitee_state state,
		     const char *used_hint)
{
	if (rc == STORE_NOT_FOUND) {
		http_problem(r, 404, "invitation_not_found",
			     "This invitation link is not valid. Check that the whole link was "
			     "copied, or ask for a new invitation.");
		return false;
	}
	if (rc) {
		api_db_fail(r, rc, "load invitation");
		return false;
	}
	switch (state) {
	case INVITEE_ACCEPTED:
		http_problem(r, 410, "invitation_used", "This invitation has already been used. %s",
			     used_hint);
		return false;
	case INVITEE_REVOKED:
		http_problem(r, 410, "invitation_revoked",
			     "This invitation was revoked or replaced by a newer one. Use the "
			     "latest link, or ask for a new invitation.");
		return false;
	case INVITEE_EXPIRED:
		http_problem(r, 410, "invitation_expired",
			     "This invitation expired (invitations last 7 days). Ask for a new "
			     "one.");
		return false;
	default:
		return true;
	}
}

bool invitee_is_addressee(struct api_ctx *cx, const char *invited_email, struct user *u)
{
	struct http_req *r = cx->req;
	if (cx->principal->via_api_key) {
		http_problem(
		    r, 400, "not_a_session",
		    "Accept an invitation while logged in as its addressee, not with an API "
		    "key.");
		return false;
	}
	enum store_rc rc = user_find(cx->conn, cx->principal->user_id, u);
	if (rc) {
		api_db_fail(r, rc == STORE_NOT_FOUND ? STORE_ERROR : rc, "load user");
		return false;
	}
	if (strcmp(u->email, invited_email) != 0) {
		http_problem_fields(
		    r, 403, "invitation_email_mismatch",
		    json_pack("[{s:s,s:s}]", "field", "email", "message", "does not match"),
		    "This invitation is for %s, but you are logged in as %s. Log in as %s (or "
		    "sign up with that address) to accept it.",
		    invited_email, u->email, invited_email);
		return false;
	}
	return true;
}

bool invitee_accept_failed(struct http_req *r, enum store_rc rc)
{
	if (rc == STORE_STALE) {
		http_problem(r, 410, "invitation_used",
			     "This invitation was used, revoked or expired a moment ago. Ask for a "
			     "new invitation.");
		return true;
	}
	if (rc) {
		api_db_fail(r, rc, "accept invitation");
		return true;
	}
	return false;
}

static void email_taken(struct http_req *r, const char *email)
{
	http_problem(r, 409, "email_taken",
		     "An account with %s already exists. Log in and accept the invitation.", email);
}

bool invitee_create_account(struct api_ctx *cx, const char *email, const char *via, struct user *u,
			    struct membership *personal)
{
	const struct invitee_in *in = API_IN(cx, struct invitee_in);
	struct http_req *r = cx->req;
	memset(u, 0, sizeof *u);
	enum store_rc rc = user_find_by_email(cx->conn, email, u);
	if (rc == STORE_OK) {
		email_taken(r, email);
		return false;
	}
	if (rc != STORE_NOT_FOUND) {
		api_db_fail(r, rc, "find user");
		return false;
	}
	memset(u, 0, sizeof *u);
	snprintf(u->email, sizeof u->email, "%s", email);
	json_t *pw_errors = NULL;
	api_password_rules(in->password, email, "password", &pw_errors);
	if (pw_errors) {
		http_problem_validation(r, pw_errors);
		return false;
	}
	snprintf(u->first_name, sizeof u->first_name, "%s", in->first_name ? in->first_name : "");
	snprintf(u->last_name, sizeof u->last_name, "%s", in->last_name ? in->last_name : "");
	/* Hash without holding a connection: the pool is not held during the slow part. */
	api_conn_release(cx);
	if (password_gate_enter() < 0) {
		api_hash_busy(r);
		return false;
	}
	int hrc = password_hash(in->password, u->password_hash);
	password_gate_leave();
	if (hrc < 0) {
		http_problem_internal(r, "password hash");
		return false;
	}
	if (!api_conn(cx))
		return false;
	char org_name[NAME_BUF];
	api_org_name_for(u, org_name, sizeof org_name);
	rc = user_create(cx->conn, u, org_name, personal);
	if (rc == STORE_CONFLICT) { /* signed up a moment ago by another request */
		email_taken(r, email);
		return false;
	}
	if (rc) {
		api_db_fail(r, rc, "create user");
		return false;
	}
	struct audit_ctx ctx;
	api_audit_ctx(r, &ctx);
	audit_record(cx->conn, personal->org_id, u->id, "auth.register", &ctx,
		     json_pack("{s:s}", "via", via));
	return true;
}

const char *invitee_mail(struct api_ctx *cx, const char *org_id, const char *email,
			 const char *subject, const char *intro, const char *button,
			 const char *link, char job_id[UUID_STR_LEN])
{
	job_id[0] = '\0';
	if (!mail_enabled())
		return "not_sent";
	enum store_rc rc =
	    mail_queue_action(cx->conn, org_id, email, subject, "Hello,", intro, button, link,
			      "If you did not expect this, ignore this mail.", job_id);
	if (rc || !job_id[0]) {
		log_warn("invitation mail not queued",
			 json_pack("{s:s,s:s}", "org_id", org_id, "rc", store_rc_name(rc)));
		job_id[0] = '\0';
		return "not_sent";
	}
	api_jobs_wake(cx->app);
	return "queued";
}

void invitee_notify(struct api_ctx *cx, const char *email, const char *content)
{
	struct user u;
	enum store_rc rc = user_find_by_email(cx->conn, email, &u);
	if (rc == STORE_OK)
		rc = notify_link(cx->conn, cx->app->bus, u.id, "invitation", content, NULL,
				 "/invitations");
	if (rc && rc != STORE_NOT_FOUND)
		log_warn("invitation notification not stored",
			 json_pack("{s:s}", "rc", store_rc_name(rc)));
}

bool invitee_self(struct api_ctx *cx, struct user *u)
{
	if (cx->principal->via_api_key) {
		http_problem(cx->req, 400, "not_a_session",
			     "Invitations are listed and accepted by the person they are for, "
			     "logged in, not with an API key.");
		return false;
	}
	enum store_rc rc = user_find(cx->conn, cx->principal->user_id, u);
	if (rc) {
		api_db_fail(cx->req, rc == STORE_NOT_FOUND ? STORE_ERROR : rc, "load user");
		return false;
	}
	return true;
}

bool invitee_mine_pending(struct api_ctx *cx, const struct user *u, enum store_rc rc,
			  const char *invited_email, enum invitee_state state,
			  const char *used_hint)
{
	if (rc == STORE_OK && strcmp(invited_email, u->email) != 0)
		rc = STORE_NOT_FOUND; /* someone else's: not even its existence is told */
	if (rc == STORE_OK && !u->email_verified_at) {
		http_problem(cx->req, 403, "email_not_verified",
			     "Verify your e-mail address first (use the link we mailed you), or "
			     "open the invitation link you were sent: it proves the address.");
		return false;
	}
	return invitee_pending(cx->req, rc, state, used_hint);
}
