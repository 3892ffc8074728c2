/*
 * jobs.c (store) — the durable job queue. See store/jobs.h for the contract.
 *
 * Every state change after the claim is guarded by "lease_owner = owner AND
 * state = 'running'": a worker whose lease ran out (and whose job another
 * worker has since claimed) gets STORE_NOT_FOUND and cannot overwrite the
 * new owner's work.
 */
#include "store/jobs.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/log.h"
#include "core/timeutil.h"

#define JOB_DEDUPE_MAX		 ((int)sizeof(((struct job *)0)->dedupe_key))
#define JOB_DEFAULT_MAX_ATTEMPTS 5
/* job_claim internal: a job was buried, look for the next one. */
#define CLAIM_AGAIN 2

void job_clear(struct job *j)
{
	if (!j)
		return;
	free(j->payload);
	j->payload = NULL;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if it is not one. */
static size_t utf8_seq(const unsigned char *s)
{
	size_t n;
	uint32_t cp;
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0; /* also stops at the NUL */
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/*
 * Copy an error message for the last_error column: at most dstlen - 1
 * bytes, cut on a character boundary, bytes that are not UTF-8 replaced by
 * '?' (PostgreSQL refuses invalid text, and the statement recording the
 * failure must not fail on it).
 */
static void error_copy(char *dst, size_t dstlen, const char *src)
{
	size_t o = 0;
	const unsigned char *s = (const unsigned char *)(src ? src : "");
	while (*s) {
		size_t n = utf8_seq(s);
		if (n == 0) {
			if (o + 1 >= dstlen)
				break;
			dst[o++] = '?';
			s++;
			continue;
		}
		if (o + n >= dstlen)
			break;
		memcpy(dst + o, s, n);
		o += n;
		s += n;
	}
	dst[o] = '\0';
}

enum store_rc job_enqueue(struct db_conn *c, const char *org_id, const char *kind,
			  const char *payload, const char *dedupe_key, int max_attempts,
			  int64_t run_at, char id[UUID_STR_LEN])
{
	/* What we cannot read back into struct job whole is refused here. */
	if (!kind || !*kind || strlen(kind) >= JOB_KIND_MAX)
		return STORE_ERROR;
	if (dedupe_key && strlen(dedupe_key) >= (size_t)JOB_DEDUPE_MAX)
		return STORE_ERROR;
	if (max_attempts < 1)
		max_attempts = JOB_DEFAULT_MAX_ATTEMPTS;
	int64_t now = time_now_ms();
	if (run_at <= 0)
		run_at = now;
	uuid_v7(id);
	return store_rc_of(
	    db_exec(c,
		    "INSERT INTO jobs (id, org_id, kind, payload, dedupe_key, state, attempts,"
		    " max_attempts, run_at, created_at, updated_at)"
		    " VALUES ($1, $2, $3, $4, $5, 'queued', 0, $6, $7, $8, $8)",
		    DB_PARAMS(DB_TEXT(id), DB_TEXT(org_id && *org_id ? org_id : NULL),
			      DB_TEXT(kind), DB_TEXT(payload ? payload : "{}"), DB_TEXT(dedupe_key),
			      DB_INT(max_attempts), DB_INT(run_at), DB_INT(now)),
		    NULL));
}

/*
 * The claim itself: one statement that picks the next ready job and takes
 * it. Fair across organizations: the jobs each organization runs now (live
 * leases only: a worker whose lease ran out is gone) are counted once, an
 * organization at its limit ($4 > 0) is passed over, and of the rest the
 * organization running the fewest goes first, then the oldest job: round
 * robin, so a burst from one tenant cannot hold every worker while another
 * tenant waits. Jobs of no organization count as running none and are
 * never limited.
 *
 * On PostgreSQL, SKIP LOCKED lets concurrent claimers pass over a row
 * another one is taking (READ COMMITTED re-checks the WHERE on a row that
 * changed under us, so a job is never handed out twice); with a limit the
 * caller also holds the claim lock, so the counts every claimer sees are
 * current. SQLite has one writer at a time; the caller holds BEGIN
 * IMMEDIATE.
 */
#define CLAIM_SQL_HEAD                                                                             \
	"UPDATE jobs SET state = 'running', lease_owner = $1, lease_expires_at = $2,"              \
	" attempts = attempts + 1, updated_at = $3"                                                \
	" WHERE id = (WITH busy AS (SELECT org_id, count(*) AS n FROM jobs"                        \
	" WHERE state = 'running' AND lease_expires_at >= $3 AND org_id IS NOT NULL"               \
	" GROUP BY org_id)"                                                                        \
	" SELECT j.id FROM jobs j LEFT JOIN busy ON busy.org_id = j.org_id"                        \
	" WHERE ((j.state IN ('queued', 'failed') AND j.run_at <= $3)"                             \
	" OR (j.state = 'running' AND j.lease_expires_at < $3))"                                   \
	" AND (CAST($4 AS BIGINT) <= 0 OR COALESCE(busy.n, 0) < CAST($4 AS BIGINT))"               \
	" ORDER BY COALESCE(busy.n, 0), j.run_at, j.id LIMIT 1"
#define CLAIM_SQL_TAIL                                                                             \
	") RETURNING id, org_id, kind, payload, dedupe_key, attempts, max_attempts, run_at,"       \
	" created_at"

static const char CLAIM_SQL_PG[] = CLAIM_SQL_HEAD " FOR UPDATE OF j SKIP LOCKED" CLAIM_SQL_TAIL;
static const char CLAIM_SQL_SQLITE[] = CLAIM_SQL_HEAD CLAIM_SQL_TAIL;
/*
 * PostgreSQL, with a per-organization limit: claims take turns ("IAMJOBCL"
 * as a 64-bit key), else two claimers counting at once could both start
 * an organization's last allowed job. A claim is one short statement; the
 * lock ends with its transaction, so a crashed claimer never keeps it.
 */
#define CLAIM_LOCK_SQL "SELECT pg_advisory_xact_lock(5278585219807593292)"

/* Run the claim statement once: DB_OK (j filled), STORE_NOT_FOUND or an error. */
static int claim_once(struct db_conn *c, const char *owner, int64_t lease_ms, int per_org,
		      struct job *j)
{
	int64_t now = time_now_ms();
	const char *sql = db_conn_dialect(c) == DB_PG ? CLAIM_SQL_PG : CLAIM_SQL_SQLITE;
	int rc = DB_ERR;
	struct db_res *r = db_query(
	    c, sql, DB_PARAMS(DB_TEXT(owner), DB_INT(now + lease_ms), DB_INT(now), DB_INT(per_org)),
	    &rc);
	if (!r)
		return rc;
	rc = db_next(r);
	if (rc == 1) {
		memset(j, 0, sizeof *j);
		store_copy(j->id, sizeof j->id, r, 0);
		store_copy(j->org_id, sizeof j->org_id, r, 1);
		store_copy(j->kind, sizeof j->kind, r, 2);
		store_copy(j->dedupe_key, sizeof j->dedupe_key, r, 4);
		j->attempts = (int)db_int(r, 5);
		j->max_attempts = (int)db_int(r, 6);
		j->run_at = db_int(r, 7);
		j->created_at = db_int(r, 8);
		j->payload = strdup(db_text(r, 3));
		rc = j->payload ? DB_OK : DB_ERR;
		/* Let the statement run to its end before anyone commits. */
		if (rc == DB_OK && db_next(r) < 0)
			rc = DB_ERR;
	} else if (rc == 0) {
		rc = STORE_NOT_FOUND;
	}
	db_res_free(r);
	if (rc != DB_OK)
		job_clear(j);
	return rc;
}

/* A claimed job whose workers kept dying: dead, not run again. */
static int claim_bury(struct db_conn *c, const struct job *j, const char *owner)
{
	char why[128];
	snprintf(why, sizeof why, "the worker running it stopped %d times", j->attempts - 1);
	int64_t now = time_now_ms();
	int rc =
	    db_exec(c,
		    "UPDATE jobs SET state = 'dead', last_error = $3, finished_at = $4,"
		    " updated_at = $4, lease_owner = NULL, lease_expires_at = NULL"
		    " WHERE id = $1 AND lease_owner = $2 AND state = 'running'",
		    DB_PARAMS(DB_TEXT(j->id), DB_TEXT(owner), DB_TEXT(why), DB_INT(now)), NULL);
	if (rc == DB_OK)
		log_warn("job dead: attempts used up by lost leases",
			 json_pack("{s:s,s:s,s:i}", "job_id", j->id, "kind", j->kind, "attempts",
				   j->attempts));
	return rc;
}

enum store_rc job_claim(struct db_conn *c, const char *owner, int64_t lease_ms, int per_org,
			struct job *j)
{
	if (!c || !owner || !j)
		return STORE_ERROR;
	memset(j, 0, sizeof *j);
	if (per_org < 0)
		per_org = 0;
	bool pg = db_conn_dialect(c) == DB_PG;
	bool tx = !pg || per_org > 0;
	for (;;) {
		int rc;
		if (tx && (rc = db_begin(c)) != DB_OK)
			return store_rc_of(rc);
		rc = pg && per_org > 0 ? db_exec(c, CLAIM_LOCK_SQL, NULL, 0, NULL) : DB_OK;
		if (rc == DB_OK)
			rc = claim_once(c, owner, lease_ms, per_org, j);
		if (rc == DB_OK && j->attempts > j->max_attempts) {
			rc = claim_bury(c, j, owner);
			job_clear(j);
			if (rc == DB_OK)
				rc = CLAIM_AGAIN;
		}
		if (tx) {
			if (rc == DB_OK || rc == STORE_NOT_FOUND || rc == CLAIM_AGAIN) {
				int crc = db_commit(c);
				if (crc != DB_OK) {
					db_rollback(c);
					job_clear(j);
					return store_rc_of(crc);
				}
			} else {
				db_rollback(c);
			}
		}
		if (rc != CLAIM_AGAIN)
			return store_rc_of(rc);
	}
}

/* Run a guarded UPDATE: DB_OK if it changed the row, STORE_NOT_FOUND if not. */
static int job_update(struct db_conn *c, const char *sql, const struct db_param *p, size_t n)
{
	int64_t changes = 0;
	int rc = db_exec(c, sql, p, n, &changes);
	if (rc != DB_OK)
		return rc;
	return changes > 0 ? DB_OK : STORE_NOT_FOUND;
}

enum store_rc job_renew(struct db_conn *c, const char *id, const char *owner, int64_t lease_ms)
{
	int64_t now = time_now_ms();
	return store_rc_of(job_update(
	    c,
	    "UPDATE jobs SET lease_expires_at = $3, updated_at = $4"
	    " WHERE id = $1 AND lease_owner = $2 AND state = 'running'",
	    DB_PARAMS(DB_TEXT(id), DB_TEXT(owner), DB_INT(now + lease_ms), DB_INT(now))));
}

enum store_rc job_done(struct db_conn *c, const char *id, const char *owner)
{
	return store_rc_of(
	    job_update(c,
		       "UPDATE jobs SET state = 'done', finished_at = $3, updated_at = $3,"
		       " lease_owner = NULL, lease_expires_at = NULL"
		       " WHERE id = $1 AND lease_owner = $2 AND state = 'running'",
		       DB_PARAMS(DB_TEXT(id), DB_TEXT(owner), DB_INT(time_now_ms()))));
}

enum store_rc job_fail(struct db_conn *c, const char *id, const char *owner, const char *error,
		       int64_t retry_at)
{
	char msg[JOB_ERROR_MAX];
	error_copy(msg, sizeof msg, error);
	if (retry_at < 0)
		retry_at = 0;
	/* $4 = 0 or the last attempt: dead; else failed until $4. The CASTs
	 * give PostgreSQL the parameter's type (an int literal would make it
	 * int4, too small for Unix ms). */
	return store_rc_of(job_update(
	    c,
	    "UPDATE jobs SET"
	    " state = CASE WHEN CAST($4 AS BIGINT) = 0 OR attempts >= max_attempts"
	    " THEN 'dead' ELSE 'failed' END,"
	    " run_at = CASE WHEN CAST($4 AS BIGINT) = 0 OR attempts >= max_attempts"
	    " THEN run_at ELSE CAST($4 AS BIGINT) END,"
	    " finished_at = CASE WHEN CAST($4 AS BIGINT) = 0 OR attempts >= max_attempts"
	    " THEN CAST($5 AS BIGINT) ELSE NULL END,"
	    " last_error = $3, updated_at = $5, lease_owner = NULL, lease_expires_at = NULL"
	    " WHERE id = $1 AND lease_owner = $2 AND state = 'running'",
	    DB_PARAMS(DB_TEXT(id), DB_TEXT(owner), DB_TEXT(msg), DB_INT(retry_at),
		      DB_INT(time_now_ms()))));
}

enum store_rc job_release(struct db_conn *c, const char *id, const char *owner)
{
	return store_rc_of(
	    job_update(c,
		       "UPDATE jobs SET state = 'queued',"
		       " attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END,"
		       " run_at = $3, updated_at = $3, lease_owner = NULL, lease_expires_at = NULL"
		       " WHERE id = $1 AND lease_owner = $2 AND state = 'running'",
		       DB_PARAMS(DB_TEXT(id), DB_TEXT(owner), DB_INT(time_now_ms()))));
}

enum store_rc job_cancel(struct db_conn *c, const char *kind, const char *dedupe_key,
			 const char *reason)
{
	char msg[JOB_ERROR_MAX];
	error_copy(msg, sizeof msg, reason ? reason : "cancelled");
	/* A running job's worker finds out at its next lease renewal. */
	return store_rc_of(db_exec(
	    c,
	    "UPDATE jobs SET state = 'dead', last_error = $3, finished_at = $4,"
	    " updated_at = $4, lease_owner = NULL, lease_expires_at = NULL"
	    " WHERE kind = $1 AND dedupe_key = $2"
	    " AND state IN ('queued', 'running', 'failed')",
	    DB_PARAMS(DB_TEXT(kind), DB_TEXT(dedupe_key), DB_TEXT(msg), DB_INT(time_now_ms())),
	    NULL));
}

enum store_rc job_counts(struct db_conn *c, struct job_counts *out)
{
	memset(out, 0, sizeof *out);
	int rc = DB_ERR;
	struct db_res *r =
	    db_query(c, "SELECT state, count(*) FROM jobs GROUP BY state", NULL, 0, &rc);
	if (!r)
		return store_rc_of(rc);
	while ((rc = db_next(r)) == 1) {
		const char *s = db_text(r, 0);
		int64_t n = db_int(r, 1);
		if (strcmp(s, "queued") == 0)
			out->queued = n;
		else if (strcmp(s, "running") == 0)
			out->running = n;
		else if (strcmp(s, "failed") == 0)
			out->failed = n;
		else if (strcmp(s, "dead") == 0)
			out->dead = n;
		else if (strcmp(s, "done") == 0)
			out->done = n;
	}
	db_res_free(r);
	return store_rc_of(rc < 0 ? rc : DB_OK);
}
