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

static json_t *key_json(const struct api_key *k)
{
	return json_pack("{s:s,s:s,s:s,s:o,s:o}", "id", k->id, "name", k->name, "prefix", k->prefix,
			 "created_at", api_time(k->created_at), "last_used_at",
			 api_time(k->last_used_at));
}

static void create_key(struct http_req *r)
{
	static const struct jv_field FIELDS[] = {{"name", JV_STRING, true, false, 1, 100}};
	json_t *in = http_json_object(r, false);
	if (!in)
		return;
	json_t *errors = NULL;
	jv_check(in, FIELDS, 1, &errors);
	const char *name = jv_str(in, "name");
	if (!errors && name) {
		bool blank = true;
		for (const char *s = name; *s && blank; s++)
			blank = isspace((unsigned char)*s);
		if (blank)
			jv_error(&errors, "name", "must not be blank");
	}
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
	struct api_key k;
	char key[API_KEY_BUF];
	int rc = api_key_create(c, p.org_id, p.user_id, name, &k, key);
	if (rc) {
		api_db_fail(r, rc, "create api key");
		goto out;
	}
	struct audit_ctx ctx;
	api_audit_ctx(r, &ctx);
	audit_record(c, p.org_id, p.user_id, "api_key.create", &ctx,
		     json_pack("{s:s,s:s}", "api_key_id", k.id, "name", k.name));
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
		http_problem(r, 404, "not_found", "There is no API key %s in your organization.", id);
		goto out;
	}
	if (rc) {
		api_db_fail(r, rc, "delete api key");
		goto out;
	}
	struct audit_ctx ctx;
	api_audit_ctx(r, &ctx);
	audit_record(c, p.org_id, p.user_id, "api_key.delete", &ctx, json_pack("{s:s}", "api_key_id", id));
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
