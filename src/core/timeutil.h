/* timeutil.h — clocks and RFC 3339 formatting. */
#ifndef IAM_TIMEUTIL_H
#define IAM_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

int64_t time_now_ms(void);  /* wall clock, Unix ms */
int64_t time_mono_us(void); /* monotonic, microseconds */
/* "2026-11-22T10:00:00.123Z" into out (>= 25 bytes). Returns out. */
char *time_rfc3339(int64_t unix_ms, char *out, size_t outlen);
/* Parse RFC 3339 (Z or +hh:mm offset; optional fraction) to Unix ms; -1 if invalid. */
int64_t time_parse_rfc3339(const char *s);

#endif
