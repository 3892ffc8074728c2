/*
 * test_jobs.c — the durable job queue (store/jobs.c) and the worker pool
 * (jobs/jobs.c).
 *
 * Every test runs against SQLite in a fresh temporary directory, and again
 * against PostgreSQL when IAM_TEST_PG_URL names a database we may write
 * (each PostgreSQL test migrates it and empties the jobs table); without it
 * the PostgreSQL group is skipped:
 *   url=$(scripts/pg-test-cluster start /tmp/pgjobs)
 *   IAM_TEST_PG_URL=$url build/tests/test_jobs
 *   scripts/pg-test-cluster stop /tmp/pgjobs
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/timeutil.h"
#include "jobs/jobs.h"
#include "store/db.h"
#include "store/jobs.h"
#include "store/migrate.h"

static const int KIND_SQLITE = DB_SQLITE;
static const int KIND_PG = DB_PG;

#define MAXJOBS 200

struct fx {
	int kind;
	char dir[256]; /* SQLite only: removed at teardown */
	struct db *db;
	struct db_conn *c; /* the test's own connection */
};

static const char *env_pg_url(void)
{
	const char *u = getenv("IAM_TEST_PG_URL");
	return u && *u ? u : NULL;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int fx_setup(void **state)
{
	struct fx *fx = calloc(1, sizeof *fx);
	assert_non_null(fx);
	fx->kind = *(const int *)*state;
	*state = fx;
	char url[1024], err[256] = "";
	if (fx->kind == DB_SQLITE) {
		snprintf(fx->dir, sizeof fx->dir, "/tmp/iam-test-jobs-XXXXXX");
		assert_non_null(mkdtemp(fx->dir));
		snprintf(url, sizeof url, "sqlite:%s/t.db", fx->dir);
	} else {
		const char *u = env_pg_url();
		if (!u)
			return 0; /* each test skips */
		snprintf(url, sizeof url, "%s", u);
	}
	fx->db = db_open(url, 12, err, sizeof err);
	if (!fx->db)
		fprintf(stderr, "db_open: %s\n", err);
	assert_non_null(fx->db);
	if (migrate_up(fx->db, err, sizeof err) < 0) {
		fprintf(stderr, "migrate_up: %s\n", err);
		fail();
	}
	fx->c = db_acquire_system(fx->db, 5000);
	assert_non_null(fx->c);
	/* PostgreSQL keeps what earlier runs left. */
	assert_int_equal(db_exec(fx->c, "DELETE FROM jobs", NULL, 0, NULL), DB_OK);
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *fx = *state;
	db_release(fx->c);
	db_close(fx->db);
	if (fx->dir[0])
		nftw(fx->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(fx);
	return 0;
}

#define FX(state)                                                                                  \
	struct fx *fx = *(state);                                                                  \
	if (!fx->db)                                                                               \
		skip();

static void sleep_ms(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

struct row {
	char state[16];
	int attempts;
	int64_t run_at;
	char last_error[JOB_ERROR_MAX + 16];
	char lease_owner[JOB_OWNER_MAX];
	int finished; /* finished_at is set */
};

static void job_row(struct db_conn *c, const char *id, struct row *out)
{
	int rc = DB_ERR;
	struct db_res *r =
	    db_query(c,
		     "SELECT state, attempts, run_at, last_error, lease_owner, finished_at"
		     " FROM jobs WHERE id = $1",
		     DB_PARAMS(DB_TEXT(id)), &rc);
	assert_non_null(r);
	assert_int_equal(db_next(r), 1);
	memset(out, 0, sizeof *out);
	snprintf(out->state, sizeof out->state, "%s", db_text(r, 0));
	out->attempts = (int)db_int(r, 1);
	out->run_at = db_int(r, 2);
	snprintf(out->last_error, sizeof out->last_error, "%s", db_text(r, 3));
	snprintf(out->lease_owner, sizeof out->lease_owner, "%s", db_text(r, 4));
	out->finished = !db_is_null(r, 5);
	db_res_free(r);
}

static void enqueue(struct fx *fx, const char *kind, const char *payload, const char *key,
		    int max_attempts, int64_t run_at, char id[UUID_STR_LEN])
{
	assert_int_equal(job_enqueue(fx->c, NULL, kind, payload, key, max_attempts, run_at, id),
			 STORE_OK);
}

/* ---- store ---- */

static void test_enqueue_claim_done(void **state)
{
	FX(state);
	char id[UUID_STR_LEN];
	assert_int_equal(
	    job_enqueue(fx->c, NULL, "transcribe", "{\"meeting\":\"m1\"}", NULL, 3, 0, id),
	    STORE_OK);
	assert_true(uuid_valid(id));

	struct job j;
	assert_int_equal(job_claim(fx->c, "w1", 10000, 0, &j), STORE_OK);
	assert_string_equal(j.id, id);
	assert_string_equal(j.org_id, "");
	assert_string_equal(j.kind, "transcribe");
	assert_string_equal(j.payload, "{\"meeting\":\"m1\"}");
	assert_string_equal(j.dedupe_key, "");
	assert_int_equal(j.attempts, 1);
	assert_int_equal(j.max_attempts, 3);
	assert_true(j.created_at > 0 && j.run_at >= j.created_at);
	job_clear(&j);
	assert_null(j.payload);
	job_clear(&j); /* twice is fine */

	struct row row;
	job_row(fx->c, id, &row);
	assert_string_equal(row.state, "running");
	assert_string_equal(row.lease_owner, "w1");

	/* Nothing else is ready; a running job with a live lease is not. */
	assert_int_equal(job_claim(fx->c, "w2", 10000, 0, &j), STORE_NOT_FOUND);
	assert_int_equal(job_done(fx->c, id, "w2"), STORE_NOT_FOUND);
	assert_int_equal(job_renew(fx->c, id, "w1", 10000), STORE_OK);
	assert_int_equal(job_done(fx->c, id, "w1"), STORE_OK);
	assert_int_equal(job_done(fx->c, id, "w1"), STORE_NOT_FOUND);
	job_row(fx->c, id, &row);
	assert_string_equal(row.state, "done");
	assert_true(row.finished);
	assert_string_equal(row.lease_owner, "");

	struct job_counts n;
	assert_int_equal(job_counts(fx->c, &n), STORE_OK);
	assert_int_equal(n.done, 1);
	assert_int_equal(n.queued + n.running + n.failed + n.dead, 0);

	/* org_id round trip, and input we could not read back whole. */
	char org[UUID_STR_LEN], id2[UUID_STR_LEN];
	uuid_v7(org);
	assert_int_equal(job_enqueue(fx->c, org, "k", NULL, NULL, 0, 0, id2), STORE_OK);
	assert_int_equal(job_claim(fx->c, "w1", 10000, 0, &j), STORE_OK);
	assert_string_equal(j.org_id, org);
	assert_string_equal(j.payload, "{}");
	assert_int_equal(j.max_attempts, 5);
	job_clear(&j);
	assert_int_equal(job_enqueue(fx->c, NULL, "a-kind-name-that-is-far-too-long-to-keep", "{}",
				     NULL, 1, 0, id2),
			 STORE_ERROR);
	assert_int_equal(job_enqueue(fx->c, NULL, "", "{}", NULL, 1, 0, id2), STORE_ERROR);
}

static void test_dedupe(void **state)
{
	FX(state);
	char a[UUID_STR_LEN], b[UUID_STR_LEN];
	enqueue(fx, "transcribe", "{}", "m1", 3, 0, a);
	assert_int_equal(job_enqueue(fx->c, NULL, "transcribe", "{}", "m1", 3, 0, b),
			 STORE_CONFLICT);
	/* Another kind, another key, or no key at all: fine. */
	enqueue(fx, "summarise", "{}", "m1", 3, 0, b);
	enqueue(fx, "transcribe", "{}", "m2", 3, 0, b);
	enqueue(fx, "transcribe", "{}", NULL, 3, 0, b);
	enqueue(fx, "transcribe", "{}", NULL, 3, 0, b);

	/* Still live while running and failed. */
	struct job j;
	assert_int_equal(job_claim(fx->c, "w1", 10000, 0, &j), STORE_OK);
	assert_string_equal(j.id, a);
	assert_int_equal(job_enqueue(fx->c, NULL, "transcribe", "{}", "m1", 3, 0, b),
			 STORE_CONFLICT);
	assert_int_equal(job_fail(fx->c, a, "w1", "later", time_now_ms() + 60000), STORE_OK);
	assert_int_equal(job_enqueue(fx->c, NULL, "transcribe", "{}", "m1", 3, 0, b),
			 STORE_CONFLICT);
	job_clear(&j);

	/* Dead (cancelled): allowed again. */
	assert_int_equal(job_cancel(fx->c, "transcribe", "m1", "meeting deleted"), STORE_OK);
	struct row row;
	job_row(fx->c, a, &row);
	assert_string_equal(row.state, "dead");
	assert_string_equal(row.last_error, "meeting deleted");
	assert_true(row.finished);
	char c1[UUID_STR_LEN];
	enqueue(fx, "transcribe", "{}", "m1", 3, 0, c1);

	/* Done: allowed again. */
	assert_int_equal(job_claim(fx->c, "w1", 10000, 0, &j), STORE_OK);
	while (strcmp(j.id, c1) != 0) {
		assert_int_equal(job_done(fx->c, j.id, "w1"), STORE_OK);
		job_clear(&j);
		assert_int_equal(job_claim(fx->c, "w1", 10000, 0, &j), STORE_OK);
	}
	assert_int_equal(job_done(fx->c, c1, "w1"), STORE_OK);
	job_clear(&j);
	enqueue(fx, "transcribe", "{}", "m1", 3, 0, b);
	/* Cancelling what is not there is not an error. */
	assert_int_equal(job_cancel(fx->c, "transcribe", "nothing", "x"), STORE_OK);
}

static void test_claim_order(void **state)
{
	FX(state);
	int64_t now = time_now_ms();
	char a[UUID_STR_LEN], b[UUID_STR_LEN], c[UUID_STR_LEN], future[UUID_STR_LEN];
	enqueue(fx, "k", "{}", NULL, 3, now - 1000, a);
	enqueue(fx, "k", "{}", NULL, 3, now + 60000, future);
	enqueue(fx, "k", "{}", NULL, 3, now - 3000, b);
	enqueue(fx, "k", "{}", NULL, 3, now - 2000, c);
	const char *want[] = {b, c, a};
	for (int i = 0; i < 3; i++) {
		struct job j;
		assert_int_equal(job_claim(fx->c, "w1", 10000, 0, &j), STORE_OK);
		assert_string_equal(j.id, want[i]);
		job_clear(&j);
	}
	struct job j;
	assert_int_equal(job_claim(fx->c, "w1", 10000, 0, &j), STORE_NOT_FOUND);
	struct job_counts n;
	assert_int_equal(job_counts(fx->c, &n), STORE_OK);
	assert_int_equal(n.running, 3);
	assert_int_equal(n.queued, 1);
}

static void test_lease_expiry(void **state)
{
	FX(state);
	char id[UUID_STR_LEN];
	enqueue(fx, "k", "{}", NULL, 5, 0, id);
	struct job j;
	assert_int_equal(job_claim(fx->c, "w1", 1, 0, &j), STORE_OK);
	job_clear(&j);
	sleep_ms(10);
	/* w1 "died": its lease ran out and w2 takes the job over. */
	assert_int_equal(job_claim(fx->c, "w2", 10000, 0, &j), STORE_OK);
	assert_string_equal(j.id, id);
	assert_int_equal(j.attempts, 2);
	job_clear(&j);
	/* w1 comes back to life: it can change nothing. */
	assert_int_equal(job_renew(fx->c, id, "w1", 10000), STORE_NOT_FOUND);
	assert_int_equal(job_done(fx->c, id, "w1"), STORE_NOT_FOUND);
	assert_int_equal(job_fail(fx->c, id, "w1", "x", time_now_ms() + 1000), STORE_NOT_FOUND);
	assert_int_equal(job_fail(fx->c, id, "w1", "x", 0), STORE_NOT_FOUND);
	assert_int_equal(job_release(fx->c, id, "w1"), STORE_NOT_FOUND);
	struct row row;
	job_row(fx->c, id, &row);
	assert_string_equal(row.state, "running");
	assert_string_equal(row.lease_owner, "w2");
	assert_int_equal(job_renew(fx->c, id, "w2", 10000), STORE_OK);
	assert_int_equal(job_done(fx->c, id, "w2"), STORE_OK);
	/* Nobody owns a finished job. */
	assert_int_equal(job_renew(fx->c, id, "w2", 10000), STORE_NOT_FOUND);
}

static void test_attempts_exhausted(void **state)
{
	FX(state);
	int64_t now = time_now_ms();
	char x[UUID_STR_LEN], y[UUID_STR_LEN];
	enqueue(fx, "k", "{}", NULL, 2, now - 2000, x);
	enqueue(fx, "k", "{}", NULL, 2, now - 1000, y);
	struct job j;
	/* Two workers die running x. */
	for (int i = 0; i < 2; i++) {
		assert_int_equal(job_claim(fx->c, i ? "w2" : "w1", 1, 0, &j), STORE_OK);
		assert_string_equal(j.id, x);
		assert_int_equal(j.attempts, i + 1);
		job_clear(&j);
		sleep_ms(10);
	}
	/* The third claim buries x and hands out y instead. */
	assert_int_equal(job_claim(fx->c, "w3", 10000, 0, &j), STORE_OK);
	assert_string_equal(j.id, y);
	job_clear(&j);
	struct row row;
	job_row(fx->c, x, &row);
	assert_string_equal(row.state, "dead");
	assert_int_equal(row.attempts, 3);
	assert_string_equal(row.last_error, "the worker running it stopped 2 times");
	assert_true(row.finished);
	assert_int_equal(job_claim(fx->c, "w3", 10000, 0, &j), STORE_NOT_FOUND);

	/* Only that one left and exhausted: nothing to hand out. */
	assert_int_equal(job_done(fx->c, y, "w3"), STORE_OK);
	enqueue(fx, "k", "{}", NULL, 1, 0, x);
	assert_int_equal(job_claim(fx->c, "w1", 1, 0, &j), STORE_OK);
	job_clear(&j);
	sleep_ms(10);
	assert_int_equal(job_claim(fx->c, "w2", 10000, 0, &j), STORE_NOT_FOUND);
	job_row(fx->c, x, &row);
	assert_string_equal(row.state, "dead");
}

static void test_fail_retry(void **state)
{
	FX(state);
	char id[UUID_STR_LEN];
	enqueue(fx, "k", "{}", NULL, 3, 0, id);
	struct job j;
	assert_int_equal(job_claim(fx->c, "w1", 10000, 0, &j), STORE_OK);
	job_clear(&j);
	int64_t retry_at = time_now_ms() + 150;
	assert_int_equal(job_fail(fx->c, id, "w1", "engine busy", retry_at), STORE_OK);
	struct row row;
	job_row(fx->c, id, &row);
	assert_string_equal(row.state, "failed");
	assert_int_equal(row.run_at, retry_at);
	assert_string_equal(row.last_error, "engine busy");
	assert_string_equal(row.lease_owner, "");
	assert_false(row.finished);
	/* Not before run_at... */
	assert_int_equal(job_claim(fx->c, "w1", 10000, 0, &j), STORE_NOT_FOUND);
	assert_int_equal(job_done(fx->c, id, "w1"), STORE_NOT_FOUND);
	while (time_now_ms() <= retry_at)
		sleep_ms(20);
	/* ...then by anyone. */
	assert_int_equal(job_claim(fx->c, "w2", 10000, 0, &j), STORE_OK);
	assert_string_equal(j.id, id);
	assert_int_equal(j.attempts, 2);
	job_clear(&j);
	/* A failure for good: dead, whatever attempts remain. */
	assert_int_equal(job_fail(fx->c, id, "w2", "bad audio", 0), STORE_OK);
	job_row(fx->c, id, &row);
	assert_string_equal(row.state, "dead");
	assert_string_equal(row.last_error, "bad audio");
	assert_true(row.finished);

	/* The last attempt: dead even with a retry time; the error is cut to
	 * JOB_ERROR_MAX on a character boundary and made valid UTF-8. */
	enqueue(fx, "k", "{}", NULL, 1, 0, id);
	assert_int_equal(job_claim(fx->c, "w1", 10000, 0, &j), STORE_OK);
	job_clear(&j);
	static char big[3 * JOB_ERROR_MAX];
	memset(big, 'x', sizeof big - 1);
	memcpy(big, "bad \xff byte ", 11);
	for (size_t i = JOB_ERROR_MAX - 8; i < JOB_ERROR_MAX + 8; i += 2)
		memcpy(big + i, "\xc3\xa9", 2); /* é */
	assert_int_equal(job_fail(fx->c, id, "w1", big, time_now_ms() + 1000), STORE_OK);
	job_row(fx->c, id, &row);
	assert_string_equal(row.state, "dead");
	assert_true(strlen(row.last_error) < JOB_ERROR_MAX);
	assert_true(strlen(row.last_error) >= JOB_ERROR_MAX - 2);
	assert_memory_equal(row.last_error, "bad ? byte ", 11);
	assert_int_not_equal((unsigned char)row.last_error[strlen(row.last_error) - 1], 0xc3);
}

static void test_release(void **state)
{
	FX(state);
	char id[UUID_STR_LEN];
	enqueue(fx, "k", "{}", NULL, 3, 0, id);
	struct job j;
	assert_int_equal(job_claim(fx->c, "w1", 10000, 0, &j), STORE_OK);
	job_clear(&j);
	assert_int_equal(job_release(fx->c, id, "w2"), STORE_NOT_FOUND);
	assert_int_equal(job_release(fx->c, id, "w1"), STORE_OK);
	struct row row;
	job_row(fx->c, id, &row);
	assert_string_equal(row.state, "queued");
	assert_int_equal(row.attempts, 0);
	assert_string_equal(row.lease_owner, "");
	assert_int_equal(job_claim(fx->c, "w2", 10000, 0, &j), STORE_OK);
	assert_string_equal(j.id, id);
	assert_int_equal(j.attempts, 1);
	job_clear(&j);
}

/* ---- exclusivity ---- */

struct claimer {
	struct db *db;
	char owner[16];
	atomic_int *seen; /* [MAXJOBS] times each job was claimed */
	int claimed;
	int errors;
};

static void *claimer_main(void *arg)
{
	struct claimer *cl = arg;
	struct db_conn *c = db_acquire_system(cl->db, 5000);
	if (!c) {
		cl->errors++;
		return NULL;
	}
	for (;;) {
		struct job j;
		int rc = job_claim(c, cl->owner, 60000, 0, &j);
		if (rc == STORE_NOT_FOUND)
			break;
		if (rc == STORE_BUSY)
			continue;
		if (rc != STORE_OK) {
			fprintf(stderr, "claim: %d %s\n", rc, db_conn_error(c));
			cl->errors++;
			break;
		}
		int i = -1;
		if (sscanf(j.payload, "{\"i\": %d}", &i) != 1 || i < 0 || i >= MAXJOBS)
			cl->errors++;
		else
			atomic_fetch_add(&cl->seen[i], 1);
		cl->claimed++;
		/* Half done, half failed for good: both end the job. */
		rc = i % 2 ? job_done(c, j.id, cl->owner) : job_fail(c, j.id, cl->owner, "x", 0);
		if (rc != STORE_OK)
			cl->errors++;
		job_clear(&j);
	}
	db_release(c);
	return NULL;
}

static void test_concurrent_claims(void **state)
{
	FX(state);
	static atomic_int seen[MAXJOBS];
	assert_int_equal(db_begin(fx->c), DB_OK);
	for (int i = 0; i < MAXJOBS; i++) {
		char payload[32], id[UUID_STR_LEN];
		snprintf(payload, sizeof payload, "{\"i\": %d}", i);
		enqueue(fx, "k", payload, NULL, 3, 0, id);
		atomic_init(&seen[i], 0);
	}
	assert_int_equal(db_commit(fx->c), DB_OK);

	struct claimer cl[4];
	pthread_t th[4];
	for (int t = 0; t < 4; t++) {
		memset(&cl[t], 0, sizeof cl[t]);
		cl[t].db = fx->db;
		cl[t].seen = seen;
		snprintf(cl[t].owner, sizeof cl[t].owner, "t%d", t);
		assert_int_equal(pthread_create(&th[t], NULL, claimer_main, &cl[t]), 0);
	}
	int total = 0, busy_threads = 0;
	for (int t = 0; t < 4; t++) {
		pthread_join(th[t], NULL);
		assert_int_equal(cl[t].errors, 0);
		total += cl[t].claimed;
		busy_threads += cl[t].claimed > 0;
	}
	assert_int_equal(total, MAXJOBS);
	for (int i = 0; i < MAXJOBS; i++)
		assert_int_equal(atomic_load(&seen[i]), 1);
	struct job_counts n;
	assert_int_equal(job_counts(fx->c, &n), STORE_OK);
	assert_int_equal(n.done, MAXJOBS / 2);
	assert_int_equal(n.dead, MAXJOBS / 2);
	if (busy_threads < 2)
		fprintf(stderr, "note: only %d claimer thread got work\n", busy_threads);
}

/* ---- fairness across organizations (issue 8 #6) ---- */

static void enqueue_org(struct fx *fx, const char *org, const char *kind, int i,
			char id[UUID_STR_LEN])
{
	char payload[32];
	snprintf(payload, sizeof payload, "{\"i\": %d}", i);
	assert_int_equal(job_enqueue(fx->c, org, kind, payload, NULL, 3, 0, id), STORE_OK);
	sleep_ms(2); /* distinct run_at: "oldest" means something */
}

/*
 * Two 3-hour files of one organization took both workers and another
 * organization's 4-second file waited hours. Org A queues 5 jobs, org B one
 * later. Round robin: with no limit, the second claim already goes to B
 * (the organization running the fewest), not to A's second job.
 */
static void test_fair_round_robin(void **state)
{
	FX(state);
	char org_a[UUID_STR_LEN], org_b[UUID_STR_LEN], a[5][UUID_STR_LEN], b[UUID_STR_LEN];
	uuid_v7(org_a);
	uuid_v7(org_b);
	for (int i = 0; i < 5; i++)
		enqueue_org(fx, org_a, "k", i, a[i]);
	enqueue_org(fx, org_b, "k", 5, b);

	struct job j1, j2, j3;
	assert_int_equal(job_claim(fx->c, "w1", 60000, 0, &j1), STORE_OK);
	assert_string_equal(j1.id, a[0]);
	assert_int_equal(job_claim(fx->c, "w2", 60000, 0, &j2), STORE_OK);
	assert_string_equal(j2.id, b);
	assert_string_equal(j2.org_id, org_b);
	/* B has nothing else: A's next, oldest first. */
	assert_int_equal(job_claim(fx->c, "w3", 60000, 0, &j3), STORE_OK);
	assert_string_equal(j3.id, a[1]);
	job_clear(&j1);
	job_clear(&j2);
	job_clear(&j3);
}

/*
 * The per-organization limit: with 1, A runs one job at a time whatever
 * else is free; B's job is claimed before A's second; a finished job frees
 * A's slot. Jobs without an organization are not limited.
 */
static void test_fair_per_org_limit(void **state)
{
	FX(state);
	char org_a[UUID_STR_LEN], org_b[UUID_STR_LEN], a[5][UUID_STR_LEN], b[UUID_STR_LEN],
	    sys1[UUID_STR_LEN], sys2[UUID_STR_LEN];
	uuid_v7(org_a);
	uuid_v7(org_b);
	for (int i = 0; i < 5; i++)
		enqueue_org(fx, org_a, "k", i, a[i]);
	enqueue_org(fx, org_b, "k", 5, b);

	struct job j1, j2, j3, j;
	assert_int_equal(job_claim(fx->c, "w1", 60000, 1, &j1), STORE_OK);
	assert_string_equal(j1.id, a[0]);
	assert_int_equal(job_claim(fx->c, "w2", 60000, 1, &j2), STORE_OK);
	assert_string_equal(j2.id, b);
	/* Both organizations at their limit: nothing for a third worker. */
	assert_int_equal(job_claim(fx->c, "w3", 60000, 1, &j), STORE_NOT_FOUND);
	/* A limit of 2 lets A's second job go (counted in the table, not per caller). */
	assert_int_equal(job_claim(fx->c, "w3", 60000, 2, &j3), STORE_OK);
	assert_string_equal(j3.id, a[1]);
	assert_int_equal(job_claim(fx->c, "w4", 60000, 1, &j), STORE_NOT_FOUND);

	/* A finishes one job but still runs another: at its limit of 1 still. */
	assert_int_equal(job_done(fx->c, j1.id, "w1"), STORE_OK);
	assert_int_equal(job_claim(fx->c, "w4", 60000, 1, &j), STORE_NOT_FOUND);
	assert_int_equal(job_done(fx->c, j3.id, "w3"), STORE_OK);
	assert_int_equal(job_claim(fx->c, "w1", 60000, 1, &j), STORE_OK);
	assert_string_equal(j.id, a[2]);
	/* A failed attempt waiting for its retry does not hold a slot. */
	assert_int_equal(job_fail(fx->c, j.id, "w1", "later", time_now_ms() + 60000), STORE_OK);
	job_clear(&j);
	assert_int_equal(job_claim(fx->c, "w1", 60000, 1, &j), STORE_OK);
	assert_string_equal(j.id, a[3]);
	job_clear(&j);

	/* A running job whose lease ran out does not count: its worker is gone. */
	assert_int_equal(job_release(fx->c, a[3], "w1"), STORE_OK);
	char x[UUID_STR_LEN];
	assert_int_equal(job_claim(fx->c, "w1", 1, 1, &j), STORE_OK);
	snprintf(x, sizeof x, "%s", j.id);
	assert_string_equal(j.org_id, org_a);
	job_clear(&j);
	sleep_ms(10);
	assert_int_equal(job_claim(fx->c, "w4", 60000, 1, &j), STORE_OK);
	assert_string_equal(j.id, x); /* taken over: the oldest of A's ready jobs */
	assert_int_equal(j.attempts, 2);
	job_clear(&j);
	assert_int_equal(job_claim(fx->c, "w5", 60000, 1, &j), STORE_NOT_FOUND);

	/* Jobs of no organization (maintenance) are not held back by the limit. */
	enqueue(fx, "sys", "{}", NULL, 3, 0, sys1);
	enqueue(fx, "sys", "{}", NULL, 3, 0, sys2);
	assert_int_equal(job_claim(fx->c, "w5", 60000, 1, &j), STORE_OK);
	assert_string_equal(j.id, sys1);
	job_clear(&j);
	assert_int_equal(job_claim(fx->c, "w6", 60000, 1, &j), STORE_OK);
	assert_string_equal(j.id, sys2);
	job_clear(&j);
	job_clear(&j1);
	job_clear(&j2);
	job_clear(&j3);
	struct job_counts n;
	assert_int_equal(job_counts(fx->c, &n), STORE_OK);
	assert_int_equal(n.running, 4); /* b, x, sys1, sys2 */
}

struct racer {
	struct db *db;
	pthread_barrier_t *go;
	char owner[16];
	int per_org;
	int rc;
	char org[UUID_STR_LEN];
};

static void *racer_main(void *arg)
{
	struct racer *r = arg;
	struct db_conn *c = db_acquire_system(r->db, 5000);
	pthread_barrier_wait(r->go);
	if (!c) {
		r->rc = STORE_UNAVAILABLE;
		return NULL;
	}
	struct job j;
	do
		r->rc = job_claim(c, r->owner, 60000, r->per_org, &j);
	while (r->rc == STORE_BUSY);
	if (r->rc == STORE_OK) {
		snprintf(r->org, sizeof r->org, "%s", j.org_id);
		job_clear(&j);
	}
	db_release(c);
	return NULL;
}

/*
 * Claimers racing (threads here; processes in production): the limit holds
 * across them, because it is counted in the table under the claim's lock.
 */
static void test_fair_limit_under_race(void **state)
{
	FX(state);
	enum { RACERS = 8, LIMIT = 2 };
	char org_a[UUID_STR_LEN], org_b[UUID_STR_LEN], id[UUID_STR_LEN];
	uuid_v7(org_a);
	uuid_v7(org_b);
	for (int round = 0; round < 3; round++) {
		assert_int_equal(db_exec(fx->c, "DELETE FROM jobs", NULL, 0, NULL), DB_OK);
		assert_int_equal(db_begin(fx->c), DB_OK);
		for (int i = 0; i < 20; i++)
			assert_int_equal(
			    job_enqueue(fx->c, i < 15 ? org_a : org_b, "k", "{}", NULL, 3, 0, id),
			    STORE_OK);
		assert_int_equal(db_commit(fx->c), STORE_OK);

		pthread_barrier_t go;
		pthread_barrier_init(&go, NULL, RACERS);
		struct racer r[RACERS];
		pthread_t th[RACERS];
		for (int t = 0; t < RACERS; t++) {
			r[t] = (struct racer){.db = fx->db, .go = &go, .per_org = LIMIT};
			snprintf(r[t].owner, sizeof r[t].owner, "r%d", t);
			assert_int_equal(pthread_create(&th[t], NULL, racer_main, &r[t]), 0);
		}
		int got_a = 0, got_b = 0, none = 0;
		for (int t = 0; t < RACERS; t++) {
			pthread_join(th[t], NULL);
			if (r[t].rc == STORE_NOT_FOUND) {
				none++;
				continue;
			}
			if (r[t].rc != STORE_OK)
				fail_msg("racer %d: rc %d", t, r[t].rc);
			got_a += strcmp(r[t].org, org_a) == 0;
			got_b += strcmp(r[t].org, org_b) == 0;
		}
		pthread_barrier_destroy(&go);
		assert_int_equal(got_a, LIMIT);
		assert_int_equal(got_b, LIMIT);
		assert_int_equal(none, RACERS - 2 * LIMIT);
	}
}

/* ---- the pool ---- */

struct app {
	atomic_int runs[MAXJOBS];
	atomic_int total;
	atomic_int started;
	atomic_int saw_cancel;
	atomic_int saw_stopping;
	atomic_int bad;
	int sleep_ms;
};

static int payload_index(const struct job_run *run)
{
	json_t *v = json_object_get(run->payload, "i");
	return json_is_integer(v) ? (int)json_integer_value(v) : -1;
}

static enum job_result h_count(struct job_run *run)
{
	struct app *a = run->app;
	int i = payload_index(run);
	if (i < 0 || i >= MAXJOBS) {
		atomic_fetch_add(&a->bad, 1);
		return JOB_FAIL;
	}
	atomic_fetch_add(&a->runs[i], 1);
	atomic_fetch_add(&a->total, 1);
	return JOB_OK;
}

static enum job_result h_retry2(struct job_run *run)
{
	struct app *a = run->app;
	atomic_fetch_add(&a->total, 1);
	if (run->job->attempts < 3) {
		snprintf(run->error, sizeof run->error, "not yet (attempt %d)", run->job->attempts);
		return JOB_RETRY;
	}
	return JOB_OK;
}

static enum job_result h_fail(struct job_run *run)
{
	struct app *a = run->app;
	atomic_fetch_add(&a->total, 1);
	snprintf(run->error, sizeof run->error, "the audio is unreadable");
	return JOB_FAIL;
}

/* Works sleep_ms, watching cancel. */
static enum job_result h_slow(struct job_run *run)
{
	struct app *a = run->app;
	atomic_fetch_add(&a->started, 1);
	for (int t = 0; t < a->sleep_ms; t += 10) {
		if (atomic_load(&run->cancel)) {
			atomic_fetch_add(&a->saw_cancel, 1);
			return JOB_RETRY;
		}
		sleep_ms(10);
	}
	atomic_fetch_add(&a->total, 1);
	return JOB_OK;
}

/* Runs until cancelled (at most 10 s). */
static enum job_result h_until_cancel(struct job_run *run)
{
	struct app *a = run->app;
	atomic_fetch_add(&a->started, 1);
	for (int t = 0; t < 10000 && !atomic_load(&run->cancel); t += 5)
		sleep_ms(5);
	if (atomic_load(&run->cancel)) {
		atomic_fetch_add(&a->saw_cancel, 1);
		if (run->stopping)
			atomic_fetch_add(&a->saw_stopping, 1);
	}
	snprintf(run->error, sizeof run->error, "interrupted");
	return JOB_RETRY;
}

/* Ignores cancel: works 1.5 s whatever happens (a handler stuck in a library call). */
static enum job_result h_ignore_stop(struct job_run *run)
{
	struct app *a = run->app;
	atomic_fetch_add(&a->started, 1);
	sleep_ms(1500);
	atomic_fetch_add(&a->total, 1);
	return JOB_OK;
}

static struct jobs *pool_new(struct fx *fx, struct app *a, int threads, int lease_ms)
{
	struct jobs_config cfg = {
	    .threads = threads,
	    .lease_ms = lease_ms,
	    .poll_ms = 50,
	    .backoff_base_ms = 10,
	    .backoff_max_ms = 40,
	    .owner_prefix = "test",
	};
	struct jobs *p = jobs_new(fx->db, &cfg, a);
	assert_non_null(p);
	assert_int_equal(jobs_register(p, "count", h_count), 0);
	assert_int_equal(jobs_register(p, "count", h_count), -1);
	assert_int_equal(jobs_register(p, "retry2", h_retry2), 0);
	assert_int_equal(jobs_register(p, "fail", h_fail), 0);
	assert_int_equal(jobs_register(p, "slow", h_slow), 0);
	assert_int_equal(jobs_register(p, "until_cancel", h_until_cancel), 0);
	assert_int_equal(jobs_register(p, "ignore_stop", h_ignore_stop), 0);
	return p;
}

/* Wait (up to ms) until a job reaches state. */
static void wait_state(struct fx *fx, const char *id, const char *state, int ms, struct row *row)
{
	int64_t until = time_now_ms() + ms;
	for (;;) {
		job_row(fx->c, id, row);
		if (strcmp(row->state, state) == 0)
			return;
		if (time_now_ms() > until)
			break;
		sleep_ms(10);
	}
	fprintf(stderr, "job %s is %s, not %s\n", id, row->state, state);
	fail();
}

static void wait_atomic(atomic_int *v, int want, int ms)
{
	int64_t until = time_now_ms() + ms;
	while (atomic_load(v) < want && time_now_ms() < until)
		sleep_ms(5);
	assert_true(atomic_load(v) >= want);
}

static void test_pool_runs_all(void **state)
{
	FX(state);
	static struct app a;
	memset(&a, 0, sizeof a);
	struct jobs *p = pool_new(fx, &a, 4, 5000);
	assert_int_equal(jobs_start(p), 0);
	assert_int_equal(jobs_start(p), -1);
	assert_int_equal(jobs_register(p, "late", h_count), -1);
	for (int i = 0; i < 50; i++) {
		char payload[32], id[UUID_STR_LEN];
		snprintf(payload, sizeof payload, "{\"i\": %d}", i);
		enqueue(fx, "count", payload, NULL, 3, 0, id);
		jobs_notify(p);
	}
	wait_atomic(&a.total, 50, 10000);
	struct job_counts n;
	for (int64_t until = time_now_ms() + 5000; time_now_ms() < until; sleep_ms(10)) {
		assert_int_equal(job_counts(fx->c, &n), STORE_OK);
		if (n.done == 50)
			break;
	}
	assert_int_equal(n.done, 50);
	jobs_stop(p, 5);
	for (int i = 0; i < 50; i++)
		assert_int_equal(atomic_load(&a.runs[i]), 1);
	assert_int_equal(atomic_load(&a.total), 50);
	assert_int_equal(atomic_load(&a.bad), 0);
}

static void test_pool_retry_then_ok(void **state)
{
	FX(state);
	static struct app a;
	memset(&a, 0, sizeof a);
	struct jobs *p = pool_new(fx, &a, 2, 5000);
	assert_int_equal(jobs_start(p), 0);
	char id[UUID_STR_LEN];
	enqueue(fx, "retry2", "{}", NULL, 5, 0, id);
	jobs_notify(p);
	struct row row;
	wait_state(fx, id, "done", 5000, &row);
	jobs_stop(p, 5);
	assert_int_equal(row.attempts, 3);
	assert_int_equal(atomic_load(&a.total), 3);
	/* The error of the last failed attempt stays for the record. */
	assert_string_equal(row.last_error, "not yet (attempt 2)");
}

static void test_pool_fail_and_dead(void **state)
{
	FX(state);
	static struct app a;
	memset(&a, 0, sizeof a);
	struct jobs *p = pool_new(fx, &a, 2, 5000);
	assert_int_equal(jobs_start(p), 0);
	char f[UUID_STR_LEN], r2[UUID_STR_LEN], none[UUID_STR_LEN], bad[UUID_STR_LEN],
	    arr[UUID_STR_LEN];
	enqueue(fx, "fail", "{}", NULL, 5, 0, f);
	enqueue(fx, "retry2", "{}", NULL, 2, 0, r2); /* retries run out first */
	enqueue(fx, "nope", "{}", NULL, 5, 0, none);
	enqueue(fx, "count", "{\"i\": secret", NULL, 5, 0, bad);
	enqueue(fx, "count", "[1]", NULL, 5, 0, arr);
	jobs_notify(p);
	struct row row;
	wait_state(fx, f, "dead", 5000, &row);
	assert_string_equal(row.last_error, "the audio is unreadable");
	assert_int_equal(row.attempts, 1);
	wait_state(fx, r2, "dead", 5000, &row);
	assert_string_equal(row.last_error, "not yet (attempt 2)");
	assert_int_equal(row.attempts, 2);
	wait_state(fx, none, "dead", 5000, &row);
	assert_string_equal(row.last_error, "no handler for kind nope");
	wait_state(fx, bad, "dead", 5000, &row);
	assert_non_null(strstr(row.last_error, "not valid JSON"));
	assert_null(strstr(row.last_error, "secret"));
	wait_state(fx, arr, "dead", 5000, &row);
	assert_string_equal(row.last_error, "payload is not a JSON object");
	jobs_stop(p, 5);
	/* The handler never saw the bad payloads. */
	assert_int_equal(atomic_load(&a.bad), 0);
	assert_int_equal(atomic_load(&a.total), 3);
}

static void test_pool_backoff(void **state)
{
	FX(state);
	static struct app a;
	memset(&a, 0, sizeof a);
	struct jobs_config cfg = {.threads = 1,
				  .poll_ms = 50,
				  .backoff_base_ms = 60000,
				  .backoff_max_ms = 3600000,
				  .owner_prefix = "test"};
	struct jobs *p = jobs_new(fx->db, &cfg, &a);
	assert_non_null(p);
	assert_int_equal(jobs_register(p, "retry2", h_retry2), 0);
	assert_int_equal(jobs_start(p), 0);
	char id[UUID_STR_LEN];
	int64_t t0 = time_now_ms();
	enqueue(fx, "retry2", "{}", NULL, 5, 0, id);
	jobs_notify(p);
	struct row row;
	wait_state(fx, id, "failed", 5000, &row);
	jobs_stop(p, 5);
	/* First retry: base +-20%. */
	assert_true(row.run_at >= t0 + 48000);
	assert_true(row.run_at <= time_now_ms() + 72000);
	assert_int_equal(row.attempts, 1);
}

static void test_pool_lease_renewal(void **state)
{
	FX(state);
	static struct app a;
	memset(&a, 0, sizeof a);
	a.sleep_ms = 1200; /* four leases long */
	struct jobs *p = pool_new(fx, &a, 3, 300);
	assert_int_equal(jobs_start(p), 0);
	char id[UUID_STR_LEN];
	enqueue(fx, "slow", "{}", NULL, 5, 0, id);
	jobs_notify(p);
	struct row row;
	wait_state(fx, id, "done", 5000, &row);
	jobs_stop(p, 5);
	assert_int_equal(atomic_load(&a.started), 1);
	assert_int_equal(atomic_load(&a.saw_cancel), 0);
	assert_int_equal(atomic_load(&a.total), 1);
	assert_int_equal(row.attempts, 1);
}

static void test_pool_stop_releases(void **state)
{
	FX(state);
	static struct app a;
	memset(&a, 0, sizeof a);
	struct jobs *p = pool_new(fx, &a, 2, 5000);
	assert_int_equal(jobs_start(p), 0);
	char id[UUID_STR_LEN];
	enqueue(fx, "until_cancel", "{}", NULL, 5, 0, id);
	jobs_notify(p);
	wait_atomic(&a.started, 1, 5000);
	int64_t t0 = time_mono_us();
	jobs_stop(p, 5);
	assert_true(time_mono_us() - t0 < 3000000);
	assert_int_equal(atomic_load(&a.saw_cancel), 1);
	assert_int_equal(atomic_load(&a.saw_stopping), 1);
	struct row row;
	job_row(fx->c, id, &row);
	assert_string_equal(row.state, "queued");
	assert_int_equal(row.attempts, 0);
	assert_string_equal(row.lease_owner, "");
}

static void test_pool_lease_lost(void **state)
{
	FX(state);
	static struct app a;
	memset(&a, 0, sizeof a);
	struct jobs *p = pool_new(fx, &a, 1, 300);
	assert_int_equal(jobs_start(p), 0);
	char id[UUID_STR_LEN];
	enqueue(fx, "until_cancel", "{}", "m1", 5, 0, id);
	jobs_notify(p);
	wait_atomic(&a.started, 1, 5000);
	/* The meeting is deleted under the running job: the next renewal
	 * finds the job gone and cancels the handler. */
	assert_int_equal(job_cancel(fx->c, "until_cancel", "m1", "meeting deleted"), STORE_OK);
	wait_atomic(&a.saw_cancel, 1, 3000);
	jobs_stop(p, 5);
	assert_int_equal(atomic_load(&a.saw_stopping), 0);
	struct row row;
	job_row(fx->c, id, &row);
	assert_string_equal(row.state, "dead");
	assert_string_equal(row.last_error, "meeting deleted");
}

/*
 * The pool passes its per-organization limit to every claim: with two
 * workers and a limit of 1, org A's second long job waits, the other
 * worker stays free, and org B's job queued later runs at once.
 */
static void test_pool_fair(void **state)
{
	FX(state);
	static struct app a;
	memset(&a, 0, sizeof a);
	a.sleep_ms = 3000;
	struct jobs_config cfg = {.threads = 2,
				  .lease_ms = 5000,
				  .poll_ms = 50,
				  .backoff_base_ms = 10,
				  .backoff_max_ms = 40,
				  .owner_prefix = "test",
				  .per_org = 1};
	struct jobs *p = jobs_new(fx->db, &cfg, &a);
	assert_non_null(p);
	assert_int_equal(jobs_register(p, "slow", h_slow), 0);
	assert_int_equal(jobs_register(p, "count", h_count), 0);
	assert_int_equal(jobs_start(p), 0);
	char org_a[UUID_STR_LEN], org_b[UUID_STR_LEN], id[UUID_STR_LEN];
	uuid_v7(org_a);
	uuid_v7(org_b);
	for (int i = 0; i < 3; i++)
		enqueue_org(fx, org_a, "slow", i, id);
	jobs_notify(p);
	wait_atomic(&a.started, 1, 5000);
	sleep_ms(300); /* several polls of the idle worker */
	assert_int_equal(atomic_load(&a.started), 1);

	int64_t t0 = time_now_ms();
	enqueue_org(fx, org_b, "count", 7, id);
	jobs_notify(p);
	wait_atomic(&a.runs[7], 1, 2000);
	int64_t waited = time_now_ms() - t0;
	/* A's first job is still running and its second has not started. */
	assert_int_equal(atomic_load(&a.started), 1);
	assert_int_equal(atomic_load(&a.total), 1);
	print_message("org B's job ran %lld ms after it was queued, beside org A's long one\n",
		      (long long)waited);
	jobs_stop(p, 5);
}

/*
 * Issue 8 #27: shutdown freed the engines and the database while a handler
 * that ignored the stop was still running. jobs_stop now says how many it
 * left running, so the caller keeps what they use.
 */
/* Visible outside this file, so the store is kept and LeakSanitizer sees the pool as reachable. */
struct jobs *test_abandoned_pool;

static void test_pool_stop_abandoned(void **state)
{
	FX(state);
	static struct app a;
	memset(&a, 0, sizeof a);
	struct jobs *p = pool_new(fx, &a, 2, 5000);
	assert_int_equal(jobs_start(p), 0);
	char id[UUID_STR_LEN];
	enqueue(fx, "ignore_stop", "{}", NULL, 5, 0, id);
	jobs_notify(p);
	wait_atomic(&a.started, 1, 5000);
	int64_t t0 = time_mono_us();
	assert_int_equal(jobs_stop(p, 0), 1);
	assert_true(time_mono_us() - t0 < 1000000); /* bounded by the grace, not the handler */
	assert_int_equal(atomic_load(&a.total), 0); /* still running */
	/* It finishes later on its own, touching nothing of the pool's caller. */
	wait_atomic(&a.total, 1, 5000);
	sleep_ms(50);
	struct row row;
	job_row(fx->c, id, &row);
	assert_string_equal(row.state, "running"); /* its lease runs out; another worker retries */
	/* An abandoned pool is never freed (iamd exits instead): keep it reachable, as main does.
	 */
	test_abandoned_pool = p;
}

/*
 * jobs_stop_begin cancels the handlers at once (main calls it when the
 * signal comes, while HTTP drains), and jobs_stop then only waits; a pool
 * whose handlers all returned reports none left running.
 */
static void test_pool_stop_begin(void **state)
{
	FX(state);
	static struct app a;
	memset(&a, 0, sizeof a);
	struct jobs *p = pool_new(fx, &a, 2, 5000);
	assert_int_equal(jobs_start(p), 0);
	char id[UUID_STR_LEN];
	enqueue(fx, "until_cancel", "{}", NULL, 5, 0, id);
	jobs_notify(p);
	wait_atomic(&a.started, 1, 5000);
	jobs_stop_begin(p);
	jobs_stop_begin(p); /* twice is fine */
	wait_atomic(&a.saw_cancel, 1, 2000);
	assert_int_equal(atomic_load(&a.saw_stopping), 1);
	/* Nothing new is claimed once stopping. */
	char id2[UUID_STR_LEN];
	enqueue(fx, "until_cancel", "{}", NULL, 5, 0, id2);
	jobs_notify(p);
	sleep_ms(200);
	assert_int_equal(atomic_load(&a.started), 1);
	assert_int_equal(jobs_stop(p, 5), 0);
	struct row row;
	job_row(fx->c, id, &row);
	assert_string_equal(row.state, "queued");
	assert_int_equal(row.attempts, 0);
	jobs_stop_begin(NULL);
}

static void test_pool_edges(void **state)
{
	FX(state);
	/* Not started, no threads, NULLs. */
	jobs_stop(NULL, 0);
	jobs_notify(NULL);
	assert_null(jobs_new(NULL, NULL, NULL));
	struct jobs *p = jobs_new(fx->db, NULL, NULL);
	assert_non_null(p);
	assert_int_equal(jobs_register(p, "k", NULL), -1);
	assert_int_equal(jobs_register(p, "", h_count), -1);
	jobs_stop(p, 0);
	p = jobs_new(fx->db, &(struct jobs_config){.threads = 0}, NULL);
	assert_int_equal(jobs_start(p), 0);
	jobs_notify(p);
	jobs_stop(p, 0);
}

#define JT(f, kind)                                                                                \
	cmocka_unit_test_prestate_setup_teardown(f, fx_setup, fx_teardown, (void *)&(kind))

int main(void)
{
	/* The pool logs every job; keep the test output readable. */
	if (!getenv("IAM_TEST_LOG"))
		log_set_level(LOG_ERROR + 1);
	// clang-format off
	const struct CMUnitTest sqlite_tests[] = {
		JT(test_enqueue_claim_done, KIND_SQLITE),
		JT(test_dedupe, KIND_SQLITE),
		JT(test_claim_order, KIND_SQLITE),
		JT(test_lease_expiry, KIND_SQLITE),
		JT(test_attempts_exhausted, KIND_SQLITE),
		JT(test_fail_retry, KIND_SQLITE),
		JT(test_release, KIND_SQLITE),
		JT(test_concurrent_claims, KIND_SQLITE),
		JT(test_fair_round_robin, KIND_SQLITE),
		JT(test_fair_per_org_limit, KIND_SQLITE),
		JT(test_fair_limit_under_race, KIND_SQLITE),
		JT(test_pool_runs_all, KIND_SQLITE),
		JT(test_pool_retry_then_ok, KIND_SQLITE),
		JT(test_pool_fail_and_dead, KIND_SQLITE),
		JT(test_pool_backoff, KIND_SQLITE),
		JT(test_pool_lease_renewal, KIND_SQLITE),
		JT(test_pool_stop_releases, KIND_SQLITE),
		JT(test_pool_lease_lost, KIND_SQLITE),
		JT(test_pool_fair, KIND_SQLITE),
		JT(test_pool_stop_abandoned, KIND_SQLITE),
		JT(test_pool_stop_begin, KIND_SQLITE),
		JT(test_pool_edges, KIND_SQLITE),
	};
	const struct CMUnitTest pg_tests[] = {
		JT(test_enqueue_claim_done, KIND_PG),
		JT(test_dedupe, KIND_PG),
		JT(test_claim_order, KIND_PG),
		JT(test_lease_expiry, KIND_PG),
		JT(test_attempts_exhausted, KIND_PG),
		JT(test_fail_retry, KIND_PG),
		JT(test_release, KIND_PG),
		JT(test_concurrent_claims, KIND_PG),
		JT(test_fair_round_robin, KIND_PG),
		JT(test_fair_per_org_limit, KIND_PG),
		JT(test_fair_limit_under_race, KIND_PG),
		JT(test_pool_runs_all, KIND_PG),
		JT(test_pool_retry_then_ok, KIND_PG),
		JT(test_pool_fail_and_dead, KIND_PG),
		JT(test_pool_backoff, KIND_PG),
		JT(test_pool_lease_renewal, KIND_PG),
		JT(test_pool_stop_releases, KIND_PG),
		JT(test_pool_lease_lost, KIND_PG),
		JT(test_pool_fair, KIND_PG),
		JT(test_pool_stop_abandoned, KIND_PG),
		JT(test_pool_stop_begin, KIND_PG),
		JT(test_pool_edges, KIND_PG),
	};
	// clang-format on
	int failed = cmocka_run_group_tests_name("jobs_sqlite", sqlite_tests, NULL, NULL);
	if (!env_pg_url())
		fprintf(stderr, "IAM_TEST_PG_URL not set: PostgreSQL tests are skipped\n");
	failed += cmocka_run_group_tests_name("jobs_pg", pg_tests, NULL, NULL);
	return failed ? 1 : 0;
}
