/*
 * collections.c — /api/v1/collections: folders of meetings in an
 * organization, shared with people as owner / editor / viewer by e-mail
 * invitation (also people outside the organization: they reach the
 * collection's meetings, nothing else of it).
 *
 * Who may do what is auth/authz.h's authz_collection_role: owners and
 * admins of the organization own every collection of it, members edit,
 * viewers view; a grant can only add to that. Viewers list the meetings
 * (and read them, their transcripts and audio: meetings.c and
 * transcripts.c ask authz_meeting_access); editors also add and remove
 * meetings and edit transcripts; owners rename, delete, invite and remove
 * people. A collection the caller has no role on is 404, like a meeting of
 * another organization.
 *
 * Invitation tokens travel only in request bodies and in the fragment of
 * the link (/collection-invite#cin_...), never in a path.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/invitee.h"
#include "auth/authz.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "core/utf8.h"
#include "mail/mail.h"
#include "store/audit.h"
#include "store/collections.h"
#include "store/meetings.h"
#include "store/users.h"

#define MEMBERS_MAX 500

static json_t *coll_json(const struct collection *k, enum coll_role mine)
{
	return json_pack("{s:s,s:s,s:{s:s,s:s},s:I,s:s,s:o,s:o}", "id", k->id, "name", k->name,
			 "organization", "id", k->org_id, "name", k->org_name, "meeting_count",
			 (json_int_t)k->meeting_count, "my_role", coll_role_name(mine),
			 "created_at", api_time(k->created_at), "updated_at",
			 api_time(k->updated_at));
}

/* An audit event in the collection's organization (a guest acts in it too). */
static void audit_coll(struct api_ctx *cx, const char *org_id, const char *action,
		       const char *target_type, const char *target_id, json_t *details)
{
	struct audit_ctx ctx;
	api_audit_ctx(cx->req, &ctx);
	if (audit_record_target(cx->conn, org_id, cx->principal ? cx->principal->user_id : NULL,
				action, target_type, target_id, &ctx, details))
		log_warn("audit event not recorded", json_pack("{s:s}", "action", action));
}

/*
 * The collection in the path with the caller's role, which must be at
 * least need: 404 when the caller has none, 403 when it is too low.
 */
static bool load(struct api_ctx *cx, struct collection *k, enum coll_role need,
		 enum coll_role *mine)
{
	const char *id = http_param(cx->req, "id");
	enum coll_role role;
	int rc = authz_collection_role(cx->conn, cx->principal, id, &role);
	if (rc) {
		api_db_fail(cx->req, rc, "load collection");
		return false;
	}
	if (role == COLL_NONE || (rc = collection_get(cx->conn, id, k)) == STORE_NOT_FOUND) {
		http_problem(cx->req, 404, "collection_not_found",
			     "There is no collection %.36s that you can see.", id);
		return false;
	}
	if (rc) {
		api_db_fail(cx->req, rc, "load collection");
		return false;
	}
	if (role < need) {
		http_problem_fields(
		    cx->req, 403, "collection_forbidden",
		    json_pack("[{s:s,s:s}]", "field", "role", "message", coll_role_name(role)),
		    "Your role on this collection is '%s'; this needs '%s' or "
		    "higher. Ask an owner of the collection.",
		    coll_role_name(role), coll_role_name(need));
		return false;
	}
	if (mine)
		*mine = role;
	return true;
}

/* ---- the collection ---- */

struct name_in {
	const char *name;
};
static const struct jv_field NAME_FIELDS[] = {
    {.name = "name",
     .type = JV_STRING,
     .presence = JV_REQUIRED,
     .min_len = 1,
     .max_len = COLLECTION_NAME_MAX,
     .dest = JV_DEST(struct name_in, name)},
};
static const struct jv_spec NAME_SPEC = {JV_FIELDS(NAME_FIELDS)};

static void name_check(struct api_ctx *cx, json_t **errors)
{
	const char *name = API_IN(cx, struct name_in)->name, *why;
	if (!name)
		return;
	const char *p = name;
	while (*p == ' ' || *p == '\t')
		p++;
	if (!*p)
		jv_error(errors, "name", "must not be blank");
	else if (!utf8_text_ok(name, &why))
		jv_error(errors, "name", "%s", why);
}

static void create_coll(struct api_ctx *cx)
{
	const struct principal *p = cx->principal;
	struct collection k;
	enum store_rc rc = collection_create(cx->conn, p->org_id, API_IN(cx, struct name_in)->name,
					     p->user_id, &k);
	if (rc) {
		api_db_fail(cx->req, rc, "create collection");
		return;
	}
	audit_coll(cx, k.org_id, "collection.create", "collection", k.id,
		   json_pack("{s:s}", "name", k.name));
	char loc[80];
	snprintf(loc, sizeof loc, "/api/v1/collections/%s", k.id);
	http_add_header(cx->req, "Location", loc);
	http_reply_json(cx->req, 201, coll_json(&k, COLL_OWNER));
}

static void list_colls(struct api_ctx *cx)
{
	const struct api_page_in *in = API_IN(cx, struct api_page_in);
	const struct principal *p = cx->principal;
	struct collection *list = NULL;
	size_t n = 0;
	/* The active organization's collections if the caller may read it; and every grant. */
	enum store_rc rc = collection_list(
	    cx->conn, authz_may(p->role, PERM_READ) ? p->org_id : NULL,
	    p->via_api_key ? NULL : p->user_id, in->cursor, in->limit + 1, &list, &n);
	if (rc) {
		api_db_fail(cx->req, rc, "list collections");
		return;
	}
	size_t shown = n > (size_t)in->limit ? (size_t)in->limit : n;
	json_t *data = json_array();
	for (size_t i = 0; i < shown; i++) {
		enum coll_role mine = COLL_NONE;
		if (authz_collection_role(cx->conn, p, list[i].id, &mine) == STORE_OK &&
		    mine != COLL_NONE)
			json_array_append_new(data, coll_json(&list[i], mine));
	}
	json_t *next = n > shown ? api_cursor(list[shown - 1].id) : json_null();
	free(list);
	http_reply_json(cx->req, 200, json_pack("{s:o,s:o}", "data", data, "next_cursor", next));
}

static void get_coll(struct api_ctx *cx)
{
	struct collection k;
	enum coll_role mine;
	if (!load(cx, &k, COLL_VIEWER, &mine))
		return;
	http_reply_json(cx->req, 200, coll_json(&k, mine));
}

static void rename_coll(struct api_ctx *cx)
{
	struct collection k;
	enum coll_role mine;
	if (!load(cx, &k, COLL_OWNER, &mine))
		return;
	const char *name = API_IN(cx, struct name_in)->name;
	enum store_rc rc = collection_rename(cx->conn, k.org_id, k.id, name);
	if (!rc)
		rc = collection_get(cx->conn, k.id, &k);
	if (rc) {
		api_db_fail(cx->req, rc, "rename collection");
		return;
	}
	audit_coll(cx, k.org_id, "collection.rename", "collection", k.id,
		   json_pack("{s:s}", "name", k.name));
	http_reply_json(cx->req, 200, coll_json(&k, mine));
}

static void delete_coll(struct api_ctx *cx)
{
	struct collection k;
	if (!load(cx, &k, COLL_OWNER, NULL))
		return;
	enum store_rc rc = collection_delete(cx->conn, k.org_id, k.id);
	if (rc && rc != STORE_NOT_FOUND) {
		api_db_fail(cx->req, rc, "delete collection");
		return;
	}
	audit_coll(cx, k.org_id, "collection.delete", "collection", k.id,
		   json_pack("{s:s}", "name", k.name));
	http_reply_empty(cx->req, 204);
}

/* ---- its meetings ---- */

static void list_meetings(struct api_ctx *cx)
{
	const struct api_page_in *in = API_IN(cx, struct api_page_in);
	struct collection k;
	if (!load(cx, &k, COLL_VIEWER, NULL))
		return;
	char(*ids)[UUID_STR_LEN] = calloc((size_t)in->limit + 1, UUID_STR_LEN);
	size_t n = 0;
	enum store_rc rc =
	    ids ? collection_meeting_ids(cx->conn, k.id, in->cursor, in->limit + 1, ids, &n)
		: STORE_ERROR;
	if (rc) {
		free(ids);
		api_db_fail(cx->req, rc, "list collection meetings");
		return;
	}
	size_t shown = n > (size_t)in->limit ? (size_t)in->limit : n;
	json_t *data = json_array();
	for (size_t i = 0; i < shown; i++) {
		struct meeting m;
		meeting_init(&m);
		if (meeting_get(cx->conn, k.org_id, ids[i], &m) == STORE_OK)
			json_array_append_new(data, api_meeting_json(&m));
		meeting_clear(&m);
	}
	json_t *next = n > shown ? api_cursor(ids[shown - 1]) : json_null();
	free(ids);
	http_reply_json(cx->req, 200, json_pack("{s:o,s:o}", "data", data, "next_cursor", next));
}

static void add_meeting(struct api_ctx *cx)
{
	struct collection k;
	if (!load(cx, &k, COLL_EDITOR, NULL))
		return;
	const char *mid = http_param(cx->req, "meeting_id");
	enum meeting_access a;
	char org[UUID_STR_LEN];
	int rc = authz_meeting_access(cx->conn, cx->principal, mid, &a, org);
	if (rc) {
		api_db_fail(cx->req, rc, "meeting access");
		return;
	}
	/* Only meetings of the collection's organization that the caller can read. */
	if (a == ACCESS_NONE || strcmp(org, k.org_id) != 0) {
		http_problem(cx->req, 404, "not_found",
			     "There is no meeting %.36s in this collection's organization that you "
			     "can read.",
			     mid);
		return;
	}
	rc = collection_add_meeting(cx->conn, k.org_id, k.id, mid, cx->principal->user_id);
	if (rc) {
		api_db_fail(cx->req, rc, "add meeting");
		return;
	}
	audit_coll(cx, k.org_id, "collection.meeting.add", "collection", k.id,
		   json_pack("{s:s}", "meeting_id", mid));
	http_reply_empty(cx->req, 204);
}

static void remove_meeting(struct api_ctx *cx)
{
	struct collection k;
	if (!load(cx, &k, COLL_EDITOR, NULL))
		return;
	const char *mid = http_param(cx->req, "meeting_id");
	enum store_rc rc = collection_remove_meeting(cx->conn, k.id, mid);
	if (rc == STORE_NOT_FOUND) {
		http_problem(cx->req, 404, "not_found", "Meeting %.36s is not in this collection.",
			     mid);
		return;
	}
	if (rc) {
		api_db_fail(cx->req, rc, "remove meeting");
		return;
	}
	audit_coll(cx, k.org_id, "collection.meeting.remove", "collection", k.id,
		   json_pack("{s:s}", "meeting_id", mid));
	http_reply_empty(cx->req, 204);
}

/* ---- people ---- */

static json_t *cinv_json(const struct coll_invitation *inv, const char *token, const char *mail)
{
	json_t *o = json_pack("{s:s,s:s,s:s,s:o,s:o}", "id", inv->id, "email", inv->email, "role",
			      coll_role_name(inv->role), "created_at", api_time(inv->created_at),
			      "expires_at", api_time(inv->expires_at));
	json_object_set_new(o, "mail", json_string(mail ? mail : mail_state(inv->mail_job_state)));
	if (token) {
		char url[COLL_TOKEN_BUF + 32];
		snprintf(url, sizeof url, "/collection-invite#%s", token);
		json_object_set_new(o, "token", json_string(token));
		json_object_set_new(o, "accept_url", json_string(url));
	}
	return o;
}

static void list_people(struct api_ctx *cx)
{
	struct collection k;
	enum coll_role mine;
	if (!load(cx, &k, COLL_VIEWER, &mine))
		return;
	struct collection_member *mem = NULL;
	struct coll_invitation *inv = NULL;
	size_t nm = 0, ni = 0;
	enum store_rc rc = collection_members(cx->conn, k.id, MEMBERS_MAX, &mem, &nm);
	if (!rc && mine == COLL_OWNER) /* pending invitations: owners only */
		rc = coll_invite_list(cx->conn, k.id, MEMBERS_MAX, &inv, &ni);
	if (rc) {
		free(mem);
		api_db_fail(cx->req, rc, "list people");
		return;
	}
	json_t *people = json_array(), *pending = json_array();
	for (size_t i = 0; i < nm; i++)
		json_array_append_new(people, json_pack("{s:s,s:s,s:s,s:o}", "user_id",
							mem[i].user_id, "email", mem[i].email,
							"role", coll_role_name(mem[i].role),
							"since", api_time(mem[i].created_at)));
	for (size_t i = 0; i < ni; i++)
		json_array_append_new(pending, cinv_json(&inv[i], NULL, NULL));
	free(mem);
	free(inv);
	http_reply_json(cx->req, 200,
			json_pack("{s:o,s:o}", "members", people, "invitations", pending));
}

struct invite_in {
	const char *email, *role;
};
static const struct jv_field INVITE_FIELDS[] = {
    {.name = "email",
     .type = JV_STRING,
     .presence = JV_REQUIRED,
     .min_len = 1,
     .max_len = EMAIL_BUF - 1,
     .dest = JV_DEST(struct invite_in, email)},
    {.name = "role",
     .type = JV_STRING,
     .presence = JV_REQUIRED,
     .max_len = 16,
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
	if (in->role && coll_role_parse(in->role) == COLL_NONE)
		jv_error(errors, "role", "must be one of owner, editor, viewer");
}

static const char *mail_invite(struct api_ctx *cx, const struct coll_invitation *inv,
			       const char *token)
{
	const struct principal *p = cx->principal;
	char link[1024], subject[512], intro[1200], job[UUID_STR_LEN];
	snprintf(link, sizeof link, "%s/collection-invite#%s", mail_public_url(), token);
	snprintf(subject, sizeof subject, "%.200s shared with you on IAM", inv->collection_name);
	snprintf(intro, sizeof intro,
		 "%.254s shared the collection \"%.200s\" with you on IAM as %s: its meetings, "
		 "transcripts and audio. The link works once, for this address (%.254s), until "
		 "it expires in 7 days.",
		 p->email[0] ? p->email : "Someone", inv->collection_name,
		 coll_role_name(inv->role), inv->email);
	const char *how = invitee_mail(cx, inv->org_id, inv->email, subject, intro,
				       "Open the collection", link, job);
	if (job[0] && coll_invite_set_mail_job(cx->conn, inv->id, job) != STORE_OK)
		log_warn("collection invitation mail job not remembered",
			 json_pack("{s:s,s:s}", "invitation_id", inv->id, "job_id", job));
	return how;
}

static void create_invite(struct api_ctx *cx)
{
	const struct invite_in *in = API_IN(cx, struct invite_in);
	struct collection k;
	if (!load(cx, &k, COLL_OWNER, NULL))
		return;
	char email[EMAIL_BUF];
	const char *why;
	if (!api_email_normalize(in->email, email, sizeof email, &why))
		return; /* refused by invite_check */
	struct coll_invitation inv;
	char token[COLL_TOKEN_BUF];
	enum store_rc rc = coll_invite_create(cx->conn, &k, email, coll_role_parse(in->role),
					      cx->principal->user_id, &inv, token);
	if (rc) {
		api_db_fail(cx->req, rc, "create invitation");
		return;
	}
	audit_coll(cx, k.org_id, "collection.share", "collection", k.id,
		   json_pack("{s:s,s:s,s:s}", "email", inv.email, "role", coll_role_name(inv.role),
			     "invitation_id", inv.id));
	const char *mail = mail_invite(cx, &inv, token);
	char text[700];
	snprintf(text, sizeof text, "%.254s shared the collection \"%.200s\" with you as %s.",
		 cx->principal->email[0] ? cx->principal->email : "Someone", inv.collection_name,
		 coll_role_name(inv.role));
	invitee_notify(cx, inv.email, text);
	http_reply_json(cx->req, 201, cinv_json(&inv, token, mail));
}

static void revoke_invite(struct api_ctx *cx)
{
	struct collection k;
	if (!load(cx, &k, COLL_OWNER, NULL))
		return;
	const char *iid = http_param(cx->req, "invitation_id");
	enum store_rc rc = coll_invite_revoke(cx->conn, k.id, iid);
	if (rc == STORE_NOT_FOUND) {
		http_problem(cx->req, 404, "invitation_not_found",
			     "There is no pending invitation %.36s to this collection.", iid);
		return;
	}
	if (rc) {
		api_db_fail(cx->req, rc, "revoke invitation");
		return;
	}
	audit_coll(cx, k.org_id, "collection.invitation.revoke", "collection", k.id,
		   json_pack("{s:s}", "invitation_id", iid));
	http_reply_empty(cx->req, 204);
}

static void remove_person(struct api_ctx *cx)
{
	struct collection k;
	const char *uid = http_param(cx->req, "user_id");
	/* Owners remove anyone; anyone may leave. */
	bool self = strcmp(uid, cx->principal->user_id) == 0;
	if (!load(cx, &k, self ? COLL_VIEWER : COLL_OWNER, NULL))
		return;
	enum store_rc rc = collection_member_remove(cx->conn, k.id, uid);
	if (rc == STORE_NOT_FOUND) {
		http_problem(cx->req, 404, "member_not_found",
			     "User %.36s has no role on this collection.", uid);
		return;
	}
	if (rc) {
		api_db_fail(cx->req, rc, "remove person");
		return;
	}
	audit_coll(cx, k.org_id, "collection.unshare", "collection", k.id,
		   json_pack("{s:s}", "user_id", uid));
	http_reply_empty(cx->req, 204);
}

/* ---- the invitee's side ---- */

static enum invitee_state state_of(const struct coll_invitation *inv)
{
	switch (coll_invite_state(inv, time_now_ms())) {
	case CINV_ACCEPTED:
		return INVITEE_ACCEPTED;
	case CINV_REVOKED:
		return INVITEE_REVOKED;
	case CINV_EXPIRED:
		return INVITEE_EXPIRED;
	default:
		return INVITEE_PENDING;
	}
}

/* The pending invitation the body's token names; else 404 (unknown) or 410. */
static bool load_token(struct api_ctx *cx, struct coll_invitation *inv)
{
	const char *token = API_IN(cx, struct invitee_in)->token;
	enum store_rc rc = strlen(token) < COLL_TOKEN_BUF ? coll_invite_find(cx->conn, token, inv)
							  : STORE_NOT_FOUND;
	return invitee_pending(cx->req, rc, rc ? INVITEE_PENDING : state_of(inv),
			       "Log in to see the collection, or ask for a new invitation.");
}

static json_t *invitee_json(const struct coll_invitation *inv)
{
	json_t *o = cinv_json(inv, NULL, NULL);
	json_object_set_new(
	    o, "collection",
	    json_pack("{s:s,s:s}", "id", inv->collection_id, "name", inv->collection_name));
	json_object_set_new(o, "invited_by", json_string(inv->inviter_email));
	return o;
}

static void lookup(struct api_ctx *cx)
{
	struct coll_invitation inv;
	if (!load_token(cx, &inv))
		return;
	struct user u;
	enum store_rc rc = user_find_by_email(cx->conn, inv.email, &u);
	if (rc && rc != STORE_NOT_FOUND) {
		api_db_fail(cx->req, rc, "find user");
		return;
	}
	json_t *body = invitee_json(&inv);
	json_object_set_new(body, "account_exists", json_boolean(rc == STORE_OK));
	http_reply_json(cx->req, 200, body);
}

static void audit_accept(struct api_ctx *cx, const struct coll_invitation *inv, const char *user_id,
			 const char *how)
{
	struct audit_ctx ctx;
	api_audit_ctx(cx->req, &ctx);
	audit_record_target(cx->conn, inv->org_id, user_id, "collection.invitation.accept",
			    "collection", inv->collection_id, &ctx,
			    json_pack("{s:s,s:s,s:s}", "email", inv->email, "role",
				      coll_role_name(inv->role), "via", how));
}

static void accept(struct api_ctx *cx)
{
	db_scope_system(cx->conn); /* tenant scope: the collection is another organization's */
	struct coll_invitation inv;
	struct user u;
	if (!load_token(cx, &inv) || !invitee_is_addressee(cx, inv.email, &u))
		return;
	if (invitee_accept_failed(cx->req, coll_invite_accept(cx->conn, inv.id, u.id)))
		return;
	audit_accept(cx, &inv, u.id, "login");
	http_reply_json(cx->req, 200, invitee_json(&inv));
}

/*
 * Sign up through a collection invitation: the account gets the invited
 * address (proven by holding the link) and its own personal organization,
 * like every account, plus the grant on the collection: nothing else of
 * the collection's organization.
 */
static void signup(struct api_ctx *cx)
{
	struct coll_invitation inv;
	struct user u;
	struct membership personal;
	if (!api_conn(cx) || !load_token(cx, &inv) ||
	    !invitee_create_account(cx, inv.email, "collection_invitation", &u, &personal))
		return;
	if (invitee_accept_failed(cx->req, coll_invite_accept(cx->conn, inv.id, u.id)))
		return;
	audit_accept(cx, &inv, u.id, "signup");
	api_start_session(cx->req, cx->conn, &u, &personal, 201);
}

/* ---- the invitee's own list, accepted in the app ---- */

#define MINE_MAX 100

static void list_mine(struct api_ctx *cx)
{
	db_scope_system(cx->conn); /* tenant scope: invitations from other organizations */
	struct user u;
	if (!invitee_self(cx, &u))
		return;
	struct coll_invitation *list;
	size_t n;
	enum store_rc rc = coll_invite_list_for_email(cx->conn, u.email, MINE_MAX, &list, &n);
	if (rc) {
		api_db_fail(cx->req, rc, "list invitations");
		return;
	}
	json_t *data = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *o = invitee_json(&list[i]);
		json_object_del(o, "mail"); /* the inviter's concern */
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
	struct coll_invitation inv;
	if (!invitee_self(cx, &u))
		return;
	enum store_rc rc = coll_invite_find_by_id(cx->conn, http_param(cx->req, "id"), &inv);
	if (!invitee_mine_pending(cx, &u, rc, rc ? "" : inv.email,
				  rc ? INVITEE_PENDING : state_of(&inv),
				  "Open the collection from the Collections page."))
		return;
	if (invitee_accept_failed(cx->req, coll_invite_accept(cx->conn, inv.id, u.id)))
		return;
	audit_accept(cx, &inv, u.id, "app");
	http_reply_json(cx->req, 200, invitee_json(&inv));
}

#define COLL .auth = AUTH_BEARER, .db = DB_CONN_HELD

static const struct route ROUTES[] = {
    {.method = M_POST,
     .pattern = "/api/v1/collections",
     .body = BODY_JSON,
     .json = &NAME_SPEC,
     .check = name_check,
     COLL,
     .perm = PERM_CREATE_MEETING,
     .run = create_coll},
    {.method = M_GET,
     .pattern = "/api/v1/collections",
     .check = api_page_check,
     COLL,
     .run = list_colls},
    {.method = M_GET, .pattern = "/api/v1/collections/{id}", COLL, .run = get_coll},
    {.method = M_PATCH,
     .pattern = "/api/v1/collections/{id}",
     .body = BODY_JSON,
     .json = &NAME_SPEC,
     .check = name_check,
     COLL,
     .run = rename_coll},
    {.method = M_DELETE, .pattern = "/api/v1/collections/{id}", COLL, .run = delete_coll},
    {.method = M_GET,
     .pattern = "/api/v1/collections/{id}/meetings",
     .check = api_page_check,
     COLL,
     .run = list_meetings},
    {.method = M_PUT,
     .pattern = "/api/v1/collections/{id}/meetings/{meeting_id}",
     COLL,
     .run = add_meeting},
    {.method = M_DELETE,
     .pattern = "/api/v1/collections/{id}/meetings/{meeting_id}",
     COLL,
     .run = remove_meeting},
    {.method = M_GET, .pattern = "/api/v1/collections/{id}/people", COLL, .run = list_people},
    {.method = M_POST,
     .pattern = "/api/v1/collections/{id}/invitations",
     .body = BODY_JSON,
     .json = &INVITE_SPEC,
     .check = invite_check,
     COLL,
     .run = create_invite},
    {.method = M_DELETE,
     .pattern = "/api/v1/collections/{id}/invitations/{invitation_id}",
     COLL,
     .run = revoke_invite},
    {.method = M_DELETE,
     .pattern = "/api/v1/collections/{id}/people/{user_id}",
     COLL,
     .run = remove_person},
    {.method = M_POST,
     .pattern = "/api/v1/collection-invitations/lookup",
     .body = BODY_JSON,
     .json = &INVITEE_TOKEN_SPEC,
     .db = DB_CONN_HELD,
     .run = lookup},
    {.method = M_POST,
     .pattern = "/api/v1/collection-invitations/accept",
     .body = BODY_JSON,
     .json = &INVITEE_TOKEN_SPEC,
     COLL,
     .run = accept},
    {.method = M_GET, .pattern = "/api/v1/collection-invitations/mine", COLL, .run = list_mine},
    {.method = M_POST,
     .pattern = "/api/v1/collection-invitations/mine/{id}/accept",
     COLL,
     .run = accept_mine},
    {.method = M_POST,
     .pattern = "/api/v1/collection-invitations/signup",
     .body = BODY_JSON,
     .json = &INVITEE_SIGNUP_SPEC,
     .check = invitee_signup_check,
     .run = signup},
};

size_t api_collections_routes(const struct route **out)
{
	*out = ROUTES;
	return ARRAY_LEN(ROUTES);
}
