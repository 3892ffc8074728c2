#include "store/api_keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/timeutil.h"

#define KEY_COLS "id, org_id, user_id, name, prefix, created_at, last_used_at"
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
}

int api_key_create(struct db_conn *c, const char *org_id, const char *user_id, const char *name,
		   struct api_key *k, char key[API_KEY_BUF])
{
	char hash[65];
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
	return db_exec(c,
		       "INSERT INTO api_keys (id, org_id, user_id, name, prefix, key_hash, created_at)"
		       " VALUES ($1, $2, $3, $4, $5, $6, $7)",
		       DB_PARAMS(DB_TEXT(k->id), DB_TEXT(org_id), DB_TEXT(user_id), DB_TEXT(name),
				 DB_TEXT(k->prefix), DB_TEXT(hash), DB_INT(k->created_at)),
		       NULL);
}

int api_key_list(struct db_conn *c, const char *org_id, const char *before_id, int limit,
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
		return rc;
	struct api_key *keys = calloc((size_t)limit, sizeof *keys);
	if (!keys) {
		db_res_free(r);
		return DB_ERR;
	}
	size_t count = 0;
	while ((rc = db_next(r)) == 1 && count < (size_t)limit)
		key_read(r, &keys[count++]);
	db_res_free(r);
	if (rc < 0) {
		free(keys);
		return rc;
	}
	*out = keys;
	*n = count;
	return DB_OK;
}

int api_key_delete(struct db_conn *c, const char *org_id, const char *id)
{
	int64_t changes = 0;
	int rc = db_exec(c, "DELETE FROM api_keys WHERE id = $1 AND org_id = $2",
			 DB_PARAMS(DB_TEXT(id), DB_TEXT(org_id)), &changes);
	if (rc)
		return rc;
	return changes ? DB_OK : STORE_NOT_FOUND;
}

int api_key_authenticate(struct db_conn *c, const char *key, struct api_key *k)
{
	char hash[65];
	crypto_sha256_hex(key, strlen(key), hash);
	int rc;
	struct db_res *r = db_query(c, "SELECT " KEY_COLS " FROM api_keys WHERE key_hash = $1",
				    DB_PARAMS(DB_TEXT(hash)), &rc);
	if (!r)
		return rc;
	rc = db_next(r);
	if (rc == 1)
		key_read(r, k);
	db_res_free(r);
	if (rc < 0)
		return rc;
	if (rc == 0)
		return STORE_NOT_FOUND;
	int64_t now = time_now_ms();
	if (now - k->last_used_at >= LAST_USED_EVERY_MS) {
		k->last_used_at = now;
		db_exec(c, "UPDATE api_keys SET last_used_at = $2 WHERE id = $1",
			DB_PARAMS(DB_TEXT(k->id), DB_INT(now)), NULL);
	}
	return DB_OK;
}
