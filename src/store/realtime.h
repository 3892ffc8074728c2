/* realtime.h — what the WebSocket hub reads from the database at connect time. */
#ifndef IAM_STORE_REALTIME_H
#define IAM_STORE_REALTIME_H

#include <stddef.h>

#include "core/uuid.h"
#include "store/db.h"
#include "store/store.h"

/*
 * The ids of the organizations user_id belongs to, at most max of them, into
 * out (oldest membership first); their number in *n.
 */
enum store_rc realtime_user_orgs(struct db_conn *c, const char *user_id, char (*out)[UUID_STR_LEN],
				 size_t max, size_t *n);

#endif
