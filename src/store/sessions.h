/*
 * sessions.h — login sessions and their rotating refresh tokens.
 *
 * A refresh token is "rt_" + 32 random bytes (base64url); only its SHA-256
 * is stored. Rotation uses a token up and issues the next one; presenting a
 * token that was already used revokes its whole session (a stolen token
 * and the real owner cannot both keep going), except within a short grace
 * window after its use (see session_rotate).
 */
#ifndef IAM_SESSIONS_H
#define IAM_SESSIONS_H

#include <stdint.h>

#include "core/uuid.h"
#include "store/store.h"

#define REFRESH_TOKEN_BUF 64
#define SESSION_TTL_MS	  (90LL * 24 * 3600 * 1000) /* absolute life of a login */
#define REFRESH_TTL_MS	  (30LL * 24 * 3600 * 1000) /* one refresh token, unused */

struct session {
	char id[UUID_STR_LEN];
	char user_id[UUID_STR_LEN];
	char org_id[UUID_STR_LEN];
};

/* Start a session and issue its first refresh token. */
enum store_rc session_start(struct db_conn *c, const char *user_id, const char *org_id,
			    const char *ip, const char *user_agent, struct session *s,
			    char refresh[REFRESH_TOKEN_BUF]);

/*
 * Use refresh up: fills s and the next token. A token already used less than
 * grace_ms ago gives the same successor again (concurrent refreshes of one
 * token, a retried request, two tabs); used longer ago, it revokes the
 * session. Returns enum session_rotate_rc or a store_rc.
 */
enum store_rc session_rotate(struct db_conn *c, const char *refresh, int64_t grace_ms,
			     struct session *s, char next[REFRESH_TOKEN_BUF]);

/* STORE_OK if session sid of user_id is live, STORE_NOT_FOUND if revoked, expired or unknown. */
enum store_rc session_check(struct db_conn *c, const char *sid, const char *user_id);
/*
 * Like session_check, and the session must be for org_id, of which the user
 * is (still) a member: an access token's org claim is believed only then.
 */
enum store_rc session_check_member(struct db_conn *c, const char *sid, const char *user_id,
				   const char *org_id);
/* The same, and the user's role in org_id into role ("owner", ...). */
enum store_rc session_check_member_role(struct db_conn *c, const char *sid, const char *user_id,
					const char *org_id, char role[16]);
/* Revoke every live session of the user in org_id (removed from it). */
enum store_rc session_revoke_org(struct db_conn *c, const char *user_id, const char *org_id,
				 const char *reason);

enum store_rc session_revoke(struct db_conn *c, const char *sid, const char *reason);
/*
 * Revoke the live session that refresh token belongs to (used or not: any
 * token of the session proves the caller held it). Fills s. STORE_OK, or
 * STORE_NOT_FOUND when the token is unknown, expired or its session ended.
 */
enum store_rc session_revoke_by_refresh(struct db_conn *c, const char *refresh, const char *reason,
					struct session *s);
/* Revoke every live session of the user except keep_sid (may be NULL). */
enum store_rc session_revoke_others(struct db_conn *c, const char *user_id, const char *keep_sid,
				    const char *reason);

#endif
