/* Unit tests for core/uuid: format, ordering across threads, validation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/timeutil.h"
#include "core/uuid.h"

#define THREADS	   4
#define PER_THREAD 25000 /* 100k ids in all */

static int setup(void **state)
{
	return crypto_init();
}

static int hexval(char c)
{
	return (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

static void test_format(void **state)
{
	for (int n = 0; n < 1000; n++) {
		char id[UUID_STR_LEN];
		uuid_v7(id);
		assert_int_equal(strlen(id), 36);
		for (int i = 0; i < 36; i++) {
			if (i == 8 || i == 13 || i == 18 || i == 23)
				assert_int_equal(id[i], '-');
			else
				assert_true(hexval(id[i]) >= 0); /* lowercase hex only */
		}
		assert_int_equal(id[14], '7');		    /* version */
		assert_true((hexval(id[19]) & 0xc) == 0x8); /* variant 10 */
		assert_true(uuid_valid(id));
	}
}

static void test_time_round_trip(void **state)
{
	char id[UUID_STR_LEN];
	int64_t before = time_now_ms();
	uuid_v7(id);
	int64_t after = time_now_ms();
	int64_t t = uuid_v7_time(id);

	/*
	 * The counter may have borrowed a few milliseconds ahead of the clock
	 * in earlier tests, never more than a handful at this rate.
	 */
	assert_true(t >= before);
	assert_true(t <= after + 1000);
	assert_int_equal(uuid_v7_time("017f22e2-79b0-7cc3-98c4-dc0c0c07398f"), 0x017f22e279b0);
	assert_int_equal(uuid_v7_time("017F22E2-79B0-7CC3-98C4-DC0C0C07398F"), 0x017f22e279b0);
}

static void test_time_rejects(void **state)
{
	/* v4 and v1 ids, a bad variant, and invalid strings are not v7. */
	assert_int_equal(uuid_v7_time("550e8400-e29b-41d4-a716-446655440000"), -1);
	assert_int_equal(uuid_v7_time("6ba7b810-9dad-11d1-80b4-00c04fd430c8"), -1);
	assert_int_equal(uuid_v7_time("017f22e2-79b0-7cc3-c8c4-dc0c0c07398f"), -1);
	assert_int_equal(uuid_v7_time("017f22e2-79b0-7cc3-78c4-dc0c0c07398f"), -1);
	assert_int_equal(uuid_v7_time("017f22e279b07cc398c4dc0c0c07398f"), -1);
	assert_int_equal(uuid_v7_time(""), -1);
	assert_int_equal(uuid_v7_time(NULL), -1);
}

static void test_valid(void **state)
{
	assert_true(uuid_valid("550e8400-e29b-41d4-a716-446655440000"));
	assert_true(uuid_valid("550E8400-E29B-41D4-A716-446655440000"));
	assert_true(uuid_valid("00000000-0000-0000-0000-000000000000"));

	assert_false(uuid_valid(NULL));
	assert_false(uuid_valid(""));
	/* wrong lengths */
	assert_false(uuid_valid("550e8400-e29b-41d4-a716-44665544000"));
	assert_false(uuid_valid("550e8400-e29b-41d4-a716-4466554400000"));
	assert_false(uuid_valid("550e8400-e29b-41d4-a716-446655440000 "));
	assert_false(uuid_valid("550e8400e29b41d4a716446655440000"));
	assert_false(uuid_valid("{550e8400-e29b-41d4-a716-446655440000}"));
	/* wrong characters */
	assert_false(uuid_valid("550e8400-e29b-41d4-a716-44665544000g"));
	assert_false(uuid_valid("550e8400-e29b-41d4-a716-44665544000 "));
	assert_false(uuid_valid("550e8400-e29b-41d4-a716-4466554400-0"));
	assert_false(uuid_valid("550e8400-e29b-41d4-a716+446655440000"));
	assert_false(uuid_valid("550e8400-e29b-41d4-a716-44665544000\xc3"));
	/* dashes in the wrong places */
	assert_false(uuid_valid("550e840-0e29b-41d4-a716-446655440000"));
	assert_false(uuid_valid("550e8400-e29-b41d4-a716-446655440000"));
	assert_false(uuid_valid("550e8400-e29b-41d-4a716-446655440000"));
	assert_false(uuid_valid("550e8400-e29b-41d4-a71-6446655440000"));
	assert_false(uuid_valid("550e8400ee29b-41d4-a716-446655440000"));

	/* Every single-character change of a valid id at a dash position is refused. */
	char s[] = "550e8400-e29b-41d4-a716-446655440000";
	for (int i = 0; i < 36; i++) {
		char saved = s[i];
		s[i] = (saved == '-') ? 'a' : '-';
		assert_false(uuid_valid(s));
		s[i] = saved;
	}
	/* A string cut short at every length is refused (and never over-read). */
	for (size_t n = 0; n < 36; n++) {
		char *cut = strndup(s, n);
		assert_non_null(cut);
		assert_false(uuid_valid(cut));
		free(cut);
	}
}

struct worker {
	char (*ids)[UUID_STR_LEN];
	int ok; /* strictly increasing within the thread */
};

static void *worker_run(void *arg)
{
	struct worker *w = arg;

	w->ok = 1;
	for (int i = 0; i < PER_THREAD; i++) {
		uuid_v7(w->ids[i]);
		if (i > 0 && strcmp(w->ids[i - 1], w->ids[i]) >= 0)
			w->ok = 0;
	}
	return NULL;
}

static int cmp_id(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void test_threads_monotonic_unique(void **state)
{
	char(*all)[UUID_STR_LEN] = calloc(THREADS * PER_THREAD, UUID_STR_LEN);
	struct worker w[THREADS];
	pthread_t th[THREADS];

	assert_non_null(all);
	for (int t = 0; t < THREADS; t++) {
		w[t].ids = all + t * PER_THREAD;
		assert_int_equal(pthread_create(&th[t], NULL, worker_run, &w[t]), 0);
	}
	for (int t = 0; t < THREADS; t++) {
		pthread_join(th[t], NULL);
		assert_true(w[t].ok);
	}
	/* Sorted, every neighbour differs: no duplicates across threads. */
	qsort(all, THREADS * PER_THREAD, UUID_STR_LEN, cmp_id);
	for (int i = 1; i < THREADS * PER_THREAD; i++)
		assert_true(strcmp(all[i - 1], all[i]) < 0);
	free(all);

	/* And an id made after all of them sorts after all of them. */
	char last[UUID_STR_LEN], next[UUID_STR_LEN];
	uuid_v7(last);
	uuid_v7(next);
	assert_true(strcmp(last, next) < 0);
}

/* A tight loop makes far more than 4096 ids per ms on some machines: still ordered. */
static void test_burst_single_thread(void **state)
{
	enum { N = 20000 };
	char(*ids)[UUID_STR_LEN] = calloc(N, UUID_STR_LEN);

	assert_non_null(ids);
	for (int i = 0; i < N; i++) {
		uuid_v7(ids[i]);
		if (i > 0)
			assert_true(strcmp(ids[i - 1], ids[i]) < 0);
	}
	/* Time never runs far ahead of the clock: at most N/2048 borrowed ms. */
	assert_true(uuid_v7_time(ids[N - 1]) <= time_now_ms() + N / 2048 + 1);
	free(ids);
}

static int64_t g_fake_ms;
static int64_t fake_clock(void)
{
	return g_fake_ms;
}

/*
 * A stalled clock: the 12-bit counter runs out and the timestamp moves on by
 * one ms at a time; a clock that goes back never makes ids go back. Runs
 * last, since it leaves the generator a little ahead of the real clock.
 */
static void test_stalled_and_backward_clock(void **state)
{
	enum { N = 10000 };
	char prev[UUID_STR_LEN], id[UUID_STR_LEN];
	int64_t start = time_now_ms() + 5000;

	g_fake_ms = start;
	uuid_set_clock(fake_clock);
	uuid_v7(prev);
	assert_int_equal(uuid_v7_time(prev), start);
	for (int i = 0; i < N; i++) {
		uuid_v7(id);
		assert_true(strcmp(prev, id) < 0);
		strcpy(prev, id);
	}
	/* 10001 ids, 2048..4096 per ms: the counter overflowed 2 to 4 times. */
	int64_t t = uuid_v7_time(prev);
	assert_true(t >= start + 2 && t <= start + 4);

	g_fake_ms = start - 100000; /* the clock jumps back 100 s */
	for (int i = 0; i < 100; i++) {
		uuid_v7(id);
		assert_true(strcmp(prev, id) < 0);
		assert_true(uuid_v7_time(id) >= t);
		strcpy(prev, id);
	}

	g_fake_ms = start + 1000; /* and forward again: the new time is used as is */
	uuid_v7(id);
	assert_true(strcmp(prev, id) < 0);
	assert_int_equal(uuid_v7_time(id), start + 1000);
	uuid_set_clock(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_format),
	    cmocka_unit_test(test_time_round_trip),
	    cmocka_unit_test(test_time_rejects),
	    cmocka_unit_test(test_valid),
	    cmocka_unit_test(test_threads_monotonic_unique),
	    cmocka_unit_test(test_burst_single_thread),
	    cmocka_unit_test(test_stalled_and_backward_clock),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
