/*
 * Unit tests for http/ws: the handshake's accept key (RFC 6455's example),
 * the per-socket outbound queue (shared messages, byte limit, order), and
 * the token bucket behind the rate limits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "http/ws.h"

static void test_accept_key(void **state)
{
	char out[29];
	assert_int_equal(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", out), 0);
	assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	assert_int_equal(ws_accept_key(NULL, out), -1);
	assert_int_equal(ws_accept_key("", out), -1);
	assert_int_equal(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ", out), -1);	  /* short */
	assert_int_equal(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ!=", out), -1);	  /* not base64 */
	assert_int_equal(ws_accept_key("dGhlIHNhbXBsZSBub25jZXNzc3M=", out), -1); /* not 16 bytes */
}

static void test_queue_limit_order_and_sharing(void **state)
{
	struct ws_queue a = {0}, b = {0};
	struct ws_msg *m1 = ws_msg_new("0123456789", 10), *m2 = ws_msg_new("abcdef", 6);
	assert_non_null(m1);
	assert_non_null(m2);
	/* One message, two queues: shared by reference. */
	assert_int_equal(ws_queue_push(&a, m1, 100), 0);
	assert_int_equal(ws_queue_push(&b, m1, 100), 0);
	assert_int_equal(m1->refs, 3);
	assert_int_equal(ws_queue_push(&a, m2, 16), 0); /* exactly at the limit */
	assert_int_equal(a.bytes, 16);
	assert_int_equal(ws_queue_push(&a, m2, 16), -1); /* past it: refused, nothing changed */
	assert_int_equal(a.bytes, 16);
	assert_int_equal(a.count, 2);
	assert_int_equal(m2->refs, 2);
	struct ws_msg *p = ws_queue_pop(&a);
	assert_ptr_equal(p, m1);
	ws_msg_unref(p);
	assert_int_equal(a.bytes, 6);
	ws_queue_clear(&a);
	assert_null(ws_queue_pop(&a));
	assert_int_equal(a.bytes, 0);
	assert_int_equal(m2->refs, 1);
	ws_queue_clear(&b);
	assert_int_equal(m1->refs, 1);
	ws_msg_unref(m1);
	ws_msg_unref(m2);
	ws_msg_unref(NULL);
}

static void test_bucket(void **state)
{
	struct ws_bucket b = {0};
	int64_t t = 1000000;
	int ok = 0;
	for (int i = 0; i < 100; i++)
		ok += ws_bucket_take(&b, 10.0, 20.0, t);
	assert_int_equal(ok, 20); /* the burst */
	assert_false(ws_bucket_take(&b, 10.0, 20.0, t + 50));
	assert_true(ws_bucket_take(&b, 10.0, 20.0, t + 100)); /* 10/s: one more after 100 ms */
	assert_false(ws_bucket_take(&b, 10.0, 20.0, t + 100));
	ok = 0;
	for (int i = 0; i < 100; i++)
		ok += ws_bucket_take(&b, 10.0, 20.0, t + 60000); /* refills to the burst, no more */
	assert_int_equal(ok, 20);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_accept_key),
	    cmocka_unit_test(test_queue_limit_order_and_sharing),
	    cmocka_unit_test(test_bucket),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
