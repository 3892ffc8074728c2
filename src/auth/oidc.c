#include "auth/oidc.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <gmp.h>
#include <nettle/bignum.h>
#include <nettle/ecc-curve.h>
#include <nettle/ecc.h>
#include <nettle/ecdsa.h>
#include <nettle/rsa.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/crypto.h"
#include "core/log.h"
#include "core/timeutil.h"

#define OIDC_MAX_BODY	(1024 * 1024)
#define OIDC_CACHE_MS	(3600LL * 1000)
#define OIDC_REFETCH_MS (10LL * 1000)
#define OIDC_TIMEOUT_S	10L
#define JWT_MAX		16384

struct provider {
	char name[OIDC_NAME_MAX];
	char *issuer, *client_id, *client_secret, *redirect_uri;
	pthread_mutex_t lock;
	/* discovered (under lock) */
	char *authorization_endpoint, *token_endpoint, *jwks_uri;
	json_t *jwks;
	int64_t discovered_at, jwks_at;
};

static struct provider g_providers[OIDC_MAX_PROVIDERS];
static size_t g_count;

static void provider_clear(struct provider *p)
{
	free(p->issuer);
	if (p->client_secret)
		explicit_bzero(p->client_secret, strlen(p->client_secret));
	free(p->client_id);
	free(p->client_secret);
	free(p->redirect_uri);
	free(p->authorization_endpoint);
	free(p->token_endpoint);
	free(p->jwks_uri);
	json_decref(p->jwks);
	pthread_mutex_destroy(&p->lock);
	memset(p, 0, sizeof *p);
}

void oidc_reset(void)
{
	for (size_t i = 0; i < g_count; i++)
		provider_clear(&g_providers[i]);
	g_count = 0;
}

size_t oidc_count(void)
{
	return g_count;
}

const char *oidc_name(size_t i)
{
	return i < g_count ? g_providers[i].name : NULL;
}

static struct provider *find(const char *name)
{
	for (size_t i = 0; i < g_count; i++)
		if (!strcmp(g_providers[i].name, name))
			return &g_providers[i];
	return NULL;
}

bool oidc_known(const char *name)
{
	return name && find(name) != NULL;
}

/* https://, or http:// to a loopback host. */
static bool url_allowed(const char *u)
{
	if (!strncmp(u, "https://", 8))
		return u[8] != '\0';
	if (strncmp(u, "http://", 7))
		return false;
	const char *h = u + 7;
	return !strncmp(h, "127.", 4) || !strncmp(h, "localhost:", 10) || !strcmp(h, "localhost") ||
	       !strncmp(h, "localhost/", 10) || !strncmp(h, "[::1]", 5);
}

static const char *env_value(char **envp, const char *name)
{
	size_t n = strlen(name);
	for (char **e = envp; e && *e; e++)
		if (!strncmp(*e, name, n) && (*e)[n] == '=')
			return *e + n + 1;
	return NULL;
}

int oidc_configure(char **envp, const char *redirect_base, char *err, size_t errlen)
{
	oidc_reset();
	static const char PREFIX[] = "IAM_OIDC_", SUFFIX[] = "_ISSUER";
	for (char **e = envp; e && *e; e++) {
		const char *eq = strchr(*e, '=');
		if (!eq || strncmp(*e, PREFIX, sizeof PREFIX - 1))
			continue;
		size_t klen = (size_t)(eq - *e);
		if (klen < sizeof PREFIX - 1 + sizeof SUFFIX - 1 + 1 ||
		    strncmp(eq - (sizeof SUFFIX - 1), SUFFIX, sizeof SUFFIX - 1))
			continue;
		size_t nlen = klen - (sizeof PREFIX - 1) - (sizeof SUFFIX - 1);
		const char *nm = *e + sizeof PREFIX - 1;
		char upper[OIDC_NAME_MAX], var[OIDC_NAME_MAX + 32];
		if (nlen >= OIDC_NAME_MAX) {
			snprintf(err, errlen, "%.*s: the provider name is too long (at most %d)",
				 (int)klen, *e, OIDC_NAME_MAX - 1);
			return -1;
		}
		memcpy(upper, nm, nlen);
		upper[nlen] = '\0';
		for (size_t i = 0; i < nlen; i++)
			if (!isalnum((unsigned char)upper[i]) && upper[i] != '_') {
				snprintf(
				    err, errlen,
				    "IAM_OIDC_%s_ISSUER: a provider name has letters, digits and "
				    "'_' only",
				    upper);
				return -1;
			}
		if (g_count == OIDC_MAX_PROVIDERS) {
			snprintf(err, errlen, "IAM_OIDC_*: at most %d providers",
				 OIDC_MAX_PROVIDERS);
			return -1;
		}
		const char *issuer = eq + 1;
		snprintf(var, sizeof var, "IAM_OIDC_%s_CLIENT_ID", upper);
		const char *id = env_value(envp, var);
		snprintf(var, sizeof var, "IAM_OIDC_%s_CLIENT_SECRET", upper);
		const char *secret = env_value(envp, var);
		if (!url_allowed(issuer) || strlen(issuer) > 512 || strpbrk(issuer, " ?#")) {
			snprintf(err, errlen,
				 "IAM_OIDC_%s_ISSUER: expected https://issuer (http:// only on "
				 "localhost), got '%.64s'",
				 upper, issuer);
			return -1;
		}
		if (!id || !*id || !secret || !*secret) {
			snprintf(err, errlen,
				 "IAM_OIDC_%s_ISSUER is set: IAM_OIDC_%s_CLIENT_ID and "
				 "IAM_OIDC_%s_CLIENT_SECRET are needed too",
				 upper, upper, upper);
			return -1;
		}
		struct provider *p = &g_providers[g_count];
		memset(p, 0, sizeof *p);
		for (size_t i = 0; i <= nlen; i++)
			p->name[i] = (char)tolower((unsigned char)upper[i]);
		if (find(p->name) != p && find(p->name)) {
			snprintf(err, errlen,
				 "IAM_OIDC_%s_ISSUER: the provider is configured twice", upper);
			return -1;
		}
		pthread_mutex_init(&p->lock, NULL);
		size_t issuer_len = strlen(issuer);
		while (issuer_len > 8 && issuer[issuer_len - 1] == '/')
			issuer_len--; /* compared as configured, without a trailing slash */
		p->issuer = strndup(issuer, issuer_len);
		p->client_id = strdup(id);
		p->client_secret = strdup(secret);
		size_t rl = strlen(redirect_base) + strlen(p->name) + 64;
		p->redirect_uri = malloc(rl);
		g_count++;
		if (!p->issuer || !p->client_id || !p->client_secret || !p->redirect_uri) {
			snprintf(err, errlen, "IAM_OIDC_*: out of memory");
			return -1;
		}
		snprintf(p->redirect_uri, rl, "%s/api/v1/auth/oidc/%s/callback", redirect_base,
			 p->name);
	}
	return 0;
}

/* ---------- HTTP (libcurl) ---------- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static int curl_ok;

static void curl_start(void)
{
	curl_ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
}

static size_t on_body(char *ptr, size_t size, size_t n, void *ud)
{
	struct buf *b = ud;
	return buf_append(b, ptr, size * n) < 0 ? 0 : size * n;
}

/*
 * GET url (form NULL) or POST form (application/x-www-form-urlencoded),
 * with HTTP Basic user:pass when user is set. The JSON object answered, or
 * NULL with err. *status gets the HTTP status.
 */
static json_t *http_json(const char *url, const char *form, const char *user, const char *pass,
			 long *status, char *err, size_t errlen)
{
	*status = 0;
	pthread_once(&curl_once, curl_start);
	if (!curl_ok) {
		snprintf(err, errlen, "libcurl could not start");
		return NULL;
	}
	if (!url_allowed(url)) {
		snprintf(err, errlen, "the provider named an endpoint that is not https");
		return NULL;
	}
	CURL *h = curl_easy_init();
	if (!h) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	struct buf b = {.limit = OIDC_MAX_BODY};
	struct curl_slist *hdr = curl_slist_append(NULL, "Accept: application/json");
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, OIDC_TIMEOUT_S);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	if (form)
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, form);
	if (user) {
		curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(h, CURLOPT_USERNAME, user);
		curl_easy_setopt(h, CURLOPT_PASSWORD, pass);
	}
	CURLcode cc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
	json_t *j = NULL;
	if (cc != CURLE_OK) {
		snprintf(err, errlen, "the provider could not be reached: %s",
			 curl_easy_strerror(cc));
	} else if (!(j = json_loadb(b.data ? b.data : "", b.len, 0, NULL)) || !json_is_object(j)) {
		json_decref(j);
		j = NULL;
		snprintf(err, errlen, "the provider answered %ld without a JSON object", *status);
	}
	curl_slist_free_all(hdr);
	curl_easy_cleanup(h);
	buf_free(&b);
	return j;
}

static char *dup_str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s && *s ? strdup(s) : NULL;
}

/* Discovery and the JWKS when missing or older than an hour (force: the JWKS now). Under lock. */
static int refresh(struct provider *p, bool force_jwks, char *err, size_t errlen)
{
	int64_t now = time_now_ms();
	long st;
	if (!p->token_endpoint || now - p->discovered_at > OIDC_CACHE_MS) {
		char url[700];
		snprintf(url, sizeof url, "%s/.well-known/openid-configuration", p->issuer);
		json_t *d = http_json(url, NULL, NULL, NULL, &st, err, errlen);
		if (!d)
			return -1;
		const char *iss = json_string_value(json_object_get(d, "issuer"));
		char *ae = dup_str(d, "authorization_endpoint"), *te = dup_str(d, "token_endpoint"),
		     *ju = dup_str(d, "jwks_uri");
		int rc = 0;
		if (st != 200 || !iss || strcmp(iss, p->issuer) || !ae || !te || !ju) {
			snprintf(
			    err, errlen,
			    "the provider's discovery document (%ld) does not describe issuer %s",
			    st, p->issuer);
			free(ae);
			free(te);
			free(ju);
			rc = -1;
		} else {
			free(p->authorization_endpoint);
			free(p->token_endpoint);
			free(p->jwks_uri);
			p->authorization_endpoint = ae;
			p->token_endpoint = te;
			p->jwks_uri = ju;
			p->discovered_at = now;
			force_jwks = true;
		}
		json_decref(d);
		if (rc)
			return rc;
	}
	if (force_jwks || !p->jwks || now - p->jwks_at > OIDC_CACHE_MS) {
		json_t *k = http_json(p->jwks_uri, NULL, NULL, NULL, &st, err, errlen);
		if (!k)
			return -1;
		if (st != 200 || !json_is_array(json_object_get(k, "keys"))) {
			json_decref(k);
			snprintf(err, errlen, "the provider's JWKS (%ld) holds no keys", st);
			return -1;
		}
		json_decref(p->jwks);
		p->jwks = k;
		p->jwks_at = now;
	}
	return 0;
}

static char *escape(CURL *h, const char *s)
{
	return curl_easy_escape(h, s, 0);
}

char *oidc_authorize_url(const char *name, const char *state, const char *nonce,
			 const char *code_challenge, char *err, size_t errlen)
{
	struct provider *p = find(name);
	if (!p) {
		snprintf(err, errlen, "no such provider");
		return NULL;
	}
	pthread_once(&curl_once, curl_start);
	pthread_mutex_lock(&p->lock);
	char *out = NULL;
	CURL *h = refresh(p, false, err, errlen) == 0 ? curl_easy_init() : NULL;
	if (h) {
		char *cid = escape(h, p->client_id), *ru = escape(h, p->redirect_uri),
		     *st = escape(h, state), *no = escape(h, nonce);
		struct buf b = {0};
		if (cid && ru && st && no &&
		    buf_printf(&b,
			       "%s%cresponse_type=code&client_id=%s&redirect_uri=%s"
			       "&scope=openid%%20email%%20profile&state=%s&nonce=%s"
			       "&code_challenge=%s&code_challenge_method=S256",
			       p->authorization_endpoint,
			       strchr(p->authorization_endpoint, '?') ? '&' : '?', cid, ru, st, no,
			       code_challenge) == 0)
			out = buf_steal(&b);
		else
			snprintf(err, errlen, "out of memory");
		buf_free(&b);
		curl_free(cid);
		curl_free(ru);
		curl_free(st);
		curl_free(no);
		curl_easy_cleanup(h);
	}
	pthread_mutex_unlock(&p->lock);
	return out;
}

/* ---------- JWS ---------- */

/* base64url text into a malloc'd buffer (*len); NULL when it is not base64url. */
static unsigned char *b64d(const char *s, size_t n, size_t *len)
{
	unsigned char *out = malloc(n * 3 / 4 + 4);
	long r = out ? crypto_b64url_decode(s, n, out, n * 3 / 4 + 4) : -1;
	if (r < 0) {
		free(out);
		return NULL;
	}
	*len = (size_t)r;
	return out;
}

static unsigned char *b64d_member(const json_t *o, const char *key, size_t *len)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? b64d(s, strlen(s), len) : NULL;
}

static int verify_rs256(const json_t *jwk, const uint8_t digest[32], const unsigned char *sig,
			size_t siglen, char *err, size_t errlen)
{
	size_t nl = 0, el = 0;
	unsigned char *n = b64d_member(jwk, "n", &nl), *e = b64d_member(jwk, "e", &el);
	int rc = -1;
	struct rsa_public_key pub;
	rsa_public_key_init(&pub);
	mpz_t s;
	mpz_init(s);
	if (!n || !e || nl < 256 || nl > 1024 || el == 0 || el > 8) {
		snprintf(err, errlen,
			 "the provider's RSA key is malformed or shorter than 2048 bits");
		goto out;
	}
	nettle_mpz_set_str_256_u(pub.n, nl, n);
	nettle_mpz_set_str_256_u(pub.e, el, e);
	if (!rsa_public_key_prepare(&pub)) {
		snprintf(err, errlen, "the provider's RSA key is not usable");
		goto out;
	}
	if (siglen != pub.size) {
		snprintf(err, errlen, "the ID token's signature has the wrong length");
		goto out;
	}
	nettle_mpz_set_str_256_u(s, siglen, sig);
	if (!rsa_sha256_verify_digest(&pub, digest, s)) {
		snprintf(err, errlen, "the ID token's signature does not match the provider's key");
		goto out;
	}
	rc = 0;
out:
	mpz_clear(s);
	rsa_public_key_clear(&pub);
	free(n);
	free(e);
	return rc;
}

static int verify_es256(const json_t *jwk, const uint8_t digest[32], const unsigned char *sig,
			size_t siglen, char *err, size_t errlen)
{
	const char *crv = json_string_value(json_object_get(jwk, "crv"));
	size_t xl = 0, yl = 0;
	unsigned char *x = b64d_member(jwk, "x", &xl), *y = b64d_member(jwk, "y", &yl);
	int rc = -1;
	struct ecc_point pub;
	ecc_point_init(&pub, nettle_get_secp_256r1());
	struct dsa_signature ds;
	dsa_signature_init(&ds);
	mpz_t mx, my;
	mpz_init(mx);
	mpz_init(my);
	if (!crv || strcmp(crv, "P-256") || !x || !y || xl != 32 || yl != 32) {
		snprintf(err, errlen, "the provider's EC key is not a P-256 key");
		goto out;
	}
	nettle_mpz_set_str_256_u(mx, 32, x);
	nettle_mpz_set_str_256_u(my, 32, y);
	if (!ecc_point_set(&pub, mx, my)) {
		snprintf(err, errlen, "the provider's EC key is not on the curve");
		goto out;
	}
	if (siglen != 64) {
		snprintf(err, errlen, "the ID token's signature has the wrong length");
		goto out;
	}
	nettle_mpz_set_str_256_u(ds.r, 32, sig);
	nettle_mpz_set_str_256_u(ds.s, 32, sig + 32);
	if (!ecdsa_verify(&pub, 32, digest, &ds)) {
		snprintf(err, errlen, "the ID token's signature does not match the provider's key");
		goto out;
	}
	rc = 0;
out:
	mpz_clear(mx);
	mpz_clear(my);
	dsa_signature_clear(&ds);
	ecc_point_clear(&pub);
	free(x);
	free(y);
	return rc;
}

int oidc_jws_verify(const json_t *jwks, const char *jwt, json_t **claims, char *err, size_t errlen)
{
	*claims = NULL;
	size_t len = strlen(jwt);
	const char *d1 = strchr(jwt, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
	if (len > JWT_MAX || !d1 || !d2 || strchr(d2 + 1, '.')) {
		snprintf(err, errlen, "the ID token is not a signed JWT (three parts)");
		return -1;
	}
	size_t hl = 0, pl = 0, sl = 0;
	unsigned char *hraw = b64d(jwt, (size_t)(d1 - jwt), &hl);
	unsigned char *praw = b64d(d1 + 1, (size_t)(d2 - d1 - 1), &pl);
	unsigned char *sig = b64d(d2 + 1, strlen(d2 + 1), &sl);
	json_t *hdr = hraw ? json_loadb((const char *)hraw, hl, 0, NULL) : NULL;
	json_t *payload = NULL;
	int rc = -1;
	if (!hdr || !json_is_object(hdr) || !praw || !sig) {
		snprintf(err, errlen, "the ID token is not valid base64url JSON");
		goto out;
	}
	const char *alg = json_string_value(json_object_get(hdr, "alg"));
	const char *kid = json_string_value(json_object_get(hdr, "kid"));
	const char *kty = NULL;
	if (alg && !strcmp(alg, "RS256"))
		kty = "RSA";
	else if (alg && !strcmp(alg, "ES256"))
		kty = "EC";
	if (!kty) {
		snprintf(
		    err, errlen,
		    "the ID token is signed with alg '%.16s'; only RS256 and ES256 are accepted",
		    alg ? alg : "(none)");
		goto out;
	}
	if (json_object_get(hdr, "crit")) {
		snprintf(err, errlen, "the ID token has critical header parameters we do not know");
		goto out;
	}
	const json_t *keys = json_object_get(jwks, "keys"), *jwk = NULL, *k;
	size_t i, candidates = 0;
	json_array_foreach(keys, i, k)
	{
		const char *t = json_string_value(json_object_get(k, "kty"));
		const char *use = json_string_value(json_object_get(k, "use"));
		const char *kalg = json_string_value(json_object_get(k, "alg"));
		const char *kk = json_string_value(json_object_get(k, "kid"));
		if (!t || strcmp(t, kty) || (use && strcmp(use, "sig")) ||
		    (kalg && strcmp(kalg, alg)))
			continue;
		if (kid ? (kk && !strcmp(kk, kid)) : true) {
			jwk = k;
			candidates++;
		}
	}
	if (!jwk) {
		snprintf(err, errlen, "no key of the provider matches the ID token (kid %.64s)",
			 kid ? kid : "none");
		rc = 1;
		goto out;
	}
	if (!kid && candidates > 1) {
		snprintf(err, errlen, "the ID token names no key and the provider has several");
		goto out;
	}
	uint8_t digest[32];
	crypto_sha256(jwt, (size_t)(d2 - jwt), digest);
	if ((!strcmp(kty, "RSA") ? verify_rs256 : verify_es256)(jwk, digest, sig, sl, err, errlen))
		goto out;
	payload = json_loadb((const char *)praw, pl, 0, NULL);
	if (!json_is_object(payload)) {
		snprintf(err, errlen, "the ID token's payload is not a JSON object");
		goto out;
	}
	*claims = payload;
	payload = NULL;
	rc = 0;
out:
	json_decref(payload);
	json_decref(hdr);
	free(hraw);
	free(praw);
	free(sig);
	return rc;
}

int oidc_claims_check(const json_t *c, const char *issuer, const char *client_id, const char *nonce,
		      int64_t now_s, char *err, size_t errlen)
{
	const char *iss = json_string_value(json_object_get(c, "iss"));
	if (!iss || strcmp(iss, issuer)) {
		snprintf(err, errlen, "the ID token was issued by '%.100s', not by %.200s",
			 iss ? iss : "(nobody)", issuer);
		return -1;
	}
	const json_t *aud = json_object_get(c, "aud"), *a;
	bool ours = false;
	size_t i;
	if (json_is_string(aud)) {
		ours = !strcmp(json_string_value(aud), client_id);
	} else if (json_is_array(aud)) {
		json_array_foreach(aud, i, a) if (json_is_string(a) &&
						  !strcmp(json_string_value(a), client_id)) ours =
		    true;
		const char *azp = json_string_value(json_object_get(c, "azp"));
		if (ours && json_array_size(aud) > 1 && (!azp || strcmp(azp, client_id)))
			ours = false;
	}
	if (!ours) {
		snprintf(err, errlen, "the ID token is meant for another client");
		return -1;
	}
	const json_t *exp = json_object_get(c, "exp"), *iat = json_object_get(c, "iat");
	if (!json_is_integer(exp) || json_integer_value(exp) + 60 < now_s) {
		snprintf(err, errlen, "the ID token has expired");
		return -1;
	}
	if (iat && (!json_is_integer(iat) || json_integer_value(iat) > now_s + 300)) {
		snprintf(err, errlen, "the ID token was issued in the future");
		return -1;
	}
	const char *n = json_string_value(json_object_get(c, "nonce"));
	if (!n || !crypto_streq(n, nonce)) {
		snprintf(err, errlen, "the ID token's nonce is not the one this login sent");
		return -1;
	}
	const char *sub = json_string_value(json_object_get(c, "sub"));
	if (!sub || !*sub || strlen(sub) > 255) {
		snprintf(err, errlen, "the ID token names no subject");
		return -1;
	}
	return 0;
}

void oidc_pkce_challenge(const char *verifier, char out[48])
{
	unsigned char d[32];
	crypto_sha256(verifier, strlen(verifier), d);
	crypto_b64url_encode(d, sizeof d, out, 48);
}

/* ---------- the callback's work ---------- */

static void copy_claim(const json_t *c, const char *key, char *out, size_t outlen)
{
	const char *s = json_string_value(json_object_get(c, key));
	snprintf(out, outlen, "%s", s ? s : "");
}

enum oidc_rc oidc_finish(const char *name, const char *code, const char *verifier,
			 const char *nonce, struct oidc_identity *id, char *err, size_t errlen)
{
	memset(id, 0, sizeof *id);
	err[0] = '\0';
	struct provider *p = find(name);
	if (!p) {
		snprintf(err, errlen, "no such provider");
		return OIDC_REFUSED;
	}
	pthread_once(&curl_once, curl_start);
	enum oidc_rc rc = OIDC_UNAVAILABLE;
	json_t *tok = NULL, *claims = NULL;
	char *form = NULL, *token_endpoint = NULL;
	CURL *h = curl_easy_init();
	pthread_mutex_lock(&p->lock);
	if (refresh(p, false, err, errlen) == 0)
		token_endpoint = strdup(p->token_endpoint);
	pthread_mutex_unlock(&p->lock);
	if (!h || !token_endpoint)
		goto out;
	char *c = escape(h, code), *r = escape(h, p->redirect_uri), *v = escape(h, verifier);
	struct buf b = {0};
	if (c && r && v &&
	    buf_printf(&b, "grant_type=authorization_code&code=%s&redirect_uri=%s&code_verifier=%s",
		       c, r, v) == 0)
		form = buf_steal(&b);
	buf_free(&b);
	curl_free(c);
	curl_free(r);
	curl_free(v);
	if (!form)
		goto out;
	long st;
	tok = http_json(token_endpoint, form, p->client_id, p->client_secret, &st, err, errlen);
	if (!tok)
		goto out;
	if (st != 200) {
		const char *e = json_string_value(json_object_get(tok, "error"));
		snprintf(err, errlen,
			 "the provider refused the login code (%.64s): it was used already, has "
			 "expired or was not issued for this login",
			 e ? e : "no reason given");
		rc = st >= 500 ? OIDC_UNAVAILABLE : OIDC_REFUSED;
		goto out;
	}
	const char *idt = json_string_value(json_object_get(tok, "id_token"));
	if (!idt) {
		snprintf(err, errlen, "the provider sent no ID token");
		rc = OIDC_BAD_TOKEN;
		goto out;
	}
	pthread_mutex_lock(&p->lock);
	int vr = oidc_jws_verify(p->jwks, idt, &claims, err, errlen);
	if (vr == 1 && time_now_ms() - p->jwks_at > OIDC_REFETCH_MS &&
	    refresh(p, true, err, errlen) == 0)
		vr = oidc_jws_verify(p->jwks, idt, &claims, err, errlen); /* keys rotated */
	pthread_mutex_unlock(&p->lock);
	if (vr != 0) {
		rc = OIDC_BAD_TOKEN;
		goto out;
	}
	if (oidc_claims_check(claims, p->issuer, p->client_id, nonce, time_now_ms() / 1000, err,
			      errlen)) {
		rc = OIDC_BAD_TOKEN;
		goto out;
	}
	copy_claim(claims, "sub", id->subject, sizeof id->subject);
	copy_claim(claims, "email", id->email, sizeof id->email);
	copy_claim(claims, "given_name", id->given_name, sizeof id->given_name);
	copy_claim(claims, "family_name", id->family_name, sizeof id->family_name);
	/* Only a JSON true counts (some providers send the string "true": not trusted). */
	id->email_verified = json_is_true(json_object_get(claims, "email_verified"));
	rc = OIDC_OK;
out:
	if (rc != OIDC_OK && !err[0])
		snprintf(err, errlen, "the provider could not be reached");
	json_decref(tok);
	json_decref(claims);
	free(form);
	free(token_endpoint);
	if (h)
		curl_easy_cleanup(h);
	return rc;
}
