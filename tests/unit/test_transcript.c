/*
 * Unit tests for core/transcript: building (add, growth, normalisation),
 * shift, append (ownership moves), text and confidence, the JSON form
 * (exact shape, rounding, round trip, strict rejection), hand-filled
 * structs with garbage, and every allocation failure in turn.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/transcript.h"

/* Allocation failure injection: fail_at(), fail_off(), g_failed. */
#include "support.h"

static json_t *parse(const char *text)
{
	json_error_t err;
	json_t *j = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
	if (!j)
		fail_msg("bad fixture JSON: %s: %s", err.text, text);
	return j;
}

/* Two segments, three words on the first, none on the second. */
static void fixture(struct transcript *t)
{
	memset(t, 0, sizeof *t);
	strcpy(t->language, "en");
	t->duration = 10.0;
	assert_int_equal(transcript_add_segment(t, 0.5, 2.25, 0.9, "Hello there world."), 0);
	assert_int_equal(transcript_add_word(t, 0.5, 1.0, 0.8, "Hello"), 0);
	assert_int_equal(transcript_add_word(t, 1.1, 1.5, 0.9, "there"), 0);
	assert_int_equal(transcript_add_word(t, 1.6, 2.25, 1.0, "world."), 0);
	assert_int_equal(transcript_add_segment(t, 3.0, 4.0, 0.5, " Second. "), 0);
}

static void test_add(void **state)
{
	struct transcript t = {0};
	char src[] = "mutable";

	fixture(&t);
	assert_int_equal(t.nsegments, 2);
	assert_int_equal(t.nwords, 3);
	assert_int_equal(t.segments[0].first_word, 0);
	assert_int_equal(t.segments[0].nwords, 3);
	assert_int_equal(t.segments[1].first_word, 3);
	assert_int_equal(t.segments[1].nwords, 0);
	assert_string_equal(t.segments[0].text, "Hello there world.");
	assert_string_equal(t.words[2].text, "world.");
	assert_true(t.segments[0].start == 0.5 && t.segments[0].end == 2.25);
	assert_true(t.words[1].confidence == 0.9);

	/* Strings are copied. */
	assert_int_equal(transcript_add_word(&t, 3.0, 3.5, 0.7, src), 0);
	src[0] = 'X';
	assert_string_equal(t.words[3].text, "mutable");
	assert_int_equal(t.segments[1].nwords, 1);
	assert_int_equal(t.segments[1].first_word, 3);

	transcript_free(&t);
	assert_null(t.segments);
	assert_int_equal(t.nsegments, 0);
	transcript_free(&t); /* twice is fine */
	transcript_free(NULL);
}

static void test_add_normalises(void **state)
{
	struct transcript t = {0};

	/* A word before any segment belongs to none. */
	assert_int_equal(transcript_add_word(&t, 0, 1, 1, "orphan"), 0);
	assert_int_equal(transcript_add_segment(&t, NAN, -5, 7, NULL), 0);
	assert_true(t.segments[0].start == 0 && t.segments[0].end == 0);
	assert_true(t.segments[0].confidence == 1);
	assert_string_equal(t.segments[0].text, "");
	assert_int_equal(t.segments[0].first_word, 1);
	assert_int_equal(t.segments[0].nwords, 0);

	assert_int_equal(transcript_add_segment(&t, 5, 2, -1, "x"), 0);
	assert_true(t.segments[1].start == 5 && t.segments[1].end == 5); /* end >= start */
	assert_true(t.segments[1].confidence == 0);
	assert_int_equal(transcript_add_segment(&t, INFINITY, 1e300, NAN, "y"), 0);
	assert_true(t.segments[2].start == 0 && t.segments[2].end == 1e9);
	assert_true(t.segments[2].confidence == 0);

	/* Invalid UTF-8 (a lone continuation byte, an overlong '/', a surrogate) becomes U+FFFD. */
	assert_int_equal(transcript_add_word(&t, 1, 2, 0.5,
					     "a\x80"
					     "b\xc0\xaf"
					     "c\xed\xa0\x80"),
			 0);
	assert_string_equal(t.words[1].text, "a\xef\xbf\xbd"
					     "b\xef\xbf\xbd\xef\xbf\xbd"
					     "c\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	assert_int_equal(t.segments[2].nwords, 1);
	/* Valid multi-byte text is kept as it is. */
	assert_int_equal(transcript_add_word(&t, 2, 3, 0.5, "é日本語😀"), 0);
	assert_string_equal(t.words[2].text, "é日本語😀");

	assert_int_equal(transcript_add_segment(NULL, 0, 1, 1, "x"), -1);
	assert_int_equal(transcript_add_word(NULL, 0, 1, 1, "x"), -1);
	transcript_free(&t);
}

static int is_pow2(size_t n)
{
	return n && !(n & (n - 1));
}

static void test_growth(void **state)
{
	struct transcript t = {0};
	char text[32];

	for (int i = 0; i < 1000; i++) {
		snprintf(text, sizeof text, "s%d", i);
		assert_int_equal(transcript_add_segment(&t, i, i + 1, 0.5, text), 0);
		snprintf(text, sizeof text, "w%d", i);
		assert_int_equal(transcript_add_word(&t, i, i + 0.5, 0.5, text), 0);
		assert_int_equal(transcript_add_word(&t, i + 0.5, i + 1, 0.5, text), 0);
		assert_true(t.segments_cap >= t.nsegments && is_pow2(t.segments_cap));
		assert_true(t.words_cap >= t.nwords && is_pow2(t.words_cap));
	}
	assert_int_equal(t.nsegments, 1000);
	assert_int_equal(t.nwords, 2000);
	assert_int_equal(t.segments_cap, 1024);
	assert_int_equal(t.words_cap, 2048);
	assert_string_equal(t.segments[999].text, "s999");
	assert_int_equal(t.segments[999].first_word, 1998);
	assert_int_equal(t.segments[999].nwords, 2);
	transcript_free(&t);
}

/* A struct filled by hand, arrays of exactly the count and no capacity, still grows safely. */
static void test_hand_filled_grows(void **state)
{
	struct transcript t = {0};

	t.segments = calloc(3, sizeof *t.segments);
	assert_non_null(t.segments);
	t.nsegments = 3;
	for (int i = 0; i < 3; i++)
		t.segments[i].text = strdup("x");
	assert_int_equal(transcript_add_segment(&t, 1, 2, 1, "y"), 0);
	assert_int_equal(t.nsegments, 4);
	assert_true(t.segments_cap >= 4);
	assert_string_equal(t.segments[3].text, "y");
	transcript_free(&t);
}

static void test_shift(void **state)
{
	struct transcript t;

	fixture(&t);
	transcript_shift(&t, 60);
	assert_true(t.segments[0].start == 60.5 && t.segments[0].end == 62.25);
	assert_true(t.words[2].start == 61.6 && t.words[2].end == 62.25);
	assert_true(t.segments[1].start == 63);
	assert_true(t.duration == 70);
	transcript_shift(&t, -61);
	/* Times that would go below zero stop at zero. */
	assert_true(t.segments[0].start == 0 && t.segments[0].end == 1.25);
	assert_true(t.words[0].start == 0 && t.words[0].end == 0);
	assert_true(fabs(t.words[1].start - 0.1) < 1e-9);
	assert_true(t.duration == 9);
	transcript_shift(&t, NAN); /* ignored */
	assert_true(t.duration == 9);
	transcript_shift(NULL, 1);
	transcript_free(&t);
}

static void test_append(void **state)
{
	struct transcript a, b, empty = {0};
	char *moved_seg, *moved_word;

	fixture(&a);
	fixture(&b);
	strcpy(b.language, "fr");
	b.duration = 20;
	transcript_shift(&b, 10);
	moved_seg = b.segments[0].text;
	moved_word = b.words[1].text;

	assert_int_equal(transcript_append(&a, &b), 0);
	assert_int_equal(a.nsegments, 4);
	assert_int_equal(a.nwords, 6);
	/* The same strings: ownership moved, nothing was copied. */
	assert_ptr_equal(a.segments[2].text, moved_seg);
	assert_ptr_equal(a.words[4].text, moved_word);
	assert_int_equal(a.segments[2].first_word, 3);
	assert_int_equal(a.segments[2].nwords, 3);
	assert_int_equal(a.segments[3].first_word, 6);
	assert_true(a.segments[2].start == 10.5);
	assert_string_equal(a.language, "en"); /* dst's language stays */
	assert_true(a.duration == 30);	       /* where the later piece ends */

	/* src is emptied, and can be used again. */
	assert_null(b.segments);
	assert_null(b.words);
	assert_int_equal(b.nsegments, 0);
	assert_int_equal(b.nwords, 0);
	assert_int_equal(b.segments_cap, 0);

	/* Words added after the append join the last segment. */
	assert_int_equal(transcript_add_word(&a, 13.5, 13.8, 1, "more"), 0);
	assert_int_equal(a.segments[3].nwords, 1);

	/* Appending to an empty transcript takes the language; empty src changes nothing. */
	assert_int_equal(transcript_append(&empty, &a), 0);
	assert_string_equal(empty.language, "en");
	assert_int_equal(empty.nsegments, 4);
	assert_int_equal(transcript_append(&empty, &a), 0);
	assert_int_equal(empty.nsegments, 4);

	assert_int_equal(transcript_append(&empty, &empty), -1);
	assert_int_equal(transcript_append(NULL, &a), -1);
	assert_int_equal(transcript_append(&a, NULL), -1);
	transcript_free(&a);
	transcript_free(&b);
	transcript_free(&empty);
}

static void test_text(void **state)
{
	struct transcript t;
	char *s;

	fixture(&t);
	assert_int_equal(transcript_add_segment(&t, 5, 6, 1, " \t\n "), 0); /* blank: left out */
	assert_int_equal(transcript_add_segment(&t, 6, 7, 1, "  Third\tpart  "), 0);
	s = transcript_text(&t);
	assert_string_equal(s, "Hello there world. Second. Third\tpart");
	free(s);
	transcript_free(&t);

	s = transcript_text(&t);
	assert_string_equal(s, "");
	free(s);
	s = transcript_text(NULL);
	assert_string_equal(s, "");
	free(s);
}

static void test_confidence(void **state)
{
	struct transcript t = {0};

	assert_true(transcript_confidence(&t) == 0);
	assert_true(transcript_confidence(NULL) == 0);
	assert_int_equal(transcript_add_segment(&t, 0, 1, 0.25, "a"), 0);
	assert_int_equal(transcript_add_segment(&t, 1, 2, 0.75, "b"), 0);
	assert_true(fabs(transcript_confidence(&t) - 0.5) < 1e-12); /* segments, no words */
	assert_int_equal(transcript_add_word(&t, 1, 2, 0.2, "b"), 0);
	assert_int_equal(transcript_add_word(&t, 1, 2, 0.4, "b"), 0);
	assert_true(fabs(transcript_confidence(&t) - 0.3) < 1e-12); /* words win */
	transcript_free(&t);
}

static void test_to_json_shape(void **state)
{
	struct transcript t;
	json_t *j, *want;

	fixture(&t);
	/* Rounded to milliseconds and 3 decimals. */
	t.segments[1].start = 3.00049;
	t.segments[1].end = 4.12351;
	t.segments[1].confidence = 0.98765;
	t.duration = 10.0004;
	j = transcript_to_json(&t);
	assert_non_null(j);
	want = parse("{\"language\":\"en\",\"duration\":10.0,"
		     "\"text\":\"Hello there world. Second.\",\"speakers\":[],\"segments\":["
		     "{\"id\":0,\"start\":0.5,\"end\":2.25,\"text\":\"Hello there world.\","
		     "\"confidence\":0.9,\"speaker\":null,\"edited\":false,\"words\":["
		     "{\"word\":\"Hello\",\"start\":0.5,\"end\":1.0,\"confidence\":0.8,"
		     "\"speaker\":null},"
		     "{\"word\":\"there\",\"start\":1.1,\"end\":1.5,\"confidence\":0.9,"
		     "\"speaker\":null},"
		     "{\"word\":\"world.\",\"start\":1.6,\"end\":2.25,\"confidence\":1.0,"
		     "\"speaker\":null}]},"
		     "{\"id\":1,\"start\":3.0,\"end\":4.124,\"text\":\" Second. \","
		     "\"confidence\":0.988,\"speaker\":null,\"edited\":false,\"words\":[]}]}");
	if (!json_equal(j, want)) {
		char *got = json_dumps(j, JSON_COMPACT);
		fail_msg("got %s", got);
	}
	/* Keys come in the documented order. */
	char *s = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(15));
	assert_non_null(strstr(s, "{\"language\":\"en\",\"duration\":10.0,\"text\":"));
	assert_non_null(strstr(s, "{\"id\":1,\"start\":3.0,\"end\":4.124,\"text\":"));
	free(s);
	json_decref(want);
	json_decref(j);
	transcript_free(&t);

	/* Empty, and NULL. */
	j = transcript_to_json(&t);
	want = parse("{\"language\":\"\",\"duration\":0.0,\"text\":\"\",\"speakers\":[],"
		     "\"segments\":[]}");
	assert_true(json_equal(j, want));
	json_decref(j);
	j = transcript_to_json(NULL);
	assert_true(json_equal(j, want));
	json_decref(j);
	json_decref(want);
}

/* to_json -> from_json -> to_json gives the same JSON, and from_json keeps what to_json said. */
static void round_trip(const struct transcript *t)
{
	struct transcript back;
	json_t *j1 = transcript_to_json(t), *j2;

	assert_non_null(j1);
	if (transcript_from_json(j1, &back) != 0) {
		char *s = json_dumps(j1, JSON_COMPACT);
		fail_msg("from_json refused to_json's output: %s", s);
	}
	j2 = transcript_to_json(&back);
	assert_non_null(j2);
	if (!json_equal(j1, j2)) {
		char *a = json_dumps(j1, JSON_COMPACT), *b = json_dumps(j2, JSON_COMPACT);
		fail_msg("round trip changed\n%s\n%s", a, b);
	}
	/* Through text too: what the database stores. */
	char *text = json_dumps(j1, JSON_COMPACT);
	json_t *j3 = json_loads(text, 0, NULL);
	assert_true(json_equal(j1, j3));
	free(text);
	json_decref(j3);
	json_decref(j1);
	json_decref(j2);
	transcript_free(&back);
}

static void test_round_trip(void **state)
{
	struct transcript t;

	fixture(&t);
	t.segments[0].start = 0.123456789;
	t.words[0].start = 0.1234567; /* rounds to the segment's start */
	t.words[0].confidence = 0.33333333;
	round_trip(&t);
	transcript_free(&t);

	memset(&t, 0, sizeof t);
	round_trip(&t);

	/* Long audio, multi-byte text, a segment without words between two with. */
	strcpy(t.language, "zh-Hant");
	t.duration = 360000.5;
	assert_int_equal(transcript_add_segment(&t, 359990.001, 359995.999, 0.12345, "日本語 é 😀"),
			 0);
	assert_int_equal(transcript_add_word(&t, 359990.001, 359991.0015, 0.5, "日本語"), 0);
	assert_int_equal(transcript_add_segment(&t, 359996, 359997, 0, ""), 0);
	assert_int_equal(transcript_add_segment(&t, 359997, 359997, 1, "\"quotes\" \\ and \n"), 0);
	assert_int_equal(transcript_add_word(&t, 359997, 359997, 1, "x"), 0);
	round_trip(&t);
	transcript_free(&t);

	/* Pseudo-random transcripts with ugly values. */
	srand(42);
	for (int n = 0; n < 200; n++) {
		memset(&t, 0, sizeof t);
		t.duration = rand() % 100000 / 7.0;
		int nseg = rand() % 8;
		for (int i = 0; i < nseg; i++) {
			double s = rand() % 1000000 / 997.0, e = s + rand() % 10000 / 991.0;
			assert_int_equal(
			    transcript_add_segment(&t, s, e, rand() % 1000 / 999.0, "seg"), 0);
			int nw = rand() % 5;
			for (int k = 0; k < nw; k++) {
				/* Engines put words a little outside their segment. */
				double ws = s - 0.1 + rand() % 1000 / 300.0,
				       we = ws + rand() % 100 / 37.0;
				assert_int_equal(
				    transcript_add_word(&t, ws, we, rand() % 1000 / 997.0, "w"), 0);
			}
		}
		round_trip(&t);
		transcript_free(&t);
	}
}

/* A hand-filled struct with garbage still gives JSON that from_json accepts. */
static void test_to_json_garbage(void **state)
{
	struct transcript_segment segs[3] = {
	    {.start = NAN,
	     .end = -1,
	     .confidence = 2,
	     .text = "a\xff",
	     .first_word = 0,
	     .nwords = 5},
	    {.start = 5, .end = 1, .confidence = NAN, .text = NULL, .first_word = 99, .nwords = 1},
	    {.start = 1,
	     .end = 2,
	     .confidence = 0.5,
	     .text = "ok",
	     .first_word = 1,
	     .nwords = SIZE_MAX},
	};
	struct transcript_word words[2] = {
	    {.start = 10, .end = 0, .confidence = -3, .text = "w0"},
	    {.start = 1.5, .end = 1.75, .confidence = 0.5, .text = NULL},
	};
	struct transcript t = {.segments = segs, .nsegments = 3, .words = words, .nwords = 2};
	json_t *j;

	memcpy(t.language, "not valid!123456", sizeof t.language); /* no NUL either */
	t.duration = -INFINITY;
	j = transcript_to_json(&t);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "language")), "");
	json_t *s0 = json_array_get(json_object_get(j, "segments"), 0);
	assert_string_equal(json_string_value(json_object_get(s0, "text")), "a\xef\xbf\xbd");
	assert_int_equal(json_array_size(json_object_get(s0, "words")), 2); /* range clamped */
	json_t *s1 = json_array_get(json_object_get(j, "segments"), 1);
	assert_true(json_real_value(json_object_get(s1, "end")) == 5);
	assert_int_equal(json_array_size(json_object_get(s1, "words")), 0);
	json_decref(j);
	round_trip(&t);
}

static void test_from_json_accepts(void **state)
{
	struct transcript t;
	json_t *j;

	/* Integers for numbers, no "text", no "id", no "words". */
	j = parse("{\"language\":\"de\",\"duration\":12,\"segments\":["
		  "{\"start\":0,\"end\":1,\"text\":\"Hallo\",\"confidence\":1},"
		  "{\"id\":7,\"start\":1,\"end\":2.5,\"text\":\"Welt\",\"confidence\":0.5,"
		  "\"words\":[{\"word\":\"Welt\",\"start\":1,\"end\":2.5,\"confidence\":0.5}]}]}");
	assert_int_equal(transcript_from_json(j, &t), 0);
	assert_string_equal(t.language, "de");
	assert_true(t.duration == 12);
	assert_int_equal(t.nsegments, 2);
	assert_int_equal(t.segments[0].nwords, 0);
	assert_int_equal(t.segments[1].first_word, 0);
	assert_int_equal(t.segments[1].nwords, 1);
	assert_string_equal(t.words[0].text, "Welt");
	transcript_free(&t);
	json_decref(j);
}

static void test_from_json_rejects(void **state)
{
	static const char *const bad[] = {
	    /* not an object */
	    "[]",
	    "\"transcript\"",
	    "null",
	    /* missing or wrongly typed top-level fields, unknown ones */
	    "{\"duration\":1,\"segments\":[]}",
	    "{\"language\":\"en\",\"segments\":[]}",
	    "{\"language\":\"en\",\"duration\":1}",
	    "{\"language\":1,\"duration\":1,\"segments\":[]}",
	    "{\"language\":null,\"duration\":1,\"segments\":[]}",
	    "{\"language\":\"en\",\"duration\":\"1\",\"segments\":[]}",
	    "{\"language\":\"en\",\"duration\":true,\"segments\":[]}",
	    "{\"language\":\"en\",\"duration\":1,\"segments\":{}}",
	    "{\"language\":\"en\",\"duration\":1,\"text\":5,\"segments\":[]}",
	    "{\"language\":\"en\",\"duration\":1,\"segments\":[],\"extra\":1}",
	    "{\"language\":\"en us\",\"duration\":1,\"segments\":[]}",
	    "{\"language\":\"abcdefghijklmnop\",\"duration\":1,\"segments\":[]}",
	    "{\"language\":\"e\\u0000n\",\"duration\":1,\"segments\":[]}",
	    "{\"language\":\"en\",\"duration\":-1,\"segments\":[]}",
	    "{\"language\":\"en\",\"duration\":1e12,\"segments\":[]}",
	    /* segments */
	    "{\"language\":\"en\",\"duration\":1,\"segments\":[1]}",
	    "{\"language\":\"en\",\"duration\":1,\"segments\":[{\"start\":0,\"end\":1,\"text\":"
	    "\"a\"}]}",
	    "{\"language\":\"en\",\"duration\":1,\"segments\":[{\"start\":\"0\",\"end\":1,\"text\":"
	    "\"a\",\"confidence\":1}]}",
	    "{\"language\":\"en\",\"duration\":1,\"segments\":[{\"start\":0,\"end\":1,\"text\":3,"
	    "\"confidence\":1}]}",
	    "{\"language\":\"en\",\"duration\":1,\"segments\":[{\"start\":0,\"end\":1,\"text\":"
	    "\"a\\u0000b\",\"confidence\":1}]}",
	    "{\"language\":\"en\",\"duration\":1,\"segments\":[{\"start\":-0.5,\"end\":1,\"text\":"
	    "\"a\",\"confidence\":1}]}",
	    "{\"language\":\"en\",\"duration\":1,\"segments\":[{\"start\":0,\"end\":-1,\"text\":"
	    "\"a\",\"confidence\":1}]}",
	    "{\"language\":\"en\",\"duration\":1,\"segments\":[{\"start\":2,\"end\":1,\"text\":"
	    "\"a\",\"confidence\":1}]}",
	    "{\"language\":\"en\",\"duration\":1,\"segments\":[{\"start\":0,\"end\":1,\"text\":"
	    "\"a\",\"confidence\":1.5}]}",
	    "{\"language\":\"en\",\"duration\":1,\"segments\":[{\"start\":0,\"end\":1,\"text\":"
	    "\"a\",\"confidence\":-0.1}]}",
	    "{\"language\":\"en\",\"duration\":1,\"segments\":[{\"id\":\"0\",\"start\":0,\"end\":1,"
	    "\"text\":\"a\",\"confidence\":1}]}",
	    "{\"language\":\"en\",\"duration\":1,\"segments\":[{\"id\":-1,\"start\":0,\"end\":1,"
	    "\"text\":\"a\",\"confidence\":1}]}",
	    "{\"language\":\"en\",\"duration\":1,\"segments\":[{\"start\":0,\"end\":1,\"text\":"
	    "\"a\",\"confidence\":1,\"speaker\":1}]}",
	    "{\"language\":\"en\",\"duration\":1,\"segments\":[{\"start\":0,\"end\":1,\"text\":"
	    "\"a\",\"confidence\":1,\"words\":null}]}",
	    "{\"language\":\"en\",\"duration\":1,\"segments\":[{\"start\":0,\"end\":1,\"text\":"
	    "\"a\",\"confidence\":1,\"words\":{}}]}",
	    /* words: types, order, range outside the segment */
	    "{\"language\":\"en\",\"duration\":1,\"segments\":[{\"start\":0,\"end\":1,\"text\":"
	    "\"a\",\"confidence\":1,\"words\":[\"a\"]}]}",
	    "{\"language\":\"en\",\"duration\":1,\"segments\":[{\"start\":0,\"end\":1,\"text\":"
	    "\"a\",\"confidence\":1,\"words\":[{\"word\":1,\"start\":0,\"end\":1,\"confidence\":1}]"
	    "}]}",
	    "{\"language\":\"en\",\"duration\":1,\"segments\":[{\"start\":0,\"end\":1,\"text\":"
	    "\"a\",\"confidence\":1,\"words\":[{\"word\":\"a\",\"start\":0,\"end\":1}]}]}",
	    "{\"language\":\"en\",\"duration\":1,\"segments\":[{\"start\":0,\"end\":1,\"text\":"
	    "\"a\",\"confidence\":1,\"words\":[{\"word\":\"a\",\"start\":0.5,\"end\":0.4,"
	    "\"confidence\":1}]}]}",
	    "{\"language\":\"en\",\"duration\":1,\"segments\":[{\"start\":0.5,\"end\":1,\"text\":"
	    "\"a\",\"confidence\":1,\"words\":[{\"word\":\"a\",\"start\":0.4,\"end\":0.6,"
	    "\"confidence\":1}]}]}",
	    "{\"language\":\"en\",\"duration\":1,\"segments\":[{\"start\":0,\"end\":1,\"text\":"
	    "\"a\",\"confidence\":1,\"words\":[{\"word\":\"a\",\"start\":0.5,\"end\":1.001,"
	    "\"confidence\":1}]}]}",
	    "{\"language\":\"en\",\"duration\":1,\"segments\":[{\"start\":0,\"end\":1,\"text\":"
	    "\"a\",\"confidence\":1,\"words\":[{\"word\":\"a\",\"start\":0,\"end\":1,"
	    "\"confidence\":1,\"x\":0}]}]}",
	    /* a good segment before a bad one: nothing of it may leak or stay */
	    "{\"language\":\"en\",\"duration\":1,\"segments\":["
	    "{\"start\":0,\"end\":1,\"text\":\"good\",\"confidence\":1,\"words\":[{\"word\":"
	    "\"good\",\"start\":0,\"end\":1,\"confidence\":1}]},"
	    "{\"start\":1,\"end\":0,\"text\":\"bad\",\"confidence\":1}]}",
	};
	struct transcript t;

	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		json_t *j = parse(bad[i]);
		memset(&t, 0x5a, sizeof t); /* whatever was there */
		if (transcript_from_json(j, &t) != -1)
			fail_msg("accepted: %s", bad[i]);
		/* Left empty: transcript_free is safe, nothing to free. */
		assert_null(t.segments);
		assert_null(t.words);
		assert_int_equal(t.nsegments, 0);
		transcript_free(&t);
		json_decref(j);
	}
	assert_int_equal(transcript_from_json(NULL, &t), -1);
	json_t *j = parse("{\"language\":\"en\",\"duration\":1,\"segments\":[]}");
	assert_int_equal(transcript_from_json(j, NULL), -1);
	json_decref(j);
}

/* Transcript fields that must not change when an operation fails. */
static void assert_same(const struct transcript *a, const struct transcript *b)
{
	assert_int_equal(a->nsegments, b->nsegments);
	assert_int_equal(a->nwords, b->nwords);
	for (size_t i = 0; i < a->nsegments; i++) {
		assert_string_equal(a->segments[i].text, b->segments[i].text);
		assert_int_equal(a->segments[i].first_word, b->segments[i].first_word);
		assert_int_equal(a->segments[i].nwords, b->segments[i].nwords);
	}
	for (size_t i = 0; i < a->nwords; i++)
		assert_string_equal(a->words[i].text, b->words[i].text);
}

/*
 * Fail each allocation in turn (the 0th, the 1st, ...) until an operation
 * succeeds with no failure injected. Each failure must report -1/NULL and
 * leave the transcripts as they were (and, under ASan, leak nothing).
 */
/* 16 segments and 16 words: both arrays are full, the next add must grow them. */
static void full16(struct transcript *t)
{
	memset(t, 0, sizeof *t);
	for (int i = 0; i < 16; i++) {
		assert_int_equal(transcript_add_segment(t, i, i + 1, 1, "s"), 0);
		assert_int_equal(transcript_add_word(t, i, i + 1, 1, "w"), 0);
	}
	assert_int_equal(t->segments_cap, 16);
	assert_int_equal(t->words_cap, 16);
}

static void test_allocation_failures(void **state)
{
	struct transcript t, ref, src, src_ref;
	json_t *j, *want;
	long n;

	if (!injection_works()) {
		skip();
		return;
	}

	/* add_segment / add_word, at the point where the arrays must double. */
	full16(&t);
	full16(&ref);
	for (n = 0;; n++) {
		fail_at(n);
		int rc = transcript_add_segment(&t, 20, 21, 1, "grow");
		fail_off();
		if (!g_failed) {
			assert_int_equal(rc, 0);
			break;
		}
		assert_int_equal(rc, -1);
		assert_same(&t, &ref);
	}
	assert_int_equal(n, 2); /* the copy of the text, then the array */
	assert_int_equal(transcript_add_segment(&ref, 20, 21, 1, "grow"), 0);
	for (n = 0;; n++) {
		fail_at(n);
		int rc = transcript_add_word(&t, 20, 21, 1, "grow");
		fail_off();
		if (!g_failed) {
			assert_int_equal(rc, 0);
			break;
		}
		assert_int_equal(rc, -1);
		assert_same(&t, &ref);
	}
	assert_int_equal(n, 2);
	assert_int_equal(transcript_add_word(&ref, 20, 21, 1, "grow"), 0);
	assert_same(&t, &ref);
	transcript_free(&t);
	transcript_free(&ref);

	/* append into full arrays: both transcripts stay as they were. */
	full16(&t);
	full16(&ref);
	fixture(&src);
	fixture(&src_ref);
	for (n = 0;; n++) {
		fail_at(n);
		int rc = transcript_append(&t, &src);
		fail_off();
		if (!g_failed) {
			assert_int_equal(rc, 0);
			break;
		}
		assert_int_equal(rc, -1);
		assert_same(&t, &ref);
		assert_same(&src, &src_ref);
	}
	assert_int_equal(n, 2); /* segments, then words */
	assert_int_equal(transcript_append(&ref, &src_ref), 0);
	assert_same(&t, &ref);

	/* to_json: NULL, never a half-built object. */
	want = transcript_to_json(&t);
	assert_non_null(want);
	for (n = 0;; n++) {
		fail_at(n);
		j = transcript_to_json(&t);
		fail_off();
		if (!g_failed) {
			assert_true(json_equal(j, want));
			json_decref(j);
			break;
		}
		if (j)
			fail_msg("to_json survived failing allocation %ld", n);
	}
	assert_true(n > 10);

	/* from_json: -1 and an empty transcript. */
	for (n = 0;; n++) {
		struct transcript back;
		fail_at(n);
		int rc = transcript_from_json(want, &back);
		fail_off();
		if (!g_failed) {
			assert_int_equal(rc, 0);
			assert_same(&back, &t);
			transcript_free(&back);
			break;
		}
		assert_int_equal(rc, -1);
		assert_null(back.segments);
		assert_int_equal(back.nsegments, 0);
	}

	/* text */
	fail_at(0);
	assert_null(transcript_text(&t));
	fail_off();

	json_decref(want);
	transcript_free(&t);
	transcript_free(&ref);
	transcript_free(&src);
	transcript_free(&src_ref);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_add),
	    cmocka_unit_test(test_add_normalises),
	    cmocka_unit_test(test_growth),
	    cmocka_unit_test(test_hand_filled_grows),
	    cmocka_unit_test(test_shift),
	    cmocka_unit_test(test_append),
	    cmocka_unit_test(test_text),
	    cmocka_unit_test(test_confidence),
	    cmocka_unit_test(test_to_json_shape),
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_to_json_garbage),
	    cmocka_unit_test(test_from_json_accepts),
	    cmocka_unit_test(test_from_json_rejects),
	    cmocka_unit_test(test_allocation_failures),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
