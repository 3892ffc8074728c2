#include "store/idempotency.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/timeutil.h"

void idem_reply_clear(struct idem_reply *r)
{
	if (!r)
		return;
	free(r->headers);
	free(r->body);
	r->headers = r->body = NULL;
}

static int insert(struct db_conn *c, const char *org_id, const char *user_id, const char *key,
		  const char *hash, int64_t now, int64_t pending_ms, int64_t ttl_ms)
{
	return db_exec(
	    c,
	    "INSERT INTO idempotency_keys (org_id, user_id, idem_key, request_hash, state,"
	    " locked_until, created_at, expires_at) VALUES ($1, $2, $3, $4, 'pending', $5, $6, $7)",
	    DB_PARAMS(DB_TEXT(org_id), DB_TEXT(user_id), DB_TEXT(key), DB_TEXT(hash),
		      DB_INT(now + pending_ms), DB_INT(now), DB_INT(now + ttl_ms)),
	    NULL);
}

enum store_rc idem_claim(struct db_conn *c, const char *org_id, const char *user_id,
			 const char *key, const char *request_hash, int64_t pending_ms,
			 int64_t ttl_ms, enum idem_claim *state, struct idem_reply *out)
{
	memset(out, 0, sizeof *out);
	*state = IDEM_NEW;
	for (int attempt = 0; attempt < 3; attempt++) {
		int64_t now = time_now_ms();
		int rc = insert(c, org_id, user_id, key, request_hash, now, pending_ms, ttl_ms);
		if (rc == DB_OK)
			return STORE_OK;
		if (rc != DB_UNIQUE)
			return store_rc_of(rc);
		struct db_res *r =
		    db_query(c,
			     "SELECT request_hash, state, status, content_type, headers, body,"
			     " locked_until, expires_at FROM idempotency_keys"
			     " WHERE org_id = $1 AND user_id = $2 AND idem_key = $3",
			     DB_PARAMS(DB_TEXT(org_id), DB_TEXT(user_id), DB_TEXT(key)), &rc);
		if (!r)
			return store_rc_of(rc);
		rc = db_next(r);
		if (rc < 0) {
			db_res_free(r);
			return store_rc_of(rc);
		}
		if (rc == 0) { /* removed meanwhile: insert again */
			db_res_free(r);
			continue;
		}
		bool pending = strcmp(db_text(r, 1), "pending") == 0;
		bool stale = db_int(r, 7) < now || (pending && db_int(r, 6) < now);
		if (stale) {
			db_res_free(r);
			/* Expired, or its request died mid-way: only that same row is removed. */
			rc = db_exec(
			    c,
			    "DELETE FROM idempotency_keys WHERE org_id = $1 AND user_id = $2"
			    " AND idem_key = $3 AND (expires_at < $4"
			    " OR (state = 'pending' AND locked_until < $4))",
			    DB_PARAMS(DB_TEXT(org_id), DB_TEXT(user_id), DB_TEXT(key), DB_INT(now)),
			    NULL);
			if (rc)
				return store_rc_of(rc);
			continue;
		}
		enum store_rc result = STORE_OK;
		if (strcmp(db_text(r, 0), request_hash) != 0) {
			*state = IDEM_MISMATCH;
		} else if (pending) {
			*state = IDEM_IN_FLIGHT;
		} else {
			*state = IDEM_REPLAY;
			out->status = (int)db_int(r, 2);
			store_copy(out->content_type, sizeof out->content_type, r, 3);
			out->headers = strdup(db_text(r, 4));
			out->body = strdup(db_text(r, 5));
			if (!out->headers || !out->body) {
				idem_reply_clear(out);
				result = STORE_ERROR;
			}
		}
		db_res_free(r);
		return result;
	}
	return STORE_BUSY;
}

enum store_rc idem_finish(struct db_conn *c, const char *org_id, const char *user_id,
			  const char *key, int status, const char *content_type,
			  const char *headers, const char *body)
{
	return store_rc_of(
	    db_exec(c,
		    "UPDATE idempotency_keys SET state = 'done', status = $4, content_type = $5,"
		    " headers = $6, body = $7 WHERE org_id = $1 AND user_id = $2 AND idem_key = $3"
		    " AND state = 'pending'",
		    DB_PARAMS(DB_TEXT(org_id), DB_TEXT(user_id), DB_TEXT(key), DB_INT(status),
			      DB_TEXT(content_type), DB_TEXT(headers ? headers : "{}"),
			      DB_TEXT(body ? body : "")),
		    NULL));
}

enum store_rc idem_abandon(struct db_conn *c, const char *org_id, const char *user_id,
			   const char *key)
{
	return store_rc_of(db_exec(
	    c,
	    "DELETE FROM idempotency_keys WHERE org_id = $1 AND user_id = $2 AND idem_key = $3"
	    " AND state = 'pending'",
	    DB_PARAMS(DB_TEXT(org_id), DB_TEXT(user_id), DB_TEXT(key)), NULL));
}

enum store_rc idem_purge(struct db_conn *c, int64_t now, int64_t *removed)
{
	*removed = 0;
	return store_rc_of(db_exec(c, "DELETE FROM idempotency_keys WHERE expires_at < $1",
				   DB_PARAMS(DB_INT(now)), removed));
}
