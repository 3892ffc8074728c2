/*
 * Unit tests for export/: exact TXT, SRT, WebVTT and JSON for small
 * fixtures; the cue rules (lines, cue length, order, minimum length) for
 * long segments with and without word times, multi-byte text, hours past
 * 1 and 100, overlapping segments, VTT escaping; random transcripts; every
 * allocation failure; and FFmpeg reading what we write.
 *
 * Every SRT and VTT output goes through validate(), a line-by-line state
 * machine written from the SRT and WebVTT cue syntax, which also checks our
 * own rules (EXPORT_LINE_MAX code points, 2 lines, EXPORT_CUE_MAX_S, cues in
 * order and not overlapping).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "export/export.h"

/* Allocation failure injection: fail_at(), fail_off(), g_failed. */
#include "support.h"

/* ---- a validator for what we write ---- */

struct vcue {
	int64_t start, end; /* ms */
	int nlines;
	char *text; /* lines joined by '\n', VTT entities decoded; owned */
};

struct vdoc {
	struct vcue *cue;
	size_t n;
};

static void vdoc_free(struct vdoc *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->cue[i].text);
	free(d->cue);
	memset(d, 0, sizeof *d);
}

/* Code points in s[0..len), or -1 if it is not valid UTF-8 (written apart from the code under
 * test). */
static long utf8_count(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	long n = 0;

	while (p < end) {
		uint32_t cp;
		int more;
		if (*p < 0x80) {
			cp = *p;
			more = 0;
		} else if ((*p & 0xe0) == 0xc0) {
			cp = *p & 0x1f;
			more = 1;
		} else if ((*p & 0xf0) == 0xe0) {
			cp = *p & 0x0f;
			more = 2;
		} else if ((*p & 0xf8) == 0xf0) {
			cp = *p & 0x07;
			more = 3;
		} else {
			return -1;
		}
		if (end - p <= more)
			return -1;
		for (int k = 1; k <= more; k++) {
			if ((p[k] & 0xc0) != 0x80)
				return -1;
			cp = cp << 6 | (p[k] & 0x3f);
		}
		if ((more == 1 && cp < 0x80) || (more == 2 && cp < 0x800) ||
		    (more == 3 && cp < 0x10000) || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return -1;
		p += more + 1;
		n++;
	}
	return n;
}

/* n decimal digits at *p (n = 0: one or more) into *v; advances *p. 0 or -1. */
static int digits(const char **p, int n, int64_t *v)
{
	int k = 0;

	*v = 0;
	while ((**p >= '0' && **p <= '9') && (n == 0 || k < n)) {
		if (*v > INT64_MAX / 100)
			return -1;
		*v = *v * 10 + (**p - '0');
		(*p)++;
		k++;
	}
	return k == 0 || (n && k != n) ? -1 : 0;
}

/*
 * A timestamp: SRT "H+:MM:SS,mmm" (hours at least 2 digits); WebVTT
 * "H+:MM:SS.mmm" or "MM:SS.mmm". Milliseconds, or -1.
 */
static int64_t timestamp(const char **p, int vtt)
{
	const char *start = *p;
	int64_t a, b, c, f, h = 0, m, s;

	if (digits(p, 0, &a) < 0 || *(*p)++ != ':' || digits(p, 2, &b) < 0)
		return -1;
	if (**p == ':') {
		(*p)++;
		if (*p - start < 6 || digits(p, 2, &c) < 0) /* hours took at least 2 digits */
			return -1;
		h = a;
		m = b;
		s = c;
	} else {
		if (!vtt || *p - start != 5)
			return -1;
		m = a;
		s = b;
	}
	if (*(*p)++ != (vtt ? '.' : ',') || digits(p, 3, &f) < 0 || m > 59 || s > 59)
		return -1;
	return ((h * 60 + m) * 60 + s) * 1000 + f;
}

/* Decode the entities WebVTT text may carry; NULL if a '&' starts none of ours or a '<' is raw. */
static char *vtt_unescape(const char *s, size_t len)
{
	static const struct {
		const char *ent, *ch;
	} ents[] = {{"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}};
	char *out = malloc(len + 1), *o = out;

	for (size_t i = 0; i < len;) {
		size_t k = 0;
		if (s[i] == '<')
			goto bad;
		if (s[i] != '&') {
			*o++ = s[i++];
			continue;
		}
		while (k < 3 && strncmp(s + i, ents[k].ent, strlen(ents[k].ent)))
			k++;
		if (k == 3)
			goto bad;
		*o++ = *ents[k].ch;
		i += strlen(ents[k].ent);
	}
	*o = '\0';
	return out;
bad:
	free(out);
	return NULL;
}

#define VFAIL(...)                                                                                 \
	do {                                                                                       \
		print_error("line %d: ", lineno);                                                  \
		fail_msg(__VA_ARGS__);                                                             \
	} while (0)

/*
 * Parse doc as SRT (vtt = 0) or WebVTT (vtt = 1) following the cue syntax,
 * line by line; fails the test on the first error. Fills *out (vdoc_free).
 */
static void validate(const char *doc, size_t len, int vtt, struct vdoc *out)
{
	enum { S_HEADER, S_HEADER_BLANK, S_CUE, S_TIMING, S_TEXT1, S_TEXT } st;
	const char *p = doc, *end = doc + len;
	int64_t prev_end = 0;
	struct vcue cur = {0};
	char text[8192];
	size_t tlen = 0;
	int lineno = 0;

	memset(out, 0, sizeof *out);
	if (strlen(doc) != len)
		VFAIL("NUL byte or wrong length");
	if (utf8_count(doc, len) < 0)
		VFAIL("not UTF-8");
	if (len && doc[len - 1] != '\n')
		VFAIL("no final line end");
	st = vtt ? S_HEADER : S_CUE;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *q = p;
		size_t ll = (size_t)(nl - p);
		lineno++;
		if (memchr(p, '\r', ll))
			VFAIL("carriage return");
		switch (st) {
		case S_HEADER:
			if (ll != 6 || memcmp(p, "WEBVTT", 6))
				VFAIL("want WEBVTT, got '%.*s'", (int)ll, p);
			st = S_HEADER_BLANK;
			break;
		case S_HEADER_BLANK:
			if (ll)
				VFAIL("blank line after the header");
			st = S_CUE;
			break;
		case S_CUE:
			if (!ll)
				VFAIL("blank line where a cue starts");
			if (!vtt) {
				int64_t idx;
				if (digits(&q, 0, &idx) < 0 || q != nl ||
				    idx != (int64_t)out->n + 1)
					VFAIL("cue number %zu wanted, got '%.*s'", out->n + 1,
					      (int)ll, p);
				st = S_TIMING;
				break;
			}
			if (!memmem(p, ll, "-->", 3)) {
				st = S_TIMING; /* a cue identifier */
				break;
			}
			/* A VTT cue may start with its timing line. */
			/* fall through */
		case S_TIMING:
			cur.start = timestamp(&q, vtt);
			if (cur.start < 0 || strncmp(q, " --> ", 5))
				VFAIL("bad timing '%.*s'", (int)ll, p);
			q += 5;
			cur.end = timestamp(&q, vtt);
			if (cur.end < 0 || q != nl)
				VFAIL("bad timing '%.*s'", (int)ll, p);
			if (cur.end <= cur.start)
				VFAIL("cue ends before it starts");
			if (cur.end - cur.start > (int64_t)(EXPORT_CUE_MAX_S * 1000))
				VFAIL("cue of %" PRId64 " ms", cur.end - cur.start);
			if (cur.start < prev_end)
				VFAIL("cue overlaps the one before");
			prev_end = cur.end;
			cur.nlines = 0;
			tlen = 0;
			st = S_TEXT1;
			break;
		case S_TEXT1:
		case S_TEXT:
			if (!ll) {
				if (st == S_TEXT1)
					VFAIL("cue without text");
				st = S_CUE;
				break;
			}
			{
				char *line = vtt ? vtt_unescape(p, ll) : strndup(p, ll);
				long cps;
				if (!line)
					VFAIL("bad WebVTT text '%.*s'", (int)ll, p);
				if (vtt && memmem(p, ll, "-->", 3))
					VFAIL("'-->' in VTT text");
				cps = utf8_count(line, strlen(line));
				if (cps > EXPORT_LINE_MAX)
					VFAIL("line of %ld code points: '%s'", cps, line);
				if (line[0] == ' ' || line[strlen(line) - 1] == ' ')
					VFAIL("line with outer spaces: '%s'", line);
				if (++cur.nlines > 2)
					VFAIL("more than 2 lines in a cue");
				tlen += (size_t)snprintf(text + tlen, sizeof text - tlen, "%s%s",
							 tlen ? "\n" : "", line);
				free(line);
			}
			/* The cue is recorded at its first line and its text updated after. */
			cur.text = strndup(text, tlen);
			if (st == S_TEXT1) {
				out->cue = realloc(out->cue, (out->n + 1) * sizeof *out->cue);
				out->n++;
			} else {
				free(out->cue[out->n - 1].text);
			}
			out->cue[out->n - 1] = cur;
			st = S_TEXT;
			break;
		}
		p = nl + 1;
	}
	/* After a cue's text, or with no cue at all (SRT: an empty file; VTT: the header). */
	if (st != S_TEXT && !(st == S_CUE && out->n == 0))
		VFAIL("document ends in the middle of a cue (state %d)", (int)st);
}

/* ---- helpers ---- */

static char *render(const struct transcript *t, enum export_format f, const char *title)
{
	size_t len = 12345;
	char *s = export_render(t, f, title, &len);

	assert_non_null(s);
	assert_int_equal(len, strlen(s));
	return s;
}

static void expect(const struct transcript *t, enum export_format f, const char *title,
		   const char *want)
{
	char *got = render(t, f, title);

	if (strcmp(got, want)) {
		print_error("want:\n%s\ngot:\n%s\n", want, got);
		fail_msg("%s output differs", export_extension(f));
	}
	free(got);
}

/* Render t as SRT and VTT, validate both, check they carry the same cues; SRT's in *out. */
static void cues_of(const struct transcript *t, struct vdoc *out)
{
	struct vdoc v;
	char *srt = render(t, EXPORT_SRT, NULL), *vtt = render(t, EXPORT_VTT, NULL);

	validate(srt, strlen(srt), 0, out);
	validate(vtt, strlen(vtt), 1, &v);
	assert_int_equal(out->n, v.n);
	for (size_t i = 0; i < v.n; i++) {
		assert_int_equal(out->cue[i].start, v.cue[i].start);
		assert_int_equal(out->cue[i].end, v.cue[i].end);
		assert_string_equal(out->cue[i].text, v.cue[i].text);
	}
	vdoc_free(&v);
	free(srt);
	free(vtt);
}

/* All cue texts, lines and cues joined by single spaces. Caller frees. */
static char *cue_words(const struct vdoc *d)
{
	size_t n = 1;
	char *s, *o;

	for (size_t i = 0; i < d->n; i++)
		n += strlen(d->cue[i].text) + 1;
	o = s = malloc(n);
	for (size_t i = 0; i < d->n; i++) {
		o += sprintf(o, "%s%s", i ? " " : "", d->cue[i].text);
	}
	*o = '\0';
	for (o = s; *o; o++)
		if (*o == '\n')
			*o = ' ';
	return s;
}

/* Two segments, words on the first; markup-like text; an empty segment; one past an hour. */
static void fixture(struct transcript *t)
{
	memset(t, 0, sizeof *t);
	strcpy(t->language, "en");
	t->duration = 3725;
	assert_int_equal(transcript_add_segment(t, 0, 2.5, 0.9, "Hello world."), 0);
	assert_int_equal(transcript_add_word(t, 0, 0.5, 0.8, "Hello"), 0);
	assert_int_equal(transcript_add_word(t, 0.6, 2.5, 1, "world."), 0);
	assert_int_equal(transcript_add_segment(t, 3, 5.25, 0.5, "Fish & chips <b> a --> b"), 0);
	assert_int_equal(transcript_add_segment(t, 5.5, 6, 0.5, " \n "), 0);
	assert_int_equal(transcript_add_segment(t, 3723.4567, 3725, 0.5, "Late"), 0);
}

/* ---- tests ---- */

static void test_names(void **state)
{
	assert_int_equal(export_parse("txt"), EXPORT_TXT);
	assert_int_equal(export_parse("srt"), EXPORT_SRT);
	assert_int_equal(export_parse("VTT"), EXPORT_VTT);
	assert_int_equal(export_parse("json"), EXPORT_JSON);
	assert_int_equal(export_parse("pdf"), EXPORT_PDF);
	assert_int_equal(export_parse("rtf"), 0);
	assert_int_equal(export_parse("srt "), 0);
	assert_int_equal(export_parse(""), 0);
	assert_int_equal(export_parse(NULL), 0);
	assert_string_equal(export_mime(EXPORT_TXT), "text/plain; charset=utf-8");
	assert_string_equal(export_mime(EXPORT_SRT), "application/x-subrip; charset=utf-8");
	assert_string_equal(export_mime(EXPORT_VTT), "text/vtt; charset=utf-8");
	assert_string_equal(export_mime(EXPORT_JSON), "application/json");
	assert_null(export_mime(0));
	assert_string_equal(export_extension(EXPORT_TXT), "txt");
	assert_string_equal(export_extension(EXPORT_SRT), "srt");
	assert_string_equal(export_extension(EXPORT_VTT), "vtt");
	assert_string_equal(export_extension(EXPORT_JSON), "json");
	assert_null(export_extension((enum export_format)99));
	size_t len = 7;
	assert_null(export_render(NULL, (enum export_format)99, NULL, &len));
	assert_int_equal(len, 0);
}

static void test_small_exact(void **state)
{
	struct transcript t;

	fixture(&t);
	expect(&t, EXPORT_TXT, "Meeting\n notes ",
	       "Meeting notes\n"
	       "\n"
	       "[00:00:00] Hello world.\n"
	       "\n"
	       "[00:00:03] Fish & chips <b> a --> b\n"
	       "\n"
	       "[01:02:03] Late\n");
	expect(&t, EXPORT_TXT, NULL,
	       "[00:00:00] Hello world.\n"
	       "\n"
	       "[00:00:03] Fish & chips <b> a --> b\n"
	       "\n"
	       "[01:02:03] Late\n");
	expect(&t, EXPORT_SRT, "ignored",
	       "1\n"
	       "00:00:00,000 --> 00:00:02,500\n"
	       "Hello world.\n"
	       "\n"
	       "2\n"
	       "00:00:03,000 --> 00:00:05,250\n"
	       "Fish & chips <b> a --> b\n"
	       "\n"
	       "3\n"
	       "01:02:03,457 --> 01:02:05,000\n"
	       "Late\n");
	expect(&t, EXPORT_VTT, NULL,
	       "WEBVTT\n"
	       "\n"
	       "00:00:00.000 --> 00:00:02.500\n"
	       "Hello world.\n"
	       "\n"
	       "00:00:03.000 --> 00:00:05.250\n"
	       "Fish &amp; chips &lt;b> a --&gt; b\n"
	       "\n"
	       "01:02:03.457 --> 01:02:05.000\n"
	       "Late\n");
	expect(&t, EXPORT_JSON, "Meeting",
	       "{\n"
	       "  \"title\": \"Meeting\",\n"
	       "  \"language\": \"en\",\n"
	       "  \"duration\": 3725.0,\n"
	       "  \"text\": \"Hello world. Fish & chips <b> a --> b Late\",\n"
	       "  \"speakers\": [],\n"
	       "  \"segments\": [\n"
	       "    {\n"
	       "      \"id\": 0,\n"
	       "      \"start\": 0.0,\n"
	       "      \"end\": 2.5,\n"
	       "      \"text\": \"Hello world.\",\n"
	       "      \"confidence\": 0.9,\n"
	       "      \"speaker\": null,\n"
	       "      \"edited\": false,\n"
	       "      \"words\": [\n"
	       "        {\n"
	       "          \"word\": \"Hello\",\n"
	       "          \"start\": 0.0,\n"
	       "          \"end\": 0.5,\n"
	       "          \"confidence\": 0.8,\n"
	       "          \"speaker\": null\n"
	       "        },\n"
	       "        {\n"
	       "          \"word\": \"world.\",\n"
	       "          \"start\": 0.6,\n"
	       "          \"end\": 2.5,\n"
	       "          \"confidence\": 1.0,\n"
	       "          \"speaker\": null\n"
	       "        }\n"
	       "      ]\n"
	       "    },\n"
	       "    {\n"
	       "      \"id\": 1,\n"
	       "      \"start\": 3.0,\n"
	       "      \"end\": 5.25,\n"
	       "      \"text\": \"Fish & chips <b> a --> b\",\n"
	       "      \"confidence\": 0.5,\n"
	       "      \"speaker\": null,\n"
	       "      \"edited\": false,\n"
	       "      \"words\": []\n"
	       "    },\n"
	       "    {\n"
	       "      \"id\": 2,\n"
	       "      \"start\": 5.5,\n"
	       "      \"end\": 6.0,\n"
	       "      \"text\": \" \\n \",\n"
	       "      \"confidence\": 0.5,\n"
	       "      \"speaker\": null,\n"
	       "      \"edited\": false,\n"
	       "      \"words\": []\n"
	       "    },\n"
	       "    {\n"
	       "      \"id\": 3,\n"
	       "      \"start\": 3723.457,\n"
	       "      \"end\": 3725.0,\n"
	       "      \"text\": \"Late\",\n"
	       "      \"confidence\": 0.5,\n"
	       "      \"speaker\": null,\n"
	       "      \"edited\": false,\n"
	       "      \"words\": []\n"
	       "    }\n"
	       "  ]\n"
	       "}\n");

	/* JSON without a title is transcript_to_json exactly, and reads back. */
	char *s = render(&t, EXPORT_JSON, NULL);
	json_t *j = json_loads(s, 0, NULL), *want = transcript_to_json(&t);
	struct transcript back;
	assert_true(json_equal(j, want));
	assert_int_equal(transcript_from_json(j, &back), 0);
	assert_int_equal(back.nsegments, 4);
	transcript_free(&back);
	json_decref(j);
	json_decref(want);
	free(s);
	transcript_free(&t);
}

static void test_empty(void **state)
{
	struct transcript t = {0};

	expect(&t, EXPORT_TXT, NULL, "");
	expect(&t, EXPORT_TXT, "Title", "Title\n");
	expect(&t, EXPORT_TXT, " ", "");
	expect(&t, EXPORT_SRT, NULL, "");
	expect(&t, EXPORT_VTT, NULL, "WEBVTT\n\n");
	expect(&t, EXPORT_JSON, NULL,
	       "{\n  \"language\": \"\",\n  \"duration\": 0.0,\n  \"text\": \"\",\n"
	       "  \"speakers\": [],\n  \"segments\": []\n}\n");
	expect(NULL, EXPORT_VTT, NULL, "WEBVTT\n\n");

	/* Only empty segments: the same. */
	assert_int_equal(transcript_add_segment(&t, 0, 1, 1, ""), 0);
	assert_int_equal(transcript_add_segment(&t, 1, 2, 1, " \t\n"), 0);
	assert_int_equal(transcript_add_word(&t, 1, 2, 1, "ghost"), 0);
	expect(&t, EXPORT_TXT, "Title", "Title\n");
	expect(&t, EXPORT_SRT, NULL, "");
	expect(&t, EXPORT_VTT, NULL, "WEBVTT\n\n");
	struct vdoc d;
	validate("", 0, 0, &d);
	validate("WEBVTT\n\n", 8, 1, &d);
	transcript_free(&t);
}

static const char LONG_TEXT[] =
    "This is a rather long segment without any word times, so the exporter has to "
    "split it by characters into several cues of at most seven seconds each, with "
    "lines of forty-two characters at most and two lines per cue. It goes on for a "
    "while longer, just to be sure that more than a handful of cues come out of it.";

static void test_long_without_words(void **state)
{
	struct transcript t = {0};
	struct vdoc d;
	char *words;

	assert_int_equal(transcript_add_segment(&t, 10, 40, 1, LONG_TEXT), 0);
	cues_of(&t, &d);
	assert_true(d.n >= 5);
	/* The whole segment is covered, without gaps, in proportion to the text. */
	assert_int_equal(d.cue[0].start, 10000);
	assert_int_equal(d.cue[d.n - 1].end, 40000);
	for (size_t i = 1; i < d.n; i++)
		assert_int_equal(d.cue[i].start, d.cue[i - 1].end);
	words = cue_words(&d);
	assert_string_equal(words, LONG_TEXT);
	free(words);
	vdoc_free(&d);

	/* Fast speech: the lines fill up before the time does. */
	t.segments[0].end = 12;
	cues_of(&t, &d);
	for (size_t i = 0; i + 1 < d.n; i++)
		assert_int_equal(d.cue[i].nlines, 2);
	words = cue_words(&d);
	assert_string_equal(words, LONG_TEXT);
	free(words);
	vdoc_free(&d);
	transcript_free(&t);
}

static void test_long_with_words(void **state)
{
	struct transcript t = {0};
	struct vdoc d;
	char *words;
	double w_start[200], w_end[200];
	int n = 0;

	/* Words of varied length; a pause now and then; slow and fast parts. */
	double at = 100;
	for (const char *p = LONG_TEXT; *p; n++) {
		size_t len = strcspn(p, " ");
		double dur = 0.1 + 0.04 * (double)len + (n > 40 ? 0.4 : 0);
		w_start[n] = at;
		w_end[n] = at + dur;
		at += dur + (n % 9 == 8 ? 1.3 : 0.08);
		p += len + (p[len] == ' ');
	}
	assert_int_equal(transcript_add_segment(&t, 100, at, 0.9, LONG_TEXT), 0);
	n = 0;
	for (const char *p = LONG_TEXT; *p; n++) {
		size_t len = strcspn(p, " ");
		char w[64];
		snprintf(w, sizeof w, "%.*s", (int)len, p);
		assert_int_equal(transcript_add_word(&t, w_start[n], w_end[n], 0.9, w), 0);
		p += len + (p[len] == ' ');
	}
	cues_of(&t, &d);
	assert_true(d.n >= 6);
	/* Each cue runs from its first word's start to its last word's end. */
	int k = 0;
	for (size_t i = 0; i < d.n; i++) {
		int nw = 1;
		for (const char *c = d.cue[i].text; *c; c++)
			nw += *c == ' ' || *c == '\n';
		assert_int_equal(d.cue[i].start, llround(w_start[k] * 1000));
		assert_int_equal(d.cue[i].end, llround(w_end[k + nw - 1] * 1000));
		k += nw;
	}
	assert_int_equal(k, n);
	words = cue_words(&d);
	assert_string_equal(words, LONG_TEXT);
	free(words);
	vdoc_free(&d);

	/* Words that do not match the text: their span, shared out by characters. */
	assert_int_equal(transcript_add_word(&t, at, at + 0.5, 0.9, "extra"), 0);
	t.segments[0].end = at + 10; /* the words end earlier than the segment */
	cues_of(&t, &d);
	assert_int_equal(d.cue[0].start, 100000);
	assert_int_equal(d.cue[d.n - 1].end, llround((at + 0.5) * 1000));
	vdoc_free(&d);
	transcript_free(&t);
}

static void test_utf8_counted_as_characters(void **state)
{
	struct transcript t = {0};
	struct vdoc d;
	char text[2048] = "";

	/* 20 x "café": 8 words make a 39-character line of 47 bytes. Two cues, shared out. */
	for (int i = 0; i < 20; i++)
		strcat(text, i ? " café" : "café");
	assert_int_equal(transcript_add_segment(&t, 0, 5, 1, text), 0);
	expect(&t, EXPORT_SRT, NULL,
	       "1\n"
	       "00:00:00,000 --> 00:00:03,030\n"
	       "café café café café café café\n"
	       "café café café café café café\n"
	       "\n"
	       "2\n"
	       "00:00:03,030 --> 00:00:05,000\n"
	       "café café café café café café café café\n");
	transcript_free(&t);

	/* 日本語: 10 per line (39 code points, 99 bytes). Emoji: 21 per line. */
	text[0] = '\0';
	for (int i = 0; i < 20; i++)
		strcat(text, i ? " 日本語" : "日本語");
	assert_int_equal(transcript_add_segment(&t, 0, 5, 1, text), 0);
	text[0] = '\0';
	for (int i = 0; i < 42; i++)
		strcat(text, i ? " 😀" : "😀");
	assert_int_equal(transcript_add_segment(&t, 5, 10, 1, text), 0);
	cues_of(&t, &d);
	assert_int_equal(d.n, 2);
	assert_string_equal(
	    d.cue[0].text, "日本語 日本語 日本語 日本語 日本語 日本語 日本語 日本語 日本語 日本語\n"
			   "日本語 日本語 日本語 日本語 日本語 日本語 日本語 日本語 日本語 日本語");
	assert_string_equal(d.cue[1].text, "😀 😀 😀 😀 😀 😀 😀 😀 😀 😀 😀 😀 😀 😀 😀 😀 😀 😀 😀 😀 😀\n"
					   "😀 😀 😀 😀 😀 😀 😀 😀 😀 😀 😀 😀 😀 😀 😀 😀 😀 😀 😀 😀 😀");
	vdoc_free(&d);
	transcript_free(&t);

	/* No spaces at all: hard split at 42 code points, never inside a character. */
	text[0] = '\0';
	for (int i = 0; i < 100; i++)
		strcat(text, "語");
	assert_int_equal(transcript_add_segment(&t, 0, 6, 1, text), 0);
	cues_of(&t, &d);
	assert_int_equal(d.n, 2);
	assert_int_equal(d.cue[0].nlines, 2);
	assert_int_equal(d.cue[0].end, 5040); /* 84 of 100 characters */
	assert_int_equal(utf8_count(d.cue[1].text, strlen(d.cue[1].text)), 16);
	vdoc_free(&d);
	transcript_free(&t);

	/*
	 * A word of exactly 42 fits a line; 43 does not; a long word starts its
	 * own line, and its pieces stay in one cue rather than "b" joining them.
	 */
	char w42[43], w43[44];
	memset(w42, 'x', 42);
	w42[42] = '\0';
	memset(w43, 'y', 43);
	w43[43] = '\0';
	snprintf(text, sizeof text, "a %s b %s c", w42, w43);
	assert_int_equal(transcript_add_segment(&t, 0, 3, 1, text), 0);
	cues_of(&t, &d);
	assert_int_equal(d.n, 3);
	assert_true(!strncmp(d.cue[0].text, "a\n", 2) && !strcmp(d.cue[0].text + 2, w42));
	assert_string_equal(d.cue[1].text, "b");
	assert_true(!strncmp(d.cue[2].text, w43, 42) && !strcmp(d.cue[2].text + 42, "\ny c"));
	vdoc_free(&d);
	transcript_free(&t);

	/* Hard-split emoji and accented letters stay whole characters. */
	text[0] = '\0';
	for (int i = 0; i < 50; i++)
		strcat(text, i % 2 ? "😀" : "é");
	assert_int_equal(transcript_add_segment(&t, 0, 4, 1, text), 0);
	cues_of(&t, &d);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.cue[0].nlines, 2);
	vdoc_free(&d);
	transcript_free(&t);
}

static void test_long_audio(void **state)
{
	struct transcript t = {0};

	assert_int_equal(transcript_add_segment(&t, 3723.456, 3724.5, 1, "one hour"), 0);
	assert_int_equal(transcript_add_segment(&t, 360000.5, 360002, 1, "hundred hours"), 0);
	assert_int_equal(transcript_add_segment(&t, 3599999.999, 3600001, 1, "thousand"), 0);
	expect(&t, EXPORT_SRT, NULL,
	       "1\n01:02:03,456 --> 01:02:04,500\none hour\n\n"
	       "2\n100:00:00,500 --> 100:00:02,000\nhundred hours\n\n"
	       "3\n999:59:59,999 --> 1000:00:01,000\nthousand\n");
	expect(&t, EXPORT_VTT, NULL,
	       "WEBVTT\n\n"
	       "01:02:03.456 --> 01:02:04.500\none hour\n\n"
	       "100:00:00.500 --> 100:00:02.000\nhundred hours\n\n"
	       "999:59:59.999 --> 1000:00:01.000\nthousand\n");
	expect(&t, EXPORT_TXT, NULL,
	       "[01:02:03] one hour\n\n[100:00:00] hundred hours\n\n[999:59:59] thousand\n");
	struct vdoc d;
	cues_of(&t, &d);
	assert_int_equal(d.cue[1].start, 360000500);
	vdoc_free(&d);
	transcript_free(&t);
}

static void test_overlapping_segments(void **state)
{
	struct transcript t = {0};

	/* "two" overlaps "one"; "three" lies inside "one"; "four" starts with "two". */
	assert_int_equal(transcript_add_segment(&t, 0, 5, 1, "one"), 0);
	assert_int_equal(transcript_add_segment(&t, 3, 8, 1, "two"), 0);
	assert_int_equal(transcript_add_segment(&t, 2, 2.1, 1, "three"), 0);
	assert_int_equal(transcript_add_segment(&t, 3, 3.2, 1, "four"), 0);
	/* Ordered by start: one, three, two, four; each starts where the last ended. */
	expect(&t, EXPORT_SRT, NULL,
	       "1\n00:00:00,000 --> 00:00:05,000\none\n\n"
	       "2\n00:00:05,000 --> 00:00:05,500\nthree\n\n"
	       "3\n00:00:05,500 --> 00:00:08,000\ntwo\n\n"
	       "4\n00:00:08,000 --> 00:00:08,500\nfour\n");
	struct vdoc d;
	cues_of(&t, &d);
	vdoc_free(&d);
	expect(&t, EXPORT_TXT, NULL,
	       "[00:00:00] one\n\n[00:00:02] three\n\n[00:00:03] two\n\n[00:00:03] four\n");
	transcript_free(&t);
}

static void test_short_cues(void **state)
{
	struct transcript t = {0};

	/* Room after: 0.5 s. Next cue close: take the gap, then borrow from the next cue. */
	assert_int_equal(transcript_add_segment(&t, 1, 1.1, 1, "hi"), 0);
	assert_int_equal(transcript_add_segment(&t, 3, 3.05, 1, "yo"), 0);
	assert_int_equal(transcript_add_segment(&t, 3.2, 6, 1, "next"), 0);
	/* Back to back, both short: as much as there is. */
	assert_int_equal(transcript_add_segment(&t, 10, 10.1, 1, "a"), 0);
	assert_int_equal(transcript_add_segment(&t, 10.1, 10.2, 1, "b"), 0);
	/* A single word held for 20 s shows for the maximum, 7 s. */
	assert_int_equal(transcript_add_segment(&t, 20, 40, 1, "Hello"), 0);
	expect(&t, EXPORT_SRT, NULL,
	       "1\n00:00:01,000 --> 00:00:01,500\nhi\n\n"
	       "2\n00:00:03,000 --> 00:00:03,500\nyo\n\n"
	       "3\n00:00:03,500 --> 00:00:06,000\nnext\n\n"
	       "4\n00:00:10,000 --> 00:00:10,100\na\n\n"
	       "5\n00:00:10,100 --> 00:00:10,600\nb\n\n"
	       "6\n00:00:20,000 --> 00:00:27,000\nHello\n");
	struct vdoc d;
	cues_of(&t, &d);
	vdoc_free(&d);
	transcript_free(&t);
}

static void test_vtt_escaping(void **state)
{
	struct transcript t = {0};

	assert_int_equal(transcript_add_segment(&t, 0, 2, 1, "a-->b <i>x</i> & &amp; ---> -- >"),
			 0);
	expect(&t, EXPORT_VTT, NULL,
	       "WEBVTT\n\n00:00:00.000 --> 00:00:02.000\n"
	       "a--&gt;b &lt;i>x&lt;/i> &amp; &amp;amp; ---&gt; -- >\n");
	expect(&t, EXPORT_SRT, NULL,
	       "1\n00:00:00,000 --> 00:00:02,000\na-->b <i>x</i> & &amp; ---> -- >\n");
	struct vdoc d;
	cues_of(&t, &d); /* the validator decodes the entities: the same text in both */
	vdoc_free(&d);
	transcript_free(&t);
}

/* ---- punctuation, sentence and clause ends (Moonshine's text) ---- */

/*
 * One segment of text with a word per whitespace-separated word: word i
 * starts at start + i * step (plus pause after every word that ends in
 * ". ? !") and lasts len. Confidences cycle through conf (NULL: 0.9).
 * Returns the time the last word ends.
 */
static double add_spoken(struct transcript *t, const char *text, double start, double step,
			 double len, double pause, const double *conf, size_t nconf)
{
	double at = start, end = start;
	size_t n = 0, i = 0;
	const char *p;

	for (p = text; *p;) {
		size_t l = strcspn(p, " ");
		n++;
		p += l + (p[l] == ' ');
	}
	/* Times first: the segment spans its words. */
	double *ws = malloc(n * sizeof *ws);
	for (p = text; *p; i++) {
		size_t l = strcspn(p, " ");
		ws[i] = at;
		end = at + len;
		at += step + (strchr(".?!", p[l - 1]) ? pause : 0);
		p += l + (p[l] == ' ');
	}
	assert_int_equal(transcript_add_segment(t, start, end, 0.9, text), 0);
	for (i = 0, p = text; *p; i++) {
		size_t l = strcspn(p, " ");
		char w[256];
		snprintf(w, sizeof w, "%.*s", (int)l, p);
		assert_int_equal(
		    transcript_add_word(t, ws[i], ws[i] + len, conf ? conf[i % nconf] : 0.9, w), 0);
		p += l + (p[l] == ' ');
	}
	free(ws);
	return end;
}

static const char TWO_SENTENCES[] =
    "Hello everyone, and welcome to the quarterly planning meeting. "
    "Today we will review the budget, the hiring plan and the roadmap.";

/*
 * Two sentences of 9 and 12 words in one segment (as the VAD cuts them),
 * 8.8 s in all: they need two cues, and the boundary falls at the end of
 * the first sentence (greedy packing used to end the first cue on "Today
 * we will", mid-clause). Lines break at the clause end "budget," and
 * never after "the". Times are the first word's start and the last word's
 * end.
 */
static void test_sentence_ends(void **state)
{
	struct transcript t = {0};
	const double conf[] = {0.92, 0.83, 0.97, 0.31};
	struct vdoc d;

	strcpy(t.language, "en");
	add_spoken(&t, TWO_SENTENCES, 1.0, 0.4, 0.3, 0.5, conf, 4);
	assert_int_equal(t.nwords, 21);
	expect(&t, EXPORT_SRT, NULL,
	       "1\n"
	       "00:00:01,000 --> 00:00:04,500\n"
	       "Hello everyone, and welcome\n"
	       "to the quarterly planning meeting.\n"
	       "\n"
	       "2\n"
	       "00:00:05,100 --> 00:00:09,800\n"
	       "Today we will review the budget,\n"
	       "the hiring plan and the roadmap.\n");
	expect(&t, EXPORT_VTT, NULL,
	       "WEBVTT\n"
	       "\n"
	       "00:00:01.000 --> 00:00:04.500\n"
	       "Hello everyone, and welcome\n"
	       "to the quarterly planning meeting.\n"
	       "\n"
	       "00:00:05.100 --> 00:00:09.800\n"
	       "Today we will review the budget,\n"
	       "the hiring plan and the roadmap.\n");
	cues_of(&t, &d);
	vdoc_free(&d);

	/* Without word times (in proportion to the text) the boundary is the same. */
	t.segments[0].nwords = 0;
	cues_of(&t, &d);
	assert_int_equal(d.n, 2);
	assert_string_equal(d.cue[0].text,
			    "Hello everyone, and welcome\nto the quarterly planning meeting.");
	assert_string_equal(d.cue[1].text,
			    "Today we will review the budget,\nthe hiring plan and the roadmap.");
	assert_int_equal(d.cue[0].start, 1000);
	assert_int_equal(d.cue[1].end, 9800);
	vdoc_free(&d);
	transcript_free(&t);
}

/* Casing and punctuation come out exactly as the engine wrote them, in every format. */
static void test_text_kept_as_is(void **state)
{
	struct transcript t = {0};
	const double conf[] = {0.92, 0.83, 0.97, 0.31};

	strcpy(t.language, "en");
	add_spoken(&t, TWO_SENTENCES, 1.0, 0.4, 0.3, 0.5, conf, 4);
	assert_int_equal(transcript_add_segment(&t, 12, 13.5, 0.7, "OK — it's \"NASA's\" call?!"),
			 0);
	expect(&t, EXPORT_TXT, "Q3 Planning",
	       "Q3 Planning\n"
	       "\n"
	       "[00:00:01] Hello everyone, and welcome to the quarterly planning meeting. "
	       "Today we will review the budget, the hiring plan and the roadmap.\n"
	       "\n"
	       "[00:00:12] OK — it's \"NASA's\" call?!\n");
	expect(&t, EXPORT_SRT, NULL,
	       "1\n"
	       "00:00:01,000 --> 00:00:04,500\n"
	       "Hello everyone, and welcome\n"
	       "to the quarterly planning meeting.\n"
	       "\n"
	       "2\n"
	       "00:00:05,100 --> 00:00:09,800\n"
	       "Today we will review the budget,\n"
	       "the hiring plan and the roadmap.\n"
	       "\n"
	       "3\n"
	       "00:00:12,000 --> 00:00:13,500\n"
	       "OK — it's \"NASA's\" call?!\n");

	char *s = render(&t, EXPORT_JSON, "Q3 Planning");
	json_t *j = json_loads(s, 0, NULL), *seg0, *w;
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "title")), "Q3 Planning");
	seg0 = json_array_get(json_object_get(j, "segments"), 0);
	assert_string_equal(json_string_value(json_object_get(seg0, "text")), TWO_SENTENCES);
	w = json_array_get(json_object_get(seg0, "words"), 1);
	assert_string_equal(json_string_value(json_object_get(w, "word")), "everyone,");
	assert_true(fabs(json_real_value(json_object_get(w, "confidence")) - 0.83) < 1e-9);
	w = json_array_get(json_object_get(seg0, "words"), 8);
	assert_string_equal(json_string_value(json_object_get(w, "word")), "meeting.");
	assert_string_equal(json_string_value(json_object_get(
				json_array_get(json_object_get(j, "segments"), 1), "text")),
			    "OK — it's \"NASA's\" call?!");
	json_decref(j);
	free(s);
	transcript_free(&t);
}

/*
 * One sentence of 124 characters with a comma after 65: two cues split at
 * the comma (greedy packing split "regional / offices" across cues).
 * No word times: the times follow the text (10 s over 124 characters).
 */
static void test_clause_ends(void **state)
{
	struct transcript t = {0};

	assert_int_equal(
	    transcript_add_segment(&t, 20, 30, 0.8,
				   "When the numbers came in from the regional offices "
				   "last Thursday, we decided to move the launch to the "
				   "second week of March."),
	    0);
	expect(&t, EXPORT_SRT, NULL,
	       "1\n"
	       "00:00:20,000 --> 00:00:25,323\n"
	       "When the numbers came in from\n"
	       "the regional offices last Thursday,\n"
	       "\n"
	       "2\n"
	       "00:00:25,323 --> 00:00:30,000\n"
	       "we decided to move the launch\n"
	       "to the second week of March.\n");
	transcript_free(&t);

	/* "Mr." and "Dr." are not sentence ends; a dash is a clause end. */
	add_spoken(&t,
		   "Mr. Smith and Dr. Jones agreed on Friday — after a long call with "
		   "the lawyers about the contract terms.",
		   0, 0.3, 0.25, 0, NULL, 0);
	struct vdoc d;
	cues_of(&t, &d);
	assert_int_equal(d.n, 2);
	assert_string_equal(d.cue[0].text, "Mr. Smith and Dr. Jones agreed on Friday —");
	assert_string_equal(d.cue[1].text,
			    "after a long call with the lawyers\nabout the contract terms.");
	vdoc_free(&d);
	transcript_free(&t);
}

/* A word that would be left alone on a cue or a line moves to a better break. */
static void test_no_orphans(void **state)
{
	struct transcript t = {0};
	struct vdoc d;

	/* 88 characters: greedy packing left "else" alone in a second cue. */
	add_spoken(&t,
		   "We need everyone in the room to agree on the plan before we start building "
		   "anything else",
		   0, 0.3, 0.25, 0, NULL, 0);
	cues_of(&t, &d);
	assert_int_equal(d.n, 2);
	assert_string_equal(d.cue[0].text, "We need everyone in the room to agree on");
	assert_string_equal(d.cue[1].text, "the plan before we start\nbuilding anything else");
	assert_int_equal(d.cue[0].start, 0);
	assert_int_equal(d.cue[0].end, 2650);
	assert_int_equal(d.cue[1].start, 2700);
	assert_int_equal(d.cue[1].end, 5050);
	vdoc_free(&d);
	transcript_free(&t);

	/* "Right." would be alone on the first line: a balanced break instead. */
	add_spoken(&t, "Right. We should move the launch to next week.", 0, 0.3, 0.25, 0, NULL, 0);
	cues_of(&t, &d);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.cue[0].text, "Right. We should move\nthe launch to next week.");
	vdoc_free(&d);
	transcript_free(&t);

	/* But a line break at a sentence end wins where it leaves no orphan. */
	add_spoken(&t, "Yes, that works. Let us move the launch to next week.", 0, 0.3, 0.25, 0,
		   NULL, 0);
	cues_of(&t, &d);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.cue[0].text,
			    "Yes, that works.\nLet us move the launch to next week.");
	vdoc_free(&d);
	transcript_free(&t);
}

/* One word of 100 characters (a URL) spoken over 2 s, between two short words. */
static void test_very_long_word(void **state)
{
	struct transcript t = {0};
	char url[128], text[160];

	snprintf(url, sizeof url, "https://example.com/");
	while (strlen(url) < 100)
		strcat(url, "abcdefghij");
	url[100] = '\0';
	snprintf(text, sizeof text, "See %s today.", url);
	assert_int_equal(transcript_add_segment(&t, 10, 13, 0.6, text), 0);
	assert_int_equal(transcript_add_word(&t, 10, 10.4, 0.9, "See"), 0);
	assert_int_equal(transcript_add_word(&t, 10.5, 12.5, 0.2, url), 0);
	assert_int_equal(transcript_add_word(&t, 12.6, 13, 0.9, "today."), 0);

	char want[1024];
	/*
	 * Pieces of 42, 42 and 16 characters, the word's 2 s shared out by
	 * characters; the cues break inside the word (it cannot be helped) and
	 * neither "See" nor "today." is left alone.
	 */
	snprintf(want, sizeof want,
		 "1\n00:00:10,000 --> 00:00:11,340\nSee\n%.42s\n\n"
		 "2\n00:00:11,340 --> 00:00:13,000\n%.42s\n%s today.\n",
		 url, url + 42, url + 84);
	expect(&t, EXPORT_SRT, NULL, want);
	transcript_free(&t);

	/* Alone in its segment, without word times. */
	assert_int_equal(transcript_add_segment(&t, 0, 1, 0.6, url), 0);
	snprintf(want, sizeof want,
		 "1\n00:00:00,000 --> 00:00:00,840\n%.42s\n%.42s\n\n"
		 "2\n00:00:00,840 --> 00:00:01,340\n%s\n",
		 url, url + 42, url + 84);
	expect(&t, EXPORT_SRT, NULL, want);
	transcript_free(&t);
}

/* Line lengths count characters, not bytes, with punctuation too. */
static void test_non_ascii_punctuation(void **state)
{
	struct transcript t = {0};
	struct vdoc d;

	/* 39 characters in 44 bytes: one line. */
	add_spoken(&t, "Grüße aus Köln! Schön, daß Sie da sind.", 0, 0.3, 0.25, 0.2, NULL, 0);
	/* 38 characters in 43 bytes, a French "?" after a space. */
	add_spoken(&t, "Ça a été très édifiant, n'est-ce pas ?", 5, 0.3, 0.25, 0.2, NULL, 0);
	cues_of(&t, &d);
	assert_int_equal(d.n, 2);
	assert_string_equal(d.cue[0].text, "Grüße aus Köln! Schön, daß Sie da sind.");
	assert_string_equal(d.cue[1].text, "Ça a été très édifiant, n'est-ce pas ?");
	assert_int_equal(d.cue[0].start, 0);
	assert_int_equal(d.cue[0].end, 2550); /* 8 words, a 0.2 s pause after "Köln!" */
	assert_int_equal(d.cue[1].start, 5000);
	vdoc_free(&d);
	transcript_free(&t);

	/* Longer: the cue break falls at the sentence end "alle!", the lines at commas. */
	add_spoken(&t,
		   "Grüße aus Köln, wo es heute regnet, und schöne Grüße an alle! "
		   "Schön, daß Sie da sind, Frau Müller, und willkommen zurück.",
		   0, 0.3, 0.25, 0.2, NULL, 0);
	cues_of(&t, &d);
	assert_int_equal(d.n, 2);
	assert_string_equal(d.cue[0].text,
			    "Grüße aus Köln, wo es heute regnet,\nund schöne Grüße an alle!");
	assert_string_equal(d.cue[1].text,
			    "Schön, daß Sie da sind,\nFrau Müller, und willkommen zurück.");
	vdoc_free(&d);
	transcript_free(&t);

	/* Japanese: 。 ends a sentence, 、 a clause. */
	assert_int_equal(
	    transcript_add_segment(&t, 0, 6, 1,
				   "今日は 会議に 来て いただき、 ありがとう ございます。 "
				   "次に 予算と 採用の 計画と ロードマップを 確認します。"),
	    0);
	cues_of(&t, &d);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.cue[0].text, "今日は 会議に 来て いただき、 ありがとう ございます。\n"
					   "次に 予算と 採用の 計画と ロードマップを 確認します。");
	vdoc_free(&d);
	transcript_free(&t);
}

/* A struct filled by hand, with garbage everywhere, still gives valid files. */
static void test_garbage_struct(void **state)
{
	struct transcript_segment segs[4] = {
	    {.start = NAN, .end = -1, .text = "bad \xff utf8", .first_word = 0, .nwords = 9},
	    {.start = 5, .end = 1, .text = NULL},
	    {.start = INFINITY, .end = INFINITY, .text = "inf"},
	    {.start = 2, .end = 3, .text = "words out of range", .first_word = 7, .nwords = 2},
	};
	struct transcript_word words[2] = {
	    {.start = 9, .end = NAN, .text = "w"},
	    {.start = -4, .end = 1e300, .text = NULL},
	};
	struct transcript t = {.segments = segs, .nsegments = 4, .words = words, .nwords = 2};

	for (int f = EXPORT_TXT; f <= EXPORT_JSON; f++) {
		char *s = render(&t, (enum export_format)f, "title \xc0");
		assert_true(utf8_count(s, strlen(s)) >= 0);
		free(s);
	}
	struct vdoc d;
	cues_of(&t, &d);
	assert_int_equal(d.n, 3);
	assert_string_equal(d.cue[0].text, "bad \xef\xbf\xbd utf8");
	vdoc_free(&d);
}

/* Pseudo-random transcripts: overlaps, disorder, word times good and bad, multi-byte text. */
static void test_random(void **state)
{
	static const char *const pool[] = {
	    "a",       "the",	 "café", "日本語",
	    "😀",       "&",	 "<b>",	 "-->",
	    "--",      "naïve,", "x&y",	 "supercalifragilisticexpialidocious-and-a-lot-more-of-it",
	    "Ünïcödé", "ok.",	 "🇫🇷",	 "\t",
	    "\n",
	};
	const size_t npool = sizeof pool / sizeof *pool;
	struct vdoc d;

	srand(7);
	for (int n = 0; n < 300; n++) {
		struct transcript t = {0};
		int nseg = rand() % 12;
		for (int i = 0; i < nseg; i++) {
			char text[2048] = "";
			int nw = rand() % 40;
			double s = rand() % 200000 / 1000.0, e = s + rand() % 30000 / 1000.0;
			for (int k = 0; k < nw; k++) {
				if (k)
					strcat(text, " ");
				strcat(text, pool[(size_t)rand() % npool]);
			}
			assert_int_equal(transcript_add_segment(&t, s, e, 1, text), 0);
			if (rand() % 2) {
				/* One word per text word, sometimes; or a few at random times. */
				int words = rand() % 3 ? nw : rand() % 5;
				double at = s;
				for (int k = 0; k < words; k++) {
					double ws = rand() % 5 ? at : at - 1,
					       we = ws + rand() % 3000 / 1000.0;
					assert_int_equal(transcript_add_word(&t, ws, we, 1, "w"),
							 0);
					at = we + rand() % 500 / 1000.0;
				}
			}
		}
		cues_of(&t, &d);
		vdoc_free(&d);
		for (int f = EXPORT_TXT; f <= EXPORT_JSON; f += 3) {
			char *s = render(&t, (enum export_format)f, "t");
			assert_true(utf8_count(s, strlen(s)) >= 0);
			if (f == EXPORT_JSON) {
				json_t *j = json_loads(s, 0, NULL);
				assert_non_null(j);
				json_decref(j);
			}
			free(s);
		}
		transcript_free(&t);
	}
}

static void test_allocation_failures(void **state)
{
	struct transcript t;

	if (!injection_works()) {
		skip();
		return;
	}

	fixture(&t);
	assert_int_equal(transcript_add_segment(&t, 4000, 4100, 1, LONG_TEXT), 0);
	for (int f = EXPORT_TXT; f <= EXPORT_JSON; f++) {
		char *want = render(&t, (enum export_format)f, "Title");
		long n;
		for (n = 0;; n++) {
			size_t len = 99;
			fail_at(n);
			char *got = export_render(&t, (enum export_format)f, "Title", &len);
			fail_off();
			if (!g_failed) {
				assert_string_equal(got, want);
				free(got);
				break;
			}
			/*
			 * NULL, or (where jansson shrugs off a failed allocation
			 * of its own inside json_dumps) the right output.
			 */
			if (got) {
				assert_string_equal(got, want);
				assert_int_equal(len, strlen(want));
				free(got);
				continue;
			}
			assert_int_equal(len, 0);
		}
		assert_true(n >= 3);
		free(want);
	}
	transcript_free(&t);
}

/*
 * FFmpeg reads a multi-cue file of each kind without a complaint and finds
 * every cue: it decodes ours and writes them out again as SRT, whose cues we
 * count. (The plain "-f null -" has no subtitle encoder to hand the stream
 * to in FFmpeg 5.1 and fails for any subtitle file, so the SRT encoder does
 * the decoding instead.)
 */
static void test_ffmpeg_reads_output(void **state)
{
	struct transcript t = {0};
	const char *ext[] = {"srt", "vtt"};

	if (system("command -v ffmpeg >/dev/null 2>&1") != 0) {
		skip();
		return;
	}
	assert_int_equal(transcript_add_segment(&t, 0.5, 30, 1, LONG_TEXT), 0);
	assert_int_equal(
	    transcript_add_segment(&t, 29, 31, 1, "Fish & chips <b> a --> b, café 日本語 😀"), 0);
	assert_int_equal(transcript_add_segment(&t, 3723.456, 3725, 1, "An hour later."), 0);
	for (int i = 0; i < 2; i++) {
		char path[] = "/tmp/iam-test-export-XXXXXX.srt",
		     errpath[] = "/tmp/iam-test-export-XXXXXX";
		char cmd[512], out[65536], err[4096] = "";
		enum export_format f = i ? EXPORT_VTT : EXPORT_SRT;
		struct vdoc d;
		size_t len, nout, cues = 0;
		char *s = export_render(&t, f, NULL, &len);
		int fd, rc;
		FILE *p;

		validate(s, len, i, &d);
		assert_true(d.n >= 6);
		memcpy(path + strlen(path) - 3, ext[i], 3);
		fd = mkstemps(path, 4);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, s, len), (ssize_t)len);
		close(fd);
		fd = mkstemp(errpath);
		assert_true(fd >= 0);
		snprintf(
		    cmd, sizeof cmd,
		    "ffmpeg -nostdin -hide_banner -loglevel error -i %s -map 0 -c:s srt -f srt - "
		    "2>%s",
		    path, errpath);
		p = popen(cmd, "r");
		assert_non_null(p);
		nout = fread(out, 1, sizeof out - 1, p);
		out[nout] = '\0';
		rc = pclose(p);
		err[read(fd, err, sizeof err - 1) > 0 ? strlen(err) : 0] = '\0';
		close(fd);
		unlink(errpath);
		unlink(path);
		free(s);
		if (!WIFEXITED(rc) || WEXITSTATUS(rc) != 0 || err[0])
			fail_msg("ffmpeg on .%s: status %d: %s", ext[i], rc, err);
		/* Timing lines of FFmpeg's SRT: a digit first, " --> " inside. */
		for (char *line = out; line && *line;
		     line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
			if (*line >= '0' && *line <= '9' && strstr(line, " --> ") &&
			    strstr(line, " --> ") < strchr(line, '\n'))
				cues++;
		assert_int_equal(cues, d.n);
		vdoc_free(&d);
	}
	transcript_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_small_exact),
	    cmocka_unit_test(test_empty),
	    cmocka_unit_test(test_long_without_words),
	    cmocka_unit_test(test_long_with_words),
	    cmocka_unit_test(test_utf8_counted_as_characters),
	    cmocka_unit_test(test_long_audio),
	    cmocka_unit_test(test_overlapping_segments),
	    cmocka_unit_test(test_short_cues),
	    cmocka_unit_test(test_vtt_escaping),
	    cmocka_unit_test(test_sentence_ends),
	    cmocka_unit_test(test_text_kept_as_is),
	    cmocka_unit_test(test_clause_ends),
	    cmocka_unit_test(test_no_orphans),
	    cmocka_unit_test(test_very_long_word),
	    cmocka_unit_test(test_non_ascii_punctuation),
	    cmocka_unit_test(test_garbage_struct),
	    cmocka_unit_test(test_random),
	    cmocka_unit_test(test_allocation_failures),
	    cmocka_unit_test(test_ffmpeg_reads_output),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
