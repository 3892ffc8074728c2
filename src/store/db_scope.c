/*
 * db_scope.c — see db_scope.h.
 */
#include "store/db_scope.h"

#include "store/db_impl.h"

int db_scope_user(struct db_conn *c, const char *user_id)
{
	if (!c || !user_id)
		return DB_ERR;
	if (db_conn_dialect(c) != DB_PG)
		return DB_OK;
	/*
	 * One round trip: the subquery in FROM runs (in the system scope the
	 * caller holds) before the select list narrows the scope. Set for the
	 * session, as db_scope_orgs does outside a transaction; db_release
	 * resets it.
	 */
	struct db_res *r =
	    db_query(c,
		     "SELECT set_config('iam.org_ids', coalesce(u.ids, ''), false),"
		     " set_config('iam.scope', '', false)"
		     " FROM (SELECT string_agg(DISTINCT o.org_id, ',') AS ids FROM ("
		     "  SELECT org_id FROM memberships WHERE user_id = $1"
		     "  UNION SELECT org_id FROM collection_grants WHERE user_id = $1) o) u",
		     DB_PARAMS(DB_TEXT(user_id)), NULL);
	int rc = r ? db_next(r) : DB_ERR;
	db_res_free(r);
	c->scoped = 1; /* session-level now, or unknown: db_release resets it */
	if (rc == 1)
		return DB_OK;
	/* Whatever happened, no scope wider than none is left behind. */
	db_scope_clear(c);
	return rc < 0 ? rc : DB_ERR;
}
