#include "store/throttle.h"

#include "core/timeutil.h"

enum store_rc throttle_wait_ms(struct db_conn *c, const char *key, int64_t *wait_ms)
{
	int rc;
	*wait_ms = 0;
	struct db_res *r = db_query(c, "SELECT locked_until FROM login_throttle WHERE key = $1",
				    DB_PARAMS(DB_TEXT(key)), &rc);
	if (!r)
		return store_rc_of(rc);
	int64_t wait = 0;
	rc = db_next(r);
	if (rc == 1) {
		int64_t until = db_int(r, 0);
		int64_t now = time_now_ms();
		wait = until > now ? until - now : 0;
	}
	db_res_free(r);
	if (rc < 0)
		return store_rc_of(rc);
	*wait_ms = wait;
	return STORE_OK;
}

enum store_rc throttle_fail(struct db_conn *c, const char *key, const struct throttle_policy *p,
			    int64_t *wait_ms)
{
	int64_t now = time_now_ms(), unused;
	int rc;
	if (!wait_ms)
		wait_ms = &unused;
	*wait_ms = 0;
	/* One atomic upsert: concurrent failures from several processes all count. */
	struct db_res *r =
	    db_query(c,
		     "INSERT INTO login_throttle (key, failures, window_start, locked_until) "
		     "VALUES ($1, 1, $2, 0)"
		     " ON CONFLICT (key) DO UPDATE SET"
		     " failures = CASE WHEN login_throttle.window_start < $3 THEN 1"
		     " ELSE login_throttle.failures + 1 END,"
		     " window_start = CASE WHEN login_throttle.window_start < $3 THEN $2"
		     " ELSE login_throttle.window_start END"
		     " RETURNING failures",
		     DB_PARAMS(DB_TEXT(key), DB_INT(now), DB_INT(now - p->window_ms)), &rc);
	if (!r)
		return store_rc_of(rc);
	rc = db_next(r);
	int64_t failures = rc == 1 ? db_int(r, 0) : 0;
	db_res_free(r);
	if (rc < 0)
		return store_rc_of(rc);
	if (failures < p->threshold)
		return STORE_OK;
	int64_t wait = p->base_ms;
	for (int64_t i = p->threshold; i < failures && wait < p->max_ms; i++)
		wait *= 2;
	if (wait > p->max_ms)
		wait = p->max_ms;
	rc = db_exec(c, "UPDATE login_throttle SET locked_until = $2 WHERE key = $1",
		     DB_PARAMS(DB_TEXT(key), DB_INT(now + wait)), NULL);
	if (rc < 0)
		return store_rc_of(rc);
	*wait_ms = wait;
	return STORE_OK;
}

enum store_rc throttle_clear(struct db_conn *c, const char *key)
{
	return store_rc_of(
	    db_exec(c, "DELETE FROM login_throttle WHERE key = $1", DB_PARAMS(DB_TEXT(key)), NULL));
}

enum store_rc throttle_hit(struct db_conn *c, const char *key, int limit, int64_t window_ms,
			   int64_t *wait_ms)
{
	int64_t now = time_now_ms();
	int rc;
	*wait_ms = 0;
	/* The same atomic upsert as throttle_fail: racing requests all count. */
	struct db_res *r =
	    db_query(c,
		     "INSERT INTO login_throttle (key, failures, window_start, locked_until) "
		     "VALUES ($1, 1, $2, 0)"
		     " ON CONFLICT (key) DO UPDATE SET"
		     " failures = CASE WHEN login_throttle.window_start < $3 THEN 1"
		     " ELSE login_throttle.failures + 1 END,"
		     " window_start = CASE WHEN login_throttle.window_start < $3 THEN $2"
		     " ELSE login_throttle.window_start END"
		     " RETURNING failures, window_start",
		     DB_PARAMS(DB_TEXT(key), DB_INT(now), DB_INT(now - window_ms)), &rc);
	if (!r)
		return store_rc_of(rc);
	rc = db_next(r);
	int64_t count = rc == 1 ? db_int(r, 0) : 0, start = rc == 1 ? db_int(r, 1) : now;
	db_res_free(r);
	if (rc < 0)
		return store_rc_of(rc);
	if (count > limit) {
		int64_t wait = start + window_ms - now;
		*wait_ms = wait > 0 ? wait : 1;
	}
	return STORE_OK;
}
