/*
 * frame.c — what every API route needs before its own logic, done once:
 * parse and check the JSON body, run the route's own checks, borrow a
 * database connection, authenticate the caller; reply when one of them
 * fails; clean up after the handler (release the connection).
 */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "auth/authz.h"
#include "core/log.h"
#include "store/db_scope.h"
#include "store/orgs.h"

/*
 * Tenant scope (row-level security on PostgreSQL, store/db.h): a connection
 * starts in system scope (authentication finds keys, sessions, tickets and
 * share links by hash, in any organization) and is narrowed to the
 * principal's organizations once the principal is known. Routes with no
 * principal (sign-up, login, public share links, webhooks, the end of a
 * streamed body) stay in system scope. Returns false after replying.
 */
static bool frame_narrow(struct api_ctx *cx)
{
	if (!cx->conn || !cx->principal || !cx->principal->user_id[0])
		return true;
	int rc = db_scope_user(cx->conn, cx->principal->user_id);
	if (rc == DB_OK)
		return true;
	api_db_fail(cx->req, STORE_ERROR, "set tenant scope");
	api_conn_release(cx);
	return false;
}

struct db_conn *api_conn(struct api_ctx *cx)
{
	if (!cx->conn) {
		cx->conn = api_db(cx->req);
		if (!frame_narrow(cx))
			return NULL;
	}
	return cx->conn;
}

void api_conn_release(struct api_ctx *cx)
{
	db_release(cx->conn);
	cx->conn = NULL;
}

/* JSON body and checks. Returns false after replying. */
static bool frame_checks(struct api_ctx *cx, const struct route *rt)
{
	json_t *errors = NULL;
	const struct jv_spec *spec = rt->json;
	if (spec) {
		cx->body = http_json_object(cx->req, spec->empty == JV_EMPTY_OK);
		if (!cx->body)
			return false;
		jv_check(cx->body, spec->fields, spec->nfields, &errors);
		jv_fill(cx->body, spec->fields, spec->nfields, cx->in);
	}
	if (rt->check)
		rt->check(cx, &errors);
	if (http_replied(cx->req)) {
		json_decref(errors);
		return false;
	}
	if (errors) {
		http_problem_validation(cx->req, errors);
		return false;
	}
	return true;
}

static bool frame_auth(struct api_ctx *cx, const struct route *rt, struct principal *p)
{
	switch (rt->auth) {
	case AUTH_NONE:
		return true;
	case AUTH_BEARER:
		if (!api_auth(cx->req, cx->conn, p))
			return false;
		break;
	case AUTH_OPENAI:
		if (!api_openai_auth(cx->req, cx->conn, p))
			return false;
		break;
	case AUTH_TICKET:
		if (!api_auth_or_ticket(cx->req, cx->conn, http_param(cx->req, "id"), p))
			return false;
		break;
	}
	cx->principal = p;
	/* The plan's API requests per hour (usage.c). */
	return api_rate_limit(cx->req, cx->conn, p);
}

/* 403 for a role that lacks the route's permission, in the route's error shape. */
static void frame_forbidden(struct api_ctx *cx, const struct route *rt, enum org_role role)
{
	enum perm need = (enum perm)rt->perm;
	char msg[400];
	snprintf(msg, sizeof msg,
		 "Your role in this organization is '%s'; this needs the '%s' permission, which "
		 "only %s has. Ask an owner or admin to change your role.",
		 authz_role_name(role), authz_perm_name(need), authz_roles_with(need));
	if (rt->auth == AUTH_OPENAI) {
		json_t *e = json_pack("{s:s,s:s,s:n,s:s}", "message", msg, "type",
				      "invalid_request_error", "param", "code", "forbidden");
		http_reply_json(cx->req, 403, json_pack("{s:o}", "error", e));
		return;
	}
	http_problem_fields(
	    cx->req, 403, "forbidden",
	    json_pack("[{s:s,s:s}]", "field", "role", "message", authz_role_name(role)), "%s", msg);
}

/*
 * An editor of a collection edits the transcripts of its meetings whatever
 * their role in the organization (all such routes name the meeting {id}).
 */
static bool collection_editor(struct api_ctx *cx, const struct route *rt)
{
	if (rt->perm != PERM_EDIT_TRANSCRIPT || !http_param(cx->req, "id"))
		return false;
	enum meeting_access a;
	char org[UUID_STR_LEN];
	return authz_meeting_access(cx->conn, cx->principal, http_param(cx->req, "id"), &a, org) ==
		   0 &&
	       a == ACCESS_EDIT;
}

/*
 * The caller's role in the active organization. Bearer credentials carry it
 * already (read with the session or key); a ticket does not, so it is read
 * here: a member removed since the ticket was issued is refused.
 */
static bool frame_role(struct api_ctx *cx, const struct route *rt)
{
	struct principal *p = cx->principal;
	if (!p)
		return true;
	if (p->role == ROLE_NONE) {
		char role[16];
		enum store_rc rc = org_member_role(cx->conn, p->org_id, p->user_id, role);
		if (rc && rc != STORE_NOT_FOUND) {
			api_db_fail(cx->req, rc, "load role");
			return false;
		}
		p->role = rc ? ROLE_NONE : authz_role_parse(role);
		if (p->role == ROLE_NONE) {
			http_problem(
			    cx->req, 401, "not_a_member",
			    "You are no longer a member of this organization. Log in again "
			    "or switch to an organization you belong to.");
			return false;
		}
	}
	/* Routes under /organizations/{org_id} act in the active organization only. */
	const char *org = http_param(cx->req, "org_id");
	if (org && strcmp(org, p->org_id) != 0) {
		http_problem(
		    cx->req, 404, "organization_not_found",
		    "Organization '%.36s' is not the active organization of this token. "
		    "Switch to it first (POST /api/v1/auth/switch-org) if you belong to it.",
		    org);
		return false;
	}
	if (rt->perm && !authz_may(p->role, (enum perm)rt->perm) && !collection_editor(cx, rt)) {
		frame_forbidden(cx, rt, p->role);
		return false;
	}
	return true;
}

void api_frame(struct http_req *r, const struct route *rt, enum http_phase phase)
{
	_Alignas(max_align_t) unsigned char in[API_IN_MAX] = {0};
	struct principal p;
	struct api_ctx cx = {.req = r, .app = api_app(r), .in = in};
	bool stream_end = rt->body == BODY_STREAM && phase == HTTP_PHASE_RUN;
	route_fn fn = phase == HTTP_PHASE_OPEN ? rt->open : rt->run;
	if (!stream_end) {
		if (!frame_checks(&cx, rt))
			goto out;
		/* Authentication reads the database, so it needs a connection too. */
		if ((rt->db == DB_CONN_HELD || rt->auth != AUTH_NONE) && !api_conn(&cx))
			goto out;
		if (!frame_auth(&cx, rt, &p))
			goto out;
		if (!frame_role(&cx, rt))
			goto out;
		if (!frame_narrow(&cx))
			goto out;
	}
	fn(&cx);
out:
	api_conn_release(&cx);
}

struct route *api_routes(size_t *n)
{
	/* One table per line, so that new resources merge cleanly. */
	// clang-format off
	size_t (*const tables[])(const struct route **) = {
	    api_health_routes,
	    api_auth_routes,
	    api_users_routes,
	    api_api_keys_routes,
	    api_meetings_routes,
	    api_uploads_routes,
	    api_openai_routes,
	    api_transcripts_routes,
	    api_messages_routes,
	    api_notifications_routes,
	    api_account_routes,
	    api_oidc_routes,
	    api_insights_routes,
	    api_search_routes,
	    api_orgs_routes,
	    api_invitations_routes,
	    api_audit_routes,
	    api_usage_routes,
	    api_billing_routes,
	    api_chats_routes,
	    api_realtime_routes,
	    api_collections_routes,
	    api_shares_routes,
	    api_presence_routes,
	};
	// clang-format on
	size_t total = 0;
	for (size_t t = 0; t < ARRAY_LEN(tables); t++) {
		const struct route *part;
		total += tables[t](&part);
	}
	struct route *all = malloc(total * sizeof *all);
	if (!all)
		return NULL;
	size_t k = 0;
	for (size_t t = 0; t < ARRAY_LEN(tables); t++) {
		const struct route *part;
		size_t m = tables[t](&part);
		memcpy(all + k, part, m * sizeof *part);
		k += m;
	}
	*n = k;
	return all;
}
