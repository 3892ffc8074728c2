/*
 * park.c — requests that wait: parked requests (a reply that depends on a
 * job finishing) and Server-Sent Event streams.
 *
 * Both suspend their MHD connection so no HTTP thread is held while they
 * wait. One timer thread polls them: check()/tick() run outside the lock
 * (they may query the database) with the entry marked busy so it cannot be
 * freed meanwhile; when there is something to send, the connection is
 * resumed. The MHD connection pointer is only used while the connection is
 * suspended by us (it cannot be closed then) or from MHD's own callbacks.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "core/log.h"
#include "core/metrics.h"
#include "core/timeutil.h"
#include "http/internal.h"

#define KEEPALIVE_US (15 * 1000000LL)
/* How often a stream's session is re-checked, and sooner after an inconclusive check. */
#define SESSION_CHECK_US (2 * 1000000LL)
#define SESSION_RETRY_US (500 * 1000LL)
/* How often the timer thread looks for connections whose request head is overdue. */
#define REAP_US (500 * 1000LL)

enum park_kind { PARK_WAIT, PARK_SSE };

struct park {
	struct park *next;
	struct http_server *srv;
	struct MHD_Connection *conn;
	enum park_kind kind;
	int interval_ms;
	int64_t next_us;
	bool (*check)(void *ctx);
	void (*finish)(struct http_req *r, void *ctx, bool stopping);
	bool (*tick)(void *ctx, struct buf *out);
	void *ctx;
	void (*free_fn)(void *);
	/* Under srv->park_lock: */
	bool listed;	/* in srv->parked */
	bool suspended; /* we suspended the connection and have not resumed it */
	bool busy;	/* the timer thread is in check()/tick() */
	bool ended;	/* SSE: no more events; end after out is sent */
	bool closed;	/* SSE: MHD released the response (client gone or done) */
	bool stopping;	/* WAIT: finish with stopping = true */
	struct buf out; /* SSE: bytes not yet handed to MHD */
	size_t out_pos;
	int64_t last_out_us;
	/* SSE: who it is for, what it watches (for the caps), and the session re-check. */
	char user_id[40];
	char session_id[40];
	char meeting[40];
	int64_t session_check_us;
	bool counted; /* in the open-streams gauge */
};

static void park_free(struct park *p)
{
	if (p->counted)
		metrics_sse_add(-1);
	if (p->free_fn)
		p->free_fn(p->ctx);
	buf_free(&p->out);
	free(p);
}

/* Caller holds the lock. */
static void unlist(struct http_server *s, struct park *p)
{
	for (struct park **pp = &s->parked; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	p->listed = false;
}

/* Caller holds the lock. */
static void wake(struct park *p)
{
	if (p->suspended) {
		p->suspended = false;
		MHD_resume_connection(p->conn);
	}
}

static void add(struct http_server *s, struct park *p)
{
	p->srv = s;
	p->next_us = time_mono_us();
	p->listed = true;
	p->next = s->parked;
	s->parked = p;
	pthread_cond_signal(&s->park_cond);
}

void http_park(struct http_req *r, int interval_ms, bool (*check)(void *ctx),
	       void (*finish)(struct http_req *r, void *ctx, bool stopping), void *ctx,
	       void (*free_fn)(void *))
{
	struct http_server *s = r->srv;
	struct park *p = calloc(1, sizeof *p);
	if (!p) {
		if (free_fn)
			free_fn(ctx);
		http_problem_internal(r, "park");
		return;
	}
	p->kind = PARK_WAIT;
	p->conn = r->conn;
	p->interval_ms = interval_ms > 0 ? interval_ms : 500;
	p->check = check;
	p->finish = finish;
	p->ctx = ctx;
	p->free_fn = free_fn;
	r->park = p;
	pthread_mutex_lock(&s->park_lock);
	if (s->stopping) {
		p->stopping = true; /* finish at once, below */
		pthread_mutex_unlock(&s->park_lock);
		park_finish(r);
		return;
	}
	p->suspended = true;
	MHD_suspend_connection(r->conn);
	add(s, p);
	pthread_mutex_unlock(&s->park_lock);
}

void park_finish(struct http_req *r)
{
	struct park *p = r->park;
	r->park = NULL;
	p->finish(r, p->ctx, p->stopping);
	if (!r->replied)
		http_problem_internal(r, "parked request did not reply");
	park_free(p);
}

static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct park *p = cls;
	struct http_server *s = p->srv;
	ssize_t n = 0;
	pthread_mutex_lock(&s->park_lock);
	if (p->out_pos < p->out.len) {
		size_t left = p->out.len - p->out_pos;
		n = (ssize_t)(left < max ? left : max);
		memcpy(buf, p->out.data + p->out_pos, (size_t)n);
		p->out_pos += (size_t)n;
		if (p->out_pos == p->out.len)
			p->out.len = p->out_pos = 0;
	} else if (p->ended) {
		n = MHD_CONTENT_READER_END_OF_STREAM;
	} else {
		/* Nothing to send: sleep until the timer thread has events. */
		p->suspended = true;
		MHD_suspend_connection(p->conn);
	}
	pthread_mutex_unlock(&s->park_lock);
	return n;
}

static void sse_free(void *cls)
{
	struct park *p = cls;
	struct http_server *s = p->srv;
	pthread_mutex_lock(&s->park_lock);
	p->closed = true;
	p->suspended = false;
	bool now = !p->busy;
	if (now && p->listed)
		unlist(s, p);
	pthread_mutex_unlock(&s->park_lock);
	if (now)
		park_free(p); /* else the timer thread frees it when tick() returns */
}

/*
 * Has the client of a suspended stream gone away? MHD does not watch a
 * suspended connection, so a closed tab would count against the caps until
 * the next keep-alive; asked only when a new stream is being counted.
 */
static bool peer_gone(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *i =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (!i)
		return false;
	struct pollfd pfd = {.fd = i->connect_fd, .events = POLLIN | POLLRDHUP};
	if (poll(&pfd, 1, 0) <= 0)
		return false;
	if (pfd.revents & (POLLHUP | POLLERR | POLLRDHUP))
		return true;
	char b;
	return recv(pfd.fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

/*
 * Which cap opening p would break (an enum metrics_sse_refusal), or -1.
 * Walks the open streams: they are few (capped) and opened rarely.
 */
static int over_cap(struct http_server *s, const struct park *p)
{
	int total = 0, user = 0, meeting = 0;
	pthread_mutex_lock(&s->park_lock);
	for (struct park *q = s->parked; q; q = q->next) {
		if (q->kind != PARK_SSE || q->closed || q->ended)
			continue;
		bool same_user = p->user_id[0] && strcmp(q->user_id, p->user_id) == 0;
		bool same_meeting = p->meeting[0] && strcmp(q->meeting, p->meeting) == 0;
		if ((same_user || same_meeting) && q->suspended && peer_gone(q->conn)) {
			q->ended = true; /* resumed, it ends and MHD closes it */
			wake(q);
			continue;
		}
		total++;
		user += same_user;
		meeting += same_meeting;
	}
	pthread_mutex_unlock(&s->park_lock);
	if (s->sse_per_user > 0 && user >= s->sse_per_user)
		return SSE_REFUSED_USER;
	if (s->sse_per_meeting > 0 && meeting >= s->sse_per_meeting)
		return SSE_REFUSED_MEETING;
	if (s->sse_max > 0 && total >= s->sse_max)
		return SSE_REFUSED_TOTAL;
	return -1;
}

void http_reply_sse(struct http_req *r, int interval_ms, bool (*tick)(void *ctx, struct buf *out),
		    void *ctx, void (*free_fn)(void *))
{
	struct http_server *s = r->srv;
	struct park *p = calloc(1, sizeof *p);
	if (!p) {
		if (free_fn)
			free_fn(ctx);
		http_problem_internal(r, "event stream");
		return;
	}
	p->kind = PARK_SSE;
	p->conn = r->conn;
	p->srv = s;
	p->interval_ms = interval_ms > 0 ? interval_ms : 500;
	p->tick = tick;
	p->ctx = ctx;
	p->free_fn = free_fn;
	p->last_out_us = time_mono_us();
	snprintf(p->user_id, sizeof p->user_id, "%s", r->user_id);
	/* An API key has no session ("" or "-"): nothing to re-check. */
	if (strcmp(r->session_id, "-") != 0)
		snprintf(p->session_id, sizeof p->session_id, "%s", r->session_id);
	p->session_check_us = p->last_out_us + SESSION_CHECK_US;
	const char *mid = http_param(r, "id");
	snprintf(p->meeting, sizeof p->meeting, "%s", mid ? mid : "");
	int cap = over_cap(s, p);
	if (cap >= 0) {
		metrics_sse_refused((enum metrics_sse_refusal)cap);
		park_free(p);
		http_add_header(r, "Retry-After", "10");
		http_problem(
		    r, 429, "too_many_streams",
		    cap == SSE_REFUSED_USER ? "You have %d event streams open, the most allowed. "
					      "Close one (another tab?) and retry."
		    : cap == SSE_REFUSED_MEETING ? "This meeting has %d event streams open, the "
						   "most allowed. Close one and retry."
						 : "The server has %d event streams open, the most "
						   "it serves. Retry in a few seconds.",
		    cap == SSE_REFUSED_USER	 ? s->sse_per_user
		    : cap == SSE_REFUSED_MEETING ? s->sse_per_meeting
						 : s->sse_max);
		return;
	}
	p->counted = true;
	metrics_sse_add(1);
	/* Tell EventSource how long to wait before reconnecting. */
	buf_puts(&p->out, "retry: 2000\n\n");
	struct MHD_Response *resp =
	    MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, sse_read, p, sse_free);
	if (!resp) {
		park_free(p);
		http_problem_internal(r, "event stream");
		return;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				"text/event-stream; charset=utf-8");
	MHD_add_response_header(resp, "X-Accel-Buffering", "no");
	pthread_mutex_lock(&s->park_lock);
	add(s, p);
	if (s->stopping)
		p->ended = true;
	pthread_mutex_unlock(&s->park_lock);
	http_req_queue_response(r, 200, resp);
	MHD_destroy_response(resp); /* MHD holds its own reference; sse_free runs when it lets go */
}

/* Run one due entry. Called with the lock held; returns with it held. */
static void run_one(struct http_server *s, struct park *p, int64_t now)
{
	p->busy = true;
	pthread_mutex_unlock(&s->park_lock);
	bool ready = false, more = true;
	struct buf events = {0};
	if (p->kind == PARK_WAIT) {
		ready = p->check(p->ctx);
	} else if (p->session_id[0] && s->session_live && now >= p->session_check_us) {
		/* Logout (anywhere) ends the streams it opened. */
		int live = s->session_live(s->app, p->user_id, p->session_id);
		p->session_check_us = now + (live < 0 ? SESSION_RETRY_US : SESSION_CHECK_US);
		if (live == 0) {
			buf_puts(&events, "event: end\ndata: {\"reason\":\"session_ended\"}\n\n");
			metrics_sse_session_ended();
			more = false;
		} else {
			more = p->tick(p->ctx, &events);
		}
	} else {
		more = p->tick(p->ctx, &events);
	}
	pthread_mutex_lock(&s->park_lock);
	p->busy = false;
	p->next_us = time_mono_us() + (int64_t)p->interval_ms * 1000;
	if (p->kind == PARK_WAIT) {
		if (ready) {
			unlist(s, p);
			wake(p); /* on_request runs park_finish on an HTTP thread */
		}
		return;
	}
	if (p->closed) {
		buf_free(&events);
		unlist(s, p);
		pthread_mutex_unlock(&s->park_lock);
		park_free(p);
		pthread_mutex_lock(&s->park_lock);
		return;
	}
	if (events.len) {
		buf_append(&p->out, events.data, events.len);
		p->last_out_us = now;
	} else if (now - p->last_out_us > KEEPALIVE_US) {
		buf_puts(&p->out, ": keep-alive\n\n");
		p->last_out_us = now;
	}
	buf_free(&events);
	if (!more)
		p->ended = true;
	if (p->out.len > p->out_pos || p->ended)
		wake(p);
}

static void *timer_main(void *arg)
{
	struct http_server *s = arg;
	int64_t next_reap = 0;
	pthread_mutex_lock(&s->park_lock);
	while (!s->stopping) {
		int64_t now = time_mono_us(), soonest = now + REAP_US;
		if (now >= next_reap) {
			pthread_mutex_unlock(&s->park_lock); /* never hold both locks */
			http_conn_reap(s, now);
			pthread_mutex_lock(&s->park_lock);
			next_reap = now + REAP_US;
		}
		bool again = true;
		while (again && !s->stopping) {
			again = false;
			for (struct park *p = s->parked; p; p = p->next) {
				if (p->busy || p->closed || p->ended ||
				    (p->kind == PARK_WAIT && !p->suspended))
					continue;
				if (p->next_us <= now) {
					run_one(s, p, now);
					again = true; /* the list may have changed: walk it again */
					break;
				}
				if (p->next_us < soonest)
					soonest = p->next_us;
			}
			now = time_mono_us();
		}
		if (s->stopping)
			break;
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		int64_t wait_us = soonest - time_mono_us();
		if (wait_us < 1000)
			wait_us = 1000;
		ts.tv_sec += wait_us / 1000000;
		ts.tv_nsec += (wait_us % 1000000) * 1000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&s->park_cond, &s->park_lock, &ts);
	}
	pthread_mutex_unlock(&s->park_lock);
	return NULL;
}

int park_start(struct http_server *s)
{
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_destroy(&s->park_cond);
	pthread_cond_init(&s->park_cond, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&s->park_thread, NULL, timer_main, s) != 0)
		return -1;
	s->park_started = true;
	return 0;
}

void park_stop(struct http_server *s)
{
	if (!s->park_started)
		return;
	pthread_mutex_lock(&s->park_lock);
	s->stopping = true;
	pthread_cond_signal(&s->park_cond);
	pthread_mutex_unlock(&s->park_lock);
	pthread_join(s->park_thread, NULL);
	s->park_started = false;
	/* The timer is gone: end everything still waiting. */
	pthread_mutex_lock(&s->park_lock);
	struct park *p = s->parked;
	while (p) {
		struct park *next = p->next;
		if (p->kind == PARK_WAIT) {
			p->stopping = true;
			unlist(s, p);
		} else {
			p->ended = true;
		}
		wake(p);
		p = next;
	}
	pthread_mutex_unlock(&s->park_lock);
}
