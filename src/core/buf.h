/*
 * buf.h — a growable byte buffer, always NUL-terminated so text can be read
 * as a C string. Growth is bounded by an optional limit so a buffer fed by
 * the network cannot take all memory.
 */
#ifndef IAM_BUF_H
#define IAM_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data; /* NULL until the first append */
	size_t len;
	size_t cap;
	size_t limit; /* 0 = unlimited */
};

/* Returns 0, or -1 if the limit would be passed or memory ran out (buf unchanged). */
int buf_append(struct buf *b, const void *data, size_t len);
int buf_puts(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Empties the buffer, keeping its memory for the next use. */
void buf_clear(struct buf *b);
/* Releases the memory; the struct can be reused after. */
void buf_free(struct buf *b);
/* Hands the memory to the caller (free()); buf is empty after. Never NULL. */
char *buf_steal(struct buf *b);

#endif
