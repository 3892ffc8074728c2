/*
 * align.c — word times by forced alignment with PocketSphinx.
 *
 * The recognised words of a segment become a one-path finite-state grammar
 * (w1 -> w2 -> ..., silence and noise fillers allowed between words; built
 * with the fsg_model API: the JSGF parser leaks memory on every call) and
 * PocketSphinx finds where each word lies in the audio. Words the
 * pronunciation dictionary does not know (names, some numbers) are left out
 * of the grammar and placed between their aligned neighbours afterwards.
 * Decoders are pooled like the sphinx engine's (one per concurrent job);
 * without a language model one costs ~35 MB.
 *
 * Measured on espeak-ng phrases placed at known offsets (tests/unit/test_asr
 * and bench/asr.sh): see the figures in those.
 */
#include "asr/align.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pocketsphinx.h>
#include <sphinxbase/fsg_model.h>

#include "asr/ps.h"

#define ALIGN_POOL_IDLE	 4
#define ALIGN_MAX_WORDS	 400 /* per segment; more is not speech of <= 30 s */
#define ALIGN_MAX_TOKENS 4   /* dictionary words one transcript word may stand for */
#define FRAMES_PER_SEC	 100

struct asr_aligner {
	char *hmm, *dict;
	pthread_mutex_t lock;
	ps_decoder_t *idle[ALIGN_POOL_IDLE];
	size_t nidle;
};

static ps_decoder_t *decoder_load(struct asr_aligner *a)
{
	const char *argv[] = {"-hmm", a->hmm, "-dict", a->dict, "-remove_silence", "no"};
	ps_decoder_t *ps = NULL;
	asr_ps_quiet();
	pthread_mutex_lock(&asr_ps_load_lock);
	cmd_ln_t *config =
	    cmd_ln_parse_r(NULL, ps_args(), (int)(sizeof argv / sizeof *argv), (char **)argv, TRUE);
	if (config) {
		ps = ps_init(config);
		cmd_ln_free_r(config);
	}
	pthread_mutex_unlock(&asr_ps_load_lock);
	return ps;
}

static void decoder_free(ps_decoder_t *ps)
{
	if (!ps)
		return;
	pthread_mutex_lock(&asr_ps_load_lock);
	ps_free(ps);
	pthread_mutex_unlock(&asr_ps_load_lock);
}

struct asr_aligner *asr_aligner_new(const char *hmm, const char *dict, char *err, size_t errlen)
{
	struct asr_aligner *a = calloc(1, sizeof *a);
	if (!a || pthread_mutex_init(&a->lock, NULL)) {
		free(a);
		snprintf(err, errlen, "Out of memory.");
		return NULL;
	}
	a->hmm = strdup(hmm ? hmm : ASR_PS_MODEL_DIR "/en-us");
	a->dict = strdup(dict ? dict : ASR_PS_MODEL_DIR "/cmudict-en-us.dict");
	if (!a->hmm || !a->dict) {
		snprintf(err, errlen, "Out of memory.");
		goto fail;
	}
	if (asr_ps_check_model(a->hmm, a->dict, err, errlen))
		goto fail;
	ps_decoder_t *ps = decoder_load(a);
	if (!ps) {
		snprintf(err, errlen, "The PocketSphinx model in %s could not be loaded.", a->hmm);
		goto fail;
	}
	a->idle[a->nidle++] = ps;
	return a;
fail:
	asr_aligner_free(a);
	return NULL;
}

void asr_aligner_free(struct asr_aligner *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->nidle; i++)
		decoder_free(a->idle[i]);
	pthread_mutex_destroy(&a->lock);
	free(a->hmm);
	free(a->dict);
	free(a);
}

static ps_decoder_t *get(struct asr_aligner *a)
{
	ps_decoder_t *ps = NULL;
	pthread_mutex_lock(&a->lock);
	if (a->nidle)
		ps = a->idle[--a->nidle];
	pthread_mutex_unlock(&a->lock);
	return ps ? ps : decoder_load(a);
}

static void put(struct asr_aligner *a, ps_decoder_t *ps, bool broken)
{
	pthread_mutex_lock(&a->lock);
	if (!broken && a->nidle < ALIGN_POOL_IDLE) {
		a->idle[a->nidle++] = ps;
		ps = NULL;
	}
	pthread_mutex_unlock(&a->lock);
	decoder_free(ps);
}

static const char *const ONES[] = {"zero",    "one",	 "two",	      "three",	  "four",
				   "five",    "six",	 "seven",     "eight",	  "nine",
				   "ten",     "eleven",	 "twelve",    "thirteen", "fourteen",
				   "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"};
static const char *const TENS[] = {"",	    "",	     "twenty",	"thirty", "forty",
				   "fifty", "sixty", "seventy", "eighty", "ninety"};

/* Spell 0..99 into out (appending, space-separated). */
static void spell99(int n, char *out, size_t len)
{
	size_t l = strlen(out);
	if (n < 20)
		snprintf(out + l, len - l, "%s%s", l ? " " : "", ONES[n]);
	else if (n % 10)
		snprintf(out + l, len - l, "%s%s %s", l ? " " : "", TENS[n / 10], ONES[n % 10]);
	else
		snprintf(out + l, len - l, "%s%s", l ? " " : "", TENS[n / 10]);
}

/* Spell an integer the way it is usually said: years as "nineteen ninety", else "two hundred five".
 */
static void spell_number(long n, char *out, size_t len)
{
	out[0] = '\0';
	if (n >= 1100 && n <= 1999 && n % 100) {
		spell99((int)(n / 100), out, len);
		if (n % 100 < 10) {
			size_t l = strlen(out);
			snprintf(out + l, len - l, " oh");
		}
		spell99((int)(n % 100), out, len);
		return;
	}
	if (n >= 1000000) {
		spell_number(n / 1000000, out, len);
		size_t l = strlen(out);
		snprintf(out + l, len - l, " million");
		n %= 1000000;
		if (!n)
			return;
	}
	if (n >= 1000) {
		char part[128];
		spell_number(n / 1000, part, sizeof part);
		size_t l = strlen(out);
		snprintf(out + l, len - l, "%s%s thousand", l ? " " : "", part);
		n %= 1000;
		if (!n)
			return;
	}
	if (n >= 100) {
		spell99((int)(n / 100), out, len);
		size_t l = strlen(out);
		snprintf(out + l, len - l, " hundred");
		n %= 100;
		if (!n)
			return;
	}
	if (n || !out[0])
		spell99((int)n, out, len);
}

/*
 * The dictionary words a transcript word stands for ("Hello," -> "hello",
 * "well-known" -> "well known", "42" -> "forty two"), space-separated in
 * out; "" when there are none.
 */
static void normalise(const char *w, char *out, size_t len)
{
	char buf[128];
	size_t n = 0;
	out[0] = '\0';
	for (const char *p = w; *p && n + 1 < sizeof buf; p++) {
		unsigned char c = (unsigned char)*p;
		if (isalpha(c))
			buf[n++] = (char)tolower(c);
		else if (isdigit(c))
			buf[n++] = (char)c;
		else if (c == '\'' && n && isalpha((unsigned char)p[1]))
			buf[n++] = '\'';
		else if ((c == '-' || c == '/') && n)
			buf[n++] = ' ';
		else if (c == '%' && n) {
			if (n + 9 < sizeof buf) {
				memcpy(buf + n, " percent", 8);
				n += 8;
			}
		} else if (c >= 0x80)
			return; /* not English spelling: leave it to interpolation */
	}
	buf[n] = '\0';
	/* Tokens: digits become spelled numbers; letters stay. */
	char *save = NULL;
	for (char *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
		size_t l = strlen(out);
		if (isdigit((unsigned char)t[0])) {
			char *end;
			long v = strtol(t, &end, 10);
			if (*end || v < 0 || v > 999999999 || strlen(t) > 9)
				continue;
			char sp[256];
			spell_number(v, sp, sizeof sp);
			snprintf(out + l, len - l, "%s%s", l ? " " : "", sp);
		} else {
			snprintf(out + l, len - l, "%s%s", l ? " " : "", t);
		}
	}
}

int asr_align(struct asr_aligner *a, const int16_t *pcm, size_t n, struct asr_words *w)
{
	if (!a || !w->n || w->n > ALIGN_MAX_WORDS || n < FRAMES_PER_SEC)
		return -1;
	ps_decoder_t *ps = get(a);
	if (!ps)
		return -1;
	/* Grammar tokens and which transcript word each came from. */
	size_t cap = w->n * ALIGN_MAX_TOKENS;
	int *owner = malloc(cap * sizeof *owner);
	char(*tokens)[64] = malloc(cap * sizeof *tokens);
	fsg_model_t *fsg = NULL;
	int aligned = -1;
	bool broken = false;
	if (!owner || !tokens)
		goto done;
	size_t ntok = 0;
	for (size_t i = 0; i < w->n; i++) {
		char norm[512];
		normalise(w->w[i].text, norm, sizeof norm);
		char *save = NULL;
		size_t k = 0;
		for (char *t = strtok_r(norm, " ", &save); t && k < ALIGN_MAX_TOKENS;
		     t = strtok_r(NULL, " ", &save)) {
			if (strlen(t) >= sizeof tokens[0])
				continue;
			char *pron = ps_lookup_word(ps, t);
			if (!pron)
				continue; /* unknown: placed by interpolation */
			free(pron);
			snprintf(tokens[ntok], sizeof tokens[0], "%s", t);
			owner[ntok++] = (int)i;
			k++;
		}
	}
	if (!ntok)
		goto done;
	fsg = fsg_model_init("align", ps_get_logmath(ps), 1.0f, (int32)ntok + 1);
	if (!fsg) {
		broken = true;
		goto done;
	}
	fsg->start_state = 0;
	fsg->final_state = (int32)ntok;
	for (size_t k = 0; k < ntok; k++) {
		int wid = fsg_model_word_add(fsg, tokens[k]);
		fsg_model_trans_add(fsg, (int32)k, (int32)k + 1, 0, wid);
	}
	/* The search keeps its own reference; a search of the same name is replaced. */
	if (ps_set_fsg(ps, "align", fsg) < 0 || ps_set_search(ps, "align") < 0) {
		broken = true;
		goto done;
	}
	if (ps_start_utt(ps) < 0) {
		broken = true;
		goto done;
	}
	if (ps_process_raw(ps, pcm, n, FALSE, TRUE) < 0) {
		ps_end_utt(ps);
		broken = true;
		goto done;
	}
	if (ps_end_utt(ps) < 0) {
		broken = true;
		goto done;
	}
	int32 score;
	if (!ps_get_hyp(ps, &score))
		goto done; /* the path did not reach the end: the words do not fit the audio */
	for (size_t i = 0; i < w->n; i++)
		w->w[i].start = w->w[i].end = -1;
	size_t t = 0;
	double len_s = (double)n / ASR_RATE;
	for (ps_seg_t *it = ps_seg_iter(ps); it; it = ps_seg_next(it)) {
		const char *word = ps_seg_word(it);
		if (!word || word[0] == '<' || word[0] == '[' || (word[0] == '+' && word[1] == '+'))
			continue;
		if (t >= ntok) {
			ps_seg_free(it);
			break;
		}
		int sf = 0, ef = 0;
		ps_seg_frames(it, &sf, &ef);
		double s = (double)sf / FRAMES_PER_SEC, e = (double)(ef + 1) / FRAMES_PER_SEC;
		if (e > len_s)
			e = len_s;
		if (s > e)
			s = e;
		struct asr_word *aw = &w->w[owner[t++]];
		if (aw->start < 0 || s < aw->start)
			aw->start = s;
		if (e > aw->end)
			aw->end = e;
	}
	aligned = 0;
	for (size_t i = 0; i < w->n; i++)
		aligned += w->w[i].start >= 0;
done:
	fsg_model_free(fsg);
	free(owner);
	free(tokens);
	put(a, ps, broken);
	return aligned;
}
