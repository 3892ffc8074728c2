/*
 * users.c — /api/v1/users/me: read and change one's own account.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "auth/clientaddr.h"
#include "auth/password.h"
#include "core/timeutil.h"
#include "core/utf8.h"
#include "store/api_keys.h"
#include "store/audit.h"
#include "store/sessions.h"
#include "store/throttle.h"
#include "store/users.h"

json_t *api_user_json(const struct user *u)
{
	return json_pack("{s:s,s:s,s:b,s:s,s:s,s:s,s:o,s:o}", "id", u->id, "email", u->email,
			 "email_verified", u->email_verified_at != 0, "first_name", u->first_name,
			 "last_name", u->last_name, "company_name", u->company_name, "created_at",
			 api_time(u->created_at), "updated_at", api_time(u->updated_at));
}

void api_name_rules(json_t *in, json_t **errors)
{
	static const char *const NAMES[] = {"first_name", "last_name", "company_name"};
	for (size_t i = 0; i < sizeof NAMES / sizeof *NAMES; i++) {
		const char *v = jv_str(in, NAMES[i]), *why;
		if (v && !utf8_text_ok(v, &why))
			jv_error(errors, NAMES[i], "%s", why);
	}
}

json_t *api_org_json(const struct membership *m)
{
	return json_pack("{s:s,s:s,s:s,s:b}", "id", m->org_id, "name", m->org_name, "role", m->role,
			 "personal", m->personal);
}

/* Load the caller's user and membership and reply 200 with them. */
static void reply_me(struct http_req *r, struct db_conn *c, const struct principal *p, int status)
{
	struct user u;
	struct membership m;
	int rc = user_find(c, p->user_id, &u);
	if (rc == STORE_OK)
		rc = user_membership(c, p->user_id, p->org_id, &m);
	if (rc == STORE_NOT_FOUND) {
		http_problem(r, 401, "invalid_token", "This account no longer exists.");
		return;
	}
	if (rc) {
		api_db_fail(r, rc, "load user");
		return;
	}
	json_t *body = api_user_json(&u);
	json_object_set_new(body, "organization", api_org_json(&m));
	http_reply_json(r, status, body);
}

static void get_me(struct api_ctx *cx)
{
	reply_me(cx->req, cx->conn, cx->principal, 200);
}

struct me_in {
	const char *first_name, *last_name, *company_name;
	const char *email, *password, *current_password;
	bool revoke_api_keys;
};

static const struct jv_field ME_FIELDS[] = {
    {.name = "first_name",
     .type = JV_STRING,
     .null = JV_NULL_OK,
     .max_len = NAME_MAX_CHARS,
     .dest = JV_DEST(struct me_in, first_name)},
    {.name = "last_name",
     .type = JV_STRING,
     .null = JV_NULL_OK,
     .max_len = NAME_MAX_CHARS,
     .dest = JV_DEST(struct me_in, last_name)},
    {.name = "company_name",
     .type = JV_STRING,
     .null = JV_NULL_OK,
     .max_len = NAME_MAX_CHARS,
     .dest = JV_DEST(struct me_in, company_name)},
    {.name = "email", .type = JV_STRING, .min_len = 1, .dest = JV_DEST(struct me_in, email)},
    {.name = "password", .type = JV_STRING, .dest = JV_DEST(struct me_in, password)},
    {.name = "current_password",
     .type = JV_STRING,
     .dest = JV_DEST(struct me_in, current_password)},
    {.name = "revoke_api_keys", .type = JV_BOOL, .dest = JV_DEST(struct me_in, revoke_api_keys)},
};
static const struct jv_spec ME_SPEC = {JV_FIELDS(ME_FIELDS)};

static void put_me_check(struct api_ctx *cx, json_t **errors)
{
	const struct me_in *in = API_IN(cx, struct me_in);
	char new_email[EMAIL_BUF];
	const char *why;
	if (in->email && !api_email_normalize(in->email, new_email, sizeof new_email, &why))
		jv_error(errors, "email", "%s", why);
	api_name_rules(cx->body, errors);
	if (in->revoke_api_keys && !in->password)
		jv_error(errors, "revoke_api_keys", "goes with a password change");
	if ((in->email || in->password) && !in->current_password)
		jv_error(errors, "current_password", "is required to change the email or password");
}

static void put_me(struct api_ctx *cx)
{
	const struct me_in *in = API_IN(cx, struct me_in);
	struct http_req *r = cx->req;
	struct db_conn *c = cx->conn;
	const struct principal p = *cx->principal;
	json_t *errors = NULL;
	const char *email = in->email, *pw = in->password, *current = in->current_password, *why;
	bool revoke_keys = in->revoke_api_keys;
	char new_email[EMAIL_BUF] = "";
	if (email && !api_email_normalize(email, new_email, sizeof new_email, &why))
		return; /* refused by put_me_check */
	if ((email || pw) && p.via_api_key) {
		http_problem(
		    r, 403, "session_required",
		    "Changing the email or password needs a login session, not an API key.");
		return;
	}
	struct user u;
	int rc = user_find(c, p.user_id, &u);
	if (rc) {
		api_db_fail(r, rc == STORE_NOT_FOUND ? STORE_ERROR : rc, "load user");
		return;
	}
	if (pw)
		api_password_rules(pw, new_email[0] ? new_email : u.email, "password", &errors);
	if (errors) {
		http_problem_validation(r, errors);
		return;
	}
	struct audit_ctx ctx;
	api_audit_ctx(r, &ctx);
	if (current) {
		/* The same per (account, client) counter as login: a stranger cannot get here
		 * anyway. */
		char client[CLIENTADDR_BUF], key[EMAIL_BUF + CLIENTADDR_BUF + 8];
		api_client_addr(r, client);
		api_account_key(u.email, client, key, sizeof key);
		int64_t wait;
		enum store_rc trc = throttle_wait_ms(c, key, &wait);
		if (trc) {
			api_db_fail(r, trc, "throttle check");
			return;
		}
		if (wait > 0) {
			api_too_many(r, wait);
			return;
		}
		if (password_gate_enter() < 0) {
			api_hash_busy(r);
			return;
		}
		bool right = strlen(current) <= PASSWORD_MAX_LEN &&
			     password_verify(current, u.password_hash);
		/* The new hash is made under the same slot. */
		int hrc = right && pw ? password_hash(pw, u.password_hash) : 0;
		password_gate_leave();
		if (!right) {
			throttle_fail(c, key, &API_ACCOUNT_POLICY, NULL);
			audit_record(c, p.org_id, p.user_id, "user.current_password.failure", &ctx,
				     NULL);
			http_problem_fields(r, 403, "invalid_current_password",
					    json_pack("[{s:s,s:s}]", "field", "current_password",
						      "message", "is not your current password"),
					    "The current password is wrong.");
			return;
		}
		if (hrc < 0) {
			http_problem_internal(r, "password hash");
			return;
		}
	}
	json_t *v;
	json_t *body = cx->body;
	if ((v = json_object_get(body, "first_name")))
		snprintf(u.first_name, sizeof u.first_name, "%s",
			 json_is_string(v) ? json_string_value(v) : "");
	if ((v = json_object_get(body, "last_name")))
		snprintf(u.last_name, sizeof u.last_name, "%s",
			 json_is_string(v) ? json_string_value(v) : "");
	if ((v = json_object_get(body, "company_name")))
		snprintf(u.company_name, sizeof u.company_name, "%s",
			 json_is_string(v) ? json_string_value(v) : "");
	int64_t now = time_now_ms();
	bool email_changed = email && strcmp(new_email, u.email) != 0;
	char old_email[EMAIL_BUF];
	snprintf(old_email, sizeof old_email, "%s", u.email);
	if (email_changed)
		snprintf(u.email, sizeof u.email, "%s", new_email);
	if (pw)
		u.password_changed_at = now; /* hashed above, with current_password checked */
	u.updated_at = now;
	rc = user_update(c, &u);
	if (rc == STORE_CONFLICT) {
		http_problem_fields(
		    r, 409, "email_taken",
		    json_pack("[{s:s,s:s}]", "field", "email", "message", "is already registered"),
		    "Another account already uses this email.");
		return;
	}
	if (rc) {
		api_db_fail(r, rc, "update user");
		return;
	}
	int64_t keys_active = -1, keys_revoked = 0;
	if (pw || email_changed) {
		/* Credentials changed: every other login must prove itself again. */
		session_revoke_others(c, u.id, p.session_id,
				      pw ? "password_change" : "email_change");
		if (pw && revoke_keys &&
		    (rc = api_key_delete_by_user(c, u.id, &keys_revoked)) != STORE_OK) {
			api_db_fail(r, rc, "revoke api keys");
			return;
		}
		/*
		 * API keys are not sessions and survive a password change on
		 * purpose (integrations keep working); the reply says so, so a
		 * person changing a leaked password knows to revoke them.
		 */
		if (pw && (rc = api_key_count_active(c, u.id, &keys_active)) != STORE_OK) {
			api_db_fail(r, rc, "count api keys");
			return;
		}
		if (pw)
			audit_record(
			    c, p.org_id, u.id, "user.password.change", &ctx,
			    json_pack("{s:I}", "api_keys_revoked", (json_int_t)keys_revoked));
		if (email_changed)
			audit_record(c, p.org_id, u.id, "user.email.change", &ctx,
				     json_pack("{s:s,s:s}", "from", old_email, "to", u.email));
	}
	if (keys_active >= 0) {
		struct membership m;
		if ((rc = user_membership(c, p.user_id, p.org_id, &m)) != STORE_OK) {
			api_db_fail(r, rc == STORE_NOT_FOUND ? STORE_ERROR : rc, "load user");
			return;
		}
		json_t *reply = api_user_json(&u);
		json_object_set_new(reply, "organization", api_org_json(&m));
		json_object_set_new(reply, "api_keys_active", json_integer(keys_active));
		json_object_set_new(reply, "api_keys_revoked", json_integer(keys_revoked));
		if (keys_active > 0)
			json_object_set_new(
			    reply, "notice",
			    json_string(
				"Your API keys still work. If your old credentials may have "
				"leaked, send the change again with "
				"\"revoke_api_keys\": true, or delete keys one by one."));
		http_reply_json(r, 200, reply);
		return;
	}
	reply_me(r, c, &p, 200);
}

static const struct route ROUTES[] = {
    {.method = M_GET,
     .pattern = "/api/v1/users/me",
     .auth = AUTH_BEARER,
     .db = DB_CONN_HELD,
     .run = get_me},
    {.method = M_PUT,
     .pattern = "/api/v1/users/me",
     .body = BODY_JSON,
     .json = &ME_SPEC,
     .check = put_me_check,
     .auth = AUTH_BEARER,
     .db = DB_CONN_HELD,
     .run = put_me},
};

size_t api_users_routes(const struct route **out)
{
	*out = ROUTES;
	return ARRAY_LEN(ROUTES);
}
