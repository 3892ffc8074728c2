/*
 * segmented.c — the pipeline engines share: voice-activity segmentation,
 * recognition per segment, word timing, and assembly of the transcript.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asr/align.h"
#include "asr/asr.h"
#include "asr/vad.h"

#define READ_CHUNK (ASR_RATE / 2) /* samples read from the source at a time */

int asr_words_add(struct asr_words *ws, const char *text, size_t len, double start, double end,
		  double conf)
{
	if (ws->n == ws->cap) {
		size_t cap = ws->cap ? ws->cap * 2 : 32;
		struct asr_word *w = realloc(ws->w, cap * sizeof *w);
		if (!w)
			return -1;
		ws->w = w;
		ws->cap = cap;
	}
	char *t = malloc(len + 1);
	if (!t)
		return -1;
	memcpy(t, text, len);
	t[len] = '\0';
	ws->w[ws->n++] = (struct asr_word){.text = t, .start = start, .end = end, .conf = conf};
	return 0;
}

void asr_words_clear(struct asr_words *ws)
{
	for (size_t i = 0; i < ws->n; i++)
		free(ws->w[i].text);
	ws->n = 0;
}

void asr_words_free(struct asr_words *ws)
{
	asr_words_clear(ws);
	free(ws->w);
	ws->w = NULL;
	ws->cap = 0;
}

struct run {
	const struct asr_segmenter *seg;
	struct asr_source *src;
	const struct asr_opts *o;
	asr_recognize_fn fn;
	void *impl;
	struct transcript *out;
	struct asr_words words;
	int16_t *pcm16; /* the segment for the aligner */
	size_t pcm16_cap;
	long long consumed; /* samples read from the source */
	double expect;	    /* samples expected (0: unknown) */
	double last_progress;
	char *err;
	size_t errlen;
};

static int cancelled(const struct run *r)
{
	return r->o && r->o->cancel && atomic_load(r->o->cancel);
}

static void report(struct run *r, double f)
{
	if (!r->o || !r->o->progress)
		return;
	if (f > 1)
		f = 1;
	if (f < r->last_progress + 0.005 && f < 1)
		return;
	r->last_progress = f;
	r->o->progress(r->o->progress_ctx, f);
}

/* Character weight of a word for spreading times: letters and digits, at least 1. */
static double weight(const char *w)
{
	double n = 0;
	for (const unsigned char *p = (const unsigned char *)w; *p; p++)
		if ((*p >= '0' && *p <= '9') || ((*p | 32) >= 'a' && (*p | 32) <= 'z') ||
		    *p >= 0xc0)
			n++;
	return n > 0 ? n + 1 : 1;
}

/*
 * Give every untimed word a time: runs of untimed words share the gap
 * between their timed neighbours (or the speech bounds) by character
 * weight. Times stay in order and inside [lo, hi].
 */
static void fill_times(struct asr_words *ws, double lo, double hi)
{
	size_t i = 0;
	while (i < ws->n) {
		if (ws->w[i].start >= 0) {
			i++;
			continue;
		}
		size_t j = i;
		while (j < ws->n && ws->w[j].start < 0)
			j++;
		double a = i ? ws->w[i - 1].end : lo;
		double b = j < ws->n ? ws->w[j].start : hi;
		if (b < a)
			b = a;
		double total = 0;
		for (size_t k = i; k < j; k++)
			total += weight(ws->w[k].text);
		double t = a;
		for (size_t k = i; k < j; k++) {
			double d = (b - a) * weight(ws->w[k].text) / total;
			ws->w[k].start = t;
			ws->w[k].end = t + d;
			t += d;
		}
		i = j;
	}
	/* Monotonic and inside the bounds whatever the engine said. */
	double prev = lo;
	for (size_t k = 0; k < ws->n; k++) {
		struct asr_word *w = &ws->w[k];
		if (!(w->start >= prev))
			w->start = prev;
		if (w->start > hi)
			w->start = hi;
		if (!(w->end >= w->start))
			w->end = w->start;
		if (w->end > hi)
			w->end = hi;
		prev = w->start;
	}
}

static int on_segment(void *ctx, const struct vad_segment *s)
{
	struct run *r = ctx;
	if (cancelled(r))
		return ASR_CANCELLED;
	asr_words_clear(&r->words);
	int rc = r->fn(r->impl, s->pcm, s->n, r->o, &r->words, r->err, r->errlen);
	if (rc != ASR_OK)
		return rc;
	double off = (double)s->start_sample / ASR_RATE;
	double sp0 = (double)(s->speech_start - s->start_sample) / ASR_RATE;
	double sp1 = (double)(s->speech_end - s->start_sample) / ASR_RATE;
	double len = (double)s->n / ASR_RATE;
	if (r->words.n) {
		bool untimed = false;
		for (size_t i = 0; i < r->words.n; i++)
			untimed |= r->words.w[i].start < 0;
		if (untimed && r->seg && r->seg->aligner) {
			if (r->pcm16_cap < s->n) {
				int16_t *p = realloc(r->pcm16, s->n * sizeof *p);
				if (!p) {
					snprintf(r->err, r->errlen,
						 "Out of memory while transcribing.");
					return ASR_FAILED;
				}
				r->pcm16 = p;
				r->pcm16_cap = s->n;
			}
			for (size_t i = 0; i < s->n; i++) {
				float v = s->pcm[i] * 32768.0f;
				r->pcm16[i] = (int16_t)(v > 32767    ? 32767
							: v < -32768 ? -32768
								     : lrintf(v));
			}
			struct asr_words copy = r->words;
			if (asr_align(r->seg->aligner, r->pcm16, s->n, &copy) < 0)
				for (size_t i = 0; i < r->words.n; i++)
					r->words.w[i].start = r->words.w[i].end = -1;
		}
		fill_times(&r->words, sp0, sp1 > sp0 ? sp1 : len);
		/* The segment: the speech the VAD found, widened to hold its words. */
		double start = sp0, end = sp1, conf = 0;
		size_t textlen = 1;
		for (size_t i = 0; i < r->words.n; i++) {
			struct asr_word *w = &r->words.w[i];
			if (w->start < start)
				start = w->start;
			if (w->end > end)
				end = w->end;
			conf += w->conf;
			textlen += strlen(w->text) + 1;
		}
		char *text = malloc(textlen);
		if (!text) {
			snprintf(r->err, r->errlen, "Out of memory while transcribing.");
			return ASR_FAILED;
		}
		size_t pos = 0;
		for (size_t i = 0; i < r->words.n; i++) {
			size_t wl = strlen(r->words.w[i].text);
			if (pos)
				text[pos++] = ' ';
			memcpy(text + pos, r->words.w[i].text, wl);
			pos += wl;
		}
		text[pos] = '\0';
		int bad = transcript_add_segment(r->out, off + start, off + end,
						 conf / (double)r->words.n, text) < 0;
		free(text);
		for (size_t i = 0; i < r->words.n && !bad; i++) {
			struct asr_word *w = &r->words.w[i];
			bad = transcript_add_word(r->out, off + w->start, off + w->end, w->conf,
						  w->text) < 0;
		}
		if (bad) {
			snprintf(r->err, r->errlen, "Out of memory while transcribing.");
			return ASR_FAILED;
		}
	}
	if (r->expect > 0)
		report(r, (double)(s->start_sample + (long long)s->n) / r->expect);
	return 0;
}

int asr_segmented_transcribe(const struct asr_segmenter *seg, struct asr_source *src,
			     const struct asr_opts *o, asr_recognize_fn fn, void *impl,
			     struct transcript *out, char *err, size_t errlen)
{
	struct run r = {.seg = seg,
			.src = src,
			.o = o,
			.fn = fn,
			.impl = impl,
			.out = out,
			.err = err,
			.errlen = errlen};
	int16_t *chunk = malloc(READ_CHUNK * sizeof *chunk);
	float *fchunk = malloc(READ_CHUNK * sizeof *fchunk);
	struct vad_stream *vs = vad_stream_new(seg ? seg->vad : NULL, seg ? seg->params : NULL);
	int rc = ASR_OK;
	memset(out, 0, sizeof *out);
	if (errlen)
		err[0] = '\0';
	if (!chunk || !fchunk || !vs) {
		snprintf(err, errlen, "Out of memory while transcribing.");
		rc = ASR_FAILED;
		goto done;
	}
	r.expect = src->duration > 0 ? src->duration * ASR_RATE : 0;
	for (;;) {
		if (cancelled(&r)) {
			rc = ASR_CANCELLED;
			goto done;
		}
		long n = src->read(src->ctx, chunk, READ_CHUNK);
		if (n == 0)
			break;
		if (n < 0 || n > READ_CHUNK) {
			snprintf(err, errlen, "The audio could not be read.");
			rc = ASR_FAILED;
			goto done;
		}
		for (long i = 0; i < n; i++)
			fchunk[i] = (float)chunk[i] / 32768.0f;
		r.consumed += n;
		rc = vad_stream_feed(vs, fchunk, (size_t)n, on_segment, &r, err, errlen);
		if (rc < 0 && !err[0])
			snprintf(err, errlen, "Voice-activity detection failed.");
		if (rc == -1)
			rc = ASR_FAILED;
		if (rc)
			goto done;
	}
	rc = vad_stream_finish(vs, on_segment, &r, err, errlen);
	if (rc == -1)
		rc = ASR_FAILED;
	if (rc)
		goto done;
	out->duration = (double)r.consumed / ASR_RATE;
	report(&r, 1);
done:
	if (rc == ASR_CANCELLED)
		snprintf(err, errlen, "Transcription was cancelled.");
	if (rc != ASR_OK)
		transcript_free(out);
	asr_words_free(&r.words);
	free(r.pcm16);
	free(chunk);
	free(fchunk);
	vad_stream_free(vs);
	return rc;
}
