/*
 * throttle.h — counting failures per key (an account, an address) in the
 * database, so every iamd process sees the same counts. After `threshold`
 * failures inside `window_ms`, the key is locked for base_ms, doubling with
 * each further failure up to max_ms.
 */
#ifndef IAM_THROTTLE_H
#define IAM_THROTTLE_H

#include <stdint.h>

#include "store/store.h"

struct throttle_policy {
	int threshold;
	int64_t window_ms;
	int64_t base_ms;
	int64_t max_ms;
};

/* *wait_ms: milliseconds until key may try again (0 = now). */
enum store_rc throttle_wait_ms(struct db_conn *c, const char *key, int64_t *wait_ms);
/* Count a failure; *wait_ms (may be NULL) gets the wait now imposed (0 if none). */
enum store_rc throttle_fail(struct db_conn *c, const char *key, const struct throttle_policy *p,
			    int64_t *wait_ms);
enum store_rc throttle_clear(struct db_conn *c, const char *key);

/*
 * A rate limit: count one event for key in a fixed window of window_ms.
 * *wait_ms is 0 if it is within limit, else the ms until the window ends
 * (the event is counted either way, so hammering does not help).
 */
enum store_rc throttle_hit(struct db_conn *c, const char *key, int limit, int64_t window_ms,
			   int64_t *wait_ms);

#endif
