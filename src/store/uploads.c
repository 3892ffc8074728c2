#include "store/uploads.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "core/crypto.h"
#include "core/timeutil.h"

/* ---- lock owners ---- */

/* This process: host name, boot id, pid and start time ("host/boot/pid/start"). */
static char self_id[UPLOAD_OWNER_MAX - 20];
static pthread_once_t self_once = PTHREAD_ONCE_INIT;

/* Start time of pid in clock ticks since boot (field 22 of /proc/PID/stat); 0 if unknown. */
static unsigned long long proc_start(long pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%ld/stat", pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The command name (field 2) may hold spaces and ')': fields follow the last ')'. */
	char *p = strrchr(buf, ')');
	if (!p)
		return 0;
	unsigned long long start = 0;
	/* After ')': state (3) ... starttime (22), i.e. the 20th field from here. */
	if (sscanf(
		p + 1,
		" %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
		&start) != 1)
		return 0;
	return start;
}

static void boot_id(char out[40])
{
	out[0] = '\0';
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");
	if (f) {
		if (!fgets(out, 40, f))
			out[0] = '\0';
		fclose(f);
	}
	out[strcspn(out, "\n")] = '\0';
}

static void self_init(void)
{
	struct utsname u;
	char host[65] = "", boot[40];
	if (uname(&u) == 0)
		snprintf(host, sizeof host, "%s", u.nodename);
	for (char *p = host; *p; p++)
		if (*p == '/')
			*p = '_';
	boot_id(boot);
	snprintf(self_id, sizeof self_id, "%.64s/%.36s/%ld/%llu", host, boot, (long)getpid(),
		 proc_start((long)getpid()));
}

void upload_owner_new(char out[UPLOAD_OWNER_MAX])
{
	pthread_once(&self_once, self_init);
	unsigned char rnd[8];
	char hex[17];
	crypto_random(rnd, sizeof rnd);
	crypto_hex(rnd, sizeof rnd, hex);
	snprintf(out, UPLOAD_OWNER_MAX, "%s/%s", self_id, hex);
}

bool upload_owner_dead(const char *owner)
{
	pthread_once(&self_once, self_init);
	if (!owner)
		return false;
	/* Same host and boot as this process? Compare "host/boot/" prefixes. */
	const char *a = strchr(self_id, '/');
	a = a ? strchr(a + 1, '/') : NULL;
	if (!a)
		return false;
	size_t prefix = (size_t)(a - self_id) + 1;
	if (strncmp(owner, self_id, prefix) != 0)
		return false;
	char *end;
	errno = 0;
	long pid = strtol(owner + prefix, &end, 10);
	if (errno || end == owner + prefix || *end != '/' || pid <= 0)
		return false;
	unsigned long long start = strtoull(end + 1, &end, 10);
	if (*end != '/' || start == 0)
		return false;
	if (pid == (long)getpid())
		return start != proc_start(pid); /* a predecessor that had our pid */
	unsigned long long now = proc_start(pid);
	return now == 0 || now != start; /* gone, or the pid was reused */
}

enum store_rc upload_create(struct db_conn *c, struct upload *u)
{
	uuid_v7(u->id);
	u->created_at = time_now_ms();
	u->offset = 0;
	snprintf(u->state, sizeof u->state, "active");
	return store_rc_of(
	    db_exec(c,
		    "INSERT INTO uploads (id, org_id, user_id, meeting_id, length, offset_bytes,"
		    " filename, metadata, state, expires_at, created_at, updated_at)"
		    " VALUES ($1, $2, $3, $4, $5, 0, $6, $7, 'active', $8, $9, $9)",
		    DB_PARAMS(DB_TEXT(u->id), DB_TEXT(u->org_id),
			      DB_TEXT(u->user_id[0] ? u->user_id : NULL), DB_TEXT(u->meeting_id),
			      DB_INT(u->length), DB_TEXT(u->filename), DB_TEXT(u->metadata),
			      DB_INT(u->expires_at), DB_INT(u->created_at)),
		    NULL));
}

enum store_rc upload_get(struct db_conn *c, const char *org_id, const char *id, struct upload *u)
{
	int rc;
	struct db_res *r =
	    db_query(c,
		     "SELECT id, org_id, user_id, meeting_id, length, offset_bytes, filename,"
		     " metadata, state, expires_at, created_at FROM uploads"
		     " WHERE id = $1 AND org_id = $2",
		     DB_PARAMS(DB_TEXT(id), DB_TEXT(org_id)), &rc);
	if (!r)
		return store_rc_of(rc);
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
	return store_rc_of(rc);
}

/* The current lock owner of an active upload ("" when none). DB_OK, STORE_NOT_FOUND or error. */
static int lock_owner_of(struct db_conn *c, const char *org_id, const char *id,
			 char owner[UPLOAD_OWNER_MAX])
{
	int rc;
	struct db_res *r = db_query(c,
				    "SELECT lock_owner FROM uploads"
				    " WHERE id = $1 AND org_id = $2 AND state = 'active'",
				    DB_PARAMS(DB_TEXT(id), DB_TEXT(org_id)), &rc);
	if (!r)
		return rc;
	rc = db_next(r);
	if (rc == 1)
		store_copy(owner, UPLOAD_OWNER_MAX, r, 0);
	db_res_free(r);
	return rc == 1 ? DB_OK : rc == 0 ? STORE_NOT_FOUND : rc;
}

enum store_rc upload_lock(struct db_conn *c, const char *org_id, const char *id, const char *owner,
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
		return store_rc_of(rc);
	if (changes)
		return STORE_OK;
	char held[UPLOAD_OWNER_MAX] = "";
	rc = lock_owner_of(c, org_id, id, held);
	if (rc)
		return store_rc_of(rc);
	if (!held[0] || !upload_owner_dead(held))
		return STORE_UPLOAD_BUSY;
	/* Its holder died on this machine (kill -9, crash): take over now, only from that holder.
	 */
	rc = db_exec(c,
		     "UPDATE uploads SET lock_owner = $3, lock_expires_at = $4"
		     " WHERE id = $1 AND org_id = $2 AND state = 'active' AND lock_owner = $5",
		     DB_PARAMS(DB_TEXT(id), DB_TEXT(org_id), DB_TEXT(owner), DB_INT(lock_until),
			       DB_TEXT(held)),
		     &changes);
	return store_rc_of(rc ? rc : changes ? DB_OK : STORE_UPLOAD_BUSY);
}

enum store_rc upload_renew(struct db_conn *c, const char *id, const char *owner, int64_t lock_until)
{
	int64_t changes = 0;
	int rc = db_exec(c,
			 "UPDATE uploads SET lock_expires_at = $3"
			 " WHERE id = $1 AND lock_owner = $2 AND state = 'active'",
			 DB_PARAMS(DB_TEXT(id), DB_TEXT(owner), DB_INT(lock_until)), &changes);
	return store_rc_of(rc ? rc : changes ? DB_OK : STORE_UPLOAD_LOST);
}

enum store_rc upload_advance(struct db_conn *c, const char *id, const char *owner, int64_t offset,
			     int64_t expires_at)
{
	int64_t changes = 0;
	int rc = db_exec(c,
			 "UPDATE uploads SET offset_bytes = $3, expires_at = $4, lock_owner = NULL,"
			 " lock_expires_at = NULL, updated_at = $5"
			 " WHERE id = $1 AND lock_owner = $2 AND state = 'active'",
			 DB_PARAMS(DB_TEXT(id), DB_TEXT(owner), DB_INT(offset), DB_INT(expires_at),
				   DB_INT(time_now_ms())),
			 &changes);
	return store_rc_of(rc ? rc : changes ? DB_OK : STORE_UPLOAD_LOST);
}

enum store_rc upload_is_active(struct db_conn *c, const char *id, bool *active)
{
	int rc;
	*active = false;
	struct db_res *r = db_query(c, "SELECT 1 FROM uploads WHERE id = $1 AND state = 'active'",
				    DB_PARAMS(DB_TEXT(id)), &rc);
	if (!r)
		return store_rc_of(rc);
	rc = db_next(r);
	db_res_free(r);
	*active = rc == 1;
	return rc < 0 ? store_rc_of(rc) : STORE_OK;
}

enum store_rc upload_unlock(struct db_conn *c, const char *id, const char *owner)
{
	return store_rc_of(db_exec(c,
				   "UPDATE uploads SET lock_owner = NULL, lock_expires_at = NULL"
				   " WHERE id = $1 AND lock_owner = $2",
				   DB_PARAMS(DB_TEXT(id), DB_TEXT(owner)), NULL));
}

enum store_rc upload_complete(struct db_conn *c, const char *id)
{
	return store_rc_of(
	    db_exec(c, "UPDATE uploads SET state = 'completed', updated_at = $2 WHERE id = $1",
		    DB_PARAMS(DB_TEXT(id), DB_INT(time_now_ms())), NULL));
}

enum store_rc upload_terminate(struct db_conn *c, const char *org_id, const char *id)
{
	int64_t changes = 0;
	int rc =
	    db_exec(c,
		    "UPDATE uploads SET state = 'terminated', lock_owner = NULL, updated_at = $3"
		    " WHERE id = $1 AND org_id = $2 AND state = 'active'",
		    DB_PARAMS(DB_TEXT(id), DB_TEXT(org_id), DB_INT(time_now_ms())), &changes);
	return store_rc_of(rc ? rc : changes ? DB_OK : STORE_NOT_FOUND);
}

enum store_rc upload_expire(struct db_conn *c, int64_t now, char ids[][UUID_STR_LEN], int max,
			    int *count)
{
	int rc;
	*count = 0;
	struct db_res *r =
	    db_query(c,
		     "SELECT id FROM uploads WHERE state = 'active' AND expires_at < $1"
		     " AND (lock_owner IS NULL OR lock_expires_at < $1) LIMIT $2",
		     DB_PARAMS(DB_INT(now), DB_INT(max)), &rc);
	if (!r)
		return store_rc_of(rc);
	int n = 0;
	while (n < max && (rc = db_next(r)) == 1)
		store_copy(ids[n++], UUID_STR_LEN, r, 0);
	db_res_free(r);
	if (rc < 0)
		return store_rc_of(rc);
	for (int i = 0; i < n; i++)
		db_exec(c, "UPDATE uploads SET state = 'terminated', updated_at = $2 WHERE id = $1",
			DB_PARAMS(DB_TEXT(ids[i]), DB_INT(now)), NULL);
	*count = n;
	return STORE_OK;
}

enum store_rc upload_active_for_meeting(struct db_conn *c, const char *org_id,
					const char *meeting_id, char ids[][UUID_STR_LEN], int max,
					int *count)
{
	int rc;
	*count = 0;
	struct db_res *r =
	    db_query(c,
		     "SELECT id FROM uploads WHERE org_id = $1 AND meeting_id = $2"
		     " AND state = 'active' LIMIT $3",
		     DB_PARAMS(DB_TEXT(org_id), DB_TEXT(meeting_id), DB_INT(max)), &rc);
	if (!r)
		return store_rc_of(rc);
	int n = 0;
	while (n < max && (rc = db_next(r)) == 1)
		store_copy(ids[n++], UUID_STR_LEN, r, 0);
	db_res_free(r);
	if (rc < 0)
		return store_rc_of(rc);
	*count = n;
	return STORE_OK;
}
