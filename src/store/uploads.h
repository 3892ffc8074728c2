/*
 * uploads.h — tus 1.0 resumable uploads. The bytes are appended to a spool
 * file named after the upload id (in the blob store's spool directory);
 * the row tracks the offset. One PATCH at a time per upload: a writer takes
 * a lock (lock_owner, lock_expires_at) so two clients can never append at
 * once. The lock is a short lease that the writer renews while it writes
 * (upload_renew) and gives up if it cannot; its owner is a server-made id
 * that names the process (upload_owner_new), so a lock whose process is
 * gone dies with it: at once when that process ran on this machine
 * (upload_owner_dead), else when the lease runs out.
 */
#ifndef IAM_UPLOADS_H
#define IAM_UPLOADS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/uuid.h"
#include "store/store.h"

#define UPLOAD_METADATA_MAX 4096

struct upload {
	char id[UUID_STR_LEN];
	char org_id[UUID_STR_LEN];
	char user_id[UUID_STR_LEN];
	char meeting_id[UUID_STR_LEN];
	int64_t length;
	int64_t offset;
	char filename[1024];
	char metadata[UPLOAD_METADATA_MAX + 1];
	char state[16]; /* active, completed, terminated */
	int64_t expires_at;
	int64_t created_at;
};

/* Insert u (id and times set here; expires_at as given). */
int upload_create(struct db_conn *c, struct upload *u);
int upload_get(struct db_conn *c, const char *org_id, const char *id, struct upload *u);
#define UPLOAD_OWNER_MAX 160
/*
 * A fresh lock owner id: "<host>/<boot id>/<pid>/<process start>/<random>".
 * Never derived from the request.
 */
void upload_owner_new(char out[UPLOAD_OWNER_MAX]);
/*
 * True when owner names a process of this machine (same host name and
 * boot) that no longer runs: its locks can be taken over at once. False
 * when it runs, or when it is unknown (another machine: its lease decides).
 */
bool upload_owner_dead(const char *owner);

/*
 * Take the writer lock for owner until lock_until (Unix ms). Returns DB_OK,
 * STORE_NOT_FOUND (no such active upload), or 2 (UPLOAD_BUSY) when another
 * writer holds it. A lock whose lease ran out, or whose owner is a dead
 * process of this machine, is taken over.
 */
#define UPLOAD_BUSY 2
/* The lock is no longer owner's (its lease ran out and another writer took it). */
#define UPLOAD_LOST 3
int upload_lock(struct db_conn *c, const char *org_id, const char *id, const char *owner,
		int64_t lock_until);
/* Extend owner's lease to lock_until. DB_OK, UPLOAD_LOST, or an error. */
int upload_renew(struct db_conn *c, const char *id, const char *owner, int64_t lock_until);
/*
 * Record the new offset, push the expiry, and release owner's lock.
 * UPLOAD_LOST (nothing changed) when owner no longer holds the lock.
 */
int upload_advance(struct db_conn *c, const char *id, const char *owner, int64_t offset,
		   int64_t expires_at);
/* Is id an active upload (any organization)? For the spool janitor. 1, 0 or a db_rc. */
int upload_is_active(struct db_conn *c, const char *id);
/* Release owner's lock without changing the offset. */
int upload_unlock(struct db_conn *c, const char *id, const char *owner);
/* state -> completed (after the audio became the meeting's). */
int upload_complete(struct db_conn *c, const char *id);
/* state -> terminated. STORE_NOT_FOUND if not active. */
int upload_terminate(struct db_conn *c, const char *org_id, const char *id);
/*
 * Up to max active uploads whose expires_at passed; marks them terminated
 * and writes their ids to ids[] (for removing their spool files). Returns
 * the count or a negative db_rc.
 */
int upload_expire(struct db_conn *c, int64_t now, char ids[][UUID_STR_LEN], int max);

/* Ids of the meeting's active uploads (to remove their spool files). Count or db_rc. */
int upload_active_for_meeting(struct db_conn *c, const char *org_id, const char *meeting_id,
			      char ids[][UUID_STR_LEN], int max);

#endif
