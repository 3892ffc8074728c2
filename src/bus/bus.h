/*
 * bus.h — live events addressed to a user or an organization.
 *
 * An event is (scope, id, type, data): scope BUS_USER with a user id or
 * BUS_ORG with an organization id, a short type ("new_message",
 * "meeting.status", ...) and a JSON object. bus_publish delivers it to every
 * subscriber of this process (the WebSocket hub, SSE streams) and, once a
 * transport to other processes is attached (Redis pub/sub), to theirs.
 *
 * Subscribers run on the publishing thread (or a transport's thread): they
 * must not block; copy what they need and queue it. Publishing never fails a
 * request because nobody listens or a transport is down.
 */
#ifndef IAM_BUS_H
#define IAM_BUS_H

#include <jansson.h>
#include <stdint.h>

enum bus_scope { BUS_USER = 1, BUS_ORG = 2 };

/* Borrowed by subscribers for the duration of the call only. */
struct bus_event {
	enum bus_scope scope;
	const char *id;	  /* user or organization id */
	const char *type; /* event type */
	const char *data; /* the data object as compact JSON text */
	int64_t ts_ms;	  /* when it was published */
};

typedef void (*bus_fn)(void *ctx, const struct bus_event *ev);

#define BUS_MAX_SUBSCRIBERS 16

struct bus;

/* An in-process bus. NULL on allocation failure; caller frees with bus_free. */
struct bus *bus_new(void);
/* NULL is a no-op. Subscribers must have unsubscribed (or never be called again). */
void bus_free(struct bus *b);

/* Add a subscriber; returns its handle (>= 0) for bus_unsubscribe, or -1 when full. */
int bus_subscribe(struct bus *b, bus_fn fn, void *ctx);
/* Remove it; when this returns, fn is not running and will not be called again. */
void bus_unsubscribe(struct bus *b, int handle);

/*
 * Publish: data is borrowed (NULL means {}). Returns the number of local
 * subscribers called, or -1 on bad arguments or allocation failure.
 */
int bus_publish(struct bus *b, enum bus_scope scope, const char *id, const char *type,
		const json_t *data);

/* Deliver an event that arrived from another process to local subscribers only. */
int bus_deliver_local(struct bus *b, const struct bus_event *ev);

/*
 * The Redis transport (bus_redis.c). Attach once, before publishing starts:
 * url is redis://[:password@]host[:port][/db]. Two threads: one publishes
 * what bus_publish hands it (a bounded queue: past BUS_REDIS_QUEUE_MAX
 * waiting events the oldest are dropped and counted), one is subscribed to
 * the channel and calls bus_deliver_local for events of other processes
 * (each process tags what it sends with a random origin, so nothing is
 * delivered twice here). Either reconnects with backoff (0.1 s doubling to
 * 5 s) when Redis is down; publishing never waits for it. 0, or -1 with a
 * reason in err (a bad URL).
 */
#define BUS_REDIS_QUEUE_MAX 10000
#define BUS_REDIS_CHANNEL   "iam:events"
int bus_redis_attach(struct bus *b, const char *url, char *err, size_t errlen);
/* "off" (no Redis configured), "up" (subscribed), "down" (reconnecting). */
const char *bus_redis_state(struct bus *b);

/*
 * The wire form of one event on the channel: "iam1 ORIGIN SCOPE ID TYPE TS\n"
 * then the data object. Exposed for tests. bus_wire_encode returns a
 * malloc'd string (caller frees) or NULL; bus_wire_decode parses msg in
 * place (ev points into it) and returns 0, or -1 when it is malformed.
 */
char *bus_wire_encode(const char *origin, const struct bus_event *ev, size_t *len);
int bus_wire_decode(char *msg, size_t len, char origin[33], struct bus_event *ev);

#endif
