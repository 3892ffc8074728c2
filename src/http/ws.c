/*
 * ws.c — the WebSocket hub: see ws.h.
 *
 * Threads: HTTP threads reserve slots and hand over upgraded sockets
 * (incoming list); publishing threads copy bus events into the inbox; both
 * under hub->lock and followed by a write to the hub's eventfd. The auth
 * thread checks the credentials of unauthenticated sockets' first messages
 * (its queue under auth_lock, results back under hub->lock). Everything
 * else (sockets, wslay contexts, indexes, queues) belongs to the hub thread
 * alone, so it needs no lock.
 *
 * Memory: the socket is no longer libmicrohttpd's once upgraded (server.c
 * ws_detach), and an idle socket holds no wslay context (conn_park): what
 * it costs is struct conn and its index entries, under 1 kB.
 *
 * Outbound: events are framed once and shared by reference between the
 * sockets they go to (struct ws_msg); each socket has its own queue of
 * references and hands wslay one message at a time, so a socket that does
 * not read costs at most queue_bytes of ours (then it is closed 1013).
 */
#include "http/ws.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>
#include <wslay/wslay.h>

#include <nettle/sha1.h>
#include <sodium.h>

#include "bus/bus.h"
#include "core/crypto.h"
#include "core/log.h"
#include "core/timeutil.h"

#define NBUCKETS      4096
#define INBOX_MAX     50000
#define TICK_MS	      250
#define CLOSE_WAIT_MS 10000
#define CHECK_MS      3000 /* session re-check per socket */
#define LINGER_MS     2000
#define WS_SNDBUF     (128 * 1024)
#define LINGER_BYTES  (32u << 20)
/* Client messages: JSON pings 10/s (burst 20), typing 2/s (burst 5), control pings 10/s. */
#define PING_RATE  10.0
#define PING_BURST 20.0
#define TYPE_RATE  2.0
#define TYPE_BURST 5.0
#define DROP_RATE  50.0	 /* refused messages tolerated per second ... */
#define DROP_BURST 300.0 /* ... and at once */

/* ---------- queue and bucket (exposed for tests) ---------- */

struct ws_qent {
	struct ws_qent *next;
	struct ws_msg *m;
};

struct ws_msg *ws_msg_new(const char *data, size_t len)
{
	struct ws_msg *m = malloc(sizeof *m + len + 1);
	if (!m)
		return NULL;
	m->refs = 1;
	m->len = len;
	memcpy(m->data, data, len);
	m->data[len] = '\0';
	return m;
}

void ws_msg_unref(struct ws_msg *m)
{
	if (m && --m->refs == 0)
		free(m);
}

int ws_queue_push(struct ws_queue *q, struct ws_msg *m, size_t limit)
{
	if (q->bytes + m->len > limit)
		return -1;
	struct ws_qent *e = malloc(sizeof *e);
	if (!e)
		return -1;
	e->next = NULL;
	e->m = m;
	m->refs++;
	if (q->tail)
		q->tail->next = e;
	else
		q->head = e;
	q->tail = e;
	q->bytes += m->len;
	q->count++;
	return 0;
}

struct ws_msg *ws_queue_pop(struct ws_queue *q)
{
	struct ws_qent *e = q->head;
	if (!e)
		return NULL;
	q->head = e->next;
	if (!q->head)
		q->tail = NULL;
	struct ws_msg *m = e->m;
	q->bytes -= m->len;
	q->count--;
	free(e);
	return m;
}

void ws_queue_clear(struct ws_queue *q)
{
	struct ws_msg *m;
	while ((m = ws_queue_pop(q)))
		ws_msg_unref(m);
}

bool ws_bucket_take(struct ws_bucket *b, double rate, double burst, int64_t now_ms)
{
	if (b->last_ms == 0) {
		b->tokens = burst;
		b->last_ms = now_ms;
	}
	if (now_ms > b->last_ms) {
		b->tokens += (double)(now_ms - b->last_ms) * rate / 1000.0;
		if (b->tokens > burst)
			b->tokens = burst;
		b->last_ms = now_ms;
	}
	if (b->tokens < 1.0)
		return false;
	b->tokens -= 1.0;
	return true;
}

int ws_accept_key(const char *key, char out[29])
{
	static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
	unsigned char raw[18];
	size_t rawlen = 0;
	if (!key || strlen(key) != 24 ||
	    sodium_base642bin(raw, sizeof raw, key, 24, NULL, &rawlen, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    rawlen != 16)
		return -1;
	struct sha1_ctx s;
	uint8_t d[SHA1_DIGEST_SIZE];
	sha1_init(&s);
	sha1_update(&s, 24, (const uint8_t *)key);
	sha1_update(&s, sizeof guid - 1, (const uint8_t *)guid);
	sha1_digest(&s, sizeof d, d);
	sodium_bin2base64(out, 29, d, sizeof d, sodium_base64_VARIANT_ORIGINAL);
	return 0;
}

/* ---------- the hub ---------- */

struct conn;

struct ient { /* one socket under one key (user or organization) */
	struct ient *next;
	struct conn *c;
	char key[UUID_STR_LEN];
};

struct ucount { /* sockets reserved or open per user, or per address (under hub->lock) */
	struct ucount *next;
	int n;
	char key[64];
};

struct hev { /* an event waiting for the hub thread */
	struct hev *next;
	enum bus_scope scope;
	char id[65];
	int kind; /* EV_PLAIN, EV_TYPING, EV_PRESENCE */
	char from[UUID_STR_LEN];
	char (*orgs)[UUID_STR_LEN]; /* typing: the sender's organizations */
	size_t norgs;
	struct ws_msg *frame;
};
enum { EV_PLAIN = 0, EV_TYPING, EV_PRESENCE };

struct pending { /* an upgraded socket not yet adopted by the hub thread */
	struct pending *next;
	int fd;
	char *extra;
	size_t extra_len;
	struct ws_accept a;
};

/* A credential sent by an unauthenticated socket, checked on the auth thread. */
struct authjob {
	struct authjob *next;
	struct conn *c; /* kept allocated (a zombie if it closes) until the result is back */
	char *ticket, *token;
	int rc;
	char reason[128];
	struct ws_accept a;
};

struct conn {
	struct ws_hub *hub;
	int fd;
	wslay_event_context_ptr ctx;
	char *extra;
	size_t extra_len, extra_off;
	char user_id[UUID_STR_LEN];
	char session_id[UUID_STR_LEN];
	char (*orgs)[UUID_STR_LEN];
	size_t norgs;
	struct ws_queue q;
	int64_t last_rx_ms, last_tx_ms, next_ping_ms, next_check_ms, next_orgs_ms,
	    close_deadline_ms;
	uint32_t evmask;
	bool closing, dead, dirty, io_error, lingering;
	bool indexed; /* in users/orgidx: gets events, counts for presence */
	bool anon;    /* not authenticated yet (reserved under addr, not user_id) */
	bool auth_inflight, zombie;
	int64_t auth_deadline_ms;
	char path_user_id[UUID_STR_LEN];
	char addr[48];
	void *tag; /* ws_accept.tag */
	/* Where the client's byte stream is (frame headers and payload lengths, fed as read). */
	struct {
		uint8_t hdr[14];
		uint8_t have, need;
		bool frag; /* a fragmented data message is under way */
		uint64_t left;
	} rx;
	size_t lingered;
	struct ws_bucket ping_b, typing_b, ctrl_b, drop_b;
	struct conn *prev, *next; /* hub->conns */
	struct conn *next_dirty;
};

struct ws_hub {
	struct ws_hub_opts o;
	int ep, efd;
	pthread_t thread;
	bool started;
	int sub;
	/* under lock */
	pthread_mutex_t lock;
	bool stop;
	int total;
	struct ucount *counts[NBUCKETS], *acounts[NBUCKETS];
	struct pending *incoming;
	struct authjob *auth_done;
	/* the auth thread's queue */
	pthread_t auth_thread;
	bool auth_started, auth_stop;
	pthread_mutex_t auth_lock;
	pthread_cond_t auth_cond;
	struct authjob *auth_head, *auth_tail;
	struct hev *inbox_head, *inbox_tail;
	int inbox_n;
	long long inbox_dropped;
	/* hub thread only */
	struct conn *conns;
	struct conn *dirty;
	struct ient *users[NBUCKETS], *orgidx[NBUCKETS];
	struct {
		char sid[UUID_STR_LEN];
		int live;
		int64_t at;
	} cache[64];
};

static unsigned bucket_of(const char *key)
{
	uint32_t h = 2166136261u;
	for (; *key; key++)
		h = (h ^ (unsigned char)*key) * 16777619u;
	return h % NBUCKETS;
}

static void wake(struct ws_hub *h)
{
	uint64_t one = 1;
	ssize_t n = write(h->efd, &one, sizeof one);
	(void)n;
}

/* The counts below: caller holds h->lock. */
static struct ucount *count_find(struct ucount **tab, const char *key)
{
	struct ucount *u = tab[bucket_of(key)];
	while (u && strcmp(u->key, key) != 0)
		u = u->next;
	return u;
}

static bool count_take(struct ucount **tab, const char *key)
{
	struct ucount *u = count_find(tab, key);
	if (!u) {
		u = calloc(1, sizeof *u);
		if (!u)
			return false;
		unsigned b = bucket_of(key);
		snprintf(u->key, sizeof u->key, "%s", key);
		u->next = tab[b];
		tab[b] = u;
	}
	u->n++;
	return true;
}

/* false when key holds nothing */
static bool count_drop(struct ucount **tab, const char *key)
{
	for (struct ucount **pp = &tab[bucket_of(key)]; *pp; pp = &(*pp)->next)
		if (strcmp((*pp)->key, key) == 0) {
			if (--(*pp)->n == 0) {
				struct ucount *u = *pp;
				*pp = u->next;
				free(u);
			}
			return true;
		}
	return false;
}

static void count_free(struct ucount **tab)
{
	for (unsigned b = 0; b < NBUCKETS; b++)
		while (tab[b]) {
			struct ucount *u = tab[b];
			tab[b] = u->next;
			free(u);
		}
}

static enum ws_reserve reserve_in(struct ws_hub *h, struct ucount **tab, const char *key, int cap,
				  enum ws_reserve over)
{
	enum ws_reserve rc = WS_OK;
	pthread_mutex_lock(&h->lock);
	struct ucount *u = count_find(tab, key);
	if (h->stop || h->total >= h->o.max)
		rc = WS_FULL;
	else if (u && u->n >= cap)
		rc = over;
	else if (!count_take(tab, key))
		rc = WS_FULL;
	else
		h->total++;
	pthread_mutex_unlock(&h->lock);
	return rc;
}

static void unreserve_in(struct ws_hub *h, struct ucount **tab, const char *key)
{
	pthread_mutex_lock(&h->lock);
	if (count_drop(tab, key))
		h->total--;
	pthread_mutex_unlock(&h->lock);
}

enum ws_reserve ws_hub_reserve(struct ws_hub *h, const char *user_id)
{
	return reserve_in(h, h->counts, user_id, h->o.per_user, WS_USER_FULL);
}

void ws_hub_unreserve(struct ws_hub *h, const char *user_id)
{
	unreserve_in(h, h->counts, user_id);
}

enum ws_reserve ws_hub_reserve_anon(struct ws_hub *h, const char *addr)
{
	return reserve_in(h, h->acounts, addr, h->o.anon_per_addr, WS_ADDR_FULL);
}

void ws_hub_unreserve_anon(struct ws_hub *h, const char *addr)
{
	unreserve_in(h, h->acounts, addr);
}

bool ws_hub_takes_anon(const struct ws_hub *h)
{
	return h->o.authenticate != NULL;
}

/* An unauthenticated socket's slot becomes its user's (the total stays): WS_OK or WS_USER_FULL. */
static enum ws_reserve promote(struct ws_hub *h, const char *addr, const char *user_id)
{
	enum ws_reserve rc = WS_OK;
	pthread_mutex_lock(&h->lock);
	struct ucount *u = count_find(h->counts, user_id);
	if (u && u->n >= h->o.per_user)
		rc = WS_USER_FULL;
	else if (!count_take(h->counts, user_id))
		rc = WS_FULL;
	else
		count_drop(h->acounts, addr);
	pthread_mutex_unlock(&h->lock);
	return rc;
}

/* Give back what a socket holds (by user, or by address while unauthenticated). */
static void unreserve_accept(struct ws_hub *h, const struct ws_accept *a)
{
	if (a->anonymous)
		ws_hub_unreserve_anon(h, a->addr);
	else
		ws_hub_unreserve(h, a->user_id);
	if (a->tag && h->o.release)
		h->o.release(h->o.release_ctx, a->tag);
}

int ws_hub_count(struct ws_hub *h)
{
	pthread_mutex_lock(&h->lock);
	int n = h->total;
	pthread_mutex_unlock(&h->lock);
	return n;
}

void ws_hub_adopt(struct ws_hub *h, int fd, const char *extra, size_t extra_len,
		  const struct ws_accept *a)
{
	struct pending *p = calloc(1, sizeof *p);
	if (p && extra_len) {
		p->extra = malloc(extra_len);
		if (p->extra)
			memcpy(p->extra, extra, extra_len);
		else {
			free(p);
			p = NULL;
		}
	}
	if (!p) {
		unreserve_accept(h, a);
		close(fd);
		return;
	}
	p->fd = fd;
	p->extra_len = extra_len;
	p->a = *a;
	pthread_mutex_lock(&h->lock);
	bool stop = h->stop;
	if (!stop) {
		p->next = h->incoming;
		h->incoming = p;
	}
	pthread_mutex_unlock(&h->lock);
	if (stop) {
		unreserve_accept(h, a);
		close(fd);
		free(p->extra);
		free(p);
		return;
	}
	wake(h);
}

/* ---------- bus subscriber (publishing threads) ---------- */

static bool type_ok(const char *t)
{
	return !strpbrk(t, "\"\\");
}

static struct ws_msg *frame_of(const char *type, const char *data)
{
	size_t cap = strlen(type) + strlen(data) + 32;
	char *s = malloc(cap);
	if (!s)
		return NULL;
	int n = snprintf(s, cap, "{\"type\":\"%s\",\"data\":%s}", type, data);
	struct ws_msg *m = n > 0 ? ws_msg_new(s, (size_t)n) : NULL;
	free(s);
	return m;
}

static void hev_free(struct hev *e)
{
	if (!e)
		return;
	ws_msg_unref(e->frame);
	free(e->orgs);
	free(e);
}

static void on_bus(void *ctx, const struct bus_event *ev)
{
	struct ws_hub *h = ctx;
	if (!type_ok(ev->type) || strlen(ev->id) >= sizeof((struct hev *)0)->id)
		return;
	struct hev *e = calloc(1, sizeof *e);
	if (!e)
		return;
	e->scope = ev->scope;
	snprintf(e->id, sizeof e->id, "%s", ev->id);
	if (strcmp(ev->type, "typing") == 0 || strcmp(ev->type, "presence") == 0) {
		json_t *d = json_loads(ev->data, 0, NULL);
		bool typing = ev->type[0] == 't';
		const char *from =
		    json_string_value(json_object_get(d, typing ? "from" : "user_id"));
		json_t *orgs = json_object_get(d, "orgs");
		if (!from || strlen(from) >= UUID_STR_LEN || (typing && !json_is_array(orgs))) {
			json_decref(d);
			free(e);
			return;
		}
		e->kind = typing ? EV_TYPING : EV_PRESENCE;
		snprintf(e->from, sizeof e->from, "%s", from);
		if (typing) {
			size_t n = json_array_size(orgs);
			if (n > WS_MAX_ORGS)
				n = WS_MAX_ORGS;
			e->orgs = calloc(n + 1, sizeof *e->orgs);
			for (size_t i = 0; e->orgs && i < n; i++) {
				const char *o = json_string_value(json_array_get(orgs, i));
				if (o && strlen(o) < UUID_STR_LEN)
					snprintf(e->orgs[e->norgs++], UUID_STR_LEN, "%s", o);
			}
			/* What the recipient sees: who, not the sender's organizations. */
			json_t *out = json_pack("{s:s}", "from", from);
			char *text = out ? json_dumps(out, JSON_COMPACT) : NULL;
			json_decref(out);
			e->frame = text ? frame_of("typing", text) : NULL;
			free(text);
		}
		json_decref(d);
		if (typing && (!e->orgs || !e->frame)) {
			hev_free(e);
			return;
		}
	}
	if (!e->frame)
		e->frame = frame_of(ev->type, ev->data);
	if (!e->frame) {
		hev_free(e);
		return;
	}
	pthread_mutex_lock(&h->lock);
	bool full = h->stop || h->inbox_n >= INBOX_MAX;
	if (full) {
		h->inbox_dropped++;
	} else {
		if (h->inbox_tail)
			h->inbox_tail->next = e;
		else
			h->inbox_head = e;
		h->inbox_tail = e;
		h->inbox_n++;
	}
	pthread_mutex_unlock(&h->lock);
	if (full)
		hev_free(e);
	else
		wake(h);
}

/* ---------- per-socket (hub thread) ---------- */

static void mark(struct conn *c)
{
	if (c->dirty)
		return;
	c->dirty = true;
	c->next_dirty = c->hub->dirty;
	c->hub->dirty = c;
}

static const struct wslay_event_callbacks CALLBACKS;

/*
 * wslay's context (8.8 kB with its buffers) is held only while a socket is
 * busy: one quiet for park_ms parks (conn_park, from the timers) without
 * one and gets a fresh one when anything happens (a read, a message to
 * send, a ping). Busy sockets keep theirs: no allocation per message.
 * false when out of memory.
 */
static bool conn_ctx(struct conn *c)
{
	if (c->ctx)
		return true;
	if (wslay_event_context_server_init(&c->ctx, &CALLBACKS, c) != 0) {
		c->ctx = NULL;
		c->io_error = true;
		return false;
	}
	wslay_event_config_set_max_recv_msg_length(c->ctx, c->hub->o.max_message);
	return true;
}

/* Follow the frames of the client's stream through the bytes handed to wslay. */
static void rx_track(struct conn *c, const uint8_t *p, size_t n)
{
	while (n) {
		if (c->rx.left) {
			uint64_t k = c->rx.left < n ? c->rx.left : n;
			c->rx.left -= k;
			p += k;
			n -= (size_t)k;
			continue;
		}
		c->rx.hdr[c->rx.have++] = *p++;
		n--;
		if (c->rx.have == 2) {
			uint8_t l = c->rx.hdr[1] & 0x7f;
			c->rx.need = (uint8_t)(2 +
					       (l == 126   ? 2
						: l == 127 ? 8
							   : 0) +
					       (c->rx.hdr[1] & 0x80 ? 4 : 0));
		}
		if (c->rx.have >= 2 && c->rx.have == c->rx.need) {
			uint8_t l = c->rx.hdr[1] & 0x7f;
			uint64_t len = l;
			if (l == 126)
				len = (uint64_t)c->rx.hdr[2] << 8 | c->rx.hdr[3];
			else if (l == 127) {
				len = 0;
				for (int i = 2; i < 10; i++)
					len = len << 8 | c->rx.hdr[i];
			}
			if ((c->rx.hdr[0] & 0x0f) < 8) /* data or continuation */
				c->rx.frag = !(c->rx.hdr[0] & 0x80);
			c->rx.left = len;
			c->rx.have = c->rx.need = 0;
		}
	}
}

/*
 * Free wslay's context of a socket with nothing under way: every byte read
 * so far ends a whole message (wslay has handled them all: it returns only
 * once a read would block), nothing waits to be written, no close begun.
 */
static bool conn_park(struct conn *c)
{
	if (!c->ctx || c->dirty || c->closing || c->lingering || c->io_error || c->dead ||
	    c->q.head || c->extra_off < c->extra_len || c->rx.have || c->rx.left || c->rx.frag ||
	    wslay_event_want_write(c->ctx) || wslay_event_get_queued_msg_count(c->ctx) ||
	    !wslay_event_get_read_enabled(c->ctx) || wslay_event_get_close_sent(c->ctx) ||
	    wslay_event_get_close_received(c->ctx))
		return false;
	wslay_event_context_free(c->ctx);
	c->ctx = NULL;
	return true;
}

static void conn_close(struct conn *c, uint16_t code, const char *reason)
{
	if (c->closing)
		return;
	if (!conn_ctx(c)) {
		mark(c);
		return;
	}
	c->closing = true;
	ws_queue_clear(&c->q);
	wslay_event_queue_close(c->ctx, code, (const uint8_t *)reason, strlen(reason));
	c->close_deadline_ms = time_now_ms() + CLOSE_WAIT_MS;
	mark(c);
}

/* Queue a text message for c (a reference is taken); over the limit the socket is closed 1013. */
static void conn_send(struct conn *c, struct ws_msg *m)
{
	if (c->closing)
		return;
	if (!conn_ctx(c)) {
		mark(c);
		return;
	}
	size_t inflight = wslay_event_get_queued_msg_length(c->ctx);
	size_t limit = c->hub->o.queue_bytes > inflight ? c->hub->o.queue_bytes - inflight : 0;
	if (ws_queue_push(&c->q, m, limit) < 0) {
		conn_close(c, 1013, "the client does not read its messages fast enough");
		return;
	}
	mark(c);
}

static void conn_send_text(struct conn *c, const char *text)
{
	struct ws_msg *m = ws_msg_new(text, strlen(text));
	if (!m)
		return;
	conn_send(c, m);
	ws_msg_unref(m);
}

static void conn_error(struct conn *c, const char *code, const char *detail)
{
	json_t *j =
	    json_pack("{s:s,s:{s:s,s:s}}", "type", "error", "data", "code", code, "detail", detail);
	char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (text)
		conn_send_text(c, text);
	free(text);
}

/*
 * A refused client message is dropped. Refusals have a budget of their own
 * (DROP_BURST, refilled at DROP_RATE a second): a flood that goes on past it
 * is closed 1008.
 */
static void conn_drop(struct conn *c)
{
	if (!ws_bucket_take(&c->drop_b, DROP_RATE, DROP_BURST, time_now_ms()))
		conn_close(c, 1008, "too many messages");
}

static ssize_t recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *user)
{
	struct conn *c = user;
	if (c->extra_off < c->extra_len) {
		size_t n = c->extra_len - c->extra_off;
		if (n > len)
			n = len;
		memcpy(buf, c->extra + c->extra_off, n);
		c->extra_off += n;
		c->last_rx_ms = time_now_ms();
		rx_track(c, buf, n);
		return (ssize_t)n;
	}
	ssize_t n;
	do
		n = recv(c->fd, buf, len, 0);
	while (n < 0 && errno == EINTR);
	if (n > 0) {
		c->last_rx_ms = time_now_ms();
		rx_track(c, buf, (size_t)n);
		return n;
	}
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	c->io_error = true;
	wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
	return -1;
}

static ssize_t send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
		       void *user)
{
	struct conn *c = user;
	ssize_t n;
	do
		n = send(c->fd, data, len,
			 MSG_NOSIGNAL | MSG_DONTWAIT | (flags & WSLAY_MSG_MORE ? MSG_MORE : 0));
	while (n < 0 && errno == EINTR);
	if (n >= 0) {
		c->last_tx_ms = time_now_ms();
		return n;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	c->io_error = true;
	wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
	return -1;
}

static int genmask_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, void *user)
{
	crypto_random(buf, len);
	return 0;
}

static void on_frame_start(wslay_event_context_ptr ctx,
			   const struct wslay_event_on_frame_recv_start_arg *arg, void *user)
{
	struct conn *c = user;
	/* Control pings are answered by wslay: bound how many it answers. */
	if (arg->opcode == WSLAY_PING &&
	    !ws_bucket_take(&c->ctrl_b, PING_RATE, PING_BURST, time_now_ms()))
		conn_drop(c);
}

static bool shares_org(const struct conn *c, char (*orgs)[UUID_STR_LEN], size_t n)
{
	for (size_t i = 0; i < c->norgs; i++)
		for (size_t j = 0; j < n; j++)
			if (strcmp(c->orgs[i], orgs[j]) == 0)
				return true;
	return false;
}

static void on_typing(struct conn *c, json_t *msg, int64_t now)
{
	const char *to = json_string_value(json_object_get(msg, "to"));
	if (!to || !uuid_valid(to) || strcmp(to, c->user_id) == 0) {
		conn_error(c, "invalid_message", "typing needs \"to\": another user's id.");
		return;
	}
	if (!ws_bucket_take(&c->typing_b, TYPE_RATE, TYPE_BURST, now)) {
		conn_drop(c);
		return;
	}
	json_t *orgs = json_array();
	for (size_t i = 0; i < c->norgs; i++)
		json_array_append_new(orgs, json_string(c->orgs[i]));
	json_t *d = json_pack("{s:s,s:o}", "from", c->user_id, "orgs", orgs);
	/* The recipient's sockets (here or in another process) check the shared organization. */
	if (d)
		bus_publish(c->hub->o.bus, BUS_USER, to, "typing", d);
	json_decref(d);
}

static void auth_enqueue(struct ws_hub *h, struct authjob *j)
{
	pthread_mutex_lock(&h->auth_lock);
	if (h->auth_tail)
		h->auth_tail->next = j;
	else
		h->auth_head = j;
	h->auth_tail = j;
	pthread_cond_signal(&h->auth_cond);
	pthread_mutex_unlock(&h->auth_lock);
}

static const char AUTH_FIRST[] =
    "authenticate first: the first message must be {\"type\":\"auth\",\"ticket\":\"...\"} (or "
    "\"token\")";

/* The first message of an unauthenticated socket (msg may be NULL: not JSON). */
static void on_auth_msg(struct conn *c, json_t *msg)
{
	if (c->auth_inflight) {
		conn_close(c, 1008,
			   "wait for {\"type\":\"authenticated\"} before sending anything else");
		return;
	}
	const char *type = json_string_value(json_object_get(msg, "type"));
	if (!type || strcmp(type, "auth") != 0) {
		conn_close(c, 1008, AUTH_FIRST);
		return;
	}
	json_t *jt = json_object_get(msg, "ticket"), *jk = json_object_get(msg, "token");
	const char *ticket = json_string_value(jt), *token = json_string_value(jk);
	if ((ticket != NULL) == (token != NULL) || (ticket && json_string_length(jt) > 4096) ||
	    (token && json_string_length(jk) > 8192)) {
		conn_close(c, 1008,
			   "auth takes one \"ticket\" (POST /api/v1/realtime/ticket) or one "
			   "\"token\" (an access token)");
		return;
	}
	struct authjob *j = calloc(1, sizeof *j);
	char *cred = strdup(ticket ? ticket : token);
	if (!j || !cred) {
		free(j);
		free(cred);
		conn_close(c, 1011, "out of memory");
		return;
	}
	if (ticket)
		j->ticket = cred;
	else
		j->token = cred;
	j->c = c;
	snprintf(j->a.path_user_id, sizeof j->a.path_user_id, "%s", c->path_user_id);
	c->auth_inflight = true;
	auth_enqueue(c->hub, j);
}

static void on_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
		   void *user)
{
	struct conn *c = user;
	if (c->closing || arg->opcode == WSLAY_CONNECTION_CLOSE || arg->opcode == WSLAY_PING ||
	    arg->opcode == WSLAY_PONG)
		return;
	if (c->anon) {
		json_t *m = arg->opcode == WSLAY_TEXT_FRAME
				? json_loadb((const char *)arg->msg, arg->msg_length,
					     JSON_REJECT_DUPLICATES, NULL)
				: NULL;
		on_auth_msg(c, m);
		json_decref(m);
		return;
	}
	if (arg->opcode != WSLAY_TEXT_FRAME) {
		conn_close(c, 1003, "only text messages (JSON) are accepted");
		return;
	}
	int64_t now = time_now_ms();
	json_t *msg =
	    json_loadb((const char *)arg->msg, arg->msg_length, JSON_REJECT_DUPLICATES, NULL);
	const char *type = json_string_value(json_object_get(msg, "type"));
	if (!type) {
		conn_error(c, "invalid_message",
			   "Messages are JSON objects with a \"type\" (ping or typing).");
	} else if (strcmp(type, "ping") == 0) {
		if (!ws_bucket_take(&c->ping_b, PING_RATE, PING_BURST, now)) {
			conn_drop(c);
		} else {
			json_t *ts = json_object_get(msg, "timestamp");
			bool ok = json_is_number(ts) ||
				  (json_is_string(ts) && json_string_length(ts) <= 64);
			json_t *pong = json_pack("{s:s,s:O}", "type", "pong", "timestamp",
						 ok ? ts : json_null());
			char *text = pong ? json_dumps(pong, JSON_COMPACT) : NULL;
			json_decref(pong);
			if (text)
				conn_send_text(c, text);
			free(text);
		}
	} else if (strcmp(type, "typing") == 0) {
		on_typing(c, msg, now);
	} else {
		conn_error(c, "unknown_type", "Known message types: ping, typing.");
	}
	json_decref(msg);
}

static const struct wslay_event_callbacks CALLBACKS = {
    .recv_callback = recv_cb,
    .send_callback = send_cb,
    .genmask_callback = genmask_cb,
    .on_frame_recv_start_callback = on_frame_start,
    .on_msg_recv_callback = on_msg,
};

static void index_add(struct ient **tab, const char *key, struct conn *c)
{
	struct ient *e = calloc(1, sizeof *e);
	if (!e)
		return; /* this socket misses events under key */
	unsigned b = bucket_of(key);
	snprintf(e->key, sizeof e->key, "%s", key);
	e->c = c;
	e->next = tab[b];
	tab[b] = e;
}

static void index_del(struct ient **tab, const char *key, struct conn *c)
{
	for (struct ient **pp = &tab[bucket_of(key)]; *pp; pp = &(*pp)->next)
		if ((*pp)->c == c) {
			struct ient *e = *pp;
			*pp = e->next;
			free(e);
			return;
		}
}

/* Sockets of user_id open here. */
static int local_count(struct ws_hub *h, const char *user_id)
{
	int n = 0;
	for (struct ient *e = h->users[bucket_of(user_id)]; e; e = e->next)
		if (!e->c->dead && strcmp(e->key, user_id) == 0)
			n++;
	return n;
}

static void presence(struct ws_hub *h, const char *user_id, char (*orgs)[UUID_STR_LEN],
		     size_t norgs, const char *status)
{
	if (!h->o.bus)
		return;
	json_t *d = json_pack("{s:s,s:s}", "user_id", user_id, "status", status);
	for (size_t i = 0; d && i < norgs; i++)
		bus_publish(h->o.bus, BUS_ORG, orgs[i], "presence", d);
	json_decref(d);
}

static void conn_destroy(struct ws_hub *h, struct conn *c, bool stopping)
{
	epoll_ctl(h->ep, EPOLL_CTL_DEL, c->fd, NULL);
	c->dead = true;
	if (c->indexed) {
		index_del(h->users, c->user_id, c);
		for (size_t i = 0; i < c->norgs; i++)
			index_del(h->orgidx, c->orgs[i], c);
	}
	if (c->prev)
		c->prev->next = c->next;
	else
		h->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	if (!stopping && c->indexed && local_count(h, c->user_id) == 0)
		presence(h, c->user_id, c->orgs, c->norgs, "offline");
	if (c->anon)
		ws_hub_unreserve_anon(h, c->addr);
	else
		ws_hub_unreserve(h, c->user_id);
	if (c->tag && h->o.release)
		h->o.release(h->o.release_ctx, c->tag);
	c->tag = NULL;
	ws_queue_clear(&c->q);
	if (c->ctx)
		wslay_event_context_free(c->ctx);
	c->ctx = NULL;
	close(c->fd);
	c->fd = -1;
	free(c->extra);
	c->extra = NULL;
	free(c->orgs);
	c->orgs = NULL;
	c->norgs = 0;
	if (c->auth_inflight)
		c->zombie = true; /* its credential is being checked: freed when that is done */
	else
		free(c);
}

/* Move queued messages into wslay (one at a time), write what the socket takes, update epoll. */
static void conn_flush(struct ws_hub *h, struct conn *c)
{
	if (!c->ctx)
		return; /* parked: nothing queued (conn_send takes a context first) */
	while (!c->closing && c->q.head && wslay_event_get_queued_msg_count(c->ctx) == 0) {
		struct ws_msg *m = ws_queue_pop(&c->q);
		struct wslay_event_msg wm = {.opcode = WSLAY_TEXT_FRAME,
					     .msg = (const uint8_t *)m->data,
					     .msg_length = m->len};
		int rc = wslay_event_queue_msg(c->ctx, &wm);
		ws_msg_unref(m);
		if (rc != 0)
			break;
		if (wslay_event_want_write(c->ctx) && wslay_event_send(c->ctx) != 0)
			break;
	}
	if (wslay_event_want_write(c->ctx) && wslay_event_send(c->ctx) != 0)
		c->io_error = true;
}

/*
 * Lingering close: our close frame is out but the client may still be
 * sending (a 10 MB message). Closing now would reset the connection and
 * the client could lose the close frame; so send FIN, read and discard
 * until it closes too, LINGER_MS or LINGER_BYTES at most.
 */
static void conn_linger_read(struct conn *c)
{
	static char scratch[65536]; /* hub thread only */
	for (;;) {
		ssize_t n = recv(c->fd, scratch, sizeof scratch, MSG_DONTWAIT);
		if (n > 0) {
			c->lingered += (size_t)n;
			if (c->lingered > LINGER_BYTES) {
				c->io_error = true;
				return;
			}
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		c->io_error = true; /* the client closed too (or failed): done */
		return;
	}
}

static void conn_settle(struct ws_hub *h, struct conn *c)
{
	if (!c->lingering)
		conn_flush(h, c);
	bool want_read = !c->ctx || wslay_event_want_read(c->ctx);
	bool want_write = c->ctx && wslay_event_want_write(c->ctx);
	if (c->ctx && !c->io_error && !c->lingering && !want_read && !want_write &&
	    wslay_event_get_close_sent(c->ctx) && !wslay_event_get_close_received(c->ctx)) {
		c->lingering = true;
		shutdown(c->fd, SHUT_WR);
		if (!c->closing || c->close_deadline_ms > time_now_ms() + LINGER_MS)
			c->close_deadline_ms = time_now_ms() + LINGER_MS;
		c->closing = true;
		conn_linger_read(c);
	}
	if (c->lingering) {
		want_read = true;
		want_write = false;
	}
	if (c->io_error || (!want_read && !want_write)) {
		conn_destroy(h, c, false);
		return;
	}
	uint32_t mask = (want_read ? EPOLLIN : 0) | (want_write ? EPOLLOUT : 0) | EPOLLRDHUP;
	if (mask != c->evmask) {
		struct epoll_event ev = {.events = mask, .data.ptr = c};
		epoll_ctl(h->ep, EPOLL_CTL_MOD, c->fd, &ev);
		c->evmask = mask;
	}
}

static void settle_dirty(struct ws_hub *h)
{
	while (h->dirty) {
		struct conn *c = h->dirty;
		h->dirty = c->next_dirty;
		c->dirty = false;
		c->next_dirty = NULL;
		conn_settle(h, c);
	}
}

/* Index c for its user's and organizations' events; the user's first socket here: online. */
static void conn_index(struct ws_hub *h, struct conn *c)
{
	bool first = local_count(h, c->user_id) == 0;
	c->indexed = true;
	index_add(h->users, c->user_id, c);
	for (size_t i = 0; i < c->norgs; i++)
		index_add(h->orgidx, c->orgs[i], c);
	if (first)
		presence(h, c->user_id, c->orgs, c->norgs, "online");
}

static void adopt(struct ws_hub *h, struct pending *p)
{
	struct conn *c = calloc(1, sizeof *c);
	if (c)
		c->hub = h;
	/* No wslay context until something happens (most sockets stay idle). */
	if (!c || (p->extra_len && !conn_ctx(c))) {
		free(c);
		unreserve_accept(h, &p->a);
		close(p->fd);
		free(p->extra);
		return;
	}
	int64_t now = time_now_ms();
	c->hub = h;
	c->fd = p->fd;
	c->anon = p->a.anonymous;
	snprintf(c->addr, sizeof c->addr, "%s", p->a.addr);
	c->tag = p->a.tag;
	snprintf(c->path_user_id, sizeof c->path_user_id, "%s", p->a.path_user_id);
	c->extra = p->extra;
	c->extra_len = p->extra_len;
	snprintf(c->user_id, sizeof c->user_id, "%s", p->a.user_id);
	snprintf(c->session_id, sizeof c->session_id, "%s", p->a.session_id);
	if (p->a.norgs) {
		c->orgs = calloc(p->a.norgs, sizeof *c->orgs);
		if (c->orgs) {
			memcpy(c->orgs, p->a.orgs, p->a.norgs * sizeof *c->orgs);
			c->norgs = p->a.norgs;
		}
	}
	c->last_rx_ms = c->last_tx_ms = now;
	c->next_ping_ms = now + (int64_t)h->o.ping_s * 1000;
	c->next_check_ms = now + CHECK_MS;
	c->next_orgs_ms = now + 2 * (int64_t)h->o.ping_s * 1000;
	/* Non-blocking from now on (sends say so too); no Nagle delay (MHD turned it back on). */
	int fl = fcntl(c->fd, F_GETFL);
	if (fl >= 0)
		fcntl(c->fd, F_SETFL, fl | O_NONBLOCK);
	int one = 1, sndbuf = WS_SNDBUF;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	/* A fixed kernel send buffer: what a client that does not read costs the kernel is
	 * bounded too, and our queue (1013) takes over soon after it stops reading. */
	setsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
	c->next = h->conns;
	if (h->conns)
		h->conns->prev = c;
	h->conns = c;
	c->evmask = EPOLLIN | EPOLLRDHUP;
	struct epoll_event ev = {.events = c->evmask, .data.ptr = c};
	if (epoll_ctl(h->ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
		c->io_error = true;
		mark(c);
		return;
	}
	if (c->anon) {
		/* Not indexed until its first message authenticates it. */
		c->auth_deadline_ms = now + (int64_t)h->o.auth_timeout_s * 1000;
	} else if (strcmp(p->a.path_user_id, p->a.user_id) != 0) {
		/* Not indexed: it gets no events and does not count as the user being online. */
		conn_close(c, 1008, "this socket is not yours: use your own user id in the path");
		return;
	} else {
		conn_index(h, c);
	}
	/* Bytes that came with the head may hold messages already. */
	if (c->extra_len && wslay_event_recv(c->ctx) != 0)
		c->io_error = true;
	mark(c);
}

static void deliver(struct ws_hub *h, struct hev *e)
{
	struct ient **tab = e->scope == BUS_USER ? h->users : h->orgidx;
	for (struct ient *x = tab[bucket_of(e->id)]; x; x = x->next) {
		struct conn *c = x->c;
		if (c->dead || strcmp(x->key, e->id) != 0)
			continue;
		if (e->kind == EV_PRESENCE && strcmp(e->from, c->user_id) == 0)
			continue; /* one's own presence */
		if (e->kind == EV_TYPING && !shares_org(c, e->orgs, e->norgs))
			continue;
		conn_send(c, e->frame);
	}
}

static int session_cached(struct ws_hub *h, const struct conn *c, int64_t now)
{
	unsigned slot = bucket_of(c->session_id) % 64;
	if (strcmp(h->cache[slot].sid, c->session_id) == 0 && now - h->cache[slot].at < 1000)
		return h->cache[slot].live;
	int live = h->o.session_live(h->o.app, c->user_id, c->session_id);
	if (live >= 0) {
		snprintf(h->cache[slot].sid, sizeof h->cache[slot].sid, "%s", c->session_id);
		h->cache[slot].live = live;
		h->cache[slot].at = now;
	}
	return live;
}

/* Re-read the organizations of c's user; re-index c when they changed. */
static void refresh_orgs(struct ws_hub *h, struct conn *c)
{
	char(*now_orgs)[UUID_STR_LEN] = calloc(WS_MAX_ORGS, sizeof *now_orgs);
	size_t n = 0;
	if (!now_orgs || h->o.user_orgs(h->o.app, c->user_id, now_orgs, WS_MAX_ORGS, &n) < 0) {
		free(now_orgs);
		return; /* cannot tell now: next time */
	}
	bool same = n == c->norgs;
	for (size_t i = 0; same && i < n; i++)
		same = strcmp(now_orgs[i], c->orgs[i]) == 0;
	if (same) {
		free(now_orgs);
		return;
	}
	for (size_t i = 0; i < c->norgs; i++)
		index_del(h->orgidx, c->orgs[i], c);
	free(c->orgs);
	c->orgs = now_orgs;
	c->norgs = n;
	for (size_t i = 0; i < c->norgs; i++)
		index_add(h->orgidx, c->orgs[i], c);
}

static void authjob_free(struct authjob *j)
{
	free(j->ticket);
	free(j->token);
	free(j);
}

/* A credential's check is back (hub thread). */
static void auth_result(struct ws_hub *h, struct authjob *j)
{
	struct conn *c = j->c;
	c->auth_inflight = false;
	if (c->zombie) {
		free(c);
	} else if (c->closing) {
		/* nothing: it is on its way out */
	} else if (j->rc == WS_AUTH_UNAVAILABLE) {
		conn_close(c, 1013,
			   "the credential cannot be checked right now: retry in a few seconds");
	} else if (j->rc != WS_AUTH_OK) {
		conn_close(c, 1008, j->reason[0] ? j->reason : "not authenticated");
	} else if (strcmp(j->a.user_id, c->path_user_id) != 0) {
		conn_close(c, 1008, "this socket is not yours: use your own user id in the path");
	} else if (promote(h, c->addr, j->a.user_id) != WS_OK) {
		conn_close(c, 1008,
			   "you have as many WebSockets open as allowed: close one and retry");
	} else {
		c->anon = false;
		snprintf(c->user_id, sizeof c->user_id, "%s", j->a.user_id);
		snprintf(c->session_id, sizeof c->session_id, "%s", j->a.session_id);
		if (j->a.norgs) {
			c->orgs = calloc(j->a.norgs, sizeof *c->orgs);
			if (c->orgs) {
				memcpy(c->orgs, j->a.orgs, j->a.norgs * sizeof *c->orgs);
				c->norgs = j->a.norgs;
			}
		}
		int64_t now = time_now_ms();
		c->next_check_ms = now + CHECK_MS;
		c->next_orgs_ms = now + 2 * (int64_t)h->o.ping_s * 1000;
		conn_index(h, c);
		json_t *m = json_pack("{s:s,s:{s:s}}", "type", "authenticated", "data", "user_id",
				      c->user_id);
		char *text = m ? json_dumps(m, JSON_COMPACT) : NULL;
		json_decref(m);
		if (text)
			conn_send_text(c, text);
		free(text);
	}
	authjob_free(j);
}

static void *auth_main(void *arg)
{
	struct ws_hub *h = arg;
	pthread_mutex_lock(&h->auth_lock);
	for (;;) {
		while (!h->auth_stop && !h->auth_head)
			pthread_cond_wait(&h->auth_cond, &h->auth_lock);
		if (h->auth_stop)
			break;
		struct authjob *j = h->auth_head;
		h->auth_head = j->next;
		if (!h->auth_head)
			h->auth_tail = NULL;
		j->next = NULL;
		pthread_mutex_unlock(&h->auth_lock);
		j->rc = h->o.authenticate(h->o.app, j->ticket, j->token, &j->a, j->reason,
					  sizeof j->reason);
		pthread_mutex_lock(&h->lock);
		j->next = h->auth_done;
		h->auth_done = j;
		pthread_mutex_unlock(&h->lock);
		wake(h);
		pthread_mutex_lock(&h->auth_lock);
	}
	pthread_mutex_unlock(&h->auth_lock);
	return NULL;
}

static void timers(struct ws_hub *h, int64_t now)
{
	int parked = 0;
	for (struct conn *c = h->conns; c; c = c->next) {
		if (c->closing) {
			if (now >= c->close_deadline_ms) {
				c->io_error = true; /* gave it time enough: drop */
				mark(c);
			}
			continue;
		}
		if (c->anon && !c->auth_inflight && now >= c->auth_deadline_ms) {
			char reason[120];
			snprintf(
			    reason, sizeof reason,
			    "not authenticated within %d s: send {\"type\":\"auth\",\"ticket\":"
			    "\"...\"} first",
			    h->o.auth_timeout_s);
			conn_close(c, 1008, reason);
			continue;
		}
		if (now - c->last_rx_ms > (int64_t)h->o.idle_s * 1000) {
			conn_close(c, 1001, "idle");
			continue;
		}
		if (c->ctx && now - c->last_rx_ms > h->o.park_ms &&
		    now - c->last_tx_ms > h->o.park_ms)
			parked += conn_park(c);
		if (now >= c->next_ping_ms) {
			struct wslay_event_msg wm = {.opcode = WSLAY_PING};
			if (conn_ctx(c))
				wslay_event_queue_msg(c->ctx, &wm);
			c->next_ping_ms = now + (int64_t)h->o.ping_s * 1000;
			mark(c);
		}
		if (c->indexed && h->o.user_orgs && now >= c->next_orgs_ms) {
			c->next_orgs_ms = now + 2 * (int64_t)h->o.ping_s * 1000;
			refresh_orgs(h, c);
		}
		if (c->session_id[0] && h->o.session_live && now >= c->next_check_ms) {
			c->next_check_ms = now + CHECK_MS;
			if (session_cached(h, c, now) == 0)
				conn_close(c, 1008, "session ended");
		}
	}
	/* Many contexts freed at once (sockets gone quiet after a fan-out): give the pages back. */
	if (parked >= 512)
		malloc_trim(0);
}

static void *hub_main(void *arg)
{
	struct ws_hub *h = arg;
	struct epoll_event evs[256];
	int64_t next_tick = time_now_ms() + TICK_MS;
	for (;;) {
		int n = epoll_wait(h->ep, evs, 256, TICK_MS);
		for (int i = 0; i < n; i++) {
			if (evs[i].data.ptr == NULL) {
				uint64_t v;
				ssize_t r = read(h->efd, &v, sizeof v);
				(void)r;
				continue;
			}
			struct conn *c = evs[i].data.ptr;
			if (c->dead)
				continue;
			if (c->lingering) {
				conn_linger_read(c);
			} else if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) {
				if (!conn_ctx(c) || wslay_event_recv(c->ctx) != 0)
					c->io_error = true;
			}
			if (!c->lingering && c->ctx && (evs[i].events & EPOLLOUT)) {
				if (wslay_event_send(c->ctx) != 0)
					c->io_error = true;
			}
			mark(c);
		}
		pthread_mutex_lock(&h->lock);
		bool stop = h->stop;
		struct pending *in = h->incoming;
		h->incoming = NULL;
		struct hev *evq = h->inbox_head;
		h->inbox_head = h->inbox_tail = NULL;
		h->inbox_n = 0;
		struct authjob *done = h->auth_done;
		h->auth_done = NULL;
		pthread_mutex_unlock(&h->lock);
		while (done) {
			struct authjob *j = done;
			done = j->next;
			auth_result(h, j);
		}
		while (in) {
			struct pending *p = in;
			in = p->next;
			if (stop) {
				unreserve_accept(h, &p->a);
				close(p->fd);
				free(p->extra);
			} else {
				adopt(h, p);
			}
			free(p);
		}
		while (evq) {
			struct hev *e = evq;
			evq = e->next;
			if (!stop)
				deliver(h, e);
			hev_free(e);
			settle_dirty(
			    h); /* write as we go: a fan-out's first sockets need not wait */
		}
		int64_t now = time_now_ms();
		if (now >= next_tick) {
			timers(h, now);
			next_tick = now + TICK_MS;
		}
		settle_dirty(h);
		if (stop)
			break;
	}
	/* Stopping: tell every socket, try once to send it, and let go. */
	while (h->conns) {
		struct conn *c = h->conns;
		if (!c->closing && conn_ctx(c))
			wslay_event_queue_close(c->ctx, 1001, (const uint8_t *)"server stopping",
						15);
		ws_queue_clear(&c->q);
		if (c->ctx)
			wslay_event_send(c->ctx);
		conn_destroy(h, c, true);
	}
	return NULL;
}

/*
 * Stop the auth thread (once the hub thread is gone: every socket is
 * destroyed, those with a check under way are zombies) and free what is
 * left in its queues, zombies with it.
 */
static void auth_stop(struct ws_hub *h)
{
	if (h->auth_started) {
		pthread_mutex_lock(&h->auth_lock);
		h->auth_stop = true;
		pthread_cond_signal(&h->auth_cond);
		pthread_mutex_unlock(&h->auth_lock);
		pthread_join(h->auth_thread, NULL);
		h->auth_started = false;
	}
	pthread_mutex_lock(&h->auth_lock);
	struct authjob *todo = h->auth_head;
	h->auth_head = h->auth_tail = NULL;
	pthread_mutex_unlock(&h->auth_lock);
	pthread_mutex_lock(&h->lock);
	struct authjob *done = h->auth_done;
	h->auth_done = NULL;
	pthread_mutex_unlock(&h->lock);
	for (struct authjob *lists[2] = {todo, done}, **l = lists; l < lists + 2; l++)
		while (*l) {
			struct authjob *j = *l;
			*l = j->next;
			free(j->c); /* a zombie by now */
			authjob_free(j);
		}
}

struct ws_hub *ws_hub_new(const struct ws_hub_opts *o)
{
	struct ws_hub *h = calloc(1, sizeof *h);
	if (!h)
		return NULL;
	h->o = *o;
	if (h->o.max <= 0)
		h->o.max = 20000;
	if (h->o.per_user <= 0)
		h->o.per_user = 16;
	if (h->o.ping_s <= 0)
		h->o.ping_s = 25;
	if (h->o.idle_s <= 0)
		h->o.idle_s = 75;
	if (!h->o.max_message)
		h->o.max_message = 65536;
	if (!h->o.queue_bytes)
		h->o.queue_bytes = 1 << 20;
	if (h->o.park_ms <= 0)
		h->o.park_ms = 2000;
	if (h->o.auth_timeout_s <= 0)
		h->o.auth_timeout_s = 5;
	if (h->o.anon_per_addr <= 0)
		h->o.anon_per_addr = 16;
	h->sub = -1;
	h->ep = epoll_create1(EPOLL_CLOEXEC);
	h->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	pthread_mutex_init(&h->lock, NULL);
	pthread_mutex_init(&h->auth_lock, NULL);
	pthread_cond_init(&h->auth_cond, NULL);
	if (h->ep < 0 || h->efd < 0)
		goto fail;
	if (h->o.authenticate) {
		if (pthread_create(&h->auth_thread, NULL, auth_main, h) != 0)
			goto fail;
		h->auth_started = true;
	}
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
	if (epoll_ctl(h->ep, EPOLL_CTL_ADD, h->efd, &ev) < 0)
		goto fail;
	if (pthread_create(&h->thread, NULL, hub_main, h) != 0)
		goto fail;
	h->started = true;
	if (h->o.bus) {
		h->sub = bus_subscribe(h->o.bus, on_bus, h);
		if (h->sub < 0)
			log_warn("the event bus is full: WebSockets get no events", NULL);
	}
	return h;
fail:
	auth_stop(h);
	if (h->ep >= 0)
		close(h->ep);
	if (h->efd >= 0)
		close(h->efd);
	pthread_mutex_destroy(&h->lock);
	pthread_mutex_destroy(&h->auth_lock);
	pthread_cond_destroy(&h->auth_cond);
	free(h);
	return NULL;
}

void ws_hub_stop(struct ws_hub *h)
{
	if (!h)
		return;
	if (h->sub >= 0)
		bus_unsubscribe(h->o.bus, h->sub);
	h->sub = -1;
	pthread_mutex_lock(&h->lock);
	h->stop = true;
	pthread_mutex_unlock(&h->lock);
	wake(h);
	if (h->started)
		pthread_join(h->thread, NULL);
	h->started = false;
	auth_stop(h);
	pthread_mutex_lock(&h->lock);
	struct hev *evq = h->inbox_head;
	h->inbox_head = h->inbox_tail = NULL;
	h->inbox_n = 0;
	pthread_mutex_unlock(&h->lock);
	while (evq) {
		struct hev *e = evq;
		evq = e->next;
		hev_free(e);
	}
}

void ws_hub_free(struct ws_hub *h)
{
	if (!h)
		return;
	ws_hub_stop(h);
	count_free(h->counts);
	count_free(h->acounts);
	close(h->ep);
	close(h->efd);
	pthread_mutex_destroy(&h->lock);
	pthread_mutex_destroy(&h->auth_lock);
	pthread_cond_destroy(&h->auth_cond);
	free(h);
}

/* ---------- who is online here (GET /api/v2/presence) ---------- */

#include "http/internal.h" /* r->srv->ws: handlers never see the server */

size_t http_ws_online(struct http_req *r, char (*ids)[UUID_STR_LEN], size_t n)
{
	struct ws_hub *h = r && r->srv ? r->srv->ws : NULL;
	size_t k = 0;
	if (!h)
		return 0;
	pthread_mutex_lock(&h->lock);
	for (size_t i = 0; i < n; i++) {
		const struct ucount *u = h->counts[bucket_of(ids[i])];
		while (u && strcmp(u->key, ids[i]) != 0)
			u = u->next;
		if (u && u->n > 0 && !h->stop) {
			if (k != i)
				memcpy(ids[k], ids[i], UUID_STR_LEN);
			k++;
		}
	}
	pthread_mutex_unlock(&h->lock);
	return k;
}
