#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "core/crypto.h"

enum store_rc store_rc_of(int db_rc)
{
	switch (db_rc) {
	case DB_OK:
		return STORE_OK;
	case DB_UNIQUE:
		return STORE_CONFLICT;
	case DB_BUSY:
		return STORE_BUSY;
	case DB_UNAVAILABLE:
		return STORE_UNAVAILABLE;
	case DB_CONSTRAINT:
	case DB_ERR:
		return STORE_ERROR;
	}
	return db_rc > 0 && db_rc <= STORE_TOKEN_REUSED ? (enum store_rc)db_rc : STORE_ERROR;
}

const char *store_rc_name(enum store_rc rc)
{
	static const char *const NAMES[] = {
	    [STORE_OK] = "ok",
	    [STORE_NOT_FOUND] = "not_found",
	    [STORE_CONFLICT] = "conflict",
	    [STORE_BUSY] = "busy",
	    [STORE_UNAVAILABLE] = "unavailable",
	    [STORE_ERROR] = "error",
	    [STORE_UPLOAD_BUSY] = "upload_busy",
	    [STORE_UPLOAD_LOST] = "upload_lost",
	    [STORE_KEY_EXPIRED] = "key_expired",
	    [STORE_MEETING_BUSY] = "meeting_busy",
	    [STORE_STALE] = "stale",
	    [STORE_TOKEN_REUSED] = "token_reused",
	};
	return (unsigned)rc < sizeof NAMES / sizeof *NAMES && NAMES[rc] ? NAMES[rc] : "unknown";
}

/* Sleep about ms, spread by up to half again so retrying writers do not march in step. */
static void backoff(int ms)
{
	unsigned char r;
	crypto_random(&r, 1);
	long us = (long)ms * 1000 + (long)(r % 128) * ms * 1000 / 256;
	struct timespec ts = {.tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000};
	nanosleep(&ts, NULL);
}

enum store_rc store_tx(struct db_conn *c, store_tx_fn fn, void *arg)
{
	enum store_rc rc = STORE_BUSY;
	for (int attempt = 0; attempt < STORE_TX_TRIES; attempt++) {
		if (attempt)
			backoff(2 << attempt); /* 4, 8, 16 ms */
		rc = store_rc_of(db_begin(c));
		if (rc == STORE_BUSY)
			continue;
		if (rc != STORE_OK)
			return rc;
		rc = store_rc_of(fn(c, arg));
		if (rc != STORE_OK) {
			db_rollback(c);
			if (rc == STORE_BUSY)
				continue;
			return rc;
		}
		/* COMMIT ends the transaction whatever it returns (db.h). */
		rc = store_rc_of(db_commit(c));
		if (rc != STORE_BUSY)
			return rc;
	}
	return rc;
}

void store_copy(char *dst, size_t dstlen, const struct db_res *r, int col)
{
	snprintf(dst, dstlen, "%s", db_text(r, col));
}

enum store_rc store_rows(struct db_res *r, int rc, int max, size_t size, store_row_fn read,
			 void **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (!r)
		return store_rc_of(rc);
	size_t cap = max > 0 ? (size_t)max : 1;
	unsigned char *list = calloc(cap, size);
	if (!list) {
		db_res_free(r);
		return STORE_ERROR;
	}
	size_t k = 0;
	rc = 0;
	while (k < (size_t)(max > 0 ? max : 0) && (rc = db_next(r)) == 1)
		read(r, list + size * k++);
	db_res_free(r);
	if (rc < 0) {
		free(list);
		return store_rc_of(rc);
	}
	*out = list;
	*n = k;
	return STORE_OK;
}
