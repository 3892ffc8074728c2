/*
 * Unit tests for the offline neural path: our ONNX Runtime binding (both
 * Moonshine models and Silero VAD really run, so a wrong declaration fails
 * loudly), the vocabulary, the voice-activity segmenter, the decoder's loop
 * guard, the moonshine engine on espeak-ng speech (words, casing and
 * punctuation, word times against known offsets), and what happens when a
 * model is missing or corrupt.
 *
 * The models come from scripts/fetch-models (IAM_MODELS_DIR, default
 * "models" from the repository root). Speech needs espeak-ng and sox.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "asr/align.h"
#include "asr/asr.h"
#include "asr/ort.h"
#include "asr/vad.h"
#include "asr/vocab.h"
#include "asr_wer.h"

static const char *models(void)
{
	const char *d = getenv("IAM_MODELS_DIR");
	return d && *d ? d : "models";
}

static void path_of(char *out, size_t len, const char *file)
{
	snprintf(out, len, "%s/%s", models(), file);
}

static int init_ort(void **state)
{
	char lib[4096], err[512];
	path_of(lib, sizeof lib, ASR_ORT_LIB);
	if (ort_init(lib, err, sizeof err)) {
		fprintf(stderr, "ort_init: %s (run scripts/fetch-models)\n", err);
		return -1;
	}
	return 0;
}

/* ---- audio ------------------------------------------------------------ */

struct pcm {
	int16_t *s;
	size_t n, pos;
};

static long pcm_read(void *ctx, int16_t *buf, size_t max)
{
	struct pcm *p = ctx;
	size_t k = p->n - p->pos < max ? p->n - p->pos : max;
	memcpy(buf, p->s + p->pos, k * sizeof *buf);
	p->pos += k;
	return (long)k;
}

static int pcm_rewind(void *ctx)
{
	((struct pcm *)ctx)->pos = 0;
	return 0;
}

static struct asr_source source(struct pcm *p)
{
	p->pos = 0;
	return (struct asr_source){pcm_read, pcm_rewind, p, (double)p->n / ASR_RATE};
}

static void pcm_append_silence(struct pcm *p, double s)
{
	size_t k = (size_t)(s * ASR_RATE);
	p->s = realloc(p->s, (p->n + k + 1) * sizeof *p->s);
	assert_non_null(p->s);
	memset(p->s + p->n, 0, k * sizeof *p->s);
	p->n += k;
}

/* espeak-ng speech of text (no '\''), trimmed of leading/trailing silence, appended to p. */
static void pcm_append_speech(struct pcm *p, const char *voice, const char *text, bool trim)
{
	char cmd[2048];
	snprintf(cmd, sizeof cmd,
		 "espeak-ng -v %s -s 160 --stdout '%s' | sox -t wav - -t raw -r 16000 -c 1 -b 16 "
		 "-e signed-integer - %s",
		 voice, text,
		 trim ? "silence 1 0.005 0.2% reverse silence 1 0.005 0.2% reverse" : "");
	FILE *f = popen(cmd, "r");
	assert_non_null(f);
	int16_t buf[4096];
	size_t k;
	while ((k = fread(buf, sizeof *buf, 4096, f)) > 0) {
		p->s = realloc(p->s, (p->n + k + 1) * sizeof *p->s);
		assert_non_null(p->s);
		memcpy(p->s + p->n, buf, k * sizeof *buf);
		p->n += k;
	}
	assert_int_equal(pclose(f), 0);
}

static int have_tools(void)
{
	static int have = -1;
	if (have < 0)
		have = system("command -v espeak-ng >/dev/null 2>&1 && "
			      "command -v sox >/dev/null 2>&1") == 0;
	return have;
}

/* ---- the binding ------------------------------------------------------ */

static void test_ort_models_run(void **state)
{
	char path[4096], err[512] = "";
	assert_non_null(ort_version());
	size_t len = 0;
	path_of(path, sizeof path, ASR_MOONSHINE_ENCODER);
	void *bytes =
	    ort_read_model(path, ASR_MOONSHINE_ENCODER_SHA256, 64u << 20, &len, err, sizeof err);
	assert_non_null(bytes);
	struct ort_session *enc = ort_session_new(bytes, len, 1, err, sizeof err);
	free(bytes);
	assert_non_null(enc);
	assert_int_equal(ort_session_ninputs(enc), 1);
	assert_string_equal(ort_session_input(enc, 0), "input_values");
	assert_string_equal(ort_session_output(enc, 0), "last_hidden_state");

	/* One second of a 440 Hz tone: the encoder gives [1, T, 288] hidden states. */
	int64_t shape[] = {1, ASR_RATE};
	struct ort_value *in = ort_tensor_new(ORT_FLOAT, shape, 2), *out = NULL;
	assert_non_null(in);
	float *x = ort_tensor_data(in);
	for (int i = 0; i < ASR_RATE; i++)
		x[i] = 0.3f * sinf(2 * (float)M_PI * 440 * (float)i / ASR_RATE);
	const char *in_names[] = {"input_values"}, *out_names[] = {"last_hidden_state"};
	assert_int_equal(ort_run(enc, in_names, &in, 1, out_names, &out, 1, err, sizeof err), 0);
	int64_t dims[4];
	assert_int_equal(ort_tensor_shape(out, dims, 4), 3);
	assert_int_equal(dims[0], 1);
	assert_true(dims[1] > 10 && dims[1] < 100);
	assert_int_equal(dims[2], 288);
	assert_int_equal(ort_tensor_count(out), dims[1] * 288);
	const float *h = ort_tensor_data(out);
	for (int64_t i = 0; i < dims[1] * 288; i++)
		assert_true(isfinite(h[i]));
	ort_value_free(out);

	/* A wrong input name is an error with a message, not a crash. */
	const char *bad[] = {"no_such_input"};
	assert_int_equal(ort_run(enc, bad, &in, 1, out_names, &out, 1, err, sizeof err), -1);
	assert_null(out);
	assert_non_null(strstr(err, "Inference failed"));
	ort_value_free(in);
	ort_session_free(enc);

	/* The decoder loads with all 27 inputs and 25 outputs; VAD with 3 and 2. */
	path_of(path, sizeof path, ASR_MOONSHINE_DECODER);
	bytes =
	    ort_read_model(path, ASR_MOONSHINE_DECODER_SHA256, 64u << 20, &len, err, sizeof err);
	assert_non_null(bytes);
	struct ort_session *dec = ort_session_new(bytes, len, 1, err, sizeof err);
	free(bytes);
	assert_non_null(dec);
	assert_int_equal(ort_session_ninputs(dec), 27);
	assert_int_equal(ort_session_noutputs(dec), 25);
	ort_session_free(dec);

	/* Garbage is refused with a message. */
	assert_null(ort_session_new("not a model", 11, 1, err, sizeof err));
	assert_non_null(strstr(err, "could not be loaded"));
}

static void test_ort_read_model_checks(void **state)
{
	char dir[] = "/tmp/iam-ort-test.XXXXXX", path[256], err[512];
	assert_non_null(mkdtemp(dir));
	size_t len;
	snprintf(path, sizeof path, "%s/missing.onnx", dir);
	assert_null(ort_read_model(path, NULL, 1 << 20, &len, err, sizeof err));
	assert_non_null(strstr(err, "cannot be opened"));
	snprintf(path, sizeof path, "%s/m.onnx", dir);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	fputs("corrupt", f);
	fclose(f);
	assert_null(ort_read_model(path, ASR_SILERO_VAD_SHA256, 1 << 20, &len, err, sizeof err));
	assert_non_null(strstr(err, "corrupt"));
	assert_null(ort_read_model(path, NULL, 3, &len, err, sizeof err)); /* too large */
	void *b = ort_read_model(path, NULL, 1 << 20, &len, err, sizeof err);
	assert_non_null(b);
	assert_int_equal(len, 7);
	free(b);
	unlink(path);
	rmdir(dir);
}

/* ---- the vocabulary --------------------------------------------------- */

static void test_vocab(void **state)
{
	char path[4096], err[512];
	path_of(path, sizeof path, ASR_MOONSHINE_VOCAB);
	struct vocab *v = vocab_load(path, ASR_MOONSHINE_VOCAB_SHA256, err, sizeof err);
	assert_non_null(v);
	/* Control ids are not text. */
	assert_false(vocab_is_text(v, 0));
	assert_false(vocab_is_text(v, 1));
	assert_false(vocab_is_text(v, 2));
	assert_false(vocab_is_text(v, -1));
	assert_false(vocab_is_text(v, VOCAB_SIZE));
	/* Byte pieces: <0x41> is id 3 + 0x41. */
	int ab[] = {3 + 'H', 3 + 'i', 3 + '!'};
	char *t = vocab_decode(v, ab, 3);
	assert_string_equal(t, "Hi!");
	free(t);
	/* UTF-8 from byte pieces, and a broken sequence repaired. */
	int e_acute[] = {3 + 0xC3, 3 + 0xA9, 3 + 0xC3};
	t = vocab_decode(v, e_acute, 3);
	assert_string_equal(t, "\xc3\xa9\xef\xbf\xbd");
	free(t);
	/* Ids 259..: "▁▁" (two spaces, squeezed and trimmed), "▁t", "er": " t" + "er" -> "ter". */
	int ids[] = {1, 260, 261, 2};
	assert_true(vocab_starts_word(v, 260));
	assert_false(vocab_starts_word(v, 261));
	t = vocab_decode(v, ids, 4);
	assert_string_equal(t, "ter");
	free(t);
	vocab_free(v);
	/* Wrong checksum: refused. */
	assert_null(vocab_load(path, ASR_SILERO_VAD_SHA256, err, sizeof err));
	assert_non_null(strstr(err, "SHA-256"));
}

/* ---- the loop guard --------------------------------------------------- */

static void test_loop_guard(void **state)
{
	int a[40];
	/* "x y z" then "ha" eight times: cut back to one "ha". */
	size_t n = 0;
	a[n++] = 10;
	a[n++] = 11;
	a[n++] = 12;
	for (int i = 0; i < 8; i++)
		a[n++] = 99;
	assert_int_equal(asr_loop_cut(a, n), 4);
	assert_int_equal(asr_loop_cut(a, n - 1), n - 1); /* seven copies: still allowed */
	/* A 3-gram four times -> one copy kept. */
	n = 0;
	a[n++] = 5;
	for (int i = 0; i < 4; i++) {
		a[n++] = 7;
		a[n++] = 8;
		a[n++] = 9;
	}
	assert_int_equal(asr_loop_cut(a, n), 4);
	/* Ordinary text is left alone. */
	int b[] = {1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 9};
	assert_int_equal(asr_loop_cut(b, 12), 12);
	assert_int_equal(asr_loop_cut(b, 0), 0);
}

/* ---- the segmenter ---------------------------------------------------- */

struct segs {
	size_t n;
	double start[64], end[64], sp0[64], sp1[64];
	bool forced[64];
	double longest;
};

static int collect(void *ctx, const struct vad_segment *s)
{
	struct segs *g = ctx;
	if (g->n < 64) {
		g->start[g->n] = (double)s->start_sample / ASR_RATE;
		g->end[g->n] = (double)(s->start_sample + (long long)s->n) / ASR_RATE;
		g->sp0[g->n] = (double)s->speech_start / ASR_RATE;
		g->sp1[g->n] = (double)s->speech_end / ASR_RATE;
		g->forced[g->n] = s->forced;
	}
	double len = (double)s->n / ASR_RATE;
	if (len > g->longest)
		g->longest = len;
	g->n++;
	return 0;
}

static void run_vad(struct vad_model *m, const struct pcm *p, struct segs *g)
{
	memset(g, 0, sizeof *g);
	struct vad_stream *s = vad_stream_new(m, NULL);
	assert_non_null(s);
	char err[256];
	float buf[1000];
	for (size_t off = 0; off < p->n; off += 1000) {
		size_t k = p->n - off < 1000 ? p->n - off : 1000;
		for (size_t i = 0; i < k; i++)
			buf[i] = (float)p->s[off + i] / 32768.0f;
		assert_int_equal(vad_stream_feed(s, buf, k, collect, g, err, sizeof err), 0);
	}
	assert_int_equal(vad_stream_finish(s, collect, g, err, sizeof err), 0);
	vad_stream_free(s);
}

static struct vad_model *load_vad(void)
{
	char path[4096], err[512];
	path_of(path, sizeof path, ASR_SILERO_VAD);
	struct vad_model *m = vad_model_load(path, ASR_SILERO_VAD_SHA256, err, sizeof err);
	if (!m)
		fprintf(stderr, "vad_model_load: %s\n", err);
	assert_non_null(m);
	return m;
}

static void test_vad_pauses(void **state)
{
	if (!have_tools())
		skip();
	struct vad_model *m = load_vad();
	/* Three phrases at known offsets: 1.0 s, then after 1.5 s and 2.0 s pauses. */
	struct pcm p = {0};
	pcm_append_silence(&p, 1.0);
	double at[3];
	const char *text[] = {"Good morning and welcome to the meeting",
			      "We have three items on the agenda today",
			      "Let us begin with the budget"};
	double gap[] = {1.5, 2.0, 1.0};
	for (int i = 0; i < 3; i++) {
		at[i] = (double)p.n / ASR_RATE;
		pcm_append_speech(&p, "en-us", text[i], true);
		pcm_append_silence(&p, gap[i]);
	}
	struct segs g;
	for (int pass = 0; pass < 2; pass++) {
		run_vad(pass ? NULL : m, &p, &g); /* Silero, then the energy detector */
		assert_int_equal(g.n, 3);
		for (int i = 0; i < 3; i++) {
			assert_true(fabs(g.sp0[i] - at[i]) < 0.15);
			assert_true(g.start[i] <= g.sp0[i] && g.sp0[i] - g.start[i] <= 0.25);
			assert_false(g.forced[i]);
			if (i)
				assert_true(g.start[i] >= g.end[i - 1]);
		}
	}
	/* Silence and faint hiss: nothing. */
	struct pcm z = {0};
	pcm_append_silence(&z, 5);
	run_vad(m, &z, &g);
	assert_int_equal(g.n, 0);
	uint32_t x = 1;
	for (size_t i = 0; i < z.n; i++) {
		x = x * 1103515245u + 12345u;
		z.s[i] = (int16_t)((int)((x >> 16) % 41) - 20);
	}
	run_vad(m, &z, &g);
	assert_int_equal(g.n, 0);
	run_vad(NULL, &z, &g);
	assert_int_equal(g.n, 0);
	free(z.s);
	free(p.s);
	vad_model_free(m);
}

static void test_vad_no_pauses(void **state)
{
	if (!have_tools())
		skip();
	/*
	 * A monologue of ~70 s whose pauses are all too short to end a segment
	 * (min_silence 100 s here): it is cut into segments of at most max_s,
	 * each cut at a quiet moment or, failing that, exactly at max_s, and no
	 * audio is lost or repeated between them.
	 */
	struct vad_model *m = load_vad();
	struct pcm p = {0};
	for (int i = 0; i < 6; i++)
		pcm_append_speech(&p, i % 2 ? "en-gb" : "en-us",
				  "We reviewed the numbers for the third quarter and the results "
				  "were better than expected in every region, so the team agreed "
				  "to increase the budget for research and for hiring next year",
				  false);
	struct vad_params vp;
	vad_params_default(&vp);
	vp.min_silence_s = 100;
	struct vad_stream *vs = vad_stream_new(m, &vp);
	assert_non_null(vs);
	struct segs g = {0};
	char err[256];
	float buf[1000];
	for (size_t off = 0; off < p.n; off += 1000) {
		size_t k = p.n - off < 1000 ? p.n - off : 1000;
		for (size_t i = 0; i < k; i++)
			buf[i] = (float)p.s[off + i] / 32768.0f;
		assert_int_equal(vad_stream_feed(vs, buf, k, collect, &g, err, sizeof err), 0);
	}
	assert_int_equal(vad_stream_finish(vs, collect, &g, err, sizeof err), 0);
	vad_stream_free(vs);
	print_message("%.0f s monologue: %zu segments, longest %.1f s\n", (double)p.n / ASR_RATE,
		      g.n, g.longest);
	assert_true((double)p.n / ASR_RATE > 50);
	assert_true(g.n >= 3);
	assert_true(g.longest <= vp.max_s + vp.pad_s + 0.05);
	for (size_t i = 1; i < g.n && i < 64; i++)
		assert_true(fabs(g.start[i] - g.end[i - 1]) < 1e-9);
	free(p.s);
	vad_model_free(m);
}

/* ---- the engine ------------------------------------------------------- */

static struct asr_chain *chain; /* moonshine only, with Silero and the aligner */

static int chain_setup(void **state)
{
	if (init_ort(state))
		return -1;
	char err[512] = "";
	struct asr_models_config mc = {.models_dir = models()};
	chain = asr_chain_new("moonshine", NULL, NULL, &mc, err, sizeof err);
	if (!chain || !chain->engines[0] || !chain->seg.vad || !chain->seg.aligner) {
		fprintf(stderr, "chain: %s %s\n", err, chain ? chain->why[0] : "");
		return -1;
	}
	return 0;
}

static int chain_teardown(void **state)
{
	asr_chain_free(chain);
	return 0;
}

static int transcribe(struct pcm *p, const char *lang, struct transcript *t, char *err,
		      size_t errlen)
{
	struct asr_source src = source(p);
	struct asr_opts o = {.language = lang};
	size_t used = 0, na = 0;
	struct asr_attempt at[ASR_CHAIN_MAX];
	return asr_chain_transcribe(chain, NULL, &src, &o, t, at, &na, &used, err, errlen);
}

static void test_moonshine_words(void **state)
{
	if (!have_tools())
		skip();
	const char *ref = "Good morning everyone. Please remember to lock the door when you "
			  "leave the office. The children played in the park until it started "
			  "to rain.";
	struct pcm p = {0};
	pcm_append_silence(&p, 0.5);
	pcm_append_speech(&p, "en-us", ref, false);
	struct transcript t;
	char err[256] = "x";
	assert_int_equal(transcribe(&p, "en", &t, err, sizeof err), ASR_OK);
	char *hyp = transcript_text(&t);
	double w = wer(ref, hyp);
	print_message("moonshine: \"%s\" WER %.1f%%\n", hyp, 100 * w);
	assert_true(w <= 0.15);
	/* The model's casing and punctuation are kept. */
	assert_true(hyp[0] >= 'A' && hyp[0] <= 'Z');
	assert_non_null(strchr(hyp, '.'));
	assert_string_equal(t.language, "en");
	/* Words increase in time, inside their segments, with confidences. */
	double prev = 0;
	for (size_t i = 0; i < t.nwords; i++) {
		assert_true(t.words[i].start >= prev);
		assert_true(t.words[i].end >= t.words[i].start);
		assert_true(t.words[i].confidence > 0 && t.words[i].confidence <= 1);
		prev = t.words[i].start;
	}
	assert_true(t.words[0].start >= 0.4 && t.words[0].start <= 0.8);
	free(hyp);
	transcript_free(&t);
	free(p.s);
}

/* Words spoken one by one and joined with short gaps: every word's true start is known. */
static void test_moonshine_word_times(void **state)
{
	if (!have_tools())
		skip();
	const char *phrases[] = {"please send the report before friday",
				 "the meeting starts at nine tomorrow",
				 "our customers want better prices"};
	const char *voices[] = {"en-us", "en-gb", "en-us+f3"};
	struct pcm p = {0};
	double truth[64];
	char words[64][32];
	size_t nref = 0;
	pcm_append_silence(&p, 0.8);
	for (int i = 0; i < 3; i++) {
		char buf[256];
		snprintf(buf, sizeof buf, "%s", phrases[i]);
		char *save = NULL;
		for (char *wd = strtok_r(buf, " ", &save); wd; wd = strtok_r(NULL, " ", &save)) {
			truth[nref] = (double)p.n / ASR_RATE;
			snprintf(words[nref++], sizeof words[0], "%s", wd);
			pcm_append_speech(&p, voices[i], wd, true);
			pcm_append_silence(&p, 0.06);
		}
		pcm_append_silence(&p, 1.2 + 0.4 * i);
	}
	struct transcript t;
	char err[256];
	assert_int_equal(transcribe(&p, "en", &t, err, sizeof err), ASR_OK);
	/* Match recognised words to reference words in order (same normalised spelling). */
	double errs[64];
	size_t ne = 0, j = 0;
	for (size_t i = 0; i < t.nwords && j < nref; i++) {
		struct wer_words h;
		assert_int_equal(wer_split(t.words[i].text, &h), 0);
		for (size_t k = j; h.n && k < nref && k < j + 3; k++)
			if (!strcmp(h.w[0], words[k])) {
				errs[ne++] = fabs(t.words[i].start - truth[k]);
				j = k + 1;
				break;
			}
		wer_words_free(&h);
	}
	/* median and 95th percentile */
	for (size_t a = 0; a < ne; a++)
		for (size_t b = a + 1; b < ne; b++)
			if (errs[b] < errs[a]) {
				double tmp = errs[a];
				errs[a] = errs[b];
				errs[b] = tmp;
			}
	assert_true(ne >= nref * 3 / 4);
	double med = errs[ne / 2], p95 = errs[(size_t)ceil(0.95 * (double)ne) - 1];
	print_message("word starts: %zu of %zu matched, median error %.0f ms, p95 %.0f ms\n", ne,
		      nref, 1000 * med, 1000 * p95);
	assert_true(med <= 0.150);
	assert_true(p95 <= 0.400);
	transcript_free(&t);
	free(p.s);
}

static void test_moonshine_silence_noise_language(void **state)
{
	struct pcm p = {0};
	pcm_append_silence(&p, 4);
	struct transcript t;
	char err[256];
	assert_int_equal(transcribe(&p, "en", &t, err, sizeof err), ASR_OK);
	assert_int_equal(t.nsegments, 0);
	assert_true(fabs(t.duration - 4) < 1e-6);
	transcript_free(&t);

	/* 40 s of loud noise: whatever comes out is bounded by the token budget. */
	free(p.s);
	p = (struct pcm){0};
	pcm_append_silence(&p, 40);
	uint32_t x = 3;
	for (size_t i = 0; i < p.n; i++) {
		x = x * 1103515245u + 12345u;
		p.s[i] = (int16_t)(((int)((x >> 16) % 2001) - 1000) * 12);
	}
	assert_int_equal(transcribe(&p, "en", &t, err, sizeof err), ASR_OK);
	print_message("noise: %zu words\n", t.nwords);
	assert_true(t.nwords <= 40 * 8);
	transcript_free(&t);

	/* Not English: the engine says so (and the chain reports it). */
	assert_int_equal(transcribe(&p, "fr", &t, err, sizeof err), ASR_UNSUPPORTED);
	assert_non_null(strstr(err, "English"));
	free(p.s);
}

static void test_missing_models_fall_back(void **state)
{
	char err[512] = "";
	struct asr_models_config mc = {.models_dir = "/nonexistent/models"};
	struct asr_chain *c = asr_chain_new("moonshine,sphinx", NULL, NULL, &mc, err, sizeof err);
	assert_non_null(c);
	assert_null(c->engines[0]);
	assert_non_null(strstr(c->why[0], "/nonexistent/models"));
	assert_non_null(c->engines[1]);
	json_t *st = asr_chain_state(c);
	assert_string_equal(json_string_value(json_object_get(st, "sphinx")), "ready");
	assert_non_null(strstr(json_string_value(json_object_get(st, "moonshine")), "unavailable"));
	json_decref(st);
	/* A job falls back to sphinx; the attempt on moonshine is recorded. */
	struct pcm p = {0};
	pcm_append_silence(&p, 1);
	struct asr_source src = source(&p);
	struct transcript t;
	struct asr_attempt at[ASR_CHAIN_MAX];
	size_t na = 0, used = 9;
	assert_int_equal(
	    asr_chain_transcribe(c, NULL, &src, NULL, &t, at, &na, &used, err, sizeof err), ASR_OK);
	assert_int_equal(used, 1);
	assert_int_equal(na, 2);
	assert_string_equal(at[0].engine, "moonshine");
	assert_int_equal(at[0].rc, ASR_UNSUPPORTED);
	transcript_free(&t);
	/* Only moonshine, and it cannot run: the message names every engine tried. */
	src = source(&p);
	assert_int_equal(asr_chain_transcribe(c, NULL, &src, &(struct asr_opts){.language = "de"},
					      &t, at, &na, &used, err, sizeof err),
			 ASR_UNSUPPORTED);
	assert_non_null(strstr(err, "moonshine"));
	assert_non_null(strstr(err, "sphinx"));
	asr_chain_free(c);
	free(p.s);
}

int main(void)
{
	const struct CMUnitTest bind[] = {
	    cmocka_unit_test(test_ort_models_run), cmocka_unit_test(test_ort_read_model_checks),
	    cmocka_unit_test(test_vocab),	   cmocka_unit_test(test_loop_guard),
	    cmocka_unit_test(test_vad_pauses),	   cmocka_unit_test(test_vad_no_pauses),
	};
	const struct CMUnitTest engine[] = {
	    cmocka_unit_test(test_moonshine_words),
	    cmocka_unit_test(test_moonshine_word_times),
	    cmocka_unit_test(test_moonshine_silence_noise_language),
	    cmocka_unit_test(test_missing_models_fall_back),
	};
	int rc = cmocka_run_group_tests(bind, init_ort, NULL);
	rc |= cmocka_run_group_tests(engine, chain_setup, chain_teardown);
	return rc;
}
