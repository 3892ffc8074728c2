/*
 * jobs.h — the worker pool that runs jobs from the durable queue.
 *
 * N threads claim jobs (store/jobs.h) with a lease and run the handler
 * registered for the job's kind. A separate thread renews the leases of
 * running jobs every lease/3; if a renewal finds the lease lost (another
 * worker took the job), the job's cancel flag is set. Failures are retried
 * with exponential backoff (base * 2^(attempt-1), capped, with jitter)
 * until max_attempts, then the job is dead. Workers wake on jobs_notify()
 * (an enqueue in this process) or by polling every poll_ms (enqueues by
 * other processes).
 */
#ifndef IAM_JOBS_H
#define IAM_JOBS_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "store/db.h"
#include "store/jobs.h"

enum job_result {
	JOB_OK = 0,    /* done */
	JOB_RETRY = 1, /* failed this time; try again later (if attempts remain) */
	JOB_FAIL = 2   /* failed for good: dead now */
};

struct job_run {
	const struct job *job;	   /* id, org_id, kind, payload text, attempts, max_attempts */
	json_t *payload;	   /* parsed payload (object), owned by the pool */
	atomic_bool cancel;	   /* set when the lease is lost or the pool is stopping */
	bool stopping;		   /* the pool is stopping (cancel is set too) */
	char error[JOB_ERROR_MAX]; /* handler writes why it failed */
	void *app;		   /* handed through from jobs_new */
};

typedef enum job_result (*job_fn)(struct job_run *run);

struct jobs_config {
	int threads;		  /* worker threads (0 = none: enqueue only) */
	int lease_ms;		  /* default 30000 */
	int poll_ms;		  /* default 1000 */
	int backoff_base_ms;	  /* default 5000 */
	int backoff_max_ms;	  /* default 600000 */
	const char *owner_prefix; /* e.g. hostname:pid; a per-thread suffix is added */
	int per_org; /* most running jobs per organization, all processes (0 = no limit) */
};

struct jobs;
/* Create a pool (not started). Caller frees with jobs_stop. */
struct jobs *jobs_new(struct db *db, const struct jobs_config *cfg, void *app);
/* Register the handler for kind (before jobs_start). 0 or -1. */
int jobs_register(struct jobs *p, const char *kind, job_fn fn);
/* Start the threads. 0 or -1. */
int jobs_start(struct jobs *p);
/* Wake idle workers now (a job was enqueued by this process). */
void jobs_notify(struct jobs *p);
/*
 * Begin stopping, and return at once: no new claims; running handlers get
 * cancel + stopping now (so they wind down while, say, HTTP drains). NULL
 * is a no-op; calling it again, or then jobs_stop, is fine.
 */
void jobs_stop_begin(struct jobs *p);
/*
 * Stop: jobs_stop_begin, then up to grace_s for running handlers to
 * return; a job cancelled by stopping is released (not counted as an
 * attempt). Joins the threads and frees the pool. Returns how many
 * handlers were still running when the grace ran out: those are abandoned
 * (their threads go on; the pool is leaked for them) and, while any may
 * run, the caller must not free what they use (database, engines, blobs).
 * NULL is a no-op (0).
 */
int jobs_stop(struct jobs *p, int grace_s);

#endif
