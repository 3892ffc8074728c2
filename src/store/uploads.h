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
enum store_rc upload_create(struct db_conn *c, struct upload *u);
enum store_rc upload_get(struct db_conn *c, const char *org_id, const char *id, struct upload *u);
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
 * Take the writer lock for owner until lock_until (Unix ms). Returns STORE_OK,
 * STORE_NOT_FOUND (no such active upload), or 2 (STORE_UPLOAD_BUSY) when another
 * writer holds it. A lock whose lease ran out, or whose owner is a dead
 * process of this machine, is taken over.
 */
/* The lock is no longer owner's (its lease ran out and another writer took it). */
enum store_rc upload_lock(struct db_conn *c, const char *org_id, const char *id, const char *owner,
			  int64_t lock_until);
/* Extend owner's lease to lock_until. STORE_OK, STORE_UPLOAD_LOST, or an error. */
enum store_rc upload_renew(struct db_conn *c, const char *id, const char *owner,
			   int64_t lock_until);
/*
 * Record the new offset, push the expiry, and release owner's lock.
 * STORE_UPLOAD_LOST (nothing changed) when owner no longer holds the lock.
 */
enum store_rc upload_advance(struct db_conn *c, const char *id, const char *owner, int64_t offset,
			     int64_t expires_at);
/* Is id an active upload (any organization)? For the spool janitor. */
enum store_rc upload_is_active(struct db_conn *c, const char *id, bool *active);
/* Release owner's lock without changing the offset. */
enum store_rc upload_unlock(struct db_conn *c, const char *id, const char *owner);
/* state -> completed (after the audio became the meeting's). */
enum store_rc upload_complete(struct db_conn *c, const char *id);
/* state -> terminated. STORE_NOT_FOUND if not active. */
enum store_rc upload_terminate(struct db_conn *c, const char *org_id, const char *id);
/*
 * Up to max active uploads whose expires_at passed; marks them terminated
 * and writes their ids to ids[] (for removing their spool files) and their
 * number to *count.
 */
enum store_rc upload_expire(struct db_conn *c, int64_t now, char ids[][UUID_STR_LEN], int max,
			    int *count);

/* Ids of the meeting's active uploads (to remove their spool files); *count of them. */
enum store_rc upload_active_for_meeting(struct db_conn *c, const char *org_id,
					const char *meeting_id, char ids[][UUID_STR_LEN], int max,
					int *count);

#endif
