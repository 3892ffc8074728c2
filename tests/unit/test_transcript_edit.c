/*
 * Unit tests for core/transcript_edit.c and the speaker parts of the JSON
 * form and of the exports: speakers (add, find, rename, merge, prune, talk
 * time), attributing diarization turns (splitting segments at a change of
 * speaker), editing a segment's text (re-timing its words), deep copies.
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
#include "export/export.h"

/* Two segments: "Hello there my friend." (0..4 s, 4 words) and "Bye now." (5..6 s). */
static void fixture(struct transcript *t)
{
	memset(t, 0, sizeof *t);
	snprintf(t->language, sizeof t->language, "en");
	t->duration = 7;
	assert_int_equal(transcript_add_segment(t, 0, 4, 0.9, "Hello there my friend."), 0);
	assert_int_equal(transcript_add_word(t, 0.0, 0.5, 0.9, "Hello"), 0);
	assert_int_equal(transcript_add_word(t, 0.6, 1.0, 0.8, "there"), 0);
	assert_int_equal(transcript_add_word(t, 2.0, 2.4, 0.7, "my"), 0);
	assert_int_equal(transcript_add_word(t, 2.5, 4.0, 0.6, "friend."), 0);
	assert_int_equal(transcript_add_segment(t, 5, 6, 0.5, "Bye now."), 0);
	assert_int_equal(transcript_add_word(t, 5.0, 5.4, 0.5, "Bye"), 0);
	assert_int_equal(transcript_add_word(t, 5.5, 6.0, 0.5, "now."), 0);
}

static void test_speakers_basic(void **state)
{
	struct transcript t;
	char id[8], name[400];

	fixture(&t);
	assert_int_equal(transcript_speaker_add(&t, NULL), 1);
	assert_int_equal(transcript_speaker_add(&t, "Thandi"), 2);
	transcript_speaker_id(&t, 2, id);
	assert_string_equal(id, "S2");
	transcript_speaker_id(&t, 3, id);
	assert_string_equal(id, "");
	assert_int_equal(transcript_speaker_find(&t, "S1"), 1);
	assert_int_equal(transcript_speaker_find(&t, "S2"), 2);
	assert_int_equal(transcript_speaker_find(&t, "S3"), 0);
	assert_int_equal(transcript_speaker_find(&t, "S01"), 0);
	assert_int_equal(transcript_speaker_find(&t, "s1"), 0);
	assert_int_equal(transcript_speaker_find(&t, "S"), 0);
	transcript_speaker_display(&t, 1, name, sizeof name);
	assert_string_equal(name, "Speaker 1");
	transcript_speaker_display(&t, 2, name, sizeof name);
	assert_string_equal(name, "Thandi");

	t.segments[0].speaker = 1;
	t.segments[1].speaker = 2;
	assert_true(fabs(transcript_talk_time(&t, 1) - 4.0) < 1e-9);
	assert_true(fabs(transcript_talk_time(&t, 2) - 1.0) < 1e-9);

	assert_int_equal(transcript_speaker_rename(&t, 1, "Sipho"), 0);
	transcript_speaker_display(&t, 1, name, sizeof name);
	assert_string_equal(name, "Sipho");
	assert_int_equal(transcript_speaker_rename(&t, 1, ""), 0);
	transcript_speaker_display(&t, 1, name, sizeof name);
	assert_string_equal(name, "Speaker 1");
	assert_int_equal(transcript_speaker_rename(&t, 9, "x"), -1);

	/* Merge S1 into S2: S1 is gone, S2 keeps its number and name. */
	assert_int_equal(transcript_speaker_merge(&t, 1, 1), -1);
	assert_int_equal(transcript_speaker_merge(&t, 1, 3), -1);
	assert_int_equal(transcript_speaker_merge(&t, 1, 2), 0);
	assert_int_equal(t.nspeakers, 1);
	assert_int_equal(t.segments[0].speaker, 1);
	assert_int_equal(t.segments[1].speaker, 1);
	transcript_speaker_id(&t, 1, id);
	assert_string_equal(id, "S2");
	assert_true(fabs(transcript_talk_time(&t, 1) - 5.0) < 1e-9);
	/* The next new speaker is numbered above the highest. */
	assert_int_equal(transcript_speaker_add(&t, NULL), 2);
	transcript_speaker_id(&t, 2, id);
	assert_string_equal(id, "S3");
	transcript_speakers_prune(&t);
	assert_int_equal(t.nspeakers, 1);
	transcript_free(&t);

	/* Bounded. */
	fixture(&t);
	for (int k = 0; k < TRANSCRIPT_MAX_SPEAKERS; k++)
		assert_int_equal(transcript_speaker_add(&t, NULL), (size_t)k + 1);
	assert_int_equal(transcript_speaker_add(&t, NULL), 0);
	transcript_free(&t);
}

static void test_json_round_trip(void **state)
{
	struct transcript t, back;
	json_t *j, *again;

	fixture(&t);
	assert_int_equal(transcript_speaker_add(&t, "Thandi"), 1);
	assert_int_equal(transcript_speaker_add(&t, NULL), 2);
	t.segments[0].speaker = 2;
	t.segments[1].speaker = 1;
	t.segments[1].edited = true;
	j = transcript_to_json(&t);
	assert_non_null(j);
	json_t *sp = json_object_get(j, "speakers");
	assert_int_equal(json_array_size(sp), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(sp, 0), "id")), "S1");
	assert_string_equal(json_string_value(json_object_get(json_array_get(sp, 0), "name")),
			    "Thandi");
	assert_string_equal(json_string_value(json_object_get(json_array_get(sp, 1), "label")),
			    "Speaker 2");
	assert_true(json_is_null(json_object_get(json_array_get(sp, 1), "name")));
	assert_true(fabs(json_number_value(json_object_get(json_array_get(sp, 1), "talk_time_s")) -
			 4.0) < 1e-9);
	json_t *seg0 = json_array_get(json_object_get(j, "segments"), 0);
	assert_string_equal(json_string_value(json_object_get(seg0, "speaker")), "S2");
	assert_string_equal(json_string_value(json_object_get(
				json_array_get(json_object_get(seg0, "words"), 3), "speaker")),
			    "S2");
	assert_true(json_is_false(json_object_get(seg0, "edited")));
	assert_true(json_is_true(
	    json_object_get(json_array_get(json_object_get(j, "segments"), 1), "edited")));

	assert_int_equal(transcript_from_json(j, &back), 0);
	assert_int_equal(back.nspeakers, 2);
	assert_int_equal(back.segments[0].speaker, 2);
	assert_int_equal(back.segments[1].speaker, 1);
	assert_true(back.segments[1].edited);
	assert_string_equal(back.speakers[0].name, "Thandi");
	assert_null(back.speakers[1].name);
	again = transcript_to_json(&back);
	assert_true(json_equal(j, again));
	json_decref(again);
	transcript_free(&back);
	json_decref(j);

	/* A hand-filled struct with a duplicate number and a dangling reference still round-trips.
	 */
	t.speakers[1].number = 1;
	t.segments[0].speaker = 7;
	j = transcript_to_json(&t);
	assert_int_equal(json_array_size(json_object_get(j, "speakers")), 1);
	assert_int_equal(transcript_from_json(j, &back), 0);
	assert_int_equal(back.segments[0].speaker, 0);
	transcript_free(&back);
	json_decref(j);
	transcript_free(&t);
}

static void test_json_rejects(void **state)
{
	static const char *const bad[] = {
	    /* a segment naming a speaker not declared */
	    "{\"language\":\"en\",\"duration\":1,\"speakers\":[],\"segments\":[{\"start\":0,"
	    "\"end\":1,\"text\":\"a\",\"confidence\":1,\"speaker\":\"S1\"}]}",
	    /* the same id twice */
	    "{\"language\":\"en\",\"duration\":1,\"speakers\":[{\"id\":\"S1\"},{\"id\":\"S1\"}],"
	    "\"segments\":[]}",
	    /* ids: not S<n>, leading zero, zero, too large */
	    "{\"language\":\"en\",\"duration\":1,\"speakers\":[{\"id\":\"A1\"}],\"segments\":[]}",
	    "{\"language\":\"en\",\"duration\":1,\"speakers\":[{\"id\":\"S01\"}],\"segments\":[]}",
	    "{\"language\":\"en\",\"duration\":1,\"speakers\":[{\"id\":\"S0\"}],\"segments\":[]}",
	    "{\"language\":\"en\",\"duration\":1,\"speakers\":[{\"id\":\"S1000\"}],\"segments\":[]"
	    "}",
	    /* unknown key, wrong types */
	    "{\"language\":\"en\",\"duration\":1,\"speakers\":[{\"id\":\"S1\",\"x\":1}],"
	    "\"segments\":[]}",
	    "{\"language\":\"en\",\"duration\":1,\"speakers\":[{\"id\":\"S1\",\"name\":3}],"
	    "\"segments\":[]}",
	    "{\"language\":\"en\",\"duration\":1,\"speakers\":{},\"segments\":[]}",
	    "{\"language\":\"en\",\"duration\":1,\"segments\":[{\"start\":0,\"end\":1,"
	    "\"text\":\"a\",\"confidence\":1,\"edited\":1}]}",
	    "{\"language\":\"en\",\"duration\":1,\"segments\":[{\"start\":0,\"end\":1,"
	    "\"text\":\"a\",\"confidence\":1,\"speaker\":5}]}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		json_t *j = json_loads(bad[i], 0, NULL);
		struct transcript t;
		assert_non_null(j);
		if (transcript_from_json(j, &t) == 0)
			fail_msg("accepted: %s", bad[i]);
		json_decref(j);
	}
	/* A name longer than TRANSCRIPT_NAME_MAX code points. */
	char name[TRANSCRIPT_NAME_MAX + 2];
	memset(name, 'a', sizeof name - 1);
	name[sizeof name - 1] = '\0';
	json_t *j = json_pack("{s:s,s:i,s:[{s:s,s:s}],s:[]}", "language", "en", "duration", 1,
			      "speakers", "id", "S1", "name", name, "segments");
	struct transcript t;
	assert_int_equal(transcript_from_json(j, &t), -1);
	json_decref(j);
}

static void test_assign_turns(void **state)
{
	struct transcript t;

	/* Speaker B (cluster 5) says "Hello there", A (cluster 2) "my friend. Bye now." */
	fixture(&t);
	struct transcript_turn turns[] = {
	    {.start = 2.2, .end = 6.5, .speaker = 2},
	    {.start = 0.0, .end = 1.5, .speaker = 5},
	};
	assert_int_equal(transcript_assign_turns(&t, turns, 2), 0);
	assert_int_equal(t.nspeakers, 2);
	assert_int_equal(t.nsegments, 3);
	assert_string_equal(t.segments[0].text, "Hello there");
	assert_string_equal(t.segments[1].text, "my friend.");
	assert_string_equal(t.segments[2].text, "Bye now.");
	/* Numbered by first appearance: the first voice heard is S1. */
	assert_int_equal(t.segments[0].speaker, 1);
	assert_int_equal(t.segments[1].speaker, 2);
	assert_int_equal(t.segments[2].speaker, 2);
	/* The split falls between the words; the outer bounds stay. */
	assert_true(t.segments[0].start == 0 && fabs(t.segments[0].end - 1.0) < 1e-9);
	assert_true(fabs(t.segments[1].start - 2.0) < 1e-9 && t.segments[1].end == 4);
	assert_int_equal(t.segments[0].nwords, 2);
	assert_int_equal(t.segments[1].nwords, 2);
	assert_int_equal(t.segments[1].first_word, 2);
	assert_int_equal(t.nwords, 6);
	assert_true(fabs(transcript_talk_time(&t, 2) - 3.0) < 1e-9);
	char *text = transcript_text(&t);
	assert_string_equal(text, "Hello there my friend. Bye now.");
	free(text);
	transcript_free(&t);

	/* A lone word heard as another speaker stays with its neighbours. */
	fixture(&t);
	struct transcript_turn lone[] = {
	    {.start = 0, .end = 0.55, .speaker = 0},
	    {.start = 0.55, .end = 1.9, .speaker = 1},
	    {.start = 1.9, .end = 7, .speaker = 0},
	};
	assert_int_equal(transcript_assign_turns(&t, lone, 3), 0);
	assert_int_equal(t.nsegments, 2);
	assert_int_equal(t.nspeakers, 1);
	assert_int_equal(t.segments[0].speaker, 1);
	transcript_free(&t);

	/* One speaker throughout: one speaker, nothing split. */
	fixture(&t);
	struct transcript_turn one[] = {{.start = 0, .end = 7, .speaker = 3}};
	assert_int_equal(transcript_assign_turns(&t, one, 1), 0);
	assert_int_equal(t.nspeakers, 1);
	assert_int_equal(t.nsegments, 2);
	assert_string_equal(t.segments[0].text, "Hello there my friend.");
	/* A word outside every turn goes to the nearest one. */
	struct transcript_turn far[] = {{.start = 0, .end = 0.2, .speaker = 0},
					{.start = 6.8, .end = 7, .speaker = 1}};
	assert_int_equal(transcript_assign_turns(&t, far, 2), 0);
	assert_int_equal(t.segments[t.nsegments - 1].speaker, 2);
	/* No turns (silence): no speakers. */
	assert_int_equal(transcript_assign_turns(&t, NULL, 0), 0);
	assert_int_equal(t.nspeakers, 0);
	for (size_t i = 0; i < t.nsegments; i++)
		assert_int_equal(t.segments[i].speaker, 0);
	transcript_free(&t);

	/* Segments without words take the turn they overlap most. */
	memset(&t, 0, sizeof t);
	assert_int_equal(transcript_add_segment(&t, 0, 3, 1, "a b c"), 0);
	assert_int_equal(transcript_add_segment(&t, 3, 6, 1, "d e f"), 0);
	struct transcript_turn two[] = {{.start = 0, .end = 3.2, .speaker = 0},
					{.start = 3.2, .end = 6, .speaker = 1}};
	assert_int_equal(transcript_assign_turns(&t, two, 2), 0);
	assert_int_equal(t.segments[0].speaker, 1);
	assert_int_equal(t.segments[1].speaker, 2);
	transcript_free(&t);
}

static void test_set_text(void **state)
{
	struct transcript t;

	fixture(&t);
	/* Fix one word: the others keep their times, the new one lands in its place. */
	assert_int_equal(transcript_set_text(&t, 0, "  Hello there, my dear friend.  "), 0);
	assert_string_equal(t.segments[0].text, "Hello there, my dear friend.");
	assert_true(t.segments[0].edited);
	assert_false(t.segments[1].edited);
	assert_int_equal(t.segments[0].nwords, 5);
	assert_int_equal(t.nwords, 7);
	const struct transcript_word *w = t.words;
	assert_string_equal(w[0].text, "Hello");
	assert_true(w[0].start == 0.0 && w[0].end == 0.5 && w[0].confidence == 0.9);
	assert_string_equal(w[1].text, "there,"); /* punctuation aside, the same word */
	assert_true(w[1].start == 0.6 && w[1].end == 1.0);
	assert_true(w[2].start == 2.0 && w[2].end == 2.4);
	assert_string_equal(w[3].text, "dear");
	assert_string_equal(w[4].text, "friend.");
	/* "friend." kept 2.5..4.0, so "dear" fits between "my" (2.4) and "friend." (2.5). */
	assert_true(w[3].start >= 2.4 - 1e-9 && w[3].end <= 2.5 + 1e-9);
	assert_true(w[3].confidence == 1.0);
	assert_true(w[4].start == 2.5 && w[4].end == 4.0);
	/* The next segment's words moved with it. */
	assert_int_equal(t.segments[1].first_word, 5);
	assert_string_equal(t.words[5].text, "Bye");

	/* Rewrite entirely: words share the segment's span in order. */
	assert_int_equal(transcript_set_text(&t, 1, "Goodbye everybody and thanks"), 0);
	assert_int_equal(t.segments[1].nwords, 4);
	double prev = 5.0;
	for (size_t k = 0; k < 4; k++) {
		const struct transcript_word *x = &t.words[t.segments[1].first_word + k];
		assert_true(x->start >= prev - 1e-9);
		assert_true(x->end >= x->start);
		assert_true(x->end <= 6.0 + 1e-9);
		prev = x->end;
	}
	assert_true(fabs(prev - 6.0) < 1e-9);
	/* Longer words take longer. */
	const struct transcript_word *x = &t.words[t.segments[1].first_word];
	assert_true(x[1].end - x[1].start > x[2].end - x[2].start);

	/* Fewer words; a segment without words gets some. */
	assert_int_equal(transcript_set_text(&t, 0, "Hello"), 0);
	assert_int_equal(t.nwords, 5);
	assert_int_equal(t.segments[1].first_word, 1);
	assert_int_equal(transcript_set_text(&t, 5, "x"), -1);

	/* The JSON of an edited transcript reads back. */
	json_t *j = transcript_to_json(&t);
	struct transcript back;
	assert_int_equal(transcript_from_json(j, &back), 0);
	assert_int_equal(back.nwords, 5);
	transcript_free(&back);
	json_decref(j);
	transcript_free(&t);

	memset(&t, 0, sizeof t);
	assert_int_equal(transcript_add_segment(&t, 10, 12, 1, "old"), 0);
	assert_int_equal(transcript_set_text(&t, 0, "new words"), 0);
	assert_int_equal(t.segments[0].nwords, 2);
	assert_true(t.words[0].start == 10 && fabs(t.words[1].end - 12) < 1e-9);
	transcript_free(&t);
}

static void test_copy(void **state)
{
	struct transcript t, c;

	fixture(&t);
	assert_int_equal(transcript_speaker_add(&t, "Ann"), 1);
	t.segments[1].speaker = 1;
	t.segments[1].edited = true;
	assert_int_equal(transcript_copy(&c, &t), 0);
	json_t *a = transcript_to_json(&t), *b = transcript_to_json(&c);
	assert_true(json_equal(a, b));
	json_decref(a);
	json_decref(b);
	assert_ptr_not_equal(c.speakers[0].name, t.speakers[0].name);
	transcript_free(&t);
	transcript_free(&c);
}

static char *render(const struct transcript *t, enum export_format f)
{
	size_t len;
	char *s = export_render(t, f, NULL, &len);
	assert_non_null(s);
	return s;
}

static void test_export_speakers(void **state)
{
	struct transcript t;

	fixture(&t);
	assert_int_equal(transcript_speaker_add(&t, "Thandi <CEO>"), 1);
	assert_int_equal(transcript_speaker_add(&t, NULL), 2);
	t.segments[0].speaker = 1;
	t.segments[1].speaker = 2;
	char *s = render(&t, EXPORT_TXT);
	assert_non_null(strstr(s, "[00:00:00] Thandi <CEO>: Hello there my friend."));
	assert_non_null(strstr(s, "[00:00:05] Speaker 2: Bye now."));
	free(s);
	s = render(&t, EXPORT_VTT);
	assert_non_null(strstr(s, "<v Thandi &lt;CEO&gt;>Hello there my friend."));
	assert_non_null(strstr(s, "<v Speaker 2>Bye now."));
	free(s);
	s = render(&t, EXPORT_SRT);
	assert_non_null(strstr(s, "Thandi <CEO>: Hello there my friend."));
	assert_non_null(strstr(s, "Speaker 2: Bye now."));
	free(s);
	/* Labels count in SRT's line width; a speaker who goes on is not named again. */
	assert_int_equal(transcript_speaker_rename(&t, 1, "Nomvula Mokonyane-Dlamini"), 0);
	assert_int_equal(
	    transcript_set_text(&t, 0, "Hello there my friend, this line is long enough"), 0);
	assert_int_equal(transcript_set_text(&t, 1, "Bye now and see you all tomorrow."), 0);
	t.segments[1].speaker = 1;
	s = render(&t, EXPORT_SRT);
	for (char *line = strtok(s, "\n"); line; line = strtok(NULL, "\n"))
		assert_true(strlen(line) <= EXPORT_LINE_MAX);
	free(s);
	s = render(&t, EXPORT_SRT);
	assert_non_null(strstr(s, "Nomvula Mokonyane-Dlamini:"));
	assert_null(strstr(strstr(s, "Nomvula Mokonyane-Dlamini:") + 1, "Nomvula"));
	free(s);
	/* Without speakers, no names. */
	t.segments[0].speaker = t.segments[1].speaker = 0;
	s = render(&t, EXPORT_VTT);
	assert_null(strstr(s, "<v "));
	free(s);
	transcript_free(&t);
}

/* Text that would look empty: Unicode white space and invisible (default-ignorable) characters. */
static void test_text_blank(void **state)
{
	(void)state;
	static const char *const blank[] = {
	    "",
	    " \t\r\n",
	    "\xc2\xa0" /* U+00A0 */,
	    "\xe3\x80\x80" /* U+3000 */,
	    "\xe2\x80\x83 \xe2\x80\x8b" /* U+2003 U+200B */,
	    "\xe2\x80\x8d\xef\xbb\xbf" /* ZWJ BOM */,
	    "\xe2\x81\xa0", /* U+2060 */
	};
	static const char *const visible[] = {
	    "a",
	    " x ",
	    "\xc2\xa0.\xc2\xa0",
	    "Zo\xc3\xab",
	    "\xe6\x97\xa5",
	    "\xf0\x9f\x98\x80",
	    "\xe2\x80\x8b"
	    "b",
	    "\xff" /* invalid UTF-8 is not nothing */,
	    "\xef\xbf\xbd" /* U+FFFD */,
	};
	for (size_t i = 0; i < sizeof blank / sizeof *blank; i++)
		assert_true(transcript_text_blank(blank[i]));
	for (size_t i = 0; i < sizeof visible / sizeof *visible; i++)
		assert_false(transcript_text_blank(visible[i]));
	assert_true(transcript_text_blank(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_speakers_basic),  cmocka_unit_test(test_json_round_trip),
	    cmocka_unit_test(test_json_rejects),    cmocka_unit_test(test_assign_turns),
	    cmocka_unit_test(test_set_text),	    cmocka_unit_test(test_copy),
	    cmocka_unit_test(test_export_speakers), cmocka_unit_test(test_text_blank),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
