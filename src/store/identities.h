/*
 * identities.h — accounts at OpenID Connect providers linked to users:
 * (provider, subject) names one user.
 */
#ifndef IAM_STORE_IDENTITIES_H
#define IAM_STORE_IDENTITIES_H

#include "core/uuid.h"
#include "store/store.h"

/* The user linked to (provider, subject): STORE_OK (user_id filled) or STORE_NOT_FOUND. */
enum store_rc identity_find(struct db_conn *c, const char *provider, const char *subject,
			    char user_id[UUID_STR_LEN]);
/* Link (provider, subject) to user_id. STORE_CONFLICT when it is linked already. */
enum store_rc identity_link(struct db_conn *c, const char *provider, const char *subject,
			    const char *user_id, const char *email);

#endif
