/* Unit tests for core/crypto: known-answer vectors and edge cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/crypto.h"

static int setup(void **state)
{
	return crypto_init();
}

static void hex_of(const unsigned char *b, size_t n, char *out)
{
	crypto_hex(b, n, out);
}

static void test_init_twice(void **state)
{
	assert_int_equal(crypto_init(), 0);
	assert_int_equal(crypto_init(), 0);
}

static void test_sha256_vectors(void **state)
{
	char hex[65];
	unsigned char raw[32];
	char raw_hex[65];

	crypto_sha256_hex("", 0, hex);
	assert_string_equal(hex,
			    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	crypto_sha256_hex("abc", 3, hex);
	assert_string_equal(hex,
			    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	crypto_sha256("abc", 3, raw);
	hex_of(raw, sizeof raw, raw_hex);
	assert_string_equal(raw_hex, hex);
}

/* RFC 4231 test cases 1, 2 and 6 (a key longer than the block size). */
static void test_hmac_vectors(void **state)
{
	unsigned char key1[20], key6[131], mac[32];
	char hex[65];

	memset(key1, 0x0b, sizeof key1);
	crypto_hmac_sha256(key1, sizeof key1, "Hi There", 8, mac);
	hex_of(mac, sizeof mac, hex);
	assert_string_equal(hex,
			    "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");

	crypto_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, mac);
	hex_of(mac, sizeof mac, hex);
	assert_string_equal(hex,
			    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");

	memset(key6, 0xaa, sizeof key6);
	const char *msg = "Test Using Larger Than Block-Size Key - Hash Key First";
	crypto_hmac_sha256(key6, sizeof key6, msg, strlen(msg), mac);
	hex_of(mac, sizeof mac, hex);
	assert_string_equal(hex,
			    "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

static void test_equal(void **state)
{
	assert_true(crypto_equal("abcd", "abcd", 4));
	assert_false(crypto_equal("abcd", "abce", 4));
	assert_false(crypto_equal("xbcd", "abcd", 4));
	assert_true(crypto_equal("a", "b", 0));
}

static void test_streq(void **state)
{
	assert_true(crypto_streq("secret-token", "secret-token"));
	assert_true(crypto_streq("", ""));
	assert_false(crypto_streq("secret-token", "secret-tokem"));
	assert_false(crypto_streq("secret-token", "secret-token2"));
	assert_false(crypto_streq("secret", "secret-token"));
	assert_false(crypto_streq("", "a"));
	assert_false(crypto_streq(NULL, "a"));
	assert_false(crypto_streq("a", NULL));
	assert_false(crypto_streq(NULL, NULL));
}

static void test_hex(void **state)
{
	const unsigned char b[] = {0x00, 0x01, 0xab, 0xff};
	char out[9];

	crypto_hex(b, sizeof b, out);
	assert_string_equal(out, "0001abff");
	crypto_hex(b, 0, out);
	assert_string_equal(out, "");
}

/* RFC 4648 section 10 vectors, without padding. */
static void test_b64url_vectors(void **state)
{
	static const char *plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	static const char *enc[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
	char out[16];
	unsigned char back[16];

	for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++) {
		long n = crypto_b64url_encode(plain[i], strlen(plain[i]), out, sizeof out);
		assert_int_equal(n, (long)strlen(enc[i]));
		assert_string_equal(out, enc[i]);
		n = crypto_b64url_decode(enc[i], strlen(enc[i]), back, sizeof back);
		assert_int_equal(n, (long)strlen(plain[i]));
		assert_memory_equal(back, plain[i], (size_t)n);
	}
}

static void test_b64url_alphabet(void **state)
{
	const unsigned char b[] = {0xfb, 0xff};
	unsigned char back[4];
	char out[8];

	assert_int_equal(crypto_b64url_encode(b, sizeof b, out, sizeof out), 3);
	assert_string_equal(out, "-_8");
	assert_int_equal(crypto_b64url_decode("-_8", 3, back, sizeof back), 2);
	assert_memory_equal(back, b, 2);
}

static void test_b64url_rejects(void **state)
{
	unsigned char out[16];

	assert_int_equal(crypto_b64url_decode("+/8", 3, out, sizeof out),
			 -1); /* standard alphabet */
	assert_int_equal(crypto_b64url_decode("Zg==", 4, out, sizeof out), -1); /* padding */
	assert_int_equal(crypto_b64url_decode("Zm 9v", 5, out, sizeof out), -1);
	assert_int_equal(crypto_b64url_decode("Zm9v\n", 5, out, sizeof out), -1);
	assert_int_equal(crypto_b64url_decode("Z", 1, out, sizeof out), -1); /* impossible length */
	assert_int_equal(crypto_b64url_decode("Zh", 2, out, sizeof out),
			 -1);						   /* non-canonical bits */
	assert_int_equal(crypto_b64url_decode("Zm9vYmFy", 8, out, 5), -1); /* buffer too small */
	assert_int_equal(crypto_b64url_decode(NULL, 0, out, sizeof out), -1);
	/* Only textlen bytes are read: a NUL inside is an invalid character. */
	assert_int_equal(crypto_b64url_decode("Zm\0v", 4, out, sizeof out), -1);
}

static void test_b64url_encode_small_buffer(void **state)
{
	char out[9];

	/* "foobar" needs 8 chars + NUL: 9 fits, 8 does not. */
	assert_int_equal(crypto_b64url_encode("foobar", 6, out, 8), -1);
	assert_int_equal(crypto_b64url_encode("foobar", 6, out, 9), 8);
	assert_int_equal(crypto_b64url_encode("f", 1, out, 2), -1);
	assert_int_equal(crypto_b64url_encode("f", 1, NULL, 0), -1);
}

static void test_token(void **state)
{
	char a[64], b[64];
	unsigned char raw[64];

	assert_int_equal(crypto_token(a, sizeof a, 32), 0);
	assert_int_equal(strlen(a), 43);
	assert_int_equal(
	    strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), 43);
	assert_int_equal(crypto_b64url_decode(a, strlen(a), raw, sizeof raw), 32);
	assert_int_equal(crypto_token(b, sizeof b, 32), 0);
	assert_string_not_equal(a, b);

	/* The header's bound (4*nbytes/3 + 2) is enough: 4*32/3+2 = 44. */
	assert_int_equal(crypto_token(a, 44, 32), 0);
	assert_int_equal(crypto_token(a, 43, 32), -1);
	assert_int_equal(crypto_token(a, sizeof a, 0), -1);
	assert_int_equal(crypto_token(NULL, 0, 16), -1);
	for (size_t n = 1; n <= 40; n++) {
		assert_int_equal(crypto_token(a, 4 * n / 3 + 2, n), 0);
		assert_int_equal(crypto_b64url_decode(a, strlen(a), raw, sizeof raw), (long)n);
	}
}

/* Tokens longer than the internal chunk must still be one valid encoding. */
static void test_token_long(void **state)
{
	static char text[2000];
	static unsigned char raw[1500];

	assert_int_equal(crypto_token(text, sizeof text, 1000), 0);
	assert_int_equal(strlen(text), 1334);
	assert_int_equal(crypto_b64url_decode(text, strlen(text), raw, sizeof raw), 1000);
}

static void test_random(void **state)
{
	unsigned char a[32] = {0}, b[32] = {0}, zero[32] = {0};

	crypto_random(a, sizeof a);
	crypto_random(b, sizeof b);
	assert_memory_not_equal(a, zero, sizeof a);
	assert_memory_not_equal(a, b, sizeof a);
	crypto_random(NULL, 0);
}

/* crypto_seal / crypto_open (the refresh grace window keeps a successor sealed). */
static void test_seal_open(void **state)
{
	unsigned char key[32], other[32];
	memset(key, 7, sizeof key);
	memset(other, 8, sizeof other);
	const char *msg = "rt_successor-token-text";
	char sealed[CRYPTO_SEALED_LEN(64)], sealed2[CRYPTO_SEALED_LEN(64)], out[64];
	long n = crypto_seal(key, msg, strlen(msg), sealed, sizeof sealed);
	assert_true(n > 0);
	assert_int_equal((size_t)n, strlen(sealed));
	assert_int_equal(crypto_open(key, sealed, out, sizeof out), (long)strlen(msg));
	assert_memory_equal(out, msg, strlen(msg));
	/* a fresh nonce each time */
	assert_true(crypto_seal(key, msg, strlen(msg), sealed2, sizeof sealed2) > 0);
	assert_string_not_equal(sealed, sealed2);
	/* another key, a flipped character, a truncation, garbage: all refused */
	assert_int_equal(crypto_open(other, sealed, out, sizeof out), -1);
	char bad[sizeof sealed];
	memcpy(bad, sealed, sizeof sealed);
	bad[10] = bad[10] == 'A' ? 'B' : 'A';
	assert_int_equal(crypto_open(key, bad, out, sizeof out), -1);
	bad[10] = sealed[10];
	bad[strlen(bad) - 3] = '\0';
	assert_int_equal(crypto_open(key, bad, out, sizeof out), -1);
	assert_int_equal(crypto_open(key, "", out, sizeof out), -1);
	assert_int_equal(crypto_open(key, "!!!", out, sizeof out), -1);
	assert_int_equal(crypto_open(key, NULL, out, sizeof out), -1);
	/* too small an output buffer, too small a sealed buffer */
	assert_int_equal(crypto_open(key, sealed, out, 4), -1);
	assert_int_equal(crypto_seal(key, msg, strlen(msg), sealed2, 20), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_init_twice),
	    cmocka_unit_test(test_sha256_vectors),
	    cmocka_unit_test(test_hmac_vectors),
	    cmocka_unit_test(test_equal),
	    cmocka_unit_test(test_streq),
	    cmocka_unit_test(test_hex),
	    cmocka_unit_test(test_b64url_vectors),
	    cmocka_unit_test(test_b64url_alphabet),
	    cmocka_unit_test(test_b64url_rejects),
	    cmocka_unit_test(test_b64url_encode_small_buffer),
	    cmocka_unit_test(test_token),
	    cmocka_unit_test(test_token_long),
	    cmocka_unit_test(test_random),
	    cmocka_unit_test(test_seal_open),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
