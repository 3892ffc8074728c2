#include "store/revisions.h"

#include <stdlib.h>
#include <string.h>

#include "core/timeutil.h"
#include "store/search.h"

void revision_clear(struct revision *r)
{
	if (!r)
		return;
	free(r->summary);
	free(r->body);
	r->summary = NULL;
	r->body = NULL;
}

/* Why an update matched no row: no transcript, being transcribed again, or another version. */
static int why_unchanged(struct db_conn *c, const char *org_id, const char *meeting_id)
{
	int rc;
	struct db_res *r = db_query(c,
				    "SELECT m.status FROM transcripts t JOIN meetings m ON m.id ="
				    " t.meeting_id WHERE t.meeting_id = $1 AND t.org_id = $2",
				    DB_PARAMS(DB_TEXT(meeting_id), DB_TEXT(org_id)), &rc);
	if (!r)
		return rc;
	rc = db_next(r);
	if (rc == 1) {
		const char *st = db_text(r, 0);
		rc = !strcmp(st, "queued") || !strcmp(st, "processing") ? STORE_MEETING_BUSY
									: STORE_STALE;
	} else if (rc == 0)
		rc = STORE_NOT_FOUND;
	db_res_free(r);
	return rc;
}

struct save_tx {
	const char *org_id, *meeting_id, *body, *text, *author_id, *action, *summary;
	int64_t expected, now;
};

static int save_tx(struct db_conn *c, void *arg)
{
	const struct save_tx *t = arg;
	const char *org_id = t->org_id, *meeting_id = t->meeting_id;
	int64_t expected = t->expected, changes = 0;
	char id[UUID_STR_LEN];
	int rc = db_exec(c,
			 "UPDATE transcripts SET body = $3, text = $4, version = version + 1,"
			 " updated_at = $5 WHERE meeting_id = $1 AND org_id = $2 AND version = $6"
			 " AND EXISTS (SELECT 1 FROM meetings m WHERE m.id = $1 AND m.org_id = $2"
			 " AND m.status NOT IN ('queued', 'processing'))",
			 DB_PARAMS(DB_TEXT(meeting_id), DB_TEXT(org_id), DB_TEXT(t->body),
				   DB_TEXT(t->text), DB_INT(t->now), DB_INT(expected)),
			 &changes);
	if (rc)
		return rc;
	if (!changes)
		return why_unchanged(c, org_id, meeting_id);
	/* The edited text is what is searched, from this commit on. */
	rc = search_index_transcript(c, org_id, meeting_id);
	if (rc)
		return rc;
	uuid_v7(id);
	rc = db_exec(
	    c,
	    "INSERT INTO transcript_revisions (id, meeting_id, org_id, version, author_id,"
	    " action, summary, body, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
	    DB_PARAMS(DB_TEXT(id), DB_TEXT(meeting_id), DB_TEXT(org_id), DB_INT(expected + 1),
		      DB_TEXT(t->author_id && *t->author_id ? t->author_id : NULL),
		      DB_TEXT(t->action), DB_TEXT(t->summary ? t->summary : "{}"), DB_TEXT(t->body),
		      DB_INT(t->now)),
	    NULL);
	if (rc)
		return rc;
	/* Bounded history: the oldest go (the machine transcript stays in transcripts). */
	return db_exec(
	    c,
	    "DELETE FROM transcript_revisions WHERE meeting_id = $1 AND org_id = $2"
	    " AND version <= $3",
	    DB_PARAMS(DB_TEXT(meeting_id), DB_TEXT(org_id), DB_INT(expected + 1 - REVISIONS_KEPT)),
	    NULL);
}

enum store_rc revision_save(struct db_conn *c, const char *org_id, const char *meeting_id,
			    int64_t expected, const char *body, const char *text,
			    const char *author_id, const char *action, const char *summary,
			    int64_t *new_version)
{
	struct save_tx t = {.org_id = org_id,
			    .meeting_id = meeting_id,
			    .body = body,
			    .text = text,
			    .author_id = author_id,
			    .action = action,
			    .summary = summary,
			    .expected = expected,
			    .now = time_now_ms()};
	enum store_rc rc = store_tx(c, save_tx, &t);
	if (rc == STORE_OK && new_version)
		*new_version = expected + 1;
	return rc;
}

/* Columns: version, action, author_id, author_email, summary, created_at[, body]. */
static int read_row(struct db_res *r, struct revision *out, int with_body)
{
	memset(out, 0, sizeof *out);
	out->version = db_int(r, 0);
	store_copy(out->action, sizeof out->action, r, 1);
	store_copy(out->author_id, sizeof out->author_id, r, 2);
	store_copy(out->author_email, sizeof out->author_email, r, 3);
	out->summary = strdup(db_text(r, 4));
	out->created_at = db_int(r, 5);
	if (with_body)
		out->body = strdup(db_text(r, 6));
	if (!out->summary || (with_body && !out->body)) {
		revision_clear(out);
		return DB_ERR;
	}
	return DB_OK;
}

enum store_rc revision_list(struct db_conn *c, const char *org_id, const char *meeting_id,
			    int64_t before, struct revision *out, int max, int *count)
{
	int rc, n = 0;
	*count = 0;
	struct db_res *r = db_query(
	    c,
	    "SELECT r.version, r.action, COALESCE(r.author_id, ''), COALESCE(u.email, ''),"
	    " r.summary, r.created_at FROM transcript_revisions r"
	    " LEFT JOIN users u ON u.id = r.author_id"
	    " WHERE r.meeting_id = $1 AND r.org_id = $2 AND ($3 = 0 OR r.version < $3)"
	    " ORDER BY r.version DESC LIMIT $4",
	    DB_PARAMS(DB_TEXT(meeting_id), DB_TEXT(org_id), DB_INT(before), DB_INT(max)), &rc);
	if (!r)
		return store_rc_of(rc);
	while (n < max && (rc = db_next(r)) == 1) {
		if (read_row(r, &out[n], 0) != DB_OK) {
			rc = DB_ERR;
			break;
		}
		n++;
	}
	db_res_free(r);
	if (rc < 0) {
		while (n > 0)
			revision_clear(&out[--n]);
		return store_rc_of(rc);
	}
	*count = n;
	return STORE_OK;
}

enum store_rc revision_get(struct db_conn *c, const char *org_id, const char *meeting_id,
			   int64_t version, struct revision *out)
{
	int rc;
	struct db_res *r =
	    db_query(c,
		     "SELECT r.version, r.action, COALESCE(r.author_id, ''), COALESCE(u.email, ''),"
		     " r.summary, r.created_at, r.body FROM transcript_revisions r"
		     " LEFT JOIN users u ON u.id = r.author_id"
		     " WHERE r.meeting_id = $1 AND r.org_id = $2 AND r.version = $3",
		     DB_PARAMS(DB_TEXT(meeting_id), DB_TEXT(org_id), DB_INT(version)), &rc);
	memset(out, 0, sizeof *out);
	if (!r)
		return store_rc_of(rc);
	rc = db_next(r);
	if (rc == 1)
		rc = read_row(r, out, 1);
	else if (rc == 0)
		rc = STORE_NOT_FOUND;
	db_res_free(r);
	return store_rc_of(rc);
}
