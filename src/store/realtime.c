/* realtime.c — see realtime.h. */
#include "store/realtime.h"

#include <stdio.h>

enum store_rc realtime_user_orgs(struct db_conn *c, const char *user_id, char (*out)[UUID_STR_LEN],
				 size_t max, size_t *n)
{
	struct db_param p[] = {DB_TEXT(user_id)};
	int rc = 0;
	*n = 0;
	struct db_res *res = db_query(
	    c, "SELECT org_id FROM memberships WHERE user_id = $1 ORDER BY created_at, org_id", p,
	    1, &rc);
	if (!res)
		return store_rc_of(rc);
	int step;
	while ((step = db_next(res)) == 1)
		if (*n < max)
			snprintf(out[(*n)++], UUID_STR_LEN, "%s", db_text(res, 0));
	db_res_free(res);
	return step < 0 ? store_rc_of(step) : STORE_OK;
}
