/*
 * server.c — libmicrohttpd glue: one daemon, an epoll thread pool, the
 * checks made once for every route, bounded JSON bodies, reply helpers,
 * access log and metrics, graceful stop.
 *
 * Life of a request: MHD calls on_request() first with the headers only
 * (we route and check them, and may answer at once: 404/405/413/415/431,
 * preflight), then once per body chunk (we buffer up to HTTP_JSON_MAX),
 * then a last time with no data (we run the handler). on_completed() logs,
 * counts and frees the request whatever happened to it.
 */
#include "http/http.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/timeutil.h"
#include "core/uuid.h"
#include "http/internal.h"
#include "http/jsonv.h"

/* ---------- accessors ---------- */

void *http_app(const struct http_req *r) { return r->srv->app; }
const char *http_method(const struct http_req *r) { return r->method; }
const char *http_path(const struct http_req *r) { return r->path; }
const char *http_request_id(const struct http_req *r) { return r->request_id; }
const char *http_client_ip(const struct http_req *r) { return r->client_ip; }
bool http_replied(const struct http_req *r) { return r->replied; }

const char *http_header(const struct http_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *http_query(const struct http_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *http_param(const struct http_req *r, const char *name)
{
	for (int i = 0; i < r->match.nparams; i++)
		if (strcmp(r->match.params[i].name, name) == 0)
			return r->match.params[i].value;
	return NULL;
}

const char *http_body(const struct http_req *r, size_t *len)
{
	if (len)
		*len = r->body.len;
	return r->body.data ? r->body.data : "";
}

int64_t http_content_length(const struct http_req *r)
{
	const char *cl = http_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (!cl || !*cl)
		return -1;
	char *end;
	long long v = strtoll(cl, &end, 10);
	return *end || v < 0 ? -1 : (int64_t)v;
}

void http_set_ctx(struct http_req *r, void *ctx, void (*free_fn)(void *))
{
	if (r->ctx && r->ctx_free)
		r->ctx_free(r->ctx);
	r->ctx = ctx;
	r->ctx_free = free_fn;
}

void *http_ctx(const struct http_req *r) { return r->ctx; }

void *http_take_ctx(struct http_req *r)
{
	void *ctx = r->ctx;
	r->ctx = NULL;
	r->ctx_free = NULL;
	return ctx;
}

void http_add_header(struct http_req *r, const char *name, const char *value)
{
	struct extra_header *h = calloc(1, sizeof *h);
	if (!h)
		return;
	h->name = strdup(name);
	h->value = strdup(value);
	if (!h->name || !h->value) {
		free(h->name);
		free(h->value);
		free(h);
		return;
	}
	h->next = r->extra;
	r->extra = h;
}

/* ---------- replies ---------- */

static void add_common_headers(struct http_req *r, struct MHD_Response *resp)
{
	MHD_add_response_header(resp, "X-Request-Id", r->request_id);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	MHD_add_response_header(resp, "Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
	if (r->srv->ncors)
		MHD_add_response_header(resp, "Vary", "Origin");
	if (r->origin) {
		MHD_add_response_header(resp, "Access-Control-Allow-Origin", r->origin);
		MHD_add_response_header(resp, "Access-Control-Expose-Headers",
					"X-Request-Id, Retry-After, Location, Content-Disposition, Content-Range, "
					"Upload-Offset, Upload-Length, Upload-Expires, Upload-Metadata, "
					"Tus-Resumable, Tus-Version, Tus-Extension, Tus-Max-Size, "
					"Tus-Checksum-Algorithm, X-Meeting-Id");
	}
	for (struct extra_header *h = r->extra; h; h = h->next) {
		/* A header we add deliberately replaces a default one. */
		MHD_del_response_header(resp, h->name, MHD_get_response_header(resp, h->name));
		MHD_add_response_header(resp, h->name, h->value);
	}
}

/* Queue resp (the caller still destroys it) with the common headers. */
void http_req_queue_response(struct http_req *r, int status, struct MHD_Response *resp)
{
	if (r->replied) {
		log_error("handler replied twice", json_pack("{s:s}", "request_id", r->request_id));
		return;
	}
	r->replied = true;
	r->status = status;
	add_common_headers(r, resp);
	if (MHD_queue_response(r->conn, (unsigned)status, resp) != MHD_YES)
		log_warn("could not queue response",
			 json_pack("{s:s,s:i}", "request_id", r->request_id, "status", status));
}

/* Queue a response whose body (malloc'd or NULL) the server now owns. */
void http_req_queue(struct http_req *r, int status, const char *ctype, char *body, size_t len)
{
	if (r->replied) {
		free(body);
		log_error("handler replied twice", json_pack("{s:s}", "request_id", r->request_id));
		return;
	}
	if (r->in_headers && r->hold) {
		r->replied = true;
		r->status = status;
		r->held.status = status;
		r->held.ctype = ctype ? strdup(ctype) : NULL;
		r->held.body = body;
		r->held.len = len;
		r->held.set = true;
		return;
	}
	struct MHD_Response *resp =
		body ? MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE)
		     : MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	if (!resp) {
		free(body);
		return;
	}
	if (ctype)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	http_req_queue_response(r, status, resp);
	MHD_destroy_response(resp);
}

void http_reply_text(struct http_req *r, int status, const char *content_type, char *body,
		     size_t len)
{
	http_req_queue(r, status, content_type, body, len);
}

void http_reply_json(struct http_req *r, int status, json_t *body)
{
	/* 12 significant digits: times to the millisecond without binary noise (3.422, not 3.4220410000000001). */
	char *text = body ? json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12)) : NULL;
	json_decref(body);
	if (!text) {
		http_problem_internal(r, "encode reply");
		return;
	}
	http_req_queue(r, status, "application/json", text, strlen(text));
}

void http_reply_empty(struct http_req *r, int status) { http_req_queue(r, status, NULL, NULL, 0); }

static const char *status_title(int status)
{
	switch (status) {
	case 400: return "Bad request";
	case 401: return "Authentication required";
	case 403: return "Forbidden";
	case 404: return "Not found";
	case 405: return "Method not allowed";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 412: return "Precondition failed";
	case 416: return "Range not satisfiable";
	case 460: return "Checksum mismatch";
	case 413: return "Payload too large";
	case 415: return "Unsupported media type";
	case 422: return "Unprocessable content";
	case 429: return "Too many requests";
	case 431: return "Request header fields too large";
	case 500: return "Internal server error";
	case 503: return "Service unavailable";
	default: return status >= 500 ? "Server error" : "Request failed";
	}
}

static void problem_v(struct http_req *r, int status, const char *code, json_t *errors,
		      const char *fmt, va_list ap)
{
	char detail[1024];
	vsnprintf(detail, sizeof detail, fmt, ap);
	/* Details quote client input (paths, headers): keep the JSON valid whatever they hold. */
	utf8_sanitize(detail);
	char type[128];
	snprintf(type, sizeof type, "/problems/%s", code);
	json_t *p = json_pack("{s:s,s:s,s:i,s:s,s:s,s:s}", "type", type, "title", status_title(status),
			      "status", status, "detail", detail, "code", code, "request_id",
			      r->request_id);
	if (p && errors)
		json_object_set(p, "errors", errors);
	json_decref(errors);
	char *text = p ? json_dumps(p, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(p);
	if (!text) {
		http_req_queue(r, 500, NULL, NULL, 0);
		return;
	}
	http_req_queue(r, status, "application/problem+json", text, strlen(text));
}

void http_problem(struct http_req *r, int status, const char *code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	problem_v(r, status, code, NULL, fmt, ap);
	va_end(ap);
}

void http_problem_fields(struct http_req *r, int status, const char *code, json_t *errors,
			 const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	problem_v(r, status, code, errors, fmt, ap);
	va_end(ap);
}

void http_problem_validation(struct http_req *r, json_t *errors)
{
	size_t n = json_array_size(errors);
	if (n == 1) {
		json_t *e = json_array_get(errors, 0);
		http_problem_fields(r, 400, "validation_failed", errors, "%s: %s",
				    json_string_value(json_object_get(e, "field")),
				    json_string_value(json_object_get(e, "message")));
	} else {
		http_problem_fields(r, 400, "validation_failed", errors,
				    "%zu fields are invalid; see errors for each one.", n);
	}
}

void http_problem_internal(struct http_req *r, const char *what)
{
	log_error("internal error", json_pack("{s:s,s:s,s:s}", "request_id", r->request_id, "what",
					      what, "path", r->path));
	http_problem(r, 500, "internal_error",
		     "Something went wrong on our side. Try again; if it keeps failing, contact "
		     "support with the request id.");
}

/* Parse "bytes=a-b" / "bytes=a-" / "bytes=-n" against size. 1 ok, 0 ignore, -1 unsatisfiable. */
static int parse_range(const char *h, int64_t size, int64_t *from, int64_t *to)
{
	if (!h || strncmp(h, "bytes=", 6) != 0 || strchr(h, ','))
		return 0; /* absent, another unit, or several ranges: send it all */
	const char *p = h + 6;
	char *end;
	if (*p == '-') {
		long long n = strtoll(p + 1, &end, 10);
		if (*end || n <= 0 || p[1] == '\0')
			return n == 0 && !*end ? -1 : 0;
		*from = n >= size ? 0 : size - n;
		*to = size - 1;
		return size > 0 ? 1 : -1;
	}
	long long a = strtoll(p, &end, 10);
	if (end == p || *end != '-' || a < 0)
		return 0;
	p = end + 1;
	long long b = size - 1;
	if (*p) {
		b = strtoll(p, &end, 10);
		if (*end || b < a)
			return 0;
	}
	if (a >= size)
		return -1;
	*from = a;
	*to = b >= size ? size - 1 : b;
	return 1;
}

void http_reply_file(struct http_req *r, int fd, int64_t size, const char *content_type,
		     const char *disposition)
{
	int64_t from = 0, to = size - 1;
	int rc = r->mbit == M_GET || r->mbit == M_HEAD ? parse_range(http_header(r, "Range"), size, &from, &to) : 0;
	char cr[96];
	if (rc < 0) {
		close(fd);
		snprintf(cr, sizeof cr, "bytes */%lld", (long long)size);
		http_add_header(r, "Content-Range", cr);
		http_problem(r, 416, "range_not_satisfiable",
			     "The requested range is outside the file, which has %lld bytes.",
			     (long long)size);
		return;
	}
	if (rc == 0) {
		from = 0;
		to = size - 1;
	}
	int64_t len = size > 0 ? to - from + 1 : 0;
	struct MHD_Response *resp =
		len > 0 ? MHD_create_response_from_fd_at_offset64((uint64_t)len, fd, (uint64_t)from)
			: MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	if (len == 0)
		close(fd);
	if (!resp) {
		if (len > 0)
			close(fd);
		http_problem_internal(r, "file response");
		return;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
	MHD_add_response_header(resp, "Accept-Ranges", "bytes");
	if (disposition)
		MHD_add_response_header(resp, "Content-Disposition", disposition);
	if (rc == 1) {
		snprintf(cr, sizeof cr, "bytes %lld-%lld/%lld", (long long)from, (long long)to,
			 (long long)size);
		MHD_add_response_header(resp, "Content-Range", cr);
	}
	http_req_queue_response(r, rc == 1 ? 206 : 200, resp);
	MHD_destroy_response(resp);
}

/* ---------- multipart ---------- */

struct http_multipart {
	struct MHD_PostProcessor *pp;
	http_part_fn fn;
	void *cls;
};

static enum MHD_Result multipart_iter(void *cls, enum MHD_ValueKind kind, const char *key,
				      const char *filename, const char *content_type,
				      const char *transfer_encoding, const char *data, uint64_t off,
				      size_t size)
{
	struct http_multipart *m = cls;
	return m->fn(m->cls, key ? key : "", filename, data, size, off) == 0 ? MHD_YES : MHD_NO;
}

struct http_multipart *http_multipart_new(struct http_req *r, http_part_fn fn, void *cls)
{
	struct http_multipart *m = calloc(1, sizeof *m);
	if (!m)
		return NULL;
	m->fn = fn;
	m->cls = cls;
	m->pp = MHD_create_post_processor(r->conn, 64 * 1024, multipart_iter, m);
	if (!m->pp) {
		free(m);
		return NULL;
	}
	return m;
}

int http_multipart_feed(struct http_multipart *m, const char *data, size_t len)
{
	return MHD_post_process(m->pp, data, len) == MHD_YES ? 0 : -1;
}

void http_multipart_free(struct http_multipart *m)
{
	if (!m)
		return;
	MHD_destroy_post_processor(m->pp);
	free(m);
}

/* ---------- JSON body ---------- */

json_t *http_json_object(struct http_req *r, bool empty_ok)
{
	if (r->json)
		return r->json;
	if (r->body.len == 0) {
		if (empty_ok) {
			r->json = json_object();
			return r->json;
		}
		http_problem(r, 400, "invalid_body",
			     "This endpoint needs a JSON object body with Content-Type: application/json.");
		return NULL;
	}
	json_error_t e;
	json_t *j = json_loadb(r->body.data, r->body.len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &e);
	if (!j) {
		http_problem(r, 400, "malformed_json",
			     "The body is not valid JSON (line %d, column %d: %s). Send a JSON object.",
			     e.line, e.column, e.text);
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		http_problem(r, 400, "invalid_body",
			     "The body must be a JSON object ({...}), not an array, string or number.");
		return NULL;
	}
	r->json = j;
	return j;
}

/* ---------- per-request checks ---------- */

static bool request_id_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 64)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("._-", *s))
			return false;
	return true;
}

static enum MHD_Result header_too_long(void *cls, enum MHD_ValueKind kind, const char *key,
				       const char *value)
{
	bool *too_long = cls;
	if (strlen(key) + (value ? strlen(value) : 0) + 2 > HTTP_HEADER_LINE_MAX) {
		*too_long = true;
		return MHD_NO;
	}
	return MHD_YES;
}

static const char *allowed_origin(struct http_server *s, const char *origin)
{
	if (!origin)
		return NULL;
	for (size_t i = 0; i < s->ncors; i++)
		if (strcmp(s->cors[i], origin) == 0)
			return s->cors[i];
	return NULL;
}

static bool is_json_type(const char *ct)
{
	if (!ct)
		return false;
	while (isspace((unsigned char)*ct))
		ct++;
	size_t n = strcspn(ct, "; \t");
	return n == 16 && strncasecmp(ct, "application/json", 16) == 0;
}

static bool has_body(struct http_req *r, unsigned long long *declared)
{
	const char *cl = http_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
	const char *te = http_header(r, MHD_HTTP_HEADER_TRANSFER_ENCODING);
	*declared = 0;
	if (cl) {
		*declared = strtoull(cl, NULL, 10);
		return *declared > 0;
	}
	return te != NULL;
}

void http_reply_options(struct http_req *r)
{
	char allow[96];
	http_methods_format(r->match.allowed | M_OPTIONS, allow, sizeof allow);
	http_add_header(r, "Allow", allow);
	if (r->origin && http_header(r, "Access-Control-Request-Method")) {
		http_add_header(r, "Access-Control-Allow-Methods", allow);
		http_add_header(r, "Access-Control-Allow-Headers",
				"Authorization, Content-Type, Idempotency-Key, X-Request-Id, Range, "
				"Tus-Resumable, Upload-Length, Upload-Metadata, Upload-Offset, "
				"Upload-Checksum, Upload-Defer-Length, Upload-Concat");
		http_add_header(r, "Access-Control-Max-Age", "600");
	}
	http_reply_empty(r, 204);
}

/* First call: route and check headers. May reply at once. */
static void on_headers(struct http_req *r)
{
	bool too_long = false;
	MHD_get_connection_values(r->conn, MHD_HEADER_KIND, header_too_long, &too_long);
	if (too_long) {
		http_problem(r, 431, "header_too_large",
			     "A request header line is longer than %d bytes. Send shorter headers.",
			     HTTP_HEADER_LINE_MAX);
		return;
	}
	int rc = router_match(r->srv->rt, r->mbit ? r->mbit : -1, r->path, &r->match);
	if (rc != ROUTER_NOT_FOUND && r->match.route)
		r->route_label = router_pattern(r->srv->rt, r->match.route);
	if (rc == ROUTER_NOT_FOUND && http_static(r))
		return;
	if (rc == ROUTER_NOT_FOUND) {
		http_problem(r, 404, "not_found", "There is nothing at %s %.200s. Check the path.",
			     r->method, r->path);
		return;
	}
	if (rc == ROUTER_METHOD_NOT_ALLOWED && r->mbit == M_OPTIONS) {
		http_reply_options(r);
		return;
	}
	if (rc == ROUTER_METHOD_NOT_ALLOWED) {
		char allow[96];
		http_methods_format(r->match.allowed, allow, sizeof allow);
		http_add_header(r, "Allow", allow);
		http_problem(r, 405, "method_not_allowed", "%s is not allowed on %.200s; use %s.",
			     r->method, r->path, allow);
		return;
	}
	if (rc == ROUTER_BAD_PARAM) {
		http_problem_fields(r, 400, "invalid_path_parameter",
				    json_pack("[{s:s,s:s}]", "field", r->match.bad_param, "message",
					      "must be a UUID"),
				    "The path parameter '%s' must be a UUID such as "
				    "0192f0c1-7b1e-7cc3-9d7e-2b1c4a6f9e10.",
				    r->match.bad_param);
		return;
	}
	if (r->match.route->body == BODY_STREAM) {
		r->match.route->begin(r);
		return;
	}
	unsigned long long declared;
	if (has_body(r, &declared)) {
		if (declared > HTTP_JSON_MAX) {
			http_problem(r, 413, "payload_too_large",
				     "The body is %llu bytes; this endpoint accepts at most %d bytes.",
				     declared, HTTP_JSON_MAX);
			return;
		}
		const struct route *route = r->match.route;
		if (route->body == BODY_JSON && !is_json_type(http_header(r, "Content-Type"))) {
			const char *ct = http_header(r, "Content-Type");
			http_problem(r, 415, "unsupported_media_type",
				     "The body must be JSON sent with Content-Type: application/json "
				     "(got %.100s).",
				     ct ? ct : "no Content-Type");
			return;
		}
	}
	r->body.limit = HTTP_JSON_MAX;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct http_server *s = cls;
	struct http_req *r = *con_cls;
	if (!r) {
		r = calloc(1, sizeof *r);
		if (!r)
			return MHD_NO;
		*con_cls = r;
		r->srv = s;
		r->conn = conn;
		r->method = method;
		r->mbit = http_method_parse(method);
		r->path = url;
		r->route_label = "unmatched";
		r->start_us = time_mono_us();
		s->active++;
		metrics_http_start();
		const char *rid = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id");
		if (rid && request_id_ok(rid))
			snprintf(r->request_id, sizeof r->request_id, "%s", rid);
		else
			uuid_v7(r->request_id);
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		if (ci && ci->client_addr) {
			const struct sockaddr *sa = ci->client_addr;
			if (sa->sa_family == AF_INET)
				inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
					  r->client_ip, sizeof r->client_ip);
			else if (sa->sa_family == AF_INET6)
				inet_ntop(AF_INET6,
					  &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
					  r->client_ip, sizeof r->client_ip);
		}
		r->origin = allowed_origin(s, MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin"));
		/* Small bodies are drained before an early error is sent; large ones are not read. */
		unsigned long long declared;
		r->hold = has_body(r, &declared) && declared <= DISCARD_MAX &&
			  !http_header(r, "Expect");
		r->in_headers = true;
		on_headers(r);
		r->in_headers = false;
		return MHD_YES;
	}
	if (r->park) {
		park_finish(r); /* resumed: the thing it waited for happened */
		return MHD_YES;
	}
	if (r->replied && r->held.set) {
		/* Answered early, held back until the body is drained. */
		if (*upload_data_size) {
			r->discarded += *upload_data_size;
			*upload_data_size = 0;
			return r->discarded > DISCARD_MAX ? MHD_NO : MHD_YES;
		}
		r->replied = false;
		r->held.set = false;
		char *ctype = r->held.ctype;
		http_req_queue(r, r->held.status, ctype, r->held.body, r->held.len);
		free(ctype);
		r->held.ctype = NULL;
		return MHD_YES;
	}
	if (r->replied) {
		/* Answered early: MHD closes the connection after the reply; drop the rest. */
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (*upload_data_size && r->match.route->body == BODY_STREAM) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		if (!r->stream_failed && r->match.route->chunk(r, upload_data, n) < 0)
			r->stream_failed = true;
		if (r->stream_failed) {
			r->discarded += n;
			if (r->discarded > DISCARD_MAX)
				return MHD_NO; /* do not read gigabytes only to refuse them */
		}
		return MHD_YES;
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		if (!r->overflow && buf_append(&r->body, upload_data, n) < 0)
			r->overflow = true;
		if (r->overflow) {
			r->discarded += n;
			if (r->discarded > DISCARD_MAX)
				return MHD_NO; /* stop reading an endless body */
		}
		return MHD_YES;
	}
	if (r->overflow) {
		http_problem(r, 413, "payload_too_large",
			     "The body is larger than %d bytes, the most this endpoint accepts.",
			     HTTP_JSON_MAX);
		return MHD_YES;
	}
	r->match.route->handler(r);
	if (!r->replied && !r->park)
		http_problem_internal(r, "handler did not reply");
	return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct http_server *s = cls;
	struct http_req *r = *con_cls;
	if (!r)
		return;
	*con_cls = NULL;
	double secs = (double)(time_mono_us() - r->start_us) / 1e6;
	int status = r->replied ? r->status : 499; /* client went away before a reply */
	metrics_http_done(r->route_label, r->mbit ? r->method : "OTHER", status, secs);
	if (log_get_level() <= LOG_INFO)
		log_info("http", json_pack("{s:s,s:s,s:s,s:s,s:i,s:f,s:s}", "request_id", r->request_id,
					   "method", r->method, "path", r->path, "route",
					   r->route_label, "status", status, "ms", secs * 1000.0,
					   "ip", r->client_ip));
	if (r->ctx && r->ctx_free)
		r->ctx_free(r->ctx);
	if (r->held.set) {
		free(r->held.body);
		free(r->held.ctype);
	}
	json_decref(r->json);
	buf_free(&r->body);
	while (r->extra) {
		struct extra_header *h = r->extra;
		r->extra = h->next;
		free(h->name);
		free(h->value);
		free(h);
	}
	free(r);
	s->active--;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];
	vsnprintf(line, sizeof line, fmt, ap);
	size_t n = strlen(line);
	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	log_debug("libmicrohttpd", json_pack("{s:s}", "detail", line));
}

/* Bind the listening socket ourselves so a failure can be reported clearly. */
static int open_listener(const char *host, int port, bool *v6, char *err, size_t errlen)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	char portstr[8];
	snprintf(portstr, sizeof portstr, "%d", port);
	int gai = getaddrinfo(host, portstr, &hints, &res);
	if (gai) {
		snprintf(err, errlen, "IAM_LISTEN: cannot resolve '%s': %s", host, gai_strerror(gai));
		return -1;
	}
	int fd = -1;
	int saved = 0;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			saved = errno;
			continue;
		}
		int one = 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 1024) == 0) {
			*v6 = ai->ai_family == AF_INET6;
			break;
		}
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		snprintf(err, errlen, "IAM_LISTEN: cannot listen on %s:%d: %s", host, port,
			 strerror(saved));
	return fd;
}

struct http_server *http_server_start(const struct http_server_opts *o, const struct route *routes,
				      size_t n, char *err, size_t errlen)
{
	struct http_server *s = calloc(1, sizeof *s);
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->app = o->app;
	s->cors = o->cors_origins;
	s->ncors = o->cors_count;
	s->listen_fd = -1;
	if (o->static_dir) {
		s->static_dir = realpath(o->static_dir, NULL);
		if (!s->static_dir)
			log_warn("web app not found; serving the API only",
				 json_pack("{s:s}", "dir", o->static_dir));
	}
	pthread_mutex_init(&s->park_lock, NULL);
	pthread_cond_init(&s->park_cond, NULL);
	s->rt = router_new();
	if (!s->rt)
		goto fail;
	for (size_t i = 0; i < n; i++)
		if (router_add(s->rt, routes[i].method, routes[i].pattern, &routes[i]) < 0) {
			snprintf(err, errlen, "bad route pattern %s", routes[i].pattern);
			goto fail;
		}
	bool v6 = false;
	s->listen_fd = open_listener(o->host, o->port, &v6, err, errlen);
	if (s->listen_fd < 0)
		goto fail;
	unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_ALLOW_SUSPEND_RESUME |
			 MHD_USE_ERROR_LOG | (v6 ? MHD_USE_IPv6 : 0);
	s->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s,
				MHD_OPTION_LISTEN_SOCKET, s->listen_fd,
				MHD_OPTION_THREAD_POOL_SIZE, (unsigned)o->threads,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
				MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
				MHD_OPTION_CONNECTION_TIMEOUT, 60u,
				MHD_OPTION_CONNECTION_LIMIT, 4096u,
				MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
				MHD_OPTION_END);
	if (!s->d) {
		snprintf(err, errlen, "IAM_LISTEN: the HTTP server could not start on %s:%d", o->host,
			 o->port);
		goto fail;
	}
	if (park_start(s) < 0) {
		snprintf(err, errlen, "could not start the HTTP timer thread");
		MHD_stop_daemon(s->d);
		s->listen_fd = -1; /* MHD closed it */
		goto fail;
	}
	return s;
fail:
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	router_free(s->rt);
	free(s->static_dir);
	free(s);
	return NULL;
}

void http_server_stop(struct http_server *s, int grace_s)
{
	if (!s)
		return;
	/* Stop accepting; requests already in progress go on. */
	MHD_socket fd = MHD_quiesce_daemon(s->d);
	if (fd != MHD_INVALID_SOCKET)
		close(fd);
	/* Event streams and parked requests would wait forever: end them now. */
	park_stop(s);
	int64_t deadline = time_mono_us() + (int64_t)grace_s * 1000000;
	while (s->active > 0 && time_mono_us() < deadline)
		usleep(10000);
	if (s->active > 0)
		log_warn("stopping with requests still in flight", json_pack("{s:I}", "active", (json_int_t)s->active));
	MHD_stop_daemon(s->d);
	router_free(s->rt);
	free(s->static_dir);
	pthread_mutex_destroy(&s->park_lock);
	pthread_cond_destroy(&s->park_cond);
	free(s);
}
