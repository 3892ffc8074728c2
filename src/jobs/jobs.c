/*
 * jobs.c — the worker pool. See jobs.h for the contract.
 *
 * Threads: N workers and one lease thread. A worker holds a database
 * connection only to claim a job and to record its outcome, never while the
 * handler runs (a handler that needs the database acquires its own), so a
 * pool of long jobs cannot starve the rest of the process of connections.
 *
 * Locking: pool->mu guards the stopping flags, the notify sequence and each
 * worker's busy/job/abandoned fields as seen by other threads. A worker
 * reads its own job without the lock while busy: nobody else writes it then.
 */
#include "jobs/jobs.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "core/crypto.h"
#include "core/log.h"
#include "core/timeutil.h"

#define JOBS_DEFAULT_LEASE_MS	     30000
#define JOBS_DEFAULT_POLL_MS	     1000
#define JOBS_DEFAULT_BACKOFF_BASE_MS 5000
#define JOBS_DEFAULT_BACKOFF_MAX_MS  600000
#define JOBS_ACQUIRE_MS		     2000 /* wait for a pool connection */
#define JOBS_RECORD_TRIES	     5	  /* recording an outcome: attempts before giving up */

struct handler {
	char kind[JOB_KIND_MAX];
	job_fn fn;
};

struct worker {
	struct jobs *pool;
	int index;
	pthread_t thread;
	bool thread_started;
	char owner[JOB_OWNER_MAX];
	/* Guarded by pool->mu for other threads: */
	bool busy;	     /* holds a claimed job (from claim until the outcome is recorded) */
	bool abandoned;	     /* jobs_stop gave up waiting for it; exit without touching the db */
	bool lease_lost;     /* cancel already set for the lease: warn once */
	int64_t lease_ok_us; /* monotonic time of the claim / last successful renewal */
	struct job job;	     /* the claimed job; owned, freed with job_clear */
	struct job_run run;
};

struct jobs {
	struct db *db;
	void *app;
	int threads, lease_ms, poll_ms, backoff_base_ms, backoff_max_ms, per_org;
	char owner_prefix[JOB_OWNER_MAX];
	struct handler *handlers; /* owned */
	size_t nhandlers;

	pthread_mutex_t mu;
	pthread_cond_t wake;	 /* idle workers: notify or stop */
	pthread_cond_t idle;	 /* jobs_stop: a worker finished its job */
	pthread_cond_t lease_cv; /* lease thread: stop */
	bool started;
	bool stopping;	 /* workers: claim nothing more */
	bool lease_stop; /* lease thread: exit */
	uint64_t notify_seq;
	int busy; /* workers holding a job */

	struct worker *workers; /* threads of them, owned */
	pthread_t lease_thread;
	bool lease_started;
};

/* ---- helpers ---- */

static void deadline_after(struct timespec *ts, int64_t ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += (time_t)(ms / 1000);
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static void sleep_ms(int64_t ms)
{
	struct timespec ts = {.tv_sec = (time_t)(ms / 1000),
			      .tv_nsec = (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* base * 2^(attempt-1), capped at max, then +-20% (never above max). */
static int64_t backoff_ms(const struct jobs *p, int attempt)
{
	int64_t d = p->backoff_base_ms;
	for (int i = 1; i < attempt && d < p->backoff_max_ms; i++)
		d *= 2;
	if (d > p->backoff_max_ms)
		d = p->backoff_max_ms;
	/* Spread retries of jobs that failed together (an outage) apart. */
	int64_t jitter = d / 5;
	if (jitter > 0) /* jitter <= INT_MAX / 5: the range fits */
		d += (int64_t)randombytes_uniform((uint32_t)(2 * jitter + 1)) - jitter;
	if (d > p->backoff_max_ms)
		d = p->backoff_max_ms;
	return d < 1 ? 1 : d;
}

static job_fn handler_find(const struct jobs *p, const char *kind)
{
	for (size_t i = 0; i < p->nhandlers; i++)
		if (strcmp(p->handlers[i].kind, kind) == 0)
			return p->handlers[i].fn;
	return NULL;
}

/* A JSON string for a log field; handler errors need not be UTF-8. */
static json_t *log_str(const char *s)
{
	json_t *v = json_string(s ? s : "");
	return v ? v : json_string("(not UTF-8)");
}

/* ---- recording outcomes ---- */

enum outcome { OUT_DONE, OUT_RETRY, OUT_DEAD, OUT_RELEASE };

/*
 * Record the outcome of w's job. Retries a few times on database errors
 * (the lease thread keeps renewing meanwhile); if it never gets through,
 * the lease runs out and the job is run again elsewhere: at least once.
 */
static enum store_rc record(struct worker *w, enum outcome out, const char *error, int64_t retry_at)
{
	struct jobs *p = w->pool;
	enum store_rc rc = STORE_ERROR;
	for (int i = 0; i < JOBS_RECORD_TRIES; i++) {
		if (i > 0) {
			sleep_ms(100LL << i);
			pthread_mutex_lock(&p->mu);
			bool abandoned = w->abandoned;
			pthread_mutex_unlock(&p->mu);
			if (abandoned)
				break; /* jobs_stop has returned: the db may be gone */
		}
		struct db_conn *c = db_acquire_system(p->db, JOBS_ACQUIRE_MS);
		if (!c) {
			rc = STORE_UNAVAILABLE;
			continue;
		}
		switch (out) {
		case OUT_DONE:
			rc = job_done(c, w->job.id, w->owner);
			break;
		case OUT_RETRY:
			rc = job_fail(c, w->job.id, w->owner, error, retry_at);
			break;
		case OUT_DEAD:
			rc = job_fail(c, w->job.id, w->owner, error, 0);
			break;
		case OUT_RELEASE:
			rc = job_release(c, w->job.id, w->owner);
			break;
		}
		/* STORE_NOT_FOUND: the job is no longer ours; nothing to retry. */
		bool failed = rc != STORE_OK && rc != STORE_NOT_FOUND;
		if (failed)
			log_warn("job: recording the outcome failed",
				 json_pack("{s:s,s:s,s:o}", "job_id", w->job.id, "owner", w->owner,
					   "error", log_str(db_conn_error(c))));
		db_release(c);
		if (!failed)
			break;
	}
	if (rc == STORE_NOT_FOUND)
		log_warn("job: lease lost before the outcome was recorded; outcome dropped",
			 json_pack("{s:s,s:s,s:i}", "job_id", w->job.id, "kind", w->job.kind,
				   "attempt", w->job.attempts));
	return rc;
}

/* ---- running one job ---- */

/*
 * Run the job the worker has just claimed (w->job, busy set) and record
 * the outcome. Returns false if the worker was abandoned by jobs_stop and
 * must exit without touching anything but the pool's lock.
 */
static bool run_job(struct worker *w)
{
	struct jobs *p = w->pool;
	struct job *j = &w->job;
	struct job_run *run = &w->run;
	int64_t t0 = time_mono_us();
	json_error_t jerr;

	log_info("job start", json_pack("{s:s,s:s,s:i,s:s}", "job_id", j->id, "kind", j->kind,
					"attempt", j->attempts, "owner", w->owner));

	enum outcome out;
	char why[JOB_ERROR_MAX] = "";
	int64_t retry_at = 0;
	job_fn fn = handler_find(p, j->kind);
	/* Never log the payload: it may name people or carry secrets. */
	run->payload = json_loads(j->payload, 0, &jerr);
	if (!fn) {
		out = OUT_DEAD;
		snprintf(why, sizeof why, "no handler for kind %s", j->kind);
	} else if (!run->payload) {
		/* Not jerr.text: it quotes the payload. */
		out = OUT_DEAD;
		snprintf(why, sizeof why, "payload is not valid JSON (line %d, column %d)",
			 jerr.line, jerr.column);
	} else if (!json_is_object(run->payload)) {
		out = OUT_DEAD;
		snprintf(why, sizeof why, "payload is not a JSON object");
	} else {
		enum job_result res = fn(run);
		run->error[sizeof run->error - 1] = '\0';
		pthread_mutex_lock(&p->mu);
		bool stopping = run->stopping;
		bool abandoned = w->abandoned;
		pthread_mutex_unlock(&p->mu);
		if (abandoned) {
			json_decref(run->payload);
			run->payload = NULL;
			return false;
		}
		if (res == JOB_OK) {
			out = OUT_DONE;
		} else if (res == JOB_RETRY && stopping) {
			out = OUT_RELEASE; /* not the job's fault: not an attempt */
		} else if (res == JOB_RETRY && j->attempts < j->max_attempts) {
			out = OUT_RETRY;
			retry_at = time_now_ms() + backoff_ms(p, j->attempts);
		} else {
			out = OUT_DEAD;
		}
		if (out != OUT_DONE && out != OUT_RELEASE)
			snprintf(why, sizeof why, "%s",
				 run->error[0]	    ? run->error
				 : res == JOB_RETRY ? "the handler asked for a retry "
						      "and no attempts are left"
						    : "the handler failed");
	}
	json_decref(run->payload);
	run->payload = NULL;

	int rc = record(w, out, why, retry_at);
	int64_t ms = (time_mono_us() - t0) / 1000;
	if (rc == STORE_OK) {
		switch (out) {
		case OUT_DONE:
			log_info("job done",
				 json_pack("{s:s,s:s,s:i,s:I}", "job_id", j->id, "kind", j->kind,
					   "attempt", j->attempts, "ms", (json_int_t)ms));
			break;
		case OUT_RELEASE:
			log_info("job released (stopping)",
				 json_pack("{s:s,s:s,s:i,s:I}", "job_id", j->id, "kind", j->kind,
					   "attempt", j->attempts, "ms", (json_int_t)ms));
			break;
		case OUT_RETRY:
			log_warn("job failed; will retry",
				 json_pack("{s:s,s:s,s:i,s:I,s:I,s:o}", "job_id", j->id, "kind",
					   j->kind, "attempt", j->attempts, "ms", (json_int_t)ms,
					   "retry_in_ms", (json_int_t)(retry_at - time_now_ms()),
					   "error", log_str(why)));
			break;
		case OUT_DEAD:
			log_error("job dead",
				  json_pack("{s:s,s:s,s:i,s:I,s:o}", "job_id", j->id, "kind",
					    j->kind, "attempt", j->attempts, "ms", (json_int_t)ms,
					    "error", log_str(why)));
			break;
		}
	}
	return true;
}

/* ---- worker thread ---- */

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct jobs *p = w->pool;
	for (;;) {
		pthread_mutex_lock(&p->mu);
		bool stop = p->stopping;
		uint64_t seq = p->notify_seq;
		pthread_mutex_unlock(&p->mu);
		if (stop)
			break;

		struct job j;
		enum store_rc rc = STORE_UNAVAILABLE;
		struct db_conn *c = db_acquire_system(p->db, JOBS_ACQUIRE_MS);
		if (c) {
			rc = job_claim(c, w->owner, p->lease_ms, p->per_org, &j);
			if (rc != STORE_OK && rc != STORE_NOT_FOUND)
				log_warn("job: claim failed",
					 json_pack("{s:s,s:o}", "owner", w->owner, "error",
						   log_str(db_conn_error(c))));
			db_release(c);
		}
		if (rc != STORE_OK) {
			/* Nothing ready (or the database is away): sleep until
			 * notified, stopped or the next poll. */
			struct timespec ts;
			deadline_after(&ts, p->poll_ms);
			pthread_mutex_lock(&p->mu);
			while (!p->stopping && p->notify_seq == seq)
				if (pthread_cond_timedwait(&p->wake, &p->mu, &ts) == ETIMEDOUT)
					break;
			pthread_mutex_unlock(&p->mu);
			continue;
		}

		pthread_mutex_lock(&p->mu);
		bool stopping = p->stopping;
		if (!stopping) {
			w->job = j; /* takes the payload */
			w->busy = true;
			w->lease_lost = false;
			w->lease_ok_us = time_mono_us();
			w->run.job = &w->job;
			w->run.payload = NULL;
			atomic_store(&w->run.cancel, false);
			w->run.stopping = false;
			w->run.error[0] = '\0';
			w->run.app = p->app;
			p->busy++;
		}
		pthread_mutex_unlock(&p->mu);
		if (stopping) {
			/* Claimed while jobs_stop began: hand it straight back. */
			w->job = j;
			record(w, OUT_RELEASE, NULL, 0);
			job_clear(&w->job);
			break;
		}

		bool alive = run_job(w);

		pthread_mutex_lock(&p->mu);
		w->busy = false;
		p->busy--;
		pthread_cond_broadcast(&p->idle);
		pthread_mutex_unlock(&p->mu);
		job_clear(&w->job);
		if (!alive)
			break;
	}
	return NULL;
}

/* ---- lease thread ---- */

struct lease_item {
	int worker;
	char id[UUID_STR_LEN];
};

static void lease_cancel(struct jobs *p, const struct lease_item *it, const char *why)
{
	struct worker *w = &p->workers[it->worker];
	pthread_mutex_lock(&p->mu);
	if (w->busy && strcmp(w->job.id, it->id) == 0 && !w->lease_lost) {
		w->lease_lost = true;
		atomic_store(&w->run.cancel, true);
		log_warn("job: lease lost; cancelling",
			 json_pack("{s:s,s:s,s:s,s:s}", "job_id", w->job.id, "kind", w->job.kind,
				   "owner", w->owner, "reason", why));
	}
	pthread_mutex_unlock(&p->mu);
}

static void lease_tick(struct jobs *p, struct lease_item *items)
{
	int n = 0;
	int64_t now = time_mono_us();
	pthread_mutex_lock(&p->mu);
	for (int i = 0; i < p->threads; i++) {
		struct worker *w = &p->workers[i];
		if (!w->busy || w->lease_lost)
			continue;
		items[n].worker = i;
		snprintf(items[n].id, sizeof items[n].id, "%s", w->job.id);
		n++;
	}
	pthread_mutex_unlock(&p->mu);
	if (n == 0)
		return;

	struct db_conn *c = db_acquire_system(p->db, p->lease_ms / 3 > 0 ? p->lease_ms / 3 : 1);
	for (int k = 0; k < n; k++) {
		struct worker *w = &p->workers[items[k].worker];
		int rc = c ? job_renew(c, items[k].id, w->owner, p->lease_ms) : STORE_UNAVAILABLE;
		if (rc == STORE_OK) {
			pthread_mutex_lock(&p->mu);
			if (w->busy && strcmp(w->job.id, items[k].id) == 0)
				w->lease_ok_us = now;
			pthread_mutex_unlock(&p->mu);
			continue;
		}
		if (rc == STORE_NOT_FOUND) {
			lease_cancel(p, &items[k], "the job is no longer ours");
			continue;
		}
		log_warn("job: lease renewal failed",
			 json_pack("{s:s,s:o}", "job_id", items[k].id, "error",
				   log_str(c ? db_conn_error(c) : "no database connection")));
		/* We cannot tell whether the lease still holds once it has run
		 * out: assume another worker has the job. */
		pthread_mutex_lock(&p->mu);
		bool expired = w->busy && strcmp(w->job.id, items[k].id) == 0 &&
			       time_mono_us() - w->lease_ok_us > (int64_t)p->lease_ms * 1000;
		pthread_mutex_unlock(&p->mu);
		if (expired)
			lease_cancel(p, &items[k], "the lease ran out while renewals failed");
	}
	db_release(c);
}

static void *lease_main(void *arg)
{
	struct jobs *p = arg;
	struct lease_item *items = calloc((size_t)p->threads, sizeof *items);
	int period = p->lease_ms / 3 > 0 ? p->lease_ms / 3 : 1;
	pthread_mutex_lock(&p->mu);
	while (!p->lease_stop) {
		struct timespec ts;
		deadline_after(&ts, period);
		while (!p->lease_stop)
			if (pthread_cond_timedwait(&p->lease_cv, &p->mu, &ts) == ETIMEDOUT)
				break;
		if (p->lease_stop)
			break;
		pthread_mutex_unlock(&p->mu);
		if (items)
			lease_tick(p, items);
		else
			log_error("job: lease thread out of memory; leases are not renewed", NULL);
		pthread_mutex_lock(&p->mu);
	}
	pthread_mutex_unlock(&p->mu);
	free(items);
	return NULL;
}

/* ---- public API ---- */

struct jobs *jobs_new(struct db *db, const struct jobs_config *cfg, void *app)
{
	if (!db)
		return NULL;
	struct jobs *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	struct jobs_config d = {0};
	if (cfg)
		d = *cfg;
	p->db = db;
	p->app = app;
	p->threads = d.threads > 0 ? d.threads : 0;
	p->lease_ms = d.lease_ms > 0 ? d.lease_ms : JOBS_DEFAULT_LEASE_MS;
	p->poll_ms = d.poll_ms > 0 ? d.poll_ms : JOBS_DEFAULT_POLL_MS;
	p->backoff_base_ms =
	    d.backoff_base_ms > 0 ? d.backoff_base_ms : JOBS_DEFAULT_BACKOFF_BASE_MS;
	p->backoff_max_ms = d.backoff_max_ms > 0 ? d.backoff_max_ms : JOBS_DEFAULT_BACKOFF_MAX_MS;
	if (p->backoff_max_ms < p->backoff_base_ms)
		p->backoff_max_ms = p->backoff_base_ms;
	p->per_org = d.per_org > 0 ? d.per_org : 0;
	if (d.owner_prefix && *d.owner_prefix) {
		snprintf(p->owner_prefix, sizeof p->owner_prefix, "%s", d.owner_prefix);
	} else {
		char host[256] = "";
		if (gethostname(host, sizeof host - 1) != 0 || !host[0])
			snprintf(host, sizeof host, "localhost");
		snprintf(p->owner_prefix, sizeof p->owner_prefix, "%.40s:%ld", host,
			 (long)getpid());
	}

	pthread_condattr_t ca;
	int locks = 0;
	if (pthread_condattr_init(&ca) != 0)
		goto fail;
	/* Poll and grace timeouts must not stretch with wall-clock jumps. */
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (pthread_mutex_init(&p->mu, NULL) == 0) {
		locks |= 1;
		if (pthread_cond_init(&p->wake, &ca) == 0)
			locks |= 2;
		if (pthread_cond_init(&p->idle, &ca) == 0)
			locks |= 4;
		if (pthread_cond_init(&p->lease_cv, &ca) == 0)
			locks |= 8;
	}
	pthread_condattr_destroy(&ca);
	if (locks != 15)
		goto fail;

	if (p->threads > 0) {
		p->workers = calloc((size_t)p->threads, sizeof *p->workers);
		if (!p->workers)
			goto fail;
	}
	for (int i = 0; i < p->threads; i++) {
		struct worker *w = &p->workers[i];
		char suffix[16];
		w->pool = p;
		w->index = i;
		atomic_init(&w->run.cancel, false);
		snprintf(suffix, sizeof suffix, "/%d", i);
		snprintf(w->owner, sizeof w->owner, "%.*s%s",
			 (int)(sizeof w->owner - 1 - strlen(suffix)), p->owner_prefix, suffix);
	}
	return p;

fail:
	if (locks & 1)
		pthread_mutex_destroy(&p->mu);
	if (locks & 2)
		pthread_cond_destroy(&p->wake);
	if (locks & 4)
		pthread_cond_destroy(&p->idle);
	if (locks & 8)
		pthread_cond_destroy(&p->lease_cv);
	free(p->workers);
	free(p);
	return NULL;
}

int jobs_register(struct jobs *p, const char *kind, job_fn fn)
{
	if (!p || !kind || !*kind || !fn || strlen(kind) >= JOB_KIND_MAX || p->started)
		return -1;
	if (handler_find(p, kind))
		return -1;
	struct handler *h = realloc(p->handlers, (p->nhandlers + 1) * sizeof *h);
	if (!h)
		return -1;
	p->handlers = h;
	snprintf(h[p->nhandlers].kind, sizeof h[p->nhandlers].kind, "%s", kind);
	h[p->nhandlers].fn = fn;
	p->nhandlers++;
	return 0;
}

static void jobs_join(struct jobs *p);

int jobs_start(struct jobs *p)
{
	if (!p || p->started)
		return -1;
	if (crypto_init() != 0) /* randombytes for the backoff jitter */
		return -1;
	p->started = true;
	if (p->threads == 0)
		return 0;
	for (int i = 0; i < p->threads; i++) {
		struct worker *w = &p->workers[i];
		if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
			goto fail;
		w->thread_started = true;
	}
	if (pthread_create(&p->lease_thread, NULL, lease_main, p) != 0)
		goto fail;
	p->lease_started = true;
	log_info("job workers started",
		 json_pack("{s:i,s:i,s:s}", "threads", p->threads, "lease_ms", p->lease_ms,
			   "owner_prefix", p->owner_prefix));
	return 0;

fail:
	log_error("job: cannot start worker threads", NULL);
	pthread_mutex_lock(&p->mu);
	p->stopping = true;
	pthread_cond_broadcast(&p->wake);
	pthread_mutex_unlock(&p->mu);
	jobs_join(p);
	return -1;
}

void jobs_notify(struct jobs *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->notify_seq++;
	pthread_cond_broadcast(&p->wake);
	pthread_mutex_unlock(&p->mu);
}

/* Join the workers that were not abandoned, then the lease thread. */
static void jobs_join(struct jobs *p)
{
	for (int i = 0; i < p->threads; i++) {
		struct worker *w = &p->workers[i];
		if (!w->thread_started)
			continue;
		pthread_mutex_lock(&p->mu);
		bool abandoned = w->abandoned;
		pthread_mutex_unlock(&p->mu);
		if (abandoned)
			pthread_detach(w->thread);
		else
			pthread_join(w->thread, NULL);
		w->thread_started = false;
	}
	pthread_mutex_lock(&p->mu);
	p->lease_stop = true;
	pthread_cond_broadcast(&p->lease_cv);
	pthread_mutex_unlock(&p->mu);
	if (p->lease_started) {
		pthread_join(p->lease_thread, NULL);
		p->lease_started = false;
	}
}

/* With p->mu held. */
static void stop_begin_locked(struct jobs *p)
{
	p->stopping = true;
	for (int i = 0; i < p->threads; i++) {
		struct worker *w = &p->workers[i];
		if (!w->busy)
			continue;
		/* stopping before cancel: a handler that sees cancel sees why. */
		w->run.stopping = true;
		atomic_store(&w->run.cancel, true);
	}
	pthread_cond_broadcast(&p->wake);
}

void jobs_stop_begin(struct jobs *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	stop_begin_locked(p);
	pthread_mutex_unlock(&p->mu);
}

int jobs_stop(struct jobs *p, int grace_s)
{
	if (!p)
		return 0;
	int abandoned = 0;
	pthread_mutex_lock(&p->mu);
	stop_begin_locked(p);
	struct timespec ts;
	deadline_after(&ts, (int64_t)(grace_s > 0 ? grace_s : 0) * 1000);
	while (p->busy > 0)
		if (pthread_cond_timedwait(&p->idle, &p->mu, &ts) == ETIMEDOUT)
			break;
	if (p->busy > 0) {
		/* Handlers that ignore cancel: leave them running, stop renewing
		 * their leases (so another worker takes the jobs over once they
		 * run out) and never free what they still point at. */
		for (int i = 0; i < p->threads; i++) {
			struct worker *w = &p->workers[i];
			if (w->busy) {
				w->abandoned = true;
				abandoned++;
				log_error("job: handler ignored stop; abandoning it",
					  json_pack("{s:s,s:s,s:i}", "job_id", w->job.id, "kind",
						    w->job.kind, "grace_s", grace_s));
			}
		}
	}
	pthread_mutex_unlock(&p->mu);

	jobs_join(p);
	if (abandoned > 0)
		return abandoned; /* the pool leaks: abandoned threads still use p->mu */

	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->wake);
	pthread_cond_destroy(&p->idle);
	pthread_cond_destroy(&p->lease_cv);
	free(p->handlers);
	free(p->workers);
	free(p);
	return 0;
}
