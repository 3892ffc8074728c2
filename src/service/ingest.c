/*
 * ingest.c — see ingest.h.
 */
#include "service/ingest.h"

#include "billing/meter.h"
#include "service/quota.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "asr/diarize.h"
#include "blob/blob.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "media/media.h"
#include "store/jobs.h"

#define TRANSCRIBE_ATTEMPTS 4

struct queue_tx {
	const struct meeting *m;
	const char *payload;
	struct quota_usage *quota; /* NULL: no minutes check */
	bool over;
};

/* The job and the status change together (store_tx may run this again). */
static int queue_tx(struct db_conn *c, void *arg)
{
	struct queue_tx *q = arg;
	char job_id[UUID_STR_LEN];
	q->over = false;
	if (q->quota) {
		/* Checked in the queueing transaction, one decision per organization at a time
		 * (SQLite: BEGIN IMMEDIATE; PostgreSQL: an advisory lock): queued audio counts as
		 * used, so concurrent requests cannot together pass the minutes left. */
		enum store_rc lrc = billing_org_lock_xact(c, q->m->org_id);
		if (lrc)
			return lrc;
		int64_t need = q->m->duration > 0 ? meter_seconds(q->m->duration) : 1;
		enum quota_rc qrc = quota_check(c, q->m->org_id, QUOTA_MINUTES, need, q->quota);
		if (qrc == QUOTA_ERROR)
			return STORE_ERROR;
		if (qrc == QUOTA_EXCEEDED) {
			q->over = true;
			return STORE_CONFLICT; /* rolled back: nothing queued */
		}
	}
	enum store_rc rc = job_enqueue(c, q->m->org_id, "transcribe", q->payload, q->m->id,
				       TRANSCRIBE_ATTEMPTS, time_now_ms(), job_id);
	if (rc == STORE_OK)
		rc = meeting_set_status(c, q->m->org_id, q->m->id, "queued", NULL);
	return rc;
}

int ingest_speakers_parse(const char *text)
{
	if (!text || !*text)
		return 0;
	char *end;
	long v = strtol(text, &end, 10);
	if (*end || v < 1 || v > DIAR_MAX_SPEAKERS || !(*text >= '0' && *text <= '9'))
		return -1;
	return (int)v;
}

const char *ingest_speakers_problem(const struct ingest_speakers *s, const char **field)
{
	static const char range[] = "must be a whole number from 1 to 20";
	_Static_assert(DIAR_MAX_SPEAKERS == 20, "the sentence above names the limit");
	const int vals[] = {s->expected, s->min, s->max};
	static const char *const keys[] = {"speakers_expected", "min_speakers", "max_speakers"};
	for (size_t i = 0; i < 3; i++)
		if (vals[i] < 0 || vals[i] > DIAR_MAX_SPEAKERS) {
			*field = keys[i];
			return range;
		}
	if (s->expected && (s->min || s->max)) {
		*field = "speakers_expected";
		return "give either the exact count or min_speakers/max_speakers, not both";
	}
	if (s->min && s->max && s->min > s->max) {
		*field = "min_speakers";
		return "must not be more than max_speakers";
	}
	*field = NULL;
	return NULL;
}

static enum store_rc queue(struct db_conn *c, struct meeting *m, const char *language,
			   const char *provider, const struct ingest_speakers *speakers,
			   struct quota_usage *quota, bool *over)
{
	json_t *payload = json_pack("{s:s}", "meeting_id", m->id);
	if (speakers && speakers->expected)
		json_object_set_new(payload, "speakers_expected", json_integer(speakers->expected));
	if (speakers && speakers->min)
		json_object_set_new(payload, "min_speakers", json_integer(speakers->min));
	if (speakers && speakers->max)
		json_object_set_new(payload, "max_speakers", json_integer(speakers->max));
	if (language)
		json_object_set_new(payload, "language", json_string(language));
	if (provider)
		json_object_set_new(payload, "provider", json_string(provider));
	char *text = json_dumps(payload, JSON_COMPACT);
	json_decref(payload);
	if (!text)
		return STORE_ERROR;
	struct queue_tx q = {.m = m, .payload = text, .quota = quota};
	enum store_rc rc = store_tx(c, queue_tx, &q);
	free(text);
	if (over)
		*over = q.over;
	if (rc == STORE_OK) {
		snprintf(m->status, sizeof m->status, "queued");
		m->processing_error[0] = '\0';
	}
	return rc;
}

enum store_rc ingest_queue_transcription(struct db_conn *c, struct meeting *m, const char *language,
					 const char *provider,
					 const struct ingest_speakers *speakers)
{
	return queue(c, m, language, provider, speakers, NULL, NULL);
}

enum store_rc ingest_queue_within_quota(struct db_conn *c, struct meeting *m, const char *language,
					const char *provider,
					const struct ingest_speakers *speakers,
					struct quota_usage *quota, bool *over)
{
	return queue(c, m, language, provider, speakers, quota, over);
}

enum ingest_rc ingest_audio(struct blob_store *blob, struct db_conn *c, struct meeting *m,
			    const struct ingest_file *f, enum ingest_queue queue, char *detail,
			    size_t detaillen)
{
	struct media_info info;
	enum ingest_rc result = INGEST_OK;
	char key[BLOB_KEY_MAX], old[96];
	key[0] = '\0';
	int rc = media_probe(f->path, &info, detail, detaillen);
	if (rc == MEDIA_NOT_AUDIO) {
		result = INGEST_NOT_AUDIO;
		goto fail;
	}
	if (rc == MEDIA_UNREADABLE) {
		result = INGEST_UNREADABLE;
		goto fail;
	}
	if (rc == MEDIA_TOO_LONG) { /* detail states the limit */
		result = INGEST_TOO_LONG;
		goto fail;
	}
	if (rc != MEDIA_OK) {
		snprintf(detail, detaillen, "The file could not be examined. Try again.");
		result = INGEST_PROBE_FAILED;
		goto fail;
	}
	/*
	 * Minutes first, before anything is stored (service/quota.h has the race
	 * rule): a file whose whole duration does not fit what is left is
	 * refused, never cut off. The queueing below checks again, atomically.
	 */
	struct quota_usage qu, *q = f->quota ? f->quota : &qu;
	enum quota_rc qrc = QUOTA_OK;
	if (queue == INGEST_AND_QUEUE)
		qrc = quota_check(c, m->org_id, QUOTA_MINUTES, meter_seconds(info.duration), q);
	if (qrc != QUOTA_OK) {
		if (qrc == QUOTA_ERROR) {
			snprintf(detail, detaillen, "The database is busy. Try again.");
			result = INGEST_DB_FAILED;
		} else {
			snprintf(detail, detaillen, "Over the plan's %s.",
				 quota_kind_name(q->kind));
			result = INGEST_QUOTA;
		}
		goto fail;
	}
	blob_key_new("audio", key);
	if (blob_put_file(blob, key, f->path) < 0) {
		log_error("blob put failed",
			  json_pack("{s:s,s:s}", "key", key, "error", strerror(errno)));
		snprintf(detail, detaillen, "The audio could not be stored. Try again.");
		result = INGEST_STORAGE_FAILED;
		goto fail;
	}
	snprintf(m->audio_key, sizeof m->audio_key, "%s", key);
	snprintf(m->audio_format, sizeof m->audio_format, "%s", info.format);
	snprintf(m->audio_codec, sizeof m->audio_codec, "%s", info.codec);
	snprintf(m->audio_mime, sizeof m->audio_mime, "%s", info.mime);
	snprintf(m->audio_sha256, sizeof m->audio_sha256, "%s", f->sha256 ? f->sha256 : "");
	snprintf(m->original_filename, sizeof m->original_filename, "%s",
		 f->filename ? f->filename : "");
	m->file_size = f->size;
	m->duration = info.duration > 0 ? info.duration : -1;
	/*
	 * Storage: the last check and attaching the file under the
	 * organization's quota lock. It refuses only once the limit is reached
	 * (the open check refused files that would not fit), so of uploads
	 * racing for the last bytes at most one lands past the limit.
	 */
	enum store_rc src = quota_hold(c, m->org_id);
	if (src) {
		blob_delete(blob, key);
		snprintf(detail, detaillen, "The database is busy. Try again.");
		return INGEST_DB_FAILED;
	}
	qrc = quota_check(c, m->org_id, QUOTA_STORAGE, 1, q);
	if (qrc != QUOTA_OK) {
		quota_release(c, m->org_id);
		blob_delete(blob, key);
		snprintf(detail, detaillen,
			 qrc == QUOTA_ERROR ? "The database is busy. Try again."
					    : "Over the plan's storage.");
		return qrc == QUOTA_ERROR ? INGEST_DB_FAILED : INGEST_QUOTA;
	}
	src = meeting_set_audio(c, m, old);
	quota_release(c, m->org_id);
	if (src) {
		blob_delete(blob, key); /* no orphan: the row never pointed at it */
		if (src == STORE_MEETING_BUSY) {
			snprintf(
			    detail, detaillen,
			    "This meeting started being transcribed while the file arrived; "
			    "its audio was not replaced. Wait until the transcription finishes, "
			    "then upload again.");
			return INGEST_MEETING_BUSY;
		}
		if (src == STORE_NOT_FOUND) {
			snprintf(detail, detaillen, "The meeting was deleted meanwhile.");
			return INGEST_MEETING_GONE;
		}
		snprintf(detail, detaillen, "The database is busy. Try again.");
		return INGEST_DB_FAILED;
	}
	/* old is exactly the key this upload replaced (the row was locked): no other upload
	 * deletes it. */
	if (old[0] && strcmp(old, key) != 0)
		blob_delete(blob, old);
	if (queue == INGEST_AND_QUEUE) {
		bool over = false;
		src = ingest_queue_within_quota(c, m, NULL, NULL, f->speakers, q, &over);
		if (over) {
			/* Another request took the minutes meanwhile: stored, not transcribed. */
			snprintf(detail, detaillen, "Over the plan's minutes.");
			return INGEST_QUOTA;
		}
		if (src == STORE_CONFLICT) {
			/* A live job for this meeting exists and has not started: it reads the new
			 * audio. */
			src = meeting_set_status(c, m->org_id, m->id, "queued", NULL);
		}
		if (src)
			log_error(
			    "could not queue transcription",
			    json_pack("{s:s,s:s}", "meeting_id", m->id, "rc", store_rc_name(src)));
	}
	char id[UUID_STR_LEN], org[UUID_STR_LEN];
	snprintf(id, sizeof id, "%s", m->id);
	snprintf(org, sizeof org, "%s", m->org_id);
	meeting_clear(m);
	if (meeting_get(c, org, id, m) != STORE_OK) {
		snprintf(detail, detaillen, "The meeting could not be read back. Try again.");
		return INGEST_RELOAD_FAILED;
	}
	return INGEST_OK;
fail:
	unlink(f->path);
	return result;
}
