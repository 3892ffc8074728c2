/*
 * api_keys.c — /api/v1/api-keys: create (the key is shown once), list,
 * delete. Keys belong to the caller's organization.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
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

static void create_key(struct http_req *r)
{
	static const struct jv_field FIELDS[] = {
	    {"name", JV_STRING, true, false, 1, 100},
	    {"scopes", JV_ARRAY, false, true, 0, 0},
	    {"expires_at", JV_STRING, false, true, 1, 64},
	    {"expires_in_days", JV_INT, false, true, 0, 0},
	};
	json_t *in = http_json_object(r, false);
	if (!in)
		return;
	json_t *errors = NULL;
	jv_check(in, FIELDS, sizeof FIELDS / sizeof *FIELDS, &errors);
	const char *name = jv_str(in, "name"), *why;
	if (!errors && name) {
		bool blank = true;
		for (const char *s = name; *s && blank; s++)
			blank = isspace((unsigned char)*s);
		if (blank)
			jv_error(&errors, "name", "must not be blank");
		else if (!utf8_text_ok(name, &why))
			jv_error(&errors, "name", "%s", why);
	}
	int64_t now = time_now_ms();
	unsigned scopes = errors ? 0 : scopes_from(in, &errors);
	int64_t expires_at = errors ? 0 : expiry_from(in, now, &errors);
	if (errors) {
		http_problem_validation(r, errors);
		return;
	}
	struct db_conn *c = api_db(r);
	if (!c)
		return;
	struct principal p;
	if (!api_auth(r, c, &p))
		goto out;
	/* api_auth let only a session or an admin key through; a key gives no more than it has. */
	if (p.via_api_key && (scopes & ~p.scopes)) {
		http_problem(r, 403, "insufficient_scope",
			     "A key can only create keys with scopes it has itself.");
		goto out;
	}
	struct api_key k;
	char key[API_KEY_BUF];
	int rc = api_key_create(c, p.org_id, p.user_id, name, scopes, expires_at, &k, key);
	if (rc) {
		api_db_fail(r, rc, "create api key");
		goto out;
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
out:
	db_release(c);
}

static void list_keys(struct http_req *r)
{
	int limit;
	char cursor[UUID_STR_LEN];
	if (!api_page(r, &limit, cursor))
		return;
	struct db_conn *c = api_db(r);
	if (!c)
		return;
	struct principal p;
	if (!api_auth(r, c, &p))
		goto out;
	struct api_key *keys = NULL;
	size_t n = 0;
	/* One extra row tells whether another page exists. */
	int rc = api_key_list(c, p.org_id, cursor[0] ? cursor : NULL, limit + 1, &keys, &n);
	if (rc) {
		api_db_fail(r, rc, "list api keys");
		goto out;
	}
	json_t *data = json_array();
	size_t shown = n > (size_t)limit ? (size_t)limit : n;
	for (size_t i = 0; i < shown; i++)
		json_array_append_new(data, key_json(&keys[i]));
	json_t *next = n > (size_t)limit ? api_cursor(keys[shown - 1].id) : json_null();
	free(keys);
	http_reply_json(r, 200, json_pack("{s:o,s:o}", "data", data, "next_cursor", next));
out:
	db_release(c);
}

static void delete_key(struct http_req *r)
{
	struct db_conn *c = api_db(r);
	if (!c)
		return;
	struct principal p;
	if (!api_auth(r, c, &p))
		goto out;
	const char *id = http_param(r, "id");
	int rc = api_key_delete(c, p.org_id, id);
	if (rc == STORE_NOT_FOUND) {
		http_problem(r, 404, "not_found", "There is no API key %s in your organization.",
			     id);
		goto out;
	}
	if (rc) {
		api_db_fail(r, rc, "delete api key");
		goto out;
	}
	struct audit_ctx ctx;
	api_audit_ctx(r, &ctx);
	audit_record(c, p.org_id, p.user_id, "api_key.delete", &ctx,
		     json_pack("{s:s}", "api_key_id", id));
	http_reply_empty(r, 204);
out:
	db_release(c);
}

static const struct route ROUTES[] = {
    {M_POST, "/api/v1/api-keys", create_key, BODY_JSON},
    {M_GET, "/api/v1/api-keys", list_keys, BODY_NONE},
    {M_DELETE, "/api/v1/api-keys/{id}", delete_key, BODY_NONE},
};

size_t api_api_keys_routes(const struct route **out)
{
	*out = ROUTES;
	return sizeof ROUTES / sizeof *ROUTES;
}
