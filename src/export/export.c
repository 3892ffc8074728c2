/*
 * export.c — TXT, SRT, WebVTT and JSON renderings of a transcript.
 *
 * Text goes out exactly as the engine wrote it (casing, punctuation); only
 * runs of whitespace become one space.
 *
 * Subtitles are built in three steps: every non-empty segment (in order of
 * start time) is cut into words with times; the words of a segment are cut
 * into cues (2 lines of EXPORT_LINE_MAX code points, EXPORT_CUE_MAX_S) by a
 * shortest-path search over the places a cue may end, scored so that cues
 * end at sentence ends first, then at clause ends (, ; : dashes), then
 * between other words, and rather not after "the", "of", ... or inside a
 * word; lines inside a cue break by the same preference, balanced, and a
 * word is not left alone on a line or in a cue when another break exists.
 * A last pass over all cues makes them increasing, non-overlapping and at
 * least MIN_CUE_MS long where the next cue leaves room. Times are integer
 * milliseconds from the first step on, so the checks are exact.
 *
 * The transcript struct is public, so nothing here trusts it: NaN or
 * negative times read as 0, invalid UTF-8 becomes U+FFFD, word ranges are
 * bounds-checked.
 */
#include "export/export.h"
#include "core/utf8.h"

#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/buf.h"

#define MIN_CUE_MS 500
#define MAX_CUE_MS ((int64_t)(EXPORT_CUE_MAX_S * 1000))
#define MAX_TIME_S 1e9 /* as transcript.c: later than this is garbage */

/*
 * What ends a token, from the best place to end a cue or a line to the
 * worst: a sentence, a clause, a plain word, a word that leans on the next
 * ("the", "of", ...), the middle of a word too long for a line.
 */
enum brk { BRK_SENTENCE, BRK_CLAUSE, BRK_WORD, BRK_WEAK, BRK_INSIDE };

/*
 * Costs of the cue search (lower is better). A cue costs CUE_COST, plus the
 * break after it, plus its line break, plus FILL_COST * (unused characters)^2
 * so that the text is shared out evenly rather than leaving a short tail.
 * Inside a cue, pieces of one word never share a line, so that break is free.
 */
static const double CUE_BREAK[] = {0, 40, 100, 130, 400};
static const double LINE_BREAK[] = {0, 15, 30, 45, 0};
#define CUE_COST    60.0
#define FILL_COST   (1.0 / 200)
#define IMBALANCE   0.5 /* per character of difference between the two lines */
#define ORPHAN_LINE 200.0
#define ORPHAN_CUE  80.0

/* A word of a segment's text, or a piece of one longer than a line. */
struct token {
	const char *s; /* into the segment's repaired text */
	size_t len;    /* bytes */
	size_t cps;    /* code points */
	size_t word;   /* index of the whitespace-separated word it comes from */
	size_t woff;   /* code points of that word before this piece */
	size_t wcps;   /* code points of the whole word */
	size_t pos;    /* code points of the segment before it, one per space */
	enum brk brk;  /* what ends it */
	int64_t start, end;
};

/* The best way found to cut a segment's tokens 0..b-1 into cues: the last one starts at from. */
struct step {
	double cost;
	size_t from, split; /* the last cue's tokens from..b-1, its second line from split */
	size_t next;	    /* on the chosen path: where the cue starting here ends */
};

struct cue {
	int64_t start, end; /* ms */
	size_t off, len;    /* its lines, joined by '\n', in layout.text */
	size_t speaker;	    /* its segment's speaker (1-based), 0 = none */
};

struct layout {
	struct token *tok;
	size_t ntok, captok;
	struct cue *cue;
	size_t ncue, capcue;
	struct step *step;
	size_t capstep;
	struct buf text;
	bool labels; /* SRT: "Name:" leads the text where the speaker changes */
};

/* Segment index ordered by start time (ties keep the transcript's order). */
struct order {
	int64_t start;
	size_t i;
};

/* ---- small helpers ---- */

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static int64_t to_ms(double x)
{
	if (!isfinite(x) || x <= 0)
		return 0;
	return llround((x > MAX_TIME_S ? MAX_TIME_S : x) * 1000);
}

/* Room for need elements in *arr (capacity *cap), doubling. 0, or -1 unchanged. */
static int grow(void **arr, size_t *cap, size_t need, size_t elem)
{
	size_t c = *cap ? *cap : 16;
	void *p;

	if (need <= *cap)
		return 0;
	while (c < need) {
		if (c > SIZE_MAX / 2)
			return -1;
		c *= 2;
	}
	if (c > SIZE_MAX / elem)
		return -1;
	p = realloc(*arr, c * elem);
	if (!p)
		return -1;
	*arr = p;
	*cap = c;
	return 0;
}

/* Append s's words separated by single spaces; *nwords counts them. 0 or -1. */
static int put_words(struct buf *b, const char *s, size_t *nwords)
{
	size_t n = 0;

	for (;;) {
		size_t len = 0;
		while (is_space(*s))
			s++;
		if (!*s)
			break;
		while (s[len] && !is_space(s[len]))
			len++;
		if ((n && buf_append(b, " ", 1) < 0) || buf_append(b, s, len) < 0)
			return -1;
		s += len;
		n++;
	}
	if (nwords)
		*nwords = n;
	return 0;
}

/* "HH:MM:SS" + sep + "mmm" (sep 0: no milliseconds); hours take as many digits as they need. */
static int put_time(struct buf *b, int64_t ms, char sep)
{
	int64_t h = ms / 3600000;
	int m = (int)(ms / 60000 % 60), s = (int)(ms / 1000 % 60), f = (int)(ms % 1000);

	if (!sep)
		return buf_printf(b, "%02" PRId64 ":%02d:%02d", h, m, s);
	return buf_printf(b, "%02" PRId64 ":%02d:%02d%c%03d", h, m, s, sep, f);
}

static int order_cmp(const void *a, const void *b)
{
	const struct order *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

/* Segment indices by start time. Caller frees; NULL when out of memory (or no segments). */
static struct order *segments_in_order(const struct transcript *t)
{
	struct order *o;

	if (!t->nsegments || t->nsegments > SIZE_MAX / sizeof *o)
		return NULL;
	o = malloc(t->nsegments * sizeof *o);
	if (!o)
		return NULL;
	for (size_t i = 0; i < t->nsegments; i++)
		o[i] = (struct order){to_ms(t->segments[i].start), i};
	qsort(o, t->nsegments, sizeof *o, order_cmp);
	return o;
}

/* ---- segments into timed tokens ---- */

static int add_token(struct layout *L, struct token tk)
{
	if (grow((void **)&L->tok, &L->captok, L->ntok + 1, sizeof *L->tok) < 0)
		return -1;
	L->tok[L->ntok++] = tk;
	return 0;
}

/* The code point that ends s[0..len) starts at s + *at; 0 when len is 0. */
static size_t last_cp(const char *s, size_t len, size_t *at)
{
	size_t i = len;

	if (!len)
		return 0;
	while (i > 0 && (s[i - 1] & 0xc0) == 0x80)
		i--;
	if (i > 0)
		i--;
	*at = i;
	return len - i;
}

/* Does s[0..len) end with one of the strings in set (NULL-terminated)? Its length, or 0. */
static size_t ends_with_any(const char *s, size_t len, const char *const *set)
{
	size_t at, n = last_cp(s, len, &at);

	for (size_t i = 0; n && set[i]; i++)
		if (strlen(set[i]) == n && !memcmp(s + at, set[i], n))
			return n;
	return 0;
}

static int word_is(const char *s, size_t len, const char *const *set)
{
	for (size_t i = 0; set[i]; i++)
		if (strlen(set[i]) == len && !strncasecmp(s, set[i], len))
			return 1;
	return 0;
}

/* What a whitespace-separated word ends: a sentence, a clause, or nothing but itself. */
static enum brk classify(const char *s, size_t len)
{
	static const char *const closers[] = {"\"",	"'",	  ")",	    "]",
					      "}",	"\u201d", "\u2019", "\u00bb",
					      "\u300d", "\u300f", "\uff09", NULL};
	static const char *const sentence[] = {".",	 "?",	   "!",	     "\u2026",
					       "\u3002", "\uff1f", "\uff01", NULL};
	static const char *const clause[] = {
	    ",", ";", ":", "-", "\u2013", "\u2014", "\u3001", "\uff0c", "\uff1b", "\uff1a", NULL};
	/* A full stop after these is not the end of a sentence. */
	static const char *const abbrev[] = {"mr", "mrs", "ms",	 "dr",	"prof", "st",	  "jr",
					     "sr", "vs",  "e.g", "i.e", "cf",	"approx", NULL};
	/* Words that lean on the next one: rather not the last of a line or a cue. */
	static const char *const weak[] = {"a",	 "an",	 "the", "of",	 "to",	"and", "or", "but",
					   "my", "your", "our", "their", "his", "its", NULL};
	size_t n;

	while ((n = ends_with_any(s, len, closers)) != 0)
		len -= n;
	if (!len)
		return BRK_WORD;
	if (ends_with_any(s, len, sentence)) {
		const char *w = s;
		size_t wl = len - 1;
		while (wl && (*w == '"' || *w == '\'' || *w == '(')) {
			w++;
			wl--;
		}
		/* "Dr." and initials such as "J." lead on to a name. */
		if (s[len - 1] == '.' &&
		    (word_is(w, wl, abbrev) || (wl == 1 && *w >= 'A' && *w <= 'Z')))
			return BRK_WORD;
		return BRK_SENTENCE;
	}
	if (ends_with_any(s, len, clause))
		return BRK_CLAUSE;
	return word_is(s, len, weak) ? BRK_WEAK : BRK_WORD;
}

/*
 * Cut s into words at whitespace, and words longer than a line into pieces
 * of EXPORT_LINE_MAX code points. *nwords gets the number of words.
 */
/*
 * Append the words of s to the tokens, numbering them from *nwords on (which
 * grows by the words added).
 */
static int tokenize(struct layout *L, const char *s, size_t *nwords)
{
	size_t w = *nwords, pos = 0;

	for (size_t k = 0; k < L->ntok; k++)
		pos += L->tok[k].cps + 1;
	for (;;) {
		const char *b;
		size_t wcps = 0, woff = 0;
		enum brk brk;

		while (is_space(*s))
			s++;
		if (!*s)
			break;
		for (b = s; *s && !is_space(*s); s++)
			if ((*s & 0xc0) != 0x80)
				wcps++;
		brk = classify(b, (size_t)(s - b));
		while (b < s) {
			struct token tk = {
			    .s = b, .word = w, .woff = woff, .wcps = wcps, .pos = pos};
			/* A piece ends before the code point that would pass the line limit. */
			while (b < s && (tk.cps < EXPORT_LINE_MAX || (*b & 0xc0) == 0x80)) {
				if ((*b & 0xc0) != 0x80)
					tk.cps++;
				b++;
			}
			tk.len = (size_t)(b - tk.s);
			tk.brk = b < s ? BRK_INSIDE : brk;
			woff += tk.cps;
			pos += tk.cps + 1;
			if (add_token(L, tk) < 0)
				return -1;
		}
		w++;
	}
	*nwords = w;
	return 0;
}

/* Time at fraction num/den of [a, b]. */
static int64_t lerp(int64_t a, int64_t b, size_t num, size_t den)
{
	if (!den || b <= a)
		return a;
	return a + llround((double)(b - a) * (double)num / (double)den);
}

/*
 * Spread [start, end] over the tokens in proportion to code points (a space
 * counts as one, and its time goes to the token before it, so the cues of
 * one segment follow each other without gaps).
 */
static void time_by_chars(struct layout *L, int64_t start, int64_t end)
{
	size_t total = 0, pos = 0;

	for (size_t k = 0; k < L->ntok; k++)
		total += L->tok[k].cps + (k && !L->tok[k].woff ? 1 : 0);
	for (size_t k = 0; k < L->ntok; k++) {
		if (k && !L->tok[k].woff)
			pos++;
		L->tok[k].start = lerp(start, end, pos, total);
		if (k)
			L->tok[k - 1].end = L->tok[k].start;
		pos += L->tok[k].cps;
	}
	if (L->ntok)
		L->tok[L->ntok - 1].end = end;
}

/*
 * One engine word per text word: each token takes its word's time (pieces
 * share it out). The first nlabel words are a speaker's label: they take the
 * moment the first word starts.
 */
static void time_by_words(struct layout *L, const struct transcript_word *w, size_t nlabel)
{
	int64_t prev = 0;

	for (size_t k = 0; k < L->ntok; k++) {
		struct token *tk = &L->tok[k];
		size_t i = tk->word < nlabel ? 0 : tk->word - nlabel;
		int64_t ws = to_ms(w[i].start), we = tk->word < nlabel ? ws : to_ms(w[i].end);

		/* Engines are not always monotonic; cues must be. */
		if (ws < prev)
			ws = prev;
		if (we < ws)
			we = ws;
		tk->start = lerp(ws, we, tk->woff, tk->wcps);
		tk->end = lerp(ws, we, tk->woff + tk->cps, tk->wcps);
		if (tk->woff + tk->cps == tk->wcps)
			prev = ws;
	}
}

static void time_tokens(struct layout *L, const struct transcript *t,
			const struct transcript_segment *seg, size_t ntextwords, size_t nlabel)
{
	int64_t s = to_ms(seg->start), e = to_ms(seg->end);
	const struct transcript_word *w = NULL;
	size_t nw = seg->nwords;

	if (nw && seg->first_word < t->nwords && nw <= t->nwords - seg->first_word)
		w = &t->words[seg->first_word];
	if (w && nw == ntextwords) {
		time_by_words(L, w, nlabel);
		return;
	}
	if (w) {
		/* The engine's words do not match the text: keep only their span. */
		s = to_ms(w[0].start);
		e = to_ms(w[nw - 1].end);
	}
	time_by_chars(L, s, e < s ? s : e);
}

/* ---- tokens into cues ---- */

/* Code points of tokens a..b-1 on one line. */
static size_t width(const struct layout *L, size_t a, size_t b)
{
	return L->tok[b - 1].pos + L->tok[b - 1].cps - L->tok[a].pos;
}

static int whole_word(const struct token *tk)
{
	return tk->woff == 0 && tk->cps == tk->wcps;
}

/* A line of tokens a..b-1 in a cue of n tokens that holds one word alone. */
static double orphan_line(const struct layout *L, size_t a, size_t b, size_t n)
{
	return b - a == 1 && n >= 3 && whole_word(&L->tok[a]) ? ORPHAN_LINE : 0;
}

/*
 * The cheapest way to write tokens a..b-1 as one cue: one line if they fit,
 * else two, the second from *split. Its cost, or INFINITY if they do not
 * fit in two lines (then neither do a-1..b-1).
 */
static double lines_cost(const struct layout *L, size_t a, size_t b, size_t *split)
{
	double best = INFINITY;

	*split = b;
	if (width(L, a, b) <= EXPORT_LINE_MAX)
		return 0;
	for (size_t k = a + 1; k < b; k++) {
		size_t l1 = width(L, a, k), l2 = width(L, k, b);
		double c;
		if (l1 > EXPORT_LINE_MAX)
			break;
		if (l2 > EXPORT_LINE_MAX)
			continue;
		c = LINE_BREAK[L->tok[k - 1].brk] +
		    IMBALANCE * (double)(l1 > l2 ? l1 - l2 : l2 - l1) +
		    orphan_line(L, a, k, b - a) + orphan_line(L, k, b, b - a);
		if (c < best) {
			best = c;
			*split = k;
		}
	}
	return best;
}

/* Write tokens a..b-1 as the cue's text, the second line from split (b: one line). */
static int cue_text(struct layout *L, size_t a, size_t b, size_t split)
{
	for (size_t k = a; k < b; k++) {
		const char *sep = k == a ? "" : k == split ? "\n" : " ";
		if (buf_puts(&L->text, sep) < 0 ||
		    buf_append(&L->text, L->tok[k].s, L->tok[k].len) < 0)
			return -1;
	}
	return 0;
}

/*
 * Cut the current tokens into cues: the cheapest path over the places a cue
 * may end (a token at most 2 lines and MAX_CUE_MS after the cue's first;
 * one token alone always fits). Both limits only grow as a cue reaches
 * further back, so each end looks back at most 2 lines of tokens.
 */
static int pack_cues(struct layout *L)
{
	size_t n = L->ntok;
	struct step *st;

	if (grow((void **)&L->step, &L->capstep, n + 1, sizeof *L->step) < 0)
		return -1;
	st = L->step;
	st[0] = (struct step){0};
	for (size_t b = 1; b <= n; b++) {
		int64_t last = 0;
		st[b] = (struct step){.cost = INFINITY, .from = b - 1, .split = b};
		for (size_t a = b; a-- > 0;) {
			size_t split, w;
			double c;
			if (L->tok[a].end > last)
				last = L->tok[a].end;
			w = width(L, a, b);
			if (b - a > 1 &&
			    (w > 2 * EXPORT_LINE_MAX + 1 || last - L->tok[a].start > MAX_CUE_MS))
				break;
			c = lines_cost(L, a, b, &split);
			if (isinf(c))
				break;
			w = w < 2 * EXPORT_LINE_MAX ? 2 * EXPORT_LINE_MAX - w : 0;
			c += st[a].cost + CUE_COST + FILL_COST * (double)(w * w);
			if (b < n)
				c += CUE_BREAK[L->tok[b - 1].brk];
			if (b - a == 1 && n > 1 && whole_word(&L->tok[a]))
				c += ORPHAN_CUE;
			if (c < st[b].cost)
				st[b] = (struct step){.cost = c, .from = a, .split = split};
		}
	}
	/* Walk back from the end, marking where each cue on the path ends. */
	for (size_t b = n; b > 0; b = st[b].from)
		st[st[b].from].next = b;
	for (size_t a = 0, b; a < n; a = b) {
		struct cue c = {.start = L->tok[a].start, .end = L->tok[a].end, .off = L->text.len};
		b = st[a].next;
		for (size_t k = a; k < b; k++)
			if (L->tok[k].end > c.end)
				c.end = L->tok[k].end;
		/* One word spoken for longer than a cue may last: show it for the maximum. */
		if (c.end - c.start > MAX_CUE_MS)
			c.end = c.start + MAX_CUE_MS;
		if (cue_text(L, a, b, st[b].split) < 0)
			return -1;
		c.len = L->text.len - c.off;
		if (grow((void **)&L->cue, &L->capcue, L->ncue + 1, sizeof *L->cue) < 0)
			return -1;
		L->cue[L->ncue++] = c;
	}
	return 0;
}

/* In order, never overlapping, at least MIN_CUE_MS where the next cue leaves room. */
static void fix_times(struct layout *L)
{
	int64_t prev = 0;

	for (size_t i = 0; i < L->ncue; i++) {
		struct cue *c = &L->cue[i];
		if (c->start < prev)
			c->start = prev;
		if (c->end <= c->start)
			c->end = c->start + 1;
		prev = c->end;
	}
	for (size_t i = 0; i < L->ncue; i++) {
		struct cue *c = &L->cue[i], *next = i + 1 < L->ncue ? &L->cue[i + 1] : NULL;
		int64_t want = c->start + MIN_CUE_MS;

		if (c->end >= want)
			continue;
		/* Too short: take the gap, then what the next cue can spare of its own. */
		if (next && next->start < want) {
			int64_t spare = next->end - MIN_CUE_MS;
			int64_t to = want < spare ? want : spare;
			if (to > next->start)
				next->start = to;
			if (want > next->start)
				want = next->start;
		}
		if (want > c->end)
			c->end = want;
	}
}

static void speaker_name(const struct transcript *t, size_t k, char *out, size_t outlen);

static int layout_build(struct layout *L, const struct transcript *t)
{
	struct order *order = segments_in_order(t);
	char *text = NULL;
	size_t prev_speaker = 0;
	/* The label's tokens point into name until the segment's cues are packed. */
	char name[TRANSCRIPT_NAME_MAX * 4 + 16];

	if (t->nsegments && !order)
		goto fail;
	for (size_t n = 0; n < t->nsegments; n++) {
		const struct transcript_segment *seg = &t->segments[order[n].i];
		size_t nwords;

		size_t nlabel = 0, spk = seg->speaker <= t->nspeakers ? seg->speaker : 0;

		nwords = 0;
		L->ntok = 0;
		text = utf8_dup_valid(seg->text);
		if (!text)
			goto fail;
		/* The label counts in the line's width, so it is laid out as words that lean on the
		 * next. */
		if (L->labels && spk && spk != prev_speaker &&
		    strspn(text, " \t\r\n") < strlen(text)) {
			speaker_name(t, spk, name, sizeof name);
			strcat(name, ":");
			if (tokenize(L, name, &nwords) < 0)
				goto fail;
			nlabel = nwords;
			for (size_t k = 0; k < L->ntok; k++)
				if (L->tok[k].brk != BRK_INSIDE)
					L->tok[k].brk = BRK_WEAK;
		}
		if (tokenize(L, text, &nwords) < 0)
			goto fail;
		if (L->ntok > 0 && strspn(text, " \t\r\n") < strlen(text))
			prev_speaker = spk;
		if (L->ntok) {
			size_t before = L->ncue;
			time_tokens(L, t, seg, nwords - nlabel, nlabel);
			if (pack_cues(L) < 0)
				goto fail;
			for (size_t c = before; c < L->ncue; c++)
				L->cue[c].speaker = seg->speaker <= t->nspeakers ? seg->speaker : 0;
		}
		free(text);
		text = NULL;
	}
	fix_times(L);
	free(order);
	return 0;
fail:
	free(text);
	free(order);
	return -1;
}

static void layout_free(struct layout *L)
{
	free(L->tok);
	free(L->cue);
	free(L->step);
	buf_free(&L->text);
}

/* ---- the formats ---- */

/* WebVTT cue text: '&' and '<' start markup, "-->" would end the cue. */
static int put_vtt_text(struct buf *b, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		int rc;
		if (s[i] == '&')
			rc = buf_puts(b, "&amp;");
		else if (s[i] == '<')
			rc = buf_puts(b, "&lt;");
		else if (s[i] == '-' && i + 2 < len && s[i + 1] == '-' && s[i + 2] == '>') {
			rc = buf_puts(b, "--&gt;");
			i += 2;
		} else
			rc = buf_append(b, s + i, 1);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* The name shown for speaker k (1-based) of t, repaired to valid UTF-8 in out; "" for none. */
static void speaker_name(const struct transcript *t, size_t k, char *out, size_t outlen)
{
	char *fixed;

	transcript_speaker_display(t, k, out, outlen);
	fixed = utf8_dup_valid(out);
	if (fixed) {
		snprintf(out, outlen, "%s", fixed);
		free(fixed);
	} else
		out[0] = '\0';
	/* A name is one line. */
	for (char *p = out; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
}

/* A WebVTT voice span's annotation: no '>' (it would end the tag), entities for & < >. */
static int put_vtt_voice(struct buf *b, const char *name)
{
	if (buf_puts(b, "<v ") < 0)
		return -1;
	for (const char *p = name; *p; p++) {
		int rc = *p == '&'   ? buf_puts(b, "&amp;")
			 : *p == '<' ? buf_puts(b, "&lt;")
			 : *p == '>' ? buf_puts(b, "&gt;")
				     : buf_append(b, p, 1);
		if (rc < 0)
			return -1;
	}
	return buf_puts(b, ">");
}

static int render_cues(struct buf *out, const struct transcript *t, enum export_format f)
{
	struct layout L = {0};
	char sep = f == EXPORT_SRT ? ',' : '.';
	char name[TRANSCRIPT_NAME_MAX * 4 + 16];
	int rc;

	if (f == EXPORT_VTT && buf_puts(out, "WEBVTT\n\n") < 0)
		goto fail;
	L.labels = f == EXPORT_SRT;
	if (layout_build(&L, t) < 0)
		goto fail;
	for (size_t i = 0; i < L.ncue; i++) {
		const struct cue *c = &L.cue[i];
		const char *text = L.text.data + c->off;

		if (i && buf_puts(out, "\n") < 0)
			goto fail;
		if (f == EXPORT_SRT && buf_printf(out, "%zu\n", i + 1) < 0)
			goto fail;
		if (put_time(out, c->start, sep) < 0 || buf_puts(out, " --> ") < 0 ||
		    put_time(out, c->end, sep) < 0 || buf_puts(out, "\n") < 0)
			goto fail;
		/*
		 * Who speaks: a voice span on every WebVTT cue (players style and
		 * filter by it); SRT has "Name:" in its text (layout_build).
		 */
		speaker_name(t, c->speaker, name, sizeof name);
		if (name[0] && f == EXPORT_VTT && put_vtt_voice(out, name) < 0)
			goto fail;
		rc = f == EXPORT_SRT ? buf_append(out, text, c->len)
				     : put_vtt_text(out, text, c->len);
		if (rc < 0)
			goto fail;
		if (buf_puts(out, "\n") < 0)
			goto fail;
	}
	layout_free(&L);
	return 0;
fail:
	layout_free(&L);
	return -1;
}

/* Title, then "[HH:MM:SS] text" per segment, paragraphs apart. */
static int render_txt(struct buf *out, const struct transcript *t, const char *title)
{
	struct order *order = segments_in_order(t);
	char *text = NULL, name[TRANSCRIPT_NAME_MAX * 4 + 16];
	size_t n;

	if (t->nsegments && !order)
		goto fail;
	if (title) {
		text = utf8_dup_valid(title);
		if (!text || put_words(out, text, &n) < 0)
			goto fail;
		free(text);
		text = NULL;
	}
	for (size_t k = 0; k < t->nsegments; k++) {
		const struct transcript_segment *seg = &t->segments[order[k].i];
		size_t mark = out->len;

		speaker_name(t, seg->speaker, name, sizeof name);
		text = utf8_dup_valid(seg->text);
		if (!text || (out->len && buf_puts(out, "\n\n") < 0) || buf_puts(out, "[") < 0 ||
		    put_time(out, to_ms(seg->start), 0) < 0 || buf_puts(out, "] ") < 0 ||
		    (name[0] && buf_printf(out, "%s: ", name) < 0) || put_words(out, text, &n) < 0)
			goto fail;
		if (!n) {
			/* Empty segment: take back its time stamp. */
			out->len = mark;
			out->data[mark] = '\0';
		}
		free(text);
		text = NULL;
	}
	if (out->len && buf_puts(out, "\n") < 0)
		goto fail;
	free(order);
	return 0;
fail:
	free(text);
	free(order);
	return -1;
}

/*
 * json_dump_callback straight into out. The flag is ours because jansson
 * 2.14 ignores a failed write of an object key and carries on, which would
 * give a broken document instead of an error.
 */
struct dump_ctx {
	struct buf *out;
	int failed;
};

static int dump_cb(const char *buffer, size_t size, void *data)
{
	struct dump_ctx *ctx = data;

	if (buf_append(ctx->out, buffer, size) < 0) {
		ctx->failed = 1;
		return -1;
	}
	return 0;
}

static int render_json(struct buf *out, const struct transcript *t, const char *title)
{
	json_t *body = transcript_to_json(t), *doc = NULL;
	struct dump_ctx ctx = {.out = out};
	char *fixed = NULL;
	size_t flags;
	int rc = -1;

	if (!body)
		goto done;
	if (title) {
		/* "title" first: it is what a person reads first. */
		fixed = utf8_dup_valid(title);
		doc = json_object();
		if (!fixed || !doc || json_object_set_new(doc, "title", json_string(fixed)) < 0 ||
		    json_object_update(doc, body) < 0)
			goto done;
	} else {
		doc = json_incref(body);
	}
	/* 15 digits print millisecond times as written ("12.345", not "12.345000000000001"). */
	flags = JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15);
	if (json_dump_callback(doc, dump_cb, &ctx, flags) < 0 || ctx.failed ||
	    buf_puts(out, "\n") < 0)
		goto done;
	rc = 0;
done:
	free(fixed);
	json_decref(doc);
	json_decref(body);
	return rc;
}

/* ---- public ---- */

enum export_format export_parse(const char *name)
{
	static const char *const names[] = {"txt", "srt", "vtt", "json", "docx", "pdf"};

	if (!name)
		return 0;
	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		if (!strcasecmp(name, names[i]))
			return (enum export_format)(EXPORT_TXT + (int)i);
	return 0;
}

const char *export_mime(enum export_format f)
{
	switch (f) {
	case EXPORT_TXT:
		return "text/plain; charset=utf-8";
	case EXPORT_SRT:
		return "application/x-subrip; charset=utf-8";
	case EXPORT_VTT:
		return "text/vtt; charset=utf-8";
	case EXPORT_JSON:
		return "application/json";
	case EXPORT_DOCX:
		return "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
	case EXPORT_PDF:
		return "application/pdf";
	}
	return NULL;
}

const char *export_extension(enum export_format f)
{
	switch (f) {
	case EXPORT_TXT:
		return "txt";
	case EXPORT_SRT:
		return "srt";
	case EXPORT_VTT:
		return "vtt";
	case EXPORT_JSON:
		return "json";
	case EXPORT_DOCX:
		return "docx";
	case EXPORT_PDF:
		return "pdf";
	}
	return NULL;
}

char *export_render(const struct transcript *t, enum export_format f, const char *title,
		    size_t *len)
{
	static const struct transcript empty;
	struct buf out = {0};
	int rc;
	size_t n;
	char *s;

	if (len)
		*len = 0;
	if (!t)
		t = &empty;
	switch (f) {
	case EXPORT_TXT:
		rc = render_txt(&out, t, title);
		break;
	case EXPORT_SRT:
	case EXPORT_VTT:
		rc = render_cues(&out, t, f);
		break;
	case EXPORT_JSON:
		rc = render_json(&out, t, title);
		break;
	case EXPORT_DOCX:
	case EXPORT_PDF: {
		struct export_doc doc = {.title = title};
		return export_render_doc(t, f, &doc, len);
	}
	default:
		rc = -1;
	}
	if (rc < 0)
		goto fail;
	n = out.len;
	s = buf_steal(&out); /* NULL only if nothing was written and strdup("") failed */
	if (s && len)
		*len = n;
	return s;
fail:
	buf_free(&out);
	return NULL;
}

/* ---- documents (docx.c, pdf.c) ---- */

char *export_render_doc(const struct transcript *t, enum export_format f,
			const struct export_doc *doc, size_t *len)
{
	static const struct transcript empty;
	static const struct export_doc none;

	if (len)
		*len = 0;
	if (!t)
		t = &empty;
	if (!doc)
		doc = &none;
	if (f == EXPORT_DOCX)
		return export_render_docx(t, doc, len);
	if (f == EXPORT_PDF)
		return export_render_pdf(t, doc, len);
	return NULL;
}

void export_clock(double seconds, char out[16])
{
	int64_t ms = to_ms(seconds), h = ms / 3600000;
	snprintf(out, 16, "%02d:%02d:%02d", (int)(h > 99999 ? 99999 : h), (int)(ms / 60000 % 60),
		 (int)(ms / 1000 % 60));
}

void export_date(long long ms, char out[40])
{
	static const char *const MONTHS[] = {"January",	  "February", "March",	  "April",
					     "May",	  "June",     "July",	  "August",
					     "September", "October",  "November", "December"};
	time_t s = (time_t)(ms / 1000);
	struct tm tm;

	out[0] = '\0';
	if (ms <= 0 || !gmtime_r(&s, &tm))
		return;
	snprintf(out, 40, "%d %s %d", tm.tm_mday, MONTHS[tm.tm_mon], tm.tm_year + 1900);
}

size_t *export_segment_order(const struct transcript *t)
{
	struct order *o = segments_in_order(t);
	size_t *idx;

	if (!o)
		return NULL;
	idx = malloc(t->nsegments * sizeof *idx);
	if (idx)
		for (size_t i = 0; i < t->nsegments; i++)
			idx[i] = o[i].i;
	free(o);
	return idx;
}

void export_speaker_name(const struct transcript *t, size_t k, char *out, size_t outlen)
{
	speaker_name(t, k, out, outlen);
}
