/*
 * oidc.h — signing in with OpenID Connect providers.
 *
 * Providers come from the environment: IAM_OIDC_<NAME>_ISSUER,
 * IAM_OIDC_<NAME>_CLIENT_ID and IAM_OIDC_<NAME>_CLIENT_SECRET, any number
 * of them (NAME: letters, digits, '_'; shown and used in URLs lower-case).
 * The flow is the authorization code flow with PKCE (S256): discovery
 * (issuer/.well-known/openid-configuration, whose "issuer" must be the
 * configured one), the code exchanged at the token endpoint with the
 * client secret (HTTP Basic), and the ID token verified here: RS256 or
 * ES256 only (never "none" or HS*), signed by a key of the provider's
 * JWKS, then iss, aud (and azp), exp, iat and nonce. Discovery and the
 * JWKS are cached for an hour; an unknown "kid" refetches the JWKS (at
 * most every 10 s).
 *
 * Network calls (libcurl) block: callers do not hold a database
 * connection across them.
 */
#ifndef IAM_OIDC_H
#define IAM_OIDC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OIDC_MAX_PROVIDERS 16
#define OIDC_NAME_MAX	   32

/*
 * Read the providers from envp (NULL-terminated "NAME=value" strings).
 * redirect_base is IAM_PUBLIC_URL: the redirect URI of provider NAME is
 * redirect_base/api/v1/auth/oidc/name/callback. 0, or -1 with a line
 * naming the variable in err (an incomplete provider, a bad issuer URL).
 * The issuer must be https://, or http:// on a loopback address (tests).
 */
int oidc_configure(char **envp, const char *redirect_base, char *err, size_t errlen);
/* Forget every provider (tests, shutdown). */
void oidc_reset(void);

/* How many providers are configured, and the name of the i-th (lower case). */
size_t oidc_count(void);
const char *oidc_name(size_t i);
/* Is name a configured provider? */
bool oidc_known(const char *name);

/*
 * The URL of the provider's authorization endpoint for this login, into a
 * malloc'd string (caller frees), or NULL with err (the provider cannot
 * be reached: discovery failed).
 */
char *oidc_authorize_url(const char *name, const char *state, const char *nonce,
			 const char *code_challenge, char *err, size_t errlen);

/* What the provider says about the person, from a verified ID token. */
struct oidc_identity {
	char subject[256];
	char email[256]; /* "" when the token has none */
	bool email_verified;
	char given_name[128], family_name[128];
};

enum oidc_rc {
	OIDC_OK = 0,
	OIDC_UNAVAILABLE, /* the provider could not be reached or answered nonsense: try later */
	OIDC_REFUSED,	  /* the provider refused the code (used, expired, not ours) */
	OIDC_BAD_TOKEN,	  /* the ID token failed a check (signature, alg, iss, aud, exp, nonce) */
};

/*
 * Exchange code (with the PKCE verifier) at the token endpoint and verify
 * the ID token, whose nonce must be nonce. Fills id. err gets a reason a
 * person can read (no secrets).
 */
enum oidc_rc oidc_finish(const char *name, const char *code, const char *verifier,
			 const char *nonce, struct oidc_identity *id, char *err, size_t errlen);

/* ---- the pieces, exposed for tests ---- */

/*
 * Verify a compact JWS (jwt) against the keys of jwks ({"keys": [...]}):
 * the header's alg must be RS256 or ES256 and a key of the matching kty
 * (and kid, when the header names one) must have signed it. On success
 * returns 0 and the payload object in *claims (caller json_decref's).
 * -1 with err otherwise; 1 when no key has the header's kid (refetch).
 */
int oidc_jws_verify(const json_t *jwks, const char *jwt, json_t **claims, char *err, size_t errlen);
/*
 * Check the claims of a verified ID token: iss equals issuer; aud is
 * client_id or an array holding it (with azp = client_id when there are
 * several); exp after now_s (60 s leeway); iat not more than 5 minutes
 * ahead; nonce equal to nonce. 0, or -1 with err.
 */
int oidc_claims_check(const json_t *claims, const char *issuer, const char *client_id,
		      const char *nonce, int64_t now_s, char *err, size_t errlen);
/* The PKCE S256 challenge of verifier: base64url(SHA-256(verifier)), into out[48]. */
void oidc_pkce_challenge(const char *verifier, char out[48]);

#endif
