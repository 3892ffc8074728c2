/*
 * orgs.h — organizations and their members.
 *
 * Roles are "owner", "admin", "member", "viewer" (auth/authz.h orders them).
 * An organization always keeps at least one owner: the functions that
 * demote or remove a member refuse to take the last one (STORE_CONFLICT).
 */
#ifndef IAM_ORGS_H
#define IAM_ORGS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/uuid.h"
#include "store/store.h"
#include "store/users.h"

#define ORG_LANG_BUF 16

struct org {
	char id[UUID_STR_LEN];
	char name[NAME_BUF];
	int personal;
	char default_language[ORG_LANG_BUF];
	int retention_days; /* 0 = keep for ever */
	int64_t created_at;
	int64_t updated_at;
	char role[16];	 /* the asking user's role */
	int64_t members; /* how many members */
};

struct org_member {
	char user_id[UUID_STR_LEN];
	char email[EMAIL_BUF];
	char first_name[NAME_BUF];
	char last_name[NAME_BUF];
	char role[16];
	int64_t joined_at;
};

/* A new organization with user_id as its owner (o->id, times filled in here). */
enum store_rc org_create(struct db_conn *c, const char *user_id, struct org *o);
/*
 * The organizations user_id belongs to, oldest first, with the user's role.
 * *out is malloc'd (*n entries, at most max); the caller frees it.
 */
enum store_rc org_list_for_user(struct db_conn *c, const char *user_id, int max, struct org **out,
				int *n);
/* The oldest organization the user belongs to, as a membership (STORE_NOT_FOUND: none). */
enum store_rc org_first_for_user(struct db_conn *c, const char *user_id, struct membership *m);
/* Organization org_id as seen by its member user_id (STORE_NOT_FOUND when not a member). */
enum store_rc org_get(struct db_conn *c, const char *org_id, const char *user_id, struct org *o);
/* Save name, default_language and retention_days of o (by o->id). */
enum store_rc org_update(struct db_conn *c, const struct org *o);
/*
 * Delete the organization and everything in it (meetings, transcripts,
 * uploads, jobs, sessions, keys, invitations, its audit events) in one
 * transaction. The blob keys of its audio are handed back (*keys malloc'd
 * array of *nkeys malloc'd strings; free with org_keys_free) for the caller
 * to delete once the rows are gone: a crash in between leaves orphan blobs,
 * never rows pointing at missing audio.
 */
enum store_rc org_delete(struct db_conn *c, const char *org_id, char ***keys, int *nkeys);
void org_keys_free(char **keys, int n);

/* A meeting past its organization's retention period. */
struct org_expired {
	char org_id[UUID_STR_LEN];
	char id[UUID_STR_LEN];
};
/*
 * Up to max meetings older than their organization's retention_days at now
 * (none of organizations that keep meetings for ever; none queued or being
 * transcribed: they wait for the next round), oldest first, into out.
 */
enum store_rc org_retention_due(struct db_conn *c, int64_t now, int max, struct org_expired *out,
				int *n);

/* The role of user_id in org_id into role (STORE_NOT_FOUND when not a member). */
enum store_rc org_member_role(struct db_conn *c, const char *org_id, const char *user_id,
			      char role[16]);
/* One member (STORE_NOT_FOUND when not a member). */
enum store_rc org_member_get(struct db_conn *c, const char *org_id, const char *user_id,
			     struct org_member *m);
/* Members, oldest first; *out malloc'd (at most max); the caller frees it. */
enum store_rc org_members_list(struct db_conn *c, const char *org_id, int max,
			       struct org_member **out, int *n);
/*
 * Change a member's role. STORE_NOT_FOUND: not a member; STORE_CONFLICT: the
 * member is the last owner and role is not "owner".
 */
enum store_rc org_member_set_role(struct db_conn *c, const char *org_id, const char *user_id,
				  const char *role);
/*
 * Remove a member: the membership, their sessions in the organization
 * (revoked) and their API keys for it (deleted). STORE_NOT_FOUND: not a
 * member; STORE_CONFLICT: the last owner.
 */
enum store_rc org_member_remove(struct db_conn *c, const char *org_id, const char *user_id);
/* Add user_id with role. STORE_CONFLICT when already a member. */
enum store_rc org_member_add(struct db_conn *c, const char *org_id, const char *user_id,
			     const char *role);

#endif
