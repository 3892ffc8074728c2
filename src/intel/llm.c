/*
 * llm.c — the OpenAI-compatible chat completions client (see llm.h).
 */
#include <ctype.h>
#include <stdarg.h>
#include <curl/curl.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/config.h"
#include "core/timeutil.h"
#include "intel/llm.h"

/* ---- the SSE chunk parser ---- */

void llm_sse_init(struct llm_sse *s)
{
	memset(s, 0, sizeof *s);
	s->line.limit = LLM_SSE_LINE_MAX;
	s->data.limit = LLM_SSE_LINE_MAX;
}

void llm_sse_free(struct llm_sse *s)
{
	buf_free(&s->line);
	buf_free(&s->data);
}

static enum llm_sse_rc sse_end(struct llm_sse *s, enum llm_sse_rc rc, const char *why)
{
	s->end = rc;
	if (why)
		snprintf(s->error, sizeof s->error, "%s", why);
	return rc;
}

/* One complete event's data (NUL-terminated in s->data). */
static enum llm_sse_rc sse_event(struct llm_sse *s, llm_token_fn fn, void *ctx)
{
	const char *d = s->data.data ? s->data.data : "";
	if (strcmp(d, "[DONE]") == 0) {
		s->done = true;
		return sse_end(s, LLM_SSE_DONE, NULL);
	}
	json_error_t jerr;
	json_t *j = json_loads(d, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(j)) {
		json_decref(j);
		return sse_end(s, LLM_SSE_GARBAGE, "a stream event is not a JSON object");
	}
	enum llm_sse_rc rc = LLM_SSE_MORE;
	json_t *err = json_object_get(j, "error");
	json_t *choices = json_object_get(j, "choices");
	if (err) {
		const char *msg = json_string_value(json_object_get(err, "message"));
		if (!msg)
			msg = json_string_value(err);
		char why[200];
		snprintf(why, sizeof why, "the provider reported an error: %.150s",
			 msg ? msg : "(no message)");
		rc = sse_end(s, LLM_SSE_ERROR, why);
		goto out;
	}
	if (!json_is_array(choices)) {
		rc = sse_end(s, LLM_SSE_GARBAGE, "a stream event is not a chat.completion.chunk");
		goto out;
	}
	size_t i;
	json_t *ch;
	json_array_foreach(choices, i, ch)
	{
		json_t *delta = json_object_get(ch, "delta");
		json_t *content = json_object_get(delta, "content");
		json_t *finish = json_object_get(ch, "finish_reason");
		if (!json_is_object(ch) || (delta && !json_is_object(delta)) ||
		    (content && !json_is_string(content) && !json_is_null(content))) {
			rc = sse_end(s, LLM_SSE_GARBAGE, "a chunk's choice is malformed");
			goto out;
		}
		const char *text = json_string_value(content);
		size_t len = text ? json_string_length(content) : 0;
		if (len) {
			s->tokens++;
			if (fn && fn(ctx, text, len) != 0) {
				rc = sse_end(s, LLM_SSE_STOPPED, NULL);
				goto out;
			}
		}
		if (json_is_string(finish)) {
			s->finished = true;
			snprintf(s->finish, sizeof s->finish, "%s", json_string_value(finish));
		}
	}
out:
	json_decref(j);
	return rc;
}

/* One line (without its end). */
static enum llm_sse_rc sse_line(struct llm_sse *s, const char *l, size_t len, llm_token_fn fn,
				void *ctx)
{
	if (len == 0) { /* the end of an event */
		if (!s->data.len && !s->data.data)
			return LLM_SSE_MORE;
		enum llm_sse_rc rc = s->data.len ? sse_event(s, fn, ctx) : LLM_SSE_MORE;
		buf_free(&s->data);
		s->data.limit = LLM_SSE_LINE_MAX;
		return rc;
	}
	if (l[0] == ':')
		return LLM_SSE_MORE; /* a comment (keep-alive) */
	const char *colon = memchr(l, ':', len);
	size_t name = colon ? (size_t)(colon - l) : len;
	const char *v = colon ? colon + 1 : l + len;
	size_t vlen = len - (size_t)(v - l);
	if (vlen && *v == ' ') {
		v++;
		vlen--;
	}
	if (name == 4 && memcmp(l, "data", 4) == 0) {
		if (s->data.data && buf_append(&s->data, "\n", 1) < 0)
			return sse_end(s, LLM_SSE_GARBAGE, "a stream event is too long");
		if (buf_append(&s->data, v, vlen) < 0 || buf_append(&s->data, "", 1) < 0)
			return sse_end(s, LLM_SSE_GARBAGE, "a stream event is too long");
		s->data.len--; /* keep it NUL-terminated, the NUL not counted */
		return LLM_SSE_MORE;
	}
	if ((name == 5 && memcmp(l, "event", 5) == 0) || (name == 2 && memcmp(l, "id", 2) == 0) ||
	    (name == 5 && memcmp(l, "retry", 5) == 0))
		return LLM_SSE_MORE;
	return sse_end(s, LLM_SSE_GARBAGE, "the reply is not an event stream");
}

enum llm_sse_rc llm_sse_feed(struct llm_sse *s, const char *data, size_t len, llm_token_fn fn,
			     void *ctx)
{
	if (s->end != LLM_SSE_MORE)
		return s->end;
	const char *p = data, *end = data + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl) {
			if (buf_append(&s->line, p, (size_t)(end - p)) < 0)
				return sse_end(s, LLM_SSE_GARBAGE, "a stream line is too long");
			break;
		}
		const char *l = p;
		size_t ll = (size_t)(nl - p);
		if (s->line.len) {
			if (buf_append(&s->line, p, ll) < 0)
				return sse_end(s, LLM_SSE_GARBAGE, "a stream line is too long");
			l = s->line.data;
			ll = s->line.len;
		}
		if (ll && l[ll - 1] == '\r')
			ll--;
		enum llm_sse_rc rc = sse_line(s, l, ll, fn, ctx);
		buf_clear(&s->line);
		if (rc != LLM_SSE_MORE)
			return rc;
		p = nl + 1;
	}
	return LLM_SSE_MORE;
}

/* At the end of the body: an event without its blank line still counts. */
static enum llm_sse_rc sse_eof(struct llm_sse *s, llm_token_fn fn, void *ctx)
{
	if (s->end != LLM_SSE_MORE)
		return s->end;
	if (s->line.len) {
		enum llm_sse_rc rc = llm_sse_feed(s, "\n", 1, fn, ctx);
		if (rc != LLM_SSE_MORE)
			return rc;
	}
	enum llm_sse_rc rc = llm_sse_feed(s, "\n", 1, fn, ctx);
	if (rc != LLM_SSE_MORE)
		return rc;
	return s->finished ? sse_end(s, LLM_SSE_DONE, NULL) : LLM_SSE_MORE;
}

/* ---- retries ---- */

int64_t llm_retry_delay_ms(int attempt, long status, const char *retry_after, bool streamed)
{
	if (streamed || attempt < 1 || attempt >= LLM_MAX_ATTEMPTS)
		return -1;
	bool retryable = status == 0 || status == 408 || status == 429 ||
			 (status >= 500 && status <= 599 && status != 501 && status != 505);
	if (!retryable)
		return -1;
	int64_t delay = (int64_t)LLM_RETRY_BASE_MS << (attempt - 1);
	if (retry_after) {
		const char *p = retry_after;
		while (*p == ' ')
			p++;
		char *e;
		long long secs = isdigit((unsigned char)*p) ? strtoll(p, &e, 10) : -1;
		if (secs >= 0) {
			while (*e == ' ' || *e == '\r' || *e == '\n')
				e++;
			if (*e)
				secs = -1;
		}
		if (secs > LLM_RETRY_AFTER_MAX_S)
			return -1; /* longer than anyone waits for a chat answer */
		if (secs >= 0 && secs * 1000 > delay)
			delay = secs * 1000;
	}
	return delay;
}

/* ---- splitting ---- */

size_t llm_tokens_estimate(const char *text)
{
	return (strlen(text) + 3) / 4;
}

void llm_parts_free(char **parts, size_t n)
{
	for (size_t i = 0; parts && i < n; i++)
		free(parts[i]);
	free(parts);
}

int llm_split(const char *text, size_t max_bytes, char ***parts, size_t *n)
{
	*parts = NULL;
	*n = 0;
	if (max_bytes < 8)
		max_bytes = 8;
	size_t len = strlen(text), cap = 0;
	char **out = NULL;
	const char *p = text, *end = text + len;
	while (p < end) {
		size_t take = (size_t)(end - p);
		if (take > max_bytes) {
			take = max_bytes;
			size_t cut = 0;
			for (size_t i = take; i > max_bytes / 2 && !cut; i--)
				if (p[i - 1] == '\n')
					cut = i;
			for (size_t i = take; i > max_bytes / 2 && !cut; i--)
				if (p[i - 1] == ' ')
					cut = i;
			if (!cut) {
				cut = take;
				while (cut > 1 && ((unsigned char)p[cut] & 0xC0) == 0x80)
					cut--; /* never inside a UTF-8 character */
			}
			take = cut;
		}
		if (*n == cap) {
			cap = cap ? cap * 2 : 4;
			char **grown = realloc(out, cap * sizeof *out);
			if (!grown)
				goto fail;
			out = grown;
		}
		out[*n] = strndup(p, take);
		if (!out[*n])
			goto fail;
		(*n)++;
		p += take;
	}
	*parts = out;
	return 0;
fail:
	llm_parts_free(out, *n);
	*n = 0;
	return -1;
}

/* ---- the client ---- */

const char *llm_rc_name(enum llm_rc rc)
{
	switch (rc) {
	case LLM_OK:
		return "ok";
	case LLM_UNAVAILABLE:
		return "unavailable";
	case LLM_GARBAGE:
		return "garbage";
	case LLM_TIMEOUT:
		return "timeout";
	case LLM_CUT_OFF:
		return "cut_off";
	case LLM_PROVIDER_ERROR:
		return "provider_error";
	case LLM_CANCELLED:
		return "cancelled";
	case LLM_NOMEM:
		return "out_of_memory";
	}
	return "unknown";
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static int curl_ok;

static void curl_start(void)
{
	curl_ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
}

void llm_global_init(void)
{
	pthread_once(&curl_once, curl_start);
}

#define ERROR_BODY_MAX 8192

/* One attempt's state, shared with curl's callbacks. */
struct attempt {
	CURL *h;
	const struct llm_opts *o;
	struct llm_sse sse;
	llm_token_fn fn;
	void *ctx;
	long status;
	char retry_after[32];
	struct buf errbody; /* a non-200 body, bounded */
	int64_t last_us;    /* the last sign of life */
	int64_t limit_us;
	bool timed_out, cancelled;
};

/* Keep a Retry-After header's value (b is one header line of len bytes) in dst. */
static void keep_retry_after(const char *b, size_t len, char *dst, size_t dstlen)
{
	static const char RA[] = "retry-after:";
	if (len > sizeof RA - 1 && strncasecmp(b, RA, sizeof RA - 1) == 0) {
		size_t v = len - (sizeof RA - 1);
		if (v >= dstlen)
			v = dstlen - 1;
		memcpy(dst, b + sizeof RA - 1, v);
		dst[v] = '\0';
	}
}

static size_t on_header(char *b, size_t size, size_t nitems, void *ud)
{
	struct attempt *a = ud;
	size_t len = size * nitems;
	keep_retry_after(b, len, a->retry_after, sizeof a->retry_after);
	a->last_us = time_mono_us();
	return len;
}

static size_t on_body(char *b, size_t size, size_t nmemb, void *ud)
{
	struct attempt *a = ud;
	size_t len = size * nmemb;
	a->last_us = time_mono_us();
	if (!a->status)
		curl_easy_getinfo(a->h, CURLINFO_RESPONSE_CODE, &a->status);
	if (a->status != 200) {
		if (a->errbody.len + len <= ERROR_BODY_MAX)
			buf_append(&a->errbody, b, len);
		return len;
	}
	enum llm_sse_rc rc = llm_sse_feed(&a->sse, b, len, a->fn, a->ctx);
	if (rc == LLM_SSE_MORE || rc == LLM_SSE_DONE)
		return len;
	return 0; /* garbage, an error event or a stop: abort the transfer */
}

static int on_xfer(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		   curl_off_t ulnow)
{
	struct attempt *a = ud;
	if (a->o->cancelled && a->o->cancelled(a->o->cancel_ctx)) {
		a->cancelled = true;
		return 1;
	}
	if (time_mono_us() - a->last_us > a->limit_us) {
		a->timed_out = true;
		return 1;
	}
	return 0;
}

/* The message of an OpenAI error body {"error":{"message":...}}, into out. */
static void error_message(const struct buf *b, char *out, size_t outlen)
{
	out[0] = '\0';
	if (!b->len)
		return;
	json_t *j = json_loadb(b->data, b->len, 0, NULL);
	json_t *e = json_object_get(j, "error");
	const char *m = json_string_value(json_object_get(e, "message"));
	if (!m)
		m = json_string_value(e);
	if (m)
		snprintf(out, outlen, "%.180s", m);
	json_decref(j);
}

static char *request_body(const struct llm_opts *o, const struct llm_msg *msgs, size_t n)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, json_pack("{s:s,s:s}", "role", msgs[i].role, "content",
						     msgs[i].content ? msgs[i].content : ""));
	json_t *j = json_pack("{s:s,s:o,s:b}", "model", o->model ? o->model : "", "messages", arr,
			      "stream", 1);
	if (!j)
		return NULL;
	if (o->max_tokens > 0)
		json_object_set_new(j, "max_tokens", json_integer(o->max_tokens));
	if (o->temperature >= 0)
		json_object_set_new(j, "temperature", json_real(o->temperature));
	char *s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return s;
}

/* Sleep ms, waking early when the caller cancels. True when cancelled. */
static bool pause_ms(const struct llm_opts *o, int64_t ms)
{
	while (ms > 0) {
		if (o->cancelled && o->cancelled(o->cancel_ctx))
			return true;
		int64_t step = ms < 50 ? ms : 50;
		struct timespec ts = {.tv_sec = 0, .tv_nsec = step * 1000000L};
		nanosleep(&ts, NULL);
		ms -= step;
	}
	return o->cancelled && o->cancelled(o->cancel_ctx);
}

static enum llm_rc finish(struct llm_result *res, enum llm_rc rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static enum llm_rc finish(struct llm_result *res, enum llm_rc rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(res->detail, sizeof res->detail, fmt, ap);
	va_end(ap);
	res->rc = rc;
	return rc;
}

/* base_url + path into url[1024]; false (res filled) when the URL is too long. */
static bool endpoint(const struct llm_opts *o, const char *path, char url[1024],
		     struct llm_result *res)
{
	size_t bl = strlen(o->base_url);
	while (bl && o->base_url[bl - 1] == '/')
		bl--;
	if (bl > 900) {
		finish(res, LLM_UNAVAILABLE, "the language model's URL is too long");
		return false;
	}
	snprintf(url, 1024, "%.*s%s", (int)bl, o->base_url, path);
	return true;
}

/*
 * The request headers: JSON, accept (may be NULL), the key as a bearer
 * token. *auth holds the Authorization line (wiped and freed by
 * free_headers). False when out of memory.
 */
static bool make_headers(const struct llm_opts *o, const char *accept, struct curl_slist **hdr,
			 char **auth)
{
	*auth = NULL;
	*hdr = curl_slist_append(*hdr, "Content-Type: application/json");
	if (accept)
		*hdr = curl_slist_append(*hdr, accept);
	if (o->api_key && *o->api_key) {
		if (asprintf(auth, "Authorization: Bearer %s", o->api_key) < 0) {
			*auth = NULL;
			return false;
		}
		*hdr = curl_slist_append(*hdr, *auth);
	}
	return *hdr != NULL;
}

/* Reset h for one POST of body to url; the caller sets its callbacks. */
static void prepare(CURL *h, const char *url, const char *body, struct curl_slist *hdr,
		    int connect_s, int total_s)
{
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)connect_s);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)total_s);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_USERAGENT, "iam-llm/1");
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L); /* the transfer callback watches */
}

static void free_headers(struct curl_slist *hdr, char *auth)
{
	curl_slist_free_all(hdr);
	if (auth) {
		explicit_bzero(auth, strlen(auth));
		free(auth);
	}
}

/*
 * After attempt of max ended with *rc: wait before the next one when
 * retry_status says it may be retried (>= 0: 0 for no answer, else the
 * HTTP status) and llm_retry_delay_ms agrees. True to try again; false to
 * stop (*rc becomes LLM_CANCELLED when the caller stopped the wait).
 */
static bool retry_after_wait(const struct llm_opts *o, int attempt, int max, long retry_status,
			     const char *retry_after, bool streamed, struct llm_result *res,
			     enum llm_rc *rc)
{
	if (retry_status < 0 || attempt >= max)
		return false;
	int64_t wait = llm_retry_delay_ms(attempt, retry_status,
					  retry_after[0] ? retry_after : NULL, streamed);
	if (wait < 0)
		return false;
	if (pause_ms(o, wait)) {
		*rc = finish(res, LLM_CANCELLED, "stopped by the caller");
		return false;
	}
	return true;
}

enum llm_rc llm_chat_stream(const struct llm_opts *o, const struct llm_msg *msgs, size_t n,
			    llm_token_fn fn, void *ctx, struct llm_result *res)
{
	memset(res, 0, sizeof *res);
	llm_global_init();
	if (!curl_ok)
		return finish(res, LLM_UNAVAILABLE, "the HTTP client could not start");
	if (!o->base_url || !*o->base_url)
		return finish(res, LLM_UNAVAILABLE, "no language model is configured");
	char url[1024];
	if (!endpoint(o, "/chat/completions", url, res))
		return res->rc;
	char *body = request_body(o, msgs, n);
	char *auth = NULL;
	struct curl_slist *hdr = NULL;
	CURL *h = curl_easy_init();
	if (!body || !h || !make_headers(o, "Accept: text/event-stream", &hdr, &auth))
		goto nomem;
	int timeout = o->timeout_s > 0 ? o->timeout_s : 30;
	int max = o->max_attempts > 0 ? o->max_attempts : LLM_MAX_ATTEMPTS;
	enum llm_rc rc = LLM_UNAVAILABLE;
	for (int attempt = 1;; attempt++) {
		struct attempt a = {.h = h, .o = o, .fn = fn, .ctx = ctx};
		llm_sse_init(&a.sse);
		a.last_us = time_mono_us();
		a.limit_us = (int64_t)timeout * 1000000;
		/* A bound on everything; silence is watched by on_xfer. */
		prepare(h, url, body, hdr, timeout, 3600);
		curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
		curl_easy_setopt(h, CURLOPT_HEADERDATA, &a);
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
		curl_easy_setopt(h, CURLOPT_WRITEDATA, &a);
		curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_xfer);
		curl_easy_setopt(h, CURLOPT_XFERINFODATA, &a);
		CURLcode cc = curl_easy_perform(h);
		if (!a.status)
			curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &a.status);
		res->attempts = attempt;
		res->status = a.status;
		res->tokens = a.sse.tokens;
		bool streamed = a.sse.tokens > 0;
		enum llm_sse_rc end = a.sse.end;
		if (cc == CURLE_OK && a.status == 200)
			end = sse_eof(&a.sse, fn, ctx);
		res->tokens = a.sse.tokens;
		long retry_status = -1;
		if (a.cancelled || end == LLM_SSE_STOPPED) {
			rc = finish(res, LLM_CANCELLED, "stopped by the caller");
		} else if (a.timed_out && streamed) {
			rc = finish(res, LLM_TIMEOUT,
				    "the language model went silent for %d s in the middle of its "
				    "answer",
				    timeout);
		} else if (a.timed_out) {
			rc = finish(res, LLM_UNAVAILABLE,
				    "the language model did not answer within %d s", timeout);
			retry_status = 0;
		} else if (end == LLM_SSE_GARBAGE) {
			rc = finish(res, LLM_GARBAGE,
				    "the language model's reply was not understood (%s)",
				    a.sse.error);
		} else if (end == LLM_SSE_ERROR) {
			snprintf(res->provider, sizeof res->provider, "%s", a.sse.error);
			rc = finish(
			    res, LLM_PROVIDER_ERROR,
			    "the language model reported an error in the middle of its answer");
		} else if (cc != CURLE_OK && a.status == 200) {
			rc =
			    finish(res, LLM_CUT_OFF, "the language model's answer was cut off (%s)",
				   curl_easy_strerror(cc));
			if (!streamed)
				retry_status = 0;
		} else if (cc != CURLE_OK) {
			rc = finish(res, LLM_UNAVAILABLE,
				    "the language model could not be reached (%s)",
				    curl_easy_strerror(cc));
			retry_status = 0;
		} else if (a.status != 200) {
			/* Its message stays in the logs: it can name the key (masked) or the
			 * account. */
			error_message(&a.errbody, res->provider, sizeof res->provider);
			rc = finish(res, LLM_UNAVAILABLE, "the language model answered HTTP %ld",
				    a.status);
			retry_status = a.status;
		} else if (end == LLM_SSE_DONE) {
			rc = finish(res, LLM_OK, "ok");
		} else {
			rc = finish(res, LLM_CUT_OFF,
				    "the language model's answer ended before it was complete");
		}
		buf_free(&a.errbody);
		llm_sse_free(&a.sse);
		if (!retry_after_wait(o, attempt, max, retry_status, a.retry_after, streamed, res,
				      &rc))
			break;
	}
	if (rc == LLM_CUT_OFF && res->tokens == 0 && res->status == 200)
		rc = finish(res, LLM_UNAVAILABLE, "%s", res->detail); /* nothing came: as if down */
	free_headers(hdr, auth);
	curl_easy_cleanup(h);
	free(body);
	return rc;
nomem:
	free_headers(hdr, auth);
	if (h)
		curl_easy_cleanup(h);
	free(body);
	return finish(res, LLM_NOMEM, "out of memory");
}

/* ---- embeddings ---- */

int llm_embeddings_parse(const char *json, size_t len, size_t n, float **vecs, size_t *dim)
{
	*vecs = NULL;
	*dim = 0;
	json_t *j = json_loadb(json, len, 0, NULL);
	json_t *data = json_object_get(j, "data");
	float *out = NULL;
	bool *seen = n ? calloc(n, sizeof *seen) : NULL;
	size_t d = 0, i;
	json_t *item;
	if (!json_is_array(data) || json_array_size(data) != n || !n || !seen)
		goto fail;
	json_array_foreach(data, i, item)
	{
		json_t *idx = json_object_get(item, "index");
		json_t *emb = json_object_get(item, "embedding");
		size_t k = json_is_integer(idx) ? (size_t)json_integer_value(idx) : i;
		if (!json_is_array(emb) || k >= n || seen[k] || json_array_size(emb) == 0 ||
		    json_array_size(emb) > 65536)
			goto fail;
		if (!out) {
			d = json_array_size(emb);
			out = calloc(n * d, sizeof *out);
			if (!out)
				goto fail;
		}
		if (json_array_size(emb) != d)
			goto fail;
		seen[k] = true;
		size_t e;
		json_t *v;
		json_array_foreach(emb, e, v)
		{
			if (!json_is_number(v))
				goto fail;
			out[k * d + e] = (float)json_number_value(v);
		}
	}
	free(seen);
	json_decref(j);
	*vecs = out;
	*dim = d;
	return 0;
fail:
	free(seen);
	free(out);
	json_decref(j);
	return -1;
}

double llm_cosine(const float *a, const float *b, size_t dim)
{
	double ab = 0, aa = 0, bb = 0;
	for (size_t i = 0; i < dim; i++) {
		ab += (double)a[i] * b[i];
		aa += (double)a[i] * a[i];
		bb += (double)b[i] * b[i];
	}
	return aa > 0 && bb > 0 ? ab / (sqrt(aa) * sqrt(bb)) : 0;
}

#define EMBED_REPLY_MAX (32 * 1024 * 1024)

static size_t on_embed_body(char *b, size_t size, size_t nmemb, void *ud)
{
	return buf_append(ud, b, size * nmemb) < 0 ? 0 : size * nmemb;
}

struct embed_hdr {
	char retry_after[32];
};

static size_t on_embed_header(char *b, size_t size, size_t nitems, void *ud)
{
	struct embed_hdr *h = ud;
	size_t len = size * nitems;
	keep_retry_after(b, len, h->retry_after, sizeof h->retry_after);
	return len;
}

static int embed_xfer(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		      curl_off_t ulnow)
{
	const struct llm_opts *o = ud;
	return o->cancelled && o->cancelled(o->cancel_ctx) ? 1 : 0;
}

enum llm_rc llm_embed(const struct llm_opts *o, const char *model, const char *const *texts,
		      size_t n, float **vecs, size_t *dim, struct llm_result *res)
{
	memset(res, 0, sizeof *res);
	*vecs = NULL;
	*dim = 0;
	llm_global_init();
	if (!curl_ok || !o->base_url || !model || !*model || !n)
		return finish(res, LLM_UNAVAILABLE, "no embeddings model is configured");
	char url[1024];
	if (!endpoint(o, "/embeddings", url, res))
		return res->rc;
	json_t *in = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(in, json_string(texts[i] ? texts[i] : ""));
	json_t *req = json_pack("{s:s,s:o}", "model", model, "input", in);
	char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	char *auth = NULL;
	struct curl_slist *hdr = NULL;
	CURL *h = curl_easy_init();
	struct buf reply = {.limit = EMBED_REPLY_MAX};
	enum llm_rc rc = LLM_NOMEM;
	if (!body || !h || !make_headers(o, NULL, &hdr, &auth))
		goto out;
	int timeout = o->timeout_s > 0 ? o->timeout_s : 30;
	int max = o->max_attempts > 0 ? o->max_attempts : LLM_MAX_ATTEMPTS;
	for (int attempt = 1;; attempt++) {
		struct embed_hdr eh = {{0}};
		buf_clear(&reply);
		prepare(h, url, body, hdr, timeout, 2 * timeout);
		curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_embed_header);
		curl_easy_setopt(h, CURLOPT_HEADERDATA, &eh);
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_embed_body);
		curl_easy_setopt(h, CURLOPT_WRITEDATA, &reply);
		curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, embed_xfer);
		curl_easy_setopt(h, CURLOPT_XFERINFODATA, (void *)o);
		CURLcode cc = curl_easy_perform(h);
		long status = 0;
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
		res->attempts = attempt;
		res->status = status;
		long retry_status = -1;
		if (o->cancelled && o->cancelled(o->cancel_ctx)) {
			rc = finish(res, LLM_CANCELLED, "stopped by the caller");
		} else if (cc != CURLE_OK) {
			rc = finish(res, LLM_UNAVAILABLE, "the embeddings request failed (%s)",
				    curl_easy_strerror(cc));
			retry_status = 0;
		} else if (status != 200) {
			error_message(&reply, res->provider, sizeof res->provider);
			rc = finish(res, LLM_UNAVAILABLE,
				    "the embeddings request answered HTTP %ld", status);
			retry_status = status;
		} else if (llm_embeddings_parse(reply.data ? reply.data : "", reply.len, n, vecs,
						dim) < 0) {
			rc = finish(res, LLM_GARBAGE, "the embeddings reply was not understood");
		} else {
			rc = finish(res, LLM_OK, "ok");
		}
		if (!retry_after_wait(o, attempt, max, retry_status, eh.retry_after, false, res,
				      &rc))
			break;
	}
out:
	if (rc == LLM_NOMEM)
		finish(res, LLM_NOMEM, "out of memory");
	buf_free(&reply);
	free_headers(hdr, auth);
	if (h)
		curl_easy_cleanup(h);
	free(body);
	return rc;
}

static int collect(void *ctx, const char *text, size_t len)
{
	return buf_append(ctx, text, len) < 0 ? -1 : 0;
}

enum llm_rc llm_chat(const struct llm_opts *o, const struct llm_msg *msgs, size_t n, char **out,
		     struct llm_result *res)
{
	struct buf b = {.limit = 4 * 1024 * 1024};
	*out = NULL;
	enum llm_rc rc = llm_chat_stream(o, msgs, n, collect, &b, res);
	if (rc == LLM_OK) {
		if (buf_append(&b, "", 1) < 0) {
			buf_free(&b);
			return finish(res, LLM_NOMEM, "out of memory");
		}
		*out = buf_steal(&b);
	}
	buf_free(&b);
	return rc;
}

static const struct config *g_cfg; /* set once at start, read-only after */

void llm_configure(const struct config *cfg)
{
	llm_global_init();
	g_cfg = cfg;
}

bool llm_configured(struct llm_opts *o, int *context_tokens)
{
	const struct config *c = g_cfg;
	if (!c || !c->llm_base_url)
		return false;
	memset(o, 0, sizeof *o);
	o->base_url = c->llm_base_url;
	o->api_key = c->llm_api_key;
	o->model = c->llm_model;
	o->timeout_s = c->llm_timeout_s;
	o->temperature = -1;
	if (context_tokens)
		*context_tokens = c->llm_context_tokens;
	return true;
}
