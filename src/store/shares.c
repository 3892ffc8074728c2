#include "store/shares.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/timeutil.h"

#define SHARE_COLS                                                                                 \
	"s.id, s.org_id, s.meeting_id, s.token_hash, u.email, s.created_at,"                       \
	" COALESCE(s.expires_at, 0), COALESCE(s.revoked_at, 0) FROM share_links s"                 \
	" LEFT JOIN users u ON u.id = s.created_by"

static void share_read(const struct db_res *r, struct share_link *s)
{
	store_copy(s->id, sizeof s->id, r, 0);
	store_copy(s->org_id, sizeof s->org_id, r, 1);
	store_copy(s->meeting_id, sizeof s->meeting_id, r, 2);
	store_copy(s->token_hash, sizeof s->token_hash, r, 3);
	store_copy(s->creator_email, sizeof s->creator_email, r, 4);
	s->created_at = db_int(r, 5);
	s->expires_at = db_int(r, 6);
	s->revoked_at = db_int(r, 7);
}

static enum store_rc share_one(struct db_conn *c, const char *where, const char *a, int64_t now,
			       struct share_link *out)
{
	char sql[1024];
	snprintf(sql, sizeof sql, "SELECT " SHARE_COLS " WHERE %s", where);
	int rc;
	struct db_res *r = db_query(c, sql, DB_PARAMS(DB_TEXT(a), DB_INT(now)), &rc);
	if (!r)
		return store_rc_of(rc);
	rc = db_next(r);
	if (rc == 1)
		share_read(r, out);
	db_res_free(r);
	return rc == 1 ? STORE_OK : rc == 0 ? STORE_NOT_FOUND : store_rc_of(rc);
}

enum store_rc share_create(struct db_conn *c, const char *org_id, const char *meeting_id,
			   const char *by, int64_t expires_at, struct share_link *out,
			   char token[SHARE_TOKEN_BUF])
{
	char hash[65], id[UUID_STR_LEN];
	memcpy(token, "shr_", 4);
	if (crypto_token(token + 4, SHARE_TOKEN_BUF - 4, 32) < 0)
		return STORE_ERROR;
	crypto_sha256_hex(token, strlen(token), hash);
	uuid_v7(id);
	int rc = db_exec(c,
			 "INSERT INTO share_links (id, org_id, meeting_id, token_hash, created_by,"
			 " created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
			 DB_PARAMS(DB_TEXT(id), DB_TEXT(org_id), DB_TEXT(meeting_id), DB_TEXT(hash),
				   DB_TEXT(by), DB_INT(time_now_ms()),
				   expires_at > 0 ? DB_INT(expires_at) : DB_NULL),
			 NULL);
	if (rc)
		return store_rc_of(rc);
	return share_one(c, "s.id = $1 AND $2 >= 0", id, 0, out);
}

static void share_row(const struct db_res *r, void *link)
{
	share_read(r, link);
}

enum store_rc share_list(struct db_conn *c, const char *org_id, const char *meeting_id, int max,
			 struct share_link **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	int rc;
	struct db_res *r = db_query(
	    c,
	    "SELECT " SHARE_COLS " WHERE s.org_id = $1 AND s.meeting_id = $2"
	    " AND s.revoked_at IS NULL AND (s.expires_at IS NULL OR s.expires_at > $3)"
	    " ORDER BY s.id DESC LIMIT $4",
	    DB_PARAMS(DB_TEXT(org_id), DB_TEXT(meeting_id), DB_INT(time_now_ms()), DB_INT(max)),
	    &rc);
	void *list;
	rc = store_rows(r, rc, max, sizeof **out, share_row, &list, n);
	*out = list;
	return rc;
}

enum store_rc share_revoke(struct db_conn *c, const char *org_id, const char *meeting_id,
			   const char *id)
{
	int64_t n = 0;
	int rc = db_exec(
	    c,
	    "UPDATE share_links SET revoked_at = $4 WHERE org_id = $1 AND"
	    " meeting_id = $2 AND id = $3 AND revoked_at IS NULL",
	    DB_PARAMS(DB_TEXT(org_id), DB_TEXT(meeting_id), DB_TEXT(id), DB_INT(time_now_ms())),
	    &n);
	if (rc)
		return store_rc_of(rc);
	return n ? STORE_OK : STORE_NOT_FOUND;
}

enum store_rc share_find_live(struct db_conn *c, const char *token, int64_t now,
			      struct share_link *out)
{
	char hash[65];
	crypto_sha256_hex(token, strlen(token), hash);
	return share_one(c,
			 "s.token_hash = $1 AND s.revoked_at IS NULL AND (s.expires_at IS NULL"
			 " OR s.expires_at > $2)",
			 hash, now, out);
}
