/*
 * vader.c — VADER sentiment (Hutto and Gilbert, ICWSM 2014) in C.
 *
 * The lexicon is the published vader_lexicon.txt (npm vader-sentiment,
 * Apache-2.0), loaded at start from the models directory. The rules follow
 * that package's reference implementation step by step, so its scores are
 * ours to four decimals: tokens are the whitespace-separated pieces longer
 * than one character with one leading or trailing punctuation mark removed;
 * each lexicon word's valence is raised by ALL-CAPS (when not everything is
 * capitals), moved by booster and dampener words in the three words before
 * it (scaled 1, 0.95, 0.9 by distance), flipped and scaled by a negation
 * there (N_SCALAR -0.74), replaced by a known idiom, and turned by "least";
 * words before "but" count half and after it one and a half; the sum, raised
 * by exclamation marks (up to 4) and question marks (2 or more), is
 * normalised x / sqrt(x^2 + 15) into the compound score.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "intel/intel.h"

#define B_INCR	   0.293
#define B_DECR	   (-0.293)
#define C_INCR	   0.733
#define N_SCALAR   (-0.74)
#define ALPHA	   15.0
#define MAX_TOKENS 4096
#define LEX_MAX	   100000 /* entries: the published lexicon has 7,517 */

struct lex_entry {
	char *key;
	double v;
};

struct intel_lexicon {
	struct lex_entry *slot;
	size_t cap, n;
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static int lex_put(struct intel_lexicon *lx, const char *key, double v)
{
	size_t j;
	if ((lx->n + 1) * 2 > lx->cap) {
		size_t nc = lx->cap ? lx->cap * 2 : 16384;
		struct lex_entry *s = calloc(nc, sizeof *s);
		if (!s)
			return -1;
		for (size_t i = 0; i < lx->cap; i++) {
			if (!lx->slot[i].key)
				continue;
			for (j = (size_t)hash_str(lx->slot[i].key) & (nc - 1); s[j].key;
			     j = (j + 1) & (nc - 1))
				;
			s[j] = lx->slot[i];
		}
		free(lx->slot);
		lx->slot = s;
		lx->cap = nc;
	}
	for (j = (size_t)hash_str(key) & (lx->cap - 1); lx->slot[j].key;
	     j = (j + 1) & (lx->cap - 1))
		if (!strcmp(lx->slot[j].key, key)) {
			lx->slot[j].v = v; /* a later line wins, as in the reference */
			return 0;
		}
	lx->slot[j].key = strdup(key);
	if (!lx->slot[j].key)
		return -1;
	lx->slot[j].v = v;
	lx->n++;
	return 0;
}

struct intel_lexicon *intel_lexicon_load(const char *path, char *err, size_t errlen)
{
	FILE *f = path ? fopen(path, "r") : NULL;
	struct intel_lexicon *lx = NULL;
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	ssize_t len;

	if (!f) {
		snprintf(err, errlen, "cannot open %s: %s", path ? path : "(none)",
			 strerror(path ? errno : ENOENT));
		return NULL;
	}
	lx = calloc(1, sizeof *lx);
	if (!lx)
		goto oom;
	while ((len = getline(&line, &cap, f)) >= 0) {
		char *tab, *end;
		double v;
		lineno++;
		if (len && line[len - 1] == '\n')
			line[--len] = '\0';
		if (!len)
			continue;
		tab = strchr(line, '\t');
		if (!tab || tab == line) {
			snprintf(err, errlen, "%s line %zu: not \"token<TAB>valence...\"", path,
				 lineno);
			goto fail;
		}
		*tab = '\0';
		errno = 0;
		v = strtod(tab + 1, &end);
		if (errno || end == tab + 1 || !isfinite(v) || (*end && *end != '\t')) {
			snprintf(err, errlen, "%s line %zu: the valence is not a number", path,
				 lineno);
			goto fail;
		}
		if (lx->n >= LEX_MAX) {
			snprintf(err, errlen, "%s: more than %d entries", path, LEX_MAX);
			goto fail;
		}
		if (lex_put(lx, line, v) < 0)
			goto oom;
	}
	if (!lx->n) {
		snprintf(err, errlen, "%s is empty", path);
		goto fail;
	}
	free(line);
	fclose(f);
	return lx;
oom:
	snprintf(err, errlen, "out of memory");
fail:
	free(line);
	fclose(f);
	intel_lexicon_free(lx);
	return NULL;
}

void intel_lexicon_free(struct intel_lexicon *lx)
{
	if (!lx)
		return;
	for (size_t i = 0; i < lx->cap; i++)
		free(lx->slot[i].key);
	free(lx->slot);
	free(lx);
}

double intel_lexicon_get(const struct intel_lexicon *lx, const char *w, bool *found)
{
	if (found)
		*found = false;
	if (!lx || !lx->cap)
		return 0;
	for (size_t j = (size_t)hash_str(w) & (lx->cap - 1); lx->slot[j].key;
	     j = (j + 1) & (lx->cap - 1))
		if (!strcmp(lx->slot[j].key, w)) {
			if (found)
				*found = true;
			return lx->slot[j].v;
		}
	return 0;
}

/* ---- the rules ---- */

static const char *const NEGATE[] = {
    "aint",   "arent",	  "cannot",  "cant",	 "couldnt",  "darent",	 "didnt",   "doesnt",
    "ain't",  "aren't",	  "can't",   "couldn't", "daren't",  "didn't",	 "doesn't", "dont",
    "hadnt",  "hasnt",	  "havent",  "isnt",	 "mightnt",  "mustnt",	 "neither", "don't",
    "hadn't", "hasn't",	  "haven't", "isn't",	 "mightn't", "mustn't",	 "neednt",  "needn't",
    "never",  "none",	  "nope",    "nor",	 "not",	     "nothing",	 "nowhere", "oughtnt",
    "shant",  "shouldnt", "uhuh",    "wasnt",	 "werent",   "oughtn't", "shan't",  "shouldn't",
    "uh-uh",  "wasn't",	  "weren't", "without",	 "wont",     "wouldnt",	 "won't",   "wouldn't",
    "rarely", "seldom",	  "despite",
};

static const struct {
	const char *w;
	double v;
} BOOSTER[] = {
    {"absolutely", B_INCR},   {"amazingly", B_INCR},	 {"awfully", B_INCR},
    {"completely", B_INCR},   {"considerably", B_INCR},	 {"decidedly", B_INCR},
    {"deeply", B_INCR},	      {"effing", B_INCR},	 {"enormously", B_INCR},
    {"entirely", B_INCR},     {"especially", B_INCR},	 {"exceptionally", B_INCR},
    {"extremely", B_INCR},    {"fabulously", B_INCR},	 {"flipping", B_INCR},
    {"flippin", B_INCR},      {"fricking", B_INCR},	 {"frickin", B_INCR},
    {"frigging", B_INCR},     {"friggin", B_INCR},	 {"fully", B_INCR},
    {"fucking", B_INCR},      {"greatly", B_INCR},	 {"hella", B_INCR},
    {"highly", B_INCR},	      {"hugely", B_INCR},	 {"incredibly", B_INCR},
    {"intensely", B_INCR},    {"majorly", B_INCR},	 {"more", B_INCR},
    {"most", B_INCR},	      {"particularly", B_INCR},	 {"purely", B_INCR},
    {"quite", B_INCR},	      {"really", B_INCR},	 {"remarkably", B_INCR},
    {"so", B_INCR},	      {"substantially", B_INCR}, {"thoroughly", B_INCR},
    {"totally", B_INCR},      {"tremendously", B_INCR},	 {"uber", B_INCR},
    {"unbelievably", B_INCR}, {"unusually", B_INCR},	 {"utterly", B_INCR},
    {"very", B_INCR},	      {"almost", B_DECR},	 {"barely", B_DECR},
    {"hardly", B_DECR},	      {"just enough", B_DECR},	 {"kind of", B_DECR},
    {"kinda", B_DECR},	      {"kindof", B_DECR},	 {"kind-of", B_DECR},
    {"less", B_DECR},	      {"little", B_DECR},	 {"marginally", B_DECR},
    {"occasionally", B_DECR}, {"partly", B_DECR},	 {"scarcely", B_DECR},
    {"slightly", B_DECR},     {"somewhat", B_DECR},	 {"sort of", B_DECR},
    {"sorta", B_DECR},	      {"sortof", B_DECR},	 {"sort-of", B_DECR},
};

static const struct {
	const char *w;
	double v;
} IDIOMS[] = {
    {"the shit", 3},	    {"the bomb", 3},	     {"bad ass", 1.5},	    {"yeah right", -2},
    {"cut the mustard", 2}, {"kiss of death", -1.5}, {"hand to mouth", -2},
};

static const char *const PUNC[] = {".",	 "!",	"?",  ",",   ";",   ":",   "-",	   "'",	  "\"",
				   "!!", "!!!", "??", "???", "?!?", "!?!", "?!?!", "!?!?"};

#define N(a) (sizeof(a) / sizeof *(a))

static bool booster(const char *lower, double *v)
{
	for (size_t i = 0; i < N(BOOSTER); i++)
		if (!strcmp(BOOSTER[i].w, lower)) {
			if (v)
				*v = BOOSTER[i].v;
			return true;
		}
	return false;
}

static bool idiom(const char *s, double *v)
{
	for (size_t i = 0; i < N(IDIOMS); i++)
		if (!strcmp(IDIOMS[i].w, s)) {
			*v = IDIOMS[i].v;
			return true;
		}
	return false;
}

/* The reference's negated([w]): a negation word (exact case) or anything with "n't". */
static bool negated(const char *w)
{
	for (size_t i = 0; i < N(NEGATE); i++)
		if (!strcmp(NEGATE[i], w))
			return true;
	return strstr(w, "n't") != NULL;
}

/* Python's str.isupper() as the reference has it: an A-Z and no a-z. */
static bool is_upper(const char *w)
{
	bool up = false;
	for (; *w; w++) {
		if (*w >= 'a' && *w <= 'z')
			return false;
		up |= *w >= 'A' && *w <= 'Z';
	}
	return up;
}

static bool punct(char c)
{
	return c > 0 && ispunct((unsigned char)c);
}

static size_t cps(const char *s, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		n += ((unsigned char)s[i] & 0xC0) != 0x80;
	return n;
}

static bool no_punct(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (punct(s[i]))
			return false;
	return true;
}

struct words {
	char *w[MAX_TOKENS];   /* as written (punctuation mark removed) */
	char *low[MAX_TOKENS]; /* lower case */
	size_t n;
	char *store;
};

/* Split text as the reference does. -1 when out of memory. */
static int split(const char *text, struct words *ws)
{
	size_t len = strlen(text), used = 0;
	const char *p = text;

	ws->n = 0;
	ws->store = malloc(3 * len + 8); /* each kept token twice, at least 2 bytes + NUL */
	if (!ws->store)
		return -1;
	while (*p && ws->n < MAX_TOKENS) {
		const char *a = p, *b;
		size_t tl;
		while (*p && !isspace((unsigned char)*p))
			p++;
		b = p;
		if (*p)
			p++;
		tl = (size_t)(b - a);
		if (cps(a, tl) <= 1)
			continue;
		/* One punctuation mark (or run of them as listed) before or after a word. */
		for (size_t k = 0; k < N(PUNC); k++) {
			size_t pl = strlen(PUNC[k]);
			if (tl <= pl)
				continue;
			if (!strncmp(a, PUNC[k], pl) && cps(a + pl, tl - pl) > 1 &&
			    no_punct(a + pl, tl - pl)) {
				a += pl;
				tl -= pl;
				break;
			}
			if (!strncmp(b - pl, PUNC[k], pl) && cps(a, tl - pl) > 1 &&
			    no_punct(a, tl - pl)) {
				tl -= pl;
				break;
			}
		}
		ws->w[ws->n] = ws->store + used;
		memcpy(ws->w[ws->n], a, tl);
		ws->w[ws->n][tl] = '\0';
		used += tl + 1;
		ws->low[ws->n] = ws->store + used;
		for (size_t i = 0; i <= tl; i++)
			ws->low[ws->n][i] = (char)tolower((unsigned char)a[i]);
		ws->low[ws->n][tl] = '\0';
		used += tl + 1;
		ws->n++;
	}
	return 0;
}

static double scalar_inc_dec(const struct words *ws, size_t k, double valence, bool cap_diff)
{
	double scalar = 0;
	if (booster(ws->low[k], &scalar)) {
		if (valence < 0)
			scalar *= -1;
		if (cap_diff && is_upper(ws->w[k]))
			scalar += valence > 0 ? C_INCR : -C_INCR;
	}
	return scalar;
}

static double never_check(const struct words *ws, double valence, int start_i, size_t i)
{
	const char *const *w = (const char *const *)ws->w;
	if (start_i == 0 && negated(w[i - 1]))
		valence *= N_SCALAR;
	if (start_i == 1) {
		if (!strcmp(w[i - 2], "never") &&
		    (!strcmp(w[i - 1], "so") || !strcmp(w[i - 1], "this")))
			valence *= 1.5;
		else if (negated(w[i - 2]))
			valence *= N_SCALAR;
	}
	if (start_i == 2) {
		if ((!strcmp(w[i - 3], "never") &&
		     (!strcmp(w[i - 2], "so") || !strcmp(w[i - 2], "this"))) ||
		    !strcmp(w[i - 1], "so") || !strcmp(w[i - 1], "this"))
			valence *= 1.25;
		else if (negated(w[i - 3]))
			valence *= N_SCALAR;
	}
	return valence;
}

/* Words i-a .. i-b (a >= b) joined by spaces into out; false when i-a < 0. */
static bool join(const struct words *ws, size_t i, size_t a, size_t b, char *out, size_t outlen)
{
	size_t n = 0;
	if (a > i)
		return false;
	out[0] = '\0';
	for (size_t k = i - a; k <= i - b; k++) {
		int w = snprintf(out + n, outlen - n, "%s%s", n ? " " : "", ws->w[k]);
		if (w < 0 || (size_t)w >= outlen - n)
			return false;
		n += (size_t)w;
	}
	return true;
}

static double idioms_check(const struct words *ws, double valence, size_t i)
{
	char s[512];
	double v;
	bool hit = false;
	/* onezero, twoonezero, twoone, threetwoone, threetwo: the first that is an idiom */
	static const size_t seq[][2] = {{1, 0}, {2, 0}, {2, 1}, {3, 1}, {3, 2}};
	for (size_t k = 0; k < N(seq) && !hit; k++)
		if (join(ws, i, seq[k][0], seq[k][1], s, sizeof s) && idiom(s, &v)) {
			valence = v;
			hit = true;
		}
	if (ws->n - 1 > i) {
		snprintf(s, sizeof s, "%s %s", ws->w[i], ws->w[i + 1]);
		if (idiom(s, &v))
			valence = v;
	}
	if (ws->n - 1 > i + 1) {
		snprintf(s, sizeof s, "%s %s %s", ws->w[i], ws->w[i + 1], ws->w[i + 2]);
		if (idiom(s, &v))
			valence = v;
	}
	/* booster bigrams such as "sort of", "kind of" */
	if ((join(ws, i, 3, 2, s, sizeof s) && booster(s, NULL)) ||
	    (join(ws, i, 2, 1, s, sizeof s) && booster(s, NULL)))
		valence += B_DECR;
	return valence;
}

static double least_check(const struct words *ws, const struct intel_lexicon *lx, double valence,
			  size_t i)
{
	bool in_lex;
	if (i > 0 && !strcmp(ws->low[i - 1], "least")) {
		intel_lexicon_get(lx, ws->low[i - 1], &in_lex);
		if (in_lex)
			return valence;
		if (i > 1) {
			if (strcmp(ws->low[i - 2], "at") && strcmp(ws->low[i - 2], "very"))
				valence *= N_SCALAR;
		} else {
			valence *= N_SCALAR;
		}
	}
	return valence;
}

static double valence_of(const struct words *ws, const struct intel_lexicon *lx, size_t i,
			 bool cap_diff)
{
	bool found;
	double valence = intel_lexicon_get(lx, ws->low[i], &found);
	if (!found)
		return 0;
	if (cap_diff && is_upper(ws->w[i]))
		valence += valence > 0 ? C_INCR : -C_INCR;
	for (int start_i = 0; start_i < 3; start_i++) {
		bool prev_in;
		if (i <= (size_t)start_i)
			continue;
		intel_lexicon_get(lx, ws->low[i - (size_t)start_i - 1], &prev_in);
		if (prev_in)
			continue;
		double s = scalar_inc_dec(ws, i - (size_t)start_i - 1, valence, cap_diff);
		if (start_i == 1 && s != 0)
			s *= 0.95;
		else if (start_i == 2 && s != 0)
			s *= 0.9;
		valence += s;
		valence = never_check(ws, valence, start_i, i);
		if (start_i == 2)
			valence = idioms_check(ws, valence, i);
	}
	return least_check(ws, lx, valence, i);
}

void intel_vader_scores(const struct intel_lexicon *lx, const char *text, struct intel_vader *out)
{
	struct words *ws = calloc(1, sizeof *ws);
	double *sent = NULL, sum = 0, pos = 0, neg = 0, amp, total;
	size_t neu = 0, allcaps = 0, ep = 0, qm = 0;
	bool cap_diff;
	long but = -1;

	memset(out, 0, sizeof *out);
	if (!ws || !text || split(text, ws) < 0 || !ws->n)
		goto out;
	sent = calloc(ws->n, sizeof *sent);
	if (!sent)
		goto out;
	for (size_t i = 0; i < ws->n; i++)
		allcaps += is_upper(ws->w[i]);
	cap_diff = allcaps > 0 && allcaps < ws->n;
	for (size_t i = 0; i < ws->n; i++) {
		if ((i + 1 < ws->n && !strcmp(ws->low[i], "kind") &&
		     !strcmp(ws->low[i + 1], "of")) ||
		    booster(ws->low[i], NULL)) {
			sent[i] = 0;
			continue;
		}
		sent[i] = valence_of(ws, lx, i, cap_diff);
	}
	for (size_t i = 0; i < ws->n && but < 0; i++)
		if (!strcmp(ws->w[i], "but"))
			but = (long)i;
	for (size_t i = 0; i < ws->n && but < 0; i++)
		if (!strcmp(ws->w[i], "BUT"))
			but = (long)i;
	if (but >= 0)
		for (size_t i = 0; i < ws->n; i++) {
			if ((long)i < but)
				sent[i] *= 0.5;
			else if ((long)i > but)
				sent[i] *= 1.5;
		}
	for (size_t i = 0; i < ws->n; i++)
		sum += sent[i];
	for (const char *c = text; *c; c++) {
		ep += *c == '!';
		qm += *c == '?';
	}
	amp =
	    (double)(ep > 4 ? 4 : ep) * 0.292 + (qm > 1 ? (qm <= 3 ? (double)qm * 0.18 : 0.96) : 0);
	if (sum > 0)
		sum += amp;
	else if (sum < 0)
		sum -= amp;
	out->compound = sum / sqrt(sum * sum + ALPHA);
	if (out->compound > 1)
		out->compound = 1;
	if (out->compound < -1)
		out->compound = -1;
	for (size_t i = 0; i < ws->n; i++) {
		if (sent[i] > 0)
			pos += sent[i] + 1;
		else if (sent[i] < 0)
			neg += sent[i] - 1;
		else
			neu++;
	}
	if (pos > fabs(neg))
		pos += amp;
	else if (pos < fabs(neg))
		neg -= amp;
	total = pos + fabs(neg) + (double)neu;
	if (total > 0) {
		out->pos = fabs(pos / total);
		out->neg = fabs(neg / total);
		out->neu = fabs((double)neu / total);
	}
out:
	if (ws)
		free(ws->store);
	free(ws);
	free(sent);
}
