/*
 * Unit tests for speaker diarization (src/asr/diarize.c): the frame
 * features on synthetic tones (the mel band and the pitch land where the
 * frequency says), the clustering on synthetic Gaussian clusters of known
 * count (and the speaker bounds), option checks, silence, and end to end on
 * espeak-ng speech: one voice is one speaker, two voices taking turns are
 * two speakers with the turn changes within 0.5 s. Speech needs espeak-ng
 * and sox (those tests skip without them). The energy detector stands in
 * for Silero VAD, so no model is needed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asr/diarize.h"

#define RATE 16000

/* ---- features ------------------------------------------------------------ */

static double hz_to_mel(double hz)
{
	return 2595.0 * log10(1.0 + hz / 700.0);
}

/* The mel band (0..39, 60..7600 Hz, 40 triangles) centred nearest to hz. */
static int band_of(double hz)
{
	double lo = hz_to_mel(60), hi = hz_to_mel(7600), m = hz_to_mel(hz);
	return (int)lround((m - lo) / (hi - lo) * 41) - 1;
}

static int argmax(const float *x, int n)
{
	int b = 0;
	for (int i = 1; i < n; i++)
		if (x[i] > x[b])
			b = i;
	return b;
}

static void test_features_tone(void **state)
{
	float x[640], f[DIAR_DIM], mel[40];
	const double tones[] = {300, 1000, 3000, 6000};
	int prev = -1;
	for (size_t t = 0; t < sizeof tones / sizeof *tones; t++) {
		for (int i = 0; i < 640; i++)
			x[i] = (float)(0.5 * sin(2 * M_PI * tones[t] * i / RATE));
		assert_int_equal(diar_frame_features(x, f, mel), 0);
		int b = argmax(mel, 40);
		assert_true(abs(b - band_of(tones[t])) <= 1);
		assert_true(b > prev); /* higher tone, higher band */
		prev = b;
		for (int k = 0; k < DIAR_DIM; k++)
			assert_true(isfinite(f[k]));
		/* log energy of a 0.5 sine: log(0.125) */
		assert_true(fabs(f[DIAR_NCEP] - log(0.125)) < 0.05);
	}
	/* a voiced sound: harmonics of 200 Hz and of 120 Hz; pitch within 2 % */
	const double f0s[] = {200, 120};
	for (size_t t = 0; t < 2; t++) {
		for (int i = 0; i < 640; i++) {
			double v = 0;
			for (int h = 1; h <= 10; h++)
				v += sin(2 * M_PI * f0s[t] * h * i / RATE) / h;
			x[i] = (float)(0.3 * v);
		}
		assert_int_equal(diar_frame_features(x, f, NULL), 0);
		assert_true(f[DIAR_NCEP + 1] > 0);
		assert_true(fabs(exp(f[DIAR_NCEP + 1]) / f0s[t] - 1) < 0.02);
	}
	/*
	 * Every other cycle a little different (harmonics of 65 Hz, the odd
	 * ones 24 dB down): the sound repeats exactly every 65 Hz period, but what
	 * is heard, and what a speaker's pitch is, is 130 Hz. Taking the
	 * strongest peak halved it (octave error).
	 */
	for (int i = 0; i < 640; i++) {
		double v = 0;
		for (int h = 1; h <= 20; h++)
			v += (h % 2 ? 0.06 : 1.0) * sin(2 * M_PI * 65.0 * h * i / RATE) / h;
		x[i] = (float)(0.3 * v);
	}
	assert_int_equal(diar_frame_features(x, f, NULL), 0);
	assert_true(fabs(exp(f[DIAR_NCEP + 1]) / 130.0 - 1) < 0.03);
	/* silence: no pitch, very low energy, still finite */
	memset(x, 0, sizeof x);
	assert_int_equal(diar_frame_features(x, f, mel), 0);
	assert_true(f[DIAR_NCEP + 1] == 0);
	assert_true(f[DIAR_NCEP] < -20);
	for (int k = 0; k < DIAR_DIM; k++)
		assert_true(isfinite(f[k]));
}

/* ---- clustering ------------------------------------------------------------ */

static uint64_t rng_state = 88172645463325252ull;
static double uniform(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (double)(rng_state >> 11) / 9007199254740992.0;
}
static double gauss(void)
{
	return sqrt(-2 * log(uniform() + 1e-300)) * cos(2 * M_PI * uniform());
}

#define SEG_FRAMES 300
#define STRIDE	   DIAR_DIM

/* nseg segments of SEG_FRAMES frames; segment s drawn around the mean of cluster truth[s]. */
static float *synth_clusters(int nclusters, size_t nseg, int *truth, size_t *start, size_t *len)
{
	double means[8][17];
	for (int c = 0; c < nclusters; c++)
		for (int j = 0; j < 17; j++)
			means[c][j] = 1.5 * gauss();
	float *x = malloc(nseg * SEG_FRAMES * STRIDE * sizeof *x);
	assert_non_null(x);
	for (size_t s = 0; s < nseg; s++) {
		truth[s] = s < (size_t)nclusters ? (int)s : (int)(uniform() * nclusters);
		start[s] = s * SEG_FRAMES;
		len[s] = SEG_FRAMES;
		for (size_t i = 0; i < SEG_FRAMES; i++)
			for (int j = 0; j < STRIDE; j++)
				x[(start[s] + i) * STRIDE + (size_t)j] =
				    (float)((j < 17 ? means[truth[s]][j] : 0) + gauss());
	}
	return x;
}

/* Same partition (labels are numbered by first appearance, as is truth). */
static void assert_partition(const int *labels, const int *truth, size_t n)
{
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++)
			assert_int_equal(labels[i] == labels[j], truth[i] == truth[j]);
}

static void test_cluster_known_count(void **state)
{
	for (int k = 1; k <= 5; k++) {
		size_t nseg = 24, start[24], len[24];
		int truth[24], labels[24];
		float *x = synth_clusters(k, nseg, truth, start, len);
		assert_int_equal(diar_cluster_segments(x, STRIDE, start, len, nseg, 1, 20, labels),
				 k);
		assert_partition(labels, truth, nseg);
		free(x);
	}
}

static void test_cluster_bounds(void **state)
{
	size_t nseg = 24, start[24], len[24];
	int truth[24], labels[24];
	float *x = synth_clusters(4, nseg, truth, start, len);
	/* exact */
	assert_int_equal(diar_cluster_segments(x, STRIDE, start, len, nseg, 2, 2, labels), 2);
	assert_int_equal(diar_cluster_segments(x, STRIDE, start, len, nseg, 6, 6, labels), 6);
	/* max below the truth, min above it, a range around it */
	assert_int_equal(diar_cluster_segments(x, STRIDE, start, len, nseg, 1, 3, labels), 3);
	assert_int_equal(diar_cluster_segments(x, STRIDE, start, len, nseg, 5, 20, labels), 5);
	assert_int_equal(diar_cluster_segments(x, STRIDE, start, len, nseg, 2, 6, labels), 4);
	assert_partition(labels, truth, nseg);
	for (size_t s = 0; s < nseg; s++)
		assert_true(labels[s] >= 0 && labels[s] < 4);
	assert_int_equal(labels[0], 0); /* numbered by first appearance */
	free(x);
}

/* ---- options ---------------------------------------------------------------- */

static void test_bad_options(void **state)
{
	char err[256];
	const struct diar_opts bad[] = {
	    {.min_speakers = -1},
	    {.max_speakers = -3},
	    {.min_speakers = 21},
	    {.max_speakers = 21},
	    {.min_speakers = 4, .max_speakers = 2},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		err[0] = '\0';
		assert_null(diar_new(&bad[i], err, sizeof err));
		assert_true(strstr(err, "_speakers") != NULL);
		assert_int_equal(diar_opts_check(&bad[i], err, sizeof err), -1);
	}
	const struct diar_opts good[] = {
	    {0}, {.min_speakers = 2, .max_speakers = 2}, {.min_speakers = 3}, {.max_speakers = 20}};
	for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
		struct diarizer *d = diar_new(&good[i], err, sizeof err);
		assert_non_null(d);
		diar_free(d);
	}
	diar_free(NULL);
	/* finishing twice, feeding after the end */
	struct diarizer *d = diar_new(NULL, err, sizeof err);
	struct diar_turn *t;
	size_t n;
	int k;
	assert_int_equal(diar_finish(d, &t, &n, &k, err, sizeof err), 0);
	float z[16] = {0};
	assert_int_equal(diar_feed(d, z, 16, err, sizeof err), -1);
	assert_int_equal(diar_finish(d, &t, &n, &k, err, sizeof err), -1);
	diar_free(d);
}

static void run(const float *x, size_t n, const struct diar_opts *o, struct diar_turn **t,
		size_t *nt, int *k)
{
	char err[256] = "";
	struct diarizer *d = diar_new(o, err, sizeof err);
	assert_non_null(d);
	/* in uneven pieces, as a decoder gives them */
	for (size_t i = 0; i < n;) {
		size_t m = 1000 + (i / 7) % 3333;
		if (m > n - i)
			m = n - i;
		assert_int_equal(diar_feed(d, x + i, m, err, sizeof err), 0);
		i += m;
	}
	assert_int_equal(diar_finish(d, t, nt, k, err, sizeof err), 0);
	diar_free(d);
}

static void test_silence(void **state)
{
	size_t n = 10 * RATE;
	float *x = calloc(n, sizeof *x);
	assert_non_null(x);
	struct diar_turn *t;
	size_t nt;
	int k;
	run(x, n, NULL, &t, &nt, &k);
	assert_int_equal(nt, 0);
	assert_int_equal(k, 0);
	assert_null(t);
	/* an exact count does not invent speakers in silence */
	run(x, n, &(struct diar_opts){.min_speakers = 2, .max_speakers = 2}, &t, &nt, &k);
	assert_int_equal(nt, 0);
	assert_int_equal(k, 0);
	/* quiet hiss (-70 dBFS) is silence too */
	for (size_t i = 0; i < n; i++)
		x[i] = (float)(0.0003 * gauss());
	run(x, n, NULL, &t, &nt, &k);
	assert_int_equal(k, 0);
	free(t);
	/* nothing at all */
	run(x, 0, NULL, &t, &nt, &k);
	assert_int_equal(nt, 0);
	assert_int_equal(k, 0);
	free(x);
}

/* ---- speech ------------------------------------------------------------------ */

struct pcm {
	float *s;
	size_t n;
};

static int have_tools(void)
{
	static int have = -1;
	if (have < 0)
		have = system("command -v espeak-ng >/dev/null 2>&1 && "
			      "command -v sox >/dev/null 2>&1") == 0;
	return have;
}

static void append_silence(struct pcm *p, double s)
{
	size_t k = (size_t)(s * RATE);
	p->s = realloc(p->s, (p->n + k + 1) * sizeof *p->s);
	assert_non_null(p->s);
	memset(p->s + p->n, 0, k * sizeof *p->s);
	p->n += k;
}

/* espeak-ng speech (voice, sox pitch in cents), trimmed; returns its start time. */
static double append_speech(struct pcm *p, const char *voice, int cents, const char *text)
{
	char cmd[2048];
	snprintf(
	    cmd, sizeof cmd,
	    "espeak-ng -v %s -s 165 --stdout '%s' | sox -q -t wav - -t raw -r 16000 -c 1 -b 16 "
	    "-e signed-integer - pitch %d rate 16000 silence 1 0.02 0.5%% reverse silence 1 "
	    "0.02 0.5%% reverse",
	    voice, text, cents);
	FILE *f = popen(cmd, "r");
	assert_non_null(f);
	double t0 = (double)p->n / RATE;
	int16_t buf[4096];
	size_t k;
	while ((k = fread(buf, sizeof *buf, 4096, f)) > 0) {
		p->s = realloc(p->s, (p->n + k + 1) * sizeof *p->s);
		assert_non_null(p->s);
		for (size_t i = 0; i < k; i++)
			p->s[p->n + i] = buf[i] / 32768.0f;
		p->n += k;
	}
	assert_int_equal(pclose(f), 0);
	return t0;
}

static const char *const LINES[] = {
    "The quarterly budget review is scheduled for Tuesday morning in the main office",
    "I think we should move the product launch to the second week of next month",
    "Our customers asked for better support and clearer reports about their data",
    "Please send the final contract to the supplier before the end of the day",
    "The engineering team finished the network upgrade earlier than we expected",
    "We need a decision on the travel policy and the new office in the city",
};

static void test_one_speaker(void **state)
{
	if (!have_tools())
		skip();
	struct pcm p = {0};
	append_silence(&p, 0.5);
	for (size_t i = 0; i < 6; i++) {
		append_speech(&p, "en-us", 0, LINES[i]);
		append_silence(&p, 0.3 + 0.1 * (double)(i % 3));
	}
	struct diar_turn *t;
	size_t nt;
	int k;
	run(p.s, p.n, NULL, &t, &nt, &k);
	assert_int_equal(k, 1);
	assert_true(nt >= 1);
	for (size_t i = 0; i < nt; i++)
		assert_int_equal(t[i].speaker, 0);
	/* the speech is covered: first turn starts near 0.5 s */
	assert_true(fabs(t[0].start - 0.5) < 0.3);
	free(t);
	free(p.s);
}

static void test_two_speakers_take_turns(void **state)
{
	if (!have_tools())
		skip();
	struct pcm p = {0};
	append_silence(&p, 0.4);
	/* A, B, A, B, A, B: a male US voice and a female voice pitched down a little */
	double bound[7];
	for (size_t i = 0; i < 6; i++) {
		bound[i] = append_speech(&p, i % 2 ? "en+f3" : "en-us", i % 2 ? -100 : 0, LINES[i]);
		append_silence(&p, 0.35);
	}
	bound[6] = (double)p.n / RATE;

	struct diar_turn *t;
	size_t nt;
	int k;
	const struct diar_opts opts[] = {{0}, {.min_speakers = 2, .max_speakers = 2}};
	for (size_t o = 0; o < 2; o++) {
		run(p.s, p.n, &opts[o], &t, &nt, &k);
		assert_int_equal(k, 2);
		assert_int_equal(nt, 6);
		for (size_t i = 0; i < nt; i++) {
			assert_int_equal(t[i].speaker,
					 (int)(i % 2)); /* numbered by first appearance */
			assert_true(t[i].end > t[i].start);
			assert_true(fabs(t[i].start - bound[i]) < 0.5);
			assert_true(t[i].end < bound[i + 1] &&
				    t[i].end > bound[i + 1] - 0.35 - 0.5);
			if (i)
				assert_true(t[i].start >= t[i - 1].end);
		}
		free(t);
	}
	/* at most one speaker: everything is speaker 0 */
	run(p.s, p.n, &(struct diar_opts){.max_speakers = 1}, &t, &nt, &k);
	assert_int_equal(k, 1);
	for (size_t i = 0; i < nt; i++)
		assert_int_equal(t[i].speaker, 0);
	free(t);
	/* an exact count of 3 gives 3 speakers */
	run(p.s, p.n, &(struct diar_opts){.min_speakers = 3, .max_speakers = 3}, &t, &nt, &k);
	assert_int_equal(k, 3);
	free(t);
	free(p.s);
}

/*
 * Three voices close together (two female voices a whole tone apart and a
 * male voice pitched down), turns of two sentences in no fixed order: three
 * speakers, every turn of one voice given to one speaker. (The count over
 * many such conversations is measured by bench/diarize.sh.)
 */
static void test_three_close_voices(void **state)
{
	if (!have_tools())
		skip();
	static const struct {
		const char *voice;
		int cents;
	} V[] = {{"en+f3", 0}, {"en+f4", 200}, {"en-gb+m3", -200}};
	static const int order[] = {0, 1, 2, 0, 2, 1, 0, 1, 2, 1, 0, 2};
	enum { NT = sizeof order / sizeof *order };
	struct pcm p = {0};
	append_silence(&p, 0.4);
	double bound[NT + 1];
	for (size_t i = 0; i < NT; i++) {
		bound[i] =
		    append_speech(&p, V[order[i]].voice, V[order[i]].cents, LINES[(i * 5) % 6]);
		append_silence(&p, 0.3 + 0.1 * (double)(i % 4));
	}
	bound[NT] = (double)p.n / RATE;
	struct diar_turn *t;
	size_t nt;
	int k;
	run(p.s, p.n, NULL, &t, &nt, &k);
	assert_int_equal(k, 3);
	/* each reference turn: its middle is given to one speaker, the same one each time
	 * that voice speaks, a different one for each voice */
	int map[3] = {-1, -1, -1};
	for (size_t i = 0; i < NT; i++) {
		double mid = (bound[i] + bound[i + 1]) / 2;
		int who = -1;
		for (size_t j = 0; j < nt; j++)
			if (t[j].start <= mid && mid < t[j].end)
				who = t[j].speaker;
		assert_true(who >= 0);
		if (map[order[i]] < 0)
			map[order[i]] = who;
		assert_int_equal(map[order[i]], who);
	}
	assert_true(map[0] != map[1] && map[1] != map[2] && map[0] != map[2]);
	free(t);
	free(p.s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_features_tone),
	    cmocka_unit_test(test_cluster_known_count),
	    cmocka_unit_test(test_cluster_bounds),
	    cmocka_unit_test(test_bad_options),
	    cmocka_unit_test(test_silence),
	    cmocka_unit_test(test_one_speaker),
	    cmocka_unit_test(test_two_speakers_take_turns),
	    cmocka_unit_test(test_three_close_voices),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
