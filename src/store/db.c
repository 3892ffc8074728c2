/*
 * db.c — URL parsing, the bounded connection pool and dispatch to the
 * SQLite / PostgreSQL drivers. See db.h for the contract, db_impl.h for the
 * driver interface.
 *
 * The pool opens connections lazily (the first one eagerly, so a bad URL
 * or unreachable server fails db_open with a clear reason) and never holds
 * its mutex across a driver call: opening, resetting and rolling back can
 * take a network round trip.
 */
#include "store/db.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "core/log.h"
#include "store/db_impl.h"

#define DB_POOL_MAX 1024

struct db {
	const struct db_driver *drv;
	char *target; /* SQLite path or PostgreSQL conninfo URI; owned */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct db_conn *idle; /* stack of idle connections */
	int size;
	int open;
	int in_use;
	int64_t waits;
	int rls_bypassed; /* see db_rls_bypassed; set once by db_open */
};

static void db_seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void db_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || errlen == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	/* Callers print this as one line. */
	for (char *p = err; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
}

/* The last error code on this thread since its last db_acquire (see db_thread_last_error). */
static _Thread_local int t_last_rc;

int db_thread_last_error(void)
{
	return t_last_rc;
}

int db_conn_set_error(struct db_conn *c, int rc, const char *fmt, ...)
{
	t_last_rc = rc;
	if (!c)
		return rc;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->err, sizeof c->err, fmt, ap);
	va_end(ap);
	size_t n = strlen(c->err);
	for (size_t i = 0; i < n; i++)
		if (c->err[i] == '\n' || c->err[i] == '\r' || c->err[i] == '\t')
			c->err[i] = ' ';
	while (n > 0 && c->err[n - 1] == ' ')
		c->err[--n] = '\0';
	return rc;
}

/* ---- statement cache ---- */

uint64_t db_hash(const char *s)
{
	/* FNV-1a: tiny, good enough to skip most strcmp calls. */
	uint64_t h = 1469598103934665603ULL;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		h ^= *p;
		h *= 1099511628211ULL;
	}
	return h;
}

struct db_cache_entry *db_cache_find(struct db_cache *cache, const char *sql, uint64_t hash)
{
	for (int i = 0; i < DB_CACHE_MAX; i++) {
		struct db_cache_entry *e = &cache->e[i];
		if (e->sql && e->hash == hash && strcmp(e->sql, sql) == 0) {
			e->used = ++cache->tick;
			return e;
		}
	}
	return NULL;
}

struct db_cache_entry *db_cache_slot(struct db_cache *cache)
{
	struct db_cache_entry *victim = NULL;
	for (int i = 0; i < DB_CACHE_MAX; i++) {
		struct db_cache_entry *e = &cache->e[i];
		if (!e->sql)
			return e;
		if (!e->busy && (!victim || e->used < victim->used))
			victim = e;
	}
	return victim;
}

int db_cache_fill(struct db_cache *cache, struct db_cache_entry *slot, const char *sql,
		  uint64_t hash, void *stmt)
{
	char *copy = strdup(sql);
	if (!copy)
		return -1;
	free(slot->sql);
	slot->sql = copy;
	slot->hash = hash;
	slot->stmt = stmt;
	slot->busy = 0;
	slot->used = ++cache->tick;
	return 0;
}

void db_cache_drop(struct db_cache_entry *e)
{
	free(e->sql);
	e->sql = NULL;
	e->stmt = NULL;
	e->busy = 0;
	e->used = 0;
}

/* ---- pool ---- */

static int db_parse_url(const char *url, const struct db_driver **drv, const char **target)
{
	if (strncmp(url, "sqlite:", 7) == 0) {
		*drv = &DB_DRIVER_SQLITE;
		*target = url + 7;
		return **target ? 0 : -1;
	}
	if (strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0) {
		*drv = &DB_DRIVER_PG;
		*target = url;
		return 0;
	}
	return -1;
}

static int db_scope_set(struct db_conn *c, const char *scope, const char *org_ids);

/*
 * A new connection starts with no tenant scope whatever PGOPTIONS, the
 * URL's options or ALTER ROLE ... SET said: fail closed. (The test harness
 * gives its own psql sessions system scope through PGOPTIONS.) If this
 * fails the connection is marked scoped, so release resets or closes it.
 */
static void db_scope_fresh(struct db_conn *c)
{
	if (c->drv->dialect == DB_PG)
		db_scope_set(c, "", "");
}

/*
 * Row-level security protects nothing for a superuser or a BYPASSRLS role
 * (FORCE ROW LEVEL SECURITY binds only a table's owner). Say so loudly, but
 * run: an operator may be migrating to a dedicated role.
 */
static int db_check_rls(struct db_conn *c)
{
	if (c->drv->dialect != DB_PG)
		return -1;
	int rc = DB_ERR, bypass = -1;
	struct db_res *r = c->drv->query(c,
					 "SELECT current_user, (rolsuper OR rolbypassrls)::int"
					 " FROM pg_roles WHERE rolname = current_user",
					 NULL, 0, &rc);
	if (r && c->drv->next(r) == 1) {
		bypass = c->drv->int64(r, 1) != 0;
		if (bypass)
			log_warn(
			    "the database role bypasses row-level security (it is a superuser "
			    "or has BYPASSRLS): tenant isolation then rests on the application "
			    "alone; run iamd as a role with NOSUPERUSER NOBYPASSRLS",
			    json_pack("{s:s}", "role", c->drv->text(r, 0)));
	}
	if (r)
		c->drv->res_free(r);
	return bypass;
}

struct db *db_open(const char *url, int pool_size, char *err, size_t errlen)
{
	struct db *db = NULL;
	const struct db_driver *drv = NULL;
	const char *target = NULL;
	int locks = 0;

	if (!url || !*url) {
		db_seterr(err, errlen, "database URL is empty");
		goto fail;
	}
	/* Never echo the URL: it may carry a password. */
	if (db_parse_url(url, &drv, &target) != 0) {
		db_seterr(err, errlen,
			  "unsupported database URL (want sqlite:PATH or postgres://user@host/db)");
		goto fail;
	}
	if (pool_size < 1 || pool_size > DB_POOL_MAX) {
		db_seterr(err, errlen, "database pool size must be 1..%d, not %d", DB_POOL_MAX,
			  pool_size);
		goto fail;
	}
	db = calloc(1, sizeof *db);
	if (!db || !(db->target = strdup(target))) {
		db_seterr(err, errlen, "out of memory");
		goto fail;
	}
	db->drv = drv;
	db->size = pool_size;

	pthread_condattr_t ca;
	if (pthread_condattr_init(&ca) != 0) {
		db_seterr(err, errlen, "cannot initialise pool");
		goto fail;
	}
	/* Waits are measured on the monotonic clock: wall-clock jumps must not
	 * stretch or cut an acquire timeout. */
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	int crc = pthread_cond_init(&db->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (crc != 0 || pthread_mutex_init(&db->mu, NULL) != 0) {
		if (crc == 0)
			pthread_cond_destroy(&db->cv);
		db_seterr(err, errlen, "cannot initialise pool");
		goto fail;
	}
	locks = 1;

	/* Open one connection now so that configuration errors surface here. */
	int rc = DB_OK;
	char why[DB_ERRMAX] = "";
	struct db_conn *c = drv->open(db->target, &rc, why, sizeof why);
	if (!c || rc != DB_OK) {
		if (c)
			drv->close(c);
		db_seterr(err, errlen, "%s", why[0] ? why : "cannot open database");
		goto fail;
	}
	c->db = db;
	c->drv = drv;
	db->idle = c;
	db->open = 1;
	db_scope_fresh(c);
	db->rls_bypassed = db_check_rls(c);
	return db;

fail:
	if (db) {
		if (locks) {
			pthread_cond_destroy(&db->cv);
			pthread_mutex_destroy(&db->mu);
		}
		free(db->target);
		free(db);
	}
	return NULL;
}

void db_close(struct db *db)
{
	if (!db)
		return;
	pthread_mutex_lock(&db->mu);
	struct db_conn *c = db->idle;
	db->idle = NULL;
	int leaked = db->in_use;
	pthread_mutex_unlock(&db->mu);
	while (c) {
		struct db_conn *next = c->next_idle;
		db->drv->close(c);
		c = next;
	}
	if (leaked > 0)
		/* A caller bug: those connections now point at freed memory. */
		log_error("db_close with connections still checked out",
			  json_pack("{s:i}", "in_use", leaked));
	pthread_cond_destroy(&db->cv);
	pthread_mutex_destroy(&db->mu);
	free(db->target);
	free(db);
}

enum db_dialect db_dialect(const struct db *db)
{
	return db ? db->drv->dialect : DB_SQLITE;
}

void db_pool_stats(struct db *db, struct db_pool_stats *out)
{
	if (!out)
		return;
	memset(out, 0, sizeof *out);
	if (!db)
		return;
	pthread_mutex_lock(&db->mu);
	out->size = db->size;
	out->open = db->open;
	out->in_use = db->in_use;
	out->waits = db->waits;
	pthread_mutex_unlock(&db->mu);
}

/*
 * timeout_ms < 0 waits for ever; 0 only takes what is free right now.
 */
struct db_conn *db_acquire(struct db *db, int timeout_ms)
{
	if (!db)
		return NULL;
	struct timespec deadline = {0};
	if (timeout_ms > 0) {
		clock_gettime(CLOCK_MONOTONIC, &deadline);
		deadline.tv_sec += timeout_ms / 1000;
		deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
		if (deadline.tv_nsec >= 1000000000L) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000L;
		}
	}

	t_last_rc = DB_OK;
	struct db_conn *c = NULL;
	int must_open = 0, waited = 0, expired = 0;
	pthread_mutex_lock(&db->mu);
	for (;;) {
		if (db->idle) {
			c = db->idle;
			db->idle = c->next_idle;
			c->next_idle = NULL;
			db->in_use++;
			break;
		}
		if (db->open < db->size) {
			/* Reserve the slot now, connect outside the lock. */
			db->open++;
			db->in_use++;
			must_open = 1;
			break;
		}
		if (timeout_ms == 0 || expired)
			break;
		if (!waited) {
			db->waits++;
			waited = 1;
		}
		int rc = timeout_ms < 0 ? pthread_cond_wait(&db->cv, &db->mu)
					: pthread_cond_timedwait(&db->cv, &db->mu, &deadline);
		if (rc == ETIMEDOUT)
			expired = 1; /* one last look, then give up */
	}
	pthread_mutex_unlock(&db->mu);

	if (must_open) {
		int rc = DB_OK;
		char why[DB_ERRMAX] = "";
		c = db->drv->open(db->target, &rc, why, sizeof why);
		if (!c) {
			t_last_rc = rc == DB_OK ? DB_UNAVAILABLE : rc;
			log_error("database connection failed", json_pack("{s:s}", "error", why));
			pthread_mutex_lock(&db->mu);
			db->open--;
			db->in_use--;
			pthread_cond_signal(&db->cv);
			pthread_mutex_unlock(&db->mu);
			return NULL;
		}
		c->db = db;
		c->drv = db->drv;
		if (rc == DB_OK)
			db_scope_fresh(c);
		/* A PostgreSQL connection that failed to connect is still handed
		 * out: its calls report DB_UNAVAILABLE and the next acquire resets
		 * it, exactly like a connection that broke later. */
		if (rc != DB_OK)
			log_warn("database connection failed", json_pack("{s:s}", "error", why));
	} else if (c) {
		c->drv->refresh(c);
	}
	return c;
}

void db_release(struct db_conn *c)
{
	if (!c)
		return;
	struct db *db = c->db;
	int keep = 1;
	if (c->drv->in_tx(c)) {
		log_warn("database connection released inside a transaction; rolling back", NULL);
		c->drv->exec_script(c, "ROLLBACK");
		/* Never hand the next caller a connection stuck in someone
		 * else's transaction. */
		if (c->drv->in_tx(c))
			keep = 0;
	}
	/* Never hand the next caller another request's tenant scope. */
	if (keep && c->scoped && db_scope_clear(c) != DB_OK) {
		log_warn("could not reset a connection's tenant scope; closing it",
			 json_pack("{s:s}", "error", c->err));
		keep = 0;
	}
	c->err[0] = '\0';
	if (!keep)
		c->drv->close(c);
	pthread_mutex_lock(&db->mu);
	db->in_use--;
	if (keep) {
		c->next_idle = db->idle;
		db->idle = c;
	} else {
		db->open--;
	}
	pthread_cond_signal(&db->cv);
	pthread_mutex_unlock(&db->mu);
}

/* ---- statements ---- */

static int db_check_call(struct db_conn *c, const char *sql, const struct db_param *p, size_t n)
{
	if (!sql)
		return db_conn_set_error(c, DB_ERR, "SQL text is NULL");
	if (n > 0 && !p)
		return db_conn_set_error(c, DB_ERR, "%zu parameters but no parameter array", n);
	/* PostgreSQL's protocol carries the count in 16 bits. */
	if (n > 65535)
		return db_conn_set_error(c, DB_ERR, "too many parameters (%zu)", n);
	for (size_t i = 0; i < n; i++) {
		switch (p[i].type) {
		case DB_T_NULL:
		case DB_T_TEXT:
		case DB_T_INT:
		case DB_T_REAL:
			break;
		case DB_T_BLOB:
			if (!p[i].text && p[i].len > 0)
				return db_conn_set_error(
				    c, DB_ERR, "parameter $%zu: blob without data", i + 1);
			break;
		default:
			return db_conn_set_error(c, DB_ERR, "parameter $%zu: unknown type %d",
						 i + 1, (int)p[i].type);
		}
	}
	return DB_OK;
}

int db_ping(struct db_conn *c)
{
	if (!c)
		return DB_ERR;
	int rc = DB_ERR;
	struct db_res *r = c->drv->query(c, "SELECT 1", NULL, 0, &rc);
	if (!r)
		return rc;
	int n = c->drv->next(r);
	rc = n == 1 && c->drv->int64(r, 0) == 1 ? DB_OK : (n < 0 ? n : DB_ERR);
	c->drv->res_free(r);
	return rc;
}

int db_exec(struct db_conn *c, const char *sql, const struct db_param *params, size_t nparams,
	    int64_t *changes)
{
	if (changes)
		*changes = 0;
	if (!c)
		return DB_ERR;
	int rc = db_check_call(c, sql, params, nparams);
	if (rc != DB_OK)
		return rc;
	return c->drv->exec(c, sql, params, nparams, changes);
}

int db_exec_script(struct db_conn *c, const char *sql)
{
	if (!c)
		return DB_ERR;
	if (!sql)
		return db_conn_set_error(c, DB_ERR, "SQL text is NULL");
	return c->drv->exec_script(c, sql);
}

struct db_res *db_query(struct db_conn *c, const char *sql, const struct db_param *params,
			size_t nparams, int *rc)
{
	int code = DB_ERR;
	struct db_res *r = NULL;
	if (!c)
		goto out;
	code = db_check_call(c, sql, params, nparams);
	if (code != DB_OK)
		goto out;
	r = c->drv->query(c, sql, params, nparams, &code);
out:
	if (rc)
		*rc = r ? DB_OK : (code == DB_OK ? DB_ERR : code);
	return r;
}

int db_next(struct db_res *r)
{
	return r ? r->conn->drv->next(r) : DB_ERR;
}

int db_ncols(const struct db_res *r)
{
	return r ? r->conn->drv->ncols(r) : 0;
}

int db_is_null(const struct db_res *r, int col)
{
	return r ? r->conn->drv->is_null(r, col) : 1;
}

const char *db_text(const struct db_res *r, int col)
{
	const char *s = r ? r->conn->drv->text(r, col) : NULL;
	return s ? s : "";
}

int64_t db_int(const struct db_res *r, int col)
{
	return r ? r->conn->drv->int64(r, col) : 0;
}

double db_double(const struct db_res *r, int col)
{
	if (!r || db_is_null(r, col))
		return 0.0;
	if (r->conn->drv->real)
		return r->conn->drv->real(r, col);
	return strtod(db_text(r, col), NULL);
}

const void *db_blob(const struct db_res *r, int col, size_t *len)
{
	if (len)
		*len = 0;
	if (!r)
		return NULL;
	size_t n = 0;
	const void *p = r->conn->drv->blob(r, col, &n);
	if (len)
		*len = n;
	return p;
}

void db_res_free(struct db_res *r)
{
	if (r)
		r->conn->drv->res_free(r);
}

int db_begin(struct db_conn *c)
{
	if (!c)
		return DB_ERR;
	/* PostgreSQL only warns about a nested BEGIN; refuse it in both. */
	if (c->drv->in_tx(c))
		return db_conn_set_error(c, DB_ERR, "a transaction is already open");
	/* SQLite: take the write lock now, so a later write cannot fail with
	 * an unretryable lock upgrade in the middle of the transaction. */
	return c->drv->exec_script(c, c->drv->dialect == DB_SQLITE ? "BEGIN IMMEDIATE" : "BEGIN");
}

int db_commit(struct db_conn *c)
{
	return c ? c->drv->commit(c) : DB_ERR;
}

int db_rollback(struct db_conn *c)
{
	return c ? c->drv->exec_script(c, "ROLLBACK") : DB_ERR;
}

const char *db_conn_error(const struct db_conn *c)
{
	if (!c)
		return "no database connection";
	return c->err;
}

enum db_dialect db_conn_dialect(const struct db_conn *c)
{
	return c ? c->drv->dialect : DB_SQLITE;
}

/* ---- tenant scope (see db.h) ---- */

int db_rls_bypassed(const struct db *db)
{
	return db ? db->rls_bypassed : -1;
}

static int db_scope_set(struct db_conn *c, const char *scope, const char *org_ids)
{
	if (!c)
		return DB_ERR;
	if (c->drv->dialect != DB_PG)
		return DB_OK;
	/* In a transaction: SET LOCAL (ends with it). Otherwise for the
	 * session, until db_scope_clear / db_release. */
	int local = c->drv->in_tx(c);
	const char *sql =
	    local
		? "SELECT set_config('iam.scope', $1, true), set_config('iam.org_ids', $2, true)"
		: "SELECT set_config('iam.scope', $1, false), set_config('iam.org_ids', $2, false)";
	int rc =
	    c->drv->exec(c, sql, DB_PARAMS(DB_TEXT(scope), DB_TEXT(org_ids ? org_ids : "")), NULL);
	if (rc == DB_OK && !local)
		c->scoped = scope[0] || (org_ids && org_ids[0]);
	else if (!local)
		c->scoped = 1; /* unknown state: make release reset (or close) it */
	return rc;
}

int db_scope_system(struct db_conn *c)
{
	return db_scope_set(c, "system", "");
}

int db_scope_orgs(struct db_conn *c, const char *org_ids)
{
	return db_scope_set(c, "", org_ids);
}

int db_scope_clear(struct db_conn *c)
{
	return db_scope_set(c, "", "");
}

static struct db_conn *db_acquire_scoped(struct db *db, int timeout_ms, const char *scope,
					 const char *org_ids)
{
	struct db_conn *c = db_acquire(db, timeout_ms);
	if (c && db_scope_set(c, scope, org_ids) != DB_OK) {
		log_warn("could not set a connection's tenant scope",
			 json_pack("{s:s}", "error", c->err));
		db_release(c);
		return NULL;
	}
	return c;
}

struct db_conn *db_acquire_system(struct db *db, int timeout_ms)
{
	return db_acquire_scoped(db, timeout_ms, "system", "");
}

struct db_conn *db_acquire_org(struct db *db, int timeout_ms, const char *org_id)
{
	/* An id never holds a comma; one that did would only widen nothing. */
	return db_acquire_scoped(db, timeout_ms, "", org_id);
}
