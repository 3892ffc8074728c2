/*
 * store.h — conventions shared by the store aggregates (users.c, ...).
 * Functions return DB_OK (0), STORE_NOT_FOUND (1), or a negative db_rc.
 * Every function touching a tenant-owned row takes the caller's org_id.
 */
#ifndef IAM_STORE_H
#define IAM_STORE_H

#include "store/db.h"

#define STORE_NOT_FOUND 1

/* Copy a column into a fixed buffer, truncating safely. */
void store_copy(char *dst, size_t dstlen, const struct db_res *r, int col);

#endif
