#include "auth/authz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/authn.h"
#include "core/buf.h"
#include "store/collections.h"

#define O (1u << ROLE_OWNER)
#define A (1u << ROLE_ADMIN)
#define M (1u << ROLE_MEMBER)
#define V (1u << ROLE_VIEWER)

/* The permission matrix: for each permission, the roles that have it and what it covers. */
static const struct {
	const char *name;
	unsigned roles;
	const char *roles_text;
	const char *covers;
} PERMS[PERM_COUNT] = {
    [PERM_NONE] = {"member", O | A | M | V, "any member",
		   "see one's own account and organizations"},
    [PERM_READ] = {"read", O | A | M | V, "any member",
		   "read meetings, transcripts, audio, exports, revisions, the member list"},
    [PERM_CREATE_MEETING] = {"create_meeting", O | A | M, "owner, admin or member",
			     "create meetings, change their title and description"},
    [PERM_UPLOAD] = {"upload", O | A | M, "owner, admin or member",
		     "upload audio (direct, tus, OpenAI endpoint)"},
    [PERM_TRANSCRIBE] = {"transcribe", O | A | M, "owner, admin or member",
			 "start or restart transcription"},
    [PERM_EDIT_TRANSCRIPT] = {"edit_transcript", O | A | M, "owner, admin or member",
			      "correct segments, name and merge speakers, restore revisions"},
    [PERM_SHARE] = {"share", O | A | M, "owner, admin or member",
		    "create, list and revoke public read-only links to a meeting"},
    [PERM_DELETE_MEETING] = {"delete_meeting", O | A, "owner or admin",
			     "delete meetings with their audio and transcript"},
    [PERM_MANAGE_MEMBERS] = {"manage_members", O | A, "owner or admin",
			     "invite, resend and revoke invitations, change roles, remove members"},
    [PERM_SEE_BILLING] = {"see_billing", O | A, "owner or admin", "plan, usage and invoices"},
    [PERM_MANAGE_KEYS] = {"manage_keys", O | A, "owner or admin",
			  "create, list and delete API keys"},
    [PERM_MANAGE_WEBHOOKS] = {"manage_webhooks", O | A, "owner or admin",
			      "create, list and delete webhooks"},
    [PERM_READ_AUDIT] = {"read_audit", O | A, "owner or admin", "read the audit log"},
    [PERM_MANAGE_ORG] = {"manage_org", O | A, "owner or admin",
			 "rename the organization, set its default language and retention"},
    [PERM_DELETE_ORG] = {"delete_org", O, "owner",
			 "delete the organization with all its meetings, audio and jobs"},
};

static const char *const ROLE_NAMES[] = {"none", "viewer", "member", "admin", "owner"};

bool authz_may(enum org_role role, enum perm p)
{
	if (role <= ROLE_NONE || role > ROLE_OWNER || (int)p < 0 || p >= PERM_COUNT)
		return false;
	return (PERMS[p].roles >> role) & 1u;
}

const char *authz_role_name(enum org_role role)
{
	return role >= ROLE_NONE && role <= ROLE_OWNER ? ROLE_NAMES[role] : "none";
}

enum org_role authz_role_parse(const char *s)
{
	if (!s)
		return ROLE_NONE;
	for (int r = ROLE_VIEWER; r <= ROLE_OWNER; r++)
		if (!strcmp(s, ROLE_NAMES[r]))
			return (enum org_role)r;
	return ROLE_NONE;
}

const char *authz_perm_name(enum perm p)
{
	return (int)p >= 0 && p < PERM_COUNT ? PERMS[p].name : "?";
}

const char *authz_roles_with(enum perm p)
{
	return (int)p >= 0 && p < PERM_COUNT ? PERMS[p].roles_text : "nobody";
}

char *authz_matrix_markdown(void)
{
	struct buf b = {0};
	buf_printf(&b, "| permission | what it covers | owner | admin | member | viewer |\n");
	buf_printf(&b, "|---|---|:-:|:-:|:-:|:-:|\n");
	for (int p = PERM_READ; p < PERM_COUNT; p++) {
		buf_printf(&b, "| `%s` | %s |", PERMS[p].name, PERMS[p].covers);
		for (int r = ROLE_OWNER; r >= ROLE_VIEWER; r--)
			buf_printf(&b, " %s |", authz_may((enum org_role)r, p) ? "yes" : "—");
		buf_printf(&b, "\n");
	}
	return buf_steal(&b);
}

enum meeting_access authz_access_of(enum org_role org_role, enum coll_role grant)
{
	enum meeting_access a = ACCESS_NONE;
	if (authz_may(org_role, PERM_EDIT_TRANSCRIPT))
		a = ACCESS_EDIT;
	else if (authz_may(org_role, PERM_READ))
		a = ACCESS_READ;
	enum meeting_access g = grant >= COLL_EDITOR   ? ACCESS_EDIT
				: grant == COLL_VIEWER ? ACCESS_READ
						       : ACCESS_NONE;
	return g > a ? g : a;
}

enum coll_role authz_collection_role_of(enum org_role org_role, enum coll_role grant)
{
	enum coll_role r = COLL_NONE;
	if (authz_may(org_role, PERM_DELETE_MEETING))
		r = COLL_OWNER;
	else if (authz_may(org_role, PERM_EDIT_TRANSCRIPT))
		r = COLL_EDITOR;
	else if (authz_may(org_role, PERM_READ))
		r = COLL_VIEWER;
	return grant > r ? grant : r;
}

int authz_meeting_access(struct db_conn *c, const struct principal *p, const char *meeting_id,
			 enum meeting_access *out, char org_out[37])
{
	*out = ACCESS_NONE;
	enum coll_role grant = COLL_NONE;
	enum store_rc rc = collection_meeting_grant(
	    c, meeting_id ? meeting_id : "", p->via_api_key ? NULL : p->user_id, org_out, &grant);
	if (rc == STORE_NOT_FOUND)
		return STORE_OK;
	if (rc)
		return rc;
	enum org_role role = strcmp(org_out, p->org_id) == 0 ? p->role : ROLE_NONE;
	*out = authz_access_of(role, grant);
	return STORE_OK;
}

int authz_collection_role(struct db_conn *c, const struct principal *p, const char *collection_id,
			  enum coll_role *out)
{
	*out = COLL_NONE;
	struct collection k;
	enum store_rc rc = collection_get(c, collection_id ? collection_id : "", &k);
	if (rc == STORE_NOT_FOUND)
		return STORE_OK;
	if (rc)
		return rc;
	enum coll_role grant = COLL_NONE;
	if (!p->via_api_key && (rc = collection_grant_of(c, k.id, p->user_id, &grant)))
		return rc;
	enum org_role role = strcmp(k.org_id, p->org_id) == 0 ? p->role : ROLE_NONE;
	*out = authz_collection_role_of(role, grant);
	return STORE_OK;
}
