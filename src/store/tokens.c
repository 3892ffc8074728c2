#include "store/tokens.h"

#include <stdio.h>
#include <string.h>

#include "core/crypto.h"
#include "core/timeutil.h"

enum store_rc token_issue(struct db_conn *c, const char *kind, const char *prefix,
			  const char *user_id, const char *data, int64_t ttl_ms,
			  char out[TOKEN_BUF])
{
	size_t pl = strlen(prefix);
	if (pl > 8 || (data && strlen(data) >= TOKEN_DATA_MAX))
		return STORE_ERROR;
	memcpy(out, prefix, pl);
	crypto_token(out + pl, TOKEN_BUF - pl, 32);
	char hash[65];
	crypto_sha256_hex(out, strlen(out), hash);
	int64_t now = time_now_ms();
	int rc = db_exec(c,
			 "INSERT INTO user_tokens (token_hash, kind, user_id, data, created_at,"
			 " expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
			 DB_PARAMS(DB_TEXT(hash), DB_TEXT(kind), DB_TEXT(user_id),
				   DB_TEXT(data ? data : ""), DB_INT(now), DB_INT(now + ttl_ms)),
			 NULL);
	if (rc)
		explicit_bzero(out, TOKEN_BUF);
	return store_rc_of(rc);
}

enum store_rc token_consume(struct db_conn *c, const char *kind, const char *token,
			    struct user_token *t)
{
	memset(t, 0, sizeof *t);
	if (strlen(token) >= TOKEN_BUF)
		return STORE_NOT_FOUND;
	char hash[65];
	crypto_sha256_hex(token, strlen(token), hash);
	int64_t now = time_now_ms(), changes = 0;
	int rc = db_exec(c,
			 "UPDATE user_tokens SET used_at = $3 WHERE token_hash = $1 AND kind = $2"
			 " AND used_at IS NULL AND expires_at > $3",
			 DB_PARAMS(DB_TEXT(hash), DB_TEXT(kind), DB_INT(now)), &changes);
	if (rc)
		return store_rc_of(rc);
	struct db_res *r = db_query(c,
				    "SELECT COALESCE(user_id, ''), data, created_at, expires_at"
				    " FROM user_tokens WHERE token_hash = $1 AND kind = $2",
				    DB_PARAMS(DB_TEXT(hash), DB_TEXT(kind)), &rc);
	if (!r)
		return store_rc_of(rc);
	rc = db_next(r);
	if (rc == 1) {
		store_copy(t->user_id, sizeof t->user_id, r, 0);
		store_copy(t->data, sizeof t->data, r, 1);
		t->created_at = db_int(r, 2);
		t->expires_at = db_int(r, 3);
		rc = changes == 1 ? STORE_OK : STORE_CONFLICT;
	} else if (rc == 0) {
		rc = STORE_NOT_FOUND;
	}
	db_res_free(r);
	if (rc == STORE_CONFLICT)
		memset(t, 0, sizeof *t); /* a spent token tells nothing */
	return store_rc_of(rc);
}

enum store_rc token_peek(struct db_conn *c, const char *kind, const char *token,
			 struct user_token *t)
{
	memset(t, 0, sizeof *t);
	if (strlen(token) >= TOKEN_BUF)
		return STORE_NOT_FOUND;
	char hash[65];
	crypto_sha256_hex(token, strlen(token), hash);
	int rc;
	struct db_res *r = db_query(c,
				    "SELECT COALESCE(user_id, ''), data, created_at, expires_at,"
				    " CASE WHEN used_at IS NULL THEN 1 ELSE 0 END"
				    " FROM user_tokens WHERE token_hash = $1 AND kind = $2",
				    DB_PARAMS(DB_TEXT(hash), DB_TEXT(kind)), &rc);
	if (!r)
		return store_rc_of(rc);
	rc = db_next(r);
	if (rc == 1) {
		store_copy(t->user_id, sizeof t->user_id, r, 0);
		store_copy(t->data, sizeof t->data, r, 1);
		t->created_at = db_int(r, 2);
		t->expires_at = db_int(r, 3);
		rc = db_int(r, 4) && t->expires_at > time_now_ms() ? STORE_OK : STORE_CONFLICT;
	} else if (rc == 0) {
		rc = STORE_NOT_FOUND;
	}
	db_res_free(r);
	if (rc == STORE_CONFLICT)
		memset(t, 0, sizeof *t);
	return store_rc_of(rc);
}

enum store_rc token_revoke_user(struct db_conn *c, const char *kind, const char *user_id)
{
	return store_rc_of(
	    db_exec(c,
		    "UPDATE user_tokens SET used_at = $3 WHERE kind = $1 AND"
		    " user_id = $2 AND used_at IS NULL",
		    DB_PARAMS(DB_TEXT(kind), DB_TEXT(user_id), DB_INT(time_now_ms())), NULL));
}

enum store_rc token_purge(struct db_conn *c)
{
	return store_rc_of(db_exec(c, "DELETE FROM user_tokens WHERE expires_at < $1",
				   DB_PARAMS(DB_INT(time_now_ms() - 86400000LL)), NULL));
}
