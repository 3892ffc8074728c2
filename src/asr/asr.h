/*
 * asr.h — speech recognition engines behind one interface.
 *
 * An engine pulls 16 kHz mono s16 PCM from an asr_source (so long audio is
 * processed in pieces and memory does not grow with duration) and returns
 * a transcript with segments and, where it can, word times. Engines know
 * nothing about users, meetings or storage.
 *
 * Engines:
 *   moonshine  Moonshine Tiny (English) on ONNX Runtime (offline, the default):
 *           audio is cut at pauses by the voice-activity segmenter (vad.h),
 *           each segment is recognised with the model's casing and
 *           punctuation, and word times come from forced alignment (align.h).
 *   sphinx  PocketSphinx with Debian's pocketsphinx-en-us model (offline),
 *           on the same segmentation.
 *   openai  any OpenAI-compatible /v1/audio/transcriptions endpoint (OpenAI,
 *           Groq, whisper.cpp server, speaches, another iamd): PCM is sent as
 *           WAV pieces of at most ASR_OPENAI_PIECE_S seconds, verbose_json
 *           with segment and word timestamps, times shifted per piece.
 * A chain ("openai,sphinx") tries each engine in turn until one succeeds,
 * and records what each attempt did.
 */
#ifndef IAM_ASR_H
#define IAM_ASR_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/transcript.h"

#define ASR_RATE	   16000
#define ASR_OPENAI_PIECE_S 600

struct asr_source {
	/* Up to max samples into buf: count, 0 at the end, <0 on error. */
	long (*read)(void *ctx, int16_t *buf, size_t max);
	/* Back to the first sample (a fallback engine starts over). 0 or -1. */
	int (*rewind)(void *ctx);
	void *ctx;
	double duration; /* expected seconds, for progress; 0 if unknown */
};

struct asr_opts {
	const char *language; /* "en" when NULL */
	const char *prompt;   /* words likely to occur (names, jargon); may be NULL */
	/* Called now and then with the fraction done (0..1); may be NULL. */
	void (*progress)(void *ctx, double fraction);
	void *progress_ctx;
	atomic_bool *cancel; /* set by the caller to stop early; may be NULL */
};

enum asr_rc {
	ASR_OK = 0,
	ASR_RETRYABLE =
	    -1, /* timeout, connection failure, HTTP 429/5xx: try later or another engine */
	ASR_FAILED = -2,      /* the engine answered with garbage or refused the audio */
	ASR_UNSUPPORTED = -3, /* e.g. a language this engine does not have */
	ASR_CANCELLED = -4
};

/* Words recognised in one segment; times in seconds from the segment start, -1 when unknown. */
struct asr_word {
	char *text; /* owned */
	double start, end, conf;
};
struct asr_words {
	struct asr_word *w;
	size_t n, cap;
};
/* Append a word (text copied). 0 or -1 (no memory). */
int asr_words_add(struct asr_words *ws, const char *text, size_t len, double start, double end,
		  double conf);
void asr_words_clear(struct asr_words *ws); /* empties, keeps the array */
void asr_words_free(struct asr_words *ws);

struct vad_model;
struct vad_params;
struct asr_aligner;
/* What engines built on segmentation share: owned by the chain. */
struct asr_segmenter {
	struct vad_model *vad;	     /* NULL: the energy detector */
	struct vad_params *params;   /* NULL: vad_params_default */
	struct asr_aligner *aligner; /* NULL: word times spread over the speech */
};

/*
 * Recognise one segment: pcm holds n samples (16 kHz mono, [-1, 1]). Words
 * go to out (times relative to pcm[0] when the engine knows them, else -1).
 * ASR_OK or an rc with err.
 */
typedef int (*asr_recognize_fn)(void *impl, const float *pcm, size_t n, const struct asr_opts *o,
				struct asr_words *out, char *err, size_t errlen);
/*
 * The shared pipeline: stream src through the segmenter, recognise each
 * segment with fn, time words that have no times (aligner, else spread over
 * the segment's speech), and append segments and words to out. Progress is
 * reported per segment. ASR_OK (out filled; caller frees) or an rc with err.
 */
int asr_segmented_transcribe(const struct asr_segmenter *seg, struct asr_source *src,
			     const struct asr_opts *o, asr_recognize_fn fn, void *impl,
			     struct transcript *out, char *err, size_t errlen);

struct asr_engine {
	char name[16];	/* "moonshine", "sphinx", "openai" */
	char model[96]; /* the model it uses, reported with the transcript */
	/*
	 * Transcribe everything src gives. On ASR_OK fills out (caller frees
	 * with transcript_free). Otherwise err holds a sentence a person can
	 * act on. Must be callable from several threads at once.
	 */
	int (*transcribe)(struct asr_engine *e, struct asr_source *src, const struct asr_opts *o,
			  struct transcript *out, char *err, size_t errlen);
	void (*destroy)(struct asr_engine *e);
	void *impl;
};

struct asr_sphinx_config {
	const char *hmm;  /* acoustic model dir; NULL = Debian's en-us model */
	const char *lm;	  /* language model; NULL = Debian's en-us LM */
	const char *dict; /* pronunciation dictionary; NULL = Debian's cmudict-en-us.dict */
	const struct asr_segmenter *seg; /* NULL: the energy segmenter, no aligner */
};
struct asr_engine *asr_sphinx_new(const struct asr_sphinx_config *c, char *err, size_t errlen);

struct asr_openai_config {
	const char *base_url; /* e.g. "https://api.openai.com/v1" (".../audio/transcriptions" is
				 appended) */
	const char *api_key;  /* may be NULL for servers without auth */
	const char *model;    /* e.g. "whisper-1" */
	int timeout_s;	      /* per request */
	int piece_s;	      /* seconds of audio per request; 0 = ASR_OPENAI_PIECE_S (the most) */
};
struct asr_engine *asr_openai_new(const struct asr_openai_config *c, char *err, size_t errlen);

/* Files of the moonshine engine, under models_dir (what scripts/install-deps puts there). */
#define ASR_MOONSHINE_ENCODER "moonshine-tiny-en/encoder_model.onnx"
#define ASR_MOONSHINE_DECODER "moonshine-tiny-en/decoder_model_merged.onnx"
#define ASR_MOONSHINE_VOCAB   "moonshine-tiny-en/vocab.txt"
#define ASR_SILERO_VAD	      "silero_vad_v5.onnx"
#define ASR_ORT_LIB	      "libonnxruntime.so.1"
/* Their SHA-256, checked when they are loaded. */
#define ASR_MOONSHINE_ENCODER_SHA256                                                               \
	"c6fc4b7bc5af75c0591fd157a1f3829b533d18e9769a888fd95a62e470dd4f4a"
#define ASR_MOONSHINE_DECODER_SHA256                                                               \
	"eed87831c3a6103534aae7d47a5d485025c659a1323901513961c39fe8a1a367"
#define ASR_MOONSHINE_VOCAB_SHA256                                                                 \
	"7015eebad70f6975a0c548ce982fb76a4aa0835644628a5ed0b1fd41ff9a2912"
#define ASR_SILERO_VAD_SHA256 "2623a2953f6ff3d2c1e61740c6cdb7168133479b267dfef114a4a3cc5bdd788f"

struct asr_moonshine_config {
	const char *models_dir; /* NULL = "models" */
	const struct asr_segmenter *seg;
	int max_tokens_per_s; /* decoder budget per second of audio; 0 = 8 */
};
struct asr_engine *asr_moonshine_new(const struct asr_moonshine_config *c, char *err,
				     size_t errlen);
/*
 * The decoder's loop guard: when tok[0..n) ends with one n-gram (1..12
 * tokens) repeated so often it can only be a decoding loop (8 copies of one
 * token, 5 of a pair, 4 of longer ones), the length that keeps one copy;
 * otherwise n.
 */
size_t asr_loop_cut(const int *tok, size_t n);

/* Where the chain finds ONNX Runtime and the models. */
struct asr_models_config {
	const char *models_dir; /* NULL = "models" */
	const char *ort_lib;	/* NULL = models_dir/libonnxruntime.so.1 */
};

void asr_engine_free(struct asr_engine *e); /* calls destroy; NULL is a no-op */

/* One engine's try within a chain. */
struct asr_attempt {
	char engine[16];
	char model[96];
	int rc;		 /* enum asr_rc */
	double seconds;	 /* wall time the attempt took */
	char error[256]; /* "" on success */
};

#define ASR_CHAIN_MAX 4
struct asr_chain {
	/* engines[i] is NULL when names[i] could not start; why[i] says why. */
	struct asr_engine *engines[ASR_CHAIN_MAX];
	char names[ASR_CHAIN_MAX][16];
	char why[ASR_CHAIN_MAX][256];
	size_t n;
	struct asr_segmenter seg; /* owned: VAD model and aligner */
	char vad_state[160];	  /* "silero" or why the energy detector is used */
	char align_state[160];	  /* "pocketsphinx" or why words are spread evenly */
};

/*
 * Build a chain from "moonshine,sphinx". Unknown or repeated names, or an
 * openai engine with no base URL, give NULL and err. An engine whose model
 * or library is missing or corrupt is kept as unavailable (logged once;
 * jobs fall back to the next engine); NULL when no engine at all can run.
 * models may be NULL (defaults).
 */
struct asr_chain *asr_chain_new(const char *spec, const struct asr_sphinx_config *sphinx,
				const struct asr_openai_config *openai,
				const struct asr_models_config *models, char *err, size_t errlen);
/* Each engine's state as JSON {"moonshine":"ready","sphinx":"unavailable: ..."} (new reference). */
json_t *asr_chain_state(const struct asr_chain *c);
void asr_chain_free(struct asr_chain *c);

/*
 * Try the engines in order (rewinding src between tries) until one
 * succeeds; a provider named in only (e.g. "sphinx", may be NULL) restricts
 * the chain to that engine. attempts[] (ASR_CHAIN_MAX entries) records
 * each try; *used is the index of the engine that produced out. Returns
 * ASR_OK or the last engine's rc (err: the last error).
 */
int asr_chain_transcribe(struct asr_chain *c, const char *only, struct asr_source *src,
			 const struct asr_opts *o, struct transcript *out,
			 struct asr_attempt attempts[ASR_CHAIN_MAX], size_t *nattempts,
			 size_t *used, char *err, size_t errlen);

#endif
