/*
 * internal.h — what server.c and park.c share: the request and server
 * structs. Handlers never include this; they use http.h.
 */
#ifndef IAM_HTTP_INTERNAL_H
#define IAM_HTTP_INTERNAL_H

#include <arpa/inet.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>

#include "core/buf.h"
#include "http/http.h"

/* Past this much discarded body after an overflow we stop reading and close. */
#define DISCARD_MAX (8 * HTTP_JSON_MAX)

struct park;
struct ws_hub;
struct ws_up;
struct conn_info;
struct ip_count;

#define IP_BUCKETS 1024

struct http_server {
	struct MHD_Daemon *d;
	int listen_fd;
	struct router *rt;
	void *app;
	const char *const *cors;
	size_t ncors;
	char *static_dir; /* realpath of the web app, or NULL */
	_Atomic long active;
	/* Parked requests and event streams, driven by the timer thread (park.c). */
	pthread_mutex_t park_lock;
	pthread_cond_t park_cond;
	pthread_t park_thread;
	bool park_started;
	bool stopping;
	struct park *parked;
	/* Stream caps and the session re-check (see http_server_opts). */
	int sse_per_user, sse_per_meeting, sse_max;
	int (*session_live)(void *app, const char *user_id, const char *session_id);
	/* Runs framed routes (http_server_opts.frame). */
	void (*frame)(struct http_req *r, const struct route *route, enum http_phase phase);
	/* Open connections (server.c): head deadline, per-address and global caps. */
	pthread_mutex_t conn_lock;
	struct conn_info *conns;
	struct ip_count *ips[IP_BUCKETS];
	int nconns;
	int max_conns, max_per_ip;
	int fd_conns; /* descriptors for connections and WebSockets (not MHD's once upgraded) */
	int64_t head_timeout_us;
	struct ws_hub *ws; /* WebSockets (http/ws.h) */
};

struct extra_header {
	char *name;
	char *value;
	struct extra_header *next;
};

struct http_req {
	struct http_server *srv;
	struct MHD_Connection *conn;
	const char *method;
	int mbit;
	const char *path;
	const char *route_label;
	struct route_match match;
	char request_id[72];
	char client_ip[INET6_ADDRSTRLEN];
	const char *origin; /* the request's Origin when it is allowed */
	struct buf body;
	size_t discarded;
	bool overflow;
	bool replied;
	json_t *json;
	struct extra_header *extra;
	int status;
	int64_t start_us;
	void *ctx;
	void (*ctx_free)(void *);
	bool stream_failed; /* BODY_STREAM: chunk() refused the rest */
	/*
	 * An error decided before a small body was read is held back until the
	 * body has been drained: a client still sending would otherwise see
	 * the connection reset instead of the answer.
	 */
	bool in_headers;
	bool hold;
	struct {
		int status;
		char *ctype;
		char *body;
		size_t len;
		bool set;
	} held;
	struct park *park;    /* parked, waiting for finish() */
	struct conn_info *ci; /* the connection's tracking entry (may be NULL) */
	int target_err;	      /* a TARGET_* problem found in the raw request target */
	bool started;	      /* on_request has seen this request */
	bool direct;	      /* replies go straight to the socket (body cut off) */
	bool direct_sent;     /* a reply was written that way: close, never queue another */
	size_t linger;	      /* body bytes discarded after a direct reply */
	char user_id[40];     /* who the request acts for (http_set_principal), "" if unknown */
	char session_id[40];
	struct ws_up *ws_up; /* a WebSocket upgrade under way (server.c) */
};

enum { TARGET_OK = 0, TARGET_TOO_LONG, TARGET_TOO_MANY_PARAMS, TARGET_NUL };

/* park.c */
int park_start(struct http_server *s);
/* Wake every parked request and stream so they end; then join the timer thread. */
void park_stop(struct http_server *s);
/* Called by on_request when a parked request is resumed: runs finish(). */
void park_finish(struct http_req *r);

/* static.c: serve r from the web app if it is a GET for a file or a client route. */
bool http_static(struct http_req *r);

/* server.c */
/* Close connections whose request head is overdue (timer thread, about once a second). */
void http_conn_reap(struct http_server *s, int64_t now_us);
void http_req_queue(struct http_req *r, int status, const char *ctype, char *body, size_t len);
void http_req_queue_response(struct http_req *r, int status, struct MHD_Response *resp);

#endif
