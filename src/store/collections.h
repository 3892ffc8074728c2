/*
 * collections.h — collections: folders of meetings in one organization,
 * the people they are shared with (grants: owner / editor / viewer) and
 * the e-mail invitations that create grants.
 *
 * Who may do what with a collection or its meetings is decided in one
 * place, auth/authz.h (authz_collection_role, authz_meeting_access); the
 * functions here only read and write rows. A collection is looked up by id
 * alone (a guest's active organization is not the collection's): callers
 * decide access before they reveal anything, and answer 404 otherwise.
 *
 * Invitation tokens are "cin_" + 32 random bytes (base64url, 256 bits),
 * handed out once; only their SHA-256 is stored. An invitation works once,
 * for 7 days, until revoked.
 */
#ifndef IAM_COLLECTIONS_H
#define IAM_COLLECTIONS_H

#include <stdint.h>

#include "auth/authz.h"
#include "core/uuid.h"
#include "store/store.h"
#include "store/users.h"

#define COLLECTION_NAME_MAX 200 /* bytes of UTF-8 */
#define COLL_TOKEN_BUF	    64
#define COLL_INVITE_TTL_MS  (7LL * 24 * 3600 * 1000)

/* enum coll_role (viewer < editor < owner) is auth/authz.h's. */
/* "viewer", "editor", "owner"; "none" for COLL_NONE. */
const char *coll_role_name(enum coll_role r);
/* The role s names, COLL_NONE for anything else (NULL too). */
enum coll_role coll_role_parse(const char *s);

struct collection {
	char id[UUID_STR_LEN];
	char org_id[UUID_STR_LEN];
	char org_name[NAME_BUF];
	char name[COLLECTION_NAME_MAX + 1];
	char created_by[UUID_STR_LEN]; /* "" when that user is gone */
	int64_t meeting_count;
	int64_t created_at, updated_at;
};

/* Create a collection in org_id; user_id becomes its owner (a grant). Fills out. */
enum store_rc collection_create(struct db_conn *c, const char *org_id, const char *name,
				const char *user_id, struct collection *out);
/* Collection id, any organization. STORE_NOT_FOUND when there is none. */
enum store_rc collection_get(struct db_conn *c, const char *id, struct collection *out);
enum store_rc collection_rename(struct db_conn *c, const char *org_id, const char *id,
				const char *name);
/* Delete the collection with its grants and invitations (its meetings stay). */
enum store_rc collection_delete(struct db_conn *c, const char *org_id, const char *id);
/*
 * Collections visible to user_id: every one of org_id (NULL: none, for a
 * caller who may not read that organization) and every one granted to
 * user_id (NULL: none), newest first, ids below before_id (NULL: from the
 * newest), at most limit. *out malloc'd (caller frees), *n of them.
 */
enum store_rc collection_list(struct db_conn *c, const char *org_id, const char *user_id,
			      const char *before_id, int limit, struct collection **out, size_t *n);

/*
 * SQL for the ids of the meetings user $<n> reaches through live collection
 * grants (for other modules' queries, e.g. search): "SELECT ..." with the
 * placeholder written by the caller, as in COLLECTION_GRANTED_MEETINGS("$5").
 */
#define COLLECTION_GRANT_LIVE(g)                                                                   \
	"(COALESCE(" g ".granted_by, '') <> " g ".user_id OR EXISTS (SELECT 1 FROM memberships mb" \
	" WHERE mb.org_id = " g ".org_id AND mb.user_id = " g ".user_id))"
#define COLLECTION_GRANTED_MEETINGS(ph)                                                            \
	"SELECT cm.meeting_id FROM collection_meetings cm JOIN collection_grants g"                \
	" ON g.collection_id = cm.collection_id WHERE g.user_id = " ph                             \
	" AND " COLLECTION_GRANT_LIVE("g")

/* The role granted to user_id on collection_id; COLL_NONE when none. */
enum store_rc collection_grant_of(struct db_conn *c, const char *collection_id, const char *user_id,
				  enum coll_role *out);
/*
 * Meeting meeting_id: its organization (org_out) and the best role granted
 * to user_id (NULL: none) on any collection that holds it (*best).
 * STORE_NOT_FOUND when the meeting does not exist.
 */
enum store_rc collection_meeting_grant(struct db_conn *c, const char *meeting_id,
				       const char *user_id, char org_out[UUID_STR_LEN],
				       enum coll_role *best);

/* Put meeting_id (of org_id) in collection_id; already there is STORE_OK too. */
enum store_rc collection_add_meeting(struct db_conn *c, const char *org_id,
				     const char *collection_id, const char *meeting_id,
				     const char *by);
/* STORE_NOT_FOUND when the meeting is not in the collection. */
enum store_rc collection_remove_meeting(struct db_conn *c, const char *collection_id,
					const char *meeting_id);
/* Meeting ids of collection_id, newest first, below before_id (NULL: newest). */
enum store_rc collection_meeting_ids(struct db_conn *c, const char *collection_id,
				     const char *before_id, int limit, char (*ids)[UUID_STR_LEN],
				     size_t *n);

struct collection_member {
	char user_id[UUID_STR_LEN];
	char email[EMAIL_BUF];
	enum coll_role role;
	int64_t created_at;
};
/* The grants of collection_id (at most max), owners first. *out malloc'd; caller frees. */
enum store_rc collection_members(struct db_conn *c, const char *collection_id, int max,
				 struct collection_member **out, size_t *n);
/* Take user_id's grant away. STORE_NOT_FOUND when there was none. */
enum store_rc collection_member_remove(struct db_conn *c, const char *collection_id,
				       const char *user_id);
/* Grant user_id role on collection_id (replacing a grant they had). */
enum store_rc collection_grant_set(struct db_conn *c, const char *org_id, const char *collection_id,
				   const char *user_id, enum coll_role role, const char *by);

struct coll_invitation {
	char id[UUID_STR_LEN];
	char collection_id[UUID_STR_LEN];
	char collection_name[COLLECTION_NAME_MAX + 1];
	char org_id[UUID_STR_LEN];
	char email[EMAIL_BUF];
	enum coll_role role;
	char inviter_email[EMAIL_BUF];
	int64_t created_at, expires_at, accepted_at, revoked_at; /* 0 = not */
	char mail_job_state[16]; /* the state of the job mailing it; "" = none */
};
enum coll_invite_state { CINV_PENDING, CINV_ACCEPTED, CINV_REVOKED, CINV_EXPIRED };
enum coll_invite_state coll_invite_state(const struct coll_invitation *inv, int64_t now);

/*
 * Invite email (normalised) to collection_id with role; a pending
 * invitation of the same address to it is revoked. Fills inv and token.
 */
enum store_rc coll_invite_create(struct db_conn *c, const struct collection *coll,
				 const char *email, enum coll_role role, const char *by,
				 struct coll_invitation *inv, char token[COLL_TOKEN_BUF]);
/* Pending invitations of collection_id (at most max). *out malloc'd; caller frees. */
enum store_rc coll_invite_list(struct db_conn *c, const char *collection_id, int max,
			       struct coll_invitation **out, size_t *n);
/* Pending invitations to address email (normalised), newest first (at most max); caller frees. */
enum store_rc coll_invite_list_for_email(struct db_conn *c, const char *email, int max,
					 struct coll_invitation **out, size_t *n);
/* Invitation id (any collection, any state). */
enum store_rc coll_invite_find_by_id(struct db_conn *c, const char *id,
				     struct coll_invitation *inv);
/* Remember the mail job that carries invitation id's link (mail_job_state comes from it). */
enum store_rc coll_invite_set_mail_job(struct db_conn *c, const char *id, const char *job_id);
/* Revoke a pending invitation of collection_id. STORE_NOT_FOUND: none pending. */
enum store_rc coll_invite_revoke(struct db_conn *c, const char *collection_id, const char *id);
/* The invitation a token names (any state). STORE_NOT_FOUND for an unknown token. */
enum store_rc coll_invite_find(struct db_conn *c, const char *token, struct coll_invitation *inv);
/*
 * Use invitation id up for user_id and grant its role (a higher grant the
 * user has is kept). STORE_STALE: no longer pending.
 */
enum store_rc coll_invite_accept(struct db_conn *c, const char *id, const char *user_id);

#endif
