/*
 * janitor.c — see janitor.h.
 */
#include "service/janitor.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "blob/blob.h"
#include "core/crypto.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "core/uuid.h"
#include "store/audit.h"
#include "store/idempotency.h"
#include "store/meetings.h"
#include "store/orgs.h"
#include "store/uploads.h"

/*
 * Spool files nobody will finish: a direct upload cut by a crash (kill -9)
 * leaves "up-..." behind, a finished or terminated tus upload whose process
 * died before removing it "tus-...". A file goes when it has not been
 * written for IAM_SPOOL_ORPHAN_AGE_S and no active upload names it.
 */
static void spool_sweep(const struct janitor_env *env, struct db_conn *c)
{
	const char *dir = blob_spool_dir(env->blob);
	DIR *d = opendir(dir);
	if (!d)
		return;
	int dfd = dirfd(d), removed = 0;
	time_t now = time(NULL);
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		struct stat st;
		if (fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || S_ISDIR(st.st_mode))
			continue;
		if ((long)(now - st.st_mtime) < env->orphan_age_s)
			continue;
		if (strncmp(e->d_name, "tus-", 4) == 0 && uuid_valid(e->d_name + 4)) {
			bool active;
			if (upload_is_active(c, e->d_name + 4, &active) != STORE_OK || active)
				continue; /* still resumable (or the database could not tell) */
		}
		if (unlinkat(dfd, e->d_name, 0) == 0)
			removed++;
	}
	closedir(d);
	if (removed > 0)
		log_info("orphan spool files removed", json_pack("{s:i}", "count", removed));
}

/* The file's SHA-256 (hex), read back from disk. false if it could not be read. */
static bool file_sha256(const char *path, char hex[65])
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return false;
	struct sha256_ctx h;
	sha256_init(&h);
	enum { CHUNK = 1024 * 1024 };
	char *buf = malloc(CHUNK);
	ssize_t n = -1;
	if (buf) {
		while ((n = read(fd, buf, CHUNK)) > 0 || (n < 0 && errno == EINTR))
			if (n > 0)
				sha256_update(&h, (size_t)n, (const uint8_t *)buf);
	}
	free(buf);
	close(fd);
	if (n < 0)
		return false;
	unsigned char d[SHA256_DIGEST_SIZE];
	sha256_digest(&h, sizeof d, d);
	crypto_hex(d, sizeof d, hex);
	return true;
}

/*
 * Audio stored without its SHA-256 (tus uploads): compute a few per round,
 * going round the table so that one unreadable file does not hold up the
 * others. Only the janitor thread calls this.
 */
static void hash_pending(const struct janitor_env *env, struct db_conn *c)
{
	static char after[UUID_STR_LEN];
	struct meeting_audio_ref refs[4];
	int n = 0;
	if (meeting_audio_unhashed(c, after, refs, 4, &n) != STORE_OK)
		n = 0;
	after[0] = '\0';
	if (n == 4)
		snprintf(after, sizeof after, "%s", refs[3].id);
	for (int i = 0; i < n; i++) {
		char path[1024], hex[65];
		if (blob_local_path(env->blob, refs[i].audio_key, path, sizeof path) != 0 ||
		    !file_sha256(path, hex))
			continue; /* removed meanwhile, or unreadable now: the next round tries
				     again */
		meeting_set_audio_sha256(c, refs[i].org_id, refs[i].id, refs[i].audio_key, hex);
	}
}

/*
 * Meetings older than their organization's retention period go, like a
 * deletion through the API: the rows first, then the audio (a crash in
 * between leaves an orphan file, never a meeting without its audio).
 */
static void retention_sweep(const struct janitor_env *env, struct db_conn *c)
{
	struct org_expired due[32];
	int n = 0;
	if (org_retention_due(c, time_now_ms(), 32, due, &n) != STORE_OK)
		return;
	int removed = 0;
	for (int i = 0; i < n; i++) {
		char key[96];
		if (meeting_delete(c, due[i].org_id, due[i].id, key) != STORE_OK)
			continue;
		removed++;
		if (key[0] && blob_delete(env->blob, key) < 0)
			log_warn("could not delete audio", json_pack("{s:s}", "key", key));
	}
	if (removed > 0)
		log_info("meetings past their retention removed",
			 json_pack("{s:i}", "count", removed));
}

void janitor_run(const struct janitor_env *env)
{
	struct db_conn *c = db_acquire_system(env->db, 1000);
	if (!c)
		return;
	char ids[64][UUID_STR_LEN];
	int n = 0;
	if (upload_expire(c, time_now_ms(), ids, 64, &n) != STORE_OK)
		n = 0;
	for (int i = 0; i < n; i++) {
		char path[1100];
		snprintf(path, sizeof path, "%.1000s/tus-%.36s", blob_spool_dir(env->blob), ids[i]);
		unlink(path);
	}
	if (n > 0)
		log_info("expired uploads removed", json_pack("{s:i}", "count", n));
	spool_sweep(env, c);
	int64_t purged;
	idem_purge(c, time_now_ms(), &purged);
	hash_pending(env, c);
	retention_sweep(env, c);
	if (env->audit_retention_days > 0) {
		/* In bounded batches, so one round never holds the database for long. */
		int64_t before = time_now_ms() - (int64_t)env->audit_retention_days * 86400000;
		int64_t n_audit = 0, total = 0;
		for (int i = 0; i < 10; i++) {
			if (audit_purge(c, before, 1000, &n_audit) != STORE_OK || n_audit == 0)
				break;
			total += n_audit;
		}
		if (total > 0)
			log_info("old audit events removed",
				 json_pack("{s:I}", "count", (json_int_t)total));
	}
	db_release(c);
}
