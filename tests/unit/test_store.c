/*
 * Unit tests for store/store: one result type (store_rc_of maps every
 * db_rc and keeps store codes) and the transaction helper store_tx (commit
 * on success, roll back on failure, run again while the database is busy,
 * a bounded number of times).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "store/store.h"

#include "db_fixture.h"

static void test_rc_of(void **state)
{
	(void)state;
	assert_int_equal(store_rc_of(DB_OK), STORE_OK);
	assert_int_equal(store_rc_of(DB_UNIQUE), STORE_CONFLICT);
	assert_int_equal(store_rc_of(DB_BUSY), STORE_BUSY);
	assert_int_equal(store_rc_of(DB_UNAVAILABLE), STORE_UNAVAILABLE);
	assert_int_equal(store_rc_of(DB_CONSTRAINT), STORE_ERROR);
	assert_int_equal(store_rc_of(DB_ERR), STORE_ERROR);
	assert_int_equal(store_rc_of(-99), STORE_ERROR);
	/* Store codes pass through unchanged. */
	assert_int_equal(store_rc_of(STORE_NOT_FOUND), STORE_NOT_FOUND);
	assert_int_equal(store_rc_of(STORE_UPLOAD_LOST), STORE_UPLOAD_LOST);
	assert_int_equal(store_rc_of(STORE_TOKEN_REUSED), STORE_TOKEN_REUSED);
	assert_int_equal(store_rc_of(1000), STORE_ERROR);
	assert_true(store_rc_retryable(STORE_BUSY));
	assert_true(store_rc_retryable(STORE_UNAVAILABLE));
	assert_false(store_rc_retryable(STORE_ERROR));
	assert_string_equal(store_rc_name(STORE_UPLOAD_BUSY), "upload_busy");
	assert_string_equal(store_rc_name((enum store_rc)99), "unknown");
}

struct tx_arg {
	int calls;
	int busy_first; /* answer DB_BUSY this many times, then result */
	int result;
	const char *name;
};

/* Insert a row named arg->name, then answer busy or result. */
static int insert_tx(struct db_conn *c, void *arg)
{
	struct tx_arg *a = arg;
	a->calls++;
	char id[UUID_STR_LEN];
	uuid_v7(id);
	int rc = db_exec(c,
			 "INSERT INTO organizations (id, name, personal, created_at, updated_at)"
			 " VALUES ($1, $2, 0, 1, 1)",
			 DB_PARAMS(DB_TEXT(id), DB_TEXT(a->name)), NULL);
	if (rc)
		return rc;
	return a->calls <= a->busy_first ? DB_BUSY : a->result;
}

static int64_t rows_named(struct fx *fx, const char *name)
{
	int rc;
	struct db_res *r = db_query(fx->c, "SELECT COUNT(*) FROM organizations WHERE name = $1",
				    DB_PARAMS(DB_TEXT(name)), &rc);
	assert_non_null(r);
	assert_int_equal(db_next(r), 1);
	int64_t n = db_int(r, 0);
	db_res_free(r);
	return n;
}

static void test_tx_commits_and_rolls_back(void **state)
{
	FX(state);
	struct tx_arg ok = {.result = STORE_OK, .name = "tx-ok"};
	assert_int_equal(store_tx(fx->c, insert_tx, &ok), STORE_OK);
	assert_int_equal(ok.calls, 1);
	assert_int_equal(rows_named(fx, "tx-ok"), 1);

	/* A domain outcome (not found) is returned as it is, and nothing stays. */
	struct tx_arg nf = {.result = STORE_NOT_FOUND, .name = "tx-nf"};
	assert_int_equal(store_tx(fx->c, insert_tx, &nf), STORE_NOT_FOUND);
	assert_int_equal(nf.calls, 1);
	assert_int_equal(rows_named(fx, "tx-nf"), 0);

	/* A db_rc from fn comes back as a store_rc. */
	struct tx_arg dup = {.result = DB_UNIQUE, .name = "tx-dup"};
	assert_int_equal(store_tx(fx->c, insert_tx, &dup), STORE_CONFLICT);
	assert_int_equal(rows_named(fx, "tx-dup"), 0);

	/* No transaction is left open: a plain statement and a new transaction work. */
	assert_int_equal(db_begin(fx->c), DB_OK);
	assert_int_equal(db_rollback(fx->c), DB_OK);
}

static void test_tx_retries_busy(void **state)
{
	FX(state);
	/* Busy twice, then fine: run three times, committed once. */
	struct tx_arg a = {.busy_first = 2, .result = STORE_OK, .name = "tx-retry"};
	assert_int_equal(store_tx(fx->c, insert_tx, &a), STORE_OK);
	assert_int_equal(a.calls, 3);
	assert_int_equal(rows_named(fx, "tx-retry"), 1);

	/* Busy every time: bounded, then STORE_BUSY, nothing written. */
	struct tx_arg b = {.busy_first = 1000, .result = STORE_OK, .name = "tx-busy"};
	int64_t t0 = time_mono_us();
	assert_int_equal(store_tx(fx->c, insert_tx, &b), STORE_BUSY);
	assert_int_equal(b.calls, STORE_TX_TRIES);
	assert_int_equal(rows_named(fx, "tx-busy"), 0);
	assert_true(time_mono_us() - t0 < 2000000); /* small pauses, not seconds */
}

int main(void)
{
	if (!getenv("IAM_TEST_LOG"))
		log_set_level(LOG_ERROR + 1);
	// clang-format off
	const struct CMUnitTest pure_tests[] = {
		cmocka_unit_test(test_rc_of),
	};
	const struct CMUnitTest sqlite_tests[] = {
		ST(test_tx_commits_and_rolls_back, KIND_SQLITE),
		ST(test_tx_retries_busy, KIND_SQLITE),
	};
	const struct CMUnitTest pg_tests[] = {
		ST(test_tx_commits_and_rolls_back, KIND_PG),
		ST(test_tx_retries_busy, KIND_PG),
	};
	// clang-format on
	int failed = cmocka_run_group_tests_name("store", pure_tests, NULL, NULL);
	failed += cmocka_run_group_tests_name("store_sqlite", sqlite_tests, NULL, NULL);
	failed += cmocka_run_group_tests_name("store_postgres", pg_tests, NULL, NULL);
	return failed ? 1 : 0;
}
