#include "core/crypto.h"

#include <limits.h>
#include <sodium.h>
#include <string.h>

#define B64_VARIANT sodium_base64_VARIANT_URLSAFE_NO_PADDING

int crypto_init(void)
{
	/* 0 = started now, 1 = already started; both are fine. */
	return sodium_init() < 0 ? -1 : 0;
}

void crypto_random(void *buf, size_t len)
{
	if (len)
		randombytes_buf(buf, len);
}

/*
 * Bytes needed to base64url-encode len bytes without padding, plus the NUL,
 * or 0 if that would not fit in a size_t (sodium_bin2base64 aborts on a short
 * buffer, so the size must be known exactly before calling it).
 */
static size_t b64url_size(size_t len)
{
	if (len > (SIZE_MAX - 8) / 4 * 3)
		return 0;
	return sodium_base64_ENCODED_LEN(len, B64_VARIANT);
}

int crypto_token(char *out, size_t outlen, size_t nbytes)
{
	/*
	 * Random bytes go through a small stack buffer in chunks of a multiple
	 * of 3 bytes: base64 of such chunks concatenates to the base64 of the
	 * whole, so any nbytes works without allocating.
	 */
	unsigned char chunk[255];
	size_t need = b64url_size(nbytes);
	size_t pos = 0;
	int rc = -1;

	if (!out || nbytes == 0 || need == 0 || outlen < need)
		goto fail;
	while (nbytes > 0) {
		size_t n = nbytes < sizeof chunk ? nbytes : sizeof chunk;
		randombytes_buf(chunk, n);
		sodium_bin2base64(out + pos, outlen - pos, chunk, n, B64_VARIANT);
		pos += strlen(out + pos);
		nbytes -= n;
	}
	rc = 0;
fail:
	sodium_memzero(chunk, sizeof chunk);
	return rc;
}

void crypto_sha256(const void *data, size_t len, unsigned char out[32])
{
	crypto_hash_sha256(out, data, len);
}

void crypto_sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char digest[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(digest, data, len);
	sodium_bin2hex(out, 65, digest, sizeof digest);
}

void crypto_hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
			unsigned char out[32])
{
	/* The init/update/final form takes a key of any length (JWT secrets are 32..64). */
	crypto_auth_hmacsha256_state st;

	crypto_auth_hmacsha256_init(&st, key, keylen);
	crypto_auth_hmacsha256_update(&st, data, len);
	crypto_auth_hmacsha256_final(&st, out);
	sodium_memzero(&st, sizeof st);
}

bool crypto_equal(const void *a, const void *b, size_t len)
{
	if (len == 0)
		return true;
	return sodium_memcmp(a, b, len) == 0;
}

bool crypto_streq(const char *a, const char *b)
{
	/*
	 * Comparing the strings byte by byte would stop (or branch) at the first
	 * difference or at the shorter length. Hashing both to fixed-size digests
	 * and comparing those in constant time leaks only the lengths, through
	 * the hashing time, never the content.
	 */
	unsigned char da[crypto_hash_sha256_BYTES];
	unsigned char db[crypto_hash_sha256_BYTES];

	if (!a || !b)
		return false; /* a missing secret never matches, not even another missing one */
	crypto_hash_sha256(da, (const unsigned char *)a, strlen(a));
	crypto_hash_sha256(db, (const unsigned char *)b, strlen(b));
	return sodium_memcmp(da, db, sizeof da) == 0;
}

void crypto_hex(const void *data, size_t len, char *out)
{
	sodium_bin2hex(out, 2 * len + 1, data, len);
}

long crypto_b64url_encode(const void *data, size_t len, char *out, size_t outlen)
{
	size_t need = b64url_size(len);

	if (!out || need == 0 || need - 1 > LONG_MAX || outlen < need)
		return -1;
	sodium_bin2base64(out, outlen, data, len, B64_VARIANT);
	return (long)(need - 1);
}

long crypto_b64url_decode(const char *text, size_t textlen, void *out, size_t outlen)
{
	size_t binlen = 0;

	if (!text)
		return -1;
	/*
	 * b64_end NULL: the whole input must be base64url. libsodium also refuses
	 * non-canonical trailing bits and impossible lengths, so every byte string
	 * has exactly one accepted encoding (a JWT cannot be altered without
	 * changing its signing input).
	 */
	if (sodium_base642bin(out, outlen, text, textlen, NULL, &binlen, NULL, B64_VARIANT) != 0)
		return -1;
	if (binlen > LONG_MAX)
		return -1;
	return (long)binlen;
}

_Static_assert(sizeof(crypto_hash_sha256_state) <= sizeof(((struct crypto_sha256_ctx *)0)->state),
	       "crypto_sha256_ctx too small");

void crypto_sha256_init(struct crypto_sha256_ctx *c)
{
	crypto_hash_sha256_init((crypto_hash_sha256_state *)(void *)c->state);
}

void crypto_sha256_update(struct crypto_sha256_ctx *c, const void *data, size_t len)
{
	crypto_hash_sha256_update((crypto_hash_sha256_state *)(void *)c->state, data, len);
}

void crypto_sha256_final(struct crypto_sha256_ctx *c, unsigned char out[32])
{
	crypto_hash_sha256_final((crypto_hash_sha256_state *)(void *)c->state, out);
}

long crypto_seal(const unsigned char key[32], const void *msg, size_t len, char *out, size_t outlen)
{
	unsigned char buf[crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + 256];
	long n = -1;
	if (len > 256)
		return -1;
	randombytes_buf(buf, crypto_secretbox_NONCEBYTES);
	if (crypto_secretbox_easy(buf + crypto_secretbox_NONCEBYTES, msg, len, buf, key) == 0)
		n = crypto_b64url_encode(
		    buf, crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + len, out,
		    outlen);
	sodium_memzero(buf, sizeof buf);
	return n;
}

long crypto_open(const unsigned char key[32], const char *sealed, void *out, size_t outlen)
{
	unsigned char buf[crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + 256];
	const size_t overhead = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES;
	long n = sealed ? crypto_b64url_decode(sealed, strlen(sealed), buf, sizeof buf) : -1;
	long rc = -1;
	if (n >= (long)overhead && (size_t)n - overhead <= outlen &&
	    crypto_secretbox_open_easy(out, buf + crypto_secretbox_NONCEBYTES,
				       (unsigned long long)n - crypto_secretbox_NONCEBYTES, buf,
				       key) == 0)
		rc = n - (long)overhead;
	sodium_memzero(buf, sizeof buf);
	return rc;
}
