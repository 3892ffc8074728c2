/*
 * transcript_edit.c — speakers, diarization turns and edits by people.
 *
 * Every function here either finishes or leaves the transcript as it was:
 * new arrays are built first and swapped in at the end.
 */
#include "core/transcript.h"
#include "core/utf8.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unictype.h>
#include <unistr.h>

/* Above this many old x new word pairs, edited words are timed without matching. */
#define MATCH_MAX_CELLS (4u << 20)

/* ---- speakers ---- */

size_t transcript_speaker_add(struct transcript *t, const char *name)
{
	unsigned top = 0;
	char *copy = NULL;
	struct transcript_speaker *sp;

	if (!t || t->nspeakers >= TRANSCRIPT_MAX_SPEAKERS)
		return 0;
	for (size_t k = 0; k < t->nspeakers; k++)
		if (t->speakers[k].number > top)
			top = t->speakers[k].number;
	if (top >= 999)
		return 0;
	if (name && *name && !(copy = utf8_dup_valid(name)))
		return 0;
	sp = realloc(t->speakers, (t->nspeakers + 1) * sizeof *sp);
	if (!sp) {
		free(copy);
		return 0;
	}
	t->speakers = sp;
	sp[t->nspeakers] = (struct transcript_speaker){.number = top + 1, .name = copy};
	return ++t->nspeakers;
}

size_t transcript_speaker_find(const struct transcript *t, const char *id)
{
	unsigned n = 0;

	if (!t || !id || id[0] != 'S' || id[1] < '1' || id[1] > '9')
		return 0;
	for (const char *p = id + 1; *p; p++) {
		if (*p < '0' || *p > '9' || n >= 100)
			return 0;
		n = n * 10 + (unsigned)(*p - '0');
	}
	for (size_t k = 0; k < t->nspeakers; k++)
		if (t->speakers[k].number == n)
			return k + 1;
	return 0;
}

void transcript_speaker_id(const struct transcript *t, size_t k, char out[8])
{
	out[0] = '\0';
	if (t && k >= 1 && k <= t->nspeakers)
		snprintf(out, 8, "S%u", t->speakers[k - 1].number % 1000);
}

void transcript_speaker_display(const struct transcript *t, size_t k, char *out, size_t outlen)
{
	if (!outlen)
		return;
	out[0] = '\0';
	if (!t || k < 1 || k > t->nspeakers)
		return;
	if (t->speakers[k - 1].name && *t->speakers[k - 1].name)
		snprintf(out, outlen, "%s", t->speakers[k - 1].name);
	else
		snprintf(out, outlen, "Speaker %u", t->speakers[k - 1].number % 1000);
}

double transcript_talk_time(const struct transcript *t, size_t k)
{
	double sum = 0;

	for (size_t i = 0; t && k && i < t->nsegments; i++)
		if (t->segments[i].speaker == k && t->segments[i].end > t->segments[i].start)
			sum += t->segments[i].end - t->segments[i].start;
	return sum;
}

int transcript_speaker_rename(struct transcript *t, size_t k, const char *name)
{
	char *copy = NULL;

	if (!t || k < 1 || k > t->nspeakers)
		return -1;
	if (name && *name && !(copy = utf8_dup_valid(name)))
		return -1;
	free(t->speakers[k - 1].name);
	t->speakers[k - 1].name = copy;
	return 0;
}

/* Remove speaker k (1-based): references to it become 0, later ones shift down. */
static void speaker_remove(struct transcript *t, size_t k)
{
	free(t->speakers[k - 1].name);
	memmove(&t->speakers[k - 1], &t->speakers[k], (t->nspeakers - k) * sizeof *t->speakers);
	t->nspeakers--;
	for (size_t i = 0; i < t->nsegments; i++) {
		size_t *s = &t->segments[i].speaker;
		if (*s == k)
			*s = 0;
		else if (*s > k)
			(*s)--;
	}
}

int transcript_speaker_merge(struct transcript *t, size_t from, size_t into)
{
	if (!t || from == into || from < 1 || into < 1 || from > t->nspeakers ||
	    into > t->nspeakers)
		return -1;
	for (size_t i = 0; i < t->nsegments; i++)
		if (t->segments[i].speaker == from)
			t->segments[i].speaker = into;
	speaker_remove(t, from);
	return 0;
}

void transcript_speakers_prune(struct transcript *t)
{
	for (size_t k = t ? t->nspeakers : 0; k >= 1; k--) {
		bool used = false;
		for (size_t i = 0; i < t->nsegments && !used; i++)
			used = t->segments[i].speaker == k;
		if (!used)
			speaker_remove(t, k);
	}
}

/* ---- copying ---- */

int transcript_copy(struct transcript *dst, const struct transcript *src)
{
	struct transcript tmp = {0};

	if (!dst || !src)
		return -1;
	memcpy(tmp.language, src->language, sizeof tmp.language);
	tmp.duration = src->duration;
	for (size_t k = 0; k < src->nspeakers; k++) {
		size_t idx = transcript_speaker_add(&tmp, src->speakers[k].name);
		if (!idx)
			goto fail;
		tmp.speakers[idx - 1].number = src->speakers[k].number;
	}
	for (size_t i = 0; i < src->nsegments; i++) {
		const struct transcript_segment *s = &src->segments[i];
		if (transcript_add_segment(&tmp, s->start, s->end, s->confidence, s->text) < 0)
			goto fail;
		tmp.segments[i].speaker = s->speaker <= tmp.nspeakers ? s->speaker : 0;
		tmp.segments[i].edited = s->edited;
		for (size_t w = s->first_word; w < s->first_word + s->nwords && w < src->nwords;
		     w++)
			if (transcript_add_word(&tmp, src->words[w].start, src->words[w].end,
						src->words[w].confidence, src->words[w].text) < 0)
				goto fail;
	}
	*dst = tmp;
	return 0;
fail:
	transcript_free(&tmp);
	return -1;
}

/* ---- diarization turns ---- */

/* Seconds of [a0, a1] inside [b0, b1]. */
static double overlap(double a0, double a1, double b0, double b1)
{
	double lo = a0 > b0 ? a0 : b0, hi = a1 < b1 ? a1 : b1;
	return hi > lo ? hi - lo : 0;
}

/* The cluster of the turn that [s, e] overlaps most, else of the nearest turn. */
static unsigned turn_for(const struct transcript_turn *turns, size_t n, double s, double e)
{
	double best = 0, near = -1, mid = (s + e) / 2;
	unsigned who = turns[0].speaker, nearest = turns[0].speaker;

	for (size_t k = 0; k < n; k++) {
		double o = overlap(s, e, turns[k].start, turns[k].end);
		double d = mid < turns[k].start ? turns[k].start - mid
			   : mid > turns[k].end ? mid - turns[k].end
						: 0;
		if (o > best) {
			best = o;
			who = turns[k].speaker;
		}
		if (near < 0 || d < near) {
			near = d;
			nearest = turns[k].speaker;
		}
	}
	return best > 0 ? who : nearest;
}

/* A new segment from words [a, b) of t (text joined from the words). */
static int add_run(struct transcript *dst, const struct transcript *t,
		   const struct transcript_segment *seg, size_t a, size_t b, double start,
		   double end)
{
	size_t len = 1;
	char *text, *o;
	double conf = 0;
	int rc;

	for (size_t w = a; w < b; w++)
		len += strlen(t->words[w].text ? t->words[w].text : "") + 1;
	text = malloc(len);
	if (!text)
		return -1;
	o = text;
	for (size_t w = a; w < b; w++) {
		const char *s = t->words[w].text ? t->words[w].text : "";
		size_t n = strlen(s);
		if (o != text)
			*o++ = ' ';
		memcpy(o, s, n);
		o += n;
		conf += t->words[w].confidence;
	}
	*o = '\0';
	rc = transcript_add_segment(dst, start, end,
				    b > a ? conf / (double)(b - a) : seg->confidence, text);
	free(text);
	if (rc < 0)
		return -1;
	dst->segments[dst->nsegments - 1].edited = seg->edited;
	for (size_t w = a; w < b; w++)
		if (transcript_add_word(dst, t->words[w].start, t->words[w].end,
					t->words[w].confidence, t->words[w].text) < 0)
			return -1;
	return 0;
}

int transcript_assign_turns(struct transcript *t, const struct transcript_turn *turns,
			    size_t nturns)
{
	struct transcript out = {0};
	unsigned *cl = NULL, *seen = NULL; /* cluster per word; cluster -> speaker index */
	size_t nseen = 0;

	if (!t)
		return -1;
	if (!nturns || !turns) {
		for (size_t i = 0; i < t->nsegments; i++)
			t->segments[i].speaker = 0;
		for (size_t k = 0; k < t->nspeakers; k++)
			free(t->speakers[k].name);
		free(t->speakers);
		t->speakers = NULL;
		t->nspeakers = 0;
		return 0;
	}
	cl = calloc(t->nwords + 1, sizeof *cl);
	seen = calloc(nturns + 1, sizeof *seen);
	if (!cl || !seen)
		goto fail;
	memcpy(out.language, t->language, sizeof out.language);
	out.duration = t->duration;

	for (size_t i = 0; i < t->nsegments; i++) {
		const struct transcript_segment *seg = &t->segments[i];
		size_t a = seg->first_word, n = seg->nwords;

		if (a > t->nwords || n > t->nwords - a)
			n = 0;
		for (size_t w = a; w < a + n; w++)
			cl[w] = turn_for(turns, nturns, t->words[w].start, t->words[w].end);
		/* A lone word between two of another speaker stays with them. */
		for (size_t w = a + 1; n >= 3 && w + 1 < a + n; w++)
			if (cl[w - 1] == cl[w + 1] && cl[w] != cl[w - 1])
				cl[w] = cl[w - 1];
		if (n >= 2 && cl[a] != cl[a + 1] && t->words[a].end - t->words[a].start < 0.5)
			cl[a] = cl[a + 1];
		if (n >= 2 && cl[a + n - 1] != cl[a + n - 2] &&
		    t->words[a + n - 1].end - t->words[a + n - 1].start < 0.5)
			cl[a + n - 1] = cl[a + n - 2];

		if (!n) {
			unsigned c = turn_for(turns, nturns, seg->start, seg->end);
			if (transcript_add_segment(&out, seg->start, seg->end, seg->confidence,
						   seg->text) < 0)
				goto fail;
			out.segments[out.nsegments - 1].edited = seg->edited;
			out.segments[out.nsegments - 1].speaker = c + 1; /* cluster + 1 for now */
			continue;
		}
		bool split = false;
		for (size_t w = a + 1; w < a + n; w++)
			split |= cl[w] != cl[a];
		if (!split) {
			if (transcript_add_segment(&out, seg->start, seg->end, seg->confidence,
						   seg->text) < 0)
				goto fail;
			out.segments[out.nsegments - 1].edited = seg->edited;
			out.segments[out.nsegments - 1].speaker = cl[a] + 1;
			for (size_t w = a; w < a + n; w++)
				if (transcript_add_word(&out, t->words[w].start, t->words[w].end,
							t->words[w].confidence,
							t->words[w].text) < 0)
					goto fail;
			continue;
		}
		for (size_t r = a, e; r < a + n; r = e) {
			for (e = r + 1; e < a + n && cl[e] == cl[r]; e++)
				;
			double s0 = r == a ? seg->start : t->words[r].start;
			double s1 = e == a + n ? seg->end : t->words[e - 1].end;
			if (add_run(&out, t, seg, r, e, s0, s1) < 0)
				goto fail;
			out.segments[out.nsegments - 1].speaker = cl[r] + 1;
		}
	}
	/* Clusters become speakers numbered in order of first appearance. */
	for (size_t i = 0; i < out.nsegments; i++) {
		unsigned c = (unsigned)out.segments[i].speaker - 1;
		size_t k;
		for (k = 0; k < nseen && seen[k] != c; k++)
			;
		if (k == nseen) {
			if (nseen >= TRANSCRIPT_MAX_SPEAKERS) {
				out.segments[i].speaker = 0; /* more clusters than we keep */
				continue;
			}
			seen[nseen++] = c;
			if (transcript_speaker_add(&out, NULL) != nseen)
				goto fail;
		}
		out.segments[i].speaker = k + 1;
	}
	free(cl);
	free(seen);
	transcript_free(t);
	*t = out;
	return 0;
fail:
	free(cl);
	free(seen);
	transcript_free(&out);
	return -1;
}

/* ---- editing text ---- */

bool transcript_text_blank(const char *s)
{
	const uint8_t *p = (const uint8_t *)(s ? s : "");
	size_t n = strlen((const char *)p);

	while (n) {
		ucs4_t cp;
		int k = u8_mbtouc(&cp, p, n);
		if (k < 1 || cp == 0xfffd) /* an invalid byte is something, not nothing */
			return false;
		if (!uc_is_property_white_space(cp) &&
		    !uc_is_property_default_ignorable_code_point(cp))
			return false;
		p += k;
		n -= (size_t)k;
	}
	return true;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Whitespace-separated words of s: pointers and lengths into s. Count, or -1. */
static long split_words(const char *s, const char ***at, size_t **len)
{
	size_t n = 0, cap = 0;
	const char **a = NULL;
	size_t *l = NULL;

	for (const char *p = s; *p;) {
		while (is_space(*p))
			p++;
		if (!*p)
			break;
		const char *q = p;
		while (*q && !is_space(*q))
			q++;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			const char **na = realloc(a, cap * sizeof *na);
			if (!na)
				goto fail;
			a = na;
			size_t *nl = realloc(l, cap * sizeof *nl);
			if (!nl)
				goto fail;
			l = nl;
		}
		a[n] = p;
		l[n] = (size_t)(q - p);
		n++;
		p = q;
	}
	*at = a;
	*len = l;
	return (long)n;
fail:
	free(a);
	free(l);
	return -1;
}

/* Words compared as people read them: case and punctuation aside. */
static bool same_word(const char *a, size_t alen, const char *b)
{
	size_t i = 0, j = 0, blen = strlen(b);

	for (;;) {
		while (i < alen && ispunct((unsigned char)a[i]))
			i++;
		while (j < blen && ispunct((unsigned char)b[j]))
			j++;
		if (i == alen || j == blen)
			return i == alen && j == blen;
		if (tolower((unsigned char)a[i]) != tolower((unsigned char)b[j]))
			return false;
		i++;
		j++;
	}
}

/*
 * keep[j] = index (into old words) of the old word new word j keeps, or
 * SIZE_MAX: a longest common subsequence of the two word lists.
 */
static int match_words(const struct transcript_word *old, size_t m, const char **nw,
		       const size_t *nl, size_t k, size_t *keep)
{
	uint16_t *dp;

	for (size_t j = 0; j < k; j++)
		keep[j] = SIZE_MAX;
	if (!m || !k || (m + 1) * (k + 1) > MATCH_MAX_CELLS || m >= UINT16_MAX || k >= UINT16_MAX)
		return 0;
	dp = calloc((m + 1) * (k + 1), sizeof *dp);
	if (!dp)
		return -1;
#define DP(i, j) dp[(i) * (k + 1) + (j)]
	for (size_t i = m; i-- > 0;)
		for (size_t j = k; j-- > 0;)
			DP(i, j) = same_word(nw[j], nl[j], old[i].text ? old[i].text : "")
				       ? DP(i + 1, j + 1) + 1
				   : DP(i + 1, j) >= DP(i, j + 1) ? DP(i + 1, j)
								  : DP(i, j + 1);
	for (size_t i = 0, j = 0; i < m && j < k;) {
		if (same_word(nw[j], nl[j], old[i].text ? old[i].text : "") &&
		    DP(i, j) == DP(i + 1, j + 1) + 1) {
			keep[j] = i;
			i++;
			j++;
		} else if (DP(i + 1, j) >= DP(i, j + 1))
			i++;
		else
			j++;
	}
#undef DP
	free(dp);
	return 0;
}

int transcript_set_text(struct transcript *t, size_t i, const char *text)
{
	struct transcript_segment *seg;
	struct transcript_word *words = NULL, *old;
	const char **nw = NULL;
	size_t *nl = NULL, *keep = NULL, m, first, total;
	char *joined = NULL;
	long k;

	if (!t || i >= t->nsegments || !text)
		return -1;
	seg = &t->segments[i];
	first = seg->first_word;
	m = first <= t->nwords && seg->nwords <= t->nwords - first ? seg->nwords : 0;
	old = t->words + first;
	k = split_words(text, &nw, &nl);
	if (k < 0)
		return -1;
	keep = calloc((size_t)k + 1, sizeof *keep);
	words = calloc(t->nwords - m + (size_t)k + 1, sizeof *words);
	size_t jl = 1;
	for (long j = 0; j < k; j++)
		jl += nl[j] + 1;
	joined = malloc(jl);
	if (!keep || !words || !joined || match_words(old, m, nw, nl, (size_t)k, keep) < 0)
		goto fail;

	/* The segment's new words: kept ones as they were, new ones between them. */
	struct transcript_word *nwds = words + first;
	char *o = joined;
	for (long j = 0; j < k; j++) {
		if (o != joined)
			*o++ = ' ';
		memcpy(o, nw[j], nl[j]);
		o += nl[j];
		nwds[j].text = malloc(nl[j] + 1);
		if (!nwds[j].text)
			goto fail_words;
		memcpy(nwds[j].text, nw[j], nl[j]);
		nwds[j].text[nl[j]] = '\0';
		char *fixed = utf8_dup_valid(nwds[j].text);
		if (!fixed)
			goto fail_words;
		free(nwds[j].text);
		nwds[j].text = fixed;
		if (keep[j] != SIZE_MAX) {
			nwds[j].start = old[keep[j]].start;
			nwds[j].end = old[keep[j]].end;
			nwds[j].confidence = old[keep[j]].confidence;
		}
	}
	*o = '\0';
	char *valid = utf8_dup_valid(joined);
	if (!valid)
		goto fail_words;
	free(joined);
	joined = valid;
	for (size_t j = 0; j < (size_t)k;) {
		if (keep[j] != SIZE_MAX) {
			j++;
			continue;
		}
		size_t e = j;
		while (e < (size_t)k && keep[e] == SIZE_MAX)
			e++;
		double lo = j ? nwds[j - 1].end : seg->start;
		double hi = e < (size_t)k ? nwds[e].start : seg->end;
		double weight = 0, at = 0;
		if (hi < lo)
			hi = lo;
		for (size_t x = j; x < e; x++)
			weight += (double)utf8_len(nwds[x].text) + 1;
		for (size_t x = j; x < e; x++) {
			double w = ((double)utf8_len(nwds[x].text) + 1) / weight;
			nwds[x].start = lo + (hi - lo) * at;
			at += w;
			nwds[x].end = lo + (hi - lo) * (at > 1 ? 1 : at);
			nwds[x].confidence = 1;
		}
		j = e;
	}

	/* Swap in: words before and after the segment move, the old segment words go. */
	total = t->nwords - m + (size_t)k;
	if (first)
		memcpy(words, t->words, first * sizeof *words);
	if (t->nwords > first + m)
		memcpy(words + first + k, t->words + first + m,
		       (t->nwords - first - m) * sizeof *words);
	for (size_t x = 0; x < m; x++)
		free(old[x].text);
	free(t->words);
	t->words = words;
	t->nwords = total;
	t->words_cap = total;
	for (size_t s = 0; s < t->nsegments; s++)
		if (s != i && t->segments[s].first_word >= first + m)
			t->segments[s].first_word = t->segments[s].first_word - m + (size_t)k;
	free(seg->text);
	seg->text = joined;
	seg->nwords = (size_t)k;
	seg->edited = true;
	if (k) {
		double c = 0;
		for (long j = 0; j < k; j++)
			c += nwds[j].confidence;
		seg->confidence = c / (double)k;
	}
	free(nw);
	free(nl);
	free(keep);
	return 0;
fail_words:
	for (long j = 0; j < k; j++)
		free(words[first + j].text);
fail:
	free(joined);
	free(words);
	free(nw);
	free(nl);
	free(keep);
	return -1;
}
