/*
 * internal.h — what bus.c and bus_redis.c share.
 */
#ifndef IAM_BUS_INTERNAL_H
#define IAM_BUS_INTERNAL_H

#include <stdbool.h>

#include "bus/bus.h"

struct bus_redis;

void bus_set_redis(struct bus *b, struct bus_redis *r);
struct bus_redis *bus_get_redis(struct bus *b);
/* Queue ev for the other processes (never blocks; drops the oldest when full). */
void bus_redis_send(struct bus_redis *r, const struct bus_event *ev);
/* Stop both threads and free (NULL is a no-op). */
void bus_redis_stop(struct bus_redis *r);
/* An id or type: 1..64 printable characters, no space or '|'. */
bool bus_word_ok(const char *s);

#endif
