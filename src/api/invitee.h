/*
 * invitee.h — what the two kinds of invitation (into an organization,
 * invitations.c; onto a collection, collections.c) share: mailing the link,
 * the invitee's token and sign-up bodies, the replies for a token that is
 * not pending, the "you are its addressee" check, and making the account
 * of someone who signs up through a link.
 */
#ifndef IAM_API_INVITEE_H
#define IAM_API_INVITEE_H

#include <stdbool.h>
#include <stdint.h>

#include "api/api.h"
#include "store/users.h"

/* The invitee's bodies: {token} and {token, password, first_name?, last_name?}. */
struct invitee_in {
	const char *token, *password, *first_name, *last_name;
};
extern const struct jv_spec INVITEE_TOKEN_SPEC;
extern const struct jv_spec INVITEE_SIGNUP_SPEC;
/* Route check for INVITEE_SIGNUP_SPEC: password and name rules. */
void invitee_signup_check(struct api_ctx *cx, json_t **errors);

/* An invitation's state, whatever its kind. */
enum invitee_state { INVITEE_PENDING, INVITEE_ACCEPTED, INVITEE_REVOKED, INVITEE_EXPIRED };

/*
 * Reply for a looked-up token: rc from the kind's find (STORE_NOT_FOUND →
 * 404 invitation_not_found, another error → 500/503), else 410 for a used,
 * revoked or expired one; used_hint ends the "already used" detail
 * ("Log in, or ask for a new invitation."). True when it is pending and
 * nothing was replied.
 */
bool invitee_pending(struct http_req *r, enum store_rc rc, enum invitee_state state,
		     const char *used_hint);

/*
 * Accepting while logged in: the caller must be a session (not an API key)
 * of the invited address. Fills u with the caller; false after replying
 * (400 not_a_session, 403 invitation_email_mismatch naming the address).
 */
bool invitee_is_addressee(struct api_ctx *cx, const char *invited_email, struct user *u);

/* Reply for a failed accept: STORE_STALE → 410 invitation_used; true when rc was an error. */
bool invitee_accept_failed(struct http_req *r, enum store_rc rc);

/*
 * Sign up through an invitation for email: checks the password against the
 * address, hashes it without holding the connection, creates the account
 * (with its personal organization, into personal) and records
 * "auth.register" via via. False after replying (409 email_taken, 400,
 * 503). On true cx->conn is held again.
 */
bool invitee_create_account(struct api_ctx *cx, const char *email, const char *via, struct user *u,
			    struct membership *personal);

/*
 * Mail an invitation's link to email (org_id: whose mail it is). Returns
 * "queued" with the job's id in job_id, or "not_sent" (no SMTP, or it could
 * not be queued: job_id ""), for the reply's "mail" field.
 */
const char *invitee_mail(struct api_ctx *cx, const char *org_id, const char *email,
			 const char *subject, const char *intro, const char *button,
			 const char *link, char job_id[UUID_STR_LEN]);

/*
 * Tell the holder of email, if they have an account, that they are
 * invited (a notification of type "invitation" leading to /invitations,
 * where they accept it in the app). Failures are logged, never fatal.
 */
void invitee_notify(struct api_ctx *cx, const char *email, const char *content);

/*
 * The caller for their own invitations (GET .../mine): a session, not an
 * API key (400 not_a_session). Fills u; false after replying.
 */
bool invitee_self(struct api_ctx *cx, struct user *u);

/*
 * Accepting in the app by id (POST .../mine/{id}/accept), after the
 * invitation was found (rc): one addressed to someone else is 404 like an
 * unknown one; the caller's address must be verified (403
 * email_not_verified: holding the address is what the link proves
 * otherwise); then as invitee_pending. True when it may be accepted.
 */
bool invitee_mine_pending(struct api_ctx *cx, const struct user *u, enum store_rc rc,
			  const char *invited_email, enum invitee_state state,
			  const char *used_hint);

#endif
