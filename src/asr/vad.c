/*
 * vad.c — Silero VAD v5 (or an energy detector) and the pause segmenter.
 *
 * Silero v5 takes 512 new samples with the last 64 samples of the frame
 * before as context ([1, 576] float), a recurrent state [2, 1, 128] and
 * the sample rate, and gives the probability that the frame is speech.
 */
#include "asr/vad.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asr/asr.h"
#include "asr/ort.h"

#define CONTEXT	      64
#define STATE_N	      (2 * 1 * 128)
#define VAD_MODEL_MAX (16u << 20)

struct vad_model {
	struct ort_session *s;
};

struct vad_model *vad_model_load(const char *path, const char *sha256_hex, char *err, size_t errlen)
{
	size_t len = 0;
	void *bytes = ort_read_model(path, sha256_hex, VAD_MODEL_MAX, &len, err, errlen);
	if (!bytes)
		return NULL;
	struct vad_model *m = calloc(1, sizeof *m);
	if (m)
		m->s = ort_session_new(bytes, len, 1, err, errlen);
	else
		snprintf(err, errlen, "Out of memory.");
	free(bytes);
	if (m && !m->s) {
		free(m);
		return NULL;
	}
	return m;
}

void vad_model_free(struct vad_model *m)
{
	if (!m)
		return;
	ort_session_free(m->s);
	free(m);
}

void vad_params_default(struct vad_params *p)
{
	*p = (struct vad_params){
	    .threshold = 0.5,
	    .neg_threshold = 0.35,
	    .min_silence_s = 0.4,
	    .min_speech_s = 0.2,
	    .pad_s = 0.2,
	    .max_s = 20,
	    .lookback_s = 6,
	};
}

struct vad_stream {
	struct vad_model *model;
	struct vad_params p;
	/* Silero inputs, reused from frame to frame */
	struct ort_value *in, *state, *sr;
	/* energy detector */
	double noise;

	/* the frame being filled */
	float frame[VAD_FRAME];
	size_t frame_len;
	long long nframes; /* frames decided so far */

	/* audio kept: buf[0] is sample buf_start of the stream */
	float *buf;
	size_t buf_len, buf_cap;
	long long buf_start;
	long long emitted_end; /* no segment starts before this sample */

	/* probabilities of the frames since prob_frame0 (for choosing a cut) */
	float *prob;
	size_t prob_len, prob_cap;
	long long prob_frame0;

	bool triggered;
	long long speech_start;	 /* sample */
	long long silence_start; /* sample where the current pause began; -1 when none */

	/* samples of the thresholds */
	long long min_silence, min_speech, pad, max_len, lookback;
};

bool vad_stream_neural(const struct vad_stream *s)
{
	return s && s->model;
}

void vad_stream_free(struct vad_stream *s)
{
	if (!s)
		return;
	ort_value_free(s->in);
	ort_value_free(s->state);
	ort_value_free(s->sr);
	free(s->buf);
	free(s->prob);
	free(s);
}

struct vad_stream *vad_stream_new(struct vad_model *model, const struct vad_params *p)
{
	struct vad_stream *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	if (p)
		s->p = *p;
	else
		vad_params_default(&s->p);
	if (s->p.max_s < 2)
		s->p.max_s = 2;
	if (s->p.lookback_s > s->p.max_s / 2)
		s->p.lookback_s = s->p.max_s / 2;
	s->min_silence = (long long)(s->p.min_silence_s * ASR_RATE);
	s->min_speech = (long long)(s->p.min_speech_s * ASR_RATE);
	s->pad = (long long)(s->p.pad_s * ASR_RATE);
	s->max_len = (long long)(s->p.max_s * ASR_RATE);
	s->lookback = (long long)(s->p.lookback_s * ASR_RATE);
	s->silence_start = -1;
	s->noise = -1;
	/* The longest segment plus its padding and the frame being decided, and some slack. */
	s->buf_cap = (size_t)(s->max_len + 2 * s->pad + s->min_silence + 4 * VAD_FRAME);
	s->buf = malloc(s->buf_cap * sizeof *s->buf);
	s->prob_cap = s->buf_cap / VAD_FRAME + 4;
	s->prob = malloc(s->prob_cap * sizeof *s->prob);
	if (!s->buf || !s->prob)
		goto fail;
	if (model) {
		s->model = model;
		int64_t in_shape[] = {1, CONTEXT + VAD_FRAME}, st_shape[] = {2, 1, 128},
			sr_shape[] = {1};
		s->in = ort_tensor_new(ORT_FLOAT, in_shape, 2);
		s->state = ort_tensor_new(ORT_FLOAT, st_shape, 3);
		s->sr = ort_tensor_new(ORT_INT64, sr_shape, 1);
		if (!s->in || !s->state || !s->sr)
			goto fail;
		*(int64_t *)ort_tensor_data(s->sr) = ASR_RATE;
	}
	return s;
fail:
	vad_stream_free(s);
	return NULL;
}

/* Speech probability of one frame from the energy detector. */
static float energy_prob(struct vad_stream *s, const float *x)
{
	double e = 0;
	for (int i = 0; i < VAD_FRAME; i++)
		e += (double)x[i] * x[i];
	e /= VAD_FRAME;
	/* Noise floor: follows dips at once, rises slowly (~3 dB/s). */
	if (s->noise < 0 || e < s->noise)
		s->noise = e;
	else
		s->noise = s->noise * 1.022 + 1e-12;
	double floor = s->noise > 1e-9 ? s->noise : 1e-9;
	double db = 10 * log10((e + 1e-12) / floor);
	if (e < 1.5e-6) /* about -58 dBFS: silence however quiet the noise is */
		return 0;
	double pr = (db - 6) / 12;
	return (float)(pr < 0 ? 0 : pr > 1 ? 1 : pr);
}

static int silero_prob(struct vad_stream *s, const float *x, float *out, char *err, size_t errlen)
{
	float *in = ort_tensor_data(s->in);
	/* Context: the last 64 samples of the previous frame, already in place at the end. */
	memmove(in, in + VAD_FRAME, CONTEXT * sizeof *in);
	memcpy(in + CONTEXT, x, VAD_FRAME * sizeof *in);
	static const char *const in_names[] = {"input", "state", "sr"};
	static const char *const out_names[] = {"output", "stateN"};
	struct ort_value *ins[] = {s->in, s->state, s->sr}, *outs[2];
	if (ort_run(s->model->s, in_names, ins, 3, out_names, outs, 2, err, errlen))
		return -1;
	int rc = -1;
	float *pr = ort_tensor_data(outs[0]);
	float *st = ort_tensor_data(outs[1]);
	if (pr && st && ort_tensor_count(outs[1]) == STATE_N) {
		memcpy(ort_tensor_data(s->state), st, STATE_N * sizeof *st);
		*out = isfinite(*pr) ? *pr : 0;
		rc = 0;
	} else {
		snprintf(err, errlen, "The VAD model gave an output of an unexpected shape.");
	}
	ort_value_free(outs[0]);
	ort_value_free(outs[1]);
	return rc;
}

/* Forget kept audio before sample keep_from (and probabilities before its frame). */
static void drop_before(struct vad_stream *s, long long keep_from)
{
	if (keep_from <= s->buf_start)
		return;
	long long end = s->buf_start + (long long)s->buf_len;
	if (keep_from > end)
		keep_from = end;
	size_t drop = (size_t)(keep_from - s->buf_start);
	memmove(s->buf, s->buf + drop, (s->buf_len - drop) * sizeof *s->buf);
	s->buf_len -= drop;
	s->buf_start = keep_from;
	long long f0 = keep_from / VAD_FRAME;
	if (f0 > s->prob_frame0) {
		size_t pd = (size_t)(f0 - s->prob_frame0);
		if (pd > s->prob_len)
			pd = s->prob_len;
		memmove(s->prob, s->prob + pd, (s->prob_len - pd) * sizeof *s->prob);
		s->prob_len -= pd;
		s->prob_frame0 += (long long)pd;
	}
}

/* Hand the segment [from, to) (speech [sp0, sp1)) to fn, then forget audio before to. */
static int emit(struct vad_stream *s, long long from, long long to, long long sp0, long long sp1,
		bool forced, vad_segment_fn fn, void *ctx)
{
	if (from < s->buf_start)
		from = s->buf_start;
	if (from < s->emitted_end)
		from = s->emitted_end;
	long long end = s->buf_start + (long long)s->buf_len;
	if (to > end)
		to = end;
	int rc = 0;
	if (to > from) {
		struct vad_segment seg = {.pcm = s->buf + (from - s->buf_start),
					  .n = (size_t)(to - from),
					  .start_sample = from,
					  .speech_start = sp0 < from ? from : sp0,
					  .speech_end = sp1 > to ? to : sp1,
					  .forced = forced};
		rc = fn(ctx, &seg);
	}
	s->emitted_end = to;
	return rc;
}

/* The sample to cut a segment that reached max_len at: the quietest frame of its last seconds. */
static long long cut_point(struct vad_stream *s, long long now, bool *forced)
{
	long long from_f = (now - s->lookback) / VAD_FRAME;
	long long to_f = now / VAD_FRAME;
	long long best = -1;
	float best_p = 2;
	for (long long f = from_f; f < to_f; f++) {
		if (f < s->prob_frame0 || f - s->prob_frame0 >= (long long)s->prob_len)
			continue;
		if (f * VAD_FRAME <= s->speech_start + s->min_speech)
			continue;
		float p = s->prob[f - s->prob_frame0];
		if (p <= best_p) { /* the latest of equals: keeps segments long */
			best_p = p;
			best = f;
		}
	}
	if (best >= 0 && best_p < s->p.threshold) {
		*forced = false;
		return best * VAD_FRAME + VAD_FRAME / 2;
	}
	*forced = true;
	return now;
}

/* Decide one frame (its samples are already at the end of buf). */
static int decide(struct vad_stream *s, float p, vad_segment_fn fn, void *ctx)
{
	long long f = s->nframes++;
	long long f_start = f * VAD_FRAME, f_end = f_start + VAD_FRAME;
	if (s->prob_len == s->prob_cap) { /* cannot happen while buf is bounded; keep it safe */
		memmove(s->prob, s->prob + 1, (s->prob_len - 1) * sizeof *s->prob);
		s->prob_len--;
		s->prob_frame0++;
	}
	if (!s->prob_len)
		s->prob_frame0 = f;
	s->prob[s->prob_len++] = p;

	int rc = 0;
	if (!s->triggered) {
		if (p >= s->p.threshold) {
			s->triggered = true;
			s->speech_start = f_start;
			s->silence_start = -1;
		} else {
			/* Keep only what the next segment's padding may need. */
			drop_before(s, f_end - s->pad - VAD_FRAME);
		}
		return 0;
	}
	if (p >= s->p.threshold)
		s->silence_start = -1;
	else if (p < s->p.neg_threshold && s->silence_start < 0)
		s->silence_start = f_start;
	if (s->silence_start >= 0 && f_end - s->silence_start >= s->min_silence) {
		long long sp1 = s->silence_start;
		if (sp1 - s->speech_start >= s->min_speech)
			rc = emit(s, s->speech_start - s->pad, sp1 + s->pad, s->speech_start, sp1,
				  false, fn, ctx);
		s->triggered = false;
		s->silence_start = -1;
		drop_before(s, f_end - s->pad - VAD_FRAME);
		return rc;
	}
	if (f_end - s->speech_start >= s->max_len) {
		bool forced;
		long long cut = cut_point(s, f_end, &forced);
		rc = emit(s, s->speech_start - s->pad, cut, s->speech_start, cut, forced, fn, ctx);
		s->speech_start = cut;
		s->silence_start = -1;
		drop_before(s, cut);
	}
	return rc;
}

int vad_stream_feed(struct vad_stream *s, const float *x, size_t n, vad_segment_fn fn, void *ctx,
		    char *err, size_t errlen)
{
	while (n) {
		size_t take = VAD_FRAME - s->frame_len;
		if (take > n)
			take = n;
		memcpy(s->frame + s->frame_len, x, take * sizeof *x);
		s->frame_len += take;
		x += take;
		n -= take;
		if (s->frame_len < VAD_FRAME)
			break;
		s->frame_len = 0;
		if (s->buf_len + VAD_FRAME > s->buf_cap) {
			/* Unreachable by construction (segments are cut at max_len). */
			snprintf(err, errlen, "Voice-activity buffer overflow.");
			return -1;
		}
		memcpy(s->buf + s->buf_len, s->frame, sizeof s->frame);
		s->buf_len += VAD_FRAME;
		float p;
		if (s->model) {
			if (silero_prob(s, s->frame, &p, err, errlen))
				return -1;
		} else {
			p = energy_prob(s, s->frame);
		}
		int rc = decide(s, p, fn, ctx);
		if (rc)
			return rc;
	}
	return 0;
}

int vad_stream_finish(struct vad_stream *s, vad_segment_fn fn, void *ctx, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	/* The partial last frame joins the audio (it may hold the end of a word). */
	if (s->frame_len && s->buf_len + s->frame_len <= s->buf_cap) {
		memcpy(s->buf + s->buf_len, s->frame, s->frame_len * sizeof *s->frame);
		s->buf_len += s->frame_len;
		s->frame_len = 0;
	}
	if (!s->triggered)
		return 0;
	long long end = s->buf_start + (long long)s->buf_len;
	long long sp1 = s->silence_start >= 0 ? s->silence_start : end;
	s->triggered = false;
	if (sp1 - s->speech_start < s->min_speech)
		return 0;
	return emit(s, s->speech_start - s->pad, sp1 + s->pad, s->speech_start, sp1, false, fn,
		    ctx);
}
