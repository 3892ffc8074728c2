#include "store/identities.h"

#include "core/timeutil.h"

enum store_rc identity_find(struct db_conn *c, const char *provider, const char *subject,
			    char user_id[UUID_STR_LEN])
{
	int rc;
	struct db_res *r =
	    db_query(c, "SELECT user_id FROM oidc_identities WHERE provider = $1 AND subject = $2",
		     DB_PARAMS(DB_TEXT(provider), DB_TEXT(subject)), &rc);
	if (!r)
		return store_rc_of(rc);
	rc = db_next(r);
	if (rc == 1) {
		store_copy(user_id, UUID_STR_LEN, r, 0);
		rc = STORE_OK;
	} else if (rc == 0) {
		rc = STORE_NOT_FOUND;
	}
	db_res_free(r);
	return store_rc_of(rc);
}

enum store_rc identity_link(struct db_conn *c, const char *provider, const char *subject,
			    const char *user_id, const char *email)
{
	int rc =
	    db_exec(c,
		    "INSERT INTO oidc_identities (provider, subject, user_id, email, created_at)"
		    " VALUES ($1, $2, $3, $4, $5)",
		    DB_PARAMS(DB_TEXT(provider), DB_TEXT(subject), DB_TEXT(user_id), DB_TEXT(email),
			      DB_INT(time_now_ms())),
		    NULL);
	return rc == DB_UNIQUE ? STORE_CONFLICT : store_rc_of(rc);
}
