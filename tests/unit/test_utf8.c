/*
 * Unit tests for core/utf8 (the text validator and Unicode folding) and
 * auth/email (the one normal form of an address): issue 8 item 16.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/email.h"
#include "core/utf8.h"

static void test_text_ok_accepts(void **state)
{
	static const char *good[] = {
	    "",	    "Plain title",   "Zoë Łukasiewicz",	  "会議 2026",
	    "شركة", "emoji 🎙️", "quote \"x\" & <y>", "LRM\u200e is a mark, not an override"};
	for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
		const char *why = "unset";
		assert_true(utf8_text_ok(good[i], &why));
		assert_null(why);
	}
}

static void test_text_ok_refuses(void **state)
{
	static const char *bad[] = {
	    "esc\x1b[31m",
	    "bell\x07",
	    "tab\there",
	    "new\nline",
	    "cr\r",
	    "del\x7f",
	    "c1 \xc2\x85",
	    "c1 \xc2\x9b",
	    "ls \u2028",
	    "ps \u2029",
	    "lre\u202a",
	    "rle\u202b",
	    "pdf\u202c",
	    "lro\u202d",
	    "rlo\u202e",
	    "lri\u2066",
	    "rli\u2067",
	    "fsi\u2068",
	    "pdi\u2069",
	    "bad utf8 \xff",
	    "overlong \xc0\xaf",
	    "surrogate \xed\xa0\x80",
	    "cut \xe2\x82",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		const char *why = NULL;
		assert_false(utf8_text_ok(bad[i], &why));
		assert_non_null(why);
		assert_true(strlen(why) > 10);
	}
	assert_false(utf8_text_ok("x\x1b", NULL)); /* why may be NULL */
}

static void test_fold(void **state)
{
	char *f = utf8_fold("ＡＤＭＩＮ＠ＥＸＡＭＰＬＥ．ＣＯＭ");
	assert_non_null(f);
	assert_string_equal(f, "admin@example.com");
	free(f);
	f = utf8_fold("\u212a"); /* Kelvin sign */
	assert_string_equal(f, "k");
	free(f);
	f = utf8_fold("Straße");
	assert_string_equal(f, "strasse");
	free(f);
	f = utf8_fold("adm\u0131n"); /* dotless i stays what it is */
	assert_string_equal(f, "adm\u0131n");
	free(f);
	f = utf8_fold("");
	assert_string_equal(f, "");
	free(f);
	assert_null(utf8_fold("bad \xff"));
}

static void test_email(void **state)
{
	char out[256];
	const char *why = NULL;
	assert_true(email_normalize("  Ann.Lee@Example.COM \t", out, sizeof out, &why));
	assert_string_equal(out, "ann.lee@example.com");
	assert_true(email_normalize("ａｎｎ＠ｅｘａｍｐｌｅ．ｃｏｍ", out, sizeof out, &why));
	assert_string_equal(out, "ann@example.com");
	assert_true(email_normalize("\u212aate@example.com", out, sizeof out, &why));
	assert_string_equal(out, "kate@example.com");

	static const char *refused[] = {
	    "adm\u0131n@example.com", /* dotless i */
	    "\u0430dmin@example.com", /* Cyrillic a */
	    "admin@ex\u0430mple.com",
	    "adm\u0130n@example.com", /* capital I with dot folds to i + combining dot */
	    "admin@example.com\u202e",
	    "plain",
	    "@example.com",
	    "a@b",
	    "a@@example.com",
	    "a b@example.com",
	    "a@.example.com",
	    "a@example..com",
	    "a@example.com.",
	    "bad\xff@example.com",
	    "",
	    "   ",
	};
	for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
		why = NULL;
		assert_false(email_normalize(refused[i], out, sizeof out, &why));
		assert_non_null(why);
		assert_string_equal(out, "");
	}
	/* a look-alike gets a reason that says why, not just "not an address" */
	assert_false(email_normalize("adm\u0131n@example.com", out, sizeof out, &why));
	assert_non_null(strstr(why, "ASCII"));

	/* length limits: 64-character local part, 254 in all, and the buffer */
	char local[80], addr[400];
	memset(local, 'a', 64);
	local[64] = '\0';
	snprintf(addr, sizeof addr, "%s@example.com", local);
	assert_true(email_normalize(addr, out, sizeof out, &why));
	snprintf(addr, sizeof addr, "a%s@example.com", local);
	assert_false(email_normalize(addr, out, sizeof out, &why));
	assert_false(email_normalize("ann@example.com", out, 8, &why));
	memset(addr, 'x', sizeof addr - 1);
	addr[sizeof addr - 1] = '\0';
	addr[10] = '@';
	assert_false(email_normalize(addr, out, sizeof out, &why));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_text_ok_accepts),
	    cmocka_unit_test(test_text_ok_refuses),
	    cmocka_unit_test(test_fold),
	    cmocka_unit_test(test_email),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
