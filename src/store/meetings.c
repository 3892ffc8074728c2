#include "store/meetings.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/timeutil.h"
#include "store/search.h"

#define COLS                                                                                       \
	"id, org_id, created_by, title, description, meeting_date, status, progress, language,"    \
	" audio_key, audio_format, audio_codec, audio_mime, audio_sha256, original_filename,"      \
	" file_size, duration_seconds, provider_used, model_used, transcription_confidence,"       \
	" processing_started_at, processing_completed_at, processing_error, processing_steps,"     \
	" created_at, updated_at"

void meeting_init(struct meeting *m)
{
	memset(m, 0, sizeof *m);
	m->file_size = -1;
	m->duration = -1;
	m->confidence = -1;
	snprintf(m->language, sizeof m->language, "en");
	snprintf(m->status, sizeof m->status, "pending");
}

void meeting_clear(struct meeting *m)
{
	if (!m)
		return;
	free(m->description);
	free(m->processing_steps);
	m->description = m->processing_steps = NULL;
}

static int64_t int_or(const struct db_res *r, int col, int64_t none)
{
	return db_is_null(r, col) ? none : db_int(r, col);
}

static void read_row(const struct db_res *r, struct meeting *m)
{
	meeting_init(m);
	store_copy(m->id, sizeof m->id, r, 0);
	store_copy(m->org_id, sizeof m->org_id, r, 1);
	store_copy(m->created_by, sizeof m->created_by, r, 2);
	store_copy(m->title, sizeof m->title, r, 3);
	m->description = strdup(db_text(r, 4));
	m->meeting_date = int_or(r, 5, 0);
	store_copy(m->status, sizeof m->status, r, 6);
	m->progress = (int)db_int(r, 7);
	store_copy(m->language, sizeof m->language, r, 8);
	store_copy(m->audio_key, sizeof m->audio_key, r, 9);
	store_copy(m->audio_format, sizeof m->audio_format, r, 10);
	store_copy(m->audio_codec, sizeof m->audio_codec, r, 11);
	store_copy(m->audio_mime, sizeof m->audio_mime, r, 12);
	store_copy(m->audio_sha256, sizeof m->audio_sha256, r, 13);
	store_copy(m->original_filename, sizeof m->original_filename, r, 14);
	m->file_size = int_or(r, 15, -1);
	m->duration = db_is_null(r, 16) ? -1 : db_double(r, 16);
	store_copy(m->provider_used, sizeof m->provider_used, r, 17);
	store_copy(m->model_used, sizeof m->model_used, r, 18);
	m->confidence = db_is_null(r, 19) ? -1 : db_double(r, 19);
	m->processing_started_at = int_or(r, 20, 0);
	m->processing_completed_at = int_or(r, 21, 0);
	store_copy(m->processing_error, sizeof m->processing_error, r, 22);
	m->processing_steps = strdup(db_text(r, 23));
	m->created_at = db_int(r, 24);
	m->updated_at = db_int(r, 25);
}

static int create_tx(struct db_conn *c, void *arg)
{
	const struct meeting *m = arg;
	int rc = db_exec(
	    c,
	    "INSERT INTO meetings (id, org_id, created_by, title, description, meeting_date,"
	    " status, language, created_at, updated_at)"
	    " VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $8, $8)",
	    DB_PARAMS(DB_TEXT(m->id), DB_TEXT(m->org_id),
		      DB_TEXT(m->created_by[0] ? m->created_by : NULL), DB_TEXT(m->title),
		      DB_TEXT(m->description ? m->description : ""),
		      m->meeting_date ? DB_INT(m->meeting_date) : DB_NULL, DB_TEXT(m->language),
		      DB_INT(m->created_at)),
	    NULL);
	return rc ? rc : search_index_details(c, m->org_id, m->id);
}

enum store_rc meeting_create(struct db_conn *c, struct meeting *m)
{
	uuid_v7(m->id);
	m->created_at = m->updated_at = time_now_ms();
	snprintf(m->status, sizeof m->status, "pending");
	return store_tx(c, create_tx, m);
}

enum store_rc meeting_get(struct db_conn *c, const char *org_id, const char *id, struct meeting *m)
{
	int rc;
	struct db_res *r =
	    db_query(c, "SELECT " COLS " FROM meetings WHERE id = $1 AND org_id = $2",
		     DB_PARAMS(DB_TEXT(id), DB_TEXT(org_id)), &rc);
	if (!r)
		return store_rc_of(rc);
	rc = db_next(r);
	if (rc == 1) {
		read_row(r, m);
		rc = DB_OK;
	} else if (rc == 0) {
		rc = STORE_NOT_FOUND;
	}
	db_res_free(r);
	return store_rc_of(rc);
}

enum store_rc meeting_list(struct db_conn *c, const char *org_id, const char *status,
			   const char *before_id, int limit, struct meeting **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	int rc;
	/* UUIDv7 ids sort by creation time: the id is the keyset cursor. */
	struct db_res *r = db_query(c,
				    "SELECT " COLS " FROM meetings WHERE org_id = $1"
				    " AND ($2 = '' OR status = $2) AND ($3 = '' OR id < $3)"
				    " ORDER BY id DESC LIMIT $4",
				    DB_PARAMS(DB_TEXT(org_id), DB_TEXT(status ? status : ""),
					      DB_TEXT(before_id ? before_id : ""), DB_INT(limit)),
				    &rc);
	if (!r)
		return store_rc_of(rc);
	struct meeting *list = calloc((size_t)limit, sizeof *list);
	if (!list) {
		db_res_free(r);
		return STORE_ERROR;
	}
	size_t count = 0;
	while (count < (size_t)limit && (rc = db_next(r)) == 1)
		read_row(r, &list[count++]);
	db_res_free(r);
	if (rc < 0) {
		for (size_t i = 0; i < count; i++)
			meeting_clear(&list[i]);
		free(list);
		return store_rc_of(rc);
	}
	*out = list;
	*n = count;
	return STORE_OK;
}

static int update_details_tx(struct db_conn *c, void *arg)
{
	const struct meeting *m = arg;
	int64_t changes = 0;
	int rc = db_exec(
	    c,
	    "UPDATE meetings SET title = $3, description = $4, meeting_date = $5, language = $6,"
	    " updated_at = $7 WHERE id = $1 AND org_id = $2",
	    DB_PARAMS(DB_TEXT(m->id), DB_TEXT(m->org_id), DB_TEXT(m->title),
		      DB_TEXT(m->description ? m->description : ""),
		      m->meeting_date ? DB_INT(m->meeting_date) : DB_NULL, DB_TEXT(m->language),
		      DB_INT(time_now_ms())),
	    &changes);
	if (rc)
		return rc;
	if (!changes)
		return STORE_NOT_FOUND;
	return search_index_details(c, m->org_id, m->id);
}

enum store_rc meeting_update_details(struct db_conn *c, const struct meeting *m)
{
	return store_tx(c, update_details_tx, (void *)m);
}

/* The meeting's current audio key ("" if none): DB_OK, STORE_NOT_FOUND or an error. */
static int audio_key_of(struct db_conn *c, const char *org_id, const char *id, char key[96])
{
	int rc;
	struct db_res *r =
	    db_query(c, "SELECT audio_key FROM meetings WHERE id = $1 AND org_id = $2",
		     DB_PARAMS(DB_TEXT(id), DB_TEXT(org_id)), &rc);
	if (!r)
		return rc;
	rc = db_next(r);
	if (rc == 1)
		snprintf(key, 96, "%s", db_text(r, 0));
	db_res_free(r);
	return rc == 1 ? DB_OK : rc == 0 ? STORE_NOT_FOUND : rc;
}

struct delete_tx {
	const char *org_id, *id;
	char *audio_key;
};

static int delete_tx(struct db_conn *c, void *arg)
{
	struct delete_tx *d = arg;
	const char *id = d->id, *org_id = d->org_id;
	d->audio_key[0] = '\0';
	int rc = audio_key_of(c, org_id, id, d->audio_key);
	if (rc)
		return rc;
	rc = db_exec(c,
		     "UPDATE jobs SET state = 'dead', last_error = 'the meeting was deleted',"
		     " updated_at = $2, finished_at = $2"
		     " WHERE dedupe_key = $1 AND state IN ('queued', 'running', 'failed')",
		     DB_PARAMS(DB_TEXT(id), DB_INT(time_now_ms())), NULL);
	if (rc)
		return rc;
	return db_exec(c, "DELETE FROM meetings WHERE id = $1 AND org_id = $2",
		       DB_PARAMS(DB_TEXT(id), DB_TEXT(org_id)), NULL);
}

enum store_rc meeting_delete(struct db_conn *c, const char *org_id, const char *id,
			     char audio_key[96])
{
	struct delete_tx d = {.org_id = org_id, .id = id, .audio_key = audio_key};
	enum store_rc rc = store_tx(c, delete_tx, &d);
	if (rc)
		audio_key[0] = '\0';
	return rc;
}

struct set_audio_tx {
	const struct meeting *m;
	char seen[96];
};

static int set_audio_tx(struct db_conn *c, void *arg)
{
	struct set_audio_tx *a = arg;
	const struct meeting *m = a->m;
	char *seen = a->seen;
	int64_t changes = 0;
	seen[0] = '\0';
	/*
	 * Lock the row first (PostgreSQL: a concurrent upload waits here), so
	 * the key read next is the one this update replaces: each replaced key
	 * is reported to exactly one uploader, which deletes it.
	 */
	int rc =
	    db_exec(c, "UPDATE meetings SET updated_at = updated_at WHERE id = $1 AND org_id = $2",
		    DB_PARAMS(DB_TEXT(m->id), DB_TEXT(m->org_id)), &changes);
	if (rc)
		return rc;
	if (!changes)
		return STORE_NOT_FOUND;
	rc = audio_key_of(c, m->org_id, m->id, seen);
	if (rc)
		return rc;
	/* The status guard is part of the update: no transcription starts between a check and it.
	 */
	rc = db_exec(
	    c,
	    "UPDATE meetings SET audio_key = $3, audio_format = $4, audio_codec = $5,"
	    " audio_mime = $6, audio_sha256 = $7, original_filename = $8, file_size = $9,"
	    " duration_seconds = $10, status = 'uploaded', progress = 0, provider_used = NULL,"
	    " model_used = NULL, transcription_confidence = NULL, processing_started_at = NULL,"
	    " processing_completed_at = NULL, processing_error = NULL, processing_steps = '[]',"
	    " updated_at = $11 WHERE id = $1 AND org_id = $2"
	    " AND status NOT IN ('queued', 'processing') AND COALESCE(audio_key, '') = $12",
	    DB_PARAMS(DB_TEXT(m->id), DB_TEXT(m->org_id), DB_TEXT(m->audio_key),
		      DB_TEXT(m->audio_format), DB_TEXT(m->audio_codec), DB_TEXT(m->audio_mime),
		      DB_TEXT(m->audio_sha256), DB_TEXT(m->original_filename), DB_INT(m->file_size),
		      m->duration >= 0 ? DB_REAL(m->duration) : DB_NULL, DB_INT(time_now_ms()),
		      DB_TEXT(seen)),
	    &changes);
	if (rc)
		return rc;
	if (!changes) /* the row is ours and its key as read: only the status refused */
		return STORE_MEETING_BUSY;
	rc = db_exec(c, "DELETE FROM transcripts WHERE meeting_id = $1", DB_PARAMS(DB_TEXT(m->id)),
		     NULL);
	return rc ? rc : search_index_transcript(c, m->org_id, m->id);
}

enum store_rc meeting_set_audio(struct db_conn *c, const struct meeting *m, char old_key[96])
{
	struct set_audio_tx a = {.m = m};
	old_key[0] = '\0';
	/* SQLite: BEGIN IMMEDIATE, one writer at a time. */
	enum store_rc rc = store_tx(c, set_audio_tx, &a);
	if (rc == STORE_OK)
		snprintf(old_key, 96, "%s", a.seen);
	return rc;
}

enum store_rc meeting_set_status(struct db_conn *c, const char *org_id, const char *id,
				 const char *status, const char *error)
{
	int64_t changes = 0;
	int rc = db_exec(c,
			 "UPDATE meetings SET status = $3, processing_error = $4, updated_at = $5"
			 " WHERE id = $1 AND org_id = $2",
			 DB_PARAMS(DB_TEXT(id), DB_TEXT(org_id), DB_TEXT(status),
				   DB_TEXT(strcmp(status, "failed") == 0 ? error : NULL),
				   DB_INT(time_now_ms())),
			 &changes);
	return store_rc_of(rc ? rc : changes ? DB_OK : STORE_NOT_FOUND);
}

enum store_rc meeting_set_progress(struct db_conn *c, const char *org_id, const char *id,
				   int progress)
{
	return store_rc_of(db_exec(
	    c, "UPDATE meetings SET progress = $3, updated_at = $4 WHERE id = $1 AND org_id = $2",
	    DB_PARAMS(DB_TEXT(id), DB_TEXT(org_id), DB_INT(progress), DB_INT(time_now_ms())),
	    NULL));
}

enum store_rc meeting_start_processing(struct db_conn *c, const char *org_id, const char *id)
{
	int64_t now = time_now_ms(), changes = 0;
	int rc = db_exec(
	    c,
	    "UPDATE meetings SET status = 'processing', progress = 0, processing_error = NULL,"
	    " processing_started_at = $3, processing_completed_at = NULL, updated_at = $3"
	    " WHERE id = $1 AND org_id = $2",
	    DB_PARAMS(DB_TEXT(id), DB_TEXT(org_id), DB_INT(now)), &changes);
	return store_rc_of(rc ? rc : changes ? DB_OK : STORE_NOT_FOUND);
}

static enum store_rc complete(struct db_conn *c, const char *org_id, const char *id,
			      const char *audio_key, const char *language, const char *text,
			      const char *body, const char *provider, const char *model,
			      double confidence, double duration, const char *steps);

enum store_rc meeting_complete(struct db_conn *c, const char *org_id, const char *id,
			       const char *language, const char *text, const char *body,
			       const char *provider, const char *model, double confidence,
			       double duration, const char *steps)
{
	return store_rc_of(complete(c, org_id, id, NULL, language, text, body, provider, model,
				    confidence, duration, steps));
}

enum store_rc meeting_complete_audio(struct db_conn *c, const char *org_id, const char *id,
				     const char *audio_key, const char *language, const char *text,
				     const char *body, const char *provider, const char *model,
				     double confidence, double duration, const char *steps)
{
	return store_rc_of(complete(c, org_id, id, audio_key ? audio_key : "", language, text, body,
				    provider, model, confidence, duration, steps));
}

struct complete_tx {
	const char *org_id, *id, *audio_key, *language, *text, *body, *provider, *model, *steps;
	double confidence, duration;
};

static int complete_tx(struct db_conn *c, void *arg)
{
	const struct complete_tx *t = arg;
	const char *org_id = t->org_id, *id = t->id, *audio_key = t->audio_key;
	const char *language = t->language, *text = t->text, *body = t->body;
	const char *provider = t->provider, *model = t->model, *steps = t->steps;
	double confidence = t->confidence, duration = t->duration;
	int64_t now = time_now_ms(), changes = 0;
	/* One transcript per meeting, whichever worker finishes: replace, never duplicate. */
	int rc = db_exec(c, "DELETE FROM transcripts WHERE meeting_id = $1", DB_PARAMS(DB_TEXT(id)),
			 NULL);
	if (rc)
		return rc;
	/*
	 * The version goes on from the meeting's last revision (ETags are
	 * never reused), and the machine transcript is its first revision.
	 */
	rc = db_exec(
	    c,
	    "INSERT INTO transcripts (meeting_id, org_id, language, text, body, provider, model,"
	    " confidence, duration, created_at, updated_at, version, original_body)"
	    " SELECT id, org_id, $3, $4, $5, $6, $7, $8, $9, $10, $10,"
	    " (SELECT COALESCE(MAX(version), 0) + 1 FROM transcript_revisions WHERE meeting_id = "
	    "$1),"
	    " $5 FROM meetings"
	    " WHERE id = $1 AND org_id = $2 AND ($11 = '-' OR COALESCE(audio_key, '') = $11)",
	    DB_PARAMS(DB_TEXT(id), DB_TEXT(org_id), DB_TEXT(language), DB_TEXT(text), DB_TEXT(body),
		      DB_TEXT(provider), DB_TEXT(model), DB_REAL(confidence), DB_REAL(duration),
		      DB_INT(now), DB_TEXT(audio_key ? audio_key : "-")),
	    &changes);
	if (rc)
		return rc;
	if (!changes)
		return STORE_NOT_FOUND; /* deleted meanwhile */
	char rev_id[UUID_STR_LEN];
	uuid_v7(rev_id);
	rc = db_exec(c,
		     "INSERT INTO transcript_revisions (id, meeting_id, org_id, version, author_id,"
		     " action, summary, body, created_at)"
		     " SELECT $3, meeting_id, org_id, version, NULL, 'transcribed', $4, body, $5"
		     " FROM transcripts WHERE meeting_id = $1 AND org_id = $2",
		     DB_PARAMS(DB_TEXT(id), DB_TEXT(org_id), DB_TEXT(rev_id), DB_TEXT(provider),
			       DB_INT(now)),
		     NULL);
	if (rc)
		return rc;
	rc = search_index_transcript(c, org_id, id);
	if (rc)
		return rc;
	return db_exec(
	    c,
	    "UPDATE meetings SET status = 'completed', progress = 100, provider_used = $3,"
	    " model_used = $4, transcription_confidence = $5, duration_seconds = $6,"
	    " language = $7, processing_completed_at = $8, processing_error = NULL,"
	    " processing_steps = $9, updated_at = $8 WHERE id = $1 AND org_id = $2"
	    " AND ($10 = '-' OR COALESCE(audio_key, '') = $10)",
	    DB_PARAMS(DB_TEXT(id), DB_TEXT(org_id), DB_TEXT(provider), DB_TEXT(model),
		      DB_REAL(confidence), DB_REAL(duration), DB_TEXT(language), DB_INT(now),
		      DB_TEXT(steps), DB_TEXT(audio_key ? audio_key : "-")),
	    NULL);
}

/* audio_key NULL: whatever audio the meeting has. */
static enum store_rc complete(struct db_conn *c, const char *org_id, const char *id,
			      const char *audio_key, const char *language, const char *text,
			      const char *body, const char *provider, const char *model,
			      double confidence, double duration, const char *steps)
{
	struct complete_tx t = {.org_id = org_id,
				.id = id,
				.audio_key = audio_key,
				.language = language,
				.text = text,
				.body = body,
				.provider = provider,
				.model = model,
				.steps = steps,
				.confidence = confidence,
				.duration = duration};
	return store_tx(c, complete_tx, &t);
}

enum store_rc meeting_fail(struct db_conn *c, const char *org_id, const char *id, const char *error,
			   const char *steps)
{
	int64_t now = time_now_ms();
	return store_rc_of(db_exec(
	    c,
	    "UPDATE meetings SET status = 'failed', processing_error = $3, processing_steps = $4,"
	    " processing_completed_at = $5, updated_at = $5 WHERE id = $1 AND org_id = $2",
	    DB_PARAMS(DB_TEXT(id), DB_TEXT(org_id), DB_TEXT(error), DB_TEXT(steps), DB_INT(now)),
	    NULL));
}

void meeting_transcript_clear(struct meeting_transcript *t)
{
	if (!t)
		return;
	free(t->body);
	free(t->original);
	t->body = NULL;
	t->original = NULL;
}

enum store_rc meeting_transcript_get(struct db_conn *c, const char *org_id, const char *meeting_id,
				     struct meeting_transcript *t)
{
	memset(t, 0, sizeof *t);
	int rc;
	struct db_res *r =
	    db_query(c,
		     "SELECT language, provider, model, confidence, duration, body, created_at,"
		     " version, COALESCE(original_body, body), updated_at"
		     " FROM transcripts WHERE meeting_id = $1 AND org_id = $2",
		     DB_PARAMS(DB_TEXT(meeting_id), DB_TEXT(org_id)), &rc);
	if (!r)
		return store_rc_of(rc);
	rc = db_next(r);
	if (rc == 1) {
		store_copy(t->language, sizeof t->language, r, 0);
		store_copy(t->provider, sizeof t->provider, r, 1);
		store_copy(t->model, sizeof t->model, r, 2);
		t->confidence = db_double(r, 3);
		t->duration = db_double(r, 4);
		t->body = strdup(db_text(r, 5));
		t->created_at = db_int(r, 6);
		t->version = db_int(r, 7);
		t->original = strdup(db_text(r, 8));
		t->updated_at = db_int(r, 9);
		rc = t->body && t->original ? DB_OK : DB_ERR;
	} else if (rc == 0) {
		rc = STORE_NOT_FOUND;
	}
	db_res_free(r);
	return store_rc_of(rc);
}

enum store_rc meeting_audio_unhashed(struct db_conn *c, const char *after_id,
				     struct meeting_audio_ref *out, int max, int *count)
{
	int rc;
	*count = 0;
	struct db_res *r = db_query(c,
				    "SELECT id, org_id, audio_key FROM meetings"
				    " WHERE audio_sha256 = '' AND audio_key IS NOT NULL AND id > $2"
				    " ORDER BY id LIMIT $1",
				    DB_PARAMS(DB_INT(max), DB_TEXT(after_id ? after_id : "")), &rc);
	if (!r)
		return store_rc_of(rc);
	int n = 0;
	while (n < max && (rc = db_next(r)) == 1) {
		store_copy(out[n].id, sizeof out[n].id, r, 0);
		store_copy(out[n].org_id, sizeof out[n].org_id, r, 1);
		store_copy(out[n].audio_key, sizeof out[n].audio_key, r, 2);
		n++;
	}
	db_res_free(r);
	if (rc < 0)
		return store_rc_of(rc);
	*count = n;
	return STORE_OK;
}

enum store_rc meeting_set_audio_sha256(struct db_conn *c, const char *org_id, const char *id,
				       const char *key, const char *sha256)
{
	int64_t changes = 0;
	int rc = db_exec(c,
			 "UPDATE meetings SET audio_sha256 = $4 WHERE id = $1 AND org_id = $2"
			 " AND audio_key = $3",
			 DB_PARAMS(DB_TEXT(id), DB_TEXT(org_id), DB_TEXT(key), DB_TEXT(sha256)),
			 &changes);
	return store_rc_of(rc ? rc : changes ? DB_OK : STORE_NOT_FOUND);
}
