/*
 * actions.c — action items and decisions by rules.
 *
 * A sentence is a decision when it says one was made ("we decided", "we
 * agreed", "let's go with", "the decision is", ...) and is not a question.
 * Otherwise it is an action item when it commits someone to something:
 * the speaker ("I will", "I'll", "I'm going to", "let me", "we need to",
 * "let's", ...), someone asked ("can you", "could you", "please", "make
 * sure", ...) or someone named ("Maria will", "Tom needs to"). Phrases that
 * only look like commitments ("I'll be honest", "let's see", "can you hear
 * me") are left out by the verb that follows.
 *
 * Who: the speaker for their own commitments; for a request the name said
 * with it ("Maria, can you ...", "... by Friday, Tom?") or else the next
 * other speaker (who usually answers it); the name for "Maria will". When:
 * a day or date phrase said in the sentence ("by Friday", "tomorrow", "next
 * week", "end of the month", "March 3rd", "in two weeks").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "intel/intel.h"
#include "intel/intel_impl.h"

#define MAX_TOK 96

struct tok {
	char w[INTEL_WORD_MAX]; /* lower case */
	size_t off, len;	/* in the sentence */
	bool cap;		/* said with a capital first letter */
	bool comma_before, comma_after;
};

struct sent {
	const char *text;
	struct tok t[MAX_TOK];
	size_t n;
	bool question;
};

static bool word_start(const unsigned char *c)
{
	if (c[0] == 0xE2 && c[1] == 0x80 && c[2] == 0x99)
		return false;
	return (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
	       *c >= 0x80;
}

static void tokenize(const char *text, struct sent *s)
{
	const char *p = text;
	s->text = text;
	s->n = 0;
	s->question = false;
	while (s->n < MAX_TOK) {
		const char *before = p;
		struct tok *t = &s->t[s->n];
		bool brk;
		size_t n = intel_word(&p, t->w, &brk);
		if (!n)
			break;
		/* The word's own start: after what intel_word skipped. */
		const char *q = before;
		while (q < p && !word_start((const unsigned char *)q))
			q++;
		t->off = (size_t)(q - text);
		t->len = (size_t)(p - q);
		t->cap = *q >= 'A' && *q <= 'Z';
		t->comma_before = false;
		t->comma_after = false;
		for (const char *c = before; c < q; c++)
			if (*c == ',')
				t->comma_before = true;
		if (s->n && t->comma_before)
			s->t[s->n - 1].comma_after = true;
		s->n++;
	}
	for (const char *c = text + strlen(text); c > text; c--) {
		if (c[-1] == '?') {
			s->question = true;
			break;
		}
		if (c[-1] != ' ' && c[-1] != '"' && c[-1] != '\'' && c[-1] != ')')
			break;
	}
}

/* Do the words of pat (space-separated) start at token i? Returns how many, or 0. */
static size_t match_at(const struct sent *s, size_t i, const char *pat)
{
	char buf[128], *save = NULL, *w;
	size_t k = 0;

	snprintf(buf, sizeof buf, "%s", pat);
	for (w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save), k++)
		if (i + k >= s->n || strcmp(s->t[i + k].w, w))
			return 0;
	return k;
}

/* The first place any of pats matches: token index, with *len tokens; -1 if none. */
static long find_any(const struct sent *s, const char *const *pats, size_t npats, size_t *len)
{
	for (size_t i = 0; i < s->n; i++)
		for (size_t k = 0; k < npats; k++) {
			size_t m = match_at(s, i, pats[k]);
			if (m) {
				*len = m;
				return (long)i;
			}
		}
	return -1;
}

#define N(a) (sizeof(a) / sizeof *(a))

static const char *const DECISION[] = {
    "we decided",
    "we've decided",
    "we have decided",
    "we had decided",
    "decided to",
    "decided that",
    "we agreed",
    "we've agreed",
    "we have agreed",
    "agreed to",
    "agreed that",
    "let's go with",
    "we'll go with",
    "we will go with",
    "we're going with",
    "we are going with",
    "we're going to go with",
    "the decision is",
    "our decision is",
    "final decision",
    "we settled on",
    "settled on",
    "it's decided",
    "it is decided",
    "decision is to",
    "we're sticking with",
    "we'll stick with",
    "let's stick with",
};

/* The speaker commits (themselves or the group). */
static const char *const COMMIT[] = {
    "i will",	  "i'll",      "i'm going to",	 "i am going to",   "i'm gonna",
    "i can take", "i need to", "i have to",	 "i've got to",	    "let me",
    "i'm on it",  "we will",   "we'll",		 "we need to",	    "we have to",
    "we must",	  "we should", "we're going to", "we are going to", "we've got to",
    "we gotta",	  "let's",     "action item",	 "i'll take",	    "i will take",
};

/* The speaker asks someone. */
static const char *const ASK[] = {
    "can you",	   "could you",	 "would you",	   "will you",	"please",
    "you need to", "you should", "you'll need to", "make sure", "don't forget",
    "you have to", "you will",	 "you'll",
};

/* Someone named is given it: "Maria will", "Tom needs to". */
static const char *const ASSIGN[] = {"will",   "'ll",	 "is going to", "needs to",
				     "has to", "should", "can take"};

/* Words after a commitment phrase that make it talk, not a task. */
static const char *const NOT_TASK[] = {
    "admit", "agree", "be",  "bet", "guess", "hear", "honest", "imagine",
    "know",  "mean",  "say", "see", "think", "wait", "wonder", "repeat",
};

/* Adverbs skipped between the phrase and its verb ("I'll just send it"). */
static const char *const SKIP[] = {"also", "just", "definitely", "probably", "quickly",	 "really",
				   "then", "all",  "both",	 "actually", "certainly"};

static bool in(const char *const *list, size_t n, const char *w)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(list[i], w))
			return true;
	return false;
}

/* Is the verb after the phrase ending before token i one that means talk, not a task? */
static bool talk_only(const struct sent *s, size_t i)
{
	while (i < s->n && in(SKIP, N(SKIP), s->t[i].w))
		i++;
	if (i >= s->n)
		return true; /* "I will." alone: nothing to do */
	/* "we should talk about it": conversation ("I'll talk to legal" is a task) */
	if (!strcmp(s->t[i].w, "talk") && i + 1 < s->n && !strcmp(s->t[i + 1].w, "about"))
		return true;
	return in(NOT_TASK, N(NOT_TASK), s->t[i].w);
}

static void copy_span(const struct sent *s, size_t a, size_t b, char *out, size_t outlen)
{
	size_t from = s->t[a].off, to = s->t[b].off + s->t[b].len, n = to - from;
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, s->text + from, n);
	out[n] = '\0';
}

/* A name: capitalised, not a pronoun or a stop word, not "I". */
static bool name_tok(const struct tok *t)
{
	return t->cap && !intel_stopword(t->w) && !intel_filler(t->w) && strlen(t->w) > 1;
}

static const char *const DAYS[] = {"monday", "tuesday",	 "wednesday", "thursday",
				   "friday", "saturday", "sunday",    "weekend"};
static const char *const MONTHS[] = {"january",	  "february", "march",	  "april",
				     "may",	  "june",     "july",	  "august",
				     "september", "october",  "november", "december"};
static const char *const UNITS[] = {"day",     "days", "week",	 "weeks",   "month",	 "months",
				    "quarter", "year", "sprint", "morning", "afternoon", "evening"};
static const char *const COUNTS[] = {"a",   "one",   "two",   "three", "four",	"five",
				     "six", "seven", "eight", "ten",   "couple"};
static const char *const LEAD[] = {"by",   "on",  "before", "until",  "till", "next",
				   "this", "due", "in",	    "within", "for"};

static bool ordinal(const char *w)
{
	size_t n = strlen(w), d = 0;
	while (d < n && w[d] >= '0' && w[d] <= '9')
		d++;
	if (!d || d > 2)
		return false;
	return d == n || !strcmp(w + d, "st") || !strcmp(w + d, "nd") || !strcmp(w + d, "rd") ||
	       !strcmp(w + d, "th");
}

/* The day or date phrase of s into when ("" if none). */
static void find_when(const struct sent *s, char *when, size_t len)
{
	when[0] = '\0';
	for (size_t i = 0; i < s->n; i++) {
		const char *w = s->t[i].w;
		size_t a = i, b = i;
		bool hit = false;
		if (in(DAYS, N(DAYS), w) || !strcmp(w, "tomorrow") || !strcmp(w, "today") ||
		    !strcmp(w, "tonight") || !strcmp(w, "eod") || !strcmp(w, "asap")) {
			hit = true;
			/* "Friday the 3rd", "Monday morning" */
			if (i + 1 < s->n && in(UNITS, N(UNITS), s->t[i + 1].w))
				b = i + 1;
		} else if (in(MONTHS, N(MONTHS), w)) {
			/* "March 3rd", "in June", "by April": not "we march on", "May I" */
			bool day = i + 1 < s->n && ordinal(s->t[i + 1].w);
			bool lead = i > 0 && in(LEAD, N(LEAD), s->t[i - 1].w);
			hit = day || (lead && (s->t[i].cap || strcmp(w, "may")));
			if (day)
				b = i + 1;
		} else if ((!strcmp(w, "next") || !strcmp(w, "this")) && i + 1 < s->n &&
			   (in(UNITS, N(UNITS), s->t[i + 1].w) ||
			    in(DAYS, N(DAYS), s->t[i + 1].w))) {
			hit = true;
			b = i + 1;
		} else if (!strcmp(w, "end") && i + 2 < s->n && !strcmp(s->t[i + 1].w, "of")) {
			size_t k = i + 2;
			if (!strcmp(s->t[k].w, "the") || !strcmp(s->t[k].w, "this") ||
			    !strcmp(s->t[k].w, "next"))
				k++;
			if (k < s->n &&
			    (in(UNITS, N(UNITS), s->t[k].w) || in(MONTHS, N(MONTHS), s->t[k].w))) {
				hit = true;
				b = k;
			}
		} else if (!strcmp(w, "the") && i + 1 < s->n && ordinal(s->t[i + 1].w) &&
			   strlen(s->t[i + 1].w) > 2) {
			hit = true;
			b = i + 1;
			if (i + 3 < s->n && !strcmp(s->t[i + 2].w, "of") &&
			    in(MONTHS, N(MONTHS), s->t[i + 3].w))
				b = i + 3;
		} else if ((!strcmp(w, "in") || !strcmp(w, "within")) && i + 2 < s->n &&
			   (in(COUNTS, N(COUNTS), s->t[i + 1].w) || ordinal(s->t[i + 1].w))) {
			size_t k = i + 2;
			if (!strcmp(s->t[i + 1].w, "couple") && k < s->n &&
			    !strcmp(s->t[k].w, "of"))
				k++;
			if (k < s->n && in(UNITS, N(UNITS), s->t[k].w)) {
				hit = true;
				b = k;
			}
		}
		if (!hit)
			continue;
		/* "by Friday", "on Monday", "next Tuesday", "by end of day" */
		if (a > 0 && in(LEAD, N(LEAD), s->t[a - 1].w) && strcmp(s->t[a].w, "next") &&
		    strcmp(s->t[a].w, "this") && strcmp(s->t[a].w, "in"))
			a--;
		if (a > 0 && !strcmp(s->t[a].w, "next") && in(LEAD, N(LEAD), s->t[a - 1].w) &&
		    strcmp(s->t[a - 1].w, "next"))
			a--;
		copy_span(s, a, b, when, len);
		return;
	}
}

int intel_classify(const char *text, bool *addressed, char addressee[128], char when[96])
{
	struct sent s;
	size_t len = 0;
	long at;

	*addressed = false;
	addressee[0] = '\0';
	when[0] = '\0';
	if (!text)
		return 0;
	tokenize(text, &s);
	if (!s.n)
		return 0;
	find_when(&s, when, 96);
	if (!s.question && find_any(&s, DECISION, N(DECISION), &len) >= 0)
		return INTEL_DECISION;
	/* Someone named: "Maria will send ...", "So Tom needs to ...". */
	for (size_t i = 0; i < s.n; i++) {
		if (!name_tok(&s.t[i]))
			continue;
		for (size_t k = 0; k < N(ASSIGN); k++) {
			size_t m = match_at(&s, i + 1, ASSIGN[k]);
			if (m && !talk_only(&s, i + 1 + m) && !s.question) {
				*addressed = true;
				copy_span(&s, i, i, addressee, 128);
				return INTEL_ACTION;
			}
		}
	}
	at = find_any(&s, ASK, N(ASK), &len);
	if (at >= 0 && !talk_only(&s, (size_t)at + len)) {
		*addressed = true;
		/* "Maria, can you ..." / "... by Friday, Tom?" */
		if (name_tok(&s.t[0]) && s.t[0].comma_after && at > 0)
			copy_span(&s, 0, 0, addressee, 128);
		else if (s.n > 1 && name_tok(&s.t[s.n - 1]) && s.t[s.n - 1].comma_before)
			copy_span(&s, s.n - 1, s.n - 1, addressee, 128);
		return INTEL_ACTION;
	}
	at = find_any(&s, COMMIT, N(COMMIT), &len);
	if (at >= 0 && !talk_only(&s, (size_t)at + len) && !s.question)
		return INTEL_ACTION;
	return 0;
}

int intel_items(const struct transcript *t, const struct intel_doc *d, struct intel_item **items,
		size_t *n)
{
	struct intel_item *out = NULL;
	size_t cap = 0;

	*items = NULL;
	*n = 0;
	for (size_t i = 0; i < d->n; i++) {
		bool addressed;
		char who[128], when[96];
		int kind = intel_classify(d->s[i].text, &addressed, who, when);
		struct intel_item *it;
		if (!kind)
			continue;
		if (*n == cap) {
			size_t nc = cap ? cap * 2 : 16;
			void *p = realloc(out, nc * sizeof *out);
			if (!p) {
				free(out);
				return -1;
			}
			out = p;
			cap = nc;
		}
		it = &out[(*n)++];
		memset(it, 0, sizeof *it);
		it->kind = (enum intel_item_kind)kind;
		it->sentence = i;
		snprintf(it->when, sizeof it->when, "%s", when);
		if (who[0]) {
			snprintf(it->who, sizeof it->who, "%s", who);
		} else if (kind == INTEL_ACTION && !addressed && d->s[i].speaker) {
			transcript_speaker_display(t, d->s[i].speaker, it->who, sizeof it->who);
		} else if (kind == INTEL_ACTION && addressed) {
			/* Asked without a name: whoever speaks next answers it. */
			for (size_t j = i + 1; j < d->n; j++)
				if (d->s[j].speaker && d->s[j].speaker != d->s[i].speaker) {
					transcript_speaker_display(t, d->s[j].speaker, it->who,
								   sizeof it->who);
					break;
				}
		}
	}
	*items = out;
	return 0;
}
