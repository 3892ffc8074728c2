/*
 * db_fixture.h — the database fixture of the store unit tests: a fresh
 * SQLite file (removed at teardown), or the PostgreSQL database named by
 * IAM_TEST_PG_URL (tests skip without it), migrated, with one connection
 * and two users in organizations of their own. Header-only; test code.
 *
 * Use: ST(test_fn, KIND_SQLITE) / ST(test_fn, KIND_PG) in the test table,
 * and FX(state) at the top of a test.
 */
#ifndef IAM_TEST_DB_FIXTURE_H
#define IAM_TEST_DB_FIXTURE_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/timeutil.h"
#include "core/uuid.h"
#include "store/db.h"
#include "store/migrate.h"

static const int KIND_SQLITE = DB_SQLITE;
static const int KIND_PG = DB_PG;

struct fx {
	int kind;
	char dir[256]; /* SQLite only: removed at teardown */
	struct db *db;
	struct db_conn *c; /* the test's own connection */
	char org[UUID_STR_LEN], user[UUID_STR_LEN], org2[UUID_STR_LEN], user2[UUID_STR_LEN];
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

/* A user in an organization of their own (fresh ids: PostgreSQL keeps what earlier runs left). */
static void make_account(struct fx *fx, char org[UUID_STR_LEN], char user[UUID_STR_LEN])
{
	char email[80];
	uuid_v7(user);
	uuid_v7(org);
	snprintf(email, sizeof email, "%s@example.com", user);
	int64_t now = time_now_ms();
	assert_int_equal(
	    db_exec(fx->c,
		    "INSERT INTO users (id, email, password_hash, created_at, updated_at,"
		    " password_changed_at) VALUES ($1, $2, 'x', $3, $3, $3)",
		    DB_PARAMS(DB_TEXT(user), DB_TEXT(email), DB_INT(now)), NULL),
	    DB_OK);
	assert_int_equal(db_exec(fx->c,
				 "INSERT INTO organizations (id, name, created_at, updated_at)"
				 " VALUES ($1, 'Org', $2, $2)",
				 DB_PARAMS(DB_TEXT(org), DB_INT(now)), NULL),
			 DB_OK);
}

static int fx_setup(void **state)
{
	struct fx *fx = calloc(1, sizeof *fx);
	assert_non_null(fx);
	fx->kind = *(const int *)*state;
	*state = fx;
	char url[1024], err[256] = "";
	if (fx->kind == DB_SQLITE) {
		snprintf(fx->dir, sizeof fx->dir, "/tmp/iam-test-store-XXXXXX");
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
	fx->c = db_acquire_system(fx->db, 5000); /* tenant scope: the tests cross organizations */
	assert_non_null(fx->c);
	make_account(fx, fx->org, fx->user);
	make_account(fx, fx->org2, fx->user2);
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

#define ST(f, kind)                                                                                \
	cmocka_unit_test_prestate_setup_teardown(f, fx_setup, fx_teardown, (void *)&(kind))

#endif
