/*
 * db_sqlite.c — the SQLite driver behind db.h.
 *
 * One sqlite3 handle per pooled connection, opened with SQLITE_OPEN_NOMUTEX:
 * the pool already guarantees one thread at a time, so SQLite's own mutexes
 * would be pure cost. Statements are prepared once (PERSISTENT) and kept in
 * a per-connection cache keyed by SQL text.
 *
 * Parameters are written $1, $2, ... as in PostgreSQL. SQLite treats them as
 * named parameters, so we bind by name: "$2 ... $1 ... $2" works, and a
 * statement that mentions a parameter we were not given (or is given one it
 * never mentions) is refused, as PostgreSQL would refuse it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "store/db_impl.h"

struct sq_conn {
	struct db_conn base; /* first: the pool sees only this */
	sqlite3 *h;
	struct db_cache cache;
};

enum sq_state {
	SQ_PENDING, /* first row fetched by db_query, not yet handed out */
	SQ_ROW,	    /* a current row is readable */
	SQ_DONE,
	SQ_FAILED
};

struct sq_res {
	struct db_res base; /* first */
	sqlite3_stmt *stmt;
	struct db_cache_entry *entry; /* NULL: stmt is private, finalize it */
	enum sq_state state;
	int error; /* db_rc when SQ_FAILED */
};

static const char EMPTY[1] = "";

static int sq_code(int xrc)
{
	switch (xrc) {
	case SQLITE_CONSTRAINT_UNIQUE:
	case SQLITE_CONSTRAINT_PRIMARYKEY:
	case SQLITE_CONSTRAINT_ROWID:
		return DB_UNIQUE;
	default:
		break;
	}
	switch (xrc & 0xff) {
	case SQLITE_CONSTRAINT:
		return DB_CONSTRAINT;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return DB_BUSY;
	case SQLITE_CANTOPEN:
	case SQLITE_NOTADB:
		return DB_UNAVAILABLE;
	default:
		return DB_ERR;
	}
}

static int sq_fail(struct sq_conn *c, int xrc)
{
	return db_conn_set_error(&c->base, sq_code(xrc), "sqlite: %s (%s)", sqlite3_errmsg(c->h),
				 sqlite3_errstr(xrc));
}

/* mkdir -p for the directories above path, private to this user. */
static int sq_make_parents(const char *path, char *err, size_t errlen)
{
	int rc = -1;
	char *copy = strdup(path);
	if (!copy) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (char *p = copy + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, 0700) != 0 && errno != EEXIST) {
			snprintf(err, errlen, "sqlite: cannot create directory %s: %s", copy,
				 strerror(errno));
			goto out;
		}
		*p = '/';
	}
	rc = 0;
out:
	free(copy);
	return rc;
}

static void sq_close(struct db_conn *base)
{
	struct sq_conn *c = (struct sq_conn *)base;
	if (!c)
		return;
	for (int i = 0; i < DB_CACHE_MAX; i++) {
		if (c->cache.e[i].sql) {
			sqlite3_finalize(c->cache.e[i].stmt);
			db_cache_drop(&c->cache.e[i]);
		}
	}
	/* v2: a cursor leaked by a caller must not make close fail. */
	sqlite3_close_v2(c->h);
	free(c);
}

static struct db_conn *sq_open(const char *path, int *rc, char *err, size_t errlen)
{
	struct sq_conn *c = NULL;
	*rc = DB_UNAVAILABLE;
	if (!sqlite3_threadsafe()) {
		snprintf(err, errlen, "sqlite: library built without thread support");
		goto fail;
	}
	if (sq_make_parents(path, err, errlen) != 0)
		goto fail;
	c = calloc(1, sizeof *c);
	if (!c) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	int src = sqlite3_open_v2(
	    path, &c->h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (src != SQLITE_OK) {
		snprintf(err, errlen, "sqlite: cannot open %s: %s", path,
			 c->h ? sqlite3_errmsg(c->h) : sqlite3_errstr(src));
		goto fail;
	}
	sqlite3_extended_result_codes(c->h, 1);
	/* Before journal_mode: switching to WAL needs a brief exclusive lock,
	 * which another connection opening at the same moment may hold. */
	sqlite3_busy_timeout(c->h, 5000);
	char *msg = NULL;
	src = sqlite3_exec(c->h,
			   "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
			   "PRAGMA foreign_keys=ON;",
			   NULL, NULL, &msg);
	if (src != SQLITE_OK) {
		snprintf(err, errlen, "sqlite: cannot configure %s: %s", path,
			 msg ? msg : sqlite3_errstr(src));
		sqlite3_free(msg);
		goto fail;
	}
	*rc = DB_OK;
	return &c->base;
fail:
	sq_close(c ? &c->base : NULL);
	return NULL;
}

static void sq_refresh(struct db_conn *base)
{
	(void)base;
}

static int sq_in_tx(struct db_conn *base)
{
	return !sqlite3_get_autocommit(((struct sq_conn *)base)->h);
}

static int sq_exec_script(struct db_conn *base, const char *sql)
{
	struct sq_conn *c = (struct sq_conn *)base;
	char *msg = NULL;
	int src = sqlite3_exec(c->h, sql, NULL, NULL, &msg);
	if (src == SQLITE_OK)
		return DB_OK;
	int xrc = sqlite3_extended_errcode(c->h);
	int rc = db_conn_set_error(base, sq_code(xrc), "sqlite: %s (%s)",
				   msg ? msg : sqlite3_errmsg(c->h), sqlite3_errstr(xrc));
	sqlite3_free(msg);
	return rc;
}

static int sq_commit(struct db_conn *base)
{
	int rc = sq_exec_script(base, "COMMIT");
	/* PostgreSQL ends the transaction whatever COMMIT says; do the same so
	 * callers have one rule: after db_commit there is no transaction. */
	if (rc != DB_OK && sq_in_tx(base)) {
		char keep[DB_ERRMAX];
		memcpy(keep, base->err, sizeof keep);
		sq_exec_script(base, "ROLLBACK");
		memcpy(base->err, keep, sizeof keep);
	}
	return rc;
}

/*
 * Prepared statement for sql: from the cache (marked busy, *entry set) or,
 * when the cached one is in use by an open cursor or the cache is full of
 * busy entries, a private one (*entry NULL; finalize after use).
 */
static int sq_prepare(struct sq_conn *c, const char *sql, sqlite3_stmt **out,
		      struct db_cache_entry **entry)
{
	*out = NULL;
	*entry = NULL;
	uint64_t hash = db_hash(sql);
	struct db_cache_entry *e = db_cache_find(&c->cache, sql, hash);
	if (e && !e->busy) {
		e->busy = 1;
		*out = e->stmt;
		*entry = e;
		return DB_OK;
	}
	int cacheable = e == NULL;
	sqlite3_stmt *st = NULL;
	const char *tail = NULL;
	int src = sqlite3_prepare_v3(c->h, sql, -1, cacheable ? SQLITE_PREPARE_PERSISTENT : 0, &st,
				     &tail);
	if (src != SQLITE_OK)
		return sq_fail(c, src);
	if (!st)
		return db_conn_set_error(&c->base, DB_ERR, "sqlite: empty SQL statement");
	while (tail &&
	       (*tail == ' ' || *tail == '\t' || *tail == '\n' || *tail == '\r' || *tail == ';'))
		tail++;
	if (tail && *tail) {
		/* Anything but comments after the first statement is a second one,
		 * which PostgreSQL's prepare refuses too. */
		sqlite3_stmt *more = NULL;
		int mrc = sqlite3_prepare_v2(c->h, tail, -1, &more, NULL);
		sqlite3_finalize(more);
		if (mrc != SQLITE_OK || more) {
			sqlite3_finalize(st);
			return db_conn_set_error(&c->base, DB_ERR,
						 "sqlite: several statements in one call; use "
						 "db_exec_script");
		}
	}
	if (cacheable) {
		struct db_cache_entry *slot = db_cache_slot(&c->cache);
		if (slot) {
			if (slot->sql) {
				sqlite3_finalize(slot->stmt);
				db_cache_drop(slot);
			}
			if (db_cache_fill(&c->cache, slot, sql, hash, st) == 0) {
				slot->busy = 1;
				*entry = slot;
			}
		}
	}
	*out = st;
	return DB_OK;
}

static void sq_unprepare(sqlite3_stmt *st, struct db_cache_entry *e)
{
	if (e) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		e->busy = 0;
	} else {
		sqlite3_finalize(st);
	}
}

/* Parse "$N" (N >= 1, no leading zero); 0 when name is anything else. */
static size_t sq_param_number(const char *name)
{
	if (!name || name[0] != '$' || name[1] < '1' || name[1] > '9')
		return 0;
	size_t n = 0;
	for (const char *p = name + 1; *p; p++) {
		if (*p < '0' || *p > '9' || n > 100000)
			return 0;
		n = n * 10 + (size_t)(*p - '0');
	}
	return n;
}

static int sq_bind(struct sq_conn *c, sqlite3_stmt *st, const struct db_param *p, size_t n,
		   sqlite3_destructor_type life)
{
	int count = sqlite3_bind_parameter_count(st);
	for (int j = 1; j <= count; j++) {
		const char *name = sqlite3_bind_parameter_name(st, j);
		size_t k = sq_param_number(name);
		if (k == 0 || k > n)
			return db_conn_set_error(&c->base, DB_ERR,
						 "sqlite: statement parameter %s has no value (%zu "
						 "given; write $1, $2, ...)",
						 name ? name : "?", n);
	}
	for (size_t i = 0; i < n; i++) {
		char name[32];
		snprintf(name, sizeof name, "$%zu", i + 1);
		int idx = sqlite3_bind_parameter_index(st, name);
		if (idx == 0)
			return db_conn_set_error(
			    &c->base, DB_ERR, "sqlite: parameter %s is not used by the statement",
			    name);
		int src;
		switch (p[i].type) {
		case DB_T_TEXT:
			src = p[i].text ? sqlite3_bind_text(st, idx, p[i].text, -1, life)
					: sqlite3_bind_null(st, idx);
			break;
		case DB_T_INT:
			src = sqlite3_bind_int64(st, idx, p[i].i);
			break;
		case DB_T_REAL:
			src = sqlite3_bind_double(st, idx, p[i].d);
			break;
		case DB_T_BLOB:
			/* A NULL pointer would bind SQL NULL; an empty blob is not NULL. */
			src = p[i].len == 0
				  ? sqlite3_bind_zeroblob(st, idx, 0)
				  : sqlite3_bind_blob64(st, idx, p[i].text, p[i].len, life);
			break;
		default:
			src = sqlite3_bind_null(st, idx);
			break;
		}
		if (src != SQLITE_OK)
			return sq_fail(c, src);
	}
	return DB_OK;
}

static int sq_exec(struct db_conn *base, const char *sql, const struct db_param *p, size_t n,
		   int64_t *changes)
{
	struct sq_conn *c = (struct sq_conn *)base;
	sqlite3_stmt *st = NULL;
	struct db_cache_entry *e = NULL;
	int rc = sq_prepare(c, sql, &st, &e);
	if (rc != DB_OK)
		goto out;
	/* STATIC: the parameters outlive this call, which runs to completion. */
	rc = sq_bind(c, st, p, n, SQLITE_STATIC);
	if (rc != DB_OK)
		goto out;
	sqlite3_int64 before = sqlite3_total_changes64(c->h);
	int src;
	while ((src = sqlite3_step(st)) == SQLITE_ROW)
		;
	if (src != SQLITE_DONE) {
		rc = sq_fail(c, src);
		goto out;
	}
	/* sqlite3_changes64 keeps the count of the last INSERT/UPDATE/DELETE,
	 * even after a statement that was none of those; report it only when
	 * this statement changed something. */
	if (changes)
		*changes = sqlite3_total_changes64(c->h) != before ? sqlite3_changes64(c->h) : 0;
out:
	if (st)
		sq_unprepare(st, e);
	return rc;
}

static void sq_res_free(struct db_res *base)
{
	struct sq_res *r = (struct sq_res *)base;
	if (!r)
		return;
	if (r->stmt)
		sq_unprepare(r->stmt, r->entry);
	free(r);
}

static int sq_step(struct sq_res *r)
{
	struct sq_conn *c = (struct sq_conn *)r->base.conn;
	int src = sqlite3_step(r->stmt);
	if (src == SQLITE_ROW) {
		r->state = SQ_ROW;
		return 1;
	}
	if (src == SQLITE_DONE) {
		r->state = SQ_DONE;
		/* Drop the read snapshot now, not when the caller frees us. */
		sqlite3_reset(r->stmt);
		return 0;
	}
	r->state = SQ_FAILED;
	r->error = sq_fail(c, src);
	return r->error;
}

static struct db_res *sq_query(struct db_conn *base, const char *sql, const struct db_param *p,
			       size_t n, int *rc)
{
	struct sq_conn *c = (struct sq_conn *)base;
	struct sq_res *r = calloc(1, sizeof *r);
	if (!r) {
		*rc = db_conn_set_error(base, DB_ERR, "out of memory");
		goto fail;
	}
	r->base.conn = base;
	*rc = sq_prepare(c, sql, &r->stmt, &r->entry);
	if (*rc != DB_OK)
		goto fail;
	/* TRANSIENT: the caller may free its parameters before db_next. */
	*rc = sq_bind(c, r->stmt, p, n, SQLITE_TRANSIENT);
	if (*rc != DB_OK)
		goto fail;
	/* Run to the first row now so that errors (a constraint hit by
	 * INSERT ... RETURNING, a busy database) surface here, where
	 * PostgreSQL reports them too. */
	int s = sq_step(r);
	if (s < 0) {
		*rc = s;
		goto fail;
	}
	if (s == 1)
		r->state = SQ_PENDING;
	*rc = DB_OK;
	return &r->base;
fail:
	sq_res_free(r ? &r->base : NULL);
	return NULL;
}

static int sq_next(struct db_res *base)
{
	struct sq_res *r = (struct sq_res *)base;
	switch (r->state) {
	case SQ_PENDING:
		r->state = SQ_ROW;
		return 1;
	case SQ_ROW:
		return sq_step(r);
	case SQ_DONE:
		return 0;
	default:
		return r->error;
	}
}

static int sq_ncols(const struct db_res *base)
{
	return sqlite3_column_count(((const struct sq_res *)base)->stmt);
}

static int sq_readable(const struct sq_res *r, int col)
{
	return r->state == SQ_ROW && col >= 0 && col < sqlite3_column_count(r->stmt);
}

static int sq_is_null(const struct db_res *base, int col)
{
	const struct sq_res *r = (const struct sq_res *)base;
	return !sq_readable(r, col) || sqlite3_column_type(r->stmt, col) == SQLITE_NULL;
}

static const char *sq_text(const struct db_res *base, int col)
{
	const struct sq_res *r = (const struct sq_res *)base;
	if (!sq_readable(r, col))
		return EMPTY;
	const unsigned char *s = sqlite3_column_text(r->stmt, col);
	return s ? (const char *)s : EMPTY;
}

static int64_t sq_int64(const struct db_res *base, int col)
{
	const struct sq_res *r = (const struct sq_res *)base;
	return sq_readable(r, col) ? sqlite3_column_int64(r->stmt, col) : 0;
}

static double sq_real(const struct db_res *base, int col)
{
	const struct sq_res *r = (const struct sq_res *)base;
	return sq_readable(r, col) ? sqlite3_column_double(r->stmt, col) : 0;
}

static const void *sq_blob(const struct db_res *base, int col, size_t *len)
{
	const struct sq_res *r = (const struct sq_res *)base;
	*len = 0;
	if (!sq_readable(r, col) || sqlite3_column_type(r->stmt, col) == SQLITE_NULL)
		return NULL;
	const void *b = sqlite3_column_blob(r->stmt, col);
	int n = sqlite3_column_bytes(r->stmt, col);
	if (!b || n <= 0)
		return EMPTY; /* empty, not NULL */
	*len = (size_t)n;
	return b;
}

const struct db_driver DB_DRIVER_SQLITE = {
    .dialect = DB_SQLITE,
    .open = sq_open,
    .close = sq_close,
    .refresh = sq_refresh,
    .in_tx = sq_in_tx,
    .exec = sq_exec,
    .exec_script = sq_exec_script,
    .commit = sq_commit,
    .query = sq_query,
    .next = sq_next,
    .ncols = sq_ncols,
    .is_null = sq_is_null,
    .text = sq_text,
    .int64 = sq_int64,
    .real = sq_real,
    .blob = sq_blob,
    .res_free = sq_res_free,
};
