/*
 * bus.c — the in-process event bus: a small table of subscribers behind a
 * read-write lock. Publishing serialises the data once and calls each
 * subscriber under the read lock, so unsubscribing (write lock) waits for
 * calls in flight.
 */
#include "bus/bus.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "bus/internal.h"
#include "core/timeutil.h"

struct bus_sub {
	bus_fn fn;
	void *ctx;
};

struct bus {
	pthread_rwlock_t lock;
	struct bus_sub subs[BUS_MAX_SUBSCRIBERS];
	struct bus_redis *redis; /* NULL: this process only */
};

void bus_set_redis(struct bus *b, struct bus_redis *r)
{
	b->redis = r;
}

struct bus_redis *bus_get_redis(struct bus *b)
{
	return b ? b->redis : NULL;
}

struct bus *bus_new(void)
{
	struct bus *b = calloc(1, sizeof *b);
	if (!b)
		return NULL;
	if (pthread_rwlock_init(&b->lock, NULL) != 0) {
		free(b);
		return NULL;
	}
	return b;
}

void bus_free(struct bus *b)
{
	if (!b)
		return;
	bus_redis_stop(b->redis);
	b->redis = NULL;
	pthread_rwlock_destroy(&b->lock);
	free(b);
}

int bus_subscribe(struct bus *b, bus_fn fn, void *ctx)
{
	if (!b || !fn)
		return -1;
	int handle = -1;
	pthread_rwlock_wrlock(&b->lock);
	for (int i = 0; i < BUS_MAX_SUBSCRIBERS; i++)
		if (!b->subs[i].fn) {
			b->subs[i] = (struct bus_sub){fn, ctx};
			handle = i;
			break;
		}
	pthread_rwlock_unlock(&b->lock);
	return handle;
}

void bus_unsubscribe(struct bus *b, int handle)
{
	if (!b || handle < 0 || handle >= BUS_MAX_SUBSCRIBERS)
		return;
	pthread_rwlock_wrlock(&b->lock);
	b->subs[handle] = (struct bus_sub){0};
	pthread_rwlock_unlock(&b->lock);
}

int bus_deliver_local(struct bus *b, const struct bus_event *ev)
{
	if (!b || !ev || !ev->id || !ev->type || !ev->data)
		return -1;
	int n = 0;
	pthread_rwlock_rdlock(&b->lock);
	for (int i = 0; i < BUS_MAX_SUBSCRIBERS; i++)
		if (b->subs[i].fn) {
			b->subs[i].fn(b->subs[i].ctx, ev);
			n++;
		}
	pthread_rwlock_unlock(&b->lock);
	return n;
}

int bus_publish(struct bus *b, enum bus_scope scope, const char *id, const char *type,
		const json_t *data)
{
	if (!b || !bus_word_ok(id) || !bus_word_ok(type) || (scope != BUS_USER && scope != BUS_ORG))
		return -1;
	char *text = data ? json_dumps(data, JSON_COMPACT) : strdup("{}");
	if (!text)
		return -1;
	struct bus_event ev = {
	    .scope = scope, .id = id, .type = type, .data = text, .ts_ms = time_now_ms()};
	int n = bus_deliver_local(b, &ev);
	if (b->redis)
		bus_redis_send(b->redis, &ev);
	free(text);
	return n;
}
