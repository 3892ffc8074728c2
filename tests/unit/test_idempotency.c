/*
 * test_idempotency.c — Idempotency-Key records (store/idempotency.c).
 *
 * Every test runs against SQLite in a fresh temporary directory, and again
 * against PostgreSQL when IAM_TEST_PG_URL names a database we may write
 * (migrated here; each test makes its own accounts); without it the
 * PostgreSQL group is skipped:
 *   url=$(scripts/pg-test-cluster start /tmp/pgidem)
 *   IAM_TEST_PG_URL=$url build/tests/test_idempotency
 *   scripts/pg-test-cluster stop /tmp/pgidem
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/log.h"
#include "core/timeutil.h"
#include "core/uuid.h"
#include "store/db.h"
#include "store/migrate.h"
#include "store/idempotency.h"

#include "db_fixture.h"

#define DAY (24LL * 3600 * 1000)

/* What idem_claim made of the key, or a negated store_rc when the call failed. */
static int claim(struct db_conn *c, const char *org, const char *user, const char *key,
		 const char *hash, int64_t pending_ms, int64_t ttl_ms, struct idem_reply *rep)
{
	enum idem_claim state;
	enum store_rc rc = idem_claim(c, org, user, key, hash, pending_ms, ttl_ms, &state, rep);
	return rc == STORE_OK ? (int)state : -(int)rc;
}

static void test_claim_finish_replay(void **state)
{
	FX(state);
	struct idem_reply rep;
	assert_int_equal(claim(fx->c, fx->org, fx->user, "k1", "hashA", 60000, DAY, &rep),
			 IDEM_NEW);
	/* A duplicate while the first is in flight. */
	assert_int_equal(claim(fx->c, fx->org, fx->user, "k1", "hashA", 60000, DAY, &rep),
			 IDEM_IN_FLIGHT);
	/* Another request under the same key, even in flight. */
	assert_int_equal(claim(fx->c, fx->org, fx->user, "k1", "hashB", 60000, DAY, &rep),
			 IDEM_MISMATCH);
	assert_int_equal(idem_finish(fx->c, fx->org, fx->user, "k1", 201, "application/json",
				     "{\"Location\":\"/x\"}", "{\"id\":\"1\"}"),
			 STORE_OK);
	assert_int_equal(claim(fx->c, fx->org, fx->user, "k1", "hashA", 60000, DAY, &rep),
			 IDEM_REPLAY);
	assert_int_equal(rep.status, 201);
	assert_string_equal(rep.content_type, "application/json");
	assert_string_equal(rep.headers, "{\"Location\":\"/x\"}");
	assert_string_equal(rep.body, "{\"id\":\"1\"}");
	idem_reply_clear(&rep);
	assert_null(rep.body);
	assert_int_equal(claim(fx->c, fx->org, fx->user, "k1", "hashB", 60000, DAY, &rep),
			 IDEM_MISMATCH);
}

static void test_scoped_per_user_and_org(void **state)
{
	FX(state);
	struct idem_reply rep;
	assert_int_equal(claim(fx->c, fx->org, fx->user, "same", "h", 60000, DAY, &rep), IDEM_NEW);
	assert_int_equal(claim(fx->c, fx->org2, fx->user2, "same", "h", 60000, DAY, &rep),
			 IDEM_NEW);
	/* Key text is compared exactly. */
	assert_int_equal(claim(fx->c, fx->org, fx->user, "Same", "h", 60000, DAY, &rep), IDEM_NEW);
}

static void test_abandon_and_stale(void **state)
{
	FX(state);
	struct idem_reply rep;
	assert_int_equal(claim(fx->c, fx->org, fx->user, "a", "h1", 60000, DAY, &rep), IDEM_NEW);
	assert_int_equal(idem_abandon(fx->c, fx->org, fx->user, "a"), STORE_OK);
	/* A retry after a failure runs afresh, even with another body. */
	assert_int_equal(claim(fx->c, fx->org, fx->user, "a", "h2", 60000, DAY, &rep), IDEM_NEW);
	/* A done record is not abandoned by a late abandon. */
	assert_int_equal(
	    idem_finish(fx->c, fx->org, fx->user, "a", 201, "application/json", "{}", "{}"),
	    STORE_OK);
	assert_int_equal(idem_abandon(fx->c, fx->org, fx->user, "a"), STORE_OK);
	assert_int_equal(claim(fx->c, fx->org, fx->user, "a", "h2", 60000, DAY, &rep), IDEM_REPLAY);
	idem_reply_clear(&rep);

	/* A pending claim whose process died (pending window passed) is taken over. */
	assert_int_equal(claim(fx->c, fx->org, fx->user, "dead", "h", -1, DAY, &rep), IDEM_NEW);
	assert_int_equal(claim(fx->c, fx->org, fx->user, "dead", "h", 60000, DAY, &rep), IDEM_NEW);
	assert_int_equal(claim(fx->c, fx->org, fx->user, "dead", "h", 60000, DAY, &rep),
			 IDEM_IN_FLIGHT);

	/* An expired record is gone: the key is free again, and purge removes it. */
	assert_int_equal(claim(fx->c, fx->org, fx->user, "old", "h", 60000, -1, &rep), IDEM_NEW);
	assert_int_equal(
	    idem_finish(fx->c, fx->org, fx->user, "old", 201, "application/json", "{}", "{}"),
	    STORE_OK);
	int64_t purged = 0;
	assert_int_equal(idem_purge(fx->c, time_now_ms(), &purged), STORE_OK);
	assert_true(purged >= 1);
	assert_int_equal(claim(fx->c, fx->org, fx->user, "old", "other", 60000, DAY, &rep),
			 IDEM_NEW);
	assert_int_equal(claim(fx->c, fx->org, fx->user, "exp", "h", 60000, -1, &rep), IDEM_NEW);
	assert_int_equal(
	    idem_finish(fx->c, fx->org, fx->user, "exp", 201, "application/json", "{}", "{}"),
	    STORE_OK);
	assert_int_equal(claim(fx->c, fx->org, fx->user, "exp", "other", 60000, DAY, &rep),
			 IDEM_NEW);
}

struct racer {
	struct db *db;
	const char *org, *user;
	int result;
};

static void *race_main(void *arg)
{
	struct racer *r = arg;
	struct db_conn *c = db_acquire_system(r->db, 5000);
	struct idem_reply rep;
	r->result = c ? claim(c, r->org, r->user, "race", "h", 60000, DAY, &rep) : -100;
	idem_reply_clear(&rep);
	db_release(c);
	return NULL;
}

static void test_concurrent_claims(void **state)
{
	FX(state);
	enum { N = 8 };
	pthread_t th[N];
	struct racer r[N];
	for (int i = 0; i < N; i++) {
		r[i] = (struct racer){.db = fx->db, .org = fx->org, .user = fx->user};
		assert_int_equal(pthread_create(&th[i], NULL, race_main, &r[i]), 0);
	}
	int fresh = 0, busy = 0;
	for (int i = 0; i < N; i++) {
		pthread_join(th[i], NULL);
		if (r[i].result == IDEM_NEW)
			fresh++;
		else if (r[i].result == IDEM_IN_FLIGHT)
			busy++;
		else if (r[i].result != -STORE_BUSY)
			fail_msg("unexpected claim result %d", r[i].result);
	}
	assert_int_equal(fresh, 1);
	assert_true(busy >= 1);
}

int main(void)
{
	if (!getenv("IAM_TEST_LOG"))
		log_set_level(LOG_ERROR + 1);
	// clang-format off
	const struct CMUnitTest sqlite_tests[] = {
		ST(test_claim_finish_replay, KIND_SQLITE),
		ST(test_scoped_per_user_and_org, KIND_SQLITE),
		ST(test_abandon_and_stale, KIND_SQLITE),
		ST(test_concurrent_claims, KIND_SQLITE),
	};
	const struct CMUnitTest pg_tests[] = {
		ST(test_claim_finish_replay, KIND_PG),
		ST(test_scoped_per_user_and_org, KIND_PG),
		ST(test_abandon_and_stale, KIND_PG),
		ST(test_concurrent_claims, KIND_PG),
	};
	// clang-format on
	int failed = cmocka_run_group_tests_name("idempotency_sqlite", sqlite_tests, NULL, NULL);
	failed += cmocka_run_group_tests_name("idempotency_postgres", pg_tests, NULL, NULL);
	return failed ? 1 : 0;
}
