/*
 * topics.c — key phrases and when they come up.
 *
 * Candidates are the runs of content words between stop words, fillers and
 * punctuation (as RAKE cuts text), and every 1- to 3-word piece of a run.
 * A candidate is known by its stems ("budget review" and "budgets reviewed"
 * are one) and scored by how often it is said, a longer phrase counting
 * more per mention (1 + 0.5 per extra word). A phrase said once is no
 * topic unless nothing was said twice. Of overlapping phrases the longer
 * wins when it carries at least half of the shorter one's mentions.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "intel/intel.h"
#include "intel/intel_impl.h"

#define MAX_GRAM     3
#define MAX_MENTIONS 100

struct cand {
	char *surface; /* the first way it was said */
	size_t words;
	size_t tf;
	size_t *sent; /* sentences it comes up in (ascending, unique) */
	size_t nsent, capsent;
	double score;
};

struct table {
	struct intel_vocab v;
	struct cand *c;
	size_t cap;
};

static bool content(const char *w)
{
	size_t n = strlen(w), digits = 0;
	for (size_t i = 0; i < n; i++)
		digits += w[i] >= '0' && w[i] <= '9';
	return n >= 3 && digits < n && !intel_stopword(w) && !intel_filler(w) && !strchr(w, '\'');
}

static int add(struct table *tb, const char *key, const char *surface, size_t words, size_t sent)
{
	size_t id = intel_vocab_id(&tb->v, key);
	struct cand *c;

	if (id == (size_t)-1)
		return -1;
	if (id >= tb->cap) {
		size_t nc = tb->cap ? tb->cap * 2 : 256;
		void *p = realloc(tb->c, nc * sizeof *tb->c);
		if (!p)
			return -1;
		tb->c = p;
		memset(tb->c + tb->cap, 0, (nc - tb->cap) * sizeof *tb->c);
		tb->cap = nc;
	}
	c = &tb->c[id];
	if (!c->surface) {
		c->surface = strdup(surface);
		if (!c->surface)
			return -1;
		c->words = words;
	}
	c->tf++;
	if (c->nsent && c->sent[c->nsent - 1] == sent)
		return 0;
	if (c->nsent == c->capsent) {
		size_t nc = c->capsent ? c->capsent * 2 : 4;
		void *p = realloc(c->sent, nc * sizeof *c->sent);
		if (!p)
			return -1;
		c->sent = p;
		c->capsent = nc;
	}
	c->sent[c->nsent++] = sent;
	return 0;
}

/* Every 1..3-gram of the run words[0..n) of sentence si. */
static int add_run(struct table *tb, char (*words)[INTEL_WORD_MAX], char (*stems)[INTEL_WORD_MAX],
		   size_t n, size_t si)
{
	char key[MAX_GRAM * INTEL_WORD_MAX + 4], surface[MAX_GRAM * INTEL_WORD_MAX + 4];

	for (size_t i = 0; i < n; i++) {
		key[0] = surface[0] = '\0';
		for (size_t k = 0; k < MAX_GRAM && i + k < n; k++) {
			if (k) {
				strcat(key, " ");
				strcat(surface, " ");
			}
			strcat(key, stems[i + k]);
			strcat(surface, words[i + k]);
			if (add(tb, key, surface, k + 1, si) < 0)
				return -1;
		}
	}
	return 0;
}

/* Is a's key a run of words inside b's (or equal)? Keys are space-separated stems. */
static bool inside(const char *a, const char *b)
{
	size_t n = strlen(a);
	for (const char *p = strstr(b, a); p; p = strstr(p + 1, a))
		if ((p == b || p[-1] == ' ') && (p[n] == '\0' || p[n] == ' '))
			return true;
	return false;
}

static int score_cmp(const void *x, const void *y, void *arg)
{
	const struct table *tb = arg;
	const struct cand *a = &tb->c[*(const size_t *)x], *b = &tb->c[*(const size_t *)y];
	if (a->score != b->score)
		return a->score > b->score ? -1 : 1;
	return strcmp(a->surface, b->surface);
}

int intel_topics(const struct intel_doc *d, size_t max, struct intel_topic **out, size_t *nout)
{
	struct table tb = {0};
	struct sb_stemmer *st = intel_stemmer_new(d->language);
	char words[MAX_GRAM * 8][INTEL_WORD_MAX], stems[MAX_GRAM * 8][INTEL_WORD_MAX];
	size_t *order = NULL, *chosen = NULL, nchosen = 0, min_tf = 2, nc;
	struct intel_topic *res = NULL;
	int rc = -1;

	*out = NULL;
	*nout = 0;
	if (!st)
		goto out;
	for (size_t si = 0; si < d->n; si++) {
		const char *p = d->s[si].text;
		size_t run = 0;
		char w[INTEL_WORD_MAX];
		bool brk;
		while (intel_word(&p, w, &brk)) {
			if (brk || !content(w) || run == sizeof words / sizeof *words) {
				if (run && add_run(&tb, words, stems, run, si) < 0)
					goto out;
				run = 0;
			}
			if (!content(w))
				continue;
			memcpy(words[run], w, INTEL_WORD_MAX);
			intel_stem(st, w, stems[run]);
			run++;
		}
		if (run && add_run(&tb, words, stems, run, si) < 0)
			goto out;
	}
	nc = tb.v.n < tb.cap ? tb.v.n : tb.cap;
	if (!nc || !max) {
		rc = 0;
		goto out;
	}
	order = malloc(nc * sizeof *order);
	chosen = malloc(max * sizeof *chosen);
	if (!order || !chosen)
		goto out;
	{
		bool twice = false;
		for (size_t i = 0; i < nc; i++)
			twice |= tb.c[i].tf >= 2;
		if (!twice)
			min_tf = 1;
	}
	for (size_t i = 0; i < nc; i++) {
		order[i] = i;
		tb.c[i].score = tb.c[i].tf >= min_tf
				    ? (double)tb.c[i].tf * (1 + 0.5 * (double)(tb.c[i].words - 1))
				    : 0;
	}
	qsort_r(order, nc, sizeof *order, score_cmp, &tb);
	for (size_t k = 0; k < nc && nchosen < max; k++) {
		size_t i = order[k];
		bool skip = false;
		if (tb.c[i].score <= 0)
			break;
		for (size_t j = 0; j < nchosen && !skip; j++) {
			const struct cand *a = &tb.c[i], *b = &tb.c[chosen[j]];
			const char *ka = tb.v.byid[i], *kb = tb.v.byid[chosen[j]];
			if (inside(kb, ka)) {
				/* Longer than a chosen one: it takes its place if said enough. */
				if (2 * a->tf >= b->tf)
					chosen[j] = i;
				skip = true;
			} else if (inside(ka, kb)) {
				skip = true;
			}
		}
		if (!skip)
			chosen[nchosen++] = i;
	}
	/* Replacements can leave the same phrase twice. */
	for (size_t j = 0; j < nchosen; j++)
		for (size_t k = j + 1; k < nchosen;)
			if (chosen[k] == chosen[j])
				chosen[k] = chosen[--nchosen];
			else
				k++;
	res = calloc(nchosen ? nchosen : 1, sizeof *res);
	if (!res)
		goto out;
	{
		double best = 0;
		for (size_t j = 0; j < nchosen; j++)
			if (tb.c[chosen[j]].score > best)
				best = tb.c[chosen[j]].score;
		qsort_r(chosen, nchosen, sizeof *chosen, score_cmp, &tb);
		for (size_t j = 0; j < nchosen; j++) {
			const struct cand *c = &tb.c[chosen[j]];
			size_t m = c->nsent < MAX_MENTIONS ? c->nsent : MAX_MENTIONS;
			snprintf(res[j].phrase, sizeof res[j].phrase, "%s", c->surface);
			res[j].score = best > 0 ? c->score / best : 0;
			res[j].mentions = malloc((m ? m : 1) * sizeof *res[j].mentions);
			if (!res[j].mentions) {
				intel_topics_free(res, nchosen);
				res = NULL;
				goto out;
			}
			for (size_t q = 0; q < m; q++)
				res[j].mentions[q] = d->s[c->sent[q]].start;
			res[j].nmentions = m;
		}
	}
	*out = res;
	*nout = nchosen;
	rc = 0;
out:
	for (size_t i = 0; i < tb.v.n && i < tb.cap; i++) {
		free(tb.c[i].surface);
		free(tb.c[i].sent);
	}
	free(tb.c);
	intel_vocab_free(&tb.v);
	intel_stemmer_free(st);
	free(order);
	free(chosen);
	return rc;
}

void intel_topics_free(struct intel_topic *t, size_t n)
{
	if (!t)
		return;
	for (size_t i = 0; i < n; i++)
		free(t[i].mentions);
	free(t);
}
