/*
 * idempotency.h — Idempotency-Key records for create endpoints.
 *
 * A create request that carries a key claims (org, user, key) first: the
 * claim fails if the same key is in flight (IDEM_IN_FLIGHT), was used for a
 * different request (IDEM_MISMATCH), or has a stored reply (IDEM_REPLAY,
 * which the caller sends again). After replying, the caller stores the
 * reply (idem_finish) or, when the request did not succeed, gives the key
 * back (idem_abandon) so a retry runs again. Records live ttl_ms (24 h).
 */
#ifndef IAM_IDEMPOTENCY_H
#define IAM_IDEMPOTENCY_H

#include <stdint.h>

#include "store/store.h"

#define IDEM_KEY_MAX 255

enum idem_claim {
	IDEM_NEW = 0,	    /* claimed: run the request */
	IDEM_REPLAY = 2,    /* a stored reply for the same request: *out is filled */
	IDEM_MISMATCH = 3,  /* the key was used with another request */
	IDEM_IN_FLIGHT = 4, /* the same key is being processed right now */
};

/* A stored reply. */
struct idem_reply {
	int status;
	char content_type[128];
	char *headers; /* JSON object text {name: value}, malloc'd */
	char *body;    /* malloc'd */
};
void idem_reply_clear(struct idem_reply *r);

/*
 * Claim key for (org_id, user_id) with request_hash (hex). A pending claim
 * older than pending_ms is taken to be abandoned (its process died).
 * On STORE_OK *state says what became of it; on IDEM_REPLAY out is filled
 * (caller clears with idem_reply_clear).
 */
enum store_rc idem_claim(struct db_conn *c, const char *org_id, const char *user_id,
			 const char *key, const char *request_hash, int64_t pending_ms,
			 int64_t ttl_ms, enum idem_claim *state, struct idem_reply *out);
/* Store the reply of a claimed key. */
enum store_rc idem_finish(struct db_conn *c, const char *org_id, const char *user_id,
			  const char *key, int status, const char *content_type,
			  const char *headers, const char *body);
/* Give a pending claim back (the request failed): a retry runs afresh. */
enum store_rc idem_abandon(struct db_conn *c, const char *org_id, const char *user_id,
			   const char *key);
/* Delete records that expired before now; *removed gets their count. */
enum store_rc idem_purge(struct db_conn *c, int64_t now, int64_t *removed);

#endif
