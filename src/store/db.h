/*
 * db.h — one small database API over SQLite and PostgreSQL.
 *
 * Contract:
 *  - db_open() parses a URL ("sqlite:PATH" or "postgres://..." /
 *    "postgresql://...") and creates a bounded pool of connections.
 *    SQLite connections use WAL, busy_timeout, foreign_keys=ON; one
 *    connection is used by one thread at a time (the pool guarantees it).
 *  - SQL uses $1, $2, ... placeholders in both dialects. Parameters are
 *    passed as an array of struct db_param (see DB_TEXT/DB_INT/DB_NULL).
 *  - Statements are prepared once per connection and cached by SQL text.
 *  - Every function returning heap memory says who frees it; *_free(NULL)
 *    is a no-op.
 *  - Nothing here knows about HTTP, users or tenants.
 */
#ifndef IAM_DB_H
#define IAM_DB_H

#include <stddef.h>
#include <stdint.h>

enum db_dialect { DB_SQLITE = 1, DB_PG = 2 };

/* Result codes. Negative values are errors. */
enum db_rc {
	DB_OK = 0,
	DB_ERR = -1,	    /* any other error; see db_conn_error() */
	DB_UNIQUE = -2,	    /* unique / primary key constraint violated */
	DB_CONSTRAINT = -3, /* other constraint (check, foreign key, not null) */
	DB_BUSY = -4,	    /* lock timeout / serialization failure: retryable */
	DB_UNAVAILABLE = -5 /* cannot reach / open the database */
};

enum db_type { DB_T_NULL = 0, DB_T_TEXT, DB_T_INT, DB_T_BLOB, DB_T_REAL };

struct db_param {
	enum db_type type;
	const char *text; /* DB_T_TEXT (NUL-terminated) / DB_T_BLOB (len bytes) */
	size_t len;
	int64_t i;
	double d; /* DB_T_REAL */
};

/* A text parameter; NULL binds SQL NULL. (A function, so arrays can be passed without warnings.) */
static inline struct db_param db_param_text(const char *s)
{
	return (struct db_param){.type = s ? DB_T_TEXT : DB_T_NULL, .text = s};
}
#define DB_TEXT(s)    db_param_text(s)
#define DB_INT(v)     ((struct db_param){.type = DB_T_INT, .i = (int64_t)(v)})
#define DB_REAL(v)    ((struct db_param){.type = DB_T_REAL, .d = (double)(v)})
#define DB_NULL	      ((struct db_param){.type = DB_T_NULL})
#define DB_BLOB(p, n) ((struct db_param){.type = DB_T_BLOB, .text = (const char *)(p), .len = (n)})
#define DB_PARAMS(...)                                                                             \
	((struct db_param[]){__VA_ARGS__}),                                                        \
	    (sizeof((struct db_param[]){__VA_ARGS__}) / sizeof(struct db_param))

struct db;	/* a pool; thread-safe */
struct db_conn; /* one connection; used by one thread at a time */
struct db_res;	/* a result cursor; belongs to its connection */

/*
 * Open a pool for url with at most pool_size connections (>= 1).
 * On failure returns NULL and writes a one-line reason to err.
 * Caller closes with db_close().
 */
struct db *db_open(const char *url, int pool_size, char *err, size_t errlen);
void db_close(struct db *db);
enum db_dialect db_dialect(const struct db *db);

/* Pool statistics for /metrics. */
struct db_pool_stats {
	int size;      /* configured maximum */
	int open;      /* connections currently open */
	int in_use;    /* connections checked out */
	int64_t waits; /* total times a caller had to wait for a connection */
};
void db_pool_stats(struct db *db, struct db_pool_stats *out);

/*
 * Borrow a connection; blocks up to timeout_ms (then returns NULL).
 * Return it with db_release(). A connection released inside an open
 * transaction is rolled back first. A broken PostgreSQL connection is
 * reset transparently on the next acquire.
 */
struct db_conn *db_acquire(struct db *db, int timeout_ms);
void db_release(struct db_conn *c);

/* Liveness check (SELECT 1). Returns DB_OK or an error code. */
int db_ping(struct db_conn *c);

/*
 * Run a statement that returns no rows we need. Returns DB_OK or an error
 * code; *changes (if not NULL) gets the number of rows changed.
 */
int db_exec(struct db_conn *c, const char *sql, const struct db_param *params, size_t nparams,
	    int64_t *changes);

/*
 * Run several ';'-separated statements without parameters (migrations).
 */
int db_exec_script(struct db_conn *c, const char *sql);

/*
 * Run a query. Returns a cursor (caller frees with db_res_free) or NULL on
 * error, with the code in *rc when rc is not NULL.
 * Iterate with db_next(): 1 = a row is available, 0 = done, <0 = error code.
 */
struct db_res *db_query(struct db_conn *c, const char *sql, const struct db_param *params,
			size_t nparams, int *rc);
int db_next(struct db_res *r);
int db_ncols(const struct db_res *r);
int db_is_null(const struct db_res *r, int col);
/* Valid until the next db_next() or db_res_free(); never NULL ("" for NULL). */
const char *db_text(const struct db_res *r, int col);
int64_t db_int(const struct db_res *r, int col);
/* A floating-point column (0.0 for NULL). */
double db_double(const struct db_res *r, int col);
const void *db_blob(const struct db_res *r, int col, size_t *len);
void db_res_free(struct db_res *r);

/*
 * Transactions. db_begin takes the write lock up front on SQLite
 * (BEGIN IMMEDIATE); on PostgreSQL it is BEGIN (READ COMMITTED).
 */
int db_begin(struct db_conn *c);
int db_commit(struct db_conn *c);
int db_rollback(struct db_conn *c);

/*
 * Tenant scope (row-level security on PostgreSQL; see sql/0014_rls.pg.sql).
 *
 * Every table with an org_id (but sessions and search_docs: see the
 * migration) carries a policy that shows and accepts a row only when the
 * connection's scope allows the row's organization. The scope is two custom
 * settings, iam.scope ('system' or empty) and iam.org_ids (a comma-separated
 * list of organization ids). A connection fresh from db_acquire has neither,
 * whatever PGOPTIONS or ALTER ROLE preset: it sees no tenant row at all
 * (fail closed), so every acquire site says what it is doing:
 *
 *  - db_acquire_system / db_scope_system: cross-organization work that has
 *    no tenant yet or serves every tenant (authentication by token hash,
 *    jobs, the janitor, webhooks, share links, migrations, CLI commands).
 *  - db_scope_orgs / db_acquire_org: narrow to given organizations; a
 *    request is narrowed to its principal's (db_scope_user in
 *    store/db_scope.h, called by the API frame). The application's own
 *    org_id filters stay: the policy is the outer bound for a query that
 *    forgot one.
 *
 * Session or transaction: inside an explicit transaction (db_begin) the
 * scope is set with set_config(..., is_local => true), i.e. SET LOCAL, and
 * ends with the transaction. Outside one every statement is its own
 * transaction, so SET LOCAL would last a single statement; there the scope
 * is set for the session instead, and db_release resets it before the
 * connection goes back to the pool (a reset that fails closes the
 * connection). A connection is used by one thread from acquire to release,
 * so a session-level scope is as private to the borrower as a transaction's.
 * A connection the pool reconnects has lost its settings: closed again.
 *
 * On SQLite these are no-ops that return DB_OK (no roles, no policies).
 * Return DB_OK or an error code.
 */
int db_scope_system(struct db_conn *c);
/* org_ids: comma-separated ids ("" or NULL = none: no tenant row visible). */
int db_scope_orgs(struct db_conn *c, const char *org_ids);
/* Back to no scope (db_release does this). */
int db_scope_clear(struct db_conn *c);
/* db_acquire + db_scope_system; NULL (nothing held) if either fails. */
struct db_conn *db_acquire_system(struct db *db, int timeout_ms);
/* db_acquire + db_scope_orgs(org_id): work for one organization outside a request's frame. */
struct db_conn *db_acquire_org(struct db *db, int timeout_ms, const char *org_id);

/*
 * 1 when the database role bypasses row-level security (a PostgreSQL
 * superuser or BYPASSRLS role: the policies above then protect nothing),
 * 0 when it does not, -1 when unknown or not PostgreSQL. Checked once by
 * db_open, which also logs a warning when it is 1.
 */
int db_rls_bypassed(const struct db *db);

/*
 * The code of the last database error on this thread since its last
 * db_acquire (DB_OK if none), so callers that only see a generic failure
 * can still tell an outage (DB_UNAVAILABLE: cannot connect, connection
 * lost) or contention (DB_BUSY) from other errors.
 */
int db_thread_last_error(void);
/* Last error message on this connection (never NULL). For logs only. */
const char *db_conn_error(const struct db_conn *c);
enum db_dialect db_conn_dialect(const struct db_conn *c);

#endif
