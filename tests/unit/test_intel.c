/*
 * test_intel.c — meeting intelligence offline: sentences and their times,
 * TextRank ranking, the summary, action-item and decision rules, topics,
 * VADER against the scores its reference implementation publishes, and the
 * whole JSON document (an empty transcript gives empty fields).
 *
 * The lexicon is models/vader_lexicon.txt (scripts/fetch-models; or
 * IAM_MODELS_DIR), else the npm package's copy in node_modules.
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
#include <unistd.h>

#include "intel/intel.h"

/* ---- helpers ---- */

static struct intel_lexicon *lexicon(void)
{
	static struct intel_lexicon *lx;
	char path[1024], err[256];
	const char *dir = getenv("IAM_MODELS_DIR");

	if (lx)
		return lx;
	snprintf(path, sizeof path, "%s/vader_lexicon.txt", dir && *dir ? dir : "models");
	if (access(path, R_OK) != 0)
		snprintf(path, sizeof path, "node_modules/vader-sentiment/vader_lexicon.txt");
	lx = intel_lexicon_load(path, err, sizeof err);
	if (!lx)
		fprintf(stderr, "lexicon: %s (run scripts/fetch-models)\n", err);
	return lx;
}

/* A transcript from "speaker|start|end|text" lines (speaker 0 = none). */
static void build(struct transcript *t, const char *const *lines, size_t n, size_t speakers)
{
	memset(t, 0, sizeof *t);
	for (size_t k = 0; k < speakers; k++)
		assert_int_not_equal(transcript_speaker_add(t, NULL), 0);
	for (size_t i = 0; i < n; i++) {
		unsigned spk;
		double a, b;
		int off = 0;
		assert_int_equal(sscanf(lines[i], "%u|%lf|%lf|%n", &spk, &a, &b, &off), 3);
		assert_int_equal(transcript_add_segment(t, a, b, 0.9, lines[i] + off), 0);
		t->segments[t->nsegments - 1].speaker = spk;
	}
	t->duration = n ? t->segments[n - 1].end : 0;
}

/* ---- sentences ---- */

static void test_split_times_and_speakers(void **state)
{
	(void)state;
	struct transcript t = {0};
	struct intel_doc d;
	static const char *const L[] = {
	    "1|0|10|Hello everyone. Dr. Smith joined us at 3.5 past!  Is that right?",
	    "2|10|14|Yes it is",
	};
	build(&t, L, 2, 2);
	assert_int_equal(intel_split(&t, &d), 0);
	assert_int_equal(d.n, 4);
	assert_string_equal(d.s[0].text, "Hello everyone.");
	assert_string_equal(d.s[1].text, "Dr. Smith joined us at 3.5 past!");
	assert_string_equal(d.s[2].text, "Is that right?");
	assert_string_equal(d.s[3].text, "Yes it is");
	assert_true(d.s[0].start == 0);
	assert_true(d.s[1].start > 1 && d.s[1].start < 4); /* in proportion: no word times */
	assert_true(d.s[2].start > d.s[1].start && d.s[2].end <= 10.0001);
	assert_true(d.s[3].start == 10);
	assert_int_equal(d.s[0].speaker, 1);
	assert_int_equal(d.s[3].speaker, 2);
	intel_doc_free(&d);
	transcript_free(&t);
}

static void test_split_word_times(void **state)
{
	(void)state;
	struct transcript t = {0};
	struct intel_doc d;
	assert_int_equal(transcript_add_segment(&t, 0, 4, 1, "Good morning. We start"), 0);
	assert_int_equal(transcript_add_word(&t, 0.2, 0.5, 1, "Good"), 0);
	assert_int_equal(transcript_add_word(&t, 0.5, 1.0, 1, "morning."), 0);
	assert_int_equal(transcript_add_word(&t, 2.5, 2.8, 1, "We"), 0);
	assert_int_equal(transcript_add_word(&t, 2.8, 3.5, 1, "start"), 0);
	assert_int_equal(intel_split(&t, &d), 0);
	assert_int_equal(d.n, 2);
	assert_true(fabs(d.s[0].start - 0.2) < 1e-9 && fabs(d.s[0].end - 1.0) < 1e-9);
	assert_true(fabs(d.s[1].start - 2.5) < 1e-9 && fabs(d.s[1].end - 3.5) < 1e-9);
	intel_doc_free(&d);
	transcript_free(&t);
}

static void test_stemmer_by_language(void **state)
{
	(void)state;
	/* German text stems as German ("Häuser" and "Hauses" meet), English by default. */
	struct transcript t = {0};
	struct intel_doc d;
	struct intel_topic *tp = NULL;
	size_t n = 0;
	snprintf(t.language, sizeof t.language, "de");
	assert_int_equal(transcript_add_segment(&t, 0, 5, 1, "Die Häuser am Fluss sind alt."), 0);
	assert_int_equal(transcript_add_segment(&t, 5, 9, 1, "Das Dach des Hauses leckt."), 0);
	assert_int_equal(intel_split(&t, &d), 0);
	assert_string_equal(d.language, "de");
	assert_int_equal(intel_topics(&d, 3, &tp, &n), 0);
	assert_true(n >= 1);
	assert_int_equal(tp[0].nmentions, 2); /* one topic said in both sentences */
	intel_topics_free(tp, n);
	intel_doc_free(&d);
	transcript_free(&t);
}

static void test_stopwords(void **state)
{
	(void)state;
	assert_true(intel_stopword("the"));
	assert_true(intel_stopword("don't"));
	assert_true(intel_stopword("you're"));
	assert_false(intel_stopword("budget"));
	assert_false(intel_stopword("launch"));
}

/* ---- TextRank ---- */

static void test_textrank_ranks_the_central_sentence(void **state)
{
	(void)state;
	struct transcript t = {0};
	struct intel_doc d;
	/* Sentence 2 shares words with every other; sentence 4 with none. */
	static const char *const L[] = {
	    "1|0|5|The marketing budget for the spring campaign is too small.",
	    "2|5|10|The spring campaign needs new designs from the agency.",
	    "1|10|15|The marketing budget, the spring campaign and the agency designs all depend "
	    "on the launch date.",
	    "2|15|20|The launch date moved because the agency designs were late.",
	    "1|20|25|My cat prefers sardines over tuna fish.",
	};
	double score[5];
	build(&t, L, 5, 2);
	assert_int_equal(intel_split(&t, &d), 0);
	assert_int_equal(d.n, 5);
	assert_int_equal(intel_textrank(&d, score), 0);
	for (size_t i = 0; i < 5; i++)
		if (i != 2)
			assert_true(score[2] > score[i]);
	assert_true(score[4] < score[0] && score[4] < score[1] && score[4] < score[3]);
	intel_doc_free(&d);
	transcript_free(&t);
}

static void test_summary_length_order_and_no_filler(void **state)
{
	(void)state;
	struct transcript t = {0};
	struct intel_doc d;
	char line[64][200];
	const char *L[64];
	size_t idx[10];
	/* 60 sentences of a meeting about a release; "Yeah." in between. */
	static const char *const topics[] = {"release", "testing",  "customers",
					     "pricing", "deadline", "servers"};
	for (int i = 0; i < 60; i++) {
		if (i % 6 == 5)
			snprintf(line[i], sizeof line[i], "%d|%d|%d|Yeah.", 1 + i % 2, i * 5,
				 i * 5 + 5);
		else
			snprintf(line[i], sizeof line[i],
				 "%d|%d|%d|The %s plan for the %s depends on the %s team and the "
				 "%s review.",
				 1 + i % 2, i * 5, i * 5 + 5, topics[i % 6], topics[(i + 1) % 6],
				 topics[(i + 2) % 6], topics[(i + 3) % 6]);
		L[i] = line[i];
	}
	build(&t, L, 60, 2);
	assert_int_equal(intel_split(&t, &d), 0);
	int n = intel_summary(&d, idx);
	assert_true(n >= 5 && n <= 10);
	for (int i = 0; i < n; i++) {
		assert_string_not_equal(d.s[idx[i]].text, "Yeah.");
		if (i)
			assert_true(idx[i] > idx[i - 1]); /* time order */
	}
	intel_doc_free(&d);
	transcript_free(&t);
}

/* ---- action items and decisions ---- */

struct rule_case {
	const char *text;
	int kind;
	bool addressed;
	const char *who;
	const char *when;
};

static void test_action_rules(void **state)
{
	(void)state;
	static const struct rule_case C[] = {
	    {"I'll send the revised budget by Friday.", INTEL_ACTION, false, "", "by Friday"},
	    {"I will update the roadmap tomorrow.", INTEL_ACTION, false, "", "tomorrow"},
	    {"We need to hire two more engineers next quarter.", INTEL_ACTION, false, "",
	     "next quarter"},
	    {"Let's schedule a follow-up with legal.", INTEL_ACTION, false, "", ""},
	    {"Maria, can you review the contract before Monday?", INTEL_ACTION, true, "Maria",
	     "before Monday"},
	    {"Could you share the slides by end of day, Tom?", INTEL_ACTION, true, "Tom",
	     "by end of day"},
	    {"Please book the venue for March 3rd.", INTEL_ACTION, true, "", "for March 3rd"},
	    {"Priya will draft the announcement in two weeks.", INTEL_ACTION, true, "Priya",
	     "in two weeks"},
	    {"We decided to postpone the launch to June.", INTEL_DECISION, false, "", ""},
	    {"We will ship the beta in June.", INTEL_ACTION, false, "", "in June"},
	    {"Okay, Maria will draft the memo.", INTEL_ACTION, true, "Maria", ""},
	    {"We will march on with the plan.", INTEL_ACTION, false, "", ""},
	    {"Okay, we agreed on the vendor from Berlin.", INTEL_DECISION, false, "", ""},
	    {"Let's go with the blue design.", INTEL_DECISION, false, "", ""},
	    /* talk, not tasks */
	    {"I'll be honest, the numbers look weak.", 0, false, "", ""},
	    {"Let's see what happens.", 0, false, "", ""},
	    {"The API has open bugs and I think we should talk about it.", 0, false, "", ""},
	    {"I'll talk to legal tomorrow.", INTEL_ACTION, false, "", "tomorrow"},
	    {"Can you hear me?", 0, false, "", ""},
	    {"The weather was nice last weekend.", 0, false, "", ""},
	    {"Did we decide anything about pricing?", 0, false, "", ""},
	    {"Should we ask the client?", 0, false, "", ""},
	};
	for (size_t i = 0; i < sizeof C / sizeof *C; i++) {
		bool addressed;
		char who[128], when[96];
		int kind = intel_classify(C[i].text, &addressed, who, when);
		if (kind != C[i].kind)
			fail_msg("\"%s\": kind %d, expected %d", C[i].text, kind, C[i].kind);
		if (kind == INTEL_ACTION) {
			assert_int_equal(addressed, C[i].addressed);
			assert_string_equal(who, C[i].who);
		}
		if (C[i].kind && strcmp(when, C[i].when) &&
		    (*C[i].when || strstr(C[i].text, "march")))
			fail_msg("\"%s\": when \"%s\", expected \"%s\"", C[i].text, when,
				 C[i].when);
	}
}

static void test_items_who(void **state)
{
	(void)state;
	struct transcript t = {0};
	struct intel_doc d;
	struct intel_item *it = NULL;
	size_t n = 0;
	static const char *const L[] = {
	    "1|0|4|I'll write the test plan by Wednesday.",
	    "1|4|8|Can you check the logs?",
	    "2|8|10|Sure.",
	    "2|10|14|We decided to ship on Thursday.",
	};
	build(&t, L, 4, 2);
	assert_int_equal(transcript_speaker_rename(&t, 1, "Alice"), 0);
	assert_int_equal(transcript_speaker_rename(&t, 2, "Bob"), 0);
	assert_int_equal(intel_split(&t, &d), 0);
	assert_int_equal(intel_items(&t, &d, &it, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(it[0].kind, INTEL_ACTION);
	assert_string_equal(it[0].who, "Alice"); /* the speaker commits */
	assert_string_equal(it[0].when, "by Wednesday");
	assert_int_equal(it[1].kind, INTEL_ACTION);
	assert_string_equal(it[1].who, "Bob"); /* asked: whoever answers */
	assert_int_equal(it[2].kind, INTEL_DECISION);
	assert_int_equal(it[2].sentence, 3);
	free(it);
	intel_doc_free(&d);
	transcript_free(&t);
}

/* ---- topics ---- */

static void test_topics(void **state)
{
	(void)state;
	struct transcript t = {0};
	struct intel_doc d;
	struct intel_topic *tp = NULL;
	size_t n = 0;
	static const char *const L[] = {
	    "1|0|5|The customer portal is slow on mobile.",
	    "2|5|10|Yeah, the customer portal needs caching.",
	    "1|10|15|Caching would also help the billing service.",
	    "2|15|20|The billing service and the customer portal share a database.",
	    "1|20|25|Um, okay, yeah.",
	};
	build(&t, L, 5, 2);
	assert_int_equal(intel_split(&t, &d), 0);
	assert_int_equal(intel_topics(&d, 5, &tp, &n), 0);
	assert_true(n >= 2);
	assert_string_equal(tp[0].phrase, "customer portal");
	assert_true(tp[0].score == 1.0);
	assert_int_equal(tp[0].nmentions, 3);
	assert_true(tp[0].mentions[0] == 0 && tp[0].mentions[1] == 5 && tp[0].mentions[2] == 15);
	bool billing = false;
	for (size_t i = 0; i < n; i++) {
		billing |= !strcmp(tp[i].phrase, "billing service");
		assert_string_not_equal(tp[i].phrase, "yeah");
		assert_string_not_equal(tp[i].phrase, "customer"); /* inside "customer portal" */
	}
	assert_true(billing);
	intel_topics_free(tp, n);
	intel_doc_free(&d);
	transcript_free(&t);
}

/* ---- VADER ---- */

static void test_vader_published_scores(void **state)
{
	(void)state;
	/* The compound scores VADER's README and the npm reference give for these. */
	static const struct {
		const char *text;
		double compound;
	} C[] = {
	    {"VADER is smart, handsome, and funny.", 0.8316},
	    {"VADER is smart, handsome, and funny!", 0.8439},	   /* exclamation */
	    {"VADER is very smart, handsome, and funny.", 0.8545}, /* booster */
	    {"VADER is VERY SMART, handsome, and FUNNY.", 0.9227}, /* ALL CAPS */
	    {"VADER is VERY SMART, handsome, and FUNNY!!!", 0.9342},
	    {"VADER is VERY SMART, uber handsome, and FRIGGIN FUNNY!!!", 0.9469},
	    {"VADER is not smart, handsome, nor funny.", -0.7424}, /* negation */
	    {"The book was good.", 0.4404},
	    {"At least it isn't a horrible book.", 0.431},
	    {"The book was only kind of good.", 0.3832}, /* dampener */
	    {"The plot was good, but the characters are uncompelling and the dialog is not great.",
	     -0.7042}, /* but */
	    {"Today SUX!", -0.5461},
	    {"Today only kinda sux! But I'll get by, lol", 0.2228},
	    {"Make sure you :) or :D today!", 0.8633}, /* emoticons */
	    {"Not bad at all", -0.5423},
	    {"The meeting went well??", 0.3527}, /* question marks */
	    {"This is the shit", 0.6124},	 /* idiom */
	    {"I never so loved a plan", 0.7776}, /* "never so" */
	    {"The budget review was a complete disaster.", -0.6249},
	    {"", 0},
	};
	struct intel_lexicon *lx = lexicon();
	assert_non_null(lx);
	for (size_t i = 0; i < sizeof C / sizeof *C; i++) {
		struct intel_vader v;
		intel_vader_scores(lx, C[i].text, &v);
		if (fabs(round(v.compound * 10000) / 10000 - C[i].compound) > 1e-9)
			fail_msg("\"%s\": compound %.4f, expected %.4f", C[i].text, v.compound,
				 C[i].compound);
	}
	struct intel_vader v;
	intel_vader_scores(lx, "The book was good.", &v);
	assert_true(fabs(v.pos - 0.492) < 0.0005 && fabs(v.neu - 0.508) < 0.0005 && v.neg == 0);
}

static void test_lexicon_bad_files(void **state)
{
	(void)state;
	char err[256], path[] = "/tmp/iam-lexXXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_true(write(fd, "good\tnot-a-number\t1\n", 20) == 20);
	close(fd);
	assert_null(intel_lexicon_load(path, err, sizeof err));
	assert_non_null(strstr(err, "line 1"));
	unlink(path);
	assert_null(intel_lexicon_load("/nonexistent/lexicon.txt", err, sizeof err));
	assert_non_null(strstr(err, "cannot open"));
}

/* ---- the document ---- */

static void test_analyze_empty(void **state)
{
	(void)state;
	struct transcript t = {0};
	json_t *j = intel_analyze(&t, lexicon(), NULL, NULL);
	assert_non_null(j);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(j, "summary"), "source")), "offline");
	assert_int_equal(
	    json_array_size(json_object_get(json_object_get(j, "summary"), "sentences")), 0);
	assert_int_equal(
	    json_array_size(json_object_get(json_object_get(j, "action_items"), "items")), 0);
	assert_int_equal(json_array_size(json_object_get(json_object_get(j, "topics"), "items")),
			 0);
	assert_int_equal(
	    json_array_size(json_object_get(json_object_get(j, "sentiment"), "timeline")), 0);
	json_decref(j);
}

static void test_analyze_document(void **state)
{
	(void)state;
	struct transcript t = {0};
	static const char *const L[] = {
	    "1|0|5|This plan is great and I love the new design.",
	    "2|5|10|The old design was a terrible disaster.",
	    "1|70|75|I'll send the final design by Friday.",
	    "2|75|80|We decided to launch the new design in June.",
	};
	build(&t, L, 4, 2);
	json_t *j = intel_analyze(&t, lexicon(), NULL, NULL);
	assert_non_null(j);
	json_t *ai = json_object_get(json_object_get(j, "action_items"), "items");
	assert_int_equal(json_array_size(ai), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(ai, 0), "who")),
			    "Speaker 1");
	assert_string_equal(json_string_value(json_object_get(json_array_get(ai, 0), "when")),
			    "by Friday");
	assert_true(json_real_value(json_object_get(json_array_get(ai, 0), "start")) == 70);
	json_t *de = json_object_get(json_object_get(j, "decisions"), "items");
	assert_int_equal(json_array_size(de), 1);
	json_t *se = json_object_get(j, "sentiment");
	assert_string_equal(json_string_value(json_object_get(se, "source")), "offline");
	json_t *segs = json_object_get(se, "segments");
	assert_int_equal(json_array_size(segs), 4);
	assert_true(json_real_value(json_object_get(json_array_get(segs, 0), "compound")) > 0.5);
	assert_true(json_real_value(json_object_get(json_array_get(segs, 1), "compound")) < -0.5);
	json_t *spk = json_object_get(se, "speakers");
	assert_int_equal(json_array_size(spk), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(spk, 0), "speaker")),
			    "S1");
	json_t *tl = json_object_get(se, "timeline");
	assert_true(json_array_size(tl) >= 2); /* 0-30 s and 60-90 s at least */
	assert_true(json_real_value(json_object_get(json_array_get(tl, 0), "start")) == 0);
	json_decref(j);
	/* No lexicon: sentiment says so, the rest is there. */
	j = intel_analyze(&t, NULL, NULL, NULL);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(j, "sentiment"), "source")),
	    "unavailable");
	json_decref(j);
	transcript_free(&t);
}

static void test_garbage_text(void **state)
{
	(void)state;
	struct transcript t = {0};
	char big[20000];
	/* Long words, stray bytes, punctuation only, curly apostrophes. */
	for (size_t i = 0; i < sizeof big - 1; i++)
		big[i] = (char)("ab\xe2\x80\x99.?! ,\xff-"[i % 12]);
	big[sizeof big - 1] = '\0';
	assert_int_equal(transcript_add_segment(&t, 0, 1, 1, big), 0);
	assert_int_equal(transcript_add_segment(&t, 1, 2, 1, "!!! ... ???"), 0);
	assert_int_equal(transcript_add_segment(&t, 2, 3, 1, ""), 0);
	json_t *j = intel_analyze(&t, lexicon(), NULL, NULL);
	assert_non_null(j);
	json_decref(j);
	transcript_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_split_times_and_speakers),
	    cmocka_unit_test(test_split_word_times),
	    cmocka_unit_test(test_stopwords),
	    cmocka_unit_test(test_stemmer_by_language),
	    cmocka_unit_test(test_textrank_ranks_the_central_sentence),
	    cmocka_unit_test(test_summary_length_order_and_no_filler),
	    cmocka_unit_test(test_action_rules),
	    cmocka_unit_test(test_items_who),
	    cmocka_unit_test(test_topics),
	    cmocka_unit_test(test_vader_published_scores),
	    cmocka_unit_test(test_lexicon_bad_files),
	    cmocka_unit_test(test_analyze_empty),
	    cmocka_unit_test(test_analyze_document),
	    cmocka_unit_test(test_garbage_text),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	intel_lexicon_free(lexicon());
	return rc;
}
