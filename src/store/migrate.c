/*
 * migrate.c — apply the embedded migrations (see migrate.h).
 *
 * Several processes may start at once against one database. Each migration
 * runs in its own transaction that first takes the migration lock
 * (PostgreSQL: a transaction-scoped advisory lock; SQLite: BEGIN IMMEDIATE,
 * the database's single write lock) and then checks again whether another
 * process applied it meanwhile. The lock ends with the transaction, so a
 * crashed process never leaves it held.
 */
#include "store/migrate.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/timeutil.h"

/* "IAMMIGRT" as a 64-bit key: any constant works, this one is greppable. */
#define MIGRATE_LOCK_SQL   "SELECT pg_advisory_xact_lock(5278585232592163412)"
#define MIGRATE_ACQUIRE_MS 30000
/* SQLite's busy_timeout is 5 s; a long migration elsewhere may need more. */
#define MIGRATE_BEGIN_TRIES 12

static void migrate_seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void migrate_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || errlen == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/*
 * Choose, for every version, the variant for dialect (else the portable
 * one), checking the table first so a malformed build applies nothing.
 * Fills picks (MIGRATIONS_COUNT slots) and *npicks. Returns DB_OK or DB_ERR.
 */
static int migrate_plan(const char *dialect, const struct migration **picks, size_t *npicks,
			char *err, size_t errlen)
{
	*npicks = 0;
	size_t i = 0;
	int prev = 0;
	while (i < MIGRATIONS_COUNT) {
		const struct migration *first = &MIGRATIONS[i];
		int v = first->version;
		if (v <= prev) {
			migrate_seterr(err, errlen, "migration %s: version %d out of order",
				       first->name, v);
			return DB_ERR;
		}
		const struct migration *portable = NULL, *specific = NULL;
		size_t j = i;
		for (; j < MIGRATIONS_COUNT && MIGRATIONS[j].version == v; j++) {
			const struct migration *m = &MIGRATIONS[j];
			if (strcmp(m->name, first->name) != 0) {
				migrate_seterr(err, errlen, "migrations %s and %s share version %d",
					       first->name, m->name, v);
				return DB_ERR;
			}
			if (!m->dialect) {
				if (portable)
					goto dup;
				portable = m;
			} else if (strcmp(m->dialect, "pg") != 0 &&
				   strcmp(m->dialect, "sqlite") != 0) {
				migrate_seterr(err, errlen, "migration %s: unknown dialect %s",
					       m->name, m->dialect);
				return DB_ERR;
			} else if (strcmp(m->dialect, dialect) == 0) {
				if (specific)
					goto dup;
				specific = m;
			}
		}
		const struct migration *pick = specific ? specific : portable;
		if (!pick) {
			migrate_seterr(err, errlen, "migration %s has no %s or portable variant",
				       first->name, dialect);
			return DB_ERR;
		}
		picks[(*npicks)++] = pick;
		prev = v;
		i = j;
	}
	return DB_OK;
dup:
	migrate_seterr(err, errlen, "migration %s: two files for the same dialect",
		       MIGRATIONS[i].name);
	return DB_ERR;
}

/*
 * BEGIN (IMMEDIATE on SQLite) and, on PostgreSQL, the migration lock.
 * *in_tx tells whether the caller must roll back on failure.
 */
static int migrate_lock(struct db_conn *c, int *in_tx)
{
	int rc = DB_BUSY;
	*in_tx = 0;
	for (int t = 0; t < MIGRATE_BEGIN_TRIES && rc == DB_BUSY; t++)
		rc = db_begin(c);
	if (rc != DB_OK)
		return rc;
	*in_tx = 1;
	if (db_conn_dialect(c) == DB_PG)
		rc = db_exec(c, MIGRATE_LOCK_SQL, NULL, 0, NULL);
	return rc;
}

/* 1 applied, 0 not, <0 error. */
static int migrate_is_applied(struct db_conn *c, int version)
{
	int rc = DB_ERR;
	struct db_res *r = db_query(c, "SELECT 1 FROM schema_migrations WHERE version = $1",
				    DB_PARAMS(DB_INT(version)), &rc);
	if (!r)
		return rc;
	rc = db_next(r);
	db_res_free(r);
	return rc;
}

static int migrate_ensure_table(struct db_conn *c, char *err, size_t errlen)
{
	/* Under the lock: two PostgreSQL sessions racing on CREATE TABLE IF NOT
	 * EXISTS can otherwise fail on a duplicate catalog row. */
	int in_tx = 0;
	int rc = migrate_lock(c, &in_tx);
	if (rc != DB_OK)
		goto fail;
	rc = db_exec_script(c, "CREATE TABLE IF NOT EXISTS schema_migrations ("
			       "version INTEGER PRIMARY KEY, "
			       "name TEXT NOT NULL, "
			       "applied_at BIGINT NOT NULL)");
	if (rc != DB_OK)
		goto fail;
	in_tx = 0; /* COMMIT ends the transaction whatever it returns */
	rc = db_commit(c);
	if (rc != DB_OK)
		goto fail;
	return DB_OK;
fail:
	migrate_seterr(err, errlen, "migrate: cannot create schema_migrations: %s",
		       db_conn_error(c));
	if (in_tx)
		db_rollback(c);
	return rc;
}

/* 1 when applied here, 0 when it already was, <0 on error (err set). */
static int migrate_apply(struct db_conn *c, const struct migration *m, char *err, size_t errlen)
{
	int in_tx = 0;
	int rc = migrate_is_applied(c, m->version);
	if (rc != 0)
		goto done;
	rc = migrate_lock(c, &in_tx);
	if (rc != DB_OK)
		goto done;
	/* Another process may have applied it while we waited for the lock. */
	rc = migrate_is_applied(c, m->version);
	if (rc != 0)
		goto done;
	rc = db_exec_script(c, m->sql);
	if (rc != DB_OK)
		goto done;
	rc = db_exec(
	    c, "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
	    DB_PARAMS(DB_INT(m->version), DB_TEXT(m->name), DB_INT(time_now_ms())), NULL);
	if (rc != DB_OK)
		goto done;
	in_tx = 0;
	rc = db_commit(c);
	if (rc == DB_OK)
		return 1;
done:
	if (rc < 0)
		/* Before the rollback, which would replace the connection's error. */
		migrate_seterr(err, errlen, "migration %s failed: %s", m->name, db_conn_error(c));
	if (in_tx)
		db_rollback(c);
	return rc < 0 ? rc : 0;
}

int migrate_up(struct db *db, char *err, size_t errlen)
{
	const struct migration **picks = NULL;
	struct db_conn *c = NULL;
	size_t npicks = 0;
	int applied = 0;
	int rc;

	if (!db) {
		migrate_seterr(err, errlen, "migrate: no database");
		return DB_ERR;
	}
	const char *dialect = db_dialect(db) == DB_PG ? "pg" : "sqlite";
	picks = calloc(MIGRATIONS_COUNT ? MIGRATIONS_COUNT : 1, sizeof *picks);
	if (!picks) {
		migrate_seterr(err, errlen, "migrate: out of memory");
		rc = DB_ERR;
		goto fail;
	}
	rc = migrate_plan(dialect, picks, &npicks, err, errlen);
	if (rc != DB_OK)
		goto fail;
	c = db_acquire_system(db, MIGRATE_ACQUIRE_MS);
	if (!c) {
		migrate_seterr(err, errlen, "migrate: no database connection available");
		rc = DB_UNAVAILABLE;
		goto fail;
	}
	rc = migrate_ensure_table(c, err, errlen);
	if (rc != DB_OK)
		goto fail;
	for (size_t i = 0; i < npicks; i++) {
		rc = migrate_apply(c, picks[i], err, errlen);
		if (rc < 0)
			goto fail;
		applied += rc;
	}
	db_release(c);
	free(picks);
	return applied;

fail:
	db_release(c);
	free(picks);
	return rc < 0 ? rc : DB_ERR;
}

int migrate_current(struct db *db)
{
	if (!db)
		return DB_ERR;
	struct db_conn *c = db_acquire_system(db, MIGRATE_ACQUIRE_MS);
	if (!c)
		return DB_UNAVAILABLE;
	const char *exists =
	    db_conn_dialect(c) == DB_PG
		? "SELECT count(*) FROM information_schema.tables "
		  "WHERE table_schema = current_schema() AND table_name = 'schema_migrations'"
		: "SELECT count(*) FROM sqlite_master "
		  "WHERE type = 'table' AND name = 'schema_migrations'";
	int rc = DB_ERR;
	struct db_res *r = db_query(c, exists, NULL, 0, &rc);
	if (!r)
		goto out;
	rc = db_next(r);
	int found = rc == 1 && db_int(r, 0) > 0;
	db_res_free(r);
	r = NULL;
	if (rc < 0)
		goto out;
	rc = 0;
	if (!found)
		goto out;
	r = db_query(c, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", NULL, 0, &rc);
	if (!r)
		goto out;
	rc = db_next(r);
	if (rc == 1)
		rc = (int)db_int(r, 0);
	db_res_free(r);
out:
	db_release(c);
	return rc;
}
