/*
 * moonshine.c — Moonshine Tiny (English) on ONNX Runtime.
 *
 * Per segment (<= 20 s, cut at pauses by the shared pipeline): the encoder
 * turns raw 16 kHz PCM into hidden states; the merged decoder then emits
 * one token at a time (greedy), starting from token 1 and stopping at
 * token 2. Step 0 runs without a cache and returns the cross-attention
 * (encoder) keys/values, which are reused unchanged; the self-attention
 * (decoder) keys/values are fed back at every step.
 *
 * Guards, so that noise, music or another language can never produce a
 * runaway transcript: a budget of tokens per second of audio, and a stop
 * when the same n-gram repeats over and over (the repeats are dropped).
 *
 * Confidence of a word: the lowest probability among its tokens (softmax
 * of the logits at the chosen token).
 *
 * Sessions are shared by all jobs (ONNX Runtime runs them concurrently);
 * each Run uses one intra-op thread, as one job per core is fastest here.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "asr/asr.h"
#include "asr/ort.h"
#include "asr/vocab.h"
#include "core/log.h"

#define LAYERS	     6
#define HEADS	     8
#define HEAD_DIM     36
#define TOKEN_START  1
#define TOKEN_END    2
#define MODEL_MAX    (64u << 20)
#define NKV	     (LAYERS * 4)
#define REPEAT_MAX_N 12 /* longest n-gram checked for repetition */

struct moonshine {
	struct ort_session *enc, *dec;
	struct vocab *vocab;
	const struct asr_segmenter *seg;
	int tokens_per_s;
	/* input / output names of the decoder in the order we pass them */
	char in_names[2 + NKV + 1][48];
	char out_names[1 + NKV][48];
};

static void moonshine_destroy(struct asr_engine *e)
{
	struct moonshine *m = e->impl;
	if (!m)
		return;
	ort_session_free(m->enc);
	ort_session_free(m->dec);
	vocab_free(m->vocab);
	free(m);
	e->impl = NULL;
}

/* Index in the kv arrays: layer l, kind 0 decoder / 1 encoder, 0 key / 1 value. */
static int kv(int l, int enc, int val)
{
	return l * 4 + enc * 2 + val;
}

size_t asr_loop_cut(const int *t, size_t n)
{
	for (size_t g = 1; g <= REPEAT_MAX_N && g * 2 <= n; g++) {
		size_t need = g == 1 ? 8 : g == 2 ? 5 : 4; /* copies that make a loop */
		if (g * need > n)
			continue;
		size_t copies = 1;
		while ((copies + 1) * g <= n &&
		       !memcmp(t + n - g, t + n - (copies + 1) * g, g * sizeof *t))
			copies++;
		if (copies >= need)
			return n - (copies - 1) * g;
	}
	return n;
}

/* log-softmax probability of logits[best] (the arg max). */
static double top_prob(const float *logits, size_t n, int *best)
{
	size_t b = 0;
	for (size_t i = 1; i < n; i++)
		if (logits[i] > logits[b])
			b = i;
	double sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += exp((double)logits[i] - logits[b]);
	*best = (int)b;
	return 1.0 / sum;
}

/* Group tokens into words ("▁" starts one) and add them to out. */
static int add_words(struct moonshine *m, const int *tok, const double *prob, size_t n,
		     struct asr_words *out)
{
	size_t i = 0;
	while (i < n) {
		size_t j = i + 1;
		while (j < n && !vocab_starts_word(m->vocab, tok[j]))
			j++;
		double conf = 1;
		for (size_t k = i; k < j; k++)
			if (prob[k] < conf)
				conf = prob[k];
		char *text = vocab_decode(m->vocab, tok + i, j - i);
		if (!text)
			return -1;
		/* A word may hold a space inside (byte pieces): split it, sharing the confidence.
		 */
		int rc = 0;
		for (char *p = text; *p && !rc;) {
			char *sp = strchr(p, ' ');
			size_t len = sp ? (size_t)(sp - p) : strlen(p);
			if (len)
				rc = asr_words_add(out, p, len, -1, -1, conf);
			p += len;
			while (*p == ' ')
				p++;
		}
		free(text);
		if (rc)
			return -1;
		i = j;
	}
	return 0;
}

static int recognize(void *impl, const float *pcm, size_t n, const struct asr_opts *o,
		     struct asr_words *out, char *err, size_t errlen)
{
	struct moonshine *m = impl;
	struct ort_value *audio = NULL, *hidden = NULL, *ids = NULL, *cache = NULL;
	struct ort_value *past[NKV] = {0}, *outs[1 + NKV] = {0};
	int *tok = NULL;
	double *prob = NULL;
	int rc = ASR_FAILED;
	/* Moonshine needs at least ~0.1 s; pad very short bursts with silence. */
	size_t len = n < ASR_RATE / 4 ? ASR_RATE / 4 : n;
	int64_t ashape[] = {1, (int64_t)len};
	audio = ort_tensor_new(ORT_FLOAT, ashape, 2);
	if (!audio)
		goto nomem;
	memcpy(ort_tensor_data(audio), pcm, n * sizeof *pcm);
	{
		const char *in[] = {"input_values"}, *on[] = {"last_hidden_state"};
		if (ort_run(m->enc, in, &audio, 1, on, &hidden, 1, err, errlen))
			goto done;
	}
	size_t budget = (size_t)ceil((double)n / ASR_RATE * m->tokens_per_s) + 4;
	tok = malloc((budget + 1) * sizeof *tok);
	prob = malloc((budget + 1) * sizeof *prob);
	int64_t one[] = {1, 1}, bshape[] = {1}, empty[] = {0, HEADS, 1, HEAD_DIM};
	ids = ort_tensor_new(ORT_INT64, one, 2);
	cache = ort_tensor_new(ORT_BOOL, bshape, 1);
	if (!tok || !prob || !ids || !cache)
		goto nomem;
	for (int i = 0; i < NKV; i++)
		if (!(past[i] = ort_tensor_new(ORT_FLOAT, empty, 4)))
			goto nomem;
	const char *in_names[2 + NKV + 1], *out_names[1 + NKV];
	for (int i = 0; i < 2 + NKV + 1; i++)
		in_names[i] = m->in_names[i];
	for (int i = 0; i < 1 + NKV; i++)
		out_names[i] = m->out_names[i];
	size_t ntok = 0;
	int last = TOKEN_START;
	bool truncated = false;
	for (size_t step = 0;; step++) {
		if (o && o->cancel && atomic_load(o->cancel)) {
			rc = ASR_CANCELLED;
			goto done;
		}
		if (ntok >= budget) {
			truncated = true;
			break;
		}
		*(int64_t *)ort_tensor_data(ids) = last;
		*(bool *)ort_tensor_data(cache) = step > 0;
		struct ort_value *in[2 + NKV + 1];
		in[0] = ids;
		in[1] = hidden;
		for (int i = 0; i < NKV; i++)
			in[2 + i] = past[i];
		in[2 + NKV] = cache;
		if (ort_run(m->dec, in_names, in, 2 + NKV + 1, out_names, outs, 1 + NKV, err,
			    errlen))
			goto done;
		int64_t shape[4];
		int nd = ort_tensor_shape(outs[0], shape, 4);
		float *logits = ort_tensor_data(outs[0]);
		if (nd != 3 || shape[0] != 1 || shape[1] != 1 || shape[2] <= TOKEN_END || !logits) {
			snprintf(err, errlen,
				 "The Moonshine decoder gave logits of an unexpected shape.");
			goto done;
		}
		int best;
		double p = top_prob(logits, (size_t)shape[2], &best);
		/* Decoder keys/values always move on; encoder ones are taken from step 0 only. */
		for (int l = 0; l < LAYERS; l++)
			for (int enc = 0; enc < 2; enc++)
				for (int val = 0; val < 2; val++) {
					int k = kv(l, enc, val);
					if (enc && step > 0) {
						ort_value_free(outs[1 + k]);
					} else {
						ort_value_free(past[k]);
						past[k] = outs[1 + k];
					}
					outs[1 + k] = NULL;
				}
		ort_value_free(outs[0]);
		outs[0] = NULL;
		if (best == TOKEN_END)
			break;
		tok[ntok] = best;
		prob[ntok++] = p;
		last = best;
		size_t keep = asr_loop_cut(tok, ntok);
		if (keep < ntok) {
			ntok = keep;
			truncated = true;
			break;
		}
	}
	if (truncated)
		log_info("moonshine: decoding stopped early",
			 json_pack("{s:f,s:I}", "seconds", (double)n / ASR_RATE, "tokens",
				   (json_int_t)ntok));
	/* Drop non-text tokens (control ids) before grouping. */
	size_t w = 0;
	for (size_t i = 0; i < ntok; i++)
		if (vocab_is_text(m->vocab, tok[i])) {
			tok[w] = tok[i];
			prob[w++] = prob[i];
		}
	if (add_words(m, tok, prob, w, out))
		goto nomem;
	rc = ASR_OK;
	goto done;
nomem:
	snprintf(err, errlen, "Out of memory while transcribing.");
	rc = ASR_FAILED;
done:
	for (int i = 0; i < 1 + NKV; i++)
		ort_value_free(outs[i]);
	for (int i = 0; i < NKV; i++)
		ort_value_free(past[i]);
	ort_value_free(audio);
	ort_value_free(hidden);
	ort_value_free(ids);
	ort_value_free(cache);
	free(tok);
	free(prob);
	return rc;
}

static int english(const char *l)
{
	return !l || !*l || (!strncasecmp(l, "en", 2) && (!l[2] || l[2] == '-' || l[2] == '_'));
}

static int moonshine_transcribe(struct asr_engine *e, struct asr_source *src,
				const struct asr_opts *o, struct transcript *out, char *err,
				size_t errlen)
{
	struct moonshine *m = e->impl;
	memset(out, 0, sizeof *out);
	if (o && !english(o->language)) {
		snprintf(err, errlen, "Moonshine Tiny knows only English (en), not \"%.20s\".",
			 o->language);
		return ASR_UNSUPPORTED;
	}
	if (!src || !src->read) {
		snprintf(err, errlen, "No audio to transcribe.");
		return ASR_FAILED;
	}
	int rc = asr_segmented_transcribe(m->seg, src, o, recognize, m, out, err, errlen);
	if (rc == ASR_OK)
		snprintf(out->language, sizeof out->language, "en");
	return rc;
}

static struct ort_session *load(const char *dir, const char *file, const char *sha, char *err,
				size_t errlen)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, file);
	size_t len = 0;
	void *bytes = ort_read_model(path, sha, MODEL_MAX, &len, err, errlen);
	if (!bytes)
		return NULL;
	struct ort_session *s = ort_session_new(bytes, len, 1, err, errlen);
	free(bytes);
	return s;
}

/* Check the decoder has the inputs and outputs we feed it. 0 or -1 with err. */
static int check_names(struct moonshine *m, char *err, size_t errlen)
{
	snprintf(m->in_names[0], sizeof m->in_names[0], "input_ids");
	snprintf(m->in_names[1], sizeof m->in_names[1], "encoder_hidden_states");
	snprintf(m->out_names[0], sizeof m->out_names[0], "logits");
	static const char *const kind[] = {"decoder", "encoder"}, *const kv_name[] = {"key",
										      "value"};
	for (int l = 0; l < LAYERS; l++)
		for (int enc = 0; enc < 2; enc++)
			for (int val = 0; val < 2; val++) {
				int k = kv(l, enc, val);
				snprintf(m->in_names[2 + k], sizeof m->in_names[0],
					 "past_key_values.%d.%s.%s", l, kind[enc], kv_name[val]);
				snprintf(m->out_names[1 + k], sizeof m->out_names[0],
					 "present.%d.%s.%s", l, kind[enc], kv_name[val]);
			}
	snprintf(m->in_names[2 + NKV], sizeof m->in_names[0], "use_cache_branch");
	for (int i = 0; i < 2 + NKV + 1; i++) {
		size_t j = 0;
		while (j < ort_session_ninputs(m->dec) &&
		       strcmp(ort_session_input(m->dec, j), m->in_names[i]))
			j++;
		if (j == ort_session_ninputs(m->dec)) {
			snprintf(err, errlen, "The Moonshine decoder has no input \"%s\".",
				 m->in_names[i]);
			return -1;
		}
	}
	if (ort_session_ninputs(m->dec) != 2 + NKV + 1 || ort_session_noutputs(m->dec) != 1 + NKV) {
		snprintf(err, errlen, "The Moonshine decoder is not the merged model expected.");
		return -1;
	}
	return 0;
}

struct asr_engine *asr_moonshine_new(const struct asr_moonshine_config *c, char *err, size_t errlen)
{
	const char *dir = c && c->models_dir ? c->models_dir : "models";
	struct asr_engine *e = calloc(1, sizeof *e);
	struct moonshine *m = calloc(1, sizeof *m);
	if (!e || !m) {
		free(e);
		free(m);
		snprintf(err, errlen, "Out of memory.");
		return NULL;
	}
	e->impl = m;
	e->transcribe = moonshine_transcribe;
	e->destroy = moonshine_destroy;
	snprintf(e->name, sizeof e->name, "moonshine");
	snprintf(e->model, sizeof e->model, "moonshine-tiny-en");
	m->seg = c ? c->seg : NULL;
	m->tokens_per_s = c && c->max_tokens_per_s > 0 ? c->max_tokens_per_s : 8;
	if (ort_init(NULL, err, errlen)) /* the reason it could not load, if it could not */
		goto fail;
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, ASR_MOONSHINE_VOCAB);
	if (!(m->vocab = vocab_load(path, ASR_MOONSHINE_VOCAB_SHA256, err, errlen)) ||
	    !(m->enc =
		  load(dir, ASR_MOONSHINE_ENCODER, ASR_MOONSHINE_ENCODER_SHA256, err, errlen)) ||
	    !(m->dec =
		  load(dir, ASR_MOONSHINE_DECODER, ASR_MOONSHINE_DECODER_SHA256, err, errlen)) ||
	    check_names(m, err, errlen))
		goto fail;
	return e;
fail:
	asr_engine_free(e);
	return NULL;
}
