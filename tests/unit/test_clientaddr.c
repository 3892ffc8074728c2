/* Unit tests for auth/clientaddr: trusted proxies and the client address (issue 8 item 7). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "auth/clientaddr.h"

static void test_parse(void **state)
{
	struct clientaddr_trust t;
	char err[256];
	assert_int_equal(clientaddr_parse(NULL, &t, err, sizeof err), 0);
	assert_int_equal(t.n, 0);
	assert_int_equal(clientaddr_parse("", &t, err, sizeof err), 0);
	assert_int_equal(
	    clientaddr_parse("10.0.0.0/8, 192.168.1.5 ,fd00::/8,::1", &t, err, sizeof err), 0);
	assert_int_equal(t.n, 4);
	assert_int_equal(t.cidr[1].bits, 32);
	assert_int_equal(t.cidr[3].bits, 128);
	static const char *bad[] = {"10.0.0.0/33", "fd00::/129", "10.0.0/8",   "host.example",
				    "10.0.0.0/",   "10.0.0.0/x", "1.2.3.4/-1", "::g"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		err[0] = '\0';
		assert_int_equal(clientaddr_parse(bad[i], &t, err, sizeof err), -1);
		assert_non_null(strstr(err, "IAM_TRUSTED_PROXIES"));
	}
	char many[1024] = "";
	for (int i = 0; i < CLIENTADDR_MAX + 1; i++)
		snprintf(many + strlen(many), sizeof many - strlen(many), "10.0.%d.0/24,", i);
	assert_int_equal(clientaddr_parse(many, &t, err, sizeof err), -1);
}

static void test_trusted(void **state)
{
	struct clientaddr_trust t;
	char err[256];
	assert_int_equal(
	    clientaddr_parse("10.0.0.0/8,172.16.0.0/12,fd00::/8,127.0.0.1", &t, err, sizeof err),
	    0);
	assert_true(clientaddr_trusted(&t, "10.1.2.3"));
	assert_true(clientaddr_trusted(&t, "172.31.255.255"));
	assert_false(clientaddr_trusted(&t, "172.32.0.0"));
	assert_true(clientaddr_trusted(&t, "fd12::1"));
	assert_false(clientaddr_trusted(&t, "fe80::1"));
	assert_true(clientaddr_trusted(&t, "::ffff:10.9.9.9")); /* IPv4-mapped */
	assert_false(clientaddr_trusted(&t, "127.0.0.2"));
	assert_false(clientaddr_trusted(&t, "garbage"));
	assert_false(clientaddr_trusted(&t, NULL));
}

static void test_resolve(void **state)
{
	struct clientaddr_trust t, none;
	char err[256], out[CLIENTADDR_BUF];
	assert_int_equal(clientaddr_parse("10.0.0.0/8", &t, err, sizeof err), 0);
	assert_int_equal(clientaddr_parse(NULL, &none, err, sizeof err), 0);

	/* no trusted proxies: headers ignored */
	clientaddr_resolve(&none, "10.0.0.1", "203.0.113.9", NULL, out);
	assert_string_equal(out, "10.0.0.1");
	/* an untrusted peer: headers ignored */
	clientaddr_resolve(&t, "198.51.100.1", "203.0.113.9", "for=192.0.2.1", out);
	assert_string_equal(out, "198.51.100.1");
	/* trusted peer: the right-most untrusted entry */
	clientaddr_resolve(&t, "10.0.0.1", "1.1.1.1, 203.0.113.9", NULL, out);
	assert_string_equal(out, "203.0.113.9");
	clientaddr_resolve(&t, "10.0.0.1", "1.1.1.1, 203.0.113.9, 10.0.0.7", NULL, out);
	assert_string_equal(out, "203.0.113.9");
	/* everything trusted: the left-most */
	clientaddr_resolve(&t, "10.0.0.1", "10.0.0.3, 10.0.0.2", NULL, out);
	assert_string_equal(out, "10.0.0.3");
	/* garbage where the client should be: stay with the last trusted hop */
	clientaddr_resolve(&t, "10.0.0.1", "1.1.1.1, unknown", NULL, out);
	assert_string_equal(out, "10.0.0.1");
	/* ports, IPv6, canonical form */
	clientaddr_resolve(&t, "10.0.0.1", "203.0.113.9:5555", NULL, out);
	assert_string_equal(out, "203.0.113.9");
	clientaddr_resolve(&t, "10.0.0.1", "[2001:DB8:0:0::1]:80", NULL, out);
	assert_string_equal(out, "2001:db8::1");
	clientaddr_resolve(&t, "::ffff:10.0.0.1", "2001:db8::2", NULL, out);
	assert_string_equal(out, "2001:db8::2");
	/* Forwarded only without X-Forwarded-For */
	clientaddr_resolve(&t, "10.0.0.1", NULL, "for=192.0.2.60;proto=http;by=203.0.113.43", out);
	assert_string_equal(out, "192.0.2.60");
	clientaddr_resolve(&t, "10.0.0.1", NULL, "for=\"[2001:db8:cafe::17]:4711\", for=10.0.0.9",
			   out);
	assert_string_equal(out, "2001:db8:cafe::17");
	clientaddr_resolve(&t, "10.0.0.1", "203.0.113.1", "for=192.0.2.60", out);
	assert_string_equal(out, "203.0.113.1");
	clientaddr_resolve(&t, "10.0.0.1", NULL, "proto=https", out);
	assert_string_equal(out, "10.0.0.1");
	/* empty header */
	clientaddr_resolve(&t, "10.0.0.1", "", NULL, out);
	assert_string_equal(out, "10.0.0.1");
	/* very long header: the right end is what counts */
	char longh[4096] = "";
	for (int i = 0; i < 100; i++)
		snprintf(longh + strlen(longh), sizeof longh - strlen(longh), "1.1.1.%d, ",
			 i % 250);
	snprintf(longh + strlen(longh), sizeof longh - strlen(longh), "203.0.113.77");
	clientaddr_resolve(&t, "10.0.0.1", longh, NULL, out);
	assert_string_equal(out, "203.0.113.77");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_trusted),
	    cmocka_unit_test(test_resolve),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
