/*
 * store.h — conventions shared by the store aggregates (users.c, ...).
 * Every store function returns an enum store_rc (counts and other values go
 * through out-parameters). Every function touching a tenant-owned row takes
 * the caller's org_id. The driver layer (db.h) keeps its own negative
 * db_rc; store code turns those into store_rc with store_rc_of.
 */
#ifndef IAM_STORE_H
#define IAM_STORE_H

#include "store/db.h"

enum store_rc {
	STORE_OK = 0,
	STORE_NOT_FOUND,   /* no such row (or not the caller's) */
	STORE_CONFLICT,	   /* a unique key is taken (or the row is in another state) */
	STORE_BUSY,	   /* lock timeout, serialization failure, deadlock: try again */
	STORE_UNAVAILABLE, /* the database cannot be reached */
	STORE_ERROR,	   /* anything else (constraint, bad SQL, out of memory) */
	/* What single modules need: */
	STORE_UPLOAD_BUSY,  /* another request holds the upload's writer lock */
	STORE_UPLOAD_LOST,  /* our upload lock was taken over */
	STORE_KEY_EXPIRED,  /* the API key is past its expiry */
	STORE_MEETING_BUSY, /* the meeting is queued or being transcribed */
	STORE_STALE,	    /* the row is no longer at the version the caller expected */
	STORE_TOKEN_REUSED, /* a refresh token was used twice: its session is revoked */
};

/*
 * A db_rc (negative, or DB_OK) as a store_rc; a value that already is a
 * store_rc (>= 0) is returned as it is.
 */
enum store_rc store_rc_of(int db_rc);
/* "not_found", ... for logs. */
const char *store_rc_name(enum store_rc rc);
/* Busy or unreachable: worth retrying later (503 + Retry-After for a client). */
static inline int store_rc_retryable(enum store_rc rc)
{
	return rc == STORE_BUSY || rc == STORE_UNAVAILABLE;
}

/* How often store_tx runs a transaction that found the database busy. */
#define STORE_TX_TRIES 4

/*
 * Run fn(c, arg) in a transaction: BEGIN (IMMEDIATE on SQLite), fn,
 * COMMIT when fn returns STORE_OK, ROLLBACK otherwise. When BEGIN, fn or
 * COMMIT finds the database busy (SQLite SQLITE_BUSY, PostgreSQL
 * serialization failure or deadlock), the whole transaction runs again,
 * up to STORE_TX_TRIES times with a short, growing pause; fn must
 * therefore be safe to run again (it starts from arg, not from what a
 * failed run left). fn may return a db_rc or a store_rc. Returns fn's
 * result, COMMIT's failure, or STORE_BUSY when every try was busy.
 */
typedef int (*store_tx_fn)(struct db_conn *c, void *arg);
enum store_rc store_tx(struct db_conn *c, store_tx_fn fn, void *arg);

/* Copy a column into a fixed buffer, truncating safely. */
void store_copy(char *dst, size_t dstlen, const struct db_res *r, int col);

/*
 * A list query's rows: r (NULL when the query failed, rc its code) read
 * into a malloc'd array of at most max elements of size bytes, each filled
 * by read (the array is zeroed first). r is freed. On STORE_OK *out
 * (caller frees; never NULL) and *n are set; else *out is NULL, *n 0.
 */
typedef void (*store_row_fn)(const struct db_res *r, void *elem);
enum store_rc store_rows(struct db_res *r, int rc, int max, size_t size, store_row_fn read,
			 void **out, size_t *n);

#endif
