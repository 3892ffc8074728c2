/*
 * Unit tests for bus/: every local subscriber gets each published event with
 * its scope, id, type and data; unsubscribing stops delivery; bad arguments
 * are refused; the table has a bound.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/bus.h"

struct seen {
	int calls;
	enum bus_scope scope;
	char id[64], type[64], data[256];
	int64_t ts;
};

static void record(void *ctx, const struct bus_event *ev)
{
	struct seen *s = ctx;
	s->calls++;
	s->scope = ev->scope;
	snprintf(s->id, sizeof s->id, "%s", ev->id);
	snprintf(s->type, sizeof s->type, "%s", ev->type);
	snprintf(s->data, sizeof s->data, "%s", ev->data);
	s->ts = ev->ts_ms;
}

static void test_publish_reaches_every_subscriber(void **state)
{
	struct bus *b = bus_new();
	assert_non_null(b);
	struct seen a = {0}, c = {0};
	int ha = bus_subscribe(b, record, &a), hc = bus_subscribe(b, record, &c);
	assert_true(ha >= 0 && hc >= 0 && ha != hc);
	json_t *d = json_pack("{s:s,s:i}", "subject", "Hi", "n", 3);
	assert_int_equal(bus_publish(b, BUS_USER, "u1", "new_message", d), 2);
	json_decref(d);
	assert_int_equal(a.calls, 1);
	assert_int_equal(a.scope, BUS_USER);
	assert_string_equal(a.id, "u1");
	assert_string_equal(a.type, "new_message");
	assert_string_equal(a.data, "{\"subject\":\"Hi\",\"n\":3}");
	assert_true(a.ts > 1700000000000LL);
	assert_string_equal(c.data, a.data);

	bus_unsubscribe(b, ha);
	assert_int_equal(bus_publish(b, BUS_ORG, "o1", "presence", NULL), 1);
	assert_int_equal(a.calls, 1);
	assert_int_equal(c.calls, 2);
	assert_int_equal(c.scope, BUS_ORG);
	assert_string_equal(c.data, "{}");
	bus_unsubscribe(b, hc);
	bus_unsubscribe(b, hc); /* twice is harmless */
	bus_unsubscribe(b, -1);
	assert_int_equal(bus_publish(b, BUS_ORG, "o1", "presence", NULL), 0);
	bus_free(b);
	bus_free(NULL);
}

static void test_bad_arguments_and_bound(void **state)
{
	struct bus *b = bus_new();
	struct seen s = {0};
	assert_int_equal(bus_publish(b, BUS_USER, "", "x", NULL), -1);
	assert_int_equal(bus_publish(b, BUS_USER, "u", "", NULL), -1);
	assert_int_equal(bus_publish(b, (enum bus_scope)7, "u", "x", NULL), -1);
	assert_int_equal(bus_publish(NULL, BUS_USER, "u", "x", NULL), -1);
	assert_int_equal(bus_subscribe(b, NULL, NULL), -1);
	for (int i = 0; i < BUS_MAX_SUBSCRIBERS; i++)
		assert_int_equal(bus_subscribe(b, record, &s), i);
	assert_int_equal(bus_subscribe(b, record, &s), -1);
	assert_int_equal(bus_publish(b, BUS_USER, "u", "x", NULL), BUS_MAX_SUBSCRIBERS);
	assert_int_equal(s.calls, BUS_MAX_SUBSCRIBERS);
	bus_free(b);
}

static void test_wire_round_trip_and_malformed(void **state)
{
	struct bus_event ev = {.scope = BUS_ORG,
			       .id = "0192f0c1-7b1e-7cc3-9d7e-2b1c4a6f9e10",
			       .type = "meeting.status",
			       .data = "{\"status\":\"completed\",\"text\":\"a b\\nc\"}",
			       .ts_ms = 1764470000123LL};
	size_t len = 0;
	char *m = bus_wire_encode("abc123", &ev, &len);
	assert_non_null(m);
	assert_int_equal(len, strlen(m));
	char origin[33];
	struct bus_event got;
	assert_int_equal(bus_wire_decode(m, len, origin, &got), 0);
	assert_string_equal(origin, "abc123");
	assert_int_equal(got.scope, BUS_ORG);
	assert_string_equal(got.id, ev.id);
	assert_string_equal(got.type, ev.type);
	assert_string_equal(got.data, ev.data);
	assert_int_equal(got.ts_ms, ev.ts_ms);
	free(m);
	/* A type or id with a space cannot be sent; malformed messages are refused. */
	struct bus_event bad = ev;
	bad.type = "two words";
	assert_null(bus_wire_encode("o", &bad, &len));
	const char *bads[] = {
	    "",
	    "iam1 o 1 u t 5",					  /* no data line */
	    "iam1 o 3 u t 5\n{}",				  /* bad scope */
	    "iam2 o 1 u t 5\n{}",				  /* another version */
	    "iam1 o 1 u t x5\n{}",				  /* bad time */
	    "iam1 o 1 u t 5\n[1]",				  /* data not an object */
	    "iam1 o 1 u\n{}",					  /* missing fields */
	    "iam1 0123456789abcdef0123456789abcdef0 1 u t 5\n{}", /* origin too long */
	};
	for (size_t i = 0; i < sizeof bads / sizeof *bads; i++) {
		char buf[128];
		snprintf(buf, sizeof buf, "%s", bads[i]);
		assert_int_equal(bus_wire_decode(buf, strlen(buf), origin, &got), -1);
	}
	/* An embedded NUL is refused too. */
	char nul[] = "iam1 o 1 u t 5\n{\"a\0\":1}";
	assert_int_equal(bus_wire_decode(nul, sizeof nul - 1, origin, &got), -1);
}

static void test_redis_down_local_delivery_goes_on(void **state)
{
	struct bus *b = bus_new();
	char err[256] = "";
	assert_int_equal(bus_redis_attach(b, "http://localhost", err, sizeof err), -1);
	assert_non_null(strstr(err, "IAM_REDIS_URL"));
	assert_int_equal(bus_redis_attach(b, "redis://:pw@127.0.0.1:99999", err, sizeof err), -1);
	assert_string_equal(bus_redis_state(b), "off");
	/* Port 1 on loopback: nothing listens; publishing still reaches local subscribers at once.
	 */
	assert_int_equal(bus_redis_attach(b, "redis://127.0.0.1:1/0", err, sizeof err), 0);
	assert_int_equal(bus_redis_attach(b, "redis://127.0.0.1:1/0", err, sizeof err), -1);
	struct seen s = {0};
	bus_subscribe(b, record, &s);
	for (int i = 0; i < 100; i++)
		assert_int_equal(bus_publish(b, BUS_USER, "u1", "new_message", NULL), 1);
	assert_int_equal(s.calls, 100);
	assert_string_equal(bus_redis_state(b), "down");
	bus_free(b); /* stops the threads while they back off */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_publish_reaches_every_subscriber),
	    cmocka_unit_test(test_bad_arguments_and_bound),
	    cmocka_unit_test(test_wire_round_trip_and_malformed),
	    cmocka_unit_test(test_redis_down_local_delivery_goes_on),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
