/*
 * asr.h — speech recognition engines behind one interface.
 *
 * An engine pulls 16 kHz mono s16 PCM from an asr_source (so long audio is
 * processed in pieces and memory does not grow with duration) and returns
 * a transcript with segments and, where it can, word times. Engines know
 * nothing about users, meetings or storage.
 *
 * Engines:
 *   sphinx  PocketSphinx with Debian's pocketsphinx-en-us model (offline).
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

#define ASR_RATE 16000
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
	ASR_RETRYABLE = -1,  /* timeout, connection failure, HTTP 429/5xx: try later or another engine */
	ASR_FAILED = -2,     /* the engine answered with garbage or refused the audio */
	ASR_UNSUPPORTED = -3,/* e.g. a language this engine does not have */
	ASR_CANCELLED = -4
};

struct asr_engine {
	char name[16];  /* "sphinx", "openai" */
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
	const char *lm;   /* language model; NULL = Debian's en-us LM */
	const char *dict; /* pronunciation dictionary; NULL = Debian's cmudict-en-us.dict */
};
struct asr_engine *asr_sphinx_new(const struct asr_sphinx_config *c, char *err, size_t errlen);

struct asr_openai_config {
	const char *base_url; /* e.g. "https://api.openai.com/v1" (".../audio/transcriptions" is appended) */
	const char *api_key;  /* may be NULL for servers without auth */
	const char *model;    /* e.g. "whisper-1" */
	int timeout_s;        /* per request */
	int piece_s;          /* seconds of audio per request; 0 = ASR_OPENAI_PIECE_S (the most) */
};
struct asr_engine *asr_openai_new(const struct asr_openai_config *c, char *err, size_t errlen);

void asr_engine_free(struct asr_engine *e); /* calls destroy; NULL is a no-op */

/* One engine's try within a chain. */
struct asr_attempt {
	char engine[16];
	char model[96];
	int rc;           /* enum asr_rc */
	double seconds;   /* wall time the attempt took */
	char error[256];  /* "" on success */
};

#define ASR_CHAIN_MAX 4
struct asr_chain {
	struct asr_engine *engines[ASR_CHAIN_MAX];
	size_t n;
};

/*
 * Build a chain from "openai,sphinx". Unknown names, an openai engine with
 * no base URL, or a sphinx model that cannot load give NULL and err.
 */
struct asr_chain *asr_chain_new(const char *spec, const struct asr_sphinx_config *sphinx,
				const struct asr_openai_config *openai, char *err, size_t errlen);
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
			 struct asr_attempt attempts[ASR_CHAIN_MAX], size_t *nattempts, size_t *used,
			 char *err, size_t errlen);

#endif
