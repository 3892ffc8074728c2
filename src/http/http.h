/*
 * http.h — what a handler sees: the request, and the reply helpers.
 *
 * A handler runs once the whole request (headers and, for BODY_JSON
 * routes, a body of at most HTTP_JSON_MAX bytes) has arrived. It must end
 * by calling exactly one http_reply_* / http_problem* function; if it does
 * not, the server answers 500 for it. Replies always carry X-Request-Id,
 * security headers and, for allowed origins, CORS headers.
 *
 * Checks made once for every route, before any handler runs: unknown path
 * (404), method (405 + Allow), malformed UUID path parameter (400), header
 * lines over 8 KiB or more than HTTP_HEADERS_MAX headers (431), a request
 * target over HTTP_TARGET_MAX bytes or with more than
 * HTTP_QUERY_PARAMS_MAX query parameters (414), a NUL byte (%00) in the
 * target (400), HTTP/1.1 without exactly one Host (400), ambiguous framing
 * (Content-Length with Transfer-Encoding, differing Content-Lengths: 400
 * and the connection closed; a transfer coding other than chunked: 501),
 * body too large (413), a body whose Content-Type is not JSON on a JSON
 * route (415), CORS preflight. An absolute-form target
 * ("GET http://host/x") is routed by its path.
 *
 * Connections: a request head must arrive complete within the head timeout
 * (else 408 and close); past the per-address or global connection cap a
 * request is answered 503 and the connection closed.
 */
#ifndef IAM_HTTP_H
#define IAM_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "http/jsonv.h"
#include "http/router.h"

#define HTTP_JSON_MAX	      (1024 * 1024)
#define HTTP_HEADER_LINE_MAX  8192
#define HTTP_HEADERS_MAX      100
#define HTTP_TARGET_MAX	      8192
#define HTTP_QUERY_PARAMS_MAX 256

struct http_req;
struct ws_accept;
typedef void (*http_handler)(struct http_req *r);

/*
 * BODY_NONE: a small body is read and ignored. BODY_JSON: at most
 * HTTP_JSON_MAX bytes of application/json, buffered. BODY_STREAM: the body
 * is handed to route->chunk piece by piece as it arrives (uploads), never
 * buffered whole; no size or type check is made for the route.
 */
enum http_body { BODY_NONE = 0, BODY_JSON, BODY_STREAM };

/* BODY_STREAM: one piece of the body. Return 0, or -1 to refuse the rest. */
typedef int (*http_chunk_fn)(struct http_req *r, const char *data, size_t len);

/*
 * What the frame (http_server_opts.frame, api/frame.c) does for a route
 * before its run/open function: how the caller authenticates, whether a
 * database connection is borrowed for it. The server itself reads none of
 * these; it only hands framed routes to the frame.
 */
enum route_auth {
	AUTH_NONE = 0, /* anyone; the handler may still authenticate itself */
	AUTH_BEARER,   /* "Authorization: Bearer" access token or API key (scopes checked) */
	AUTH_TICKET,   /* like AUTH_BEARER, or ?ticket= issued for the meeting in {id} */
	AUTH_OPENAI,   /* like AUTH_BEARER, failures answered in OpenAI's error shape */
};
enum route_db {
	DB_CONN_NONE = 0, /* none up front (the handler may borrow one lazily) */
	DB_CONN_HELD,	  /* borrowed before the handler runs, released after it */
};

struct api_ctx; /* the frame's context: request, connection, principal, body (api/api.h) */
typedef void (*route_fn)(struct api_ctx *cx);
/* Checks that need no caller or database: add field errors, or reply to refuse. */
typedef void (*route_check_fn)(struct api_ctx *cx, json_t **errors);

struct route {
	int method;	      /* one M_* bit */
	const char *pattern;  /* "/api/v1/api-keys/{id}" */
	http_handler handler; /* unframed: runs when the whole request has arrived */
	enum http_body body;
	/*
	 * BODY_STREAM only. begin runs once the headers are in, before any body
	 * is read: it authenticates, checks sizes and sets up (http_set_ctx);
	 * if it replies, the body is not read. chunk then gets each piece;
	 * once it returns -1 the rest of the body is discarded and handler
	 * still runs to reply; if the body goes on too long to discard,
	 * handler runs at once, its reply (a problem: no files or streams) is
	 * written and the connection is closed.
	 */
	http_handler begin;
	http_chunk_fn chunk;
	/*
	 * Framed routes set run (instead of handler) and, for BODY_STREAM,
	 * open (instead of begin). The frame then: parses the JSON body against
	 * json (400 malformed_json / invalid_body / validation_failed), runs
	 * check, borrows a connection when db says so (503 + Retry-After),
	 * authenticates as auth says (401 + WWW-Authenticate, 403 scope), calls
	 * run/open and releases what it took. For BODY_STREAM the checks, the
	 * connection and authentication go with open; run (the end of the
	 * body) gets no principal and borrows a connection only on demand.
	 */
	enum route_auth auth;
	enum route_db db;
	const struct jv_spec *json;
	route_check_fn check;
	route_fn run;
	route_fn open;
	/*
	 * The permission (enum perm, auth/authz.h) the caller's role in the
	 * active organization must have, checked by the frame right after
	 * authentication: 403 forbidden naming the role and what is needed.
	 * 0 = any member. Only for routes that authenticate (auth != AUTH_NONE).
	 */
	int perm;
};

/* Which part of a framed route the server asks the frame to run. */
enum http_phase { HTTP_PHASE_RUN = 0, HTTP_PHASE_OPEN };

struct http_server;

struct http_server_opts {
	const char *host;
	int port;
	int threads;
	const char *const *cors_origins;
	size_t cors_count;
	void *app; /* handed to handlers through http_app() */
	/*
	 * A built web app to serve for GET/HEAD paths no route claims (NULL =
	 * none): files by path, index.html for client-side routes. Paths under
	 * /api/ and /v1/ are never served from here.
	 */
	const char *static_dir;
	/*
	 * Connection limits (0 = the default in brackets): a request head must
	 * be complete within head_timeout_s of the connection opening or the
	 * previous reply [10]; at most max_connections connections are served
	 * normally [4096] and a few more are answered 503; at most
	 * max_conn_per_ip from one address [unlimited], the same number again
	 * answered 503, the rest refused.
	 */
	int head_timeout_s;
	int max_connections;
	int max_conn_per_ip;
	/*
	 * Event streams: at most sse_per_user per http_set_principal user,
	 * sse_per_meeting per path parameter "id", sse_max in all (429
	 * beyond; 0 = no cap). When session_live is set, every stream of a
	 * session is re-checked on the timer thread every couple of seconds:
	 * it returns 1 (live), 0 (ended: the stream ends) or -1 (could not
	 * tell now, try again soon); it must not block.
	 */
	int sse_per_user, sse_per_meeting, sse_max;
	int (*session_live)(void *app, const char *user_id, const char *session_id);
	/* Runs framed routes (those with run/open set); see struct route. */
	void (*frame)(struct http_req *r, const struct route *route, enum http_phase phase);
	/*
	 * WebSockets (http/ws.h): events from bus, caps and timers (0 = the
	 * hub's defaults). session_live above re-checks their sessions too.
	 */
	struct bus *bus;
	int ws_max, ws_per_user, ws_ping_s, ws_idle_s;
	size_t ws_max_message, ws_queue_bytes;
	/* The user's organizations now (http/ws.h ws_hub_opts.user_orgs); NULL = as at connect. */
	int (*ws_user_orgs)(void *app, const char *user_id, char (*out)[37], size_t max, size_t *n);
	/* Sockets that authenticate by their first message (ws_hub_opts; NULL: refused). */
	int ws_auth_timeout_s, ws_unauth_per_ip;
	int (*ws_authenticate)(void *app, const char *ticket, const char *token,
			       struct ws_accept *a, char *reason, size_t reason_len);
};

/*
 * Start serving routes (an array of n routes that must outlive the server).
 * Returns NULL with a reason in err on failure (port in use, bad address).
 */
struct http_server *http_server_start(const struct http_server_opts *o, const struct route *routes,
				      size_t n, char *err, size_t errlen);
/* Stop accepting, wait up to grace_s for in-flight requests, then stop. */
void http_server_stop(struct http_server *s, int grace_s);

/* Request accessors. Strings live as long as the request. */
void *http_app(const struct http_req *r);
const char *http_method(const struct http_req *r);
const char *http_path(const struct http_req *r);
const char *http_request_id(const struct http_req *r);
const char *http_client_ip(const struct http_req *r);
const char *http_header(const struct http_req *r, const char *name); /* NULL if absent */
const char *http_query(const struct http_req *r, const char *name);  /* NULL if absent */
const char *http_param(const struct http_req *r, const char *name);  /* path parameter */
/* The raw body (NUL-terminated) and its length; "" when there was none. */
const char *http_body(const struct http_req *r, size_t *len);

/*
 * Parse the body as a JSON object. On failure replies 400 (malformed_json
 * or invalid_body) and returns NULL. An empty body parses as {} when
 * empty_ok. The object belongs to the request (do not decref).
 */
json_t *http_json_object(struct http_req *r, bool empty_ok);

/*
 * Record who the request acts for, once authenticated (copied; NULL or ""
 * for none): event streams are counted per user and end with the session.
 */
void http_set_principal(struct http_req *r, const char *user_id, const char *session_id);

/* Content-Length of the request body, or -1 when not given (chunked). */
int64_t http_content_length(const struct http_req *r);

/* A per-request pointer for handlers, freed with free_fn (may be NULL) when the request ends. */
void http_set_ctx(struct http_req *r, void *ctx, void (*free_fn)(void *));
void *http_ctx(const struct http_req *r);
/* Hand the context over to the caller: it is no longer freed with the request. */
void *http_take_ctx(struct http_req *r);

/* Add a header to the reply that is coming (copied). */
void http_add_header(struct http_req *r, const char *name, const char *value);

/* Replies. Each takes ownership of what it is given. */
void http_reply_json(struct http_req *r, int status, json_t *body);
void http_reply_empty(struct http_req *r, int status);
void http_reply_text(struct http_req *r, int status, const char *content_type, char *body,
		     size_t len); /* body: malloc'd, freed by the server */

/*
 * RFC 9457 problem: {type, title, status, detail, code, request_id[, errors]}.
 * code is stable snake_case; detail a sentence a person can act on.
 */
void http_problem(struct http_req *r, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Same, with errors: [{field, message}] (stolen; may be NULL). */
void http_problem_fields(struct http_req *r, int status, const char *code, json_t *errors,
			 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* 400 validation_failed with the given errors array (stolen). */
void http_problem_validation(struct http_req *r, json_t *errors);
/* 500 internal_error, logged with context; never leaks internals to the client. */
void http_problem_internal(struct http_req *r, const char *what);

bool http_replied(const struct http_req *r);

/*
 * Reply with a file: 200, or 206 for a satisfiable single "Range: bytes=..."
 * request (416 with Content-Range for an unsatisfiable one). Advertises
 * Accept-Ranges. fd is owned by the server from now on (closed after
 * sending). disposition may be NULL ("inline"/"attachment; filename=...").
 */
void http_reply_file(struct http_req *r, int fd, int64_t size, const char *content_type,
		     const char *disposition);

/*
 * multipart/form-data read as it streams (BODY_STREAM routes), via
 * libmicrohttpd's post processor. fn gets each piece of each part: field
 * name, filename (NULL for plain fields), data, and the piece's offset in
 * the part; it returns 0, or -1 to stop.
 */
typedef int (*http_part_fn)(void *cls, const char *field, const char *filename, const char *data,
			    size_t len, uint64_t off);
struct http_multipart;
/* NULL when the request is not multipart/form-data with a boundary. */
struct http_multipart *http_multipart_new(struct http_req *r, http_part_fn fn, void *cls);
int http_multipart_feed(struct http_multipart *m, const char *data, size_t len); /* 0 or -1 */
void http_multipart_free(struct http_multipart *m);

/* Reply 204 to OPTIONS with Allow and, for allowed origins, CORS preflight headers. */
void http_reply_options(struct http_req *r);

/*
 * Park a request until something happens elsewhere (a job finishing):
 * the connection is suspended, check(ctx) is polled on the server's timer
 * thread every interval_ms (it may query the database), and once it returns
 * true finish(r, ctx, false) runs on an HTTP thread and must reply. If the
 * server stops first, finish(r, ctx, true) runs instead. ctx is freed with
 * free_fn after finish. Call as the last thing a handler does, without
 * replying.
 */
void http_park(struct http_req *r, int interval_ms, bool (*check)(void *ctx),
	       void (*finish)(struct http_req *r, void *ctx, bool stopping), void *ctx,
	       void (*free_fn)(void *));

/*
 * Reply 200 text/event-stream (Server-Sent Events). tick(ctx, out) runs on
 * the timer thread every interval_ms, first at once; it appends complete
 * events ("event: x\ndata: {...}\n\n") to out and returns false to end the
 * stream after out is sent. A comment keeps idle streams alive. ctx is
 * freed with free_fn when the stream ends or the client goes away. tick must
 * not block (no waiting for a database connection: try, and try again on
 * the next tick). Over the stream caps (see http_server_opts) this replies
 * 429 too_many_streams instead. A stream whose session ends gets
 * "event: end" with {"reason":"session_ended"} and is closed.
 */
void http_reply_sse(struct http_req *r, int interval_ms, bool (*tick)(void *ctx, struct buf *out),
		    void *ctx, void (*free_fn)(void *));

/*
 * Upgrade the request to a WebSocket (RFC 6455) for a (http/ws.h): checks
 * the handshake (400 bad_websocket_handshake; 426 with
 * Sec-WebSocket-Version: 13 for another version or a plain GET) and the
 * caps (429 too_many_sockets per user, 503 server_busy in all), then
 * answers 101 and hands the socket to the server's WebSocket hub.
 */
struct ws_accept;
void http_reply_websocket(struct http_req *r, const struct ws_accept *a);

#endif
