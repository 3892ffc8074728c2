/*
 * invitations.c — inviting people into the active organization by e-mail
 * address (owners and admins: manage_members), and the invitee's side:
 * look the invitation up, accept it while logged in, or sign up through it.
 *
 * The token travels only in request bodies and in the fragment of the
 * accept link (/invite#inv_...), never in a request path: paths are
 * written to the access log. The invitee gets the link by mail (a job, with
 * retries) when SMTP is configured; the reply always carries the link for
 * the inviter to pass on, and "mail": "queued" or, without SMTP (or when
 * the mail could not be queued), "not_sent".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/invitee.h"
#include "auth/authz.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "mail/mail.h"
#include "store/audit.h"
#include "store/invitations.h"
#include "store/orgs.h"
#include "store/users.h"

/* The link the invitee opens: the web app's accept page, the token in the fragment. */
static json_t *accept_url(const char *token)
{
	char url[INVITE_TOKEN_BUF + 16];
	snprintf(url, sizeof url, "/invite#%s", token);
	return json_string(url);
}

static const char *inv_status(const struct invitation *inv)
{
	switch (invitation_state(inv, time_now_ms())) {
	case INVITE_ACCEPTED:
		return "accepted";
	case INVITE_REVOKED:
		return "revoked";
	case INVITE_EXPIRED:
		return "expired";
	default:
		return "pending";
	}
}

/*
 * Mail the invitation to its address: "queued" (the job is remembered on
 * the invitation, so its list says when it went), or "not_sent" without
 * SMTP or when it could not be queued (the inviter copies the link).
 */
static const char *mail_invitation(struct api_ctx *cx, const struct invitation *inv,
				   const char *token)
{
	struct org o;
	const struct principal *p = cx->principal;
	if (org_get(cx->conn, p->org_id, p->user_id, &o) != STORE_OK)
		snprintf(o.name, sizeof o.name, "an organization");
	char link[1024], subject[512], intro[1024], job[UUID_STR_LEN];
	snprintf(link, sizeof link, "%s/invite#%s", mail_public_url(), token);
	snprintf(subject, sizeof subject, "You are invited to %.200s on IAM", o.name);
	snprintf(
	    intro, sizeof intro,
	    "%.254s invited you to join %.200s on IAM as %s: its meetings, transcripts and "
	    "people. The link works once, for this address (%.254s), until it expires in 7 days.",
	    p->email[0] ? p->email : "Someone", o.name, inv->role, inv->email);
	const char *how = invitee_mail(cx, p->org_id, inv->email, subject, intro,
				       "Accept the invitation", link, job);
	if (job[0] && invitation_set_mail_job(cx->conn, inv->id, job) != STORE_OK)
		log_warn("invitation mail job not remembered",
			 json_pack("{s:s,s:s}", "invitation_id", inv->id, "job_id", job));
	return how;
}

/* An invitee who has an account hears of it in the app too (accepted at /invitations). */
static void notify_invitee(struct api_ctx *cx, const struct invitation *inv)
{
	const struct principal *p = cx->principal;
	char text[700];
	snprintf(text, sizeof text, "%.254s invited you to join %.200s as %s.",
		 p->email[0] ? p->email : "Someone", inv->org_name, inv->role);
	invitee_notify(cx, inv->email, text);
}

static json_t *inv_json(const struct invitation *inv, const char *token, const char *mail)
{
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:o,s:o,s:o}", "id", inv->id, "email", inv->email,
			      "role", inv->role, "status", inv_status(inv), "invited_by",
			      inv->invited_by[0] ? json_pack("{s:s,s:s}", "id", inv->invited_by,
							     "email", inv->inviter_email)
						 : json_null(),
			      "created_at", api_time(inv->created_at), "expires_at",
			      api_time(inv->expires_at));
	/* Just queued (the reply to create/resend), else what the mail job did since. */
	json_object_set_new(o, "mail", json_string(mail ? mail : mail_state(inv->mail_job_state)));
	if (token) {
		json_object_set_new(o, "token", json_string(token));
		json_object_set_new(o, "accept_url", accept_url(token));
	}
	return o;
}

struct invite_in {
	const char *email, *role;
};

static const struct jv_field INVITE_FIELDS[] = {
    {.name = "email",
     .type = JV_STRING,
     .presence = JV_REQUIRED,
     .min_len = 1,
     .dest = JV_DEST(struct invite_in, email)},
    {.name = "role",
     .type = JV_STRING,
     .presence = JV_REQUIRED,
     .dest = JV_DEST(struct invite_in, role)},
};
static const struct jv_spec INVITE_SPEC = {JV_FIELDS(INVITE_FIELDS)};

static void invite_check(struct api_ctx *cx, json_t **errors)
{
	const struct invite_in *in = API_IN(cx, struct invite_in);
	char email[EMAIL_BUF];
	const char *why;
	if (in->email && !api_email_normalize(in->email, email, sizeof email, &why))
		jv_error(errors, "email", "%s", why);
	api_role_check(cx, errors);
}

static void create_invite(struct api_ctx *cx)
{
	const struct invite_in *in = API_IN(cx, struct invite_in);
	struct http_req *r = cx->req;
	const struct principal *p = cx->principal;
	char email[EMAIL_BUF];
	const char *why;
	if (!api_email_normalize(in->email, email, sizeof email, &why))
		return; /* refused by invite_check */
	if (!api_role_grantable(r, p->role, in->role))
		return;
	struct invitation inv;
	char token[INVITE_TOKEN_BUF];
	enum store_rc rc =
	    invitation_create(cx->conn, p->org_id, email, in->role, p->user_id, &inv, token);
	if (rc == STORE_CONFLICT) {
		http_problem_fields(
		    r, 409, "already_member",
		    json_pack("[{s:s,s:s}]", "field", "email", "message", "is already a member"),
		    "%s is already a member of this organization. Change their role "
		    "on the member list instead.",
		    email);
		return;
	}
	if (rc) {
		api_db_fail(r, rc, "create invitation");
		return;
	}
	api_audit(cx, "invitation.create", "invitation", inv.id,
		  json_pack("{s:s,s:s}", "email", inv.email, "role", inv.role));
	const char *mail = mail_invitation(cx, &inv, token);
	notify_invitee(cx, &inv);
	http_reply_json(r, 201, inv_json(&inv, token, mail));
}

static void list_invites(struct api_ctx *cx)
{
	const struct api_page_in *in = API_IN(cx, struct api_page_in);
	struct invitation *list;
	int n;
	enum store_rc rc = invitation_list_pending(cx->conn, cx->principal->org_id, in->cursor,
						   in->limit + 1, &list, &n);
	if (rc) {
		api_db_fail(cx->req, rc, "list invitations");
		return;
	}
	int shown = n > in->limit ? in->limit : n;
	json_t *data = json_array();
	for (int i = 0; i < shown; i++)
		json_array_append_new(data, inv_json(&list[i], NULL, NULL));
	json_t *next = n > shown ? api_cursor(list[shown - 1].id) : json_null();
	free(list);
	http_reply_json(cx->req, 200, json_pack("{s:o,s:o}", "data", data, "next_cursor", next));
}

static void no_invitation(struct http_req *r)
{
	http_problem(r, 404, "invitation_not_found",
		     "No pending invitation with this id in this organization (it may have been "
		     "accepted or revoked).");
}

static void resend_invite(struct api_ctx *cx)
{
	struct http_req *r = cx->req;
	const struct principal *p = cx->principal;
	struct invitation old;
	enum store_rc rc = invitation_get(cx->conn, p->org_id, http_param(r, "id"), &old);
	if (rc == STORE_OK && (old.accepted_at || old.revoked_at))
		rc = STORE_NOT_FOUND;
	if (rc == STORE_NOT_FOUND) {
		no_invitation(r);
		return;
	}
	if (rc) {
		api_db_fail(r, rc, "load invitation");
		return;
	}
	/* Resending must not let an admin re-issue an owner invitation made by an owner. */
	if (!api_role_grantable(r, p->role, old.role))
		return;
	struct invitation inv;
	char token[INVITE_TOKEN_BUF];
	rc = invitation_resend(cx->conn, p->org_id, old.id, p->user_id, &inv, token);
	if (rc == STORE_NOT_FOUND) {
		no_invitation(r);
		return;
	}
	if (rc) {
		api_db_fail(r, rc, "resend invitation");
		return;
	}
	api_audit(
	    cx, "invitation.resend", "invitation", inv.id,
	    json_pack("{s:s,s:s,s:s}", "email", inv.email, "role", inv.role, "replaces", old.id));
	const char *mail = mail_invitation(cx, &inv, token);
	notify_invitee(cx, &inv);
	http_reply_json(r, 200, inv_json(&inv, token, mail));
}

static void revoke_invite(struct api_ctx *cx)
{
	struct http_req *r = cx->req;
	const struct principal *p = cx->principal;
	const char *id = http_param(r, "id");
	enum store_rc rc = invitation_revoke(cx->conn, p->org_id, id);
	if (rc == STORE_NOT_FOUND) {
		no_invitation(r);
		return;
	}
	if (rc) {
		api_db_fail(r, rc, "revoke invitation");
		return;
	}
	api_audit(cx, "invitation.revoke", "invitation", id, NULL);
	http_reply_empty(r, 204);
}

/* ---- the invitee's side: the token in the body ---- */

static enum invitee_state state_of(const struct invitation *inv)
{
	switch (invitation_state(inv, time_now_ms())) {
	case INVITE_ACCEPTED:
		return INVITEE_ACCEPTED;
	case INVITE_REVOKED:
		return INVITEE_REVOKED;
	case INVITE_EXPIRED:
		return INVITEE_EXPIRED;
	default:
		return INVITEE_PENDING;
	}
}

/*
 * The invitation the body's token names, pending; else reply 404 (unknown)
 * or 410 (used, revoked, expired) and return false.
 */
static bool load_by_token(struct api_ctx *cx, struct invitation *inv)
{
	const char *token = API_IN(cx, struct invitee_in)->token;
	enum store_rc rc = strlen(token) < INVITE_TOKEN_BUF
			       ? invitation_find_by_token(cx->conn, token, inv)
			       : STORE_NOT_FOUND;
	return invitee_pending(cx->req, rc, rc ? INVITEE_PENDING : state_of(inv),
			       "Log in, or ask for a new invitation.");
}

static void lookup(struct api_ctx *cx)
{
	struct invitation inv;
	if (!load_by_token(cx, &inv))
		return;
	struct user u;
	enum store_rc rc = user_find_by_email(cx->conn, inv.email, &u);
	if (rc && rc != STORE_NOT_FOUND) {
		api_db_fail(cx->req, rc, "find user");
		return;
	}
	json_t *body = inv_json(&inv, NULL, NULL);
	json_object_set_new(body, "organization",
			    json_pack("{s:s,s:s}", "id", inv.org_id, "name", inv.org_name));
	json_object_set_new(body, "account_exists", json_boolean(rc == STORE_OK));
	http_reply_json(cx->req, 200, body);
}

static void audit_accept(struct api_ctx *cx, const struct invitation *inv, const char *user_id,
			 const char *how)
{
	struct audit_ctx ctx;
	api_audit_ctx(cx->req, &ctx);
	audit_record_target(
	    cx->conn, inv->org_id, user_id, "invitation.accept", "invitation", inv->id, &ctx,
	    json_pack("{s:s,s:s,s:s}", "email", inv->email, "role", inv->role, "via", how));
}

/* After joining: a session in the organization joined. */
static void reply_joined(struct api_ctx *cx, const struct user *u, const struct invitation *inv,
			 int status)
{
	struct membership m;
	enum store_rc rc = user_membership(cx->conn, u->id, inv->org_id, &m);
	if (rc) {
		api_db_fail(cx->req, rc == STORE_NOT_FOUND ? STORE_ERROR : rc, "load membership");
		return;
	}
	api_start_session(cx->req, cx->conn, u, &m, status);
}

static bool accept_failed(struct http_req *r, enum store_rc rc)
{
	if (rc == STORE_CONFLICT) {
		http_problem(r, 409, "already_member",
			     "You are already a member of this organization. Switch to it from the "
			     "organization menu.");
		return true;
	}
	return invitee_accept_failed(r, rc);
}

static void accept(struct api_ctx *cx)
{
	db_scope_system(cx->conn); /* tenant scope: the invitation is another organization's */
	struct invitation inv;
	struct user u;
	if (!load_by_token(cx, &inv) || !invitee_is_addressee(cx, inv.email, &u))
		return;
	if (accept_failed(cx->req, invitation_accept(cx->conn, inv.id, u.id)))
		return;
	audit_accept(cx, &inv, u.id, "login");
	reply_joined(cx, &u, &inv, 200);
}

/*
 * Sign up through an invitation: the account gets the invited address,
 * proven by holding the link, and joins the organization (it also gets its
 * own personal organization, like every account).
 */
static void signup(struct api_ctx *cx)
{
	struct invitation inv;
	struct user u;
	struct membership personal;
	if (!api_conn(cx) || !load_by_token(cx, &inv) ||
	    !invitee_create_account(cx, inv.email, "invitation", &u, &personal))
		return;
	if (accept_failed(cx->req, invitation_accept(cx->conn, inv.id, u.id)))
		return;
	audit_accept(cx, &inv, u.id, "signup");
	reply_joined(cx, &u, &inv, 201);
}

/* ---- the invitee's own list, accepted in the app ---- */

#define MINE_MAX 100

static void list_mine(struct api_ctx *cx)
{
	db_scope_system(cx->conn); /* tenant scope: invitations from other organizations */
	struct user u;
	if (!invitee_self(cx, &u))
		return;
	struct invitation *list;
	int n;
	enum store_rc rc = invitation_list_for_email(cx->conn, u.email, MINE_MAX, &list, &n);
	if (rc) {
		api_db_fail(cx->req, rc, "list invitations");
		return;
	}
	json_t *data = json_array();
	for (int i = 0; i < n; i++) {
		json_t *o = inv_json(&list[i], NULL, NULL);
		json_object_del(o, "mail"); /* the inviter's concern */
		json_object_set_new(
		    o, "organization",
		    json_pack("{s:s,s:s}", "id", list[i].org_id, "name", list[i].org_name));
		json_array_append_new(data, o);
	}
	free(list);
	http_reply_json(
	    cx->req, 200,
	    json_pack("{s:o,s:b}", "data", data, "can_accept", u.email_verified_at != 0));
}

static void accept_mine(struct api_ctx *cx)
{
	db_scope_system(cx->conn); /* tenant scope: invitations from other organizations */
	struct user u;
	struct invitation inv;
	if (!invitee_self(cx, &u))
		return;
	const char *id = http_param(cx->req, "id");
	enum store_rc rc = invitation_find_by_id(cx->conn, id, &inv);
	if (!invitee_mine_pending(cx, &u, rc, rc ? "" : inv.email,
				  rc ? INVITEE_PENDING : state_of(&inv),
				  "Switch to the organization from the organization menu."))
		return;
	if (accept_failed(cx->req, invitation_accept(cx->conn, inv.id, u.id)))
		return;
	audit_accept(cx, &inv, u.id, "app");
	reply_joined(cx, &u, &inv, 200);
}

#define MANAGE .auth = AUTH_BEARER, .db = DB_CONN_HELD, .perm = PERM_MANAGE_MEMBERS

static const struct route ROUTES[] = {
    {.method = M_POST,
     .pattern = "/api/v1/organizations/{org_id}/invitations",
     .body = BODY_JSON,
     .json = &INVITE_SPEC,
     .check = invite_check,
     MANAGE,
     .run = create_invite},
    {.method = M_GET,
     .pattern = "/api/v1/organizations/{org_id}/invitations",
     .check = api_page_check,
     MANAGE,
     .run = list_invites},
    {.method = M_POST,
     .pattern = "/api/v1/organizations/{org_id}/invitations/{id}/resend",
     MANAGE,
     .run = resend_invite},
    {.method = M_DELETE,
     .pattern = "/api/v1/organizations/{org_id}/invitations/{id}",
     MANAGE,
     .run = revoke_invite},
    {.method = M_POST,
     .pattern = "/api/v1/invitations/lookup",
     .body = BODY_JSON,
     .json = &INVITEE_TOKEN_SPEC,
     .db = DB_CONN_HELD,
     .run = lookup},
    {.method = M_POST,
     .pattern = "/api/v1/invitations/accept",
     .body = BODY_JSON,
     .json = &INVITEE_TOKEN_SPEC,
     .auth = AUTH_BEARER,
     .db = DB_CONN_HELD,
     .run = accept},
    {.method = M_GET,
     .pattern = "/api/v1/invitations/mine",
     .auth = AUTH_BEARER,
     .db = DB_CONN_HELD,
     .run = list_mine},
    {.method = M_POST,
     .pattern = "/api/v1/invitations/mine/{id}/accept",
     .auth = AUTH_BEARER,
     .db = DB_CONN_HELD,
     .run = accept_mine},
    {.method = M_POST,
     .pattern = "/api/v1/invitations/signup",
     .body = BODY_JSON,
     .json = &INVITEE_SIGNUP_SPEC,
     .check = invitee_signup_check,
     .run = signup},
};

size_t api_invitations_routes(const struct route **out)
{
	*out = ROUTES;
	return ARRAY_LEN(ROUTES);
}
