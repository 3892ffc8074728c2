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
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/timeutil.h"
#include "core/uuid.h"
#include "http/internal.h"
#include "http/jsonv.h"
#include "http/ws.h"

/* ---------- accessors ---------- */

void *http_app(const struct http_req *r)
{
	return r->srv->app;
}
const char *http_method(const struct http_req *r)
{
	return r->method;
}
const char *http_path(const struct http_req *r)
{
	return r->path;
}
const char *http_request_id(const struct http_req *r)
{
	return r->request_id;
}
const char *http_client_ip(const struct http_req *r)
{
	return r->client_ip;
}
bool http_replied(const struct http_req *r)
{
	return r->replied;
}

void http_set_principal(struct http_req *r, const char *user_id, const char *session_id)
{
	snprintf(r->user_id, sizeof r->user_id, "%s", user_id ? user_id : "");
	snprintf(r->session_id, sizeof r->session_id, "%s", session_id ? session_id : "");
}

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

void *http_ctx(const struct http_req *r)
{
	return r->ctx;
}

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
	MHD_add_response_header(resp, "Content-Security-Policy",
				"default-src 'none'; frame-ancestors 'none'");
	if (r->srv->ncors)
		MHD_add_response_header(resp, "Vary", "Origin");
	if (r->origin) {
		MHD_add_response_header(resp, "Access-Control-Allow-Origin", r->origin);
		MHD_add_response_header(
		    resp, "Access-Control-Expose-Headers",
		    "X-Request-Id, Retry-After, Location, Content-Disposition, Content-Range, "
		    "Upload-Offset, Upload-Length, Upload-Expires, Upload-Metadata, "
		    "Tus-Resumable, Tus-Version, Tus-Extension, Tus-Max-Size, "
		    "Tus-Checksum-Algorithm, X-Meeting-Id, ETag");
	}
	for (struct extra_header *h = r->extra; h; h = h->next) {
		/* A header we add deliberately replaces a default one. */
		MHD_del_response_header(resp, h->name, MHD_get_response_header(resp, h->name));
		MHD_add_response_header(resp, h->name, h->value);
	}
}

static const char *status_title(int status);

/* Send all of data on a non-blocking socket, waiting at most about a second. */
static void send_all(int fd, const char *data, size_t len)
{
	for (int waits = 0; len > 0 && waits < 10;) {
		ssize_t n = send(fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			data += n;
			len -= (size_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd pfd = {.fd = fd, .events = POLLOUT};
			poll(&pfd, 1, 100);
			waits++;
		} else {
			return;
		}
	}
}

static int conn_fd(struct http_req *r);

/*
 * Write a complete reply straight to the socket and end our side of it.
 * For the one case MHD cannot queue a reply: in the middle of a body we
 * are about to stop reading (MHD only queues once the body is in).
 */
static void write_direct(struct http_req *r, int status, const char *ctype, const char *body,
			 size_t len)
{
	struct buf b = {0};
	buf_printf(&b,
		   "HTTP/1.1 %d %s\r\nConnection: close\r\nContent-Length: %zu\r\n"
		   "X-Request-Id: %s\r\nX-Content-Type-Options: nosniff\r\n"
		   "X-Frame-Options: DENY\r\nReferrer-Policy: no-referrer\r\n"
		   "Content-Security-Policy: default-src 'none'; frame-ancestors 'none'\r\n"
		   "Cache-Control: no-store\r\n",
		   status, status_title(status), len, r->request_id);
	if (ctype)
		buf_printf(&b, "Content-Type: %s\r\n", ctype);
	if (r->origin)
		buf_printf(&b, "Access-Control-Allow-Origin: %s\r\nVary: Origin\r\n", r->origin);
	for (struct extra_header *h = r->extra; h; h = h->next)
		if (!strchr(h->name, '\n') && !strchr(h->value, '\n'))
			buf_printf(&b, "%s: %s\r\n", h->name, h->value);
	buf_puts(&b, "\r\n");
	if (len)
		buf_append(&b, body, len);
	int fd = conn_fd(r);
	if (fd >= 0 && b.data) {
		send_all(fd, b.data, b.len);
		shutdown(fd, SHUT_WR); /* the client sees the end of the reply */
	}
	buf_free(&b);
	r->replied = true;
	r->direct_sent = true;
	r->status = status;
}

/* Queue resp (the caller still destroys it) with the common headers. */
void http_req_queue_response(struct http_req *r, int status, struct MHD_Response *resp)
{
	if (r->replied) {
		log_error("handler replied twice", json_pack("{s:s}", "request_id", r->request_id));
		return;
	}
	if (r->direct) {
		write_direct(r, status, NULL, NULL, 0); /* no files or streams here */
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
	if (r->direct) {
		write_direct(r, status, ctype, body, len);
		free(body);
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
	/* 12 significant digits: times to the millisecond without binary noise (3.422,
	 * not 3.4220410000000001). */
	char *text =
	    body ? json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12))
		 : NULL;
	json_decref(body);
	if (!text) {
		http_problem_internal(r, "encode reply");
		return;
	}
	http_req_queue(r, status, "application/json", text, strlen(text));
}

void http_reply_empty(struct http_req *r, int status)
{
	http_req_queue(r, status, NULL, NULL, 0);
}

static const char *status_title(int status)
{
	switch (status) {
	case 400:
		return "Bad request";
	case 401:
		return "Authentication required";
	case 403:
		return "Forbidden";
	case 404:
		return "Not found";
	case 405:
		return "Method not allowed";
	case 408:
		return "Request timeout";
	case 409:
		return "Conflict";
	case 410:
		return "Gone";
	case 412:
		return "Precondition failed";
	case 416:
		return "Range not satisfiable";
	case 460:
		return "Checksum mismatch";
	case 413:
		return "Payload too large";
	case 414:
		return "URI too long";
	case 415:
		return "Unsupported media type";
	case 422:
		return "Unprocessable content";
	case 429:
		return "Too many requests";
	case 431:
		return "Request header fields too large";
	case 500:
		return "Internal server error";
	case 501:
		return "Not implemented";
	case 503:
		return "Service unavailable";
	default:
		return status >= 500 ? "Server error" : "Request failed";
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
	json_t *p = json_pack("{s:s,s:s,s:i,s:s,s:s,s:s}", "type", type, "title",
			      status_title(status), "status", status, "detail", detail, "code",
			      code, "request_id", r->request_id);
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

/*
 * The path as logs show it: the token of a share link (/s/{token},
 * /api/v1/shares/{token}) is a secret that opens a meeting, so it is left out.
 */
static const char *path_for_log(const struct http_req *r)
{
	if (!strncmp(r->path, "/s/", 3))
		return "/s/[token]";
	if (!strncmp(r->path, "/api/v1/shares/", 15))
		return strstr(r->path + 15, "/audio") ? "/api/v1/shares/[token]/audio"
						      : "/api/v1/shares/[token]";
	return r->path;
}

void http_problem_internal(struct http_req *r, const char *what)
{
	log_error("internal error", json_pack("{s:s,s:s,s:s}", "request_id", r->request_id, "what",
					      what, "path", path_for_log(r)));
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
	int rc = r->mbit == M_GET || r->mbit == M_HEAD
		     ? parse_range(http_header(r, "Range"), size, &from, &to)
		     : 0;
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
		http_problem(
		    r, 400, "invalid_body",
		    "This endpoint needs a JSON object body with Content-Type: application/json.");
		return NULL;
	}
	json_error_t e;
	json_t *j =
	    json_loadb(r->body.data, r->body.len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &e);
	if (!j) {
		http_problem(
		    r, 400, "malformed_json",
		    "The body is not valid JSON (line %d, column %d: %s). Send a JSON object.",
		    e.line, e.column, e.text);
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		http_problem(
		    r, 400, "invalid_body",
		    "The body must be a JSON object ({...}), not an array, string or number.");
		return NULL;
	}
	r->json = j;
	return j;
}

/* ---------- connections: head deadline, per-address and global caps ---------- */

enum { CONN_WAIT_HEAD = 0, CONN_IN_REQUEST, CONN_KILLED, CONN_UPGRADED };
enum { OVER_NONE = 0, OVER_PER_IP, OVER_GLOBAL };

/* A connection over a cap gets this long to send its head before it is closed. */
#define OVER_GRACE_US (2 * 1000000LL)

struct ip_count {
	struct ip_count *next;
	unsigned char addr[16]; /* IPv6, or IPv4 mapped */
	int n;
};

struct conn_info {
	struct conn_info *prev, *next; /* srv->conns, under srv->conn_lock */
	int fd;
	/* Written by the connection's own thread, read by the reaper: atomics, no lock. */
	_Atomic int state;
	_Atomic int_least64_t since_us; /* when we started waiting for a head */
	_Atomic bool served;		/* a reply was sent: now an idle keep-alive */
	int over;			/* OVER_*: answered 503 whatever it asks */
	struct ip_count *ip;
};

static int conn_fd(struct http_req *r)
{
	if (r->ci)
		return r->ci->fd;
	const union MHD_ConnectionInfo *i =
	    MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	return i ? i->connect_fd : -1;
}

static unsigned ip_key(struct MHD_Connection *conn, unsigned char key[16])
{
	memset(key, 0, 16);
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci && ci->client_addr) {
		const struct sockaddr *sa = ci->client_addr;
		if (sa->sa_family == AF_INET) {
			key[10] = key[11] = 0xff;
			memcpy(key + 12, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
			       4);
		} else if (sa->sa_family == AF_INET6) {
			memcpy(key, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
			       16);
		}
	}
	uint32_t h = 2166136261u; /* FNV-1a */
	for (int i = 0; i < 16; i++)
		h = (h ^ key[i]) * 16777619u;
	return h % IP_BUCKETS;
}

/* Caller holds conn_lock. NULL when out of memory (the connection is then not counted per address).
 */
static struct ip_count *ip_take(struct http_server *s, const unsigned char key[16], unsigned b)
{
	for (struct ip_count *p = s->ips[b]; p; p = p->next)
		if (memcmp(p->addr, key, 16) == 0) {
			p->n++;
			return p;
		}
	struct ip_count *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	memcpy(p->addr, key, 16);
	p->n = 1;
	p->next = s->ips[b];
	s->ips[b] = p;
	return p;
}

/* Caller holds conn_lock. */
static void ip_drop(struct http_server *s, struct ip_count *ip)
{
	if (!ip || --ip->n > 0)
		return;
	for (unsigned b = 0; b < IP_BUCKETS; b++)
		for (struct ip_count **pp = &s->ips[b]; *pp; pp = &(*pp)->next)
			if (*pp == ip) {
				*pp = ip->next;
				free(ip);
				return;
			}
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	struct http_server *s = cls;
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		struct conn_info *ci = calloc(1, sizeof *ci);
		if (!ci)
			return; /* untracked: served normally */
		const union MHD_ConnectionInfo *fi =
		    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		ci->fd = fi ? fi->connect_fd : -1;
		ci->since_us = time_mono_us();
		unsigned char key[16];
		unsigned b = ip_key(conn, key);
		/* Upgraded sockets are the hub's, not MHD's: they count here all the same. */
		int ws = s->ws ? ws_hub_count(s->ws) : 0;
		pthread_mutex_lock(&s->conn_lock);
		s->nconns++;
		ci->ip = ip_take(s, key, b);
		if (s->max_per_ip && ci->ip && ci->ip->n > s->max_per_ip)
			ci->over = OVER_PER_IP;
		else if (s->nconns + ws > s->max_conns)
			ci->over = OVER_GLOBAL;
		ci->next = s->conns;
		if (s->conns)
			s->conns->prev = ci;
		s->conns = ci;
		pthread_mutex_unlock(&s->conn_lock);
		*socket_context = ci;
		metrics_conn_add(1);
		return;
	}
	struct conn_info *ci = *socket_context;
	if (!ci)
		return;
	/* MHD tells us before it closes the socket: after this the reaper cannot touch the fd. */
	pthread_mutex_lock(&s->conn_lock);
	if (ci->prev)
		ci->prev->next = ci->next;
	else
		s->conns = ci->next;
	if (ci->next)
		ci->next->prev = ci->prev;
	ip_drop(s, ci->ip);
	s->nconns--;
	pthread_mutex_unlock(&s->conn_lock);
	*socket_context = NULL;
	free(ci);
	metrics_conn_add(-1);
}

/* A problem reply for a connection we close without a request of ours (no MHD response possible).
 */
static void reap_reply(int fd, int status, const char *code, const char *detail)
{
	char rid[UUID_STR_LEN], body[512], msg[1024];
	uuid_v7(rid);
	int n =
	    snprintf(body, sizeof body,
		     "{\"type\":\"/problems/%s\",\"title\":\"%s\",\"status\":%d,\"detail\":\"%s\","
		     "\"code\":\"%s\",\"request_id\":\"%s\"}",
		     code, status_title(status), status, detail, code, rid);
	int m = snprintf(
	    msg, sizeof msg,
	    "HTTP/1.1 %d %s\r\nConnection: close\r\nContent-Type: application/problem+json\r\n"
	    "Content-Length: %d\r\nX-Request-Id: %s\r\nCache-Control: no-store\r\n"
	    "X-Content-Type-Options: nosniff\r\n\r\n%s",
	    status, status_title(status), n, rid, body);
	if (m > 0 && m < (int)sizeof msg)
		send(fd, msg, (size_t)m, MSG_NOSIGNAL | MSG_DONTWAIT);
}

void http_conn_reap(struct http_server *s, int64_t now)
{
	if (s->head_timeout_us <= 0)
		return;
	pthread_mutex_lock(&s->conn_lock);
	for (struct conn_info *ci = s->conns; ci; ci = ci->next) {
		if (ci->state != CONN_WAIT_HEAD)
			continue;
		int64_t limit = s->head_timeout_us;
		if (ci->over && limit > OVER_GRACE_US)
			limit = OVER_GRACE_US;
		if (now - ci->since_us <= limit)
			continue;
		int expect = CONN_WAIT_HEAD;
		if (!atomic_compare_exchange_strong(&ci->state, &expect, CONN_KILLED))
			continue; /* its head just arrived */
		if (ci->fd < 0)
			continue;
		/* An idle keep-alive connection is simply closed; a slow head is told why. */
		if (!ci->served) {
			metrics_conn_refused(REFUSED_HEAD_TIMEOUT);
			reap_reply(ci->fd, 408, "request_timeout",
				   "The request head did not arrive in time. Send the whole head "
				   "at once and retry.");
		}
		/* MHD sees the end of the stream and closes the connection on its own thread. */
		shutdown(ci->fd, SHUT_RDWR);
	}
	pthread_mutex_unlock(&s->conn_lock);
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

/* What one pass over the request headers found. */
struct head_scan {
	int n;
	bool too_long;
	int nhost;
	int ncl;
	bool cl_bad, cl_differ;
	const char *cl;
	int nte;
	bool te_other; /* a transfer coding other than plain "chunked" */
};

static enum MHD_Result scan_header(void *cls, enum MHD_ValueKind kind, const char *key,
				   const char *value)
{
	struct head_scan *h = cls;
	const char *v = value ? value : "";
	h->n++;
	if (strlen(key) + strlen(v) + 2 > HTTP_HEADER_LINE_MAX) {
		h->too_long = true;
		return MHD_NO;
	}
	switch (key[0]) {
	case 'H':
	case 'h':
		h->nhost += strcasecmp(key, "Host") == 0;
		break;
	case 'C':
	case 'c':
		if (strcasecmp(key, "Content-Length") != 0)
			break;
		if (!*v || strlen(v) > 18 || strspn(v, "0123456789") != strlen(v))
			h->cl_bad = true;
		else if (h->cl && strcmp(h->cl, v) != 0)
			h->cl_differ = true;
		h->cl = v;
		h->ncl++;
		break;
	case 'T':
	case 't':
		if (strcasecmp(key, "Transfer-Encoding") == 0) {
			h->nte++;
			h->te_other = h->te_other || strcasecmp(v, "chunked") != 0;
		}
		break;
	default:
		break;
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
		http_add_header(
		    r, "Access-Control-Allow-Headers",
		    "Authorization, Content-Type, Idempotency-Key, If-Match, X-Request-Id, Range, "
		    "Tus-Resumable, Upload-Length, Upload-Metadata, Upload-Offset, "
		    "Upload-Checksum, Upload-Defer-Length, Upload-Concat");
		http_add_header(r, "Access-Control-Max-Age", "600");
	}
	http_reply_empty(r, 204);
}

/* Answer at once and close: the framing of this request cannot be trusted. */
static void refuse_and_close(struct http_req *r, int status, const char *code, const char *detail)
{
	r->hold = false; /* never read a body whose length we do not believe */
	http_add_header(r, "Connection", "close");
	http_problem(r, status, code, "%s", detail);
}

/* Checks on the request line and headers that come before routing. True if it replied. */
static bool check_head(struct http_req *r, const char *version, const struct head_scan *h,
		       bool bad_target)
{
	if (r->ci && r->ci->over) {
		bool per_ip = r->ci->over == OVER_PER_IP;
		metrics_conn_refused(per_ip ? REFUSED_PER_IP : REFUSED_GLOBAL);
		http_add_header(r, "Retry-After", "5");
		refuse_and_close(
		    r, 503, per_ip ? "too_many_connections" : "server_busy",
		    per_ip
			? "Too many connections from your address are open. Close some "
			  "(or reuse them) and try again in a few seconds."
			: "The server has too many open connections. Try again in a few seconds.");
		return true;
	}
	if (h->too_long) {
		http_problem(r, 431, "header_too_large",
			     "A request header line is longer than %d bytes. Send shorter headers.",
			     HTTP_HEADER_LINE_MAX);
		return true;
	}
	if (h->n > HTTP_HEADERS_MAX) {
		http_problem(r, 431, "too_many_headers",
			     "The request has %d header lines; at most %d are accepted.", h->n,
			     HTTP_HEADERS_MAX);
		return true;
	}
	switch (r->target_err) {
	case TARGET_TOO_LONG:
		http_problem(
		    r, 414, "uri_too_long",
		    "The request target is longer than %d bytes. Send long values in a body.",
		    HTTP_TARGET_MAX);
		return true;
	case TARGET_TOO_MANY_PARAMS:
		http_problem(r, 414, "too_many_query_parameters",
			     "The query string has more than %d parameters. Send fewer.",
			     HTTP_QUERY_PARAMS_MAX);
		return true;
	case TARGET_NUL:
		http_problem(
		    r, 400, "invalid_request_target",
		    "The path or query contains a NUL byte (%%00), which no value may hold.");
		return true;
	default:
		break;
	}
	if (bad_target) {
		http_problem(r, 400, "invalid_request_target",
			     "The request target must be a path such as /healthz (or an absolute "
			     "http:// URL).");
		return true;
	}
	if (h->ncl && h->nte) {
		refuse_and_close(
		    r, 400, "ambiguous_body_length",
		    "The request has both Content-Length and Transfer-Encoding. Send one of them.");
		return true;
	}
	if (h->cl_differ || h->cl_bad) {
		refuse_and_close(
		    r, 400, "invalid_content_length",
		    h->cl_differ
			? "The request has several different Content-Length values. Send one."
			: "Content-Length must be a whole number of bytes.");
		return true;
	}
	if (h->nte > 1 || h->te_other) {
		refuse_and_close(
		    r, 501, "unsupported_transfer_encoding",
		    "Only 'Transfer-Encoding: chunked' is supported for request bodies.");
		return true;
	}
	if (strcmp(version, MHD_HTTP_VERSION_1_1) == 0 ? h->nhost != 1 : h->nhost > 1) {
		http_problem(r, 400, h->nhost ? "duplicate_host" : "missing_host",
			     h->nhost ? "The request has several Host headers. Send exactly one."
				      : "HTTP/1.1 requests must carry a Host header.");
		return true;
	}
	return false;
}

/* Run a route's handler (phase RUN) or the start of its streamed body (OPEN), framed or not. */
static void route_call(struct http_req *r, enum http_phase phase)
{
	const struct route *rt = r->match.route;
	if (phase == HTTP_PHASE_OPEN ? rt->open != NULL : rt->run != NULL)
		r->srv->frame(r, rt, phase);
	else if (phase == HTTP_PHASE_OPEN)
		rt->begin(r);
	else
		rt->handler(r);
}

/* First call: route and check headers. May reply at once. */
static void on_headers(struct http_req *r)
{
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
		route_call(r, HTTP_PHASE_OPEN);
		return;
	}
	unsigned long long declared;
	if (has_body(r, &declared)) {
		if (declared > HTTP_JSON_MAX) {
			http_problem(
			    r, 413, "payload_too_large",
			    "The body is %llu bytes; this endpoint accepts at most %d bytes.",
			    declared, HTTP_JSON_MAX);
			return;
		}
		const struct route *route = r->match.route;
		if (route->body == BODY_JSON && !is_json_type(http_header(r, "Content-Type"))) {
			const char *ct = http_header(r, "Content-Type");
			http_problem(
			    r, 415, "unsupported_media_type",
			    "The body must be JSON sent with Content-Type: application/json "
			    "(got %.100s).",
			    ct ? ct : "no Content-Type");
			return;
		}
	}
	r->body.limit = HTTP_JSON_MAX;
}

/*
 * MHD hands us the raw request target before it parses the query string:
 * refuse here what would otherwise be cut short (%00) or exhaust the
 * connection's memory while MHD stores a thousand parameters (it then
 * answers nothing at all). Our request is allocated here; MHD gives it back
 * as *con_cls.
 */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct http_server *s = cls;
	struct http_req *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	r->srv = s;
	const union MHD_ConnectionInfo *si =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	r->ci = si ? si->socket_context : NULL;
	size_t len = 0, params = 0;
	char *query = NULL;
	bool nul = false;
	for (const char *p = uri; *p; p++, len++) {
		if (*p == '?' && !query) {
			query = (char *)p;
			params = 1;
		} else if (*p == '&' && query) {
			params++;
		} else if (*p == '%' && p[1] == '0' && p[2] == '0') {
			nul = true;
		}
	}
	if (len > HTTP_TARGET_MAX)
		r->target_err = TARGET_TOO_LONG;
	else if (params > HTTP_QUERY_PARAMS_MAX)
		r->target_err = TARGET_TOO_MANY_PARAMS;
	else if (nul)
		r->target_err = TARGET_NUL;
	/* The buffer is MHD's and the line is already read: empty the query so it is not parsed. */
	if (r->target_err && query)
		query[1] = '\0';
	return r;
}

/* The path of the request target: origin-form as is, absolute-form by its path. NULL if neither. */
static const char *target_path(const char *url)
{
	if (url[0] == '/')
		return url;
	size_t skip = strncasecmp(url, "http://", 7) == 0    ? 7
		      : strncasecmp(url, "https://", 8) == 0 ? 8
							     : 0;
	if (!skip || !url[skip] || url[skip] == '/')
		return NULL;
	const char *slash = strchr(url + skip, '/');
	return slash ? slash : "/";
}

/* The body is too long to drain: reply now, straight to the socket, and close soon. */
static enum MHD_Result cut_off(struct http_req *r)
{
	r->direct = true;
	if (r->held.set) {
		write_direct(r, r->held.status, r->held.ctype, r->held.body, r->held.len);
	} else if (r->match.route && r->match.route->body == BODY_STREAM) {
		route_call(r, HTTP_PHASE_RUN);
		if (!r->replied)
			http_problem_internal(r, "handler did not reply");
	} else {
		http_problem(r, 413, "payload_too_large",
			     "The body is larger than %d bytes, the most this endpoint accepts.",
			     HTTP_JSON_MAX);
	}
	r->direct = false;
	return r->direct_sent ? MHD_YES : MHD_NO;
}

static enum MHD_Result on_first_call(struct http_server *s, struct http_req *r,
				     struct MHD_Connection *conn, const char *url,
				     const char *method, const char *version)
{
	if (r->ci) {
		int expect = CONN_WAIT_HEAD;
		if (!atomic_compare_exchange_strong(&r->ci->state, &expect, CONN_IN_REQUEST))
			return MHD_NO; /* the head came too late: the reaper closed it */
	}
	r->started = true;
	r->conn = conn;
	r->method = method;
	r->mbit = http_method_parse(method);
	const char *path = target_path(url);
	r->path = path ? path : url;
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
			inet_ntop(AF_INET,
				  &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
				  r->client_ip, sizeof r->client_ip);
		else if (sa->sa_family == AF_INET6)
			inet_ntop(AF_INET6,
				  &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
				  r->client_ip, sizeof r->client_ip);
	}
	r->origin = allowed_origin(s, MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin"));
	struct head_scan h = {0};
	MHD_get_connection_values(conn, MHD_HEADER_KIND, scan_header, &h);
	/* Small bodies are drained before an early error is sent; large ones are not read. */
	unsigned long long declared;
	r->hold = has_body(r, &declared) && declared <= DISCARD_MAX && !http_header(r, "Expect");
	r->in_headers = true;
	if (!check_head(r, version, &h, path == NULL))
		on_headers(r);
	r->in_headers = false;
	return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct http_server *s = cls;
	struct http_req *r = *con_cls;
	if (!r)
		return MHD_NO; /* out of memory in on_uri */
	if (!r->started)
		return on_first_call(s, r, conn, url, method, version);
	if (r->park) {
		park_finish(r); /* resumed: the thing it waited for happened */
		return MHD_YES;
	}
	if (r->direct_sent) {
		/* Replied on the socket: read a little more so the client sees the reply, then
		 * close. */
		if (!*upload_data_size)
			return MHD_NO; /* the body ended */
		r->linger += *upload_data_size;
		*upload_data_size = 0;
		return r->linger > DISCARD_MAX ? MHD_NO : MHD_YES;
	}
	if (r->replied && r->held.set) {
		/* Answered early, held back until the body is drained. */
		if (*upload_data_size) {
			r->discarded += *upload_data_size;
			*upload_data_size = 0;
			return r->discarded > DISCARD_MAX ? cut_off(r) : MHD_YES;
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
				return cut_off(r); /* do not read gigabytes only to refuse them */
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
				return cut_off(r); /* stop reading an endless body */
		}
		return MHD_YES;
	}
	if (r->overflow) {
		http_problem(r, 413, "payload_too_large",
			     "The body is larger than %d bytes, the most this endpoint accepts.",
			     HTTP_JSON_MAX);
		return MHD_YES;
	}
	route_call(r, HTTP_PHASE_RUN);
	if (!r->replied && !r->park)
		http_problem_internal(r, "handler did not reply");
	return MHD_YES;
}

/* ---------- WebSocket upgrade ---------- */

struct ws_up {
	struct http_server *s;
	struct ws_accept a;
};

/*
 * An upgraded socket keeps counting against IAM_MAX_CONN_PER_IP as its
 * connection did: it holds a reference on the address's count (the tag)
 * that the hub gives back here when the socket ends.
 */
static void ws_release_ip(void *s_, void *tag)
{
	struct http_server *s = s_;
	pthread_mutex_lock(&s->conn_lock);
	ip_drop(s, tag);
	pthread_mutex_unlock(&s->conn_lock);
}

/* Give back the slot reserved for a (by user, or by address while unauthenticated). */
static void ws_unreserve(struct http_server *s, const struct ws_accept *a)
{
	if (a->anonymous)
		ws_hub_unreserve_anon(s->ws, a->addr);
	else
		ws_hub_unreserve(s->ws, a->user_id);
}

/* The upgrade did not happen (the client left first): give its slot back. */
static void ws_up_free(struct http_req *r)
{
	struct ws_up *u = r->ws_up;
	if (!u)
		return;
	r->ws_up = NULL;
	ws_unreserve(u->s, &u->a);
	free(u);
}

/*
 * Take the upgraded socket away from MHD: MHD would otherwise keep the
 * connection (its struct and its memory pool, about 20 kB) for the
 * socket's whole life. Our own descriptor of the connection is returned;
 * MHD's descriptor number is pointed at a fresh unconnected socket first,
 * so that whatever MHD does to that number on MHD_UPGRADE_ACTION_CLOSE
 * leaves the client's connection alone: Debian's 0.9.75 only close()s it
 * (strace), but a shutdown() there, as MHD does for ordinary connections,
 * would end the connection for our descriptor too. MHD then frees the
 * connection (NOTIFY_CLOSED, the request's on_completed). -1 when that
 * cannot be done (out of descriptors): MHD has closed the connection then.
 */
static int ws_detach(MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
	int fd = fcntl(sock, F_DUPFD_CLOEXEC, 3);
	int dummy = fd >= 0 ? socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0) : -1;
	if (dummy < 0 || dup3(dummy, sock, O_CLOEXEC) < 0) {
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	if (dummy >= 0)
		close(dummy);
	MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
	return fd;
}

static void on_upgrade(void *cls, struct MHD_Connection *conn, void *req_cls, const char *extra,
		       size_t extra_len, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
	struct http_req *r = req_cls;
	struct ws_up *u = r ? r->ws_up : NULL;
	if (!u) {
		MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
		return;
	}
	/* The hub owns the slot and a copy of a now: free ours at once (10,000 sockets add up). */
	r->ws_up = NULL;
	if (r->ci && r->ci->ip) {
		pthread_mutex_lock(&u->s->conn_lock);
		r->ci->ip->n++;
		pthread_mutex_unlock(&u->s->conn_lock);
		u->a.tag = r->ci->ip;
	}
	/* Copied before MHD lets go: extra points into the connection's pool. */
	char *x = extra_len ? malloc(extra_len) : NULL;
	if (x)
		memcpy(x, extra, extra_len);
	int fd = extra_len && !x ? -1 : ws_detach(sock, urh);
	if (fd < 0) {
		if (extra_len && !x)
			MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
		ws_unreserve(u->s, &u->a);
		if (u->a.tag)
			ws_release_ip(u->s, u->a.tag);
	} else {
		ws_hub_adopt(u->s->ws, fd, x, extra_len, &u->a);
	}
	free(x);
	free(u);
}

static bool header_has_token(const char *v, const char *token)
{
	size_t n = strlen(token);
	for (const char *p = v; p && *p;) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		const char *e = p + strcspn(p, ",");
		const char *end = e;
		while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		if ((size_t)(end - p) == n && strncasecmp(p, token, n) == 0)
			return true;
		p = e;
	}
	return false;
}

void http_reply_websocket(struct http_req *r, const struct ws_accept *a)
{
	struct http_server *s = r->srv;
	const char *upgrade = http_header(r, "Upgrade"), *connection = http_header(r, "Connection");
	const char *version = http_header(r, "Sec-WebSocket-Version");
	const char *key = http_header(r, "Sec-WebSocket-Key");
	char accept[29];
	if (!upgrade || !header_has_token(upgrade, "websocket") ||
	    (version && strcmp(version, "13") != 0)) {
		http_add_header(r, "Upgrade", "websocket");
		http_add_header(r, "Sec-WebSocket-Version", "13");
		http_problem(r, 426, "upgrade_required",
			     "This endpoint speaks WebSocket (RFC 6455, version 13) only: open it "
			     "with a WebSocket client.");
		return;
	}
	if (strcmp(r->method, "GET") != 0 || !connection ||
	    !header_has_token(connection, "upgrade") || !version ||
	    ws_accept_key(key, accept) < 0) {
		http_problem(r, 400, "bad_websocket_handshake",
			     "The WebSocket handshake needs Connection: Upgrade, "
			     "Sec-WebSocket-Version: 13 and a Sec-WebSocket-Key of 16 bytes in "
			     "base64.");
		return;
	}
	if (!s->ws) {
		http_problem(r, 503, "server_busy", "WebSockets are not available right now.");
		return;
	}
	if (a->anonymous && !ws_hub_takes_anon(s->ws)) {
		http_add_header(r, "WWW-Authenticate", "Bearer realm=\"iam\"");
		http_problem(
		    r, 401, "unauthorized",
		    "Send a ticket as ?ticket= or an access token as 'Authorization: Bearer "
		    "<token>'.");
		return;
	}
	/* This connection's descriptor becomes the socket's: the rest must fit beside it. */
	pthread_mutex_lock(&s->conn_lock);
	int others = s->nconns - 1;
	pthread_mutex_unlock(&s->conn_lock);
	enum ws_reserve rc = others + ws_hub_count(s->ws) >= s->fd_conns ? WS_FULL
			     : a->anonymous ? ws_hub_reserve_anon(s->ws, r->client_ip)
					    : ws_hub_reserve(s->ws, a->user_id);
	if (rc == WS_ADDR_FULL) {
		http_problem(r, 429, "too_many_unauthenticated_sockets",
			     "Your address holds as many WebSockets waiting to authenticate as "
			     "allowed. Send {\"type\":\"auth\",\"ticket\":\"...\"} as the first "
			     "message of each, or close some, and retry.");
		return;
	}
	if (rc == WS_USER_FULL) {
		http_problem(r, 429, "too_many_sockets",
			     "You have as many WebSockets open as allowed. Close one and retry.");
		return;
	}
	if (rc != WS_OK) {
		http_add_header(r, "Retry-After", "5");
		http_problem(r, 503, "server_busy",
			     "The server holds as many WebSockets as it can. Retry soon.");
		return;
	}
	struct ws_up *u = calloc(1, sizeof *u);
	struct MHD_Response *resp = u ? MHD_create_response_for_upgrade(on_upgrade, NULL) : NULL;
	if (!resp) {
		free(u);
		if (a->anonymous)
			ws_hub_unreserve_anon(s->ws, r->client_ip);
		else
			ws_hub_unreserve(s->ws, a->user_id);
		http_problem_internal(r, "websocket upgrade");
		return;
	}
	u->s = s;
	u->a = *a;
	snprintf(u->a.addr, sizeof u->a.addr, "%s", r->client_ip);
	r->ws_up = u;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_UPGRADE, "websocket");
	MHD_add_response_header(resp, "Sec-WebSocket-Accept", accept);
	/* The head reaper must leave this connection alone from now on. */
	if (r->ci)
		atomic_store(&r->ci->state, CONN_UPGRADED);
	http_req_queue_response(r, 101, resp);
	MHD_destroy_response(resp);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct http_server *s = cls;
	struct http_req *r = *con_cls;
	if (!r)
		return;
	*con_cls = NULL;
	int64_t now = time_mono_us();
	if (r->ci) {
		/* The next head on this connection has its own deadline. */
		r->ci->since_us = now;
		r->ci->served = true;
		int expect = CONN_IN_REQUEST;
		atomic_compare_exchange_strong(&r->ci->state, &expect, CONN_WAIT_HEAD);
	}
	if (!r->started) {
		free(r); /* MHD refused the request itself, or it came too late */
		return;
	}
	double secs = (double)(now - r->start_us) / 1e6;
	int status = r->replied ? r->status : 499; /* client went away before a reply */
	metrics_http_done(r->route_label, r->mbit ? r->method : "OTHER", status, secs);
	if (log_get_level() <= LOG_INFO)
		log_info("http", json_pack("{s:s,s:s,s:s,s:s,s:i,s:f,s:s}", "request_id",
					   r->request_id, "method", r->method, "path",
					   path_for_log(r), "route", r->route_label, "status",
					   status, "ms", secs * 1000.0, "ip", r->client_ip));
	if (r->ctx && r->ctx_free)
		r->ctx_free(r->ctx);
	ws_up_free(r);
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

/*
 * Every connection is a descriptor: make room for hard of them plus the
 * database, blobs and spool files (raise the soft limit, or serve fewer).
 */
static void fit_fd_limit(unsigned *hard)
{
	const rlim_t reserve = 256;
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	rlim_t want = (rlim_t)*hard + reserve;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
		rl.rlim_cur =
		    rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
		unsigned fit = rl.rlim_cur > reserve + 32 ? (unsigned)(rl.rlim_cur - reserve) : 32;
		log_warn("the open-file limit is low: serving fewer connections",
			 json_pack("{s:i,s:i}", "wanted", (int)*hard, "serving", (int)fit));
		*hard = fit;
	}
}

/* Bind the listening socket ourselves so a failure can be reported clearly. */
static int open_listener(const char *host, int port, bool *v6, char *err, size_t errlen)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
				 .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	char portstr[8];
	snprintf(portstr, sizeof portstr, "%d", port);
	int gai = getaddrinfo(host, portstr, &hints, &res);
	if (gai) {
		snprintf(err, errlen, "IAM_LISTEN: cannot resolve '%s': %s", host,
			 gai_strerror(gai));
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
	pthread_mutex_init(&s->conn_lock, NULL);
	s->sse_per_user = o->sse_per_user;
	s->sse_per_meeting = o->sse_per_meeting;
	s->sse_max = o->sse_max;
	s->session_live = o->session_live;
	s->frame = o->frame;
	s->head_timeout_us = (int64_t)(o->head_timeout_s > 0 ? o->head_timeout_s : 10) * 1000000;
	s->max_conns = o->max_connections > 0 ? o->max_connections : 4096;
	s->max_per_ip = o->max_conn_per_ip > 0 ? o->max_conn_per_ip : 0;
	/* Past max_conns a few more are accepted only to be told 503; past those MHD refuses. */
	unsigned headroom = (unsigned)(s->max_conns / 8 > 16 ? s->max_conns / 8 : 16);
	unsigned hard = (unsigned)s->max_conns + headroom;
	fit_fd_limit(&hard);
	if (hard < (unsigned)s->max_conns + headroom)
		s->max_conns = (int)(hard - hard / 8);
	s->fd_conns = (int)hard;
	s->rt = router_new();
	if (!s->rt)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		const struct route *rt = &routes[i];
		bool framed = rt->run || rt->open;
		bool complete =
		    rt->body == BODY_STREAM
			? (rt->open ? rt->run != NULL : rt->begin && rt->handler) && rt->chunk
			: (rt->run || rt->handler) && !rt->open;
		if (!complete || (framed && !o->frame)) {
			snprintf(err, errlen, "route %s lacks a handler (or the frame)",
				 rt->pattern);
			goto fail;
		}
		if (router_add(s->rt, rt->method, rt->pattern, rt) < 0) {
			snprintf(err, errlen, "bad route pattern %s", rt->pattern);
			goto fail;
		}
	}
	bool v6 = false;
	s->listen_fd = open_listener(o->host, o->port, &v6, err, errlen);
	if (s->listen_fd < 0)
		goto fail;
	unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_ALLOW_SUSPEND_RESUME |
			 MHD_ALLOW_UPGRADE | MHD_USE_ERROR_LOG | (v6 ? MHD_USE_IPv6 : 0);
	struct ws_hub_opts wo = {.max = o->ws_max,
				 .per_user = o->ws_per_user,
				 .ping_s = o->ws_ping_s,
				 .idle_s = o->ws_idle_s,
				 .max_message = o->ws_max_message,
				 .queue_bytes = o->ws_queue_bytes,
				 .bus = o->bus,
				 .app = o->app,
				 .session_live = o->session_live,
				 .user_orgs = o->ws_user_orgs,
				 .auth_timeout_s = o->ws_auth_timeout_s,
				 .anon_per_addr = o->ws_unauth_per_ip,
				 .authenticate = o->ws_authenticate,
				 .release = ws_release_ip,
				 .release_ctx = s};
	s->ws = ws_hub_new(&wo);
	if (!s->ws) {
		snprintf(err, errlen, "could not start the WebSocket thread");
		goto fail;
	}
	s->d = MHD_start_daemon(
	    flags, 0, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
	    MHD_OPTION_LISTEN_SOCKET, s->listen_fd, MHD_OPTION_THREAD_POOL_SIZE,
	    (unsigned)o->threads, MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
	    MHD_OPTION_NOTIFY_CONNECTION, on_connection, s, MHD_OPTION_NOTIFY_COMPLETED,
	    on_completed, s, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
	    MHD_OPTION_CONNECTION_TIMEOUT, 60u, MHD_OPTION_CONNECTION_LIMIT, hard,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)s->max_per_ip * 2, MHD_OPTION_END);
	if (!s->d) {
		snprintf(err, errlen, "IAM_LISTEN: the HTTP server could not start on %s:%d",
			 o->host, o->port);
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
	ws_hub_free(s->ws);
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
	/* Event streams, WebSockets and parked requests would wait forever: end them now. */
	park_stop(s);
	ws_hub_stop(s->ws); /* freed once MHD is gone: an upgrade under way may still call it */
	int64_t deadline = time_mono_us() + (int64_t)grace_s * 1000000;
	while (s->active > 0 && time_mono_us() < deadline)
		usleep(10000);
	if (s->active > 0)
		log_warn("stopping with requests still in flight",
			 json_pack("{s:I}", "active", (json_int_t)s->active));
	MHD_stop_daemon(s->d);
	ws_hub_free(s->ws);
	router_free(s->rt);
	free(s->static_dir);
	for (unsigned b = 0; b < IP_BUCKETS; b++)
		while (s->ips[b]) {
			struct ip_count *ip = s->ips[b];
			s->ips[b] = ip->next;
			free(ip);
		}
	pthread_mutex_destroy(&s->conn_lock);
	pthread_mutex_destroy(&s->park_lock);
	pthread_cond_destroy(&s->park_cond);
	free(s);
}
