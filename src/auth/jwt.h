/*
 * jwt.h — HS256 access tokens (libjwt 1.10).
 *
 * Claims: sub (user id), email, org (org id), sid (login session id), iat,
 * exp, type ("access"), and header kid. Verification refuses: an nbf (optional)
 * later than now beyond JWT_LEEWAY_S, any alg other than HS256 (including
 * "none"), a kid other than ours, a bad signature, a missing/expired exp
 * (no leeway beyond JWT_LEEWAY_S), a type other than "access", malformed or
 * truncated tokens, and tokens longer than JWT_MAX_LEN.
 */
#ifndef IAM_JWT_H
#define IAM_JWT_H

#include <stddef.h>
#include <stdint.h>

#define JWT_MAX_LEN  4096
#define JWT_LEEWAY_S 30
#define JWT_KID_LEN  16 /* hex chars */

struct jwt_key {
	unsigned char secret[64];
	size_t len;		   /* 32..64 */
	char kid[JWT_KID_LEN + 1]; /* first 16 hex chars of sha256(secret) */
};

/* Fill key from raw secret bytes (len 32..64). Returns 0 or -1. */
int jwt_key_init(struct jwt_key *key, const void *secret, size_t len);

struct jwt_claims {
	char sub[64];
	char email[256];
	char org[64];
	char sid[64];
	int64_t iat; /* seconds */
	int64_t exp; /* seconds */
};

/*
 * Sign an access token valid for ttl_s seconds from now_s.
 * Returns a heap string (caller frees with free()) or NULL.
 */
char *jwt_issue_access(const struct jwt_key *key, const char *sub, const char *email,
		       const char *org, const char *sid, int64_t now_s, int64_t ttl_s);

enum jwt_rc {
	JWT_VALID = 0,
	JWT_MALFORMED = -1, /* not a JWT, truncated, bad JSON, too long */
	JWT_BAD_ALG = -2,   /* alg is not HS256 (e.g. "none") or kid unknown */
	JWT_BAD_SIG = -3,
	JWT_EXPIRED = -4,
	JWT_WRONG_TYPE = -5,   /* e.g. a refresh token, or no type claim */
	JWT_BAD_CLAIMS = -6,   /* sub/org/sid/exp missing or wrong type */
	JWT_NOT_YET_VALID = -7 /* nbf later than now + JWT_LEEWAY_S */
};

/* Verify token at time now_s and fill claims. */
int jwt_verify_access(const struct jwt_key *key, const char *token, int64_t now_s,
		      struct jwt_claims *claims);

/* A short English reason for a jwt_rc, for problem details. */
const char *jwt_rc_str(int rc);

#endif
