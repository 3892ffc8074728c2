/*
 * ingest.h — how a received audio file becomes a meeting's audio, whatever
 * door it came through (a plain upload, the last tus PATCH, the
 * OpenAI-compatible endpoint): probe it, move it into the blob store,
 * attach it to the meeting (dropping the audio it replaces) and, if asked,
 * queue its transcription. Returns domain results; api/ turns them into
 * HTTP replies. Knows nothing of HTTP.
 */
#ifndef IAM_SERVICE_INGEST_H
#define IAM_SERVICE_INGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/meetings.h"
#include "store/store.h"

struct blob_store;
struct quota_usage;

enum ingest_rc {
	INGEST_OK = 0,
	INGEST_NOT_AUDIO,      /* not a container/codec we accept (detail says what it is) */
	INGEST_UNREADABLE,     /* audio we cannot read, or empty (detail says why) */
	INGEST_TOO_LONG,       /* longer than the maximum (detail states the limit) */
	INGEST_PROBE_FAILED,   /* the file could not be examined (our fault) */
	INGEST_STORAGE_FAILED, /* the blob store did not take it */
	INGEST_MEETING_BUSY,   /* the meeting is queued or transcribing: audio not replaced */
	INGEST_MEETING_GONE,   /* the meeting was deleted meanwhile */
	INGEST_DB_FAILED,      /* the database did not record it */
	INGEST_RELOAD_FAILED,  /* stored and attached, but the meeting could not be read back */
	INGEST_QUOTA,	       /* over the plan's minutes or storage (f->quota says which) */
};

/* Speaker bounds for diarization: 0 = not given; expected is an exact count. */
struct ingest_speakers {
	int expected, min, max;
};

/*
 * One bound as text ("3"): 0 when absent or empty, the number when it is a
 * whole number, else -1 (which ingest_speakers_problem refuses).
 */
int ingest_speakers_parse(const char *text);

/*
 * NULL when the bounds can be used, else a sentence (static) saying what
 * is wrong, and in *field which of "speakers_expected", "min_speakers",
 * "max_speakers" it is about. Given values must be 1..DIAR_MAX_SPEAKERS (a
 * negative value stands for one that was given but is not a number); an
 * exact count excludes min/max; min must not exceed max.
 */
const char *ingest_speakers_problem(const struct ingest_speakers *s, const char **field);

/* A received file: spooled at path, size bytes, SHA-256 hex (NULL: computed later). */
struct ingest_file {
	const char *path;
	const char *filename; /* as the client named it; NULL for none */
	int64_t size;
	const char *sha256;
	/* Diarization hints sent with the file, used when it is queued (NULL: none). */
	const struct ingest_speakers *speakers;
	/* Filled when the result is INGEST_QUOTA (NULL: not wanted). */
	struct quota_usage *quota;
};

/* Queue a transcription of meeting m as well (the next step after attaching). */
enum ingest_queue { INGEST_ATTACH_ONLY = 0, INGEST_AND_QUEUE };

/*
 * Make f the audio of meeting m (its id and org_id set). The file at
 * f->path is consumed either way. On INGEST_OK m is reloaded; detail gets a
 * sentence for a person on every failure.
 */
enum ingest_rc ingest_audio(struct blob_store *blob, struct db_conn *c, struct meeting *m,
			    const struct ingest_file *f, enum ingest_queue queue, char *detail,
			    size_t detaillen);

/*
 * Queue transcription of meeting m (status -> queued, in one transaction
 * with the job). language/provider may be NULL. STORE_CONFLICT when a job
 * for it is already queued or running.
 */
enum store_rc ingest_queue_transcription(struct db_conn *c, struct meeting *m, const char *language,
					 const char *provider,
					 const struct ingest_speakers *speakers);

/*
 * ingest_queue_transcription, only when the meeting's whole duration fits
 * the organization's minutes left, checked in the queueing transaction
 * (one decision per organization at a time; queued audio counts as used).
 * When it does not: nothing is queued, *over is true, *quota says why.
 */
enum store_rc ingest_queue_within_quota(struct db_conn *c, struct meeting *m, const char *language,
					const char *provider,
					const struct ingest_speakers *speakers,
					struct quota_usage *quota, bool *over);

#endif
