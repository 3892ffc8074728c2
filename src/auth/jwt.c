/*
 * Access tokens. libjwt signs them and checks them a second time, but the
 * decisions that matter for security are made here first, on our own strict
 * parse: libjwt 1.10 picks the algorithm from the token's own header, and
 * its error codes do not tell a malformed token from a forged one.
 */
#include "auth/jwt.h"

#include <jansson.h>
#include <jwt.h> /* libjwt: <...> never finds this file, only the system one */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"

#define JWT_SECRET_MIN 32
#define JWT_SECRET_MAX 64
#define JWT_SIG_LEN    32 /* HMAC-SHA256 */
/* Largest decoded part of a token that passed the JWT_MAX_LEN check. */
#define JWT_PART_MAX (JWT_MAX_LEN / 4 * 3 + 3)

_Static_assert(sizeof(((struct jwt_key *)0)->secret) == JWT_SECRET_MAX, "secret size");

int jwt_key_init(struct jwt_key *key, const void *secret, size_t len)
{
	unsigned char digest[32];
	char hex[65];

	if (!key || !secret || len < JWT_SECRET_MIN || len > JWT_SECRET_MAX)
		return -1;
	memset(key, 0, sizeof *key);
	memcpy(key->secret, secret, len);
	key->len = len;
	/* The kid names the key without revealing it: a prefix of its hash. */
	crypto_sha256(secret, len, digest);
	crypto_hex(digest, sizeof digest, hex);
	memcpy(key->kid, hex, JWT_KID_LEN);
	key->kid[JWT_KID_LEN] = '\0';
	return 0;
}

static bool jwt_key_ok(const struct jwt_key *key)
{
	return key && key->len >= JWT_SECRET_MIN && key->len <= JWT_SECRET_MAX &&
	       strnlen(key->kid, sizeof key->kid) == JWT_KID_LEN;
}

/* True if s is a non-empty string that fits a claims field of size cap (with its NUL). */
static bool jwt_str_fits(const char *s, size_t cap)
{
	size_t n = s ? strnlen(s, cap) : 0;
	return n > 0 && n < cap;
}

char *jwt_issue_access(const struct jwt_key *key, const char *sub, const char *email,
		       const char *org, const char *sid, int64_t now_s, int64_t ttl_s)
{
	struct jwt_claims c;
	json_t *grants = NULL;
	char *grants_text = NULL;
	jwt_t *jwt = NULL;
	char *token = NULL; /* from libjwt's malloc: the caller's free() releases it */

	/* Refuse what jwt_verify_access would refuse, so every token we issue verifies. */
	if (!jwt_key_ok(key) || !jwt_str_fits(sub, sizeof c.sub) ||
	    !jwt_str_fits(org, sizeof c.org) || !jwt_str_fits(sid, sizeof c.sid))
		goto fail;
	if (email && !*email)
		email = NULL; /* no address: leave the claim out (verify refuses an empty one) */
	if (email && strnlen(email, sizeof c.email) >= sizeof c.email)
		goto fail;
	if (ttl_s <= 0 || now_s > INT64_MAX - ttl_s)
		goto fail;

	/* Built with jansson so iat/exp keep 64 bits (jwt_add_grant_int takes a long). */
	grants =
	    json_pack("{s:s, s:s, s:s, s:I, s:I, s:s}", "sub", sub, "org", org, "sid", sid, "iat",
		      (json_int_t)now_s, "exp", (json_int_t)(now_s + ttl_s), "type", "access");
	if (!grants)
		goto fail;
	if (email && json_object_set_new(grants, "email", json_string(email)) != 0)
		goto fail;
	grants_text = json_dumps(grants, JSON_COMPACT);
	if (!grants_text)
		goto fail;

	if (jwt_new(&jwt) != 0)
		goto fail;
	if (jwt_add_grants_json(jwt, grants_text) != 0 || jwt_add_header(jwt, "typ", "JWT") != 0 ||
	    jwt_add_header(jwt, "kid", key->kid) != 0 ||
	    jwt_set_alg(jwt, JWT_ALG_HS256, key->secret, (int)key->len) != 0)
		goto fail;
	token = jwt_encode_str(jwt);
	if (token && strlen(token) > JWT_MAX_LEN) {
		free(token);
		token = NULL;
	}
fail:
	jwt_free(jwt);
	free(grants_text);
	json_decref(grants);
	return token;
}

/*
 * Parse a decoded token part as a JSON object. Returns a new reference
 * (caller decrefs) or NULL. Duplicate keys are refused: two "alg" members
 * could be read differently by different parsers.
 */
static json_t *jwt_json_object(const unsigned char *buf, long n)
{
	json_t *j;

	if (n <= 0)
		return NULL;
	j = json_loadb((const char *)buf, (size_t)n, JSON_REJECT_DUPLICATES, NULL);
	if (j && !json_is_object(j)) {
		json_decref(j);
		j = NULL;
	}
	return j;
}

/* True if member name of obj is a string exactly equal to want (no embedded NUL tricks). */
static bool jwt_member_is(json_t *obj, const char *name, const char *want)
{
	json_t *v = json_object_get(obj, name);

	return json_is_string(v) && json_string_length(v) == strlen(want) &&
	       strcmp(json_string_value(v), want) == 0;
}

/* Copy string member name into dst[cap]; false if absent, not a string, empty or too long. */
static bool jwt_member_copy(json_t *obj, const char *name, char *dst, size_t cap)
{
	json_t *v = json_object_get(obj, name);
	size_t n;

	if (!json_is_string(v))
		return false;
	n = json_string_length(v);
	if (n == 0 || n >= cap || strlen(json_string_value(v)) != n)
		return false;
	memcpy(dst, json_string_value(v), n + 1);
	return true;
}

/* a - b > limit, for any int64 values, without overflow. */
static bool jwt_later_by(int64_t a, int64_t b, uint64_t limit)
{
	return a > b && (uint64_t)a - (uint64_t)b > limit;
}

/* Check the decoded claims and fill out; returns a jwt_rc. */
static int jwt_check_claims(json_t *body, int64_t now_s, struct jwt_claims *out)
{
	json_t *exp = json_object_get(body, "exp");
	json_t *iat = json_object_get(body, "iat");
	json_t *email = json_object_get(body, "email");

	if (!json_is_integer(exp) || !json_is_integer(iat))
		return JWT_BAD_CLAIMS;
	out->exp = json_integer_value(exp);
	out->iat = json_integer_value(iat);
	if (jwt_later_by(now_s, out->exp, JWT_LEEWAY_S))
		return JWT_EXPIRED;
	if (jwt_later_by(out->iat, now_s, JWT_LEEWAY_S))
		return JWT_BAD_CLAIMS;
	/* nbf is optional (we never issue one), but one that is present is obeyed. */
	json_t *nbf = json_object_get(body, "nbf");
	if (nbf && !json_is_integer(nbf))
		return JWT_BAD_CLAIMS;
	if (nbf && jwt_later_by(json_integer_value(nbf), now_s, JWT_LEEWAY_S))
		return JWT_NOT_YET_VALID;
	if (!jwt_member_is(body, "type", "access"))
		return JWT_WRONG_TYPE;
	if (!jwt_member_copy(body, "sub", out->sub, sizeof out->sub) ||
	    !jwt_member_copy(body, "org", out->org, sizeof out->org) ||
	    !jwt_member_copy(body, "sid", out->sid, sizeof out->sid))
		return JWT_BAD_CLAIMS;
	/* email is informative and optional; if present it must be a string that fits. */
	if (email && !jwt_member_copy(body, "email", out->email, sizeof out->email))
		return JWT_BAD_CLAIMS;
	return JWT_VALID;
}

int jwt_verify_access(const struct jwt_key *key, const char *token, int64_t now_s,
		      struct jwt_claims *claims)
{
	int rc = JWT_MALFORMED;
	struct jwt_claims c;
	const char *dot1, *dot2, *sig_text;
	size_t len, head_len, body_len, sig_len;
	unsigned char head_buf[JWT_PART_MAX];
	unsigned char body_buf[JWT_PART_MAX];
	unsigned char sig[JWT_PART_MAX];
	unsigned char mac[JWT_SIG_LEN];
	long head_n, body_n, sig_n;
	json_t *head = NULL;
	json_t *body = NULL;
	jwt_t *jwt = NULL;

	memset(&c, 0, sizeof c);
	if (claims)
		memset(claims, 0, sizeof *claims);
	if (!jwt_key_ok(key) || !token)
		goto fail;

	/*
	 * Shape: at most JWT_MAX_LEN bytes, exactly three parts, the first two
	 * non-empty. An empty signature is left for later so "alg: none" gets
	 * the more accurate JWT_BAD_ALG.
	 */
	len = strnlen(token, JWT_MAX_LEN + 1);
	if (len > JWT_MAX_LEN)
		goto fail;
	dot1 = memchr(token, '.', len);
	if (!dot1)
		goto fail;
	dot2 = memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token));
	if (!dot2)
		goto fail;
	sig_text = dot2 + 1;
	head_len = (size_t)(dot1 - token);
	body_len = (size_t)(dot2 - dot1 - 1);
	sig_len = len - (size_t)(sig_text - token);
	if (head_len == 0 || body_len == 0 || memchr(sig_text, '.', sig_len))
		goto fail;
	/* All three parts must be canonical base64url before anything else is believed. */
	head_n = crypto_b64url_decode(token, head_len, head_buf, sizeof head_buf);
	body_n = crypto_b64url_decode(dot1 + 1, body_len, body_buf, sizeof body_buf);
	sig_n = crypto_b64url_decode(sig_text, sig_len, sig, sizeof sig);
	if (head_n <= 0 || body_n <= 0 || sig_n < 0)
		goto fail;

	/*
	 * Our own reading of the header decides the algorithm and the key,
	 * whatever libjwt would do with "none", HS512 or an RSA name.
	 */
	head = jwt_json_object(head_buf, head_n);
	if (!head)
		goto fail;
	rc = JWT_BAD_ALG;
	if (!jwt_member_is(head, "alg", "HS256") || !jwt_member_is(head, "kid", key->kid))
		goto fail;

	/* Our own MAC check is what tells a forged token from a malformed one. */
	rc = JWT_BAD_SIG;
	crypto_hmac_sha256(key->secret, key->len, token, (size_t)(dot2 - token), mac);
	if (sig_n != JWT_SIG_LEN || !crypto_equal(mac, sig, JWT_SIG_LEN))
		goto fail;

	/* Defence in depth: libjwt must agree on the signature and the algorithm. */
	rc = JWT_MALFORMED;
	if (jwt_decode(&jwt, token, key->secret, (int)key->len) != 0 || !jwt)
		goto fail;
	rc = JWT_BAD_ALG;
	if (jwt_get_alg(jwt) != JWT_ALG_HS256)
		goto fail;

	rc = JWT_MALFORMED;
	body = jwt_json_object(body_buf, body_n);
	if (!body)
		goto fail;
	rc = jwt_check_claims(body, now_s, &c);
	if (rc == JWT_VALID && claims)
		*claims = c;
fail:
	jwt_free(jwt);
	json_decref(body);
	json_decref(head);
	return rc;
}

const char *jwt_rc_str(int rc)
{
	switch (rc) {
	case JWT_VALID:
		return "The token is valid.";
	case JWT_MALFORMED:
		return "The token is malformed.";
	case JWT_BAD_ALG:
		return "The token was not issued with this service's signing key.";
	case JWT_BAD_SIG:
		return "The token signature is invalid.";
	case JWT_EXPIRED:
		return "The token has expired.";
	case JWT_WRONG_TYPE:
		return "The token is not an access token.";
	case JWT_BAD_CLAIMS:
		return "The token's claims are missing or invalid.";
	case JWT_NOT_YET_VALID:
		return "The token is not valid yet (its nbf time is in the future).";
	default:
		return "The token is invalid.";
	}
}
