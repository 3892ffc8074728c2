/*
 * authn.h — who is calling: turn an Authorization header value into a
 * principal. Two credentials are accepted, both as "Bearer <x>":
 *   - an access JWT (checked by jwt_verify_access, then its session must be
 *     live, so logout and password changes cut it at once);
 *   - an API key "iam_..." (looked up by hash).
 * Nothing here knows about HTTP; api/ turns the result into replies.
 */
#ifndef IAM_AUTHN_H
#define IAM_AUTHN_H

#include <stdbool.h>

#include "auth/authz.h"
#include "auth/jwt.h"
#include "core/uuid.h"
#include "store/db.h"

struct principal {
	char user_id[UUID_STR_LEN];
	char org_id[UUID_STR_LEN];
	char session_id[UUID_STR_LEN]; /* "" for API keys */
	char api_key_id[UUID_STR_LEN]; /* "" for sessions */
	char email[256];	       /* from the token; "" for API keys */
	bool via_api_key;
	unsigned scopes; /* enum api_scope bits: every one for a login session */
	/*
	 * The caller's role in org_id, read from the membership on every
	 * request (an API key acts with its creator's current role), so a
	 * removed member's tokens and keys stop working at once.
	 */
	enum org_role role;
};

enum authn_rc {
	AUTHN_OK = 0,
	AUTHN_MISSING = 1, /* no Authorization header, or not Bearer */
	AUTHN_INVALID = 2, /* bad, expired, revoked or unknown credential; see reason */
	AUTHN_ERROR = -1   /* database trouble */
};

/*
 * header: the Authorization header value (may be NULL). Fills p, with the
 * role of p->user_id in p->org_id. On AUTHN_INVALID,
 * *reason is a sentence for the problem detail (static string).
 */
int authn_bearer(struct db_conn *c, const struct jwt_key *key, const char *header,
		 struct principal *p, const char **reason);

/*
 * The scope (enum api_scope bit) a request needs: admin for API key
 * management, transcribe for audio uploads and transcription, read for
 * GET/HEAD (and for tickets, which only open things for reading), write for
 * any other method.
 */
unsigned authn_scope_needed(const char *method, const char *path);

/*
 * NULL if p may make this request, else a sentence for a 403
 * insufficient_scope problem (static string).
 */
const char *authn_scope_denied(const struct principal *p, const char *method, const char *path);

#endif
