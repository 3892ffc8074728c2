/*
 * uuid.h — UUIDv7 (RFC 9562): 48-bit Unix ms timestamp, version 7, 12 bits of
 * sub-millisecond monotonic counter (so ids made in one process are strictly
 * increasing), variant 10, 62 random bits. Thread-safe.
 */
#ifndef IAM_UUID_H
#define IAM_UUID_H

#include <stdbool.h>
#include <stdint.h>

#define UUID_STR_LEN 37 /* 36 chars + NUL */

/* Write a new lowercase UUIDv7 string into out. */
void uuid_v7(char out[UUID_STR_LEN]);

/* True if s is a canonical UUID string (8-4-4-4-12 hex, any version). */
bool uuid_valid(const char *s);

/* The Unix ms timestamp embedded in a UUIDv7 string, or -1 if not v7. */
int64_t uuid_v7_time(const char *s);

/*
 * Tests only: take Unix ms from now_ms instead of the wall clock (NULL puts
 * the wall clock back), to exercise a stalled or backwards clock. Not safe
 * to call while other threads make ids.
 */
void uuid_set_clock(int64_t (*now_ms)(void));

#endif
