/*
 * migrate.h — numbered SQL migrations, embedded in the binary.
 *
 * Files live in src/store/sql/NNNN_name.sql; a dialect-specific variant
 * NNNN_name.pg.sql or NNNN_name.sqlite.sql replaces the portable file for
 * that engine. The build embeds them (build/gen/migrations.c) as the table
 * below, sorted by version. Each migration runs inside one transaction and
 * is recorded in schema_migrations(version, name, applied_at).
 */
#ifndef IAM_MIGRATE_H
#define IAM_MIGRATE_H

#include "store/db.h"

struct migration {
	int version;
	const char *name;    /* e.g. "0001_accounts" */
	const char *dialect; /* NULL = portable, "pg" or "sqlite" */
	const char *sql;
};

/* Generated at build time, sorted by version then dialect. */
extern const struct migration MIGRATIONS[];
extern const size_t MIGRATIONS_COUNT;

/*
 * Apply every pending migration. Safe to run from several processes at once
 * (PostgreSQL: advisory lock; SQLite: BEGIN IMMEDIATE). Returns the number
 * applied (>= 0) or a negative db_rc, with a one-line reason in err.
 */
int migrate_up(struct db *db, char *err, size_t errlen);

/* Highest applied version, 0 when none, negative db_rc on error. */
int migrate_current(struct db *db);

#endif
