/*
 * asr_wer.h — word error rate for the ASR tests: Levenshtein distance over
 * lower-cased words with punctuation dropped ("Don't" == "dont"), divided
 * by the number of reference words. Header-only; test code, not product.
 */
#ifndef IAM_ASR_WER_H
#define IAM_ASR_WER_H

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

struct wer_words {
	char **w; /* each owned */
	size_t n;
};

static inline void wer_words_free(struct wer_words *ws)
{
	for (size_t i = 0; i < ws->n; i++)
		free(ws->w[i]);
	free(ws->w);
	ws->w = NULL;
	ws->n = 0;
}

/* Split s into normalised words. 0, or -1 when out of memory. */
static inline int wer_split(const char *s, struct wer_words *ws)
{
	size_t cap = 0;
	ws->w = NULL;
	ws->n = 0;
	while (s && *s) {
		while (*s && isspace((unsigned char)*s))
			s++;
		if (!*s)
			break;
		const char *e = s;
		while (*e && !isspace((unsigned char)*e))
			e++;
		char *w = malloc((size_t)(e - s) + 1);
		if (!w)
			goto fail;
		size_t n = 0;
		for (const char *p = s; p < e; p++)
			if (isalnum((unsigned char)*p) || (unsigned char)*p >= 0x80)
				w[n++] = (char)tolower((unsigned char)*p);
		w[n] = '\0';
		s = e;
		if (!n) {
			free(w);
			continue;
		}
		if (ws->n == cap) {
			cap = cap ? cap * 2 : 16;
			char **t = realloc(ws->w, cap * sizeof *t);
			if (!t) {
				free(w);
				goto fail;
			}
			ws->w = t;
		}
		ws->w[ws->n++] = w;
	}
	return 0;
fail:
	wer_words_free(ws);
	return -1;
}

/*
 * Word errors (substitutions + deletions + insertions) of hyp against ref;
 * *nref gets the reference's word count. -1 when out of memory.
 */
static inline long wer_errors(const char *ref, const char *hyp, size_t *nref)
{
	struct wer_words r, h;
	long result = -1;
	if (wer_split(ref, &r))
		return -1;
	if (wer_split(hyp, &h)) {
		wer_words_free(&r);
		return -1;
	}
	size_t *prev = malloc((h.n + 1) * sizeof *prev);
	size_t *cur = malloc((h.n + 1) * sizeof *cur);
	if (prev && cur) {
		for (size_t j = 0; j <= h.n; j++)
			prev[j] = j;
		for (size_t i = 1; i <= r.n; i++) {
			cur[0] = i;
			for (size_t j = 1; j <= h.n; j++) {
				size_t sub = prev[j - 1] + (strcmp(r.w[i - 1], h.w[j - 1]) != 0);
				size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
				cur[j] =
				    sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
			}
			size_t *t = prev;
			prev = cur;
			cur = t;
		}
		result = (long)prev[h.n];
		if (nref)
			*nref = r.n;
	}
	free(prev);
	free(cur);
	wer_words_free(&r);
	wer_words_free(&h);
	return result;
}

/* WER in 0..(can exceed 1 with insertions); -1 on error or an empty reference. */
static inline double wer(const char *ref, const char *hyp)
{
	size_t n = 0;
	long e = wer_errors(ref, hyp, &n);
	return e < 0 || !n ? -1 : (double)e / (double)n;
}

#endif
