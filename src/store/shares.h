/*
 * shares.h — public read-only links to one meeting.
 *
 * A link's token is "shr_" + 32 random bytes (base64url, 256 bits), given
 * to its creator once; only its SHA-256 is stored. A link is live until it
 * is revoked or its expiry passes; a dead or unknown token is simply not
 * found (the public endpoint answers 404 for every one of them alike).
 */
#ifndef IAM_SHARES_H
#define IAM_SHARES_H

#include <stdint.h>

#include "core/uuid.h"
#include "store/store.h"
#include "store/users.h"

#define SHARE_TOKEN_BUF 64

struct share_link {
	char id[UUID_STR_LEN];
	char org_id[UUID_STR_LEN];
	char meeting_id[UUID_STR_LEN];
	char token_hash[65];
	char creator_email[EMAIL_BUF]; /* "" when that user is gone */
	int64_t created_at;
	int64_t expires_at; /* 0 = never */
	int64_t revoked_at; /* 0 = live */
};

/* A new link to meeting_id of org_id (expires_at 0 = never). Fills out and token. */
enum store_rc share_create(struct db_conn *c, const char *org_id, const char *meeting_id,
			   const char *by, int64_t expires_at, struct share_link *out,
			   char token[SHARE_TOKEN_BUF]);
/* Live links of meeting_id (at most max), newest first. *out malloc'd; caller frees. */
enum store_rc share_list(struct db_conn *c, const char *org_id, const char *meeting_id, int max,
			 struct share_link **out, size_t *n);
/* Revoke link id of meeting_id. STORE_NOT_FOUND: no live link with that id. */
enum store_rc share_revoke(struct db_conn *c, const char *org_id, const char *meeting_id,
			   const char *id);
/* The live link token names at now. STORE_NOT_FOUND for unknown, revoked or expired. */
enum store_rc share_find_live(struct db_conn *c, const char *token, int64_t now,
			      struct share_link *out);

#endif
