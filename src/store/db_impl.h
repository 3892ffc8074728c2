/*
 * db_impl.h — private glue between the pool (db.c) and the two drivers
 * (db_sqlite.c, db_pg.c). Nothing outside src/store/db*.c includes this.
 *
 * A driver allocates its own connection and cursor structs whose first
 * member is the common struct db_conn / struct db_res below, so the pool
 * can hold any driver's connections and db.c can dispatch through ->drv.
 */
#ifndef IAM_DB_IMPL_H
#define IAM_DB_IMPL_H

#include <stdint.h>

#include "store/db.h"

#define DB_ERRMAX 512

struct db_driver;

struct db_conn {
	struct db *db;
	const struct db_driver *drv;
	struct db_conn *next_idle; /* pool free list; owned by the pool */
	char err[DB_ERRMAX];	   /* last error, one line, for logs */
	int scoped;		   /* a session-level tenant scope is set (db_scope_*) */
};

struct db_res {
	struct db_conn *conn;
};

struct db_driver {
	enum db_dialect dialect;
	/*
	 * Open one connection to target (a path or a conninfo URI). Returns
	 * NULL only when no object could be made (err says why). A connection
	 * object that exists but could not connect (PostgreSQL) is returned
	 * with *rc != DB_OK so that a later acquire can reset it.
	 */
	struct db_conn *(*open)(const char *target, int *rc, char *err, size_t errlen);
	void (*close)(struct db_conn *c);
	/* Called on acquire: repair a broken connection if the driver can. */
	void (*refresh)(struct db_conn *c);
	/* 1 when an explicit transaction is open (release must roll back). */
	int (*in_tx)(struct db_conn *c);
	int (*exec)(struct db_conn *c, const char *sql, const struct db_param *p, size_t n,
		    int64_t *changes);
	int (*exec_script)(struct db_conn *c, const char *sql);
	/* COMMIT; must fail (and end the transaction) if it rolled back. */
	int (*commit)(struct db_conn *c);
	struct db_res *(*query)(struct db_conn *c, const char *sql, const struct db_param *p,
				size_t n, int *rc);
	int (*next)(struct db_res *r);
	int (*ncols)(const struct db_res *r);
	int (*is_null)(const struct db_res *r, int col);
	const char *(*text)(const struct db_res *r, int col);
	int64_t (*int64)(const struct db_res *r, int col);
	/* NULL: the value is parsed from text (exact on PostgreSQL, which sends 17 digits). */
	double (*real)(const struct db_res *r, int col);
	const void *(*blob)(const struct db_res *r, int col, size_t *len);
	void (*res_free)(struct db_res *r);
};

extern const struct db_driver DB_DRIVER_SQLITE;
extern const struct db_driver DB_DRIVER_PG;

/* Record a one-line error on c (newlines become spaces). Returns rc. */
int db_conn_set_error(struct db_conn *c, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Prepared-statement cache shared by both drivers: a small array searched
 * by hash then text, least recently used entry evicted when full. Entries
 * in use by an open cursor (busy) are never evicted.
 */
#define DB_CACHE_MAX 128

struct db_cache_entry {
	uint64_t hash;
	char *sql;  /* owned copy of the SQL text; NULL = free slot */
	void *stmt; /* driver's statement (sqlite3_stmt * / heap name for PG) */
	uint64_t used;
	int busy;
};

struct db_cache {
	struct db_cache_entry e[DB_CACHE_MAX];
	uint64_t tick;
};

uint64_t db_hash(const char *s);
/* The entry for sql, or NULL. Marks it most recently used. */
struct db_cache_entry *db_cache_find(struct db_cache *cache, const char *sql, uint64_t hash);
/*
 * A slot to fill: a free one, or the least recently used non-busy entry
 * (its stmt is still set: the caller destroys it, then calls
 * db_cache_fill). NULL when every entry is busy.
 */
struct db_cache_entry *db_cache_slot(struct db_cache *cache);
/* Store sql (copied) and stmt in slot. Returns 0, or -1 when out of memory. */
int db_cache_fill(struct db_cache *cache, struct db_cache_entry *slot, const char *sql,
		  uint64_t hash, void *stmt);
/* Forget one entry (the caller has destroyed its stmt). */
void db_cache_drop(struct db_cache_entry *e);

#endif
