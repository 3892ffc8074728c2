/*
 * llm.h — a client for any OpenAI-compatible chat completions API (OpenAI,
 * Groq, a llama.cpp or Ollama server): POST {base}/chat/completions with
 * "stream": true, the answer read as Server-Sent Events of
 * chat.completion.chunk objects ending with "data: [DONE]".
 *
 * The contract callers rely on:
 *  - Timeouts: connecting, the first byte of the reply, and the silence
 *    between two chunks are each bounded by opts.timeout_s.
 *  - Retries: 429, 5xx and transport failures are tried again with a
 *    growing pause (Retry-After honoured when it is short enough), but only
 *    while no token has been handed to the caller: a stream that breaks
 *    after its first token is an error, never a silent restart.
 *  - Outcomes are told apart so callers can choose: LLM_UNAVAILABLE (the
 *    provider could not give an answer at all: fall back to the offline
 *    method) versus LLM_GARBAGE / LLM_TIMEOUT / LLM_CUT_OFF after the
 *    stream began (report the failure, keep nothing).
 * The parser and the retry decision are pure functions, tested on their own.
 */
#ifndef IAM_INTEL_LLM_H
#define IAM_INTEL_LLM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* ---- the SSE chunk parser ---- */

/* A piece of the answer: return 0 to go on, anything else to stop the stream. */
typedef int (*llm_token_fn)(void *ctx, const char *text, size_t len);

enum llm_sse_rc {
	LLM_SSE_MORE = 0, /* fed; the stream goes on */
	LLM_SSE_DONE,	  /* "data: [DONE]" seen (or a chunk with a finish_reason then EOF) */
	LLM_SSE_GARBAGE,  /* a data line that is not a chat.completion.chunk */
	LLM_SSE_ERROR,	  /* the provider sent an error object in the stream */
	LLM_SSE_STOPPED,  /* the token callback asked to stop */
};

/* Longest line accepted from a provider (a chunk carries a few tokens). */
#define LLM_SSE_LINE_MAX (256 * 1024)

struct llm_sse {
	struct buf line;     /* a line not yet complete */
	struct buf data;     /* the data: lines of the event being read */
	bool done;	     /* [DONE] seen */
	bool finished;	     /* a choice carried finish_reason */
	char finish[32];     /* that reason ("stop", "length", ...) */
	size_t tokens;	     /* content pieces handed to the callback */
	char error[256];     /* what was wrong, for GARBAGE / ERROR */
	enum llm_sse_rc end; /* sticky once not LLM_SSE_MORE */
};

void llm_sse_init(struct llm_sse *s);
void llm_sse_free(struct llm_sse *s);
/*
 * Feed bytes as they arrive (any split: lines and events may end in a later
 * call). Each content delta goes to fn. Returns LLM_SSE_MORE until the
 * stream ends one way or another; the result is sticky.
 */
enum llm_sse_rc llm_sse_feed(struct llm_sse *s, const char *data, size_t len, llm_token_fn fn,
			     void *ctx);

/* ---- retries ---- */

#define LLM_MAX_ATTEMPTS      3
#define LLM_RETRY_BASE_MS     300
#define LLM_RETRY_AFTER_MAX_S 20 /* a longer Retry-After is not waited for */

/*
 * After attempt (1-based) failed with HTTP status (0 = transport failure:
 * refused, reset, timed out) and Retry-After header value retry_after (NULL
 * = none), having streamed tokens already or not: the milliseconds to wait
 * before trying again, or -1 for no retry.
 */
int64_t llm_retry_delay_ms(int attempt, long status, const char *retry_after, bool streamed);

/* ---- splitting long inputs ---- */

/* Rough tokens in text (about 4 bytes of English per token, rounded up). */
size_t llm_tokens_estimate(const char *text);
/*
 * Split text into parts of at most max_bytes each, cutting at a line end
 * where there is one in the part's second half, else at a space, else at a
 * UTF-8 character boundary. *parts malloc'd (free with llm_parts_free), *n.
 * Returns 0 or -1 (no memory).
 */
int llm_split(const char *text, size_t max_bytes, char ***parts, size_t *n);
void llm_parts_free(char **parts, size_t n);

/* ---- the client ---- */

struct llm_opts {
	const char *base_url; /* http(s)://host/v1 */
	const char *api_key;  /* NULL = none */
	const char *model;
	int timeout_s;	    /* connect, first byte, silence between chunks */
	int max_tokens;	    /* 0 = the provider's default */
	double temperature; /* < 0 = the provider's default */
	int max_attempts;   /* 0 = LLM_MAX_ATTEMPTS */
	/* Polled while waiting: true stops everything (the client went away). */
	bool (*cancelled)(void *ctx);
	void *cancel_ctx;
};

enum llm_rc {
	LLM_OK = 0,
	LLM_UNAVAILABLE,    /* no answer could be had: refused, 4xx, 429/5xx after retries, timeout
			       before the first token */
	LLM_GARBAGE,	    /* the reply is not a chat completion stream */
	LLM_TIMEOUT,	    /* the stream went silent after it began */
	LLM_CUT_OFF,	    /* the stream ended without [DONE] or a finish_reason */
	LLM_PROVIDER_ERROR, /* an error object arrived inside the stream */
	LLM_CANCELLED,	    /* the callback or cancelled() stopped it */
	LLM_NOMEM,
};

struct llm_msg {
	const char *role; /* "system", "user", "assistant" */
	const char *content;
};

struct llm_result {
	enum llm_rc rc;
	long status; /* the last HTTP status (0 = none) */
	int attempts;
	size_t tokens;	    /* pieces streamed to the callback */
	char detail[256];   /* what happened, a sentence that may be shown to people */
	char provider[256]; /* the provider's own error message, for logs only ("" = none) */
};

/* "unavailable", "garbage", ... */
const char *llm_rc_name(enum llm_rc rc);

/*
 * Ask for a completion of msgs[0..n), streamed: each piece of content goes
 * to fn(ctx, ...) as it arrives. Blocks (run it off the HTTP threads).
 * Fills *res and returns res->rc.
 */
enum llm_rc llm_chat_stream(const struct llm_opts *o, const struct llm_msg *msgs, size_t n,
			    llm_token_fn fn, void *ctx, struct llm_result *res);
/*
 * The same, the whole answer collected into *out (malloc'd; caller frees;
 * NULL unless LLM_OK).
 */
enum llm_rc llm_chat(const struct llm_opts *o, const struct llm_msg *msgs, size_t n, char **out,
		     struct llm_result *res);

/* ---- embeddings ---- */

/*
 * Parse an OpenAI embeddings reply ({"data":[{"index":i,"embedding":[...]}]})
 * for n inputs: *vecs gets n vectors of *dim floats each, row i at
 * (*vecs)[i * *dim] (malloc'd; caller frees). -1 when the reply is not
 * that (missing or repeated indexes, vectors of different lengths, not
 * numbers).
 */
int llm_embeddings_parse(const char *json, size_t len, size_t n, float **vecs, size_t *dim);
/* Cosine similarity of two vectors of dim floats (0 when one is all zero). */
double llm_cosine(const float *a, const float *b, size_t dim);
/*
 * POST {base}/embeddings {model, input: texts[0..n)} (retried like a chat
 * request; timeout_s bounds connecting and twice that the whole request).
 * On LLM_OK *vecs and *dim as llm_embeddings_parse gives them.
 */
enum llm_rc llm_embed(const struct llm_opts *o, const char *model, const char *const *texts,
		      size_t n, float **vecs, size_t *dim, struct llm_result *res);

/* Call once before threads start (curl_global_init is not thread-safe); idempotent. */
void llm_global_init(void);

/*
 * The process's language model, from the IAM_LLM_* settings (main.c calls
 * llm_configure once at start, before threads; cfg must outlive its use).
 * llm_configured fills *o (base_url, api_key, model, timeout_s) and
 * returns true when IAM_LLM_BASE_URL is set; *context_tokens gets the
 * context budget (may be NULL).
 */
struct config;
void llm_configure(const struct config *cfg);
bool llm_configured(struct llm_opts *o, int *context_tokens);

#endif
