#include "store/uploads.h"

#include <stdio.h>
#include <string.h>

#include "core/timeutil.h"

int upload_create(struct db_conn *c, struct upload *u)
{
	uuid_v7(u->id);
	u->created_at = time_now_ms();
	u->offset = 0;
	snprintf(u->state, sizeof u->state, "active");
	return db_exec(c,
		       "INSERT INTO uploads (id, org_id, user_id, meeting_id, length, offset_bytes,"
		       " filename, metadata, state, expires_at, created_at, updated_at)"
		       " VALUES ($1, $2, $3, $4, $5, 0, $6, $7, 'active', $8, $9, $9)",
		       DB_PARAMS(DB_TEXT(u->id), DB_TEXT(u->org_id),
				 DB_TEXT(u->user_id[0] ? u->user_id : NULL), DB_TEXT(u->meeting_id),
				 DB_INT(u->length), DB_TEXT(u->filename), DB_TEXT(u->metadata),
				 DB_INT(u->expires_at), DB_INT(u->created_at)),
		       NULL);
}

int upload_get(struct db_conn *c, const char *org_id, const char *id, struct upload *u)
{
	int rc;
	struct db_res *r = db_query(c,
				    "SELECT id, org_id, user_id, meeting_id, length, offset_bytes, filename,"
				    " metadata, state, expires_at, created_at FROM uploads"
				    " WHERE id = $1 AND org_id = $2",
				    DB_PARAMS(DB_TEXT(id), DB_TEXT(org_id)), &rc);
	if (!r)
		return rc;
	rc = db_next(r);
	if (rc == 1) {
		memset(u, 0, sizeof *u);
		store_copy(u->id, sizeof u->id, r, 0);
		store_copy(u->org_id, sizeof u->org_id, r, 1);
		store_copy(u->user_id, sizeof u->user_id, r, 2);
		store_copy(u->meeting_id, sizeof u->meeting_id, r, 3);
		u->length = db_int(r, 4);
		u->offset = db_int(r, 5);
		store_copy(u->filename, sizeof u->filename, r, 6);
		store_copy(u->metadata, sizeof u->metadata, r, 7);
		store_copy(u->state, sizeof u->state, r, 8);
		u->expires_at = db_int(r, 9);
		u->created_at = db_int(r, 10);
		rc = DB_OK;
	} else if (rc == 0) {
		rc = STORE_NOT_FOUND;
	}
	db_res_free(r);
	return rc;
}

int upload_lock(struct db_conn *c, const char *org_id, const char *id, const char *owner,
		int64_t lock_until)
{
	int64_t now = time_now_ms(), changes = 0;
	int rc = db_exec(c,
			 "UPDATE uploads SET lock_owner = $3, lock_expires_at = $4"
			 " WHERE id = $1 AND org_id = $2 AND state = 'active'"
			 " AND (lock_owner IS NULL OR lock_expires_at < $5)",
			 DB_PARAMS(DB_TEXT(id), DB_TEXT(org_id), DB_TEXT(owner), DB_INT(lock_until),
				   DB_INT(now)),
			 &changes);
	if (rc)
		return rc;
	if (changes)
		return DB_OK;
	struct upload u;
	rc = upload_get(c, org_id, id, &u);
	if (rc)
		return rc;
	return strcmp(u.state, "active") == 0 ? UPLOAD_BUSY : STORE_NOT_FOUND;
}

int upload_advance(struct db_conn *c, const char *id, const char *owner, int64_t offset,
		   int64_t expires_at)
{
	return db_exec(c,
		       "UPDATE uploads SET offset_bytes = $3, expires_at = $4, lock_owner = NULL,"
		       " lock_expires_at = NULL, updated_at = $5 WHERE id = $1 AND lock_owner = $2",
		       DB_PARAMS(DB_TEXT(id), DB_TEXT(owner), DB_INT(offset), DB_INT(expires_at),
				 DB_INT(time_now_ms())),
		       NULL);
}

int upload_unlock(struct db_conn *c, const char *id, const char *owner)
{
	return db_exec(c,
		       "UPDATE uploads SET lock_owner = NULL, lock_expires_at = NULL"
		       " WHERE id = $1 AND lock_owner = $2",
		       DB_PARAMS(DB_TEXT(id), DB_TEXT(owner)), NULL);
}

int upload_complete(struct db_conn *c, const char *id)
{
	return db_exec(c, "UPDATE uploads SET state = 'completed', updated_at = $2 WHERE id = $1",
		       DB_PARAMS(DB_TEXT(id), DB_INT(time_now_ms())), NULL);
}

int upload_terminate(struct db_conn *c, const char *org_id, const char *id)
{
	int64_t changes = 0;
	int rc = db_exec(c,
			 "UPDATE uploads SET state = 'terminated', lock_owner = NULL, updated_at = $3"
			 " WHERE id = $1 AND org_id = $2 AND state = 'active'",
			 DB_PARAMS(DB_TEXT(id), DB_TEXT(org_id), DB_INT(time_now_ms())), &changes);
	return rc ? rc : changes ? DB_OK : STORE_NOT_FOUND;
}

int upload_expire(struct db_conn *c, int64_t now, char ids[][UUID_STR_LEN], int max)
{
	int rc;
	struct db_res *r = db_query(c,
				    "SELECT id FROM uploads WHERE state = 'active' AND expires_at < $1"
				    " AND (lock_owner IS NULL OR lock_expires_at < $1) LIMIT $2",
				    DB_PARAMS(DB_INT(now), DB_INT(max)), &rc);
	if (!r)
		return rc;
	int n = 0;
	while (n < max && (rc = db_next(r)) == 1)
		store_copy(ids[n++], UUID_STR_LEN, r, 0);
	db_res_free(r);
	if (rc < 0)
		return rc;
	for (int i = 0; i < n; i++)
		db_exec(c, "UPDATE uploads SET state = 'terminated', updated_at = $2 WHERE id = $1",
			DB_PARAMS(DB_TEXT(ids[i]), DB_INT(now)), NULL);
	return n;
}

int upload_active_for_meeting(struct db_conn *c, const char *org_id, const char *meeting_id,
			      char ids[][UUID_STR_LEN], int max)
{
	int rc;
	struct db_res *r = db_query(c,
				    "SELECT id FROM uploads WHERE org_id = $1 AND meeting_id = $2"
				    " AND state = 'active' LIMIT $3",
				    DB_PARAMS(DB_TEXT(org_id), DB_TEXT(meeting_id), DB_INT(max)), &rc);
	if (!r)
		return rc;
	int n = 0;
	while (n < max && (rc = db_next(r)) == 1)
		store_copy(ids[n++], UUID_STR_LEN, r, 0);
	db_res_free(r);
	return rc < 0 ? rc : n;
}
