/*
 * db_pg.c — the PostgreSQL driver behind db.h (libpq, synchronous).
 *
 * Each pooled connection keeps its own server-side prepared statements,
 * named after a hash of the SQL text plus a per-connection sequence number
 * (so two texts with the same hash never collide). Parameters go as text,
 * except blobs, which go in binary format typed bytea so that no escaping is
 * needed and "SELECT $1" with a blob still means bytea. Results come back as
 * text; db_blob decodes bytea.
 */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "core/log.h"
#include "store/db_impl.h"

#define PG_BYTEA_OID 17
#define PG_INT_TEXT  32 /* "-9223372036854775808" and "%.17g" doubles + NUL fit */

struct pg_conn {
	struct db_conn base; /* first: the pool sees only this */
	PGconn *h;
	struct db_cache cache;
	unsigned seq;
};

/* What a cache entry's stmt points at. */
struct pg_stmt {
	char name[48];
	uint64_t bytea_mask; /* parameters (first 64) prepared as bytea */
};

struct pg_blob {
	unsigned char *p; /* PQfreemem */
	size_t len;
};

struct pg_res {
	struct db_res base; /* first */
	PGresult *res;
	int row; /* -1 before the first db_next */
	int nrows;
	int ncols;
	struct pg_blob *decoded; /* per column, bytea decoded for this row */
};

static const char EMPTY[1] = "";

static void pg_notice(void *arg, const char *message)
{
	(void)arg;
	/* libpq would print NOTICEs ("table exists, skipping") on stderr, in
	 * the middle of our JSON log lines. */
	log_debug("postgres notice", json_pack("{s:s}", "notice", message));
}

static int pg_sqlstate_code(const char *state)
{
	if (!state)
		return DB_ERR;
	if (strcmp(state, "23505") == 0)
		return DB_UNIQUE;
	if (strncmp(state, "23", 2) == 0)
		return DB_CONSTRAINT;
	if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
	    strcmp(state, "55P03") == 0)
		return DB_BUSY;
	/* Connection exceptions and the server going away. */
	if (strncmp(state, "08", 2) == 0 || strcmp(state, "57P01") == 0 ||
	    strcmp(state, "57P02") == 0 || strcmp(state, "57P03") == 0)
		return DB_UNAVAILABLE;
	return DB_ERR;
}

/* Record the error for res (NULL: the connection's) and return its code. */
static int pg_fail(struct pg_conn *c, const PGresult *res)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	int code = pg_sqlstate_code(state);
	if (PQstatus(c->h) != CONNECTION_OK)
		code = DB_UNAVAILABLE;
	if (!msg || !*msg)
		msg = res && *PQresultErrorMessage(res) ? PQresultErrorMessage(res)
							: PQerrorMessage(c->h);
	if (!msg || !*msg)
		msg = res ? PQresStatus(PQresultStatus(res)) : "no result";
	/* Only the primary message: DETAIL would copy row values (e-mail
	 * addresses, tokens' hashes) into the logs. */
	return db_conn_set_error(&c->base, code, "postgres: %s (%s)", msg, state ? state : "-");
}

static int pg_ok(const PGresult *res)
{
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

static void pg_cache_clear(struct pg_conn *c)
{
	for (int i = 0; i < DB_CACHE_MAX; i++) {
		if (c->cache.e[i].sql) {
			free(c->cache.e[i].stmt);
			db_cache_drop(&c->cache.e[i]);
		}
	}
}

static void pg_close(struct db_conn *base)
{
	struct pg_conn *c = (struct pg_conn *)base;
	if (!c)
		return;
	pg_cache_clear(c);
	PQfinish(c->h);
	free(c);
}

static struct db_conn *pg_open(const char *uri, int *rc, char *err, size_t errlen)
{
	*rc = DB_UNAVAILABLE;
	struct pg_conn *c = calloc(1, sizeof *c);
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	/*
	 * Keywords before the expanded dbname are defaults the URI may
	 * override; keywords after it override the URI. We must talk UTF-8
	 * whatever the URI says, and a connect must not hang for ever.
	 */
	const char *keys[] = {"connect_timeout", "fallback_application_name", "dbname",
			      "client_encoding", NULL};
	const char *vals[] = {"10", "iamd", uri, "UTF8", NULL};
	c->h = PQconnectdbParams(keys, vals, 1);
	if (!c->h) {
		snprintf(err, errlen, "out of memory");
		free(c);
		return NULL;
	}
	PQsetNoticeProcessor(c->h, pg_notice, NULL);
	if (PQstatus(c->h) != CONNECTION_OK) {
		snprintf(err, errlen, "postgres: %s", PQerrorMessage(c->h));
		return &c->base;
	}
	*rc = DB_OK;
	return &c->base;
}

static void pg_refresh(struct db_conn *base)
{
	struct pg_conn *c = (struct pg_conn *)base;
	if (PQstatus(c->h) == CONNECTION_OK)
		return;
	/* A new session: the server forgot our prepared statements. */
	pg_cache_clear(c);
	PQreset(c->h);
	if (PQstatus(c->h) == CONNECTION_OK)
		log_info("database connection re-established", NULL);
	else
		db_conn_set_error(base, DB_UNAVAILABLE, "postgres: %s", PQerrorMessage(c->h));
}

static int pg_in_tx(struct db_conn *base)
{
	PGTransactionStatusType t = PQtransactionStatus(((struct pg_conn *)base)->h);
	return t == PQTRANS_INTRANS || t == PQTRANS_INERROR || t == PQTRANS_ACTIVE;
}

static int pg_exec_script(struct db_conn *base, const char *sql)
{
	struct pg_conn *c = (struct pg_conn *)base;
	PGresult *res = PQexec(c->h, sql);
	int rc = DB_OK;
	if (!pg_ok(res) && !(res && PQresultStatus(res) == PGRES_EMPTY_QUERY))
		rc = pg_fail(c, res);
	PQclear(res);
	return rc;
}

static int pg_commit(struct db_conn *base)
{
	struct pg_conn *c = (struct pg_conn *)base;
	PGresult *res = PQexec(c->h, "COMMIT");
	int rc = DB_OK;
	if (!pg_ok(res))
		rc = pg_fail(c, res);
	else if (strcmp(PQcmdStatus(res), "ROLLBACK") == 0)
		/* COMMIT of a transaction that already failed "succeeds" by
		 * rolling back; the caller must not think its writes landed. */
		rc = db_conn_set_error(base, DB_ERR,
				       "postgres: transaction rolled back: an earlier statement "
				       "failed");
	PQclear(res);
	return rc;
}

/* Parameter arrays for libpq, in one allocation. */
struct pg_args {
	const char **values;
	int *lengths;
	int *formats;
	Oid *types;
	char *ints;
	uint64_t bytea_mask;
};

static int pg_args_make(struct pg_conn *c, const struct db_param *p, size_t n, struct pg_args *a)
{
	memset(a, 0, sizeof *a);
	if (n == 0)
		return DB_OK;
	size_t size = n * (sizeof(char *) + 2 * sizeof(int) + sizeof(Oid) + PG_INT_TEXT);
	char *block = calloc(1, size);
	if (!block)
		return db_conn_set_error(&c->base, DB_ERR, "out of memory");
	/* Pointers first, then the 4-byte arrays, then bytes: all aligned. */
	a->values = (const char **)(void *)block;
	a->lengths = (int *)(void *)(block + n * sizeof(char *));
	a->formats = a->lengths + n;
	a->types = (Oid *)(void *)(a->formats + n);
	a->ints = (char *)(a->types + n);
	for (size_t i = 0; i < n; i++) {
		switch (p[i].type) {
		case DB_T_TEXT:
			a->values[i] = p[i].text;
			break;
		case DB_T_INT:
			snprintf(a->ints + i * PG_INT_TEXT, PG_INT_TEXT, "%" PRId64, p[i].i);
			a->values[i] = a->ints + i * PG_INT_TEXT;
			break;
		case DB_T_REAL:
			snprintf(a->ints + i * PG_INT_TEXT, PG_INT_TEXT, "%.17g", p[i].d);
			a->values[i] = a->ints + i * PG_INT_TEXT;
			break;
		case DB_T_BLOB:
			if (p[i].len > INT_MAX) {
				free(block);
				memset(a, 0, sizeof *a);
				return db_conn_set_error(&c->base, DB_ERR,
							 "parameter $%zu: blob too large", i + 1);
			}
			/* NULL would mean SQL NULL; an empty blob is "". */
			a->values[i] = p[i].text ? p[i].text : EMPTY;
			a->lengths[i] = (int)p[i].len;
			a->formats[i] = 1;
			a->types[i] = PG_BYTEA_OID;
			if (i < 64)
				a->bytea_mask |= UINT64_C(1) << i;
			break;
		default:
			a->values[i] = NULL;
			break;
		}
	}
	return DB_OK;
}

static void pg_args_free(struct pg_args *a)
{
	/* values is the start of the one block. */
	free((void *)a->values);
	memset(a, 0, sizeof *a);
}

static void pg_deallocate(struct pg_conn *c, struct db_cache_entry *e)
{
	struct pg_stmt *st = e->stmt;
	if (st && PQstatus(c->h) == CONNECTION_OK) {
		char cmd[80];
		snprintf(cmd, sizeof cmd, "DEALLOCATE %s", st->name);
		/* Best effort: inside a failed transaction this is refused and
		 * the statement lives on harmlessly until the session ends. */
		PQclear(PQexec(c->h, cmd));
	}
	free(st);
	db_cache_drop(e);
}

/*
 * Find or prepare the statement for sql. A statement first prepared with a
 * text parameter where this call passes a blob is prepared again with bytea
 * there (a bytea parameter still accepts NULL, so the union is safe).
 */
static int pg_prepare(struct pg_conn *c, const char *sql, size_t n, const struct pg_args *a,
		      const char **name)
{
	uint64_t hash = db_hash(sql);
	uint64_t mask = a->bytea_mask;
	struct db_cache_entry *e = db_cache_find(&c->cache, sql, hash);
	if (e) {
		struct pg_stmt *old = e->stmt;
		if ((mask & ~old->bytea_mask) == 0) {
			*name = old->name;
			return DB_OK;
		}
		mask |= old->bytea_mask;
		pg_deallocate(c, e);
	}
	struct db_cache_entry *slot = db_cache_slot(&c->cache);
	if (slot && slot->sql)
		pg_deallocate(c, slot);
	struct pg_stmt *st = calloc(1, sizeof *st);
	Oid *types = NULL;
	int rc = DB_OK;
	if (!st || (n > 0 && !(types = calloc(n, sizeof *types)))) {
		rc = db_conn_set_error(&c->base, DB_ERR, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < n; i++)
		types[i] = (i < 64 && (mask >> i & 1)) ? PG_BYTEA_OID : a->types[i];
	st->bytea_mask = mask;
	snprintf(st->name, sizeof st->name, "iam_%016" PRIx64 "_%u", hash, ++c->seq);
	PGresult *res = PQprepare(c->h, st->name, sql, (int)n, types);
	if (!pg_ok(res)) {
		rc = pg_fail(c, res);
		PQclear(res);
		goto fail;
	}
	PQclear(res);
	if (!slot || db_cache_fill(&c->cache, slot, sql, hash, st) != 0) {
		/* Cannot remember it: drop it from the server too. */
		struct db_cache_entry tmp = {.stmt = st};
		st = NULL;
		pg_deallocate(c, &tmp);
		rc = db_conn_set_error(&c->base, DB_ERR, "out of memory");
		goto fail;
	}
	free(types);
	*name = st->name;
	return DB_OK;
fail:
	free(types);
	free(st);
	return rc;
}

static int pg_retryable(const PGresult *res)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	/* 26000: our statement vanished (DEALLOCATE ALL, pooler); 0A000:
	 * "cached plan must not change result type" after a schema change. */
	return state && (strcmp(state, "26000") == 0 || strcmp(state, "0A000") == 0);
}

/* Run sql; on success *out holds the result (caller PQclears). */
static int pg_run(struct pg_conn *c, const char *sql, const struct db_param *p, size_t n,
		  PGresult **out)
{
	*out = NULL;
	struct pg_args a;
	int rc = pg_args_make(c, p, n, &a);
	if (rc != DB_OK)
		return rc;
	PGresult *res = NULL;
	for (int attempt = 0; attempt < 2; attempt++) {
		const char *name = NULL;
		rc = pg_prepare(c, sql, n, &a, &name);
		if (rc != DB_OK)
			goto out;
		res = PQexecPrepared(c->h, name, (int)n, a.values, a.lengths, a.formats, 0);
		if (pg_ok(res))
			break;
		/* Retry only outside a transaction: inside one the error has
		 * already aborted it. */
		if (attempt == 0 && pg_retryable(res) &&
		    PQtransactionStatus(c->h) == PQTRANS_IDLE) {
			struct db_cache_entry *e = db_cache_find(&c->cache, sql, db_hash(sql));
			if (e)
				pg_deallocate(c, e);
			PQclear(res);
			res = NULL;
			continue;
		}
		rc = pg_fail(c, res);
		goto out;
	}
	*out = res;
	res = NULL;
	rc = DB_OK;
out:
	PQclear(res);
	pg_args_free(&a);
	return rc;
}

static int pg_exec(struct db_conn *base, const char *sql, const struct db_param *p, size_t n,
		   int64_t *changes)
{
	PGresult *res = NULL;
	int rc = pg_run((struct pg_conn *)base, sql, p, n, &res);
	if (rc == DB_OK && changes) {
		/* PQcmdTuples counts a SELECT's rows too; only writes change any. */
		const char *tag = PQcmdStatus(res);
		const char *t = PQcmdTuples(res);
		int write = strncmp(tag, "INSERT ", 7) == 0 || strncmp(tag, "UPDATE ", 7) == 0 ||
			    strncmp(tag, "DELETE ", 7) == 0 || strncmp(tag, "MERGE ", 6) == 0;
		*changes = write && t && *t ? strtoll(t, NULL, 10) : 0;
	}
	PQclear(res);
	return rc;
}

static void pg_res_clear_decoded(struct pg_res *r)
{
	if (!r->decoded)
		return;
	for (int i = 0; i < r->ncols; i++) {
		if (r->decoded[i].p) {
			PQfreemem(r->decoded[i].p);
			r->decoded[i].p = NULL;
			r->decoded[i].len = 0;
		}
	}
}

static void pg_res_free(struct db_res *base)
{
	struct pg_res *r = (struct pg_res *)base;
	if (!r)
		return;
	pg_res_clear_decoded(r);
	free(r->decoded);
	PQclear(r->res);
	free(r);
}

static struct db_res *pg_query(struct db_conn *base, const char *sql, const struct db_param *p,
			       size_t n, int *rc)
{
	struct pg_res *r = calloc(1, sizeof *r);
	if (!r) {
		*rc = db_conn_set_error(base, DB_ERR, "out of memory");
		goto fail;
	}
	r->base.conn = base;
	r->row = -1;
	*rc = pg_run((struct pg_conn *)base, sql, p, n, &r->res);
	if (*rc != DB_OK)
		goto fail;
	r->nrows = PQntuples(r->res);
	r->ncols = PQnfields(r->res);
	if (r->ncols > 0 && !(r->decoded = calloc((size_t)r->ncols, sizeof *r->decoded))) {
		*rc = db_conn_set_error(base, DB_ERR, "out of memory");
		goto fail;
	}
	return &r->base;
fail:
	pg_res_free(r ? &r->base : NULL);
	return NULL;
}

static int pg_next(struct db_res *base)
{
	struct pg_res *r = (struct pg_res *)base;
	pg_res_clear_decoded(r);
	if (r->row + 1 < r->nrows) {
		r->row++;
		return 1;
	}
	r->row = r->nrows;
	return 0;
}

static int pg_ncols(const struct db_res *base)
{
	return ((const struct pg_res *)base)->ncols;
}

static int pg_readable(const struct pg_res *r, int col)
{
	return r->row >= 0 && r->row < r->nrows && col >= 0 && col < r->ncols;
}

static int pg_is_null(const struct db_res *base, int col)
{
	const struct pg_res *r = (const struct pg_res *)base;
	return !pg_readable(r, col) || PQgetisnull(r->res, r->row, col);
}

static const char *pg_text(const struct db_res *base, int col)
{
	const struct pg_res *r = (const struct pg_res *)base;
	if (!pg_readable(r, col))
		return EMPTY;
	const char *s = PQgetvalue(r->res, r->row, col); /* "" for NULL */
	return s ? s : EMPTY;
}

static int64_t pg_integer(const struct db_res *base, int col)
{
	const struct pg_res *r = (const struct pg_res *)base;
	if (!pg_readable(r, col) || PQgetisnull(r->res, r->row, col))
		return 0;
	const char *s = PQgetvalue(r->res, r->row, col);
	/* Booleans come back as t/f; SQLite would have said 1/0. */
	if (strcmp(s, "t") == 0)
		return 1;
	if (strcmp(s, "f") == 0)
		return 0;
	return strtoll(s, NULL, 10);
}

static const void *pg_blob(const struct db_res *base, int col, size_t *len)
{
	/* The cursor is ours to mutate (it was allocated non-const); const
	 * only promises callers that nothing they can see changes. */
	struct pg_res *r = (struct pg_res *)(uintptr_t)base;
	*len = 0;
	if (!pg_readable(r, col) || PQgetisnull(r->res, r->row, col))
		return NULL;
	if (PQftype(r->res, col) != PG_BYTEA_OID) {
		*len = (size_t)PQgetlength(r->res, r->row, col);
		return PQgetvalue(r->res, r->row, col);
	}
	struct pg_blob *d = &r->decoded[col];
	if (!d->p) {
		/* Handles both bytea_output formats (hex and escape). */
		d->p = PQunescapeBytea((const unsigned char *)PQgetvalue(r->res, r->row, col),
				       &d->len);
		if (!d->p)
			return NULL;
	}
	*len = d->len;
	return d->p;
}

const struct db_driver DB_DRIVER_PG = {
    .dialect = DB_PG,
    .open = pg_open,
    .close = pg_close,
    .refresh = pg_refresh,
    .in_tx = pg_in_tx,
    .exec = pg_exec,
    .exec_script = pg_exec_script,
    .commit = pg_commit,
    .query = pg_query,
    .next = pg_next,
    .ncols = pg_ncols,
    .is_null = pg_is_null,
    .text = pg_text,
    .int64 = pg_integer,
    .blob = pg_blob,
    .res_free = pg_res_free,
};
