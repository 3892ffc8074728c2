/*
 * crypto.h — thin wrappers over libsodium used across IAM.
 * crypto_init() must be called once before anything else here (it is safe
 * to call more than once). Nothing here allocates unless said.
 */
#ifndef IAM_CRYPTO_H
#define IAM_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

int crypto_init(void); /* 0 on success, -1 if libsodium cannot start */

void crypto_random(void *buf, size_t len);

/*
 * A random URL-safe token of nbytes of entropy, base64url without padding,
 * written NUL-terminated to out (outlen must be >= 4*nbytes/3 + 2).
 * Returns 0, or -1 if out is too small.
 */
int crypto_token(char *out, size_t outlen, size_t nbytes);

/* SHA-256 of data as 64 lowercase hex chars + NUL into out[65]. */
void crypto_sha256_hex(const void *data, size_t len, char out[65]);
/* Raw SHA-256 into out[32]. */
void crypto_sha256(const void *data, size_t len, unsigned char out[32]);

/* Incremental SHA-256 for data that streams by (uploads). */
struct crypto_sha256_ctx {
	unsigned char state[128] __attribute__((aligned(16))); /* crypto_hash_sha256_state */
};
void crypto_sha256_init(struct crypto_sha256_ctx *c);
void crypto_sha256_update(struct crypto_sha256_ctx *c, const void *data, size_t len);
void crypto_sha256_final(struct crypto_sha256_ctx *c, unsigned char out[32]);

/* HMAC-SHA256(key, data) into out[32]. */
void crypto_hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
			unsigned char out[32]);

/* Constant-time equality of two equal-length buffers. */
bool crypto_equal(const void *a, const void *b, size_t len);
/* Constant-time (in the content) equality of two C strings. */
bool crypto_streq(const char *a, const char *b);

/* Hex-encode len bytes into out (2*len+1). */
void crypto_hex(const void *data, size_t len, char *out);

/*
 * base64url (no padding) encode/decode. Encode writes NUL-terminated text
 * and returns its length, or -1 if outlen is too small. Decode returns the
 * number of bytes written or -1 on bad input / small buffer.
 */
long crypto_b64url_encode(const void *data, size_t len, char *out, size_t outlen);
long crypto_b64url_decode(const char *text, size_t textlen, void *out, size_t outlen);

/*
 * Authenticated encryption of a short secret (XSalsa20-Poly1305): the text
 * written is base64url(nonce || ciphertext), NUL-terminated. Returns its
 * length, or -1 if out is too small. CRYPTO_SEALED_LEN(n) is enough for n bytes.
 */
#define CRYPTO_SEALED_LEN(n) (((24 + 16 + (n)) + 2) / 3 * 4 + 1)
long crypto_seal(const unsigned char key[32], const void *msg, size_t len, char *out,
		 size_t outlen);
/*
 * Open what crypto_seal wrote with the same key. Returns the plaintext
 * length, or -1 if the text is damaged, forged, sealed with another key, or
 * out is too small.
 */
long crypto_open(const unsigned char key[32], const char *sealed, void *out, size_t outlen);

#endif
