/*
 * bus_redis.c — the bus across processes: Redis pub/sub through hiredis.
 *
 * One publisher thread drains a bounded queue of encoded events into
 * PUBLISH; one subscriber thread holds SUBSCRIBE on the channel and hands
 * events from other processes (not our own origin) to bus_deliver_local.
 * Both connect lazily and reconnect with backoff; nothing here ever makes a
 * request wait for Redis.
 */
#include <errno.h>
#include <hiredis.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "bus/internal.h"
#include "core/crypto.h"
#include "core/log.h"
#include "core/timeutil.h"

struct qmsg {
	struct qmsg *next;
	size_t len;
	char data[];
};

struct bus_redis {
	struct bus *bus;
	char host[256];
	int port;
	int db;
	char password[256];
	char origin[33];
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
	struct qmsg *head, *tail;
	size_t count;
	long long dropped;
	pthread_t pub, sub;
	bool pub_started, sub_started;
	_Atomic int sub_up; /* 1 while subscribed */
};

bool bus_word_ok(const char *s)
{
	if (!s || !*s)
		return false;
	size_t n = 0;
	for (; *s; s++, n++)
		if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 127 || *s == '|')
			return false;
	return n <= 64;
}

char *bus_wire_encode(const char *origin, const struct bus_event *ev, size_t *len)
{
	if (!bus_word_ok(origin) || !bus_word_ok(ev->id) || !bus_word_ok(ev->type) || !ev->data)
		return NULL;
	size_t dlen = strlen(ev->data);
	size_t cap = 64 + strlen(origin) + strlen(ev->id) + strlen(ev->type) + dlen;
	char *m = malloc(cap);
	if (!m)
		return NULL;
	int n = snprintf(m, cap, "iam1 %s %d %s %s %lld\n", origin, (int)ev->scope, ev->id,
			 ev->type, (long long)ev->ts_ms);
	if (n < 0 || (size_t)n + dlen + 1 > cap) {
		free(m);
		return NULL;
	}
	memcpy(m + n, ev->data, dlen + 1);
	*len = (size_t)n + dlen;
	return m;
}

/* The next space- or newline-terminated word of *p, NUL-terminated in place. */
static char *word(char **p, char end)
{
	char *s = *p, *e = strchr(s, end);
	if (!e || e == s)
		return NULL;
	*e = '\0';
	*p = e + 1;
	return s;
}

int bus_wire_decode(char *msg, size_t len, char origin[33], struct bus_event *ev)
{
	char *nl = memchr(msg, '\n', len);
	if (!nl || len < 5 || memcmp(msg, "iam1 ", 5) != 0 || msg[len] != '\0')
		return -1;
	if (strlen(msg) != len)
		return -1; /* an embedded NUL */
	*nl = '\0';
	char *p = msg + 5;
	char *o = word(&p, ' '), *scope = o ? word(&p, ' ') : NULL;
	char *id = scope ? word(&p, ' ') : NULL, *type = id ? word(&p, ' ') : NULL;
	if (!type || !*p)
		return -1;
	char *end;
	long long ts = strtoll(p, &end, 10);
	if (*end || !bus_word_ok(o) || strlen(o) > 32 || !bus_word_ok(id) || !bus_word_ok(type))
		return -1;
	int sc = atoi(scope);
	if (sc != BUS_USER && sc != BUS_ORG)
		return -1;
	if (nl[1] != '{')
		return -1;
	snprintf(origin, 33, "%s", o);
	*ev = (struct bus_event){
	    .scope = (enum bus_scope)sc, .id = id, .type = type, .data = nl + 1, .ts_ms = ts};
	return 0;
}

/* redis://[user:password@|:password@]host[:port][/db] */
static int parse_url(struct bus_redis *r, const char *url, char *err, size_t errlen)
{
	if (strncasecmp(url, "rediss://", 9) == 0) {
		snprintf(err, errlen,
			 "IAM_REDIS_URL: rediss:// (TLS) is not supported by this build");
		return -1;
	}
	if (strncasecmp(url, "redis://", 8) != 0)
		goto bad;
	const char *p = url + 8, *at = strrchr(p, '@');
	if (at) {
		const char *colon = memchr(p, ':', (size_t)(at - p));
		const char *pw = colon ? colon + 1 : p;
		size_t n = (size_t)(at - pw);
		if (n >= sizeof r->password)
			goto bad;
		memcpy(r->password, pw, n);
		r->password[n] = '\0';
		p = at + 1;
	}
	const char *end = p + strcspn(p, ":/");
	size_t hn = (size_t)(end - p);
	if (hn == 0 || hn >= sizeof r->host)
		goto bad;
	memcpy(r->host, p, hn);
	r->host[hn] = '\0';
	r->port = 6379;
	if (*end == ':') {
		char *e;
		long v = strtol(end + 1, &e, 10);
		if (v < 1 || v > 65535 || (*e && *e != '/'))
			goto bad;
		r->port = (int)v;
		end = e;
	}
	if (*end == '/' && end[1]) {
		char *e;
		long v = strtol(end + 1, &e, 10);
		if (v < 0 || v > 1000 || *e)
			goto bad;
		r->db = (int)v;
	}
	return 0;
bad:
	snprintf(err, errlen, "IAM_REDIS_URL: expected redis://[:password@]host[:port][/db]");
	return -1;
}

/* A connected, authenticated context, or NULL (the reason logged at debug level). */
static redisContext *connect_redis(struct bus_redis *r)
{
	struct timeval tv = {.tv_sec = 2};
	redisContext *c = redisConnectWithTimeout(r->host, r->port, tv);
	if (!c || c->err) {
		if (c)
			log_debug("redis connect failed", json_pack("{s:s}", "error", c->errstr));
		redisFree(c);
		return NULL;
	}
	redisSetTimeout(c, tv);
	if (r->password[0]) {
		redisReply *rep = redisCommand(c, "AUTH %s", r->password);
		bool ok = rep && rep->type != REDIS_REPLY_ERROR;
		freeReplyObject(rep);
		if (!ok) {
			log_warn("redis refused the password in IAM_REDIS_URL", NULL);
			redisFree(c);
			return NULL;
		}
	}
	return c;
}

/* Sleep up to ms unless told to stop. True when stopping. */
static bool nap(struct bus_redis *r, int ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&r->lock);
	while (!r->stop && pthread_cond_timedwait(&r->cond, &r->lock, &ts) != ETIMEDOUT)
		;
	bool stop = r->stop;
	pthread_mutex_unlock(&r->lock);
	return stop;
}

static int backoff_next(int ms)
{
	return ms >= 2500 ? 5000 : ms * 2;
}

static void *pub_main(void *arg)
{
	struct bus_redis *r = arg;
	redisContext *c = NULL;
	int backoff = 100;
	for (;;) {
		pthread_mutex_lock(&r->lock);
		while (!r->stop && !r->head)
			pthread_cond_wait(&r->cond, &r->lock);
		if (r->stop) {
			pthread_mutex_unlock(&r->lock);
			break;
		}
		struct qmsg *m = r->head;
		r->head = m->next;
		if (!r->head)
			r->tail = NULL;
		r->count--;
		pthread_mutex_unlock(&r->lock);
		if (!c)
			c = connect_redis(r);
		redisReply *rep =
		    c ? redisCommand(c, "PUBLISH %s %b", BUS_REDIS_CHANNEL, m->data, m->len) : NULL;
		bool ok = rep && rep->type == REDIS_REPLY_INTEGER;
		freeReplyObject(rep);
		free(m);
		if (ok) {
			backoff = 100;
			continue;
		}
		/* Lost (the others miss it; local delivery already happened): reconnect later. */
		redisFree(c);
		c = NULL;
		if (nap(r, backoff))
			break;
		backoff = backoff_next(backoff);
	}
	redisFree(c);
	return NULL;
}

static void deliver(struct bus_redis *r, redisReply *rep)
{
	/* ["message", channel, payload] */
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 3 ||
	    rep->element[0]->type != REDIS_REPLY_STRING ||
	    strcmp(rep->element[0]->str, "message") != 0 ||
	    rep->element[2]->type != REDIS_REPLY_STRING)
		return;
	char origin[33];
	struct bus_event ev;
	redisReply *p = rep->element[2];
	if (bus_wire_decode(p->str, p->len, origin, &ev) < 0) {
		log_debug("malformed event on the redis channel", NULL);
		return;
	}
	if (strcmp(origin, r->origin) == 0)
		return; /* ours: delivered locally when it was published */
	bus_deliver_local(r->bus, &ev);
}

static void *sub_main(void *arg)
{
	struct bus_redis *r = arg;
	int backoff = 100;
	bool warned = false;
	for (;;) {
		redisContext *c = connect_redis(r);
		redisReply *rep = c ? redisCommand(c, "SUBSCRIBE %s", BUS_REDIS_CHANNEL) : NULL;
		bool ok = rep && rep->type == REDIS_REPLY_ARRAY;
		freeReplyObject(rep);
		if (!ok) {
			redisFree(c);
			if (!warned)
				log_warn(
				    "redis unreachable; events stay in this process until it is "
				    "back",
				    json_pack("{s:s,s:i}", "host", r->host, "port", r->port));
			warned = true;
			if (nap(r, backoff))
				return NULL;
			backoff = backoff_next(backoff);
			continue;
		}
		backoff = 100;
		if (warned)
			log_info("redis reachable again", NULL);
		warned = false;
		atomic_store(&r->sub_up, 1);
		for (;;) {
			pthread_mutex_lock(&r->lock);
			bool stop = r->stop;
			pthread_mutex_unlock(&r->lock);
			if (stop)
				break;
			void *reply = NULL;
			if (redisGetReplyFromReader(c, &reply) != REDIS_OK)
				break;
			if (reply) {
				deliver(r, reply);
				freeReplyObject(reply);
				continue;
			}
			struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
			int n = poll(&pfd, 1, 250);
			if (n < 0 && errno != EINTR)
				break;
			if (n > 0 && redisBufferRead(c) != REDIS_OK)
				break; /* closed or failed: reconnect */
		}
		atomic_store(&r->sub_up, 0);
		redisFree(c);
		pthread_mutex_lock(&r->lock);
		bool stop = r->stop;
		pthread_mutex_unlock(&r->lock);
		if (stop)
			return NULL;
		log_warn("lost the redis subscription; reconnecting", NULL);
		warned = true;
		if (nap(r, backoff))
			return NULL;
	}
}

int bus_redis_attach(struct bus *b, const char *url, char *err, size_t errlen)
{
	if (!b || !url || bus_get_redis(b)) {
		snprintf(err, errlen, "IAM_REDIS_URL: the bus has a transport already");
		return -1;
	}
	struct bus_redis *r = calloc(1, sizeof *r);
	if (!r) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	r->bus = b;
	if (parse_url(r, url, err, errlen) < 0) {
		free(r);
		return -1;
	}
	unsigned char rnd[16];
	crypto_random(rnd, sizeof rnd);
	for (int i = 0; i < 16; i++)
		snprintf(r->origin + 2 * i, 3, "%02x", rnd[i]);
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	r->pub_started = pthread_create(&r->pub, NULL, pub_main, r) == 0;
	r->sub_started = r->pub_started && pthread_create(&r->sub, NULL, sub_main, r) == 0;
	if (!r->sub_started) {
		bus_redis_stop(r);
		snprintf(err, errlen, "IAM_REDIS_URL: could not start the bus threads");
		return -1;
	}
	bus_set_redis(b, r);
	return 0;
}

void bus_redis_send(struct bus_redis *r, const struct bus_event *ev)
{
	size_t len;
	char *text = bus_wire_encode(r->origin, ev, &len);
	if (!text)
		return;
	struct qmsg *m = malloc(sizeof *m + len + 1);
	if (!m) {
		free(text);
		return;
	}
	m->next = NULL;
	m->len = len;
	memcpy(m->data, text, len + 1);
	free(text);
	struct qmsg *drop = NULL;
	pthread_mutex_lock(&r->lock);
	if (r->count >= BUS_REDIS_QUEUE_MAX) {
		drop = r->head;
		r->head = drop->next;
		if (!r->head)
			r->tail = NULL;
		r->count--;
		r->dropped++;
	}
	if (r->tail)
		r->tail->next = m;
	else
		r->head = m;
	r->tail = m;
	r->count++;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
	free(drop);
}

void bus_redis_stop(struct bus_redis *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	r->stop = true;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
	if (r->pub_started)
		pthread_join(r->pub, NULL);
	if (r->sub_started)
		pthread_join(r->sub, NULL);
	while (r->head) {
		struct qmsg *m = r->head;
		r->head = m->next;
		free(m);
	}
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->cond);
	explicit_bzero(r->password, sizeof r->password);
	free(r);
}

const char *bus_redis_state(struct bus *b)
{
	struct bus_redis *r = bus_get_redis(b);
	if (!r)
		return "off";
	return atomic_load(&r->sub_up) ? "up" : "down";
}
