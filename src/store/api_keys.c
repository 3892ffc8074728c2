#include "store/api_keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/timeutil.h"

#define KEY_COLS "id, org_id, user_id, name, prefix, created_at, last_used_at, scopes, expires_at"

static const char *const SCOPE_NAMES[] = {"read", "write", "transcribe", "admin"};

const char *api_scope_name(unsigned bit)
{
	for (size_t i = 0; i < sizeof SCOPE_NAMES / sizeof *SCOPE_NAMES; i++)
		if (bit == 1u << i)
			return SCOPE_NAMES[i];
	return NULL;
}

unsigned api_scope_parse(const char *name)
{
	for (size_t i = 0; i < sizeof SCOPE_NAMES / sizeof *SCOPE_NAMES; i++)
		if (strcmp(name, SCOPE_NAMES[i]) == 0)
			return 1u << i;
	return 0;
}

void api_scopes_format(unsigned scopes, char out[API_SCOPES_TEXT_BUF])
{
	size_t n = 0;
	out[0] = '\0';
	for (size_t i = 0; i < sizeof SCOPE_NAMES / sizeof *SCOPE_NAMES; i++)
		if (scopes & (1u << i))
			n += (size_t)snprintf(out + n, API_SCOPES_TEXT_BUF - n, "%s%s",
					      n ? "," : "", SCOPE_NAMES[i]);
}

/* Parse the stored list; unknown names (a newer release's) are ignored. */
static unsigned scopes_read(const char *text)
{
	unsigned scopes = 0;
	char buf[128], *save = NULL;
	snprintf(buf, sizeof buf, "%s", text ? text : "");
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
		scopes |= api_scope_parse(t);
	return scopes;
}
#define LAST_USED_EVERY_MS 60000

static void key_read(const struct db_res *r, struct api_key *k)
{
	store_copy(k->id, sizeof k->id, r, 0);
	store_copy(k->org_id, sizeof k->org_id, r, 1);
	store_copy(k->user_id, sizeof k->user_id, r, 2);
	store_copy(k->name, sizeof k->name, r, 3);
	store_copy(k->prefix, sizeof k->prefix, r, 4);
	k->created_at = db_int(r, 5);
	k->last_used_at = db_is_null(r, 6) ? 0 : db_int(r, 6);
	k->scopes = scopes_read(db_text(r, 7));
	k->expires_at = db_is_null(r, 8) ? 0 : db_int(r, 8);
}

enum store_rc api_key_create(struct db_conn *c, const char *org_id, const char *user_id,
			     const char *name, unsigned scopes, int64_t expires_at,
			     struct api_key *k, char key[API_KEY_BUF])
{
	char hash[65], scopes_text[API_SCOPES_TEXT_BUF];
	memset(k, 0, sizeof *k);
	memcpy(key, "iam_", 4);
	crypto_token(key + 4, API_KEY_BUF - 4, 32);
	crypto_sha256_hex(key, strlen(key), hash);
	uuid_v7(k->id);
	snprintf(k->org_id, sizeof k->org_id, "%s", org_id);
	snprintf(k->user_id, sizeof k->user_id, "%s", user_id);
	snprintf(k->name, sizeof k->name, "%s", name);
	snprintf(k->prefix, sizeof k->prefix, "%.*s", API_KEY_PREFIX_LEN, key);
	k->created_at = time_now_ms();
	k->scopes = scopes & API_SCOPES_ALL;
	k->expires_at = expires_at;
	api_scopes_format(k->scopes, scopes_text);
	return store_rc_of(
	    db_exec(c,
		    "INSERT INTO api_keys (id, org_id, user_id, name, prefix, key_hash, created_at,"
		    " scopes, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
		    DB_PARAMS(DB_TEXT(k->id), DB_TEXT(org_id), DB_TEXT(user_id), DB_TEXT(name),
			      DB_TEXT(k->prefix), DB_TEXT(hash), DB_INT(k->created_at),
			      DB_TEXT(scopes_text), expires_at ? DB_INT(expires_at) : DB_NULL),
		    NULL));
}

enum store_rc api_key_list(struct db_conn *c, const char *org_id, const char *before_id, int limit,
			   struct api_key **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	int rc;
	/* UUIDv7 ids sort by creation time, so the id alone is a stable keyset cursor. */
	struct db_res *r =
	    before_id ? db_query(c,
				 "SELECT " KEY_COLS " FROM api_keys WHERE org_id = $1 AND id < $2"
				 " ORDER BY id DESC LIMIT $3",
				 DB_PARAMS(DB_TEXT(org_id), DB_TEXT(before_id), DB_INT(limit)), &rc)
		      : db_query(c,
				 "SELECT " KEY_COLS " FROM api_keys WHERE org_id = $1"
				 " ORDER BY id DESC LIMIT $2",
				 DB_PARAMS(DB_TEXT(org_id), DB_INT(limit)), &rc);
	if (!r)
		return store_rc_of(rc);
	struct api_key *keys = calloc((size_t)limit, sizeof *keys);
	if (!keys) {
		db_res_free(r);
		return STORE_ERROR;
	}
	size_t count = 0;
	while ((rc = db_next(r)) == 1 && count < (size_t)limit)
		key_read(r, &keys[count++]);
	db_res_free(r);
	if (rc < 0) {
		free(keys);
		return store_rc_of(rc);
	}
	*out = keys;
	*n = count;
	return STORE_OK;
}

enum store_rc api_key_delete(struct db_conn *c, const char *org_id, const char *id)
{
	int64_t changes = 0;
	int rc = db_exec(c, "DELETE FROM api_keys WHERE id = $1 AND org_id = $2",
			 DB_PARAMS(DB_TEXT(id), DB_TEXT(org_id)), &changes);
	if (rc)
		return store_rc_of(rc);
	return store_rc_of(changes ? DB_OK : STORE_NOT_FOUND);
}

enum store_rc api_key_authenticate(struct db_conn *c, const char *key, struct api_key *k)
{
	char hash[65];
	crypto_sha256_hex(key, strlen(key), hash);
	int rc;
	struct db_res *r = db_query(c, "SELECT " KEY_COLS " FROM api_keys WHERE key_hash = $1",
				    DB_PARAMS(DB_TEXT(hash)), &rc);
	if (!r)
		return store_rc_of(rc);
	rc = db_next(r);
	if (rc == 1)
		key_read(r, k);
	db_res_free(r);
	if (rc < 0)
		return store_rc_of(rc);
	if (rc == 0)
		return STORE_NOT_FOUND;
	int64_t now = time_now_ms();
	if (k->expires_at && k->expires_at <= now)
		return STORE_KEY_EXPIRED;
	if (now - k->last_used_at >= LAST_USED_EVERY_MS) {
		k->last_used_at = now;
		db_exec(c, "UPDATE api_keys SET last_used_at = $2 WHERE id = $1",
			DB_PARAMS(DB_TEXT(k->id), DB_INT(now)), NULL);
	}
	return STORE_OK;
}

enum store_rc api_key_live(struct db_conn *c, const char *org_id, const char *id)
{
	int rc;
	struct db_res *r =
	    db_query(c,
		     "SELECT 1 FROM api_keys WHERE id = $1 AND org_id = $2"
		     " AND (expires_at IS NULL OR expires_at > $3)",
		     DB_PARAMS(DB_TEXT(id), DB_TEXT(org_id), DB_INT(time_now_ms())), &rc);
	if (!r)
		return store_rc_of(rc);
	rc = db_next(r);
	db_res_free(r);
	return store_rc_of(rc == 1 ? DB_OK : rc == 0 ? STORE_NOT_FOUND : rc);
}

enum store_rc api_key_count_active(struct db_conn *c, const char *user_id, int64_t *count)
{
	int rc;
	*count = 0;
	struct db_res *r = db_query(c,
				    "SELECT COUNT(*) FROM api_keys WHERE user_id = $1"
				    " AND (expires_at IS NULL OR expires_at > $2)",
				    DB_PARAMS(DB_TEXT(user_id), DB_INT(time_now_ms())), &rc);
	if (!r)
		return store_rc_of(rc);
	rc = db_next(r);
	if (rc == 1)
		*count = db_int(r, 0);
	db_res_free(r);
	return store_rc_of(rc < 0 ? rc : DB_OK);
}

enum store_rc api_key_delete_by_user(struct db_conn *c, const char *user_id, int64_t *deleted)
{
	int64_t changes = 0;
	int rc = db_exec(c, "DELETE FROM api_keys WHERE user_id = $1", DB_PARAMS(DB_TEXT(user_id)),
			 &changes);
	if (deleted)
		*deleted = changes;
	return store_rc_of(rc);
}
