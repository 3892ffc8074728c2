/*
 * Tests for http/server over real HTTP with libcurl: the checks made for
 * every route (404, 405 + Allow, 400 path parameter, 413, 415, 431), JSON
 * bodies, problem+json shape, X-Request-Id, security and CORS headers,
 * preflight, a handler that forgets to reply, and a graceful stop.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "core/timeutil.h"
#include "core/uuid.h"
#include "api/api.h"
#include "http/http.h"
#include "store/db.h"
#include "store/db_impl.h"

#define ORIGIN_OK "http://ok.example"
#define V7_ID	  "0192f0c1-7b1e-7cc3-9d7e-2b1c4a6f9e10"
#define MIB	  (1024 * 1024)

/* ---------- handlers ---------- */

static void h_echo(struct http_req *r)
{
	json_t *obj = http_json_object(r, false);
	if (!obj)
		return; /* http_json_object replied 400 */
	http_reply_json(r, 200, json_incref(obj));
}

static void h_validate(struct http_req *r)
{
	json_t *errors = json_pack("[{s:s,s:s},{s:s,s:s}]", "field", "email", "message",
				   "is required", "field", "name", "message", "must not be empty");
	http_problem_validation(r, errors);
}

static void h_item(struct http_req *r)
{
	http_reply_json(
	    r, 200, json_pack("{s:s,s:s}", "id", http_param(r, "id"), "method", http_method(r)));
}

static void h_forget(struct http_req *r)
{
	(void)r; /* replies nothing: the server must answer 500 */
}

static atomic_int g_slow_entered, g_slow_left;

static void h_slow(struct http_req *r)
{
	atomic_store(&g_slow_entered, 1);
	usleep(300 * 1000);
	atomic_store(&g_slow_left, 1);
	http_reply_json(r, 200, json_pack("{s:b}", "slow", 1));
}

/* Reports a failed store call the way handlers do, after the driver saw an outage or another error.
 */
static void h_dbfail(struct http_req *r)
{
	const char *kind = http_query(r, "kind");
	bool outage = kind && strcmp(kind, "outage") == 0;
	db_conn_set_error(NULL, outage ? DB_UNAVAILABLE : DB_ERR, "simulated");
	api_db_fail(r, STORE_ERROR, "simulated store call");
}

static const struct route ROUTES[] = {
    {M_POST, "/echo", h_echo, BODY_JSON},      {M_POST, "/validate", h_validate, BODY_NONE},
    {M_GET, "/items/{id}", h_item, BODY_NONE}, {M_GET, "/forget", h_forget, BODY_NONE},
    {M_GET, "/slow", h_slow, BODY_NONE},       {M_GET, "/dbfail", h_dbfail, BODY_NONE},
};
#define NROUTES (sizeof ROUTES / sizeof ROUTES[0])

static const char *const CORS[] = {ORIGIN_OK};

/* ---------- server ---------- */

static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	socklen_t len = sizeof a;
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

static struct http_server *start_server(int *port)
{
	char err[256] = "";
	struct http_server_opts o = {
	    .host = "127.0.0.1", .threads = 2, .cors_origins = CORS, .cors_count = 1};
	for (int attempt = 0; attempt < 5; attempt++) {
		o.port = free_port(); /* another process may take it in between: retry */
		struct http_server *s = http_server_start(&o, ROUTES, NROUTES, err, sizeof err);
		if (s) {
			*port = o.port;
			return s;
		}
	}
	fail_msg("server did not start: %s", err);
	return NULL;
}

static struct http_server *g_srv;
static int g_port;

static int group_setup(void **state)
{
	log_set_level(LOG_ERROR);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -1;
	g_srv = start_server(&g_port);
	return g_srv ? 0 : -1;
}

static int group_teardown(void **state)
{
	http_server_stop(g_srv, 1);
	g_srv = NULL;
	curl_global_cleanup();
	return 0;
}

/* ---------- client ---------- */

#define MAX_HEADERS 64

struct resp {
	CURLcode cc;
	long status;
	char *body;
	size_t len;
	int nh;
	char *hname[MAX_HEADERS];
	char *hvalue[MAX_HEADERS];
};

struct upload {
	const char *data;
	size_t len, off;
};

struct req {
	const char *method; /* NULL = GET, or POST when a body is given */
	const char *path;
	const char *const *headers; /* NULL-terminated */
	const char *body;
	size_t body_len;
	bool chunked; /* send the body with Transfer-Encoding: chunked */
	bool head;
	CURL *reuse; /* a handle to keep the connection on */
	long timeout_ms;
};

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
	struct resp *r = ud;
	char *nb = realloc(r->body, r->len + sz * n + 1);
	if (!nb)
		return 0;
	memcpy(nb + r->len, p, sz * n);
	r->body = nb;
	r->len += sz * n;
	r->body[r->len] = '\0';
	return sz * n;
}

static void resp_clear_headers(struct resp *r)
{
	for (int i = 0; i < r->nh; i++) {
		free(r->hname[i]);
		free(r->hvalue[i]);
	}
	r->nh = 0;
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
	struct resp *r = ud;
	size_t len = sz * n;
	if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
		resp_clear_headers(r); /* a new response (after 100 Continue) */
		return len;
	}
	const char *colon = memchr(p, ':', len);
	if (!colon || r->nh == MAX_HEADERS)
		return len;
	const char *v = colon + 1, *end = p + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
		end--;
	r->hname[r->nh] = strndup(p, (size_t)(colon - p));
	r->hvalue[r->nh] = strndup(v, (size_t)(end - v));
	r->nh++;
	return len;
}

static size_t on_read(char *p, size_t sz, size_t n, void *ud)
{
	struct upload *u = ud;
	size_t want = sz * n, left = u->len - u->off;
	if (want > left)
		want = left;
	memcpy(p, u->data + u->off, want);
	u->off += want;
	return want;
}

static struct resp *do_req(const struct req *q)
{
	struct resp *r = calloc(1, sizeof *r);
	assert_non_null(r);
	CURL *c = q->reuse ? q->reuse : curl_easy_init();
	assert_non_null(c);
	char url[2048];
	snprintf(url, sizeof url, "http://127.0.0.1:%d%s", g_port, q->path);
	struct curl_slist *hl = NULL;
	for (const char *const *h = q->headers; h && *h; h++)
		hl = curl_slist_append(hl, *h);
	struct upload up = {q->body, q->body_len, 0};

	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, q->timeout_ms ? q->timeout_ms : 10000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L); /* send "//x" and "/x/" as written */
	if (q->head)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	if (q->body && q->chunked) {
		hl = curl_slist_append(hl, "Transfer-Encoding: chunked");
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c, CURLOPT_READDATA, &up);
	} else if (q->body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, q->body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->body_len);
	}
	if (q->method)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, q->method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);

	r->cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hl);
	if (!q->reuse)
		curl_easy_cleanup(c);
	return r;
}

static void resp_free(struct resp *r)
{
	if (!r)
		return;
	resp_clear_headers(r);
	free(r->body);
	free(r);
}

/* The value of a response header (first of that name), or NULL. */
static const char *hdr(const struct resp *r, const char *name)
{
	for (int i = 0; i < r->nh; i++)
		if (strcasecmp(r->hname[i], name) == 0)
			return r->hvalue[i];
	return NULL;
}

static int hdr_count(const struct resp *r, const char *name)
{
	int n = 0;
	for (int i = 0; i < r->nh; i++)
		n += strcasecmp(r->hname[i], name) == 0;
	return n;
}

static struct resp *get(const char *path)
{
	return do_req(&(struct req){.path = path});
}

static struct resp *post_json(const char *path, const char *body)
{
	static const char *const h[] = {"Content-Type: application/json", NULL};
	return do_req(
	    &(struct req){.path = path, .headers = h, .body = body, .body_len = strlen(body)});
}

/* ---------- checks ---------- */

static void expect_ok(const struct resp *r, long status)
{
	if (r->cc != CURLE_OK)
		fail_msg("request failed: %s", curl_easy_strerror(r->cc));
	if (r->status != status)
		fail_msg("status %ld, want %ld; body: %.300s", r->status, status,
			 r->body ? r->body : "");
}

static void expect_hdr(const struct resp *r, const char *name, const char *value)
{
	const char *v = hdr(r, name);
	if (!v)
		fail_msg("no %s header", name);
	if (value && strcmp(v, value) != 0)
		fail_msg("%s: '%s', want '%s'", name, v, value);
}

static void expect_security_headers(const struct resp *r)
{
	expect_hdr(r, "X-Content-Type-Options", "nosniff");
	expect_hdr(r, "X-Frame-Options", "DENY");
	expect_hdr(r, "Referrer-Policy", "no-referrer");
	expect_hdr(r, "Cache-Control", "no-store");
	expect_hdr(r, "Content-Security-Policy", NULL);
	const char *csp = hdr(r, "Content-Security-Policy");
	assert_non_null(strstr(csp, "default-src 'none'"));
	assert_non_null(strstr(csp, "frame-ancestors 'none'"));
	/* Exactly one request id on every response. */
	expect_hdr(r, "X-Request-Id", NULL);
	assert_int_equal(hdr_count(r, "X-Request-Id"), 1);
	assert_true(strlen(hdr(r, "X-Request-Id")) > 0);
}

/*
 * An RFC 9457 problem with exactly {type, title, status, detail, code,
 * request_id[, errors]}. Returns the parsed body (caller decrefs).
 */
static json_t *expect_problem(const struct resp *r, long status, const char *code)
{
	expect_ok(r, status);
	expect_security_headers(r);
	expect_hdr(r, "Content-Type", "application/problem+json");
	json_error_t e;
	json_t *p = json_loadb(r->body ? r->body : "", r->len, 0, &e);
	if (!json_is_object(p))
		fail_msg("problem body is not an object: %.300s", r->body ? r->body : "");

	char type[128];
	snprintf(type, sizeof type, "/problems/%s", code);
	assert_string_equal(json_string_value(json_object_get(p, "type")), type);
	const char *title = json_string_value(json_object_get(p, "title"));
	assert_non_null(title);
	assert_true(strlen(title) > 0);
	assert_true(json_is_integer(json_object_get(p, "status")));
	assert_int_equal(json_integer_value(json_object_get(p, "status")), status);
	const char *detail = json_string_value(json_object_get(p, "detail"));
	assert_non_null(detail);
	assert_true(strlen(detail) > 10);
	assert_string_equal(json_string_value(json_object_get(p, "code")), code);
	const char *rid = json_string_value(json_object_get(p, "request_id"));
	assert_non_null(rid);
	assert_string_equal(rid, hdr(r, "X-Request-Id"));

	const char *key;
	json_t *v;
	json_object_foreach(p, key, v)
	{
		const char *known[] = {"type", "title",	     "status", "detail",
				       "code", "request_id", "errors"};
		bool ok = false;
		for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
			ok = ok || strcmp(key, known[i]) == 0;
		if (!ok)
			fail_msg("unexpected problem member '%s'", key);
	}
	json_t *errors = json_object_get(p, "errors");
	if (errors) {
		size_t i;
		json_array_foreach(errors, i, v)
		{
			assert_true(json_is_string(json_object_get(v, "field")));
			assert_true(json_is_string(json_object_get(v, "message")));
		}
	}
	return p;
}

/* ---------- tests: routing ---------- */

static void test_echo_json(void **state)
{
	log_set_level(LOG_DEBUG); /* run the access log and MHD log paths once */
	struct resp *r = post_json("/echo", "{\"a\":1,\"b\":[true,null],\"c\":\"\\u00e9\"}");
	usleep(100 * 1000); /* the access log is written once the reply is sent */
	log_set_level(LOG_ERROR);
	expect_ok(r, 200);
	expect_security_headers(r);
	expect_hdr(r, "Content-Type", "application/json");
	json_t *j = json_loadb(r->body, r->len, 0, NULL);
	json_t *want = json_loads("{\"a\":1,\"b\":[true,null],\"c\":\"\\u00e9\"}", 0, NULL);
	assert_true(json_equal(j, want));
	json_decref(j);
	json_decref(want);
	/* A generated request id is a UUID. */
	assert_true(uuid_valid(hdr(r, "X-Request-Id")));
	resp_free(r);

	/* Content-Type parameters and case are fine. */
	static const char *const h[] = {"Content-Type: Application/JSON; charset=utf-8", NULL};
	r = do_req(&(struct req){.path = "/echo", .headers = h, .body = "{}", .body_len = 2});
	expect_ok(r, 200);
	assert_string_equal(r->body, "{}");
	resp_free(r);
}

static void test_path_param(void **state)
{
	struct resp *r = get("/items/" V7_ID);
	expect_ok(r, 200);
	json_t *j = json_loadb(r->body, r->len, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(j, "id")), V7_ID);
	assert_string_equal(json_string_value(json_object_get(j, "method")), "GET");
	json_decref(j);
	resp_free(r);

	/* A trailing slash is ignored; HEAD runs the GET route and sends no body. */
	r = get("/items/" V7_ID "/");
	expect_ok(r, 200);
	resp_free(r);
	r = do_req(&(struct req){.path = "/items/" V7_ID, .head = true});
	expect_ok(r, 200);
	assert_int_equal(r->len, 0);
	expect_security_headers(r);
	resp_free(r);
}

static void test_not_found(void **state)
{
	const char *paths[] = {"/nope", "/items", "/items/" V7_ID "/x", "//echo", "/echo//", "/"};
	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
		struct resp *r = get(paths[i]);
		json_decref(expect_problem(r, 404, "not_found"));
		assert_null(hdr(r, "Allow"));
		resp_free(r);
	}
	/* The path in the detail is cut, not echoed at any length. */
	char path[3000] = "/";
	memset(path + 1, 'p', 2000);
	struct resp *r = get(path);
	json_t *p = expect_problem(r, 404, "not_found");
	assert_true(strlen(json_string_value(json_object_get(p, "detail"))) < 400);
	json_decref(p);
	resp_free(r);
}

static void test_method_not_allowed(void **state)
{
	struct resp *r = do_req(&(struct req){.method = "DELETE", .path = "/echo"});
	json_t *p = expect_problem(r, 405, "method_not_allowed");
	assert_int_equal(hdr_count(r, "Allow"), 1);
	expect_hdr(r, "Allow", "POST");
	json_decref(p);
	resp_free(r);

	r = get("/echo");
	json_decref(expect_problem(r, 405, "method_not_allowed"));
	expect_hdr(r, "Allow", "POST");
	resp_free(r);

	/* HEAD comes with GET. */
	r = do_req(
	    &(struct req){.method = "PUT", .path = "/items/" V7_ID, .body = "{}", .body_len = 2});
	json_decref(expect_problem(r, 405, "method_not_allowed"));
	expect_hdr(r, "Allow", "GET, HEAD");
	resp_free(r);

	/* A method the server does not know is a 405 too, and is not echoed raw. */
	r = do_req(&(struct req){.method = "BREW", .path = "/items/" V7_ID});
	json_decref(expect_problem(r, 405, "method_not_allowed"));
	expect_hdr(r, "Allow", "GET, HEAD");
	resp_free(r);

	/* 405 is decided before the path parameter is checked. */
	r = do_req(&(struct req){.method = "DELETE", .path = "/items/not-a-uuid"});
	json_decref(expect_problem(r, 405, "method_not_allowed"));
	resp_free(r);
}

static void test_invalid_path_parameter(void **state)
{
	const char *paths[] = {"/items/abc", "/items/" V7_ID "0",
			       "/items/0192f0c1-7b1e-7cc3-9d7e-2b1c4a6f9e1g", "/items/%20"};
	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
		struct resp *r = get(paths[i]);
		json_t *p = expect_problem(r, 400, "invalid_path_parameter");
		json_t *errors = json_object_get(p, "errors");
		assert_int_equal(json_array_size(errors), 1);
		json_t *e = json_array_get(errors, 0);
		assert_string_equal(json_string_value(json_object_get(e, "field")), "id");
		assert_string_equal(json_string_value(json_object_get(e, "message")),
				    "must be a UUID");
		json_decref(p);
		resp_free(r);
	}
}

/*
 * What the client sent is quoted in some details (path, Content-Type). A
 * path is percent-decoded into arbitrary bytes, and "%.200s" can cut a
 * UTF-8 character in half: either way the problem must still be a
 * problem+json with the right status, not an empty 500.
 */
static void test_problem_quotes_non_utf8(void **state)
{
	char longpath[512] = "/";
	memset(longpath + 1, 'a', 198);
	strcpy(longpath + 199, "%c3%a9%c3%a9"); /* the 200th byte is the middle of an "é" */
	struct {
		const char *method, *path, *header;
		long status;
		const char *code;
	} cases[] = {
	    {NULL, "/nope%ff", NULL, 404, "not_found"},
	    {NULL, "/nope%c3", NULL, 404, "not_found"},
	    {NULL, longpath, NULL, 404, "not_found"},
	    {"PUT", "/items/%ff", NULL, 405, "method_not_allowed"},
	    {"POST", "/echo", "Content-Type: text/\xff", 415, "unsupported_media_type"},
	};
	int failed = 0;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *h[] = {cases[i].header, NULL};
		struct resp *r = do_req(&(struct req){.method = cases[i].method,
						      .path = cases[i].path,
						      .headers = h,
						      .body = cases[i].header ? "{}" : NULL,
						      .body_len = 2});
		if (r->status != cases[i].status || !r->body) {
			print_message("case %zu (%s %.40s): status %ld, want %ld; body '%s'\n", i,
				      cases[i].method ? cases[i].method : "GET", cases[i].path,
				      r->status, cases[i].status, r->body ? r->body : "");
			failed++;
		} else {
			json_decref(expect_problem(r, cases[i].status, cases[i].code));
		}
		resp_free(r);
	}
	assert_int_equal(failed, 0);
}

/* ---------- tests: bodies ---------- */

static char *json_body_of(size_t total)
{
	/* {"a":"xxx...x"} of exactly total bytes. */
	char *b = malloc(total + 1);
	assert_non_null(b);
	memcpy(b, "{\"a\":\"", 6);
	memset(b + 6, 'x', total - 8);
	memcpy(b + total - 2, "\"}", 2);
	b[total] = '\0';
	return b;
}

static void test_body_limit_boundary(void **state)
{
	char *b = json_body_of(HTTP_JSON_MAX);
	struct resp *r = post_json("/echo", b);
	expect_ok(r, 200);
	assert_int_equal(r->len, HTTP_JSON_MAX);
	resp_free(r);
	free(b);

	b = json_body_of(HTTP_JSON_MAX + 1);
	r = post_json("/echo", b);
	json_decref(expect_problem(r, 413, "payload_too_large"));
	resp_free(r);
	free(b);
}

static void test_too_large_content_length(void **state)
{
	char *b = json_body_of(2 * MIB);
	/* With curl's default Expect: 100-continue the body is never sent. */
	struct resp *r = post_json("/echo", b);
	json_decref(expect_problem(r, 413, "payload_too_large"));
	resp_free(r);

	/* Without it the body arrives anyway; the answer is the same. */
	static const char *const h[] = {"Content-Type: application/json", "Expect:", NULL};
	r = do_req(&(struct req){.path = "/echo", .headers = h, .body = b, .body_len = 2 * MIB});
	json_decref(expect_problem(r, 413, "payload_too_large"));
	resp_free(r);
	free(b);

	/* The server is still serving. */
	r = post_json("/echo", "{\"after\":true}");
	expect_ok(r, 200);
	resp_free(r);
}

static void test_too_large_chunked(void **state)
{
	char *b = json_body_of(2 * MIB);
	static const char *const h[] = {"Content-Type: application/json", NULL};
	struct resp *r = do_req(&(struct req){
	    .path = "/echo", .headers = h, .body = b, .body_len = 2 * MIB, .chunked = true});
	json_decref(expect_problem(r, 413, "payload_too_large"));
	resp_free(r);

	/* A small chunked body is read whole. */
	r = do_req(&(struct req){
	    .path = "/echo", .headers = h, .body = "{\"c\":1}", .body_len = 7, .chunked = true});
	expect_ok(r, 200);
	assert_string_equal(r->body, "{\"c\":1}");
	resp_free(r);
	free(b);
}

/* A body with no end: the server stops reading it and lives on. */
static void test_endless_chunked_body(void **state)
{
	size_t n = 12 * MIB; /* past the 8 MiB the server is willing to discard */
	char *b = malloc(n);
	assert_non_null(b);
	memset(b, ' ', n);
	static const char *const h[] = {"Content-Type: application/json", NULL};
	struct resp *r = do_req(&(struct req){
	    .path = "/echo", .headers = h, .body = b, .body_len = n, .chunked = true});
	/* The server stops reading, but only after the client can read why. */
	json_decref(expect_problem(r, 413, "payload_too_large"));
	resp_free(r);
	free(b);

	r = get("/items/" V7_ID);
	expect_ok(r, 200);
	resp_free(r);
}

static void test_unsupported_media_type(void **state)
{
	const char *types[] = {"Content-Type: text/plain", "Content-Type: application/jsonx",
			       "Content-Type: application/x-www-form-urlencoded",
			       "Content-Type: multipart/form-data; boundary=x"};
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
		const char *h[] = {types[i], NULL};
		struct resp *r = do_req(
		    &(struct req){.path = "/echo", .headers = h, .body = "{}", .body_len = 2});
		json_decref(expect_problem(r, 415, "unsupported_media_type"));
		resp_free(r);
	}
	/* No Content-Type at all. */
	static const char *const none[] = {"Content-Type:", NULL};
	struct resp *r =
	    do_req(&(struct req){.path = "/echo", .headers = none, .body = "{}", .body_len = 2});
	json_decref(expect_problem(r, 415, "unsupported_media_type"));
	resp_free(r);
}

static void test_malformed_json(void **state)
{
	/* Bad bytes and multi-byte text next to the error are quoted safely. */
	const char *bodies[] = {"{bad",
				"{\"a\":}",
				"{\"a\":1,\"a\":2}",
				"{}{}",
				"\xff",
				"nul",
				"{\"a\":\xc3}",
				"{\"a\":\xc3\xa9}",
				"{\"\xc3\xa9\":1,\"\xc3\xa9\":2}"};
	for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
		struct resp *r = post_json("/echo", bodies[i]);
		json_decref(expect_problem(r, 400, "malformed_json"));
		resp_free(r);
	}
}

static void test_invalid_body(void **state)
{
	const char *bodies[] = {"[1,2]", "\"a string\"", "42", "null", "true"};
	for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
		struct resp *r = post_json("/echo", bodies[i]);
		json_decref(expect_problem(r, 400, "invalid_body"));
		resp_free(r);
	}
	/* An empty body where an object is needed. */
	struct resp *r = post_json("/echo", "");
	json_decref(expect_problem(r, 400, "invalid_body"));
	resp_free(r);
}

static void test_validation_problem(void **state)
{
	struct resp *r = post_json("/validate", "{}");
	json_t *p = expect_problem(r, 400, "validation_failed");
	json_t *errors = json_object_get(p, "errors");
	assert_int_equal(json_array_size(errors), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(errors, 0), "field")),
			    "email");
	assert_string_equal(json_string_value(json_object_get(json_array_get(errors, 1), "field")),
			    "name");
	assert_non_null(strstr(json_string_value(json_object_get(p, "detail")), "2 fields"));
	json_decref(p);
	resp_free(r);
}

static void test_header_too_large(void **state)
{
	char *big = malloc(9100);
	assert_non_null(big);
	strcpy(big, "X-Big: ");
	memset(big + 7, 'h', 9000);
	big[9007] = '\0';
	const char *h[] = {big, NULL};
	struct resp *r = do_req(&(struct req){.path = "/items/" V7_ID, .headers = h});
	json_decref(expect_problem(r, 431, "header_too_large"));
	resp_free(r);

	/* Checked before routing: an unknown path says 431 too. */
	r = do_req(&(struct req){.path = "/nope", .headers = h});
	json_decref(expect_problem(r, 431, "header_too_large"));
	resp_free(r);
	free(big);

	/* A header just under the limit is fine. */
	char ok[8200];
	strcpy(ok, "X-Ok: ");
	memset(ok + 6, 'o', 8000);
	ok[8006] = '\0';
	const char *h2[] = {ok, NULL};
	r = do_req(&(struct req){.path = "/items/" V7_ID, .headers = h2});
	expect_ok(r, 200);
	resp_free(r);
}

/*
 * Many header lines, each under the 8 KiB line limit, that add up to more
 * than the connection's 64 KiB of memory. libmicrohttpd refuses them itself
 * before any of our code runs, so the reply is its own 431 (no problem+json,
 * no X-Request-Id): what matters here is the status and that the server
 * lives on.
 */
static void test_headers_too_large_in_total(void **state)
{
	enum { LINES = 12, LINE = 7000 };
	char *lines[LINES];
	const char *h[LINES + 1];
	for (int i = 0; i < LINES; i++) {
		lines[i] = malloc(LINE + 16);
		assert_non_null(lines[i]);
		int n = sprintf(lines[i], "X-Fill-%d: ", i);
		memset(lines[i] + n, 'f', LINE);
		lines[i][n + LINE] = '\0';
		h[i] = lines[i];
	}
	h[LINES] = NULL;
	struct resp *r = do_req(&(struct req){.path = "/items/" V7_ID, .headers = h});
	expect_ok(r, 431);
	resp_free(r);
	for (int i = 0; i < LINES; i++)
		free(lines[i]);

	r = get("/items/" V7_ID);
	expect_ok(r, 200);
	resp_free(r);
}

static void test_handler_forgets_to_reply(void **state)
{
	struct resp *r = get("/forget");
	json_t *p = expect_problem(r, 500, "internal_error");
	/* Nothing about the cause reaches the client. */
	assert_null(strstr(r->body, "handler"));
	assert_null(strstr(r->body, "did not reply"));
	json_decref(p);
	resp_free(r);
}

/* ---------- tests: headers ---------- */

static void test_request_id(void **state)
{
	struct {
		const char *sent;
		bool kept;
	} cases[] = {
	    {"abc-123_x.y", true},
	    {"0123456789012345678901234567890123456789012345678901234567890123", true},	  /* 64 */
	    {"01234567890123456789012345678901234567890123456789012345678901234", false}, /* 65 */
	    {"bad id", false},
	    {"semi;colon", false},
	    {"<script>", false},
	    {"a/b", false},
	    {"\xc3\xa9t\xc3\xa9", false},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char h[256];
		snprintf(h, sizeof h, "X-Request-Id: %s", cases[i].sent);
		const char *hs[] = {h, NULL};
		/* Both on a success and on a problem. */
		for (int k = 0; k < 2; k++) {
			struct resp *r = do_req(
			    &(struct req){.path = k ? "/nope" : "/items/" V7_ID, .headers = hs});
			expect_ok(r, k ? 404 : 200);
			const char *got = hdr(r, "X-Request-Id");
			assert_non_null(got);
			assert_int_equal(hdr_count(r, "X-Request-Id"), 1);
			if (cases[i].kept) {
				assert_string_equal(got, cases[i].sent);
			} else {
				assert_string_not_equal(got, cases[i].sent);
				assert_true(uuid_valid(got));
			}
			if (k)
				json_decref(expect_problem(r, 404, "not_found"));
			resp_free(r);
		}
	}
	/* Fresh ids differ. */
	struct resp *a = get("/nope"), *b = get("/nope");
	assert_string_not_equal(hdr(a, "X-Request-Id"), hdr(b, "X-Request-Id"));
	resp_free(a);
	resp_free(b);
}

static void test_cors(void **state)
{
	static const char *const ok[] = {"Origin: " ORIGIN_OK, NULL};
	struct resp *r = do_req(&(struct req){.path = "/items/" V7_ID, .headers = ok});
	expect_ok(r, 200);
	expect_hdr(r, "Access-Control-Allow-Origin", ORIGIN_OK);
	assert_non_null(hdr(r, "Access-Control-Expose-Headers"));
	assert_non_null(strstr(hdr(r, "Access-Control-Expose-Headers"), "X-Request-Id"));
	expect_hdr(r, "Vary", "Origin");
	assert_null(hdr(r, "Access-Control-Allow-Credentials"));
	resp_free(r);

	/* Problems carry it too, so the browser can read them. */
	r = do_req(&(struct req){.path = "/nope", .headers = ok});
	json_decref(expect_problem(r, 404, "not_found"));
	expect_hdr(r, "Access-Control-Allow-Origin", ORIGIN_OK);
	resp_free(r);

	const char *others[] = {"Origin: http://evil.example",
				"Origin: http://ok.example.evil",
				"Origin: https://ok.example",
				"Origin: http://ok.example:80",
				"Origin: null",
				"Origin: *",
				"Origin: HTTP://OK.EXAMPLE"};
	for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
		const char *h[] = {others[i], NULL};
		r = do_req(&(struct req){.path = "/items/" V7_ID, .headers = h});
		expect_ok(r, 200);
		assert_null(hdr(r, "Access-Control-Allow-Origin"));
		assert_null(hdr(r, "Access-Control-Expose-Headers"));
		expect_hdr(r, "Vary", "Origin"); /* caches must still split on it */
		resp_free(r);
	}
	/* No Origin at all. */
	r = get("/items/" V7_ID);
	assert_null(hdr(r, "Access-Control-Allow-Origin"));
	resp_free(r);
}

static void test_preflight(void **state)
{
	static const char *const h[] = {"Origin: " ORIGIN_OK, "Access-Control-Request-Method: POST",
					"Access-Control-Request-Headers: content-type", NULL};
	struct resp *r = do_req(&(struct req){.method = "OPTIONS", .path = "/echo", .headers = h});
	expect_ok(r, 204);
	assert_int_equal(r->len, 0);
	expect_security_headers(r);
	expect_hdr(r, "Access-Control-Allow-Origin", ORIGIN_OK);
	const char *m = hdr(r, "Access-Control-Allow-Methods");
	assert_non_null(m);
	assert_string_equal(m, "POST, OPTIONS");
	expect_hdr(r, "Allow", "POST, OPTIONS");
	const char *ah = hdr(r, "Access-Control-Allow-Headers");
	assert_non_null(ah);
	assert_non_null(strcasestr(ah, "Content-Type"));
	assert_non_null(strcasestr(ah, "Authorization"));
	assert_non_null(hdr(r, "Access-Control-Max-Age"));
	resp_free(r);

	/* On a GET route the methods include HEAD. */
	r = do_req(&(struct req){.method = "OPTIONS", .path = "/items/" V7_ID, .headers = h});
	expect_ok(r, 204);
	expect_hdr(r, "Access-Control-Allow-Methods", "GET, HEAD, OPTIONS");
	resp_free(r);

	/* From an origin not allowed: 204 with Allow, but no CORS grant. */
	static const char *const evil[] = {"Origin: http://evil.example",
					   "Access-Control-Request-Method: POST", NULL};
	r = do_req(&(struct req){.method = "OPTIONS", .path = "/echo", .headers = evil});
	expect_ok(r, 204);
	assert_null(hdr(r, "Access-Control-Allow-Origin"));
	assert_null(hdr(r, "Access-Control-Allow-Methods"));
	expect_hdr(r, "Allow", "POST, OPTIONS");
	resp_free(r);

	/* A plain OPTIONS (no preflight headers) just lists what is allowed. */
	r = do_req(&(struct req){.method = "OPTIONS", .path = "/echo"});
	expect_ok(r, 204);
	expect_hdr(r, "Allow", "POST, OPTIONS");
	assert_null(hdr(r, "Access-Control-Allow-Methods"));
	resp_free(r);

	/* OPTIONS on an unknown path is still a 404. */
	r = do_req(&(struct req){.method = "OPTIONS", .path = "/nope", .headers = h});
	json_decref(expect_problem(r, 404, "not_found"));
	resp_free(r);
}

/* ---------- tests: start and stop ---------- */

static void test_start_errors(void **state)
{
	char err[256];
	struct http_server_opts o = {.host = "127.0.0.1", .port = g_port, .threads = 1};
	/* The port is taken by the running server. */
	err[0] = '\0';
	assert_null(http_server_start(&o, ROUTES, NROUTES, err, sizeof err));
	assert_true(strlen(err) > 0);
	/* An address that does not resolve. */
	o.host = "no such host!";
	o.port = free_port();
	err[0] = '\0';
	assert_null(http_server_start(&o, ROUTES, NROUTES, err, sizeof err));
	assert_true(strlen(err) > 0);
	/* A route table with a malformed pattern. */
	static const struct route bad[] = {{M_GET, "no-slash", h_item, BODY_NONE}};
	o.host = "127.0.0.1";
	err[0] = '\0';
	assert_null(http_server_start(&o, bad, 1, err, sizeof err));
	assert_non_null(strstr(err, "no-slash"));
	http_server_stop(NULL, 1);
}

struct client_arg {
	int port;
	struct resp *r;
};

static void *slow_client(void *arg)
{
	struct client_arg *a = arg;
	char url[128];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/slow", a->port);
	struct resp *r = calloc(1, sizeof *r);
	CURL *c = curl_easy_init();
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	r->cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_easy_cleanup(c);
	a->r = r;
	return NULL;
}

static void test_stop_waits_for_in_flight(void **state)
{
	int port;
	struct http_server *s = start_server(&port);
	atomic_store(&g_slow_entered, 0);
	atomic_store(&g_slow_left, 0);

	struct client_arg a = {.port = port};
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, slow_client, &a), 0);
	int64_t until = time_mono_us() + 5 * 1000000;
	while (!atomic_load(&g_slow_entered) && time_mono_us() < until)
		usleep(1000);
	assert_true(atomic_load(&g_slow_entered));

	int64_t t0 = time_mono_us();
	http_server_stop(s, 10);
	int64_t ms = (time_mono_us() - t0) / 1000;
	/* It waited for the handler (about 300 ms), and not for the grace period. */
	assert_true(atomic_load(&g_slow_left));
	if (ms > 3000)
		fail_msg("http_server_stop took %lld ms", (long long)ms);

	pthread_join(th, NULL);
	if (a.r->cc != CURLE_OK)
		fail_msg("in-flight request failed: %s", curl_easy_strerror(a.r->cc));
	assert_int_equal(a.r->status, 200);
	assert_string_equal(a.r->body, "{\"slow\":true}");
	resp_free(a.r);

	/* Nothing listens any more. */
	int saved = g_port;
	g_port = port;
	struct resp *r = do_req(&(struct req){.path = "/items/" V7_ID, .timeout_ms = 2000});
	g_port = saved;
	assert_int_not_equal(r->cc, CURLE_OK);
	resp_free(r);
}

static void test_stop_with_idle_keepalive(void **state)
{
	/* An idle kept-alive connection is not a request in flight: stop is quick. */
	int port, saved = g_port;
	struct http_server *s = start_server(&port);
	CURL *c = curl_easy_init();
	assert_non_null(c);
	g_port = port;
	for (int i = 0; i < 3; i++) {
		struct resp *r = do_req(&(struct req){.path = "/items/" V7_ID, .reuse = c});
		expect_ok(r, 200);
		resp_free(r);
	}
	g_port = saved;
	int64_t t0 = time_mono_us();
	http_server_stop(s, 10);
	int64_t ms = (time_mono_us() - t0) / 1000;
	curl_easy_cleanup(c);
	if (ms > 2000)
		fail_msg("http_server_stop took %lld ms with an idle connection", (long long)ms);
}

/* ---------- raw-socket tests: framing, targets, connection limits, streams ---------- */

/* Send req on a new connection (from local address src, NULL = any) and read until close or
 * wait_ms. */
static char *raw_exchange_from(int port, const char *src, const char *req, int wait_ms,
			       bool *closed)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	if (src) {
		struct sockaddr_in l = {.sin_family = AF_INET};
		inet_pton(AF_INET, src, &l.sin_addr);
		assert_int_equal(bind(fd, (struct sockaddr *)&l, sizeof l), 0);
	}
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
	struct timeval tv = {.tv_sec = wait_ms / 1000, .tv_usec = (wait_ms % 1000) * 1000};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	size_t len = strlen(req);
	assert_int_equal(send(fd, req, len, MSG_NOSIGNAL), (ssize_t)len);
	char *out = calloc(1, 65536);
	size_t got = 0;
	*closed = false;
	for (;;) {
		ssize_t n = recv(fd, out + got, 65535 - got, 0);
		if (n == 0 ||
		    (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
			*closed = true;
			break;
		}
		if (n < 0)
			break; /* timed out, still open */
		got += (size_t)n;
		if (got >= 65535)
			break;
	}
	close(fd);
	return out;
}

static char *raw_exchange(const char *req, bool *closed)
{
	return raw_exchange_from(g_port, NULL, req, 3000, closed);
}

static void expect_raw_problem(const char *resp, int status, const char *code)
{
	char want[32], wcode[96];
	snprintf(want, sizeof want, "HTTP/1.1 %d ", status);
	snprintf(wcode, sizeof wcode, "\"code\":\"%s\"", code);
	if (strncmp(resp, want, strlen(want)) != 0 || !strstr(resp, wcode) ||
	    !strcasestr(resp, "application/problem+json"))
		fail_msg("want %d %s, got: %.400s", status, code, resp);
}

static void test_smuggling_refused(void **state)
{
	bool closed;
	char *r = raw_exchange(
	    "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
	    "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"
	    "GET /items/" V7_ID " HTTP/1.1\r\nHost: x\r\n\r\n",
	    &closed);
	expect_raw_problem(r, 400, "ambiguous_body_length");
	assert_null(strstr(r + 5, "HTTP/1.1 200")); /* nothing smuggled through */
	assert_true(closed);
	free(r);
	r = raw_exchange("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
			 "Content-Length: 2\r\nContent-Length: 30\r\n\r\n{}",
			 &closed);
	expect_raw_problem(r, 400, "invalid_content_length");
	assert_true(closed);
	free(r);
}

static void test_request_target_checks(void **state)
{
	bool closed;
	/* 1,000 query parameters: MHD used to run out of memory and answer nothing. */
	struct buf q = {0};
	buf_puts(&q, "GET /items/" V7_ID "?a=1");
	for (int i = 0; i < 999; i++)
		buf_puts(&q, "&a=1");
	buf_puts(&q, " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	char *r = raw_exchange(q.data, &closed);
	expect_raw_problem(r, 414, "too_many_query_parameters");
	free(r);
	buf_free(&q);
	r = raw_exchange("GET /items/" V7_ID
			 "?x=a%00b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
			 &closed);
	expect_raw_problem(r, 400, "invalid_request_target");
	free(r);
	r = raw_exchange("GET http://x/items/" V7_ID
			 " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
			 &closed);
	if (strncmp(r, "HTTP/1.1 200", 12) != 0 || !strstr(r, V7_ID))
		fail_msg("absolute-form not routed by its path: %.300s", r);
	free(r);
	r = raw_exchange("GET /items/" V7_ID " HTTP/1.1\r\nConnection: close\r\n\r\n", &closed);
	expect_raw_problem(r, 400, "missing_host");
	free(r);
	r = raw_exchange("GET /items/" V7_ID
			 " HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n",
			 &closed);
	expect_raw_problem(r, 400, "duplicate_host");
	free(r);
}

/* ---- a second server with small limits and an event-stream route ---- */

static char g_dead_session[40];

static int fake_session_live(void *app, const char *user, const char *sid)
{
	return strcmp(sid, g_dead_session) == 0 ? 0 : 1;
}

static bool sse_tick(void *ctx, struct buf *out)
{
	return true;
}

static void h_stream(struct http_req *r)
{
	http_set_principal(r, http_query(r, "user"), http_query(r, "sid"));
	http_reply_sse(r, 100, sse_tick, NULL, NULL);
}

static const struct route LIMIT_ROUTES[] = {
    {M_GET, "/items/{id}", h_item, BODY_NONE},
    {M_GET, "/streams/{id}", h_stream, BODY_NONE},
};

static struct http_server *start_limited(int *port)
{
	char err[256] = "";
	struct http_server_opts o = {.host = "127.0.0.1",
				     .threads = 2,
				     .head_timeout_s = 1,
				     .max_connections = 32,
				     .max_conn_per_ip = 3,
				     .sse_per_user = 2,
				     .sse_per_meeting = 3,
				     .session_live = fake_session_live};
	for (int attempt = 0; attempt < 5; attempt++) {
		o.port = free_port();
		struct http_server *s = http_server_start(&o, LIMIT_ROUTES, 2, err, sizeof err);
		if (s) {
			*port = o.port;
			return s;
		}
	}
	fail_msg("server did not start: %s", err);
	return NULL;
}

static int connect_to(int port, const char *src)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in l = {.sin_family = AF_INET};
	inet_pton(AF_INET, src, &l.sin_addr);
	assert_int_equal(bind(fd, (struct sockaddr *)&l, sizeof l), 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
	return fd;
}

/* Read until the peer closes; returns ms waited, or -1 if still open after max_ms. */
static int wait_closed(int fd, int max_ms, char *out, size_t outlen)
{
	int64_t t0 = time_mono_us();
	struct timeval tv = {.tv_sec = 0, .tv_usec = 100000};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	size_t got = 0;
	while ((time_mono_us() - t0) / 1000 < max_ms) {
		char tmp[4096];
		ssize_t n = recv(fd, tmp, sizeof tmp, 0);
		if (n > 0 && out && got + (size_t)n < outlen) {
			memcpy(out + got, tmp, (size_t)n);
			got += (size_t)n;
			out[got] = '\0';
		}
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
			return (int)((time_mono_us() - t0) / 1000);
	}
	return -1;
}

static void test_slow_heads_and_per_ip_cap(void **state)
{
	int port;
	struct http_server *s = start_limited(&port);
	int slow[5];
	for (int i = 0; i < 5; i++) {
		slow[i] = connect_to(port, "127.0.0.1");
		const char *part = "GET /items/" V7_ID " HTTP/1.1\r\nHost: x\r\n";
		assert_true(send(slow[i], part, strlen(part), MSG_NOSIGNAL) > 0);
	}
	usleep(200 * 1000);
	bool closed;
	/* Another address is served; the crowded one gets a 503 it can read. */
	char *r = raw_exchange_from(
	    port, "127.0.0.2",
	    "GET /items/" V7_ID " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 3000, &closed);
	if (strncmp(r, "HTTP/1.1 200", 12) != 0)
		fail_msg("other address not served: %.300s", r);
	free(r);
	r = raw_exchange_from(port, "127.0.0.1", "GET /items/" V7_ID " HTTP/1.1\r\nHost: x\r\n\r\n",
			      3000, &closed);
	expect_raw_problem(r, 503, "too_many_connections");
	assert_true(closed);
	free(r);
	/* Each slow head is cut off at the deadline (1 s; over-cap ones the same), with a 408 for
	 * the first ones. */
	char out[2048] = "";
	for (int i = 0; i < 5; i++) {
		int ms = wait_closed(slow[i], 4000, i == 0 ? out : NULL, sizeof out);
		if (ms < 0)
			fail_msg("slow connection %d still open after 4 s", i);
		close(slow[i]);
	}
	/*
	 * The server learns that the slow ones went when it next polls their
	 * sockets: the address is served again within a few seconds (not
	 * necessarily at once on a loaded machine).
	 */
	for (int tries = 0;; tries++) {
		r = raw_exchange_from(port, "127.0.0.1",
				      "GET /items/" V7_ID
				      " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
				      3000, &closed);
		if (strncmp(r, "HTTP/1.1 200", 12) == 0)
			break;
		if (tries == 30)
			fail_msg("address not served again after the slow ones went: %.300s", r);
		free(r);
		usleep(100 * 1000);
	}
	free(r);
	http_server_stop(s, 1);
}

static int open_stream(int port, const char *meeting, const char *user, const char *sid,
		       char *status, size_t n)
{
	static int next_src =
	    10; /* one address each: the per-address cap is not what is tested here */
	char src[32];
	snprintf(src, sizeof src, "127.0.1.%d", next_src++);
	int fd = connect_to(port, src);
	char req[256];
	snprintf(req, sizeof req, "GET /streams/%s?user=%s&sid=%s HTTP/1.1\r\nHost: x\r\n\r\n",
		 meeting, user, sid);
	assert_true(send(fd, req, strlen(req), MSG_NOSIGNAL) > 0);
	struct timeval tv = {.tv_sec = 2};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	ssize_t got = recv(fd, status, n - 1, 0);
	status[got > 0 ? got : 0] = '\0';
	return fd;
}

#define M1 "0192f0c1-7b1e-7cc3-9d7e-2b1c4a6f9e11"
#define M2 "0192f0c1-7b1e-7cc3-9d7e-2b1c4a6f9e12"

static void test_stream_caps_and_session_end(void **state)
{
	int port;
	struct http_server *s = start_limited(&port);
	char st[2048];
	int fds[8], n = 0;
	/* Per user: 2. */
	fds[n++] = open_stream(port, M1, "u1", "s1", st, sizeof st);
	assert_int_equal(strncmp(st, "HTTP/1.1 200", 12), 0);
	fds[n++] = open_stream(port, M2, "u1", "s1", st, sizeof st);
	assert_int_equal(strncmp(st, "HTTP/1.1 200", 12), 0);
	fds[n++] = open_stream(port, M2, "u1", "s1", st, sizeof st);
	expect_raw_problem(st, 429, "too_many_streams");
	assert_non_null(strstr(st, "You have 2"));
	/* Per meeting: 3 (M1 has one from u1). */
	fds[n++] = open_stream(port, M1, "u2", "s2", st, sizeof st);
	assert_int_equal(strncmp(st, "HTTP/1.1 200", 12), 0);
	fds[n++] = open_stream(port, M1, "u3", "s3", st, sizeof st);
	assert_int_equal(strncmp(st, "HTTP/1.1 200", 12), 0);
	fds[n++] = open_stream(port, M1, "u4", "s4", st, sizeof st);
	expect_raw_problem(st, 429, "too_many_streams");
	assert_non_null(strstr(st, "This meeting has 3"));
	/* Session s2 ends: its stream ends within a few seconds with the reason. */
	snprintf(g_dead_session, sizeof g_dead_session, "s2");
	char out[4096] = "";
	int ms = wait_closed(fds[3], 5000, out, sizeof out);
	if (ms < 0)
		fail_msg("the stream of an ended session is still open after 5 s");
	assert_non_null(strstr(out, "event: end\ndata: {\"reason\":\"session_ended\"}"));
	/* Its place is free again. */
	int again = open_stream(port, M1, "u5", "s5", st, sizeof st);
	assert_int_equal(strncmp(st, "HTTP/1.1 200", 12), 0);
	/* Live sessions' streams are still open. */
	assert_int_equal(wait_closed(fds[0], 300, NULL, 0), -1);
	g_dead_session[0] = '\0';
	for (int i = 0; i < n; i++)
		close(fds[i]);
	close(again);
	http_server_stop(s, 1);
}

/* Item 21: an outage is told apart from other database errors, whatever code the caller saw. */
static void test_db_outage_is_retryable(void **state)
{
	/* The PostgreSQL driver reports a lost or refused connection like this. */
	db_conn_set_error(NULL, DB_UNAVAILABLE,
			  "postgres: server closed the connection unexpectedly");
	assert_int_equal(db_thread_last_error(), DB_UNAVAILABLE);
	/* A store function or authn that passes on a generic failure is still retryable. */
	assert_true(api_db_retryable(STORE_ERROR));
	assert_true(api_db_retryable(STORE_BUSY));
	assert_true(api_db_retryable(STORE_UNAVAILABLE));

	/* A real pool resets it on acquire; other errors stay errors (500). */
	char err[256];
	struct db *db = db_open("sqlite::memory:", 1, err, sizeof err);
	assert_non_null(db);
	struct db_conn *c = db_acquire(db, 1000);
	assert_non_null(c);
	assert_int_equal(db_thread_last_error(), DB_OK);
	int rc = db_exec(c, "SELEC nonsense", NULL, 0, NULL);
	assert_true(rc < 0);
	assert_int_not_equal(db_thread_last_error(), DB_UNAVAILABLE);
	assert_false(api_db_retryable(store_rc_of(rc)));
	db_release(c);
	db_close(db);

	/* Nothing listening: the pool says so at once (no hang), as an unavailable database. */
	int64_t t0 = time_mono_us();
	db = db_open("postgres://iam@127.0.0.1:1/iam", 1, err, sizeof err);
	assert_null(db);
	assert_true(time_mono_us() - t0 < 5 * 1000000);

	/* Over HTTP: 503 + Retry-After for the outage, 500 for the rest. */
	struct resp *r = get("/dbfail?kind=outage");
	json_decref(expect_problem(r, 503, "database_unavailable"));
	expect_hdr(r, "Retry-After", NULL);
	resp_free(r);
	r = get("/dbfail?kind=other");
	json_decref(expect_problem(r, 500, "internal_error"));
	resp_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_echo_json),
	    cmocka_unit_test(test_path_param),
	    cmocka_unit_test(test_not_found),
	    cmocka_unit_test(test_method_not_allowed),
	    cmocka_unit_test(test_invalid_path_parameter),
	    cmocka_unit_test(test_problem_quotes_non_utf8),
	    cmocka_unit_test(test_body_limit_boundary),
	    cmocka_unit_test(test_too_large_content_length),
	    cmocka_unit_test(test_too_large_chunked),
	    cmocka_unit_test(test_endless_chunked_body),
	    cmocka_unit_test(test_unsupported_media_type),
	    cmocka_unit_test(test_malformed_json),
	    cmocka_unit_test(test_invalid_body),
	    cmocka_unit_test(test_validation_problem),
	    cmocka_unit_test(test_header_too_large),
	    cmocka_unit_test(test_headers_too_large_in_total),
	    cmocka_unit_test(test_handler_forgets_to_reply),
	    cmocka_unit_test(test_request_id),
	    cmocka_unit_test(test_cors),
	    cmocka_unit_test(test_preflight),
	    cmocka_unit_test(test_start_errors),
	    cmocka_unit_test(test_stop_waits_for_in_flight),
	    cmocka_unit_test(test_stop_with_idle_keepalive),
	    cmocka_unit_test(test_smuggling_refused),
	    cmocka_unit_test(test_request_target_checks),
	    cmocka_unit_test(test_slow_heads_and_per_ip_cap),
	    cmocka_unit_test(test_stream_caps_and_session_end),
	    cmocka_unit_test(test_db_outage_is_retryable),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
