/*
 * transcript.c — the timed transcript and its JSON form.
 *
 * Invariants kept by every function that builds a transcript (add_*,
 * shift, append, from_json): times are finite, in 0..TIME_MAX, end >= start;
 * confidences are in 0..1; texts are valid UTF-8 (invalid bytes become
 * U+FFFD on the way in). transcript_to_json does not trust them anyway,
 * because the struct is public and callers may fill it by hand: whatever it
 * is given, its output passes transcript_from_json.
 */
#include "core/transcript.h"
#include "core/utf8.h"

#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* About 31 years: anything later is garbage from an engine, not audio. */
#define TIME_MAX 1e9
#define MIN_CAP	 16

static double clean_time(double x)
{
	if (!isfinite(x) || x < 0)
		return 0;
	return x > TIME_MAX ? TIME_MAX : x;
}

static double clean_conf(double x)
{
	if (!isfinite(x) || x < 0)
		return 0;
	return x > 1 ? 1 : x;
}

/*
 * Make room for need elements of size elem in *arr (count n, capacity *cap),
 * doubling. Returns 0, or -1 with *arr and *cap unchanged.
 */
static int grow(void **arr, size_t *cap, size_t n, size_t need, size_t elem)
{
	size_t c = *cap < n ? n : *cap;
	void *p;

	if (need <= c) {
		*cap = c;
		return 0;
	}
	c = c ? c : MIN_CAP;
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

void transcript_free(struct transcript *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nsegments; i++)
		free(t->segments[i].text);
	for (size_t i = 0; i < t->nwords; i++)
		free(t->words[i].text);
	for (size_t i = 0; i < t->nspeakers; i++)
		free(t->speakers[i].name);
	free(t->segments);
	free(t->words);
	free(t->speakers);
	memset(t, 0, sizeof *t);
}

int transcript_add_segment(struct transcript *t, double start, double end, double confidence,
			   const char *text)
{
	char *copy = NULL;

	if (!t)
		goto fail;
	copy = utf8_dup_valid(text);
	if (!copy)
		goto fail;
	if (grow((void **)&t->segments, &t->segments_cap, t->nsegments, t->nsegments + 1,
		 sizeof *t->segments) < 0)
		goto fail;
	start = clean_time(start);
	end = clean_time(end);
	t->segments[t->nsegments++] = (struct transcript_segment){
	    .start = start,
	    .end = end < start ? start : end,
	    .confidence = clean_conf(confidence),
	    .text = copy, /* owned by the transcript from here */
	    .first_word = t->nwords,
	    .nwords = 0,
	};
	return 0;
fail:
	free(copy);
	return -1;
}

int transcript_add_word(struct transcript *t, double start, double end, double confidence,
			const char *text)
{
	struct transcript_segment *seg;
	char *copy = NULL;

	if (!t)
		goto fail;
	copy = utf8_dup_valid(text);
	if (!copy)
		goto fail;
	if (grow((void **)&t->words, &t->words_cap, t->nwords, t->nwords + 1, sizeof *t->words) < 0)
		goto fail;
	start = clean_time(start);
	end = clean_time(end);
	/*
	 * The word joins the last segment only if that segment's words end
	 * right here; a word before any segment (or after words appended from
	 * a transcript without segments) belongs to none.
	 */
	seg = t->nsegments ? &t->segments[t->nsegments - 1] : NULL;
	if (seg && seg->first_word <= t->nwords && t->nwords - seg->first_word == seg->nwords)
		seg->nwords++;
	t->words[t->nwords++] = (struct transcript_word){
	    .start = start,
	    .end = end < start ? start : end,
	    .confidence = clean_conf(confidence),
	    .text = copy, /* owned by the transcript from here */
	};
	return 0;
fail:
	free(copy);
	return -1;
}

/* Times that would fall below 0 become 0; the duration moves too (it is where the audio ends). */
void transcript_shift(struct transcript *t, double offset)
{
	if (!t || !isfinite(offset))
		return;
	for (size_t i = 0; i < t->nsegments; i++) {
		t->segments[i].start = clean_time(t->segments[i].start + offset);
		t->segments[i].end = clean_time(t->segments[i].end + offset);
	}
	for (size_t i = 0; i < t->nwords; i++) {
		t->words[i].start = clean_time(t->words[i].start + offset);
		t->words[i].end = clean_time(t->words[i].end + offset);
	}
	if (t->duration > 0)
		t->duration = clean_time(t->duration + offset);
}

int transcript_append(struct transcript *dst, struct transcript *src)
{
	size_t ns, nw;

	if (!dst || !src || dst == src)
		return -1;
	ns = src->nsegments;
	nw = src->nwords;
	if (ns > SIZE_MAX - dst->nsegments || nw > SIZE_MAX - dst->nwords)
		return -1;
	/* src's speakers join dst's (while there is room; past it their segments lose them). */
	size_t spk_base = dst->nspeakers, spk_take = src->nspeakers;
	if (spk_take > TRANSCRIPT_MAX_SPEAKERS - spk_base)
		spk_take = TRANSCRIPT_MAX_SPEAKERS - spk_base;
	if (spk_take) {
		struct transcript_speaker *sp =
		    realloc(dst->speakers, (spk_base + spk_take) * sizeof *sp);
		if (!sp)
			return -1;
		dst->speakers = sp;
	}
	/* Both grow before anything moves, so a failure leaves both as they were. */
	if (grow((void **)&dst->segments, &dst->segments_cap, dst->nsegments, dst->nsegments + ns,
		 sizeof *dst->segments) < 0 ||
	    grow((void **)&dst->words, &dst->words_cap, dst->nwords, dst->nwords + nw,
		 sizeof *dst->words) < 0)
		return -1;
	/* The strings change hands: dst owns them, src's arrays are freed without them. */
	for (size_t i = 0; i < ns; i++) {
		struct transcript_segment *seg = &dst->segments[dst->nsegments + i];
		*seg = src->segments[i];
		seg->first_word += dst->nwords;
		seg->speaker =
		    seg->speaker && seg->speaker <= spk_take ? seg->speaker + spk_base : 0;
	}
	unsigned top = 0;
	for (size_t i = 0; i < spk_base; i++)
		if (dst->speakers[i].number > top)
			top = dst->speakers[i].number;
	for (size_t i = 0; i < src->nspeakers; i++) {
		if (i < spk_take)
			dst->speakers[spk_base + i] = (struct transcript_speaker){
			    .number = top + 1 + (unsigned)i, .name = src->speakers[i].name};
		else
			free(src->speakers[i].name);
	}
	dst->nspeakers = spk_base + spk_take;
	free(src->speakers);
	if (nw)
		memcpy(dst->words + dst->nwords, src->words, nw * sizeof *src->words);
	dst->nsegments += ns;
	dst->nwords += nw;
	if (!dst->language[0])
		memcpy(dst->language, src->language, sizeof dst->language);
	dst->language[sizeof dst->language - 1] = '\0';
	if (src->duration > dst->duration)
		dst->duration = src->duration;
	free(src->segments);
	free(src->words);
	memset(src, 0, sizeof *src);
	return 0;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Segment texts, trimmed, empty ones left out, joined by single spaces. */
char *transcript_text(const struct transcript *t)
{
	size_t n = 0, ns = t ? t->nsegments : 0;
	char *out = NULL, *o = NULL;

	for (int pass = 0; pass < 2; pass++) {
		o = pass ? out : NULL;
		for (size_t i = 0; i < ns; i++) {
			const char *s = t->segments[i].text ? t->segments[i].text : "";
			size_t len;

			while (is_space(*s))
				s++;
			len = strlen(s);
			while (len && is_space(s[len - 1]))
				len--;
			if (!len)
				continue;
			if (!pass) {
				if (len > SIZE_MAX - 2 - n)
					return NULL;
				n += len + (n ? 1 : 0);
				continue;
			}
			if (o != out)
				*o++ = ' ';
			memcpy(o, s, len);
			o += len;
		}
		if (!pass) {
			out = malloc(n + 1);
			if (!out)
				return NULL;
		}
	}
	*o = '\0';
	return out;
}

double transcript_confidence(const struct transcript *t)
{
	double sum = 0;

	if (!t)
		return 0;
	if (t->nwords) {
		for (size_t i = 0; i < t->nwords; i++)
			sum += clean_conf(t->words[i].confidence);
		return sum / (double)t->nwords;
	}
	if (t->nsegments) {
		for (size_t i = 0; i < t->nsegments; i++)
			sum += clean_conf(t->segments[i].confidence);
		return sum / (double)t->nsegments;
	}
	return 0;
}

/* ---- JSON ---- */

/* Milliseconds for times, 3 decimals for confidences: rounding again changes nothing. */
static json_t *json_round3(double x)
{
	return json_real(round(x * 1000) / 1000);
}

/* A JSON string of s; invalid UTF-8 (a hand-filled struct) is repaired, not refused. */
static json_t *json_text(const char *s)
{
	json_t *j = json_string(s ? s : "");
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t k;
	char *fixed;

	if (j)
		return j;
	for (; *p; p += k)
		if (!(k = utf8_seq(p)))
			break;
	if (!*p)
		return NULL; /* valid: jansson ran out of memory */
	fixed = utf8_dup_valid(s);
	j = fixed ? json_string(fixed) : NULL;
	free(fixed);
	return j;
}

/* Empty, or letters, digits and '-' (BCP 47's alphabet), shorter than language[]. */
static int language_valid(const char *s, size_t len)
{
	if (len >= sizeof((struct transcript *)0)->language)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-'))
			return 0;
	}
	return 1;
}

/*
 * Which speakers to_json writes: a hand-filled struct may hold numbers out
 * of range or twice; those are left out, and segments naming them get null.
 */
static void speakers_valid(const struct transcript *t, bool ok[TRANSCRIPT_MAX_SPEAKERS])
{
	for (size_t k = 0; k < TRANSCRIPT_MAX_SPEAKERS; k++) {
		ok[k] =
		    k < t->nspeakers && t->speakers[k].number >= 1 && t->speakers[k].number <= 999;
		for (size_t j = 0; ok[k] && j < k; j++)
			if (ok[j] && t->speakers[j].number == t->speakers[k].number)
				ok[k] = false;
	}
}

/* JSON string "S<n>" of segment speaker k (1-based), or null. */
static json_t *speaker_ref(const struct transcript *t, const bool ok[], size_t k)
{
	char id[8];

	if (!k || k > TRANSCRIPT_MAX_SPEAKERS || !ok[k - 1])
		return json_null();
	snprintf(id, sizeof id, "S%u", t->speakers[k - 1].number);
	return json_string(id);
}

static json_t *word_to_json(const struct transcript_word *w, double seg_start, double seg_end,
			    json_t *speaker)
{
	json_t *o = json_object();
	double s = clean_time(w->start), e = clean_time(w->end);

	/* Words are kept inside their segment, which from_json insists on. */
	s = s < seg_start ? seg_start : s > seg_end ? seg_end : s;
	e = e < s ? s : e > seg_end ? seg_end : e;
	if (json_object_set_new(o, "word", json_text(w->text)) < 0 ||
	    json_object_set_new(o, "start", json_round3(s)) < 0 ||
	    json_object_set_new(o, "end", json_round3(e)) < 0 ||
	    json_object_set_new(o, "confidence", json_round3(clean_conf(w->confidence))) < 0 ||
	    json_object_set(o, "speaker", speaker) < 0)
		goto fail;
	return o;
fail:
	json_decref(o);
	return NULL;
}

static json_t *segment_to_json(const struct transcript *t, size_t i, const bool ok[])
{
	const struct transcript_segment *seg = &t->segments[i];
	double s = clean_time(seg->start), e = clean_time(seg->end);
	size_t first = seg->first_word, n = 0;
	json_t *o = json_object(), *words = json_array(), *spk = speaker_ref(t, ok, seg->speaker);

	if (e < s)
		e = s;
	if (first < t->nwords)
		n = seg->nwords < t->nwords - first ? seg->nwords : t->nwords - first;
	if (!o || !words || !spk)
		goto fail;
	for (size_t k = 0; k < n; k++)
		if (json_array_append_new(words, word_to_json(&t->words[first + k], s, e, spk)) < 0)
			goto fail;
	if (json_object_set_new(o, "id", json_integer((json_int_t)i)) < 0 ||
	    json_object_set_new(o, "start", json_round3(s)) < 0 ||
	    json_object_set_new(o, "end", json_round3(e)) < 0 ||
	    json_object_set_new(o, "text", json_text(seg->text)) < 0 ||
	    json_object_set_new(o, "confidence", json_round3(clean_conf(seg->confidence))) < 0 ||
	    json_object_set(o, "speaker", spk) < 0 ||
	    json_object_set_new(o, "edited", json_boolean(seg->edited)) < 0)
		goto fail;
	if (json_object_set_new(o, "words", words) < 0) {
		words = NULL; /* set_new took it even on failure */
		goto fail;
	}
	json_decref(spk);
	return o;
fail:
	json_decref(spk);
	json_decref(words);
	json_decref(o);
	return NULL;
}

static json_t *speakers_to_json(const struct transcript *t, const bool ok[])
{
	json_t *arr = json_array();

	for (size_t k = 0; arr && k < t->nspeakers && k < TRANSCRIPT_MAX_SPEAKERS; k++) {
		char id[8], label[24];
		const char *name = t->speakers[k].name;
		char *fixed = NULL;
		json_t *o;

		if (!ok[k])
			continue;
		snprintf(id, sizeof id, "S%u", t->speakers[k].number);
		snprintf(label, sizeof label, "Speaker %u", t->speakers[k].number);
		if (name && *name && !(fixed = utf8_dup_valid(name)))
			goto fail;
		o = json_pack("{s:s,s:s,s:o,s:o}", "id", id, "label", label, "name",
			      fixed ? json_string(fixed) : json_null(), "talk_time_s",
			      json_round3(transcript_talk_time(t, k + 1)));
		free(fixed);
		if (json_array_append_new(arr, o) < 0)
			goto fail;
	}
	return arr;
fail:
	json_decref(arr);
	return NULL;
}

json_t *transcript_to_json(const struct transcript *t)
{
	static const struct transcript empty;
	json_t *o = json_object(), *segs = json_array(), *spk = NULL;
	char *text = NULL;
	size_t langlen;
	bool ok[TRANSCRIPT_MAX_SPEAKERS];

	if (!t)
		t = &empty;
	if (!o || !segs)
		goto fail;
	speakers_valid(t, ok);
	langlen = strnlen(t->language, sizeof t->language);
	if (!language_valid(t->language, langlen))
		langlen = 0;
	text = transcript_text(t);
	if (!text)
		goto fail;
	for (size_t i = 0; i < t->nsegments; i++)
		if (json_array_append_new(segs, segment_to_json(t, i, ok)) < 0)
			goto fail;
	spk = speakers_to_json(t, ok);
	if (!spk)
		goto fail;
	if (json_object_set_new(o, "language", json_stringn(t->language, langlen)) < 0 ||
	    json_object_set_new(o, "duration", json_round3(clean_time(t->duration))) < 0 ||
	    json_object_set_new(o, "text", json_text(text)) < 0)
		goto fail;
	if (json_object_set_new(o, "speakers", spk) < 0) {
		spk = NULL;
		goto fail;
	}
	spk = NULL;
	if (json_object_set_new(o, "segments", segs) < 0) {
		segs = NULL;
		goto fail;
	}
	free(text);
	return o;
fail:
	free(text);
	json_decref(spk);
	json_decref(segs);
	json_decref(o);
	return NULL;
}

/* Every key of o is one of the NULL-terminated keys[]. */
static int keys_known(json_t *o, const char *const keys[])
{
	const char *key;
	json_t *v;

	json_object_foreach(o, key, v)
	{
		size_t k = 0;
		while (keys[k] && strcmp(keys[k], key))
			k++;
		if (!keys[k])
			return 0;
	}
	return 1;
}

/* A number in 0..TIME_MAX into *out; 0 or -1. */
static int get_time(json_t *o, const char *key, double *out)
{
	json_t *v = json_object_get(o, key);
	double x;

	if (!json_is_number(v))
		return -1;
	x = json_number_value(v);
	if (!isfinite(x) || x < 0 || x > TIME_MAX)
		return -1;
	*out = x;
	return 0;
}

static int get_conf(json_t *o, const char *key, double *out)
{
	json_t *v = json_object_get(o, key);
	double x;

	if (!json_is_number(v))
		return -1;
	x = json_number_value(v);
	if (!isfinite(x) || x < 0 || x > 1)
		return -1;
	*out = x;
	return 0;
}

/* A string without NUL bytes (C strings cannot carry them), or NULL. */
static const char *get_text(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	const char *s = json_string_value(v);

	if (!s || strlen(s) != json_string_length(v))
		return NULL;
	return s;
}

/* Absent, null, or a string (a derived speaker reference). */
static int null_or_string(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return !v || json_is_null(v) || json_is_string(v) ? 0 : -1;
}

/* "S<n>" with n in 1..999 and no leading zero: n, else 0. */
static unsigned parse_speaker_id(const char *s)
{
	unsigned n = 0;

	if (!s || s[0] != 'S' || s[1] < '1' || s[1] > '9')
		return 0;
	for (s++; *s; s++) {
		if (*s < '0' || *s > '9' || n >= 100)
			return 0;
		n = n * 10 + (unsigned)(*s - '0');
	}
	return n;
}

/* The 1-based index of speaker number n in t, or 0. */
static size_t speaker_by_number(const struct transcript *t, unsigned n)
{
	for (size_t k = 0; n && k < t->nspeakers; k++)
		if (t->speakers[k].number == n)
			return k + 1;
	return 0;
}

static int speakers_from_json(json_t *arr, struct transcript *t)
{
	static const char *const keys[] = {"id", "label", "name", "talk_time_s", NULL};
	size_t i;
	json_t *sp;

	if (!arr)
		return 0;
	if (!json_is_array(arr) || json_array_size(arr) > TRANSCRIPT_MAX_SPEAKERS)
		return -1;
	t->speakers = calloc(json_array_size(arr) + 1, sizeof *t->speakers);
	if (!t->speakers)
		return -1;
	json_array_foreach(arr, i, sp)
	{
		json_t *label, *talk, *name;
		unsigned n;

		if (!json_is_object(sp) || !keys_known(sp, keys))
			return -1;
		n = parse_speaker_id(json_string_value(json_object_get(sp, "id")));
		label = json_object_get(sp, "label");
		talk = json_object_get(sp, "talk_time_s");
		name = json_object_get(sp, "name");
		if (!n || speaker_by_number(t, n) || (label && !json_is_string(label)) ||
		    (talk && !json_is_number(talk)) ||
		    (name && !json_is_null(name) && !json_is_string(name)))
			return -1;
		t->speakers[t->nspeakers] = (struct transcript_speaker){.number = n};
		t->nspeakers++;
		if (json_is_string(name) && json_string_length(name)) {
			const char *nm = get_text(sp, "name");
			if (!nm || utf8_len(nm) > TRANSCRIPT_NAME_MAX)
				return -1;
			if (!(t->speakers[t->nspeakers - 1].name = utf8_dup_valid(nm)))
				return -1;
		}
	}
	return 0;
}

static int word_from_json(json_t *w, double seg_start, double seg_end, struct transcript *t)
{
	static const char *const keys[] = {"word", "start", "end", "confidence", "speaker", NULL};
	double s, e, c;
	const char *text;

	if (!json_is_object(w) || !keys_known(w, keys))
		return -1;
	text = get_text(w, "word");
	if (!text || get_time(w, "start", &s) < 0 || get_time(w, "end", &e) < 0 ||
	    get_conf(w, "confidence", &c) < 0)
		return -1;
	if (s > e || s < seg_start || e > seg_end || null_or_string(w, "speaker") < 0)
		return -1;
	return transcript_add_word(t, s, e, c, text);
}

static int segment_from_json(json_t *seg, struct transcript *t)
{
	static const char *const keys[] = {"id",    "start",   "end",	 "text", "confidence",
					   "words", "speaker", "edited", NULL};
	json_t *id, *words, *w, *spk, *edited;
	size_t speaker = 0;
	double s, e, c;
	const char *text;
	size_t k;

	if (!json_is_object(seg) || !keys_known(seg, keys))
		return -1;
	/* "id" is derived (the index); it may be left out, but not be of another type. */
	id = json_object_get(seg, "id");
	if (id && (!json_is_integer(id) || json_integer_value(id) < 0))
		return -1;
	text = get_text(seg, "text");
	if (!text || get_time(seg, "start", &s) < 0 || get_time(seg, "end", &e) < 0 ||
	    get_conf(seg, "confidence", &c) < 0 || s > e)
		return -1;
	words = json_object_get(seg, "words");
	if (words && !json_is_array(words))
		return -1;
	spk = json_object_get(seg, "speaker");
	if (spk && !json_is_null(spk)) {
		speaker = speaker_by_number(t, parse_speaker_id(json_string_value(spk)));
		if (!speaker)
			return -1; /* a speaker the transcript does not declare */
	}
	edited = json_object_get(seg, "edited");
	if (edited && !json_is_boolean(edited))
		return -1;
	if (transcript_add_segment(t, s, e, c, text) < 0)
		return -1;
	t->segments[t->nsegments - 1].speaker = speaker;
	t->segments[t->nsegments - 1].edited = json_is_true(edited);
	json_array_foreach(words, k, w)
	{
		if (word_from_json(w, s, e, t) < 0)
			return -1;
	}
	return 0;
}

int transcript_from_json(json_t *j, struct transcript *t)
{
	static const char *const keys[] = {"language", "duration", "text",
					   "segments", "speakers", NULL};
	struct transcript tmp = {0};
	json_t *lang, *text, *segs, *seg;
	size_t i;

	if (!t)
		return -1;
	memset(t, 0, sizeof *t);
	if (!json_is_object(j) || !keys_known(j, keys))
		goto fail;
	lang = json_object_get(j, "language");
	if (!json_is_string(lang) ||
	    !language_valid(json_string_value(lang), json_string_length(lang)) ||
	    strlen(json_string_value(lang)) != json_string_length(lang))
		goto fail;
	memcpy(tmp.language, json_string_value(lang), json_string_length(lang) + 1);
	if (get_time(j, "duration", &tmp.duration) < 0)
		goto fail;
	/* "text" is derived from the segments; optional, but a string if present. */
	text = json_object_get(j, "text");
	if (text && !json_is_string(text))
		goto fail;
	segs = json_object_get(j, "segments");
	if (!json_is_array(segs))
		goto fail;
	if (speakers_from_json(json_object_get(j, "speakers"), &tmp) < 0)
		goto fail;
	json_array_foreach(segs, i, seg)
	{
		if (segment_from_json(seg, &tmp) < 0)
			goto fail;
	}
	*t = tmp; /* the caller owns it now */
	return 0;
fail:
	transcript_free(&tmp);
	return -1;
}
