/*
 * invitations.h — invitations to join an organization, by e-mail address.
 *
 * A token is "inv_" + 32 random bytes (base64url, 256 bits); it is handed
 * to the caller once and only its SHA-256 is stored. An invitation is
 * pending until it is accepted (once), revoked, or its 7 days pass. A
 * resend revokes the pending row and makes a new one with a new token, so
 * the old link is "gone" (revoked), never silently alive.
 */
#ifndef IAM_INVITATIONS_H
#define IAM_INVITATIONS_H

#include <stdint.h>

#include "core/uuid.h"
#include "store/store.h"
#include "store/users.h"

#define INVITE_TOKEN_BUF 64
#define INVITE_TTL_MS	 (7LL * 24 * 3600 * 1000)

struct invitation {
	char id[UUID_STR_LEN];
	char org_id[UUID_STR_LEN];
	char org_name[NAME_BUF];
	char email[EMAIL_BUF];
	char role[16];
	char invited_by[UUID_STR_LEN]; /* "" when that user is gone */
	char inviter_email[EMAIL_BUF];
	int64_t created_at, expires_at;
	int64_t accepted_at, revoked_at; /* 0 = not */
	char mail_job_state[16];	 /* the state of the job mailing it; "" = none */
};

/* What state a looked-up invitation is in (at now). */
enum invitation_state { INVITE_PENDING, INVITE_ACCEPTED, INVITE_REVOKED, INVITE_EXPIRED };
enum invitation_state invitation_state(const struct invitation *inv, int64_t now);

/*
 * Invite email (normalised) into org_id with role. A pending invitation for
 * the same address is replaced (revoked). Fills inv and token.
 * STORE_CONFLICT: a user with that address is already a member.
 */
enum store_rc invitation_create(struct db_conn *c, const char *org_id, const char *email,
				const char *role, const char *invited_by, struct invitation *inv,
				char token[INVITE_TOKEN_BUF]);
/*
 * Pending invitations of org_id, newest first, older than the invitation
 * id before (NULL or "": from the newest); *out malloc'd (at most max);
 * caller frees.
 */
enum store_rc invitation_list_pending(struct db_conn *c, const char *org_id, const char *before,
				      int max, struct invitation **out, int *n);
/* Pending invitations to address email (normalised), newest first (at most max); caller frees. */
enum store_rc invitation_list_for_email(struct db_conn *c, const char *email, int max,
					struct invitation **out, int *n);
/* Invitation id (any organization, any state). */
enum store_rc invitation_find_by_id(struct db_conn *c, const char *id, struct invitation *inv);
/* Remember the mail job that carries invitation id's link (mail_job_state comes from it). */
enum store_rc invitation_set_mail_job(struct db_conn *c, const char *id, const char *job_id);
/* Invitation id of org_id (any state). */
enum store_rc invitation_get(struct db_conn *c, const char *org_id, const char *id,
			     struct invitation *inv);
/*
 * Revoke invitation id of org_id and issue a new one (same address and
 * role, 7 days from now) into inv and token. STORE_NOT_FOUND: no such
 * invitation, or it was accepted or revoked already.
 */
enum store_rc invitation_resend(struct db_conn *c, const char *org_id, const char *id,
				const char *by, struct invitation *inv,
				char token[INVITE_TOKEN_BUF]);
/* Revoke a pending invitation. STORE_NOT_FOUND: none pending with that id. */
enum store_rc invitation_revoke(struct db_conn *c, const char *org_id, const char *id);
/* The invitation a token names (any state). STORE_NOT_FOUND for an unknown token. */
enum store_rc invitation_find_by_token(struct db_conn *c, const char *token,
				       struct invitation *inv);
/*
 * Use invitation id up for user_id and make them a member with its role, in
 * one transaction. STORE_STALE: no longer pending (accepted, revoked or
 * expired meanwhile); STORE_CONFLICT: already a member (nothing changes).
 */
enum store_rc invitation_accept(struct db_conn *c, const char *id, const char *user_id);

#endif
