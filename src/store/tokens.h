/*
 * tokens.h — single-use tokens with an expiry: address verification,
 * password reset, OIDC state and the one-time code that hands an OIDC
 * login to the web app. The token is "<prefix>" + 32 random bytes
 * (base64url); only its SHA-256 is stored. Consuming one marks it used in
 * the same statement that checks it, so two requests with one token cannot
 * both succeed.
 */
#ifndef IAM_STORE_TOKENS_H
#define IAM_STORE_TOKENS_H

#include <stdint.h>

#include "core/uuid.h"
#include "store/store.h"

#define TOKEN_BUF      64   /* a token as text, NUL included */
#define TOKEN_DATA_MAX 4096 /* longest data kept with a token */

#define TOKEN_VERIFY	 "verify"
#define TOKEN_RESET	 "reset"
#define TOKEN_OIDC_STATE "oidc_state"
#define TOKEN_OIDC_CODE	 "oidc_code"

struct user_token {
	char user_id[UUID_STR_LEN]; /* "" when none */
	char data[TOKEN_DATA_MAX];
	int64_t created_at, expires_at;
};

/*
 * Issue a token of kind for user_id (may be NULL) with data (may be NULL)
 * that expires ttl_ms from now. out gets prefix + the random part.
 */
enum store_rc token_issue(struct db_conn *c, const char *kind, const char *prefix,
			  const char *user_id, const char *data, int64_t ttl_ms,
			  char out[TOKEN_BUF]);
/*
 * Use token (of kind) up. STORE_OK (t filled), STORE_NOT_FOUND when no
 * such token of that kind was ever issued, STORE_CONFLICT when it was but
 * is used already or expired (the reply is then 410), or an error.
 */
enum store_rc token_consume(struct db_conn *c, const char *kind, const char *token,
			    struct user_token *t);
/* Like token_consume without using the token up (to check it before slow work). */
enum store_rc token_peek(struct db_conn *c, const char *kind, const char *token,
			 struct user_token *t);
/*
 * Mark every live token of kind for user_id as used (a new reset link
 * makes the older ones worthless; a successful reset ends all of them).
 */
enum store_rc token_revoke_user(struct db_conn *c, const char *kind, const char *user_id);
/* Remove tokens that expired more than a day ago (the janitor's job, or any caller). */
enum store_rc token_purge(struct db_conn *c);

#endif
