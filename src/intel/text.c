/*
 * text.c — sentences with times, words, stems, the stop list.
 */
#include <libstemmer.h>
#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "intel/intel.h"
#include "intel/intel_impl.h"

/* ---- the stop list (sorted: bsearch) ---- */

static const char *const STOP[] = {
    "a",	 "about",   "above",   "after",	   "again",	 "against", "ain't",   "all",
    "also",	 "am",	    "an",      "and",	   "any",	 "are",	    "aren't",  "as",
    "at",	 "be",	    "because", "been",	   "before",	 "being",   "below",   "between",
    "both",	 "but",	    "by",      "can",	   "can't",	 "cannot",  "could",   "couldn't",
    "did",	 "didn't",  "do",      "does",	   "doesn't",	 "doing",   "don't",   "down",
    "during",	 "each",    "either",  "else",	   "etc",	 "even",    "ever",    "every",
    "few",	 "for",	    "from",    "further",  "get",	 "gets",    "getting", "go",
    "goes",	 "going",   "gonna",   "got",	   "gotta",	 "had",	    "hadn't",  "has",
    "hasn't",	 "have",    "haven't", "having",   "he",	 "he'd",    "he'll",   "he's",
    "her",	 "here",    "here's",  "hers",	   "herself",	 "him",	    "himself", "his",
    "how",	 "how's",   "i",       "i'd",	   "i'll",	 "i'm",	    "i've",    "if",
    "in",	 "into",    "is",      "isn't",	   "it",	 "it'd",    "it'll",   "it's",
    "its",	 "itself",  "just",    "let",	   "let's",	 "like",    "may",     "maybe",
    "me",	 "might",   "more",    "most",	   "much",	 "must",    "mustn't", "my",
    "myself",	 "need",    "no",      "nor",	   "not",	 "now",	    "of",      "off",
    "oh",	 "ok",	    "okay",    "on",	   "once",	 "one",	    "only",    "or",
    "other",	 "ought",   "our",     "ours",	   "ourselves",	 "out",	    "over",    "own",
    "please",	 "quite",   "rather",  "really",   "right",	 "said",    "same",    "say",
    "says",	 "shall",   "shan't",  "she",	   "she'd",	 "she'll",  "she's",   "should",
    "shouldn't", "so",	    "some",    "such",	   "sure",	 "than",    "that",    "that's",
    "the",	 "their",   "theirs",  "them",	   "themselves", "then",    "there",   "there's",
    "these",	 "they",    "they'd",  "they'll",  "they're",	 "they've", "this",    "those",
    "though",	 "through", "to",      "too",	   "uh",	 "um",	    "under",   "until",
    "up",	 "upon",    "us",      "very",	   "was",	 "wasn't",  "we",      "we'd",
    "we'll",	 "we're",   "we've",   "well",	   "were",	 "weren't", "what",    "what's",
    "when",	 "when's",  "where",   "where's",  "whether",	 "which",   "while",   "who",
    "who's",	 "whom",    "why",     "why's",	   "will",	 "with",    "won't",   "would",
    "wouldn't",	 "yeah",    "yes",     "yet",	   "you",	 "you'd",   "you'll",  "you're",
    "you've",	 "your",    "yours",   "yourself", "yourselves",
};

/* Speech fillers and words too common in meetings to name a topic (sorted). */
static const char *const FILLER[] = {
    "actually",	  "alright",   "anything",  "anyway",	"basically", "bit",	 "come",
    "definitely", "done",      "everybody", "everyone", "exactly",   "feel",	 "fine",
    "gonna",	  "good",      "great",	    "guess",	"guys",	     "happened", "hey",
    "hmm",	  "kind",      "know",	    "last",	"let's",     "look",	 "looks",
    "lot",	  "lots",      "make",	    "mean",	"mhm",	     "needs",	 "next",
    "nice",	  "nothing",   "obviously", "pretty",	"probably",  "put",	 "seems",
    "someone",	  "something", "sorry",	    "sort",	"started",   "stuff",	 "take",
    "talk",	  "tell",      "thank",	    "thanks",	"thing",     "things",	 "think",
    "time",	  "today",     "totally",   "try",	"uh",	     "um",	 "use",
    "want",	  "way",       "week",	    "went",	"work",	     "yeah",	 "yep",
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool in_list(const char *const *list, size_t n, const char *w)
{
	return bsearch(&w, list, n, sizeof *list, cmp_str) != NULL;
}

bool intel_stopword(const char *w)
{
	/* ’ is written as ' by intel_word, so "don’t" is found too. */
	return in_list(STOP, sizeof STOP / sizeof *STOP, w);
}

bool intel_filler(const char *w)
{
	return in_list(FILLER, sizeof FILLER / sizeof *FILLER, w);
}

/* ---- words ---- */

static bool word_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c >= 0x80;
}

/* U+2019 (right single quotation mark) as UTF-8. */
static bool curly_apos(const unsigned char *s)
{
	return s[0] == 0xE2 && s[1] == 0x80 && s[2] == 0x99;
}

static bool break_byte(unsigned char c)
{
	return c == ',' || c == ';' || c == ':' || c == '.' || c == '!' || c == '?' || c == '(' ||
	       c == ')' || c == '"' || c == '-';
}

size_t intel_word(const char **p, char out[INTEL_WORD_MAX], bool *brk)
{
	const unsigned char *s = (const unsigned char *)*p;
	size_t n = 0;
	bool b = false;

	for (;;) {
		if (!*s) {
			*p = (const char *)s;
			out[0] = '\0';
			if (brk)
				*brk = b;
			return 0;
		}
		if (word_byte(*s) && !curly_apos(s))
			break;
		if (break_byte(*s))
			b = true;
		s++;
	}
	while (*s) {
		if (curly_apos(s) || *s == '\'') {
			size_t step = *s == '\'' ? 1 : 3;
			/* An apostrophe inside a word ("don't"), not a quote around it. */
			if (!n || !word_byte(s[step]) || curly_apos(s + step))
				break;
			if (n + 1 < INTEL_WORD_MAX)
				out[n++] = '\'';
			s += step;
			continue;
		}
		if (!word_byte(*s))
			break;
		if (n + 1 < INTEL_WORD_MAX)
			out[n++] = (char)(*s >= 'A' && *s <= 'Z' ? *s + 32 : *s);
		s++;
	}
	/* A cut UTF-8 sequence at the end of a long word: drop its lead bytes. */
	while (n && ((unsigned char)out[n - 1] & 0xC0) == 0xC0)
		n--;
	out[n] = '\0';
	*p = (const char *)s;
	if (brk)
		*brk = b;
	return n ? n : 1;
}

/* ---- stems ---- */

struct sb_stemmer *intel_stemmer_new(const char *language)
{
	char code[4] = "";
	struct sb_stemmer *s = NULL;

	/* "pt-BR" -> "pt": Snowball knows ISO 639-1 codes as aliases */
	for (size_t i = 0; language && i < 3 && language[i] >= 'a' && language[i] <= 'z'; i++)
		code[i] = language[i];
	if (code[0] && strcmp(code, "en"))
		s = sb_stemmer_new(code, NULL);
	return s ? s : sb_stemmer_new("english", NULL);
}

void intel_stemmer_free(struct sb_stemmer *s)
{
	if (s)
		sb_stemmer_delete(s);
}

void intel_stem(struct sb_stemmer *s, const char *w, char out[INTEL_WORD_MAX])
{
	size_t len = strlen(w);
	const sb_symbol *r = s ? sb_stemmer_stem(s, (const sb_symbol *)w, (int)len) : NULL;

	if (r) {
		size_t n = (size_t)sb_stemmer_length(s);
		if (n >= INTEL_WORD_MAX)
			n = INTEL_WORD_MAX - 1;
		memcpy(out, r, n);
		out[n] = '\0';
	} else {
		memcpy(out, w, len + 1 < INTEL_WORD_MAX ? len + 1 : INTEL_WORD_MAX);
		out[INTEL_WORD_MAX - 1] = '\0';
	}
}

/* ---- vocabulary ---- */

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static int vocab_grow(struct intel_vocab *v)
{
	size_t ncap = v->cap ? v->cap * 2 : 256;
	char **keys = calloc(ncap, sizeof *keys);
	size_t *ids = calloc(ncap, sizeof *ids);

	if (!keys || !ids) {
		free(keys);
		free(ids);
		return -1;
	}
	for (size_t i = 0; i < v->cap; i++) {
		if (!v->keys[i])
			continue;
		size_t j = (size_t)hash_str(v->keys[i]) & (ncap - 1);
		while (keys[j])
			j = (j + 1) & (ncap - 1);
		keys[j] = v->keys[i];
		ids[j] = v->ids[i];
	}
	free(v->keys);
	free(v->ids);
	v->keys = keys;
	v->ids = ids;
	v->cap = ncap;
	return 0;
}

size_t intel_vocab_find(const struct intel_vocab *v, const char *key)
{
	if (!v->cap)
		return (size_t)-1;
	for (size_t j = (size_t)hash_str(key) & (v->cap - 1); v->keys[j];
	     j = (j + 1) & (v->cap - 1))
		if (!strcmp(v->keys[j], key))
			return v->ids[j];
	return (size_t)-1;
}

size_t intel_vocab_id(struct intel_vocab *v, const char *key)
{
	size_t id = intel_vocab_find(v, key), j;
	char *copy;

	if (id != (size_t)-1)
		return id;
	if ((v->n + 1) * 2 > v->cap && vocab_grow(v) < 0)
		return (size_t)-1;
	if (v->n >= v->byid_cap) {
		size_t nc = v->byid_cap ? v->byid_cap * 2 : 256;
		char **b = realloc(v->byid, nc * sizeof *b);
		if (!b)
			return (size_t)-1;
		v->byid = b;
		v->byid_cap = nc;
	}
	copy = strdup(key);
	if (!copy)
		return (size_t)-1;
	for (j = (size_t)hash_str(key) & (v->cap - 1); v->keys[j]; j = (j + 1) & (v->cap - 1))
		;
	v->keys[j] = copy;
	v->ids[j] = v->n;
	v->byid[v->n] = copy;
	return v->n++;
}

void intel_vocab_free(struct intel_vocab *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->cap; i++)
		free(v->keys[i]);
	free(v->keys);
	free(v->ids);
	free(v->byid);
	memset(v, 0, sizeof *v);
}

/* ---- sentences ---- */

static const char *const ABBREV[] = {"dr",  "e.g", "etc", "i.e",  "inc", "jr", "mr",
				     "mrs", "ms",  "no",  "prof", "sr",	 "st", "vs"};

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Does the word ending just before s[end] (a '.') read as an abbreviation? */
static bool abbreviation(const char *s, size_t end)
{
	size_t b = end;
	char w[8];

	while (b && !is_space(s[b - 1]))
		b--;
	if (end - b == 0 || end - b >= sizeof w)
		return false;
	for (size_t i = b; i < end; i++)
		w[i - b] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]);
	w[end - b] = '\0';
	if (end - b == 1 && w[0] >= 'a' && w[0] <= 'z')
		return true; /* an initial: "J. Smith" */
	for (size_t i = 0; i < sizeof ABBREV / sizeof *ABBREV; i++)
		if (!strcmp(w, ABBREV[i]))
			return true;
	return false;
}

static bool has_alnum(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (word_byte((unsigned char)s[i]))
			return true;
	return false;
}

/* Collapse whitespace runs of s to single spaces, trimmed. Caller frees; NULL out of memory. */
static char *collapse(const char *s, size_t *words)
{
	size_t n = 0, len = strlen(s);
	char *o = malloc(len + 1);

	*words = 0;
	if (!o)
		return NULL;
	for (const char *p = s; *p;) {
		while (is_space(*p))
			p++;
		if (!*p)
			break;
		if (n)
			o[n++] = ' ';
		(*words)++;
		while (*p && !is_space(*p))
			o[n++] = *p++;
	}
	o[n] = '\0';
	return o;
}

struct seg_order {
	double start;
	size_t i;
};

static int seg_cmp(const void *a, const void *b)
{
	const struct seg_order *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

static double finite0(double x)
{
	return isfinite(x) && x > 0 ? x : 0;
}

static int add_sentence(struct intel_doc *d, size_t *cap, const struct transcript *t, size_t si,
			const char *text, size_t off, size_t len, size_t words_before,
			size_t nwords, size_t seg_words)
{
	const struct transcript_segment *seg = &t->segments[si];
	struct intel_sentence *s;
	double a = finite0(seg->start), b = finite0(seg->end), total;

	if (d->n == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		void *p = realloc(d->s, nc * sizeof *d->s);
		if (!p)
			return -1;
		d->s = p;
		*cap = nc;
	}
	s = &d->s[d->n];
	s->text = strndup(text + off, len);
	if (!s->text)
		return -1;
	if (b < a)
		b = a;
	total = (double)strlen(text);
	if (seg->nwords == seg_words && seg_words && seg->first_word + seg->nwords <= t->nwords &&
	    nwords) {
		const struct transcript_word *w = &t->words[seg->first_word];
		s->start = finite0(w[words_before].start);
		s->end = finite0(w[words_before + nwords - 1].end);
		if (s->end < s->start)
			s->end = s->start;
	} else {
		s->start = total > 0 ? a + (b - a) * (double)off / total : a;
		s->end = total > 0 ? a + (b - a) * (double)(off + len) / total : b;
	}
	s->segment = si;
	s->speaker = seg->speaker <= t->nspeakers ? seg->speaker : 0;
	d->n++;
	return 0;
}

static size_t count_spaces(const char *s, size_t from, size_t to)
{
	size_t n = 0;
	for (size_t i = from; i < to; i++)
		n += s[i] == ' ';
	return n;
}

int intel_split(const struct transcript *t, struct intel_doc *d)
{
	struct seg_order *o = NULL;
	size_t cap = 0;
	char *text = NULL;

	memset(d, 0, sizeof *d);
	if (!t || !t->nsegments)
		return 0;
	snprintf(d->language, sizeof d->language, "%s", t->language);
	o = malloc(t->nsegments * sizeof *o);
	if (!o)
		goto fail;
	for (size_t i = 0; i < t->nsegments; i++)
		o[i] = (struct seg_order){finite0(t->segments[i].start), i};
	qsort(o, t->nsegments, sizeof *o, seg_cmp);
	for (size_t k = 0; k < t->nsegments; k++) {
		size_t si = o[k].i, seg_words, from = 0, i;
		text = collapse(t->segments[si].text ? t->segments[si].text : "", &seg_words);
		if (!text)
			goto fail;
		for (i = 0; text[i]; i++) {
			char c = text[i];
			size_t end;
			if (c != '.' && c != '!' && c != '?')
				continue;
			end = i + 1;
			while (text[end] == '.' || text[end] == '!' || text[end] == '?' ||
			       text[end] == '"' || text[end] == ')' || text[end] == '\'')
				end++;
			if (text[end] && text[end] != ' ')
				continue; /* "3.5", "e.g.x" */
			if (c == '.' && end == i + 1 && abbreviation(text, i))
				continue;
			if (has_alnum(text + from, end - from) &&
			    add_sentence(d, &cap, t, si, text, from, end - from,
					 count_spaces(text, 0, from),
					 count_spaces(text, from, end) + 1, seg_words) < 0)
				goto fail;
			from = text[end] ? end + 1 : end;
			i = end ? end - 1 : 0;
		}
		if (from < i && has_alnum(text + from, i - from) &&
		    add_sentence(d, &cap, t, si, text, from, i - from, count_spaces(text, 0, from),
				 count_spaces(text, from, i) + 1, seg_words) < 0)
			goto fail;
		free(text);
		text = NULL;
	}
	free(o);
	return 0;
fail:
	free(text);
	free(o);
	intel_doc_free(d);
	return -1;
}

void intel_doc_free(struct intel_doc *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++)
		free(d->s[i].text);
	free(d->s);
	d->s = NULL;
	d->n = 0;
}
