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
 * Audio is cut into segments at pauses by the shared pipeline (segmented.c,
 * Silero VAD or energy; not PocketSphinx's -remove_silence, which drops
 * frames and so loses the time base). Each segment is prepared (DC removal,
 * a minimum noise floor, cepstral mean from the segment itself) and decoded
 * on its own, with word times from the decoder's segmentation and
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
#include "asr/ps.h"
#include "core/log.h"

#define SPHINX_POOL_IDLE 2 /* idle decoders kept loaded (~90 MB each) */

#define FRAME	       160 /* 10 ms at 16 kHz: VAD frame, = the decoder's frame shift */
#define FRAMES_PER_SEC 100
#define CHUNK	       (ASR_RATE / 10) /* samples read from the source at a time */

/* The knobs, with the values measured best (see above). */
struct sphinx_tune {
	int highpass;	  /* first-order DC-blocking filter */
	double noise_snr; /* raise the noise floor to this many dB below the speech; 0: off */
	double noise_lp;  /* one-pole low-pass on that noise (0: white) */
	int cmn_prewarm;  /* start live CMN from the segment's own mean */
	double speech_db; /* 10 ms frames within this many dB of the loudest count as speech */
};

static const struct sphinx_tune tune = {
    .highpass = 1,
    .noise_snr = 30,
    .noise_lp = 0.5,
    .cmn_prewarm = 1,
    .speech_db = 25,
};

/* A loaded decoder and the CMN state it started with. */
struct decoder {
	ps_decoder_t *ps;
	mfcc_t *cmn0; /* owned; NULL when the model uses no live CMN */
	int veclen;
};

struct sphinx {
	char *hmm, *lm, *dict; /* owned */
	const struct asr_segmenter *seg;
	pthread_mutex_t lock; /* guards idle[] */
	struct decoder *idle[SPHINX_POOL_IDLE];
	size_t nidle;
};

/* ps_init() touches process-wide state (logging), so loads are serialised. */
pthread_mutex_t asr_ps_load_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t quiet_once = PTHREAD_ONCE_INIT;

static void quiet_sphinx(void)
{
	/* PocketSphinx logs chatty lines to stderr; our logs are JSON lines. */
	err_set_logfp(NULL);
}

void asr_ps_quiet(void)
{
	pthread_once(&quiet_once, quiet_sphinx);
}

static void decoder_free(struct decoder *d)
{
	if (!d)
		return;
	if (d->ps) {
		pthread_mutex_lock(&asr_ps_load_lock);
		ps_free(d->ps);
		pthread_mutex_unlock(&asr_ps_load_lock);
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
	pthread_mutex_lock(&asr_ps_load_lock);
	/* The decoder keeps its own reference to the config. */
	cmd_ln_t *config = cmd_ln_parse_r(NULL, ps_args(), argc, (char **)argv, TRUE);
	if (config) {
		d->ps = ps_init(config);
		cmd_ln_free_r(config);
	}
	pthread_mutex_unlock(&asr_ps_load_lock);
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

/* One segment's decoding state. */
struct run {
	struct decoder *dec;
	ps_decoder_t *ps; /* dec->ps */
	int ps_broken;	  /* free rather than pool it */
	const struct asr_opts *o;
	struct asr_words *out;
	uint32_t rng;

	/* the segment: filtered samples, speech flags per 10 ms frame */
	int16_t *utt;
	size_t utt_len;
	unsigned char *utt_speech;
};

static int cancelled(const struct run *r)
{
	return r->o && r->o->cancel && atomic_load(r->o->cancel);
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

/* Decode the prepared segment; its words go to r->out. ASR_OK or an rc. */
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

	double utt_end = (double)r->utt_len / ASR_RATE;
	logmath_t *lmath = ps_get_logmath(ps);
	/* ps_get_prob computes the lattice posteriors that ps_seg_prob reads. */
	(void)ps_get_prob(ps);
	for (ps_seg_t *it = ps_seg_iter(ps); it; it = ps_seg_next(it)) {
		const char *w = ps_seg_word(it);
		if (!w || is_filler(w))
			continue;
		char text[64];
		word_clean(w, text, sizeof text);
		int sf = 0, ef = 0;
		ps_seg_frames(it, &sf, &ef);
		int32 ascr, lscr, lback;
		double conf = clamp01(logmath_exp(lmath, ps_seg_prob(it, &ascr, &lscr, &lback)));
		double start = (double)sf / FRAMES_PER_SEC, end = (double)(ef + 1) / FRAMES_PER_SEC;
		if (end > utt_end)
			end = utt_end;
		if (start > end)
			start = end;
		if (asr_words_add(r->out, text, strlen(text), start, end, conf)) {
			ps_seg_free(it);
			snprintf(err, errlen, "Out of memory while transcribing.");
			return ASR_FAILED;
		}
	}
	return ASR_OK;

fail_decoder:
	/* Its state is unknown now: do not give it back to the pool. */
	r->ps_broken = 1;
	snprintf(err, errlen, "The speech recogniser failed on this audio.");
	return ASR_FAILED;
}

static int supported_language(const char *l)
{
	return !l || !*l || !strcasecmp(l, "en") || !strcasecmp(l, "en-US") ||
	       !strcasecmp(l, "en_US");
}

/* Recognise one segment (asr_recognize_fn). */
static int sphinx_recognize(void *impl, const float *pcm, size_t n, const struct asr_opts *o,
			    struct asr_words *out, char *err, size_t errlen)
{
	struct sphinx *sp = impl;
	struct run r = {.o = o, .out = out, .rng = 0x9e3779b9u};
	int rc = ASR_FAILED;
	r.dec = decoder_get(sp);
	if (!r.dec) {
		snprintf(err, errlen, "The PocketSphinx model could not be loaded.");
		return ASR_FAILED;
	}
	r.ps = r.dec->ps;
	size_t nframes = n / FRAME;
	r.utt = malloc((n ? n : 1) * sizeof *r.utt);
	r.utt_speech = malloc(nframes + 1);
	if (!r.utt || !r.utt_speech) {
		snprintf(err, errlen, "Out of memory while transcribing.");
		goto done;
	}
	/* DC removal into s16, then speech flags per 10 ms from the energy. */
	double hp_x = 0, hp_y = 0, top = 0;
	for (size_t i = 0; i < n; i++) {
		double v = (double)pcm[i] * 32768.0;
		if (tune.highpass) {
			/* y[n] = x[n] - x[n-1] + 0.995 y[n-1]: removes DC, ~13 Hz corner */
			double y = v - hp_x + 0.995 * hp_y;
			hp_x = v;
			hp_y = y;
			v = y;
		}
		r.utt[i] = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : lrint(v));
	}
	r.utt_len = n;
	for (size_t f = 0; f < nframes; f++) {
		double e = 0;
		for (size_t i = f * FRAME; i < (f + 1) * FRAME; i++)
			e += (double)r.utt[i] * r.utt[i];
		if (e > top)
			top = e;
	}
	for (size_t f = 0; f < nframes; f++) {
		double e = 0;
		for (size_t i = f * FRAME; i < (f + 1) * FRAME; i++)
			e += (double)r.utt[i] * r.utt[i];
		r.utt_speech[f] = e > 0 && e >= top / pow(10, tune.speech_db / 10);
	}
	rc = utt_decode(&r, err, errlen);
done:
	free(r.utt);
	free(r.utt_speech);
	decoder_put(sp, r.dec, r.ps_broken);
	return rc;
}

static int sphinx_transcribe(struct asr_engine *e, struct asr_source *src, const struct asr_opts *o,
			     struct transcript *out, char *err, size_t errlen)
{
	struct sphinx *sp = e->impl;
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
	int rc = asr_segmented_transcribe(sp->seg, src, o, sphinx_recognize, sp, out, err, errlen);
	if (rc == ASR_OK)
		snprintf(out->language, sizeof out->language, "en");
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

int asr_ps_check_model(const char *hmm, const char *dict, char *err, size_t errlen)
{
	static const char *const hmm_files[] = {"mdef", "means", "variances",
						"transition_matrices"};
	for (size_t i = 0; i < sizeof hmm_files / sizeof *hmm_files; i++)
		if (!readable(hmm, hmm_files[i])) {
			snprintf(err, errlen,
				 "PocketSphinx acoustic model %s is missing or incomplete "
				 "(install pocketsphinx-en-us).",
				 hmm);
			return -1;
		}
	if (!readable(dict, NULL)) {
		snprintf(err, errlen,
			 "PocketSphinx dictionary %s cannot be read (install pocketsphinx-en-us).",
			 dict);
		return -1;
	}
	return 0;
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
	const char *hmm = c && c->hmm ? c->hmm : ASR_PS_MODEL_DIR "/en-us";
	const char *lm = c && c->lm ? c->lm : ASR_PS_MODEL_DIR "/en-us.lm.bin";
	const char *dict = c && c->dict ? c->dict : ASR_PS_MODEL_DIR "/cmudict-en-us.dict";

	asr_ps_quiet();
	if (asr_ps_check_model(hmm, dict, err, errlen))
		return NULL;
	if (!readable(lm, NULL)) {
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
	sp->seg = c ? c->seg : NULL;
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
