/*
 * Unit tests for intel/llm: the chat.completion.chunk stream parser (whole,
 * split at every byte, CRLF, comments, [DONE], garbage, an error event, a
 * stop from the callback), the retry decision (which statuses, backoff,
 * Retry-After, never after a token) and splitting long inputs.
 * The client itself is tested against a stand-in server in
 * tests/api/chat.test.mjs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "intel/llm.h"

static const char STREAM[] =
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\","
    "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},"
    "\"finish_reason\":null}]}\n\n"
    ": keep-alive\n\n"
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\","
    "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello\"},\"finish_reason\":null}]}\n\n"
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\","
    "\"choices\":[{\"index\":0,\"delta\":{\"content\":\" w\\u00f6rld [1]\"},"
    "\"finish_reason\":null}]}\n\n"
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\","
    "\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
    "data: [DONE]\n\n";

struct got {
	char text[256];
	int calls;
	int stop_after; /* 0 = never */
};

static int on_token(void *ctx, const char *text, size_t len)
{
	struct got *g = ctx;
	strncat(g->text, text, len);
	g->calls++;
	return g->stop_after && g->calls >= g->stop_after;
}

static enum llm_sse_rc feed_all(const char *s, size_t step, struct got *g, struct llm_sse *p)
{
	enum llm_sse_rc rc = LLM_SSE_MORE;
	size_t len = strlen(s);
	for (size_t i = 0; i < len && rc == LLM_SSE_MORE; i += step)
		rc = llm_sse_feed(p, s + i, len - i < step ? len - i : step, on_token, g);
	return rc;
}

static void test_whole_stream(void **state)
{
	struct llm_sse p;
	struct got g = {0};
	llm_sse_init(&p);
	assert_int_equal(feed_all(STREAM, sizeof STREAM, &g, &p), LLM_SSE_DONE);
	assert_string_equal(g.text, "Hello w\xc3\xb6rld [1]");
	assert_int_equal(g.calls, 2); /* the empty role chunk is no token */
	assert_true(p.done);
	assert_true(p.finished);
	assert_string_equal(p.finish, "stop");
	llm_sse_free(&p);
}

/* Lines and events cut anywhere, even inside a UTF-8 escape or "data:", read the same. */
static void test_split_anywhere(void **state)
{
	for (size_t step = 1; step < 40; step++) {
		struct llm_sse p;
		struct got g = {0};
		llm_sse_init(&p);
		assert_int_equal(feed_all(STREAM, step, &g, &p), LLM_SSE_DONE);
		assert_string_equal(g.text, "Hello w\xc3\xb6rld [1]");
		llm_sse_free(&p);
	}
}

static void test_crlf_and_fields(void **state)
{
	static const char S[] = "event: message\r\nid: 7\r\nretry: 100\r\n"
				"data:{\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\r\n\r\n"
				"data: [DONE]\r\n\r\n";
	struct llm_sse p;
	struct got g = {0};
	llm_sse_init(&p);
	assert_int_equal(feed_all(S, 3, &g, &p), LLM_SSE_DONE);
	assert_string_equal(g.text, "a");
	llm_sse_free(&p);
}

static void test_garbage(void **state)
{
	static const char *const BAD[] = {
	    "<html><body>502 Bad Gateway</body></html>\n",
	    "data: not json at all\n\n",
	    "data: {\"object\":\"chat.completion.chunk\"}\n\n", /* no choices */
	    "data: [1,2,3]\n\n",
	    "data: {\"choices\":[{\"delta\":{\"content\":42}}]}\n\n",
	    "data: {\"choices\":[{\"delta\":\"x\"}]}\n\n",
	};
	for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
		struct llm_sse p;
		struct got g = {0};
		llm_sse_init(&p);
		assert_int_equal(feed_all(BAD[i], 5, &g, &p), LLM_SSE_GARBAGE);
		assert_true(p.error[0] != '\0');
		/* Sticky: nothing more is read. */
		assert_int_equal(llm_sse_feed(&p, "data: [DONE]\n\n", 14, on_token, &g),
				 LLM_SSE_GARBAGE);
		assert_int_equal(g.calls, 0);
		llm_sse_free(&p);
	}
}

/* Tokens already handed over stay handed over; the garbage after them still ends it. */
static void test_garbage_after_tokens(void **state)
{
	static const char S[] = "data: {\"choices\":[{\"delta\":{\"content\":\"ok \"}}]}\n\n"
				"data: {\"choices\":[{\"delta\":{\"content\":\"fine\"}}]}\n\n"
				"data: {oops\n\n";
	struct llm_sse p;
	struct got g = {0};
	llm_sse_init(&p);
	assert_int_equal(feed_all(S, 7, &g, &p), LLM_SSE_GARBAGE);
	assert_string_equal(g.text, "ok fine");
	assert_int_equal(p.tokens, 2);
	llm_sse_free(&p);
}

static void test_error_event(void **state)
{
	static const char S[] =
	    "data: {\"error\":{\"message\":\"Rate limit reached\",\"type\":\"requests\","
	    "\"code\":\"rate_limit_exceeded\"}}\n\n";
	struct llm_sse p;
	struct got g = {0};
	llm_sse_init(&p);
	assert_int_equal(feed_all(S, 4, &g, &p), LLM_SSE_ERROR);
	assert_non_null(strstr(p.error, "Rate limit reached"));
	llm_sse_free(&p);
}

static void test_callback_stops(void **state)
{
	struct llm_sse p;
	struct got g = {.stop_after = 1};
	llm_sse_init(&p);
	assert_int_equal(feed_all(STREAM, 11, &g, &p), LLM_SSE_STOPPED);
	assert_string_equal(g.text, "Hello");
	llm_sse_free(&p);
}

/* A stream that stops without [DONE] is still going as far as the parser can tell. */
static void test_no_done_is_more(void **state)
{
	static const char S[] = "data: {\"choices\":[{\"delta\":{\"content\":\"half an\"}}]}\n\n";
	struct llm_sse p;
	struct got g = {0};
	llm_sse_init(&p);
	assert_int_equal(feed_all(S, 9, &g, &p), LLM_SSE_MORE);
	assert_false(p.done);
	assert_false(p.finished);
	llm_sse_free(&p);
}

static void test_line_too_long(void **state)
{
	size_t n = LLM_SSE_LINE_MAX + 10;
	char *big = malloc(n + 1);
	assert_non_null(big);
	memcpy(big, "data: ", 6);
	memset(big + 6, 'x', n - 6);
	big[n] = '\0';
	struct llm_sse p;
	struct got g = {0};
	llm_sse_init(&p);
	assert_int_equal(feed_all(big, 4096, &g, &p), LLM_SSE_GARBAGE);
	llm_sse_free(&p);
	free(big);
}

static void test_retry_decisions(void **state)
{
	/* Retryable: transport failures, 408, 429, most 5xx; growing pauses. */
	assert_int_equal(llm_retry_delay_ms(1, 0, NULL, false), LLM_RETRY_BASE_MS);
	assert_int_equal(llm_retry_delay_ms(2, 503, NULL, false), 2 * LLM_RETRY_BASE_MS);
	assert_int_equal(llm_retry_delay_ms(1, 429, NULL, false), LLM_RETRY_BASE_MS);
	assert_int_equal(llm_retry_delay_ms(1, 500, NULL, false), LLM_RETRY_BASE_MS);
	assert_int_equal(llm_retry_delay_ms(1, 502, NULL, false), LLM_RETRY_BASE_MS);
	assert_int_equal(llm_retry_delay_ms(1, 408, NULL, false), LLM_RETRY_BASE_MS);
	/* The last attempt is the last. */
	assert_int_equal(llm_retry_delay_ms(LLM_MAX_ATTEMPTS, 503, NULL, false), -1);
	/* Not retryable: the request itself is wrong, or unimplemented. */
	assert_int_equal(llm_retry_delay_ms(1, 400, NULL, false), -1);
	assert_int_equal(llm_retry_delay_ms(1, 401, NULL, false), -1);
	assert_int_equal(llm_retry_delay_ms(1, 404, NULL, false), -1);
	assert_int_equal(llm_retry_delay_ms(1, 501, NULL, false), -1);
	/* Never once a token went to the caller: the answer would repeat. */
	assert_int_equal(llm_retry_delay_ms(1, 0, NULL, true), -1);
	assert_int_equal(llm_retry_delay_ms(1, 503, NULL, true), -1);
	/* Retry-After in seconds is honoured when longer than the backoff... */
	assert_int_equal(llm_retry_delay_ms(1, 429, " 2\r\n", false), 2000);
	assert_int_equal(llm_retry_delay_ms(1, 429, "0", false), LLM_RETRY_BASE_MS);
	/* ...not waited for when it is too long, and ignored when unreadable (a date). */
	assert_int_equal(llm_retry_delay_ms(1, 429, "3600", false), -1);
	assert_int_equal(llm_retry_delay_ms(1, 429, "Wed, 21 Oct 2026 07:28:00 GMT", false),
			 LLM_RETRY_BASE_MS);
	assert_int_equal(llm_retry_delay_ms(1, 429, "5x", false), LLM_RETRY_BASE_MS);
}

static void test_split(void **state)
{
	char **parts;
	size_t n;
	const char *text = "line one is here\nline two is here\nline three\n";
	assert_int_equal(llm_split(text, 20, &parts, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(parts[0], "line one is here\n");
	assert_string_equal(parts[1], "line two is here\n");
	assert_string_equal(parts[2], "line three\n");
	llm_parts_free(parts, n);

	/* No line end: at a space; none either: never inside a UTF-8 character. */
	assert_int_equal(llm_split("alpha beta gamma delta", 12, &parts, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(parts[0], "alpha beta ");
	llm_parts_free(parts, n);
	const char *u = "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"; /* ééééé, 10 bytes */
	assert_int_equal(llm_split(u, 9, &parts, &n), 0);
	size_t total = 0;
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(parts[i]);
		assert_true(l <= 9 && l % 2 == 0);
		total += l;
	}
	assert_int_equal(total, 10);
	llm_parts_free(parts, n);

	assert_int_equal(llm_split("", 100, &parts, &n), 0);
	assert_int_equal(n, 0);
	llm_parts_free(parts, n);
	assert_int_equal(llm_tokens_estimate("abcdefgh"), 2);
}

static void test_unconfigured(void **state)
{
	struct llm_opts o = {.base_url = NULL, .model = "m"};
	struct llm_msg m = {"user", "hi"};
	struct llm_result res;
	char *out = (char *)"x";
	assert_int_equal(llm_chat(&o, &m, 1, &out, &res), LLM_UNAVAILABLE);
	assert_null(out);
	assert_string_equal(llm_rc_name(LLM_CUT_OFF), "cut_off");
}

static void test_embeddings_parse(void **state)
{
	float *v;
	size_t dim;
	/* Out of order, as some providers send them: placed by index. */
	static const char OK[] =
	    "{\"object\":\"list\",\"data\":[{\"object\":\"embedding\",\"index\":1,\"embedding\":"
	    "[0,1,0]},{\"object\":\"embedding\",\"index\":0,\"embedding\":[0.5,0,-0.5]}],"
	    "\"model\":\"m\",\"usage\":{\"prompt_tokens\":3,\"total_tokens\":3}}";
	assert_int_equal(llm_embeddings_parse(OK, strlen(OK), 2, &v, &dim), 0);
	assert_int_equal(dim, 3);
	assert_true(v[0] == 0.5f && v[2] == -0.5f && v[4] == 1.0f);
	free(v);
	/* One of two; twice the same index; different lengths; not a number; empty;
	 * an index out of range; an error object; not JSON. */
	static const char *const BAD[] = {
	    "{\"data\":[{\"index\":0,\"embedding\":[1,2]}]}",
	    "{\"data\":[{\"index\":0,\"embedding\":[1]},{\"index\":0,\"embedding\":[1]}]}",
	    "{\"data\":[{\"index\":0,\"embedding\":[1,2]},{\"index\":1,\"embedding\":[1]}]}",
	    "{\"data\":[{\"index\":0,\"embedding\":[\"x\"]},{\"index\":1,\"embedding\":[1]}]}",
	    "{\"data\":[{\"index\":0,\"embedding\":[]},{\"index\":1,\"embedding\":[]}]}",
	    "{\"data\":[{\"index\":5,\"embedding\":[1]},{\"index\":1,\"embedding\":[1]}]}",
	    "{\"error\":{\"message\":\"no\"}}",
	    "not json",
	};
	for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
		v = (float *)1;
		assert_int_equal(llm_embeddings_parse(BAD[i], strlen(BAD[i]), 2, &v, &dim), -1);
		assert_null(v);
	}
}

static void test_cosine(void **state)
{
	const float a[] = {1, 0, 0}, b[] = {2, 0, 0}, c[] = {0, 3, 0}, z[] = {0, 0, 0},
		    d[] = {-1, 0, 0};
	assert_true(llm_cosine(a, b, 3) > 0.999);
	assert_true(llm_cosine(a, c, 3) == 0);
	assert_true(llm_cosine(a, d, 3) < -0.999);
	assert_true(llm_cosine(a, z, 3) == 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_whole_stream),
	    cmocka_unit_test(test_split_anywhere),
	    cmocka_unit_test(test_crlf_and_fields),
	    cmocka_unit_test(test_garbage),
	    cmocka_unit_test(test_garbage_after_tokens),
	    cmocka_unit_test(test_error_event),
	    cmocka_unit_test(test_callback_stops),
	    cmocka_unit_test(test_no_done_is_more),
	    cmocka_unit_test(test_line_too_long),
	    cmocka_unit_test(test_retry_decisions),
	    cmocka_unit_test(test_split),
	    cmocka_unit_test(test_unconfigured),
	    cmocka_unit_test(test_embeddings_parse),
	    cmocka_unit_test(test_cosine),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
