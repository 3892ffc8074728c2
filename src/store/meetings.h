/*
 * meetings.h — meetings (IAM's unit of audio) and their transcripts.
 * Every function takes the caller's org_id: another tenant's meeting is
 * simply not found.
 */
#ifndef IAM_MEETINGS_H
#define IAM_MEETINGS_H

#include <stddef.h>
#include <stdint.h>

#include "core/uuid.h"
#include "store/store.h"

#define MEETING_TITLE_MAX	200  /* characters */
#define MEETING_DESCRIPTION_MAX 5000 /* characters */
#define MEETING_FILENAME_MAX	255  /* characters */

struct meeting {
	char id[UUID_STR_LEN];
	char org_id[UUID_STR_LEN];
	char created_by[UUID_STR_LEN];
	char title[MEETING_TITLE_MAX * 4 + 1];
	char *description;    /* malloc'd; meeting_clear frees */
	int64_t meeting_date; /* Unix ms, 0 = none */
	char status[16];
	int progress;
	char language[16];
	char audio_key[96];
	char audio_format[64];
	char audio_codec[32];
	char audio_mime[64];
	char audio_sha256[65];
	char original_filename[MEETING_FILENAME_MAX * 4 + 1];
	int64_t file_size; /* -1 = none */
	double duration;   /* seconds, < 0 = unknown */
	char provider_used[16];
	char model_used[96];
	double confidence; /* 0..1, < 0 = none */
	int64_t processing_started_at;
	int64_t processing_completed_at;
	char processing_error[1024];
	char *processing_steps; /* JSON array text, malloc'd */
	int64_t created_at;
	int64_t updated_at;
};

/* Zeroed meeting with "none" markers (duration/confidence -1, file_size -1). */
void meeting_init(struct meeting *m);
void meeting_clear(struct meeting *m); /* frees description, processing_steps */

/* Insert m (id, times, status 'pending' are set here). */
enum store_rc meeting_create(struct db_conn *c, struct meeting *m);
enum store_rc meeting_get(struct db_conn *c, const char *org_id, const char *id, struct meeting *m);
/*
 * Newest first: up to limit meetings with id < before_id (NULL = newest),
 * optionally only those with status. *out malloc'd array (free each with
 * meeting_clear, then free(*out)).
 */
enum store_rc meeting_list(struct db_conn *c, const char *org_id, const char *status,
			   const char *before_id, int limit, struct meeting **out, size_t *n);
/* Save title, description, meeting_date, language. */
enum store_rc meeting_update_details(struct db_conn *c, const struct meeting *m);
/*
 * Delete the meeting (its transcript and uploads go with it) and cancel its
 * jobs. audio_key receives the blob key to remove ("" if none).
 */
enum store_rc meeting_delete(struct db_conn *c, const char *org_id, const char *id,
			     char audio_key[96]);

/*
 * Attach audio: key, format, codec, mime, sha256, filename, size, duration;
 * status becomes 'uploaded', the transcript and processing fields are
 * reset. old_key receives the previous audio's key ("" if none) so the
 * caller can delete it. Refused with STORE_MEETING_BUSY (nothing changed) while
 * the meeting is queued or processing: the guard is part of the UPDATE,
 * so no transcription can start between a check and the change. The row
 * is locked before the previous key is read, so of two concurrent uploads
 * each learns exactly the key it replaced (none is left unreferenced).
 */
enum store_rc meeting_set_audio(struct db_conn *c, const struct meeting *m, char old_key[96]);

/*
 * Status changes. meeting_set_status sets status (and clears the error
 * unless status is 'failed', when error is stored). meeting_set_progress
 * only touches progress and updated_at.
 */
enum store_rc meeting_set_status(struct db_conn *c, const char *org_id, const char *id,
				 const char *status, const char *error);
enum store_rc meeting_set_progress(struct db_conn *c, const char *org_id, const char *id,
				   int progress);
enum store_rc meeting_start_processing(struct db_conn *c, const char *org_id, const char *id);

/* The transcript row as stored. */
struct meeting_transcript {
	char language[16];
	char provider[16];
	char model[96];
	double confidence;
	double duration;
	char *body;	    /* JSON text (core/transcript.h shape), malloc'd */
	char *original;	    /* the machine transcript before people edited it, malloc'd */
	int64_t version;    /* grows with every change (the API's ETag) */
	int64_t created_at; /* when it was transcribed */
	int64_t updated_at; /* last change */
};
void meeting_transcript_clear(struct meeting_transcript *t);

/*
 * Store the transcript (replacing any earlier one; its version goes on from
 * the last revision, and it is recorded as revision 'transcribed') and mark
 * the meeting completed with provider, model, confidence, duration and the
 * steps JSON, in one transaction.
 */
enum store_rc meeting_complete(struct db_conn *c, const char *org_id, const char *id,
			       const char *language, const char *text, const char *body,
			       const char *provider, const char *model, double confidence,
			       double duration, const char *steps);
/* A meeting whose audio has no SHA-256 recorded yet. */
struct meeting_audio_ref {
	char id[UUID_STR_LEN];
	char org_id[UUID_STR_LEN];
	char audio_key[96];
};
/*
 * Up to max meetings (any organization) whose audio lacks its SHA-256, in
 * id order after after_id ("" = from the start); *count of them.
 */
enum store_rc meeting_audio_unhashed(struct db_conn *c, const char *after_id,
				     struct meeting_audio_ref *out, int max, int *count);
/* Record sha256 (hex) for key, only if the meeting still has that audio. STORE_OK or
 * STORE_NOT_FOUND.
 */
enum store_rc meeting_set_audio_sha256(struct db_conn *c, const char *org_id, const char *id,
				       const char *key, const char *sha256);

/*
 * meeting_complete, only if the meeting still has the audio audio_key (the
 * one the job transcribed): a transcript of replaced or removed audio is
 * never stored. STORE_NOT_FOUND (nothing changed) otherwise.
 */
enum store_rc meeting_complete_audio(struct db_conn *c, const char *org_id, const char *id,
				     const char *audio_key, const char *language, const char *text,
				     const char *body, const char *provider, const char *model,
				     double confidence, double duration, const char *steps);
/* Mark failed with a sentence for people, and the steps JSON. */
enum store_rc meeting_fail(struct db_conn *c, const char *org_id, const char *id, const char *error,
			   const char *steps);
enum store_rc meeting_transcript_get(struct db_conn *c, const char *org_id, const char *meeting_id,
				     struct meeting_transcript *t);

#endif
