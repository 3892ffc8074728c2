/*
 * orgs.c — /api/v1/organizations: the caller's organizations, the active
 * one's settings, deletion, and its members (roles, removal, leaving).
 *
 * Routes under /organizations/{org_id} act in the caller's active
 * organization (the one the token or API key carries): another id is 404,
 * as for any row of another tenant (the frame checks it). Switching is
 * POST /api/v1/auth/switch-org.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "auth/authz.h"
#include "blob/blob.h"
#include "core/log.h"
#include "core/utf8.h"
#include "store/audit.h"
#include "store/orgs.h"
#include "store/users.h"

#define ORGS_MAX	   200
#define MEMBERS_MAX	   1000
#define RETENTION_MAX_DAYS 36500

json_t *api_org_full_json(const struct org *o, const char *active_org)
{
	return json_pack(
	    "{s:s,s:s,s:b,s:s,s:o,s:s,s:I,s:b,s:o,s:o}", "id", o->id, "name", o->name, "personal",
	    o->personal, "default_language", o->default_language, "retention_days",
	    o->retention_days ? json_integer(o->retention_days) : json_null(), "role", o->role,
	    "members", (json_int_t)o->members, "active", active_org && !strcmp(active_org, o->id),
	    "created_at", api_time(o->created_at), "updated_at", api_time(o->updated_at));
}

static bool language_ok(const char *s)
{
	size_t n = strlen(s);
	if (n < 2 || n > 15)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalpha((unsigned char)s[i]) && !(s[i] == '-' && i >= 2 && i + 1 < n))
			return false;
	return true;
}

struct org_in {
	const char *name, *default_language;
	json_int_t retention_days;
};

static const struct jv_field ORG_FIELDS[] = {
    {.name = "name",
     .type = JV_STRING,
     .min_len = 1,
     .max_len = NAME_MAX_CHARS,
     .dest = JV_DEST(struct org_in, name)},
    {.name = "default_language",
     .type = JV_STRING,
     .max_len = 15,
     .dest = JV_DEST(struct org_in, default_language)},
    {.name = "retention_days",
     .type = JV_INT,
     .null = JV_NULL_OK,
     .dest = JV_DEST(struct org_in, retention_days)},
};
static const struct jv_spec ORG_SPEC = {JV_FIELDS(ORG_FIELDS)};

/* Field rules for create and update; create also needs a name. */
static void org_check(struct api_ctx *cx, json_t **errors)
{
	const struct org_in *in = API_IN(cx, struct org_in);
	const char *why;
	if (in->name && !utf8_text_ok(in->name, &why))
		jv_error(errors, "name", "%s", why);
	if (in->name && !in->name[strspn(in->name, " ")])
		jv_error(errors, "name", "must not be blank");
	if (in->default_language && !language_ok(in->default_language))
		jv_error(errors, "default_language", "must be a language code such as en or en-US");
	json_t *rd = json_object_get(cx->body, "retention_days");
	if (json_is_integer(rd) &&
	    (in->retention_days < 1 || in->retention_days > RETENTION_MAX_DAYS))
		jv_error(errors, "retention_days",
			 "must be a number of days from 1 to %d, or null to keep meetings for ever",
			 RETENTION_MAX_DAYS);
}

static void create_check(struct api_ctx *cx, json_t **errors)
{
	org_check(cx, errors);
	if (!json_object_get(cx->body, "name"))
		jv_error(errors, "name", "is required");
}

static void apply_org(const struct api_ctx *cx, struct org *o)
{
	const struct org_in *in = API_IN(cx, struct org_in);
	if (in->name)
		snprintf(o->name, sizeof o->name, "%s", in->name);
	if (in->default_language)
		snprintf(o->default_language, sizeof o->default_language, "%s",
			 in->default_language);
	json_t *rd = json_object_get(cx->body, "retention_days");
	if (json_is_null(rd))
		o->retention_days = 0;
	else if (json_is_integer(rd))
		o->retention_days = (int)in->retention_days;
}

static void create_org(struct api_ctx *cx)
{
	struct http_req *r = cx->req;
	const struct principal *p = cx->principal;
	struct org o;
	memset(&o, 0, sizeof o);
	apply_org(cx, &o);
	db_scope_system(cx->conn); /* tenant scope: the new organization is in none yet */
	enum store_rc rc = org_create(cx->conn, p->user_id, &o);
	if (rc) {
		api_db_fail(r, rc, "create organization");
		return;
	}
	api_audit(cx, "org.create", "organization", o.id, json_pack("{s:s}", "name", o.name));
	/* The audit event above went to the caller's active organization; the new one gets its own.
	 */
	struct audit_ctx ctx;
	api_audit_ctx(r, &ctx);
	audit_record_target(cx->conn, o.id, p->user_id, "org.create", "organization", o.id, &ctx,
			    json_pack("{s:s}", "name", o.name));
	http_reply_json(r, 201, api_org_full_json(&o, p->org_id));
}

static void list_orgs(struct api_ctx *cx)
{
	const struct principal *p = cx->principal;
	struct org *list;
	int n;
	enum store_rc rc = org_list_for_user(cx->conn, p->user_id, ORGS_MAX, &list, &n);
	if (rc) {
		api_db_fail(cx->req, rc, "list organizations");
		return;
	}
	json_t *data = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(data, api_org_full_json(&list[i], p->org_id));
	free(list);
	http_reply_json(cx->req, 200, json_pack("{s:o,s:n}", "data", data, "next_cursor"));
}

/* The active organization as the caller sees it, or reply 404/503 and return false. */
static bool load_org(struct api_ctx *cx, struct org *o)
{
	const struct principal *p = cx->principal;
	enum store_rc rc = org_get(cx->conn, p->org_id, p->user_id, o);
	if (rc == STORE_NOT_FOUND) {
		http_problem(cx->req, 404, "organization_not_found",
			     "This organization does not exist any more.");
		return false;
	}
	if (rc) {
		api_db_fail(cx->req, rc, "load organization");
		return false;
	}
	return true;
}

static void get_org(struct api_ctx *cx)
{
	struct org o;
	if (load_org(cx, &o))
		http_reply_json(cx->req, 200, api_org_full_json(&o, cx->principal->org_id));
}

static void patch_org(struct api_ctx *cx)
{
	struct org o;
	if (!load_org(cx, &o))
		return;
	json_t *before = json_pack("{s:s,s:s,s:i}", "name", o.name, "default_language",
				   o.default_language, "retention_days", o.retention_days);
	apply_org(cx, &o);
	enum store_rc rc = org_update(cx->conn, &o);
	if (rc) {
		json_decref(before);
		api_db_fail(cx->req, rc, "update organization");
		return;
	}
	api_audit(cx, "org.update", "organization", o.id,
		  json_pack("{s:o,s:{s:s,s:s,s:i}}", "before", before, "after", "name", o.name,
			    "default_language", o.default_language, "retention_days",
			    o.retention_days));
	if (!load_org(cx, &o))
		return;
	http_reply_json(cx->req, 200, api_org_full_json(&o, cx->principal->org_id));
}

static void delete_org(struct api_ctx *cx)
{
	struct http_req *r = cx->req;
	const struct principal *p = cx->principal;
	struct org o;
	if (!load_org(cx, &o))
		return;
	if (o.personal) {
		http_problem(
		    r, 409, "personal_organization",
		    "This is your personal organization, which every account keeps. Delete "
		    "its meetings instead, or delete an organization you created.");
		return;
	}
	char **keys;
	int n;
	/* Rows first, blobs after: a crash in between leaves orphan files, never dangling rows. */
	enum store_rc rc = org_delete(cx->conn, o.id, &keys, &n);
	if (rc) {
		api_db_fail(r, rc, "delete organization");
		return;
	}
	struct audit_ctx ctx;
	api_audit_ctx(r, &ctx);
	audit_record_target(cx->conn, NULL, p->user_id, "org.delete", "organization", o.id, &ctx,
			    json_pack("{s:s,s:i}", "name", o.name, "audio_files", n));
	api_conn_release(cx);
	int failed = 0;
	for (int i = 0; i < n; i++)
		if (blob_delete(cx->app->blob, keys[i]) < 0)
			failed++;
	if (failed)
		log_warn("organization deleted; some audio files could not be removed",
			 json_pack("{s:s,s:i}", "org_id", o.id, "count", failed));
	org_keys_free(keys, n);
	http_reply_empty(r, 204);
}

/* ---- members ---- */

static json_t *member_json(const struct org_member *m, const char *me)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:o,s:b}", "user_id", m->user_id, "email", m->email,
			 "first_name", m->first_name, "last_name", m->last_name, "role", m->role,
			 "joined_at", api_time(m->joined_at), "you", !strcmp(m->user_id, me));
}

static void list_members(struct api_ctx *cx)
{
	const struct principal *p = cx->principal;
	struct org_member *list;
	int n;
	enum store_rc rc = org_members_list(cx->conn, p->org_id, MEMBERS_MAX, &list, &n);
	if (rc) {
		api_db_fail(cx->req, rc, "list members");
		return;
	}
	json_t *data = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(data, member_json(&list[i], p->user_id));
	free(list);
	http_reply_json(cx->req, 200, json_pack("{s:o,s:n}", "data", data, "next_cursor"));
}

/* The member in {user_id}, or reply 404 and return false. */
static bool load_member(struct api_ctx *cx, struct org_member *m)
{
	const char *uid = http_param(cx->req, "user_id");
	enum store_rc rc = org_member_get(cx->conn, cx->principal->org_id, uid, m);
	if (rc == STORE_NOT_FOUND) {
		http_problem(cx->req, 404, "member_not_found",
			     "No member with id '%.36s' in this organization.", uid);
		return false;
	}
	if (rc) {
		api_db_fail(cx->req, rc, "load member");
		return false;
	}
	return true;
}

static void last_owner(struct http_req *r, bool self)
{
	http_problem(
	    r, 409, "last_owner",
	    self ? "You are the last owner of this organization. Make another member an "
		   "owner first, or delete the organization."
		 : "This member is the last owner of this organization. Make another member "
		   "an owner first.");
}

bool api_role_grantable(struct http_req *r, enum org_role mine, const char *wanted)
{
	enum org_role want = authz_role_parse(wanted);
	if (want > mine) {
		http_problem_fields(
		    r, 403, "role_escalation",
		    json_pack("[{s:s,s:s}]", "field", "role", "message", "is above your own role"),
		    "You are '%s' here and cannot grant the higher role '%s'. Ask an "
		    "owner.",
		    authz_role_name(mine), authz_role_name(want));
		return false;
	}
	return true;
}

struct role_in {
	const char *role;
};

static const struct jv_field ROLE_FIELDS[] = {
    {.name = "role",
     .type = JV_STRING,
     .presence = JV_REQUIRED,
     .dest = JV_DEST(struct role_in, role)},
};
static const struct jv_spec ROLE_SPEC = {JV_FIELDS(ROLE_FIELDS)};

void api_role_check(struct api_ctx *cx, json_t **errors)
{
	const char *role = jv_str(cx->body, "role");
	if (role && authz_role_parse(role) == ROLE_NONE)
		jv_error(errors, "role", "must be one of owner, admin, member, viewer");
}

static void patch_member(struct api_ctx *cx)
{
	struct http_req *r = cx->req;
	const struct principal *p = cx->principal;
	const char *role = API_IN(cx, struct role_in)->role;
	struct org_member m;
	if (!load_member(cx, &m))
		return;
	if (authz_role_parse(m.role) > p->role) {
		http_problem(r, 403, "forbidden",
			     "This member is '%s', above your own role '%s'; only an owner can "
			     "change their role.",
			     m.role, authz_role_name(p->role));
		return;
	}
	if (!api_role_grantable(r, p->role, role))
		return;
	enum store_rc rc = org_member_set_role(cx->conn, p->org_id, m.user_id, role);
	if (rc == STORE_CONFLICT) {
		last_owner(r, !strcmp(m.user_id, p->user_id));
		return;
	}
	if (rc == STORE_NOT_FOUND) {
		load_member(cx, &m);
		return;
	}
	if (rc) {
		api_db_fail(r, rc, "change role");
		return;
	}
	api_audit(cx, "member.role_change", "user", m.user_id,
		  json_pack("{s:s,s:s,s:s}", "email", m.email, "from", m.role, "to", role));
	snprintf(m.role, sizeof m.role, "%s", role);
	http_reply_json(r, 200, member_json(&m, p->user_id));
}

/*
 * Leaving ends the caller's sessions in the organization, so the reply
 * carries a new token pair for another organization they belong to (their
 * personal one first), or is 204 when there is none.
 */
static void leave(struct api_ctx *cx, const struct org_member *m)
{
	struct http_req *r = cx->req;
	struct db_conn *c = cx->conn;
	const struct principal *p = cx->principal;
	enum store_rc rc = org_member_remove(c, p->org_id, p->user_id);
	if (rc == STORE_CONFLICT) {
		last_owner(r, true);
		return;
	}
	if (rc) {
		api_db_fail(r, rc, "leave organization");
		return;
	}
	api_audit(cx, "member.leave", "user", p->user_id, json_pack("{s:s}", "email", m->email));
	if (p->via_api_key) {
		http_reply_empty(r, 204);
		return;
	}
	struct user u;
	struct membership next;
	rc = user_find(c, p->user_id, &u);
	if (rc == STORE_OK)
		rc = user_personal_org(c, p->user_id, &next);
	if (rc == STORE_NOT_FOUND)
		rc = org_first_for_user(c, p->user_id, &next);
	if (rc == STORE_NOT_FOUND) {
		http_reply_empty(r, 204);
		return;
	}
	if (rc) {
		api_db_fail(r, rc, "find next organization");
		return;
	}
	api_start_session(r, c, &u, &next, 200);
}

static void remove_member(struct api_ctx *cx)
{
	struct http_req *r = cx->req;
	const struct principal *p = cx->principal;
	struct org_member m;
	if (!load_member(cx, &m))
		return;
	if (!strcmp(m.user_id, p->user_id)) {
		leave(cx, &m);
		return;
	}
	if (authz_role_parse(m.role) > p->role) {
		http_problem(r, 403, "forbidden",
			     "This member is '%s', above your own role '%s'; only an owner can "
			     "remove them.",
			     m.role, authz_role_name(p->role));
		return;
	}
	enum store_rc rc = org_member_remove(cx->conn, p->org_id, m.user_id);
	if (rc == STORE_CONFLICT) {
		last_owner(r, false);
		return;
	}
	if (rc == STORE_NOT_FOUND) {
		load_member(cx, &m);
		return;
	}
	if (rc) {
		api_db_fail(r, rc, "remove member");
		return;
	}
	api_audit(cx, "member.remove", "user", m.user_id,
		  json_pack("{s:s,s:s}", "email", m.email, "role", m.role));
	http_reply_empty(r, 204);
}

static void post_leave(struct api_ctx *cx)
{
	struct org_member m;
	const struct principal *p = cx->principal;
	enum store_rc rc = org_member_get(cx->conn, p->org_id, p->user_id, &m);
	if (rc) {
		api_db_fail(cx->req, rc == STORE_NOT_FOUND ? STORE_ERROR : rc, "load member");
		return;
	}
	leave(cx, &m);
}

#define ORG_ROUTE .auth = AUTH_BEARER, .db = DB_CONN_HELD

static const struct route ROUTES[] = {
    {.method = M_GET, .pattern = "/api/v1/organizations", ORG_ROUTE, .run = list_orgs},
    {.method = M_POST,
     .pattern = "/api/v1/organizations",
     .body = BODY_JSON,
     .json = &ORG_SPEC,
     .check = create_check,
     ORG_ROUTE,
     .run = create_org},
    {.method = M_GET,
     .pattern = "/api/v1/organizations/{org_id}",
     ORG_ROUTE,
     .run = get_org,
     .perm = PERM_READ},
    {.method = M_PATCH,
     .pattern = "/api/v1/organizations/{org_id}",
     .body = BODY_JSON,
     .json = &ORG_SPEC,
     .check = org_check,
     ORG_ROUTE,
     .run = patch_org,
     .perm = PERM_MANAGE_ORG},
    {.method = M_DELETE,
     .pattern = "/api/v1/organizations/{org_id}",
     ORG_ROUTE,
     .run = delete_org,
     .perm = PERM_DELETE_ORG},
    {.method = M_GET,
     .pattern = "/api/v1/organizations/{org_id}/members",
     ORG_ROUTE,
     .run = list_members,
     .perm = PERM_READ},
    {.method = M_PATCH,
     .pattern = "/api/v1/organizations/{org_id}/members/{user_id}",
     .body = BODY_JSON,
     .json = &ROLE_SPEC,
     .check = api_role_check,
     ORG_ROUTE,
     .run = patch_member,
     .perm = PERM_MANAGE_MEMBERS},
    {.method = M_DELETE,
     .pattern = "/api/v1/organizations/{org_id}/members/{user_id}",
     ORG_ROUTE,
     .run = remove_member,
     .perm = PERM_MANAGE_MEMBERS},
    {.method = M_POST,
     .pattern = "/api/v1/organizations/{org_id}/leave",
     ORG_ROUTE,
     .run = post_leave},
};

size_t api_orgs_routes(const struct route **out)
{
	*out = ROUTES;
	return ARRAY_LEN(ROUTES);
}
