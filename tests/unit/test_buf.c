/*
 * Unit tests for core/buf: appending and growth, the limit, printf, clear
 * (keeps the memory), steal and free, and every allocation failure leaving
 * the buffer as it was.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"

/* Allocation failure injection: fail_at(), fail_off(), g_failed. */
#include "support.h"

static void test_append_grows_and_terminates(void **state)
{
	struct buf b = {0};
	assert_int_equal(buf_append(&b, "", 0), 0);
	assert_non_null(b.data);
	assert_string_equal(b.data, "");
	for (int i = 0; i < 1000; i++)
		assert_int_equal(buf_append(&b, "abc", 3), 0);
	assert_int_equal(b.len, 3000);
	assert_true(b.cap > b.len);
	assert_int_equal(b.data[b.len], '\0');
	assert_memory_equal(b.data + 2997, "abc", 3);
	assert_int_equal(buf_puts(&b, "!"), 0);
	assert_int_equal(buf_printf(&b, "%d-%s", 42, "x"), 0);
	assert_string_equal(b.data + 3000, "!42-x");
	buf_free(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	buf_free(&b); /* twice is harmless */
}

static void test_limit(void **state)
{
	struct buf b = {.limit = 8};
	assert_int_equal(buf_append(&b, "12345678", 8), 0);
	assert_int_equal(buf_append(&b, "9", 1), -1);
	assert_int_equal(buf_printf(&b, "%s", "x"), -1);
	assert_int_equal(b.len, 8);
	assert_string_equal(b.data, "12345678");
	/* A length that would wrap size_t is refused, not wrapped. */
	assert_int_equal(buf_append(&b, "x", SIZE_MAX), -1);
	buf_free(&b);
}

static void test_clear_keeps_memory(void **state)
{
	struct buf b = {0};
	buf_clear(&b); /* on an empty buffer */
	assert_null(b.data);
	assert_int_equal(buf_puts(&b, "hello world"), 0);
	char *mem = b.data;
	size_t cap = b.cap;
	buf_clear(&b);
	assert_int_equal(b.len, 0);
	assert_ptr_equal(b.data, mem);
	assert_int_equal(b.cap, cap);
	assert_string_equal(b.data, "");
	assert_int_equal(buf_puts(&b, "again"), 0);
	assert_ptr_equal(b.data, mem);
	assert_string_equal(b.data, "again");
	buf_free(&b);
}

static void test_steal(void **state)
{
	struct buf b = {0};
	char *s = buf_steal(&b); /* never NULL, even when nothing was appended */
	assert_non_null(s);
	assert_string_equal(s, "");
	free(s);
	assert_int_equal(buf_puts(&b, "mine"), 0);
	s = buf_steal(&b);
	assert_string_equal(s, "mine");
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	free(s);
}

static void test_allocation_failures(void **state)
{
	if (!injection_works()) {
		skip();
		return;
	}
	struct buf b = {0};
	fail_at(0);
	assert_int_equal(buf_append(&b, "x", 1), -1);
	fail_off();
	assert_true(g_failed);
	assert_null(b.data);
	assert_int_equal(b.len, 0);

	assert_int_equal(buf_puts(&b, "kept"), 0);
	char big[1024];
	memset(big, 'y', sizeof big);
	fail_at(0);
	assert_int_equal(buf_append(&b, big, sizeof big), -1);
	fail_at(0);
	assert_int_equal(buf_printf(&b, "%.*s", (int)sizeof big, big), -1);
	fail_off();
	assert_int_equal(b.len, 4);
	assert_string_equal(b.data, "kept");
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_append_grows_and_terminates), cmocka_unit_test(test_limit),
	    cmocka_unit_test(test_clear_keeps_memory),		cmocka_unit_test(test_steal),
	    cmocka_unit_test(test_allocation_failures),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
