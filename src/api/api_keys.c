/*
 * api_keys.c — /api/v1/api-keys: create (the key is shown once), list,
 * delete. Keys belong to the caller's organization.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "auth/authz.h"
#include "store/api_keys.h"
#include "store/audit.h"

#include "core/timeutil.h"
#include "core/utf8.h"

#define KEY_MAX_DAYS 3650

static json_t *key_json(const struct api_key *k)
{
	json_t *scopes = json_array();
	for (unsigned bit = 1; bit <= API_SCOPE_ADMIN; bit <<= 1)
		if (k->scopes & bit)
			json_array_append_new(scopes, json_string(api_scope_name(bit)));
	return json_pack("{s:s,s:s,s:s,s:o,s:o,s:o,s:o}", "id", k->id, "name", k->name, "prefix",
			 k->prefix, "scopes", scopes, "expires_at", api_time(k->expires_at),
			 "created_at", api_time(k->created_at), "last_used_at",
			 api_time(k->last_used_at));
}

/* Read "scopes": a non-empty array of distinct scope names. Adds errors. */
static unsigned scopes_from(json_t *in, json_t **errors)
{
	json_t *arr = json_object_get(in, "scopes"), *v;
	size_t i;
	unsigned scopes = 0;
	if (!arr || json_is_null(arr))
		return API_SCOPES_DEFAULT;
	if (!json_is_array(arr) || json_array_size(arr) == 0 || json_array_size(arr) > 4) {
		jv_error(errors, "scopes",
			 "must be a list of one or more of read, write, transcribe, admin");
		return 0;
	}
	json_array_foreach(arr, i, v)
	{
		unsigned bit = json_is_string(v) ? api_scope_parse(json_string_value(v)) : 0;
		if (!bit || (scopes & bit)) {
			jv_error(
			    errors, "scopes",
			    "must be a list of distinct names from read, write, transcribe, admin");
			return 0;
		}
		scopes |= bit;
	}
	return scopes;
}

/* Read expires_at (RFC 3339, in the future) or expires_in_days (1..3650). 0 = never. */
static int64_t expiry_from(json_t *in, int64_t now, json_t **errors)
{
	const char *at = jv_str(in, "expires_at");
	json_t *days = json_object_get(in, "expires_in_days");
	bool has_days = days && !json_is_null(days);
	if (at && has_days) {
		jv_error(errors, "expires_at", "give expires_at or expires_in_days, not both");
		return 0;
	}
	if (has_days) {
		json_int_t d = json_is_integer(days) ? json_integer_value(days) : 0;
		if (d < 1 || d > KEY_MAX_DAYS) {
			jv_error(errors, "expires_in_days", "must be a whole number from 1 to %d",
				 KEY_MAX_DAYS);
			return 0;
		}
		return now + (int64_t)d * 86400000;
	}
	if (at) {
		int64_t ms = time_parse_rfc3339(at);
		if (ms < 0 || ms <= now || ms > now + (int64_t)KEY_MAX_DAYS * 86400000) {
			jv_error(errors, "expires_at",
				 "must be an RFC 3339 time in the future, at most %d days ahead",
				 KEY_MAX_DAYS);
			return 0;
		}
		return ms;
	}
	return 0;
}

struct key_in {
	const char *name;
	unsigned scopes;
	int64_t expires_at;
};

static const struct jv_field KEY_FIELDS[] = {
    {.name = "name",
     .type = JV_STRING,
     .presence = JV_REQUIRED,
     .min_len = 1,
     .max_len = 100,
     .dest = JV_DEST(struct key_in, name)},
    {.name = "scopes", .type = JV_ARRAY, .null = JV_NULL_OK},
    {.name = "expires_at", .type = JV_STRING, .null = JV_NULL_OK, .min_len = 1, .max_len = 64},
    {.name = "expires_in_days", .type = JV_INT, .null = JV_NULL_OK},
};
static const struct jv_spec KEY_SPEC = {JV_FIELDS(KEY_FIELDS)};

static void create_key_check(struct api_ctx *cx, json_t **errors)
{
	struct key_in *in = API_IN(cx, struct key_in);
	const char *name = in->name, *why;
	if (!*errors && name) {
		bool blank = true;
		for (const char *s = name; *s && blank; s++)
			blank = isspace((unsigned char)*s);
		if (blank)
			jv_error(errors, "name", "must not be blank");
		else if (!utf8_text_ok(name, &why))
			jv_error(errors, "name", "%s", why);
	}
	int64_t now = time_now_ms();
	in->scopes = *errors ? 0 : scopes_from(cx->body, errors);
	in->expires_at = *errors ? 0 : expiry_from(cx->body, now, errors);
}

static void create_key(struct api_ctx *cx)
{
	const struct key_in *in = API_IN(cx, struct key_in);
	struct http_req *r = cx->req;
	struct db_conn *c = cx->conn;
	const struct principal p = *cx->principal;
	const char *name = in->name;
	unsigned scopes = in->scopes;
	int64_t expires_at = in->expires_at;
	/* api_auth let only a session or an admin key through; a key gives no more than it has. */
	if (p.via_api_key && (scopes & ~p.scopes)) {
		http_problem(r, 403, "insufficient_scope",
			     "A key can only create keys with scopes it has itself.");
		return;
	}
	struct api_key k;
	char key[API_KEY_BUF];
	int rc = api_key_create(c, p.org_id, p.user_id, name, scopes, expires_at, &k, key);
	if (rc) {
		api_db_fail(r, rc, "create api key");
		return;
	}
	struct audit_ctx ctx;
	api_audit_ctx(r, &ctx);
	char scopes_text[API_SCOPES_TEXT_BUF];
	api_scopes_format(k.scopes, scopes_text);
	audit_record(c, p.org_id, p.user_id, "api_key.create", &ctx,
		     json_pack("{s:s,s:s,s:s,s:s}", "api_key_id", k.id, "name", k.name, "scopes",
			       scopes_text, "by", p.via_api_key ? p.api_key_id : "session"));
	json_t *body = key_json(&k);
	json_object_set_new(body, "key", json_string(key));
	explicit_bzero(key, sizeof key);
	char loc[96];
	snprintf(loc, sizeof loc, "/api/v1/api-keys/%s", k.id);
	http_add_header(r, "Location", loc);
	http_reply_json(r, 201, body);
}

static void list_keys(struct api_ctx *cx)
{
	const struct api_page_in *in = API_IN(cx, struct api_page_in);
	struct http_req *r = cx->req;
	struct db_conn *c = cx->conn;
	const struct principal p = *cx->principal;
	int limit = in->limit;
	const char *cursor = in->cursor;
	struct api_key *keys = NULL;
	size_t n = 0;
	/* One extra row tells whether another page exists. */
	int rc = api_key_list(c, p.org_id, cursor[0] ? cursor : NULL, limit + 1, &keys, &n);
	if (rc) {
		api_db_fail(r, rc, "list api keys");
		return;
	}
	json_t *data = json_array();
	size_t shown = n > (size_t)limit ? (size_t)limit : n;
	for (size_t i = 0; i < shown; i++)
		json_array_append_new(data, key_json(&keys[i]));
	json_t *next = n > (size_t)limit ? api_cursor(keys[shown - 1].id) : json_null();
	free(keys);
	http_reply_json(r, 200, json_pack("{s:o,s:o}", "data", data, "next_cursor", next));
}

static void delete_key(struct api_ctx *cx)
{
	struct http_req *r = cx->req;
	struct db_conn *c = cx->conn;
	const struct principal p = *cx->principal;
	const char *id = http_param(r, "id");
	int rc = api_key_delete(c, p.org_id, id);
	if (rc == STORE_NOT_FOUND) {
		http_problem(r, 404, "not_found", "There is no API key %s in your organization.",
			     id);
		return;
	}
	if (rc) {
		api_db_fail(r, rc, "delete api key");
		return;
	}
	struct audit_ctx ctx;
	api_audit_ctx(r, &ctx);
	audit_record(c, p.org_id, p.user_id, "api_key.delete", &ctx,
		     json_pack("{s:s}", "api_key_id", id));
	http_reply_empty(r, 204);
}

static const struct route ROUTES[] = {
    {.method = M_POST,
     .pattern = "/api/v1/api-keys",
     .body = BODY_JSON,
     .json = &KEY_SPEC,
     .check = create_key_check,
     .auth = AUTH_BEARER,
     .db = DB_CONN_HELD,
     .run = create_key,
     .perm = PERM_MANAGE_KEYS},
    {.method = M_GET,
     .pattern = "/api/v1/api-keys",
     .check = api_page_check,
     .auth = AUTH_BEARER,
     .db = DB_CONN_HELD,
     .run = list_keys,
     .perm = PERM_MANAGE_KEYS},
    {.method = M_DELETE,
     .pattern = "/api/v1/api-keys/{id}",
     .auth = AUTH_BEARER,
     .db = DB_CONN_HELD,
     .run = delete_key,
     .perm = PERM_MANAGE_KEYS},
};

size_t api_api_keys_routes(const struct route **out)
{
	*out = ROUTES;
	return ARRAY_LEN(ROUTES);
}
