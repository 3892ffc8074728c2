/*
 * sphinx.c — the offline engine: PocketSphinx 5prealpha with Debian's en-us
 * model.
 *
 * A PocketSphinx decoder is not thread-safe and costs ~90 MB and ~0.3 s to
 * load, so the engine keeps a small pool of idle decoders behind a mutex:
 * a call takes one (or loads a new one), decodes, and gives it back. Each
 * decoder owns its own cmd_ln_t, because ps_init() writes into the config it
 * is given and sharing one would race.
 *
 * Audio is split into utterances by our own energy VAD (not PocketSphinx's
 * -remove_silence, which drops frames and so loses the time base). Each
 * utterance is buffered (at most SPHINX_UTT_HARD_S seconds, so memory stays
 * flat however long the audio is), prepared (DC removal, a minimum noise
 * floor, cepstral mean from the utterance itself) and decoded on its own;
 * it becomes one segment, with word times from the segmentation and
 * confidences from the lattice posteriors.
 *
 * What the preparation bought, measured with tests/unit/asr_wer.h on ~300 s
 * of espeak-ng speech (5 sets: 2 voices, 2 speeds, 36 sentences, ~1000
 * words): WER 65.9% decoding our VAD's utterances as they are; 33.8% with
 * a noise floor 30 dB below the speech (white; 25 and 35 dB were worse);
 * 32.7% when CMN starts from the utterance's own mean (as batch CMN does;
 * the model's CMN prior fits synthetic speech badly); ~30.5% with the noise
 * tilted by a one-pole low-pass at 0.5 (mean of 4 noise seeds, against
 * 33.5% white). DC removal, level normalisation, -lw 5..8, wider beams,
 * -topn, -wip, -silprob, -pl_window, -fwdflat, -maxhmmpf, VAD hang times:
 * no change beyond the noise of the measurement (+-2%), so decoder
 * defaults are kept.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pocketsphinx.h>
#include <sphinxbase/cmn.h>
#include <sphinxbase/err.h>
#include <sphinxbase/fe.h>
#include <sphinxbase/feat.h>

#include "asr/asr.h"
#include "core/log.h"

#define SPHINX_MODEL_DIR "/usr/share/pocketsphinx/model/en-us"
#define SPHINX_POOL_IDLE 2 /* idle decoders kept loaded (~90 MB each) */

#define FRAME	       160 /* 10 ms at 16 kHz: VAD frame, = the decoder's frame shift */
#define FRAMES_PER_SEC 100
#define CHUNK	       (ASR_RATE / 10) /* samples read from the source at a time */

/* The knobs, with the values measured best (see above). */
struct sphinx_tune {
	/* VAD */
	double vad_db;	       /* a frame is speech this far above the noise floor */
	double vad_min_rms;    /* ... and at least this loud (s16 units) */
	int onset_frames;      /* speech frames in a row to start an utterance */
	int hang_frames;       /* silent frames in a row to end one */
	int short_hang_frames; /* the same once an utterance is longer than soft_s */
	int preroll_frames;    /* silence kept before the first speech frame */
	double soft_s, hard_s; /* utterance lengths where we cut more eagerly / always */
	/* audio preparation */
	int highpass;	  /* first-order DC-blocking filter */
	double noise_snr; /* raise the noise floor to this many dB below the speech; 0: off */
	double noise_lp;  /* one-pole low-pass on that noise (0: white) */
	int cmn_prewarm;  /* start live CMN from the utterance's own mean */
};

static const struct sphinx_tune tune = {
    .vad_db = 12,
    .vad_min_rms = 40,
    .onset_frames = 3,
    .hang_frames = 40,
    .short_hang_frames = 12,
    .preroll_frames = 25,
    .soft_s = 20,
    .hard_s = 30,
    .highpass = 1,
    .noise_snr = 30,
    .noise_lp = 0.5,
    .cmn_prewarm = 1,
};

#define SPHINX_UTT_HARD_S 30 /* keep in step with tune.hard_s: sizes the buffer */

/* A loaded decoder and the CMN state it started with. */
struct decoder {
	ps_decoder_t *ps;
	mfcc_t *cmn0; /* owned; NULL when the model uses no live CMN */
	int veclen;
};

struct sphinx {
	char *hmm, *lm, *dict; /* owned */
	pthread_mutex_t lock;  /* guards idle[] */
	struct decoder *idle[SPHINX_POOL_IDLE];
	size_t nidle;
};

/* ps_init() touches process-wide state (logging), so loads are serialised. */
static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t quiet_once = PTHREAD_ONCE_INIT;

static void quiet_sphinx(void)
{
	/* PocketSphinx logs chatty lines to stderr; our logs are JSON lines. */
	err_set_logfp(NULL);
}

static void decoder_free(struct decoder *d)
{
	if (!d)
		return;
	if (d->ps) {
		pthread_mutex_lock(&load_lock);
		ps_free(d->ps);
		pthread_mutex_unlock(&load_lock);
	}
	free(d->cmn0);
	free(d);
}

/* A newly loaded decoder (free with decoder_free), or NULL. */
static struct decoder *decoder_load(struct sphinx *sp)
{
	const char *argv[10];
	int argc = 0;
	argv[argc++] = "-hmm";
	argv[argc++] = sp->hmm;
	argv[argc++] = "-lm";
	argv[argc++] = sp->lm;
	argv[argc++] = "-dict";
	argv[argc++] = sp->dict;
	argv[argc++] = "-remove_silence"; /* our VAD cuts utterances; keep the time base */
	argv[argc++] = "no";
	argv[argc++] = "-bestpath"; /* lattice posteriors for confidences */
	argv[argc++] = "yes";
	struct decoder *d = calloc(1, sizeof *d);
	if (!d)
		return NULL;
	pthread_mutex_lock(&load_lock);
	/* The decoder keeps its own reference to the config. */
	cmd_ln_t *config = cmd_ln_parse_r(NULL, ps_args(), argc, (char **)argv, TRUE);
	if (config) {
		d->ps = ps_init(config);
		cmd_ln_free_r(config);
	}
	pthread_mutex_unlock(&load_lock);
	if (!d->ps)
		goto fail;
	feat_t *feat = ps_get_feat(d->ps);
	if (feat && feat->cmn_struct && feat->cmn_struct->veclen > 0) {
		d->veclen = feat->cmn_struct->veclen;
		d->cmn0 = malloc((size_t)d->veclen * sizeof *d->cmn0);
		if (!d->cmn0)
			goto fail;
		memcpy(d->cmn0, feat->cmn_struct->cmn_mean, (size_t)d->veclen * sizeof *d->cmn0);
	}
	return d;
fail:
	decoder_free(d);
	return NULL;
}

/*
 * A decoder for one call: from the pool or newly loaded; NULL if the model
 * will not load. Live CMN carries its running mean from one utterance to
 * the next; it is put back to the model's initial value so that a result
 * does not depend on what the decoder heard for an earlier caller.
 */
static struct decoder *decoder_get(struct sphinx *sp)
{
	struct decoder *d = NULL;
	pthread_mutex_lock(&sp->lock);
	if (sp->nidle)
		d = sp->idle[--sp->nidle];
	pthread_mutex_unlock(&sp->lock);
	if (!d)
		return decoder_load(sp);
	feat_t *feat = ps_get_feat(d->ps);
	if (d->cmn0 && feat && feat->cmn_struct)
		cmn_live_set(feat->cmn_struct, d->cmn0);
	return d;
}

static void decoder_put(struct sphinx *sp, struct decoder *d, int broken)
{
	if (!d)
		return;
	pthread_mutex_lock(&sp->lock);
	if (!broken && sp->nidle < SPHINX_POOL_IDLE) {
		sp->idle[sp->nidle++] = d;
		d = NULL;
	}
	pthread_mutex_unlock(&sp->lock);
	decoder_free(d);
}

struct sphinx_word {
	double start, end, conf;
	char text[64]; /* the dictionary's longest entries are ~35 bytes */
};

/* One transcribe call's state. */
struct run {
	struct sphinx *sp;
	struct decoder *dec;
	ps_decoder_t *ps; /* dec->ps */
	int ps_broken;	  /* free rather than pool it */
	struct asr_source *src;
	const struct asr_opts *o;
	struct transcript *out;

	/* filter state */
	double hp_x, hp_y;
	uint32_t rng;

	/* VAD */
	double noise;	 /* running noise-floor energy; <0 until the first frame */
	int in_speech;	 /* inside an utterance */
	int run_speech;	 /* speech frames in a row */
	int run_silence; /* silent frames in a row (inside an utterance) */

	/* the utterance being collected: filtered samples, speech flags per frame */
	int16_t *utt;
	size_t utt_len, utt_cap;   /* samples */
	unsigned char *utt_speech; /* per frame */
	long long utt_start;	   /* sample index of utt[0] in the whole audio */

	struct sphinx_word *words; /* one utterance's words, reused */
	size_t words_cap;

	long long total;      /* samples read so far */
	double last_progress; /* last fraction reported */
	int16_t frame[FRAME]; /* a partly filled frame carried between reads */
	size_t frame_len;
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
	if (f < r->last_progress + 0.01 && f < 1)
		return;
	r->last_progress = f;
	r->o->progress(r->o->progress_ctx, f);
}

/* A filler or silence token rather than a word: <s>, </s>, <sil>, [NOISE], ++UH++. */
static int is_filler(const char *w)
{
	return !*w || w[0] == '<' || w[0] == '[' || (w[0] == '+' && w[1] == '+');
}

/* "read(2)" -> "read": strip the alternate-pronunciation marker into buf. */
static void word_clean(const char *w, char *buf, size_t len)
{
	snprintf(buf, len, "%s", w);
	size_t n = strlen(buf);
	if (n > 3 && buf[n - 1] == ')') {
		char *p = strrchr(buf, '(');
		if (p && p > buf) {
			char *q = p + 1;
			while (*q >= '0' && *q <= '9')
				q++;
			if (q > p + 1 && *q == ')' && q[1] == '\0')
				*p = '\0';
		}
	}
}

static double clamp01(double x)
{
	return !(x > 0) ? 0 : x > 1 ? 1 : x;
}

static uint32_t xorshift(uint32_t *s)
{
	uint32_t x = *s;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *s = x;
}

/* A sample of roughly normal noise with unit variance (sum of 4 uniforms). */
static double noise_sample(uint32_t *rng)
{
	double s = 0;
	for (int i = 0; i < 4; i++)
		s += (double)xorshift(rng) / 4294967296.0;
	return (s - 2.0) * 1.7320508; /* var of the sum is 4/12 */
}

/*
 * The acoustic model was trained on recordings that always have some
 * background noise; runs of near-silence (synthetic or gated audio) give
 * log-energies and cepstra it never saw. Measure the speech and the
 * quietest frames and, when the floor is more than noise_snr dB below the
 * speech, add noise to bring it up to that. Real recordings mostly have a
 * floor above that already and are left alone.
 */
static void add_noise_floor(struct run *r)
{
	size_t nframes = r->utt_len / FRAME;
	if (!nframes)
		return;
	double speech = 0, quiet = -1;
	size_t nspeech = 0;
	for (size_t f = 0; f < nframes; f++) {
		double e = 0;
		for (size_t i = f * FRAME; i < (f + 1) * FRAME; i++)
			e += (double)r->utt[i] * r->utt[i];
		e /= FRAME;
		if (r->utt_speech[f]) {
			speech += e;
			nspeech++;
		}
		if (quiet < 0 || e < quiet)
			quiet = e;
	}
	if (!nspeech)
		return;
	speech /= (double)nspeech;
	double want = speech / pow(10, tune.noise_snr / 10);
	if (quiet >= want)
		return;
	double sd = sqrt(want - quiet);
	double a = tune.noise_lp, lp = 0, norm = sqrt((1 + a) / (1 - a));
	for (size_t i = 0; i < r->utt_len; i++) {
		lp = a * lp + (1 - a) * noise_sample(&r->rng);
		double v = r->utt[i] + sd * lp * norm;
		r->utt[i] = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : lrint(v));
	}
}

/*
 * Cepstral mean normalisation works best with the utterance's own mean
 * (what batch CMN does), but batch CMN needs the utterance in one call,
 * which cannot be cancelled. So compute the cepstra once on the side,
 * average them, and start live CMN from that mean; the utterance can then
 * be fed in chunks. Costs one extra front-end pass (~3% of decoding).
 */
static void cmn_prewarm(struct run *r)
{
	enum { ROWS = 128 };
	fe_t *fe = ps_get_fe(r->ps);
	feat_t *feat = ps_get_feat(r->ps);
	if (!fe || !feat || !feat->cmn_struct)
		return;
	int ncep = fe_get_output_size(fe);
	if (ncep <= 0 || ncep != feat->cmn_struct->veclen || ncep > 64)
		return;
	mfcc_t *block = malloc((size_t)(ROWS + 1) * (size_t)ncep * sizeof *block);
	mfcc_t *rows[ROWS + 1];
	double sum[64] = {0};
	long nframes = 0;
	if (!block)
		return;
	for (int i = 0; i <= ROWS; i++)
		rows[i] = block + (size_t)i * (size_t)ncep;
	const int16 *p = r->utt;
	size_t left = r->utt_len;
	if (fe_start_utt(fe) < 0)
		goto done;
	while (left) {
		int32 n = ROWS;
		if (fe_process_frames(fe, &p, &left, rows, &n, NULL) < 0)
			goto done;
		for (int32 i = 0; i < n; i++)
			for (int j = 0; j < ncep; j++)
				sum[j] += rows[i][j];
		nframes += n;
		if (!n)
			break;
	}
	int32 last = 0;
	if (fe_end_utt(fe, rows[ROWS], &last) < 0)
		goto done;
	if (last > 0) {
		for (int j = 0; j < ncep; j++)
			sum[j] += rows[ROWS][j];
		nframes += last;
	}
	if (nframes > 0) {
		mfcc_t mean[64];
		for (int j = 0; j < ncep; j++)
			mean[j] = (mfcc_t)(sum[j] / (double)nframes);
		cmn_live_set(feat->cmn_struct, mean);
	}
done:
	free(block);
}

/* Decode the buffered utterance into one segment of r->out. ASR_OK or an rc. */
static int utt_decode(struct run *r, char *err, size_t errlen)
{
	if (!r->utt_len)
		return ASR_OK;
	if (tune.noise_snr > 0)
		add_noise_floor(r);
	ps_decoder_t *ps = r->ps;
	if (tune.cmn_prewarm)
		cmn_prewarm(r);
	if (ps_start_utt(ps) < 0)
		goto fail_decoder;
	for (size_t off = 0; off < r->utt_len; off += CHUNK) {
		size_t n = r->utt_len - off < CHUNK ? r->utt_len - off : CHUNK;
		if (ps_process_raw(ps, r->utt + off, n, FALSE, FALSE) < 0)
			goto fail_decoder;
		if (cancelled(r)) {
			ps_end_utt(ps);
			return ASR_CANCELLED;
		}
	}
	if (ps_end_utt(ps) < 0)
		goto fail_decoder;

	double base = (double)r->utt_start / ASR_RATE;
	double utt_end = base + (double)r->utt_len / ASR_RATE;
	logmath_t *lmath = ps_get_logmath(ps);
	/* ps_get_prob computes the lattice posteriors that ps_seg_prob reads. */
	(void)ps_get_prob(ps);

	/* Words first (into r->words), then the segment and its words. */
	size_t nw = 0, textlen = 0;
	for (ps_seg_t *it = ps_seg_iter(ps); it; it = ps_seg_next(it)) {
		const char *w = ps_seg_word(it);
		if (!w || is_filler(w))
			continue;
		if (nw == r->words_cap) {
			size_t cap = r->words_cap ? r->words_cap * 2 : 64;
			struct sphinx_word *t = realloc(r->words, cap * sizeof *t);
			if (!t) {
				ps_seg_free(it);
				goto fail_nomem;
			}
			r->words = t;
			r->words_cap = cap;
		}
		struct sphinx_word *sw = &r->words[nw++];
		word_clean(w, sw->text, sizeof sw->text);
		int sf = 0, ef = 0;
		ps_seg_frames(it, &sf, &ef);
		int32 ascr, lscr, lback;
		sw->conf = clamp01(logmath_exp(lmath, ps_seg_prob(it, &ascr, &lscr, &lback)));
		sw->start = base + (double)sf / FRAMES_PER_SEC;
		sw->end = base + (double)(ef + 1) / FRAMES_PER_SEC;
		if (sw->end > utt_end)
			sw->end = utt_end;
		if (sw->start > sw->end)
			sw->start = sw->end;
		textlen += strlen(sw->text) + 1;
	}
	if (!nw)
		return ASR_OK; /* only noise or silence */

	char *text = malloc(textlen);
	if (!text)
		goto fail_nomem;
	double confsum = 0;
	size_t pos = 0;
	for (size_t i = 0; i < nw; i++) {
		size_t wl = strlen(r->words[i].text);
		if (pos)
			text[pos++] = ' ';
		memcpy(text + pos, r->words[i].text, wl);
		pos += wl;
		confsum += r->words[i].conf;
	}
	text[pos] = '\0';
	int bad = transcript_add_segment(r->out, r->words[0].start, r->words[nw - 1].end,
					 clamp01(confsum / (double)nw), text) < 0;
	free(text);
	for (size_t i = 0; i < nw && !bad; i++)
		bad = transcript_add_word(r->out, r->words[i].start, r->words[i].end,
					  r->words[i].conf, r->words[i].text) < 0;
	if (bad)
		goto fail_nomem;
	return ASR_OK;

fail_nomem:
	snprintf(err, errlen, "Out of memory while transcribing.");
	return ASR_FAILED;
fail_decoder:
	/* Its state is unknown now: do not give it back to the pool. */
	r->ps_broken = 1;
	snprintf(err, errlen, "The speech recogniser failed on this audio.");
	return ASR_FAILED;
}

/* Empty the utterance buffer and go back to waiting for speech. */
static void utt_reset(struct run *r)
{
	r->utt_len = 0;
	r->in_speech = 0;
	r->run_speech = 0;
	r->run_silence = 0;
}

/* Close the utterance: decode it and start listening for the next. */
static int utt_finish(struct run *r, char *err, size_t errlen)
{
	int rc = utt_decode(r, err, errlen);
	utt_reset(r);
	return rc;
}

/* Feed one 10 ms frame (already filtered) through the VAD. */
static int vad_frame(struct run *r, const int16_t *x, char *err, size_t errlen)
{
	double e = 0;
	for (int i = 0; i < FRAME; i++)
		e += (double)x[i] * x[i];
	e /= FRAME;

	/* Noise floor: follows dips at once, rises slowly (~3 dB/s). */
	if (r->noise < 0 || e < r->noise)
		r->noise = e;
	else
		r->noise = r->noise * 1.0069 + 1e-3;
	double thr = r->noise * pow(10, tune.vad_db / 10);
	double min_e = tune.vad_min_rms * tune.vad_min_rms;
	int speech = e > thr && e > min_e;

	/* Append the frame; in silence, keep only the last preroll frames. */
	size_t nframes = r->utt_len / FRAME;
	if (!r->in_speech && nframes >= (size_t)tune.preroll_frames) {
		memmove(r->utt, r->utt + FRAME, (r->utt_len - FRAME) * sizeof *r->utt);
		memmove(r->utt_speech, r->utt_speech + 1, nframes - 1);
		r->utt_len -= FRAME;
		nframes--;
	}
	memcpy(r->utt + r->utt_len, x, FRAME * sizeof *x);
	r->utt_speech[nframes] = (unsigned char)speech;
	r->utt_len += FRAME;
	r->utt_start = r->total - (long long)r->utt_len; /* frames end at r->total */

	if (!r->in_speech) {
		r->run_speech = speech ? r->run_speech + 1 : 0;
		if (r->run_speech >= tune.onset_frames) {
			r->in_speech = 1;
			r->run_silence = 0;
		}
		return ASR_OK;
	}
	r->run_silence = speech ? 0 : r->run_silence + 1;
	double len_s = (double)r->utt_len / ASR_RATE;
	int hang = len_s >= tune.soft_s ? tune.short_hang_frames : tune.hang_frames;
	if (r->run_silence >= hang || len_s >= tune.hard_s || r->utt_len + FRAME > r->utt_cap)
		return utt_finish(r, err, errlen);
	return ASR_OK;
}

/* Filter and feed n samples (any count; partial frames are carried over). */
static int feed(struct run *r, const int16_t *x, size_t n, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		double v = x[i];
		if (tune.highpass) {
			/* y[n] = x[n] - x[n-1] + 0.995 y[n-1]: removes DC, ~13 Hz corner */
			double y = v - r->hp_x + 0.995 * r->hp_y;
			r->hp_x = v;
			r->hp_y = y;
			v = y;
		}
		r->frame[r->frame_len++] = (int16_t)(v > 32767	  ? 32767
						     : v < -32768 ? -32768
								  : lrint(v));
		r->total++;
		if (r->frame_len == FRAME) {
			r->frame_len = 0;
			int rc = vad_frame(r, r->frame, err, errlen);
			if (rc != ASR_OK)
				return rc;
		}
	}
	return ASR_OK;
}

static int supported_language(const char *l)
{
	return !l || !*l || !strcasecmp(l, "en") || !strcasecmp(l, "en-US") ||
	       !strcasecmp(l, "en_US");
}

static int sphinx_transcribe(struct asr_engine *e, struct asr_source *src, const struct asr_opts *o,
			     struct transcript *out, char *err, size_t errlen)
{
	struct sphinx *sp = e->impl;
	struct run r = {.sp = sp, .src = src, .o = o, .out = out, .noise = -1, .rng = 0x9e3779b9u};
	int16_t *chunk = NULL;
	int rc;
	if (errlen)
		err[0] = '\0';
	memset(out, 0, sizeof *out);
	if (!src || !src->read) {
		snprintf(err, errlen, "No audio to transcribe.");
		return ASR_FAILED;
	}
	if (o && !supported_language(o->language)) {
		snprintf(err, errlen,
			 "The offline recogniser only knows English (en); \"%.20s\" is not "
			 "available.",
			 o->language);
		return ASR_UNSUPPORTED;
	}
	r.dec = decoder_get(sp);
	if (!r.dec) {
		snprintf(err, errlen, "The PocketSphinx model could not be loaded.");
		return ASR_FAILED;
	}
	r.ps = r.dec->ps;
	r.utt_cap = (size_t)SPHINX_UTT_HARD_S * ASR_RATE + FRAME;
	r.utt = malloc(r.utt_cap * sizeof *r.utt);
	r.utt_speech = malloc(r.utt_cap / FRAME + 1);
	chunk = malloc(CHUNK * sizeof *chunk);
	if (!r.utt || !r.utt_speech || !chunk) {
		rc = ASR_FAILED;
		snprintf(err, errlen, "Out of memory while transcribing.");
		goto done;
	}
	snprintf(out->language, sizeof out->language, "en");
	double expect = src->duration > 0 ? src->duration * ASR_RATE : 0;
	for (;;) {
		if (cancelled(&r)) {
			rc = ASR_CANCELLED;
			goto done;
		}
		long n = src->read(src->ctx, chunk, CHUNK);
		if (n == 0)
			break;
		if (n < 0 || n > CHUNK) {
			rc = ASR_FAILED;
			snprintf(err, errlen, "The audio could not be read.");
			goto done;
		}
		rc = feed(&r, chunk, (size_t)n, err, errlen);
		if (rc != ASR_OK)
			goto done;
		if (expect > 0)
			report(&r, (double)r.total / expect);
	}
	/* The tail: a last partial frame is padded with silence, then flushed. */
	long long samples = r.total;
	if (r.frame_len) {
		memset(r.frame + r.frame_len, 0, (FRAME - r.frame_len) * sizeof *r.frame);
		r.total += (long long)(FRAME - r.frame_len);
		r.frame_len = 0;
		rc = vad_frame(&r, r.frame, err, errlen);
		if (rc != ASR_OK)
			goto done;
	}
	if (r.in_speech) {
		rc = utt_finish(&r, err, errlen);
		if (rc != ASR_OK)
			goto done;
	}
	out->duration = (double)samples / ASR_RATE;
	/* Times in the padding of the last frame are clamped to the real end. */
	for (size_t i = 0; i < out->nsegments; i++) {
		if (out->segments[i].end > out->duration)
			out->segments[i].end = out->duration;
		if (out->segments[i].start > out->segments[i].end)
			out->segments[i].start = out->segments[i].end;
	}
	for (size_t i = 0; i < out->nwords; i++) {
		if (out->words[i].end > out->duration)
			out->words[i].end = out->duration;
		if (out->words[i].start > out->words[i].end)
			out->words[i].start = out->words[i].end;
	}
	report(&r, 1);
	rc = ASR_OK;
done:
	if (rc == ASR_CANCELLED)
		snprintf(err, errlen, "Transcription was cancelled.");
	if (rc != ASR_OK)
		transcript_free(out);
	free(chunk);
	free(r.utt);
	free(r.utt_speech);
	free(r.words);
	decoder_put(sp, r.dec, r.ps_broken);
	return rc;
}

static void sphinx_destroy(struct asr_engine *e)
{
	struct sphinx *sp = e->impl;
	if (!sp)
		return;
	for (size_t i = 0; i < sp->nidle; i++)
		decoder_free(sp->idle[i]);
	pthread_mutex_destroy(&sp->lock);
	free(sp->hmm);
	free(sp->lm);
	free(sp->dict);
	free(sp);
	e->impl = NULL;
}

static int readable(const char *dir, const char *file)
{
	char path[4096];
	if (file)
		snprintf(path, sizeof path, "%s/%s", dir, file);
	else
		snprintf(path, sizeof path, "%s", dir);
	return access(path, R_OK) == 0;
}

/*
 * Returns a new engine (caller frees with asr_engine_free), or NULL with
 * err. The model is loaded once here, so a broken installation is found at
 * start-up rather than on the first job.
 */
struct asr_engine *asr_sphinx_new(const struct asr_sphinx_config *c, char *err, size_t errlen)
{
	struct asr_engine *e = NULL;
	struct sphinx *sp = NULL;
	const char *hmm = c && c->hmm ? c->hmm : SPHINX_MODEL_DIR "/en-us";
	const char *lm = c && c->lm ? c->lm : SPHINX_MODEL_DIR "/en-us.lm.bin";
	const char *dict = c && c->dict ? c->dict : SPHINX_MODEL_DIR "/cmudict-en-us.dict";

	pthread_once(&quiet_once, quiet_sphinx);
	/*
	 * Some sphinxbase loaders exit() on missing files instead of failing,
	 * so check what we can before handing the paths over.
	 */
	static const char *const hmm_files[] = {"mdef", "means", "variances",
						"transition_matrices"};
	for (size_t i = 0; i < sizeof hmm_files / sizeof *hmm_files; i++)
		if (!readable(hmm, hmm_files[i])) {
			snprintf(err, errlen,
				 "PocketSphinx acoustic model %s is missing or incomplete "
				 "(install pocketsphinx-en-us).",
				 hmm);
			return NULL;
		}
	if (!readable(lm, NULL) || !readable(dict, NULL)) {
		snprintf(err, errlen,
			 "PocketSphinx language model %s or dictionary %s cannot be read "
			 "(install pocketsphinx-en-us).",
			 lm, dict);
		return NULL;
	}

	e = calloc(1, sizeof *e);
	sp = calloc(1, sizeof *sp);
	if (!e || !sp)
		goto fail_nomem;
	if (pthread_mutex_init(&sp->lock, NULL) != 0)
		goto fail_nomem;
	sp->hmm = strdup(hmm);
	sp->lm = strdup(lm);
	sp->dict = strdup(dict);
	e->impl = sp;
	e->transcribe = sphinx_transcribe;
	e->destroy = sphinx_destroy;
	snprintf(e->name, sizeof e->name, "sphinx");
	snprintf(e->model, sizeof e->model, "pocketsphinx-en-us-5prealpha");
	if (!sp->hmm || !sp->lm || !sp->dict)
		goto fail_nomem;
	struct decoder *d = decoder_load(sp);
	if (!d) {
		snprintf(err, errlen, "The PocketSphinx model in %s could not be loaded.", hmm);
		goto fail;
	}
	sp->idle[sp->nidle++] = d;
	return e;

fail_nomem:
	snprintf(err, errlen, "Out of memory loading PocketSphinx.");
fail:
	if (e && e->impl)
		asr_engine_free(e);
	else {
		if (sp) {
			free(sp->hmm);
			free(sp->lm);
			free(sp->dict);
		}
		free(sp);
		free(e);
	}
	return NULL;
}
