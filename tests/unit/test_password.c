/*
 * Unit tests for auth/password. Most run at libsodium's minimum cost to stay
 * fast; test_default_cost runs once at the production default.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <time.h>

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "auth/password.h"
#include "core/crypto.h"

#define MIN_OPS crypto_pwhash_OPSLIMIT_MIN
#define MIN_MEM crypto_pwhash_MEMLIMIT_MIN

static int setup(void **state)
{
	if (crypto_init() != 0)
		return -1;
	password_set_cost(MIN_OPS, MIN_MEM);
	return 0;
}

static void test_hash_verify(void **state)
{
	char h[PASSWORD_HASH_MAX];

	assert_int_equal(password_hash("correct horse battery", h), 0);
	assert_true(strncmp(h, "$argon2id$v=19$", 15) == 0);
	assert_true(strlen(h) < PASSWORD_HASH_MAX);
	assert_true(password_verify("correct horse battery", h));
	assert_false(password_verify("correct horse batterz", h));
	assert_false(password_verify("correct horse battery ", h));
	assert_false(password_verify("", h));
	assert_false(password_verify(NULL, h));
}

static void test_salted(void **state)
{
	char a[PASSWORD_HASH_MAX], b[PASSWORD_HASH_MAX];

	assert_int_equal(password_hash("same password", a), 0);
	assert_int_equal(password_hash("same password", b), 0);
	assert_string_not_equal(a, b);
	assert_true(password_verify("same password", a));
	assert_true(password_verify("same password", b));
}

static void test_unicode_and_empty(void **state)
{
	char h[PASSWORD_HASH_MAX];

	assert_int_equal(password_hash("pässwörd ☃ 密码", h), 0);
	assert_true(password_verify("pässwörd ☃ 密码", h));
	assert_false(password_verify("passwörd ☃ 密码", h));
	/* The minimum length is the API's policy; hashing itself accepts "". */
	assert_int_equal(password_hash("", h), 0);
	assert_true(password_verify("", h));
}

static void test_needs_rehash(void **state)
{
	char h[PASSWORD_HASH_MAX];

	assert_int_equal(password_hash("rehash me please", h), 0);
	assert_false(password_needs_rehash(h));

	password_set_cost(MIN_OPS + 1, MIN_MEM);
	assert_true(password_needs_rehash(h));
	assert_true(password_verify("rehash me please", h)); /* old hashes still verify */
	password_set_cost(MIN_OPS, MIN_MEM * 2);
	assert_true(password_needs_rehash(h));

	password_set_cost(MIN_OPS, MIN_MEM);
	assert_false(password_needs_rehash(h));
}

/* An argon2i hash verifies (libsodium reads both) but is always due for rehash. */
static void test_argon2i_is_rehashed(void **state)
{
	char h[crypto_pwhash_STRBYTES];

	assert_int_equal(crypto_pwhash_str_alg(h, "legacy password", 15, MIN_OPS < 3 ? 3 : MIN_OPS,
					       MIN_MEM, crypto_pwhash_ALG_ARGON2I13),
			 0);
	assert_true(password_verify("legacy password", h));
	password_set_cost(MIN_OPS < 3 ? 3 : MIN_OPS, MIN_MEM);
	assert_true(password_needs_rehash(h));
	password_set_cost(MIN_OPS, MIN_MEM);
}

static void test_too_long(void **state)
{
	char h[PASSWORD_HASH_MAX];
	char *pw = malloc(PASSWORD_MAX_LEN + 2);

	assert_non_null(pw);
	memset(pw, 'x', PASSWORD_MAX_LEN + 1);
	pw[PASSWORD_MAX_LEN] = '\0'; /* exactly the limit: accepted */
	assert_int_equal(password_hash(pw, h), 0);
	assert_true(password_verify(pw, h));

	pw[PASSWORD_MAX_LEN] = 'x'; /* one over: refused everywhere */
	pw[PASSWORD_MAX_LEN + 1] = '\0';
	assert_int_equal(password_hash(pw, h), -1);
	assert_false(password_verify(pw, h));
	password_burn(pw); /* returns without crashing */
	free(pw);
}

static void test_bad_hashes(void **state)
{
	char h[PASSWORD_HASH_MAX];
	char junk[300];

	assert_int_equal(password_hash(NULL, h), -1);
	assert_false(password_verify("x", NULL));
	assert_false(password_verify("x", ""));
	assert_false(password_verify("x", "$argon2id$"));
	assert_false(password_verify("x", "$argon2id$v=19$m=8,t=1,p=1$AAAA$AAAA"));
	assert_false(
	    password_verify("x", "$2b$12$abcdefghijklmnopqrstuu5Xe2i0mHp2BFn3Ty8JGmvVfXeEKfCm"));
	assert_true(password_needs_rehash(NULL));
	assert_true(password_needs_rehash("not a hash"));

	/* An unterminated or overlong "hash" is refused without reading past it. */
	memset(junk, 'a', sizeof junk - 1);
	junk[sizeof junk - 1] = '\0';
	memcpy(junk, "$argon2id$", 10);
	assert_false(password_verify("x", junk));
	assert_true(password_needs_rehash(junk));

	/* A real hash with its last character changed no longer matches. */
	assert_int_equal(password_hash("tamper", h), 0);
	size_t n = strlen(h);
	h[n - 2] = h[n - 2] == 'A' ? 'B' : 'A';
	assert_false(password_verify("tamper", h));
}

static void test_burn(void **state)
{
	/* Nothing to assert but that it works on any input, repeatedly. */
	password_burn("no such user's password");
	password_burn("");
	password_burn(NULL);
	password_burn("again");
}

static void test_default_cost(void **state)
{
	char h[PASSWORD_HASH_MAX];

	password_set_cost(crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE);
	assert_int_equal(password_hash("production cost password", h), 0);
	assert_non_null(strstr(h, "$m=65536,t=2,p=1$"));
	assert_true(password_verify("production cost password", h));
	assert_false(password_verify("production cost passwore", h));
	assert_false(password_needs_rehash(h));
	password_set_cost(MIN_OPS, MIN_MEM);
	assert_true(password_needs_rehash(h));
}

/* ---- the hashing gate (issue 8 item 8) ---- */

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct gate_try {
	int rc;
	int64_t ms;
};

static void *gate_try_thread(void *arg)
{
	struct gate_try *t = arg;
	int64_t t0 = mono_ms();
	t->rc = password_gate_enter();
	t->ms = mono_ms() - t0;
	if (t->rc == 0)
		password_gate_leave();
	return NULL;
}

static void *gate_release_later(void *arg)
{
	(void)arg;
	struct timespec ts = {0, 50 * 1000000L};
	nanosleep(&ts, NULL);
	password_gate_leave();
	return NULL;
}

static void test_gate(void **state)
{
	password_gate_set(1, 100);
	assert_int_equal(password_gate_enter(), 0);
	/* full: a second caller waits about wait_ms, then is refused */
	struct gate_try t = {0};
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, gate_try_thread, &t), 0);
	pthread_join(th, NULL);
	assert_int_equal(t.rc, -1);
	assert_true(t.ms >= 90 && t.ms < 1000);
	/* a slot that comes free while waiting is taken */
	pthread_t rel;
	assert_int_equal(pthread_create(&rel, NULL, gate_release_later, NULL), 0);
	int64_t t0 = mono_ms();
	assert_int_equal(password_gate_enter(), 0);
	assert_true(mono_ms() - t0 < 100);
	pthread_join(rel, NULL);
	password_gate_leave();
	/* no waiting allowed: refused at once */
	password_gate_set(1, 0);
	assert_int_equal(password_gate_enter(), 0);
	t0 = mono_ms();
	assert_int_equal(password_gate_enter(), -1);
	assert_true(mono_ms() - t0 < 50);
	password_gate_leave();
	/* two slots: two at once */
	password_gate_set(2, 0);
	assert_int_equal(password_gate_enter(), 0);
	assert_int_equal(password_gate_enter(), 0);
	assert_int_equal(password_gate_enter(), -1);
	password_gate_leave();
	password_gate_leave();
	password_gate_set(4, 2000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hash_verify),		cmocka_unit_test(test_salted),
	    cmocka_unit_test(test_unicode_and_empty),	cmocka_unit_test(test_needs_rehash),
	    cmocka_unit_test(test_argon2i_is_rehashed), cmocka_unit_test(test_too_long),
	    cmocka_unit_test(test_bad_hashes),		cmocka_unit_test(test_burn),
	    cmocka_unit_test(test_default_cost),	cmocka_unit_test(test_gate),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
