/*
 * Unit tests for auth/jwt. Hostile tokens are built by hand here (base64url
 * of chosen JSON, HMAC with a chosen secret) so each check in
 * jwt_verify_access is reached on its own.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/jwt.h"
#include "core/crypto.h"

#define NOW INT64_C(1800000000)
#define TTL 900

static struct jwt_key KEY;   /* the service's key */
static struct jwt_key OTHER; /* someone else's */

static int setup(void **state)
{
	unsigned char secret[48];

	if (crypto_init() != 0)
		return -1;
	memset(secret, 0x5a, sizeof secret);
	if (jwt_key_init(&KEY, secret, sizeof secret) != 0)
		return -1;
	memset(secret, 0xa5, 32);
	return jwt_key_init(&OTHER, secret, 32);
}

/* base64url of a string, appended to dst (which has room: tests stay small). */
static void append_b64(char *dst, size_t cap, const void *data, size_t len)
{
	size_t used = strlen(dst);
	long n = crypto_b64url_encode(data, len, dst + used, cap - used);
	assert_true(n >= 0);
}

/*
 * A token with the given header and payload JSON, signed with secret (HS256
 * over "head.body") if secret is not NULL, else with the literal sig text.
 * Caller frees.
 */
static char *forge(const char *head, const char *body, const struct jwt_key *secret,
		   const char *sig)
{
	size_t cap = 3 * (strlen(head) + strlen(body)) + 256;
	char *t = calloc(1, cap);
	unsigned char mac[32];

	assert_non_null(t);
	append_b64(t, cap, head, strlen(head));
	strcat(t, ".");
	append_b64(t, cap, body, strlen(body));
	if (secret) {
		crypto_hmac_sha256(secret->secret, secret->len, t, strlen(t), mac);
		strcat(t, ".");
		append_b64(t, cap, mac, sizeof mac);
	} else {
		strcat(t, ".");
		strcat(t, sig);
	}
	return t;
}

static char g_head[256];
static char g_body[8192];

/* Our usual header, with a chosen alg and kid. */
static const char *head_with(const char *alg, const char *kid)
{
	snprintf(g_head, sizeof g_head, "{\"alg\":\"%s\",\"typ\":\"JWT\",\"kid\":\"%s\"}", alg,
		 kid);
	return g_head;
}

static const char *good_head(void)
{
	return head_with("HS256", KEY.kid);
}

/* A payload with all claims; extra is spliced in as more members (may be ""). */
static const char *body_with(const char *type, int64_t iat, int64_t exp, const char *extra)
{
	snprintf(g_body, sizeof g_body,
		 "{\"sub\":\"user-1\",\"email\":\"a@example.com\",\"org\":\"org-1\","
		 "\"sid\":\"sess-1\",\"iat\":%lld,\"exp\":%lld,\"type\":\"%s\"%s}",
		 (long long)iat, (long long)exp, type, extra);
	return g_body;
}

static int verify(const char *token, int64_t now)
{
	struct jwt_claims c;
	return jwt_verify_access(&KEY, token, now, &c);
}

/* Sign head/body with our key and verify at NOW. */
static int verify_forged(const char *head, const char *body)
{
	char *t = forge(head, body, &KEY, NULL);
	int rc = verify(t, NOW);
	free(t);
	return rc;
}

static void test_key_init(void **state)
{
	unsigned char secret[65] = {0};
	char hex[65];
	struct jwt_key k;

	assert_int_equal(jwt_key_init(&k, secret, 31), -1);
	assert_int_equal(jwt_key_init(&k, secret, 65), -1);
	assert_int_equal(jwt_key_init(&k, NULL, 32), -1);
	assert_int_equal(jwt_key_init(NULL, secret, 32), -1);
	assert_int_equal(jwt_key_init(&k, secret, 64), 0);
	assert_int_equal(k.len, 64);
	assert_int_equal(jwt_key_init(&k, secret, 32), 0);
	crypto_sha256_hex(secret, 32, hex);
	assert_int_equal(strlen(k.kid), JWT_KID_LEN);
	assert_memory_equal(k.kid, hex, JWT_KID_LEN);
	assert_string_not_equal(KEY.kid, OTHER.kid);
}

static void test_round_trip(void **state)
{
	struct jwt_claims c;
	char *t = jwt_issue_access(&KEY, "0190c8a2-0000-7000-8000-000000000001", "ann@example.com",
				   "0190c8a2-0000-7000-8000-000000000002",
				   "0190c8a2-0000-7000-8000-000000000003", NOW, TTL);

	assert_non_null(t);
	assert_int_equal(jwt_verify_access(&KEY, t, NOW, &c), JWT_VALID);
	assert_string_equal(c.sub, "0190c8a2-0000-7000-8000-000000000001");
	assert_string_equal(c.email, "ann@example.com");
	assert_string_equal(c.org, "0190c8a2-0000-7000-8000-000000000002");
	assert_string_equal(c.sid, "0190c8a2-0000-7000-8000-000000000003");
	assert_int_equal(c.iat, NOW);
	assert_int_equal(c.exp, NOW + TTL);
	/* claims may be NULL when only validity matters */
	assert_int_equal(jwt_verify_access(&KEY, t, NOW + TTL, NULL), JWT_VALID);
	free(t);
}

/* The header and payload we issue are what the contract says. */
static void test_issued_shape(void **state)
{
	char *t = jwt_issue_access(&KEY, "u", "e@x.io", "o", "s", NOW, TTL);
	char part[512];
	char *dot1, *dot2;
	long n;

	assert_non_null(t);
	dot1 = strchr(t, '.');
	assert_non_null(dot1);
	dot2 = strchr(dot1 + 1, '.');
	assert_non_null(dot2);
	assert_null(strchr(dot2 + 1, '.'));

	n = crypto_b64url_decode(t, (size_t)(dot1 - t), part, sizeof part - 1);
	assert_true(n > 0);
	part[n] = '\0';
	assert_non_null(strstr(part, "\"alg\":\"HS256\""));
	assert_non_null(strstr(part, "\"typ\":\"JWT\""));
	char kid[64];
	snprintf(kid, sizeof kid, "\"kid\":\"%s\"", KEY.kid);
	assert_non_null(strstr(part, kid));

	n = crypto_b64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), part, sizeof part - 1);
	assert_true(n > 0);
	part[n] = '\0';
	assert_non_null(strstr(part, "\"type\":\"access\""));
	assert_non_null(strstr(part, "\"sid\":\"s\""));
	assert_non_null(strstr(part, "\"iat\":1800000000"));
	assert_non_null(strstr(part, "\"exp\":1800000900"));

	n = crypto_b64url_decode(dot2 + 1, strlen(dot2 + 1), part, sizeof part);
	assert_int_equal(n, 32);
	free(t);
}

static void test_issue_refuses(void **state)
{
	char long64[65];
	char long256[257];
	struct jwt_key bad = KEY;
	char *t;

	memset(long64, 'a', 64);
	long64[64] = '\0';
	memset(long256, 'a', 256);
	long256[256] = '\0';

	assert_null(jwt_issue_access(NULL, "u", "e", "o", "s", NOW, TTL));
	assert_null(jwt_issue_access(&KEY, NULL, "e", "o", "s", NOW, TTL));
	assert_null(jwt_issue_access(&KEY, "u", "e", NULL, "s", NOW, TTL));
	assert_null(jwt_issue_access(&KEY, "u", "e", "o", NULL, NOW, TTL));
	assert_null(jwt_issue_access(&KEY, "", "e", "o", "s", NOW, TTL));
	assert_null(jwt_issue_access(&KEY, long64, "e", "o", "s", NOW, TTL));
	assert_null(jwt_issue_access(&KEY, "u", "e", long64, "s", NOW, TTL));
	assert_null(jwt_issue_access(&KEY, "u", "e", "o", long64, NOW, TTL));
	assert_null(jwt_issue_access(&KEY, "u", long256, "o", "s", NOW, TTL));
	assert_null(jwt_issue_access(&KEY, "u", "e", "o", "s", NOW, 0));
	assert_null(jwt_issue_access(&KEY, "u", "e", "o", "s", NOW, -5));
	assert_null(jwt_issue_access(&KEY, "u", "e", "o", "s", INT64_MAX - 10, TTL));
	bad.len = 16;
	assert_null(jwt_issue_access(&bad, "u", "e", "o", "s", NOW, TTL));

	/* The longest accepted values still make a token that verifies. */
	long64[63] = '\0';
	long256[255] = '\0';
	t = jwt_issue_access(&KEY, long64, long256, long64, long64, NOW, TTL);
	assert_non_null(t);
	assert_int_equal(verify(t, NOW), JWT_VALID);
	free(t);

	/* No email: the claim is left out and verifies as "". */
	struct jwt_claims c;
	t = jwt_issue_access(&KEY, "u", NULL, "o", "s", NOW, TTL);
	assert_non_null(t);
	assert_int_equal(jwt_verify_access(&KEY, t, NOW, &c), JWT_VALID);
	assert_string_equal(c.email, "");
	free(t);
	t = jwt_issue_access(&KEY, "u", "", "o", "s", NOW, TTL);
	assert_non_null(t);
	assert_int_equal(jwt_verify_access(&KEY, t, NOW, &c), JWT_VALID);
	assert_string_equal(c.email, "");
	free(t);
}

/* The hand-made tokens below are only meaningful if a correct one passes. */
static void test_forge_helper_sane(void **state)
{
	struct jwt_claims c;
	char *t = forge(good_head(), body_with("access", NOW, NOW + TTL, ""), &KEY, NULL);

	assert_int_equal(jwt_verify_access(&KEY, t, NOW, &c), JWT_VALID);
	assert_string_equal(c.sub, "user-1");
	assert_string_equal(c.sid, "sess-1");
	free(t);
}

static void test_forged_signature(void **state)
{
	char *t = jwt_issue_access(&KEY, "u", "e", "o", "s", NOW, TTL);
	char *sig = strrchr(t, '.') + 1;
	struct jwt_claims c;

	/* Flip the first signature character: still canonical base64url. */
	sig[0] = sig[0] == 'A' ? 'B' : 'A';
	assert_int_equal(jwt_verify_access(&KEY, t, NOW, &c), JWT_BAD_SIG);
	assert_string_equal(c.sub, ""); /* nothing leaks out of a refused token */
	free(t);

	/* A payload swapped under a valid signature (privilege change). */
	char *a = jwt_issue_access(&KEY, "alice", "e", "org-a", "s", NOW, TTL);
	char *b = jwt_issue_access(&KEY, "bob", "e", "org-b", "s", NOW, TTL);
	char *mix = calloc(1, strlen(a) + strlen(b) + 1);
	strncat(mix, a, (size_t)(strchr(strchr(a, '.') + 1, '.') - a));
	strcat(mix, strrchr(b, '.'));
	assert_int_equal(verify(mix, NOW), JWT_BAD_SIG);
	free(a);
	free(b);
	free(mix);

	/* Right header, our kid, wrong secret. */
	t = forge(good_head(), body_with("access", NOW, NOW + TTL, ""), &OTHER, NULL);
	assert_int_equal(verify(t, NOW), JWT_BAD_SIG);
	free(t);

	/* Signatures of the wrong length: empty, short, long. */
	t = forge(good_head(), body_with("access", NOW, NOW + TTL, ""), NULL, "");
	assert_int_equal(verify(t, NOW), JWT_BAD_SIG);
	free(t);
	t = forge(good_head(), body_with("access", NOW, NOW + TTL, ""), NULL, "AAAA");
	assert_int_equal(verify(t, NOW), JWT_BAD_SIG);
	free(t);
	t = forge(good_head(), body_with("access", NOW, NOW + TTL, ""), NULL,
		  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		  "AAAAAAA"
		  "A");
	assert_int_equal(verify(t, NOW), JWT_BAD_SIG);
	free(t);
}

static void test_other_secret(void **state)
{
	/* Issued by another service's key: its kid is not ours. */
	char *t = jwt_issue_access(&OTHER, "u", "e", "o", "s", NOW, TTL);

	assert_non_null(t);
	assert_int_equal(verify(t, NOW), JWT_BAD_ALG);
	free(t);
}

static void test_alg_none(void **state)
{
	const char *body = body_with("access", NOW, NOW + TTL, "");
	char head[128];
	char *t;

	/* The classic: {"alg":"none"} and an empty signature. */
	t = forge("{\"alg\":\"none\"}", body, NULL, "");
	assert_int_equal(verify(t, NOW), JWT_BAD_ALG);
	free(t);
	/* With our kid, with and without a signature. */
	snprintf(head, sizeof head, "{\"alg\":\"none\",\"typ\":\"JWT\",\"kid\":\"%s\"}", KEY.kid);
	t = forge(head, body, NULL, "");
	assert_int_equal(verify(t, NOW), JWT_BAD_ALG);
	free(t);
	t = forge(head, body, &KEY, NULL);
	assert_int_equal(verify(t, NOW), JWT_BAD_ALG);
	free(t);
	/* Spelling variants some libraries accept. */
	t = forge(head_with("None", KEY.kid), body, &KEY, NULL);
	assert_int_equal(verify(t, NOW), JWT_BAD_ALG);
	free(t);
	t = forge(head_with("NONE", KEY.kid), body, NULL, "");
	assert_int_equal(verify(t, NOW), JWT_BAD_ALG);
	free(t);
	/* No alg at all. */
	snprintf(head, sizeof head, "{\"typ\":\"JWT\",\"kid\":\"%s\"}", KEY.kid);
	t = forge(head, body, &KEY, NULL);
	assert_int_equal(verify(t, NOW), JWT_BAD_ALG);
	free(t);
	/* Two dots only, no signature part at all after them, is still one empty part. */
	t = forge("{\"alg\":\"none\"}", body, NULL, "");
	t[strlen(t) - 1] = '\0'; /* drop the last dot: two parts */
	assert_int_equal(verify(t, NOW), JWT_MALFORMED);
	free(t);
}

static void test_other_algs(void **state)
{
	static const char *algs[] = {"HS512", "HS384",	"RS256",  "ES256",  "PS256", "EdDSA",
				     "hs256", "HS256 ", " HS256", "HS2560", ""};
	const char *body = body_with("access", NOW, NOW + TTL, "");
	char head[160];

	for (size_t i = 0; i < sizeof algs / sizeof algs[0]; i++)
		assert_int_equal(verify_forged(head_with(algs[i], KEY.kid), body), JWT_BAD_ALG);

	/* alg of the wrong JSON type */
	snprintf(head, sizeof head, "{\"alg\":[\"HS256\"],\"kid\":\"%s\"}", KEY.kid);
	assert_int_equal(verify_forged(head, body), JWT_BAD_ALG);
	snprintf(head, sizeof head, "{\"alg\":null,\"kid\":\"%s\"}", KEY.kid);
	assert_int_equal(verify_forged(head, body), JWT_BAD_ALG);
	/* Two alg members: refused outright, whichever one a parser would keep. */
	snprintf(head, sizeof head, "{\"alg\":\"none\",\"alg\":\"HS256\",\"kid\":\"%s\"}", KEY.kid);
	assert_int_equal(verify_forged(head, body), JWT_MALFORMED);
	/* A NUL smuggled into alg is not accepted as "HS256". */
	snprintf(head, sizeof head, "{\"alg\":\"HS256\\u0000x\",\"kid\":\"%s\"}", KEY.kid);
	assert_true(verify_forged(head, body) != JWT_VALID);
}

static void test_wrong_kid(void **state)
{
	const char *body = body_with("access", NOW, NOW + TTL, "");
	char kid[JWT_KID_LEN + 2];

	assert_int_equal(verify_forged(head_with("HS256", OTHER.kid), body), JWT_BAD_ALG);
	assert_int_equal(verify_forged(head_with("HS256", ""), body), JWT_BAD_ALG);
	/* A prefix of our kid, our kid plus one, our kid in upper case. */
	memcpy(kid, KEY.kid, JWT_KID_LEN - 1);
	kid[JWT_KID_LEN - 1] = '\0';
	assert_int_equal(verify_forged(head_with("HS256", kid), body), JWT_BAD_ALG);
	snprintf(kid, sizeof kid, "%s0", KEY.kid);
	assert_int_equal(verify_forged(head_with("HS256", kid), body), JWT_BAD_ALG);
	for (int i = 0; i < JWT_KID_LEN; i++)
		kid[i] = (char)((KEY.kid[i] >= 'a') ? KEY.kid[i] - 32 : KEY.kid[i]);
	kid[JWT_KID_LEN] = '\0';
	if (strcmp(kid, KEY.kid) != 0)
		assert_int_equal(verify_forged(head_with("HS256", kid), body), JWT_BAD_ALG);
	/* No kid, or a kid that is not a string. */
	assert_int_equal(verify_forged("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", body), JWT_BAD_ALG);
	assert_int_equal(verify_forged("{\"alg\":\"HS256\",\"kid\":1}", body), JWT_BAD_ALG);
}

static void test_expiry(void **state)
{
	char *t = jwt_issue_access(&KEY, "u", "e", "o", "s", NOW, TTL);

	assert_int_equal(verify(t, NOW + TTL), JWT_VALID);
	assert_int_equal(verify(t, NOW + TTL + 1), JWT_VALID); /* within leeway */
	assert_int_equal(verify(t, NOW + TTL + JWT_LEEWAY_S), JWT_VALID);
	assert_int_equal(verify(t, NOW + TTL + JWT_LEEWAY_S + 1), JWT_EXPIRED);
	assert_int_equal(verify(t, NOW + 100000), JWT_EXPIRED);
	assert_int_equal(verify(t, INT64_MAX), JWT_EXPIRED);
	free(t);

	/* Issued long ago and long expired. */
	t = jwt_issue_access(&KEY, "u", "e", "o", "s", NOW - 10000, TTL);
	assert_int_equal(verify(t, NOW), JWT_EXPIRED);
	free(t);

	/* Extreme values in exp never overflow. */
	assert_int_equal(verify_forged(good_head(), body_with("access", NOW, INT64_MIN, "")),
			 JWT_EXPIRED);
	assert_int_equal(verify_forged(good_head(), body_with("access", NOW, INT64_MAX, "")),
			 JWT_VALID);
	struct jwt_claims c;
	char *t2 = forge(good_head(), body_with("access", NOW, NOW + TTL, ""), &KEY, NULL);
	assert_int_equal(jwt_verify_access(&KEY, t2, INT64_MIN, &c),
			 JWT_BAD_CLAIMS); /* iat ahead */
	free(t2);
}

static void test_iat(void **state)
{
	/* iat in the future beyond leeway: a token from a clock we do not trust. */
	assert_int_equal(
	    verify_forged(good_head(), body_with("access", NOW + JWT_LEEWAY_S, NOW + TTL, "")),
	    JWT_VALID);
	assert_int_equal(
	    verify_forged(good_head(), body_with("access", NOW + JWT_LEEWAY_S + 1, NOW + TTL, "")),
	    JWT_BAD_CLAIMS);
	assert_int_equal(verify_forged(good_head(), body_with("access", INT64_MAX, NOW + TTL, "")),
			 JWT_BAD_CLAIMS);
	/* iat missing or not an integer */
	assert_int_equal(
	    verify_forged(good_head(),
			  "{\"sub\":\"u\",\"org\":\"o\",\"sid\":\"s\",\"exp\":1800000900,"
			  "\"type\":\"access\"}"),
	    JWT_BAD_CLAIMS);
	assert_int_equal(
	    verify_forged(good_head(),
			  "{\"sub\":\"u\",\"org\":\"o\",\"sid\":\"s\",\"iat\":\"1800000000\","
			  "\"exp\":1800000900,\"type\":\"access\"}"),
	    JWT_BAD_CLAIMS);
}

/* nbf (issue 8 item 14): a token not valid yet is refused; absent is fine. */
static void test_nbf(void **state)
{
	char extra[64];
	snprintf(extra, sizeof extra, ",\"nbf\":%lld", (long long)(NOW - 10));
	assert_int_equal(verify_forged(good_head(), body_with("access", NOW, NOW + TTL, extra)),
			 JWT_VALID);
	snprintf(extra, sizeof extra, ",\"nbf\":%lld", (long long)(NOW + JWT_LEEWAY_S));
	assert_int_equal(verify_forged(good_head(), body_with("access", NOW, NOW + TTL, extra)),
			 JWT_VALID);
	snprintf(extra, sizeof extra, ",\"nbf\":%lld", (long long)(NOW + JWT_LEEWAY_S + 1));
	assert_int_equal(verify_forged(good_head(), body_with("access", NOW, NOW + TTL, extra)),
			 JWT_NOT_YET_VALID);
	snprintf(extra, sizeof extra, ",\"nbf\":%lld", (long long)(NOW + 3600));
	assert_int_equal(verify_forged(good_head(), body_with("access", NOW, NOW + TTL, extra)),
			 JWT_NOT_YET_VALID);
	assert_int_equal(verify_forged(good_head(), body_with("access", NOW, NOW + TTL,
							      ",\"nbf\":9223372036854775807")),
			 JWT_NOT_YET_VALID);
	/* nbf must be an integer when present */
	assert_int_equal(
	    verify_forged(good_head(), body_with("access", NOW, NOW + TTL, ",\"nbf\":\"0\"")),
	    JWT_BAD_CLAIMS);
	assert_int_equal(
	    verify_forged(good_head(), body_with("access", NOW, NOW + TTL, ",\"nbf\":null")),
	    JWT_BAD_CLAIMS);
	assert_string_equal(jwt_rc_str(JWT_NOT_YET_VALID),
			    "The token is not valid yet (its nbf time is in the future).");
}

static void test_exp_missing_or_wrong_type(void **state)
{
	assert_int_equal(
	    verify_forged(good_head(),
			  "{\"sub\":\"u\",\"org\":\"o\",\"sid\":\"s\",\"iat\":1800000000,"
			  "\"type\":\"access\"}"),
	    JWT_BAD_CLAIMS);
	static const char *exps[] = {"\"1800000900\"", "1800000900.0", "1.8e9", "null",
				     "true",	       "[1800000900]", "{}"};
	for (size_t i = 0; i < sizeof exps / sizeof exps[0]; i++) {
		char body[256];
		snprintf(body, sizeof body,
			 "{\"sub\":\"u\",\"org\":\"o\",\"sid\":\"s\",\"iat\":1800000000,\"exp\":%s,"
			 "\"type\":\"access\"}",
			 exps[i]);
		assert_int_equal(verify_forged(good_head(), body), JWT_BAD_CLAIMS);
	}
	/* An integer beyond int64 is not JSON we accept at all. */
	assert_true(verify_forged(good_head(),
				  "{\"sub\":\"u\",\"org\":\"o\",\"sid\":\"s\",\"iat\":1800000000,"
				  "\"exp\":99999999999999999999999,\"type\":\"access\"}") !=
		    JWT_VALID);
}

static void test_type(void **state)
{
	assert_int_equal(verify_forged(good_head(), body_with("refresh", NOW, NOW + TTL, "")),
			 JWT_WRONG_TYPE);
	assert_int_equal(verify_forged(good_head(), body_with("Access", NOW, NOW + TTL, "")),
			 JWT_WRONG_TYPE);
	assert_int_equal(verify_forged(good_head(), body_with("", NOW, NOW + TTL, "")),
			 JWT_WRONG_TYPE);
	assert_int_equal(
	    verify_forged(good_head(),
			  "{\"sub\":\"u\",\"org\":\"o\",\"sid\":\"s\",\"iat\":1800000000,"
			  "\"exp\":1800000900}"),
	    JWT_WRONG_TYPE);
	assert_int_equal(
	    verify_forged(good_head(),
			  "{\"sub\":\"u\",\"org\":\"o\",\"sid\":\"s\",\"iat\":1800000000,"
			  "\"exp\":1800000900,\"type\":[\"access\"]}"),
	    JWT_WRONG_TYPE);
}

static void test_identity_claims(void **state)
{
	static const char *bodies[] = {
	    /* sid missing, null, a number, empty */
	    "{\"sub\":\"u\",\"org\":\"o\",\"iat\":1800000000,\"exp\":1800000900,\"type\":"
	    "\"access\"}",
	    "{\"sub\":\"u\",\"org\":\"o\",\"sid\":null,\"iat\":1800000000,\"exp\":1800000900,"
	    "\"type\":\"access\"}",
	    "{\"sub\":\"u\",\"org\":\"o\",\"sid\":7,\"iat\":1800000000,\"exp\":1800000900,"
	    "\"type\":\"access\"}",
	    "{\"sub\":\"u\",\"org\":\"o\",\"sid\":\"\",\"iat\":1800000000,\"exp\":1800000900,"
	    "\"type\":\"access\"}",
	    /* sub missing, org missing */
	    "{\"org\":\"o\",\"sid\":\"s\",\"iat\":1800000000,\"exp\":1800000900,\"type\":"
	    "\"access\"}",
	    "{\"sub\":\"u\",\"sid\":\"s\",\"iat\":1800000000,\"exp\":1800000900,\"type\":"
	    "\"access\"}",
	    /* email of the wrong type */
	    "{\"sub\":\"u\",\"org\":\"o\",\"sid\":\"s\",\"email\":false,\"iat\":1800000000,"
	    "\"exp\":1800000900,\"type\":\"access\"}",
	};
	for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++)
		assert_int_equal(verify_forged(good_head(), bodies[i]), JWT_BAD_CLAIMS);

	/* Too long for struct jwt_claims: 64 chars in sub, 256 in email. */
	char body[1024], s64[65], s256[257];
	memset(s64, 'x', 64);
	s64[64] = '\0';
	memset(s256, 'x', 256);
	s256[256] = '\0';
	snprintf(body, sizeof body,
		 "{\"sub\":\"%s\",\"org\":\"o\",\"sid\":\"s\",\"iat\":1800000000,"
		 "\"exp\":1800000900,\"type\":\"access\"}",
		 s64);
	assert_int_equal(verify_forged(good_head(), body), JWT_BAD_CLAIMS);
	snprintf(body, sizeof body,
		 "{\"sub\":\"u\",\"org\":\"o\",\"sid\":\"s\",\"email\":\"%s\",\"iat\":1800000000,"
		 "\"exp\":1800000900,\"type\":\"access\"}",
		 s256);
	assert_int_equal(verify_forged(good_head(), body), JWT_BAD_CLAIMS);
	/* Unknown extra claims are fine. */
	assert_int_equal(
	    verify_forged(good_head(), body_with("access", NOW, NOW + TTL, ",\"x\":[1,{}]")),
	    JWT_VALID);
}

static void test_truncated(void **state)
{
	char *t = jwt_issue_access(&KEY, "u", "e@x.io", "o", "s", NOW, TTL);
	size_t len = strlen(t);
	char *cut = malloc(len + 1);

	assert_non_null(cut);
	for (size_t n = 0; n < len; n++) {
		memcpy(cut, t, n);
		cut[n] = '\0';
		assert_true(verify(cut, NOW) != JWT_VALID);
	}
	/* And every token missing one character anywhere. */
	for (size_t i = 0; i < len; i++) {
		memcpy(cut, t, i);
		memcpy(cut + i, t + i + 1, len - i);
		assert_true(verify(cut, NOW) != JWT_VALID);
	}
	free(cut);
	free(t);
}

/* Any single-character change anywhere is refused (canonical base64url + MAC). */
static void test_every_mutation(void **state)
{
	static const char repl[] = "AB_-.=+/ \x80";
	char *t = jwt_issue_access(&KEY, "u", "e@x.io", "o", "s", NOW, TTL);
	size_t len = strlen(t);

	for (size_t i = 0; i < len; i++) {
		char saved = t[i];
		for (size_t r = 0; r < sizeof repl - 1; r++) {
			if (repl[r] == saved)
				continue;
			t[i] = repl[r];
			assert_true(verify(t, NOW) != JWT_VALID);
		}
		t[i] = saved;
	}
	assert_int_equal(verify(t, NOW), JWT_VALID);
	free(t);
}

static void test_garbage(void **state)
{
	static const char *junk[] = {
	    "",
	    ".",
	    "..",
	    "...",
	    "a",
	    "a.b",
	    "a.b.c",
	    "a.b.c.d",
	    ".b.c",
	    "a..c",
	    "!!!.@@@.###",
	    "eyJ.eyJ.",
	    "eyJhbGciOiJIUzI1NiJ9",
	    "eyJhbGciOiJIUzI1NiJ9..",
	    "====.====.====",
	    "bnVsbA.bnVsbA.",
	    "Bearer abc.def.ghi",
	    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.\n",
	};
	for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++)
		assert_int_equal(verify(junk[i], NOW), JWT_MALFORMED);
	/* Well-formed but empty header objects ({}): no alg, so not ours. */
	assert_int_equal(verify("e30.e30.", NOW), JWT_BAD_ALG);
	assert_int_equal(verify("e30.e30.e30", NOW), JWT_BAD_ALG);
	assert_int_equal(jwt_verify_access(&KEY, NULL, NOW, NULL), JWT_MALFORMED);
	assert_int_equal(jwt_verify_access(NULL, "a.b.c", NOW, NULL), JWT_MALFORMED);

	/* Base64 that decodes to binary, not JSON. */
	char *t = forge("\xff\xfe\x00garbage", "{}", &KEY, NULL);
	assert_int_equal(verify(t, NOW), JWT_MALFORMED);
	free(t);
	/* Header JSON that is not an object, or not JSON. */
	static const char *heads[] = {"[]", "\"HS256\"",	  "42", "null",
				      "{",  "{\"alg\":\"HS256\"", " "};
	for (size_t i = 0; i < sizeof heads / sizeof heads[0]; i++)
		assert_int_equal(verify_forged(heads[i], body_with("access", NOW, NOW + TTL, "")),
				 JWT_MALFORMED);
}

static void test_non_object_payloads(void **state)
{
	static const char *bodies[] = {"[]", "[1,2,3]",	  "\"access\"", "42", "null", "true",
				       "{",  "{\"sub\":", "{}}",	"x",  " ",    "{} {}"};
	for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++)
		assert_int_equal(verify_forged(good_head(), bodies[i]), JWT_MALFORMED);
	/* An empty object parses but lacks every claim. */
	assert_int_equal(verify_forged(good_head(), "{}"), JWT_BAD_CLAIMS);
	/* Duplicate claims are refused rather than resolved. */
	assert_int_equal(
	    verify_forged(good_head(), body_with("access", NOW, NOW + TTL, ",\"sub\":\"admin\"")),
	    JWT_MALFORMED);
}

static void test_overlong(void **state)
{
	char *junk = malloc(JWT_MAX_LEN + 2);
	char *pad = malloc(JWT_MAX_LEN);
	char *body;
	char *t;

	assert_non_null(junk);
	assert_non_null(pad);
	memset(junk, 'a', JWT_MAX_LEN + 1);
	junk[JWT_MAX_LEN + 1] = '\0';
	assert_int_equal(verify(junk, NOW), JWT_MALFORMED);
	free(junk);

	/* A correctly signed token, valid in every other way, one byte too long. */
	body = malloc(JWT_MAX_LEN + 256);
	assert_non_null(body);
	for (size_t padlen = 2900; padlen < 3100; padlen++) {
		memset(pad, 'p', padlen);
		pad[padlen] = '\0';
		snprintf(body, JWT_MAX_LEN + 256,
			 "{\"sub\":\"u\",\"org\":\"o\",\"sid\":\"s\",\"iat\":1800000000,"
			 "\"exp\":1800000900,\"type\":\"access\",\"pad\":\"%s\"}",
			 pad);
		t = forge(good_head(), body, &KEY, NULL);
		size_t len = strlen(t);
		if (len <= JWT_MAX_LEN)
			assert_int_equal(verify(t, NOW), JWT_VALID);
		else
			assert_int_equal(verify(t, NOW), JWT_MALFORMED);
		free(t);
	}
	free(body);
	free(pad);
}

static void test_rc_str(void **state)
{
	assert_string_equal(jwt_rc_str(JWT_EXPIRED), "The token has expired.");
	for (int rc = JWT_NOT_YET_VALID; rc <= JWT_VALID; rc++) {
		const char *s = jwt_rc_str(rc);
		assert_non_null(s);
		assert_true(strlen(s) > 5);
		assert_int_equal(s[strlen(s) - 1], '.');
	}
	assert_non_null(jwt_rc_str(42));
	assert_string_not_equal(jwt_rc_str(JWT_BAD_SIG), jwt_rc_str(JWT_BAD_ALG));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_key_init),
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_issued_shape),
	    cmocka_unit_test(test_issue_refuses),
	    cmocka_unit_test(test_forge_helper_sane),
	    cmocka_unit_test(test_forged_signature),
	    cmocka_unit_test(test_other_secret),
	    cmocka_unit_test(test_alg_none),
	    cmocka_unit_test(test_other_algs),
	    cmocka_unit_test(test_wrong_kid),
	    cmocka_unit_test(test_expiry),
	    cmocka_unit_test(test_iat),
	    cmocka_unit_test(test_nbf),
	    cmocka_unit_test(test_exp_missing_or_wrong_type),
	    cmocka_unit_test(test_type),
	    cmocka_unit_test(test_identity_claims),
	    cmocka_unit_test(test_truncated),
	    cmocka_unit_test(test_every_mutation),
	    cmocka_unit_test(test_garbage),
	    cmocka_unit_test(test_non_object_payloads),
	    cmocka_unit_test(test_overlong),
	    cmocka_unit_test(test_rc_str),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
