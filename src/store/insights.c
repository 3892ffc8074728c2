#include "store/insights.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/timeutil.h"

void insights_row_clear(struct insights_row *r)
{
	if (!r)
		return;
	free(r->body);
	free(r->error);
	r->body = NULL;
	r->error = NULL;
}

static enum store_rc changed(int rc, int64_t changes)
{
	if (rc)
		return store_rc_of(rc);
	return changes ? STORE_OK : STORE_NOT_FOUND;
}

enum store_rc insights_queue(struct db_conn *c, const char *org_id, const char *meeting_id)
{
	int64_t now = time_now_ms(), changes = 0;
	/* INSERT ... SELECT ... WHERE: only for a meeting of org_id (SQLite needs the WHERE). */
	int rc =
	    db_exec(c,
		    "INSERT INTO meeting_insights (meeting_id, org_id, status, progress,"
		    " created_at, updated_at) SELECT id, org_id, 'queued', 0, $3, $3 FROM"
		    " meetings WHERE id = $1 AND org_id = $2 ON CONFLICT (meeting_id) DO"
		    " UPDATE SET status = 'queued', progress = 0, error = NULL, updated_at = $3",
		    DB_PARAMS(DB_TEXT(meeting_id), DB_TEXT(org_id), DB_INT(now)), &changes);
	return changed(rc, changes);
}

enum store_rc insights_set_status(struct db_conn *c, const char *org_id, const char *meeting_id,
				  const char *status, const char *error)
{
	int64_t changes = 0;
	int rc = db_exec(c,
			 "UPDATE meeting_insights SET status = $3, error = $4, progress = CASE WHEN"
			 " $3 = 'running' THEN 0 ELSE progress END, updated_at = $5 WHERE"
			 " meeting_id = $1 AND org_id = $2",
			 DB_PARAMS(DB_TEXT(meeting_id), DB_TEXT(org_id), DB_TEXT(status),
				   DB_TEXT(error), DB_INT(time_now_ms())),
			 &changes);
	return changed(rc, changes);
}

enum store_rc insights_set_progress(struct db_conn *c, const char *org_id, const char *meeting_id,
				    int progress)
{
	int64_t changes = 0;
	int rc = db_exec(c,
			 "UPDATE meeting_insights SET progress = $3, updated_at = $4 WHERE"
			 " meeting_id = $1 AND org_id = $2",
			 DB_PARAMS(DB_TEXT(meeting_id), DB_TEXT(org_id), DB_INT(progress),
				   DB_INT(time_now_ms())),
			 &changes);
	return changed(rc, changes);
}

enum store_rc insights_finish(struct db_conn *c, const char *org_id, const char *meeting_id,
			      int64_t transcript_version, const char *body, double seconds,
			      bool force)
{
	int64_t now = time_now_ms(), changes = 0;
	struct db_res *r;
	int rc =
	    db_exec(c,
		    "UPDATE meeting_insights SET status = 'done', progress = 100, error = NULL,"
		    " body = $3, transcript_version = $4, seconds = $5, computed_at = $6,"
		    " updated_at = $6 WHERE meeting_id = $1 AND org_id = $2 AND"
		    " (status = 'running' OR $7 = 1)",
		    DB_PARAMS(DB_TEXT(meeting_id), DB_TEXT(org_id), DB_TEXT(body),
			      DB_INT(transcript_version), DB_REAL(seconds), DB_INT(now),
			      DB_INT(force ? 1 : 0)),
		    &changes);
	if (rc || changes)
		return changed(rc, changes);
	/* Nothing changed: no row, or it was queued again while this ran. */
	r = db_query(c, "SELECT 1 FROM meeting_insights WHERE meeting_id = $1 AND org_id = $2",
		     DB_PARAMS(DB_TEXT(meeting_id), DB_TEXT(org_id)), &rc);
	if (!r)
		return store_rc_of(rc);
	rc = db_next(r);
	db_res_free(r);
	return rc == 1 ? STORE_STALE : rc == 0 ? STORE_NOT_FOUND : store_rc_of(rc);
}

enum store_rc insights_get(struct db_conn *c, const char *org_id, const char *meeting_id,
			   struct insights_row *out)
{
	int rc;
	struct db_res *r = db_query(c,
				    "SELECT status, progress, transcript_version, body, error,"
				    " seconds, created_at, updated_at, computed_at FROM"
				    " meeting_insights WHERE meeting_id = $1 AND org_id = $2",
				    DB_PARAMS(DB_TEXT(meeting_id), DB_TEXT(org_id)), &rc);
	memset(out, 0, sizeof *out);
	if (!r)
		return store_rc_of(rc);
	rc = db_next(r);
	if (rc != 1) {
		db_res_free(r);
		return rc == 0 ? STORE_NOT_FOUND : store_rc_of(rc);
	}
	store_copy(out->status, sizeof out->status, r, 0);
	out->progress = (int)db_int(r, 1);
	out->transcript_version = db_int(r, 2);
	bool oom = false;
	if (!db_is_null(r, 3) && !(out->body = strdup(db_text(r, 3))))
		oom = true;
	if (!db_is_null(r, 4) && !(out->error = strdup(db_text(r, 4))))
		oom = true;
	out->seconds = db_double(r, 5);
	out->created_at = db_int(r, 6);
	out->updated_at = db_int(r, 7);
	out->computed_at = db_is_null(r, 8) ? 0 : db_int(r, 8);
	db_res_free(r);
	if (oom) {
		insights_row_clear(out);
		return STORE_ERROR;
	}
	return STORE_OK;
}
