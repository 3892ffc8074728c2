/*
 * jobs.h (store) — the durable job queue in the jobs table (see
 * sql/0002_meetings.sql). States: queued -> running -> done; a failed
 * attempt goes to 'failed' with run_at in the future (retried from there),
 * the last one to 'dead'. A running job whose lease ran out (its worker
 * died) can be claimed again. At most one live (queued/running/failed) job
 * per (kind, dedupe_key).
 */
#ifndef IAM_STORE_JOBS_H
#define IAM_STORE_JOBS_H

#include <stdint.h>

#include "core/uuid.h"
#include "store/store.h"

#define JOB_KIND_MAX  32
#define JOB_OWNER_MAX 64
#define JOB_ERROR_MAX 1024

struct job {
	char id[UUID_STR_LEN];
	char org_id[UUID_STR_LEN]; /* "" when none */
	char kind[JOB_KIND_MAX];
	char *payload; /* JSON text, malloc'd: free with job_clear */
	char dedupe_key[128];
	int attempts; /* including the current one once claimed */
	int max_attempts;
	int64_t run_at;
	int64_t created_at;
};
void job_clear(struct job *j); /* frees payload */

/*
 * Enqueue. dedupe_key may be NULL. Returns STORE_OK (id filled), STORE_CONFLICT when
 * a live job with the same (kind, dedupe_key) exists, or an error.
 */
enum store_rc job_enqueue(struct db_conn *c, const char *org_id, const char *kind,
			  const char *payload, const char *dedupe_key, int max_attempts,
			  int64_t run_at, char id[UUID_STR_LEN]);

/*
 * Claim the next ready job (queued or failed with run_at <= now, or running
 * with an expired lease) for owner with a lease of lease_ms. Fair across
 * organizations: jobs of an organization already running per_org jobs (in
 * any process: counted in the table) are passed over (per_org 0: no
 * limit), and of the others the organization running the fewest goes
 * first, then the oldest run_at. Jobs without an organization are never
 * limited. PostgreSQL: FOR UPDATE SKIP LOCKED, plus an advisory lock that
 * makes limited claims take turns; SQLite: BEGIN IMMEDIATE.
 * A claimed job whose attempts now exceed max_attempts (its workers kept
 * dying) is marked dead instead and the next one is tried. Returns STORE_OK
 * (j filled; caller frees with job_clear), STORE_NOT_FOUND when nothing is
 * ready, or an error.
 */
enum store_rc job_claim(struct db_conn *c, const char *owner, int64_t lease_ms, int per_org,
			struct job *j);

/* Extend the lease. STORE_NOT_FOUND if owner no longer holds the job. */
enum store_rc job_renew(struct db_conn *c, const char *id, const char *owner, int64_t lease_ms);
/* Mark done. STORE_NOT_FOUND if owner no longer holds the job. */
enum store_rc job_done(struct db_conn *c, const char *id, const char *owner);
/*
 * Record a failed attempt: retry at retry_at ('failed'), or 'dead' when
 * retry_at is 0 or the attempts are used up. STORE_NOT_FOUND if owner no
 * longer holds the job.
 */
enum store_rc job_fail(struct db_conn *c, const char *id, const char *owner, const char *error,
		       int64_t retry_at);
/*
 * Give a job back without counting the attempt (shutdown): queued, run now.
 */
enum store_rc job_release(struct db_conn *c, const char *id, const char *owner);
/* Kill live jobs of (kind, dedupe_key), e.g. when their meeting is deleted. */
enum store_rc job_cancel(struct db_conn *c, const char *kind, const char *dedupe_key,
			 const char *reason);

struct job_counts {
	int64_t queued, running, failed, dead, done;
};
enum store_rc job_counts(struct db_conn *c, struct job_counts *out);

#endif
