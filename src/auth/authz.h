/*
 * authz.h — what a role may do in an organization: the one permission table.
 *
 * Every route that needs more than "a member of the active organization"
 * names a permission (struct route .perm); the frame answers 403 forbidden
 * when the caller's role lacks it. README's permission matrix is generated
 * from the same table (authz_matrix_markdown; test_authz checks README).
 */
#ifndef IAM_AUTHZ_H
#define IAM_AUTHZ_H

#include <stdbool.h>
#include <stddef.h>

/* Ordered: a higher role may do all a lower one may. ROLE_NONE is no member. */
enum org_role { ROLE_NONE = 0, ROLE_VIEWER, ROLE_MEMBER, ROLE_ADMIN, ROLE_OWNER };

enum perm {
	PERM_NONE = 0,	      /* no check beyond authentication */
	PERM_READ,	      /* read meetings, transcripts, audio, exports, the member list */
	PERM_CREATE_MEETING,  /* create meetings, change their title and description */
	PERM_UPLOAD,	      /* upload audio */
	PERM_TRANSCRIBE,      /* start transcription */
	PERM_EDIT_TRANSCRIPT, /* correct segments, name and merge speakers, restore revisions */
	PERM_SHARE,	      /* create, list and revoke public links to a meeting */
	PERM_DELETE_MEETING,  /* delete meetings with their audio and transcript */
	PERM_MANAGE_MEMBERS,  /* invite, change roles, remove members */
	PERM_SEE_BILLING,     /* plan, usage and invoices */
	PERM_MANAGE_KEYS,     /* create, list and delete API keys */
	PERM_MANAGE_WEBHOOKS, /* create, list and delete webhooks */
	PERM_READ_AUDIT,      /* read the audit log */
	PERM_MANAGE_ORG,      /* rename, default language, retention */
	PERM_DELETE_ORG,      /* delete the organization and everything in it */
	PERM_COUNT
};

/* May role do p? PERM_NONE: any member. ROLE_NONE may do nothing. */
bool authz_may(enum org_role role, enum perm p);

/* "owner", ... ; "none" for ROLE_NONE. */
const char *authz_role_name(enum org_role role);
/* The role named s, or ROLE_NONE when s names none (NULL too). */
enum org_role authz_role_parse(const char *s);
/* "upload", ... (the names README uses). */
const char *authz_perm_name(enum perm p);
/* A sentence part naming the roles that have p: "owner or admin". Static. */
const char *authz_roles_with(enum perm p);

/*
 * README's permission matrix as Markdown (a header, one row per permission,
 * one column per role). Returns a malloc'd string; the caller frees it.
 */
char *authz_matrix_markdown(void);

/* ---- meetings reached through collections ---- */

/*
 * What a caller may do with one meeting. A meeting is reached in one of two
 * ways: as a member of its organization (that organization active in the
 * caller's token), by the role's read / edit_transcript permissions; or
 * through a collection that holds it and is shared with the caller
 * (viewer: read; editor, owner: edit). The better of the two counts.
 */
enum meeting_access { ACCESS_NONE = 0, ACCESS_READ, ACCESS_EDIT };

/* A role on a collection (store/collections.h), ordered like org_role. */
enum coll_role { COLL_NONE = 0, COLL_VIEWER, COLL_EDITOR, COLL_OWNER };
/*
 * The decision itself, without the database: org_role is the caller's role
 * in the meeting's organization (ROLE_NONE when it is not their active
 * organization), grant the best collection role they hold on it.
 */
enum meeting_access authz_access_of(enum org_role org_role, enum coll_role grant);
/*
 * The caller's role on a collection: org_role is their role in its
 * organization (ROLE_NONE when it is not their active one): owners and
 * admins own every collection of it, members edit, viewers view; grant is
 * what the collection grants them. The better of the two.
 */
enum coll_role authz_collection_role_of(enum org_role org_role, enum coll_role grant);

struct db_conn;
struct principal;
/*
 * What principal p may do with meeting meeting_id (*out), and the meeting's
 * organization (org_out, "" when there is no such meeting: ACCESS_NONE).
 * API keys act in their organization only: collection grants are people's.
 * Returns a store_rc (int): 0 or a database failure.
 */
int authz_meeting_access(struct db_conn *c, const struct principal *p, const char *meeting_id,
			 enum meeting_access *out, char org_out[37]);
/*
 * p's role on collection_id (*out; COLL_NONE when none or no such
 * collection). Returns a store_rc (int): 0 or a database failure.
 */
int authz_collection_role(struct db_conn *c, const struct principal *p, const char *collection_id,
			  enum coll_role *out);

#endif
