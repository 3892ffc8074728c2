/*
 * revisions.h — changes people make to a transcript, each one a revision
 * (see sql/0005_transcript_revisions.sql). A change is saved against the
 * version it was made from: if the transcript changed meanwhile, nothing is
 * written and the caller learns it is stale (optimistic concurrency; the
 * API's If-Match). Every function takes the caller's org_id.
 */
#ifndef IAM_REVISIONS_H
#define IAM_REVISIONS_H

#include <stdint.h>

#include "core/uuid.h"
#include "store/store.h"

/* Revisions kept per meeting (older ones are dropped; the original stays in transcripts). */
#define REVISIONS_KEPT 200

#define REVISION_ACTION_MAX 32

struct revision {
	int64_t version;
	char action[REVISION_ACTION_MAX];
	char author_id[UUID_STR_LEN]; /* "" = the machine (or a deleted user) */
	char author_email[320];
	char *summary; /* JSON text, malloc'd */
	char *body;    /* JSON text, malloc'd; NULL in lists */
	int64_t created_at;
};
void revision_clear(struct revision *r);

/*
 * Replace meeting_id's transcript with body (its plain text: text) if it is
 * still at version expected and the meeting is not being transcribed again,
 * and record the revision (author_id, action, summary JSON) in the same
 * transaction. *new_version gets the version written. STORE_OK,
 * STORE_NOT_FOUND (no such meeting or no transcript), STORE_STALE (the
 * transcript is no longer at version expected), STORE_MEETING_BUSY (the
 * meeting is being transcribed again: its transcript will be replaced), or
 * an error.
 */
enum store_rc revision_save(struct db_conn *c, const char *org_id, const char *meeting_id,
			    int64_t expected, const char *body, const char *text,
			    const char *author_id, const char *action, const char *summary,
			    int64_t *new_version);

/*
 * Up to max revisions of meeting_id, newest first, with versions below
 * before (0 = from the newest); bodies are not loaded; *count of them.
 * Clear each with revision_clear.
 */
enum store_rc revision_list(struct db_conn *c, const char *org_id, const char *meeting_id,
			    int64_t before, struct revision *out, int max, int *count);

/* One revision with its body. STORE_OK, STORE_NOT_FOUND or an error. */
enum store_rc revision_get(struct db_conn *c, const char *org_id, const char *meeting_id,
			   int64_t version, struct revision *out);

#endif
