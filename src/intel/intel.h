/*
 * intel.h — meeting intelligence computed from a transcript, offline:
 * sentences with their times and speakers, an extractive summary
 * (TextRank over stemmed content words), action items and decisions (rules
 * over commitment and decision phrases), topics (stemmed n-grams scored
 * against a stop list) and sentiment (VADER's lexicon and rules, written
 * here in C). Knows nothing of HTTP, tenants or the database.
 *
 * Every result names its method in "source" ("offline" here). A language
 * model, when one is configured, replaces fields afterwards and names
 * itself there (see jobs/insights.c: the one place a model plugs in).
 *
 * Functions are thread-safe: each call builds its own stemmer.
 */
#ifndef IAM_INTEL_H
#define IAM_INTEL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/transcript.h"

#define INTEL_SOURCE_OFFLINE "offline"

/* ---- sentences (text.c) ---- */

struct intel_sentence {
	char *text;	/* owned: the sentence as said (whitespace collapsed) */
	double start;	/* seconds: its first word's time (or in proportion in its segment) */
	double end;	/* seconds */
	size_t segment; /* index into the transcript's segments */
	size_t speaker; /* the segment's speaker (1-based), 0 = not known */
};

struct intel_doc {
	struct intel_sentence *s;
	size_t n;
	char language[16]; /* the transcript's ("" = English): picks the Snowball stemmer */
};

/*
 * Split every segment (in order of start time) into sentences at . ? !
 * (not after a few abbreviations or inside numbers such as "3.5"). Fills d
 * (and its language from t)
 * (caller frees with intel_doc_free). 0, or -1 when out of memory (d empty).
 */
int intel_split(const struct transcript *t, struct intel_doc *d);
void intel_doc_free(struct intel_doc *d);

/* Is w (lower-case ASCII, NUL-terminated) an English stop word? */
bool intel_stopword(const char *w);

/* ---- summary (summary.c) ---- */

/*
 * TextRank over d's sentences: similarity is shared stemmed content words
 * over log lengths; scores by power iteration (damping 0.85). score[i]
 * gets sentence i's score (0 for sentences too short to rank).
 * 0 or -1 (out of memory).
 */
int intel_textrank(const struct intel_doc *d, double *score);
/*
 * The summary: how many sentences a document of n sentences gets (5..10,
 * fewer when there are fewer worth taking), chosen by TextRank without
 * near-repeats, in time order. Writes their indices to idx (room for 10)
 * and returns the count, or -1 (out of memory).
 */
int intel_summary(const struct intel_doc *d, size_t idx[10]);

/* ---- action items and decisions (actions.c) ---- */

enum intel_item_kind { INTEL_ACTION = 1, INTEL_DECISION };

struct intel_item {
	enum intel_item_kind kind;
	size_t sentence; /* index into the doc */
	char who[128];	 /* "" when nobody can be named */
	char when[96];	 /* the date/day phrase as said, "" when none */
};

/*
 * Classify one sentence (text as said). Returns 0 (neither), INTEL_ACTION or
 * INTEL_DECISION. For an action, *addressed tells whether it asks someone
 * else ("can you", "please") rather than commits the speaker, and addressee
 * gets a name said with it ("Maria, can you ...", "..., Tom?"; "Bob will
 * ...") or "". when gets the date phrase or "".
 */
int intel_classify(const char *text, bool *addressed, char addressee[128], char when[96]);

/*
 * Every action item and decision of d (t gives speaker names and who
 * speaks next). *items is malloc'd (caller frees), *n of them. 0 or -1.
 */
int intel_items(const struct transcript *t, const struct intel_doc *d, struct intel_item **items,
		size_t *n);

/* ---- topics (topics.c) ---- */

struct intel_topic {
	char phrase[128]; /* the most frequent way it was said, lower-case */
	double score;	  /* 0..1, the best topic 1 */
	double *mentions; /* owned: start times of the sentences it comes up in */
	size_t nmentions;
};

/*
 * Up to max topics of d, best first. *out malloc'd (free with
 * intel_topics_free). 0 or -1.
 */
int intel_topics(const struct intel_doc *d, size_t max, struct intel_topic **out, size_t *n);
void intel_topics_free(struct intel_topic *t, size_t n);

/* ---- sentiment (vader.c) ---- */

struct intel_lexicon; /* VADER's vader_lexicon.txt: token -> mean valence */

/*
 * Load a lexicon file ("token<TAB>mean<TAB>..." lines). Caller frees with
 * intel_lexicon_free. NULL with a reason in err when it cannot be read.
 */
struct intel_lexicon *intel_lexicon_load(const char *path, char *err, size_t errlen);
void intel_lexicon_free(struct intel_lexicon *lx);
/* The valence of a lower-case token, or 0 (found false) when not in it. */
double intel_lexicon_get(const struct intel_lexicon *lx, const char *w, bool *found);

struct intel_vader {
	double neg, neu, pos; /* proportions */
	double compound;      /* -1..1 (normalised, alpha 15) */
};

/*
 * VADER's polarity scores of text (rules as published: booster words,
 * negation in the 3 words before, "but", "least", ALL-CAPS emphasis,
 * idioms, ! and ? amplification). lx NULL scores everything 0.
 */
void intel_vader_scores(const struct intel_lexicon *lx, const char *text, struct intel_vader *out);

/* ---- everything (intel.c) ---- */

/*
 * The offline insights of t as JSON (a new reference, NULL when out of
 * memory): {summary:{source,sentences:[{text,start,speaker}]},
 * action_items:{source,items:[{text,who,when,start,speaker}]},
 * decisions:{...same}, topics:{source,items:[{phrase,score,mentions:[start]}]},
 * sentiment:{source,segments:[{index,start,end,speaker,compound}],
 * speakers:[{speaker,name,compound,positive,negative,neutral}],
 * timeline:[{start,end,compound,segments,speakers:[{speaker,compound}]}]}}
 * (about 40 windows of a whole number of 10 s; compound null when nobody spoke).
 * lx NULL: sentiment has source "unavailable" and empty lists. progress
 * (may be NULL) gets fractions 0..1 as steps finish.
 */
json_t *intel_analyze(const struct transcript *t, const struct intel_lexicon *lx,
		      void (*progress)(void *ctx, double fraction), void *ctx);

#endif
