/*
 * db_scope.h — the tenant scope of a request's principal (row-level
 * security on PostgreSQL; see store/db.h "Tenant scope").
 *
 * The outer bound for what one person's request may read or write: the
 * organizations they are a member of, and the organizations of collections
 * shared with them (a guest reads those meetings, auth/authz.c). Which of
 * these a request may really touch (the active organization, the
 * collection's meetings) is the application's own checks' business; the
 * policies only make sure a query that forgot its organization filter
 * cannot reach anyone else's.
 */
#ifndef IAM_DB_SCOPE_H
#define IAM_DB_SCOPE_H

#include "store/db.h"

/*
 * Narrow c to the organizations of user_id (see above). Reads memberships
 * and collection grants, so c must be in system scope when called (the
 * frame authenticates in system scope), and outside a transaction (the
 * scope is set for the session; db_release resets it). No-op on SQLite.
 * Returns DB_OK or an error code.
 */
int db_scope_user(struct db_conn *c, const char *user_id);

#endif
