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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_publish_reaches_every_subscriber),
	    cmocka_unit_test(test_bad_arguments_and_bound),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
