/*
 * summary.c — extractive summary by TextRank (Mihalcea and Tarau, 2004).
 *
 * Each sentence becomes the sorted set of its stemmed content words (stop
 * words left out). Two sentences are linked by the number of stems they
 * share over log|A| + log|B| (the paper's measure, which keeps long
 * sentences from winning by length alone). Scores come from power
 * iteration of PageRank over that weighted graph (damping 0.85) until they
 * move less than 1e-6 or after 100 rounds. Sentences with fewer than
 * MIN_CONTENT content words ("Yeah, sure.") take no part.
 *
 * The summary takes the best sentences, skipping one that repeats a chosen
 * sentence (more than half its stems shared) unless too few are left, and
 * gives them in time order.
 * For an hour (about 1,000 sentences) the graph is half a million pairs of
 * short sorted lists: milliseconds.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "intel/intel.h"
#include "intel/intel_impl.h"

#define MIN_CONTENT 3
#define DAMPING	    0.85
#define ROUNDS	    100
#define EPSILON	    1e-6

struct bag {
	size_t *id; /* sorted, unique */
	size_t n;
};

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	return x < y ? -1 : x > y;
}

static size_t overlap(const struct bag *a, const struct bag *b)
{
	size_t i = 0, j = 0, n = 0;
	while (i < a->n && j < b->n) {
		if (a->id[i] == b->id[j]) {
			n++;
			i++;
			j++;
		} else if (a->id[i] < b->id[j]) {
			i++;
		} else {
			j++;
		}
	}
	return n;
}

static void bags_free(struct bag *b, size_t n)
{
	if (!b)
		return;
	for (size_t i = 0; i < n; i++)
		free(b[i].id);
	free(b);
}

/* The stem sets of d's sentences. Caller frees with bags_free. NULL when out of memory. */
static struct bag *make_bags(const struct intel_doc *d)
{
	struct bag *bags = calloc(d->n ? d->n : 1, sizeof *bags);
	struct sb_stemmer *st = intel_stemmer_new(d->language);
	struct intel_vocab v = {0};
	char w[INTEL_WORD_MAX], stem[INTEL_WORD_MAX];

	if (!bags || !st)
		goto fail;
	for (size_t i = 0; i < d->n; i++) {
		const char *p = d->s[i].text;
		size_t cap = 0;
		while (intel_word(&p, w, NULL)) {
			size_t id;
			if (!w[0] || intel_stopword(w) || intel_filler(w))
				continue;
			intel_stem(st, w, stem);
			id = intel_vocab_id(&v, stem);
			if (id == (size_t)-1)
				goto fail;
			if (bags[i].n == cap) {
				size_t nc = cap ? cap * 2 : 16;
				size_t *q = realloc(bags[i].id, nc * sizeof *q);
				if (!q)
					goto fail;
				bags[i].id = q;
				cap = nc;
			}
			bags[i].id[bags[i].n++] = id;
		}
		if (bags[i].n) {
			size_t k = 1;
			qsort(bags[i].id, bags[i].n, sizeof *bags[i].id, cmp_size);
			for (size_t j = 1; j < bags[i].n; j++)
				if (bags[i].id[j] != bags[i].id[k - 1])
					bags[i].id[k++] = bags[i].id[j];
			bags[i].n = k;
		}
	}
	intel_vocab_free(&v);
	intel_stemmer_free(st);
	return bags;
fail:
	intel_vocab_free(&v);
	intel_stemmer_free(st);
	bags_free(bags, d->n);
	return NULL;
}

static double similarity(const struct bag *a, const struct bag *b)
{
	size_t o;
	double den;
	if (a->n < MIN_CONTENT || b->n < MIN_CONTENT)
		return 0;
	o = overlap(a, b);
	den = log((double)a->n) + log((double)b->n);
	return o && den > 0 ? (double)o / den : 0;
}

static int rank(const struct intel_doc *d, const struct bag *bags, double *score)
{
	size_t n = d->n;
	double *wsum = calloc(n ? n : 1, sizeof *wsum), *next = calloc(n ? n : 1, sizeof *next);
	/* Weights kept sparse: most pairs share nothing. */
	struct edge {
		size_t j;
		double w;
	} *edges = NULL;
	size_t *first = calloc(n + 1, sizeof *first), nedges = 0, capedges = 0, live = 0;
	int rc = -1;

	if (!wsum || !next || !first)
		goto out;
	for (size_t i = 0; i < n; i++) {
		first[i] = nedges;
		for (size_t j = 0; j < n; j++) {
			double w = i == j ? 0 : similarity(&bags[i], &bags[j]);
			if (w <= 0)
				continue;
			if (nedges == capedges) {
				size_t nc = capedges ? capedges * 2 : 1024;
				void *p = realloc(edges, nc * sizeof *edges);
				if (!p)
					goto out;
				edges = p;
				capedges = nc;
			}
			edges[nedges++] = (struct edge){j, w};
			wsum[i] += w;
		}
	}
	first[n] = nedges;
	for (size_t i = 0; i < n; i++)
		live += bags[i].n >= MIN_CONTENT;
	for (size_t i = 0; i < n; i++)
		score[i] = bags[i].n >= MIN_CONTENT && live ? 1.0 / (double)live : 0;
	for (int round = 0; round < ROUNDS && live; round++) {
		double delta = 0;
		for (size_t i = 0; i < n; i++)
			next[i] = bags[i].n >= MIN_CONTENT ? (1 - DAMPING) / (double)live : 0;
		/* The graph is symmetric: i's edges are also the edges into i. */
		for (size_t i = 0; i < n; i++) {
			if (wsum[i] <= 0)
				continue;
			for (size_t e = first[i]; e < first[i + 1]; e++)
				next[edges[e].j] += DAMPING * score[i] * edges[e].w / wsum[i];
		}
		for (size_t i = 0; i < n; i++) {
			delta += fabs(next[i] - score[i]);
			score[i] = next[i];
		}
		if (delta < EPSILON)
			break;
	}
	rc = 0;
out:
	free(edges);
	free(first);
	free(wsum);
	free(next);
	return rc;
}

int intel_textrank(const struct intel_doc *d, double *score)
{
	struct bag *bags;
	int rc;

	if (!d->n)
		return 0;
	bags = make_bags(d);
	if (!bags)
		return -1;
	rc = rank(d, bags, score);
	bags_free(bags, d->n);
	return rc;
}

struct ranked {
	double score;
	size_t i;
};

static int ranked_cmp(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;
	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

int intel_summary(const struct intel_doc *d, size_t idx[10])
{
	struct bag *bags = NULL;
	double *score = NULL;
	struct ranked *r = NULL;
	size_t want, got = 0;
	int rc = -1;

	if (!d->n)
		return 0;
	/* About one sentence in twenty, at least 5 and at most 10. */
	want = d->n / 20;
	want = want < 5 ? 5 : want > 10 ? 10 : want;
	bags = make_bags(d);
	score = calloc(d->n, sizeof *score);
	r = calloc(d->n, sizeof *r);
	if (!bags || !score || !r || rank(d, bags, score) < 0)
		goto out;
	for (size_t i = 0; i < d->n; i++)
		r[i] = (struct ranked){score[i], i};
	qsort(r, d->n, sizeof *r, ranked_cmp);
	for (size_t k = 0; k < d->n && got < want; k++) {
		const struct bag *b = &bags[r[k].i];
		bool repeat = false;
		if (b->n < MIN_CONTENT)
			continue;
		for (size_t j = 0; j < got && !repeat; j++) {
			const struct bag *c = &bags[idx[j]];
			size_t small = b->n < c->n ? b->n : c->n;
			repeat = 2 * overlap(b, c) > small;
		}
		if (!repeat)
			idx[got++] = r[k].i;
	}
	/* Too few without repeats: the best of the rest, so a summary still says enough. */
	for (size_t k = 0; k < d->n && got < want; k++) {
		bool taken = false;
		if (bags[r[k].i].n < MIN_CONTENT)
			continue;
		for (size_t j = 0; j < got && !taken; j++)
			taken = idx[j] == r[k].i;
		if (!taken)
			idx[got++] = r[k].i;
	}
	/* Time order: sentence indices are in time order already. */
	qsort(idx, got, sizeof *idx, cmp_size);
	rc = (int)got;
out:
	bags_free(bags, d->n);
	free(score);
	free(r);
	return rc;
}
