/*
 * test_db.c — the db API (pool, both drivers) and migrations.
 *
 * Every test runs against SQLite in a fresh temporary directory, and again
 * against PostgreSQL when IAM_TEST_PG_URL names a database we may wipe
 * (each PostgreSQL test drops and recreates its public schema); without it
 * the PostgreSQL group is skipped. scripts/pg-test-cluster makes one:
 *   url=$(scripts/pg-test-cluster start /tmp/pgt)
 *   IAM_TEST_PG_URL=$url build/tests/test_db
 *   scripts/pg-test-cluster stop /tmp/pgt
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/timeutil.h"
#include "store/db.h"
#include "store/db_scope.h"
#include "store/migrate.h"

static const int KIND_SQLITE = DB_SQLITE;
static const int KIND_PG = DB_PG;

struct fx {
	int kind;
	char dir[256]; /* SQLite only: removed at teardown */
	char url[1024];
	struct db *db;
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
	char err[256] = "";
	if (fx->kind == DB_SQLITE) {
		snprintf(fx->dir, sizeof fx->dir, "/tmp/iam-test-db-XXXXXX");
		assert_non_null(mkdtemp(fx->dir));
		/* Two missing levels: db_open must create them. */
		snprintf(fx->url, sizeof fx->url, "sqlite:%s/sub/dir/test.db", fx->dir);
	} else {
		const char *u = env_pg_url();
		if (!u)
			return 0; /* each test skips */
		snprintf(fx->url, sizeof fx->url, "%s", u);
	}
	fx->db = db_open(fx->url, 4, err, sizeof err);
	if (!fx->db)
		fprintf(stderr, "db_open: %s\n", err);
	assert_non_null(fx->db);
	if (fx->kind == DB_PG) {
		struct db_conn *c = db_acquire(fx->db, 5000);
		assert_non_null(c);
		assert_int_equal(db_exec_script(c, "DROP SCHEMA IF EXISTS public CASCADE; "
						   "CREATE SCHEMA public;"),
				 DB_OK);
		db_release(c);
	}
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *fx = *state;
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

/* Replace the fixture's pool with one of another size. */
static void fx_reopen(struct fx *fx, int pool_size)
{
	char err[256] = "";
	db_close(fx->db);
	fx->db = db_open(fx->url, pool_size, err, sizeof err);
	assert_non_null(fx->db);
}

static const char *blob_type(const struct fx *fx)
{
	return fx->kind == DB_PG ? "BYTEA" : "BLOB";
}

static int64_t count_rows(struct db_conn *c, const char *table)
{
	char sql[128];
	snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
	int rc = DB_ERR;
	struct db_res *r = db_query(c, sql, NULL, 0, &rc);
	assert_non_null(r);
	assert_int_equal(db_next(r), 1);
	int64_t n = db_int(r, 0);
	db_res_free(r);
	return n;
}

static int64_t elapsed_ms(int64_t since_us)
{
	return (time_mono_us() - since_us) / 1000;
}

/* ---- tests ---- */

static void test_open_close(void **state)
{
	FX(state);
	assert_int_equal(db_dialect(fx->db), fx->kind);
	struct db_conn *c = db_acquire(fx->db, 1000);
	assert_non_null(c);
	assert_int_equal(db_conn_dialect(c), fx->kind);
	assert_int_equal(db_ping(c), DB_OK);
	assert_string_equal(db_conn_error(c), "");
	struct db_pool_stats st;
	db_pool_stats(fx->db, &st);
	assert_int_equal(st.size, 4);
	assert_int_equal(st.open, 1);
	assert_int_equal(st.in_use, 1);
	assert_int_equal(st.waits, 0);
	db_release(c);
	db_pool_stats(fx->db, &st);
	assert_int_equal(st.in_use, 0);

	if (fx->kind == DB_SQLITE) {
		char path[512];
		struct stat sb;
		snprintf(path, sizeof path, "%s/sub/dir", fx->dir);
		assert_int_equal(stat(path, &sb), 0);
		assert_true(S_ISDIR(sb.st_mode));
		assert_int_equal(sb.st_mode & 0777, 0700);
		/* WAL really is on. */
		c = db_acquire(fx->db, 1000);
		int rc;
		struct db_res *r = db_query(c, "PRAGMA journal_mode", NULL, 0, &rc);
		assert_non_null(r);
		assert_int_equal(db_next(r), 1);
		assert_string_equal(db_text(r, 0), "wal");
		db_res_free(r);
		r = db_query(c, "PRAGMA foreign_keys", NULL, 0, &rc);
		assert_non_null(r);
		assert_int_equal(db_next(r), 1);
		assert_int_equal(db_int(r, 0), 1);
		db_res_free(r);
		db_release(c);
	}

	/* NULLs everywhere are harmless. */
	db_close(NULL);
	db_release(NULL);
	db_res_free(NULL);
	assert_null(db_acquire(NULL, 0));
	assert_int_equal(db_exec(NULL, "SELECT 1", NULL, 0, NULL), DB_ERR);
	assert_int_equal(db_next(NULL), DB_ERR);
	assert_string_equal(db_text(NULL, 0), "");
	assert_non_null(db_conn_error(NULL));
	db_pool_stats(NULL, &st);
	assert_int_equal(st.size, 0);
}

static void expect_open_fails(const char *url, int pool_size, const char *secret)
{
	char err[256] = "";
	struct db *db = db_open(url, pool_size, err, sizeof err);
	assert_null(db);
	assert_true(err[0] != '\0');
	assert_null(strchr(err, '\n'));
	if (secret)
		assert_null(strstr(err, secret));
}

static void test_bad_urls(void **state)
{
	FX(state);
	expect_open_fails(NULL, 1, NULL);
	expect_open_fails("", 1, NULL);
	expect_open_fails("mysql://root:hunter2@localhost/x", 1, "hunter2");
	expect_open_fails("sqlite:", 1, NULL);
	expect_open_fails("sqlite", 1, NULL);
	expect_open_fails("postgres:/x", 1, NULL);
	expect_open_fails(fx->url, 0, NULL);
	expect_open_fails(fx->url, -3, NULL);
	/* A path under a regular file cannot be created. */
	expect_open_fails("sqlite:/dev/null/x/y.db", 1, NULL);
	/* Nothing listens on port 1: refused at once. */
	expect_open_fails("postgres://iam:s3cr3t@127.0.0.1:1/nope", 2, "s3cr3t");
	expect_open_fails("postgresql://127.0.0.1:1/nope?connect_timeout=2", 2, NULL);
	/* err may be NULL or tiny. */
	assert_null(db_open("nope:", 1, NULL, 0));
	char tiny[4];
	assert_null(db_open("nope:", 1, tiny, sizeof tiny));
	assert_int_equal(strlen(tiny), 3);
}

static void test_roundtrip(void **state)
{
	FX(state);
	struct db_conn *c = db_acquire(fx->db, 1000);
	assert_non_null(c);
	char ddl[256];
	snprintf(ddl, sizeof ddl, "CREATE TABLE t (id INTEGER PRIMARY KEY, s TEXT, n BIGINT, b %s)",
		 blob_type(fx));
	int64_t changes = -1;
	assert_int_equal(db_exec(c, ddl, NULL, 0, &changes), DB_OK);
	assert_int_equal(changes, 0);

	unsigned char bytes[256];
	for (int i = 0; i < 256; i++)
		bytes[i] = (unsigned char)i;
	const char *weird = "h\xc3\xa9llo 'single' \"double\" ; -- not a comment $1 \\ end";
	const char *ins = "INSERT INTO t (id, s, n, b) VALUES ($1, $2, $3, $4)";
	assert_int_equal(db_exec(c, ins,
				 DB_PARAMS(DB_INT(1), DB_TEXT(weird), DB_INT(INT64_MAX),
					   DB_BLOB(bytes, sizeof bytes)),
				 &changes),
			 DB_OK);
	assert_int_equal(changes, 1);
	assert_int_equal(db_exec(c, ins,
				 DB_PARAMS(DB_INT(2), DB_TEXT(NULL), DB_INT(INT64_MIN), DB_NULL),
				 &changes),
			 DB_OK);
	assert_int_equal(
	    db_exec(c, ins, DB_PARAMS(DB_INT(3), DB_TEXT(""), DB_INT(0), DB_BLOB("", 0)), NULL),
	    DB_OK);
	assert_int_equal(
	    db_exec(c, ins, DB_PARAMS(DB_INT(4), DB_NULL, DB_NULL, DB_BLOB(NULL, 0)), NULL), DB_OK);

	int rc = 1;
	struct db_res *r = db_query(c, "SELECT id, s, n, b FROM t ORDER BY id", NULL, 0, &rc);
	assert_non_null(r);
	assert_int_equal(rc, DB_OK);
	assert_int_equal(db_ncols(r), 4);
	/* No current row before the first db_next. */
	assert_string_equal(db_text(r, 1), "");

	size_t len = 99;
	assert_int_equal(db_next(r), 1);
	assert_int_equal(db_int(r, 0), 1);
	assert_string_equal(db_text(r, 1), weird);
	assert_int_equal(db_int(r, 2), INT64_MAX);
	assert_false(db_is_null(r, 3));
	const void *b = db_blob(r, 3, &len);
	assert_int_equal(len, sizeof bytes);
	assert_memory_equal(b, bytes, sizeof bytes);
	/* Asking again gives the same bytes, and the first pointer stays valid. */
	const void *b2 = db_blob(r, 3, &len);
	assert_int_equal(len, sizeof bytes);
	assert_memory_equal(b, bytes, sizeof bytes);
	assert_memory_equal(b2, bytes, sizeof bytes);
	/* Out of range columns are empty, not a crash. */
	assert_string_equal(db_text(r, 4), "");
	assert_string_equal(db_text(r, -1), "");
	assert_int_equal(db_int(r, 99), 0);
	assert_true(db_is_null(r, 99));
	assert_null(db_blob(r, -1, &len));

	assert_int_equal(db_next(r), 1);
	assert_int_equal(db_int(r, 0), 2);
	assert_true(db_is_null(r, 1));
	assert_string_equal(db_text(r, 1), "");
	assert_int_equal(db_int(r, 2), INT64_MIN);
	assert_true(db_is_null(r, 3));
	assert_null(db_blob(r, 3, &len));
	assert_int_equal(len, 0);

	for (int id = 3; id <= 4; id++) {
		assert_int_equal(db_next(r), 1);
		assert_int_equal(db_int(r, 0), id);
		/* An empty blob is empty, not NULL. */
		assert_false(db_is_null(r, 3));
		assert_non_null(db_blob(r, 3, &len));
		assert_int_equal(len, 0);
	}
	assert_true(db_is_null(r, 1)); /* row 4: s NULL */
	assert_int_equal(db_next(r), 0);
	assert_int_equal(db_next(r), 0);
	db_res_free(r);

	/* Row counts: UPDATE counts rows; a SELECT run through db_exec none. */
	assert_int_equal(db_exec(c, "UPDATE t SET n = n", NULL, 0, &changes), DB_OK);
	assert_int_equal(changes, 4);
	assert_int_equal(db_exec(c, "SELECT * FROM t", NULL, 0, &changes), DB_OK);
	assert_int_equal(changes, 0);
	assert_int_equal(db_exec(c, "DELETE FROM t WHERE id = $1", DB_PARAMS(DB_INT(42)), &changes),
			 DB_OK);
	assert_int_equal(changes, 0);

	/* An empty result. */
	r = db_query(c, "SELECT s FROM t WHERE id = $1", DB_PARAMS(DB_INT(42)), &rc);
	assert_non_null(r);
	assert_int_equal(db_next(r), 0);
	assert_string_equal(db_text(r, 0), "");
	db_res_free(r);

	/* Text parameters freed before db_next: the cursor must not care. */
	char *tmp = strdup("h\xc3\xa9llo%");
	r = db_query(c, "SELECT id FROM t WHERE s LIKE $1", DB_PARAMS(DB_TEXT(tmp)), &rc);
	memset(tmp, 'x', strlen(tmp));
	free(tmp);
	assert_non_null(r);
	assert_int_equal(db_next(r), 1);
	assert_int_equal(db_int(r, 0), 1);
	assert_int_equal(db_next(r), 0);
	db_res_free(r);
	db_release(c);
}

static void test_placeholders(void **state)
{
	FX(state);
	struct db_conn *c = db_acquire(fx->db, 1000);
	assert_non_null(c);
	assert_int_equal(db_exec_script(c, "CREATE TABLE p (a TEXT, b TEXT, n BIGINT)"), DB_OK);
	/* Out of order: $2 before $1. */
	assert_int_equal(db_exec(c, "INSERT INTO p (b, n, a) VALUES ($2, $3, $1)",
				 DB_PARAMS(DB_TEXT("A"), DB_TEXT("B"), DB_INT(7)), NULL),
			 DB_OK);
	int rc;
	struct db_res *r = db_query(c, "SELECT a, b, n FROM p", NULL, 0, &rc);
	assert_non_null(r);
	assert_int_equal(db_next(r), 1);
	assert_string_equal(db_text(r, 0), "A");
	assert_string_equal(db_text(r, 1), "B");
	assert_int_equal(db_int(r, 2), 7);
	db_res_free(r);

	/* Reuse: $1 twice. */
	r = db_query(c, "SELECT n FROM p WHERE a = $1 OR b = $1", DB_PARAMS(DB_TEXT("B")), &rc);
	assert_non_null(r);
	assert_int_equal(db_next(r), 1);
	assert_int_equal(db_int(r, 0), 7);
	assert_int_equal(db_next(r), 0);
	db_res_free(r);
	r = db_query(c, "SELECT n FROM p WHERE b = $2 AND a = $1 AND n = $3",
		     DB_PARAMS(DB_TEXT("A"), DB_TEXT("B"), DB_INT(7)), &rc);
	assert_non_null(r);
	assert_int_equal(db_next(r), 1);
	db_res_free(r);

	/* Same SQL again (from the statement cache) with other values. */
	r = db_query(c, "SELECT n FROM p WHERE a = $1 OR b = $1", DB_PARAMS(DB_TEXT("zzz")), &rc);
	assert_non_null(r);
	assert_int_equal(db_next(r), 0);
	db_res_free(r);

	/* Parameter count mismatches are refused by both engines. */
	rc = 0;
	assert_null(db_query(c, "SELECT a FROM p WHERE a = $1", NULL, 0, &rc));
	assert_true(rc < 0);
	rc = 0;
	assert_null(db_query(c, "SELECT a FROM p WHERE a = $1",
			     DB_PARAMS(DB_TEXT("A"), DB_TEXT("extra")), &rc));
	assert_true(rc < 0);
	assert_true(db_conn_error(c)[0] != '\0');
	assert_true(db_exec(c, "SELECT a FROM p WHERE a = ?", DB_PARAMS(DB_TEXT("A")), NULL) < 0);
	/* More than one statement needs db_exec_script. */
	assert_true(db_exec(c, "DELETE FROM p; DELETE FROM p", NULL, 0, NULL) < 0);
	/* A trailing semicolon is fine. */
	assert_int_equal(db_exec(c, "DELETE FROM p WHERE n = $1;", DB_PARAMS(DB_INT(0)), NULL),
			 DB_OK);
	/* Bad parameter arrays are refused, not dereferenced. */
	assert_int_equal(db_exec(c, "SELECT 1", NULL, 3, NULL), DB_ERR);
	struct db_param bad = {.type = DB_T_BLOB, .text = NULL, .len = 5};
	assert_int_equal(db_exec(c, "SELECT $1", &bad, 1, NULL), DB_ERR);
	struct db_param worse = {.type = (enum db_type)42};
	assert_int_equal(db_exec(c, "SELECT $1", &worse, 1, NULL), DB_ERR);
	assert_int_equal(db_exec(c, NULL, NULL, 0, NULL), DB_ERR);
	assert_int_equal(db_ping(c), DB_OK);
	db_release(c);
}

static void test_constraints(void **state)
{
	FX(state);
	struct db_conn *c = db_acquire(fx->db, 1000);
	assert_non_null(c);
	assert_int_equal(db_exec_script(c, "CREATE TABLE u (id TEXT PRIMARY KEY, "
					   "email TEXT NOT NULL UNIQUE, "
					   "age INTEGER CHECK (age >= 0), "
					   "parent TEXT REFERENCES u(id))"),
			 DB_OK);
	const char *ins = "INSERT INTO u (id, email, age, parent) VALUES ($1, $2, $3, $4)";
	assert_int_equal(
	    db_exec(c, ins, DB_PARAMS(DB_TEXT("1"), DB_TEXT("a@x"), DB_INT(3), DB_NULL), NULL),
	    DB_OK);
	assert_int_equal(
	    db_exec(c, ins, DB_PARAMS(DB_TEXT("1"), DB_TEXT("b@x"), DB_INT(3), DB_NULL), NULL),
	    DB_UNIQUE);
	assert_true(db_conn_error(c)[0] != '\0');
	assert_null(strchr(db_conn_error(c), '\n'));
	assert_int_equal(
	    db_exec(c, ins, DB_PARAMS(DB_TEXT("2"), DB_TEXT("a@x"), DB_INT(3), DB_NULL), NULL),
	    DB_UNIQUE);
	/* The e-mail (row data) stays out of the logged message. */
	assert_null(strstr(db_conn_error(c), "a@x"));
	assert_int_equal(
	    db_exec(c, ins, DB_PARAMS(DB_TEXT("3"), DB_NULL, DB_INT(3), DB_NULL), NULL),
	    DB_CONSTRAINT);
	assert_int_equal(
	    db_exec(c, ins, DB_PARAMS(DB_TEXT("4"), DB_TEXT("d@x"), DB_INT(-1), DB_NULL), NULL),
	    DB_CONSTRAINT);
	assert_int_equal(
	    db_exec(c, ins, DB_PARAMS(DB_TEXT("5"), DB_TEXT("e@x"), DB_INT(1), DB_TEXT("nope")),
		    NULL),
	    DB_CONSTRAINT);
	/* Errors from a query surface at db_query, in both engines. */
	int rc = 0;
	struct db_res *r = db_query(c, "INSERT INTO u (id, email) VALUES ($1, $2) RETURNING id",
				    DB_PARAMS(DB_TEXT("1"), DB_TEXT("z@x")), &rc);
	assert_null(r);
	assert_int_equal(rc, DB_UNIQUE);
	r = db_query(c, "INSERT INTO u (id, email) VALUES ($1, $2) RETURNING id",
		     DB_PARAMS(DB_TEXT("6"), DB_TEXT("f@x")), &rc);
	assert_non_null(r);
	assert_int_equal(db_next(r), 1);
	assert_string_equal(db_text(r, 0), "6");
	db_res_free(r);

	assert_int_equal(db_exec(c, "SELEKT nonsense", NULL, 0, NULL), DB_ERR);
	assert_true(db_conn_error(c)[0] != '\0');
	assert_int_equal(db_exec(c, "SELECT * FROM no_such_table", NULL, 0, NULL), DB_ERR);
	assert_int_equal(db_exec_script(c, "SELECT 1; SELEKT 2"), DB_ERR);
	assert_int_equal(count_rows(c, "u"), 2);
	db_release(c);
}

static void test_transactions(void **state)
{
	FX(state);
	/* One connection, so the release/acquire below gets the same one. */
	fx_reopen(fx, 1);
	struct db_conn *c = db_acquire(fx->db, 1000);
	assert_non_null(c);
	assert_int_equal(db_exec_script(c, "CREATE TABLE x (id INTEGER PRIMARY KEY)"), DB_OK);
	const char *ins = "INSERT INTO x (id) VALUES ($1)";

	assert_int_equal(db_begin(c), DB_OK);
	assert_int_equal(db_exec(c, ins, DB_PARAMS(DB_INT(1)), NULL), DB_OK);
	assert_int_equal(count_rows(c, "x"), 1);
	assert_int_equal(db_rollback(c), DB_OK);
	assert_int_equal(count_rows(c, "x"), 0);

	assert_int_equal(db_begin(c), DB_OK);
	assert_true(db_begin(c) < 0); /* no nesting */
	if (fx->kind == DB_PG)
		/* The failed BEGIN left PostgreSQL's transaction alone. */
		assert_int_equal(db_exec(c, "SELECT 1", NULL, 0, NULL), DB_OK);
	assert_int_equal(db_exec(c, ins, DB_PARAMS(DB_INT(2)), NULL), DB_OK);
	assert_int_equal(db_commit(c), DB_OK);
	assert_int_equal(count_rows(c, "x"), 1);

	/* Released inside a transaction: rolled back, connection reusable. */
	assert_int_equal(db_begin(c), DB_OK);
	assert_int_equal(db_exec(c, ins, DB_PARAMS(DB_INT(3)), NULL), DB_OK);
	struct db_conn *same = c;
	db_release(c);
	c = db_acquire(fx->db, 1000);
	assert_ptr_equal(c, same);
	assert_int_equal(count_rows(c, "x"), 1);
	assert_int_equal(db_begin(c), DB_OK);
	assert_int_equal(db_exec(c, ins, DB_PARAMS(DB_INT(4)), NULL), DB_OK);
	assert_int_equal(db_commit(c), DB_OK);
	assert_int_equal(count_rows(c, "x"), 2);

	/* A failed statement in a transaction: a commit must not pretend. */
	assert_int_equal(db_begin(c), DB_OK);
	assert_int_equal(db_exec(c, ins, DB_PARAMS(DB_INT(5)), NULL), DB_OK);
	assert_int_equal(db_exec(c, ins, DB_PARAMS(DB_INT(4)), NULL), DB_UNIQUE);
	if (fx->kind == DB_PG) {
		/* PostgreSQL aborts the whole transaction. */
		assert_true(db_commit(c) < 0);
		assert_int_equal(count_rows(c, "x"), 2);
	} else {
		/* SQLite only undoes the failed statement; callers roll back. */
		assert_int_equal(db_rollback(c), DB_OK);
		assert_int_equal(count_rows(c, "x"), 2);
	}
	/* Either way the connection is out of the transaction. */
	assert_int_equal(db_begin(c), DB_OK);
	assert_int_equal(db_rollback(c), DB_OK);
	db_release(c);
}

struct releaser {
	struct db_conn *c;
	int delay_ms;
};

static void *release_later(void *arg)
{
	struct releaser *rl = arg;
	struct timespec ts = {.tv_sec = rl->delay_ms / 1000,
			      .tv_nsec = (long)(rl->delay_ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
	db_release(rl->c);
	return NULL;
}

static void test_pool_exhaustion(void **state)
{
	FX(state);
	fx_reopen(fx, 2);
	struct db_conn *a = db_acquire(fx->db, 1000);
	struct db_conn *b = db_acquire(fx->db, 1000);
	assert_non_null(a);
	assert_non_null(b);
	assert_ptr_not_equal(a, b);
	assert_int_equal(db_ping(b), DB_OK);

	int64_t t0 = time_mono_us();
	assert_null(db_acquire(fx->db, 150));
	int64_t waited = elapsed_ms(t0);
	assert_true(waited >= 140);
	assert_true(waited < 2000);
	assert_null(db_acquire(fx->db, 0));

	struct db_pool_stats st;
	db_pool_stats(fx->db, &st);
	assert_int_equal(st.size, 2);
	assert_int_equal(st.open, 2);
	assert_int_equal(st.in_use, 2);
	assert_int_equal(st.waits, 1);

	/* A waiter wakes when another thread releases. */
	struct releaser rl = {.c = a, .delay_ms = 100};
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, release_later, &rl), 0);
	t0 = time_mono_us();
	struct db_conn *c = db_acquire(fx->db, 5000);
	assert_non_null(c);
	assert_true(elapsed_ms(t0) < 4000);
	pthread_join(th, NULL);
	assert_ptr_equal(c, a);
	assert_int_equal(db_ping(c), DB_OK);
	db_release(c);
	db_release(b);
	db_pool_stats(fx->db, &st);
	assert_int_equal(st.in_use, 0);
	assert_int_equal(st.waits, 2);
}

#define INS_THREADS 8
#define INS_ROUNDS  60

struct inserter {
	struct db *db;
	int id;
	atomic_int *errors;
	char last_error[256];
};

static void *insert_many(void *arg)
{
	struct inserter *in = arg;
	for (int i = 0; i < INS_ROUNDS; i++) {
		struct db_conn *c = db_acquire(in->db, 20000);
		if (!c) {
			atomic_fetch_add(in->errors, 1);
			snprintf(in->last_error, sizeof in->last_error, "acquire timed out");
			continue;
		}
		char id[64];
		int rc;
		const char *ins = "INSERT INTO m (id, thread, round) VALUES ($1, $2, $3)";
		if (i % 2 == 0) {
			snprintf(id, sizeof id, "%d-%d", in->id, i);
			rc = db_exec(c, ins, DB_PARAMS(DB_TEXT(id), DB_INT(in->id), DB_INT(i)),
				     NULL);
		} else {
			/* Two rows in a write transaction. */
			rc = db_begin(c);
			for (int k = 0; k < 2 && rc == DB_OK; k++) {
				snprintf(id, sizeof id, "%d-%d-%d", in->id, i, k);
				rc = db_exec(c, ins,
					     DB_PARAMS(DB_TEXT(id), DB_INT(in->id), DB_INT(i)),
					     NULL);
			}
			rc = rc == DB_OK ? db_commit(c) : rc;
		}
		if (rc != DB_OK) {
			atomic_fetch_add(in->errors, 1);
			snprintf(in->last_error, sizeof in->last_error, "%d: %s", rc,
				 db_conn_error(c));
		}
		db_release(c);
	}
	return NULL;
}

static void test_concurrent_inserts(void **state)
{
	FX(state);
	struct db_conn *c = db_acquire(fx->db, 1000);
	assert_int_equal(db_exec_script(c, "CREATE TABLE m (id TEXT PRIMARY KEY, thread INTEGER, "
					   "round INTEGER)"),
			 DB_OK);
	db_release(c);

	/* Two pools on one database: SQLite's file locking, not just our
	 * mutex, has to keep them apart. */
	char err[256] = "";
	struct db *other = db_open(fx->url, 3, err, sizeof err);
	assert_non_null(other);
	atomic_int errors = 0;
	struct inserter in[INS_THREADS];
	pthread_t th[INS_THREADS];
	for (int t = 0; t < INS_THREADS; t++) {
		in[t] = (struct inserter){.db = t % 2 ? other : fx->db, .id = t, .errors = &errors};
		assert_int_equal(pthread_create(&th[t], NULL, insert_many, &in[t]), 0);
	}
	for (int t = 0; t < INS_THREADS; t++)
		pthread_join(th[t], NULL);
	for (int t = 0; t < INS_THREADS; t++)
		if (in[t].last_error[0])
			fprintf(stderr, "thread %d: %s\n", t, in[t].last_error);
	assert_int_equal(atomic_load(&errors), 0);
	db_close(other);

	c = db_acquire(fx->db, 1000);
	/* Even rounds insert one row, odd rounds two. */
	assert_int_equal(count_rows(c, "m"), INS_THREADS * (INS_ROUNDS / 2) * 3);
	db_release(c);
	struct db_pool_stats st;
	db_pool_stats(fx->db, &st);
	assert_true(st.open <= 4);
	assert_int_equal(st.in_use, 0);
}

static void test_statement_cache(void **state)
{
	FX(state);
	struct db_conn *c = db_acquire(fx->db, 1000);
	assert_non_null(c);
	/* More distinct statements than the cache holds, twice over, so
	 * evicted statements are prepared again. */
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 300; i++) {
			char sql[64];
			snprintf(sql, sizeof sql, "SELECT %d + $1", i);
			int rc;
			struct db_res *r = db_query(c, sql, DB_PARAMS(DB_INT(round)), &rc);
			assert_non_null(r);
			assert_int_equal(db_next(r), 1);
			assert_int_equal(db_int(r, 0), i + round);
			db_res_free(r);
		}
	}
	/* The same statement open twice at once on one connection. */
	assert_int_equal(db_exec_script(c, "CREATE TABLE k (n INTEGER);"
					   "INSERT INTO k VALUES (1);"
					   "INSERT INTO k VALUES (2);"
					   "INSERT INTO k VALUES (3);"),
			 DB_OK);
	const char *q = "SELECT n FROM k WHERE n >= $1 ORDER BY n";
	int rc;
	struct db_res *outer = db_query(c, q, DB_PARAMS(DB_INT(1)), &rc);
	assert_non_null(outer);
	int pairs = 0;
	while (db_next(outer) == 1) {
		struct db_res *inner = db_query(c, q, DB_PARAMS(DB_INT(db_int(outer, 0))), &rc);
		assert_non_null(inner);
		while (db_next(inner) == 1)
			pairs++;
		db_res_free(inner);
	}
	db_res_free(outer);
	assert_int_equal(pairs, 3 + 2 + 1);
	/* A blob where the cached statement first saw NULL. */
	const char *bq = "SELECT $1";
	struct db_res *r = db_query(c, bq, DB_PARAMS(DB_NULL), &rc);
	assert_non_null(r);
	assert_int_equal(db_next(r), 1);
	assert_true(db_is_null(r, 0));
	db_res_free(r);
	r = db_query(c, bq, DB_PARAMS(DB_BLOB("\x00\x01\xff", 3)), &rc);
	assert_non_null(r);
	assert_int_equal(db_next(r), 1);
	size_t len = 0;
	const void *b = db_blob(r, 0, &len);
	assert_int_equal(len, 3);
	assert_memory_equal(b, "\x00\x01\xff", 3);
	db_res_free(r);
	db_release(c);
}

static size_t distinct_versions(int *max)
{
	size_t n = 0;
	*max = 0;
	for (size_t i = 0; i < MIGRATIONS_COUNT; i++) {
		if (i == 0 || MIGRATIONS[i].version != MIGRATIONS[i - 1].version)
			n++;
		if (MIGRATIONS[i].version > *max)
			*max = MIGRATIONS[i].version;
	}
	return n;
}

static void test_migrate(void **state)
{
	FX(state);
	int max = 0;
	size_t expect = distinct_versions(&max);
	assert_true(expect >= 1);
	assert_int_equal(migrate_current(fx->db), 0);
	char err[512] = "";
	int n = migrate_up(fx->db, err, sizeof err);
	if (n < 0)
		fprintf(stderr, "migrate_up: %s\n", err);
	assert_int_equal(n, (int)expect);
	assert_int_equal(migrate_current(fx->db), max);
	assert_int_equal(migrate_up(fx->db, err, sizeof err), 0);
	assert_int_equal(migrate_current(fx->db), max);

	/* System scope: on PostgreSQL an unscoped connection sees no tenant row. */
	struct db_conn *c = db_acquire_system(fx->db, 1000);
	assert_non_null(c);
	int rc;
	struct db_res *r = db_query(c,
				    "SELECT name, applied_at FROM schema_migrations WHERE "
				    "version = $1",
				    DB_PARAMS(DB_INT(1)), &rc);
	assert_non_null(r);
	assert_int_equal(db_next(r), 1);
	assert_string_equal(db_text(r, 0), "0001_accounts");
	assert_true(db_int(r, 1) > 1700000000000LL);
	db_res_free(r);
	/* The schema is really there. */
	assert_int_equal(
	    db_exec(c,
		    "INSERT INTO users (id, email, password_hash, created_at, "
		    "updated_at, password_changed_at) VALUES ($1, $2, $3, $4, $4, $4)",
		    DB_PARAMS(DB_TEXT("u1"), DB_TEXT("a@b.c"), DB_TEXT("h"), DB_INT(1)), NULL),
	    DB_OK);
	assert_int_equal(
	    db_exec(c,
		    "INSERT INTO users (id, email, password_hash, created_at, "
		    "updated_at, password_changed_at) VALUES ($1, $2, $3, $4, $4, $4)",
		    DB_PARAMS(DB_TEXT("u2"), DB_TEXT("a@b.c"), DB_TEXT("h"), DB_INT(1)), NULL),
	    DB_UNIQUE);
	/* Foreign keys are enforced (SQLite needs the pragma for this). */
	assert_int_equal(
	    db_exec(c,
		    "INSERT INTO memberships (org_id, user_id, role, created_at) "
		    "VALUES ($1, $2, $3, $4)",
		    DB_PARAMS(DB_TEXT("no-org"), DB_TEXT("u1"), DB_TEXT("owner"), DB_INT(1)), NULL),
	    DB_CONSTRAINT);
	db_release(c);
}

struct migrator {
	const char *url;
	int result;
	char err[256];
};

static void *migrate_thread(void *arg)
{
	struct migrator *m = arg;
	struct db *db = db_open(m->url, 1, m->err, sizeof m->err);
	if (!db) {
		m->result = -100;
		return NULL;
	}
	m->result = migrate_up(db, m->err, sizeof m->err);
	db_close(db);
	return NULL;
}

static void test_migrate_concurrent(void **state)
{
	FX(state);
	int max = 0;
	size_t expect = distinct_versions(&max);
	/* Separate pools stand in for separate processes. */
	struct migrator m[4];
	pthread_t th[4];
	for (int i = 0; i < 4; i++) {
		m[i] = (struct migrator){.url = fx->url};
		assert_int_equal(pthread_create(&th[i], NULL, migrate_thread, &m[i]), 0);
	}
	int total = 0;
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		if (m[i].result < 0)
			fprintf(stderr, "migrator %d: %d %s\n", i, m[i].result, m[i].err);
		assert_true(m[i].result >= 0);
		total += m[i].result;
	}
	assert_int_equal(total, (int)expect);
	assert_int_equal(migrate_current(fx->db), max);
}

static void test_pg_reconnect(void **state)
{
	FX(state);
	if (fx->kind != DB_PG)
		skip();
	fx_reopen(fx, 2);
	struct db_conn *a = db_acquire(fx->db, 1000);
	struct db_conn *b = db_acquire(fx->db, 1000);
	assert_non_null(a);
	assert_non_null(b);
	const char *q = "SELECT $1 || 'x'";
	int rc;
	struct db_res *r = db_query(a, q, DB_PARAMS(DB_TEXT("a")), &rc);
	assert_non_null(r);
	db_res_free(r);
	r = db_query(a, "SELECT pg_backend_pid()", NULL, 0, &rc);
	assert_non_null(r);
	assert_int_equal(db_next(r), 1);
	int64_t pid = db_int(r, 0);
	db_res_free(r);
	r = db_query(b, "SELECT pg_terminate_backend($1)", DB_PARAMS(DB_INT(pid)), &rc);
	assert_non_null(r);
	assert_int_equal(db_next(r), 1);
	assert_int_equal(db_int(r, 0), 1); /* "t" */
	db_res_free(r);
	db_release(b);

	/* The server is gone from under a: its next call says so... */
	assert_int_equal(db_ping(a), DB_UNAVAILABLE);
	assert_true(db_conn_error(a)[0] != '\0');
	db_release(a);
	/* ...and the next acquire reconnects it, prepared statements and all. */
	struct db_conn *c = db_acquire(fx->db, 1000);
	assert_ptr_equal(c, a);
	assert_int_equal(db_ping(c), DB_OK);
	r = db_query(c, q, DB_PARAMS(DB_TEXT("a")), &rc);
	assert_non_null(r);
	assert_int_equal(db_next(r), 1);
	assert_string_equal(db_text(r, 0), "ax");
	db_res_free(r);
	db_release(c);
}

/* Doubles (durations, confidences) survive both engines to full precision, and NULL stays NULL. */
static void test_real(void **state)
{
	FX(state);
	struct db_conn *c = db_acquire(fx->db, 1000);
	assert_non_null(c);
	assert_int_equal(db_exec(c, "CREATE TABLE r (id INTEGER PRIMARY KEY, x DOUBLE PRECISION)",
				 NULL, 0, NULL),
			 DB_OK);
	const double values[] = {0.0, 3.422041, -1.5e-300, 1e300, 0.1 + 0.2, 3600.125};
	for (int i = 0; i < 6; i++)
		assert_int_equal(db_exec(c, "INSERT INTO r (id, x) VALUES ($1, $2)",
					 DB_PARAMS(DB_INT(i), DB_REAL(values[i])), NULL),
				 DB_OK);
	assert_int_equal(db_exec(c, "INSERT INTO r (id, x) VALUES ($1, $2)",
				 DB_PARAMS(DB_INT(9), DB_NULL), NULL),
			 DB_OK);
	int rc;
	struct db_res *r =
	    db_query(c, "SELECT id, x FROM r WHERE x > $1 - 1 OR x IS NULL ORDER BY id",
		     DB_PARAMS(DB_REAL(-2.0)), &rc);
	assert_non_null(r);
	for (int i = 0; i < 6; i++) {
		assert_int_equal(db_next(r), 1);
		assert_int_equal(db_int(r, 0), i);
		assert_true(db_double(r, 1) == values[i]);
	}
	assert_int_equal(db_next(r), 1);
	assert_true(db_is_null(r, 1));
	assert_true(db_double(r, 1) == 0.0);
	assert_int_equal(db_next(r), 0);
	db_res_free(r);
	db_release(c);
}

/* Rows of memberships a connection can see for user (all organizations). */
static int64_t visible_memberships(struct db_conn *c, const char *user)
{
	int rc = DB_ERR;
	struct db_res *r = db_query(c, "SELECT count(*) FROM memberships WHERE user_id = $1",
				    DB_PARAMS(DB_TEXT(user)), &rc);
	assert_non_null(r);
	assert_int_equal(db_next(r), 1);
	int64_t n = db_int(r, 0);
	db_res_free(r);
	return n;
}

static int add_membership(struct db_conn *c, const char *org, const char *user)
{
	return db_exec(c,
		       "INSERT INTO memberships (org_id, user_id, role, created_at)"
		       " VALUES ($1, $2, 'member', 1)",
		       DB_PARAMS(DB_TEXT(org), DB_TEXT(user)), NULL);
}

/*
 * Tenant scope (db.h): on PostgreSQL, under a role that does not bypass
 * row-level security, a query with no organization filter sees only the
 * scope's organizations; no scope sees nothing; a write for another
 * organization is refused; a scope never outlives its pool checkout (or
 * its transaction, when set inside one); PGOPTIONS cannot preset one.
 * On SQLite the calls succeed and change nothing.
 */
static void test_tenant_scope(void **state)
{
	FX(state);
	fx_reopen(fx, 1); /* one connection: every acquire gets the same one back */
	char err[512] = "";
	assert_true(migrate_up(fx->db, err, sizeof err) >= 0);
	bool pg = fx->kind == DB_PG;
	if (pg)
		assert_int_equal(db_rls_bypassed(fx->db), 0); /* run as NOSUPERUSER NOBYPASSRLS */
	else
		assert_int_equal(db_rls_bypassed(fx->db), -1);

	struct db_conn *c = db_acquire_system(fx->db, 1000);
	assert_non_null(c);
	assert_int_equal(
	    db_exec_script(c, "INSERT INTO users (id, email, password_hash, created_at,"
			      " updated_at, password_changed_at)"
			      " VALUES ('su', 'su@x.y', 'h', 1, 1, 1),"
			      " ('su2', 'su2@x.y', 'h', 1, 1, 1);"
			      "INSERT INTO organizations (id, name, created_at, updated_at)"
			      " VALUES ('oa', 'A', 1, 1), ('ob', 'B', 1, 1)"),
	    DB_OK);
	assert_int_equal(add_membership(c, "oa", "su"), DB_OK);
	assert_int_equal(add_membership(c, "ob", "su"), DB_OK);
	assert_int_equal(visible_memberships(c, "su"), 2);
	db_release(c);

	/* Back from the pool: no scope, nothing visible (the release reset it). */
	c = db_acquire(fx->db, 1000);
	assert_non_null(c);
	assert_int_equal(visible_memberships(c, "su"), pg ? 0 : 2);

	/* Scoped to A: the query has no organization filter and sees A only. */
	assert_int_equal(db_scope_orgs(c, "oa"), DB_OK);
	int rc = DB_ERR;
	struct db_res *r = db_query(c,
				    "SELECT org_id FROM memberships WHERE user_id = 'su'"
				    " ORDER BY org_id",
				    NULL, 0, &rc);
	assert_non_null(r);
	assert_int_equal(db_next(r), 1);
	assert_string_equal(db_text(r, 0), "oa");
	assert_int_equal(db_next(r), pg ? 0 : 1);
	db_res_free(r);
	/* A write for B is refused; for A it is accepted. */
	assert_int_equal(add_membership(c, "ob", "su2"), pg ? DB_ERR : DB_OK);
	assert_int_equal(add_membership(c, "oa", "su2"), DB_OK);
	assert_int_equal(db_scope_orgs(c, "oa,ob"), DB_OK);
	assert_int_equal(visible_memberships(c, "su"), 2);
	db_release(c);

	c = db_acquire(fx->db, 1000);
	assert_int_equal(visible_memberships(c, "su"), pg ? 0 : 2);
	/* Inside a transaction the scope is SET LOCAL: it ends with it. */
	assert_int_equal(db_begin(c), DB_OK);
	assert_int_equal(db_scope_orgs(c, "ob"), DB_OK);
	assert_int_equal(visible_memberships(c, "su"), pg ? 1 : 2);
	assert_int_equal(db_commit(c), DB_OK);
	assert_int_equal(visible_memberships(c, "su"), pg ? 0 : 2);
	assert_int_equal(db_scope_system(c), DB_OK);
	assert_int_equal(visible_memberships(c, "su"), 2);
	assert_int_equal(db_scope_clear(c), DB_OK);
	assert_int_equal(visible_memberships(c, "su"), pg ? 0 : 2);
	assert_int_equal(db_scope_orgs(c, ""), DB_OK);
	assert_int_equal(visible_memberships(c, "su"), pg ? 0 : 2);
	db_release(c);

	c = db_acquire_org(fx->db, 1000, "ob");
	assert_non_null(c);
	assert_int_equal(visible_memberships(c, "su"), pg ? 1 : 2);
	db_release(c);

	/* A scope preset from the environment does not survive db_open. */
	if (pg) {
		const char *old = getenv("PGOPTIONS");
		char *saved = old ? strdup(old) : NULL;
		setenv("PGOPTIONS", "-c iam.scope=system", 1);
		fx_reopen(fx, 1);
		c = db_acquire(fx->db, 1000);
		assert_int_equal(visible_memberships(c, "su"), 0);
		db_release(c);
		if (saved) {
			setenv("PGOPTIONS", saved, 1);
			free(saved);
		} else {
			unsetenv("PGOPTIONS");
		}
	}
}

/*
 * A request's scope (db_scope_user): the organizations its user is a
 * member of and those of collections shared with them, nothing else.
 */
static void test_user_scope(void **state)
{
	FX(state);
	fx_reopen(fx, 1);
	char err[512] = "";
	assert_true(migrate_up(fx->db, err, sizeof err) >= 0);
	bool pg = fx->kind == DB_PG;
	struct db_conn *c = db_acquire_system(fx->db, 1000);
	assert_non_null(c);
	assert_int_equal(
	    db_exec_script(c,
			   "INSERT INTO users (id, email, password_hash, created_at,"
			   " updated_at, password_changed_at)"
			   " VALUES ('uu', 'uu@x.y', 'h', 1, 1, 1), ('uv', 'uv@x.y', 'h', 1, 1, 1);"
			   "INSERT INTO organizations (id, name, created_at, updated_at)"
			   " VALUES ('o1', 'member', 1, 1), ('o2', 'shared', 1, 1),"
			   " ('o3', 'stranger', 1, 1);"
			   "INSERT INTO memberships (org_id, user_id, role, created_at)"
			   " VALUES ('o1', 'uu', 'member', 1), ('o2', 'uv', 'owner', 1),"
			   " ('o3', 'uv', 'owner', 1);"
			   "INSERT INTO collections (id, org_id, name, created_at, updated_at)"
			   " VALUES ('c2', 'o2', 'shared', 1, 1);"
			   "INSERT INTO collection_grants (collection_id, user_id, org_id, role,"
			   " created_at) VALUES ('c2', 'uu', 'o2', 'viewer', 1)"),
	    DB_OK);
	/* Narrowed from system scope to uu's organizations: o1 and o2, never o3. */
	assert_int_equal(db_scope_user(c, "uu"), DB_OK);
	int rc = DB_ERR;
	struct db_res *r =
	    db_query(c, "SELECT DISTINCT org_id FROM memberships ORDER BY org_id", NULL, 0, &rc);
	assert_non_null(r);
	assert_int_equal(db_next(r), 1);
	assert_string_equal(db_text(r, 0), "o1");
	assert_int_equal(db_next(r), 1);
	assert_string_equal(db_text(r, 0), "o2");
	if (!pg) {
		assert_int_equal(db_next(r), 1); /* SQLite: no policies */
		assert_string_equal(db_text(r, 0), "o3");
	}
	assert_int_equal(db_next(r), 0);
	db_res_free(r);
	/* A user with no organization at all sees none. */
	assert_int_equal(db_scope_system(c), DB_OK);
	assert_int_equal(db_scope_user(c, "nobody"), DB_OK);
	assert_int_equal(count_rows(c, "memberships"), pg ? 0 : 3);
	db_release(c);
	/* And the release dropped the scope. */
	c = db_acquire(fx->db, 1000);
	assert_int_equal(count_rows(c, "collection_grants"), pg ? 0 : 1);
	db_release(c);
}

#define DB_TEST(f, kind)                                                                           \
	cmocka_unit_test_prestate_setup_teardown(f, fx_setup, fx_teardown, (void *)&(kind))

int main(void)
{
	/* One test a line reads better than packed columns. */
	// clang-format off
	const struct CMUnitTest sqlite_tests[] = {
		DB_TEST(test_open_close, KIND_SQLITE),
		DB_TEST(test_bad_urls, KIND_SQLITE),
		DB_TEST(test_roundtrip, KIND_SQLITE),
		DB_TEST(test_real, KIND_SQLITE),
		DB_TEST(test_placeholders, KIND_SQLITE),
		DB_TEST(test_constraints, KIND_SQLITE),
		DB_TEST(test_transactions, KIND_SQLITE),
		DB_TEST(test_pool_exhaustion, KIND_SQLITE),
		DB_TEST(test_concurrent_inserts, KIND_SQLITE),
		DB_TEST(test_statement_cache, KIND_SQLITE),
		DB_TEST(test_migrate, KIND_SQLITE),
		DB_TEST(test_migrate_concurrent, KIND_SQLITE),
		DB_TEST(test_tenant_scope, KIND_SQLITE),
		DB_TEST(test_user_scope, KIND_SQLITE),
	};
	const struct CMUnitTest pg_tests[] = {
		DB_TEST(test_open_close, KIND_PG),
		DB_TEST(test_bad_urls, KIND_PG),
		DB_TEST(test_roundtrip, KIND_PG),
		DB_TEST(test_real, KIND_PG),
		DB_TEST(test_placeholders, KIND_PG),
		DB_TEST(test_constraints, KIND_PG),
		DB_TEST(test_transactions, KIND_PG),
		DB_TEST(test_pool_exhaustion, KIND_PG),
		DB_TEST(test_concurrent_inserts, KIND_PG),
		DB_TEST(test_statement_cache, KIND_PG),
		DB_TEST(test_migrate, KIND_PG),
		DB_TEST(test_migrate_concurrent, KIND_PG),
		DB_TEST(test_pg_reconnect, KIND_PG),
		DB_TEST(test_tenant_scope, KIND_PG),
		DB_TEST(test_user_scope, KIND_PG),
	};
	// clang-format on
	int failed = cmocka_run_group_tests_name("db_sqlite", sqlite_tests, NULL, NULL);
	if (!env_pg_url())
		fprintf(stderr, "IAM_TEST_PG_URL not set: PostgreSQL tests are skipped\n");
	failed += cmocka_run_group_tests_name("db_pg", pg_tests, NULL, NULL);
	return failed ? 1 : 0;
}
