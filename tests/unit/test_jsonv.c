/*
 * Unit tests for http/jsonv: unknown fields, required and null, type
 * mismatches, string lengths in code points, invalid UTF-8 and NUL, every
 * error collected in one pass, and utf8_len on edge cases.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/jsonv.h"

#define NFIELDS(a) (sizeof(a) / sizeof((a)[0]))
#define BAD	   ((size_t)-1)

/* The message reported for field, or NULL; fails if it is reported twice. */
static const char *error_for(json_t *errors, const char *field)
{
	const char *found = NULL;
	size_t i;
	json_t *e;
	json_array_foreach(errors, i, e)
	{
		assert_true(json_is_object(e));
		assert_int_equal(json_object_size(e), 2);
		const char *f = json_string_value(json_object_get(e, "field"));
		const char *m = json_string_value(json_object_get(e, "message"));
		assert_non_null(f);
		assert_non_null(m);
		if (strcmp(f, field) == 0) {
			if (found)
				fail_msg("field '%s' reported twice", field);
			found = m;
		}
	}
	return found;
}

static json_t *load(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &e);
	if (!j)
		fail_msg("test JSON does not parse: %s: %s", text, e.text);
	return j;
}

/* Check text against fields; return the errors (NULL when it passed). */
static json_t *check(const char *text, const struct jv_field *f, size_t n, bool want_ok)
{
	json_t *obj = load(text);
	json_t *errors = NULL;
	bool ok = jv_check(obj, f, n, &errors);
	json_decref(obj);
	if (ok != want_ok)
		fail_msg("%s: jv_check gave %d, want %d", text, ok, want_ok);
	if (ok)
		assert_null(errors);
	else
		assert_true(json_array_size(errors) > 0);
	return errors;
}

/* ---------- fields ---------- */

static const struct jv_field USER[] = {
    {"email", JV_STRING, true, false, 3, 254},
    {"name", JV_STRING, false, false, 1, 100},
    {"age", JV_INT, false, true, 0, 0},
};

static void test_valid_objects(void **state)
{
	check("{\"email\":\"a@b.c\"}", USER, NFIELDS(USER), true);
	check("{\"email\":\"a@b.c\",\"name\":\"Ann\",\"age\":30}", USER, NFIELDS(USER), true);
	check("{\"email\":\"a@b.c\",\"age\":null}", USER, NFIELDS(USER), true);
	/* No fields, no keys: fine. */
	json_t *empty = json_object(), *errors = NULL;
	assert_true(jv_check(empty, NULL, 0, &errors));
	assert_null(errors);
	json_decref(empty);
}

static void test_unknown_fields(void **state)
{
	json_t *errors = check("{\"email\":\"a@b.c\",\"extra\":1,\"is_admin\":true}", USER,
			       NFIELDS(USER), false);
	assert_int_equal(json_array_size(errors), 2);
	const char *m = error_for(errors, "extra");
	assert_non_null(m);
	assert_non_null(strstr(m, "not a field"));
	assert_non_null(error_for(errors, "is_admin"));
	assert_null(error_for(errors, "email"));
	json_decref(errors);

	/* Unknown keys are reported even when their value is null, and for no fields at all. */
	json_t *obj = load("{\"x\":null}");
	errors = NULL;
	assert_false(jv_check(obj, NULL, 0, &errors));
	assert_int_equal(json_array_size(errors), 1);
	assert_non_null(error_for(errors, "x"));
	json_decref(errors);
	json_decref(obj);

	/* Field names are matched exactly. */
	errors = check("{\"email\":\"a@b.c\",\"Name\":\"x\",\"name \":\"y\"}", USER, NFIELDS(USER),
		       false);
	assert_int_equal(json_array_size(errors), 2);
	assert_non_null(error_for(errors, "Name"));
	assert_non_null(error_for(errors, "name "));
	json_decref(errors);
}

static void test_required_missing(void **state)
{
	json_t *errors = check("{}", USER, NFIELDS(USER), false);
	assert_int_equal(json_array_size(errors), 1);
	assert_string_equal(error_for(errors, "email"), "is required");
	json_decref(errors);

	errors = check("{\"name\":\"Ann\"}", USER, NFIELDS(USER), false);
	assert_int_equal(json_array_size(errors), 1);
	assert_string_equal(error_for(errors, "email"), "is required");
	json_decref(errors);
}

static void test_null_vs_nullable(void **state)
{
	static const struct jv_field f[] = {
	    {"plain", JV_STRING, false, false, 0, 0},
	    {"maybe", JV_STRING, false, true, 0, 0},
	    {"must", JV_INT, true, false, 0, 0},
	    {"must_or_null", JV_INT, true, true, 0, 0},
	};
	/* Optional and nullable: null is accepted, like an absent key. */
	json_decref(check("{\"maybe\":null,\"must\":1,\"must_or_null\":2}", f, NFIELDS(f), true));
	/* Optional, not nullable: null is refused with its own message. */
	json_t *errors =
	    check("{\"plain\":null,\"must\":1,\"must_or_null\":2}", f, NFIELDS(f), false);
	assert_int_equal(json_array_size(errors), 1);
	assert_string_equal(error_for(errors, "plain"), "must be a string, not null");
	json_decref(errors);
	/* Required: null is "not given", so it is missing, nullable or not. */
	errors = check("{\"must\":null,\"must_or_null\":null}", f, NFIELDS(f), false);
	assert_int_equal(json_array_size(errors), 2);
	assert_string_equal(error_for(errors, "must"), "is required");
	assert_string_equal(error_for(errors, "must_or_null"), "is required");
	json_decref(errors);
	/* A present, non-null value of the wrong type is a type error, nullable or not. */
	errors = check("{\"maybe\":5,\"must\":1,\"must_or_null\":2}", f, NFIELDS(f), false);
	assert_string_equal(error_for(errors, "maybe"), "must be a string");
	json_decref(errors);
}

static void test_type_mismatch(void **state)
{
	static const char *const values[] = {"\"s\"", "7", "7.5", "true", "{}", "[]"};
	enum { S, I, R, B, O, A };
	struct {
		enum jv_type type;
		const char *message;
		int accepts[6];
	} types[] = {
	    {JV_STRING, "must be a string", {1, 0, 0, 0, 0, 0}},
	    {JV_INT, "must be a whole number", {0, 1, 0, 0, 0, 0}},
	    {JV_BOOL, "must be true or false", {0, 0, 0, 1, 0, 0}},
	    {JV_OBJECT, "must be an object", {0, 0, 0, 0, 1, 0}},
	    {JV_ARRAY, "must be an array", {0, 0, 0, 0, 0, 1}},
	    {JV_NUMBER, "must be a number", {0, 1, 1, 0, 0, 0}},
	};
	(void)S, (void)I, (void)R, (void)B, (void)O, (void)A;
	for (size_t t = 0; t < NFIELDS(types); t++) {
		struct jv_field f = {"v", types[t].type, true, false, 0, 0};
		for (size_t v = 0; v < NFIELDS(values); v++) {
			char text[64];
			snprintf(text, sizeof text, "{\"v\":%s}", values[v]);
			json_t *errors = check(text, &f, 1, types[t].accepts[v]);
			if (!types[t].accepts[v]) {
				assert_int_equal(json_array_size(errors), 1);
				assert_string_equal(error_for(errors, "v"), types[t].message);
			}
			json_decref(errors);
		}
	}
	/* Strings that look like other types are still strings. */
	struct jv_field i = {"n", JV_INT, true, false, 0, 0};
	json_decref(check("{\"n\":\"1\"}", &i, 1, false));
	json_decref(check("{\"n\":1.0}", &i, 1, false));
	json_decref(check("{\"n\":-9223372036854775807}", &i, 1, true));
	struct jv_field b = {"b", JV_BOOL, true, false, 0, 0};
	json_decref(check("{\"b\":\"true\"}", &b, 1, false));
	json_decref(check("{\"b\":0}", &b, 1, false));
	json_decref(check("{\"b\":false}", &b, 1, true));
}

static void test_string_lengths_in_code_points(void **state)
{
	static const struct jv_field f[] = {{"s", JV_STRING, true, false, 2, 3}};
	/* Multi-byte characters count as one each. */
	const char *ok[] = {"ab",
			    "abc",
			    "\u00e9\u00e9",
			    "h\u00e9\u00e9",
			    "\u20ac\u20ac\u20ac",
			    "\U0001F600\U0001F600\U0001F600",
			    "a\U0001F600"};
	for (size_t i = 0; i < NFIELDS(ok); i++) {
		json_t *obj = json_pack("{s:s}", "s", ok[i]), *errors = NULL;
		assert_non_null(obj);
		if (!jv_check(obj, f, 1, &errors))
			fail_msg("'%s' (%zu bytes) refused", ok[i], strlen(ok[i]));
		json_decref(obj);
	}
	struct {
		const char *s, *message;
	} bad[] = {
	    {"abcd", "must be at most 3 characters"},
	    {"\u00e9\u00e9\u00e9\u00e9", "must be at most 3 characters"},
	    {"\U0001F600\U0001F600\U0001F600\U0001F600", "must be at most 3 characters"},
	    {"a", "must be at least 2 characters"},
	    {"\u00e9", "must be at least 2 characters"}, /* 2 bytes, 1 character */
	    {"\U0001F600", "must be at least 2 characters"},
	    {"", "must be at least 2 characters"},
	};
	for (size_t i = 0; i < NFIELDS(bad); i++) {
		json_t *obj = json_pack("{s:s}", "s", bad[i].s), *errors = NULL;
		assert_non_null(obj);
		if (jv_check(obj, f, 1, &errors))
			fail_msg("'%s' accepted", bad[i].s);
		assert_int_equal(json_array_size(errors), 1);
		assert_string_equal(error_for(errors, "s"), bad[i].message);
		json_decref(errors);
		json_decref(obj);
	}

	/* min 1 reads "must not be empty"; max 0 means no limit. */
	static const struct jv_field g[] = {{"s", JV_STRING, true, false, 1, 0}};
	json_t *errors = check("{\"s\":\"\"}", g, 1, false);
	assert_string_equal(error_for(errors, "s"), "must not be empty");
	json_decref(errors);
	char *big = malloc(100003);
	assert_non_null(big);
	memset(big, 'x', 100002);
	big[100002] = '\0';
	json_t *obj = json_pack("{s:s}", "s", big);
	errors = NULL;
	assert_true(jv_check(obj, g, 1, &errors));
	json_decref(obj);
	free(big);
}

static void test_invalid_utf8_and_nul(void **state)
{
	static const struct jv_field f[] = {{"s", JV_STRING, true, false, 0, 10}};
	const char *msg = "must be valid UTF-8 text without NUL characters";

	/* jansson refuses invalid UTF-8 in json_string; _nocheck lets it through. */
	const char *bad[] = {"\xff", "ab\xc3", "\x80", "a\xe2\x82", "\xf8\x88\x80\x80\x80"};
	for (size_t i = 0; i < NFIELDS(bad); i++) {
		json_t *obj = json_object(), *errors = NULL;
		json_object_set_new(obj, "s", json_string_nocheck(bad[i]));
		assert_false(jv_check(obj, f, 1, &errors));
		assert_int_equal(json_array_size(errors), 1);
		assert_string_equal(error_for(errors, "s"), msg);
		json_decref(errors);
		json_decref(obj);
	}

	/* An embedded NUL (valid JSON: "a\u0000b") would cut the C string short. */
	json_t *obj = json_object(), *errors = NULL;
	json_object_set_new(obj, "s", json_stringn("a\0b", 3));
	assert_non_null(json_object_get(obj, "s"));
	assert_false(jv_check(obj, f, 1, &errors));
	assert_string_equal(error_for(errors, "s"), msg);
	json_decref(errors);
	json_decref(obj);

	/*
	 * The same through the parser. The server parses without JSON_ALLOW_NUL,
	 * so jansson refuses "\u0000" first; a caller that allows it is still safe.
	 */
	const char *texts[] = {"{\"s\":\"a\\u0000b\"}", "{\"s\":\"\\u0000\"}"};
	for (size_t i = 0; i < NFIELDS(texts); i++) {
		json_error_t e;
		assert_null(json_loads(texts[i], 0, &e));
		obj = json_loads(texts[i], JSON_ALLOW_NUL, &e);
		assert_non_null(obj);
		errors = NULL;
		assert_false(jv_check(obj, f, 1, &errors));
		assert_string_equal(error_for(errors, "s"), msg);
		json_decref(errors);
		json_decref(obj);
	}
	/* An escaped non-BMP character is fine. */
	json_decref(check("{\"s\":\"\\ud83d\\ude00\"}", f, 1, true));
}

static void test_all_errors_at_once(void **state)
{
	static const struct jv_field f[] = {
	    {"email", JV_STRING, true, false, 3, 254}, /* missing */
	    {"name", JV_STRING, true, false, 1, 5},    /* too long */
	    {"age", JV_INT, false, false, 0, 0},       /* wrong type */
	    {"admin", JV_BOOL, false, false, 0, 0},    /* null, not nullable */
	    {"tags", JV_ARRAY, false, false, 0, 0},    /* wrong type */
	    {"bio", JV_STRING, false, false, 0, 10},   /* fine */
	    {"nick", JV_STRING, false, false, 2, 10},  /* too short */
	    {"meta", JV_OBJECT, false, true, 0, 0},    /* null, nullable: fine */
	};
	json_t *errors = check("{\"name\":\"abcdefgh\",\"age\":\"x\",\"admin\":null,\"tags\":{},"
			       "\"bio\":\"ok\",\"nick\":\"n\",\"meta\":null,\"role\":\"owner\","
			       "\"org_id\":1}",
			       f, NFIELDS(f), false);
	assert_int_equal(json_array_size(errors), 8);
	assert_string_equal(error_for(errors, "email"), "is required");
	assert_string_equal(error_for(errors, "name"), "must be at most 5 characters");
	assert_string_equal(error_for(errors, "age"), "must be a whole number");
	assert_string_equal(error_for(errors, "admin"), "must be true or false, not null");
	assert_string_equal(error_for(errors, "tags"), "must be an array");
	assert_string_equal(error_for(errors, "nick"), "must be at least 2 characters");
	assert_non_null(error_for(errors, "role"));
	assert_non_null(error_for(errors, "org_id"));
	assert_null(error_for(errors, "bio"));
	assert_null(error_for(errors, "meta"));

	/* A second check appends to the same array. */
	json_t *obj = load("{\"zzz\":1}");
	assert_false(jv_check(obj, NULL, 0, &errors));
	assert_int_equal(json_array_size(errors), 9);
	assert_non_null(error_for(errors, "zzz"));
	/* A passing check leaves it alone. */
	assert_true(
	    jv_check(obj, (struct jv_field[]){{"zzz", JV_NUMBER, true, false, 0, 0}}, 1, &errors));
	assert_int_equal(json_array_size(errors), 9);
	json_decref(obj);
	json_decref(errors);
}

static void test_not_an_object(void **state)
{
	/* Never crashes: a non-object simply has none of the required keys. */
	json_t *arr = load("[1,2]"), *errors = NULL;
	assert_false(jv_check(arr, USER, NFIELDS(USER), &errors));
	assert_int_equal(json_array_size(errors), 1);
	assert_string_equal(error_for(errors, "email"), "is required");
	json_decref(errors);
	json_decref(arr);
}

static void test_jv_error_and_str(void **state)
{
	json_t *errors = NULL;
	jv_error(&errors, "a", "is %s number %d", "bad", 7);
	assert_true(json_is_array(errors));
	assert_int_equal(json_array_size(errors), 1);
	assert_string_equal(error_for(errors, "a"), "is bad number 7");
	/* A very long message is cut, not overrun. */
	char longmsg[1000];
	memset(longmsg, 'm', sizeof longmsg - 1);
	longmsg[sizeof longmsg - 1] = '\0';
	jv_error(&errors, "b", "%s", longmsg);
	assert_int_equal(json_array_size(errors), 2);
	const char *m = error_for(errors, "b");
	assert_true(strlen(m) > 0 && strlen(m) < sizeof longmsg - 1);
	json_decref(errors);

	json_t *obj = load("{\"s\":\"v\",\"n\":null,\"i\":3}");
	assert_string_equal(jv_str(obj, "s"), "v");
	assert_null(jv_str(obj, "n"));
	assert_null(jv_str(obj, "i"));
	assert_null(jv_str(obj, "absent"));
	json_decref(obj);
}

/* ---------- utf8_len ---------- */

static void test_utf8_len_valid(void **state)
{
	assert_int_equal(utf8_len(""), 0);
	assert_int_equal(utf8_len("abc"), 3);
	assert_int_equal(utf8_len("\x7f"), 1);
	assert_int_equal(utf8_len("\xc2\x80"), 1);	   /* U+0080, smallest 2-byte */
	assert_int_equal(utf8_len("\xc3\xa9"), 1);	   /* é */
	assert_int_equal(utf8_len("\xdf\xbf"), 1);	   /* U+07FF */
	assert_int_equal(utf8_len("\xe0\xa0\x80"), 1);	   /* U+0800, smallest 3-byte */
	assert_int_equal(utf8_len("\xe2\x82\xac"), 1);	   /* € */
	assert_int_equal(utf8_len("\xed\x9f\xbf"), 1);	   /* U+D7FF, below the surrogates */
	assert_int_equal(utf8_len("\xee\x80\x80"), 1);	   /* U+E000, above them */
	assert_int_equal(utf8_len("\xef\xbf\xbf"), 1);	   /* U+FFFF */
	assert_int_equal(utf8_len("\xf0\x90\x80\x80"), 1); /* U+10000, smallest 4-byte */
	assert_int_equal(utf8_len("\xf0\x9f\x98\x80"), 1); /* 😀 */
	assert_int_equal(utf8_len("\xf4\x8f\xbf\xbf"), 1); /* U+10FFFF, the last */
	assert_int_equal(utf8_len("a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z"), 5);
}

static void test_utf8_len_truncated_and_stray(void **state)
{
	const char *bad[] = {
	    "\xc3",	    /* 2-byte lead, nothing after */
	    "ab\xc3",	    /* ... at the end */
	    "\xe2\x82",	    /* 3-byte, one short */
	    "\xe2",	    /* 3-byte, two short */
	    "\xf0\x9f\x98", /* 4-byte, one short */
	    "\xf0\x9f",	    /* 4-byte, two short */
	    "\xf0",	    /* 4-byte, three short */
	    "\xc3"
	    "a", /* ASCII where a continuation belongs */
	    "\xe2\x82"
	    "a",			/* ... */
	    "\x80",			/* continuation without a lead */
	    "a\xbf",			/* ... */
	    "\xc3\xa9\x80",		/* one continuation too many */
	    "\xfe",			/* never valid */
	    "\xff",			/* never valid */
	    "\xf8\x88\x80\x80\x80",	/* 5-byte form (pre-2003) */
	    "\xfc\x84\x80\x80\x80\x80", /* 6-byte form */
	};
	for (size_t i = 0; i < NFIELDS(bad); i++) {
		size_t n = utf8_len(bad[i]);
		if (n != BAD)
			fail_msg("case %zu accepted as %zu code points", i, n);
	}
}

/*
 * RFC 3629: only the shortest form is UTF-8, surrogates are not characters,
 * and nothing goes past U+10FFFF. Overlong forms are how "/" or NUL sneak
 * past filters ("\xc0\xaf", "\xc0\x80").
 */
static void test_utf8_len_overlong_surrogate_range(void **state)
{
	const char *bad[] = {
	    "\xc0\x80",		/* overlong NUL */
	    "\xc0\xaf",		/* overlong '/' */
	    "\xc1\xbf",		/* overlong U+007F */
	    "\xe0\x80\x80",	/* overlong NUL, 3 bytes */
	    "\xe0\x9f\xbf",	/* overlong U+07FF */
	    "\xf0\x80\x80\x80", /* overlong NUL, 4 bytes */
	    "\xf0\x8f\xbf\xbf", /* overlong U+FFFF */
	    "\xed\xa0\x80",	/* U+D800, a high surrogate */
	    "\xed\xbf\xbf",	/* U+DFFF, a low surrogate */
	    "\xf4\x90\x80\x80", /* U+110000 */
	    "\xf5\x80\x80\x80", /* lead byte past the range */
	    "\xf7\xbf\xbf\xbf", /* U+1FFFFF */
	};
	int accepted = 0;
	for (size_t i = 0; i < NFIELDS(bad); i++) {
		size_t n = utf8_len(bad[i]);
		if (n != BAD) {
			print_message("utf8_len accepted case %zu (", i);
			for (const char *p = bad[i]; *p; p++)
				print_message("%s%02x", p == bad[i] ? "" : " ", (unsigned char)*p);
			print_message(") as %zu code point(s)\n", n);
			accepted++;
		}
	}
	assert_int_equal(accepted, 0);
	/* And jv_check, which relies on utf8_len, refuses them too. */
	static const struct jv_field f[] = {{"s", JV_STRING, true, false, 0, 0}};
	json_t *obj = json_object(), *errors = NULL;
	json_object_set_new(obj, "s", json_string_nocheck("..\xc0\xaf..\xc0\xaf"));
	assert_false(jv_check(obj, f, 1, &errors));
	json_decref(errors);
	json_decref(obj);
}

/* jv_fill: each value lands in its named destination; absent, null or mistyped leave zero. */
struct fill_in {
	const char *name;
	bool flag;
	json_int_t count;
	json_t *list;
	const char *missing, *wrong, *null_name;
};

static void test_fill_destinations(void **state)
{
	(void)state;
	static const struct jv_field FIELDS[] = {
	    {.name = "name", .type = JV_STRING, .dest = JV_DEST(struct fill_in, name)},
	    {.name = "flag", .type = JV_BOOL, .dest = JV_DEST(struct fill_in, flag)},
	    {.name = "count", .type = JV_INT, .dest = JV_DEST(struct fill_in, count)},
	    {.name = "list", .type = JV_ARRAY, .dest = JV_DEST(struct fill_in, list)},
	    {.name = "missing", .type = JV_STRING, .dest = JV_DEST(struct fill_in, missing)},
	    {.name = "wrong", .type = JV_STRING, .dest = JV_DEST(struct fill_in, wrong)},
	    {.name = "null_name",
	     .type = JV_STRING,
	     .null = JV_NULL_OK,
	     .dest = JV_DEST(struct fill_in, null_name)},
	    {.name = "ignored", .type = JV_STRING},
	};
	json_t *obj = json_loads("{\"name\":\"Ada\",\"flag\":true,\"count\":42,\"list\":[1],"
				 "\"wrong\":7,\"null_name\":null,\"ignored\":\"x\"}",
				 0, NULL);
	assert_non_null(obj);
	struct fill_in in;
	memset(&in, 0, sizeof in);
	jv_fill(obj, FIELDS, ARRAY_LEN(FIELDS), &in);
	assert_string_equal(in.name, "Ada");
	assert_true(in.flag);
	assert_int_equal(in.count, 42);
	assert_ptr_equal(in.list, json_object_get(obj, "list"));
	assert_null(in.missing);
	assert_null(in.wrong);
	assert_null(in.null_name);
	json_decref(obj);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid_objects),
	    cmocka_unit_test(test_unknown_fields),
	    cmocka_unit_test(test_required_missing),
	    cmocka_unit_test(test_null_vs_nullable),
	    cmocka_unit_test(test_type_mismatch),
	    cmocka_unit_test(test_string_lengths_in_code_points),
	    cmocka_unit_test(test_invalid_utf8_and_nul),
	    cmocka_unit_test(test_all_errors_at_once),
	    cmocka_unit_test(test_not_an_object),
	    cmocka_unit_test(test_jv_error_and_str),
	    cmocka_unit_test(test_fill_destinations),
	    cmocka_unit_test(test_utf8_len_valid),
	    cmocka_unit_test(test_utf8_len_truncated_and_stray),
	    cmocka_unit_test(test_utf8_len_overlong_surrogate_range),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
